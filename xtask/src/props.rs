//! `cargo xtask proptest [CASES]`: the property tests of the parsers, the args coercion and the
//! planners (`tests/props.rs` of keel-runtime, keel-gluster-model and keel-weka-model, and the
//! wave planner's `tests/waves.rs` of keel-gluster-model) with
//! CASES cases per property (default 100,000; plain `cargo test` runs proptest's 256), built
//! with the `proptest` profile (optimised, overflow checks on). Prints the time per crate, for
//! BENCHMARKS.md.

use std::process::Command;
use std::time::Instant;

use crate::util::{self, Result};

/// Each crate and its test file of properties.
const SUITES: [(&str, &str); 4] = [
    ("keel-runtime", "props"),
    ("keel-gluster-model", "props"),
    ("keel-gluster-model", "waves"),
    ("keel-weka-model", "props"),
];

pub fn main(args: &[String]) -> Result {
    let cases: u64 = match args {
        [] => 100_000,
        [n] => n.parse().map_err(|_| format!("CASES must be a number, not '{n}'"))?,
        _ => return Err("usage: cargo xtask proptest [CASES]".into()),
    };
    let root = util::root();
    let cargo = super::test::cargo();
    let test = |(krate, file): (&str, &str)| {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&root).env("PROPTEST_CASES", cases.to_string()).args([
            "test",
            "--locked",
            "--profile",
            "proptest",
            "-p",
            krate,
            "--test",
            file,
        ]);
        cmd
    };
    // Built first, so the times below are the runs alone.
    for suite in SUITES {
        util::run(test(suite).arg("--no-run"))?;
    }
    let mut times = Vec::new();
    for suite in SUITES {
        let started = Instant::now();
        util::run(&mut test(suite))?;
        times.push(format!(
            "{} tests/{}.rs {:.1} s",
            suite.0,
            suite.1,
            started.elapsed().as_secs_f64()
        ));
    }
    println!("property tests, {cases} cases per property: {}", times.join(", "));
    Ok(())
}
