//! The WEKA checks of `cargo xtask test` (also alone: `cargo xtask test --only weka`): the
//! shipped playbook keel.storage.weka_upgrade, installed from the tarball, run by a real
//! ansible-playbook against the weka simulator (tests/weka_sim) on localhost: six hosts in
//! tests/playbooks/weka_inventory.yml share one simulated cluster. One scenario is a full
//! two-hop upgrade; every other injects one fault and must stop with a clear message and
//! nothing half-done. Each scenario's files stay in build/weka/<ansible-core>/<scenario>/.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::ansible::Venv;
use crate::util::{self, Result};

const PASSWORD: &str = "Adm1n-Pw-Secret";
const TOKEN: &str = "GETWEKA-T0KEN-4f2a";
pub(crate) const CREDENTIALS: &[&str] = &["weka_username=admin", "weka_password=Adm1n-Pw-Secret"];
const INIT: &str =
    "--release 3.13.1 --backends node1,node2,node3 --clients client1,client2,client3 --admin-password Adm1n-Pw-Secret";

/// What a run left behind.
pub struct Outcome {
    pub ok: bool,
    pub output: String,
    pub report: Value,
    pub report_md: String,
    /// Every weka command the hosts ran, `host: weka ARGS` per line.
    pub log: String,
    pub state: Value,
}

impl Outcome {
    /// The weka commands that change something.
    fn changes(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter(|l| {
                [
                    "version get",
                    ": curl ",
                    "version prepare",
                    "local run",
                    "local upgrade",
                    "version set",
                ]
                .iter()
                .any(|c| l.contains(c))
            })
            .collect()
    }
    fn versions(&self) -> Vec<(String, String)> {
        self.state["hosts"]
            .as_array()
            .map(|hs| {
                hs.iter()
                    .map(|h| {
                        (
                            h["hostname"].as_str().unwrap_or("").to_string(),
                            h["version"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

struct Scenario {
    name: &'static str,
    init: &'static str,
    faults: &'static [&'static str],
    vars: &'static [&'static str],
    check_mode: bool,
    /// None: the run must succeed; Some(text): it must fail, saying `text`.
    fails_with: Option<&'static str>,
    verify: fn(&Outcome) -> Result,
}

fn ensure(cond: bool, what: impl Into<String>) -> Result {
    if cond {
        Ok(())
    } else {
        Err(what.into())
    }
}

/// A failed run changed nothing: no weka command that changes a host ran, every host is on its
/// initial release, and the report says where it stopped.
fn nothing_changed(o: &Outcome, release: &str) -> Result {
    ensure(
        o.changes().is_empty(),
        format!("commands that change hosts ran: {:?}", o.changes()),
    )?;
    ensure(
        o.versions().iter().all(|(_, v)| v == release),
        format!("hosts moved: {:?}", o.versions()),
    )?;
    stopped(o)
}

fn stopped(o: &Outcome) -> Result {
    ensure(
        o.report["result"] == "failed",
        format!("report result {}", o.report["result"]),
    )?;
    ensure(o.report["stopped_at"].is_object(), "the report has no stopped_at")?;
    ensure(
        o.report_md.contains("## Where the run stopped"),
        "the Markdown report does not say where it stopped",
    )
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "two hops 3.13.1 -> 3.14.1 -> 4.0.2, backends then clients in batches of 2",
            init: INIT,
            faults: &[],
            vars: &["weka_client_serial=2"],
            check_mode: false,
            fails_with: None,
            verify: |o| {
                ensure(o.versions().iter().all(|(_, v)| v == "4.0.2"), format!("not all on 4.0.2: {:?}", o.versions()))?;
                ensure(o.report["result"] == "succeeded", format!("report: {}", o.report["result"]))?;
                ensure(o.report["plan"]["path"] == serde_json::json!(["3.13.1", "3.14.1", "4.0.2"]), "the plan's path")?;
                let hosts = o.report["hosts"].as_array().map(Vec::len).unwrap_or(0);
                ensure(hosts == 6, format!("{hosts} hosts in the report"))?;
                ensure(
                    o.report["hosts"].as_array().into_iter().flatten().all(|h| h["version_before"] == "3.13.1" && h["version_after"] == "4.0.2"),
                    "per-host releases before/after",
                )?;
                // Clients follow each hop before the next one starts.
                let log: Vec<&str> = o.changes();
                let second = log.iter().position(|l| l.contains("local run --in 4.0.2")).unwrap_or(0);
                let clients_first_hop = log[..second].iter().filter(|l| l.contains("local upgrade")).count();
                ensure(clients_first_hop == 3, format!("{clients_first_hop} clients upgraded before the second hop: {log:?}"))?;
                let steps = o.report["steps"].as_array().cloned().unwrap_or_default();
                for step in ["plan", "precheck", "get and prepare", "upgrade", "data upgrade", "verify", "client upgrade", "final verify"] {
                    ensure(steps.iter().any(|s| s["step"] == step), format!("no '{step}' step in the report"))?;
                }
                ensure(o.report_md.contains("| node2 | backend | 3.13.1 | 4.0.2 |"), "the Markdown hosts table")
            },
        },
        Scenario {
            name: "4.0.2 -> 4.1.2.36 -> 4.2.18.34 (NDU), prepared in advance, large-deployment timeouts, data upgrade, token URL",
            init: "--release 4.0.2 --mcb --backends node1,node2,node3 --clients client1,client2,client3 --admin-password Adm1n-Pw-Secret",
            faults: &["fault data-upgrade --calls 3"],
            vars: &[
                "weka_target_version=4.2.18.34",
                "weka_prepare_in_advance=true",
                "weka_large_deployment=true",
                "weka_download_from=https://GETWEKA-T0KEN-4f2a@get.weka.io",
            ],
            check_mode: false,
            fails_with: None,
            verify: |o| {
                ensure(o.versions().iter().all(|(_, v)| v == "4.2.18.34"), format!("{:?}", o.versions()))?;
                for cmd in [
                    "node1: weka local run --container drives0 --in 4.1.2.36 upgrade --mode ndu --prepare-only",
                    "node1: weka local run --container drives0 --in 4.1.2.36 upgrade --mode ndu --host-version-change-timeout 600s --disconnect-stateless-clients-timeout 200s",
                    "node1: weka local run --container drives0 --in 4.2.18.34 upgrade --host-version-change-timeout 600s",
                    "client1: weka local upgrade --prepare-driver",
                    "client2: weka version get 4.2.18.34 --from node1:14000",
                    // The tokenised URL goes to curl in a 0600 file in a 0700 directory, never on argv.
                    "node3: curl https://get.weka.io/dist/v1/pkg/weka-4.1.2.36.tar (config 0600 uid 0, directory 0700 uid 0)",
                ] {
                    ensure(o.log.contains(cmd), format!("no `{cmd}` in the simulator's log"))?;
                }
                ensure(!o.log.contains(TOKEN), "the get.weka.io token is on a command line")?;
                let waited = o.report["steps"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["step"] == "data upgrade")
                    .and_then(|s| s["module_s"].as_f64())
                    .unwrap_or(0.0);
                ensure(waited >= 1.0, format!("the first hop's data upgrade was not waited for ({waited} s)"))
            },
        },
        Scenario {
            name: "an impossible target stops the run at the plan, saying why",
            init: INIT,
            faults: &[],
            vars: &["weka_target_version=3.12.1"],
            check_mode: false,
            fails_with: Some("WEKA does not support downgrades"),
            verify: |o| nothing_changed(o, "3.13.1"),
        },
        Scenario {
            name: "a backend down stops the run at the precheck",
            init: INIT,
            faults: &["fault backend-down --host node2"],
            vars: &[],
            check_mode: false,
            fails_with: Some("backend node2 is not UP"),
            verify: |o| nothing_changed(o, "3.13.1"),
        },
        Scenario {
            name: "an active alert stops the run at the precheck",
            init: INIT,
            faults: &["fault alert --type DiskFailure --severity MAJOR"],
            vars: &[],
            check_mode: false,
            fails_with: Some("alert DiskFailure (MAJOR)"),
            verify: |o| nothing_changed(o, "3.13.1"),
        },
        Scenario {
            name: "a rebuild in progress stops the run at the precheck",
            init: INIT,
            faults: &["fault rebuild --percent 35"],
            vars: &[],
            check_mode: false,
            fails_with: Some("a rebuild is in progress (35% done"),
            verify: |o| nothing_changed(o, "3.13.1"),
        },
        Scenario {
            name: "a background task stops the run at the precheck",
            init: INIT,
            faults: &["fault task --type STOW_UPLOAD"],
            vars: &[],
            check_mode: false,
            fails_with: Some("background task STOW_UPLOAD is RUNNING"),
            verify: |o| nothing_changed(o, "3.13.1"),
        },
        Scenario {
            name: "too little free space under /opt/weka on one backend (4.2: 1.5x rule) stops the run",
            init: "--release 4.2.1 --backends node1,node2,node3 --clients client1 --admin-password Adm1n-Pw-Secret",
            faults: &["fault low-space --host node2"],
            vars: &["weka_target_version=4.4.36.15"],
            check_mode: false,
            fails_with: Some("1.5 times the directory's size"),
            verify: |o| nothing_changed(o, "4.2.1"),
        },
        Scenario {
            name: "without a login weka refuses and the run stops at once",
            init: INIT,
            faults: &["fault not-logged-in"],
            vars: &[],
            check_mode: false,
            fails_with: Some("weka refused the credentials"),
            verify: |o| nothing_changed(o, "3.13.1"),
        },
        Scenario {
            name: "a failed download stops the run before any upgrade",
            init: INIT,
            faults: &["fault download-fails"],
            vars: &["weka_download_from=https://GETWEKA-T0KEN-4f2a@get.weka.io"],
            check_mode: false,
            fails_with: Some("downloading WEKA 3.14.1 failed"),
            verify: |o| {
                ensure(!o.log.contains("local run"), "an upgrade ran after a failed download")?;
                ensure(o.versions().iter().all(|(_, v)| v == "3.13.1"), "hosts moved")?;
                stopped(o)
            },
        },
        Scenario {
            name: "an upgrade that fails inside the window is reverted: the run says so and stops",
            init: INIT,
            faults: &["fault upgrade-reverts"],
            vars: &[],
            check_mode: false,
            fails_with: Some("WEKA reverted the cluster to 3.13.1 automatically"),
            verify: |o| {
                ensure(!o.log.contains("local upgrade"), "clients were upgraded after a revert")?;
                ensure(o.versions().iter().all(|(_, v)| v == "3.13.1"), format!("{:?}", o.versions()))?;
                ensure(o.report["stopped_at"]["step"].as_str().unwrap_or("").starts_with("Upgrade the cluster"), "stopped at the upgrade")?;
                stopped(o)
            },
        },
        Scenario {
            name: "a data upgrade that outlasts its timeout stops the run before the clients and the next hop",
            init: INIT,
            faults: &["fault data-upgrade --calls 1000"],
            vars: &["weka_data_upgrade_timeout=3s"],
            check_mode: false,
            fails_with: Some("the data upgrade is still running after 3 s"),
            verify: |o| {
                ensure(!o.log.contains("local upgrade"), "clients were upgraded")?;
                ensure(!o.log.contains("--in 4.0.2"), "the next hop started")?;
                stopped(o)
            },
        },
        Scenario {
            name: "clients two versions behind stop the run at the precheck",
            init: "--release 3.14.1 --backends node1,node2,node3 --clients client1,client2,client3 --client-release 3.12.1 --admin-password Adm1n-Pw-Secret",
            faults: &[],
            vars: &[],
            check_mode: false,
            fails_with: Some("client client1 runs 3.12.1, 2 version(s) behind"),
            verify: |o| {
                ensure(o.changes().is_empty(), format!("{:?}", o.changes()))?;
                stopped(o)
            },
        },
        Scenario {
            name: "check mode reports the plan and the commands and changes nothing",
            init: INIT,
            faults: &[],
            vars: &[],
            check_mode: true,
            fails_with: None,
            verify: |o| {
                ensure(o.changes().is_empty(), format!("check mode changed hosts: {:?}", o.changes()))?;
                ensure(o.report["result"] == "checked", format!("report: {}", o.report["result"]))?;
                let planned = o.report["steps"].as_array().into_iter().flatten().any(|st| st["msg"] == "would run: weka local run --in 3.14.1 upgrade");
                ensure(planned, "the report does not show the planned upgrade command")
            },
        },
        Scenario {
            name: "without confirmation nothing happens",
            init: INIT,
            faults: &[],
            vars: &["weka_upgrade_confirm=false"],
            check_mode: false,
            fails_with: Some("Not confirmed: nothing was changed"),
            verify: |o| nothing_changed(o, "3.13.1"),
        },
    ]
}

/// The WEKA crates' tests, for `--only weka` (the full suite runs them with the workspace).
pub fn cargo_tests(root: &Path) -> Result {
    let mut unit = Command::new(super::test::cargo());
    unit.current_dir(root)
        .args(["test", "--locked", "-p", "keel-runtime", "-p", "weka-sim"]);
    for m in [
        "cli",
        "facts",
        "upgrade-path",
        "precheck",
        "verify",
        "version",
        "upgrade",
        "client-upgrade",
    ] {
        unit.args(["-p", &format!("keel-weka-{m}")]);
    }
    util::run(&mut unit)?;
    util::run(Command::new(super::test::cargo()).current_dir(root).args([
        "test",
        "--locked",
        "-p",
        "keel-modules",
        "--test",
        "weka_modules",
    ]))
}

/// target/debug, with the simulator built.
pub(crate) fn simulator(root: &Path) -> Result<PathBuf> {
    util::run(
        Command::new(super::test::cargo())
            .current_dir(root)
            .args(["build", "--quiet", "--locked", "-p", "weka-sim"]),
    )?;
    Ok(root.join("target/debug"))
}

/// Every scenario under one ansible-core, each as its own check.
pub fn checks(t: &mut super::test::Tally, venv: &Venv, collections: &Path, root: &Path, core: &str) {
    let bin = match simulator(root) {
        Ok(b) => b,
        Err(e) => {
            t.failed.push(("build the weka simulator".into(), e));
            return;
        }
    };
    for s in scenarios() {
        t.check(
            &format!("ansible-core {core}: keel.storage.weka_upgrade: {}", s.name),
            || {
                let slug: String = s
                    .name
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .take(40)
                    .collect();
                let dir = root.join("build/weka").join(core).join(slug.trim_end_matches('-'));
                let o = run(&s, venv, collections, root, &bin, &dir)?;
                let text = o.output.clone() + &o.report.to_string() + &o.report_md;
                ensure(
                    !text.contains(PASSWORD),
                    "the WEKA password appears in the output or the report",
                )?;
                ensure(
                    !text.contains(TOKEN),
                    "the get.weka.io token appears in the output or the report",
                )?;
                match (s.fails_with, o.ok) {
                    (None, false) => return Err(format!("the run failed:\n{}", tail(&o.output))),
                    (Some(_), true) => return Err("the run succeeded, but must have stopped".into()),
                    (Some(msg), false) if !o.output.contains(msg) => {
                        return Err(format!("the run stopped without saying '{msg}':\n{}", tail(&o.output)))
                    }
                    _ => {}
                }
                (s.verify)(&o).map_err(|e| format!("{e} (files in {})", dir.display()))?;
                if s.fails_with.is_none() && !s.check_mode {
                    // Idempotent: a second run changes nothing.
                    let again = run_playbook(&s, venv, collections, root, &bin, &dir)?;
                    let before = o.changes().len();
                    let after = read(&dir, &bin)?.changes().len();
                    ensure(again.0, format!("the second run failed:\n{}", tail(&again.1)))?;
                    ensure(
                        after == before,
                        format!("the second run changed hosts ({} commands)", after - before),
                    )?;
                }
                Ok(())
            },
        );
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s
        .lines()
        .filter(|l| l.contains("fatal") || l.contains("FAILED") || l.contains("ERROR"))
        .collect();
    let pick = if lines.is_empty() {
        s.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect()
    } else {
        lines
    };
    pick.iter()
        .map(|l| l.chars().take(600).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `weka-sim ARGS` on the cluster whose state lives in `dir`.
pub(crate) fn sim(bin: &Path, dir: &Path, args: &str) -> Result<String> {
    util::output(
        Command::new(bin.join("weka-sim"))
            .env("WEKA_SIM_STATE", dir.join("state.json"))
            .env("WEKA_SIM_HOST", "controller")
            .args(args.split_whitespace()),
    )
}

fn run(s: &Scenario, venv: &Venv, collections: &Path, root: &Path, bin: &Path, dir: &Path) -> Result<Outcome> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("rm {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("home")).map_err(|e| e.to_string())?;
    sim(bin, dir, &format!("init {}", s.init))?;
    for f in s.faults {
        sim(bin, dir, f)?;
    }
    let (ok, output) = run_playbook(s, venv, collections, root, bin, dir)?;
    let mut o = read(dir, bin)?;
    o.ok = ok;
    o.output = output;
    Ok(o)
}

/// (succeeded, output) of `ansible-playbook keel.storage.weka_upgrade` for the scenario.
fn run_playbook(
    s: &Scenario,
    venv: &Venv,
    collections: &Path,
    root: &Path,
    bin: &Path,
    dir: &Path,
) -> Result<(bool, String)> {
    let mut cmd = venv.cmd("ansible-playbook");
    super::test::ansible_env(&mut cmd, collections, root);
    // A scenario without a login passes no credentials.
    let credentials = if s.faults.iter().any(|f| f.contains("not-logged-in")) {
        &[][..]
    } else {
        CREDENTIALS
    };
    cmd.env("KEEL_WEKA_SIM_DIR", dir)
        .env("KEEL_WEKA_SIM_BIN", bin)
        .arg("-i")
        .arg(root.join("tests/playbooks/weka_inventory.yml"))
        .arg("keel.storage.weka_upgrade")
        .args(["-e", "weka_target_version=4.0.2", "-e", "weka_upgrade_confirm=true"]);
    for v in credentials.iter().chain(s.vars) {
        cmd.args(["-e", v]);
    }
    if s.check_mode {
        cmd.args(["--check", "--diff"]);
    }
    // No terminal: the confirmation prompt must not wait.
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ansible-playbook: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    std::fs::write(dir.join("ansible.log"), &text).map_err(|e| e.to_string())?;
    Ok((out.status.success(), text))
}

fn read(dir: &Path, bin: &Path) -> Result<Outcome> {
    let report = std::fs::read_to_string(dir.join("weka_upgrade_report.json"))
        .map_err(|e| format!("no JSON report in {}: {e}", dir.display()))
        .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("the JSON report does not parse: {e}")))?;
    let report_md =
        std::fs::read_to_string(dir.join("weka_upgrade_report.md")).map_err(|e| format!("no Markdown report: {e}"))?;
    let state = serde_json::from_str(&sim(bin, dir, "show")?).map_err(|e| e.to_string())?;
    Ok(Outcome {
        ok: false,
        output: String::new(),
        report,
        report_md,
        log: sim(bin, dir, "log")?,
        state,
    })
}

/// keel.storage.weka_upgrade as an AWX job: ansible-runner with the job's private_data_dir laid
/// out as AWX lays it out, the collection from a project's requirements.yml, and the login
/// injected by the WEKA credential type (awx/credential_types/weka_login.yml).
pub fn awx_job(t: &mut super::test::Tally, root: &Path) {
    t.check(
        "AWX job (ansible-runner, as AWX runs it): keel.storage.weka_upgrade on the simulator, the login from the WEKA credential type",
        || {
            let bin = simulator(root)?;
            let dir = root.join("build/weka/awx");
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| format!("rm {}: {e}", dir.display()))?;
            }
            std::fs::create_dir_all(dir.join("home")).map_err(|e| e.to_string())?;
            sim(&bin, &dir, &format!("init {INIT}"))?;
            let requirements = crate::ecosystem::requirements_file(
                &dir.join("requirements.yml"),
                &crate::ecosystem::built_tarball(root)?,
            )?;
            let inventory = root.join("tests/playbooks/weka_inventory.yml");
            let job = crate::ecosystem::awx::Job {
                playbook: "keel.storage.weka_upgrade",
                inventory: &inventory,
                // Survey answers arrive as strings.
                extravars: serde_json::json!({"weka_target_version": "4.0.2", "weka_upgrade_confirm": "true"}),
                envvars: vec![
                    ("KEEL_WEKA_SIM_DIR".into(), dir.display().to_string()),
                    ("KEEL_WEKA_SIM_BIN".into(), bin.display().to_string()),
                ],
                ssh_key: None,
                credentials: vec![crate::ecosystem::awx::Credential {
                    type_file: root.join("awx/credential_types/weka_login.yml"),
                    inputs: serde_json::json!({"weka_username": "admin", "weka_password": PASSWORD})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                }],
                requirements: Some(&requirements),
                project_files: vec![],
                expect_status: "successful",
                expect_failed: vec![],
            };
            let report = crate::ecosystem::awx::run_job(&crate::ecosystem::tools()?, &dir.join("private_data_dir"), &job)?;
            let events = serde_json::to_string(&report.events).unwrap_or_default();
            ensure(!events.contains(PASSWORD), "the WEKA password appears in the job's events")?;
            let state: Value = serde_json::from_str(&sim(&bin, &dir, "show")?).map_err(|e| e.to_string())?;
            let behind: Vec<String> = state["hosts"]
                .as_array()
                .map(|hs| {
                    hs.iter()
                        .filter(|h| h["version"] != "4.0.2")
                        .map(|h| format!("{} {}", h["hostname"], h["version"]))
                        .collect()
                })
                .unwrap_or_default();
            ensure(behind.is_empty(), format!("hosts not on 4.0.2 after the job: {behind:?}"))
        },
    );
}
