//! gluster_install never kills a package manager mid-transaction: past the timeout it stops
//! waiting, leaves the transaction running and reports the package state; every result says
//! whether the Gluster services may start (`services_safe_to_start`), the signal a playbook's
//! rescue gates its restart on. Fake package tools on PATH (tests/fake-bin/apt and rpm).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{module_args, repo};
use serde_json::{json, Value};

fn install(extra: Value) -> Value {
    module_args(
        "gluster_install",
        json!({"_ansible_version": "2.21.5", "version": "11.1"}),
        extra,
    )
}

fn fake_path(tools: &str) -> String {
    format!("{}:/usr/bin:/bin", repo().join("tests/fake-bin").join(tools).display())
}

fn run(extra: Value, tools: &str, env: &[(&str, &str)]) -> Value {
    common::run("keel_gluster_packages", install(extra), &fake_path(tools), env)
}

/// The state letter of /proc/PID/stat ('Z' once it exited), None when there is no such process.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

fn is_fake(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains("fake-bin"))
}

/// Ends the fake package manager a failed test left running (its session is its process group).
struct Reap(u32);

impl Drop for Reap {
    fn drop(&mut self) {
        if is_fake(self.0) {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.0)])
                .status();
        }
    }
}

/// A FIFO the fake package manager writes to when its transaction ends.
fn finished_fifo(state: &Path) -> PathBuf {
    let fifo = state.join("finished");
    let ok = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(ok.success());
    fifo
}

/// Blocks until the fake writes to `fifo` (its transaction ended), at most 30 s.
fn transaction_finished(fifo: PathBuf) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::read_to_string(&fifo));
    });
    matches!(rx.recv_timeout(Duration::from_secs(30)), Ok(Ok(s)) if s.trim() == "finished")
}

fn unfinished(v: &Value) -> Vec<&str> {
    v["unfinished"]
        .as_array()
        .unwrap_or_else(|| panic!("no unfinished list: {v}"))
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn apt_past_the_timeout_is_left_running_reports_the_unpacked_packages_and_finishes() {
    let state = tempfile::tempdir().unwrap();
    let s = state.path().to_str().unwrap();
    let fifo = finished_fifo(state.path());
    let env = [
        ("FAKE_APT_STATE", s),
        ("FAKE_APT_MODE", "install-hang"),
        ("FAKE_APT_SLEEP", "3"),
        ("TMPDIR", s),
    ];
    let v = run(json!({"timeout": 1}), "apt", &env);
    let pid = v["pid"].as_u64().unwrap_or_else(|| panic!("no pid: {v}")) as u32;
    let _reap = Reap(pid);
    assert!(
        matches!(proc_state(pid), Some(st) if st != 'Z') && is_fake(pid),
        "apt-get still runs after the module ended: {v}"
    );
    assert_eq!(
        (
            v["failed"].clone(),
            v["package_manager_running"].clone(),
            v["services_safe_to_start"].clone(),
            v["package_manager"].clone()
        ),
        (json!(true), json!(true), json!(false), json!("apt")),
        "{v}"
    );
    assert!(v["cmd"].as_str().unwrap().starts_with("apt-get install "), "{v}");
    let left = unfinished(&v);
    assert!(
        left.contains(&"glusterfs-server") && left.contains(&"glusterfs-common"),
        "{v}"
    );
    let server = v["installed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "glusterfs-server")
        .unwrap();
    assert_eq!(server["unfinished"], "unpacked, not configured", "{v}");
    let output = PathBuf::from(v["output"]["stdout"].as_str().unwrap());
    assert!(output.starts_with(state.path()), "{v}");

    // Left alone, the transaction ends, its late output written (no broken pipe): the packages
    // are installed and the same task then finds nothing to do.
    assert!(transaction_finished(fifo), "the fake apt-get was interrupted");
    assert_eq!(
        std::fs::read_to_string(state.path().join("installed")).unwrap().trim(),
        "11.1-3~bpo12+1"
    );
    assert!(std::fs::read_to_string(&output)
        .unwrap()
        .contains("Setting up glusterfs-server"));
    let env = [("FAKE_APT_STATE", s), ("TMPDIR", s)];
    let again = run(json!({}), "apt", &env);
    assert_eq!(
        (
            again["failed"].clone(),
            again["changed"].clone(),
            again["services_safe_to_start"].clone()
        ),
        (json!(false), json!(false), json!(true)),
        "{again}"
    );
}

/// dnf, yum or zypper past the timeout: left running, rpm listing the packages at two versions.
fn rpm_past_the_timeout(manager: &str) {
    let state = tempfile::tempdir().unwrap();
    let s = state.path().to_str().unwrap();
    let fifo = finished_fifo(state.path());
    let env = [
        ("FAKE_RPM_STATE", s),
        ("FAKE_RPM_MODE", "hang"),
        ("FAKE_RPM_SLEEP", "3"),
        ("TMPDIR", s),
    ];
    let v = run(json!({"timeout": 1, "package_manager": manager}), "rpm", &env);
    let pid = v["pid"].as_u64().unwrap_or_else(|| panic!("{manager}: no pid: {v}")) as u32;
    let _reap = Reap(pid);
    assert!(
        matches!(proc_state(pid), Some(st) if st != 'Z') && is_fake(pid),
        "{manager} still runs after the module ended: {v}"
    );
    assert_eq!(
        (
            v["failed"].clone(),
            v["package_manager_running"].clone(),
            v["services_safe_to_start"].clone()
        ),
        (json!(true), json!(true), json!(false)),
        "{manager}: {v}"
    );
    assert!(unfinished(&v).contains(&"glusterfs-server"), "{manager}: {v}");
    assert!(transaction_finished(fifo), "the fake {manager} was interrupted");
    assert!(state.path().join("installed").exists(), "{manager}");
}

#[test]
fn dnf_past_the_timeout_is_left_running_and_reports_the_packages_at_two_versions() {
    rpm_past_the_timeout("dnf");
}

#[test]
fn zypper_past_the_timeout_is_left_running_and_reports_the_packages_at_two_versions() {
    rpm_past_the_timeout("zypper");
}

#[test]
fn services_are_safe_to_start_after_a_failure_that_left_the_previous_release_intact() {
    for mode in ["install-fails", "update-fails", "dpkg-fails", "hang"] {
        // "hang" is an index refresh past the timeout: killed (no package changes there).
        let v = run(json!({"timeout": 1}), "apt", &[("FAKE_APT_MODE", mode)]);
        assert_eq!(
            (
                v["failed"].clone(),
                v["services_safe_to_start"].clone(),
                v["package_manager_running"].clone()
            ),
            (json!(true), json!(true), json!(false)),
            "{mode}: {v}"
        );
    }
    // The package manager's output is still returned beside the new fields.
    let v = run(json!({}), "apt", &[("FAKE_APT_MODE", "install-fails")]);
    assert_eq!(v["rc"], 100, "{v}");
    assert!(v["stderr"].as_str().unwrap().contains("held broken packages"), "{v}");
    assert_eq!(unfinished(&v), Vec::<&str>::new(), "{v}");

    for mode in ["install-fails", "no-op"] {
        let state = tempfile::tempdir().unwrap();
        let env = [
            ("FAKE_RPM_STATE", state.path().to_str().unwrap()),
            ("FAKE_RPM_MODE", mode),
        ];
        let v = run(json!({"package_manager": "dnf"}), "rpm", &env);
        assert_eq!(
            (v["failed"].clone(), v["services_safe_to_start"].clone()),
            (json!(true), json!(true)),
            "dnf {mode}: {v}"
        );
    }
}

#[test]
fn services_are_not_safe_to_start_on_packages_left_half_way_or_moved_without_a_working_cli() {
    let state = tempfile::tempdir().unwrap();
    let s = state.path().to_str().unwrap();
    let v = run(
        json!({}),
        "apt",
        &[("FAKE_APT_STATE", s), ("FAKE_APT_MODE", "half-way")],
    );
    assert_eq!(
        (
            v["failed"].clone(),
            v["services_safe_to_start"].clone(),
            v["package_manager_running"].clone()
        ),
        (json!(true), json!(false), json!(false)),
        "{v}"
    );
    assert!(unfinished(&v).contains(&"glusterfs-common"), "{v}");
    // A later run that fails before installing anything still finds them half way.
    let v = run(
        json!({}),
        "apt",
        &[("FAKE_APT_STATE", s), ("FAKE_APT_MODE", "update-fails")],
    );
    assert_eq!(
        (v["failed"].clone(), v["services_safe_to_start"].clone()),
        (json!(true), json!(false)),
        "{v}"
    );
    assert!(unfinished(&v).contains(&"glusterfs-server"), "{v}");

    // Every package moved, but the new CLI cannot load its libraries.
    let state = tempfile::tempdir().unwrap();
    let v = run(
        json!({}),
        "apt",
        &[
            ("FAKE_APT_STATE", state.path().to_str().unwrap()),
            ("FAKE_APT_MODE", "broken-cli"),
        ],
    );
    assert_eq!(
        (v["failed"].clone(), v["services_safe_to_start"].clone()),
        (json!(true), json!(false)),
        "{v}"
    );
}

#[test]
fn a_successful_install_says_the_services_may_start() {
    let state = tempfile::tempdir().unwrap();
    let v = run(json!({}), "apt", &[("FAKE_APT_STATE", state.path().to_str().unwrap())]);
    assert_eq!(
        (v["changed"].clone(), v["services_safe_to_start"].clone()),
        (json!(true), json!(true)),
        "{v}"
    );
}
