//! `keel.storage.gluster_op_version`: raises `cluster.op-version` to the pool's maximum (or a
//! given number) once every server runs the new release; never lowers it.

use std::time::Duration;

use keel_gluster_cli::clients::{census, Census};
use keel_gluster_cli::parse::Peer;
use keel_gluster_cli::{pool, Gluster};
use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult};
use serde::Deserialize;
use serde_json::{json, Map, Value};

mod spec;
pub use spec::MODULE;

#[derive(Deserialize)]
struct Args {
    target: String,
    clients_behind: String,
    command_timeout: u64,
}

/// What the module will do, decided from the numbers alone.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    Keep { current: u64 },
    Raise { from: u64, to: u64 },
}

/// `target` is "max" or a number; `max` is what every connected server supports.
pub fn plan(target: &str, current: u64, max: u64) -> Result<Plan, String> {
    let wanted = if target == "max" {
        max
    } else {
        let n: u64 = target.parse().map_err(|_| {
            format!("option 'target' must be 'max' or an op-version number like 110000, got '{target}'")
        })?;
        if n > max {
            return Err(format!(
                "op-version {n} is above what every server supports (max-op-version {max}): a server still runs an \
                 older release; upgrade it first"
            ));
        }
        n
    };
    // Gluster refuses a value equal to or lower than the current one; lowering is impossible.
    Ok(if wanted <= current {
        Plan::Keep { current }
    } else {
        Plan::Raise {
            from: current,
            to: wanted,
        }
    })
}

/// Before 3.10 glusterd cannot report cluster.max-op-version: the release's own op-version
/// (glusterd's table) stands in, as the upgrade guides of those releases set it by hand (3.9:
/// 30900). The playbooks raise it only once every server runs the target release.
fn max_from_release(release: &str) -> Result<u64, ModuleError> {
    use keel_gluster_cli::releases::{reports_max_op_version, supported_op_version};
    if reports_max_op_version(release) {
        return Err(ModuleError::failed(
            "glusterd would not report cluster.max-op-version (it does not for a while after peers reconnect); \
             retry in a minute",
        ));
    }
    supported_op_version(release).ok_or_else(|| {
        ModuleError::failed(format!(
            "Gluster {release} reports no cluster.max-op-version and has no op-version of the X.Y.Z form (before \
             3.6); set the op-version by hand (gluster volume set all cluster.op-version N)"
        ))
    })
}

/// The hosts behind, each with the volumes it uses and what it supports.
fn behind_list(c: &Census) -> Vec<String> {
    c.behind()
        .map(|h| {
            format!(
                "{} {} ({}: {})",
                if h.server { "server" } else { "client" },
                h.host,
                h.volumes.join(", "),
                h.op_version
                    .map_or("op-version unknown".to_string(), |v| format!("op-version {v}"))
            )
        })
        .collect()
}

/// Quota's configuration checksum changed with op-version 7 (70000): raising the op-version
/// across it on a pool with quota leaves peers rejected until every glusterd is restarted once
/// more, as the Gluster guides ask.
pub const QUOTA_CHECKSUM_OP_VERSION: u64 = 70000;

/// Whether raising from `from` to `to` needs every glusterd restarted afterwards: it crosses
/// op-version 7 and a volume uses quota.
pub fn glusterd_restart_needed(from: u64, to: u64, quota_volumes: &[String]) -> bool {
    from < QUOTA_CHECKSUM_OP_VERSION && to >= QUOTA_CHECKSUM_OP_VERSION && !quota_volumes.is_empty()
}

/// max-op-version is the minimum over connected, befriended peers only: with a peer away it
/// overstates what the whole pool supports.
pub fn unsafe_peers(peers: &[Peer]) -> Vec<String> {
    peers
        .iter()
        .filter(|p| !p.is_local && (!p.connected || !p.in_cluster()))
        .map(|p| {
            format!(
                "{} ({}{})",
                p.hostname,
                p.state_str,
                if p.connected { "" } else { ", disconnected" }
            )
        })
        .collect()
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_op_version", opts)?;
    let gluster = Gluster {
        timeout: Duration::from_secs(args.command_timeout),
    };
    let away = unsafe_peers(&gluster.peers(ctx)?);
    if !away.is_empty() {
        return Err(ModuleError::failed(format!(
            "refusing to change op-version while peers are not connected and in the cluster: {}. max-op-version \
             ignores them, so it may exceed what they run. Bring them back (gluster peer status) and retry.",
            away.join(", ")
        )));
    }
    let current = gluster.op_version(ctx, "cluster.op-version")?;
    let max = match pool::max_op_version(ctx, &gluster) {
        Some(max) => max,
        None => max_from_release(&gluster.version(ctx)?.text)?,
    };
    let plan =
        plan(&args.target, current, max).map_err(|e| ModuleError::invalid_args(format!("gluster_op_version: {e}")))?;
    let base = |r: ModuleResult, after: u64| {
        r.with("op_version_before", current)
            .with("op_version", after)
            .with("max_op_version", max)
    };
    match plan {
        Plan::Keep { current } => Ok(base(
            ModuleResult::new(
                false,
                format!("cluster.op-version is already {current} (max-op-version {max})"),
            ),
            current,
        )),
        Plan::Raise { from, to } => {
            // The census: a client that cannot follow fails or can no longer mount once the
            // op-version is raised, and the op-version can never be lowered again.
            // A census gluster would not give counts as hosts that may not follow: unknown is not
            // enough to raise what can never be lowered.
            let (census, behind, unknown) = match gluster.clients(ctx) {
                Ok(connections) => {
                    let c = census(&connections, to);
                    let behind = behind_list(&c);
                    (Some(c), behind, None)
                }
                Err(e) => (None, Vec::new(), Some(e.to_string())),
            };
            let base =
                |r: ModuleResult, after: u64| base(r, after).with("census", &census).with("clients_behind", &behind);
            // Why the raise must wait: a census gluster would not give, or hosts that cannot follow.
            let why = match (&unknown, behind.is_empty()) {
                (Some(e), _) => Some(format!(
                    "the census of the clients could not be taken ({e}), so whether every client can follow op-version \
                     {to} is unknown (it can never be lowered). Run again once gluster volume status all clients \
                     answers, or accept it with clients_behind=accept"
                )),
                (None, false) => Some(format!(
                    "{} host(s) connected to the bricks support less than op-version {to} and would fail or no longer \
                     mount once it is raised (it can never be lowered): {}. Upgrade them first (clients: \
                     keel.storage.gluster_upgrade_clients, which raises the op-version at its end; a server's own old \
                     mount: remount it), or accept it with clients_behind=accept",
                    behind.len(),
                    behind.join(", ")
                )),
                (None, true) => None,
            };
            if let (Some(why), false) = (why, args.clients_behind == "accept") {
                if args.clients_behind == "fail" {
                    return Err(ModuleError::failed_with(
                        format!("refusing to raise cluster.op-version from {from} to {to}: {why}"),
                        base(ModuleResult::new(false, String::new()), from).data,
                    ));
                }
                return Ok(base(
                    ModuleResult::new(
                        false,
                        format!("cluster.op-version stays {from}, not raised to {to}: {why}"),
                    ),
                    from,
                )
                .with("deferred", true));
            }
            // Read only when the raise crosses op-version 7, the one case quota changes anything.
            let quota_volumes: Vec<String> = if from < QUOTA_CHECKSUM_OP_VERSION && to >= QUOTA_CHECKSUM_OP_VERSION {
                gluster
                    .volume_info(ctx)?
                    .into_iter()
                    .filter(|v| v.options.get("features.quota").is_some_and(|o| o == "on"))
                    .map(|v| v.name)
                    .collect()
            } else {
                Vec::new()
            };
            let restart = glusterd_restart_needed(from, to, &quota_volumes);
            let base = |r: ModuleResult, after: u64| {
                base(r, after)
                    .with("glusterd_restart_needed", restart)
                    .with("quota_volumes", &quota_volumes)
            };
            let diff = json!({"before": format!("cluster.op-version: {from}\n"), "after": format!("cluster.op-version: {to}\n"),
                              "before_header": "gluster volume get all cluster.op-version", "after_header": "gluster volume get all cluster.op-version"});
            if ctx.check_mode() {
                let mut r = base(
                    ModuleResult::new(true, format!("would raise cluster.op-version from {from} to {to}")),
                    from,
                );
                r.diff = Some(diff);
                return Ok(r);
            }
            let value = to.to_string();
            let xml = gluster.xml(ctx, &["volume", "set", "all", "cluster.op-version", &value])?;
            // Exit code 0 does not mean success: the envelope carries gluster's refusal.
            keel_gluster_cli::parse::check_envelope(&xml)
                .map_err(|e| ModuleError::failed(format!("gluster refused to set cluster.op-version {to}: {e}")))?;
            let now = gluster.op_version(ctx, "cluster.op-version")?;
            if now != to {
                return Err(ModuleError::failed(format!(
                    "cluster.op-version reads {now} after setting {to}"
                )));
            }
            let mut r = base(
                ModuleResult::new(true, format!("raised cluster.op-version from {from} to {to}")),
                now,
            );
            r.diff = Some(diff);
            if !behind.is_empty() {
                r.warnings.push(format!(
                    "raised past {} host(s) that support less (clients_behind=accept); they may fail or no longer \
                     mount until upgraded: {}",
                    behind.len(),
                    behind.join(", ")
                ));
            }
            Ok(r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raise_across_op_version_7_with_quota_needs_every_glusterd_restarted() {
        let quota = ["gv0".to_string()];
        assert!(glusterd_restart_needed(60000, 110000, &quota));
        assert!(glusterd_restart_needed(61000, 70000, &quota));
        assert!(!glusterd_restart_needed(70000, 110000, &quota), "already past 7");
        assert!(!glusterd_restart_needed(60000, 69999, &quota), "not yet 7");
        assert!(!glusterd_restart_needed(60000, 110000, &[]), "no quota");
    }

    #[test]
    fn before_3_10_the_release_gives_the_max_op_version() {
        assert_eq!(
            max_from_release("3.9.0").unwrap(),
            30900,
            "the 3.9 upgrade guide's value"
        );
        assert_eq!(max_from_release("3.8.15").unwrap(), 30804);
        // From 3.10 glusterd reports it: its silence is transient, not a reason to guess.
        assert!(max_from_release("11.1")
            .unwrap_err()
            .to_string()
            .contains("retry in a minute"));
        assert!(max_from_release("3.5.1").is_err());
    }

    #[test]
    fn plans() {
        assert_eq!(
            plan("max", 100000, 110000),
            Ok(Plan::Raise {
                from: 100000,
                to: 110000
            })
        );
        assert_eq!(plan("max", 110000, 110000), Ok(Plan::Keep { current: 110000 }));
        assert_eq!(
            plan("100000", 110000, 110000),
            Ok(Plan::Keep { current: 110000 }),
            "never lowers"
        );
        assert_eq!(
            plan("105000", 100000, 110000),
            Ok(Plan::Raise {
                from: 100000,
                to: 105000
            })
        );
        assert!(plan("120000", 100000, 110000)
            .unwrap_err()
            .contains("still runs an older release"));
        assert!(plan("latest", 100000, 110000)
            .unwrap_err()
            .contains("'max' or an op-version number"));
    }
}
