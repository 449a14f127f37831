//! `keel.storage.gluster_georep`: the geo-replication sessions whose primary volume is on this
//! pool, their state; `stopped` stops the running ones and records them, `started` starts
//! exactly the recorded ones again. The Gluster guides: stop geo-replication before an upgrade,
//! start it after, and upgrade secondary pools before their primaries.

use std::path::Path;
use std::time::Duration;

use keel_gluster_cli::cli::glusterd_answered;
use keel_gluster_cli::parse::{self, GeoRepSession};
use keel_gluster_cli::Gluster;
use keel_host::record;
use keel_runtime::{into_typed, Ctx, Kind, ModuleDef, ModuleError, ModuleResult, Opt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_georep",
    options: &[
        Opt::new("state", Kind::Choice(&["list", "stopped", "started"])),
        Opt::new("record", Kind::Str),
        Opt::new("timeout", Kind::Duration),
    ],
    supports_check_mode: true,
    run,
};

#[derive(Deserialize)]
struct Args {
    #[serde(default = "list")]
    state: String,
    #[serde(default = "default_record")]
    record: String,
    #[serde(default = "keel_gluster_cli::default_timeout")]
    timeout: u64,
}

fn list() -> String {
    "list".into()
}
fn default_record() -> String {
    "/var/lib/keel/gluster_georep.json".into()
}

/// What gluster prints, with exit code 2 and no XML, when no session is configured.
const NO_SESSIONS: &str = "geo-replication command failed";

fn sessions(ctx: &mut Ctx, gluster: &Gluster) -> Result<Vec<GeoRepSession>, ModuleError> {
    let timeout = format!("--timeout={}", gluster.timeout.as_secs().max(1));
    let argv = [
        "gluster",
        "--mode=script",
        "--xml",
        timeout.as_str(),
        "volume",
        "geo-replication",
        "status",
    ];
    let out = glusterd_answered(gluster.run(ctx, &argv)?)?;
    if !out.success() && !out.stdout.trim_start().starts_with('<') {
        if format!("{}{}", out.stdout, out.stderr).contains(NO_SESSIONS) {
            return Ok(Vec::new());
        }
        return Err(ModuleError::command(
            format!("cannot read the geo-replication sessions (rc {})", out.rc),
            out,
        ));
    }
    parse::parse_georep_status(&out.stdout)
        .map_err(|e| ModuleError::command(format!("cannot read the geo-replication status: {e}"), out))
}

fn name(s: &GeoRepSession) -> String {
    format!("{} -> {}", s.primary_volume, s.secondary)
}

/// A session stopped for the upgrade. A paused one is paused again after its start: the
/// operator paused it for a reason the upgrade knows nothing about.
#[derive(Serialize, Deserialize)]
struct Recorded {
    primary_volume: String,
    secondary: String,
    #[serde(default)]
    paused: bool,
}

impl Recorded {
    fn of(s: &GeoRepSession) -> Recorded {
        Recorded {
            primary_volume: s.primary_volume.clone(),
            secondary: s.secondary.clone(),
            paused: s.paused(),
        }
    }
    fn is(&self, s: &GeoRepSession) -> bool {
        self.primary_volume == s.primary_volume && self.secondary == s.secondary
    }
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_georep", opts)?;
    let gluster = Gluster {
        timeout: Duration::from_secs(args.timeout),
    };
    let all = sessions(ctx, &gluster)?;
    let record_path = Path::new(&args.record);
    let base = |r: ModuleResult, all: &[GeoRepSession]| {
        r.with("sessions", all)
            .with("role", if all.is_empty() { "none" } else { "primary" })
    };
    match args.state.as_str() {
        "stopped" => {
            let running: Vec<&GeoRepSession> = all.iter().filter(|s| s.running()).collect();
            if running.is_empty() {
                return Ok(base(
                    ModuleResult::new(false, "no geo-replication session is running"),
                    &all,
                ));
            }
            let names: Vec<String> = running.iter().map(|s| name(s)).collect();
            let diff = transition(&names, |_| "running", |_| "stopped");
            if ctx.check_mode() {
                let mut r = ModuleResult::new(true, format!("would stop {}", names.join(", ")));
                r.diff = Some(diff);
                return Ok(base(r, &all).with("stopped", &names));
            }
            // Recorded first: a failure half way still lets `started` bring back every one.
            let mut recorded = read(record_path)?;
            for s in &running {
                if !recorded.iter().any(|r| r.is(s)) {
                    recorded.push(Recorded::of(s));
                }
            }
            record::write(record_path, &recorded)?;
            for s in &running {
                act(ctx, &gluster, s, "stop")?;
            }
            let after = sessions(ctx, &gluster)?;
            let mut r = ModuleResult::new(true, format!("stopped {}", names.join(", ")));
            r.diff = Some(diff);
            Ok(base(r, &after).with("stopped", names))
        }
        "started" => {
            let recorded = read(record_path)?;
            // Stopped sessions start, paused again when they were paused. A recorded paused one
            // that runs unpaused lost its pause to an earlier run that failed in between: it is
            // only paused.
            let to_start: Vec<(&GeoRepSession, bool)> = all
                .iter()
                .filter_map(|s| recorded.iter().find(|r| r.is(s)).map(|r| (s, r.paused)))
                .filter(|(s, paused)| !s.running() || (*paused && !s.paused()))
                .collect();
            let names: Vec<String> = to_start
                .iter()
                .map(|(s, paused)| {
                    if *paused {
                        format!("{} (paused again, as it was)", name(s))
                    } else {
                        name(s)
                    }
                })
                .collect();
            if to_start.is_empty() {
                if !ctx.check_mode() {
                    record::remove(record_path)?;
                }
                return Ok(base(
                    ModuleResult::new(false, "every recorded geo-replication session runs"),
                    &all,
                ));
            }
            let plain: Vec<String> = to_start.iter().map(|(s, _)| name(s)).collect();
            let diff = transition(
                &plain,
                |i| if to_start[i].0.running() { "running" } else { "stopped" },
                |i| if to_start[i].1 { "paused" } else { "running" },
            );
            if ctx.check_mode() {
                let mut r = ModuleResult::new(true, format!("would start {}", names.join(", ")));
                r.diff = Some(diff);
                return Ok(base(r, &all).with("started", &names));
            }
            for (s, paused) in &to_start {
                if !s.running() {
                    act(ctx, &gluster, s, "start")?;
                }
                if *paused {
                    act(ctx, &gluster, s, "pause")?;
                }
            }
            record::remove(record_path)?;
            let after = sessions(ctx, &gluster)?;
            let mut r = ModuleResult::new(true, format!("started {}", names.join(", ")));
            r.diff = Some(diff);
            Ok(base(r, &after).with("started", names))
        }
        _ => {
            let msg = if all.is_empty() {
                "no geo-replication session has its primary volume on this pool".to_string()
            } else {
                format!(
                    "{} session(s): {}",
                    all.len(),
                    all.iter().map(name).collect::<Vec<_>>().join(", ")
                )
            };
            Ok(base(ModuleResult::new(false, msg), &all))
        }
    }
}

/// The diff of sessions going from `before(i)` to `after(i)`, one line per session.
fn transition(
    names: &[String],
    before: impl Fn(usize) -> &'static str,
    after: impl Fn(usize) -> &'static str,
) -> Value {
    let lines = |state: &dyn Fn(usize) -> String| -> String {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{n}: {}\n", state(i)))
            .collect()
    };
    json!({
        "before": lines(&|i| before(i).to_string()),
        "after": lines(&|i| after(i).to_string()),
        "before_header": "geo-replication sessions",
        "after_header": "geo-replication sessions",
    })
}

/// `gluster volume geo-replication PRIMARY SECONDARY start|stop|pause`.
fn act(ctx: &mut Ctx, gluster: &Gluster, s: &GeoRepSession, verb: &str) -> Result<(), ModuleError> {
    let argv = [
        "gluster",
        "--mode=script",
        "volume",
        "geo-replication",
        &s.primary_volume,
        &s.secondary,
        verb,
    ];
    let out = gluster.run(ctx, &argv)?;
    if out.success() {
        Ok(())
    } else {
        Err(ModuleError::command(
            format!("gluster could not {verb} the geo-replication session {}", name(s)),
            out,
        ))
    }
}

/// The recorded sessions; none recorded when there is no record.
fn read(path: &Path) -> Result<Vec<Recorded>, ModuleError> {
    Ok(record::read(path, "check or remove it")?.unwrap_or_default())
}
