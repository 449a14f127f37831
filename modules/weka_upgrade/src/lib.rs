//! `keel.storage.weka_upgrade`: upgrades the whole cluster to `version` from this backend with
//! `weka local run --in V upgrade` (the 4.1+ NDU form with `--container`), or only prepares it
//! everywhere (`prepare_only`). After WEKA returns it confirms every backend runs V, detects an
//! automatic revert (failing with what `weka cluster host` shows) and waits for the data
//! upgrade before reporting done.

use std::time::Duration;

use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult, Poll};
use keel_weka_cli::parse::Container;
use keel_weka_cli::{path_table, version_option, wait_data_upgrade, Common, Weka, WekaVersion};
use serde::Deserialize;
use serde_json::{json, Map, Value};

mod spec;
pub use spec::MODULE;

const NAME: &str = "weka_upgrade";

#[derive(Deserialize)]
struct Args {
    version: String,
    prepare_only: bool,
    mode: String,
    container: Option<String>,
    stop_io_timeout: Option<u64>,
    host_version_change_timeout: Option<u64>,
    disconnect_stateless_clients_timeout: Option<u64>,
    health_check_timeout: Option<u64>,
    upgrade_timeout: u64,
    confirm_timeout: u64,
    wait_data_upgrade: bool,
    data_upgrade_timeout: u64,
    poll_interval: u64,
    upgrade_paths: Option<Value>,
    #[serde(flatten)]
    common: Common,
}

/// The upgrade command's own options, by the rules of the release it runs in (the target's).
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub prepare_only: bool,
    pub mode: String,
    pub container: Option<String>,
    pub stop_io_timeout: Option<u64>,
    pub host_version_change_timeout: Option<u64>,
    pub disconnect_stateless_clients_timeout: Option<u64>,
    pub health_check_timeout: Option<u64>,
}

/// `weka local run [--container C] --in V upgrade ...` for an upgrade to `target`; `local` are
/// this host's containers. Refuses flags the target's CLI lacks.
pub fn upgrade_argv(target: &WekaVersion, f: &Flags, local: &[String]) -> Result<Vec<String>, String> {
    let mut argv: Vec<String> = vec!["local".into(), "run".into()];
    // Multi-container backends (required from 4.1): the command runs in one of this host's
    // containers, the drives container by convention (WEKA's documented NDU form).
    if target.at_least("4.1") || local.len() > 1 {
        let c = match &f.container {
            Some(c) => c.clone(),
            None => local
                .iter()
                .find(|c| c.starts_with("drives"))
                .or_else(|| local.first())
                .cloned()
                .ok_or("this host runs no WEKA container: is it a backend?")?,
        };
        argv.extend(["--container".into(), c]);
    }
    argv.extend(["--in".into(), target.text.clone(), "upgrade".into()]);
    let mode = match f.mode.as_str() {
        "auto" if !target.at_least("3.12") => Some("one-shot"),
        // NDU became the default in 4.2; 4.1 needs it asked for.
        "auto" if target.line == "4.1" => Some("ndu"),
        "auto" => None,
        "one-shot" if target.at_least("3.12") => {
            return Err(format!(
                "--mode one-shot is an option of 3.11 and older; {target} has no such mode"
            ))
        }
        "ndu" if !target.at_least("4.1") => {
            return Err(format!("non-disruptive upgrades (ndu) start with 4.1, not {target}"))
        }
        other => Some(other),
    };
    if let Some(m) = mode {
        argv.extend(["--mode".into(), m.into()]);
    }
    if f.prepare_only {
        argv.push("--prepare-only".into());
    }
    let mut timeout = |flag: &str, value: Option<u64>, since: Option<&str>| -> Result<(), String> {
        let Some(s) = value else { return Ok(()) };
        if let Some(since) = since.filter(|s| !target.at_least(s)) {
            return Err(format!("{flag} arrived in WEKA {since}; {target} does not take it"));
        }
        argv.extend([flag.to_string(), format!("{s}s")]);
        Ok(())
    };
    timeout("--stop-io-timeout", f.stop_io_timeout, None)?;
    timeout("--host-version-change-timeout", f.host_version_change_timeout, None)?;
    timeout(
        "--disconnect-stateless-clients-timeout",
        f.disconnect_stateless_clients_timeout,
        Some("3.12"),
    )?;
    timeout("--health-check-timeout", f.health_check_timeout, Some("4.0"))?;
    Ok(argv)
}

/// Every backend's release, as `weka cluster host` shows it, for messages.
fn shown(backends: &[&Container]) -> String {
    backends
        .iter()
        .map(|c| format!("{}/{} {} {}", c.hostname, c.container, c.version, c.status))
        .collect::<Vec<_>>()
        .join(", ")
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed(NAME, opts)?;
    let target = version_option(NAME, "version", &args.version)?;
    let table = path_table(NAME, args.upgrade_paths.as_ref())?;
    let weka = Weka::new(NAME, &args.common)?;
    let poll = Duration::from_secs(args.poll_interval);
    let started = ctx.now();
    let status = weka.status(ctx)?;
    let source = status.release.clone();
    let base = |r: ModuleResult| {
        r.with("from_version", &source.text)
            .with("version", &target.text)
            .with("prepare_only", args.prepare_only)
    };

    if source == target {
        // Done before; still not done until its data upgrade is.
        let waited = if args.wait_data_upgrade && !args.prepare_only && !ctx.check_mode() {
            wait_data_upgrade(ctx, &weka, Duration::from_secs(args.data_upgrade_timeout), poll)?
        } else {
            0
        };
        return Ok(
            base(ModuleResult::new(false, format!("the cluster already runs {target}")))
                .with("data_upgrade_s", waited)
                .with("elapsed_s", ctx.since(started).as_secs()),
        );
    }
    table.direct(&source, &target).map_err(|why| {
        ModuleError::failed(format!(
            "{source} -> {target} is not a supported hop: {why}. Plan the hops with keel.storage.weka_upgrade_path"
        ))
    })?;
    if !weka.installed(ctx)?.has(&target) {
        // In check mode the release was not really fetched by an earlier step.
        if ctx.check_mode() {
            ctx.warn(format!(
                "WEKA {target} is not on this backend yet; the upgrade needs it there first"
            ));
        } else {
            return Err(ModuleError::failed(format!(
            "WEKA {target} is not available on this backend: get it first (keel.storage.weka_version, or `weka version \
             get {target}`)"
            )));
        }
    }
    let local: Vec<String> = weka.local_ps(ctx)?.into_iter().map(|c| c.name).collect();
    let flags = Flags {
        prepare_only: args.prepare_only,
        mode: args.mode.clone(),
        container: args.container.clone(),
        stop_io_timeout: args.stop_io_timeout,
        host_version_change_timeout: args.host_version_change_timeout,
        disconnect_stateless_clients_timeout: args.disconnect_stateless_clients_timeout,
        health_check_timeout: args.health_check_timeout,
    };
    let argv = upgrade_argv(&target, &flags, &local).map_err(|e| ModuleError::invalid_args(format!("{NAME}: {e}")))?;
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let shown_cmd = format!("weka {}", argv.join(" "));

    if args.prepare_only && source.at_least("4.1") {
        // 4.1+ lists the releases every server holds: prepared everywhere already is no change.
        if let Ok(text) = weka.ok(ctx, &["cluster", "servers", "list", "-J"]) {
            let servers = keel_weka_cli::parse::parse_servers(&text).unwrap_or_default();
            let backends: Vec<_> = servers
                .iter()
                .filter(|s| !s.roles.iter().any(|r| r == "CLIENT"))
                .collect();
            if !backends.is_empty()
                && backends.iter().all(|s| {
                    s.versions
                        .iter()
                        .any(|x| WekaVersion::parse(x).as_ref() == Some(&target))
                })
            {
                return Ok(base(ModuleResult::new(
                    false,
                    format!("{target} is already on every backend server"),
                ))
                .with("elapsed_s", ctx.since(started).as_secs()));
            }
        }
    }
    let diff = json!({"before": format!("release: {source}\n"), "after": format!("release: {target}\n"),
                      "before_header": "weka status", "after_header": "weka status"});
    if ctx.check_mode() {
        let mut r = base(ModuleResult::new(true, format!("would run: {shown_cmd}"))).with("command", &shown_cmd);
        if !args.prepare_only {
            r.diff = Some(diff);
        }
        return Ok(r);
    }
    let t0 = ctx.now();
    // Killed half way, WEKA's upgrade could leave the cluster between releases: past
    // upgrade_timeout it goes on alone and the result says what the cluster shows meanwhile.
    let out = match weka.exec_unkillable(ctx, &argv, Duration::from_secs(args.upgrade_timeout.max(1))) {
        Ok(out) => out,
        Err(e @ ModuleError::LeftRunning { .. }) => {
            let mut data = Map::new();
            let state = match weka.containers(ctx, &source) {
                Ok(all) => {
                    let backends: Vec<&Container> = all.iter().filter(|c| c.is_backend()).collect();
                    data.insert("backends".into(), json!(backends));
                    format!("`weka cluster host` shows meanwhile: {}", shown(&backends))
                }
                Err(e) => format!("`weka cluster host` cannot be read meanwhile ({e})"),
            };
            return Err(keel_weka_cli::cli::left_running(
                e,
                "upgrade_timeout",
                "interrupting WEKA's upgrade could leave the cluster between releases",
                &state,
                "check `weka status` and `weka cluster host`, and run this task again (it finds the cluster on \
                 the new release, or says why not)",
                data,
            ));
        }
        Err(e) => return Err(e),
    };
    let upgrade_s = ctx.since(t0).as_secs();
    let backends_now = |ctx: &mut Ctx| -> Result<Vec<Container>, ModuleError> {
        Ok(weka
            .containers(ctx, &source)?
            .into_iter()
            .filter(|c| c.is_backend())
            .collect())
    };
    if !out.success() {
        let why = keel_weka_cli::cli::first_line(&out.stderr, &out.stdout);
        let backends = backends_now(ctx).unwrap_or_default();
        let refs: Vec<&Container> = backends.iter().collect();
        let on_source = !refs.is_empty() && refs.iter().all(|c| c.release().as_ref() == Some(&source));
        let reverted = format!("{}{}", out.stdout, out.stderr)
            .to_ascii_lowercase()
            .contains("revert");
        let msg = if on_source && reverted {
            format!(
                "the upgrade to {target} failed inside WEKA's upgrade window and WEKA reverted the cluster to {source} \
                 automatically; `weka cluster host` shows: {}. weka said: {why}. Find the cause before retrying (if IO stays \
                 stopped once every host is back: `weka cluster start-io`)",
                shown(&refs)
            )
        } else if on_source {
            format!(
                "the upgrade to {target} stopped before any backend changed release (all still on {source}): {why}. \
                 `weka cluster host` shows: {}",
                shown(&refs)
            )
        } else {
            format!(
                "the upgrade to {target} failed and the backends do not all run {source}: {why}. `weka cluster host` shows: \
                 {}. Check `weka status` and contact WEKA support before going on",
                shown(&refs)
            )
        };
        let mut m = Map::new();
        m.insert("cmd".into(), json!(shown_cmd));
        m.insert("rc".into(), json!(out.rc));
        m.insert("reverted".into(), json!(on_source && reverted));
        m.insert("backends".into(), json!(backends));
        // The message quotes one line; WEKA's whole account goes back too (masked like the rest).
        m.insert("stdout".into(), json!(out.stdout));
        m.insert("stderr".into(), json!(out.stderr));
        return Err(ModuleError::failed_with(msg, m));
    }
    let mut r = base(ModuleResult::new(true, String::new()))
        .with("command", &shown_cmd)
        .with("upgrade_s", upgrade_s)
        .with("output", out.stdout.lines().collect::<Vec<_>>());
    if args.prepare_only {
        r.msg = format!("{target} prepared on every backend ({upgrade_s} s); nothing switched");
        return Ok(r.with("elapsed_s", ctx.since(started).as_secs()));
    }
    // WEKA returned success: every backend must now say so too.
    ctx.poll(
        poll.max(Duration::from_secs(1)),
        Some(Duration::from_secs(args.confirm_timeout)),
        |ctx, _| {
            let backends = backends_now(ctx)?;
            let refs: Vec<&Container> = backends.iter().collect();
            let behind: Vec<&Container> = refs
                .iter()
                .copied()
                .filter(|c| c.release().as_ref() != Some(&target) || !c.up())
                .collect();
            if behind.is_empty() && weka.status(ctx)?.release == target {
                return Ok(Poll::Ready(()));
            }
            if refs.iter().all(|c| c.release().as_ref() == Some(&source)) {
                return Err(ModuleError::failed(format!(
                    "weka reported the upgrade to {target} done, but every backend runs {source} again: WEKA reverted \
                     it. `weka cluster host` shows: {}",
                    shown(&refs)
                )));
            }
            Ok(Poll::Pending(shown(&behind)))
        },
        |behind, _| {
            ModuleError::failed(format!(
                "weka reported the upgrade to {target} done, but after {} s these backends are not UP on it: {behind}",
                args.confirm_timeout,
            ))
        },
    )?;
    let data_s = if args.wait_data_upgrade {
        wait_data_upgrade(ctx, &weka, Duration::from_secs(args.data_upgrade_timeout), poll)?
    } else {
        0
    };
    r.msg = format!(
        "upgraded the cluster from {source} to {target} in {upgrade_s} s{}",
        if args.wait_data_upgrade {
            format!("; data upgrade finished ({data_s} s waited)")
        } else {
            String::new()
        }
    );
    r.diff = Some(diff);
    Ok(r.with("data_upgrade_s", data_s)
        .with("elapsed_s", ctx.since(started).as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> WekaVersion {
        WekaVersion::parse(s).unwrap()
    }

    fn argv(_from: &str, to: &str, f: Flags) -> Result<String, String> {
        let local = vec!["drives0".to_string(), "compute0".to_string()];
        upgrade_argv(&v(to), &f, &local).map(|a| a.join(" "))
    }

    fn auto() -> Flags {
        Flags {
            mode: "auto".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_seed_form_with_its_timeouts() {
        let f = Flags {
            host_version_change_timeout: Some(600),
            disconnect_stateless_clients_timeout: Some(200),
            ..auto()
        };
        assert_eq!(
            upgrade_argv(&v("4.0.2"), &f, &["default".into()]).unwrap().join(" "),
            "local run --in 4.0.2 upgrade --host-version-change-timeout 600s --disconnect-stateless-clients-timeout 200s"
        );
        let f = Flags {
            prepare_only: true,
            ..auto()
        };
        assert_eq!(
            argv("3.13.1", "3.14.1", f).unwrap(),
            "local run --container drives0 --in 3.14.1 upgrade --prepare-only"
        );
    }

    #[test]
    fn old_and_ndu_forms() {
        let one = upgrade_argv(&v("3.11.0"), &auto(), &["default".into()]).unwrap();
        assert_eq!(one.join(" "), "local run --in 3.11.0 upgrade --mode one-shot");
        assert_eq!(
            argv("4.0.2", "4.1.2.36", auto()).unwrap(),
            "local run --container drives0 --in 4.1.2.36 upgrade --mode ndu"
        );
        let legacy = upgrade_argv(&v("3.14.1"), &auto(), &["default".into()]).unwrap();
        assert_eq!(legacy.join(" "), "local run --in 3.14.1 upgrade");
        assert_eq!(
            argv("4.1.2.36", "4.2.18.34", auto()).unwrap(),
            "local run --container drives0 --in 4.2.18.34 upgrade"
        );
        let f = Flags {
            container: Some("compute0".into()),
            ..auto()
        };
        assert_eq!(
            argv("4.2.1", "4.4.6", f).unwrap(),
            "local run --container compute0 --in 4.4.6 upgrade"
        );
    }

    #[test]
    fn flags_the_target_lacks_are_refused() {
        let f = Flags {
            health_check_timeout: Some(10),
            ..auto()
        };
        assert!(argv("3.13.1", "3.14.1", f)
            .unwrap_err()
            .contains("--health-check-timeout arrived in WEKA 4.0"));
        let f = Flags {
            disconnect_stateless_clients_timeout: Some(60),
            ..auto()
        };
        assert!(argv("3.10.0", "3.11.0", f)
            .unwrap_err()
            .contains("arrived in WEKA 3.12"));
        let f = Flags {
            mode: "ndu".into(),
            ..Default::default()
        };
        assert!(argv("3.14.1", "4.0.2", f).unwrap_err().contains("start with 4.1"));
        assert!(upgrade_argv(&v("4.4.6"), &auto(), &[])
            .unwrap_err()
            .contains("no WEKA container"));
    }
}
