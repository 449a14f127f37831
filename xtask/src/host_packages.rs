//! The Debian packages `cargo xtask demo` and `cargo xtask test` need on this machine, installed
//! by them when missing so that a fresh machine needs nothing else (the one list: `.ci/run` only
//! calls `cargo xtask test`).

use std::process::Command;

use crate::util::{self, Result};

/// `file` (the static-binary check); the testbed's tools (debootstrap, the local apt
/// repository's indexer from apt-utils and dpkg-dev, namespaces and mounts from util-linux,
/// iproute2, ssh, psmisc and procps for its processes, systemd-nspawn from systemd-container for
/// the servers that boot systemd); git (ansible-test's file list) and
/// openssh-client (ssh-keygen, ssh-agent for the AWX job test) serve the ecosystem checks too.
pub const PACKAGES: &[&str] = &[
    "file",
    "debootstrap",
    "apt-utils",
    "dpkg-dev",
    "iproute2",
    "openssh-client",
    "psmisc",
    "procps",
    "util-linux",
    "systemd-container",
    "git",
];

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Installs the missing packages with apt-get as root; otherwise says the one command to run.
pub fn ensure() -> Result {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let command = format!("apt-get install -y --no-install-recommends {}", missing.join(" "));
    // /proc/self belongs to the process's effective user.
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if !root {
        return Err(format!(
            "these Debian packages are missing: {}; install them as root ({command}) or run this as root",
            missing.join(", ")
        ));
    }
    eprintln!("=== installing the Debian packages this needs: {}", missing.join(" "));
    util::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["update", "-qq"]),
    )?;
    util::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing),
    )
}
