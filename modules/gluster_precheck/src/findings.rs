//! The prechecks as a pure function of the pool: findings with a severity, a code and a sentence.
//! Rules from the Gluster upgrade guides (summarised in docs/playbooks/gluster_upgrade.md).

use std::collections::BTreeMap;

use keel_gluster_cli::parse::{GlusterVersion, VolumeType};
use keel_gluster_cli::pool::{Pool, Volume};

pub use keel_runtime::findings::{Finding, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One server at a time while clients keep working.
    Online,
    /// Every server stopped in a maintenance window.
    Offline,
    /// The clients, after the servers: only whether they may move to the target.
    Clients,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub mode: Mode,
    pub target: Option<GlusterVersion>,
    /// Pure distribute volumes lose the upgrading server's files while it is down; an operator
    /// may accept that.
    pub allow_distribute: bool,
    /// Names or addresses of servers that run another release than this one (a rolling upgrade
    /// resumed half way): Gluster 10 and 11 reject each other, so a rejection between them is
    /// expected, and the bricks a rejected peer's status omits are not counted offline.
    pub other_release: Vec<String>,
    /// The operator ran Gluster 8's changelog upgrade script on every brick of the
    /// geo-replication primaries (an upgrade from below 8 needs it before the new packages).
    pub georep_changelog_upgraded: bool,
}

/// Xlators and volume types removed from Gluster 6 on (tier, stripe, BD, glupy, ...).
const REMOVED_IN_6: [&str; 5] = [
    "features.tier",
    "features.ctr-enabled",
    "cluster.stripe-block-size",
    "features.glupy",
    "storage.bd",
];

/// Offline means the clients are away: the Gluster guides' offline upgrade starts with a downtime
/// in which no client uses the servers. The hosts connected to the bricks that hold no brick
/// themselves are clients; `accepted` (the operator said so) makes them a warning.
pub fn clients_connected(connections: &[keel_gluster_cli::clients::BrickClient], accepted: bool) -> Option<Finding> {
    let c = keel_gluster_cli::clients::census(connections, 0);
    let clients: Vec<String> = c
        .hosts
        .iter()
        .filter(|h| !h.server)
        .map(|h| format!("{} ({})", h.host, h.volumes.join(", ")))
        .collect();
    (!clients.is_empty()).then(|| Finding {
        severity: if accepted { Severity::Warning } else { Severity::Blocker },
        code: "clients_connected",
        msg: format!(
            "{} client(s) use the volumes: {}. The offline upgrade stops every server at once: stop or unmount these \
             clients first (or upgrade them with keel.storage.gluster_upgrade_clients first), or say they may stay \
             (gluster_offline_clients_ok=true)",
            clients.len(),
            clients.join(", ")
        ),
    })
}

/// Blockers that waiting alone can clear: heal entries pending on a pool under writes (a file
/// mid-write is briefly listed). True only when there is a blocker and every one is of that kind,
/// so a playbook looks again for a bounded time instead of refusing on one look.
pub fn blockers_may_clear(found: &[Finding]) -> bool {
    let mut blockers = found.iter().filter(|f| f.severity == Severity::Blocker).peekable();
    blockers.peek().is_some() && blockers.all(|f| f.code == "heal_pending")
}

/// Clients move after the servers, to the servers' major release and never past the release
/// they run (the Gluster guides: servers first, clients on the same major release).
pub fn client_release(server: &GlusterVersion, target: &GlusterVersion) -> Option<Finding> {
    let why = if target.major != server.major {
        format!(
            "clients must run the servers' major release: this server runs {}, the clients' target is {}",
            server.text, target.text
        )
    } else if (target.major, target.minor) > (server.major, server.minor) {
        format!(
            "the clients' target {} is newer than this server's {}: upgrade the servers first \
             (keel.storage.gluster_upgrade)",
            target.text, server.text
        )
    } else {
        return None;
    };
    Some(Finding {
        severity: Severity::Blocker,
        code: "client_release",
        msg: why,
    })
}

pub fn evaluate(pool: &Pool, policy: &Policy) -> Vec<Finding> {
    if policy.mode == Mode::Clients {
        return policy
            .target
            .as_ref()
            .and_then(|t| client_release(&pool.version, t))
            .into_iter()
            .collect();
    }
    let mut out = Vec::new();
    let online = policy.mode == Mode::Online;
    // A condition that breaks an online upgrade only warns before an offline one.
    let online_blocker = if online { Severity::Blocker } else { Severity::Warning };
    let mut add = |severity, code, msg: String| out.push(Finding { severity, code, msg });

    if let Some(target) = &policy.target {
        if (target.major, target.minor) < (pool.version.major, pool.version.minor) {
            add(
                Severity::Blocker,
                "target_older",
                format!(
                    "the target {} is older than the installed {}; Gluster does not support downgrades",
                    target.text, pool.version.text
                ),
            );
        } else if (target.major, target.minor) == (pool.version.major, pool.version.minor) {
            add(
                Severity::Info,
                "at_target",
                format!("this server already runs {}", pool.version.text),
            );
        }
    }

    let mixed = |peer: &keel_gluster_cli::parse::Peer| {
        peer.rejected()
            && peer.connected
            && policy
                .other_release
                .iter()
                .any(|n| peer.hostname == *n || peer.hostnames.contains(n))
    };
    let tolerated: Vec<String> = pool.peers.iter().filter(|p| mixed(p)).map(|p| p.uuid.clone()).collect();
    for peer in pool.peers.iter().filter(|p| !p.is_local) {
        if mixed(peer) {
            add(
                Severity::Warning,
                "peer_rejected_mixed_release",
                format!(
                    "peer {} runs another release and is 'Peer Rejected': expected while Gluster 10 and 11 servers \
                     mix (each writes volume info files in its own order); the upgrade of the remaining servers \
                     clears it",
                    peer.hostname
                ),
            );
            continue;
        }
        if !peer.connected {
            add(
                online_blocker,
                "peer_disconnected",
                format!(
                    "peer {} is disconnected ({}): with one more server down, replica sets lose quorum",
                    peer.hostname, peer.state_str
                ),
            );
        }
        if !peer.in_cluster() {
            add(
                Severity::Blocker,
                "peer_not_in_cluster",
                format!(
                    "peer {} is in state '{}', not 'Peer in Cluster'{}",
                    peer.hostname,
                    peer.state_str,
                    if peer.rejected() {
                        ": its volume configuration differs from this server's (compare /var/lib/glusterd/vols/*/info, \
                     copy a good server's volume definitions to it and restart its glusterd: keel.storage.gluster_service \
                     with state restarted and resync_volumes true, run on that server, does this)"
                    } else {
                        ""
                    }
                ),
            );
        }
    }

    if let Some(target) = &policy.target {
        release_crossing_findings(pool, target, policy, &mut add);
    }
    for vol in &pool.volumes {
        volume_findings(vol, policy, &tolerated, &mut add);
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// What the per-release upgrade guides require when an upgrade crosses the release that changed
/// it (the per-release steps of the Gluster upgrade guides); nothing applies within one release.
fn release_crossing_findings(
    pool: &Pool,
    target: &GlusterVersion,
    policy: &Policy,
    add: &mut impl FnMut(Severity, &'static str, String),
) {
    let from = (pool.version.major, pool.version.minor);
    let crosses = |release: (u32, u32)| from < release && (target.major, target.minor) >= release;
    let on = |vol: &Volume, key: &str| {
        vol.info
            .options
            .get(key)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "on" | "enable" | "true" | "yes" | "1"))
    };
    let names = |pick: &dyn Fn(&Volume) -> bool| {
        pool.volumes
            .iter()
            .filter(|v| pick(v))
            .map(|v| v.info.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let changes = keel_gluster_cli::releases::store_format_changes(&pool.version.text, &target.text);
    if !changes.is_empty() && !pool.volumes.is_empty() {
        let what: Vec<String> = changes.iter().map(|(r, w)| format!("{r}: {w}")).collect();
        add(
            Severity::Info,
            "peer_rejected_expected",
            format!(
                "the run crosses a change in how glusterd stores volume definitions ({}): while the pool is mixed, \
                 servers on {} and servers on {} will see each other as 'Peer Rejected' (expected, tolerated); once \
                 every server runs {}, the final verification gives each server still rejected the remedies restart \
                 glusterd, then resync the definitions from its peers, one server at a time",
                what.join("; "),
                target.text,
                pool.version.text,
                target.text
            ),
        );
    }
    if crosses((4, 1)) {
        for vol in &pool.volumes {
            for key in ["features.lock-heal", "features.grace-timeout"] {
                if vol.info.options.contains_key(key) {
                    let name = &vol.info.name;
                    add(
                        Severity::Blocker,
                        "removed_option_set",
                        format!(
                            "volume {name} sets {key}, removed in Gluster 4.1: reset it before upgrading \
                             (gluster volume reset {name} {key})"
                        ),
                    );
                }
            }
        }
    }
    let georep = names(&|v| on(v, "geo-replication.indexing"));
    if crosses((8, 0)) && !georep.is_empty() && !policy.georep_changelog_upgraded {
        add(
            Severity::Blocker,
            "georep_changelog_upgrade",
            format!(
                "volume(s) {georep} are geo-replication primaries and Gluster 8 changed the layout of their \
                 changelogs: stop the sessions, run the changelog upgrade script (glusterfs-georep-upgrade.py \
                 BRICK_PATH, from the Gluster 8 sources' extras/) on every brick of those volumes, then set \
                 georep_changelog_upgraded; without it the history crawl after the upgrade syncs the wrong changes"
            ),
        );
    }
    let quota = names(&|v| on(v, "features.quota"));
    if crosses((7, 0)) && !quota.is_empty() {
        add(
            Severity::Warning,
            "quota_restart",
            format!(
                "volume(s) {quota} use quota, whose configuration checksum changed in Gluster 7: peers may show \
                 'Peer Rejected' until glusterd is restarted once more on every server after all run {}",
                target.text
            ),
        );
    }
    if crosses((10, 0)) {
        add(
            Severity::Warning,
            "brick_ports_random",
            "from Gluster 10 bricks listen on random ports between base-port and max-port of \
             /etc/glusterfs/glusterd.vol (49152 to 60999 by default): a firewall that opens only the first \
             ports of that range cuts off the upgraded servers' bricks"
                .into(),
        );
    }
}

/// `tolerated`: uuids of peers rejected for a release difference; their bricks and self-heal
/// daemons are missing from this server's view, not offline (heal counts still reach them).
fn volume_findings(
    vol: &Volume,
    policy: &Policy,
    tolerated: &[String],
    add: &mut impl FnMut(Severity, &'static str, String),
) {
    let online = policy.mode == Mode::Online;
    let online_blocker = if online { Severity::Blocker } else { Severity::Warning };
    let name = &vol.info.name;
    let t = vol.info.vol_type;

    if online && t.is_dispersed() {
        add(
            Severity::Blocker,
            "dispersed_volume",
            format!(
                "volume {name} is {}: Gluster supports only offline upgrades of dispersed volumes",
                vol.info.type_str
            ),
        );
    }
    if online && t == VolumeType::Distribute {
        let sev = if policy.allow_distribute {
            Severity::Warning
        } else {
            Severity::Blocker
        };
        add(
            sev,
            "distribute_volume",
            format!(
                "volume {name} is pure distribute: its files on each server are unavailable while that server is \
             upgraded{}",
                if policy.allow_distribute {
                    " (allowed)"
                } else {
                    "; set allow_distribute to accept that"
                }
            ),
        );
    }
    if t == VolumeType::Other {
        add(
            Severity::Blocker,
            "removed_volume_type",
            format!(
                "volume {name} is of type '{}', which current Gluster releases no longer support",
                vol.info.type_str
            ),
        );
    }
    if policy.target.as_ref().is_some_and(|t| t.major >= 6) {
        for opt in vol
            .info
            .options
            .keys()
            .filter(|k| REMOVED_IN_6.iter().any(|r| k.starts_with(r)))
        {
            add(
                Severity::Blocker,
                "removed_xlator",
                format!("volume {name} sets {opt}, a feature removed in Gluster 6: remove it before upgrading"),
            );
        }
    }

    if t.is_replicated() {
        replica_findings(vol, online, add);
        if online && vol.info.options.get("cluster.quorum-type").is_some_and(|q| q == "none") {
            add(
                Severity::Warning,
                "quorum_off",
                format!(
                    "volume {name} sets cluster.quorum-type none: clients keep writing to whatever bricks are up, \
                     so a brick that misses writes and then serves them can end in split-brain; the upgrade waits \
                     for heal after each server, but consider restoring it (gluster volume reset {name} \
                     cluster.quorum-type)"
                ),
            );
        }
    }

    if !vol.info.started() {
        return;
    }
    let seen = |b: &&keel_gluster_cli::pool::Brick| !tolerated.contains(&b.info.host_uuid);
    for brick in vol.bricks.iter().filter(seen).filter(|b| !b.online) {
        add(
            online_blocker,
            "brick_offline",
            format!("brick {} of volume {name} is offline", brick.info.name),
        );
    }
    if t.heals() {
        let servers: Vec<&str> = {
            let mut s: Vec<&str> = vol.bricks.iter().filter(seen).map(|b| b.info.host.as_str()).collect();
            s.sort_unstable();
            s.dedup();
            s
        };
        let shd_online = vol.self_heal_daemons.iter().filter(|d| d.online).count();
        let shd_disabled = vol.info.options.get("cluster.self-heal-daemon").is_some_and(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "off" | "disable" | "false" | "no" | "0"
            )
        });
        if shd_disabled {
            add(
                online_blocker,
                "shd_disabled",
                format!(
                    "volume {name} sets cluster.self-heal-daemon off: nothing would heal the writes a stopped server \
                     missed; enable it (gluster volume set {name} cluster.self-heal-daemon on)"
                ),
            );
        } else if shd_online < servers.len() {
            add(
                online_blocker,
                "shd_offline",
                format!(
                    "volume {name}: {shd_online} of {} self-heal daemons are online",
                    servers.len()
                ),
            );
        }
        if let Some(err) = &vol.heal_error {
            add(
                online_blocker,
                "heal_unknown",
                format!("volume {name}: heal counts unavailable: {err}"),
            );
        }
        for brick in &vol.bricks {
            let Some(h) = &brick.heal else { continue };
            match (h.pending, h.split_brain) {
                (_, Some(sb)) if sb > 0 => add(
                    Severity::Blocker,
                    "split_brain",
                    format!(
                        "brick {} of volume {name} has {sb} entries in split-brain: resolve them first \
                     (gluster volume heal {name} info split-brain)",
                        brick.info.name
                    ),
                ),
                (Some(p), _) if p > 0 => add(
                    online_blocker,
                    "heal_pending",
                    format!(
                        "brick {} of volume {name} has {p} entries waiting to heal",
                        brick.info.name
                    ),
                ),
                (None, _) if brick.online => add(
                    online_blocker,
                    "heal_unknown",
                    format!(
                        "brick {} of volume {name}: heal count unavailable ({})",
                        brick.info.name, h.status
                    ),
                ),
                _ => {}
            }
        }
    }
    for task in vol
        .tasks
        .iter()
        .filter(|t| t.status == 1 || t.status_str.eq_ignore_ascii_case("in progress"))
    {
        add(
            Severity::Blocker,
            "task_running",
            format!(
                "volume {name}: {} is in progress ({}): wait for it to finish",
                task.kind, task.id
            ),
        );
    }
}

/// Replica sets are consecutive runs of `replica_count` bricks in `volume info` order.
fn replica_findings(vol: &Volume, online: bool, add: &mut impl FnMut(Severity, &'static str, String)) {
    let name = &vol.info.name;
    let size = vol.info.replica_count.max(1) as usize;
    for (i, set) in vol.bricks.chunks(size).enumerate() {
        let mut per_host: BTreeMap<&str, usize> = BTreeMap::new();
        for b in set {
            *per_host.entry(b.info.host.as_str()).or_default() += 1;
        }
        for (host, n) in per_host.into_iter().filter(|(_, n)| *n > 1) {
            add(
                Severity::Blocker,
                "replica_same_server",
                format!(
                    "volume {name}: replica set {} has {n} bricks on {host}; upgrading {host} takes them all down",
                    i + 1
                ),
            );
        }
    }
    // Client quorum (auto) needs more than half of a set up; with two data bricks and no
    // arbiter, one server down can make the set read-only.
    if online && vol.info.replica_count == 2 && vol.info.arbiter_count == 0 {
        add(
            Severity::Blocker,
            "replica2_quorum",
            format!(
                "volume {name} is replica 2 without an arbiter: with one server down, client quorum can make it \
             read-only; add an arbiter or upgrade offline"
            ),
        );
    }
}
