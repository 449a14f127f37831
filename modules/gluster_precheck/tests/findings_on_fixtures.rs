//! The prechecks on pools built from real captured gluster output (modules/gluster_model/tests/fixtures).

use keel_gluster_cli::fixtures::pool;
use keel_gluster_cli::parse::*;
use keel_gluster_precheck::findings::{
    blockers_may_clear, clients_connected, evaluate, Finding, Mode, Policy, Severity,
};

fn policy(mode: Mode, target: Option<&str>) -> Policy {
    Policy {
        mode,
        target: target.and_then(version_from),
        allow_distribute: false,
        other_release: Vec::new(),
        georep_changelog_upgraded: false,
    }
}

fn codes(found: &[Finding], severity: Severity) -> Vec<&'static str> {
    let mut c: Vec<_> = found
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| f.code)
        .collect();
    c.sort_unstable();
    c.dedup();
    c
}

#[test]
fn healthy_pool_online_blocks_only_on_dispersed_and_distribute_volumes() {
    for v in ["10.3", "11.1"] {
        let found = evaluate(&pool(v, ""), &policy(Mode::Online, Some("11.1")));
        assert_eq!(
            codes(&found, Severity::Blocker),
            ["dispersed_volume", "distribute_volume"],
            "{v}: {found:#?}"
        );
        assert!(
            found.iter().any(|f| f.msg.contains("volume ec0 is Disperse")),
            "{found:#?}"
        );
    }
}

#[test]
fn healthy_pool_offline_has_no_blockers() {
    let found = evaluate(&pool("10.3", ""), &policy(Mode::Offline, Some("11.1")));
    assert!(codes(&found, Severity::Blocker).is_empty(), "{found:#?}");
}

#[test]
fn allowing_distribute_turns_it_into_a_warning() {
    let mut p = policy(Mode::Online, Some("11.1"));
    p.allow_distribute = true;
    let found = evaluate(&pool("10.3", ""), &p);
    assert_eq!(codes(&found, Severity::Blocker), ["dispersed_volume"]);
    assert_eq!(codes(&found, Severity::Warning), ["distribute_volume"]);
}

#[test]
fn a_server_down_with_writes_blocks_for_every_reason_it_should() {
    let found = evaluate(&pool("10.3", "degraded-"), &policy(Mode::Online, Some("11.1")));
    let blockers = codes(&found, Severity::Blocker);
    for code in ["peer_disconnected", "brick_offline", "shd_offline", "heal_pending"] {
        assert!(blockers.contains(&code), "{code} missing: {found:#?}");
    }
    let pending = found.iter().find(|f| f.code == "heal_pending").unwrap();
    assert!(pending.msg.contains("28 entries waiting to heal"), "{}", pending.msg);
}

#[test]
fn only_pending_heal_entries_may_clear_by_waiting() {
    // A writer mid-write shows an entry pending heal for a moment: the one blocker waiting clears.
    let mut p = pool("10.3", "");
    p.volumes.retain(|v| v.info.name == "gv0");
    p.volumes[0].bricks[1].heal.as_mut().unwrap().pending = Some(1);
    let found = evaluate(&p, &policy(Mode::Online, Some("11.1")));
    assert_eq!(codes(&found, Severity::Blocker), ["heal_pending"], "{found:#?}");
    assert!(blockers_may_clear(&found));
    // With anything else blocking, or nothing blocking, there is nothing to wait for.
    assert!(!blockers_may_clear(&evaluate(
        &pool("10.3", "degraded-"),
        &policy(Mode::Online, Some("11.1"))
    )));
    p.volumes[0].bricks[1].heal.as_mut().unwrap().pending = Some(0);
    let found = evaluate(&p, &policy(Mode::Online, Some("11.1")));
    assert!(codes(&found, Severity::Blocker).is_empty(), "{found:#?}");
    assert!(!blockers_may_clear(&found));
}

#[test]
fn a_rejected_peer_blocks_with_the_remedy() {
    let found = evaluate(&pool("11.1", "rejected-"), &policy(Mode::Online, Some("11.1")));
    let rejected: Vec<_> = found.iter().filter(|f| f.code == "peer_not_in_cluster").collect();
    assert_eq!(rejected.len(), 2, "{found:#?}");
    assert!(rejected[0].msg.contains("Peer Rejected") && rejected[0].msg.contains("restart its glusterd"));
}

#[test]
fn a_downgrade_blocks_and_the_same_release_is_noted() {
    let found = evaluate(&pool("11.1", ""), &policy(Mode::Offline, Some("10.3")));
    assert_eq!(codes(&found, Severity::Blocker), ["target_older"]);
    let found = evaluate(&pool("11.1", ""), &policy(Mode::Offline, Some("11.1")));
    assert_eq!(codes(&found, Severity::Info), ["at_target"]);
}

#[test]
fn two_bricks_of_one_replica_set_on_one_server_block() {
    let mut p = pool("10.3", "");
    let gv0 = p.volumes.iter_mut().find(|v| v.info.name == "gv0").unwrap();
    gv0.bricks[1].info.host = gv0.bricks[0].info.host.clone();
    let found = evaluate(&p, &policy(Mode::Online, None));
    let f = found
        .iter()
        .find(|f| f.code == "replica_same_server")
        .expect("replica_same_server");
    assert!(
        f.msg.contains("volume gv0: replica set 1 has 2 bricks on 10.198.0.11"),
        "{}",
        f.msg
    );
}

#[test]
fn replica_2_without_arbiter_blocks_online_only() {
    let mut p = pool("10.3", "");
    let gv0 = p.volumes.iter_mut().find(|v| v.info.name == "gv0").unwrap();
    gv0.info.replica_count = 2;
    gv0.bricks.truncate(2);
    assert!(evaluate(&p, &policy(Mode::Online, None))
        .iter()
        .any(|f| f.code == "replica2_quorum"));
    assert!(!evaluate(&p, &policy(Mode::Offline, None))
        .iter()
        .any(|f| f.code == "replica2_quorum"));
}

#[test]
fn split_brain_blocks_even_offline() {
    let mut p = pool("10.3", "");
    let gv0 = p.volumes.iter_mut().find(|v| v.info.name == "gv0").unwrap();
    gv0.bricks[0].heal.as_mut().unwrap().split_brain = Some(3);
    let found = evaluate(&p, &policy(Mode::Offline, None));
    let f = found.iter().find(|f| f.code == "split_brain").unwrap();
    assert_eq!(f.severity, Severity::Blocker);
    assert!(f.msg.contains("3 entries in split-brain"));
}

#[test]
fn a_removed_feature_blocks_an_upgrade_to_6_or_later() {
    let mut p = pool("10.3", "");
    p.volumes[0].info.options.insert("features.tier".into(), "on".into());
    let found = evaluate(&p, &policy(Mode::Offline, Some("11.1")));
    assert!(
        found
            .iter()
            .any(|f| f.code == "removed_xlator" && f.severity == Severity::Blocker),
        "{found:#?}"
    );
}

#[test]
fn a_real_split_brain_blocks_and_names_the_command_to_list_it() {
    // sb0: a data, metadata and entry split-brain made on a real 10.3 replica 3 volume with
    // client quorum and client-side heals off.
    let found = evaluate(&pool("10.3", "splitbrain-"), &policy(Mode::Online, Some("11.1")));
    // Per brick, the split-brain is named (the pending gfid mismatch goes with it).
    assert_eq!(codes(&found, Severity::Blocker), ["split_brain"], "{found:#?}");
    let sb = found.iter().find(|f| f.code == "split_brain").unwrap();
    assert!(
        sb.msg.contains("has 4 entries in split-brain") && sb.msg.contains("gluster volume heal sb0 info split-brain"),
        "{}",
        sb.msg
    );
    assert_eq!(codes(&found, Severity::Warning), ["quorum_off"], "{found:#?}");
    // Offline, the split-brain still blocks: no upgrade mode heals it.
    let found = evaluate(&pool("10.3", "splitbrain-"), &policy(Mode::Offline, Some("11.1")));
    assert!(codes(&found, Severity::Blocker).contains(&"split_brain"), "{found:#?}");
}

#[test]
fn a_disabled_self_heal_daemon_blocks_online_with_the_remedy() {
    // As sb0 was captured with the daemon off (splitbrain-shd-off-*).
    let mut p = pool("10.3", "splitbrain-");
    for v in &mut p.volumes {
        v.info.options.insert("cluster.self-heal-daemon".into(), "off".into());
    }
    let found = evaluate(&p, &policy(Mode::Online, Some("11.1")));
    let shd = found.iter().find(|f| f.code == "shd_disabled").expect("shd_disabled");
    assert_eq!(shd.severity, Severity::Blocker);
    assert!(
        shd.msg.contains("gluster volume set sb0 cluster.self-heal-daemon on"),
        "{}",
        shd.msg
    );
}

#[test]
fn a_rejection_between_releases_only_warns_when_the_peers_are_named() {
    // .11 saw .12 and .13 as 'Peer Rejected' (connected), and their bricks missing from its
    // volume status: what a resumed rolling run meets when the rejected peers run the other
    // release. Named in other_release, they warn; the rest of the pool is still judged.
    let mut p = policy(Mode::Online, Some("11.1"));
    p.other_release = vec!["10.198.0.12".into(), "10.198.0.13".into()];
    let found = evaluate(&pool("11.1", "rejected-"), &p);
    let blockers = codes(&found, Severity::Blocker);
    for code in ["peer_not_in_cluster", "brick_offline", "shd_offline"] {
        assert!(!blockers.contains(&code), "{code}: {found:#?}");
    }
    assert!(
        codes(&found, Severity::Warning).contains(&"peer_rejected_mixed_release"),
        "{found:#?}"
    );
    // Not named: the rejection blocks as before.
    let found = evaluate(&pool("11.1", "rejected-"), &policy(Mode::Online, Some("11.1")));
    assert!(
        codes(&found, Severity::Blocker).contains(&"peer_not_in_cluster"),
        "{found:#?}"
    );
}

#[test]
fn crossing_into_gluster_10_warns_about_random_brick_ports() {
    // A real 9.2 pool (Debian bullseye) checked for 11.1.
    let found = evaluate(&pool("9.2", ""), &policy(Mode::Online, Some("11.1")));
    assert!(
        codes(&found, Severity::Warning).contains(&"brick_ports_random"),
        "{found:#?}"
    );
    // Within 10.x and 11.x nothing about ports.
    let found = evaluate(&pool("10.3", ""), &policy(Mode::Online, Some("11.1")));
    assert!(!found.iter().any(|f| f.code == "brick_ports_random"), "{found:#?}");
}

/// A 10.3 pool made to look as if it ran `release`, with `options` set on its first volume.
fn older_pool(release: &str, options: &[(&str, &str)]) -> keel_gluster_cli::pool::Pool {
    let mut p = pool("10.3", "");
    p.version = version_from(release).unwrap();
    for (k, v) in options {
        p.volumes[0].info.options.insert((*k).into(), (*v).into());
    }
    p
}

#[test]
fn options_removed_in_4_1_block_an_upgrade_from_older_releases_only() {
    let p = older_pool(
        "3.12",
        &[("features.lock-heal", "on"), ("features.grace-timeout", "10")],
    );
    let found = evaluate(&p, &policy(Mode::Offline, Some("11.1")));
    let removed: Vec<&Finding> = found.iter().filter(|f| f.code == "removed_option_set").collect();
    assert_eq!(removed.len(), 2, "{found:#?}");
    assert!(removed
        .iter()
        .all(|f| f.severity == Severity::Blocker && f.msg.contains("gluster volume reset")));
    let p = older_pool("4.1", &[("features.lock-heal", "on")]);
    let found = evaluate(&p, &policy(Mode::Offline, Some("11.1")));
    assert!(!found.iter().any(|f| f.code == "removed_option_set"), "{found:#?}");
}

#[test]
fn georep_primaries_crossing_gluster_8_need_the_changelog_upgrade_first() {
    let p = older_pool(
        "7.9",
        &[("geo-replication.indexing", "on"), ("changelog.changelog", "on")],
    );
    let mut pol = policy(Mode::Online, Some("11.1"));
    let found = evaluate(&p, &pol);
    let f = found
        .iter()
        .find(|f| f.code == "georep_changelog_upgrade")
        .expect("finding");
    assert_eq!(f.severity, Severity::Blocker);
    assert!(f.msg.contains("glusterfs-georep-upgrade.py") && f.msg.contains("georep_changelog_upgraded"));
    pol.georep_changelog_upgraded = true;
    assert!(!evaluate(&p, &pol).iter().any(|f| f.code == "georep_changelog_upgrade"));
    // From 8 on, the layout is already the new one.
    let p = older_pool("8.6", &[("geo-replication.indexing", "on")]);
    assert!(!evaluate(&p, &policy(Mode::Online, Some("11.1")))
        .iter()
        .any(|f| f.code == "georep_changelog_upgrade"));
}

#[test]
fn quota_across_gluster_7_warns_about_the_extra_restart() {
    let p = older_pool("6.10", &[("features.quota", "on")]);
    let found = evaluate(&p, &policy(Mode::Offline, Some("11.1")));
    let f = found.iter().find(|f| f.code == "quota_restart").expect("finding");
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.msg.contains("11.1"), "{}", f.msg);
    let p = older_pool("6.10", &[("features.quota", "off")]);
    assert!(!evaluate(&p, &policy(Mode::Offline, Some("11.1")))
        .iter()
        .any(|f| f.code == "quota_restart"));
}

#[test]
fn a_removed_volume_type_an_unknown_brick_count_and_a_running_task_block() {
    let mut p = pool("10.3", "");
    let dist0 = p.volumes.iter_mut().find(|v| v.info.name == "dist0").unwrap();
    dist0.info.vol_type = VolumeType::Other;
    dist0.info.type_str = "Stripe".into();
    let gv0 = p.volumes.iter_mut().find(|v| v.info.name == "gv0").unwrap();
    // A brick that answers the status but whose heal count glfsheal could not read.
    let heal = gv0.bricks[0].heal.as_mut().unwrap();
    heal.pending = None;
    heal.status = "Failed to process entries completely. (Transport endpoint is not connected)".into();
    gv0.tasks.push(VolumeTask {
        kind: "Rebalance".into(),
        id: "5e2a0c1e-2f83-4a3a-9c6e-7f1b4e0d9a11".into(),
        status: 1,
        status_str: "in progress".into(),
    });
    let found = evaluate(&p, &policy(Mode::Offline, Some("11.1")));
    let blocker = |code: &str| {
        found
            .iter()
            .find(|f| f.code == code && f.severity == Severity::Blocker)
            .unwrap_or_else(|| panic!("{code}: {found:#?}"))
            .msg
            .clone()
    };
    assert!(
        blocker("removed_volume_type").contains("volume dist0 is of type 'Stripe'"),
        "{found:#?}"
    );
    assert!(
        blocker("task_running").starts_with("volume gv0: Rebalance is in progress"),
        "{found:#?}"
    );
    // Unknown heal counts only warn offline, and block online.
    let unknown = found.iter().find(|f| f.code == "heal_unknown").unwrap();
    assert_eq!(unknown.severity, Severity::Warning, "{found:#?}");
    assert!(
        unknown
            .msg
            .starts_with("brick 10.198.0.11:/bricks/gv0 of volume gv0: heal count unavailable (Failed to process"),
        "{}",
        unknown.msg
    );
    let online = evaluate(&p, &policy(Mode::Online, Some("11.1")));
    assert!(
        codes(&online, Severity::Blocker).contains(&"heal_unknown"),
        "{online:#?}"
    );
}

#[test]
fn offline_means_the_clients_are_away() {
    let capture = |name: &str| {
        let path = format!("{}/../gluster_model/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        keel_gluster_cli::clients::parse_volume_clients(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    // Real 10.3 capture: the three servers' self-heal daemons and client1's FUSE mount of gv0.
    let connections = capture("10.3/volume-status-all-clients.xml");
    let f = clients_connected(&connections, false).unwrap();
    assert_eq!((f.code, f.severity), ("clients_connected", Severity::Blocker));
    assert!(
        f.msg.contains("10.199.0.21 (gv0)") && !f.msg.contains("10.199.0.11"),
        "{}",
        f.msg
    );
    assert_eq!(
        clients_connected(&connections, true).unwrap().severity,
        Severity::Warning
    );
    // The servers' own connections are not clients.
    let servers_only: Vec<_> = connections
        .into_iter()
        .filter(|c| !c.address.starts_with("10.199.0.21:"))
        .collect();
    assert_eq!(clients_connected(&servers_only, false), None);
}

#[test]
fn clients_move_to_the_servers_major_release_never_past_it() {
    let mut p = policy(Mode::Clients, Some("11.1"));
    // Servers on 10.3: 11.1 is newer; 10.1 is fine; 9.2 is another major release.
    let found = evaluate(&pool("10.3", ""), &p);
    assert_eq!(codes(&found, Severity::Blocker), ["client_release"], "{found:#?}");
    p.target = version_from("10.1");
    assert!(evaluate(&pool("10.3", ""), &p).is_empty());
    p.target = version_from("9.2");
    assert_eq!(
        codes(&evaluate(&pool("10.3", ""), &p), Severity::Blocker),
        ["client_release"]
    );
    // Servers on 11.1: the clients may follow, and nothing else about the pool is judged.
    p.target = version_from("11.1");
    assert!(evaluate(&pool("11.1", "degraded-"), &p).is_empty());
}

#[test]
fn a_change_in_how_definitions_are_stored_predicts_the_rejections_and_their_remedies() {
    let found = evaluate(&pool("10.3", ""), &policy(Mode::Online, Some("11.1")));
    let f = found
        .iter()
        .find(|f| f.code == "peer_rejected_expected")
        .expect("predicted");
    assert_eq!(f.severity, Severity::Info);
    assert!(f.msg.contains("11.0: nfs.disable"), "{}", f.msg);
    let found = evaluate(&pool("10.3", ""), &policy(Mode::Online, Some("10.5")));
    assert!(!found.iter().any(|f| f.code == "peer_rejected_expected"), "{found:#?}");
}
