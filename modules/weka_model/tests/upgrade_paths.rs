//! The planner against the documented hop table (the WEKA upgrade guide, summarised in docs/playbooks/weka_upgrade.md):
//! every documented hop, multi-hop chains, and targets it must refuse with a reason.

use keel_weka_model::paths::Table;
use keel_weka_model::WekaVersion;

fn v(s: &str) -> WekaVersion {
    WekaVersion::parse(s).unwrap()
}

fn path(from: &str, to: &str) -> Vec<String> {
    let hops = Table::builtin()
        .plan(&v(from), &v(to))
        .unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
    hops.iter().map(|h| h.to.clone()).collect()
}

/// (target line, minimum source) as the documentation states them.
const DOCUMENTED: [(&str, &str); 11] = [
    ("3.11.0", "3.10.0"),
    ("3.12.0", "3.11.0"),
    ("3.13.0", "3.12.1"),
    ("3.14.0", "3.13.1"),
    ("4.0.0", "3.14.1"),
    ("4.1.0", "4.0.2"),
    ("4.2.0", "4.1.2"),
    ("4.3.0", "4.2.1"),
    ("4.4.0", "4.2.1"),
    ("5.0.0", "4.4.6"),
    ("5.1.0", "5.0.2"),
];

#[test]
fn every_documented_hop_is_direct_from_its_minimum_and_not_below() {
    let t = Table::builtin();
    for (target, min) in DOCUMENTED {
        let target = v(&format!("{}.9", &target[..target.len() - 2]));
        assert!(t.direct(&v(min), &target).is_ok(), "{min} -> {target}");
        assert_eq!(
            path(min, &target.text),
            vec![target.text.clone()],
            "one hop {min} -> {target}"
        );
        // Just below the minimum (last part minus one, or the previous line's .9).
        let below = {
            let mut p = v(min).parts;
            let last = p.len() - 1;
            if p[last] > 0 {
                p[last] -= 1;
            } else {
                p[1] -= 1;
                p[last] = 99;
            }
            p.iter().map(u32::to_string).collect::<Vec<_>>().join(".")
        };
        let err = t.direct(&v(&below), &target).unwrap_err();
        assert!(
            err.contains(&format!("can only be installed over {min} or later")),
            "{below} -> {target}: {err}"
        );
    }
}

#[test]
fn multi_hop_chains_stop_at_each_lines_hop_release() {
    assert_eq!(path("3.13.1", "4.0.2"), ["3.14.1", "4.0.2"]);
    // 3.13 needs 3.12.1: a 3.12.0 cluster first moves within its own line.
    assert_eq!(path("3.12.0", "4.0.2"), ["3.12.1", "3.13.1", "3.14.1", "4.0.2"]);
    assert_eq!(path("3.10.0", "3.14.1"), ["3.11.0", "3.12.1", "3.13.1", "3.14.1"]);
    assert_eq!(path("3.14.1", "4.2.18.34"), ["4.0.2", "4.1.2.36", "4.2.18.34"]);
    // 4.4 is reachable from 4.2.1 directly: no stop at 4.3.
    assert_eq!(path("4.2.1", "4.4.36.15"), ["4.4.36.15"]);
    assert_eq!(path("4.1.2.36", "4.4.6"), ["4.2.18.34", "4.4.6"]);
    // 5.1.0.x has no direct path from 4.4.
    assert_eq!(path("4.4.6", "5.1.0.605"), ["5.0.4.401", "5.1.0.605"]);
    assert_eq!(path("4.2.1", "5.1.0.605"), ["4.4.36.15", "5.0.4.401", "5.1.0.605"]);
    assert_eq!(path("4.0.2", "4.0.4"), ["4.0.4"]);
    assert!(path("4.2.9.28", "4.2.9.28").is_empty());
}

#[test]
fn hops_carry_their_rule() {
    let hops = Table::builtin().plan(&v("3.14.1"), &v("4.1.2.36")).unwrap();
    assert_eq!(hops.len(), 2);
    assert!(hops[0].cross_major && !hops[0].multi_container);
    assert_eq!((hops[1].from.as_str(), hops[1].min_source.as_str()), ("4.0.2", "4.0.2"));
    assert!(hops[1].multi_container && !hops[1].cross_major);
    assert!(hops[1].notes[0].contains("multi-container"));
}

#[test]
fn impossible_targets_fail_with_the_reason() {
    let t = Table::builtin();
    let err = t.plan(&v("4.2.1"), &v("4.1.2")).unwrap_err();
    assert!(err.contains("does not support downgrades"), "{err}");
    let err = t.plan(&v("4.4.6"), &v("6.0.1")).unwrap_err();
    assert!(
        err.contains("no rule for WEKA 6.0.x") && err.contains("weka_upgrade_paths.json"),
        "{err}"
    );
    let err = t.plan(&v("3.9.5"), &v("4.0.2")).unwrap_err();
    assert!(err.contains("older than any source the table knows"), "{err}");
    // A hop release too old for the next line leaves a gap the planner names.
    let gap = serde_json::json!({"lines": [
        {"line": "3.13", "min_source": "3.12.1", "hop_release": "3.13.0"},
        {"line": "3.14", "min_source": "3.13.1", "hop_release": "3.14.1"}]});
    let err = Table::from_value(&gap)
        .unwrap()
        .plan(&v("3.12.1"), &v("3.14.1"))
        .unwrap_err();
    assert!(err.contains("no chain of the table's hop releases"), "{err}");
}

#[test]
fn a_new_line_in_the_data_extends_the_planner() {
    let mut data: serde_json::Value = serde_json::from_str(keel_weka_model::paths::BUILTIN).unwrap();
    data["weka_upgrade_paths"]["lines"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"line": "5.2", "min_source": "5.1.0.605", "hop_release": "5.2.3"}));
    let t = Table::from_value(&data).unwrap();
    let hops: Vec<String> = t
        .plan(&v("5.0.2"), &v("5.2.3"))
        .unwrap()
        .into_iter()
        .map(|h| h.to)
        .collect();
    assert_eq!(hops, ["5.1.0.605", "5.2.3"]);
}
