//! Asking gluster for the whole pool (`gather`) and its max op-version, with the retries the
//! testbed showed necessary; the pool itself and how it is joined are keel-gluster-model's.

use keel_runtime::{Ctx, ModuleError};

use crate::cli::Gluster;
use crate::parse::{VolumeInfo, VolumeStatus};
use keel_gluster_model::pool::{merge_volume, Pool};

/// Asks gluster for everything; `heal` adds the heal summary of every started volume that heals.
/// Heal failures become `heal_error` and a warning, not a failure: the rest is still true.
pub fn gather(ctx: &mut Ctx, gluster: &Gluster, heal: bool) -> Result<Pool, ModuleError> {
    let version = gluster.version(ctx)?;
    let peers = gluster.peers(ctx)?;
    let infos = gluster.volume_info(ctx)?;
    // gluster refuses `volume status all` when no volume is started.
    let statuses = if infos.iter().any(VolumeInfo::started) {
        volume_status_of_started(ctx, gluster, &infos)?
    } else {
        Vec::new()
    };
    let op_version = gluster.op_version(ctx, "cluster.op-version")?;
    let max_op_version = max_op_version(ctx, gluster);
    let mut volumes = Vec::new();
    for info in infos {
        let heal = if heal && info.started() && info.vol_type.heals() {
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
    Ok(Pool {
        version,
        op_version,
        max_op_version,
        peers,
        volumes,
    })
}

/// `volume status all` of every started volume. Seen on the testbed with three servers asking at
/// once (Ansible runs a task on every server together): glusterd answers opRet 0 with an empty
/// `<volumes/>` when another server's transaction holds the cluster lock. Taken as it is, every
/// brick would look offline; so ask again (with a per-server delay, so the servers fall out of
/// step), and only then report what is still missing.
fn volume_status_of_started(
    ctx: &mut Ctx,
    gluster: &Gluster,
    infos: &[VolumeInfo],
) -> Result<Vec<VolumeStatus>, ModuleError> {
    let started: Vec<&str> = infos.iter().filter(|i| i.started()).map(|i| i.name.as_str()).collect();
    let stagger = u64::from(std::process::id() % 7);
    let mut statuses = Vec::new();
    for attempt in 0..10u64 {
        if attempt > 0 {
            ctx.sleep(std::time::Duration::from_millis(200 + 150 * stagger + 100 * attempt));
        }
        statuses = gluster.volume_status(ctx)?;
        if started.iter().all(|v| statuses.iter().any(|s| s.name == *v)) {
            return Ok(statuses);
        }
    }
    let missing: Vec<&str> = started
        .iter()
        .filter(|v| !statuses.iter().any(|s| s.name == **v))
        .copied()
        .collect();
    ctx.warn(format!(
        "gluster volume status left out the started volume(s) {} ten times (another gluster transaction was \
         probably running); their bricks show as offline",
        missing.join(", ")
    ));
    Ok(statuses)
}

/// Seen on the testbed right after a pool formed: glusterd answers "option
/// cluster.max-op-version does not exist" (opRet -2) for a few seconds. Retry, then report it
/// unknown with a warning rather than fail everything else.
pub fn max_op_version(ctx: &mut Ctx, gluster: &Gluster) -> Option<u64> {
    let mut last = String::new();
    for attempt in 0..5 {
        if attempt > 0 {
            ctx.sleep(std::time::Duration::from_secs(1));
        }
        match gluster.op_version(ctx, "cluster.max-op-version") {
            Ok(v) => return Some(v),
            Err(e) => last = e.to_string(),
        }
    }
    ctx.warn(format!("max-op-version unknown: {last}"));
    None
}
