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
        ["weka", "weka-sim", "curl"].iter().all(|b| debug.join(b).is_file()),
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
        for name in ["weka", "weka-sim", "curl"] {
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

    /// Puts a script in front of the simulator as this test's `weka`: `arms` are sh `case "$*"`
    /// arms (`$SIM` is the simulator), then the simulator runs. A test double for what the
    /// simulator leaves out because WEKA is not documented to do it: a command that hangs,
    /// output no parser expects, a success claimed for what did not happen.
    fn wrap(&self, arms: &str) {
        let weka = self.dir.path().join("bin/weka");
        std::fs::remove_file(&weka).unwrap();
        let script = format!(
            "#!/bin/sh\nSIM='{}'\ncase \"$*\" in\n{arms}\nesac\nexec \"$SIM\" \"$@\"\n",
            sim_dir().join("weka").display()
        );
        std::fs::write(&weka, script).unwrap();
        std::fs::set_permissions(&weka, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }

    /// `weka status -J` on node1 as the simulator prints it, changed by `edit`, served from a
    /// file by a wrapped `weka` from now on (the simulator's own status no longer ticks).
    fn fake_status(&self, edit: impl FnOnce(&mut Value)) {
        let (rc, out) = self.weka("node1", "status -J");
        assert_eq!(rc, 0, "{out}");
        let mut status: Value = serde_json::from_str(&out).unwrap();
        edit(&mut status);
        let file = self.dir.path().join("status.json");
        std::fs::write(&file, status.to_string()).unwrap();
        self.wrap(&format!("'status -J') cat '{}'; exit 0 ;;", file.display()));
    }

    fn opt_dir(&self, host: &str) -> String {
        self.dir.path().join(host).join("opt/weka").display().to_string()
    }

    /// Runs `module` (in its family binary) on `host` with `args`; the parsed result.
    fn run(&self, module: &str, host: &str, args: Value) -> Value {
        self.run_with(module, host, args, &[])
    }

    /// `run` with `env` added to the module's environment.
    fn run_with(&self, module: &str, host: &str, args: Value, env: &[(&str, &str)]) -> Value {
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
        let out = cmd.arg(&file).envs(env.iter().copied()).output().unwrap();
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
    for (binary, args) in [
        ("keel_weka_cluster", json!({"_keel_module": "weka_facts"})),
        (
            "keel_weka_node",
            json!({"_keel_module": "weka_version", "version": "3.14.1"}),
        ),
    ] {
        std::fs::write(&file, args.to_string()).unwrap();
        let out = Command::cargo_bin(binary)
            .unwrap()
            .arg(&file)
            .env_clear()
            .env("PATH", "/nonexistent")
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            msg(&v).contains("'weka' command was not found") && msg(&v).contains("Install WEKA"),
            "{args}: {v}"
        );
    }
}

#[test]
fn facts_name_output_weka_should_not_print_and_the_command_that_hangs() {
    let sim = Sim::new(THREE_ONE);
    sim.wrap("'status -J') echo 'Traceback (most recent call last):'; exit 0 ;;");
    let v = sim.run("weka_facts", "node1", json!({}));
    assert_eq!(v["failed"], true);
    assert!(
        msg(&v)
            .starts_with("cannot read the output of weka status -J: weka printed output that is not the expected JSON"),
        "{v}"
    );
    for (command, printed, missing) in [
        ("cluster host -J", "{}", "a list of hosts"),
        ("alerts -J", "{}", "a list of alerts"),
        ("status rebuild -J", "[]", "progressPercent"),
        ("cluster task -J", "{}", "a list of tasks"),
        ("local ps -J", "{}", "a list of containers"),
    ] {
        sim.wrap(&format!("'{command}') echo '{printed}'; exit 0 ;;"));
        let v = sim.run("weka_facts", "node1", json!({}));
        assert_eq!(
            msg(&v),
            format!("cannot read the output of weka {command}: weka's JSON has no '{missing}'")
        );
    }
    // The precheck reads `user whoami` apart: what it cannot read is its login finding.
    sim.wrap("'user whoami -J') echo '{}'; exit 0 ;;");
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["login"], "{v}");
    assert!(
        msg(&v).contains("cannot read the output of weka user whoami -J: weka's JSON has no 'username'"),
        "{v}"
    );
    sim.wrap("'alerts -J') sleep 30 ;;");
    let v = sim.run("weka_facts", "node1", json!({"timeout": 1}));
    assert!(
        msg(&v).starts_with("'weka alerts -J' did not finish within 1 s and was killed"),
        "{v}"
    );
    // 4.1+ reads `cluster container`, and says so.
    let sim = Sim::new("--release 4.2.9.28 --backends node1");
    sim.wrap("'cluster container -J') echo '{}'; exit 0 ;;");
    let v = sim.run("weka_facts", "node1", json!({}));
    assert!(
        msg(&v).starts_with("cannot read the output of weka cluster container -J"),
        "{v}"
    );
}

#[test]
fn options_are_validated_by_name() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run("weka_facts", "node1", json!({"tiemout": 5}));
    assert!(
        msg(&v).contains(
            "unsupported option(s) 'tiemout'; valid options are: command_timeout (alias timeout), org, password, token_file, \
             username"
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

#[test]
fn every_module_names_a_bad_option_with_its_valid_ones() {
    let sim = Sim::new(THREE_ONE);
    let common = "command_timeout (alias timeout), org, password, token_file, username";
    for (module, valid) in [
        ("weka_facts", common.to_string()),
        (
            "weka_upgrade_path",
            "command_timeout (alias timeout), from_version, org, password, target_version, token_file, upgrade_paths, username".into(),
        ),
        (
            "weka_precheck",
            "allowed_alerts, check_clients, check_space, command_timeout (alias timeout), org, password, target_version, token_file, upgrade_paths, username, weka_dir"
                .into(),
        ),
        (
            "weka_verify",
            "command_timeout (alias timeout), include_clients, org, password, poll_interval, token_file, username, version, wait_timeout".into(),
        ),
        (
            "weka_version",
            "command_timeout (alias timeout), download_timeout, from, org, password, prepare, tarball, token_file, username, version".into(),
        ),
        (
            "weka_upgrade",
            "command_timeout (alias timeout), confirm_timeout, container, data_upgrade_timeout, disconnect_stateless_clients_timeout, health_check_timeout, host_version_change_timeout, mode, org, password, poll_interval, prepare_only, stop_io_timeout, token_file, upgrade_paths, upgrade_timeout, username, version, wait_data_upgrade"
                .into(),
        ),
        (
            "weka_client_upgrade",
            "backend, command_timeout (alias timeout), org, password, token_file, upgrade_timeout, username, version".into(),
        ),
    ] {
        let v = sim.run(module, "node1", json!({"versoin": "3.14.1"}));
        assert_eq!(v["failed"], true, "{v}");
        assert_eq!(
            msg(&v),
            format!("{module}: unsupported option(s) 'versoin'; valid options are: {valid}")
        );
    }
    assert!(!sim.log().contains("weka"), "no weka command ran");
}

#[test]
fn each_module_checks_its_own_options() {
    let sim = Sim::new(THREE_ONE);
    let fails = |module: &str, args: Value, expected: &str| {
        let v = sim.run(module, "node1", args);
        assert!(v["failed"] == true && msg(&v).contains(expected), "{module}: {v}");
    };
    fails(
        "weka_upgrade_path",
        json!({}),
        "weka_upgrade_path: missing required option 'target_version'",
    );
    fails(
        "weka_upgrade_path",
        json!({"target_version": "latest"}),
        "option 'target_version' must be a WEKA release like 4.2.9 or 4.2.8.312, got 'latest'",
    );
    fails(
        "weka_upgrade_path",
        json!({"target_version": "4.0.2", "from_version": "3.x"}),
        "option 'from_version' must be a WEKA release",
    );
    fails(
        "weka_precheck",
        json!({"target_version": "next"}),
        "weka_precheck: option 'target_version' must be a WEKA release",
    );
    fails(
        "weka_precheck",
        json!({"target_version": "3.14.1", "upgrade_paths": {"lines": []}}),
        "weka_precheck: option 'upgrade_paths': the upgrade path table has no lines",
    );
    fails(
        "weka_verify",
        json!({"version": "v-next"}),
        "weka_verify: option 'version' must be a WEKA release",
    );
    fails(
        "weka_version",
        json!({"version": "3.x"}),
        "weka_version: option 'version' must be a WEKA release",
    );
    fails(
        "weka_version",
        json!({"version": "3.14.1", "from": "https://get.weka.io", "tarball": "/tmp/weka-3.14.1.tar"}),
        "weka_version: options 'from' and 'tarball' exclude each other",
    );
    fails(
        "weka_upgrade",
        json!({"version": "3.14.1", "mode": "fast"}),
        "weka_upgrade: option 'mode' must be one of",
    );
    fails(
        "weka_upgrade",
        json!({"version": "3.14.1", "upgrade_paths": {"lines": "x"}}),
        "weka_upgrade: option 'upgrade_paths'",
    );
    fails(
        "weka_client_upgrade",
        json!({"version": "newest"}),
        "weka_client_upgrade: option 'version' must be a WEKA release",
    );
    fails(
        "weka_client_upgrade",
        json!({"password": "x"}),
        "weka_client_upgrade: options 'username' and 'password' go together",
    );
    assert!(!sim.log().contains("local"), "nothing changed: {}", sim.log());
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

#[test]
fn upgrade_path_from_a_release_older_than_the_table_and_without_a_login() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run(
        "weka_upgrade_path",
        "node1",
        json!({"target_version": "4.0.2", "from_version": "3.9.0"}),
    );
    assert!(
        v["failed"] == true && msg(&v).contains("3.9.0 is older than any source the table knows"),
        "{v}"
    );
    sim.admin("fault not-logged-in");
    let v = sim.run("weka_upgrade_path", "node1", json!({"target_version": "4.0.2"}));
    assert!(msg(&v).contains("weka refused the credentials"), "{v}");
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
    sim.admin("fault backend-up --host node2");
    ok(&precheck(&sim, "node1", "3.14.1", json!({})));
    // A client down only warns (it upgrades when it returns); its alert speaks for itself.
    sim.admin("fault backend-down --host client1");
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["alert_active"], "{v}");
    let v = precheck(&sim, "node1", "3.14.1", json!({"allowed_alerts": "NodeDisconnected"}));
    ok(&v);
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "client_down" && f["severity"] == "warning"),
        "{v}"
    );
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
    // A release whose `weka status -J` has no block_upgrade_task: the task list tells.
    sim.fake_status(|s| {
        s.as_object_mut().unwrap().remove("block_upgrade_task");
    });
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["data_upgrade_running"], "{v}");
    assert!(msg(&v).contains("still running (DATA_UPGRADE RUNNING ("), "{v}");
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

#[test]
fn precheck_blocks_on_mixed_versions_after_a_revert_that_missed_a_backend() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.admin("fault upgrade-reverts --stuck node2");
    assert_eq!(sim.weka("node1", "local run --in 3.14.1 upgrade").0, 1);
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["mixed_versions"], "{v}");
    assert!(
        msg(&v).contains("the backends run different releases (3.13.1, 3.14.1)"),
        "{v}"
    );
}

#[test]
fn precheck_blocks_while_io_is_stopped() {
    let sim = Sim::new(THREE_ONE);
    sim.weka("node1", "cluster stop-io");
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["io_not_started"], "{v}");
    assert!(
        msg(&v).contains("io status is STOPPED, not STARTED (`weka cluster start-io`)"),
        "{v}"
    );
    sim.weka("node1", "cluster start-io");
    ok(&precheck(&sim, "node1", "3.14.1", json!({})));
}

#[test]
fn precheck_blocks_while_another_upgrade_runs() {
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault upgrade-running --host node1");
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["upgrade_in_progress"], "{v}");
    assert!(msg(&v).contains("an upgrade is already in progress"), "{v}");
}

#[test]
fn precheck_blocks_on_a_status_not_ok_and_on_backend_counts_short() {
    let sim = Sim::new(THREE_ONE);
    sim.fake_status(|s| s["status"] = json!("UNPROTECTED"));
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["status_not_ok"], "{v}");
    assert!(msg(&v).contains("weka status is UNPROTECTED, not OK"), "{v}");
    // `weka cluster host` shows every backend UP, but `weka status` counts one short.
    sim.fake_status(|s| s["hosts"]["backends"]["active"] = json!(2));
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["backend_down"], "{v}");
    assert!(msg(&v).contains("weka status counts 2 of 3 backends active"), "{v}");
}

#[test]
fn precheck_names_a_whoami_that_fails() {
    let sim = Sim::new(THREE_ONE);
    sim.wrap("'user whoami -J') echo \"error: No such command 'whoami'.\" >&2; exit 2 ;;");
    let v = precheck(&sim, "node1", "3.14.1", json!({}));
    assert_eq!(codes(&v), ["login"], "{v}");
    assert!(
        msg(&v).contains("'weka user whoami -J' failed (rc 2): error: No such command 'whoami'."),
        "{v}"
    );
}

#[test]
fn precheck_applies_the_flat_4_gb_rule_before_4_1() {
    let sim = Sim::new(THREE_ONE);
    // procfs has no free blocks: a file system with less than 4 GB free, without a mount.
    let v = precheck(&sim, "node1", "3.14.1", json!({"weka_dir": "/proc"}));
    assert_eq!(codes(&v), ["free_space"], "{v}");
    assert!(
        msg(&v).contains("/proc has 0.0 GiB free; the upgrade needs at least 4 GB"),
        "{v}"
    );
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

/// The uid this test runs as, which the module's files belong to.
fn my_uid() -> u32 {
    std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap())
}

#[test]
fn version_from_url_token_reaches_no_command_line_nor_any_output() {
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
    sim.admin("clear");
    let v = sim.run("weka_version", "node1", json!({"version": "3.14.1", "from": url}));
    ok(&v);
    assert!(!v.to_string().contains(token), "{v}");
    assert_eq!(v["installed"], json!(["3.13.1", "3.14.1"]), "{v}");
    // Every program the module ran (weka, curl, tar, install.sh) is in `commands` and in the
    // simulator's log: the token is in neither; curl read it from a file only root can read.
    let log = sim.log();
    assert!(!log.contains(token), "{log}");
    assert!(!log.contains("version get"), "weka was not given the URL: {log}");
    let uid = my_uid();
    assert!(
        log.contains(&format!(
            "node1: curl https://get.weka.io/dist/v1/pkg/weka-3.14.1.tar (config 0600 uid {uid}, directory 0700 uid {uid})"
        )),
        "{log}"
    );
    let curl = v["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|c| c.starts_with("curl "))
        .unwrap_or_else(|| panic!("no curl in {v}"));
    let conf = curl.strip_prefix("curl -q --config ").expect(curl);
    assert!(
        !Path::new(conf).parent().unwrap().exists(),
        "the private directory is gone: {conf}"
    );
}

#[test]
fn version_from_an_empty_url_is_no_url() {
    // AWX's WEKA credential type injects weka_download_from: "" when no URL was given.
    let sim = Sim::new(THREE_ONE);
    ok(&sim.run(
        "weka_version",
        "node1",
        json!({"version": "3.14.1", "from": "", "prepare": false}),
    ));
    let log = sim.log();
    assert!(log.contains("node1: weka version get 3.14.1\n"), "{log}");
    assert!(!log.contains("--from"), "{log}");
}

#[test]
fn version_from_a_url_with_credentials_needs_https() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run(
        "weka_version",
        "node1",
        json!({"version": "3.14.1", "from": "http://T0K@get.weka.io"}),
    );
    assert!(msg(&v).contains("carries credentials, but not over https"), "{v}");
    assert!(!v.to_string().contains("T0K@"), "{v}");
    assert!(!sim.log().contains("version get"));
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
    let tarball = tarball(&sim, "weka-3.14.1", Some("set -e\nexec weka-sim install 3.14.1"));
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

/// A release tarball in the test's directory: `name/install.sh` holding `script`, if any.
fn tarball(sim: &Sim, name: &str, script: Option<&str>) -> PathBuf {
    let src = sim.dir.path().join(name);
    std::fs::create_dir_all(&src).unwrap();
    if let Some(script) = script {
        let path = src.join("install.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    } else {
        std::fs::write(src.join("README"), "no installer here\n").unwrap();
    }
    let tarball = sim.dir.path().join(format!("{name}.tar"));
    let st = std::process::Command::new("tar")
        .args([
            "-cf",
            tarball.to_str().unwrap(),
            "-C",
            sim.dir.path().to_str().unwrap(),
            name,
        ])
        .status()
        .unwrap();
    assert!(st.success());
    tarball
}

#[test]
fn version_tarball_failures_are_named() {
    let sim = Sim::new(THREE_ONE);
    let run = |t: &Path| sim.run("weka_version", "node1", json!({"version": "3.14.1", "tarball": t}));
    let not_tar = sim.dir.path().join("weka-3.14.1.tar.gz");
    std::fs::write(&not_tar, "an HTML error page, not a tarball\n").unwrap();
    let v = run(&not_tar);
    assert!(
        msg(&v).starts_with(&format!("unpacking {} failed (rc 2)", not_tar.display())),
        "{v}"
    );
    let t = tarball(&sim, "no-installer", None);
    assert_eq!(
        msg(&run(&t)),
        format!(
            "{} holds no install.sh (at its top or in its first directory)",
            t.display()
        )
    );
    let t = tarball(&sim, "broken", Some("echo 'unsupported kernel' >&2; exit 3"));
    let v = run(&t);
    assert_eq!(msg(&v), format!("install.sh from {} failed (rc 3)", t.display()));
    assert!(v["stderr"].as_str().unwrap_or("").contains("unsupported kernel"), "{v}");
    let t = tarball(&sim, "empty", Some("exit 0"));
    assert_eq!(
        msg(&run(&t)),
        format!(
            "install 3.14.1 from {} (install.sh) finished, but `weka version` does not list 3.14.1 (it lists: 3.13.1)",
            t.display()
        )
    );
    let v = sim.run_with(
        "weka_version",
        "node1",
        json!({"version": "3.14.1", "tarball": t}),
        &[("TMPDIR", "/proc/nonexistent")],
    );
    assert!(
        msg(&v).starts_with("/proc/nonexistent is not a safe place for a private directory ("),
        "{v}"
    );
}

/// The state letter of /proc/PID/stat ('Z' once it exited), None when there is no such process.
fn proc_state(pid: u64) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// The pid of a command a module left running; asserts it still runs.
fn still_running(v: &Value) -> u64 {
    assert_eq!(v["left_running"], true, "{v}");
    let pid = v["pid"].as_u64().unwrap_or_else(|| panic!("no pid: {v}"));
    assert!(
        matches!(proc_state(pid), Some(s) if s != 'Z'),
        "pid {pid} no longer runs: {v}"
    );
    pid
}

/// Waits (at most 30 s) until `pid` has ended.
fn ended(pid: u64) {
    let started = std::time::Instant::now();
    while matches!(proc_state(pid), Some(s) if s != 'Z') {
        assert!(started.elapsed().as_secs() < 30, "pid {pid} still runs");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn version_install_sh_past_its_timeout_is_left_running_in_its_directory_and_finishes() {
    let sim = Sim::new(THREE_ONE);
    let t = tarball(
        &sim,
        "slow",
        Some("sleep 3; echo installed; exec weka-sim install 3.14.1"),
    );
    let tmp = sim.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let args = json!({"version": "3.14.1", "tarball": t, "download_timeout": 1});
    let v = sim.run_with(
        "weka_version",
        "node1",
        args.clone(),
        &[("TMPDIR", tmp.to_str().unwrap())],
    );
    let pid = still_running(&v);
    let dir = v["directory"].as_str().unwrap_or_else(|| panic!("no directory: {v}"));
    assert!(
        Path::new(dir).join("release/slow/install.sh").is_file(),
        "its directory stays: {v}"
    );
    assert_eq!(
        msg(&v),
        format!(
            "'{dir}/release/slow/install.sh' did not finish within 1 s (download_timeout) and was left running (pid \
             {pid}), not killed: interrupting an installation could leave WEKA's packages half installed. `weka \
             version` lists meanwhile: 3.13.1. Wait for pid {pid} to end (its output goes to {} and {}), then remove \
             {dir} (the unpacked release) and run this task again",
            v["output_files"]["stdout"].as_str().unwrap(),
            v["output_files"]["stderr"].as_str().unwrap()
        )
    );
    // Left alone it completes, its output written to the named file.
    ended(pid);
    assert_eq!(sim.weka("node1", "version").1, "* 3.13.1\n  3.14.1\n");
    let output = std::fs::read_to_string(v["output_files"]["stdout"].as_str().unwrap()).unwrap();
    assert!(output.starts_with("installed\n"), "{output}");
    let again = sim.run_with("weka_version", "node1", args, &[("TMPDIR", tmp.to_str().unwrap())]);
    ok(&again);
    assert_eq!(again["changed"], false, "{again}");
}

#[test]
fn version_prepare_fails_when_the_driver_does_not_build() {
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault driver-build-fails --host node2");
    let v = sim.run("weka_version", "node2", json!({"version": "3.14.1"}));
    assert_eq!(
        msg(&v),
        "preparing WEKA 3.14.1 failed (rc 1): error: preparing version 3.14.1 failed: the wekafs driver did not build \
         on this host"
    );
    ok(&sim.run("weka_version", "node1", json!({"version": "3.14.1"})));
    // The release stays downloaded; once the driver builds, a re-run prepares it.
    sim.admin("clear driver-build-fails");
    let again = sim.run("weka_version", "node2", json!({"version": "3.14.1"}));
    ok(&again);
    assert_eq!(again["changed"], json!(false), "{again}");
    assert_eq!(again["prepared"], json!(true), "{again}");
    assert!(
        again["commands"].to_string().contains("weka version prepare 3.14.1"),
        "{again}"
    );
    assert!(sim
        .weka("node2", "version prepare 3.14.1")
        .1
        .contains("already prepared"));
}

#[test]
fn version_download_that_hangs_is_killed_and_its_token_stays_masked() {
    let token = "GETWEKA-T0KEN-slow";
    let sim = Sim::new(THREE_ONE);
    let curl = sim.dir.path().join("bin/curl");
    std::fs::remove_file(&curl).unwrap();
    std::fs::write(&curl, "#!/bin/sh\nsleep 30\n").unwrap();
    std::fs::set_permissions(&curl, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let url = format!("https://{token}@get.weka.io");
    let v = sim.run(
        "weka_version",
        "node1",
        json!({"version": "3.14.1", "from": url, "download_timeout": 1}),
    );
    assert!(
        msg(&v).ends_with(
            "did not finish within 1 s (download_timeout) and was killed; raise download_timeout if it is just slow"
        ),
        "{v}"
    );
    assert!(!v.to_string().contains(token), "{v}");
}

#[test]
fn version_unpacks_in_a_fresh_private_directory_under_a_safe_parent() {
    let sim = Sim::new(THREE_ONE);
    let seen = sim.dir.path().join("seen");
    // install.sh sits in PRIVATE/release/weka-3.14.1/: what it sees of PRIVATE.
    let script = format!(
        "stat -c '%a %u %n' \"$(dirname \"$0\")/../..\" > {}\nexec weka-sim install 3.14.1",
        seen.display()
    );
    let t = tarball(&sim, "weka-3.14.1", Some(&script));
    let parent = sim.dir.path().join("tmp");
    std::fs::create_dir(&parent).unwrap();
    let args = json!({"version": "3.14.1", "tarball": t, "prepare": false});
    let v = sim.run_with(
        "weka_version",
        "node1",
        args.clone(),
        &[("TMPDIR", parent.to_str().unwrap())],
    );
    ok(&v);
    let seen = std::fs::read_to_string(&seen).unwrap();
    let (mode_uid, dir) = seen.trim().rsplit_once(' ').unwrap();
    assert_eq!(mode_uid, format!("700 {}", my_uid()), "{seen}");
    let name = dir
        .strip_prefix(&format!("{}/", parent.display()))
        .and_then(|d| d.split('/').next())
        .unwrap_or_default();
    assert!(
        name.starts_with("keel-weka-") && !name.contains("3.14.1"),
        "a random name: {seen}"
    );
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0, "removed afterwards");

    // A parent others may write to (and that is not sticky), or a link, is refused.
    let open = sim.dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let v = sim.run_with(
        "weka_version",
        "node2",
        args.clone(),
        &[("TMPDIR", open.to_str().unwrap())],
    );
    assert!(
        msg(&v).contains("is not a safe place for a private directory (mode 0777: writable by others and not sticky)"),
        "{v}"
    );
    let link = sim.dir.path().join("link");
    std::os::unix::fs::symlink(&parent, &link).unwrap();
    let v = sim.run_with("weka_version", "node2", args, &[("TMPDIR", link.to_str().unwrap())]);
    assert!(msg(&v).contains("(not a directory)"), "{v}");
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
    // In check mode an earlier step did not really fetch the release: a warning, not a failure.
    let sim = Sim::new(THREE_ONE);
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "3.14.1", "_ansible_check_mode": true})),
    );
    assert_eq!(
        (v["failed"].clone(), v["changed"].clone()),
        (json!(false), json!(true)),
        "{v}"
    );
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap_or("")
            .contains("WEKA 3.14.1 is not on this backend yet"),
        "{v}"
    );
    assert!(!sim.log().contains("local run") && !sim.log().contains("version get"));
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
fn upgrade_failure_returns_the_whole_of_wekas_output_masked() {
    let secret = "S3cret-Adm1n-Pw";
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1 --admin-password {secret}"));
    sim.wrap(&format!(
        "'local run --in 3.14.1 upgrade'*) echo 'upgrade failed:' >&2; echo '  node2: driver mismatch' >&2; \
         echo '  login {secret} used' >&2; echo 'progress: 10%'; exit 1 ;;"
    ));
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "3.14.1", "username": "admin", "password": secret})),
    );
    assert_eq!(v["failed"], true, "{v}");
    assert!(msg(&v).contains("upgrade failed:"), "{v}");
    let stderr = v["stderr"].as_str().unwrap_or_default();
    assert!(
        stderr.contains("node2: driver mismatch") && stderr.contains("login ******** used"),
        "{v}"
    );
    assert_eq!(v["stdout"], "progress: 10%\n", "{v}");
    assert!(!v.to_string().contains(secret), "{v}");
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
    sim.admin("fault not-logged-in");
    let v = sim.run("weka_upgrade", "node1", upgrade(json!({"version": "3.14.1"})));
    assert!(
        msg(&v).starts_with("'weka status -J' failed: weka refused the credentials"),
        "{v}"
    );
    assert_eq!(sim.log().matches("weka local run").count(), 1, "the viewer's only");
}

#[test]
fn upgrade_refuses_a_flag_the_target_release_lacks() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "3.14.1", "health_check_timeout": 10})),
    );
    assert_eq!(
        msg(&v),
        "weka_upgrade: --health-check-timeout arrived in WEKA 4.0; 3.14.1 does not take it"
    );
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "3.14.1", "mode": "ndu"})),
    );
    assert!(msg(&v).contains("non-disruptive upgrades (ndu) start with 4.1"), "{v}");
    assert!(!sim.log().contains("local run"));
}

#[test]
fn upgrade_at_the_target_still_waits_for_its_data_upgrade() {
    let sim = Sim::new("--release 3.14.1 --backends node1,node2");
    sim.admin("fault data-upgrade --calls 100 --now");
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "3.14.1", "data_upgrade_timeout": 1})),
    );
    assert!(
        msg(&v).starts_with("the data upgrade is still running after 1 s (DATA_UPGRADE RUNNING ("),
        "{v}"
    );
    // A release whose `weka status -J` has no block_upgrade_task: the task list tells.
    sim.fake_status(|s| {
        s.as_object_mut().unwrap().remove("block_upgrade_task");
    });
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "3.14.1", "data_upgrade_timeout": 1})),
    );
    assert!(
        msg(&v).starts_with("the data upgrade is still running after 1 s (DATA_UPGRADE RUNNING):"),
        "{v}"
    );
}

#[test]
fn upgrade_whose_revert_missed_a_backend_says_so() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.admin("fault upgrade-reverts --stuck node2");
    let v = sim.run("weka_upgrade", "node1", upgrade(json!({"version": "3.14.1"})));
    assert_eq!(
        (v["failed"].clone(), v["reverted"].clone()),
        (json!(true), json!(false)),
        "{v}"
    );
    let m = msg(&v);
    assert!(
        m.starts_with("the upgrade to 3.14.1 failed and the backends do not all run 3.13.1"),
        "{m}"
    );
    assert!(
        m.contains("node2/default 3.14.1 UP") && m.contains("contact WEKA support"),
        "{m}"
    );
}

#[test]
fn upgrade_stops_in_preparation_when_a_driver_does_not_build() {
    let sim = Sim::new(THREE_ONE);
    sim.weka("node1", "version get 3.14.1");
    sim.admin("fault driver-build-fails --host node2");
    let v = sim.run("weka_upgrade", "node1", upgrade(json!({"version": "3.14.1"})));
    assert_eq!(
        (v["failed"].clone(), v["reverted"].clone()),
        (json!(true), json!(false)),
        "{v}"
    );
    assert!(
        msg(&v).contains("stopped before any backend changed release (all still on 3.13.1)")
            && msg(&v).contains("preparation failed on node2 (HostId<1>): the wekafs driver of 3.14.1 did not build"),
        "{v}"
    );
}

#[test]
fn upgrade_refused_while_another_runs() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.admin("fault upgrade-running --host node2");
    let v = sim.run("weka_upgrade", "node1", upgrade(json!({"version": "3.14.1"})));
    assert!(
        msg(&v).contains("stopped before any backend changed release")
            && msg(&v).contains("an upgrade is already in progress (its upgrade container runs on node2)"),
        "{v}"
    );
}

#[test]
fn upgrade_reported_done_by_weka_is_checked_on_every_backend() {
    // A weka that says done and changed nothing: every backend still runs the source.
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.wrap("'local run'*) echo 'Upgrade to 3.14.1 completed'; exit 0 ;;");
    let v = sim.run("weka_upgrade", "node1", upgrade(json!({"version": "3.14.1"})));
    assert!(
        msg(&v).starts_with(
            "weka reported the upgrade to 3.14.1 done, but every backend runs 3.13.1 again: WEKA reverted it"
        ),
        "{v}"
    );
    // A backend that goes down right after the switch: named when confirm_timeout ends.
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.wrap(
        "'local run'*) \"$SIM\" \"$@\" || exit $?; weka-sim fault backend-down --host node3 >/dev/null; exit 0 ;;",
    );
    let v = sim.run(
        "weka_upgrade",
        "node1",
        upgrade(json!({"version": "3.14.1", "confirm_timeout": 1})),
    );
    assert_eq!(
        msg(&v),
        "weka reported the upgrade to 3.14.1 done, but after 1 s these backends are not UP on it: node3/default \
         3.14.1 DOWN"
    );
}

#[test]
fn upgrade_past_its_timeout_is_left_running_not_killed_and_finishes() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.admin("fault slow-upgrade --seconds 3");
    let tmp = sim.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let args = upgrade(json!({"version": "3.14.1", "upgrade_timeout": 1}));
    let v = sim.run_with(
        "weka_upgrade",
        "node1",
        args.clone(),
        &[("TMPDIR", tmp.to_str().unwrap())],
    );
    let pid = still_running(&v);
    assert_eq!(
        msg(&v),
        format!(
            "'weka local run --in 3.14.1 upgrade' did not finish within 1 s (upgrade_timeout) and was left running \
             (pid {pid}), not killed: interrupting WEKA's upgrade could leave the cluster between releases. `weka \
             cluster host` shows meanwhile: node1/default 3.13.1 UP, node2/default 3.13.1 UP, node3/default 3.13.1 UP. \
             Wait for pid {pid} to end (its output goes to {} and {}), then check `weka status` and `weka cluster \
             host`, and run this task again (it finds the cluster on the new release, or says why not)",
            v["output_files"]["stdout"].as_str().unwrap(),
            v["output_files"]["stderr"].as_str().unwrap()
        )
    );
    assert_eq!(v["cmd"], "weka local run --in 3.14.1 upgrade");
    assert_eq!(v["backends"].as_array().map(Vec::len), Some(3), "{v}");
    // Left alone, WEKA's upgrade completes; the same task then finds it done.
    ended(pid);
    let again = sim.run_with("weka_upgrade", "node1", args, &[("TMPDIR", tmp.to_str().unwrap())]);
    ok(&again);
    assert_eq!(
        (again["changed"].clone(), msg(&again)),
        (json!(false), "the cluster already runs 3.14.1"),
        "{again}"
    );
    assert_eq!(sim.log().matches("local run --in 3.14.1 upgrade").count(), 1);
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
    // A client whose agent is down answers `weka version current` but nothing else.
    sim.admin("fault backend-down --host client1");
    let v = sim.run("weka_client_upgrade", "client1", json!({}));
    assert!(
        msg(&v).starts_with("'weka status -J' failed: the WEKA agent or container is not running on this host"),
        "{v}"
    );
}

#[test]
fn client_upgrade_never_moves_a_client_backwards() {
    let sim = Sim::new(THREE_ONE);
    let v = sim.run("weka_client_upgrade", "client1", json!({"version": "3.12.1"}));
    assert_eq!(
        msg(&v),
        "this client runs 3.13.1, newer than the target 3.12.1: clients follow the backends, never lead"
    );
}

#[test]
fn client_upgrade_4_2_needs_a_backend_to_get_the_release_from() {
    let sim = Sim::new("--release 4.2.18.34 --backends node1 --clients client1 --client-release 4.1.2.36");
    sim.admin("fault backend-down --host node1");
    let v = sim.run("weka_client_upgrade", "client1", json!({}));
    assert_eq!(
        msg(&v),
        "no backend is UP to get the release from: set the 'backend' option (HOST:PORT)"
    );
    sim.admin("clear");
    sim.admin("fault download-fails --host client1");
    let v = sim.run("weka_client_upgrade", "client1", json!({"backend": "10.0.0.11:14000"}));
    assert!(
        msg(&v).starts_with(
            "upgrading this client from 4.1.2.36 to 4.2.18.34: `weka version get 4.2.18.34 --from 10.0.0.11:14000` failed (rc 1)"
        ),
        "{v}"
    );
    assert!(
        !sim.log().contains("client1: weka local upgrade"),
        "stopped at the download"
    );
}

#[test]
fn client_upgrade_check_mode_of_the_4_3_flow_runs_nothing() {
    let sim = Sim::new("--release 4.4.6 --backends node1 --clients client1 --client-release 4.3.5.105");
    let v = sim.run(
        "weka_client_upgrade",
        "client1",
        json!({"_ansible_check_mode": true, "_ansible_diff": true}),
    );
    assert_eq!(v["changed"], true, "{v}");
    assert_eq!(v["steps"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(v["diff"]["after"], "version: 4.4.6\n");
    let log = sim.log();
    assert!(
        !log.contains("version get") && !log.contains("version set") && !log.contains("local upgrade"),
        "{log}"
    );
}

#[test]
fn client_upgrade_fails_when_the_driver_does_not_build() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.weka("node1", "local run --in 3.14.1 upgrade");
    sim.admin("fault driver-build-fails --host client1");
    let v = sim.run("weka_client_upgrade", "client1", json!({}));
    assert_eq!(
        msg(&v),
        "upgrading this client from 3.13.1 to 3.14.1: `weka local upgrade` failed (rc 1): error: upgrading this \
         client to 3.14.1 failed: the wekafs driver did not build; the client still runs 3.13.1"
    );
    sim.admin("clear driver-build-fails");
    assert_eq!(sim.run("weka_client_upgrade", "client1", json!({}))["changed"], true);
}

#[test]
fn client_upgrade_checks_what_weka_version_current_says() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.weka("node1", "local run --in 3.14.1 upgrade");
    sim.wrap("'version current') echo 'none'; exit 0 ;;");
    let v = sim.run("weka_client_upgrade", "client1", json!({}));
    assert_eq!(msg(&v), "`weka version current` answered 'none', not a release");
    // The notes: it fails when no version is set.
    sim.wrap("'version current') echo 'error: no current version is set' >&2; exit 1 ;;");
    let v = sim.run("weka_client_upgrade", "client1", json!({}));
    assert_eq!(
        msg(&v),
        "'weka version current' failed (rc 1): error: no current version is set"
    );
    // A `weka local upgrade` that says done and changed nothing.
    sim.wrap("'local upgrade'*) echo 'done'; exit 0 ;;");
    let v = sim.run("weka_client_upgrade", "client1", json!({}));
    assert_eq!(
        msg(&v),
        "`weka local upgrade` finished, but `weka version current` says 3.13.1, not 3.14.1"
    );
}

#[test]
fn client_upgrade_past_its_timeout_is_left_running_not_killed_and_finishes() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.weka("node1", "local run --in 3.14.1 upgrade");
    sim.admin("fault slow-upgrade --seconds 3 --host client1");
    let tmp = sim.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let env = [("TMPDIR", tmp.to_str().unwrap())];
    let v = sim.run_with("weka_client_upgrade", "client1", json!({"upgrade_timeout": 1}), &env);
    let pid = still_running(&v);
    assert!(
        msg(&v).starts_with(&format!(
            "'weka local upgrade' did not finish within 1 s (upgrade_timeout) and was left running (pid {pid}), not \
             killed: interrupting it could leave this client between releases. `weka version current` says 3.13.1 \
             meanwhile. Wait for pid {pid} to end"
        )),
        "{v}"
    );
    ended(pid);
    assert_eq!(sim.weka("client1", "version current").1, "3.14.1\n");
    let again = sim.run_with("weka_client_upgrade", "client1", json!({}), &env);
    assert_eq!(msg(&again), "this client already runs 3.14.1", "{again}");
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
fn verify_with_no_backend_listed_is_no_success() {
    let sim = Sim::new(THREE_ONE);
    sim.wrap("'cluster host -J') echo '[]'; exit 0 ;;");
    let v = sim.run("weka_verify", "node1", json!({"wait_timeout": 1, "poll_interval": 1}));
    assert_eq!(v["failed"], true, "{v}");
    assert!(msg(&v).contains("weka lists no backend, so none was verified"), "{v}");
}

#[test]
fn verify_names_each_unhealthy_state_when_its_wait_ends() {
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault backend-down --host node3");
    sim.admin("fault rebuild --percent 20");
    sim.admin("fault data-upgrade --calls 100 --now");
    sim.weka("node1", "cluster stop-io");
    let v = sim.run(
        "weka_verify",
        "node1",
        json!({"version": "3.13.1", "wait_timeout": 1, "poll_interval": 1}),
    );
    assert_eq!(v["failed"], true);
    for problem in [
        "backend node3 is not UP",
        "io status is STOPPED, not STARTED",
        "weka status is REBUILDING, not OK",
        "a data upgrade is still running (DATA_UPGRADE RUNNING (",
    ] {
        assert!(msg(&v).contains(problem), "{problem}: {v}");
    }
    // On the backend that is down, weka fails; the wait goes on and names it at the end.
    let v = sim.run("weka_verify", "node3", json!({"wait_timeout": 1, "poll_interval": 1}));
    assert!(
        msg(&v).starts_with("the cluster is not verified after 1 s: 'weka status -J' failed: the WEKA agent or container is not running"),
        "{v}"
    );
}

#[test]
fn verify_compares_the_header_of_weka_status() {
    let sim = Sim::new(&format!("{THREE_ONE} --downloaded 3.14.1"));
    sim.weka("node1", "local run --in 3.14.1 upgrade");
    sim.wrap("status) \"$SIM\" status | sed 's/^WekaIO v[^ ]*/WekaIO v3.13.1/'; exit 0 ;;");
    let v = sim.run(
        "weka_verify",
        "node1",
        json!({"version": "3.14.1", "wait_timeout": 1, "poll_interval": 1}),
    );
    assert_eq!(
        msg(&v),
        "the cluster is not verified after 1 s: `weka status` shows 3.13.1 in its header, expected 3.14.1"
    );
}

#[test]
fn verify_does_not_wait_for_credentials_or_a_missing_weka() {
    let sim = Sim::new(THREE_ONE);
    sim.admin("fault not-logged-in");
    let started = std::time::Instant::now();
    let v = sim.run("weka_verify", "node1", json!({"wait_timeout": 60}));
    assert!(
        v["failed"] == true && msg(&v).contains("weka refused the credentials"),
        "{v}"
    );
    std::fs::remove_file(sim.dir.path().join("bin/weka")).unwrap();
    let v = sim.run("weka_verify", "node1", json!({"wait_timeout": 60}));
    assert!(msg(&v).contains("the 'weka' command was not found"), "{v}");
    assert!(started.elapsed().as_secs() < 30, "neither waited");
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
