//! `cargo xtask proptest [CASES]`: the property tests of the parsers, the args coercion and the
//! WEKA planner (`tests/props.rs` of keel-runtime, keel-gluster-cli and keel-weka-cli) with
//! CASES cases per property (default 100,000; plain `cargo test` runs proptest's 256), built
//! with the `proptest` profile (optimised, overflow checks on). Prints the time per crate, for
//! BENCHMARKS.md.

use std::process::Command;
use std::time::Instant;

use crate::util::{self, Result};

const CRATES: [&str; 3] = ["keel-runtime", "keel-gluster-cli", "keel-weka-cli"];

pub fn main(args: &[String]) -> Result {
    let cases: u64 = match args {
        [] => 100_000,
        [n] => n.parse().map_err(|_| format!("CASES must be a number, not '{n}'"))?,
        _ => return Err("usage: cargo xtask proptest [CASES]".into()),
    };
    let root = util::root();
    let cargo = super::test::cargo();
    let test = |krate: &str| {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&root).env("PROPTEST_CASES", cases.to_string()).args([
            "test",
            "--locked",
            "--profile",
            "proptest",
            "-p",
            krate,
            "--test",
            "props",
        ]);
        cmd
    };
    // Built first, so the times below are the runs alone.
    for krate in CRATES {
        util::run(test(krate).arg("--no-run"))?;
    }
    let mut times = Vec::new();
    for krate in CRATES {
        let started = Instant::now();
        util::run(&mut test(krate))?;
        times.push(format!("{krate} {:.1} s", started.elapsed().as_secs_f64()));
    }
    println!("property tests, {cases} cases per property: {}", times.join(", "));
    Ok(())
}
