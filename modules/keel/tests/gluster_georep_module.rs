//! gluster_georep as ansible-core runs it, against the fake gluster answering from captures
//! (tests/fake-bin/gluster-fixtures): a failed status is never "no session", only verified
//! sessions leave the record, workers and a checkpoint are verified after the start. Timeouts
//! of 0 make each wait one look, so no test waits on the clock.

mod common;

use std::path::{Path, PathBuf};

use common::{module_args, repo};
use serde_json::{json, Value};

const S10: &str = "gv0 -> 10.199.0.11::gsv0";
const S9: &str = "gv0 -> 10.197.0.11::gsv0";

struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new() -> Host {
        Host {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn record(&self) -> PathBuf {
        self.dir.path().join("georep.json")
    }
    /// glusterd's working directory (empty unless a test writes a store).
    fn glusterd(&self) -> PathBuf {
        self.dir.path().join("glusterd")
    }
    fn state(&self) -> PathBuf {
        self.dir.path().join("fake")
    }
    fn recorded(&self, sessions: &[(&str, bool)]) {
        let v: Vec<Value> = sessions
            .iter()
            .map(|(s, paused)| {
                let (p, s) = s.split_once(" -> ").unwrap();
                json!({"primary_volume": p, "secondary": s, "paused": paused})
            })
            .collect();
        std::fs::write(self.record(), Value::from(v).to_string()).unwrap();
    }
    /// The names in the record, or None without one.
    fn record_names(&self) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(self.record()).ok()?;
        let v: Value = serde_json::from_str(&text).unwrap();
        Some(
            v.as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    format!(
                        "{} -> {}",
                        r["primary_volume"].as_str().unwrap(),
                        r["secondary"].as_str().unwrap()
                    )
                })
                .collect(),
        )
    }
    /// gluster_georep with `args`, the fake gluster of `release` with `env`.
    fn run(&self, release: &str, args: Value, env: &[(&str, &str)]) -> Value {
        std::fs::create_dir_all(self.state()).unwrap();
        let state = self.state();
        let glusterd = self.glusterd();
        let mut all = vec![
            ("FAKE_GLUSTER_VERSION", release),
            ("FAKE_GLUSTER_STATE", state.to_str().unwrap()),
            ("KEEL_TEST_GLUSTERD_DIR", glusterd.to_str().unwrap()),
        ];
        all.extend_from_slice(env);
        let mut args = args;
        args["record"] = json!(self.record());
        let path = format!(
            "{}:/usr/bin:/bin",
            repo().join("tests/fake-bin/gluster-fixtures").display()
        );
        common::run(
            "keel_gluster_georep",
            module_args("gluster_georep", json!({"_ansible_version": "2.21.5"}), args),
            &path,
            &all,
        )
    }
}

/// The geo-replication commands that change something (status left out).
fn actions(v: &Value) -> Vec<String> {
    v["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|c| c.contains(" volume geo-replication gv0 "))
        .map(|c| c.split(" volume geo-replication gv0 ").nth(1).unwrap().to_string())
        .collect()
}

fn names(v: &Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// S10 started and restored, nothing pending, the record gone.
fn assert_restored_s10(h: &Host, v: &Value) {
    assert_eq!(
        (names(&v["started"]), names(&v["restored"]), names(&v["pending"])),
        (vec![S10.to_string()], vec![S10.to_string()], vec![]),
        "{v}"
    );
    assert_eq!(h.record_names(), None);
}

#[test]
fn a_failed_status_is_never_taken_for_no_session() {
    for (mode, rc) in [("bare-rc1", 1), ("timeout", 110), ("opret", 0)] {
        for st in ["list", "stopped"] {
            let h = Host::new();
            // timeout 0: no asking again while the (captured) lock is held.
            let v = h.run(
                "10.3",
                json!({"state": st, "timeout": 0}),
                &[("FAKE_GEOREP", "running"), ("FAKE_GEOREP_STATUS", mode)],
            );
            assert_eq!(
                (&v["failed"], &v["status_known"], &v["rc"]),
                (&json!(true), &json!(false), &json!(rc)),
                "{mode} {st}: {v}"
            );
            assert!(v.get("role").is_none() && v.get("sessions").is_none(), "{v}");
            assert!(actions(&v).is_empty() && h.record_names().is_none(), "{v}");
        }
    }
}

#[test]
fn glusterds_no_session_answer_is_checked_against_its_store() {
    // The captured answer (rc 2, no XML) with a store that keeps no session: none.
    let h = Host::new();
    std::fs::create_dir_all(h.glusterd().join("vols/gv0")).unwrap();
    std::fs::write(h.glusterd().join("vols/gv0/info"), "type=2\nstatus=1\n").unwrap();
    let v = h.run("10.3", json!({"state": "stopped"}), &[]);
    assert_eq!(
        (&v["failed"], &v["changed"], &v["status_known"], &v["role"]),
        (&json!(false), &json!(false), &json!(true), &json!("none")),
        "{v}"
    );
    // The same answer while the store keeps a session: the status failed.
    let store = repo().join("modules/gluster_model/tests/fixtures/9.2/store-vols-gv0-info");
    std::fs::copy(store, h.glusterd().join("vols/gv0/info")).unwrap();
    let v = h.run("10.3", json!({"state": "stopped"}), &[]);
    assert_eq!((&v["failed"], &v["status_known"]), (&json!(true), &json!(false)), "{v}");
    assert!(v["msg"].as_str().unwrap().contains("gv0 -> 10.197.0.11::gsv0"), "{v}");
}

#[test]
fn started_keeps_the_record_when_the_status_fails_or_omits_a_session() {
    let h = Host::new();
    h.recorded(&[(S10, false)]);
    let v = h.run(
        "10.3",
        json!({"state": "started"}),
        &[("FAKE_GEOREP", "stopped"), ("FAKE_GEOREP_STATUS", "bare-rc1")],
    );
    assert_eq!((&v["failed"], &v["status_known"]), (&json!(true), &json!(false)), "{v}");
    assert_eq!(h.record_names(), Some(vec![S10.to_string()]));
    // glusterd's no-session answer while a session is recorded: it stays, the run fails.
    let v = h.run("10.3", json!({"state": "started"}), &[]);
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(names(&v["pending"]), [S10]);
    assert_eq!(h.record_names(), Some(vec![S10.to_string()]));
    // Nothing recorded: a status that tells nothing is reported, not failed.
    let h = Host::new();
    let v = h.run(
        "10.3",
        json!({"state": "started"}),
        &[("FAKE_GEOREP_STATUS", "timeout")],
    );
    assert_eq!(
        (&v["failed"], &v["changed"], &v["status_known"]),
        (&json!(false), &json!(false), &json!(false)),
        "{v}"
    );
}

#[test]
fn only_restored_sessions_leave_the_record() {
    let h = Host::new();
    let gone = "gv0 -> 10.199.0.99::gone";
    h.recorded(&[(S10, false), (gone, false)]);
    let v = h.run("10.3", json!({"state": "started"}), &[("FAKE_GEOREP", "stopped")]);
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(
        (names(&v["restored"]), names(&v["pending"])),
        (vec![S10.to_string()], vec![gone.to_string()]),
        "{v}"
    );
    assert_eq!(h.record_names(), Some(vec![gone.to_string()]));

    // A failed start: the session stays; the next run starts it and the record goes.
    let h = Host::new();
    h.recorded(&[(S10, false)]);
    let fail = [("FAKE_GEOREP", "stopped"), ("FAKE_GEOREP_FAIL", "start")];
    let v = h.run("10.3", json!({"state": "started"}), &fail);
    assert_eq!((&v["failed"], &v["changed"]), (&json!(true), &json!(false)), "{v}");
    assert_eq!(names(&v["pending"]), [S10]);
    assert_eq!(h.record_names(), Some(vec![S10.to_string()]));
    let v = h.run("10.3", json!({"state": "started"}), &[("FAKE_GEOREP", "stopped")]);
    assert_eq!((&v["failed"], &v["changed"]), (&json!(false), &json!(true)), "{v}");
    assert_restored_s10(&h, &v);
}

#[test]
fn a_stop_that_failed_keeps_the_session_recorded() {
    let h = Host::new();
    let v = h.run(
        "10.3",
        json!({"state": "stopped"}),
        &[("FAKE_GEOREP", "running"), ("FAKE_GEOREP_FAIL", "stop")],
    );
    assert_eq!((&v["failed"], &v["stopped"]), (&json!(true), &json!([])), "{v}");
    assert_eq!(h.record_names(), Some(vec![S10.to_string()]));
}

#[test]
fn a_faulty_worker_fails_its_session_with_host_and_brick() {
    let h = Host::new();
    h.recorded(&[(S9, false)]);
    let faulty = [("FAKE_GEOREP", "stopped"), ("FAKE_GEOREP_WORKER", "Faulty")];
    let v = h.run("9.2", json!({"state": "started", "timeout": 0}), &faulty);
    assert_eq!((&v["failed"], &v["changed"]), (&json!(true), &json!(true)), "{v}");
    assert_eq!(
        v["unhealthy_workers"],
        json!([{"session": S9, "primary_node": "10.197.0.11", "primary_brick": "/bricks/gv0a", "status": "Faulty"}]),
        "{v}"
    );
    assert_eq!(
        actions(&v),
        ["10.197.0.11::gsv0 start"],
        "no checkpoint on a faulty session"
    );
    assert_eq!(h.record_names(), Some(vec![S9.to_string()]));
    // Once the worker recovers, the next run verifies it (no second start) and the record goes.
    let v = h.run(
        "9.2",
        json!({"state": "started", "timeout": 0}),
        &[("FAKE_GEOREP", "stopped")],
    );
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(actions(&v), ["10.197.0.11::gsv0 config checkpoint now"]);
    assert_eq!(names(&v["restored"]), [S9]);
    assert_eq!(h.record_names(), None);
}

#[test]
fn a_worker_still_created_in_the_real_10_3_capture_is_not_restored() {
    // Captured on 10.3: Active, Passive, and 10.199.0.13's worker Created.
    let h = Host::new();
    h.recorded(&[(S10, false)]);
    let v = h.run(
        "10.3",
        json!({"state": "started", "timeout": 0}),
        &[("FAKE_GEOREP", "running")],
    );
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(
        v["unhealthy_workers"],
        json!([{"session": S10, "primary_node": "10.199.0.13", "primary_brick": "/bricks/gv0", "status": "Created"}])
    );
    assert!(actions(&v).is_empty(), "a running session is not started again: {v}");
    assert_eq!(h.record_names(), Some(vec![S10.to_string()]));
}

#[test]
fn a_checkpoint_is_set_after_the_start_and_awaited() {
    let h = Host::new();
    h.recorded(&[(S10, false)]);
    let v = h.run("10.3", json!({"state": "started"}), &[("FAKE_GEOREP", "stopped")]);
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(
        actions(&v),
        ["10.199.0.11::gsv0 start", "10.199.0.11::gsv0 config checkpoint now"]
    );
    assert!(
        v["commands"].as_array().unwrap().iter().any(|c| c
            .as_str()
            .unwrap()
            .starts_with("gluster --mode=script --xml volume geo-replication gv0")),
        "the checkpoint is asked with --xml: {v}"
    );
    assert_eq!(v["sessions"][0]["pairs"][0]["checkpoint_completed"], "Yes", "{v}");
    assert_eq!(h.record_names(), None);
}

#[test]
fn a_checkpoint_not_completed_or_refused_keeps_the_session() {
    let h = Host::new();
    h.recorded(&[(S10, false)]);
    let pending = [("FAKE_GEOREP", "stopped"), ("FAKE_GEOREP_CHECKPOINT", "pending")];
    let v = h.run("10.3", json!({"state": "started", "checkpoint_timeout": 0}), &pending);
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(names(&v["checkpoint_pending"]), [S10]);
    assert_eq!(h.record_names(), Some(vec![S10.to_string()]));
    // Refused in the envelope (rc 0, opRet -1).
    let h = Host::new();
    h.recorded(&[(S10, false)]);
    let refused = [("FAKE_GEOREP", "stopped"), ("FAKE_GEOREP_FAIL", "checkpoint")];
    let v = h.run("10.3", json!({"state": "started"}), &refused);
    assert_eq!((&v["failed"], &v["rc"]), (&json!(true), &json!(0)), "{v}");
    assert!(v["stdout"].as_str().unwrap().contains("<opRet>-1</opRet>"), "{v}");
    assert_eq!(h.record_names(), Some(vec![S10.to_string()]));
}

#[test]
fn checkpoint_false_restores_without_one() {
    let h = Host::new();
    h.recorded(&[(S10, false)]);
    let pending = [("FAKE_GEOREP", "stopped"), ("FAKE_GEOREP_CHECKPOINT", "pending")];
    let v = h.run("10.3", json!({"state": "started", "checkpoint": false}), &pending);
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(actions(&v), ["10.199.0.11::gsv0 start"]);
    assert_eq!(names(&v["restored"]), [S10]);
    assert_eq!(h.record_names(), None);
}

#[test]
fn a_session_paused_in_between_is_resumed() {
    let h = Host::new();
    h.recorded(&[(S9, false)]);
    let v = h.run("9.2", json!({"state": "started"}), &[("FAKE_GEOREP", "paused")]);
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(
        actions(&v),
        ["10.197.0.11::gsv0 resume", "10.197.0.11::gsv0 config checkpoint now"]
    );
    assert_eq!(h.record_names(), None);
}

#[test]
fn check_mode_starts_verifies_and_records_nothing() {
    let h = Host::new();
    h.recorded(&[(S10, false)]);
    let before = std::fs::read(h.record()).unwrap();
    let v = h.run(
        "10.3",
        json!({"state": "started", "_ansible_check_mode": true}),
        &[("FAKE_GEOREP", "stopped")],
    );
    assert_eq!((&v["failed"], &v["changed"]), (&json!(false), &json!(true)), "{v}");
    assert_eq!(names(&v["started"]), [S10]);
    assert!(actions(&v).is_empty(), "{v}");
    assert_eq!(std::fs::read(h.record()).unwrap(), before);
    assert!(!Path::new(&h.state().join("checkpoint")).exists());
}

/// The record's entries as the module keeps them.
fn record_entries(h: &Host) -> Vec<Value> {
    let text = std::fs::read_to_string(h.record()).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn with_a_wait_id_each_call_takes_one_look_and_the_record_keeps_the_wait() {
    let h = Host::new();
    h.recorded(&[(S10, false)]);
    let env = [("FAKE_GEOREP", "stopped")];
    let go = |id: &str| h.run("10.3", json!({"state": "started", "wait_id": id}), &env);
    // 1: started, not yet verified: done false, what is awaited, the phase in the record.
    let v = go("w1");
    assert_eq!(
        (&v["failed"], &v["changed"], &v["done"]),
        (&json!(false), &json!(true), &json!(false)),
        "{v}"
    );
    assert_eq!(actions(&v), ["10.199.0.11::gsv0 start"]);
    assert_eq!(names(&v["started"]), [S10]);
    assert_eq!(
        names(&v["waiting"]),
        [format!("{S10}: start done, its workers awaited (0 s of 120)")]
    );
    assert!(v["msg"].as_str().unwrap().starts_with("waiting (0 s): "), "{v}");
    assert_eq!(v["waited_s"], 0, "{v}");
    let kept = record_entries(&h);
    assert_eq!(
        (&kept[0]["progress"]["wait_id"], &kept[0]["progress"]["phase"]["name"]),
        (&json!("w1"), &json!("starting")),
        "{kept:?}"
    );
    // 2: the workers are up: the checkpoint is set, nothing started again.
    let v = go("w1");
    assert_eq!((&v["changed"], &v["done"]), (&json!(true), &json!(false)), "{v}");
    assert_eq!(actions(&v), ["10.199.0.11::gsv0 config checkpoint now"]);
    assert_eq!(record_entries(&h)[0]["progress"]["phase"]["name"], "checkpoint");
    // 3: completed: done; the record goes; the result tells what the whole wait did.
    let v = go("w1");
    assert_eq!(
        (&v["failed"], &v["changed"], &v["done"]),
        (&json!(false), &json!(true), &json!(true)),
        "{v}"
    );
    assert!(actions(&v).is_empty(), "{v}");
    assert_restored_s10(&h, &v);
}

#[test]
fn with_a_wait_id_a_checkpoint_pending_is_not_set_twice_and_a_failure_ends_the_wait() {
    let h = Host::new();
    h.recorded(&[(S10, false)]);
    let pending = [("FAKE_GEOREP", "stopped"), ("FAKE_GEOREP_CHECKPOINT", "pending")];
    let go = |limit: u64| {
        h.run(
            "10.3",
            json!({"state": "started", "wait_id": "w1", "checkpoint_timeout": limit}),
            &pending,
        )
    };
    go(300);
    assert_eq!(actions(&go(300)), ["10.199.0.11::gsv0 config checkpoint now"]);
    let v = go(300);
    assert_eq!((&v["done"], &v["changed"]), (&json!(false), &json!(false)), "{v}");
    assert!(actions(&v).is_empty(), "no second checkpoint while one is pending: {v}");
    assert!(
        names(&v["waiting"])[0].contains("not yet completed by every Active worker"),
        "{v}"
    );
    // Past its limit: failed, the session stays recorded without the wait's progress.
    let v = go(0);
    assert_eq!((&v["failed"], &v["done"]), (&json!(true), &json!(false)), "{v}");
    assert_eq!(names(&v["checkpoint_pending"]), [S10]);
    assert!(
        v["msg"].as_str().unwrap().contains("did not complete within 0 s"),
        "{v}"
    );
    let kept = record_entries(&h);
    assert!(kept[0].get("progress").is_none(), "{kept:?}");
    assert_eq!(h.record_names(), Some(vec![S10.to_string()]));
}

#[test]
fn a_wait_id_must_name_the_wait_and_check_mode_waits_for_nothing() {
    let h = Host::new();
    h.recorded(&[(S10, false)]);
    let v = h.run("10.3", json!({"state": "started", "wait_id": " "}), &[]);
    assert_eq!(v["failed"], true, "{v}");
    assert!(
        v["msg"].as_str().unwrap().contains("'wait_id' must name the wait"),
        "{v}"
    );
    let v = h.run(
        "10.3",
        json!({"state": "started", "wait_id": "w1", "_ansible_check_mode": true}),
        &[("FAKE_GEOREP", "stopped")],
    );
    assert_eq!(
        (&v["failed"], &v["done"], &v["changed"]),
        (&json!(false), &json!(true), &json!(true)),
        "{v}"
    );
    assert!(actions(&v).is_empty(), "{v}");
}
