//! `keel.storage.gluster_install`: moves every Gluster package of this host to one release with
//! the host's package manager (apt, dnf, yum or zypper), optionally from a given repository (a
//! dark site's local mirror), refuses a downgrade unless asked, then checks what `gluster
//! --version` reports.

pub use keel_gluster_model::packages;

use std::time::Duration;

use keel_gluster_cli::parse::{parse_version, version_from, GlusterVersion};
use keel_runtime::command::program_exists;
use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use packages::{Installed, Manager, Plan};

mod spec;
pub use spec::MODULE;

/// Where a given repository is written, under /etc (one file of Keel's own per package manager,
/// removed once the install is done), and an apt login.
const APT_SOURCE: &str = "apt/sources.list.d/keel-gluster.list";
const APT_AUTH: &str = "apt/auth.conf.d/keel-gluster.conf";
const YUM_REPO: &str = "yum.repos.d/keel-gluster.repo";
const ZYPP_REPO: &str = "zypp/repos.d/keel-gluster.repo";
/// Tests put /etc elsewhere (the module tests run as root on a machine of their own).
const ETC_VAR: &str = "KEEL_TEST_ETC_DIR";

fn etc(file: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os(ETC_VAR).unwrap_or_else(|| "/etc".into())).join(file)
}

/// The repository files this run wrote, removed when it ends, whatever the outcome: a source
/// left behind would serve (and authenticate to) that repository for every later apt or dnf run.
#[derive(Default)]
struct RepoFiles(Vec<std::path::PathBuf>);

impl RepoFiles {
    /// `text` as `path`, mode 0600 (it may hold a login), written whole (keel_host::record).
    fn write(&mut self, ctx: &Ctx, path: std::path::PathBuf, text: &str) -> Result<(), ModuleError> {
        if ctx.check_mode() {
            return Ok(());
        }
        keel_host::record::write_file(&path, text.as_bytes())
            .map_err(|e| ModuleError::failed(format!("cannot write {}: {e}", path.display())))?;
        self.0.push(path);
        Ok(())
    }
}

impl Drop for RepoFiles {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[derive(Deserialize)]
struct Args {
    version: String,
    packages: Option<Vec<String>>,
    repo: Option<String>,
    repo_key: Option<String>,
    repo_unsigned_ok: bool,
    allow_downgrade: bool,
    update_cache: bool,
    package_manager: String,
    install_timeout: u64,
}

/// How far a run got, to judge on failure whether the Gluster services may start again.
#[derive(Default)]
struct Progress {
    manager: Option<Manager>,
    release: Option<String>,
    /// The Gluster packages as they were before this run changed anything.
    before: Option<Vec<Installed>>,
    /// The install transaction was started (and ended: one left running is `LeftRunning`).
    transaction: bool,
}

/// Every result says whether the Gluster services may start (`services_safe_to_start`), so that
/// a playbook's rescue never starts glusterd on packages left half way.
fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let mut progress = Progress::default();
    match install(ctx, opts, &mut progress) {
        Ok(r) => Ok(r.with("services_safe_to_start", true)),
        Err(e) => Err(failure(ctx, e, &progress)),
    }
}

fn install(ctx: &mut Ctx, opts: Map<String, Value>, progress: &mut Progress) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_install", opts)?;
    if let Some(bad) = args
        .packages
        .iter()
        .flatten()
        .find(|p| !packages::valid_package_name(p))
    {
        return Err(ModuleError::invalid_args(format!(
            "gluster_install: option 'packages': '{bad}' is not a package name (letters, digits and + . _ -)"
        )));
    }
    if args.repo.is_none() && (args.repo_key.is_some() || args.repo_unsigned_ok) {
        return Err(ModuleError::invalid_args(
            "gluster_install: options 'repo_key' and 'repo_unsigned_ok' apply to 'repo', which is not set",
        ));
    }
    let release = version_from(&args.version).ok_or_else(|| {
        ModuleError::invalid_args(format!(
            "gluster_install: option 'version' must be a Gluster release like 11.1, got '{}'",
            args.version
        ))
    })?;
    progress.release = Some(release.text.clone());
    let manager = detect(&args.package_manager)?;
    progress.manager = Some(manager);
    let timeout = Duration::from_secs(args.install_timeout);
    let installed = query_installed(ctx, manager)?;
    progress.before = Some(installed.clone());
    let names = match &args.packages {
        Some(p) if !p.is_empty() => p.clone(),
        _ => {
            // A package rpm lists at two versions is moved once.
            let mut names: Vec<String> = Vec::new();
            for i in &installed {
                if !names.contains(&i.name) {
                    names.push(i.name.clone());
                }
            }
            names
        }
    };
    if names.is_empty() {
        return Err(ModuleError::failed(
            "no Gluster package is installed on this host; name the packages to install in the 'packages' option",
        ));
    }
    let before = gluster_version(ctx).ok();

    // Dropped at the end of this function: the repository is this run's only.
    let mut files = RepoFiles::default();
    if let Some(repo) = &args.repo {
        let trust = trust(&args)?;
        if packages::locate(repo)
            .login
            .is_some_and(|(user, password)| format!("{user}{password}").chars().any(|c| c.is_whitespace()))
        {
            return Err(ModuleError::invalid_args(
                "gluster_install: option 'repo': a login with spaces cannot be written to apt's or dnf's \
                 configuration",
            ));
        }
        match manager {
            Manager::Apt => {
                let (line, auth) = packages::apt_source(repo, trust)
                    .map_err(|e| ModuleError::invalid_args(format!("gluster_install: option 'repo': {e}")))?;
                if let Some(auth) = auth {
                    files.write(ctx, etc(APT_AUTH), &auth)?;
                }
                files.write(ctx, etc(APT_SOURCE), &format!("{line}\n"))?;
            }
            Manager::Dnf | Manager::Yum => {
                files.write(ctx, etc(YUM_REPO), &packages::rpm_repo_file(manager, repo, trust))?;
            }
            Manager::Zypper => {
                files.write(ctx, etc(ZYPP_REPO), &packages::rpm_repo_file(manager, repo, trust))?;
                if let (packages::Trust::Key(key), false) = (trust, ctx.check_mode()) {
                    // zypper trusts what rpm's keyring holds; it would ask about a key only named.
                    let out = ctx.run(&["rpm", "--import", key], Duration::from_secs(60))?;
                    if !out.success() {
                        return Err(ModuleError::command(format!("rpm could not import the key {key}"), out));
                    }
                }
            }
        }
    }
    if manager == Manager::Apt && args.update_cache && !ctx.check_mode() {
        apt_update(ctx, args.repo.is_some(), timeout)?;
    }
    let madison = if manager == Manager::Apt {
        let mut argv = vec!["apt-cache", "madison"];
        argv.extend(names.iter().map(String::as_str));
        ctx.run(&argv, Duration::from_secs(60))?.stdout
    } else {
        String::new()
    };
    let exact = |p: &str| {
        (manager == Manager::Apt)
            .then(|| packages::madison_candidate(&madison, p, &release))
            .flatten()
    };
    // A release may drop a package (11.1 has no libglusterd0): move what the repository offers,
    // leave the rest to the package manager's dependency resolution, and say so.
    let (names, dropped): (Vec<String>, Vec<String>) = if manager == Manager::Apt && !ctx.check_mode() {
        names.into_iter().partition(|n| {
            exact(n).is_some()
                || installed
                    .iter()
                    .any(|i| &i.name == n && at_release(&i.version, &release))
        })
    } else {
        (names, Vec::new())
    };
    if names.is_empty() {
        return Err(ModuleError::failed(format!(
            "the package repositories offer no {} build of any Gluster package (apt-cache madison lists: {}). Add \
             the repository that holds it (option 'repo') or check the version",
            release.text,
            madison_summary(&madison)
        )));
    }
    if !dropped.is_empty() {
        ctx.warn(format!(
            "no {} build of {} in the repositories (dropped by that release?); left to the package manager",
            release.text,
            dropped.join(", ")
        ));
    }
    let plan = packages::plan(&names, &installed, &release, exact);
    let base = |r: ModuleResult| {
        r.with("package_manager", manager)
            .with("version_before", before.as_ref().map(|v| v.text.clone()))
    };
    let (moves, downgrade) = match plan {
        Plan::AtRelease => {
            let now = gluster_version(ctx).ok();
            let msg = format!(
                "every Gluster package ({}) already carries {}",
                names.join(", "),
                release.text
            );
            return Ok(base(ModuleResult::new(false, msg))
                .with("version", now.map(|v| v.text))
                .with("packages", Vec::<packages::Move>::new()));
        }
        Plan::Install { moves, downgrade } => (moves, downgrade),
    };
    if downgrade && !args.allow_downgrade {
        let from: Vec<String> = moves.iter().filter_map(|m| m.from.clone()).collect();
        return Err(ModuleError::failed(format!(
            "refusing to downgrade Gluster to {} (installed: {}): Gluster does not support downgrades; set \
             allow_downgrade: true only to roll back a server that has not yet rejoined the pool",
            release.text,
            from.join(", ")
        )));
    }
    let diff = json!({
        "before": moves.iter().map(|m| format!("{} {}\n", m.name, m.from.as_deref().unwrap_or("(not installed)"))).collect::<String>(),
        "after": moves.iter().map(|m| format!("{} {}\n", m.name, m.to)).collect::<String>(),
        "before_header": "installed packages", "after_header": "installed packages"});
    if ctx.check_mode() {
        let mut r = base(ModuleResult::new(
            true,
            format!("would install Gluster {} ({} package(s))", release.text, moves.len()),
        ));
        r.diff = Some(diff);
        return Ok(r.with("packages", &moves).with("version", before.map(|v| v.text)));
    }
    if running("glusterd") {
        ctx.warn(
            "glusterd is running during the package installation: every Gluster process keeps running the old, \
             replaced binaries until restarted. Stop the services first (keel.storage.gluster_service).",
        );
    }
    let argv = packages::install_argv(manager, &moves, downgrade);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    progress.transaction = true;
    // Killed half way, dpkg or rpm would leave packages broken: past the timeout it goes on alone.
    let out = ctx.runner.run_unkillable(
        &argv,
        &[("DEBIAN_FRONTEND", "noninteractive"), ("NEEDRESTART_MODE", "l")],
        timeout,
    )?;
    if !out.success() {
        // What dpkg left half way (a maintainer script that failed) decides what to do next.
        let left = query_installed(ctx, manager)
            .map(|now| unfinished_list(&now))
            .unwrap_or_default();
        let left = if left.is_empty() {
            String::new()
        } else {
            format!(
                "; it left {left}: Gluster cannot start like this. Fix the cause shown in the output, then run this \
                 task again (it installs them again) or `dpkg --configure -a`"
            )
        };
        let hint = signature_hint(&format!("{}{}", out.stdout, out.stderr));
        return Err(ModuleError::command(
            format!(
                "{} could not install Gluster {} (rc {}){left}{hint}; the package manager's output follows",
                manager.program(),
                release.text,
                out.rc
            ),
            out,
        ));
    }
    verify(ctx, manager, &names, &release)?;
    let now = gluster_version(ctx)?;
    let mut r = base(ModuleResult::new(
        true,
        format!(
            "installed Gluster {} ({} package(s)); gluster --version reports {}",
            release.text,
            moves.len(),
            now.text
        ),
    ));
    r.diff = Some(diff);
    Ok(r.with("packages", &moves).with("version", now.text))
}

/// `err` as a result carrying `services_safe_to_start`, `package_manager_running` and, when it
/// was read, the Gluster packages' state now (`installed`, `unfinished`).
fn failure(ctx: &mut Ctx, err: ModuleError, progress: &Progress) -> ModuleError {
    if let ModuleError::LeftRunning { .. } = err {
        return left_running(ctx, err, progress);
    }
    let mut msg = err.to_string();
    let mut data = match err {
        ModuleError::Failed { data, .. } => data,
        ModuleError::Command { output, .. } => {
            let mut data = Map::new();
            data.insert("cmd".into(), json!(output.cmd));
            data.insert("rc".into(), json!(output.rc));
            data.insert("stdout".into(), json!(output.stdout));
            data.insert("stderr".into(), json!(output.stderr));
            data
        }
        ModuleError::Timeout { cmd, .. } => {
            let mut data = Map::new();
            data.insert("cmd".into(), json!(cmd));
            data
        }
        _ => Map::new(),
    };
    let (safe, state) = judge(ctx, progress);
    if let Some(m) = progress.manager {
        data.entry("package_manager").or_insert(json!(m));
    }
    data.insert("package_manager_running".into(), json!(false));
    data.insert("services_safe_to_start".into(), json!(safe));
    if let Some(state) = state {
        insert_state(&mut data, &state);
    }
    if !safe {
        msg.push_str(
            ". Do not start the Gluster services until every Gluster package is fully installed at one release and \
             `gluster --version` works",
        );
    }
    ModuleError::failed_with(msg, data)
}

/// Whether the failure left packages Gluster can start on, and the packages' state when read.
/// Before the transaction nothing changed: the previous release is intact unless an earlier run
/// left it half way. After it, only an unchanged, finished set of packages is.
fn judge(ctx: &mut Ctx, progress: &Progress) -> (bool, Option<Vec<Installed>>) {
    let finished = |s: &[Installed]| s.iter().all(|i| i.unfinished.is_none());
    if !progress.transaction {
        return match &progress.before {
            Some(before) => (finished(before), Some(before.clone())),
            None => (true, None),
        };
    }
    let Some(manager) = progress.manager else {
        return (false, None);
    };
    match query_installed(ctx, manager) {
        Ok(now) => {
            let unchanged = progress
                .before
                .as_ref()
                .is_some_and(|before| sorted(before) == sorted(&now));
            (unchanged && finished(&now), Some(now))
        }
        Err(_) => (false, None),
    }
}

fn sorted(packages: &[Installed]) -> Vec<Installed> {
    let mut v = packages.to_vec();
    v.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    v
}

fn insert_state(data: &mut Map<String, Value>, state: &[Installed]) {
    data.insert("installed".into(), json!(state));
    let unfinished: Vec<&str> = state
        .iter()
        .filter(|i| i.unfinished.is_some())
        .map(|i| i.name.as_str())
        .collect();
    data.insert("unfinished".into(), json!(unfinished));
}

/// What finishes packages left half way.
fn repair(manager: Option<Manager>) -> &'static str {
    match manager {
        Some(Manager::Apt) | None => "run `dpkg --configure -a`",
        Some(_) => "check that `rpm -qa 'glusterfs*'` lists each package once, at one release",
    }
}

/// The install transaction outlived the timeout and goes on: what it has done so far, as the
/// package database shows it without waiting for the package manager's lock, and what to do.
fn left_running(ctx: &mut Ctx, err: ModuleError, progress: &Progress) -> ModuleError {
    let (cmd, seconds, pid, stdout, stderr) = match err {
        ModuleError::LeftRunning {
            cmd,
            seconds,
            pid,
            stdout,
            stderr,
        } => (cmd, seconds, pid, stdout, stderr),
        other => return other,
    };
    let mut data = Map::new();
    data.insert("cmd".into(), json!(cmd));
    data.insert("package_manager_running".into(), json!(true));
    data.insert("pid".into(), json!(pid));
    data.insert("output".into(), json!({"stdout": stdout, "stderr": stderr}));
    data.insert("services_safe_to_start".into(), json!(false));
    let program = progress.manager.map_or("the package manager", Manager::program);
    if let Some(m) = progress.manager {
        data.insert("package_manager".into(), json!(m));
    }
    // dpkg-query reads dpkg's status file without its lock; a query that hangs all the same is
    // read-only and may be killed.
    let state = match progress.manager.map(|m| query_installed(ctx, m)) {
        Some(Ok(now)) => {
            insert_state(&mut data, &now);
            let left = unfinished_list(&now);
            if left.is_empty() {
                "No Gluster package is half way yet".to_string()
            } else {
                format!("So far it left {left}")
            }
        }
        Some(Err(e)) => format!("The Gluster packages cannot be read now ({e})"),
        None => String::new(),
    };
    ModuleError::failed_with(
        format!(
            "{program} did not finish installing Gluster {} within {seconds} s (option install_timeout) and was left \
             running (pid {pid}), not killed: killing a package manager mid-transaction leaves packages half \
             installed. {state}. Do not start the Gluster services until the packages are consistent: wait for pid \
             {pid} to finish (its output goes to {stdout} and {stderr}), then {}, and run the playbook again; raise \
             the install_timeout option if the package manager is just slow",
            progress.release.as_deref().unwrap_or("?"),
            repair(progress.manager),
        ),
        data,
    )
}

pub fn detect(wanted: &str) -> Result<Manager, ModuleError> {
    if let Some(m) = Manager::from_name(wanted) {
        return if program_exists(m.program()) {
            Ok(m)
        } else {
            Err(ModuleError::failed(format!(
                "package_manager {wanted} was asked for, but {} is not on this host",
                m.program()
            )))
        };
    }
    Manager::ALL
        .into_iter()
        .find(|m| program_exists(m.program()))
        .ok_or_else(|| {
            ModuleError::failed(
                "no supported package manager on this host (looked for apt-get, dnf, yum, zypper); install Gluster \
                 by hand or set package_manager",
            )
        })
}

pub fn query_installed(ctx: &mut Ctx, manager: Manager) -> Result<Vec<Installed>, ModuleError> {
    let argv: &[&str] = match manager {
        Manager::Apt => &[
            "dpkg-query",
            "-W",
            "-f",
            "${Package}\t${Version}\t${db:Status-Abbrev}\n",
        ],
        _ => &["rpm", "-qa", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\n"],
    };
    let out = ctx.run(argv, Duration::from_secs(60))?;
    if !out.success() {
        return Err(ModuleError::command("cannot list the installed packages", out));
    }
    Ok(match manager {
        Manager::Apt => packages::parse_dpkg_query(&out.stdout),
        _ => packages::parse_rpm_query(&out.stdout),
    })
}

/// How the given repository's packages are verified; refuses what does not fit together.
fn trust(args: &Args) -> Result<packages::Trust<'_>, ModuleError> {
    let bad = |m: String| ModuleError::invalid_args(format!("gluster_install: {m}"));
    match (&args.repo_key, args.repo_unsigned_ok) {
        (Some(_), true) => Err(bad(
            "options 'repo_key' and 'repo_unsigned_ok' exclude each other".into()
        )),
        (Some(key), false) => {
            if !key.starts_with('/') || !std::path::Path::new(key).is_file() {
                return Err(bad(format!(
                    "option 'repo_key' must be the path of the repository's signing key on this host, got '{key}' \
                     (no such file)"
                )));
            }
            Ok(packages::Trust::Key(key))
        }
        (None, true) => Ok(packages::Trust::Unsigned),
        (None, false) => Ok(packages::Trust::HostKeys),
    }
}

/// What to do when the package manager's words say that a signature could not be checked.
fn signature_hint(output: &str) -> &'static str {
    let lower = output.to_ascii_lowercase();
    let unsigned = [
        "is not signed",
        "no_pubkey",
        "public key for",
        "gpg check failed",
        "signature verification failed",
        "not signed",
    ]
    .iter()
    .any(|k| lower.contains(k));
    if unsigned {
        ". The repository's signature could not be checked: give its signing key in 'repo_key', or, only where \
         the path from the repository to this host is trusted, set repo_unsigned_ok: true"
    } else {
        ""
    }
}

/// Refreshes the package index; with a given repository only its own source, so unreachable
/// mirrors of a dark site do not fail the run.
fn apt_update(ctx: &mut Ctx, only_keel_source: bool, timeout: Duration) -> Result<(), ModuleError> {
    let mut argv = vec!["apt-get", "update", "-q"];
    let source_list = format!("-oDir::Etc::SourceList={}", etc(APT_SOURCE).display());
    if only_keel_source {
        argv.extend([
            source_list.as_str(),
            "-oDir::Etc::SourceParts=-",
            "-oAPT::Get::List-Cleanup=0",
        ]);
    }
    let out = ctx.run_with_env(&argv, &[("DEBIAN_FRONTEND", "noninteractive")], timeout)?;
    if out.success() {
        Ok(())
    } else {
        let hint = signature_hint(&out.stderr);
        Err(ModuleError::command(
            format!(
                "apt-get update failed (rc {}): the package repositories cannot be read{hint}",
                out.rc
            ),
            out,
        ))
    }
}

fn madison_summary(madison: &str) -> String {
    let lines: Vec<String> = madison
        .lines()
        .map(|l| l.split('|').take(2).map(str::trim).collect::<Vec<_>>().join(" "))
        .collect();
    if lines.is_empty() {
        "nothing".into()
    } else {
        lines.join(", ")
    }
}

/// After installing: every package carries the release.
fn verify(ctx: &mut Ctx, manager: Manager, names: &[String], release: &GlusterVersion) -> Result<(), ModuleError> {
    let now = query_installed(ctx, manager)?;
    let wrong: Vec<String> = names
        .iter()
        .filter_map(|n| {
            let have = now.iter().find(|i| &i.name == n);
            let ok = have.is_some_and(|i| at_release(&i.version, release) && i.unfinished.is_none());
            (!ok).then(|| match have {
                Some(i) => match i.unfinished {
                    Some(state) => format!("{n} {} ({state})", i.version),
                    None => format!("{n} {}", i.version),
                },
                None => format!("{n} not installed"),
            })
        })
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(ModuleError::failed(format!(
            "the package manager succeeded but these packages do not carry {}: {}",
            release.text,
            wrong.join(", ")
        )))
    }
}

/// "glusterfs-common 10.3-5 (half-configured), ..." for the packages dpkg left half way.
fn unfinished_list(now: &[packages::Installed]) -> String {
    now.iter()
        .filter_map(|i| i.unfinished.map(|state| format!("{} {} ({state})", i.name, i.version)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `gluster --version` on a server, `glusterfs --version` on a client without the CLI.
fn gluster_version(ctx: &mut Ctx) -> Result<GlusterVersion, ModuleError> {
    let program = if program_exists("gluster") {
        "gluster"
    } else {
        "glusterfs"
    };
    let out = ctx.run(&[program, "--version"], Duration::from_secs(30))?;
    if !out.success() {
        // Its reason (a library the packages left out, say) is on stderr.
        let why = out
            .stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no output");
        return Err(ModuleError::command(
            format!("'{program} --version' failed (rc {}): {why}", out.rc),
            out.clone(),
        ));
    }
    parse_version(&out.stdout)
        .map_err(|e| ModuleError::command(format!("'{program} --version' does not name a release: {e}"), out))
}

fn at_release(package_version: &str, release: &GlusterVersion) -> bool {
    packages::release_of(package_version).is_some_and(|r| (r.major, r.minor) == (release.major, release.minor))
}

/// Whether `name` runs in this server's PID namespace.
fn running(name: &str) -> bool {
    keel_host::procs::scan(std::path::Path::new("/proc"))
        .iter()
        .any(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_failure_says_how_to_go_on() {
        let apt = "W: GPG error: file:/srv/keel-repo/11.1 ./ Release: The following signatures couldn't be verified \
                   because the public key is not available: NO_PUBKEY 0123456789ABCDEF";
        assert!(signature_hint(apt).contains("repo_key") && signature_hint(apt).contains("repo_unsigned_ok: true"));
        assert!(signature_hint("E: The repository 'file:/srv/r ./ Release' is not signed.").contains("repo_key"));
        assert_eq!(signature_hint("E: Unable to locate package glusterfs-server"), "");
    }
}
