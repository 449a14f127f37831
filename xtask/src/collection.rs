//! `cargo xtask collection`: build the static module binary, assemble the collection under
//! build/collection, and build dist/keel-storage-VERSION.tar.gz with ansible-galaxy.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ansible;
use crate::util::{self, Result};

/// The one target this machine can build; the action plugin names builds `keel_<system>_<arch>`.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";
pub const PLATFORM: &str = "linux_x86_64";
/// Budgets from the foundation issue: the binary is copied to every host for every task.
pub const MAX_BINARY_BYTES: u64 = 1536 * 1024;
pub const MAX_TARBALL_BYTES: u64 = 8_000_000;

pub fn main(_args: &[String]) -> Result {
    println!("{}", build()?.display());
    Ok(())
}

/// Builds everything and returns the tarball's path.
pub fn build() -> Result<PathBuf> {
    let root = util::root();
    let binary = build_binary(&root)?;
    let tree = assemble(&root, &binary)?;
    let tarball = galaxy_build(&root, &tree)?;
    let bin_size = size(&binary)?;
    let tar_size = size(&tarball)?;
    eprintln!(
        "sizes: keel_{PLATFORM} {bin_size} bytes ({:.2} MiB, budget 1.5 MiB); {} {tar_size} bytes (budget 8 MB)",
        bin_size as f64 / 1048576.0,
        tarball.file_name().unwrap_or_default().to_string_lossy()
    );
    if bin_size > MAX_BINARY_BYTES {
        return Err(format!(
            "the module binary is {bin_size} bytes, over the 1.5 MiB budget"
        ));
    }
    if tar_size > MAX_TARBALL_BYTES {
        return Err(format!(
            "the collection tarball is {tar_size} bytes, over the 8 MB budget"
        ));
    }
    Ok(tarball)
}

/// A static, size-optimised, stripped ELF (profile.release in Cargo.toml).
fn build_binary(root: &Path) -> Result<PathBuf> {
    util::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args([
                "build",
                "--release",
                "--locked",
                "--package",
                "keel-modules",
                "--bin",
                "keel",
                "--target",
                TARGET,
            ])
            // Static glibc; a non-PIE executable needs no relocation table (about 50 KB smaller,
            // at the price of ASLR for a process that lives a second). With an explicit --target
            // these flags skip build scripts and proc macros.
            .env("RUSTFLAGS", "-C target-feature=+crt-static -C relocation-model=static"),
    )?;
    let bin = root.join("target").join(TARGET).join("release").join("keel");
    let kind = util::output(Command::new("file").arg(&bin)).unwrap_or_default();
    if !kind.contains("statically linked") && !kind.contains("static-pie linked") {
        return Err(format!("{} is not statically linked: {kind}", bin.display()));
    }
    Ok(bin)
}

/// build/collection: galaxy.yml, README, licence, collection/*, playbooks/, and the binary.
fn assemble(root: &Path, binary: &Path) -> Result<PathBuf> {
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
    let bin_dir = tree.join("plugins/modules/__bin__");
    std::fs::create_dir_all(&bin_dir).map_err(|e| e.to_string())?;
    let dest = bin_dir.join(format!("keel_{PLATFORM}"));
    std::fs::copy(binary, &dest).map_err(|e| format!("copy binary: {e}"))?;
    check_modules(&tree, &dest)?;
    Ok(tree)
}

/// Every documented module is routed to the action plugin and known to the binary, and every
/// module the binary serves to users is documented.
fn check_modules(tree: &Path, binary: &Path) -> Result {
    let in_binary = util::output(Command::new(binary).arg("--list-modules"))?;
    let in_binary: Vec<&str> = in_binary.lines().filter(|m| !m.starts_with("keel_")).collect();
    let runtime = std::fs::read_to_string(tree.join("meta/runtime.yml")).map_err(|e| e.to_string())?;
    let mut documented = Vec::new();
    for entry in std::fs::read_dir(tree.join("plugins/modules"))
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(module) = name.strip_suffix(".py") {
            documented.push(module.to_string());
        }
    }
    documented.sort();
    for m in &documented {
        if !in_binary.contains(&m.as_str()) {
            return Err(format!(
                "plugins/modules/{m}.py documents a module the keel binary does not have"
            ));
        }
        if !runtime.contains(&format!("    {m}:\n      action_plugin: keel.storage.native_module")) {
            return Err(format!(
                "meta/runtime.yml does not route module {m} to keel.storage.native_module"
            ));
        }
    }
    for m in in_binary {
        if !documented.iter().any(|d| d == m) {
            return Err(format!(
                "module {m} is in the binary but has no collection/plugins/modules/{m}.py"
            ));
        }
    }
    Ok(())
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
