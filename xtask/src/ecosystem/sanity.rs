//! `ansible-test sanity` on the built collection, offline on this machine, and the ignore files
//! it needs.
//!
//! Without `--docker`, ansible-test makes a virtualenv per sanity test (pylint, yamllint,
//! validate-modules, ...) and fills it from PyPI, which CI reaches. Only its pip bootstrap comes
//! from elsewhere (get-pip.py from ci-files.testing.ansible.com, unreachable here), so a stand-in
//! that installs the same pinned pip from PyPI is put where ansible-test looks for a cached copy.
//! Its virtualenvs are kept under .venv/ansible-test (its HOME) so warm runs reuse them.
//!
//! What those virtualenvs hold is pinned by ansible-test itself, not by tests/constraints: each
//! sanity test's requirements come from its own frozen file (ansible_test/_data/requirements/
//! sanity.*.txt, every package at an exact version) and its pip version from its own table, both
//! fixed by the ansible-core release tests/constraints/ansible-2.X.txt pins. That is left alone.

use std::path::Path;

use crate::ansible::{self, Release};
use crate::util::{self, Result};

/// Ignore lines every ansible-core needs besides one per binary, each with its reason.
const KEPT: &[&str] = &[
    // One action plugin serves every module through meta/runtime.yml plugin_routing, so no module
    // shares its name.
    "plugins/action/native_module.py action-plugin-docs # routes every module; see meta/runtime.yml",
];

/// Writes tests/sanity/ignore-2.X.txt into the built collection for every ansible-core from the
/// oldest to the newest of the matrix: the KEPT lines and a `validate-modules!skip` line for each
/// binary in plugins/modules/__bin__ (validate-modules cannot read an ELF file). Lines in
/// collection/tests/sanity/ignore-2.X.txt, if any, come first.
pub fn write_ignores(tree: &Path) -> Result {
    let bins = super::list_dir(&tree.join("plugins/modules/__bin__"))?;
    for version in covered() {
        let path = tree.join(format!("tests/sanity/ignore-{version}.txt"));
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        for line in KEPT {
            text.push_str(line);
            text.push('\n');
        }
        for bin in &bins {
            text.push_str(&format!(
                "plugins/modules/__bin__/{bin} validate-modules!skip # a static binary; its modules' docs are the stubs\n"
            ));
        }
        super::write(&path, &text)?;
    }
    Ok(())
}

/// "2.17", "2.18", ... up to the newest release of the matrix.
fn covered() -> Vec<String> {
    let minor = |r: &Release| {
        r.core
            .split('.')
            .nth(1)
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(0)
    };
    (minor(&ansible::RELEASES[0])..=minor(ansible::NEWEST))
        .map(|m| format!("2.{m}"))
        .collect()
}

/// Runs every sanity test ansible-test `release` has on a copy of build/collection laid out as
/// ansible_collections/keel/storage. Tests with nothing to check (shellcheck, pslint,
/// empty-init) say "No tests applicable"; none is skipped by choice.
pub fn run(release: &Release, root: &Path, work: &Path) -> Result {
    let venv = ansible::venv(release)?;
    let stage = work.join(format!("sanity-{}", release.core));
    let tree = stage.join("ansible_collections/keel/storage");
    let _ = std::fs::remove_dir_all(&stage);
    util::copy_tree(&root.join("build/collection"), &tree)?;
    // A repository of its own: inside this one (where build/ is ignored) ansible-test finds no files.
    util::output(std::process::Command::new("git").args(["init", "-q"]).arg(&tree))?;
    let home = root.join(".venv/ansible-test");
    pip_bootstrap_standin(&venv.dir, &home)?;
    let mut cmd = std::process::Command::new("nice");
    cmd.args(["-n", "10"])
        .arg(venv.bin("ansible-test"))
        .args(["sanity", "--color", "no", "--local", "--python-interpreter"])
        .arg(venv.bin("python"))
        .current_dir(&tree)
        .env("HOME", &home)
        .env(
            "PATH",
            format!(
                "{}:{}",
                venv.dir.join("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        );
    util::run_explained(&mut cmd).map(|_| ())
}

/// ansible-test bootstraps pip in each new virtualenv with get-pip.py for its pinned pip version,
/// cached at ~/.ansible/test/cache/get_pip_X_Y.py. The stand-in takes the same arguments and
/// installs that pip from PyPI with the interpreter's own ensurepip.
fn pip_bootstrap_standin(venv: &Path, home: &Path) -> Result {
    let src = glob_one(venv, "lib", "ansible_test/_internal/python_requirements.py")?;
    let text = std::fs::read_to_string(&src).map_err(|e| e.to_string())?;
    let version = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("pip='").and_then(|v| v.strip_suffix("',")))
        .ok_or_else(|| format!("cannot find ansible-test's pip version in {}", src.display()))?;
    let path = home.join(format!(".ansible/test/cache/get_pip_{}.py", version.replace('.', "_")));
    super::write(
        &path,
        "\"\"\"Stand-in for get-pip.py (written by cargo xtask: see xtask/src/ecosystem/sanity.rs).\"\"\"\n\
import subprocess\nimport sys\n\n\
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]\n\
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)\n\
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install', '--quiet'] + args))\n",
    )?;
    Ok(())
}

/// venv/lib/pythonX.Y/site-packages/REL: the one Python the venv has.
fn glob_one(venv: &Path, lib: &str, rel: &str) -> Result<std::path::PathBuf> {
    for py in super::list_dir(&venv.join(lib))? {
        let p = venv.join(lib).join(&py).join("site-packages").join(rel);
        if p.exists() {
            return Ok(p);
        }
    }
    Err(format!("no {rel} in {}", venv.display()))
}
