//! The args on stdin (`--args-stdin`), as the action plugin's binary cache runs a module: the same
//! result as from an args file, secrets masked, check mode honoured, and one JSON failure for
//! args that are not a JSON object.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

mod common;

use common::module_args;

const BINARY: &str = env!("CARGO_BIN_EXE_keel_gluster_cluster");

/// Runs the binary with `--args-stdin` and `stdin` written to it; returns the parsed result.
fn run_stdin(stdin: &[u8], path: &str) -> Value {
    let mut child = Command::new(BINARY)
        .arg("--args-stdin")
        .env_clear()
        .env("PATH", path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "exactly one line of JSON: {stdout}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn selftest(extra: Value) -> Value {
    module_args(
        "keel_selftest",
        json!({"_ansible_check_mode": false, "_ansible_diff": true, "_ansible_version": "2.21.5"}),
        extra,
    )
}

/// The result without what differs between two runs.
fn steady(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("duration_s");
    v
}

#[test]
fn args_on_stdin_give_the_same_result_as_an_args_file() {
    let args = selftest(json!({"message": "hi", "count": "7", "enabled": "on", "timeout": "90s", "change": true}));
    let from_stdin = run_stdin(args.to_string().as_bytes(), "/usr/bin:/bin");
    let from_file = common::run("keel_gluster_cluster", args, "/usr/bin:/bin", &[]);
    assert_eq!(from_stdin["changed"], true, "{from_stdin}");
    assert_eq!(from_stdin["echo"]["count"], 7, "{from_stdin}");
    assert_eq!(from_stdin["echo"]["timeout"], 90, "{from_stdin}");
    assert_eq!(from_stdin["diff"]["after"], "hi\n", "{from_stdin}");
    assert_eq!(steady(from_stdin), steady(from_file));
}

#[test]
fn a_secret_on_stdin_is_masked_in_the_result() {
    let secret = "Hunter2-OnStdinOnly";
    let v = run_stdin(
        selftest(json!({"message": "m", "password": secret}))
            .to_string()
            .as_bytes(),
        "/usr/bin:/bin",
    );
    assert_eq!(v["failed"], false, "{v}");
    assert!(!v.to_string().contains(secret), "{v}");
    assert_eq!(v["invocation"]["module_args"]["password"], "********", "{v}");
    assert_eq!(v["msg"], "echoed ********", "{v}");
}

#[test]
fn check_mode_on_stdin_reaches_the_module() {
    let args = module_args(
        "keel_selftest",
        json!({"_ansible_check_mode": true}),
        json!({"message": "planned", "change": true}),
    );
    let v = run_stdin(args.to_string().as_bytes(), "/usr/bin:/bin");
    assert_eq!(v["echo"]["check_mode"], true, "{v}");
    assert_eq!(v["msg"], "would echo ", "{v}");
}

#[test]
fn a_real_module_reads_its_args_from_stdin() {
    let path = format!(
        "{}:/usr/bin:/bin",
        common::repo().join("tests/fake-bin/gluster-fixtures").display()
    );
    let v = run_stdin(
        json!({"_keel_module": "gluster_facts", "heal": "no"})
            .to_string()
            .as_bytes(),
        &path,
    );
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(v["ansible_facts"]["gluster"]["version"]["text"], "10.3", "{v}");
}

#[test]
fn stdin_that_is_not_a_json_object_is_one_json_failure() {
    for stdin in [&b""[..], b"heal=yes", b"[1, 2]", b"\xff\xfe"] {
        let v = run_stdin(stdin, "/usr/bin:/bin");
        assert_eq!(v["failed"], true, "{v}");
        let msg = v["msg"].as_str().unwrap();
        assert!(
            msg.contains("not a JSON object") || msg.contains("must hold a JSON object") || msg.contains("on stdin"),
            "{msg}"
        );
    }
}

#[test]
fn the_usage_names_both_ways_to_pass_the_args() {
    let out = Command::new(BINARY).env_clear().output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let msg = v["msg"].as_str().unwrap();
    assert!(
        msg.contains("usage: keel_gluster_cluster ARGS_FILE, or keel_gluster_cluster --args-stdin"),
        "{msg}"
    );
}
