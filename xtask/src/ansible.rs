//! The ansible-core releases the collection supports, each in its own virtualenv under
//! `.venv/`, created on first use (CI machines start without them).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Result};

/// An ansible-core release line and the oldest Python it runs on.
pub struct Release {
    pub core: &'static str,
    pub python: &'static str,
    /// Python tools installed beside ansible-core: (pip requirement, program it provides).
    pub tools: &'static [(&'static str, &'static str)],
}

/// Oldest and newest supported; meta/runtime.yml's requires_ansible names the oldest.
pub const RELEASES: [Release; 2] = [
    Release {
        core: "2.17",
        python: "3.11",
        tools: &[],
    },
    Release {
        core: "2.21",
        python: "3.12",
        tools: &[("molecule", "molecule")],
    },
];

pub const NEWEST: &Release = &RELEASES[1];

pub struct Venv {
    pub dir: PathBuf,
}

impl Venv {
    pub fn bin(&self, tool: &str) -> PathBuf {
        self.dir.join("bin").join(tool)
    }
    pub fn cmd(&self, tool: &str) -> Command {
        let mut c = Command::new(self.bin(tool));
        // The venv's tools first, so ansible-playbook finds its own ansible-galaxy etc.
        let path = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{path}", self.dir.join("bin").display()));
        c.env("ANSIBLE_NOCOLOR", "1");
        c.env("ANSIBLE_FORCE_COLOR", "0");
        c
    }
}

/// The venv for `release`, created and filled if missing.
pub fn venv(release: &Release) -> Result<Venv> {
    let dir = util::root().join(".venv").join(format!("ansible-{}", release.core));
    let v = Venv { dir };
    if v.bin("ansible-playbook").exists() && release.tools.iter().all(|(_, bin)| v.bin(bin).exists()) {
        return Ok(v);
    }
    if !v.bin("pip").exists() {
        let python = find_python(release.python)?;
        eprintln!("creating {} with {}", v.dir.display(), python.display());
        util::run(Command::new(&python).args(["-m", "venv"]).arg(&v.dir))?;
    }
    let mut pip = Command::new(v.bin("pip"));
    // ansible-core pinned in the same call, so a tool cannot move it to another release.
    pip.args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("ansible-core=={}.*", release.core))
        .args(release.tools.iter().map(|(req, _)| *req));
    util::run(&mut pip)?;
    Ok(v)
}

/// python3.X on PATH, else a pyenv build of it (this machine kind ships several). A pyenv shim
/// for a version that is not selected exists but fails, so each candidate must really run.
pub fn find_python(version: &str) -> Result<PathBuf> {
    let name = format!("python{version}");
    let path = std::env::var("PATH").unwrap_or_default();
    let mut candidates: Vec<PathBuf> = std::env::split_paths(&path).map(|d| d.join(&name)).collect();
    if let Ok(entries) = std::fs::read_dir(Path::new("/root/.pyenv/versions")) {
        let mut builds: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("{version}.")))
            .map(|e| e.path().join("bin/python3"))
            .collect();
        builds.sort();
        candidates.extend(builds.into_iter().rev());
    }
    candidates
        .into_iter()
        .filter(|p| p.exists())
        .find(|p| Command::new(p).args(["-c", "import venv, ensurepip"]).output().is_ok_and(|o| o.status.success()))
        .ok_or_else(|| {
            format!("ansible-core needs {name}, which is not installed (apt-get install {name}-venv, or pyenv install {version})")
        })
}
