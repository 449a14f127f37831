//! `cargo xtask test`: the whole suite. Unit and module tests (cargo test), the collection
//! build with its size budgets, then the installed collection under every supported
//! ansible-core: ansible-doc and playbook tests against localhost. `.ci/run` calls this.
//!
//! `--quick` skips nothing but the playbook runs on the oldest ansible-core.
//! `--only ecosystem` builds the collection and runs only the ecosystem checks (no testbed).
//! `--only weka` runs the WEKA parts alone: their cargo tests, the collection, the
//! weka_upgrade scenarios (xtask/src/weka.rs) and the leak check (xtask/src/leak.rs), without the
//! Gluster playbooks and the testbed.
//! `--only examples` builds and installs the collection for the newest ansible-core and runs the
//! module examples that need the testbed on a testbed of their own.
//! `--only georep` builds and installs the collection for the newest ansible-core and runs only
//! the geo-replication scenario (a testbed with a secondary pool, `testbed up --secondary`).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::ansible::{self, Venv};
use crate::collection;
use crate::ecosystem;
use crate::util::{self, Result};
use crate::weka;

pub(crate) struct Tally {
    pub(crate) passed: Vec<String>,
    pub(crate) failed: Vec<(String, String)>,
    /// Checks are listed but not run (`--only`).
    pub(crate) skipping: bool,
    /// What a passing check found worth saying (a newer ansible-core on PyPI), repeated before
    /// the closing line.
    pub(crate) notices: Vec<String>,
}

impl Tally {
    pub(crate) fn notice(&mut self, what: String) {
        eprintln!("=== notice: {what}");
        self.notices.push(what);
    }

    pub(crate) fn fail(&mut self, name: &str, why: String) {
        eprintln!("=== FAILED: {name}: {why}");
        self.failed.push((name.to_string(), why));
    }

    pub(crate) fn check(&mut self, name: &str, f: impl FnOnce() -> Result) {
        if self.skipping {
            eprintln!("=== skipped: {name}");
            return;
        }
        let started = Instant::now();
        eprintln!("\n=== {name}");
        match f() {
            Ok(()) => {
                eprintln!("=== ok: {name} ({:.1} s)", started.elapsed().as_secs_f64());
                self.passed.push(name.to_string());
            }
            Err(e) => {
                eprintln!("=== FAILED: {name}: {e}");
                self.failed.push((name.to_string(), e));
            }
        }
    }
}

pub fn main(args: &[String]) -> Result {
    let quick = args.iter().any(|a| a == "--quick");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .map(|i| args.get(i + 1).map(String::as_str));
    if !matches!(
        only,
        None | Some(Some(
            "ecosystem" | "weka" | "examples" | "georep" | "faults" | "replica" | "arbiter" | "mixed"
        ))
    ) {
        return Err("--only takes: ecosystem, weka, examples, georep, faults, replica, arbiter, mixed".into());
    }
    crate::host_packages::ensure()?;
    if only == Some(Some("faults")) {
        return testbed_alone(crate::testbed_faults::checks);
    }
    if only == Some(Some("examples")) {
        return testbed_alone(crate::testbed_suite::examples_alone);
    }
    if only == Some(Some("georep")) {
        return testbed_alone(crate::testbed_suite::georep_alone);
    }
    // One testbed scenario alone (each brings its own testbed up and down).
    if only == Some(Some("replica")) {
        return testbed_alone(crate::testbed_suite::replica_alone);
    }
    if only == Some(Some("arbiter")) {
        return testbed_alone(crate::testbed_suite::arbiter_alone);
    }
    if only == Some(Some("mixed")) {
        return testbed_alone(crate::testbed_suite::mixed_alone);
    }
    let all = only.is_none();
    let only_weka = only == Some(Some("weka"));
    let only_ecosystem = only == Some(Some("ecosystem"));
    let root = util::root();
    let mut t = Tally {
        passed: Vec::new(),
        failed: Vec::new(),
        skipping: only_ecosystem,
        notices: Vec::new(),
    };

    t.check("cargo test (unit and module tests)", || {
        if only_weka {
            return weka::cargo_tests(&root);
        }
        util::run(
            Command::new(cargo())
                .current_dir(&root)
                .args(["test", "--workspace", "--locked"]),
        )
    });

    t.check("cargo fmt --check and cargo clippy (no warnings)", || {
        util::run(
            Command::new(cargo())
                .current_dir(&root)
                .args(["fmt", "--all", "--check"]),
        )?;
        util::run(Command::new(cargo()).current_dir(&root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))
    });

    let mut tarball = None;
    t.skipping = false;
    t.check("collection build, static binary, size budgets", || {
        tarball = Some(collection::build()?);
        Ok(())
    });

    t.skipping = only_ecosystem;
    if let Some(tarball) = &tarball {
        for release in releases(quick) {
            let core = release.core;
            let venv = match ansible::venv(release) {
                Ok(v) => v,
                Err(e) => {
                    t.failed.push((format!("ansible-core {core} virtualenv"), e));
                    continue;
                }
            };
            let collections = root.join("build").join(format!("ansible-{core}"));
            t.check(&format!("ansible-core {core}: install the tarball"), || {
                install(&venv, tarball, &collections)
            });
            t.check(
                &format!("ansible-core {core}: ansible-doc lists and documents every module"),
                || docs(&venv, &collections, &root),
            );
            weka::checks(&mut t, &venv, &collections, &root, core);
            t.check(
                &format!(
                    "ansible-core {core}: no secret outside ansible-core's own files (tests/playbooks/secrets.yml and \
                     keel.storage.weka_upgrade, -vvv --diff, ANSIBLE_KEEP_REMOTE_FILES=1, argv logged)"
                ),
                || crate::leak::check(&venv, &collections, &root, core),
            );
            if only_weka {
                continue;
            }
            for (playbook, extra, path_first) in [
                ("protocol.yml", &[][..], None),
                ("check_diff.yml", &["--check", "--diff"][..], None),
                ("no_build.yml", &[][..], Some("tests/fake-bin/uname-riscv")),
                ("odd_platform.yml", &[][..], Some("tests/fake-bin/uname-odd")),
                ("binary_cache.yml", &[][..], None),
            ] {
                t.check(
                    &format!("ansible-core {core}: tests/playbooks/{playbook} {}", extra.join(" ")),
                    || {
                        let inventory = root.join("tests/playbooks/inventory.ini");
                        playbook_run(&venv, &collections, &root, &inventory, playbook, extra, path_first)
                    },
                );
            }
        }
    }

    // Galaxy, sanity, lint, changelog, docs and examples, AWX: no testbed needed.
    t.skipping = false;
    if let (Some(tarball), false) = (&tarball, only_weka) {
        ecosystem::checks(&mut t, &root, tarball, quick);
    }
    if tarball.is_some() && !only_ecosystem {
        weka::awx_job(&mut t, &root);
    }

    if all && tarball.is_some() {
        crate::testbed_suite::checks(&mut t, &root, quick);
        crate::testbed_faults::checks(&mut t, &root);
    }

    eprintln!();
    for (name, why) in &t.failed {
        eprintln!(
            "FAILED: {name}: {}",
            why.lines().take(14).collect::<Vec<_>>().join("\n")
        );
    }
    for n in &t.notices {
        eprintln!("notice: {n}");
    }
    // The plain closing line CI reads.
    println!("{} passed, {} failed", t.passed.len(), t.failed.len());
    if t.failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} check(s) failed", t.failed.len()))
    }
}

/// `--only examples|georep`: the collection for the newest ansible-core, then `scenario` on the
/// testbed.
fn testbed_alone(scenario: fn(&mut Tally, &Path)) -> Result {
    let root = util::root();
    let mut t = Tally {
        passed: Vec::new(),
        failed: Vec::new(),
        skipping: false,
        notices: Vec::new(),
    };
    let tarball = collection::build()?;
    // Scenarios run playbooks with the oldest and the newest ansible-core.
    for release in &ansible::RELEASES {
        let venv = ansible::venv(release)?;
        install(
            &venv,
            &tarball,
            &root.join("build").join(format!("ansible-{}", release.core)),
        )?;
    }
    scenario(&mut t, &root);
    println!("{} passed, {} failed", t.passed.len(), t.failed.len());
    if t.failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} check(s) failed", t.failed.len()))
    }
}

/// Every supported ansible-core, or only the newest with --quick.
pub(crate) fn releases(quick: bool) -> Vec<&'static ansible::Release> {
    if quick {
        vec![ansible::NEWEST]
    } else {
        ansible::RELEASES.iter().collect()
    }
}

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Settings for every ansible command: only our collections path, no user config.
pub(crate) fn ansible_env(cmd: &mut Command, collections: &Path, root: &Path) {
    cmd.current_dir(root)
        .env("ANSIBLE_COLLECTIONS_PATH", collections)
        .env("ANSIBLE_CONFIG", root.join("tests/ansible.cfg"))
        .env("ANSIBLE_LOCAL_TEMP", collections.join("tmp"))
        .env("KEEL_FAKE_GLUSTER", root.join("tests/fake-bin/gluster-fixtures"));
}

pub(crate) fn install(venv: &Venv, tarball: &Path, collections: &Path) -> Result {
    if collections.exists() {
        std::fs::remove_dir_all(collections).map_err(|e| e.to_string())?;
    }
    util::run(
        venv.cmd("ansible-galaxy")
            .args(["collection", "install", "--force", "-p"])
            .arg(collections)
            .arg(tarball),
    )
}

fn docs(venv: &Venv, collections: &Path, root: &Path) -> Result {
    let mut list = venv.cmd("ansible-doc");
    ansible_env(&mut list, collections, root);
    list.args(["-l", "keel.storage"]);
    let out = list.output().map_err(|e| e.to_string())?;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    if !out.status.success() || stderr.contains("ERROR") || stderr.contains("WARNING") {
        return Err(format!("ansible-doc -l keel.storage: {}\n{stdout}{stderr}", out.status));
    }
    for name in crate::ecosystem::stubs(root)? {
        if !stdout.contains(&format!("keel.storage.{name} ")) {
            return Err(format!("ansible-doc -l does not list keel.storage.{name}:\n{stdout}"));
        }
        let mut doc = venv.cmd("ansible-doc");
        ansible_env(&mut doc, collections, root);
        let text = util::output(doc.arg(format!("keel.storage.{name}")))?;
        for section in ["OPTIONS", "EXAMPLES", "RETURN VALUES"] {
            if !text.contains(section) {
                return Err(format!("ansible-doc keel.storage.{name} has no {section} section"));
            }
        }
    }
    Ok(())
}

pub(crate) fn playbook_run(
    venv: &Venv,
    collections: &Path,
    root: &Path,
    inventory: &Path,
    playbook: &str,
    extra: &[&str],
    path_first: Option<&str>,
) -> Result {
    let mut cmd = venv.cmd("ansible-playbook");
    ansible_env(&mut cmd, collections, root);
    if let Some(dir) = path_first {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env(
            "PATH",
            format!("{}:{}:{path}", root.join(dir).display(), venv.dir.join("bin").display()),
        );
    }
    cmd.arg("-i")
        .arg(inventory)
        .arg(format!("tests/playbooks/{playbook}"))
        .args(extra);
    util::run_explained(&mut cmd).map(|_| ())
}
