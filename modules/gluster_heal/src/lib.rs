//! `keel.storage.gluster_heal`: triggers self-heal on every started replicate/disperse volume (the
//! upgrade guides run `gluster volume heal VOL` for each after a server comes back) and tells
//! whether every brick is healed. Counting uses `heal VOL info summary`, which never lists entries,
//! so a backlog of millions costs no memory. Healed means known counts from every brick, all zero:
//! a count gluster could not give is unknown, never zero.

use std::collections::BTreeMap;
use std::time::Duration;

use keel_gluster_cli::parse::{BrickHeal, VolumeInfo};
use keel_gluster_cli::Gluster;
use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult, Output};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

mod spec;
pub use spec::MODULE;

#[derive(Deserialize)]
struct Args {
    volumes: Option<Vec<String>>,
    trigger: bool,
    wait: bool,
    command_timeout: u64,
    wait_timeout: u64,
    poll_interval: u64,
    brick_down_grace: u64,
    report_entries: i64,
}

/// How often a down brick is looked at again during its grace.
const DOWN_POLL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VolumeCounts {
    /// Every brick answered with its counts, and all are zero.
    pub healed: bool,
    /// Sums over the bricks whose counts are known.
    pub pending: u64,
    pub split_brain: u64,
    pub possibly_healing: u64,
    /// Bricks the summary shows as not connected: down, or their server is.
    pub bricks_down: Vec<String>,
    /// Each brick whose counts are unknown, with why.
    pub bricks_unknown: BTreeMap<String, String>,
    pub bricks: Vec<BrickHeal>,
}

/// The counts of one volume whose bricks (from volume info) are `expected`: a brick missing
/// from the summary, not connected, or with a count gluster printed as "-" is unknown.
pub fn counts(expected: &[String], bricks: Vec<BrickHeal>) -> VolumeCounts {
    let mut unknown = BTreeMap::new();
    for n in expected.iter().filter(|n| !bricks.iter().any(|b| &b.name == *n)) {
        unknown.insert(n.clone(), "not in gluster's heal info summary".to_string());
    }
    for b in &bricks {
        let why = if !b.connected {
            Some(if b.status.is_empty() {
                "not connected"
            } else {
                b.status.as_str()
            })
        } else if b.pending.is_none() || b.split_brain.is_none() || b.possibly_healing.is_none() {
            Some("connected, but gluster gave no count")
        } else {
            None
        };
        if let Some(why) = why {
            unknown.insert(b.name.clone(), why.to_string());
        }
    }
    let sum = |f: fn(&BrickHeal) -> Option<u64>| bricks.iter().filter_map(f).sum::<u64>();
    let (pending, split_brain, possibly_healing) =
        (sum(|b| b.pending), sum(|b| b.split_brain), sum(|b| b.possibly_healing));
    VolumeCounts {
        healed: !bricks.is_empty() && unknown.is_empty() && pending + split_brain + possibly_healing == 0,
        pending,
        split_brain,
        possibly_healing,
        bricks_down: bricks.iter().filter(|b| !b.connected).map(|b| b.name.clone()).collect(),
        bricks_unknown: unknown,
        bricks,
    }
}

/// The volumes to heal with their bricks: those named (each must exist, be started and heal),
/// or every started replicate/disperse volume.
pub fn select(infos: &[VolumeInfo], wanted: &[String]) -> Result<Vec<(String, Vec<String>)>, String> {
    let picked: Vec<&VolumeInfo> = if wanted.is_empty() {
        infos.iter().filter(|v| v.started() && v.vol_type.heals()).collect()
    } else {
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
                Ok(v)
            })
            .collect::<Result<_, _>>()?
    };
    Ok(picked
        .into_iter()
        .map(|v| (v.name.clone(), v.bricks.iter().map(|b| b.name.clone()).collect()))
        .collect())
}

/// What the heal loop needs from the pool and the clock: gluster and the real clock in the
/// module, captured output and a clock that moves only when slept in tests.
pub trait Cluster {
    fn summary(&mut self, volume: &str) -> Result<Vec<BrickHeal>, ModuleError>;
    /// `gluster volume heal VOL`, once.
    fn trigger(&mut self, volume: &str) -> Result<Output, ModuleError>;
    /// The first `limit` entries of `heal VOL info split-brain`; none when gluster will not say.
    fn split_brain_entries(&mut self, volume: &str, limit: usize) -> Vec<String>;
    /// Time since the module started.
    fn elapsed(&self) -> Duration;
    fn sleep(&mut self, pause: Duration);
}

pub struct Plan {
    /// Each volume with the bricks volume info gives it.
    pub volumes: Vec<(String, Vec<String>)>,
    pub trigger: bool,
    pub wait: bool,
    pub check_mode: bool,
    pub wait_timeout: Duration,
    pub poll_interval: Duration,
    pub brick_down_grace: Duration,
    pub report_entries: usize,
}

#[derive(Debug)]
pub struct Outcome {
    pub now: BTreeMap<String, VolumeCounts>,
    /// Some volume was not healed at the first count.
    pub backlog: bool,
    pub triggered: Vec<String>,
    /// Check mode: the volumes a run would trigger.
    pub would_trigger: Vec<String>,
}

impl Outcome {
    pub fn healed(&self) -> bool {
        self.now.values().all(|c| c.healed)
    }
}

/// Counts, triggers every volume once none of its bricks is down, and with `wait` counts again until
/// healed. Fails as stuck (data `stuck: true`) on split-brain at once and on a brick still down
/// after the grace: waiting clears neither.
pub fn heal(c: &mut dyn Cluster, plan: &Plan) -> Result<Outcome, ModuleError> {
    let start = c.elapsed();
    let mut out = Outcome {
        now: BTreeMap::new(),
        backlog: false,
        triggered: Vec::new(),
        would_trigger: Vec::new(),
    };
    let mut down_since: Option<Duration> = None;
    let mut first = true;
    loop {
        out.now = plan
            .volumes
            .iter()
            .map(|(v, bricks)| Ok((v.clone(), counts(bricks, c.summary(v)?))))
            .collect::<Result<_, ModuleError>>()?;
        if first {
            out.backlog = !out.healed();
            first = false;
        }
        let t = c.elapsed();
        let down = out.now.values().any(|v| !v.bricks_down.is_empty());
        let since = if down { *down_since.get_or_insert(t) } else { t };
        if !down {
            down_since = None;
        }
        let down_for = t.saturating_sub(since);
        if out.now.values().any(|v| v.split_brain > 0) || (down && down_for >= plan.brick_down_grace) {
            return Err(stuck(c, plan, &out, down_for, t.saturating_sub(start)));
        }
        // gluster refuses a trigger while a brick of the volume is down, so wait for it.
        let ready = out.now.iter().filter(|(_, c)| c.bricks_down.is_empty());
        if plan.trigger {
            for (v, _) in ready {
                if plan.check_mode {
                    if !out.would_trigger.contains(v) {
                        out.would_trigger.push(v.clone());
                    }
                } else if !out.triggered.contains(v) {
                    trigger(c, v)?;
                    out.triggered.push(v.clone());
                }
            }
        }
        if !down && (!plan.wait || plan.check_mode || out.healed()) {
            return Ok(out);
        }
        let waited = t.saturating_sub(start);
        if plan.wait && !plan.check_mode && waited >= plan.wait_timeout {
            return Err(ModuleError::failed_with(
                format!(
                    "heal did not finish within {} s: {}",
                    plan.wait_timeout.as_secs(),
                    summary(&out.now)
                ),
                data(&out, false, waited),
            ));
        }
        let mut pause = plan.poll_interval.max(Duration::from_secs(1));
        if down {
            pause = pause.min(DOWN_POLL).min(plan.brick_down_grace.saturating_sub(down_for));
        }
        if plan.wait && !plan.check_mode {
            pause = pause.min(plan.wait_timeout.saturating_sub(waited));
        }
        c.sleep(pause);
    }
}

/// The failure of a pool that waiting cannot heal, with the operator's remedy.
fn stuck(c: &mut dyn Cluster, plan: &Plan, out: &Outcome, down_for: Duration, waited: Duration) -> ModuleError {
    let mut reasons = Vec::new();
    let mut msgs = Vec::new();
    let mut split = Map::new();
    for (vol, v) in out.now.iter().filter(|(_, v)| v.split_brain > 0) {
        let entries = c.split_brain_entries(vol, plan.report_entries);
        // Each brick of a replica set counts the same entries: name the bricks with their counts.
        let per_brick: Map<String, Value> = v
            .bricks
            .iter()
            .filter_map(|b| b.split_brain.filter(|n| *n > 0).map(|n| (b.name.clone(), n.into())))
            .collect();
        msgs.push(format!(
            "volume {vol} has entries in split-brain (per brick: {}); Gluster will not heal them on its own. {}List them \
             (gluster volume heal {vol} info split-brain), resolve each (gluster volume heal {vol} split-brain \
             source-brick HOST:BRICK FILE, or bigger-file FILE or latest-mtime FILE when exactly one copy is bigger or \
             newer) and run again",
            per_brick.iter().map(|(b, n)| format!("{b} {n}")).collect::<Vec<_>>().join(", "),
            if entries.is_empty() {
                String::new()
            } else {
                format!("First entries: {}. ", entries.join(", "))
            }
        ));
        split.insert(vol.clone(), json!({"bricks": per_brick, "entries": entries}));
    }
    if !split.is_empty() {
        reasons.push("split_brain");
    }
    let mut down = Vec::new();
    if down_for >= plan.brick_down_grace {
        for (vol, v) in &out.now {
            for b in &v.bricks_down {
                msgs.push(format!(
                    "brick {b} of {vol} stays down ({}) after {} s: heal cannot finish; start it (gluster volume \
                     start {vol} force) or bring its server back (gluster volume status {vol})",
                    v.bricks_unknown.get(b).map_or("", String::as_str),
                    down_for.as_secs()
                ));
                down.push(b.clone());
            }
        }
    }
    if !down.is_empty() {
        reasons.push("bricks_down");
    }
    let mut d = data(out, true, waited);
    d.insert("stuck_reasons".into(), json!(reasons));
    d.insert("split_brain".into(), Value::Object(split));
    d.insert("bricks_down".into(), json!(down));
    ModuleError::failed_with(msgs.join("; "), d)
}

/// What every result carries, success or failure.
fn data(out: &Outcome, stuck: bool, waited: Duration) -> Map<String, Value> {
    Map::from_iter([
        ("healed".to_string(), json!(out.healed())),
        ("stuck".to_string(), json!(stuck)),
        (
            "pending_total".to_string(),
            json!(out.now.values().map(|c| c.pending).sum::<u64>()),
        ),
        ("volumes".to_string(), json!(out.now)),
        ("triggered".to_string(), json!(out.triggered)),
        ("would_trigger".to_string(), json!(out.would_trigger)),
        ("elapsed_s".to_string(), json!(waited.as_secs())),
    ])
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
fn trigger(c: &mut dyn Cluster, volume: &str) -> Result<(), ModuleError> {
    let started = c.elapsed();
    loop {
        let out = c.trigger(volume)?;
        if out.success() {
            return Ok(());
        }
        let text = format!("{}{}", out.stdout, out.stderr);
        if let Some(msg) = trigger_refused(volume, &text, c.elapsed().saturating_sub(started)) {
            return Err(ModuleError::command(msg, out));
        }
        c.sleep(Duration::from_secs(2));
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

fn summary(now: &BTreeMap<String, VolumeCounts>) -> String {
    now.iter()
        .map(|(v, c)| {
            let mut s = format!("{v}: {} pending", c.pending);
            let unknown = c.bricks_unknown.len() - c.bricks_down.len();
            for (n, what) in [
                (c.possibly_healing as usize, "possibly healing"),
                (c.bricks_down.len(), "brick(s) down"),
                (unknown, "brick(s) without counts"),
            ] {
                if n > 0 {
                    s += &format!(", {n} {what}");
                }
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// gluster on this host, with the module's clock.
struct Live<'a> {
    ctx: &'a mut Ctx,
    gluster: Gluster,
    started: keel_runtime::Moment,
}

impl Cluster for Live<'_> {
    fn summary(&mut self, volume: &str) -> Result<Vec<BrickHeal>, ModuleError> {
        self.gluster.heal_summary(self.ctx, volume)
    }
    fn trigger(&mut self, volume: &str) -> Result<Output, ModuleError> {
        let timeout = format!("--timeout={}", self.gluster.timeout.as_secs().max(1));
        self.gluster.run(
            self.ctx,
            &["gluster", "--mode=script", &timeout, "volume", "heal", volume],
        )
    }
    fn split_brain_entries(&mut self, volume: &str, limit: usize) -> Vec<String> {
        self.gluster
            .xml(self.ctx, &["volume", "heal", volume, "info", "split-brain"])
            .ok()
            .and_then(|xml| keel_gluster_cli::parse::parse_heal_entries(&xml, limit).ok())
            .unwrap_or_default()
    }
    fn elapsed(&self) -> Duration {
        self.ctx.since(self.started)
    }
    fn sleep(&mut self, pause: Duration) {
        self.ctx.sleep(pause)
    }
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_heal", opts)?;
    let gluster = Gluster {
        timeout: Duration::from_secs(args.command_timeout),
    };
    let infos = gluster.volume_info(ctx)?;
    let volumes = select(&infos, args.volumes.as_deref().unwrap_or(&[]))
        .map_err(|e| ModuleError::invalid_args(format!("gluster_heal: {e}")))?;
    let plan = Plan {
        volumes,
        trigger: args.trigger,
        wait: args.wait,
        check_mode: ctx.check_mode(),
        wait_timeout: Duration::from_secs(args.wait_timeout),
        poll_interval: Duration::from_secs(args.poll_interval),
        brick_down_grace: Duration::from_secs(args.brick_down_grace),
        report_entries: args.report_entries.max(0) as usize,
    };
    let started = ctx.now();
    let mut live = Live { ctx, gluster, started };
    let out = heal(&mut live, &plan)?;
    let waited = live.elapsed();
    let healed = out.healed();
    let names: Vec<&str> = plan.volumes.iter().map(|(v, _)| v.as_str()).collect();
    let state = if names.is_empty() {
        "nothing to heal on any volume".to_string()
    } else if !healed {
        format!("not healed yet: {}", summary(&out.now))
    } else if out.backlog {
        format!("healed {} in {} s", names.join(", "), waited.as_secs())
    } else {
        format!("nothing to heal on {}", names.join(", "))
    };
    let acted = if !out.would_trigger.is_empty() {
        format!("; would trigger heal on {}", out.would_trigger.join(", "))
    } else if !out.triggered.is_empty() {
        format!("; heal triggered on {}", out.triggered.join(", "))
    } else {
        String::new()
    };
    // Changed when this run triggered a heal on a backlog or saw it healed, not merely found one.
    let changed = !plan.check_mode && out.backlog && (healed || !out.triggered.is_empty());
    let mut r = ModuleResult::new(changed, state + &acted);
    r.data.extend(data(&out, false, waited));
    Ok(r)
}

#[cfg(test)]
mod tests;
