//! The fault suite of `cargo xtask test`: faults injected into a real rolling upgrade on the
//! testbed. Each fault gets a fresh replica-3 pool on 10.3 with the writer running and must end
//! with the run stopped at the server and step where it struck, no other server touched, the
//! failing server's services restored where that is possible, a report that says so, and every
//! file the writer wrote intact. Failed writes are counted; a fault that takes a second brick of
//! the replica set down makes some unavoidable.
//!
//! A fault is data: what to set up before the run, what to inject when a line of the run's
//! output appears, and what the report must say.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::ansible::{self, Release};
use crate::test::{ansible_env, Tally};
use crate::testbed::{self, Layout, Paths};
use crate::util::{self, Result};

/// What happens when the trigger line appears in the run's output.
#[derive(Clone, Copy)]
enum Inject {
    /// A script run over ssh on a node.
    Ssh(&'static str, &'static str),
    /// The controller dies: ansible-playbook and its workers are killed.
    KillController,
    /// A server dies (its namespace's init is killed): it stops answering ssh.
    Crash(&'static str),
}

struct Fault {
    name: &'static str,
    /// Scripts run on nodes before the run.
    before: &'static [(&'static str, &'static str)],
    /// Injected once, when a line of the run's output contains the text.
    during: Option<(&'static str, Inject)>,
    /// More ansible-playbook arguments.
    extra: &'static [&'static str],
    /// Where the report must say the run stopped, and whether the services came back.
    host: &'static str,
    /// The failed step's name contains one of these (a fault may be caught by either of two
    /// gates, depending on timing).
    step: &'static [&'static str],
    restored: bool,
    unreachable: bool,
    /// Servers that must still run 10.3 with nothing stopped.
    untouched: &'static str,
    /// Whether the pool must also be whole afterwards (it cannot be with a server down).
    untouched_whole: bool,
    /// Failed client writes are expected (a second brick of the replica set went down).
    writes_may_fail: bool,
    /// Runs in `cargo xtask test`; otherwise only when KEEL_FAULT names it.
    in_suite: bool,
}

const FAULTS: &[Fault] = &[
    Fault {
        name: "the dpkg lock is held on node1: its install fails, its services come back",
        before: &[(
            "node1",
            // apt takes dpkg's locks with fcntl, which flock(1) does not conflict with.
            "setsid python3 -c 'import fcntl, time; f = open(\"/var/lib/dpkg/lock-frontend\", \"w\"); \
             fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(900)' </dev/null >/dev/null 2>&1 & sleep 1",
        )],
        during: None,
        extra: &[],
        host: "node1",
        step: &["install"],
        restored: true,
        unreachable: false,
        untouched: "node2,node3",
        untouched_whole: false,
        writes_may_fail: false,
        in_suite: true,
    },
    Fault {
        name: "the installed package leaves glusterd unable to start on node1: the run stops there",
        before: &[(
            "node1",
            "echo 'DPkg::Post-Invoke {\"ln -sf /bin/false /usr/sbin/glusterd; ln -sf /bin/false /usr/sbin/glusterfsd\";};' \
             > /etc/apt/apt.conf.d/99keel-broken",
        )],
        during: None,
        extra: &[],
        host: "node1",
        step: &["start"],
        restored: false,
        unreachable: false,
        untouched: "node2,node3",
        untouched_whole: false,
        writes_may_fail: false,
        in_suite: true,
    },
    Fault {
        name: "a brick of node3 goes down while node1 is upgraded: the run stops at node1 (its verification or its heal), not after a timeout",
        before: &[],
        during: Some((
            "install the target release on node1",
            Inject::Ssh("node3", "pkill -f 'glusterfs[d].*bricks'"),
        )),
        extra: &["-e", "gluster_stuck_after=20"],
        host: "node1",
        step: &["verify", "heal"],
        restored: true,
        unreachable: false,
        untouched: "node2,node3",
        untouched_whole: false,
        writes_may_fail: true,
        // Its verifier found 3 of 267 files unreadable while node3's brick was still down
        // and unhealed: it must restart the brick and wait for heal before it can tell
        // "unreadable until healed" from "lost".
        in_suite: false,
    },
    Fault {
        name: "node1 dies during its install: the run stops, the report names node1 unreachable at the install",
        before: &[],
        during: Some(("install the target release on node1", Inject::Crash("node1"))),
        extra: &[],
        host: "node1",
        step: &["install"],
        restored: false,
        unreachable: true,
        untouched: "node2,node3",
        untouched_whole: false,
        writes_may_fail: false,
        in_suite: true,
    },
];

/// ansible-playbook against the testbed in a process group of its own (so a fault can kill it
/// with its workers), its output watched for the fault's trigger.
fn run(
    root: &Path,
    release: &Release,
    inv: &Path,
    target: &str,
    extra: &[&str],
    during: Option<(&'static str, Inject)>,
    paths: &Paths,
) -> Result<String> {
    use std::os::unix::process::CommandExt;
    let venv = ansible::venv(release)?;
    let collections = root.join("build").join(format!("ansible-{}", release.core));
    let mut cmd = venv.cmd("ansible-playbook");
    ansible_env(&mut cmd, &collections, root);
    cmd.env("KEEL_REPORT_DIR", crate::testbed_suite::reports(root));
    let target = if target.ends_with(".yml") {
        format!("tests/playbooks/{target}")
    } else {
        target.to_string()
    };
    cmd.arg("-i").arg(inv).arg(target).args(extra).process_group(0);
    let injected: Arc<Mutex<Vec<String>>> = Arc::default();
    let watch = during.map(|(trigger, inject)| {
        let paths = paths.clone();
        let injected = injected.clone();
        Box::new(move |line: &str, pid: u32| {
            let mut done = injected.lock().unwrap_or_else(|e| e.into_inner());
            if !done.is_empty() || !line.contains(trigger) {
                return;
            }
            eprintln!("=== fault: injected at \"{trigger}\"");
            let outcome = match inject {
                Inject::Ssh(node, script) => testbed::on_nodes(&paths, &[node], script),
                Inject::KillController => {
                    util::output(Command::new("kill").args(["-KILL", "--", &format!("-{pid}")])).map(|_| ())
                }
                Inject::Crash(node) => testbed::crash(&paths, node),
            };
            done.push(outcome.err().unwrap_or_else(|| "ok".into()));
        }) as util::Watcher
    });
    let out = util::run_watched(&mut cmd, watch);
    if let Some((trigger, _)) = during {
        match injected.lock().unwrap_or_else(|e| e.into_inner()).first() {
            None => return Err(format!("the run never reached \"{trigger}\": {out:?}")),
            Some(e) if e != "ok" => return Err(format!("the fault could not be injected: {e}")),
            Some(_) => {}
        }
    }
    out
}

fn expect_stopped(report: &serde_json::Value, f: &Fault) -> Result {
    let s = &report["stopped_at"];
    let step = s["failed_step"].as_str().unwrap_or("");
    let wanted = report["result"] == "failed"
        && s["host"] == f.host
        && f.step.iter().any(|w| step.contains(w))
        && s["services_restored"] == f.restored
        && s["unreachable"].as_bool().unwrap_or(false) == f.unreachable
        && s["error"].as_str().is_some_and(|e| !e.is_empty());
    if wanted {
        Ok(())
    } else {
        Err(format!("the report does not say what happened as expected: {s}"))
    }
}

/// KEEL_FAULT=TEXT runs only the faults whose name contains TEXT (the controller scenario's
/// name contains "controller").
pub fn checks(t: &mut Tally, root: &Path) {
    let paths = Paths::from_env();
    let newest = ansible::NEWEST;
    let only = std::env::var("KEEL_FAULT").unwrap_or_default();
    let chosen = |f: &&Fault| {
        if only.is_empty() {
            f.in_suite
        } else {
            f.name.contains(&only)
        }
    };
    for f in FAULTS.iter().filter(chosen) {
        let Some(inv) = crate::testbed_suite::up(t, &paths, Layout::Replica3, &format!("fault: {}", f.name)) else {
            crate::testbed_suite::down(t, &paths);
            continue;
        };
        t.check(&format!("fault: {}", f.name), || {
            // Debian's maintainer scripts need the Python the testbed takes from node3.
            testbed::python_everywhere(&paths)?;
            testbed::writer_start(&paths)?;
            for (node, script) in f.before {
                testbed::on_nodes(&paths, &[node], script)?;
            }
            let started = std::time::Instant::now();
            let mut extra = crate::testbed_suite::UPGRADE.to_vec();
            extra.extend(f.extra);
            let outcome = run(
                root,
                newest,
                &inv,
                "keel.storage.gluster_upgrade",
                &extra,
                f.during,
                &paths,
            );
            eprintln!(
                "=== fault: the run ended after {:.0} s",
                started.elapsed().as_secs_f64()
            );
            if outcome.is_ok() {
                return Err("the run went through the fault".into());
            }
            expect_stopped(&crate::testbed_suite::latest_report(root, "gluster-online-")?, f)?;
            let hosts = format!("untouched_hosts={} untouched_whole={}", f.untouched, f.untouched_whole);
            run(
                root,
                newest,
                &inv,
                "testbed_untouched.yml",
                &["-e", &hosts],
                None,
                &paths,
            )?;
            let w = testbed::writer_stop(&paths)?;
            testbed::verify(&paths)?;
            if w.failed_writes > 0 && !f.writes_may_fail {
                return Err(format!(
                    "{} of {} client writes failed",
                    w.failed_writes,
                    w.written + w.failed_writes
                ));
            }
            Ok(())
        });
        crate::testbed_suite::down(t, &paths);
    }
    if "the controller is killed".contains(&only) || only.is_empty() {
        controller_killed(t, root, &paths);
    }
}

/// The controller dies in the middle of a server's upgrade; the same command run again resumes
/// and finishes, every file intact and no write failed; then a client whose mount is held by a
/// program Keel was not told about fails at its stop step and gets its programs back.
fn controller_killed(t: &mut Tally, root: &Path, paths: &Paths) {
    let what = "fault: the controller is killed while node1 heals; the run again resumes and finishes";
    let Some(inv) = crate::testbed_suite::up(t, paths, Layout::Replica3, what) else {
        return crate::testbed_suite::down(t, paths);
    };
    let newest = ansible::NEWEST;
    let upgrade = crate::testbed_suite::UPGRADE;
    t.check(what, || {
        testbed::python_everywhere(paths)?;
        testbed::writer_start(paths)?;
        let trigger = (
            "heal what was written while the server was down, node1",
            Inject::KillController,
        );
        if run(
            root,
            newest,
            &inv,
            "keel.storage.gluster_upgrade",
            &upgrade,
            Some(trigger),
            paths,
        )
        .is_ok()
        {
            return Err("the killed run succeeded".into());
        }
        run(
            root,
            newest,
            &inv,
            "keel.storage.gluster_upgrade",
            &upgrade,
            None,
            paths,
        )?;
        run(root, newest, &inv, "testbed_upgraded.yml", &[], None, paths).map(|_| ())
    });
    t.check(
        "fault: a client's stop fails (its mount is held by a program Keel was not told about): the writer it stopped runs again",
        || {
            // A shell whose working directory is on the mount keeps umount from succeeding.
            testbed::on_nodes(paths, &["client1"], "setsid sh -c 'cd /mnt/gv0 && exec sleep 900' </dev/null >/dev/null 2>&1 &")?;
            let mut extra = upgrade.to_vec();
            extra.extend(["-e", r#"{"gluster_client_consumers": ["keel-writer"]}"#]);
            if run(root, newest, &inv, "keel.storage.gluster_upgrade_clients", &extra, None, paths).is_ok() {
                return Err("the client upgrade went through a busy mount".into());
            }
            let report = crate::testbed_suite::latest_report(root, "gluster-clients-")?;
            let s = &report["stopped_at"];
            if s["host"] != "client1" || !s["failed_step"].as_str().unwrap_or("").contains("stop") || s["services_restored"] != true {
                return Err(format!("unexpected report: {s}"));
            }
            testbed::on_nodes(paths, &["client1"], "pkill -f '[s]leep 900'; test -f /var/lib/keel-writer/pid && kill -0 \"$(cat /var/lib/keel-writer/pid)\"")
                .map_err(|e| format!("the writer was not started again: {e}"))
        },
    );
    t.check(
        "fault: after the resumed run, every file intact and 0 failed writes",
        || {
            let w = testbed::writer_stop(paths)?;
            testbed::verify(paths)?;
            match w.failed_writes {
                0 => Ok(()),
                n => Err(format!("{n} of {} client writes failed", n + w.written)),
            }
        },
    );
    crate::testbed_suite::down(t, paths);
}
