//! `cargo xtask collection`: build the static module binaries, assemble the collection under
//! build/collection, and build dist/keel-storage-VERSION.tar.gz with ansible-galaxy.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ansible;
use crate::util::{self, Result};

pub mod generate;

/// The one target this machine can build; the action plugin names builds `BINARY_<system>_<arch>`.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";
pub const PLATFORM: &str = "linux_x86_64";
/// Static glibc; a non-PIE executable needs no relocation table (about 50 KB smaller, at the
/// price of ASLR for a process that lives a second); identical code folding (rust-lld): about
/// 10 KB less per binary. With an explicit --target these flags skip build scripts and proc macros.
pub const RUSTFLAGS: &str = "-C target-feature=+crt-static -C relocation-model=static -C link-arg=-Wl,--icf=all";
/// Budgets from the foundation issue: the binary is sent to every host (every task where the
/// binary cache does not apply).
pub const MAX_BINARY_BYTES: u64 = 1536 * 1024;
pub const MAX_TARBALL_BYTES: u64 = 8_000_000;

pub fn main(_args: &[String]) -> Result {
    println!("{}", build()?.display());
    Ok(())
}

/// Builds everything and returns the tarball's path.
pub fn build() -> Result<PathBuf> {
    let (binaries, tarball) = build_unchecked()?;
    let mut over = Vec::new();
    for bin in &binaries {
        let bytes = size(bin)?;
        eprintln!(
            "size: {}_{PLATFORM} {bytes} bytes ({:.2} MiB, budget 1.5 MiB)",
            file_name(bin),
            bytes as f64 / 1048576.0
        );
        if bytes > MAX_BINARY_BYTES {
            over.push(format!("{} is {bytes} bytes, over the 1.5 MiB budget", file_name(bin)));
        }
    }
    let tar_size = size(&tarball)?;
    eprintln!("size: {} {tar_size} bytes (budget 8 MB)", file_name(&tarball));
    if tar_size > MAX_TARBALL_BYTES {
        over.push(format!(
            "the collection tarball is {tar_size} bytes, over the 8 MB budget"
        ));
    }
    if over.is_empty() {
        Ok(tarball)
    } else {
        Err(over.join("; "))
    }
}

/// The binaries and the tarball, whatever their sizes: `cargo xtask bench sizes` reports the
/// ones over budget instead of failing.
pub fn build_unchecked() -> Result<(Vec<PathBuf>, PathBuf)> {
    let root = util::root();
    let binaries = build_binaries(&root)?;
    let tree = assemble(&root, &binaries)?;
    let tarball = galaxy_build(&root, &tree)?;
    Ok((binaries, tarball))
}

/// The modules a binary serves to users (its `--list-modules`); keel_* modules (the protocol
/// self-test) are for tests only: no stub, no routing.
pub fn modules_of(binary: &Path) -> Result<Vec<String>> {
    Ok(util::output(Command::new(binary).arg("--list-modules"))?
        .lines()
        .filter(|m| !m.starts_with("keel_"))
        .map(str::to_string)
        .collect())
}

/// The module binaries: one per file in modules/keel/src/bin.
fn binary_names(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("modules/keel/src/bin");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("read {}: {e}", dir.display()))?
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().strip_suffix(".rs").map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

/// Where cargo builds: CARGO_TARGET_DIR when set, else target/.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"))
}

/// Static, size-optimised, stripped ELFs (profile.release in Cargo.toml).
fn build_binaries(root: &Path) -> Result<Vec<PathBuf>> {
    util::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args([
                "build",
                "--release",
                "--locked",
                "--package",
                "keel-modules",
                "--bins",
                "--target",
                TARGET,
            ])
            .env("RUSTFLAGS", RUSTFLAGS),
    )?;
    let mut out = Vec::new();
    for name in binary_names(root)? {
        let bin = target_dir(root).join(TARGET).join("release").join(&name);
        let kind = util::output(Command::new("file").arg(&bin)).unwrap_or_default();
        if !kind.contains("statically linked") && !kind.contains("static-pie linked") {
            return Err(format!("{} is not statically linked: {kind}", bin.display()));
        }
        out.push(bin);
    }
    Ok(out)
}

/// The binaries built for this machine with the specs' documentation text (feature `docs`), in
/// a target directory of their own so they never stand in for the shipped ones.
fn documentation_binaries(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = target_dir(root).join("keel-docs");
    util::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args([
                "build",
                "--locked",
                "--package",
                "keel-modules",
                "--bins",
                "--features",
                "docs",
            ])
            .arg("--target-dir")
            .arg(&dir),
    )?;
    Ok(binary_names(root)?
        .into_iter()
        .map(|name| dir.join("debug").join(name))
        .collect())
}

/// build/collection: galaxy.yml, README, licence, collection/*, playbooks/, and the binaries.
fn assemble(root: &Path, binaries: &[PathBuf]) -> Result<PathBuf> {
    let tree = root.join("build").join("collection");
    if tree.exists() {
        std::fs::remove_dir_all(&tree).map_err(|e| format!("rm {}: {e}", tree.display()))?;
    }
    util::copy_tree(&root.join("collection"), &tree)?;
    for file in ["galaxy.yml", "README.md", "COPYING"] {
        std::fs::copy(root.join(file), tree.join(file)).map_err(|e| format!("copy {file}: {e}"))?;
    }
    if root.join("playbooks").is_dir() {
        util::copy_tree(&root.join("playbooks"), &tree.join("playbooks"))?;
    }
    // The changelog, as Galaxy and ansible-lint look for it.
    util::copy_tree(&root.join("changelogs"), &tree.join("changelogs"))?;
    if root.join("CHANGELOG.rst").exists() {
        std::fs::copy(root.join("CHANGELOG.rst"), tree.join("CHANGELOG.rst"))
            .map_err(|e| format!("CHANGELOG.rst: {e}"))?;
    }
    let bin_dir = tree.join("plugins/modules/__bin__");
    std::fs::create_dir_all(&bin_dir).map_err(|e| e.to_string())?;
    for binary in binaries {
        let dest = bin_dir.join(format!("{}_{PLATFORM}", file_name(binary)));
        std::fs::copy(binary, &dest).map_err(|e| format!("copy binary: {e}"))?;
    }
    // The stubs, fragments, routing and BINARY_OF from the binaries' own specs (each module in
    // exactly one binary), so what the collection documents and routes is what the binaries hold.
    // The shipped binaries carry no documentation text: the same binaries built with it answer.
    let specs = generate::specs(&documentation_binaries(root)?)?;
    generate::write(&tree, &specs)?;
    crate::ecosystem::sanity::write_ignores(&tree)?;
    Ok(tree)
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap_or_default().to_string_lossy().into_owned()
}

fn galaxy_build(root: &Path, tree: &Path) -> Result<PathBuf> {
    let venv = ansible::venv(ansible::NEWEST)?;
    let dist = root.join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| e.to_string())?;
    util::run(
        venv.cmd("ansible-galaxy")
            .args(["collection", "build", "--force", "--output-path"])
            .arg(&dist)
            .arg(tree),
    )?;
    let version = galaxy_version(&root.join("galaxy.yml"))?;
    Ok(dist.join(format!("keel-storage-{version}.tar.gz")))
}

pub fn galaxy_version(galaxy: &Path) -> Result<String> {
    let text = std::fs::read_to_string(galaxy).map_err(|e| format!("read galaxy.yml: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("version:"))
        .map(|v| v.trim().trim_matches('"').to_string())
        .ok_or_else(|| "galaxy.yml has no version".into())
}

fn size(p: &Path) -> Result<u64> {
    std::fs::metadata(p)
        .map(|m| m.len())
        .map_err(|e| format!("stat {}: {e}", p.display()))
}
