//! The simulator against the documented shapes (the fixtures of modules/weka_model) and its own
//! rules: hops, faults, locking.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use std::process::Command;

use serde_json::Value;

struct Sim {
    dir: tempfile::TempDir,
}

impl Sim {
    fn new(init: &[&str]) -> Sim {
        let sim = Sim {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = sim.admin(&[&["init"], init].concat());
        assert!(out.0, "{}", out.1);
        sim
    }
    fn state(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }
    fn cmd(&self, bin: &str, host: &str) -> Command {
        let mut c = Command::new(bin);
        c.env_clear()
            .env("WEKA_SIM_STATE", self.state())
            .env("WEKA_SIM_HOST", host)
            .env("WEKA_SIM_OPT", self.dir.path().join("{host}/opt/weka"))
            .env("HOME", self.dir.path());
        c
    }
    fn admin(&self, args: &[&str]) -> (bool, String) {
        let out = self
            .cmd(env!("CARGO_BIN_EXE_weka-sim"), "node1")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    }
    /// (rc, stdout, stderr) of `weka ARGS` on `host`.
    fn weka(&self, host: &str, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd(env!("CARGO_BIN_EXE_weka"), host).args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
    fn json(&self, host: &str, args: &[&str]) -> Value {
        let (rc, out, err) = self.weka(host, args);
        assert_eq!(rc, 0, "weka {args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

fn fixture(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../modules/weka_model/tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn status_json_has_the_documented_keys_of_each_release() {
    for (release, fixture_name) in [
        ("3.14.1", "status-3.14.json"),
        ("4.1.2.36", "status-4.1.json"),
        ("4.4.2.157-k8s.2", "status-4.4.json"),
    ] {
        let sim = Sim::new(&["--release", release, "--backends", "node1,node2", "--clients", "c1"]);
        let got = sim.json("node1", &["status", "-J"]);
        // 3.x's fixture has no block_upgrade_task; the simulator emits it everywhere (UNVERIFIED there).
        let mut want = keys(&fixture(fixture_name));
        want.insert("block_upgrade_task".into());
        assert_eq!(keys(&got), want, "{release}");
        assert_eq!(got["release"], release);
        let nodes = keys(&got["nodes"]);
        assert!(
            nodes.contains(if release.starts_with("4.1") {
                "black_listed"
            } else {
                "blacklisted"
            }),
            "{nodes:?}"
        );
    }
}

#[test]
fn other_outputs_have_the_documented_keys() {
    let sim = Sim::new(&[
        "--release",
        "4.2.9.28",
        "--backends",
        "node1",
        "--clients",
        "c1",
        "--stateless-clients",
        "c1",
    ]);
    let c = sim.json("node1", &["cluster", "container", "-J"]);
    assert_eq!(keys(&c[0]), keys(&fixture("cluster-container-5.1.json")[0]));
    assert_eq!(c.as_array().unwrap().len(), 4, "3 backend containers and a client");
    assert!(c[3]["auto_remove_timeout"].is_number(), "stateless client");
    assert_eq!(
        sim.json("node1", &["cluster", "container", "-J", "-c"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        keys(&sim.json("node1", &["status", "rebuild", "-J"])),
        keys(&fixture("rebuild-none.json"))
    );
    assert_eq!(
        keys(&sim.json("node1", &["local", "ps", "-J"])[0]),
        keys(&fixture("local-ps.json")[0])
    );
    assert_eq!(
        keys(&sim.json("node1", &["cluster", "servers", "list", "-J"])[0]),
        keys(&fixture("servers-list-4.2.json")[0])
    );
    sim.admin(&["fault", "alert", "--type", "DiskFailure"]);
    sim.admin(&["fault", "task", "--type", "STOW_UPLOAD"]);
    let a = sim.json("node1", &["alerts", "-J"]);
    assert_eq!(keys(&a[0]), keys(&fixture("alerts.json")[0]));
    assert_eq!(
        keys(&sim.json("node1", &["cluster", "task", "-J"])[0]),
        keys(&fixture("tasks.json")[0])
    );
    let (_, text, _) = sim.weka("node1", &["status"]);
    assert!(text.starts_with("WekaIO v4.2.9.28 (CLI build 4.2.9.28)\n"), "{text}");
    assert!(
        text.contains("status: OK (3 backend containers UP, 2 drives UP)"),
        "{text}"
    );
    assert!(
        text.contains("alerts: 1 active alerts, use `weka alerts` to list them"),
        "{text}"
    );
}

#[test]
fn commands_of_other_releases_are_refused_like_weka() {
    let sim = Sim::new(&["--release", "3.13.1", "--backends", "node1"]);
    assert_eq!(sim.weka("node1", &["cluster", "container", "-J"]).0, 2);
    let (rc, _, err) = sim.weka(
        "node1",
        &[
            "local",
            "run",
            "--in",
            "3.13.1",
            "upgrade",
            "--health-check-timeout",
            "10s",
        ],
    );
    assert_eq!(
        (rc, err.as_str()),
        (2, "error: no such option: --health-check-timeout\n")
    );
    let (rc, _, err) = sim.weka("elsewhere", &["status"]);
    assert!(
        rc == 1 && err.contains("Failed connecting to http://127.0.0.1:14000"),
        "{err}"
    );
}

#[test]
fn login_tokens_and_credentials_in_the_environment() {
    let sim = Sim::new(&["--release", "4.0.2", "--backends", "node1", "--admin-password", "Pw-1"]);
    let (rc, _, err) = sim.weka("node1", &["status"]);
    assert!(rc == 1 && err.contains("not logged in"), "{err}");
    assert_eq!(sim.weka("node1", &["user", "login", "admin", "Pw-1"]).0, 0);
    assert_eq!(sim.json("node1", &["user", "whoami", "-J"])["role"], "ClusterAdmin");
    sim.admin(&["fault", "not-logged-in"]);
    let (rc, _, err) = sim.weka("node1", &["status"]);
    assert!(rc == 1 && err.contains("invalid or expired"), "{err}");
    sim.admin(&["user", "add", "viewer", "v", "ReadOnly"]);
    let out = sim
        .cmd(env!("CARGO_BIN_EXE_weka"), "node1")
        .args(["user", "whoami", "-J"])
        .env("WEKA_USERNAME", "viewer")
        .env("WEKA_PASSWORD", "v")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("ReadOnly"));
}

#[test]
fn a_two_hop_upgrade_with_its_data_upgrade_and_clients() {
    let sim = Sim::new(&["--release", "3.13.1", "--backends", "node1,node2", "--clients", "c1"]);
    // 4.0 is not reachable from 3.13.
    assert_eq!(sim.weka("node1", &["version", "get", "4.0.2"]).0, 0);
    let (rc, _, err) = sim.weka("node1", &["local", "run", "--in", "4.0.2", "upgrade"]);
    assert!(
        rc == 1 && err.contains("can only be installed over 3.14.1 or later"),
        "{err}"
    );
    sim.admin(&["fault", "data-upgrade", "--calls", "2"]);
    sim.weka("node1", &["version", "get", "3.14.1"]);
    assert_eq!(
        sim.weka(
            "node1",
            &["local", "run", "--in", "3.14.1", "upgrade", "--prepare-only"]
        )
        .0,
        0
    );
    assert_eq!(
        sim.json("node1", &["status", "-J"])["release"],
        "3.13.1",
        "prepare-only switches nothing"
    );
    assert_eq!(
        sim.weka("node2", &["version"]).1,
        "* 3.13.1\n  3.14.1\n",
        "prepared everywhere"
    );
    assert_eq!(sim.weka("node1", &["local", "run", "--in", "3.14.1", "upgrade"]).0, 0);
    let s = sim.json("node1", &["status", "-J"]);
    assert_eq!(
        (s["release"].as_str(), s["block_upgrade_task"]["state"].as_str()),
        (Some("3.14.1"), Some("RUNNING"))
    );
    let (rc, _, err) = sim.weka("node1", &["local", "run", "--in", "4.0.2", "upgrade"]);
    assert!(rc == 1 && err.contains("data upgrade task is still running"), "{err}");
    assert_eq!(
        sim.json("node1", &["status", "-J"])["block_upgrade_task"]["state"],
        "RUNNING"
    );
    assert_eq!(
        sim.json("node1", &["status", "-J"])["block_upgrade_task"]["state"],
        "",
        "RUNNING in 2 status calls"
    );
    // The client is one version behind: the mismatch alert, then its upgrade.
    assert_eq!(sim.json("node1", &["alerts", "-J"])[0]["type"], "ClientVersionMismatch");
    assert_eq!(sim.weka("c1", &["local", "upgrade"]).0, 0);
    assert_eq!(sim.json("node1", &["alerts", "-J"]), Value::Array(vec![]));
    assert_eq!(
        sim.weka(
            "node1",
            &[
                "local",
                "run",
                "--in",
                "4.0.2",
                "upgrade",
                "--health-check-timeout",
                "10s"
            ]
        )
        .0,
        0
    );
    // 4.0.2 clients need --prepare-driver.
    let (rc, _, err) = sim.weka("c1", &["local", "upgrade"]);
    assert_eq!(rc, 0, "{err}: 3.14.1 clients upgrade without it");
    let log = sim.admin(&["log"]).1;
    assert!(
        log.contains("node1: weka local run --in 4.0.2 upgrade --health-check-timeout 10s"),
        "{log}"
    );
}

#[test]
fn faults_stop_the_upgrade_before_anything_changes() {
    let sim = Sim::new(&[
        "--release",
        "4.2.9.28",
        "--backends",
        "node1,node2",
        "--downloaded",
        "4.4.6",
    ]);
    let (rc, _, err) = sim.weka("node1", &["local", "run", "--in", "4.4.6", "upgrade"]);
    assert!(rc == 1 && err.contains("choose one with --container"), "{err}");
    sim.admin(&["fault", "backend-down", "--host", "node2"]);
    let (rc, _, err) = sim.weka(
        "node1",
        &["local", "run", "--container", "drives0", "--in", "4.4.6", "upgrade"],
    );
    assert!(rc == 1 && err.contains("preparation failed on node2"), "{err}");
    sim.admin(&["clear"]);
    sim.admin(&["fault", "upgrade-reverts"]);
    let (rc, _, err) = sim.weka(
        "node1",
        &["local", "run", "--container", "drives0", "--in", "4.4.6", "upgrade"],
    );
    assert!(rc == 1 && err.contains("reverted to 4.2.9.28"), "{err}");
    assert_eq!(sim.json("node2", &["status", "-J"])["release"], "4.2.9.28");
    sim.admin(&["fault", "download-fails"]);
    let (rc, _, err) = sim.weka(
        "node1",
        &["version", "get", "4.4.7", "--from", "https://T0K@get.weka.io"],
    );
    assert!(
        rc == 1 && err.contains("https://T0K@get.weka.io"),
        "the real CLI echoes the URL: {err}"
    );
}

#[test]
fn a_driver_that_does_not_build_a_partial_revert_stopped_io_and_a_running_upgrade() {
    let sim = Sim::new(&["--release", "3.13.1", "--backends", "node1,node2", "--clients", "c1"]);
    let up = ["local", "run", "--in", "3.14.1", "upgrade"];
    assert_eq!(sim.weka("node1", &["version", "get", "3.14.1"]).0, 0);
    sim.admin(&["fault", "driver-build-fails", "--host", "node2"]);
    assert_eq!(
        sim.weka("node1", &["version", "prepare", "3.14.1"]).0,
        0,
        "node1 builds it"
    );
    let (rc, _, err) = sim.weka("node1", &up);
    assert!(
        rc == 1 && err.contains("preparation failed on node2 (HostId<1>): the wekafs driver of 3.14.1 did not build"),
        "{err}"
    );
    assert_eq!(sim.json("node1", &["status", "-J"])["release"], "3.13.1");
    sim.admin(&["clear"]);
    sim.admin(&["fault", "upgrade-reverts", "--stuck", "node2"]);
    let (rc, _, err) = sim.weka("node1", &up);
    assert!(rc == 1 && err.contains("reverted to 3.13.1"), "{err}");
    let hosts = sim.json("node1", &["cluster", "host", "-J", "-b"]);
    let versions: Vec<&str> = hosts
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["sw_release_string"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["3.13.1", "3.14.1"], "the revert missed node2");
    assert_eq!(sim.weka("node1", &["cluster", "stop-io"]).0, 0);
    assert_eq!(sim.json("node1", &["status", "-J"])["io_status"], "STOPPED");
    assert_eq!(sim.weka("node1", &["cluster", "start-io"]).0, 0);
    sim.admin(&["clear"]);
    sim.admin(&["fault", "upgrade-running", "--host", "node2"]);
    let names = |host: &str| -> Vec<String> {
        let ps = sim.json(host, &["local", "ps", "-J"]);
        ps.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        (names("node1"), names("node2")),
        (
            vec!["default".to_string()],
            vec!["default".to_string(), "upgrade".to_string()]
        )
    );
    let (rc, _, err) = sim.weka("node1", &up);
    assert!(rc == 1 && err.contains("an upgrade is already in progress"), "{err}");
    sim.admin(&["clear", "upgrade-running"]);
    sim.admin(&["fault", "driver-build-fails", "--host", "c1"]);
    sim.admin(&["fault", "clients-behind", "--version", "3.12.1"]);
    let (rc, _, err) = sim.weka("c1", &["local", "upgrade"]);
    assert!(rc == 1 && err.contains("the wekafs driver did not build"), "{err}");
}

#[test]
fn low_space_puts_a_sparse_ballast_under_opt_weka() {
    let sim = Sim::new(&["--release", "4.2.9.28", "--backends", "node1"]);
    sim.admin(&["fault", "low-space", "--host", "node1"]);
    let (rc, _, err) = sim.weka("node1", &["version", "get", "4.4.6"]);
    assert!(rc == 1 && err.contains("not enough free space"), "{err}");
    let ballast = sim.dir.path().join("node1/opt/weka/data/drives0/weka-sim-ballast");
    assert!(std::fs::metadata(&ballast).unwrap().len() >= 1 << 30);
    sim.admin(&["clear", "low-space"]);
    sim.weka("node1", &["local", "ps"]);
    assert!(!ballast.exists());
}

#[test]
fn parallel_hosts_share_one_state_under_the_lock() {
    let sim = Sim::new(&[
        "--release",
        "4.0.2",
        "--backends",
        "node1,node2,node3,node4,node5,node6",
    ]);
    let children: Vec<_> = (1..=6)
        .map(|i| {
            sim.cmd(env!("CARGO_BIN_EXE_weka"), &format!("node{i}"))
                .args(["version", "get", &format!("4.0.{}", 10 + i)])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let st: Value = serde_json::from_str(&std::fs::read_to_string(sim.state()).unwrap()).unwrap();
    for i in 1..=6 {
        let h = st["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["hostname"] == format!("node{i}"))
            .unwrap();
        assert!(
            h["installed"]
                .as_array()
                .unwrap()
                .contains(&Value::String(format!("4.0.{}", 10 + i))),
            "{h}"
        );
    }
}
