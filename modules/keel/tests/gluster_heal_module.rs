//! gluster_heal as ansible-core runs it, against the fake gluster answering from captures
//! (tests/fake-bin/gluster-fixtures): what "healed" means, which volumes are triggered, the
//! stuck failures a playbook's `until` loop stops on, and the command timeout.

use serde_json::{json, Value};

mod common;

use common::{module_args, repo};

fn run(extra: Value, env: &[(&str, &str)]) -> Value {
    let path = format!(
        "{}:/usr/bin:/bin",
        repo().join("tests/fake-bin/gluster-fixtures").display()
    );
    common::run(
        "keel_gluster_waits",
        module_args("gluster_heal", json!({}), extra),
        &path,
        env,
    )
}

/// The volumes this run sent `gluster volume heal VOL` (the trigger, not a count).
fn triggers(v: &Value) -> Vec<String> {
    v["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .filter(|c| c.starts_with("gluster ") && !c.contains(" info"))
        .filter_map(|c| c.split_once(" volume heal ").map(|(_, v)| v.to_string()))
        .collect()
}

#[test]
fn every_started_volume_that_heals_is_triggered_even_with_nothing_pending() {
    let v = run(json!({"wait": false}), &[]);
    assert_eq!(
        (&v["failed"], &v["changed"], &v["healed"], &v["stuck"]),
        (&json!(false), &json!(false), &json!(true), &json!(false)),
        "{v}"
    );
    assert_eq!(triggers(&v), ["arb0", "dr0", "ec0", "gv0"], "{v}");
    assert_eq!(v["triggered"], json!(["arb0", "dr0", "ec0", "gv0"]));
}

#[test]
fn the_timeout_option_reaches_every_gluster_command() {
    let v = run(json!({"wait": false, "timeout": "45s"}), &[]);
    assert_eq!(v["failed"], false, "{v}");
    let gluster: Vec<&str> = v["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .filter(|c| c.starts_with("gluster "))
        .collect();
    assert!(gluster.len() > 4, "{v}");
    assert!(gluster.iter().all(|c| c.contains(" --timeout=45 ")), "{gluster:?}");
}

#[test]
fn a_count_gluster_gives_as_a_dash_is_not_healed() {
    let v = run(
        json!({"volumes": ["gv0"], "wait": false}),
        &[("FAKE_GLUSTER_PREFIX", "unknown-")],
    );
    assert_eq!(
        (&v["failed"], &v["healed"], &v["stuck"], &v["pending_total"]),
        (&json!(false), &json!(false), &json!(false), &json!(0)),
        "{v}"
    );
    let gv0 = &v["volumes"]["gv0"];
    assert_eq!(gv0["healed"], false);
    assert!(gv0["bricks_unknown"]["10.198.0.13:/bricks/gv0"].is_string(), "{v}");
    assert_eq!(gv0["bricks_down"], json!([]), "connected, only its counts unknown");
}

#[test]
fn a_brick_missing_from_the_summary_is_not_healed() {
    let v = run(
        json!({"volumes": ["gv0"], "wait": false}),
        &[("FAKE_GLUSTER_PREFIX", "missing-")],
    );
    assert_eq!((&v["failed"], &v["healed"]), (&json!(false), &json!(false)), "{v}");
    assert!(
        v["volumes"]["gv0"]["bricks_unknown"]["10.198.0.13:/bricks/gv0"].is_string(),
        "{v}"
    );
}

#[test]
fn an_entry_possibly_healing_is_not_healed() {
    let v = run(
        json!({"volumes": ["gv0"], "wait": false}),
        &[("FAKE_GLUSTER_PREFIX", "healing-")],
    );
    assert_eq!((&v["failed"], &v["healed"]), (&json!(false), &json!(false)), "{v}");
    assert_eq!(v["volumes"]["gv0"]["possibly_healing"], 1, "{v}");
    // A backlog triggered is a change.
    assert_eq!(v["changed"], true, "{v}");
    assert_eq!(triggers(&v), ["gv0"], "{v}");
}

#[test]
fn a_brick_down_past_its_grace_fails_as_stuck_with_the_counts() {
    let v = run(
        json!({"volumes": ["gv0"], "wait": false, "brick_down_grace": 0}),
        &[("FAKE_GLUSTER_PREFIX", "degraded-")],
    );
    assert_eq!(
        (&v["failed"], &v["healed"], &v["stuck"], &v["stuck_reasons"]),
        (&json!(true), &json!(false), &json!(true), &json!(["bricks_down"])),
        "{v}"
    );
    assert_eq!(v["bricks_down"], json!(["10.198.0.13:/bricks/gv0"]), "{v}");
    assert_eq!(v["pending_total"], 56, "{v}");
    assert!(triggers(&v).is_empty(), "{v}");
}

#[test]
fn split_brain_fails_as_stuck_at_once_with_its_entries() {
    let v = run(
        json!({"volumes": ["sb0"], "wait": false, "report_entries": 2}),
        &[("FAKE_GLUSTER_PREFIX", "splitbrain-")],
    );
    assert_eq!(
        (&v["failed"], &v["healed"], &v["stuck"], &v["stuck_reasons"]),
        (&json!(true), &json!(false), &json!(true), &json!(["split_brain"])),
        "{v}"
    );
    assert_eq!(v["split_brain"]["sb0"]["entries"], json!(["/", "/f4"]), "{v}");
    assert_eq!(v["split_brain"]["sb0"]["bricks"]["10.196.0.11:/bricks/sb0"], 4, "{v}");
    assert!(triggers(&v).is_empty(), "{v}");
}

#[test]
fn check_mode_counts_and_names_what_it_would_trigger() {
    let v = run(json!({"_ansible_check_mode": true}), &[]);
    assert_eq!(
        (&v["failed"], &v["changed"], &v["healed"]),
        (&json!(false), &json!(false), &json!(true)),
        "{v}"
    );
    assert!(triggers(&v).is_empty(), "{v}");
    assert_eq!(v["would_trigger"], json!(["arb0", "dr0", "ec0", "gv0"]), "{v}");
    assert_eq!(v["triggered"], json!([]), "{v}");
}

#[test]
fn wait_with_a_count_never_known_ends_at_the_wait_timeout_not_stuck() {
    let v = run(
        json!({"volumes": ["gv0"], "wait": true, "wait_timeout": 0}),
        &[("FAKE_GLUSTER_PREFIX", "unknown-")],
    );
    assert_eq!(
        (&v["failed"], &v["healed"], &v["stuck"]),
        (&json!(true), &json!(false), &json!(false)),
        "{v}"
    );
    assert_eq!(triggers(&v), ["gv0"], "{v}");
}
