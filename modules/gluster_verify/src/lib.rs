//! `keel.storage.gluster_verify`: waits until this server runs the expected release, glusterd
//! answers, every peer is connected and in the cluster, and every brick and self-heal daemon of
//! the pool is online. Read-only.

use std::time::{Duration, Instant};

use keel_gluster_cli::parse::version_from;
use keel_gluster_cli::pool::{self, Pool};
use keel_gluster_cli::Gluster;
use keel_runtime::{into_typed, Ctx, Kind, ModuleDef, ModuleError, ModuleResult, Opt};
use serde::Deserialize;
use serde_json::{Map, Value};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_verify",
    options: &[
        Opt::new("version", Kind::Str),
        Opt::new("timeout", Kind::Duration),
        Opt::new("poll_interval", Kind::Duration),
        Opt::new("other_release_peers", Kind::List),
        Opt::new("settle", Kind::Duration),
    ],
    supports_check_mode: true,
    run,
};

#[derive(Deserialize)]
struct Args {
    version: Option<String>,
    #[serde(default = "default_timeout")]
    timeout: u64,
    #[serde(default = "default_poll")]
    poll_interval: u64,
    #[serde(default)]
    other_release_peers: Vec<String>,
    #[serde(default)]
    settle: u64,
}

fn default_timeout() -> u64 {
    300
}
fn default_poll() -> u64 {
    5
}

/// What keeps the pool from being whole; empty when it is. `fatal` problems will not pass by
/// waiting.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Problems {
    pub waiting: Vec<String>,
    pub fatal: Vec<String>,
    /// Not problems for now: rejections explained by a mixed-release pool.
    pub warnings: Vec<String>,
}

const REJECTED: &str = "Peer Rejected";

impl Problems {
    /// The fatal problems, then the remedies of a rejection once however many peers show it.
    pub fn message(&self) -> String {
        let rejected = format!("'{REJECTED}'");
        let mut msg = self.fatal.join("; ");
        if self.fatal.iter().any(|f| f.ends_with(&rejected)) {
            msg = format!("{msg}. {REJECTED_REMEDY}");
        }
        msg
    }
}

const REJECTED_REMEDY: &str =
    "Known remedies: restart glusterd on the rejected server (11.x shows this when NFS-Ganesha \
     is not enabled); if it stays rejected, its volume definitions differ (a volfile checksum mismatch, seen \
     after 9->10 and 10->11 upgrades): compare /var/lib/glusterd/vols/*/info with a good server, copy the good \
     server's /var/lib/glusterd/vols/ to it and restart its glusterd.";

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
    let mut tolerated: Vec<&str> = Vec::new();
    for peer in pool.peers.iter().filter(|p| !p.is_local) {
        if peer.rejected() && named(peer, other_release) {
            tolerated.push(peer.uuid.as_str());
            p.warnings.push(format!(
                "peer {} is 'Peer Rejected': {MIXED_RELEASE_NOTE}",
                peer.hostname
            ));
        } else if peer.rejected() {
            p.fatal.push(format!("peer {} is '{REJECTED}'", peer.hostname));
        } else if !peer.connected {
            p.waiting.push(format!("peer {} is disconnected", peer.hostname));
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

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_verify", opts)?;
    if let Some(v) = &args.version {
        version_from(v).ok_or_else(|| {
            ModuleError::invalid_args(format!(
                "gluster_verify: option 'version' must be a Gluster release like 11.1, got '{v}'"
            ))
        })?;
    }
    let gluster = Gluster::default();
    let started = Instant::now();
    let mut rejected: Vec<String> = Vec::new();
    let mut whole_since: Option<Instant> = None;
    loop {
        // glusterd not answering yet is one more thing to wait for, not a failure.
        let problems = match pool::gather(ctx, &gluster, false) {
            Ok(pool) => {
                let mut p = judge(&pool, args.version.as_deref(), &args.other_release_peers);
                p.fatal.extend(stale_processes());
                rejected = rejected_peers(&pool);
                // Right after glusterd starts, peers still show their stored state until the
                // handshake (which may reject them) completes: whole means whole for `settle` s.
                let whole = p.waiting.is_empty() && p.fatal.is_empty();
                if whole && whole_since.is_none() && args.settle > 0 {
                    whole_since = Some(Instant::now());
                }
                if !whole {
                    whole_since = None;
                }
                let settled = whole_since.is_none_or(|t| t.elapsed() >= Duration::from_secs(args.settle));
                if whole && !settled {
                    p.waiting
                        .push(format!("the pool looks whole; watching it for {} s", args.settle));
                }
                if whole && settled {
                    for w in p.warnings {
                        ctx.warn(w);
                    }
                    let msg = format!(
                        "Gluster {} on this server; {} peers connected and in the cluster; every brick and self-heal daemon online",
                        pool.version.text,
                        pool.peers.len()
                    );
                    return Ok(ModuleResult::new(false, msg)
                        .with("version", pool.version)
                        .with("rejected_peers", &rejected)
                        .with("whole", true)
                        .with("waited_s", started.elapsed().as_secs()));
                }
                p
            }
            Err(e) => Problems {
                waiting: vec![e.to_string()],
                ..Default::default()
            },
        };
        let data = || {
            let mut m = Map::new();
            m.insert("rejected_peers".into(), serde_json::json!(rejected));
            // Survives a playbook's failed_when, which rewrites `failed`.
            m.insert("whole".into(), serde_json::json!(false));
            m
        };
        if !problems.fatal.is_empty() {
            return Err(ModuleError::failed_with(problems.message(), data()));
        }
        if started.elapsed() >= Duration::from_secs(args.timeout) {
            return Err(ModuleError::failed_with(
                format!(
                    "the pool is not whole after {} s: {}",
                    args.timeout,
                    problems.waiting.join("; ")
                ),
                data(),
            ));
        }
        std::thread::sleep(Duration::from_secs(args.poll_interval.max(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_host::procs::Proc;

    #[test]
    fn a_gluster_process_running_a_replaced_binary_must_be_restarted() {
        let proc = |pid, exe: &str| Proc {
            pid,
            name: exe.rsplit('/').next().unwrap_or_default().into(),
            cmdline: vec![],
            exe: exe.into(),
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
