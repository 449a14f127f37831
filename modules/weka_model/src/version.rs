//! WEKA release strings: up to four numeric parts and a build suffix (`4.2.8.312-6a24a...`,
//! `4.4.2.157-k8s.2`, `v4.0.1`). Only the numeric parts order releases; semver cannot parse a
//! fourth part, hence this small type.

use std::cmp::Ordering;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct WekaVersion {
    /// As WEKA printed it, without a leading `v`.
    pub text: String,
    /// 2 to 4 numbers; missing trailing parts compare as 0 (`4.2` == `4.2.0.0`).
    pub parts: Vec<u32>,
    /// The build suffix after the first `-`, if any.
    pub suffix: Option<String>,
    pub major: u32,
    pub minor: u32,
    /// `major.minor`, the release line the upgrade rules speak of (`4.2`).
    pub line: String,
}

impl WekaVersion {
    pub fn parse(text: &str) -> Option<WekaVersion> {
        let text = text.trim();
        let text = text.strip_prefix('v').unwrap_or(text);
        let (numbers, suffix) = match text.split_once('-') {
            Some((n, s)) => (n, Some(s.to_string()).filter(|s| !s.is_empty())),
            None => (text, None),
        };
        let parts: Vec<u32> = numbers
            .split('.')
            .map(|p| {
                (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| p.parse().ok())
                    .flatten()
            })
            .collect::<Option<_>>()?;
        if !(2..=4).contains(&parts.len()) {
            return None;
        }
        Some(WekaVersion {
            text: text.to_string(),
            major: parts[0],
            minor: parts[1],
            line: format!("{}.{}", parts[0], parts[1]),
            parts,
            suffix,
        })
    }

    fn part(&self, i: usize) -> u32 {
        self.parts.get(i).copied().unwrap_or(0)
    }

    /// Whether this release is at least `other` (numeric parts only).
    pub fn at_least(&self, other: &str) -> bool {
        WekaVersion::parse(other).is_some_and(|o| *self >= o)
    }

    /// Same `major.minor` line.
    pub fn same_line(&self, other: &WekaVersion) -> bool {
        (self.major, self.minor) == (other.major, other.minor)
    }
}

impl PartialEq for WekaVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for WekaVersion {}

impl PartialOrd for WekaVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for WekaVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (0..4)
            .map(|i| self.part(i).cmp(&other.part(i)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl std::fmt::Display for WekaVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> WekaVersion {
        WekaVersion::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn parses_the_documented_spellings() {
        let x = v("4.2.8.312-6a24a9f0");
        assert_eq!(
            (x.parts.clone(), x.suffix.as_deref(), x.line.as_str()),
            (vec![4, 2, 8, 312], Some("6a24a9f0"), "4.2")
        );
        let k = v("4.4.2.157-k8s.2");
        assert_eq!(
            (k.parts.clone(), k.suffix.as_deref()),
            (vec![4, 4, 2, 157], Some("k8s.2"))
        );
        assert_eq!(v("v4.0.1").text, "4.0.1");
        assert_eq!(v("5.1.0.605").parts.len(), 4);
        for bad in ["", "4", "four.two", "4..2", "4.2.1.2.3", "4.2.x", "-4.2"] {
            assert!(WekaVersion::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn orders_by_numbers_only() {
        assert!(v("4.2.10") > v("4.2.9.28"));
        assert!(v("4.2.8.312-abc") == v("4.2.8.312"));
        assert!(v("4.2") == v("4.2.0.0"));
        assert!(v("3.14.1") < v("4.0"));
        assert!(v("5.1.0.605") > v("5.0.4.401"));
        assert!(v("4.1.2.36").at_least("4.1.2") && !v("4.1.1").at_least("4.1.2"));
        assert!(v("4.2.1").same_line(&v("4.2.18.34")) && !v("4.2.1").same_line(&v("4.3.0")));
    }
}
