//! `cargo xtask bench [PART...]`: every figure in BENCHMARKS.md, each with the command that
//! measures it. Parts print markdown tables; ratios come from runs taken in turns in one
//! invocation, never from figures of different runs.
mod dispatch;
mod parsers;
mod pool;
mod sizes;

use crate::util::Result;

/// A part of the benchmark: its name on the command line, what it needs, and the function that
/// measures it and returns its markdown.
struct Part {
    name: &'static str,
    what: &'static str,
    run: fn(&[String]) -> Result<String>,
}

const PARTS: &[Part] = &[
    Part {
        name: "sizes",
        what: "binary and tarball sizes against their budgets",
        run: sizes::run,
    },
    Part {
        name: "parsers",
        what: "parser time and peak memory at 1, 10^4 and 10^6 heal entries",
        run: parsers::run,
    },
    Part {
        name: "upgrade",
        what: "a real 3-server rolling upgrade split into its phases (testbed)",
        run: pool::upgrade,
    },
    Part {
        name: "converged",
        what: "the online playbook re-run on a 3-server pool already at the target (testbed)",
        run: pool::converged,
    },
    Part {
        name: "dispatch",
        what: "per task on 1 and 3 hosts: Keel against the binary run by raw, command and raw (testbed)",
        run: dispatch::run,
    },
];

pub fn main(args: &[String]) -> Result {
    // A word right after an option is its value (`--runs 7`), unless it names a part.
    let (mut names, mut rest): (Vec<&String>, Vec<String>) = (Vec::new(), Vec::new());
    for (i, a) in args.iter().enumerate() {
        let is_part = PARTS.iter().any(|p| p.name == a.as_str());
        let after_option = i > 0 && args[i - 1].starts_with("--") && !args[i - 1].contains('=');
        if a.starts_with('-') || (after_option && !is_part) {
            rest.push(a.clone());
        } else {
            names.push(a);
        }
    }
    for n in &names {
        if !PARTS.iter().any(|p| p.name == n.as_str()) {
            let valid: Vec<_> = PARTS.iter().map(|p| format!("  {:<10} {}", p.name, p.what)).collect();
            return Err(format!("no benchmark part {n:?}; the parts:\n{}", valid.join("\n")));
        }
    }
    let chosen = PARTS
        .iter()
        .filter(|p| names.is_empty() || names.iter().any(|n| n.as_str() == p.name));
    let mut outcome = Ok(());
    for p in chosen {
        eprintln!("=== bench {}: {}", p.name, p.what);
        match (p.run)(&rest) {
            Ok(md) => println!("{md}"),
            Err(e) => {
                outcome = Err(format!("bench {}: {e}", p.name));
                break;
            }
        }
    }
    // The testbed a part brought up goes, whatever happened.
    outcome.and(pool::down())
}

/// Python as on a user's machine: it keeps the bytecode of what it compiles. Without that (this
/// machine sets PYTHONDONTWRITEBYTECODE) every task's worker compiles the collection's action
/// plugin from source again, about 15 ms a task.
fn as_users_run(cmd: &mut std::process::Command) {
    cmd.env_remove("PYTHONDONTWRITEBYTECODE");
}

/// `--runs N` among the options, or `default`.
fn runs_option(args: &[String], default: usize) -> Result<usize> {
    match args.iter().position(|a| a == "--runs").and_then(|i| args.get(i + 1)) {
        Some(r) => match r.parse() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("--runs {r}: a number of runs, at least 1")),
        },
        None => Ok(default),
    }
}
