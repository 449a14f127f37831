//! Task runner: `cargo xtask <task>`. See README.md and ARCHITECTURE.md.
mod ansible;
mod bench;
mod collection;
mod demo;
mod ecosystem;
mod host_packages;
mod leak;
mod props;
mod reliability;
mod test;
pub mod testbed;
mod testbed_faults;
mod testbed_suite;
mod util;
mod weka;

const USAGE: &str = "usage: cargo xtask <task>
  collection            build the static modules and dist/keel-storage-VERSION.tar.gz
  test [--quick] [--only ecosystem|weka|examples|georep|faults]
                        the whole suite (unit, module, collection, playbook, ecosystem and testbed tests,
                        the fault suite)
  reliability [RUNS]    RUNS (default 5) online rolling upgrades of a fresh testbed with the writer:
                        files written, verified, lost and failed writes per run
  leak [CORE]           the leak check alone (xtask/src/leak.rs, docs/security.md) under ansible-core CORE
                        (default the newest supported)
  proptest [CASES]      the property tests with CASES cases per property (default 100000; BENCHMARKS.md)
  changelog             antsibull-changelog release of galaxy.yml's version (CHANGELOG.rst)
  pins [NAME...]        tests/constraints/NAME.txt (ansible-2.X, tools; default all) from a fresh
                        virtualenv with the newest releases its top-level requirements allow
  ee                    the AWX execution environment's build context (build/ee/context)
  awx-job PLAYBOOK INVENTORY [...]  one AWX-style job through ansible-runner (no args: usage)
  bench [PART...]       every figure in BENCHMARKS.md (parts: sizes, parsers, dispatch, converged,
                        upgrade; the last three on the testbed)
  demo [--keep]         a real online rolling upgrade 10.3 -> 11.1 of a 3-server pool built here,
                        under live writes; prints the report (--keep leaves the testbed up)
  testbed up|down|status  a real multi-node GlusterFS cluster on this machine";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or(&[]);
    let result = match args.first().map(String::as_str) {
        Some("collection") => collection::main(rest),
        Some("test") => test::main(rest),
        Some("testbed") => host_packages::ensure().and_then(|_| testbed::main(rest)),
        Some("leak") => leak::main(rest),
        Some("proptest") => props::main(rest),
        Some("changelog") => ecosystem::changelog_main(rest),
        Some("pins") => ansible::pins_main(rest),
        Some("ee") => ecosystem::awx::ee_main(rest),
        Some("awx-job") => ecosystem::awx::job_main(rest),
        Some("demo") => demo::main(rest),
        Some("bench") => bench::main(rest),
        Some("reliability") => host_packages::ensure().and_then(|_| reliability::main(rest)),
        _ => Err(USAGE.to_string()),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}
