//! `keel.storage.weka_client_upgrade`: upgrades this client to the cluster's release (or
//! `version`) with `weka local upgrade`, adding `--prepare-driver` for client releases 4.0.1
//! and later (the upgrade guide's rule); from 4.2 the client first gets the release from a
//! backend (`weka version get V --from BACKEND:14000`) and from 4.3 switches its agent
//! (`weka version set --agent-only V`). Idempotent: a client on the target is left alone.

use std::time::Duration;

use keel_runtime::error::timeout_of;
use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult};
use keel_weka_cli::cli::{failure, left_running};
use keel_weka_cli::{version_option, Common, Weka, WekaVersion};
use serde::Deserialize;
use serde_json::{json, Map, Value};

mod spec;
pub use spec::MODULE;

const NAME: &str = "weka_client_upgrade";

#[derive(Deserialize)]
struct Args {
    version: Option<String>,
    backend: Option<String>,
    upgrade_timeout: u64,
    #[serde(flatten)]
    common: Common,
}

/// The commands that take a client from `current` to `target`; `installed` says whether the
/// target is already on the host; `backend` is where a 4.2+ client gets it from.
pub fn steps(current: &WekaVersion, target: &WekaVersion, installed: bool, backend: &str) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut out = Vec::new();
    if target.at_least("4.2") {
        if !installed {
            out.push(s(&["version", "get", &target.text, "--from", backend]));
        }
        if target.at_least("4.3") {
            out.push(s(&["version", "set", "--agent-only", &target.text]));
        }
    }
    let mut up = s(&["local", "upgrade"]);
    if current.at_least("4.0.1") {
        up.push("--prepare-driver".into());
    }
    out.push(up);
    out
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed(NAME, opts)?;
    let weka = Weka::new(NAME, &args.common)?;
    let started = ctx.now();
    let current_text = weka.ok(ctx, &["version", "current"])?.trim().to_string();
    let current = WekaVersion::parse(&current_text).ok_or_else(|| {
        ModuleError::failed(format!(
            "`weka version current` answered '{current_text}', not a release"
        ))
    })?;
    let (target, status) = match &args.version {
        Some(v) => (version_option(NAME, "version", v)?, None),
        None => {
            let s = weka.status(ctx)?;
            (s.release.clone(), Some(s))
        }
    };
    let base = |r: ModuleResult| r.with("from_version", &current.text).with("version", &target.text);
    if current == target {
        return Ok(
            base(ModuleResult::new(false, format!("this client already runs {target}")))
                .with("elapsed_s", ctx.since(started).as_secs()),
        );
    }
    if current > target {
        return Err(ModuleError::failed(format!(
            "this client runs {current}, newer than the target {target}: clients follow the backends, never lead"
        )));
    }
    let installed = weka.installed(ctx)?.has(&target);
    let backend = match (&args.backend, target.at_least("4.2") && !installed) {
        (Some(b), _) => b.clone(),
        (None, false) => String::new(),
        (None, true) => discover_backend(ctx, &weka, status.map(|s| s.release))?,
    };
    let plan = steps(&current, &target, installed, &backend);
    let shown: Vec<String> = plan.iter().map(|a| format!("weka {}", a.join(" "))).collect();
    let diff = json!({"before": format!("version: {current}\n"), "after": format!("version: {target}\n"),
                      "before_header": "weka version current", "after_header": "weka version current"});
    if ctx.check_mode() {
        let mut r = base(ModuleResult::new(true, format!("would run: {}", shown.join("; ")))).with("steps", &shown);
        r.diff = Some(diff);
        return Ok(r);
    }
    let timeout = Duration::from_secs(args.upgrade_timeout.max(1));
    for step in &plan {
        let argv: Vec<&str> = step.iter().map(String::as_str).collect();
        let out = if argv.starts_with(&["local", "upgrade"]) {
            // Killed half way, the client could be left between releases: it goes on alone.
            match weka.exec_unkillable(ctx, &argv, timeout) {
                Err(e @ ModuleError::LeftRunning { .. }) => {
                    let state = match weka.ok(ctx, &["version", "current"]) {
                        Ok(now) => format!("`weka version current` says {} meanwhile", now.trim()),
                        Err(e) => format!("`weka version current` cannot be read meanwhile ({e})"),
                    };
                    return Err(left_running(
                        e,
                        "upgrade_timeout",
                        "interrupting it could leave this client between releases",
                        &state,
                        "check `weka version current` and `weka local ps` on this client, and run this task again",
                        Map::new(),
                    ));
                }
                other => other?,
            }
        } else {
            weka.exec(ctx, &argv, timeout).map_err(timeout_of(
                "upgrade_timeout",
                "; check `weka version current` and `weka local ps` on this client before running it again",
            ))?
        };
        if !out.success() {
            return Err(failure(
                &format!(
                    "upgrading this client from {current} to {target}: `weka {}` failed",
                    step.join(" ")
                ),
                out,
            ));
        }
    }
    let now = weka.ok(ctx, &["version", "current"])?.trim().to_string();
    if WekaVersion::parse(&now).as_ref() != Some(&target) {
        return Err(ModuleError::failed(format!(
            "`weka local upgrade` finished, but `weka version current` says {now}, not {target}"
        )));
    }
    let mut r = base(ModuleResult::new(
        true,
        format!("upgraded this client from {current} to {target}"),
    ))
    .with("steps", &shown)
    .with("elapsed_s", ctx.since(started).as_secs());
    r.diff = Some(diff);
    Ok(r)
}

/// The first backend `weka cluster host` shows UP, as `HOST:14000` (the agent's port).
fn discover_backend(ctx: &mut Ctx, weka: &Weka, release: Option<WekaVersion>) -> Result<String, ModuleError> {
    let release = match release {
        Some(r) => r,
        None => weka.status(ctx)?.release,
    };
    weka.containers(ctx, &release)?
        .into_iter()
        .find(|c| c.is_backend() && c.up())
        .map(|c| format!("{}:14000", c.hostname))
        .ok_or_else(|| {
            ModuleError::failed("no backend is UP to get the release from: set the 'backend' option (HOST:PORT)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> WekaVersion {
        WekaVersion::parse(s).unwrap()
    }

    fn shown(current: &str, target: &str, installed: bool) -> Vec<String> {
        steps(&v(current), &v(target), installed, "node1:14000")
            .into_iter()
            .map(|s| s.join(" "))
            .collect()
    }

    #[test]
    fn the_prepare_driver_flag_follows_the_client_release() {
        assert_eq!(shown("3.14.1", "4.0.2", false), ["local upgrade"]);
        assert_eq!(shown("4.0.1", "4.0.2", false), ["local upgrade --prepare-driver"]);
        assert_eq!(shown("4.0.0", "4.0.2", false), ["local upgrade"]);
    }

    #[test]
    fn the_4_2_and_4_3_flows() {
        assert_eq!(
            shown("4.1.2.36", "4.2.18.34", false),
            [
                "version get 4.2.18.34 --from node1:14000",
                "local upgrade --prepare-driver"
            ]
        );
        assert_eq!(shown("4.1.2.36", "4.2.18.34", true), ["local upgrade --prepare-driver"]);
        assert_eq!(
            shown("4.2.18.34", "4.4.6", false),
            [
                "version get 4.4.6 --from node1:14000",
                "version set --agent-only 4.4.6",
                "local upgrade --prepare-driver"
            ]
        );
    }
}
