//! `keel.storage.weka_version`: makes a WEKA release available on this host, the way the
//! upgrade guide describes: `weka version get V [--from https://TOKEN@get.weka.io]` then
//! `weka version prepare V`, or, for dark sites, a release tarball's `install.sh`. Idempotent:
//! a release `weka version` already lists is left alone.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keel_runtime::error::timeout_of;
use keel_runtime::{into_typed, Ctx, Kind, ModuleDef, ModuleError, ModuleResult, Opt};
use keel_weka_cli::cli::failure;
use keel_weka_cli::{version_option, weka_options, Common, Weka};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const MODULE: ModuleDef = ModuleDef {
    name: "weka_version",
    options: weka_options![
        Opt::new("version", Kind::Str).required(),
        // The URL carries the get.weka.io token: secret, and its user-info masked on its own.
        Opt::new("from", Kind::Str).secret(),
        Opt::new("tarball", Kind::Str),
        Opt::new("prepare", Kind::Bool),
        Opt::new("download_timeout", Kind::Duration),
    ],
    supports_check_mode: true,
    run,
};

const NAME: &str = "weka_version";

#[derive(Deserialize)]
struct Args {
    version: String,
    from: Option<String>,
    tarball: Option<String>,
    #[serde(default = "keel_runtime::args::default_true")]
    prepare: bool,
    #[serde(default = "default_download")]
    download_timeout: u64,
    #[serde(flatten)]
    common: Common,
}

fn default_download() -> u64 {
    1800
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed(NAME, opts)?;
    let v = version_option(NAME, "version", &args.version)?;
    if args.from.is_some() && args.tarball.is_some() {
        return Err(ModuleError::invalid_args(format!(
            "{NAME}: options 'from' and 'tarball' exclude each other"
        )));
    }
    if let Some(t) = &args.tarball {
        if !Path::new(t).is_file() {
            return Err(ModuleError::failed(format!(
                "{NAME}: the release tarball {t} is not on this host: copy it there first (ansible.builtin.copy)"
            )));
        }
    }
    let weka = Weka::new(NAME, &args.common)?;
    let started = Instant::now();
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
        .with("elapsed_s", started.elapsed().as_secs()));
    }
    let mut after = before.versions.clone();
    after.push(v.text.clone());
    let how = match (&args.tarball, &args.from) {
        (Some(t), _) => format!("install {v} from {t} (install.sh)"),
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
    match &args.tarball {
        Some(t) => install_from_tarball(ctx, t, &v.text, download)?,
        None => {
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
    .with("elapsed_s", started.elapsed().as_secs());
    r.diff = Some(diff);
    Ok(r)
}

/// Unpacks the tarball into a fresh directory and runs the `install.sh` it holds (at its top,
/// or one directory down, as `weka-V/install.sh`); the directory is removed afterwards.
fn install_from_tarball(ctx: &mut Ctx, tarball: &str, v: &str, timeout: Duration) -> Result<(), ModuleError> {
    let dir = std::env::temp_dir().join(format!("keel-weka-{v}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| ModuleError::failed(format!("cannot create {}: {e}", dir.display())))?;
    let result = (|| {
        let d = dir.to_string_lossy().into_owned();
        let out = ctx
            .run(&["tar", "-xf", tarball, "-C", &d], timeout)
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
        let out = ctx.run(&[&s], timeout).map_err(timeout_of("download_timeout", ""))?;
        if !out.success() {
            return Err(ModuleError::command(
                format!("{} from {tarball} failed (rc {})", "install.sh", out.rc),
                out,
            ));
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
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
