//! The whole pool as seen from one server: `volume info` joined with `volume status` and the
//! heal summaries. gluster_facts returns it; the prechecks and verifiers judge it. Asking gluster
//! for it is keel-gluster-cli's (`pool::gather`).

use serde::Serialize;

use crate::parse::{BrickHeal, BrickInfo, DaemonStatus, GlusterVersion, Peer, VolumeInfo, VolumeStatus, VolumeTask};

/// One brick: where it is (volume info), whether it runs (volume status), what it must heal.
#[derive(Debug, Clone, Serialize)]
pub struct Brick {
    #[serde(flatten)]
    pub info: BrickInfo,
    pub online: bool,
    pub port: Option<u64>,
    pub pid: Option<u64>,
    pub heal: Option<BrickHeal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Volume {
    /// Volume info, with its brick list moved into `bricks`.
    #[serde(flatten)]
    pub info: VolumeInfo,
    pub bricks: Vec<Brick>,
    pub self_heal_daemons: Vec<DaemonStatus>,
    pub tasks: Vec<VolumeTask>,
    /// Why heal counts are missing, when gluster could not give them.
    pub heal_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pool {
    pub version: GlusterVersion,
    pub op_version: u64,
    /// None when glusterd would not tell (it answers "option cluster.max-op-version does not
    /// exist" for a while after peers (re)connect).
    pub max_op_version: Option<u64>,
    pub peers: Vec<Peer>,
    pub volumes: Vec<Volume>,
}

/// Joins one volume's info with its status and heal summary. A brick absent from the status
/// (its server is down) is offline.
pub fn merge_volume(
    mut info: VolumeInfo,
    status: Option<&VolumeStatus>,
    heal: Result<Vec<BrickHeal>, String>,
) -> Volume {
    let (heal, heal_error) = match heal {
        Ok(h) => (h, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let bricks = std::mem::take(&mut info.bricks)
        .into_iter()
        .map(|b| {
            let st = status.and_then(|s| s.bricks.iter().find(|x| x.host == b.host && x.path == b.path));
            Brick {
                online: st.is_some_and(|s| s.online),
                port: st.and_then(|s| s.port),
                pid: st.and_then(|s| s.pid),
                heal: heal.iter().find(|h| h.name == b.name).cloned(),
                info: b,
            }
        })
        .collect();
    let self_heal_daemons = status
        .map(|s| {
            s.daemons
                .iter()
                .filter(|d| d.name == "Self-heal Daemon")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let tasks = status.map(|s| s.tasks.clone()).unwrap_or_default();
    Volume {
        info,
        bricks,
        self_heal_daemons,
        tasks,
        heal_error,
    }
}
