//! What the testbed downloads once and keeps (under KEEL_TESTBED_CACHE): the debootstrap base
//! and the local apt repository of every Gluster release the tests move between.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Result};

/// Releases in the local repository, with their Debian versions and suites.
pub const VERSIONS: [&str; 2] = ["10.3", "11.1"];
const DEBIAN_VERSIONS: [(&str, &str); 2] = [("10.3", "10.3-5"), ("11.1", "11.1-3~bpo12+1")];

/// Every Gluster package moves to a new release together (apt refuses a partial upgrade).
pub const PACKAGES: [&str; 9] = [
    "glusterfs-server",
    "glusterfs-client",
    "glusterfs-common",
    "glusterfs-cli",
    "libglusterfs0",
    "libgfapi0",
    "libgfrpc0",
    "libgfxdr0",
    "libgfchangelog0",
];

/// What debootstrap adds to bookworm's minbase for the nodes: sshd, Gluster 10.3, the tools the
/// testbed runs on them, and systemd with dbus for the servers that boot it (`up --systemd`;
/// the others never start it: sshd is their PID 1).
const BASE_PACKAGES: &str =
    "openssh-server,glusterfs-server,glusterfs-client,iproute2,procps,psmisc,attr,systemd,systemd-sysv,dbus";

/// The shared, read-only root every node overlays: Debian bookworm with Gluster 10.3, sshd and
/// systemd. `.complete` names the packages it was made with: a base made with another list is
/// made again.
pub fn base(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join("base-bookworm");
    let complete = dir.join(".complete");
    if std::fs::read_to_string(&complete).is_ok_and(|made| made.trim() == BASE_PACKAGES) {
        return Ok(dir);
    }
    if dir.exists() {
        eprintln!("testbed: making the base root again (its packages were not {BASE_PACKAGES})");
        std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
    }
    std::fs::create_dir_all(cache).map_err(|e| e.to_string())?;
    util::run(
        Command::new("debootstrap")
            .args(["--variant=minbase", &format!("--include={BASE_PACKAGES}")])
            .arg("bookworm")
            .arg(&dir),
    )?;
    util::run(Command::new("chroot").arg(&dir).args(["ssh-keygen", "-A"]))?;
    std::fs::write(&complete, format!("{BASE_PACKAGES}\n")).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// `repo/VERSION/*.deb` with a Packages index each; 10.3 comes from the base's own downloads,
/// 11.1 from bookworm-backports on the mirror this machine's apt already uses.
pub fn repo(cache: &Path, base: &Path) -> Result<PathBuf> {
    let repo = cache.join("repo");
    for (version, debian) in DEBIAN_VERSIONS {
        let dir = repo.join(version);
        if dir.join("Packages").exists() {
            continue;
        }
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        if version == "10.3" {
            let archives = base.join("var/cache/apt/archives");
            for entry in std::fs::read_dir(&archives).map_err(|e| e.to_string())?.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.contains("_10.3-5_") && PACKAGES.iter().any(|p| name.starts_with(&format!("{p}_"))) {
                    std::fs::copy(entry.path(), dir.join(&name)).map_err(|e| e.to_string())?;
                }
            }
        } else {
            download_backports(cache, &dir, debian)?;
        }
        let index = util::output(
            Command::new("apt-ftparchive")
                .arg("packages")
                .arg(".")
                .current_dir(&dir),
        )?;
        std::fs::write(dir.join("Packages"), index).map_err(|e| e.to_string())?;
    }
    Ok(repo)
}

/// apt with its own lists and sources, so the host's apt configuration stays untouched.
fn download_backports(cache: &Path, into: &Path, debian: &str) -> Result {
    let apt = cache.join("apt");
    std::fs::create_dir_all(apt.join("lists/partial")).map_err(|e| e.to_string())?;
    let sources = std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    let mirror = sources
        .lines()
        .find_map(|l| l.strip_prefix("URIs:"))
        .and_then(|u| u.split_whitespace().next())
        .unwrap_or("http://deb.debian.org/debian")
        .to_string();
    std::fs::write(
        apt.join("sources.list"),
        format!("deb {mirror} bookworm-backports main\n"),
    )
    .map_err(|e| e.to_string())?;
    let opts = |c: &mut Command| {
        c.arg("-q")
            .arg(format!("-oDir::State::Lists={}", apt.join("lists").display()))
            .arg(format!("-oDir::Etc::SourceList={}", apt.join("sources.list").display()))
            .arg("-oDir::Etc::SourceParts=/nonexistent")
            .arg("-oAPT::Sandbox::User=root");
    };
    let mut update = Command::new("apt-get");
    opts(&mut update);
    util::run(update.arg("update"))?;
    let mut download = Command::new("apt-get");
    opts(&mut download);
    download.arg("download").current_dir(into);
    download.args(PACKAGES.iter().map(|p| format!("{p}={debian}")));
    util::run(&mut download)
}

/// The shell line that moves a node to `version` from the local repository.
pub fn install_command(version: &str) -> String {
    let debian = DEBIAN_VERSIONS
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, d)| *d)
        .unwrap_or(version);
    let pkgs: Vec<String> = PACKAGES.iter().map(|p| format!("{p}={debian}")).collect();
    format!(
        "apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {} >/dev/null",
        pkgs.join(" ")
    )
}
