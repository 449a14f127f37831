//! `cargo xtask bench dispatch [--inventory PATH] [--hosts PATTERN] [--runs N] [--no-gluster]`: what a Keel task
//! costs against what ansible-core costs anyway. Each variant is a play of 20 tasks, less a play
//! with no task, divided by 20; the median of RUNS runs (default 7), the variants taking turns so
//! that a busy spell on the machine falls on all of them:
//!   keel     the Keel module through its action plugin (the binary cache hit on every task)
//!   (a)      the same binary, placed on the host beforehand, run by `ansible.builtin.raw`
//!   (b)      `ansible.builtin.command` running one cheap command (a Python module, pipelined)
//!   (c)      a tiny Python AnsibleModule that returns the Keel module's result (pipelined)
//!   (d)      `ansible.builtin.raw: "true"`: ansible-core's floor for one command
//!   no-cache the Keel task with `keel_binary_cache=false` (ansible-core's transfer, as before #17)
//! and, for scale, the binary run directly on the controller.
//! Without --inventory it runs on localhost (tests/playbooks/inventory.ini, group `local`) and,
//! when the testbed is up, on node1 and on node1,node2,node3 over ssh. Where gluster is installed
//! the Keel module is a gluster one against `command` running a gluster call, unless --no-gluster
//! asks for dispatch alone everywhere (a module that runs no command against `command: true`).
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};

use crate::ansible::{self, Venv};
use crate::collection::{self, PLATFORM};
use crate::test::{ansible_env, install};
use crate::util::{self, Result};

const TASKS: usize = 20;
const TESTBED_INVENTORY: &str = "/var/lib/keel-testbed/inventory.ini";

/// The Keel module measured and the one cheap command (b) runs beside it.
struct Probe {
    module: &'static str,
    args: Value,
    command: &'static str,
    why: &'static str,
}

/// A module that runs no command: what is measured is dispatch alone.
fn weka_probe() -> Probe {
    Probe {
        module: "weka_upgrade_path",
        args: json!({"from_version": "3.13.1", "target_version": "4.0.2"}),
        command: "true",
        why: "dispatch alone (no gluster on these hosts, or --no-gluster): `keel.storage.weka_upgrade_path` \
              (runs no command) against `ansible.builtin.command: true`",
    }
}

/// Where gluster is installed: a gluster module beside `command` running one gluster command.
fn gluster_probe() -> Probe {
    Probe {
        module: "gluster_heal",
        args: json!({"trigger": false, "wait": false}),
        command: "gluster --mode=script --xml volume info",
        why: "gluster on these hosts: `keel.storage.gluster_heal` with `trigger: false, wait: false` (runs \
              `gluster volume info`, then `heal VOL info summary` per replicated volume) against \
              `ansible.builtin.command: gluster --mode=script --xml volume info`",
    }
}

struct Target {
    inventory: PathBuf,
    hosts: String,
    /// Dispatch alone, even where gluster is installed.
    no_gluster: bool,
}

pub fn run(args: &[String]) -> Result<String> {
    let root = util::root();
    let opt = |name: &str| -> Option<String> {
        let eq = format!("{name}=");
        args.iter().enumerate().find_map(|(i, a)| {
            a.strip_prefix(&eq)
                .map(str::to_string)
                .or_else(|| (a == name).then(|| args.get(i + 1).cloned()).flatten())
        })
    };
    let runs: usize = match opt("--runs") {
        Some(r) => r.parse().map_err(|_| format!("--runs {r}: not a number"))?,
        None => 7,
    };
    if runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    let no_gluster = args.iter().any(|a| a == "--no-gluster");
    let mut targets = Vec::new();
    match opt("--inventory") {
        Some(inv) => targets.push(Target {
            inventory: root.join(inv),
            hosts: opt("--hosts").unwrap_or_else(|| "all".into()),
            no_gluster,
        }),
        None => {
            targets.push(Target {
                inventory: root.join("tests/playbooks/inventory.ini"),
                hosts: opt("--hosts").unwrap_or_else(|| "local".into()),
                no_gluster,
            });
            if Path::new(TESTBED_INVENTORY).exists() {
                // The Python variants need Python on every node; the testbed's third server
                // starts without it.
                crate::testbed::python_everywhere(&crate::testbed::Paths::from_env())?;
                for hosts in ["node1", "node1,node2,node3"] {
                    targets.push(Target {
                        inventory: TESTBED_INVENTORY.into(),
                        hosts: hosts.into(),
                        no_gluster,
                    });
                }
            }
        }
    }
    let venv = ansible::venv(ansible::NEWEST)?;
    let (_, tarball) = collection::build_unchecked()?;
    let work = std::env::temp_dir().join(format!("keel-bench-dispatch-{}", std::process::id()));
    let coll = work.join("collections");
    install(&venv, &tarball, &coll)?;
    std::fs::create_dir_all(coll.join("tmp")).map_err(|e| e.to_string())?;
    let version = util::output(venv.cmd("ansible").arg("--version"))?;
    let version = version.lines().next().unwrap_or_default().to_string();
    let mut md = format!(
        "## Dispatch (ansible-core: `{version}`)\n\n`cargo xtask bench dispatch{}`: a play of {TASKS} tasks \
         less the same play with no task, divided by {TASKS}; the median of {runs} runs, the variants \
         taking turns; pipelining on (ANSIBLE_PIPELINING), so the Python modules go in one round trip \
         each. Wall time per task, then CPU time (user and system of ansible-playbook and all it ran, \
         on this machine: local work and ssh, not the remote hosts' own).\n",
        args.iter().map(|a| format!(" {a}")).collect::<String>()
    );
    let mut result = Ok(());
    for t in &targets {
        match measure(&root, &venv, &coll, &work, t, runs) {
            Ok(section) => md += &section,
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    result.map(|_| md)
}

/// A play's wall and CPU time, in ms.
#[derive(Clone, Copy)]
struct Time {
    wall: f64,
    cpu: f64,
}

fn measure(root: &Path, venv: &Venv, coll: &Path, work: &Path, t: &Target, runs: usize) -> Result<String> {
    // Not the work directory's name: on localhost the cleanup of this one would remove the
    // collection the next target needs.
    let remote = format!("/tmp/keel-bench-remote-{}", std::process::id());
    let play_cmd = |play: &Path| {
        let mut cmd = venv.cmd("ansible-playbook");
        ansible_env(&mut cmd, coll, root);
        super::as_users_run(&mut cmd);
        cmd.env("ANSIBLE_PIPELINING", "True")
            .env("ANSIBLE_LIBRARY", work.join("library"))
            .arg("-i")
            .arg(&t.inventory)
            .arg(play)
            .arg("-e")
            .arg(format!("ansible_remote_tmp={remote}/tmp"));
        cmd
    };
    let adhoc = |module: &str, arg: &str| {
        let mut cmd = venv.cmd("ansible");
        ansible_env(&mut cmd, coll, root);
        cmd.arg("-i")
            .arg(&t.inventory)
            .arg(&t.hosts)
            .args(["-o", "-m", module, "-a", arg]);
        cmd
    };

    // gluster on every host: a gluster module against a gluster command; else weka_upgrade_path.
    let probe_out = adhoc("ansible.builtin.raw", "command -v gluster")
        .output()
        .map_err(|e| format!("ansible: {e}"))?;
    let lines = String::from_utf8_lossy(&probe_out.stdout).into_owned();
    let gluster = !lines.trim().is_empty() && lines.lines().all(|l| l.contains("rc=0"));
    let probe = if gluster && !t.no_gluster {
        gluster_probe()
    } else {
        weka_probe()
    };

    // The binary that holds the module, from the built collection's own binaries.
    let bin_dir = root.join("build/collection/plugins/modules/__bin__");
    let mut binary = None;
    for e in std::fs::read_dir(&bin_dir)
        .map_err(|e| format!("{}: {e}", bin_dir.display()))?
        .flatten()
    {
        if e.file_name().to_string_lossy().ends_with(PLATFORM)
            && collection::modules_of(&e.path())?.iter().any(|m| m == probe.module)
        {
            binary = Some(e.path());
        }
    }
    let binary = binary.ok_or_else(|| format!("no binary in {} holds {}", bin_dir.display(), probe.module))?;
    let mut stdin_args = probe.args.clone();
    stdin_args["_keel_module"] = json!(probe.module);
    let stdin_args = stdin_args.to_string();

    // The plays. JSON is YAML, so task arguments and strings are written as JSON.
    let placed = format!("{remote}/{}", binary.file_name().unwrap_or_default().to_string_lossy());
    let raw_bin = format!("echo {} | {placed} --args-stdin", shell_quote(&stdin_args));
    let q = |s: &str| Value::String(s.into()).to_string();
    let variants: Vec<(&str, String)> = vec![
        ("keel", format!("keel.storage.{}: {}", probe.module, probe.args)),
        ("a", format!("ansible.builtin.raw: {}", q(&raw_bin))),
        ("b", format!("ansible.builtin.command: {}", q(probe.command))),
        ("c", format!("keel_bench_py: {}", probe.args)),
        ("d", "ansible.builtin.raw: \"true\"".to_string()),
    ];
    let tag = t.hosts.replace(',', "_");
    let play = |name: &str, task: Option<&str>| -> Result<PathBuf> {
        let path = work.join(format!("play-{tag}-{name}.yml"));
        let tasks = match task {
            Some(task) => format!("\n{}", vec![format!("    - {task}\n"); TASKS].concat()),
            None => " []\n".into(),
        };
        write(
            &path,
            &format!(
                "- name: Dispatch benchmark\n  hosts: {}\n  gather_facts: false\n  tasks:{tasks}",
                q(&t.hosts)
            ),
        )?;
        Ok(path)
    };
    let empty = play("empty", None)?;
    let mut plays: Vec<(PathBuf, Option<&str>)> = variants
        .iter()
        .map(|(n, task)| play(n, Some(task)).map(|p| (p, None)))
        .collect::<Result<_>>()?;
    // The old script's variant: the Keel play with ansible-core's own transfer instead of the cache.
    plays.push((plays[0].0.clone(), Some("keel_binary_cache=false")));

    // Set-up (not timed): the binary placed for (a) and its result kept for (c), then every play once, which also fills the
    // binary cache on each host and warms Python's caches.
    let setup = work.join(format!("setup-{tag}.yml"));
    write(
        &setup,
        &format!(
            "- name: Dispatch benchmark set-up\n  hosts: {}\n  gather_facts: false\n  tasks:\n    \
             - ansible.builtin.raw: {}\n    \
             - ansible.builtin.copy: {}\n    \
             - ansible.builtin.raw: {}\n      register: keel_bench_result\n      run_once: true\n    \
             - ansible.builtin.copy: {}\n      delegate_to: localhost\n      run_once: true\n",
            q(&t.hosts),
            q(&format!("mkdir -p {remote}")),
            json!({"src": binary, "dest": placed, "mode": "0755"}),
            q(&raw_bin),
            json!({"content": "{{ keel_bench_result.stdout }}", "dest": work.join(format!("result-{tag}.json"))}),
        ),
    )?;
    util::output(&mut play_cmd(&setup))?;

    // (c): the Keel module's own result, returned by Python.
    let result_file = work.join(format!("result-{tag}.json"));
    let result = std::fs::read_to_string(&result_file).map_err(|e| format!("{}: {e}", result_file.display()))?;
    let mut result: Value =
        serde_json::from_str(result.trim()).map_err(|e| format!("{}: {e}: {result}", binary.display()))?;
    if let Some(map) = result.as_object_mut() {
        map.remove("invocation");
    }
    let spec: Vec<String> = probe
        .args
        .as_object()
        .map(|m| m.keys().map(|k| format!("{k}=dict(type='raw')")).collect())
        .unwrap_or_default();
    let library = work.join("library");
    std::fs::create_dir_all(&library).map_err(|e| e.to_string())?;
    write(
        &library.join("keel_bench_py.py"),
        &format!(
            "#!/usr/bin/python\n\
             # The Python equivalent of keel.storage.{}: its options, and its result as a constant.\n\
             import json\n\
             from ansible.module_utils.basic import AnsibleModule\n\n\
             RESULT = json.loads({})\n\n\n\
             def main():\n    \
                 module = AnsibleModule(argument_spec=dict({}), supports_check_mode=True)\n    \
                 module.exit_json(**RESULT)\n\n\n\
             if __name__ == '__main__':\n    main()\n",
            probe.module,
            // A JSON string is a valid Python string literal.
            serde_json::to_string(&result.to_string()).map_err(|e| e.to_string())?,
            spec.join(", ")
        ),
    )?;

    let outcome = (|| {
        for (p, extra) in &plays {
            util::output(play_cmd(p).args(extra.map(|e| ["-e", e]).iter().flatten()))?;
        }
        let mut full: Vec<Vec<Time>> = vec![Vec::new(); plays.len()];
        let mut none = Vec::new();
        for r in 0..runs {
            eprintln!("dispatch on {}: run {}/{runs}", t.hosts, r + 1);
            for (i, (p, extra)) in plays.iter().enumerate() {
                full[i].push(timed(play_cmd(p).args(extra.map(|e| ["-e", e]).iter().flatten()))?);
            }
            none.push(timed(&mut play_cmd(&empty))?);
        }
        Ok::<_, String>((full, none))
    })();
    // The placed binary, the binary cache of this run and the remote temporary directory go, whatever happened.
    let mut cleanup = adhoc("ansible.builtin.raw", &format!("rm -rf {remote}"));
    let _ = cleanup.stdout(Stdio::null()).stderr(Stdio::null()).status();
    let (full, none) = outcome?;

    let med_none = median(&none);
    let per: Vec<Time> = full
        .iter()
        .map(|f| {
            let m = median(f);
            Time {
                wall: (m.wall - med_none.wall) / TASKS as f64,
                cpu: (m.cpu - med_none.cpu) / TASKS as f64,
            }
        })
        .collect();
    // The binary on the controller, for scale: only a module that needs no gluster runs here.
    let mut directs = Vec::new();
    for _ in 0..if gluster { 0 } else { runs } {
        let started = Instant::now();
        let cpu = children_cpu_ms()?;
        for _ in 0..TASKS {
            direct(&binary, &stdin_args)?;
        }
        directs.push(Time {
            wall: started.elapsed().as_secs_f64() * 1000.0 / TASKS as f64,
            cpu: (children_cpu_ms()? - cpu) / TASKS as f64,
        });
    }

    let names = [
        format!("Keel: `keel.storage.{}`", probe.module),
        "(a) the same binary placed on the host, run by `ansible.builtin.raw`".into(),
        format!("(b) `ansible.builtin.command: {}`", probe.command),
        "(c) a Python AnsibleModule returning the same result".into(),
        "(d) `ansible.builtin.raw: \"true\"`".into(),
        "Keel without the binary cache (`keel_binary_cache=false`: ansible-core's transfer)".into(),
    ];
    let host_count = if t.hosts.contains(',') {
        format!("{} hosts", t.hosts.split(',').count())
    } else {
        "1 host".into()
    };
    let mut md = format!(
        "\n### {} ({}, {host_count})\n\n{}. An empty play: {:.0} ms wall.\n\n\
         | variant | per task, wall | per task, CPU | wall / (a) | wall / (b) |\n|---|---|---|---|---|\n",
        t.hosts,
        t.inventory.display(),
        probe.why,
        med_none.wall
    );
    for (name, p) in names.iter().zip(&per) {
        md += &format!(
            "| {name} | {:.1} ms | {:.1} ms | {:.2}x | {:.2}x |\n",
            p.wall,
            p.cpu,
            p.wall / per[1].wall,
            p.wall / per[2].wall
        );
    }
    if !directs.is_empty() {
        let d = median(&directs);
        md += &format!(
            "| the binary run directly on the controller (`--args-stdin`), for scale | {:.1} ms | {:.1} ms | | |\n",
            d.wall, d.cpu
        );
    }
    Ok(md)
}

/// The binary run once with `args` on stdin; its standard output.
fn direct(binary: &Path, args: &str) -> Result<String> {
    use std::io::Write;
    let mut child = Command::new(binary)
        .arg("--args-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(args.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{} --args-stdin failed ({}): {}",
            binary.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One run of `cmd`, its output kept only to explain a failure.
fn timed(cmd: &mut Command) -> Result<Time> {
    let cpu = children_cpu_ms()?;
    let started = Instant::now();
    util::output(cmd)?;
    let wall = started.elapsed().as_secs_f64() * 1000.0;
    Ok(Time {
        wall,
        cpu: children_cpu_ms()? - cpu,
    })
}

/// User and system time of this process's waited-for children and theirs (/proc/self/stat's
/// cutime and cstime), in ms: xtask has no libc binding for getrusage, and std none at all.
fn children_cpu_ms() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").map_err(|e| e.to_string())?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    // cutime and cstime are fields 16 and 17 of stat(5); `rest` starts at field 3.
    let ticks = |i: usize| f.get(i - 3).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // USER_HZ is 100 on every Linux ABI Keel builds for.
    Ok((ticks(16) + ticks(17)) * 10.0)
}

/// The median of each figure on its own.
fn median(v: &[Time]) -> Time {
    let pick = |f: fn(&Time) -> f64| {
        let mut x: Vec<f64> = v.iter().map(f).collect();
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    Time {
        wall: pick(|t| t.wall),
        cpu: pick(|t| t.cpu),
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn write(p: &Path, text: &str) -> Result {
    std::fs::write(p, text).map_err(|e| format!("write {}: {e}", p.display()))
}
