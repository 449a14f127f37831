//! gluster_service `resync_volumes` as ansible-core runs it, on a scratch glusterd working
//! directory (KEEL_TEST_GLUSTERD_DIR) with the fake systemctl and gluster of
//! tests/fake-bin/systemd, wrapped to play glusterd's import from its peers, a step that fails
//! once, and a crash (the module killed half way).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{module_args, repo};
use serde_json::{json, Value};

/// glusterd around the fake systemctl: `start glusterd` imports the peers' definitions
/// ($KEEL_PEERS) into an empty vols folder, as glusterd does, then with KEEL_CRASH=start kills the
/// module that ran it. KEEL_FAIL_ONCE=VERB:N makes the Nth call of VERB fail.
const SYSTEMCTL: &str = r#"#!/bin/sh
state=${FAKE_SYSTEMD_STATE:?}
verb=$1
count=$(( $(cat "$state/count-$verb" 2>/dev/null || echo 0) + 1 ))
echo $count > "$state/count-$verb"
if [ "$verb" = start ] && [ "$2" = glusterd ]; then
  vols=$KEEL_TEST_GLUSTERD_DIR/vols
  if [ -d "${KEEL_PEERS:-/-}" ] && [ -d "$vols" ] && [ -z "$(ls -A "$vols")" ]; then cp -R "$KEEL_PEERS/." "$vols/"; fi
  if [ "${KEEL_CRASH:-}" = start ]; then kill -KILL "$PPID"; exit 1; fi
fi
if [ "${KEEL_FAIL_ONCE:-}" = "$verb:$count" ]; then FAKE_SYSTEMCTL_FAIL=$verb; export FAKE_SYSTEMCTL_FAIL; fi
exec REAL "$@"
"#;

/// A Gluster daemon in this test's PID namespace: a resync signals this namespace's bricks.
fn gluster_running_here() -> Option<String> {
    let mine = std::fs::read_link("/proc/self/ns/pid").ok()?;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid = e.file_name().to_string_lossy().into_owned();
        let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
        let ours = std::fs::read_link(e.path().join("ns/pid")).ok()? == mine;
        (ours && ["glusterd", "glusterfsd", "glusterfs", "glustereventsd"].contains(&comm.trim())).then_some(pid)
    })
}

/// A server whose glusterd runs under (fake) systemd, with the volumes `own` defined, and peers
/// that define `peers`.
struct Server {
    dir: tempfile::TempDir,
}

impl Server {
    fn new(own: &[&str], peers: &[&str]) -> Server {
        if let Some(pid) = gluster_running_here() {
            panic!(
                "Gluster runs on this host (pid {pid}): run these tests where it does not, a resync would signal it"
            );
        }
        let s = Server {
            dir: tempfile::tempdir().unwrap(),
        };
        for d in ["state", "work", "bin"] {
            std::fs::create_dir(s.dir.path().join(d)).unwrap();
        }
        std::fs::write(s.state().join("glusterd"), "").unwrap();
        define(&s.vols(), own, "own");
        define(&s.dir.path().join("peers"), peers, "peer");
        let real = repo().join("tests/fake-bin/systemd/systemctl");
        let bin = s.dir.path().join("bin/systemctl");
        std::fs::write(&bin, SYSTEMCTL.replace("REAL", real.to_str().unwrap())).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        s
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }
    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }
    fn vols(&self) -> PathBuf {
        self.work().join("vols")
    }
    fn record(&self) -> PathBuf {
        self.work().join("keel-resync.json")
    }

    /// Runs gluster_service (`state: restarted, resync_volumes: true` unless `extra` says
    /// otherwise); None when the module died without a result (a crash played on purpose).
    fn run(&self, extra: Value, env: &[(&str, &str)]) -> Option<Value> {
        let args = module_args(
            "gluster_service",
            json!({"_ansible_version": "2.21.5", "state": "restarted", "use": "systemd",
                   "resync_volumes": true, "timeout": "1s"}),
            extra,
        );
        let file = self.dir.path().join("args");
        std::fs::write(&file, args.to_string()).unwrap();
        let path = format!(
            "{}:{}:/usr/bin:/bin",
            self.dir.path().join("bin").display(),
            repo().join("tests/fake-bin/systemd").display()
        );
        let peers = self.dir.path().join("peers");
        let mut cmd = Command::cargo_bin("keel_gluster_services").unwrap();
        cmd.arg(&file)
            .env_clear()
            .env("PATH", path)
            .env("FAKE_SYSTEMD_STATE", self.state())
            .env("KEEL_TEST_GLUSTERD_DIR", self.work())
            .env("KEEL_PEERS", peers);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        if stdout.is_empty() {
            return None;
        }
        assert_eq!(stdout.lines().count(), 1, "exactly one line of JSON: {stdout}");
        Some(serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}")))
    }

    /// systemctl calls that change something, in order, and forgets them.
    fn changes(&self) -> Vec<String> {
        let calls = self.state().join("calls");
        let text = std::fs::read_to_string(&calls).unwrap_or_default();
        let _ = std::fs::remove_file(&calls);
        text.lines()
            .filter(|l| !l.starts_with("is-active"))
            .map(str::to_string)
            .collect()
    }

    fn glusterd_active(&self) -> bool {
        self.state().join("glusterd").exists()
    }

    /// The saved copies, by name.
    fn copies(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.work())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("vols.keel-"))
            .collect();
        v.sort();
        v
    }
}

/// Volume definitions: `dir/NAME/info` holding `whose`.
fn define(dir: &Path, names: &[&str], whose: &str) {
    for n in names {
        std::fs::create_dir_all(dir.join(n)).unwrap();
        std::fs::write(dir.join(n).join("info"), whose).unwrap();
    }
}

/// Whose definition of each volume `vols` holds, by name.
fn defined(vols: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(vols)
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let whose = std::fs::read_to_string(e.path().join("info")).ok()?;
                    Some((e.file_name().to_string_lossy().into_owned(), whose))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn own(names: &[&str]) -> Vec<(String, String)> {
    names.iter().map(|n| (n.to_string(), "own".to_string())).collect()
}

fn peer(names: &[&str]) -> Vec<(String, String)> {
    names.iter().map(|n| (n.to_string(), "peer".to_string())).collect()
}

#[test]
fn a_resync_imports_the_peers_definitions_and_keeps_the_servers_own() {
    let s = Server::new(&["arb0", "gv0"], &["arb0", "gv0"]);
    let v = s.run(json!({}), &[]).unwrap();
    assert_eq!(
        (v["failed"].as_bool(), v["changed"].as_bool()),
        (Some(false), Some(true)),
        "{v}"
    );
    assert_eq!(defined(&s.vols()), peer(&["arb0", "gv0"]));
    let kept = PathBuf::from(v["kept"].as_str().unwrap());
    assert_eq!(defined(&kept), own(&["arb0", "gv0"]));
    assert_eq!(v["recovered"], Value::Null, "{v}");
    assert_eq!(v["removed"], json!([]), "{v}");
    assert!(!s.record().exists() && s.glusterd_active());
    assert_eq!(s.changes(), vec!["stop glusterd", "start glusterd"]);
}

#[test]
fn a_glusterd_that_will_not_start_without_its_definitions_gets_them_back_and_runs_again() {
    let s = Server::new(&["arb0", "gv0"], &["arb0", "gv0"]);
    let v = s.run(json!({}), &[("KEEL_FAIL_ONCE", "start:1")]).unwrap();
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(v["restored"], true, "{v}");
    assert_eq!(v["kept"], Value::Null, "{v}");
    assert!(
        v["stderr"].as_str().unwrap().contains("glusterd.service"),
        "systemctl's words: {v}"
    );
    assert_eq!(defined(&s.vols()), own(&["arb0", "gv0"]));
    assert!(s.copies().is_empty() && !s.record().exists(), "{:?}", s.copies());
    assert!(s.glusterd_active());
    assert_eq!(
        s.changes(),
        vec!["stop glusterd", "start glusterd", "stop glusterd", "start glusterd"]
    );
}

#[test]
fn definitions_that_cannot_be_moved_leave_glusterd_running() {
    // No vols folder: the move fails after glusterd was stopped.
    let s = Server::new(&[], &[]);
    let v = s.run(json!({}), &[]).unwrap();
    assert_eq!(
        (v["failed"].as_bool(), v["restored"].as_bool()),
        (Some(true), Some(true)),
        "{v}"
    );
    assert!(s.glusterd_active() && !s.record().exists() && s.copies().is_empty());
    assert_eq!(s.changes(), vec!["stop glusterd", "start glusterd"]);
}

#[test]
fn a_short_import_and_a_glusterd_that_will_not_stop_leave_the_copy_named_then_a_rerun_puts_it_back() {
    // The peers define gv0 only: the import stays short; the stop before the restore fails.
    let s = Server::new(&["arb0", "gv0"], &["gv0"]);
    let v = s.run(json!({}), &[("KEEL_FAIL_ONCE", "stop:2")]).unwrap();
    assert_eq!(
        (v["failed"].as_bool(), v["restored"].as_bool()),
        (Some(true), Some(false)),
        "{v}"
    );
    let kept = PathBuf::from(v["kept"].as_str().expect("the copy is named"));
    assert_eq!(defined(&kept), own(&["arb0", "gv0"]));
    let msg = v["msg"].as_str().unwrap();
    assert!(
        msg.contains(&format!("mv {} {}", kept.display(), s.vols().display())),
        "the command that puts it back: {v}"
    );
    assert!(
        s.record().exists() && s.glusterd_active(),
        "the record stays, glusterd still runs"
    );
    s.changes();

    // The re-run (the peers now answer) puts the copy back first, then resyncs afresh.
    define(&s.dir.path().join("peers"), &["arb0", "gv0"], "peer");
    let v = s.run(json!({}), &[]).unwrap();
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(v["recovered"], "restored", "{v}");
    assert_eq!(defined(&s.vols()), peer(&["arb0", "gv0"]));
    assert_eq!(defined(Path::new(v["kept"].as_str().unwrap())), own(&["arb0", "gv0"]));
    assert_eq!(s.copies().len(), 1, "{:?}", s.copies());
    assert!(!s.record().exists() && s.glusterd_active());
}

#[test]
fn a_resync_killed_after_the_import_is_completed_by_the_next_run() {
    let s = Server::new(&["arb0", "gv0"], &["arb0", "gv0", "new0"]);
    assert_eq!(
        s.run(json!({}), &[("KEEL_CRASH", "start")]),
        None,
        "the module was killed"
    );
    assert!(s.record().exists(), "the resync in progress is recorded");
    let copy = s.work().join(&s.copies()[0]);
    s.changes();

    let v = s.run(json!({}), &[]).unwrap();
    assert_eq!(
        (v["failed"].as_bool(), v["changed"].as_bool()),
        (Some(false), Some(true)),
        "{v}"
    );
    assert_eq!(v["recovered"], "completed", "{v}");
    assert_eq!(v["kept"], json!(copy), "{v}");
    assert_eq!(defined(&s.vols()), peer(&["arb0", "gv0", "new0"]));
    assert_eq!(defined(&copy), own(&["arb0", "gv0"]));
    assert!(!s.record().exists());
    // glusterd was only made sure of: no second resync.
    assert_eq!(s.changes(), vec!["start glusterd"]);
}

#[test]
fn a_resync_killed_before_the_import_has_its_copy_put_back_by_the_next_run_then_resyncs() {
    let s = Server::new(&["arb0", "gv0"], &["arb0", "gv0"]);
    std::fs::rename(s.dir.path().join("peers"), s.dir.path().join("later")).unwrap();
    assert_eq!(
        s.run(json!({}), &[("KEEL_CRASH", "start")]),
        None,
        "the module was killed"
    );
    assert!(s.record().exists() && defined(&s.vols()).is_empty());

    // Check mode names what it would do and does nothing.
    std::fs::rename(s.dir.path().join("later"), s.dir.path().join("peers")).unwrap();
    s.changes();
    let v = s.run(json!({"_ansible_check_mode": true}), &[]).unwrap();
    assert_eq!(
        (v["failed"].as_bool(), v["changed"].as_bool()),
        (Some(false), Some(true)),
        "{v}"
    );
    assert_eq!(v["recovered"], "restored", "{v}");
    assert!(s.record().exists() && defined(&s.vols()).is_empty() && s.changes().is_empty());

    let v = s.run(json!({}), &[]).unwrap();
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(v["recovered"], "restored", "{v}");
    assert_eq!(defined(&s.vols()), peer(&["arb0", "gv0"]));
    assert_eq!(defined(Path::new(v["kept"].as_str().unwrap())), own(&["arb0", "gv0"]));
    assert_eq!(s.copies().len(), 1, "{:?}", s.copies());
    assert!(!s.record().exists());
}

#[test]
fn a_plain_restart_puts_back_the_copy_of_an_interrupted_resync_first() {
    let s = Server::new(&["gv0"], &[]);
    assert_eq!(
        s.run(json!({}), &[("KEEL_CRASH", "start")]),
        None,
        "the module was killed"
    );
    s.changes();
    let v = s.run(json!({"resync_volumes": false}), &[]).unwrap();
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(v["recovered"], "restored", "{v}");
    assert_eq!(defined(&s.vols()), own(&["gv0"]));
    assert!(s.copies().is_empty() && !s.record().exists());
    assert_eq!(s.changes(), vec!["stop glusterd", "start glusterd", "restart glusterd"]);
}

#[test]
fn a_record_whose_copy_and_definitions_are_both_gone_fails_and_stays() {
    let s = Server::new(&["gv0"], &["gv0"]);
    assert_eq!(
        s.run(json!({}), &[("KEEL_CRASH", "start")]),
        None,
        "the module was killed"
    );
    let copy = s.work().join(&s.copies()[0]);
    std::fs::remove_dir_all(&copy).unwrap();
    std::fs::remove_dir_all(s.vols()).unwrap();
    s.changes();
    let v = s.run(json!({}), &[]).unwrap();
    assert_eq!(
        (v["failed"].as_bool(), v["restored"].as_bool()),
        (Some(true), Some(false)),
        "{v}"
    );
    assert!(v["msg"].as_str().unwrap().contains(copy.to_str().unwrap()), "{v}");
    assert!(s.record().exists() && s.changes().is_empty());
}

#[test]
fn old_copies_beyond_the_newest_three_are_removed_and_check_mode_only_names_them() {
    let s = Server::new(&["gv0"], &["gv0"]);
    for c in [
        "vols.keel-100",
        "vols.keel-200",
        "vols.keel-300",
        "vols.keel-400",
        "vols.keel-mine",
    ] {
        define(&s.work().join(c), &["gv0"], "old");
    }
    let removed = json!([s.work().join("vols.keel-100"), s.work().join("vols.keel-200")]);

    let v = s
        .run(json!({"_ansible_check_mode": true, "_ansible_diff": true}), &[])
        .unwrap();
    assert_eq!(
        (v["failed"].as_bool(), v["changed"].as_bool()),
        (Some(false), Some(true)),
        "{v}"
    );
    assert_eq!(v["removed"], removed, "{v}");
    assert!(v["diff"]["before"].as_str().unwrap().contains("vols.keel-100"), "{v}");
    assert!(!v["diff"]["after"].as_str().unwrap().contains("vols.keel-100"), "{v}");
    assert_eq!(s.copies().len(), 5);
    assert!(s.changes().is_empty() && !s.record().exists());
    assert_eq!(defined(&s.vols()), own(&["gv0"]));

    let v = s.run(json!({}), &[]).unwrap();
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(v["removed"], removed, "{v}");
    let kept = Path::new(v["kept"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut left = vec!["vols.keel-300", "vols.keel-400", "vols.keel-mine", kept.as_str()];
    left.sort();
    assert_eq!(s.copies(), left);
}

#[test]
fn the_copy_a_resync_in_progress_points_at_is_never_tidied() {
    let s = Server::new(&["gv0"], &["gv0"]);
    assert_eq!(
        s.run(json!({}), &[("KEEL_CRASH", "start")]),
        None,
        "the module was killed"
    );
    let copy = s.work().join(&s.copies()[0]);
    // Newer copies than the one in progress (a clock set back since).
    let newer: Vec<PathBuf> = (1..=4)
        .map(|i| s.work().join(format!("vols.keel-{}", u64::MAX - i)))
        .collect();
    for n in &newer {
        define(n, &["gv0"], "old");
    }
    let v = s.run(json!({"_ansible_check_mode": true}), &[]).unwrap();
    assert_eq!(v["recovered"], "completed", "{v}");
    assert_eq!(v["removed"], json!([newer[3]]), "{v}");
    let v = s.run(json!({}), &[]).unwrap();
    assert_eq!(
        (v["recovered"].as_str(), v["failed"].as_bool()),
        (Some("completed"), Some(false)),
        "{v}"
    );
    assert_eq!(v["removed"], json!([newer[3]]), "{v}");
    assert!(copy.is_dir() && !newer[3].exists() && newer[..3].iter().all(|n| n.is_dir()));
}
