//! The fault suite of `cargo xtask test`: faults injected into a real rolling upgrade on the
//! testbed. Each fault gets a fresh replica-3 pool on 10.3 with the writer running and must end
//! with the run stopped at the server and step where it struck, no other server touched, the
//! failing server's services restored where that is possible, a report that says so, and every
//! file the writer wrote intact. Failed writes are counted; a fault that takes a second brick of
//! the replica set down makes some unavoidable. (The remedies Keel applies by itself, a glusterd
//! restart and a resync, are met on the way by the ordinary upgrades: 10 and 11 reject each other.)
//!
//! A fault is data: what to set up before the run, what to inject when a line of the run's
//! output appears, what to undo afterwards, and what the report must say.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::ansible::{self, Release};
use crate::test::{ansible_env, Tally};
use crate::testbed::{self, Layout, Paths};
use crate::util::{self, Result};

/// Scripts run over ssh, each on its node.
type Scripts = &'static [(&'static str, &'static str)];

/// What happens when the trigger line appears in the run's output.
#[derive(Clone, Copy)]
enum Inject {
    /// Scripts run over ssh on nodes, the controller paused meanwhile (SIGSTOP to its process
    /// group) so that no later step can run before the fault is in place.
    Ssh(Scripts),
    /// The controller dies: ansible-playbook and its workers are killed.
    KillController,
    /// A server dies (its namespace's init is killed): it stops answering ssh.
    Crash(&'static str),
}

/// Where the run must stop and what must hold there.
struct Stop {
    host: &'static str,
    /// The failed step's name contains one of these (a fault may be caught by either of two
    /// gates, depending on timing).
    step: &'static [&'static str],
    restored: bool,
    unreachable: bool,
    /// Servers that must still run 10.3 with nothing stopped.
    untouched: &'static str,
    /// Whether their pool must also be whole afterwards (it cannot be with a server down).
    untouched_whole: bool,
    /// Wait for the heal backlog before reading the files back (a brick of the replica set was
    /// down while the writer wrote).
    heal_before_verify: bool,
}

/// How the run must end.
enum Expect {
    /// Stopped at a server, before any other was touched.
    Stopped(Stop),
    /// Every server upgraded, then stopped at `host` restarting geo-replication, with the
    /// session kept in the record: once the cause is undone, the same command run again
    /// restarts it.
    GeorepStopped { host: &'static str },
}

struct Fault {
    name: &'static str,
    /// Scripts run on nodes before the run.
    before: Scripts,
    /// Injected once, when a line of the run's output contains the text.
    during: Option<(&'static str, Inject)>,
    /// Scripts run on nodes after the run, before anything is checked.
    after: Scripts,
    /// More ansible-playbook arguments.
    extra: &'static [&'static str],
    expect: Expect,
    /// Failed client writes are expected (a second brick of the replica set went down).
    writes_may_fail: bool,
    /// The pool replicates to a secondary pool (sec1) by geo-replication.
    georep: bool,
}

/// Every node of the replica-3 pool blames both others for a file's data: a copy accused by a
/// quorum of its peers is no source, so with none left Gluster holds the file in split-brain
/// (AFR's `afr_selfheal_find_direction`); the index entry makes `heal info` report it.
macro_rules! blame {
    ($a:literal, $b:literal) => {
        concat!(
            "python3 -c \"import os, uuid\n",
            "p = '/bricks/gv0/keel-split-brain'\n",
            "for c in '", $a, $b, "': os.setxattr(p, 'trusted.afr.gv0-client-' + c, bytes.fromhex('000000050000000000000000'))\n",
            "g = str(uuid.UUID(bytes=os.getxattr(p, 'trusted.gfid')))\n",
            "d = '/bricks/gv0/.glusterfs/indices/xattrop'\n",
            "base = [f for f in os.listdir(d) if f.startswith('xattrop-')]\n",
            "os.link(os.path.join(d, base[0]), os.path.join(d, g)) if base else open(os.path.join(d, g), 'w').close()\"",
        )
    };
}

/// The run stopped at node1's step whose name contains one of `step`, node2 and node3 untouched.
const fn node1(step: &'static [&'static str], restored: bool) -> Stop {
    Stop {
        host: "node1",
        step,
        restored,
        unreachable: false,
        untouched: "node2,node3",
        untouched_whole: false,
        heal_before_verify: false,
    }
}

/// What a fault does not say: nothing set up, injected or undone, no extra arguments, no failed
/// write, no geo-replication.
const BASE: Fault = Fault {
    name: "",
    before: &[],
    during: None,
    after: &[],
    extra: &[],
    expect: Expect::Stopped(node1(&[], true)),
    writes_may_fail: false,
    georep: false,
};

const FAULTS: &[Fault] = &[
    Fault {
        name: "the dpkg lock is held on node1: its install fails, its services come back",
        before: &[(
            "node1",
            // apt takes dpkg's locks with fcntl, which flock(1) does not conflict with.
            "setsid python3 -c 'import fcntl, time; f = open(\"/var/lib/dpkg/lock-frontend\", \"w\"); \
             fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(900)' </dev/null >/dev/null 2>&1 & sleep 1",
        )],
        expect: Expect::Stopped(node1(&["install"], true)),
        ..BASE
    },
    Fault {
        name: "the installed package leaves glusterd unable to start on node1: the run stops there",
        before: &[(
            "node1",
            "echo 'DPkg::Post-Invoke {\"ln -sf /bin/false /usr/sbin/glusterd; ln -sf /bin/false /usr/sbin/glusterfsd\";};' \
             > /etc/apt/apt.conf.d/99keel-broken",
        )],
        expect: Expect::Stopped(node1(&["start"], false)),
        ..BASE
    },
    Fault {
        name: "a brick of node3 goes down while node1 is upgraded: the run stops at node1 (its verification or its heal), not after a timeout",
        during: Some((
            "install the target release on node1",
            Inject::Ssh(&[("node3", "pkill -f 'glusterfs[d].*bricks'")]),
        )),
        // Files written while two bricks of three were away are readable once node3's brick is
        // back and healed.
        after: &[("node3", "gluster volume start gv0 force")],
        extra: &["-e", "gluster_stuck_after=20"],
        expect: Expect::Stopped(Stop {
            heal_before_verify: true,
            ..node1(&["verify", "heal"], true)
        }),
        writes_may_fail: true,
        ..BASE
    },
    Fault {
        name: "node1 dies during its install: the run stops, the report names node1 unreachable at the install",
        during: Some(("install the target release on node1", Inject::Crash("node1"))),
        expect: Expect::Stopped(Stop {
            unreachable: true,
            ..node1(&["install"], false)
        }),
        ..BASE
    },
    Fault {
        name: "a file goes into split-brain while node1 is upgraded: node1's heal stops the run at once, not after its timeout",
        before: &[("client1", "echo keel > /mnt/gv0/keel-split-brain")],
        during: Some((
            "verify the server and its peers, node1",
            Inject::Ssh(&[("node1", blame!("1", "2")), ("node2", blame!("0", "2")), ("node3", blame!("0", "1"))]),
        )),
        expect: Expect::Stopped(node1(&["heal"], true)),
        ..BASE
    },
    Fault {
        name: "node1's brick refuses the files it missed (immutable directory): its heal never finishes, the run stops at its heal timeout",
        during: Some((
            "verify the server and its peers, node1",
            Inject::Ssh(&[("node1", "chattr +i /bricks/gv0/keel-writer")]),
        )),
        after: &[("node1", "chattr -i /bricks/gv0/keel-writer")],
        extra: &["-e", "gluster_heal_timeout=40", "-e", "gluster_heal_poll_interval=5"],
        expect: Expect::Stopped(node1(&["heal"], true)),
        ..BASE
    },
    Fault {
        name: "node1's definition of gv0 differs from its 10.3 peers' after the install (Peer Rejected, its brick left down): one restart, then the run stops there with what to compare",
        during: Some((
            "install the target release on node1",
            // glusterd is stopped; equal versions with different checksums make the peers reject
            // it, and glusterd then leaves its brick down. A resync cannot help: 11.1 cannot
            // import a 10.3 peer's definition.
            Inject::Ssh(&[("node1", "echo diagnostics.brick-log-level=INFO >> /var/lib/glusterd/vols/gv0/info")]),
        )),
        expect: Expect::Stopped(node1(&["verify"], true)),
        ..BASE
    },
    Fault {
        name: "geo-replication workers cannot reach the secondary after the upgrade (it refuses their key): the run stops at the restart with the session recorded; run again once fixed, it restarts it",
        during: Some((
            "stop geo-replication sessions",
            Inject::Ssh(&[("sec1", "sed -i.keel '/command=/d' /root/.ssh/authorized_keys")]),
        )),
        after: &[("sec1", "mv /root/.ssh/authorized_keys.keel /root/.ssh/authorized_keys")],
        extra: &["-e", r#"{"gluster_secondary_groups": ["secondaries"]}"#, "-e", "gluster_georep_checkpoint=false"],
        expect: Expect::GeorepStopped { host: "node1" },
        georep: true,
        ..BASE
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
                Inject::Ssh(scripts) => paused(pid, || on_each(&paths, scripts)),
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

/// `f` run while ansible-playbook's process group is stopped, then the group continued whatever
/// `f` returned.
fn paused(pid: u32, f: impl FnOnce() -> Result) -> Result {
    let signal = |sig: &str| util::output(Command::new("kill").args([sig, "--", &format!("-{pid}")])).map(|_| ());
    signal("-STOP")?;
    let outcome = f();
    signal("-CONT").and(outcome)
}

fn on_each(paths: &Paths, scripts: Scripts) -> Result {
    scripts
        .iter()
        .try_for_each(|(node, script)| testbed::on_nodes(paths, &[node], script))
}

/// Whether the report says what the fault must lead to.
fn expect_report(report: &serde_json::Value, expect: &Expect) -> Result {
    let wanted = match expect {
        Expect::Stopped(Stop {
            host,
            step,
            restored,
            unreachable,
            ..
        }) => {
            let s = &report["stopped_at"];
            let failed = s["failed_step"].as_str().unwrap_or("");
            report["result"] == "failed"
                && s["host"] == *host
                && step.iter().any(|w| failed.contains(w))
                && s["services_restored"] == *restored
                && s["unreachable"].as_bool().unwrap_or(false) == *unreachable
                && s["error"].as_str().is_some_and(|e| !e.is_empty())
        }
        Expect::GeorepStopped { host } => {
            let s = &report["stopped_at"];
            report["result"] == "failed"
                && s["host"] == *host
                && s["failed_step"]
                    .as_str()
                    .is_some_and(|st| st.contains("Geo-replication"))
                && s["unhealthy_workers"].as_array().is_some_and(|w| !w.is_empty())
                && report["servers"]
                    .as_array()
                    .is_some_and(|v| v.iter().all(|s| s["status"] == "upgraded"))
        }
    };
    // A step's name is built from the registered results it reports on.
    let unnamed: Vec<&serde_json::Value> = report["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["steps"].as_array().into_iter().flatten())
        .filter(|st| st["step"].as_str().is_none_or(|n| n.contains("None")))
        .collect();
    if !unnamed.is_empty() {
        Err(format!("report steps without a proper name: {unnamed:?}"))
    } else if wanted {
        Ok(())
    } else {
        Err(format!(
            "the report does not say what happened as expected: stopped_at {}, servers {}",
            report["stopped_at"], report["servers"]
        ))
    }
}

/// KEEL_FAULT=TEXT[,TEXT...] runs only the faults whose name contains one of the texts (the
/// controller scenario's name contains "controller").
pub fn checks(t: &mut Tally, root: &Path) {
    let paths = Paths::from_env();
    let newest = ansible::NEWEST;
    let only = std::env::var("KEEL_FAULT").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|o| name.contains(o));
    for f in FAULTS.iter().filter(|f| wanted(f.name)) {
        let what = format!("fault: {}", f.name);
        let Some(inv) = crate::testbed_suite::up_with(t, &paths, Layout::Replica3, f.georep, &what) else {
            crate::testbed_suite::down(t, &paths);
            continue;
        };
        t.check(&format!("fault: {}", f.name), || {
            // Debian's maintainer scripts need the Python the testbed takes from node3.
            testbed::python_everywhere(&paths)?;
            testbed::writer_start(&paths)?;
            on_each(&paths, f.before)?;
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
            let undone = on_each(&paths, f.after);
            let report = crate::testbed_suite::latest_report(root, "gluster-online-");
            if outcome.is_ok() {
                return Err("the run went through the fault".into());
            }
            undone?;
            expect_report(&report?, &f.expect)?;
            match &f.expect {
                Expect::Stopped(Stop { untouched, untouched_whole, heal_before_verify, .. }) => {
                    let hosts = format!(
                        "untouched_hosts={untouched} untouched_whole={untouched_whole} untouched_heal={heal_before_verify}"
                    );
                    run(root, newest, &inv, "testbed_untouched.yml", &["-e", &hosts], None, &paths)?;
                }
                Expect::GeorepStopped { .. } => {
                    run(root, newest, &inv, "keel.storage.gluster_upgrade", &extra, None, &paths)?;
                    // client1 (10.3) keeps the primary's op-version; sec1's census is unanswered.
                    let hosts = ["-e", "keel_upgraded_hosts=servers:secondaries", "-e", "upgraded_op_version=100000"];
                    run(root, newest, &inv, "testbed_upgraded.yml", &hosts, None, &paths)?;
                    testbed::georep_running(&paths, std::time::Duration::from_secs(120))?;
                }
            }
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
    if wanted("the controller is killed") {
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
        // client1 (10.3) keeps the op-version where it was: the census defers it.
        let kept = ["-e", "upgraded_op_version=100000"];
        run(root, newest, &inv, "testbed_upgraded.yml", &kept, None, paths).map(|_| ())
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
