//! Property tests of the WEKA parsers (every JSON and text output), release strings and the hop
//! planner. No input panics a parser and what it returns is bounded by what it read; a release
//! parses to the numbers it was written with and orders by them; a plan never goes back, never
//! skips a hop the table makes mandatory (each hop starts at or after its target line's minimum
//! source), reaches the target exactly when a chain of the table's hops does, and is the
//! cheapest such chain. `PROPTEST_CASES` sets the number of cases (default 256; `cargo xtask
//! proptest` runs 100,000, BENCHMARKS.md).

use std::path::Path;
use std::sync::OnceLock;

use keel_weka_model::parse::*;
use keel_weka_model::paths::Table;
use keel_weka_model::WekaVersion;
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    ProptestConfig::default()
}

fn fixtures() -> &'static [String] {
    static ALL: OnceLock<Vec<String>> = OnceLock::new();
    ALL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut out: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json" || x == "txt"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        out.sort();
        assert!(out.len() >= 15, "fixtures not found");
        out
    })
}

/// Field names the parsers read, and values WEKA prints.
const KEYS: &[&str] = &[
    "release",
    "name",
    "guid",
    "status",
    "io_status",
    "hosts",
    "backends",
    "clients",
    "active",
    "total",
    "active_count",
    "total_count",
    "drives",
    "io_nodes",
    "active_alerts_count",
    "block_upgrade_task",
    "state",
    "progress",
    "type",
    "upgrade_info",
    "upgrade_phase",
    "upgrade",
    "progressPercent",
    "unavailableMiB",
    "movingData",
    "protectionState",
    "MiB",
    "hostname",
    "container_name",
    "host_id",
    "mode",
    "sw_release_string",
    "sw_version",
    "auto_remove_timeout",
    "failure_text",
    "title",
    "description",
    "severity",
    "count",
    "muted",
    "isRunning",
    "isDisabled",
    "versionName",
    "runStatus",
    "internalStatus",
    "display_status",
    "username",
    "role",
    "org_name",
    "org_id",
    "roles",
    "versions",
    "x",
];

fn string_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "4.2.18.34",
            "3.13.1",
            "v4.0.1",
            "4.4.6-k8s.2",
            "5",
            "4.",
            "99999999999.1",
            "UP",
            "DOWN",
            "ACTIVE",
            "backend",
            "client",
            "RUNNING",
            "DONE",
            "ClusterAdmin",
            "none",
            "",
            "OK",
        ])
        .prop_map(str::to_string),
        ".{0,16}",
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        string_value().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 96, 10, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..10).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..12)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

#[path = "../../../tests/support/mutate.rs"]
mod mutate;
use mutate::{apply, Edit};

/// Text likely to matter inside WEKA's JSON and text output.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "null",
            "1e309",
            "-0",
            "18446744073709551616",
            "\"\\u0000\"",
            "\"\\ud800\"",
            "v",
            "*",
            "\n",
            "é",
        ])
        .prop_map(str::to_string),
        "[{}\\[\\],:\"a-z0-9.]{0,20}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    mutate::edit(piece(), 100)
}

fn size<T: serde::Serialize, E>(r: &Result<T, E>) -> usize {
    r.as_ref()
        .map(|v| serde_json::to_string(v).map_or(0, |s| s.len()))
        .unwrap_or(0)
}

/// Every parser on `input`: none panics, each result is bounded by the input's size.
fn every_parser(input: &str) -> Result<(), TestCaseError> {
    // Linear in the input: `[{}]` becomes a record with every field defaulted.
    let bound = 64 * input.len() + 1024;
    prop_assert!(size(&parse_status(input)) <= bound);
    prop_assert!(size(&parse_status_text_release(input)) <= bound);
    prop_assert!(size(&parse_rebuild(input)) <= bound);
    prop_assert!(size(&parse_containers(input)) <= bound);
    prop_assert!(size(&parse_alerts(input)) <= bound);
    prop_assert!(size(&parse_tasks(input)) <= bound);
    prop_assert!(size(&parse_local_ps(input)) <= bound);
    prop_assert!(size(&parse_whoami(input)) <= bound);
    prop_assert!(size(&parse_servers(input)) <= bound);
    let installed = parse_version_list(input);
    prop_assert!(installed.versions.iter().map(String::len).sum::<usize>() <= input.len());
    Ok(())
}

/// A release as numbers and how it is written.
fn release() -> impl Strategy<Value = (Vec<u32>, String)> {
    (
        prop::collection::vec(0u32..40, 2..=4),
        prop::option::of("[a-z0-9.]{1,8}"),
        any::<bool>(),
    )
        .prop_map(|(parts, suffix, v)| {
            let mut text = parts.iter().map(u32::to_string).collect::<Vec<_>>().join(".");
            if let Some(s) = suffix {
                text = format!("{text}-{s}");
            }
            if v {
                text = format!("v{text}");
            }
            (parts, text)
        })
}

fn padded(parts: &[u32]) -> [u32; 4] {
    let mut p = [0; 4];
    p[..parts.len()].copy_from_slice(parts);
    p
}

/// Releases around the table's: mostly on the built-in table's lines (3.10 to 5.1), else any
/// line from 3.0 to 5.19, with patch levels around the hop releases'.
fn version() -> impl Strategy<Value = WekaVersion> {
    let line = prop_oneof![
        3 => prop::sample::select(vec![(3, 10), (3, 11), (3, 12), (3, 13), (3, 14), (4, 0), (4, 1), (4, 2), (4, 3), (4, 4), (5, 0), (5, 1)]),
        1 => (3u32..6, 0u32..20),
    ];
    (line, 0u32..40, prop::option::of(0u32..700)).prop_map(|((a, b), c, d)| {
        let text = match d {
            Some(d) => format!("{a}.{b}.{c}.{d}"),
            None => format!("{a}.{b}.{c}"),
        };
        WekaVersion::parse(&text).unwrap()
    })
}

/// A table of random rules as JSON: consecutive release lines (now and then the next major),
/// each line's minimum source on one of the few lines before it (a chain of hops is then needed
/// from further back), or, now and then, lines in any order with any minimum source.
fn table_json() -> impl Strategy<Value = Value> {
    let consecutive = (
        3u32..5,
        0u32..6,
        prop::collection::vec((0u32..4, 1usize..4, 0u32..6, 0u32..6, any::<bool>()), 1..10),
    )
        .prop_map(|(mut major, mut minor, steps)| {
            let mut lines: Vec<(u32, u32)> = Vec::new();
            let mut out = Vec::new();
            for (jump, back, patch, hop, mc) in steps {
                if !lines.is_empty() {
                    if jump == 0 {
                        major += 1;
                        minor = 0;
                    } else {
                        minor += 1;
                    }
                }
                let min_source = match lines.len().checked_sub(back) {
                    Some(i) => format!("{}.{}.{patch}", lines[i].0, lines[i].1),
                    None => format!("{major}.{minor}.{}", patch.min(5)),
                };
                lines.push((major, minor));
                out.push(json!({
                    "line": format!("{major}.{minor}"),
                    "min_source": min_source,
                    "hop_release": format!("{major}.{minor}.{}", 6 + hop),
                    "multi_container": mc,
                }));
            }
            json!({ "lines": out })
        });
    let scattered =
        prop::collection::vec((3u32..6, 0u32..8, 0u32..6, 3u32..6, 0u32..12, 0u32..9), 1..10).prop_map(|rules| {
            let lines: Vec<Value> = rules
                .into_iter()
                .map(|(major, minor, hop, min_major, min_minor, min_patch)| {
                    json!({
                        "line": format!("{major}.{minor}"),
                        "min_source": format!("{min_major}.{min_minor}.{min_patch}"),
                        "hop_release": format!("{major}.{minor}.{}", 6 + hop),
                    })
                })
                .collect();
            json!({ "lines": lines })
        });
    prop_oneof![3 => consecutive, 1 => scattered]
}

/// The reference planner: over the same stops (the start, every hop release strictly between,
/// the target), the cheapest (cost, hops) by brute force over the stops in order, None when
/// unreachable.
fn reference_cost(t: &Table, from: &WekaVersion, to: &WekaVersion) -> Option<(u32, u32)> {
    let mut stops = vec![from.clone()];
    stops.extend(
        t.rules
            .iter()
            .map(|r| r.hop_release.clone())
            .filter(|h| h > from && h < to),
    );
    stops.push(to.clone());
    let mut best: Vec<Option<(u32, u32)>> = vec![None; stops.len()];
    best[0] = Some((0, 0));
    for j in 1..stops.len() {
        for i in 0..j {
            let Some((c, h)) = best[i] else { continue };
            if t.direct(&stops[i], &stops[j]).is_err() {
                continue;
            }
            let step = if stops[i].major == stops[j].major { 1 } else { 2 };
            let cand = (c + step, h + 1);
            if best[j].is_none_or(|b| cand < b) {
                best[j] = Some(cand);
            }
        }
    }
    best[stops.len() - 1]
}

/// The plan's invariants against the table.
fn check_plan(t: &Table, from: &WekaVersion, to: &WekaVersion) -> Result<(), TestCaseError> {
    let plan = t.plan(from, to);
    if to < from {
        prop_assert!(plan.is_err(), "a downgrade was planned: {from} -> {to}");
        return Ok(());
    }
    if to == from {
        prop_assert_eq!(plan.map(|p| p.len()), Ok(0));
        return Ok(());
    }
    let reference = if t.rule_for(to).is_some() {
        reference_cost(t, from, to)
    } else {
        None
    };
    match plan {
        Err(_) => prop_assert!(reference.is_none(), "no plan, but a chain exists: {from} -> {to}"),
        Ok(hops) => {
            prop_assert!(!hops.is_empty());
            prop_assert_eq!(&hops[0].from, &from.text);
            prop_assert_eq!(&hops[hops.len() - 1].to, &to.text);
            let mut cost = 0;
            for (i, h) in hops.iter().enumerate() {
                let (a, b) = (WekaVersion::parse(&h.from).unwrap(), WekaVersion::parse(&h.to).unwrap());
                prop_assert!(b > a, "hop {i} goes back: {} -> {}", h.from, h.to);
                let rule = t.rule_for(&b).expect("every hop's target has a rule");
                prop_assert!(
                    a >= rule.min_source,
                    "hop {} -> {} skips {}.x's minimum source {}",
                    a,
                    b,
                    rule.line,
                    rule.min_source
                );
                prop_assert_eq!(h.cross_major, a.major != b.major);
                if i + 1 < hops.len() {
                    prop_assert_eq!(&h.to, &hops[i + 1].from);
                    prop_assert!(
                        t.rules.iter().any(|r| r.hop_release == b),
                        "a stop that is no hop release: {}",
                        b
                    );
                }
                cost += if a.major == b.major { 1 } else { 2 };
            }
            prop_assert_eq!(
                Some((cost, hops.len() as u32)),
                reference,
                "{} -> {}: not the cheapest chain",
                from,
                to
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics_a_parser(text in ".{0,400}") {
        every_parser(&text)?;
    }

    #[test]
    fn arbitrary_json_never_panics_a_parser(v in any_json()) {
        every_parser(&v.to_string())?;
        every_parser(&serde_json::to_string_pretty(&v).unwrap())?;
    }

    #[test]
    fn mutated_fixtures_never_panic_a_parser(i in 0usize..1000, edits in prop::collection::vec(edit(), 1..6)) {
        let all = fixtures();
        every_parser(&apply(&all[i % all.len()], &edits))?;
    }

    #[test]
    fn any_text_is_a_release_or_none(text in ".{0,40}") {
        if let Some(v) = WekaVersion::parse(&text) {
            prop_assert!((2..=4).contains(&v.parts.len()));
            prop_assert!(v.text.len() <= text.len());
            prop_assert_eq!(WekaVersion::parse(&v.text).map(|w| w.parts), Some(v.parts.clone()));
        }
    }

    #[test]
    fn a_release_reads_as_its_numbers_and_orders_by_them((a, ta) in release(), (b, tb) in release()) {
        let (va, vb) = (WekaVersion::parse(&ta).unwrap(), WekaVersion::parse(&tb).unwrap());
        prop_assert_eq!(&va.parts, &a);
        prop_assert_eq!(va.line.clone(), format!("{}.{}", a[0], a[1]));
        prop_assert_eq!(va.cmp(&vb), padded(&a).cmp(&padded(&b)));
        prop_assert_eq!(va == vb, padded(&a) == padded(&b));
        prop_assert_eq!(va.at_least(&tb), padded(&a) >= padded(&b));
    }

    #[test]
    fn the_builtin_plan_never_goes_back_nor_skips_a_hop(from in version(), to in version()) {
        check_plan(&Table::builtin(), &from, &to)?;
    }

    #[test]
    fn any_table_plans_never_go_back_nor_skip_a_hop(
        table in table_json(),
        (a, b) in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        (pa, pb) in (0u32..12, 0u32..12),
        (other_from, other_to) in (version(), version()),
    ) {
        if let Ok(t) = Table::from_value(&table) {
            // Mostly releases on the table's own lines, around its hop releases.
            let on = |i: &prop::sample::Index, patch: u32| {
                let line = &t.rules[i.index(t.rules.len())].line;
                WekaVersion::parse(&format!("{}.{}.{patch}", line.major, line.minor)).unwrap()
            };
            let from = if pa < 10 { on(&a, pa) } else { other_from };
            let to = if pb < 10 { on(&b, pb) } else { other_to };
            check_plan(&t, &from, &to)?;
        }
    }

    #[test]
    fn any_json_is_a_table_or_refused(v in any_json()) {
        let _ = Table::from_value(&v);
        let _ = Table::from_value(&json!({"lines": v}));
    }
}

#[test]
fn every_fixture_passes_the_parsers_unchanged() {
    for doc in fixtures() {
        every_parser(doc).unwrap();
    }
}
