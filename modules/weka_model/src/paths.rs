//! The supported upgrade hops as data (playbooks/vars/weka_upgrade_paths.json, shipped in the
//! collection and compiled in as the default), and the planner: the cheapest chain of supported
//! hops from the running release to a target, costed like WEKA's own checker (a hop within a
//! major version costs 1, across major versions 2).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::version::WekaVersion;

/// The collection's data file, compiled in: the module's default when the playbook passes none.
pub const BUILTIN: &str = include_str!("../../../playbooks/vars/weka_upgrade_paths.json");

/// One release line's rule, as written in the data file.
#[derive(Debug, Clone, Deserialize)]
struct RawRule {
    line: String,
    min_source: String,
    hop_release: String,
    #[serde(default)]
    multi_container: bool,
    #[serde(default)]
    notes: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawTable {
    lines: Vec<RawRule>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub line: WekaVersion,
    pub min_source: WekaVersion,
    pub hop_release: WekaVersion,
    pub multi_container: bool,
    pub notes: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Table {
    /// Ordered by line, oldest first.
    pub rules: Vec<Rule>,
}

/// One hop of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub from: String,
    pub to: String,
    /// The target's line, whose rule allowed the hop.
    pub line: String,
    pub min_source: String,
    pub cross_major: bool,
    /// The target line needs multi-container backends (4.1 and later).
    pub multi_container: bool,
    pub notes: Vec<String>,
}

impl Table {
    pub fn builtin() -> Table {
        // The file is part of the build and tested; a broken copy fails the unit tests.
        Table::from_value(&serde_json::from_str(BUILTIN).unwrap_or(Value::Null)).unwrap_or(Table { rules: Vec::new() })
    }

    /// From the data file's content: `{"weka_upgrade_paths": {"lines": [...]}}` or the inner
    /// mapping alone (what a playbook passes after loading the file as variables).
    pub fn from_value(v: &Value) -> Result<Table, String> {
        let inner = v.get("weka_upgrade_paths").unwrap_or(v);
        let raw: RawTable = serde_json::from_value(inner.clone()).map_err(|e| {
            format!("the upgrade path table must be a mapping with 'lines' (line, min_source, hop_release): {e}")
        })?;
        let parse = |what: &str, line: &str, s: &str| {
            WekaVersion::parse(s).ok_or_else(|| format!("line {line}: {what} '{s}' is not a WEKA release"))
        };
        let mut rules = Vec::new();
        for r in raw.lines {
            let line = parse("line", &r.line, &r.line)?;
            let rule = Rule {
                min_source: parse("min_source", &r.line, &r.min_source)?,
                hop_release: parse("hop_release", &r.line, &r.hop_release)?,
                multi_container: r.multi_container,
                notes: r.notes,
                line,
            };
            if !rule.hop_release.same_line(&rule.line) {
                return Err(format!(
                    "line {}: hop_release {} is not in that line",
                    r.line, rule.hop_release
                ));
            }
            if rule.min_source >= rule.hop_release {
                return Err(format!(
                    "line {}: min_source {} is not older than hop_release {}",
                    r.line, rule.min_source, rule.hop_release
                ));
            }
            rules.push(rule);
        }
        rules.sort_by(|a, b| a.line.cmp(&b.line));
        if let Some(w) = rules.windows(2).find(|w| w[0].line.same_line(&w[1].line)) {
            return Err(format!("line {} appears twice", w[0].line));
        }
        if rules.is_empty() {
            return Err("the upgrade path table has no lines".into());
        }
        Ok(Table { rules })
    }

    pub fn rule_for(&self, v: &WekaVersion) -> Option<&Rule> {
        self.rules.iter().find(|r| r.line.same_line(v))
    }

    /// Whether `to` may be installed directly over `from`; the reason when not.
    pub fn direct(&self, from: &WekaVersion, to: &WekaVersion) -> Result<&Rule, String> {
        let rule = self.rule_for(to).ok_or_else(|| self.unknown_line(to))?;
        if to <= from {
            return Err(format!("{to} is not newer than {from}"));
        }
        if *from < rule.min_source {
            return Err(format!(
                "WEKA {}.x can only be installed over {} or later, and the cluster runs {from}",
                rule.line, rule.min_source
            ));
        }
        Ok(rule)
    }

    fn unknown_line(&self, v: &WekaVersion) -> String {
        let known: Vec<&str> = self.rules.iter().map(|r| r.line.text.as_str()).collect();
        format!(
            "the upgrade path table has no rule for WEKA {}.x (it knows {}): add a line for it to weka_upgrade_paths.json",
            v.line,
            known.join(", ")
        )
    }

    /// Position of a release's line in the table, for "versions behind" arithmetic.
    pub fn line_index(&self, v: &WekaVersion) -> Option<usize> {
        self.rules.iter().position(|r| r.line.same_line(v))
    }

    /// How many release lines `older` is behind `newer` (0 on the same line); None when a line is
    /// not in the table.
    pub fn lines_behind(&self, older: &WekaVersion, newer: &WekaVersion) -> Option<i64> {
        if older.same_line(newer) {
            return Some(0);
        }
        Some(self.line_index(newer)? as i64 - self.line_index(older)? as i64)
    }

    /// The cheapest chain of supported hops from `from` to `to`; empty when `from` is `to`.
    pub fn plan(&self, from: &WekaVersion, to: &WekaVersion) -> Result<Vec<Hop>, String> {
        if to == from {
            return Ok(Vec::new());
        }
        if to < from {
            return Err(format!(
                "{to} is older than the running {from}: WEKA does not support downgrades"
            ));
        }
        self.rule_for(to).ok_or_else(|| self.unknown_line(to))?;
        // Stops: the start, every line's hop release strictly between, the target.
        let mut nodes: Vec<WekaVersion> = vec![from.clone()];
        nodes.extend(
            self.rules
                .iter()
                .map(|r| r.hop_release.clone())
                .filter(|h| h > from && h < to),
        );
        nodes.push(to.clone());
        let n = nodes.len();
        // Dijkstra on a handful of nodes: (cost, hops) per node, with the predecessor.
        let mut best: Vec<Option<(u32, u32, usize)>> = vec![None; n];
        let mut done = vec![false; n];
        best[0] = Some((0, 0, 0));
        while let Some(i) = (0..n)
            .filter(|&i| !done[i] && best[i].is_some())
            .min_by_key(|&i| best[i].map(|(c, h, _)| (c, h)))
        {
            done[i] = true;
            let (cost, hops, _) = best[i].unwrap_or_default();
            for j in (i + 1)..n {
                if self.direct(&nodes[i], &nodes[j]).is_err() {
                    continue;
                }
                let step = if nodes[i].major == nodes[j].major { 1 } else { 2 };
                let cand = (cost + step, hops + 1, i);
                if best[j].is_none_or(|(c, h, _)| (cand.0, cand.1) < (c, h)) {
                    best[j] = Some(cand);
                }
            }
        }
        if best[n - 1].is_none() {
            return Err(self.why_unreachable(from, to));
        }
        let mut chain = vec![n - 1];
        while let Some(&last) = chain.last() {
            if last == 0 {
                break;
            }
            chain.push(best[last].map(|(_, _, p)| p).unwrap_or(0));
        }
        chain.reverse();
        Ok(chain
            .windows(2)
            .map(|w| {
                let (a, b) = (&nodes[w[0]], &nodes[w[1]]);
                let rule = self.rule_for(b).cloned();
                Hop {
                    from: a.text.clone(),
                    to: b.text.clone(),
                    line: b.line.clone(),
                    min_source: rule.as_ref().map(|r| r.min_source.text.clone()).unwrap_or_default(),
                    cross_major: a.major != b.major,
                    multi_container: rule.as_ref().is_some_and(|r| r.multi_container),
                    notes: rule.and_then(|r| r.notes).into_iter().collect(),
                }
            })
            .collect())
    }

    fn why_unreachable(&self, from: &WekaVersion, to: &WekaVersion) -> String {
        let Some(oldest) = self.rules.first() else {
            return format!("no supported upgrade path from {from} to {to}: the path table is empty");
        };
        if *from < oldest.min_source {
            return format!(
                "no supported upgrade path from {from} to {to}: {from} is older than any source the table knows (its oldest \
                 rule, {}.x, needs {} or later); upgrade by WEKA's older procedures first",
                oldest.line, oldest.min_source
            );
        }
        let why = self.direct(from, to).err().unwrap_or_default();
        format!(
            "no supported upgrade path from {from} to {to} through the releases in the table: {why}; and no chain of \
             the table's hop releases reaches it (check hop_release values in weka_upgrade_paths.json)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> WekaVersion {
        WekaVersion::parse(s).unwrap()
    }

    #[test]
    fn the_builtin_table_loads() {
        let t = Table::from_value(&serde_json::from_str(BUILTIN).unwrap()).unwrap();
        assert_eq!(t.rules.len(), 11);
        assert_eq!(t.rules[0].line.text, "3.11");
    }

    #[test]
    fn a_broken_table_is_explained() {
        let bad = serde_json::json!({"lines": [{"line": "4.0", "min_source": "three", "hop_release": "4.0.2"}]});
        assert!(Table::from_value(&bad)
            .unwrap_err()
            .contains("min_source 'three' is not a WEKA release"));
        let bad = serde_json::json!({"lines": [{"line": "4.0", "min_source": "3.14.1", "hop_release": "4.1.2"}]});
        assert!(Table::from_value(&bad).unwrap_err().contains("not in that line"));
        assert!(Table::from_value(&serde_json::json!({"rows": []}))
            .unwrap_err()
            .contains("'lines'"));
    }

    #[test]
    fn lines_behind_counts_release_lines() {
        let t = Table::builtin();
        assert_eq!(t.lines_behind(&v("3.13.1"), &v("4.0.2")), Some(2));
        assert_eq!(t.lines_behind(&v("4.0.1"), &v("4.0.2")), Some(0));
        assert_eq!(t.lines_behind(&v("4.2.1"), &v("4.4.6")), Some(2));
        assert_eq!(t.lines_behind(&v("2.9.0"), &v("4.0.2")), None);
    }
}
