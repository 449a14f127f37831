//! The `keel` binary as ansible-core runs it: an args file in, one JSON object out. Fake
//! `gluster` programs on PATH (tests/fake-bin) answer with output captured from real glusterfs.

use assert_cmd::Command;
use serde_json::{json, Value};

mod common;

use common::{module_args, repo};

fn fake_path() -> String {
    format!(
        "{}:/usr/bin:/bin",
        repo().join("tests/fake-bin/gluster-fixtures").display()
    )
}

/// Runs the binary that holds `args`' module with `path` as PATH and `env` added.
fn run(args: Value, path: &str, env: &[(&str, &str)]) -> Value {
    common::run_module(args, path, env)
}

fn facts(extra: Value) -> Value {
    module_args(
        "gluster_facts",
        json!({"_ansible_check_mode": false, "_ansible_version": "2.21.5"}),
        extra,
    )
}

#[test]
fn no_args_file_is_a_json_failure() {
    let out = Command::cargo_bin("keel_gluster_cluster").unwrap().output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed"], true);
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("usage: keel_gluster_cluster ARGS_FILE"),
        "{v}"
    );
}

#[test]
fn old_style_args_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("args");
    std::fs::write(&file, "heal=yes").unwrap();
    let out = Command::cargo_bin("keel_gluster_cluster")
        .unwrap()
        .arg(&file)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed"], true);
    assert!(v["msg"].as_str().unwrap().contains("not a JSON object"), "{v}");
}

#[test]
fn unknown_module_lists_the_ones_there_are() {
    let v = run(json!({"_keel_module": "gluster_nope"}), "/usr/bin:/bin", &[]);
    assert_eq!(v["failed"], true);
    assert!(v["msg"].as_str().unwrap().contains("unknown module 'gluster_nope'; this build has: gluster_facts, gluster_precheck, gluster_op_version, keel_selftest"), "{v}");
}

#[test]
fn gluster_missing_names_the_command_and_the_package() {
    let v = run(facts(json!({})), "/nonexistent", &[]);
    assert_eq!(v["failed"], true);
    let msg = v["msg"].as_str().unwrap();
    assert!(
        msg.contains("'gluster' command was not found") && msg.contains("glusterfs-server"),
        "{msg}"
    );
}

#[test]
fn glusterd_down_names_glusterd() {
    let v = run(facts(json!({})), &fake_path(), &[("FAKE_GLUSTER_MODE", "no-glusterd")]);
    assert_eq!(v["failed"], true);
    assert!(v["msg"].as_str().unwrap().contains("glusterd is not running"), "{v}");
    assert_eq!(v["rc"], 1);
    assert!(
        v["cmd"].as_str().unwrap().starts_with("gluster --mode=script --xml"),
        "{v}"
    );
}

#[test]
fn a_gluster_that_cannot_load_its_libraries_or_names_no_release_is_named() {
    let v = run(facts(json!({})), &fake_path(), &[("FAKE_GLUSTER_MODE", "broken-libs")]);
    assert_eq!(v["failed"], true, "{v}");
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with("'gluster --version' failed (rc 127): gluster: error while loading shared libraries"),
        "{v}"
    );
    let v = run(facts(json!({})), &fake_path(), &[("FAKE_GLUSTER_MODE", "no-release")]);
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(
        v["msg"],
        "cannot tell the installed Gluster version: cannot read the gluster version from: gluster: unknown build",
        "{v}"
    );
}

#[test]
fn cut_off_xml_is_named_with_the_command_that_printed_it() {
    let v = run(facts(json!({})), &fake_path(), &[("FAKE_GLUSTER_MODE", "truncated")]);
    assert_eq!(v["failed"], true, "{v}");
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with("cannot read the output of gluster pool list: gluster printed output that is not valid XML"),
        "{v}"
    );
}

#[test]
fn a_gluster_that_never_answers_is_killed_after_the_timeout() {
    // The process gets the module's timeout (gluster's own --timeout) plus 10 s.
    let started = std::time::Instant::now();
    let v = run(
        facts(json!({"timeout": 1})),
        &fake_path(),
        &[("FAKE_GLUSTER_MODE", "hang")],
    );
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(
        v["msg"],
        "'gluster --mode=script --xml --timeout=1 pool list' did not finish within 11 s and was killed; raise the \
         module's timeout option if it is just slow",
        "{v}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(40));
}

#[test]
fn heal_counts_gluster_will_not_give_are_a_warning_in_facts_and_a_blocker_in_the_precheck() {
    // Every heal summary answers as glfsheal did for dist0 (rc 234, the reason in the XML).
    let env = [("FAKE_GLUSTER_MODE", "heal-fails")];
    let why = "'gluster --mode=script --xml --timeout=120 volume heal gv0 info summary' failed (rc 234): gluster \
               reported an error (opRet -1, opErrno 22): This command is supported for only volumes of \
               replicate/disperse type";
    let v = run(facts(json!({})), &fake_path(), &env);
    assert_eq!(v["failed"], false, "{v}");
    assert!(
        v["warnings"].as_array().unwrap().iter().any(|w| w
            .as_str()
            .unwrap()
            .starts_with(&format!("no heal counts for volume gv0: {why}"))),
        "{v}"
    );
    let args = json!({"_keel_module": "gluster_precheck", "mode": "offline", "target_version": "11.1",
                      "clients_connected_ok": true});
    let v = run(args, &fake_path(), &env);
    assert_eq!(v["failed"], false, "offline, unknown heal counts only warn: {v}");
    let args = json!({"_keel_module": "gluster_precheck", "mode": "online", "target_version": "11.1",
                      "allow_distribute": true});
    let v = run(args, &fake_path(), &env);
    assert_eq!(v["failed"], true, "{v}");
    let unknown: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "heal_unknown" && f["severity"] == "blocker")
        .collect();
    assert_eq!(unknown.len(), 4, "arb0, dr0, ec0, gv0: {v}");
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains(&format!("volume gv0: heal counts unavailable: {why}")),
        "{v}"
    );
}

#[test]
fn an_empty_status_from_a_busy_glusterd_is_asked_again_not_taken_for_offline_bricks() {
    // Three servers asking at once: glusterd answers opRet 0 with no volumes while another
    // server's transaction holds the lock (seen on the testbed).
    let state = tempfile::tempdir().unwrap();
    let env = [
        ("FAKE_GLUSTER_BUSY", "2"),
        ("FAKE_GLUSTER_STATE", state.path().to_str().unwrap()),
    ];
    let v = run(facts(json!({})), &fake_path(), &env);
    let gv0 = v["ansible_facts"]["gluster"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "gv0")
        .cloned()
        .unwrap();
    assert!(
        gv0["bricks"].as_array().unwrap().iter().all(|b| b["online"] == true),
        "{gv0}"
    );
    let asked = v["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.as_str().unwrap().ends_with("volume status all"))
        .count();
    assert_eq!(asked, 3, "{v}");
}

#[test]
fn facts_from_real_10_3_and_11_1_output() {
    for version in ["10.3", "11.1"] {
        let v = run(facts(json!({})), &fake_path(), &[("FAKE_GLUSTER_VERSION", version)]);
        assert_eq!(v["failed"], false, "{v}");
        assert_eq!(v["changed"], false);
        let g = &v["ansible_facts"]["gluster"];
        assert_eq!(g["version"]["text"], version);
        assert_eq!(g["peers"].as_array().unwrap().len(), 3, "{g}");
        let gv0 = g["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "gv0")
            .unwrap();
        assert_eq!(gv0["type"], "replicate");
        assert_eq!(gv0["replica_count"], 3);
        let bricks = gv0["bricks"].as_array().unwrap();
        assert_eq!(bricks.len(), 3);
        assert!(
            bricks.iter().all(|b| b["online"] == true && b["heal"]["pending"] == 0),
            "{gv0}"
        );
        assert!(g["op_version"].as_u64().unwrap() >= 100000);
    }
}

#[test]
fn check_mode_still_reads_facts() {
    let v = run(facts(json!({"_ansible_check_mode": true})), &fake_path(), &[]);
    assert_eq!(v["failed"], false, "{v}");
    assert!(v["ansible_facts"]["gluster"]["volumes"].is_array());
}

#[test]
fn bad_options_name_the_option() {
    let v = run(facts(json!({"heals": true})), &fake_path(), &[]);
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("unsupported option(s) 'heals'; valid options are: command_timeout (alias timeout), heal"),
        "{v}"
    );
    let v = run(facts(json!({"timeout": "soon"})), &fake_path(), &[]);
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("option 'command_timeout' (given as 'timeout') must be a duration"),
        "{v}"
    );
    // An option and its alias together: refused, naming both.
    let v = run(
        facts(json!({"timeout": "1m", "command_timeout": "2m"})),
        &fake_path(),
        &[],
    );
    let msg = v["msg"].as_str().unwrap();
    assert!(
        v["failed"] == true && msg.contains("'command_timeout'") && msg.contains("'timeout'"),
        "{v}"
    );
}

#[test]
fn secrets_never_leave_the_module() {
    let secret = "s3cr3t-Value";
    for extra in [json!({}), json!({"fail": true}), json!({"panic": true})] {
        let base = json!({"message": "hi", "password": secret, "change": true, "_ansible_diff": true});
        let v = run(module_args("keel_selftest", base, extra), "/usr/bin:/bin", &[]);
        assert!(!v.to_string().contains(secret), "{v}");
        assert!(v.to_string().contains("********"), "{v}");
    }
}

#[test]
fn diff_only_in_diff_mode() {
    let args =
        |diff: bool| json!({"_keel_module": "keel_selftest", "message": "m", "change": true, "_ansible_diff": diff});
    assert!(run(args(true), "/usr/bin:/bin", &[])["diff"].is_object());
    assert!(run(args(false), "/usr/bin:/bin", &[]).get("diff").is_none());
}

#[test]
fn precheck_blocks_online_on_real_10_3_pool_with_dispersed_and_distribute_volumes() {
    let args = json!({"_keel_module": "gluster_precheck", "mode": "online", "target_version": "11.1"});
    let v = run(args, &fake_path(), &[]);
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(v["blocking"], true);
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.starts_with("2 blocking finding(s) for an online upgrade"), "{msg}");
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"dispersed_volume") && codes.contains(&"distribute_volume"),
        "{codes:?}"
    );
}

#[test]
fn precheck_offline_refuses_connected_clients_and_passes_when_they_may_stay() {
    // The 10.3 capture has client1 (10.199.0.21) connected to gv0's bricks.
    let code = |v: &Value, severity: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "clients_connected" && f["severity"] == severity)
    };
    let args = json!({"_keel_module": "gluster_precheck", "mode": "offline", "target_version": "11.1",
                      "_ansible_check_mode": true});
    let v = run(args, &fake_path(), &[]);
    assert_eq!(
        (v["failed"].clone(), v["blocking"].clone()),
        (json!(true), json!(true)),
        "{v}"
    );
    assert!(code(&v, "blocker"), "{v}");
    let args = json!({"_keel_module": "gluster_precheck", "mode": "offline", "target_version": "11.1",
                      "clients_connected_ok": true, "_ansible_check_mode": true});
    let v = run(args, &fake_path(), &[]);
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(v["changed"], false);
    assert_eq!(v["installed_version"], "10.3");
    assert!(code(&v, "warning"), "{v}");
    // Online, clients are expected: no census at all.
    let args = json!({"_keel_module": "gluster_precheck", "mode": "online", "target_version": "11.1"});
    let v = run(args, &fake_path(), &[]);
    assert!(
        !v["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("clients")),
        "{v}"
    );
}

#[test]
fn precheck_names_a_bad_target_and_a_bad_mode() {
    let v = run(
        json!({"_keel_module": "gluster_precheck", "target_version": "eleven"}),
        &fake_path(),
        &[],
    );
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("option 'target_version' must be a Gluster release like 11.1"),
        "{v}"
    );
    let v = run(
        json!({"_keel_module": "gluster_precheck", "mode": "rolling"}),
        &fake_path(),
        &[],
    );
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("option 'mode' must be one of: online, offline"),
        "{v}"
    );
}

fn op_version(extra: Value) -> Value {
    module_args("gluster_op_version", json!({"_ansible_diff": true}), extra)
}

#[test]
fn op_version_unchanged_when_max_equals_current_on_10_3() {
    let v = run(op_version(json!({})), &fake_path(), &[("FAKE_GLUSTER_VERSION", "10.3")]);
    assert_eq!(
        (v["failed"].clone(), v["changed"].clone()),
        (json!(false), json!(false)),
        "{v}"
    );
    assert_eq!(v["op_version"], 100000);
}

#[test]
fn op_version_check_mode_plans_the_bump_on_11_1_and_sets_nothing() {
    let v = run(
        op_version(json!({"_ansible_check_mode": true})),
        &fake_path(),
        &[("FAKE_GLUSTER_VERSION", "11.1")],
    );
    assert_eq!(v["changed"], true, "{v}");
    assert_eq!(v["op_version"], 100000);
    assert_eq!(v["diff"]["after"], "cluster.op-version: 110000\n");
    assert!(
        !v["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("volume set")),
        "{v}"
    );
}

#[test]
fn op_version_bumps_once_then_reports_no_change() {
    let state = tempfile::tempdir().unwrap();
    let env = [
        ("FAKE_GLUSTER_VERSION", "11.1"),
        ("FAKE_GLUSTER_STATE", state.path().to_str().unwrap()),
    ];
    let first = run(op_version(json!({})), &fake_path(), &env);
    assert_eq!(
        (first["changed"].clone(), first["op_version"].clone()),
        (json!(true), json!(110000)),
        "{first}"
    );
    assert_eq!(first["op_version_before"], 100000);
    let second = run(op_version(json!({})), &fake_path(), &env);
    assert_eq!(
        (second["changed"].clone(), second["failed"].clone()),
        (json!(false), json!(false)),
        "{second}"
    );
}

#[test]
fn a_command_that_finds_the_lock_held_is_asked_again_then_named() {
    // Another server's transaction holds glusterd's lock: the set did not run, so it is asked
    // again (three sets recorded) and succeeds once the lock is free.
    let state = tempfile::tempdir().unwrap();
    let env = [
        ("FAKE_GLUSTER_VERSION", "11.1"),
        ("FAKE_GLUSTER_STATE", state.path().to_str().unwrap()),
        ("FAKE_GLUSTER_LOCKED", "2"),
    ];
    let v = run(op_version(json!({})), &fake_path(), &env);
    assert_eq!(
        (v["changed"].clone(), v["op_version"].clone()),
        (json!(true), json!(110000)),
        "{v}"
    );
    let sets = v["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.as_str().unwrap().contains("volume set all cluster.op-version 110000"))
        .count();
    assert_eq!(sets, 3, "{v}");
    // A lock held past the timeout: the message says so and what to do.
    let state = tempfile::tempdir().unwrap();
    let env = [
        ("FAKE_GLUSTER_VERSION", "11.1"),
        ("FAKE_GLUSTER_STATE", state.path().to_str().unwrap()),
        ("FAKE_GLUSTER_LOCKED", "1000"),
    ];
    let v = run(op_version(json!({"timeout": 2})), &fake_path(), &env);
    assert_eq!(v["failed"], true, "{v}");
    assert!(
        v["msg"].as_str().unwrap().ends_with(
            "another gluster transaction kept the lock for 2 s (Another transaction is in progress for gv0. Please \
             try again after some time.): run it again once the other command (on another server, or by another \
             tool) is done"
        ),
        "{v}"
    );
}

#[test]
fn op_version_refuses_with_a_rejected_peer_and_above_max() {
    let v = run(
        op_version(json!({})),
        &fake_path(),
        &[("FAKE_GLUSTER_VERSION", "11.1"), ("FAKE_GLUSTER_PREFIX", "rejected-")],
    );
    assert_eq!(v["failed"], true);
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("refusing to change op-version while peers are not connected and in the cluster"),
        "{v}"
    );
    let v = run(
        op_version(json!({"target": "120000"})),
        &fake_path(),
        &[("FAKE_GLUSTER_VERSION", "11.1")],
    );
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("a server still runs an older release"),
        "{v}"
    );
}

// glusterd that will not tell the max op-version (asked five times, a second apart) runs in-process on a
// fake clock: modules/gluster_op_version/tests/in_process.rs.

#[test]
fn op_version_names_gluster_refusing_the_bump_and_a_bump_that_did_not_take() {
    // Another server raised it between this one's read and its set (the captured second bump).
    let v = run(
        op_version(json!({})),
        &fake_path(),
        &[("FAKE_GLUSTER_VERSION", "11.1"), ("FAKE_GLUSTER_MODE", "raced")],
    );
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(
        v["msg"],
        "gluster refused to set cluster.op-version 110000: gluster reported an error (opRet -1, opErrno 30800): \
         Required op-version (110000) should not be equal or lower than current cluster op-version (110000).",
        "{v}"
    );
    // Without FAKE_GLUSTER_STATE the fake accepts the set but keeps answering the old value.
    let v = run(op_version(json!({})), &fake_path(), &[("FAKE_GLUSTER_VERSION", "11.1")]);
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(v["msg"], "cluster.op-version reads 100000 after setting 110000", "{v}");
}

fn heal(extra: Value) -> Value {
    module_args("gluster_heal", json!({}), extra)
}

#[test]
fn heal_with_nothing_pending_changes_nothing() {
    let v = run(heal(json!({})), &fake_path(), &[]);
    assert_eq!(
        (v["failed"].clone(), v["changed"].clone(), v["healed"].clone()),
        (json!(false), json!(false), json!(true)),
        "{v}"
    );
    assert_eq!(v["pending_total"], 0);
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with("nothing to heal on arb0, dr0, ec0, gv0"),
        "{v}"
    );
    // As the upgrade guide asks, every volume is triggered anyway: that changes nothing.
    assert!(
        v["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "gluster --mode=script --timeout=120 volume heal gv0"),
        "{v}"
    );
}

#[test]
fn heal_without_wait_returns_the_counts_of_a_degraded_pool() {
    let v = run(
        heal(json!({"volumes": ["gv0"], "wait": false, "brick_down_grace": 0})),
        &fake_path(),
        &[("FAKE_GLUSTER_PREFIX", "degraded-")],
    );
    // A brick down past its grace is stuck: waiting will not heal it.
    assert_eq!(
        (
            v["failed"].clone(),
            v["changed"].clone(),
            v["healed"].clone(),
            v["stuck"].clone()
        ),
        (json!(true), json!(false), json!(false), json!(true)),
        "{v}"
    );
    assert_eq!(v["pending_total"], 56);
    assert_eq!(v["volumes"]["gv0"]["bricks_down"], json!(["10.198.0.13:/bricks/gv0"]));
    // gluster refuses the trigger while a brick is down: it waits for the brick.
    assert_eq!(v["triggered"], json!([]));
}

#[test]
fn heal_in_check_mode_triggers_nothing() {
    let v = run(
        heal(json!({"volumes": "gv0", "_ansible_check_mode": true})),
        &fake_path(),
        &[("FAKE_GLUSTER_PREFIX", "healing-")],
    );
    assert_eq!((&v["changed"], &v["healed"]), (&json!(false), &json!(false)), "{v}");
    assert_eq!(v["would_trigger"], json!(["gv0"]), "{v}");
    assert!(!v["commands"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c.as_str().unwrap().ends_with(" volume heal gv0")));
}

#[test]
fn heal_fails_at_once_on_a_real_split_brain_naming_each_entry_once() {
    // A data, metadata and entry split-brain made on a real 10.3 replica 3 volume.
    let v = run(
        heal(json!({"volumes": ["sb0"], "timeout": "10m", "report_entries": 3})),
        &fake_path(),
        &[("FAKE_GLUSTER_PREFIX", "splitbrain-")],
    );
    assert_eq!(v["failed"], true, "{v}");
    let msg = v["msg"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "volume sb0 has entries in split-brain (per brick: 10.196.0.11:/bricks/sb0 4, 10.196.0.12:/bricks/sb0 4, \
             10.196.0.13:/bricks/sb0 4)"
        ) && msg.contains("First entries: /, /f4, /f1.")
            && msg.contains("split-brain source-brick HOST:BRICK FILE"),
        "{msg}"
    );
    // The gfid mismatch of f3 is counted as pending, not as split-brain.
    assert_eq!(v["volumes"]["sb0"]["pending"], 3, "{v}");
    assert_eq!(v["volumes"]["sb0"]["split_brain"], 12, "{v}");
}

#[test]
fn heal_refuses_volumes_that_do_not_heal() {
    let v = run(heal(json!({"volumes": ["dist0"]})), &fake_path(), &[]);
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("volume 'dist0' is Distribute: only replicate and disperse volumes heal"),
        "{v}"
    );
    let v = run(heal(json!({"volumes": ["nope"]})), &fake_path(), &[]);
    assert!(
        v["msg"].as_str().unwrap().contains("volume 'nope' does not exist"),
        "{v}"
    );
    let v = run(heal(json!({"volumes": ["stopped0"]})), &fake_path(), &[]);
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("volume 'stopped0' is Created, not started: start it before healing"),
        "{v}"
    );
}

#[test]
fn heal_fails_when_gluster_will_not_count() {
    let v = run(
        heal(json!({"volumes": ["gv0"]})),
        &fake_path(),
        &[("FAKE_GLUSTER_MODE", "heal-fails")],
    );
    assert_eq!(v["failed"], true, "{v}");
    assert!(
        v["msg"].as_str().unwrap().starts_with(
            "'gluster --mode=script --xml --timeout=120 volume heal gv0 info summary' failed (rc 234): gluster \
             reported an error (opRet -1, opErrno 22)"
        ),
        "{v}"
    );
    assert_eq!(v["rc"], 234, "{v}");
}

// heal's waits to the brick-down grace and to the timeout run in-process on a fake clock:
// modules/gluster_heal/tests/wait_in_process.rs.

fn verify(extra: Value) -> Value {
    module_args("gluster_verify", json!({"poll_interval": 1, "timeout": 2}), extra)
}

#[test]
fn verify_passes_on_a_whole_pool_at_the_expected_release() {
    let v = run(
        verify(json!({"version": "11.1"})),
        &fake_path(),
        &[("FAKE_GLUSTER_VERSION", "11.1")],
    );
    assert_eq!(
        (v["failed"].clone(), v["changed"].clone()),
        (json!(false), json!(false)),
        "{v}"
    );
    assert_eq!(v["version"]["text"], "11.1");
}

#[test]
fn verify_fails_at_once_on_a_rejected_peer_with_the_remedies() {
    let v = run(
        verify(json!({"timeout": 60})),
        &fake_path(),
        &[("FAKE_GLUSTER_VERSION", "11.1"), ("FAKE_GLUSTER_PREFIX", "rejected-")],
    );
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(v["whole"], false, "{v}");
    assert_eq!(v["remedy"], Value::Null, "no remedy offered unless asked: {v}");
    assert_eq!(v["stuck"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v["rejected_peers"], json!(["10.198.0.12", "10.198.0.13"]), "{v}");
}

/// With `wait_id` every call looks once and returns, the wait kept in its record between calls, so
/// a playbook's until loop shows a line per call. The record's start time is moved back instead
/// of sleeping.
#[test]
fn verify_with_a_wait_id_looks_once_per_call_and_keeps_the_wait_between_calls() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("keel/gluster_verify.json");
    let env = [("FAKE_GLUSTER_PREFIX", "degraded-")];
    let ask = |id: &str| {
        // w3 waits for its timeout: nothing there is stuck before it.
        let stuck_after = if id == "w3" { 6000 } else { 60 };
        run(
            verify(
                json!({"timeout": 600, "stuck_after": stuck_after, "offer_remedy": true, "wait_id": id,
                          "wait_record": record.to_str().unwrap()}),
            ),
            &fake_path(),
            &env,
        )
    };
    let age = |secs: u64| {
        let mut w: Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
        w["started_ms"] = json!(w["started_ms"].as_u64().unwrap() - secs * 1000);
        std::fs::write(&record, w.to_string()).unwrap();
    };
    let v = ask("w1");
    assert_eq!(
        (v["failed"].clone(), v["whole"].clone()),
        (json!(false), json!(false)),
        "{v}"
    );
    assert_eq!(v["remedy"], Value::Null, "{v}");
    assert!(v["waiting"].as_array().is_some_and(|w| !w.is_empty()), "{v}");
    assert!(record.exists(), "the wait is kept for the next call");
    // A problem first seen by the first call has lasted stuck_after by a later one.
    age(61);
    let v = ask("w1");
    assert_eq!(v["remedy"], "restart", "{v}");
    assert!(v["waited_s"].as_u64().unwrap() >= 61, "{v}");
    assert!(!record.exists(), "a wait that ended leaves no record");
    // Another wait starts afresh; one past its timeout fails.
    let v = ask("w2");
    assert_eq!(v["waited_s"], 0, "{v}");
    age(600);
    let v = ask("w3");
    assert_eq!(v["waited_s"], 0, "a record of another wait is not taken over: {v}");
    age(600);
    let v = ask("w3");
    assert_eq!(v["failed"], true, "{v}");
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with("the pool is not whole after 600 s"),
        "{v}"
    );
}

/// The remedy ladder is gluster_verify's: each call names the next remedy not yet applied, at
/// once (no wait to the timeout), and fails once the ladder is exhausted.
#[test]
fn verify_offers_restart_then_resync_for_a_rejected_peer_then_stops() {
    let env = [("FAKE_GLUSTER_VERSION", "11.1"), ("FAKE_GLUSTER_PREFIX", "rejected-")];
    let ask = |applied: Value| {
        run(
            verify(json!({"timeout": 600, "offer_remedy": true, "remedies_applied": applied})),
            &fake_path(),
            &env,
        )
    };
    let v = ask(json!([]));
    assert_eq!(
        (v["failed"].clone(), v["whole"].clone()),
        (json!(false), json!(false)),
        "{v}"
    );
    assert_eq!(v["remedy"], "restart", "{v}");
    assert!(v["waited_s"].as_u64().unwrap() < 5, "{v}");
    let v = ask(json!(["restart"]));
    assert_eq!(v["remedy"], "resync", "{v}");
    let v = ask(json!(["restart", "resync"]));
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(v["remedy"], Value::Null, "{v}");
    assert_eq!(v["remedies_applied"], json!(["restart", "resync"]), "{v}");
}

#[test]
fn verify_names_a_bad_remedy_and_the_valid_ones() {
    let v = run(verify(json!({"remedies_applied": ["reboot"]})), &fake_path(), &[]);
    assert_eq!(v["failed"], true, "{v}");
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.contains("reboot") && msg.contains("restart, resync"), "{msg}");
}

#[test]
fn verify_names_a_bad_version() {
    let v = run(verify(json!({"version": "eleven"})), &fake_path(), &[]);
    assert_eq!(v["failed"], true, "{v}");
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .contains("option 'version' must be a Gluster release like 11.1, got 'eleven'"),
        "{v}"
    );
}

// verify's waits (to the timeout on a degraded pool, for the settle, a stuck handshake, glusterd
// not answering) run in-process on a fake clock: modules/gluster_verify/tests/wait_in_process.rs.

/// The op-version census on real 11.1 captures: servers on 11.1 and client1 (10.199.0.21) still
/// on 10.3 (`clients-behind-`), then client1 upgraded too.
fn census_env(state: &tempfile::TempDir, behind: bool) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("FAKE_GLUSTER_VERSION", "11.1".to_string()),
        ("FAKE_GLUSTER_STATE", state.path().to_str().unwrap().to_string()),
    ];
    if behind {
        env.push(("FAKE_GLUSTER_PREFIX", "clients-behind-".to_string()));
    }
    env
}

fn run_census(args: Value, env: &[(&'static str, String)]) -> Value {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run(op_version(args), &fake_path(), &env)
}

fn sets(v: &Value) -> usize {
    v["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.as_str().unwrap().contains("volume set all cluster.op-version"))
        .count()
}

#[test]
fn op_version_is_deferred_while_a_client_cannot_follow() {
    let state = tempfile::tempdir().unwrap();
    let v = run_census(json!({}), &census_env(&state, true));
    assert_eq!(
        (
            v["failed"].clone(),
            v["changed"].clone(),
            v["deferred"].clone(),
            v["op_version"].clone()
        ),
        (json!(false), json!(false), json!(true), json!(100000)),
        "{v}"
    );
    assert_eq!(sets(&v), 0, "{v}");
    let behind = v["census"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["behind"] == true)
        .collect::<Vec<_>>();
    assert_eq!(behind.len(), 1, "{v}");
    assert_eq!(
        (behind[0]["host"].clone(), behind[0]["server"].clone()),
        (json!("10.199.0.21"), json!(false))
    );
    assert_eq!(v["clients_behind"].as_array().unwrap().len(), 1, "{v}");
    // Nothing was set: a second look defers again.
    let again = run_census(json!({}), &census_env(&state, true));
    assert_eq!(
        (again["changed"].clone(), again["deferred"].clone()),
        (json!(false), json!(true)),
        "{again}"
    );
}

#[test]
fn a_client_behind_fails_the_raise_when_asked_and_is_named_when_accepted() {
    let state = tempfile::tempdir().unwrap();
    let v = run_census(json!({"clients_behind": "fail"}), &census_env(&state, true));
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(v["clients_behind"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(sets(&v), 0, "{v}");
    let v = run_census(json!({"clients_behind": "accept"}), &census_env(&state, true));
    assert_eq!(
        (v["changed"].clone(), v["op_version"].clone()),
        (json!(true), json!(110000)),
        "{v}"
    );
    assert_eq!(v["warnings"].as_array().map_or(0, Vec::len), 1, "{v}");
    let v = run_census(json!({"clients_behind": "later"}), &census_env(&state, true));
    assert_eq!(v["failed"], true, "{v}");
    assert!(v["msg"].as_str().unwrap().contains("defer, fail, accept"), "{v}");
}

#[test]
fn op_version_is_raised_once_every_client_follows() {
    let state = tempfile::tempdir().unwrap();
    let v = run_census(json!({}), &census_env(&state, false));
    assert_eq!(
        (v["changed"].clone(), v["op_version"].clone()),
        (json!(true), json!(110000)),
        "{v}"
    );
    assert_eq!(v["clients_behind"], json!([]), "{v}");
    assert!(
        v["census"]["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["host"] == "10.199.0.21"),
        "{v}"
    );
}

#[test]
fn a_raise_across_op_version_7_with_quota_asks_for_every_glusterd_restarted() {
    // A pool still at op-version 60000 (set through the fake's state) whose arb0 uses quota.
    let state = tempfile::tempdir().unwrap();
    std::fs::write(state.path().join("op-version"), "60000").unwrap();
    let mut env = census_env(&state, false);
    env.push(("FAKE_GLUSTER_PREFIX", "quota-".to_string()));
    let v = run_census(json!({"_ansible_check_mode": true}), &env);
    assert_eq!(
        (v["changed"].clone(), v["glusterd_restart_needed"].clone()),
        (json!(true), json!(true)),
        "{v}"
    );
    assert_eq!(v["quota_volumes"], json!(["arb0"]), "{v}");
    // Without quota, or from op-version 7 on, no restart.
    let v = run_census(json!({"_ansible_check_mode": true}), &census_env(&state, false));
    assert_eq!(v["glusterd_restart_needed"], false, "{v}");
    std::fs::write(state.path().join("op-version"), "100000").unwrap();
    let v = run_census(json!({"_ansible_check_mode": true}), &env);
    assert_eq!(
        (v["glusterd_restart_needed"].clone(), v["quota_volumes"].clone()),
        (json!(false), json!([])),
        "{v}"
    );
}

#[test]
fn a_census_gluster_will_not_give_defers_the_raise() {
    // As a real 11.1 server answered once: rc 2, no output.
    let state = tempfile::tempdir().unwrap();
    let mut env = census_env(&state, false);
    env.push(("FAKE_GLUSTER_PREFIX", "census-fails-".to_string()));
    let v = run_census(json!({}), &env);
    assert_eq!(
        (
            v["failed"].clone(),
            v["changed"].clone(),
            v["deferred"].clone(),
            v["op_version"].clone()
        ),
        (json!(false), json!(false), json!(true), json!(100000)),
        "{v}"
    );
    assert_eq!((v["census"].clone(), sets(&v)), (Value::Null, 0), "{v}");
    let v = run_census(json!({"clients_behind": "accept"}), &env);
    assert_eq!(
        (v["changed"].clone(), v["op_version"].clone()),
        (json!(true), json!(110000)),
        "{v}"
    );
}
