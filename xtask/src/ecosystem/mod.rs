//! Where operators meet Keel: Galaxy (galaxy-importer, ansible-galaxy install), ansible-test
//! sanity, ansible-lint, the changelog, the module docs and their examples, and AWX (the
//! execution environment and jobs run through ansible-runner as AWX runs them).
//!
//! `cargo xtask test` runs these after the collection checks (`--only ecosystem` runs nothing
//! else). The Python tools live in `.venv/tools`, beside the newest ansible-core, every package
//! at the version tests/constraints/tools.txt pins.

pub mod awx;
pub(crate) mod docs;
pub mod sanity;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ansible::{self, Venv};
use crate::test::Tally;
use crate::util::{self, Result};

/// Pinned so a new release of a linter cannot turn CI red overnight; ansible-lint 26.x and
/// galaxy-importer 0.4.44 (which runs that ansible-lint) support the newest ansible-core of the
/// matrix. Raise them together, then `cargo xtask pins tools` for what they pull in
/// (tests/constraints/tools.txt). (requirement, a program it installs; galaxy-importer has none
/// of its own and runs as `python -m galaxy_importer.main`)
const TOOLS: &[(&str, &str)] = &[
    ("galaxy-importer==0.4.44", "python"),
    ("ansible-lint==26.10.1", "ansible-lint"),
    ("ansible-builder==3.2.0", "ansible-builder"),
    ("ansible-runner==2.4.3", "ansible-runner"),
    ("antsibull-changelog==0.36.0", "antsibull-changelog"),
];

/// Galaxy refuses larger collection artifacts.
const GALAXY_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// `.venv/tools`: the tools above and the newest ansible-core of the matrix, every package at
/// the version tests/constraints/tools.txt pins.
pub fn tools_spec() -> ansible::Spec {
    let release = ansible::NEWEST;
    ansible::Spec {
        name: "tools".into(),
        python: release.python,
        requirements: std::iter::once(format!("ansible-core=={}.*", release.core))
            .chain(TOOLS.iter().map(|(req, _)| req.to_string()))
            .collect(),
        programs: TOOLS.iter().map(|(_, bin)| *bin).collect(),
    }
}

/// `.venv/tools`, created on first use and refilled when the pins or the constraints change.
pub fn tools() -> Result<Venv> {
    ansible::ensure(&tools_spec())
}

/// The ecosystem checks, in the order an operator meets them.
pub fn checks(t: &mut Tally, root: &Path, tarball: &Path, quick: bool) {
    let work = root.join("build").join("ecosystem");
    let _ = std::fs::remove_dir_all(&work);
    let tools = match std::fs::create_dir_all(&work)
        .map_err(|e| e.to_string())
        .and_then(|_| tools())
    {
        Ok(v) => v,
        Err(e) => {
            t.fail("ecosystem tools virtualenv (.venv/tools)", e);
            return;
        }
    };
    // The tarball as installed by the galaxy check, for ansible-doc, lint, examples and AWX.
    let collections = work.join("collections");

    t.check(
        "galaxy: tarball installs from the file and from requirements.yml (type: file), far under 20 MB",
        || galaxy_install(root, tarball, &work, &collections),
    );
    t.check(
        "galaxy: galaxy-importer accepts the tarball; every module listed with docs",
        || galaxy_importer(&tools, root, tarball, &work),
    );
    let mut notices = Vec::new();
    t.check(
        "versions: requires_ansible is the oldest ansible-core tested; a newer one on PyPI is a notice",
        || versions(&tools, root).map(|n| notices = n),
    );
    for n in notices {
        t.notice(n);
    }
    for release in crate::test::releases(quick) {
        t.check(
            &format!(
                "ansible-core {}: ansible-test sanity on the built collection",
                release.core
            ),
            || sanity::run(release, root, &work),
        );
    }
    t.check(
        "ansible-lint --profile production: collection, playbooks/, molecule/, tests/playbooks, awx/",
        || lint(&tools, root, &work, &collections),
    );
    t.check(
        "changelog: antsibull-changelog lint; CHANGELOG.rst matches changelogs/",
        || changelog(&tools, root, &work),
    );
    t.check(
        "docs: every module's return values match what its binary returns (its options are generated from its spec)",
        || docs::match_binaries(&tools, root, &collections),
    );
    t.check(
        "docs: every EXAMPLES block passes syntax-check; those a fake serves run here (the others on the testbed)",
        || docs::examples(&tools, root, &work, &collections),
    );
    t.check(
        "awx: ansible-builder create makes the execution environment's build context",
        || awx::ee_context(&tools, root, tarball, &work.join("ee")).map(|_| ()),
    );
    t.check("awx: credential type and project requirements are well-formed", || {
        awx::definitions(&tools, root, &collections)
    });
    t.check(
        "awx: a job run through ansible-runner as AWX runs it (project sync, events, status)",
        || awx::demo_job(&tools, root, tarball, &work.join("awx-job")),
    );
}

/// Settings every tool run here shares: only our collections, no user configuration, and a HOME
/// of its own, so that nothing in the user's ~/.ansible (a stale keel.storage there shadows the
/// one under test) takes part.
pub(crate) fn isolate(cmd: &mut Command, home: &Path, collections: Option<&Path>) {
    let _ = std::fs::create_dir_all(home);
    cmd.env("HOME", home)
        .env_remove("ANSIBLE_CONFIG")
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_COLLECTIONS_PATH", collections.unwrap_or(home));
}

fn galaxy_install(root: &Path, tarball: &Path, work: &Path, collections: &Path) -> Result {
    let bytes = std::fs::metadata(tarball).map_err(|e| e.to_string())?.len();
    eprintln!(
        "{} is {bytes} bytes ({:.1} % of Galaxy's 20 MB)",
        tarball.display(),
        bytes as f64 * 100.0 / GALAXY_MAX_BYTES as f64
    );
    // "Far under": within the collection's own budget, 40 % of Galaxy's limit.
    if bytes > crate::collection::MAX_TARBALL_BYTES.min(GALAXY_MAX_BYTES) {
        return Err(format!(
            "the tarball is {bytes} bytes, over the 8 MB budget (Galaxy takes 20 MB)"
        ));
    }
    let requirements = requirements_file(&work.join("requirements.yml"), tarball)?;
    // The oldest and the newest ansible-galaxy of the matrix, each both ways.
    for release in [&ansible::RELEASES[0], ansible::NEWEST] {
        let venv = ansible::venv(release)?;
        for (how, dest) in [
            ("file", collections.to_path_buf()),
            ("requirements", work.join(format!("req-{}", release.core))),
        ] {
            let _ = std::fs::remove_dir_all(&dest);
            let mut cmd = venv.cmd("ansible-galaxy");
            isolate(&mut cmd, &work.join("home"), Some(&dest));
            cmd.args(["collection", "install", "--force", "-p"]).arg(&dest);
            if how == "file" {
                cmd.arg(tarball);
            } else {
                cmd.arg("-r").arg(&requirements);
            }
            let out = util::output(&mut cmd)?;
            if !out.contains("keel.storage:") || !out.contains("was installed successfully") {
                return Err(format!(
                    "ansible-galaxy {} ({how}) did not install keel.storage:\n{out}",
                    release.core
                ));
            }
            installed_ok(&dest, root)?;
        }
    }
    Ok(())
}

/// An installed collection holds every binary, executable, and its MANIFEST names this version.
fn installed_ok(collections: &Path, root: &Path) -> Result {
    use std::os::unix::fs::PermissionsExt;
    let coll = collections.join("ansible_collections/keel/storage");
    let manifest =
        std::fs::read_to_string(coll.join("MANIFEST.json")).map_err(|e| format!("{}: {e}", coll.display()))?;
    let version = crate::collection::galaxy_version(&root.join("galaxy.yml"))?;
    if !manifest.contains(&format!("\"version\": \"{version}\"")) {
        return Err(format!("{}/MANIFEST.json is not version {version}", coll.display()));
    }
    let bins = list_dir(&coll.join("plugins/modules/__bin__"))?;
    if bins.is_empty() {
        return Err("the installed collection has no module binaries".into());
    }
    for b in bins {
        let mode = std::fs::metadata(coll.join("plugins/modules/__bin__").join(&b))
            .map_err(|e| e.to_string())?
            .permissions()
            .mode();
        if mode & 0o111 != 0o111 {
            return Err(format!("installed binary {b} has mode {mode:o}, not executable"));
        }
    }
    Ok(())
}

/// Runs galaxy-importer offline as Galaxy does on upload (ansible-doc and ansible-lint included)
/// and asserts on its result: every module stub listed with its docs, no warning at all.
fn galaxy_importer(tools: &Venv, root: &Path, tarball: &Path, work: &Path) -> Result {
    let dir = work.join("importer");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let cfg = dir.join("galaxy-importer.cfg");
    // Galaxy's own settings where they are stricter than the defaults.
    std::fs::write(
        &cfg,
        "[galaxy-importer]\nrun_ansible_doc = True\nrun_ansible_lint = True\ncheck_required_tags = True\ncheck_changelog = True\n",
    )
    .map_err(|e| e.to_string())?;
    let mut cmd = tools.cmd("python");
    isolate(&mut cmd, &dir.join("home"), None);
    cmd.current_dir(&dir)
        .env("GALAXY_IMPORTER_CONFIG", &cfg)
        .args(["-m", "galaxy_importer.main", "--print-result"])
        .arg(tarball);
    let out = cmd.output().map_err(|e| e.to_string())?;
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text_log: String = log
        .lines()
        .take_while(|l| !l.starts_with('{'))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("{text_log}");
    if !out.status.success() {
        return Err(format!("galaxy-importer failed ({}):\n{log}", out.status));
    }
    let complaints: Vec<&str> = text_log
        .lines()
        .filter(|l| l.contains("WARNING") || l.contains("ERROR"))
        .filter(|l| !expected_importer_warning(l))
        .collect();
    if !complaints.is_empty() {
        return Err(format!("galaxy-importer complained:\n{}", complaints.join("\n")));
    }
    let result: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("importer_result.json")).map_err(|e| format!("importer_result.json: {e}"))?,
    )
    .map_err(|e| e.to_string())?;
    let requires = result["requires_ansible"].as_str().unwrap_or_default();
    if requires != format!(">={}.0", ansible::RELEASES[0].core) {
        return Err(format!("galaxy-importer read requires_ansible {requires:?}"));
    }
    let contents = result["docs_blob"]["contents"].as_array().cloned().unwrap_or_default();
    let modules = stubs(root)?;
    for m in &modules {
        let entry = contents
            .iter()
            .find(|c| c["content_type"] == "module" && c["content_name"] == m.as_str())
            .ok_or_else(|| format!("galaxy-importer does not list module {m}"))?;
        for part in ["doc", "examples", "return"] {
            let v = &entry["doc_strings"][part];
            if v.is_null() || v.as_str() == Some("") || v.as_object().is_some_and(|o| o.is_empty()) {
                return Err(format!("galaxy-importer has no {part} for module {m}"));
            }
        }
    }
    let listed = contents.iter().filter(|c| c["content_type"] == "module").count();
    if listed != modules.len() {
        return Err(format!(
            "galaxy-importer lists {listed} modules, the collection documents {}",
            modules.len()
        ));
    }
    eprintln!("galaxy-importer lists {listed} modules, each with doc, examples and return");
    Ok(())
}

/// The warnings every import of a binary-module collection gets, and only those: the
/// `validate-modules!skip` line per binary in tests/sanity/ignore-2.X.txt (ansible-lint's sanity
/// rule, whose allow list is partner certification's), and Galaxy's note that ignore files exist.
fn expected_importer_warning(line: &str) -> bool {
    let ignore_file = |l: &str| l.contains("tests/sanity/ignore-2.") || l.contains("found ignore-2.");
    (line.contains("sanity[cannot-ignore]") && line.contains("validate-modules!skip") && ignore_file(line))
        || (line.contains("Ignore files skip ansible-test sanity tests") && ignore_file(line))
}

/// requires_ansible names the oldest ansible-core the suite runs, and RELEASES goes from the
/// oldest to the newest. What PyPI offers is only reported, as notices: an ansible-core line
/// newer than the matrix, or a newer release of the newest line than its constraints file pins
/// (and a PyPI that cannot be asked). A release elsewhere must not turn CI red by itself.
fn versions(tools: &Venv, root: &Path) -> Result<Vec<String>> {
    let runtime = std::fs::read_to_string(root.join("collection/meta/runtime.yml")).map_err(|e| e.to_string())?;
    let oldest = &ansible::RELEASES[0];
    let want = format!("requires_ansible: \">={}.0\"", oldest.core);
    if !runtime.lines().any(|l| l.trim() == want) {
        return Err(format!(
            "collection/meta/runtime.yml must say {want} (the oldest ansible-core tested)"
        ));
    }
    for pair in ansible::RELEASES.windows(2) {
        if line_of(pair[0].core) >= line_of(pair[1].core) {
            return Err("ansible::RELEASES must go from the oldest to the newest".into());
        }
    }
    let matrix: Vec<&str> = ansible::RELEASES.iter().map(|r| r.core).collect();
    let newest = match newest_on_pypi(tools) {
        Ok(v) => v,
        Err(e) => {
            return Ok(vec![format!(
                "cannot ask PyPI for the newest ansible-core (the tested matrix is {}): {}",
                matrix.join(", "),
                e.lines().take(6).collect::<Vec<_>>().join(" / ")
            )])
        }
    };
    eprintln!("newest ansible-core on PyPI: {newest}; matrix: {}", matrix.join(", "));
    let spec = ansible::NEWEST.spec();
    let constraints = std::fs::read_to_string(spec.constraints()).unwrap_or_default();
    let pinned = constraints
        .lines()
        .find_map(|l| l.trim().strip_prefix("ansible-core=="));
    Ok(pypi_notices(&newest, &matrix, &spec.name, pinned))
}

/// (major, minor) of "2.21" or "2.21.5".
fn line_of(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

/// What `newest` on PyPI means for the matrix (oldest to newest line) and for the newest line's
/// constraints file `name`, which pins ansible-core `pinned`.
fn pypi_notices(newest: &str, matrix: &[&str], name: &str, pinned: Option<&str>) -> Vec<String> {
    let last = matrix.last().copied().unwrap_or_default();
    if line_of(newest) > line_of(last) {
        let line = newest.split('.').take(2).collect::<Vec<_>>().join(".");
        return vec![format!(
            "ansible-core {newest} is out; the tested matrix is {}: add {line} to ansible::RELEASES",
            matrix.join(", ")
        )];
    }
    match pinned {
        Some(p) if line_of(newest) == line_of(last) && p != newest => vec![format!(
            "ansible-core {newest} is out; tests/constraints/{name}.txt pins {p}: cargo xtask pins"
        )],
        _ => Vec::new(),
    }
}

/// The newest ansible-core release on PyPI for any Python (its newest line may need a newer one
/// than the venv's), asked with a short timeout.
fn newest_on_pypi(tools: &Venv) -> Result<String> {
    let out = util::output(tools.cmd("pip").args([
        "index",
        "versions",
        "ansible-core",
        "--python-version",
        "3.99",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--timeout",
        "20",
        "--retries",
        "2",
    ]))?;
    out.lines()
        .find_map(|l| l.strip_prefix("ansible-core ("))
        .and_then(|l| l.strip_suffix(')'))
        .map(str::to_string)
        .ok_or_else(|| format!("cannot read pip index versions:\n{out}"))
}

/// ansible-lint with the production profile on the built collection (galaxy.yml, meta/,
/// changelogs/, tests/sanity/, playbooks/ and roles/ as shipped) plus molecule/,
/// tests/playbooks and awx/ (execution environment, example project), all in one staging tree
/// so they resolve keel.storage as installed.
fn lint(tools: &Venv, root: &Path, work: &Path, collections: &Path) -> Result {
    let stage = work.join("lint");
    let _ = std::fs::remove_dir_all(&stage);
    util::copy_tree(&root.join("build/collection"), &stage)?;
    util::copy_tree(&root.join("molecule"), &stage.join("molecule"))?;
    util::copy_tree(&root.join("tests/playbooks"), &stage.join("tests/playbooks"))?;
    util::copy_tree(&root.join("awx"), &stage.join("awx"))?;
    std::fs::copy(root.join(".ansible-lint"), stage.join(".ansible-lint"))
        .map_err(|e| format!(".ansible-lint: {e}"))?;
    // The project root for ansible-lint.
    std::fs::create_dir_all(stage.join(".git")).map_err(|e| e.to_string())?;
    let playbooks = list_dir(&stage.join("playbooks")).unwrap_or_default();
    eprintln!(
        "playbooks/ holds {} playbook(s): {}",
        playbooks.len(),
        playbooks.join(", ")
    );
    let mut cmd = tools.cmd("ansible-lint");
    isolate(&mut cmd, &work.join("home"), Some(collections));
    cmd.current_dir(&stage)
        .args(["--profile", "production", "--offline", "--nocolor", "--strict"]);
    util::run_explained(&mut cmd).map(|_| ())
}

/// changelogs/ is valid and CHANGELOG.rst is what `antsibull-changelog generate` makes of it.
fn changelog(tools: &Venv, root: &Path, work: &Path) -> Result {
    let stage = work.join("changelog");
    let _ = std::fs::remove_dir_all(&stage);
    util::copy_tree(&root.join("changelogs"), &stage.join("changelogs"))?;
    for file in ["galaxy.yml", "CHANGELOG.rst"] {
        std::fs::copy(root.join(file), stage.join(file)).map_err(|e| format!("{file}: {e}"))?;
    }
    // A module added after the last `cargo xtask changelog` would ship unannounced.
    let listed = std::fs::read_to_string(root.join("changelogs/changelog.yaml")).map_err(|e| e.to_string())?;
    let mut unlisted: Vec<String> = stubs(root)?
        .into_iter()
        .filter(|m| !listed.contains(&format!("name: {m}\n")))
        .collect();
    unlisted.sort();
    if !unlisted.is_empty() {
        return Err(format!(
            "changelogs/changelog.yaml does not list the modules {}: run `cargo xtask changelog`",
            unlisted.join(", ")
        ));
    }
    util::run(tools.cmd("antsibull-changelog").current_dir(&stage).arg("lint"))?;
    util::run(tools.cmd("antsibull-changelog").current_dir(&stage).arg("generate"))?;
    let want = std::fs::read_to_string(stage.join("CHANGELOG.rst")).map_err(|e| e.to_string())?;
    let have = std::fs::read_to_string(root.join("CHANGELOG.rst")).map_err(|e| e.to_string())?;
    if want != have {
        return Err("CHANGELOG.rst is not up to date: run `antsibull-changelog generate` (in .venv/tools)".into());
    }
    Ok(())
}

/// `cargo xtask changelog`: `antsibull-changelog release` for galaxy.yml's version, run in the
/// built collection (where the plugins are, so new modules are listed), then changelogs/ and
/// CHANGELOG.rst copied back. Fragments it consumed are removed; run again after adding
/// fragments to the same version and they are merged into it.
pub fn changelog_main(_args: &[String]) -> Result {
    let root = util::root();
    crate::collection::build()?;
    let tools = tools()?;
    let stage = root.join("build/changelog");
    let _ = std::fs::remove_dir_all(&stage);
    util::copy_tree(&root.join("build/collection"), &stage)?;
    let mut cmd = tools.cmd("antsibull-changelog");
    isolate(&mut cmd, &stage.join(".home"), None);
    util::run(
        cmd.current_dir(&stage)
            .args(["release", "--reload-plugins", "--update-existing"]),
    )?;
    for file in [
        "changelogs/changelog.yaml",
        "changelogs/.plugin-cache.yaml",
        "CHANGELOG.rst",
    ] {
        std::fs::copy(stage.join(file), root.join(file)).map_err(|e| format!("{file}: {e}"))?;
    }
    let kept = list_dir(&stage.join("changelogs/fragments"))?;
    for f in list_dir(&root.join("changelogs/fragments"))? {
        if !kept.contains(&f) && f != ".keep" {
            std::fs::remove_file(root.join("changelogs/fragments").join(&f)).map_err(|e| e.to_string())?;
            eprintln!("released and removed changelogs/fragments/{f}");
        }
    }
    Ok(())
}

/// The documented modules: one generated stub per module in the built collection
/// (build/collection/plugins/modules, written by `cargo xtask collection`).
pub(crate) fn stubs(root: &Path) -> Result<Vec<String>> {
    Ok(list_dir(&root.join("build/collection/plugins/modules"))?
        .into_iter()
        .filter_map(|n| n.strip_suffix(".py").map(str::to_string))
        .collect())
}

/// File names in `dir`, sorted.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Reads a YAML file as JSON with the tools' PyYAML (xtask has no YAML parser of its own).
pub(crate) fn yaml_to_json(tools: &Venv, path: &Path) -> Result<serde_json::Value> {
    let out = util::output(
        tools
            .cmd("python")
            .arg("-c")
            .arg("import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1])), default=str))")
            .arg(path),
    )?;
    serde_json::from_str(&out).map_err(|e| format!("{}: {e}", path.display()))
}

/// A `requirements.yml` that installs the collection from `tarball` (a project sync, a galaxy
/// install from a file).
pub(crate) fn requirements_file(path: &Path, tarball: &Path) -> Result<PathBuf> {
    write(
        path,
        &format!("---\ncollections:\n  - name: {}\n    type: file\n", tarball.display()),
    )
}

/// The tarball `cargo xtask collection` built for galaxy.yml's version.
pub(crate) fn built_tarball(root: &Path) -> Result<PathBuf> {
    let version = crate::collection::galaxy_version(&root.join("galaxy.yml"))?;
    Ok(root.join(format!("dist/keel-storage-{version}.tar.gz")))
}

pub(crate) fn write(path: &Path, text: &str) -> Result<PathBuf> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::pypi_notices;

    #[test]
    fn a_newer_ansible_core_is_a_notice() {
        let matrix = ["2.17", "2.21"];
        let notices = |newest| pypi_notices(newest, &matrix, "ansible-2.21", Some("2.21.5"));
        assert!(notices("2.21.5").is_empty());
        assert!(notices("2.20.9").is_empty());
        assert_eq!(
            notices("2.22.0"),
            ["ansible-core 2.22.0 is out; the tested matrix is 2.17, 2.21: add 2.22 to ansible::RELEASES"]
        );
        assert_eq!(notices("3.0.1").len(), 1);
        assert_eq!(
            notices("2.21.6"),
            ["ansible-core 2.21.6 is out; tests/constraints/ansible-2.21.txt pins 2.21.5: cargo xtask pins"]
        );
    }
}
