//! `keel.storage.weka_version`: makes a WEKA release available on this host, the way the
//! upgrade guide describes: `weka version get V [--from SOURCE]` then `weka version prepare V`;
//! from a source with credentials (`https://TOKEN@get.weka.io`), the release tarball fetched by
//! curl with the URL in a 0600 config file (never on a command line, where /proc/PID/cmdline
//! shows it to every user) and its `install.sh`; for dark sites, a given tarball's `install.sh`.
//! Idempotent: a release `weka version` already lists is left alone.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use keel_runtime::error::timeout_of;
use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult};
use keel_weka_cli::cli::failure;
use keel_weka_cli::{version_option, Common, Weka};
use serde::Deserialize;
use serde_json::{json, Map, Value};

mod spec;
pub use spec::MODULE;

const NAME: &str = "weka_version";

#[derive(Deserialize)]
struct Args {
    version: String,
    from: Option<String>,
    tarball: Option<String>,
    prepare: bool,
    download_timeout: u64,
    #[serde(flatten)]
    common: Common,
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let mut args: Args = into_typed(NAME, opts)?;
    // AWX's credential type injects an empty URL when none was given: the same as none.
    args.from = args.from.filter(|f| !f.trim().is_empty());
    let v = version_option(NAME, "version", &args.version)?;
    if args.from.is_some() && args.tarball.is_some() {
        return Err(ModuleError::invalid_args(format!(
            "{NAME}: options 'from' and 'tarball' exclude each other"
        )));
    }
    let tokenised = match &args.from {
        Some(f) => credentialed(f)?,
        None => false,
    };
    if let Some(t) = &args.tarball {
        if !Path::new(t).is_file() {
            return Err(ModuleError::failed(format!(
                "{NAME}: the release tarball {t} is not on this host: copy it there first (ansible.builtin.copy)"
            )));
        }
    }
    let weka = Weka::new(NAME, &args.common)?;
    let started = ctx.now();
    let before = weka.installed(ctx)?;
    let listing = |versions: &[String]| versions.iter().map(|x| format!("{x}\n")).collect::<String>();
    let base = |r: ModuleResult, after: &[String]| {
        r.with("version", &v.text)
            .with("installed_before", &before.versions)
            .with("installed", after)
            .with("current", &before.current)
    };
    let download = Duration::from_secs(args.download_timeout.max(1));
    let prepare = |ctx: &mut Ctx| -> Result<(), ModuleError> {
        let out = weka
            .exec(ctx, &["version", "prepare", &v.text], download)
            .map_err(timeout_of("download_timeout", ""))?;
        if !out.success() {
            return Err(failure(&format!("preparing WEKA {v} failed"), out));
        }
        Ok(())
    };
    if before.has(&v) {
        // `weka version` does not show whether a release is prepared, and a run whose prepare
        // failed (a driver that did not build) left it downloaded: prepare again, which WEKA
        // does idempotently, so a re-run after the fix completes the step.
        let again = args.prepare && !ctx.check_mode();
        if again {
            prepare(ctx)?;
        }
        return Ok(base(
            ModuleResult::new(
                false,
                format!(
                    "WEKA {v} is already available on this host{}",
                    if again {
                        "; `weka version prepare` confirms it is prepared"
                    } else {
                        ""
                    }
                ),
            ),
            &before.versions,
        )
        .with("downloaded", false)
        .with("prepared", again)
        .with("elapsed_s", ctx.since(started).as_secs()));
    }
    let mut after = before.versions.clone();
    after.push(v.text.clone());
    let how = match (&args.tarball, &args.from) {
        (Some(t), _) => format!("install {v} from {t} (install.sh)"),
        (None, Some(_)) if tokenised => format!("download {v} from the given source (curl, install.sh)"),
        (None, Some(_)) => format!("download {v} from the given source"),
        (None, None) => format!("download {v} from the cluster's distribution server"),
    };
    let diff = json!({"before": listing(&before.versions), "after": listing(&after),
                      "before_header": "weka version", "after_header": "weka version"});
    if ctx.check_mode() {
        let mut r = base(
            ModuleResult::new(
                true,
                format!("would {how}{}", if args.prepare { " and prepare it" } else { "" }),
            ),
            &before.versions,
        );
        r.diff = Some(diff);
        return Ok(r);
    }
    match (&args.tarball, &args.from) {
        (Some(t), _) => install_from_tarball(ctx, &weka, Path::new(t), private_dir()?, download)?,
        (None, Some(from)) if tokenised => {
            let dir = private_dir()?;
            let tarball = fetch(ctx, from, &dir, &v.text, download)?;
            install_from_tarball(ctx, &weka, &tarball, dir, download)?;
        }
        _ => {
            let mut get = vec!["version", "get", v.text.as_str()];
            if let Some(from) = &args.from {
                get.extend(["--from", from.as_str()]);
            }
            let out = weka
                .exec(ctx, &get, download)
                .map_err(timeout_of("download_timeout", ""))?;
            if !out.success() {
                return Err(failure(&format!("downloading WEKA {v} failed"), out));
            }
        }
    }
    let now = weka.installed(ctx)?;
    if !now.has(&v) {
        return Err(ModuleError::failed(format!(
            "{how} finished, but `weka version` does not list {v} (it lists: {})",
            now.versions.join(", ")
        )));
    }
    if args.prepare {
        prepare(ctx)?;
    }
    let mut r = base(
        ModuleResult::new(
            true,
            format!("{how} done{}", if args.prepare { "; prepared" } else { "" }),
        ),
        &now.versions,
    )
    .with("downloaded", true)
    .with("prepared", args.prepare)
    .with("elapsed_s", ctx.since(started).as_secs());
    r.diff = Some(diff);
    Ok(r)
}

/// Whether `from` carries credentials (user-info before the host); such a URL must be https and
/// fit in a curl config file's quoted string.
fn credentialed(from: &str) -> Result<bool, ModuleError> {
    let Some((scheme, rest)) = from.split_once("://") else {
        return Ok(false);
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if !authority.contains('@') {
        return Ok(false);
    }
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(ModuleError::invalid_args(format!(
            "{NAME}: option 'from' carries credentials, but not over https: use https://TOKEN@HOST, or a source \
             without credentials"
        )));
    }
    if from
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
    {
        return Err(ModuleError::invalid_args(format!(
            "{NAME}: option 'from' is not a URL (it holds spaces, quotes, backslashes or control characters)"
        )));
    }
    Ok(true)
}

/// A fresh directory only root can enter, under TMPDIR (else /tmp): a random name made with
/// mkdir, which fails on anything already there (a planted link included) rather than use it.
/// Removed, with everything in it, when dropped.
fn private_dir() -> Result<tempfile::TempDir, ModuleError> {
    let parent = std::env::temp_dir();
    safe_parent(&parent)?;
    tempfile::Builder::new()
        .prefix("keel-weka-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(&parent)
        .map_err(|e| {
            ModuleError::failed(format!(
                "cannot create a private directory in {}: {e}",
                parent.display()
            ))
        })
}

/// A directory (not a link) owned by root or this user, that others may not write to unless
/// it is sticky (as /tmp is): nobody else can rename or replace what is made in it.
fn safe_parent(dir: &Path) -> Result<(), ModuleError> {
    let unsafe_dir = |why: String| {
        ModuleError::failed(format!(
            "{} is not a safe place for a private directory ({why}); point TMPDIR at a directory owned by root",
            dir.display()
        ))
    };
    let m = std::fs::symlink_metadata(dir).map_err(|e| unsafe_dir(e.to_string()))?;
    if !m.file_type().is_dir() {
        return Err(unsafe_dir("not a directory".into()));
    }
    let me = nix::unistd::geteuid().as_raw();
    if m.uid() != 0 && m.uid() != me {
        return Err(unsafe_dir(format!("owned by uid {}", m.uid())));
    }
    let mode = m.permissions().mode();
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(unsafe_dir(format!(
            "mode {:04o}: writable by others and not sticky",
            mode & 0o7777
        )));
    }
    Ok(())
}

/// Downloads the release tarball as the upgrade guide's second way does (`curl
/// https://TOKEN@get.weka.io/dist/v1/pkg/weka-V.tar`), with the URL in a 0600 config file in
/// the private `dir`, so that curl's command line holds only that file's path.
fn fetch(
    ctx: &mut Ctx,
    from: &str,
    dir: &tempfile::TempDir,
    v: &str,
    timeout: Duration,
) -> Result<PathBuf, ModuleError> {
    let url = format!("{}/dist/v1/pkg/weka-{v}.tar", from.trim_end_matches('/'));
    let tarball = dir.path().join(format!("weka-{v}.tar"));
    let config = dir.path().join("curl.conf");
    let text = format!(
        "url = \"{url}\"\noutput = \"{}\"\nfail\nlocation\nproto = \"=https\"\nproto-redir = \"=https\"\nsilent\nshow-error\n",
        tarball.display()
    );
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&config)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| ModuleError::failed(format!("cannot write {}: {e}", config.display())))?;
    let conf = config.to_string_lossy().into_owned();
    // -q first: no ~/.curlrc; everything else comes from the config file.
    let out = ctx
        .run(&["curl", "-q", "--config", &conf], timeout)
        .map_err(|e| match e {
            ModuleError::NotFound { program, path, .. } => ModuleError::NotFound {
                program,
                path,
                hint: "weka_version downloads from a URL with credentials with curl, so that the token is on no \
                       command line: install curl, or fetch the tarball yourself and pass 'tarball'."
                    .into(),
            },
            other => timeout_of("download_timeout", "")(other),
        })?;
    let _ = std::fs::remove_file(&config);
    if !out.success() {
        return Err(ModuleError::command(
            format!(
                "downloading WEKA {v} failed (rc {}): {}",
                out.rc,
                keel_weka_cli::cli::first_line(&out.stderr, &out.stdout)
            ),
            out,
        ));
    }
    Ok(tarball)
}

/// Unpacks the tarball into the private directory `private` and runs the `install.sh` it holds
/// (at its top, or one directory down, as `weka-V/install.sh`); `private` goes when dropped,
/// unless install.sh outlives `timeout`: it installs packages, so it is never killed, and goes on
/// alone from the directory, which stays.
fn install_from_tarball(
    ctx: &mut Ctx,
    weka: &Weka,
    tarball: &Path,
    private: tempfile::TempDir,
    timeout: Duration,
) -> Result<(), ModuleError> {
    let tarball = tarball.to_string_lossy().into_owned();
    let dir = private.path().join("release");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| ModuleError::failed(format!("cannot create {}: {e}", dir.display())))?;
    let d = dir.to_string_lossy().into_owned();
    let out = ctx
        .run(&["tar", "-xf", &tarball, "-C", &d], timeout)
        .map_err(timeout_of("download_timeout", ""))?;
    if !out.success() {
        return Err(ModuleError::command(
            format!("unpacking {tarball} failed (rc {}): {}", out.rc, out.stderr.trim()),
            out,
        ));
    }
    let script = find_install(&dir).ok_or_else(|| {
        ModuleError::failed(format!(
            "{tarball} holds no install.sh (at its top or in its first directory)"
        ))
    })?;
    let s = script.to_string_lossy().into_owned();
    let out = match ctx.runner.run_unkillable(&[&s], &[], timeout) {
        Err(e @ ModuleError::LeftRunning { .. }) => {
            let kept = private.keep();
            let state = match weka.installed(ctx) {
                Ok(now) => format!("`weka version` lists meanwhile: {}", now.versions.join(", ")),
                Err(e) => format!("`weka version` cannot be read meanwhile ({e})"),
            };
            let mut data = Map::new();
            data.insert("directory".into(), json!(kept));
            return Err(keel_weka_cli::cli::left_running(
                e,
                "download_timeout",
                "interrupting an installation could leave WEKA's packages half installed",
                &state,
                &format!(
                    "remove {} (the unpacked release) and run this task again",
                    kept.display()
                ),
                data,
            ));
        }
        other => other?,
    };
    if !out.success() {
        return Err(ModuleError::command(
            format!("{} from {tarball} failed (rc {})", "install.sh", out.rc),
            out,
        ));
    }
    Ok(())
}

fn find_install(dir: &Path) -> Option<PathBuf> {
    let top = dir.join("install.sh");
    if top.is_file() {
        return Some(top);
    }
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path().join("install.sh"))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_user_info_before_the_host_is_a_credential() {
        assert!(credentialed("https://T0K@get.weka.io").unwrap());
        assert!(credentialed("https://T0K@get.weka.io/dist").unwrap());
        assert!(!credentialed("https://get.weka.io").unwrap());
        assert!(!credentialed("https://mirror?who=a@b").unwrap());
        assert!(!credentialed("node1:14000").unwrap());
        assert!(credentialed("http://T0K@get.weka.io").is_err());
        assert!(credentialed("https://T0K@get.weka.io/\"x").is_err());
    }
}
