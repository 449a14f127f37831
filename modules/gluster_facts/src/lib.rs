//! `keel.storage.gluster_facts`: read-only facts about the local Gluster server and its pool:
//! version, peers, volumes with their bricks (online, port, pid), self-heal daemons, heal counts
//! per brick, running tasks, and the cluster op-version and max-op-version.

use std::time::Duration;

use keel_gluster_cli::parse::{BrickHeal, BrickInfo, DaemonStatus, VolumeInfo, VolumeStatus, VolumeTask};
use keel_gluster_cli::Gluster;
use keel_runtime::{into_typed, Ctx, Kind, ModuleDef, ModuleError, ModuleResult, Opt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_facts",
    options: &[Opt::new("heal", Kind::Bool), Opt::new("timeout", Kind::Duration)],
    supports_check_mode: true,
    run,
};

#[derive(Deserialize)]
struct Args {
    /// Gather heal counts (`heal VOL info summary`) for every started replicate/disperse volume.
    #[serde(default = "yes")]
    heal: bool,
    /// Seconds each gluster command may take.
    #[serde(default = "default_timeout")]
    timeout: u64,
}

fn yes() -> bool {
    true
}
fn default_timeout() -> u64 {
    120
}

/// One brick: where it is (volume info), whether it runs (volume status), what it must heal.
#[derive(Debug, Serialize)]
pub struct Brick {
    #[serde(flatten)]
    pub info: BrickInfo,
    pub online: bool,
    pub port: Option<u64>,
    pub pid: Option<u64>,
    pub heal: Option<BrickHeal>,
}

#[derive(Debug, Serialize)]
pub struct Volume {
    #[serde(flatten)]
    pub info: VolumeInfo,
    /// Replaces the info's brick list with the merged one.
    pub bricks: Vec<Brick>,
    pub self_heal_daemons: Vec<DaemonStatus>,
    pub tasks: Vec<VolumeTask>,
    /// Why heal counts are missing, when gluster could not give them.
    pub heal_error: Option<String>,
}

/// Joins `volume info` with `volume status` and the heal summaries. A brick absent from the
/// status (its peer is down) is offline.
pub fn merge_volume(info: VolumeInfo, status: Option<&VolumeStatus>, heal: Result<Vec<BrickHeal>, String>) -> Volume {
    let (heal, heal_error) = match heal {
        Ok(h) => (h, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let bricks = info
        .bricks
        .iter()
        .map(|b| {
            let st = status.and_then(|s| s.bricks.iter().find(|x| x.host == b.host && x.path == b.path));
            Brick {
                info: b.clone(),
                online: st.is_some_and(|s| s.online),
                port: st.and_then(|s| s.port),
                pid: st.and_then(|s| s.pid),
                heal: heal.iter().find(|h| h.name == b.name).cloned(),
            }
        })
        .collect();
    let self_heal_daemons = status
        .map(|s| s.daemons.iter().filter(|d| d.name == "Self-heal Daemon").cloned().collect())
        .unwrap_or_default();
    let tasks = status.map(|s| s.tasks.clone()).unwrap_or_default();
    let mut info = info;
    info.bricks.clear();
    Volume { info, bricks, self_heal_daemons, tasks, heal_error }
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_facts", opts)?;
    let gluster = Gluster { timeout: Duration::from_secs(args.timeout) };
    let version = gluster.version(ctx)?;
    let peers = gluster.peers(ctx)?;
    let infos = gluster.volume_info(ctx)?;
    // gluster refuses `volume status all` when no volume is started.
    let statuses = if infos.iter().any(VolumeInfo::started) { gluster.volume_status(ctx)? } else { Vec::new() };
    let op_version = gluster.op_version(ctx, "cluster.op-version")?;
    let max_op_version = gluster.op_version(ctx, "cluster.max-op-version")?;
    let mut volumes = Vec::new();
    for info in infos {
        let heal = if args.heal && info.started() && info.vol_type.heals() {
            gluster.heal_summary(ctx, &info.name).map_err(|e| e.to_string())
        } else {
            Ok(Vec::new())
        };
        if let Err(e) = &heal {
            ctx.warn(format!("no heal counts for volume {}: {e}", info.name));
        }
        let status = statuses.iter().find(|s| s.name == info.name);
        volumes.push(merge_volume(info, status, heal));
    }
    let msg = format!(
        "Gluster {} with {} peer(s) and {} volume(s), op-version {}",
        version.text,
        peers.len(),
        volumes.len(),
        op_version
    );
    let facts = json!({
        "gluster": {
            "version": version,
            "op_version": op_version,
            "max_op_version": max_op_version,
            "peers": peers,
            "volumes": volumes,
        }
    });
    Ok(ModuleResult::new(false, msg).with("ansible_facts", facts))
}
