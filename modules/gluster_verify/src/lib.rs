//! `keel.storage.gluster_verify`: waits until this server runs the expected release, glusterd
//! answers, every peer is connected and in the cluster, and every brick and self-heal daemon of
//! the pool is online. Read-only.

use std::collections::BTreeMap;
use std::time::Duration;

use keel_gluster_cli::parse::version_from;
use keel_gluster_cli::pool::{self, Pool};
use keel_gluster_cli::Gluster;
use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult, Poll};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

mod spec;
pub use spec::MODULE;

#[derive(Deserialize)]
struct Args {
    version: Option<String>,
    wait_timeout: u64,
    poll_interval: u64,
    other_release_peers: Vec<String>,
    settle: u64,
    stuck_after: u64,
    offer_remedy: bool,
    remedies_applied: Vec<String>,
    wait_id: Option<String>,
    wait_record: String,
}

/// The remedies a stuck pool may get on this server, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Remedy {
    /// Restart glusterd alone: it redoes the handshake with every peer; bricks keep running.
    Restart,
    /// Fetch the volume definitions from the peers again (gluster_service `resync_volumes`).
    Resync,
}

impl Remedy {
    pub fn name(self) -> &'static str {
        match self {
            Remedy::Restart => "restart",
            Remedy::Resync => "resync",
        }
    }
}

/// What keeps the pool from being whole; empty when it is.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Problems {
    /// May clear by waiting (a peer reconnecting, a brick starting).
    pub waiting: Vec<String>,
    /// Peers connected but held in a handshake state that an established pool does not leave by
    /// itself (seen: 'Accepted peer request' for ten minutes, cleared by a glusterd restart).
    pub handshake: Vec<String>,
    /// Peers 'Peer Rejected' that no mixed-release window explains.
    pub rejected: Vec<String>,
    /// Peers on another release that reject this server while a brick of this server is offline:
    /// the mixed-release window explains the rejection, not the brick (a definition that differs
    /// beyond the release difference keeps glusterd from starting it).
    pub rejected_brick_down: Vec<String>,
    /// Fail at once; no remedy of this module's ladder applies.
    pub fatal: Vec<String>,
    /// Not problems for now: rejections explained by a mixed-release pool.
    pub warnings: Vec<String>,
}

const REJECTED: &str = "Peer Rejected";

/// Peer states (glusterd-sm.h) of a connected peer that the handshake of an established pool
/// does not leave by itself: 4 'Accepted peer request', 5 'Sent and Received peer request'.
const HANDSHAKE_STUCK_STATES: [i64; 2] = [4, 5];

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
            && self.handshake.is_empty()
            && self.rejected.is_empty()
            && self.rejected_brick_down.is_empty()
            && self.fatal.is_empty()
    }
}

const REJECTED_REMEDY: &str =
    "Known remedies: restart glusterd on the rejected server (11.x shows this when NFS-Ganesha \
     is not enabled); if it stays rejected, its volume definitions differ (a volfile checksum mismatch, seen \
     after 9->10 and 10->11 upgrades): compare /var/lib/glusterd/vols/*/info with a good server, copy the good \
     server's /var/lib/glusterd/vols/ to it and restart its glusterd.";

/// No resync here: glusterd cannot import a definition from a peer on another release (seen on
/// the testbed: 11.1 importing from 10.3 peers left this server with no volume at all).
const REJECTED_OTHER_RELEASE_REMEDY: &str = "The peers named run another release and reject this server's \
     definition of the volume beyond what the release difference explains, so glusterd does not start its brick. \
     Compare /var/lib/glusterd/vols/VOLUME/info here with a peer's (`diff` shows the option that differs), undo the \
     change that caused it, restart glusterd (bricks keep running) and run again.";

const HANDSHAKE_REMEDY: &str = "Restart glusterd on the peer named as well (systemctl restart glusterd: \
     bricks keep running), then look at `gluster peer status` on both servers and at \
     /var/log/glusterfs/glusterd.log for the handshake's error.";

const MIXED_RELEASE_NOTE: &str = "expected while the two servers run different releases (Gluster 10 and 11 \
     write a volume's info file in a different order, so its checksum differs); it clears once every server runs \
     the same release and glusterd is restarted where it persists";

/// Peers that are Rejected, by name.
pub fn rejected_peers(pool: &Pool) -> Vec<String> {
    pool.peers
        .iter()
        .filter(|p| !p.is_local && p.rejected())
        .map(|p| p.hostname.clone())
        .collect()
}

/// Whether `peer` goes by one of `names` (its probed name or any other name it is known by).
fn named(peer: &keel_gluster_cli::parse::Peer, names: &[String]) -> bool {
    names.iter().any(|n| peer.hostname == *n || peer.hostnames.contains(n))
}

/// `other_release`: names of servers that run another release than this one, mid-upgrade: a
/// rejection between this server and one of them is expected and only warned about, and their
/// bricks and self-heal daemons (which a rejected peer's status omits) are not waited for.
pub fn judge(pool: &Pool, expected: Option<&str>, other_release: &[String]) -> Problems {
    let mut p = Problems::default();
    if let Some(v) = expected.and_then(version_from) {
        if (pool.version.major, pool.version.minor) != (v.major, v.minor) {
            p.waiting.push(format!(
                "this server runs Gluster {}, expected {}",
                pool.version.text, v.text
            ));
        }
    }
    let local = pool.peers.iter().find(|p| p.is_local).map(|p| p.uuid.as_str());
    let own_down: Vec<&str> = pool
        .volumes
        .iter()
        .filter(|v| v.info.started())
        .flat_map(|v| &v.bricks)
        .filter(|b| !b.online && Some(b.info.host_uuid.as_str()) == local)
        .map(|b| b.info.name.as_str())
        .collect();
    let mut tolerated: Vec<&str> = Vec::new();
    for peer in pool.peers.iter().filter(|p| !p.is_local) {
        if peer.rejected() && named(peer, other_release) {
            tolerated.push(peer.uuid.as_str());
            if own_down.is_empty() {
                p.warnings.push(format!(
                    "peer {} is 'Peer Rejected': {MIXED_RELEASE_NOTE}",
                    peer.hostname
                ));
            } else {
                p.rejected_brick_down.push(format!(
                    "peer {} is '{REJECTED}' and brick {} of this server is offline",
                    peer.hostname,
                    own_down.join(", ")
                ));
            }
        } else if peer.rejected() {
            p.rejected.push(peer.hostname.clone());
        } else if !peer.connected {
            p.waiting.push(format!("peer {} is disconnected", peer.hostname));
        } else if !peer.in_cluster() && HANDSHAKE_STUCK_STATES.contains(&peer.state) {
            p.handshake
                .push(format!("peer {} is '{}'", peer.hostname, peer.state_str));
        } else if !peer.in_cluster() {
            p.waiting
                .push(format!("peer {} is '{}'", peer.hostname, peer.state_str));
        }
    }
    for vol in pool.volumes.iter().filter(|v| v.info.started()) {
        for b in vol
            .bricks
            .iter()
            .filter(|b| !b.online && !tolerated.contains(&b.info.host_uuid.as_str()))
        {
            p.waiting
                .push(format!("brick {} of volume {} is offline", b.info.name, vol.info.name));
        }
        if vol.info.vol_type.heals() {
            let mut servers: Vec<&str> = vol
                .bricks
                .iter()
                .filter(|b| !tolerated.contains(&b.info.host_uuid.as_str()))
                .map(|b| b.info.host.as_str())
                .collect();
            servers.sort_unstable();
            servers.dedup();
            let online = vol.self_heal_daemons.iter().filter(|d| d.online).count();
            if online < servers.len() {
                p.waiting.push(format!(
                    "volume {}: {online} of {} self-heal daemons online",
                    vol.info.name,
                    servers.len()
                ));
            }
        }
    }
    p
}

/// How long each problem has been seen without a break; a problem that goes away and comes back
/// starts again. Times are offsets from the start of the wait, so tests need no clock.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Watch {
    since: BTreeMap<String, Duration>,
}

impl Watch {
    /// Records the problems seen at `now` and returns, for each, how long it has lasted.
    pub fn observe<'a>(
        &mut self,
        now: Duration,
        seen: impl IntoIterator<Item = &'a String>,
    ) -> Vec<(String, Duration)> {
        let seen: Vec<&String> = seen.into_iter().collect();
        self.since.retain(|k, _| seen.contains(&k));
        seen.into_iter()
            .map(|s| {
                let t = *self.since.entry(s.clone()).or_insert(now);
                (s.clone(), now.saturating_sub(t))
            })
            .collect()
    }
}

/// Why waiting will not make the pool whole, and the ladder of remedies for it.
#[derive(Debug, PartialEq, Eq)]
pub struct Stuck {
    pub reasons: Vec<String>,
    pub ladder: &'static [Remedy],
    /// What the operator does once the ladder is exhausted.
    pub instructions: &'static str,
}

const LADDER_REJECTED: &[Remedy] = &[Remedy::Restart, Remedy::Resync];
const LADDER_RESTART: &[Remedy] = &[Remedy::Restart];

/// Decides, from one look and how long each problem has lasted, whether the pool is stuck.
/// A rejection is stuck at once; a handshake state, or a rejection by a peer on another release
/// while a brick of this server is offline, once it outlasts the settle; anything
/// else once it stays unchanged for `stuck_after`.
pub fn stuck(p: &Problems, lasted: &[(String, Duration)], settle: Duration, stuck_after: Duration) -> Option<Stuck> {
    let lasted_at_least = |text: &String, d: Duration| lasted.iter().any(|(t, l)| t == text && *l >= d);
    if !p.rejected.is_empty() {
        return Some(Stuck {
            reasons: p.rejected.iter().map(|h| format!("peer {h} is '{REJECTED}'")).collect(),
            ladder: LADDER_REJECTED,
            instructions: REJECTED_REMEDY,
        });
    }
    let rejected_brick_down: Vec<String> = p
        .rejected_brick_down
        .iter()
        .filter(|r| lasted_at_least(r, settle))
        .cloned()
        .collect();
    if !rejected_brick_down.is_empty() {
        return Some(Stuck {
            reasons: rejected_brick_down,
            ladder: LADDER_RESTART,
            instructions: REJECTED_OTHER_RELEASE_REMEDY,
        });
    }
    let handshake: Vec<String> = p
        .handshake
        .iter()
        .filter(|h| lasted_at_least(h, settle))
        .cloned()
        .collect();
    if !handshake.is_empty() {
        return Some(Stuck {
            reasons: handshake,
            ladder: LADDER_RESTART,
            instructions: HANDSHAKE_REMEDY,
        });
    }
    let unchanged: Vec<String> = p
        .waiting
        .iter()
        .filter(|w| lasted_at_least(w, stuck_after))
        .cloned()
        .collect();
    if !unchanged.is_empty() {
        return Some(Stuck {
            reasons: unchanged
                .into_iter()
                .map(|w| format!("{w} (unchanged for {} s)", stuck_after.as_secs()))
                .collect(),
            ladder: LADDER_RESTART,
            instructions: "Look at `gluster peer status` and `gluster volume status` on this server and the \
                 servers named, and at /var/log/glusterfs/glusterd.log; start what is down.",
        });
    }
    None
}

/// The next remedy of the ladder not yet applied, if any.
pub fn next_remedy(ladder: &[Remedy], applied: &[Remedy]) -> Option<Remedy> {
    ladder.iter().copied().find(|r| !applied.contains(r))
}

/// A peer's handshake (which may reject it) follows its connection within a moment: a whole pool,
/// every peer connected, seen again this long after is past it. The looks of a playbook's until
/// loop are further apart, so there it is two consecutive looks.
const CONFIRM: Duration = Duration::from_secs(3);

/// How long this server's glusterd has been running; None when none runs.
fn glusterd_age() -> Option<Duration> {
    let root = std::path::Path::new("/proc");
    keel_host::procs::scan(root)
        .iter()
        .filter(|p| keel_host::procs::genuine(p, "glusterd"))
        .filter_map(|p| keel_host::procs::age(root, p.pid))
        .min()
}

/// Gluster processes (of this server's PID namespace) still running a binary that an install
/// replaced: they need a restart.
fn stale_processes() -> Vec<String> {
    stale(&keel_host::procs::scan(std::path::Path::new("/proc")))
}

/// Of `procs`, those whose executable was replaced (its /proc link reads " (deleted)").
fn stale(procs: &[keel_host::procs::Proc]) -> Vec<String> {
    procs
        .iter()
        .filter(|p| p.exe.contains("/gluster") && p.exe.ends_with(" (deleted)"))
        .map(|p| {
            format!(
                "pid {} still runs the replaced {}: restart it",
                p.pid,
                p.exe.trim_end_matches(" (deleted)")
            )
        })
        .collect()
}

fn parse_remedies(names: &[String]) -> Result<Vec<Remedy>, ModuleError> {
    names
        .iter()
        .map(|n| match n.as_str() {
            "restart" => Ok(Remedy::Restart),
            "resync" => Ok(Remedy::Resync),
            other => Err(ModuleError::invalid_args(format!(
                "gluster_verify: option 'remedies_applied' takes restart, resync; got '{other}'"
            ))),
        })
        .collect()
}

/// A wait spread over calls of the module (`wait_id`), so that a playbook's until loop shows a
/// line per call: what one call leaves for the next. Times are offsets from the wait's start.
#[derive(Debug, Default, Serialize, Deserialize)]
struct WaitState {
    wait_id: String,
    /// The wall clock at the wait's first call, in milliseconds since the epoch.
    started_ms: u64,
    watch: Watch,
    whole_since: Option<Duration>,
}

fn epoch_ms(ctx: &Ctx) -> u64 {
    ctx.epoch().as_millis() as u64
}

/// What one look at the pool decided.
enum Look {
    /// The wait is over: whole, stuck, fatal or out of time.
    Done(Result<ModuleResult, ModuleError>),
    /// Not whole yet: what is waited for.
    Waiting(Vec<String>),
}

/// The settings of one wait, fixed for all its looks.
struct Plan<'a> {
    args: &'a Args,
    applied: Vec<Remedy>,
    settle: Duration,
    /// How long the pool must look whole before it counts: the confirmation while glusterd is
    /// younger than the settle, nothing once it is older.
    whole_for: Duration,
    stuck_after: Duration,
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_verify", opts)?;
    if let Some(v) = &args.version {
        version_from(v).ok_or_else(|| {
            ModuleError::invalid_args(format!(
                "gluster_verify: option 'version' must be a Gluster release like 11.1, got '{v}'"
            ))
        })?;
    }
    let settle = Duration::from_secs(args.settle);
    let plan = Plan {
        applied: parse_remedies(&args.remedies_applied)?,
        settle,
        // The settle covers the handshakes that follow a glusterd start: a glusterd that has been
        // running longer has had them. A younger one is taken at its word once two looks CONFIRM
        // apart agree that the pool is whole.
        whole_for: settle.saturating_sub(glusterd_age().unwrap_or_default()).min(CONFIRM),
        stuck_after: Duration::from_secs(args.stuck_after),
        args: &args,
    };
    let record = std::path::PathBuf::from(&args.wait_record);
    let now_ms = epoch_ms(ctx);
    let fresh = |id: &str| WaitState {
        wait_id: id.to_string(),
        started_ms: now_ms,
        ..Default::default()
    };
    let mut ws = match &args.wait_id {
        Some(id) => keel_host::record::read::<WaitState>(&record, "remove it: it only times a wait")?
            .filter(|w| w.wait_id == *id)
            .unwrap_or_else(|| fresh(id)),
        None => fresh(""),
    };
    let gluster = Gluster::default();
    ctx.poll_until_ready(Duration::from_secs(args.poll_interval.max(1)), |ctx, _| {
        let elapsed = Duration::from_millis(epoch_ms(ctx).saturating_sub(ws.started_ms));
        match look(ctx, &gluster, &plan, &mut ws, elapsed) {
            Look::Done(result) => {
                if args.wait_id.is_some() && !ctx.check_mode() {
                    keel_host::record::remove(&record)?;
                }
                result.map(Poll::Ready)
            }
            // One look per call: the caller's until loop shows the wait and calls again.
            Look::Waiting(waiting) if args.wait_id.is_some() => {
                if !ctx.check_mode() {
                    keel_host::record::write(&record, &ws)?;
                }
                let msg = format!(
                    "waiting ({} s of {}): {}",
                    elapsed.as_secs(),
                    args.wait_timeout,
                    waiting.join("; ")
                );
                Ok(Poll::Ready(
                    ModuleResult::new(false, msg)
                        .with("whole", false)
                        .with("waiting", waiting)
                        .with("stuck", Vec::<String>::new())
                        .with("remedy", Option::<Remedy>::None)
                        .with("remedies_applied", &plan.applied)
                        .with("waited_s", elapsed.as_secs()),
                ))
            }
            Look::Waiting(_) => Ok(Poll::Pending(())),
        }
    })
}

/// One look at the pool, `elapsed` into the wait.
fn look(ctx: &mut Ctx, gluster: &Gluster, plan: &Plan, ws: &mut WaitState, elapsed: Duration) -> Look {
    let args = plan.args;
    let mut rejected: Vec<String> = Vec::new();
    // Survive a playbook's failed_when, which rewrites `failed`.
    let data = |rejected: &[String], stuck: &[String], remedy: Option<Remedy>| {
        let mut m = Map::new();
        m.insert("rejected_peers".into(), json!(rejected));
        m.insert("whole".into(), json!(false));
        m.insert("stuck".into(), json!(stuck));
        m.insert("remedy".into(), json!(remedy));
        m.insert("remedies_applied".into(), json!(plan.applied));
        m
    };
    // glusterd not answering yet is one more thing to wait for, not a failure.
    let problems = match pool::gather(ctx, gluster, false) {
        Ok(pool) => {
            let mut p = judge(&pool, args.version.as_deref(), &args.other_release_peers);
            p.fatal.extend(stale_processes());
            rejected = rejected_peers(&pool);
            // Right after glusterd starts, peers still show their stored state until the
            // handshake (which may reject them) completes: whole means whole for the settle.
            let whole = p.is_empty();
            if whole && ws.whole_since.is_none() && !plan.whole_for.is_zero() {
                ws.whole_since = Some(elapsed);
            }
            if !whole {
                ws.whole_since = None;
            }
            let settled = ws
                .whole_since
                .is_none_or(|t| elapsed.saturating_sub(t) >= plan.whole_for);
            if whole && settled {
                for w in p.warnings {
                    ctx.warn(w);
                }
                let msg = format!(
                    "Gluster {} on this server; {} peers connected and in the cluster; every brick and self-heal daemon online",
                    pool.version.text,
                    pool.peers.len()
                );
                return Look::Done(Ok(ModuleResult::new(false, msg)
                    .with("version", pool.version)
                    .with("rejected_peers", &rejected)
                    .with("whole", true)
                    .with("waiting", Vec::<String>::new())
                    .with("stuck", Vec::<String>::new())
                    .with("remedy", Option::<Remedy>::None)
                    .with("remedies_applied", &plan.applied)
                    .with("waited_s", elapsed.as_secs())));
            }
            if whole {
                p.waiting.push(format!(
                    "the pool looks whole; watching it for {} s",
                    plan.whole_for.as_secs()
                ));
            }
            p
        }
        Err(e) => Problems {
            waiting: vec![e.to_string()],
            ..Default::default()
        },
    };
    if !problems.fatal.is_empty() {
        return Look::Done(Err(ModuleError::failed_with(
            problems.fatal.join("; "),
            data(&rejected, &problems.fatal, None),
        )));
    }
    let lasted = ws.watch.observe(
        elapsed,
        problems
            .waiting
            .iter()
            .chain(&problems.handshake)
            .chain(&problems.rejected_brick_down),
    );
    if let Some(s) = stuck(&problems, &lasted, plan.settle, plan.stuck_after) {
        let remedy = next_remedy(s.ladder, &plan.applied);
        if let (true, Some(r)) = (args.offer_remedy, remedy) {
            let msg = format!(
                "waiting will not make the pool whole ({}); the next remedy is: {}",
                s.reasons.join("; "),
                r.name()
            );
            let mut result = ModuleResult::new(false, msg);
            for (k, v) in data(&rejected, &s.reasons, Some(r)) {
                result = result.with(&k, v);
            }
            return Look::Done(Ok(result.with("waited_s", elapsed.as_secs())));
        }
        let tried = if plan.applied.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = plan.applied.iter().map(|r| r.name()).collect();
            format!(" after {}", names.join(" and "))
        };
        return Look::Done(Err(ModuleError::failed_with(
            format!(
                "waiting will not make the pool whole{tried}: {}. {}",
                s.reasons.join("; "),
                s.instructions
            ),
            data(&rejected, &s.reasons, None),
        )));
    }
    let waiting: Vec<String> = problems
        .waiting
        .iter()
        .chain(&problems.handshake)
        .chain(&problems.rejected_brick_down)
        .cloned()
        .collect();
    if elapsed >= Duration::from_secs(args.wait_timeout) {
        return Look::Done(Err(ModuleError::failed_with(
            format!(
                "the pool is not whole after {} s: {}",
                args.wait_timeout,
                waiting.join("; ")
            ),
            data(&rejected, &[], None),
        )));
    }
    Look::Waiting(waiting)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_host::procs::Proc;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_problem_lasts_while_it_is_seen_without_a_break() {
        let mut w = Watch::default();
        let a = "peer a is disconnected".to_string();
        let b = "brick b is offline".to_string();
        assert_eq!(w.observe(secs(0), [&a]), vec![(a.clone(), secs(0))]);
        assert_eq!(
            w.observe(secs(30), [&a, &b]),
            vec![(a.clone(), secs(30)), (b.clone(), secs(0))]
        );
        // a went away and came back: it starts again.
        w.observe(secs(40), [&b]);
        assert_eq!(w.observe(secs(50), [&a, &b]), vec![(a, secs(0)), (b, secs(20))]);
    }

    #[test]
    fn a_rejected_peer_is_stuck_at_once_with_restart_then_resync() {
        let p = Problems {
            rejected: vec!["node1".into()],
            ..Default::default()
        };
        let s = stuck(&p, &[], secs(15), secs(120)).expect("stuck");
        assert_eq!(s.ladder, [Remedy::Restart, Remedy::Resync]);
        assert_eq!(next_remedy(s.ladder, &[]), Some(Remedy::Restart));
        assert_eq!(next_remedy(s.ladder, &[Remedy::Restart]), Some(Remedy::Resync));
        assert_eq!(next_remedy(s.ladder, &[Remedy::Restart, Remedy::Resync]), None);
    }

    #[test]
    fn a_handshake_state_is_stuck_once_it_outlasts_the_settle() {
        let h = "peer node1 is 'Accepted peer request'".to_string();
        let p = Problems {
            handshake: vec![h.clone()],
            ..Default::default()
        };
        assert_eq!(stuck(&p, &[(h.clone(), secs(14))], secs(15), secs(120)), None);
        let s = stuck(&p, &[(h, secs(15))], secs(15), secs(120)).expect("stuck");
        assert_eq!(s.ladder, [Remedy::Restart]);
        assert_eq!(next_remedy(s.ladder, &[Remedy::Restart]), None);
    }

    #[test]
    fn a_rejection_by_another_release_with_an_own_brick_offline_is_stuck_once_it_outlasts_the_settle() {
        let r = "peer node2 is 'Peer Rejected' and brick node1:/b of this server is offline".to_string();
        let p = Problems {
            rejected_brick_down: vec![r.clone()],
            ..Default::default()
        };
        assert_eq!(stuck(&p, &[(r.clone(), secs(14))], secs(15), secs(120)), None);
        let s = stuck(&p, &[(r, secs(15))], secs(15), secs(120)).expect("stuck");
        // A resync from peers on another release cannot import the definition.
        assert_eq!(s.ladder, [Remedy::Restart]);
        assert_eq!(next_remedy(s.ladder, &[Remedy::Restart]), None);
    }

    #[test]
    fn anything_else_is_stuck_only_once_unchanged_for_stuck_after() {
        let w = "brick n1:/b of volume gv0 is offline".to_string();
        let p = Problems {
            waiting: vec![w.clone()],
            ..Default::default()
        };
        assert_eq!(stuck(&p, &[(w.clone(), secs(119))], secs(15), secs(120)), None);
        let s = stuck(&p, &[(w, secs(120))], secs(15), secs(120)).expect("stuck");
        assert_eq!(s.ladder, [Remedy::Restart]);
    }

    #[test]
    fn a_gluster_process_running_a_replaced_binary_must_be_restarted() {
        let proc = |pid, exe: &str| Proc {
            pid,
            name: exe.rsplit('/').next().unwrap_or_default().into(),
            cmdline: vec![],
            exe: exe.into(),
            uid: Some(0),
        };
        let procs = [
            proc(12, "/usr/sbin/glusterfsd (deleted)"),
            proc(13, "/usr/sbin/glusterd"),
            proc(14, "/usr/bin/bash (deleted)"),
        ];
        assert_eq!(
            stale(&procs),
            vec!["pid 12 still runs the replaced /usr/sbin/glusterfsd: restart it"]
        );
    }
}
