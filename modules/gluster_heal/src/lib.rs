//! `keel.storage.gluster_heal`: triggers self-heal on replicate/disperse volumes and (optionally)
//! waits until every brick reports zero pending entries. Counting uses `heal VOL info summary`,
//! which never lists entries, so a backlog of millions costs no memory.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use keel_gluster_cli::parse::{BrickHeal, VolumeInfo};
use keel_gluster_cli::Gluster;
use keel_runtime::{into_typed, Ctx, Kind, ModuleDef, ModuleError, ModuleResult, Opt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_heal",
    options: &[
        Opt::new("volumes", Kind::List),
        Opt::new("wait", Kind::Bool),
        Opt::new("timeout", Kind::Duration),
        Opt::new("poll_interval", Kind::Duration),
        Opt::new("report_entries", Kind::Int),
    ],
    supports_check_mode: true,
    run,
};

#[derive(Deserialize)]
struct Args {
    #[serde(default)]
    volumes: Vec<String>,
    #[serde(default = "keel_runtime::args::default_true")]
    wait: bool,
    #[serde(default = "default_timeout")]
    timeout: u64,
    #[serde(default = "default_poll")]
    poll_interval: u64,
    #[serde(default = "default_entries")]
    report_entries: i64,
}

fn default_timeout() -> u64 {
    1800
}
fn default_poll() -> u64 {
    10
}
fn default_entries() -> i64 {
    10
}

/// Polls a down brick may be seen before the wait gives up on it.
const DOWN_POLLS: u32 = 3;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VolumeCounts {
    /// Sum over bricks that answered.
    pub pending: u64,
    pub split_brain: u64,
    /// Bricks that could not be asked (their count is unknown, not zero).
    pub bricks_down: Vec<String>,
    pub bricks: Vec<BrickHeal>,
}

pub fn counts(bricks: Vec<BrickHeal>) -> VolumeCounts {
    VolumeCounts {
        pending: bricks.iter().filter_map(|b| b.pending).sum(),
        split_brain: bricks.iter().filter_map(|b| b.split_brain).sum(),
        bricks_down: bricks.iter().filter(|b| !b.connected).map(|b| b.name.clone()).collect(),
        bricks,
    }
}

impl VolumeCounts {
    pub fn healed(&self) -> bool {
        self.pending == 0 && self.split_brain == 0 && self.bricks_down.is_empty()
    }
}

/// The volumes to heal: those named (each must exist, be started and heal), or every started
/// replicate/disperse volume.
pub fn select(infos: &[VolumeInfo], wanted: &[String]) -> Result<Vec<String>, String> {
    if wanted.is_empty() {
        return Ok(infos
            .iter()
            .filter(|v| v.started() && v.vol_type.heals())
            .map(|v| v.name.clone())
            .collect());
    }
    wanted
        .iter()
        .map(|name| {
            let v = infos.iter().find(|v| &v.name == name).ok_or_else(|| {
                format!(
                    "volume '{name}' does not exist; volumes: {}",
                    infos.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", ")
                )
            })?;
            if !v.vol_type.heals() {
                return Err(format!(
                    "volume '{name}' is {}: only replicate and disperse volumes heal",
                    v.type_str
                ));
            }
            if !v.started() {
                return Err(format!(
                    "volume '{name}' is {}, not started: start it before healing",
                    v.status
                ));
            }
            Ok(name.clone())
        })
        .collect()
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_heal", opts)?;
    let gluster = Gluster::default();
    let infos = gluster.volume_info(ctx)?;
    let volumes = select(&infos, &args.volumes).map_err(|e| ModuleError::invalid_args(format!("gluster_heal: {e}")))?;
    let started = Instant::now();
    let mut now = read_all(ctx, &gluster, &volumes)?;
    let backlog = now.values().any(|c| !c.healed());
    fail_on_split_brain(ctx, &gluster, &now, args.report_entries)?;

    // Nothing pending, nothing to do: a second run reports no change.
    let act = backlog && !ctx.check_mode();
    let mut triggered = Vec::new();
    if act {
        trigger_ready(ctx, &gluster, &now, &mut triggered)?;
    }
    if act && args.wait {
        let mut down_seen: BTreeMap<String, u32> = BTreeMap::new();
        loop {
            if now.values().all(VolumeCounts::healed) {
                break;
            }
            for c in now.values() {
                for b in &c.bricks_down {
                    let n = down_seen.entry(b.clone()).or_default();
                    *n += 1;
                    if *n >= DOWN_POLLS {
                        return Err(failure(format!("brick {b} stays down ({}): heal cannot finish; start it (gluster volume start VOL force) or bring its server back", status_of(c, b)), &now, started));
                    }
                }
            }
            if started.elapsed() >= Duration::from_secs(args.timeout) {
                return Err(failure(
                    format!("heal did not finish within {} s: {}", args.timeout, summary(&now)),
                    &now,
                    started,
                ));
            }
            std::thread::sleep(Duration::from_secs(args.poll_interval.max(1)));
            now = read_all(ctx, &gluster, &volumes)?;
            fail_on_split_brain(ctx, &gluster, &now, args.report_entries)?;
            trigger_ready(ctx, &gluster, &now, &mut triggered)?;
        }
    }
    let healed = now.values().all(VolumeCounts::healed);
    let msg = if !backlog {
        format!(
            "nothing to heal on {}",
            if volumes.is_empty() {
                "any volume".to_string()
            } else {
                volumes.join(", ")
            }
        )
    } else if ctx.check_mode() {
        format!("would trigger heal: {}", summary(&now))
    } else if healed {
        format!("healed {} in {} s", volumes.join(", "), started.elapsed().as_secs())
    } else if triggered.is_empty() {
        format!(
            "heal not triggered: gluster refuses while a brick of the volume is down, and the self-heal daemon \
             resumes on its own once it is back; still pending: {}",
            summary(&now)
        )
    } else {
        format!(
            "heal triggered on [{}]; still pending: {}",
            triggered.join(", "),
            summary(&now)
        )
    };
    // Changed when this run triggered a heal or saw the backlog healed, not merely found one.
    let changed = act && (healed || !triggered.is_empty());
    Ok(result(ModuleResult::new(changed, msg), &now, started)
        .with("triggered", triggered)
        .with("healed", healed))
}

/// Triggers each volume with a backlog once all its bricks answer: with a brick down gluster
/// refuses the trigger ("Glusterd Syncop Mgmt brick op 'Heal' failed"), and the self-heal daemon
/// starts on its own when the brick returns anyway.
fn trigger_ready(
    ctx: &mut Ctx,
    gluster: &Gluster,
    now: &BTreeMap<String, VolumeCounts>,
    triggered: &mut Vec<String>,
) -> Result<(), ModuleError> {
    for (v, c) in now {
        if c.pending > 0 && c.bricks_down.is_empty() && !triggered.contains(v) {
            trigger(ctx, gluster, v)?;
            triggered.push(v.clone());
        }
    }
    Ok(())
}

fn read_all(
    ctx: &mut Ctx,
    gluster: &Gluster,
    volumes: &[String],
) -> Result<BTreeMap<String, VolumeCounts>, ModuleError> {
    volumes
        .iter()
        .map(|v| Ok((v.clone(), counts(gluster.heal_summary(ctx, v)?))))
        .collect()
}

/// A trigger refusal that no retry cures, as the operator's remedy.
pub fn refused_for_good(volume: &str, text: &str) -> Option<String> {
    text.contains("Self-heal-daemon is disabled").then(|| {
        format!(
            "the self-heal daemon of {volume} is disabled, so nothing heals the writes a stopped server missed: \
             enable it (gluster volume set {volume} cluster.self-heal-daemon on) and run again"
        )
    })
}

/// Right after glusterd or a brick starts, the trigger fails until the self-heal daemon is up
/// and connected to every brick ("Self-heal daemon is not running", or, seen on 10.3 right after
/// `volume start force`, "Glusterd Syncop Mgmt brick op 'Heal' failed"; seen on a 10.3 + 11.1
/// pool right after the upgraded server's glusterd started, "Commit failed on PEER", the 10.3
/// peers failing the post-commit while max-op-version is renegotiated): retry for a minute.
fn trigger(ctx: &mut Ctx, gluster: &Gluster, volume: &str) -> Result<(), ModuleError> {
    let started = Instant::now();
    loop {
        let out = gluster.run(ctx, &["gluster", "--mode=script", "volume", "heal", volume])?;
        if out.success() {
            return Ok(());
        }
        let text = format!("{}{}", out.stdout, out.stderr);
        if let Some(msg) = trigger_refused(volume, &text, started.elapsed()) {
            return Err(ModuleError::command(msg, out));
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// Why a trigger that failed after `waited` is given up, or None to try it again: only the
/// transient refusals of a self-heal daemon still coming up are retried, for a minute.
fn trigger_refused(volume: &str, text: &str, waited: Duration) -> Option<String> {
    let transient = [
        "Self-heal daemon is not running",
        "not connected",
        "brick op 'Heal' failed",
        "Commit failed on",
    ]
    .iter()
    .any(|m| text.contains(m));
    refused_for_good(volume, text).or_else(|| {
        (!transient || waited > Duration::from_secs(60))
            .then(|| format!("could not trigger heal on {volume}: {}", text.trim()))
    })
}

fn fail_on_split_brain(
    ctx: &mut Ctx,
    gluster: &Gluster,
    now: &BTreeMap<String, VolumeCounts>,
    limit: i64,
) -> Result<(), ModuleError> {
    // The first volume in split-brain fails the module.
    if let Some((vol, c)) = now.iter().find(|(_, c)| c.split_brain > 0) {
        let entries = gluster
            .xml(ctx, &["volume", "heal", vol, "info", "split-brain"])
            .ok()
            .and_then(|xml| keel_gluster_cli::parse::parse_heal_entries(&xml, limit.max(0) as usize).ok())
            .unwrap_or_default();
        // Each brick of a replica set counts the same entries: name the bricks with their counts.
        let per_brick: Vec<String> = c
            .bricks
            .iter()
            .filter_map(|b| b.split_brain.filter(|n| *n > 0).map(|n| format!("{} {n}", b.name)))
            .collect();
        return Err(ModuleError::failed_with(
            format!(
                "volume {vol} has entries in split-brain (per brick: {}); Gluster will not heal them on its own. {}Resolve each \
                 (gluster volume heal {vol} split-brain source-brick HOST:BRICK FILE, or bigger-file FILE or \
                 latest-mtime FILE when exactly one copy is bigger or newer) and run again",
                per_brick.join(", "),
                if entries.is_empty() {
                    String::new()
                } else {
                    format!("First entries: {}. ", entries.join(", "))
                }
            ),
            Map::from_iter([("volumes".to_string(), json!(now))]),
        ));
    }
    Ok(())
}

fn status_of(c: &VolumeCounts, brick: &str) -> String {
    c.bricks
        .iter()
        .find(|b| b.name == brick)
        .map(|b| b.status.clone())
        .unwrap_or_default()
}

fn summary(now: &BTreeMap<String, VolumeCounts>) -> String {
    now.iter()
        .map(|(v, c)| {
            let down = if c.bricks_down.is_empty() {
                String::new()
            } else {
                format!(", {} brick(s) down", c.bricks_down.len())
            };
            format!("{v}: {} pending{down}", c.pending)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn result(r: ModuleResult, now: &BTreeMap<String, VolumeCounts>, started: Instant) -> ModuleResult {
    r.with("volumes", now)
        .with("pending_total", now.values().map(|c| c.pending).sum::<u64>())
        .with("elapsed_s", started.elapsed().as_secs())
}

fn failure(msg: String, now: &BTreeMap<String, VolumeCounts>, started: Instant) -> ModuleError {
    let r = result(ModuleResult::default(), now, started);
    ModuleError::failed_with(msg, r.data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_self_heal_daemon_is_refused_for_good_with_the_remedy() {
        // What 10.3 printed on stderr (rc 1) for `volume heal sb0` with the daemon disabled.
        let text = include_str!("../../gluster_cli/tests/fixtures/10.3/splitbrain-shd-off-heal-sb0-trigger.stderr");
        let msg = refused_for_good("sb0", text).unwrap();
        assert!(
            msg.contains("gluster volume set sb0 cluster.self-heal-daemon on"),
            "{msg}"
        );
        assert_eq!(refused_for_good("gv0", "Self-heal daemon is not running"), None);
    }

    #[test]
    fn a_trigger_is_retried_for_a_minute_only_while_the_self_heal_daemon_comes_up() {
        let second = Duration::from_secs(1);
        let shd_off = include_str!("../../gluster_cli/tests/fixtures/10.3/splitbrain-shd-off-heal-sb0-trigger.stderr");
        let msg = trigger_refused("sb0", shd_off, second).unwrap();
        assert!(msg.starts_with("the self-heal daemon of sb0 is disabled"), "{msg}");
        // Seen on a 10.3 + 11.1 pool right after the upgraded server's glusterd started.
        let commit = "Commit failed on 10.198.0.12. Please check log file for details.";
        assert_eq!(trigger_refused("gv0", commit, second), None, "retried");
        assert_eq!(
            trigger_refused("gv0", commit, Duration::from_secs(61)).unwrap(),
            "could not trigger heal on gv0: Commit failed on 10.198.0.12. Please check log file for details."
        );
        let other = "Launching heal operation to perform index self heal on volume gv0 has been unsuccessful:\n\
                     Volume gv0 is not started.\n";
        assert!(
            trigger_refused("gv0", other, second)
                .unwrap()
                .starts_with("could not trigger heal on gv0: Launching heal operation"),
            "anything else fails at once"
        );
    }
}
