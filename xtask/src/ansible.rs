//! The ansible-core releases the collection supports, each in its own virtualenv under
//! `.venv/`, created on first use (CI machines start without them).
//!
//! Every virtualenv xtask fills is installed under a committed constraints file,
//! tests/constraints/NAME.txt, that pins every package it holds (top-level and transitive) to
//! an exact version, so a new release on PyPI changes nothing until `cargo xtask pins` writes
//! it there (README.md: "CI is hermetic").

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

impl Release {
    /// `.venv/ansible-2.X`: ansible-core of this line (pinned in the same pip call, so a tool
    /// cannot move it to another release) and the tools.
    pub fn spec(&self) -> Spec {
        Spec {
            name: format!("ansible-{}", self.core),
            python: self.python,
            requirements: std::iter::once(format!("ansible-core=={}.*", self.core))
                .chain(self.tools.iter().map(|(req, _)| req.to_string()))
                .collect(),
            programs: std::iter::once("ansible-playbook")
                .chain(self.tools.iter().map(|(_, bin)| *bin))
                .collect(),
        }
    }
}

/// A virtualenv xtask fills: `.venv/NAME`, installed under tests/constraints/NAME.txt.
pub struct Spec {
    pub name: String,
    /// The python3.X it is made with (find_python).
    pub python: &'static str,
    /// The top-level pip requirements; the constraints file fixes their versions and those of
    /// everything they pull in.
    pub requirements: Vec<String>,
    /// Programs the requirements install (a venv missing one is refilled).
    pub programs: Vec<&'static str>,
}

impl Spec {
    pub fn constraints(&self) -> PathBuf {
        util::root()
            .join("tests/constraints")
            .join(format!("{}.txt", self.name))
    }
}

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
    ensure(&release.spec())
}

/// `.venv/NAME` for `spec`, created if missing and filled again whenever its requirements or
/// its constraints file differ from those of the last fill (its stamp, keel-pins.txt, holds
/// both), so that changing a pin reaches every existing venv.
pub fn ensure(spec: &Spec) -> Result<Venv> {
    let v = Venv {
        dir: util::root().join(".venv").join(&spec.name),
    };
    let constraints_file = spec.constraints();
    let constraints = std::fs::read_to_string(&constraints_file)
        .map_err(|e| format!("{}: {e} (cargo xtask pins writes it)", constraints_file.display()))?;
    let stamp = v.dir.join("keel-pins.txt");
    let pins = format!(
        "{}\n# tests/constraints/{}.txt\n{constraints}",
        spec.requirements.join("\n"),
        spec.name
    );
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == pins) && spec.programs.iter().all(|bin| v.bin(bin).exists()) {
        return Ok(v);
    }
    if !v.bin("pip").exists() {
        let python = find_python(spec.python)?;
        eprintln!("creating {} with {}", v.dir.display(), python.display());
        util::run(Command::new(&python).args(["-m", "venv"]).arg(&v.dir))?;
    }
    util::run(
        pip_install(&v)
            .arg("--constraint")
            .arg(&constraints_file)
            .args(&spec.requirements),
    )?;
    all_pinned(&v, &constraints_file, &constraints)?;
    std::fs::write(&stamp, pins).map_err(|e| e.to_string())?;
    Ok(v)
}

/// `pip install` in `v`. Wheels only: building a source distribution would install whatever
/// setuptools is newest into pip's isolated build environment, outside every pin.
fn pip_install(v: &Venv) -> Command {
    let mut pip = Command::new(v.bin("pip"));
    pip.args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
    ]);
    pip
}

/// pip's name for a distribution in requirement and freeze lines (PEP 503).
fn normalized(line: &str) -> Option<(String, &str)> {
    let (name, version) = line.split_once("==")?;
    let name = name.trim().to_ascii_lowercase().replace(['_', '.'], "-");
    Some((name, version.trim()))
}

/// Every package in `v` (pip freeze: all but pip itself and, before Python 3.12, setuptools and
/// wheel, which come with the venv) is at the version `constraints` pins: a package the file
/// lacks would have been installed at whatever version PyPI offered.
fn all_pinned(v: &Venv, file: &Path, constraints: &str) -> Result {
    let frozen = util::output(Command::new(v.bin("pip")).args(["freeze", "--disable-pip-version-check"]))?;
    let loose = unpinned(&frozen, constraints);
    if !loose.is_empty() {
        return Err(format!(
            "{} holds {}, which {} does not pin so: run `cargo xtask pins {}` (or, for a package \
             left over from older pins, remove {} and run again)",
            v.dir.display(),
            loose.join(", "),
            file.display(),
            v.dir.file_name().unwrap_or_default().to_string_lossy(),
            v.dir.display()
        ));
    }
    Ok(())
}

/// The lines of `pip freeze` output that are not `name==version` as `constraints` pins them.
fn unpinned<'a>(frozen: &'a str, constraints: &str) -> Vec<&'a str> {
    let pinned: Vec<(String, &str)> = constraints
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter_map(normalized)
        .collect();
    frozen
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !normalized(l).is_some_and(|p| pinned.contains(&p)))
        .collect()
}

/// `cargo xtask pins [NAME...]`: tests/constraints/NAME.txt for each virtualenv (default: all)
/// from a fresh one in build/pins/ filled from the top-level requirements alone, so with the
/// newest releases PyPI has of everything they allow.
pub fn pins_main(args: &[String]) -> Result {
    let mut specs: Vec<Spec> = RELEASES.iter().map(Release::spec).collect();
    specs.push(crate::ecosystem::tools_spec());
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    if let Some(unknown) = args.iter().find(|a| !names.contains(&a.as_str())) {
        return Err(format!(
            "no virtualenv {unknown}; cargo xtask pins takes {}",
            names.join(", ")
        ));
    }
    for spec in specs.iter().filter(|s| args.is_empty() || args.contains(&s.name)) {
        let v = Venv {
            dir: util::root().join("build/pins").join(&spec.name),
        };
        let _ = std::fs::remove_dir_all(&v.dir);
        let python = find_python(spec.python)?;
        util::run(Command::new(&python).args(["-m", "venv"]).arg(&v.dir))?;
        util::run(pip_install(&v).args(&spec.requirements))?;
        let frozen = util::output(Command::new(v.bin("pip")).args(["freeze", "--all", "--disable-pip-version-check"]))?;
        let version = util::output(Command::new(v.bin("python")).arg("--version"))?;
        let mut text = format!(
            "# Constraints for .venv/{} ({}): every package it holds, top-level and transitive, at\n\
             # the version xtask installs (pip install --constraint). `cargo xtask pins {}` writes it\n\
             # again from a fresh virtualenv of: {}\n",
            spec.name,
            version.trim(),
            spec.name,
            spec.requirements.join(" ")
        );
        // pip itself is the venv's own, from the Python build.
        for line in frozen.lines().filter(|l| !l.to_ascii_lowercase().starts_with("pip==")) {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(spec.constraints(), text).map_err(|e| e.to_string())?;
        eprintln!("wrote {}", spec.constraints().display());
        let _ = std::fs::remove_dir_all(&v.dir);
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    #[test]
    fn every_frozen_package_must_be_pinned() {
        let constraints = "# header\nJinja2==3.1.6\ngalaxy_importer==0.4.44  # a note\nruamel.yaml==0.19.1\n";
        let frozen = "jinja2==3.1.6\ngalaxy-importer==0.4.44\nruamel-yaml==0.19.1\n";
        assert!(super::unpinned(frozen, constraints).is_empty());
        let frozen = "Jinja2==3.1.7\ngalaxy_importer==0.4.44\nrich==15.0.0\n-e git+https://x/y#egg=z\n";
        assert_eq!(
            super::unpinned(frozen, constraints),
            ["Jinja2==3.1.7", "rich==15.0.0", "-e git+https://x/y#egg=z"]
        );
    }
}
