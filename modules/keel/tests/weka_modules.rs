//! The WEKA modules as ansible-core runs them (an args file in, one JSON object out), against
//! the weka simulator (tests/weka_sim) on PATH as `weka`, one simulated cluster per test, one
//! test per module behaviour and per injected fault.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};

/// target/debug, where `cargo test --workspace` builds the simulator (its integration tests
/// make cargo build its binaries).
fn sim_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    assert!(
        debug.join("weka").is_file() && debug.join("weka-sim").is_file(),
        "the weka simulator is not built in {}: run `cargo build -p weka-sim` (cargo test --workspace does)",
        debug.display()
    );
    debug
}

struct Sim {
    dir: tempfile::TempDir,
}

impl Sim {
    fn new(init: &str) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for name in ["weka", "weka-sim"] {
            std::os::unix::fs::symlink(sim_dir().join(name), bin.join(name)).unwrap();
        }
        let sim = Sim { dir };
        sim.admin(&format!("init {init}"));
        sim
    }

    fn env(&self, cmd: &mut std::process::Command, host: &str) {
        cmd.env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display()),
            )
            .env("WEKA_SIM_STATE", self.dir.path().join("state.json"))
            .env("WEKA_SIM_HOST", host)
            .env("WEKA_SIM_OPT", self.dir.path().join("{host}/opt/weka"))
            .env("HOME", self.dir.path());
    }

    /// `weka-sim ARGS` (split on spaces).
    fn admin(&self, args: &str) -> String {
        let mut cmd = std::process::Command::new(sim_dir().join("weka-sim"));
        self.env(&mut cmd, "node1");
        let out = cmd.args(args.split_whitespace()).output().unwrap();
        assert!(
            out.status.success(),
            "weka-sim {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `weka ARGS` on `host`: (rc, stdout).
    fn weka(&self, host: &str, args: &str) -> (i32, String) {
        let mut cmd = std::process::Command::new(sim_dir().join("weka"));
        self.env(&mut cmd, host);
        let out = cmd.args(args.split_whitespace()).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    fn log(&self) -> String {
        self.admin("log")
    }

    fn opt_dir(&self, host: &str) -> String {
        self.dir.path().join(host).join("opt/weka").display().to_string()
    }

    /// Runs `module` (in its family binary) on `host` with `args`; the parsed result.
    fn run(&self, module: &str, host: &str, args: Value) -> Value {
        let binary = match module {
            "weka_version" | "weka_upgrade" | "weka_client_upgrade" => env!("CARGO_BIN_EXE_keel_weka_node"),
            _ => env!("CARGO_BIN_EXE_keel_weka_cluster"),
        };
        let file = self.dir.path().join("args");
        let mut full = json!({"_keel_module": module, "_ansible_version": "2.21.5"});
        full.as_object_mut().unwrap().extend(args.as_object().unwrap().clone());
        std::fs::write(&file, full.to_string()).unwrap();
        let mut cmd = std::process::Command::new(binary);
        self.env(&mut cmd, host);
        let out = cmd.arg(&file).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "exactly one line of JSON: {stdout}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
    }
}

fn msg(v: &Value) -> &str {
    v["msg"].as_str().unwrap_or("")
}

fn ok(v: &Value) {
    assert_eq!(v["failed"], false, "{v}");
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings: {v}"))
        .iter()
        .filter(|f| f["severity"] == "blocker")
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

const THREE_ONE: &str = "--release 3.13.1 --backends node1,node2,node3 --clients client1";

// ---- weka_facts

#[test]
fn facts_of_a_3_13_cluster_with_release_parts() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run("weka_facts", "node1", json!({}));
    ok(&v);
    assert_eq!(v["changed"], false);
    let w = &v["ansible_facts"]["weka"];
    assert_eq!(w["release"]["parts"], json!([3, 13, 1]));
    assert_eq!(w["release"]["line"], "3.13");
    assert_eq!(w["backends"].as_array().unwrap().len(), 3);
    assert_eq!(w["clients"][0]["hostname"], "client1");
    assert_eq!(
        (w["status"].as_str(), w["io_status"].as_str()),
        (Some("OK"), Some("STARTED"))
    );
    assert_eq!(w["multi_container"], false);
    assert_eq!(w["local_containers"][0]["name"], "default");
    assert!(
        msg(&v).starts_with("WEKA 3.13.1 cluster keel-sim: 3 backend(s) (3 up), 1 client(s)"),
        "{v}"
    );
    assert!(v["commands"]
        .as_array()
        .unwrap()
        .contains(&json!("weka cluster host -J")));
}

#[test]
fn facts_of_a_multi_container_4_2_cluster_read_containers() {
    let sim = Sim::new("--release 4.2.9.28-abc --backends node1,node2 --clients client1");
    let v = sim.run("weka_facts", "client1", json!({"_ansible_check_mode": true}));
    ok(&v);
    let w = &v["ansible_facts"]["weka"];
    assert_eq!(w["release"]["suffix"], "abc");
    assert_eq!(w["multi_container"], true);
    assert_eq!(
        w["backends"][0]["containers"],
        json!(["drives0", "compute0", "frontend0"])
    );
    assert!(v["commands"]
        .as_array()
        .unwrap()
        .contains(&json!("weka cluster container -J")));
}

#[test]
fn credentials_reach_weka_through_the_environment_and_stay_masked() {
    let secret = "S3cret-Adm1n-Pw";
    let sim = Sim::new(&format!("{THREE_ONE} --admin-password {secret}"));
    let v = sim.run("weka_facts", "node1", json!({}));
    assert_eq!(v["failed"], true);
    assert!(
        msg(&v).contains("weka refused the credentials") && msg(&v).contains("token_file"),
        "{v}"
    );
    let v = sim.run("weka_facts", "node1", json!({"username": "admin", "password": secret}));
    ok(&v);
    assert!(!v.to_string().contains(secret), "{v}");
    assert_eq!(v["invocation"]["module_args"]["password"], "********");
    let v = sim.run("weka_facts", "node1", json!({"username": "admin"}));
    assert!(msg(&v).contains("options 'username' and 'password' go together"), "{v}");
    // A token from `weka user login`, passed as WEKA_TOKEN.
    assert_eq!(sim.weka("node1", &format!("user login admin {secret}")).0, 0);
    let token = sim.dir.path().join(".weka/auth-token.json");
    std::fs::rename(&token, sim.dir.path().join("token.json")).unwrap();
    let v = sim.run(
        "weka_facts",
        "node1",
        json!({"token_file": sim.dir.path().join("token.json")}),
    );
    ok(&v);
    let v = sim.run("weka_facts", "node1", json!({"token_file": "/nonexistent/token.json"}));
    assert!(
        msg(&v).contains("token_file /nonexistent/token.json does not exist"),
        "{v}"
    );
}

#[test]
fn weka_missing_and_agent_down_are_named() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run("weka_facts", "not-a-weka-host", json!({}));
    assert!(
        msg(&v).contains("the WEKA agent or container is not running on this host"),
        "{v}"
    );
    let file = sim.dir.path().join("args");
    std::fs::write(&file, json!({"_keel_module": "weka_facts"}).to_string()).unwrap();
    let out = Command::cargo_bin("keel_weka_cluster")
        .unwrap()
        .arg(&file)
        .env_clear()
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        msg(&v).contains("'weka' command was not found") && msg(&v).contains("Install WEKA"),
        "{v}"
    );
}

#[test]
fn options_are_validated_by_name() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run("weka_facts", "node1", json!({"tiemout": 5}));
    assert!(
        msg(&v).contains(
            "unsupported option(s) 'tiemout'; valid options are: org, password, timeout, token_file, username"
        ),
        "{v}"
    );
    let v = sim.run(
        "weka_upgrade",
        "node1",
        json!({"version": "4.0.2", "stop_io_timeout": "soon"}),
    );
    assert!(msg(&v).contains("option 'stop_io_timeout' must be a duration"), "{v}");
    let v = sim.run("weka_upgrade", "node1", json!({"version": "four"}));
    assert!(msg(&v).contains("option 'version' must be a WEKA release"), "{v}");
    let v = sim.run("weka_upgrade", "node1", json!({}));
    assert!(msg(&v).contains("missing required option 'version'"), "{v}");
}

// ---- weka_upgrade_path

#[test]
fn upgrade_path_from_the_running_release() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run("weka_upgrade_path", "node1", json!({"target_version": "4.0.2"}));
    ok(&v);
    assert_eq!(v["path"], json!(["3.13.1", "3.14.1", "4.0.2"]));
    assert_eq!(v["hops"][1]["cross_major"], true);
    assert_eq!(msg(&v), "2 hop(s): 3.13.1 -> 3.14.1 -> 4.0.2");
    let v = sim.run("weka_upgrade_path", "node1", json!({"target_version": "3.13.1"}));
    assert_eq!(v["hops"], json!([]));
}

#[test]
fn upgrade_path_refuses_impossible_targets_and_takes_a_table() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run("weka_upgrade_path", "node1", json!({"target_version": "3.12.1"}));
    assert!(
        v["failed"] == true && msg(&v).contains("WEKA does not support downgrades"),
        "{v}"
    );
    let v = sim.run(
        "weka_upgrade_path",
        "node1",
        json!({"target_version": "9.0.1", "from_version": "5.1.0.605"}),
    );
    assert!(msg(&v).contains("no rule for WEKA 9.0.x"), "{v}");
    assert!(
        !v["commands"].as_array().unwrap().iter().any(|c| c == "weka status -J"),
        "from_version given: no weka call"
    );
    let table = json!({"lines": [{"line": "9.0", "min_source": "5.1.0", "hop_release": "9.0.1"}]});
    let v = sim.run(
        "weka_upgrade_path",
        "node1",
        json!({"target_version": "9.0.1", "from_version": "5.1.0.605", "upgrade_paths": table}),
    );
    ok(&v);
    assert_eq!(v["path"], json!(["5.1.0.605", "9.0.1"]));
    let v = sim.run(
        "weka_upgrade_path",
        "node1",
        json!({"target_version": "4.0.2", "upgrade_paths": {"lines": "x"}}),
    );
    assert!(msg(&v).contains("option 'upgrade_paths'"), "{v}");
}

// ---- weka_precheck: healthy, then every fault

fn precheck(sim: &Sim, host: &str, target: &str, extra: Value) -> Value {
    let mut args = json!({"target_version": target, "weka_dir": sim.opt_dir(host)});
    args.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    sim.run("weka_precheck", host, args)
}

#[test]
fn precheck_passes_on_a_healthy_cluster_and_reports_the_multi_hop() {
    let sim = Sim::new(THREE_ONE);
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    ok(&v);
    assert_eq!(
        (v["blocking"].clone(), v["running_version"].clone()),
        (json!(false), json!("3.13.1"))
    );
    let v = precheck(&sim, "node1", "4.0.2", json!({}));
    ok(&v);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "multi_hop"),
        "{v}"
    );
}

#[test]
fn precheck_blocks_on_a_backend_down() {
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault backend-down --host node2");
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(v["failed"], true);
    assert!(codes(&v).contains(&"backend_down".into()), "{v}");
    assert!(msg(&v).contains("backend node2 is not UP"), "{v}");
    // On the backend that is down itself, weka cannot reach its agent.
    let v = precheck(&sim, "node2", "3.14.1", json!({}));
    assert!(msg(&v).contains("WEKA agent or container is not running"), "{v}");
}

#[test]
fn precheck_blocks_on_alerts_unless_allowed_or_muted() {
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault alert --type DiskFailure --severity MAJOR");
    sim.admin("fault alert --type LicenseExpiring --muted");
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["alert_active"], "{v}");
    assert!(
        msg(&v).contains("alert DiskFailure (MAJOR)") && msg(&v).contains("allowed_alerts"),
        "{v}"
    );
    let v = precheck(&sim, "node1", "3.14.1", json!({"allowed_alerts": "DiskFailure"}));
    ok(&v);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "alert_allowed"));
}

#[test]
fn precheck_blocks_on_a_rebuild() {
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault rebuild --percent 35");
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["rebuild_in_progress"], "{v}");
    assert!(msg(&v).contains("35% done"), "{v}");
}

#[test]
fn precheck_blocks_on_background_tasks_but_not_fsck() {
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault task --type FSCK");
    ok(&precheck(&sim, "node1", "3.14.1", json!({})));
    sim.admin("fault task --type STOW_UPLOAD --progress 42");
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["task_running"], "{v}");
    assert!(msg(&v).contains("background task STOW_UPLOAD is RUNNING (42%)"), "{v}");
}

#[test]
fn precheck_blocks_on_a_running_data_upgrade() {
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault data-upgrade --calls 50 --now");
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["data_upgrade_running"], "{v}");
}

#[test]
fn precheck_blocks_on_too_little_space_by_the_rule_of_the_release() {
    // 4.1+: 1.5 times each container's data directory.
    let sim = Sim::new("--release 4.2.1 --backends node1,node2 --downloaded 4.4.6");
    ok(&precheck(&sim, "node2", "4.4.6", json!({})));
    sim.admin("fault low-space --host node2");
    let v = precheck(&sim, "node2", "4.4.6", json!({}));
    assert_eq!(codes(&v), ["free_space"; 3], "one per container: {v}");
    assert!(
        msg(&v).contains("/data/drives0 holds") && msg(&v).contains("1.5 times"),
        "{v}"
    );
    ok(&precheck(&sim, "node1", "4.4.6", json!({})));
    let v = precheck(&sim, "node2", "4.4.6", json!({"weka_dir": "/nonexistent/weka"}));
    assert!(codes(&v).contains(&"weka_dir_missing".into()), "{v}");
    ok(&precheck(&sim, "node2", "4.4.6", json!({"check_space": false})));
}

#[test]
fn precheck_blocks_without_a_cluster_admin_login() {
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault not-logged-in");
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["login"], "{v}");
    sim.admin("user add viewer Viewer-Pw ReadOnly");
    let v = precheck(
        &sim,
        "node1",
        "3.14.1",
        json!({"username": "viewer", "password": "Viewer-Pw"}),
    );
    assert_eq!(codes(&v), ["login_not_cluster_admin"], "{v}");
    assert!(!v.to_string().contains("Viewer-Pw"));
}

#[test]
fn precheck_blocks_clients_behind_and_an_invalid_hop() {
    let sim = Sim::new("--release 3.14.1 --backends node1,node2 --clients client1,client2 --client-release 3.12.1");
    let v = precheck(&sim, "node1", "4.0.2", json!({}));
    assert_eq!(codes(&v), ["client_unsupported"; 2], "{v}");
    assert!(
        msg(&v).contains("client client1 runs 3.12.1, 2 version(s) behind"),
        "{v}"
    );
    sim.admin("fault clients-behind --version 3.13.1");
    let v = precheck(&sim, "node1", "4.0.2", json!({}));
    assert_eq!(codes(&v), ["client_behind"; 2], "{v}");
    // Without the client checks, the mismatch alert still speaks, unless allowed.
    let v = precheck(&sim, "node1", "4.0.2", json!({"check_clients": false}));
    assert_eq!(codes(&v), ["alert_active"], "{v}");
    ok(&precheck(
        &sim,
        "node1",
        "4.0.2",
        json!({"check_clients": false, "allowed_alerts": ["ClientVersionMismatch"]}),
    ));
    let v = precheck(
        &sim,
        "node1",
        "3.12.1",
        json!({"allowed_alerts": "ClientVersionMismatch", "check_clients": false}),
    );
    assert_eq!(codes(&v), ["hop_invalid"], "{v}");
}

#[test]
fn precheck_requires_multi_container_backends_for_4_1() {
    let sim = Sim::new("--release 4.0.2 --backends node1,node2");
    let v = precheck(&sim, "node1", "4.1.2.36", json!({}));
    assert_eq!(codes(&v), ["mcb_required"], "{v}");
}

// ---- weka_version

#[test]
fn version_get_and_prepare_once_then_no_change() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run(
        "weka_version",
        "node2",
        json!({"version": "3.14.1", "_ansible_check_mode": true, "_ansible_diff": true}),
    );
    assert_eq!(v["changed"], true, "{v}");
    assert!(msg(&v).starts_with("would download 3.14.1"), "{v}");
    assert_eq!(v["diff"]["after"], "3.13.1\n3.14.1\n");
    assert!(!sim.log().contains("version get"), "check mode changes nothing");
    let v = sim.run("weka_version", "node2", json!({"version": "3.14.1"}));
    assert_eq!(
        (v["changed"].clone(), v["prepared"].clone()),
        (json!(true), json!(true)),
        "{v}"
    );
    assert!(sim.log().contains("node2: weka version prepare 3.14.1"));
    let v = sim.run("weka_version", "node2", json!({"version": "3.14.1"}));
    assert_eq!(v["changed"], false, "{v}");
    assert_eq!(v["installed"], json!(["3.13.1", "3.14.1"]));
}

#[test]
fn version_from_url_token_never_appears_even_when_weka_echoes_it() {
    let token = "GETWEKA-T0KEN-abc123";
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault download-fails");
    let url = format!("https://{token}@get.weka.io");
    let v = sim.run("weka_version", "node1", json!({"version": "3.14.1", "from": url}));
    assert_eq!(v["failed"], true, "{v}");
    assert!(
        msg(&v).contains("downloading WEKA 3.14.1 failed") && msg(&v).contains("403"),
        "{v}"
    );
    assert!(!v.to_string().contains(token), "{v}");
    assert!(sim.log().contains(token), "weka did receive the token");
    sim.admin("clear");
    let v = sim.run("weka_version", "node1", json!({"version": "3.14.1", "from": url}));
    ok(&v);
    assert!(!v.to_string().contains(token), "{v}");
}

#[test]
fn version_low_space_fails_the_download_clearly() {
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault low-space --host node1");
    let v = sim.run("weka_version", "node1", json!({"version": "3.14.1"}));
    assert!(msg(&v).contains("not enough free space in /opt/weka"), "{v}");
}

#[test]
fn version_installs_a_dark_site_tarball() {
    let sim = Sim::new(THREE_ONE);
    let src = sim.dir.path().join("weka-3.14.1");
    std::fs::create_dir_all(&src).unwrap();
    let script = src.join("install.sh");
    std::fs::write(&script, "#!/bin/sh\nset -e\nexec weka-sim install 3.14.1\n").unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&script).unwrap().permissions(), 0o755);
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let tarball = sim.dir.path().join("weka-3.14.1.tar");
    let st = std::process::Command::new("tar")
        .args([
            "-cf",
            tarball.to_str().unwrap(),
            "-C",
            sim.dir.path().to_str().unwrap(),
            "weka-3.14.1",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let v = sim.run(
        "weka_version",
        "node3",
        json!({"version": "3.14.1", "tarball": tarball, "prepare": false}),
    );
    assert_eq!(
        (v["changed"].clone(), v["prepared"].clone()),
        (json!(true), json!(false)),
        "{v}"
    );
    assert!(
        msg(&v).contains("install 3.14.1 from") && msg(&v).contains("(install.sh)"),
        "{v}"
    );
    assert_eq!(
        sim.run(
            "weka_version",
            "node3",
            json!({"version": "3.14.1", "tarball": tarball})
        )["changed"],
        false
    );
    let v = sim.run(
        "weka_version",
        "node3",
        json!({"version": "3.14.2", "tarball": "/nonexistent.tar"}),
    );
    assert!(msg(&v).contains("/nonexistent.tar is not on this host"), "{v}");
}

// ---- weka_upgrade

fn upgrade(extra: Value) -> Value {
    let mut a = json!({"poll_interval": 1, "confirm_timeout": 5, "data_upgrade_timeout": 30});
    a.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    a
}

#[test]
fn upgrade_needs_the_release_on_this_backend_first() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run("weka_upgrade", "node1", upgrade(json!({"version": "3.14.1"})));
    assert!(
        msg(&v).contains("3.14.1 is not available on this backend") && msg(&v).contains("weka_version"),
        "{v}"
    );
    let v = sim.run("weka_upgrade", "node1", upgrade(json!({"version": "4.0.2"})));
    assert!(
        msg(&v).contains("not a supported hop") && msg(&v).contains("3.14.1 or later"),
        "{v}"
    );
}

#[test]
fn upgrade_check_mode_runs_nothing() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "3.14.1", "_ansible_check_mode": true, "_ansible_diff": true})),
    );
    assert_eq!(v["changed"], true, "{v}");
    assert_eq!(msg(&v), "would run: weka local run --in 3.14.1 upgrade");
    assert_eq!(v["diff"]["after"], "release: 3.14.1\n");
    assert!(!sim.log().contains("local run"));
}

#[test]
fn upgrade_waits_for_the_data_upgrade_and_is_idempotent() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.admin("fault data-upgrade --calls 3");
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "3.14.1", "host_version_change_timeout": "10m", "disconnect_stateless_clients_timeout": 200})),
    );
    ok(&v);
    assert_eq!(v["changed"], true);
    assert_eq!(
        v["command"],
        "weka local run --in 3.14.1 upgrade --host-version-change-timeout 600s --disconnect-stateless-clients-timeout 200s"
    );
    assert!(
        msg(&v).starts_with("upgraded the cluster from 3.13.1 to 3.14.1") && msg(&v).contains("data upgrade finished"),
        "{v}"
    );
    assert!(v["data_upgrade_s"].as_u64().unwrap() >= 1, "{v}");
    assert!(!sim.weka("node2", "status -J").1.contains("\"state\": \"RUNNING\""));
    let again = sim.run("weka_upgrade", "node1", upgrade(json!({"version": "3.14.1"})));
    assert_eq!(
        (again["changed"].clone(), again["failed"].clone()),
        (json!(false), json!(false)),
        "{again}"
    );
    assert_eq!(sim.log().matches("weka local run").count(), 1);
}

#[test]
fn upgrade_data_upgrade_that_outlasts_its_timeout_fails_clearly() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.admin("fault data-upgrade --calls 100");
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "3.14.1", "data_upgrade_timeout": 2})),
    );
    assert_eq!(v["failed"], true);
    assert!(msg(&v).contains("the data upgrade is still running after 2 s"), "{v}");
}

#[test]
fn upgrade_detects_the_automatic_revert() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.admin("fault upgrade-reverts");
    let v = sim.run("weka_upgrade", "node1", upgrade(json!({"version": "3.14.1"})));
    assert_eq!(
        (v["failed"].clone(), v["reverted"].clone()),
        (json!(true), json!(true)),
        "{v}"
    );
    let m = msg(&v);
    assert!(m.contains("WEKA reverted the cluster to 3.13.1 automatically"), "{m}");
    assert!(m.contains("`weka cluster host` shows: node1/default 3.13.1 UP"), "{m}");
    assert_eq!(v["backends"].as_array().unwrap().len(), 3);
}

#[test]
fn upgrade_with_a_backend_down_stops_before_switching() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.admin("fault backend-down --host node3");
    let v = sim.run("weka_upgrade", "node1", upgrade(json!({"version": "3.14.1"})));
    assert_eq!(
        (v["failed"].clone(), v["reverted"].clone()),
        (json!(true), json!(false)),
        "{v}"
    );
    assert!(
        msg(&v).contains("stopped before any backend changed release") && msg(&v).contains("node3"),
        "{v}"
    );
}

#[test]
fn upgrade_ndu_form_and_prepare_only_on_4_2() {
    let sim = Sim::new("--release 4.2.1 --backends node1,node2");
    sim.weka("node1", "version get 4.4.6");
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "4.4.6", "prepare_only": true})),
    );
    ok(&v);
    assert_eq!(
        (v["changed"].clone(), v["command"].clone()),
        (
            json!(true),
            json!("weka local run --container drives0 --in 4.4.6 upgrade --prepare-only")
        )
    );
    let again = sim.run(
        "weka_upgrade",
        "node2",
        upgrade(json!({"version": "4.4.6", "prepare_only": true})),
    );
    assert_eq!(again["changed"], false, "prepared on every server already: {again}");
    let v = sim.run(
        "weka_upgrade",
        "node2",
        upgrade(json!({"version": "4.4.6", "health_check_timeout": 10})),
    );
    ok(&v);
    assert_eq!(
        v["command"],
        "weka local run --container drives0 --in 4.4.6 upgrade --health-check-timeout 10s"
    );
}

#[test]
fn upgrade_needs_a_cluster_admin() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.admin("user add viewer Viewer-Pw ReadOnly");
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "3.14.1", "username": "viewer", "password": "Viewer-Pw"})),
    );
    assert_eq!(v["failed"], true);
    assert!(msg(&v).contains("Cluster Admin"), "{v}");
    assert!(!v.to_string().contains("Viewer-Pw"));
}

// ---- weka_client_upgrade

#[test]
fn client_upgrade_with_and_without_prepare_driver() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.weka("node1", "local run --in 3.14.1 upgrade");
    let v = sim.run("weka_client_upgrade", "client1", json!({"_ansible_check_mode": true}));
    assert_eq!(
        (v["changed"].clone(), v["steps"].clone()),
        (json!(true), json!(["weka local upgrade"])),
        "{v}"
    );
    let v = sim.run("weka_client_upgrade", "client1", json!({}));
    ok(&v);
    assert_eq!(
        (v["changed"].clone(), v["from_version"].clone(), v["version"].clone()),
        (json!(true), json!("3.13.1"), json!("3.14.1"))
    );
    assert_eq!(sim.run("weka_client_upgrade", "client1", json!({}))["changed"], false);
    // A 4.0.2 client moving on needs --prepare-driver.
    let sim = Sim::new("--release 4.0.2 --backends node1 --clients client1 --client-release 4.0.1");
    let v = sim.run("weka_client_upgrade", "client1", json!({}));
    ok(&v);
    assert_eq!(v["steps"], json!(["weka local upgrade --prepare-driver"]));
}

#[test]
fn client_upgrade_4_2_gets_the_release_from_a_backend() {
    let sim = Sim::new("--release 4.2.18.34 --backends node1 --clients client1 --client-release 4.1.2.36");
    let v = sim.run("weka_client_upgrade", "client1", json!({}));
    ok(&v);
    assert_eq!(
        v["steps"],
        json!([
            "weka version get 4.2.18.34 --from node1:14000",
            "weka local upgrade --prepare-driver"
        ])
    );
    let sim = Sim::new("--release 4.4.6 --backends node1 --clients client1 --client-release 4.3.5.105");
    let v = sim.run("weka_client_upgrade", "client1", json!({"backend": "10.0.0.11:14000"}));
    ok(&v);
    assert_eq!(
        v["steps"],
        json!([
            "weka version get 4.4.6 --from 10.0.0.11:14000",
            "weka version set --agent-only 4.4.6",
            "weka local upgrade --prepare-driver"
        ])
    );
}

#[test]
fn client_upgrade_on_a_backend_fails_clearly() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run("weka_client_upgrade", "node1", json!({"version": "3.14.1"}));
    assert!(v["failed"] == true && msg(&v).contains("upgrades a client"), "{v}");
}

// ---- weka_verify

#[test]
fn verify_names_what_is_not_there_yet_then_passes() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    let v = sim.run(
        "weka_verify",
        "node1",
        json!({"version": "3.14.1", "wait_timeout": 1, "poll_interval": 1}),
    );
    assert_eq!(v["failed"], true);
    assert!(
        msg(&v).contains("the cluster is not verified after 1 s: the cluster runs 3.13.1, expected 3.14.1"),
        "{v}"
    );
    assert!(msg(&v).contains("backend node2 runs 3.13.1"), "{v}");
    sim.weka("node1", "local run --in 3.14.1 upgrade");
    let v = sim.run("weka_verify", "node1", json!({"version": "3.14.1", "wait_timeout": 1}));
    ok(&v);
    assert_eq!(msg(&v), "WEKA 3.14.1: 3 backend(s) on it and UP, io STARTED, status OK");
    let v = sim.run(
        "weka_verify",
        "node1",
        json!({"version": "3.14.1", "include_clients": true, "wait_timeout": 1, "poll_interval": 1}),
    );
    assert!(msg(&v).contains("client client1 runs 3.13.1"), "{v}");
}

#[test]
fn every_weka_module_lists_in_its_binary() {
    for (binary, modules) in [
        (
            "keel_weka_cluster",
            "weka_facts\nweka_upgrade_path\nweka_precheck\nweka_verify\nkeel_selftest\n",
        ),
        (
            "keel_weka_node",
            "weka_version\nweka_upgrade\nweka_client_upgrade\nkeel_selftest\n",
        ),
    ] {
        let out = Command::cargo_bin(binary)
            .unwrap()
            .arg("--list-modules")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), modules);
    }
}
