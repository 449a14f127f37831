//! `cargo xtask reliability [RUNS]`: RUNS (default 5) consecutive online rolling upgrades
//! 10.3 -> 11.1 of the 3-server testbed with the writer running, the testbed built again before
//! each. Prints one row per run (duration, files written, verified, lost, failed writes) and
//! fails when any run failed, lost a file or saw a failed write. RELIABILITY.md records a run.

use std::time::Instant;

use crate::ansible;
use crate::testbed::{self, Layout, Paths};
use crate::util::Result;

struct Row {
    run: usize,
    seconds: f64,
    outcome: std::result::Result<(), String>,
    written: u64,
    verified: u64,
    lost: u64,
    failed_writes: u64,
}

pub fn main(args: &[String]) -> Result {
    let runs: usize = match args.first() {
        None => 5,
        Some(n) => n
            .parse()
            .map_err(|_| format!("usage: cargo xtask reliability [RUNS]; got '{n}'"))?,
    };
    let root = crate::util::root();
    let paths = Paths::from_env();
    let tarball = crate::collection::build()?;
    let venv = ansible::venv(ansible::NEWEST)?;
    crate::test::install(
        &venv,
        &tarball,
        &root.join("build").join(format!("ansible-{}", ansible::NEWEST.core)),
    )?;
    let mut rows = Vec::new();
    for run in 1..=runs {
        let opts = testbed::Options {
            nodes: 3,
            version: "10.3".into(),
            layout: Layout::Replica3,
            secondary: false,
            systemd: Vec::new(),
        };
        let inv = testbed::up(&paths, &opts)?;
        // Debian's maintainer scripts need the Python the testbed takes from node3.
        testbed::python_everywhere(&paths)?;
        testbed::writer_start(&paths)?;
        let started = Instant::now();
        let upgraded = crate::testbed_suite::playbook(
            &root,
            ansible::NEWEST,
            &inv,
            "keel.storage.gluster_upgrade",
            &crate::testbed_suite::UPGRADE,
        )
        // client1 (10.3) keeps the op-version where it was: the census defers it.
        .and_then(|_| {
            let kept = ["-e", "upgraded_op_version=100000"];
            crate::testbed_suite::playbook(&root, ansible::NEWEST, &inv, "testbed_upgraded.yml", &kept)
        });
        let seconds = started.elapsed().as_secs_f64();
        let writes = testbed::writer_stop(&paths)?;
        let verified = testbed::verified_counts(&paths)?;
        testbed::down(&paths)?;
        rows.push(Row {
            run,
            seconds,
            outcome: upgraded.map(|_| ()),
            written: writes.written,
            verified: verified.verified,
            lost: verified.lost,
            failed_writes: writes.failed_writes,
        });
        print_table(&rows);
    }
    let bad = rows
        .iter()
        .filter(|r| r.outcome.is_err() || r.lost > 0 || r.failed_writes > 0)
        .count();
    match bad {
        0 => Ok(()),
        n => Err(format!("{n} of {runs} runs failed, lost a file or saw a failed write")),
    }
}

fn print_table(rows: &[Row]) {
    println!("\n| run | result | upgrade + check (s) | files written | verified | lost | failed writes |");
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        let result = match &r.outcome {
            Ok(()) => "upgraded".to_string(),
            Err(e) => format!("FAILED: {}", e.lines().next().unwrap_or("")),
        };
        println!(
            "| {} | {result} | {:.0} | {} | {} | {} | {} |",
            r.run, r.seconds, r.written, r.verified, r.lost, r.failed_writes
        );
    }
}
