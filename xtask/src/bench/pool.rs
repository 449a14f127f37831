//! The pool benchmarks on the testbed: a real 3-server rolling upgrade 10.3 -> 11.1 with the
//! writer running, split into its phases from the run's own report, then the same playbook
//! re-run on the pool it left (converged), with and without ansible-core's pipelining, in turns.
//! One pool serves both parts; `down` removes it once every part has run.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use crate::ansible::Venv;
use crate::testbed::{self, Paths};
use crate::util::{self, Result};

/// The upgraded pool: what the converged runs need, and the upgrade's own figures.
struct Pool {
    venv: Venv,
    collections: PathBuf,
    inventory: PathBuf,
    upgrade_s: f64,
    report: Value,
    files: u64,
    failed_writes: u64,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);

/// Runs `f` on the upgraded pool, bringing it up and upgrading it first if no part did.
fn with_pool<T>(f: impl FnOnce(&Pool) -> Result<T>) -> Result<T> {
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard = Some(upgraded_pool()?);
    }
    f(guard.as_ref().ok_or("no pool")?)
}

/// Removes the testbed if a part brought it up.
pub fn down() -> Result {
    let mut guard = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if guard.take().is_some() {
        testbed::down(&Paths::from_env())?;
    }
    Ok(())
}

fn upgraded_pool() -> Result<Pool> {
    crate::host_packages::ensure()?;
    let root = util::root();
    let paths = Paths::from_env();
    let (venv, collections) = crate::demo::installed_collection(&root.join("build/bench/collections"))?;
    let inventory = crate::demo::pool_of_three(&paths)?;
    testbed::writer_start(&paths)?;
    let reports = root.join("build/bench/reports");
    let _ = std::fs::remove_dir_all(&reports);
    let started = Instant::now();
    let upgraded = util::run_explained(&mut crate::demo::upgrade_command(
        &venv,
        &collections,
        &inventory,
        &reports,
    ));
    let upgrade_s = started.elapsed().as_secs_f64();
    let writes = testbed::writer_stop(&paths)?;
    upgraded?;
    let files = testbed::verify(&paths)?.verified;
    let report = latest_json(&reports)?;
    Ok(Pool {
        venv,
        collections,
        inventory,
        upgrade_s,
        report,
        files: files as u64,
        failed_writes: writes.failed_writes as u64,
    })
}

fn latest_json(dir: &std::path::Path) -> Result<Value> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("no reports in {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    found.sort();
    let path = found
        .pop()
        .ok_or_else(|| format!("no JSON report in {}", dir.display()))?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The phase a report step belongs to.
fn phase(step: &str) -> &'static str {
    match step {
        s if s.starts_with("gate") => "gates before each server (pool whole, heal backlog)",
        "install" => "install",
        "stop services" | "start services" => "stop and start",
        s if s.starts_with("remedy") => "remedies (Peer Rejected between 10 and 11)",
        s if s.starts_with("verify") => "verify, settle included",
        "heal" => "heal",
        _ => "other steps",
    }
}

const PHASES: &[&str] = &[
    "gates before each server (pool whole, heal backlog)",
    "stop and start",
    "install",
    "verify, settle included",
    "remedies (Peer Rejected between 10 and 11)",
    "heal",
    "other steps",
];

pub fn upgrade(_args: &[String]) -> Result<String> {
    with_pool(|p| {
        let mut sums = vec![0.0f64; PHASES.len()];
        let servers = p.report["servers"].as_array().cloned().unwrap_or_default();
        for s in &servers {
            for step in s["steps"].as_array().into_iter().flatten() {
                let name = step["step"].as_str().unwrap_or("");
                let secs = step["duration_s"].as_f64().unwrap_or(0.0);
                if let Some(i) = PHASES.iter().position(|ph| *ph == phase(name)) {
                    sums[i] += secs;
                }
            }
        }
        let in_steps: f64 = sums.iter().sum();
        let mut md = format!(
            "### A real rolling upgrade\n\n\
             `cargo xtask bench upgrade`: three testbed servers 10.3 -> 11.1 online \
             (keel.storage.gluster_upgrade as the README runs it, every gate kept), a client writing \
             throughout: **{:.1} s** for the playbook; {} files written meanwhile, all intact, {} \
             failed writes; result {}.\n\n\
             | phase (summed over the servers, from the report's steps) | seconds | share |\n|---|---|---|\n",
            p.upgrade_s, p.files, p.failed_writes, p.report["result"]
        );
        for (ph, s) in PHASES.iter().zip(&sums) {
            if *s > 0.0 {
                md += &format!("| {ph} | {s:.1} | {:.0} % |\n", 100.0 * s / p.upgrade_s);
            }
        }
        let rest = p.upgrade_s - in_steps;
        md += &format!(
            "| orchestration: ansible-core between and around the steps, prechecks, final look and \
             verification, op-version, report | {rest:.1} | {:.0} % |\n",
            100.0 * rest / p.upgrade_s
        );
        Ok(md)
    })
}

pub fn converged(args: &[String]) -> Result<String> {
    let runs = super::runs_option(args, 5)?;
    with_pool(|p| {
        let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let reports = util::root().join("build/bench/reports-converged");
        for _ in 0..runs {
            for (i, pipelining) in ["0", "1"].iter().enumerate() {
                let mut cmd = crate::demo::upgrade_command(&p.venv, &p.collections, &p.inventory, &reports);
                super::as_users_run(&mut cmd);
                cmd.env("ANSIBLE_PIPELINING", pipelining);
                let started = Instant::now();
                util::run_explained(&mut cmd)?;
                times[i].push(started.elapsed().as_secs_f64());
                let report = latest_json(&reports)?;
                let changed: Vec<_> = report["servers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|s| s["status"] != "skipped")
                    .collect();
                if !changed.is_empty() {
                    return Err(format!("a converged run did not skip every server: {changed:?}"));
                }
            }
        }
        let med = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (off, on) = (med(&mut times[0]), med(&mut times[1]));
        Ok(format!(
            "### Converged re-run\n\n\
             `cargo xtask bench converged --runs {runs}`: the same playbook again on the 3 servers the \
             upgrade left on 11.1 (every server skipped, the pool verified, the report written); \
             median of {runs} runs, the two settings in turns:\n\n\
             | ansible-core setting | seconds |\n|---|---|\n\
             | defaults (no pipelining) | {off:.1} |\n\
             | `ANSIBLE_PIPELINING=1` | {on:.1} |\n"
        ))
    })
}
