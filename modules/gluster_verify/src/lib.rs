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
}

const REJECTED_REMEDY: &str = "Known remedies: restart glusterd on that server (11.x shows this when NFS-Ganesha \
     is not enabled); if it stays rejected, its volume definitions differ (a volfile checksum mismatch, seen \
     after 9->10 and 10->11 upgrades): compare /var/lib/glusterd/vols/*/info with a good server, copy the good \
     server's /var/lib/glusterd/vols/ to it and restart its glusterd.";

pub fn judge(pool: &Pool, expected: Option<&str>) -> Problems {
    let mut p = Problems::default();
    if let Some(v) = expected.and_then(version_from) {
        if (pool.version.major, pool.version.minor) != (v.major, v.minor) {
            p.waiting.push(format!(
                "this server runs Gluster {}, expected {}",
                pool.version.text, v.text
            ));
        }
    }
    for peer in pool.peers.iter().filter(|p| !p.is_local) {
        if peer.rejected() {
            p.fatal
                .push(format!("peer {} is 'Peer Rejected'. {REJECTED_REMEDY}", peer.hostname));
        } else if !peer.connected {
            p.waiting.push(format!("peer {} is disconnected", peer.hostname));
        } else if !peer.in_cluster() {
            p.waiting
                .push(format!("peer {} is '{}'", peer.hostname, peer.state_str));
        }
    }
    for vol in pool.volumes.iter().filter(|v| v.info.started()) {
        for b in vol.bricks.iter().filter(|b| !b.online) {
            p.waiting
                .push(format!("brick {} of volume {} is offline", b.info.name, vol.info.name));
        }
        if vol.info.vol_type.heals() {
            let mut servers: Vec<&str> = vol.bricks.iter().map(|b| b.info.host.as_str()).collect();
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

/// Gluster processes still running a binary that an install replaced: they need a restart.
fn stale_processes() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
            let exe = exe.to_string_lossy();
            (exe.contains("/gluster") && exe.ends_with(" (deleted)")).then(|| {
                format!(
                    "pid {pid} still runs the replaced {}: restart it",
                    exe.trim_end_matches(" (deleted)")
                )
            })
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
    loop {
        // glusterd not answering yet is one more thing to wait for, not a failure.
        let problems = match pool::gather(ctx, &gluster, false) {
            Ok(pool) => {
                let mut p = judge(&pool, args.version.as_deref());
                p.fatal.extend(stale_processes());
                if p.waiting.is_empty() && p.fatal.is_empty() {
                    let msg = format!(
                        "Gluster {} on this server; {} peers connected and in the cluster; every brick and self-heal daemon online",
                        pool.version.text,
                        pool.peers.len()
                    );
                    return Ok(ModuleResult::new(false, msg)
                        .with("version", pool.version)
                        .with("waited_s", started.elapsed().as_secs()));
                }
                p
            }
            Err(e) => Problems {
                waiting: vec![e.to_string()],
                fatal: Vec::new(),
            },
        };
        if !problems.fatal.is_empty() {
            return Err(ModuleError::failed(problems.fatal.join("; ")));
        }
        if started.elapsed() >= Duration::from_secs(args.timeout) {
            return Err(ModuleError::failed(format!(
                "the pool is not whole after {} s: {}",
                args.timeout,
                problems.waiting.join("; ")
            )));
        }
        std::thread::sleep(Duration::from_secs(args.poll_interval.max(1)));
    }
}
