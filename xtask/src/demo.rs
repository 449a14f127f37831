//! `cargo xtask demo [--keep]`: the README's first command. A real online rolling upgrade of a
//! GlusterFS pool built on this machine: the collection built and installed, three servers on
//! 10.3 with a client writing checksummed files, `ansible-playbook keel.storage.gluster_upgrade`
//! to 11.1, every written file verified, the report printed, the testbed removed (kept with
//! --keep). node3 boots systemd, which runs glusterd.service: the rolling upgrade stops and
//! starts node1 and node2 by signals and node3 through systemd, and the demo checks both from
//! the module results.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::ansible;
use crate::collection;
use crate::testbed::results::{Recorder, ServicePath};
use crate::testbed::{self, Layout, Options, Paths};
use crate::util::{self, Result};

pub fn main(args: &[String]) -> Result {
    let keep = args.iter().any(|a| a == "--keep");
    if let Some(other) = args.iter().find(|a| *a != "--keep") {
        return Err(format!("usage: cargo xtask demo [--keep] (unknown argument {other})"));
    }
    let started = Instant::now();
    crate::host_packages::ensure()?;
    let root = util::root();
    let paths = Paths::from_env();
    step("1/6 build the collection (static module binaries, galaxy tarball)");
    let (venv, collections) = installed_collection(&root.join("build/demo/collections"))?;
    step("2/6 bring up 3 GlusterFS 10.3 servers (node3 under systemd) and a client on this machine");
    let inventory = pool_of_three(&paths)?;
    step("3/6 start the writer on the client: checksummed files land on gv0 throughout");
    testbed::writer_start(&paths)?;
    step("4/6 ansible-playbook keel.storage.gluster_upgrade -e gluster_target_version=11.1");
    let reports = root.join("build/demo/reports");
    let _ = std::fs::remove_dir_all(&reports);
    let mut play = upgrade_command(&venv, &collections, &inventory, &reports);
    let recorder = Recorder::new(&root.join("build/demo/results"))?;
    recorder.apply(&mut play);
    let upgraded = util::run(&mut play);
    // Each server's services went down and up along its own path, and node3's glusterd runs
    // as its systemd unit afterwards.
    let paths_taken = upgraded.as_ref().map_err(Clone::clone).and_then(|()| {
        let results = recorder.results()?;
        let mut said = Vec::new();
        for (host, path) in [
            ("node1", ServicePath::Signals),
            ("node2", ServicePath::Signals),
            ("node3", ServicePath::Systemd),
        ] {
            said.push(testbed::results::service_path(&results, host, path)?);
        }
        said.push(testbed::systemd_glusterd(&paths, SYSTEMD_NODE, "11.1")?);
        Ok(said)
    });
    if let Ok(said) = &paths_taken {
        for line in said {
            eprintln!("{line}");
        }
    }
    step("5/6 stop the writer and verify every file it wrote");
    let writes = testbed::writer_stop(&paths)?;
    let verified = testbed::verify(&paths);
    step("6/6 the upgrade report");
    let report = std::fs::read_dir(&reports).ok().and_then(|d| {
        d.flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "md"))
    });
    match &report {
        Some(p) => println!("{}\n({})", std::fs::read_to_string(p).unwrap_or_default(), p.display()),
        None => println!("no report was written under {}", reports.display()),
    }
    if keep {
        println!(
            "the testbed stays up: {} (cargo xtask testbed down removes it)",
            inventory.display()
        );
    } else {
        testbed::down(&paths)?;
    }
    upgraded?;
    paths_taken?;
    let files = verified?.verified;
    if writes.failed_writes > 0 {
        return Err(format!(
            "{} of {} client writes failed during the online upgrade",
            writes.failed_writes,
            writes.failed_writes + writes.written
        ));
    }
    println!(
        "demo: 3 servers upgraded from 10.3 to 11.1 online (node3's glusterd through systemd); {files} files \
         written during the upgrade, all present and intact, 0 failed writes; {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The server that boots systemd in the demo's pool (the last one upgraded: the rolling run
/// meets the signals path first, then systemd's).
pub const SYSTEMD_NODE: &str = "node3";

/// Three 10.3 servers (replica 3, node3 under systemd) and a client on the testbed, ready for
/// the upgrade: its inventory.
pub fn pool_of_three(paths: &Paths) -> Result<PathBuf> {
    let inventory = testbed::up(
        paths,
        &Options {
            nodes: 3,
            version: "10.3".into(),
            layout: Layout::Replica3,
            secondary: false,
            systemd: vec![SYSTEMD_NODE.into()],
        },
    )?;
    // Debian's Gluster packages need Python to install; the testbed's third server lacks it.
    testbed::python_everywhere(paths)?;
    Ok(inventory)
}

/// The collection built and installed under `collections`, with the newest ansible-core's venv.
pub fn installed_collection(collections: &Path) -> Result<(ansible::Venv, PathBuf)> {
    let tarball = collection::build()?;
    let venv = ansible::venv(ansible::NEWEST)?;
    util::run(
        venv.cmd("ansible-galaxy")
            .args(["collection", "install", "--force", "-p"])
            .arg(collections)
            .arg(&tarball),
    )?;
    Ok((venv, collections.to_path_buf()))
}

/// The README's upgrade command: the online playbook to 11.1, reports under `reports`.
pub fn upgrade_command(venv: &ansible::Venv, collections: &Path, inventory: &Path, reports: &Path) -> Command {
    let root = util::root();
    let mut play = venv.cmd("ansible-playbook");
    play.current_dir(&root)
        .env("ANSIBLE_COLLECTIONS_PATH", collections)
        .env("ANSIBLE_CONFIG", root.join("tests/ansible.cfg"))
        .env("KEEL_REPORT_DIR", reports)
        .arg("-i")
        .arg(inventory)
        .args([
            "keel.storage.gluster_upgrade",
            "-e",
            "gluster_target_version=11.1",
            "-e",
            "gluster_upgrade_confirm=true",
        ]);
    play
}

fn step(what: &str) {
    eprintln!("\n===== demo {what}");
}
