//! The parsers on output captured from real glusterfs 10.3 and 11.1 (see fixtures/README.md for
//! the pool: three servers; volumes gv0 replica 3, arb0 arbiter, dr0 distributed-replicate,
//! ec0 disperse, dist0 distribute, stopped0 created but not started).

use std::path::{Path, PathBuf};

use keel_gluster_model::parse::*;

fn fixture(version: &str, name: &str) -> String {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(version)
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const VERSIONS: [&str; 2] = ["10.3", "11.1"];

#[test]
fn version() {
    for v in VERSIONS {
        assert_eq!(parse_version(&fixture(v, "version.txt")).unwrap().text, v);
    }
}

#[test]
fn pool_list_has_three_connected_peers_in_cluster() {
    for v in VERSIONS {
        let peers = parse_peers(&fixture(v, "pool-list.xml")).unwrap();
        assert_eq!(peers.len(), 3, "{v}");
        assert!(peers.iter().all(|p| p.connected && p.in_cluster()), "{v}: {peers:?}");
        assert_eq!(peers.iter().filter(|p| p.is_local).count(), 1, "{v}");
        assert!(peers.iter().all(|p| p.uuid.len() == 36), "{v}");
        // peer status lists the others only.
        assert_eq!(parse_peers(&fixture(v, "peer-status.xml")).unwrap().len(), 2, "{v}");
    }
}

#[test]
fn volume_info_types_counts_and_bricks() {
    for v in VERSIONS {
        let vols = parse_volume_info(&fixture(v, "volume-info.xml")).unwrap();
        let get = |n: &str| {
            vols.iter()
                .find(|x| x.name == n)
                .unwrap_or_else(|| panic!("{v}: no {n}"))
        };
        let gv0 = get("gv0");
        assert_eq!(
            (gv0.vol_type, gv0.replica_count, gv0.bricks.len()),
            (VolumeType::Replicate, 3, 3),
            "{v}"
        );
        assert!(gv0.started());
        assert!(gv0
            .bricks
            .iter()
            .all(|b| b.path.starts_with('/') && !b.host.is_empty() && !b.host_uuid.is_empty()));
        let arb = get("arb0");
        assert_eq!(arb.arbiter_count, 1, "{v}");
        assert_eq!(arb.bricks.iter().filter(|b| b.is_arbiter).count(), 1, "{v}");
        assert_eq!(get("dr0").vol_type, VolumeType::DistributedReplicate, "{v}");
        let ec = get("ec0");
        assert_eq!(
            (ec.vol_type, ec.disperse_count, ec.redundancy_count),
            (VolumeType::Disperse, 3, 1),
            "{v}"
        );
        assert_eq!(get("dist0").vol_type, VolumeType::Distribute, "{v}");
        let stopped = get("stopped0");
        assert!(!stopped.started(), "{v}");
        assert_eq!(stopped.status, "Created");
        assert!(!gv0.options.is_empty(), "{v}");
    }
}

#[test]
fn volume_status_bricks_daemons_and_tasks() {
    for v in VERSIONS {
        let vols = parse_volume_status(&fixture(v, "volume-status-all.xml")).unwrap();
        let gv0 = vols.iter().find(|x| x.name == "gv0").unwrap();
        assert_eq!(gv0.bricks.len(), 3, "{v}");
        assert!(
            gv0.bricks
                .iter()
                .all(|b| b.online && b.port.is_some() && b.pid.is_some()),
            "{v}: {gv0:?}"
        );
        let shd: Vec<_> = gv0.daemons.iter().filter(|d| d.name == "Self-heal Daemon").collect();
        assert_eq!(shd.len(), 3, "{v}");
        assert!(shd.iter().all(|d| d.online));
        assert!(
            !vols.iter().any(|x| x.name == "stopped0"),
            "{v}: stopped volumes have no status"
        );
        let dist = vols.iter().find(|x| x.name == "dist0").unwrap();
        assert!(dist.daemons.iter().all(|d| d.name != "Self-heal Daemon"), "{v}");
    }
}

#[test]
fn heal_summary_clean_pool() {
    for v in VERSIONS {
        for file in ["heal-gv0-info-summary.xml", "heal-ec0-info-summary.xml"] {
            let bricks = parse_heal_summary(&fixture(v, file)).unwrap();
            assert_eq!(bricks.len(), 3, "{v} {file}");
            assert!(
                bricks
                    .iter()
                    .all(|b| b.connected && b.pending == Some(0) && b.split_brain == Some(0)),
                "{v} {file}: {bricks:?}"
            );
        }
    }
}

#[test]
fn op_versions() {
    for v in VERSIONS {
        let op = parse_op_version(&fixture(v, "op-version.xml"), "cluster.op-version").unwrap();
        let max = parse_op_version(&fixture(v, "max-op-version.xml"), "cluster.max-op-version").unwrap();
        assert_eq!(op, 100000, "{v}: a pool created on 10.3 stays at 100000 until bumped");
        assert_eq!(max, if v == "11.1" { 110000 } else { 100000 }, "{v}");
    }
}

#[test]
fn degraded_pool_10_3() {
    let peers = parse_peers(&fixture("10.3", "degraded-pool-list.xml")).unwrap();
    assert_eq!(peers.iter().filter(|p| !p.connected).count(), 1, "{peers:?}");
    let vols = parse_volume_status(&fixture("10.3", "degraded-volume-status-all.xml")).unwrap();
    let gv0 = vols.iter().find(|x| x.name == "gv0").unwrap();
    // The down server's brick is simply absent (or offline).
    assert!(gv0.bricks.iter().filter(|b| b.online).count() == 2, "{gv0:?}");
    let heal = parse_heal_summary(&fixture("10.3", "degraded-heal-gv0-info-summary.xml")).unwrap();
    let down: Vec<_> = heal.iter().filter(|b| !b.connected).collect();
    assert_eq!(down.len(), 1, "{heal:?}");
    assert_eq!(down[0].pending, None, "a down brick's count is unknown, not zero");
    assert!(
        heal.iter().filter_map(|b| b.pending).sum::<u64>() > 0,
        "writes while a brick is down leave a backlog: {heal:?}"
    );
}

#[test]
fn mixed_versions_keep_max_op_version_at_the_oldest() {
    let max = parse_op_version(&fixture("mixed", "mixed-max-op-version.xml"), "cluster.max-op-version").unwrap();
    assert_eq!(max, 100000);
}

#[test]
fn peer_rejected_after_the_11_1_checksum_mismatch() {
    let peers = parse_peers(&fixture("11.1", "rejected-pool-list.xml")).unwrap();
    let rejected: Vec<_> = peers.iter().filter(|p| p.rejected()).collect();
    assert_eq!(rejected.len(), 2, "{peers:?}");
    assert!(rejected
        .iter()
        .all(|p| p.connected && !p.in_cluster() && p.state_str == "Peer Rejected"));
}

#[test]
fn heal_of_a_distribute_volume_is_refused_in_the_envelope() {
    let err = parse_heal_summary(&fixture("10.3", "heal-dist0-info-summary.xml")).unwrap_err();
    assert!(err.to_string().contains("not of type replicate/disperse"), "{err}");
}

#[test]
fn setting_an_equal_op_version_fails_in_the_envelope_with_exit_code_0() {
    let again = fixture("11.1", "set-op-version-110000-again.xml");
    let err = parse_volume_get(&again).unwrap_err();
    assert!(matches!(err, ParseError::OpFailed { op_ret: -1, .. }), "{err:?}");
    assert!(err
        .to_string()
        .contains("should not be equal or lower than current cluster op-version"));
}

#[test]
fn heal_entries_are_cut_at_the_limit() {
    let entries = parse_heal_entries(&fixture("10.3", "degraded-heal-gv0-info.xml"), 3).unwrap();
    assert_eq!(entries, ["/f3", "/f14", "/f21"]);
}

#[test]
fn georep_sessions_from_a_real_10_3_session() {
    // gv0 -> 10.199.0.11::gsv0 on the testbed, running, then stopped.
    let running = parse_georep_status(&fixture("10.3", "georep-session-running.xml")).unwrap();
    assert_eq!(running.len(), 1);
    let s = &running[0];
    assert_eq!(
        (
            s.primary_volume.as_str(),
            s.secondary.as_str(),
            s.secondary_user.as_str()
        ),
        ("gv0", "10.199.0.11::gsv0", "root")
    );
    let states: Vec<&str> = s.pairs.iter().map(|p| p.status.as_str()).collect();
    assert_eq!(states, vec!["Active", "Passive", "Created"]);
    assert!(s.running());
    let stopped = parse_georep_status(&fixture("10.3", "georep-session-stopped.xml")).unwrap();
    assert!(!stopped[0].running(), "{:?}", stopped[0].pairs);
}

#[test]
fn georep_sessions_from_a_real_9_2_session_in_master_slave_words() {
    // gv0 -> 10.197.0.11::gsv0 on one 9.2 server: the pre-10.0 XML (master_node, slave, ...).
    let states = |file: &str| -> Vec<String> {
        let s = parse_georep_status(&fixture("9.2", file)).unwrap();
        assert_eq!(s.len(), 1, "{file}");
        assert_eq!(
            (
                s[0].primary_volume.as_str(),
                s[0].secondary.as_str(),
                s[0].secondary_user.as_str()
            ),
            ("gv0", "10.197.0.11::gsv0", "root"),
            "{file}"
        );
        assert!(s[0]
            .pairs
            .iter()
            .all(|p| p.primary_node == "10.197.0.11" && p.primary_brick.starts_with("/")));
        s[0].pairs.iter().map(|p| p.status.clone()).collect()
    };
    assert_eq!(states("georep-session-running.xml"), ["Active"; 3]);
    assert_eq!(
        states("georep-session-active-passive.xml"),
        ["Active", "Passive", "Passive"]
    );
    assert_eq!(states("georep-session-created.xml"), ["Created"; 3]);
    assert_eq!(states("georep-session-faulty.xml"), ["Faulty"; 3]);
    assert_eq!(states("georep-session-paused.xml"), ["Paused"; 3]);
    assert_eq!(states("georep-session-stopped.xml"), ["Stopped"; 3]);
    assert_eq!(states("georep-gv0-gsv0-status.xml").len(), 3);
    let running = |file: &str| parse_georep_status(&fixture("9.2", file)).unwrap()[0].running();
    assert!(running("georep-session-faulty.xml") && running("georep-session-paused.xml"));
    assert!(!running("georep-session-created.xml") && !running("georep-session-stopped.xml"));
    assert!(parse_georep_status(&fixture("9.2", "georep-session-paused.xml")).unwrap()[0].paused());
}

#[test]
fn the_9_2_pool_and_volumes_parse() {
    assert_eq!(parse_version(&fixture("9.2", "version.txt")).unwrap().text, "9.2");
    let vols = parse_volume_info(&fixture("9.2", "volume-info.xml")).unwrap();
    let names: Vec<&str> = vols.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["gsv0", "gv0"]);
    let max = parse_volume_get(&fixture("9.2", "max-op-version.xml")).unwrap();
    assert_eq!(max.get("cluster.max-op-version").map(String::as_str), Some("90000"));
}

#[test]
fn a_real_split_brain_summary_and_listing() {
    // sb0, replica 3 on 10.196.0.11-13: f1 and f4 data, f2 metadata, / entry split-brain;
    // f3 (a gfid mismatch) counts as pending.
    let bricks = parse_heal_summary(&fixture("10.3", "splitbrain-heal-sb0-info-summary.xml")).unwrap();
    assert_eq!(bricks.len(), 3);
    for b in &bricks {
        assert_eq!(
            (b.split_brain, b.pending, b.connected),
            (Some(4), Some(1), true),
            "{b:?}"
        );
    }
    // Each brick lists the 4 entries, by path on one and by gfid on the others: each once,
    // by path.
    let entries = parse_heal_entries(&fixture("10.3", "splitbrain-heal-sb0-info-split-brain.xml"), 10).unwrap();
    assert_eq!(entries, ["/", "/f4", "/f1", "/f2"]);
    let first = parse_heal_entries(&fixture("10.3", "splitbrain-heal-sb0-info-split-brain.xml"), 2).unwrap();
    assert_eq!(first, ["/", "/f4"]);
    let info = parse_heal_entries(&fixture("10.3", "splitbrain-heal-sb0-info.xml"), 10).unwrap();
    assert_eq!(info.len(), 5, "{info:?}");
    let after = parse_heal_summary(&fixture("10.3", "splitbrain-heal-sb0-info-summary-after-resolve.xml")).unwrap();
    assert!(after.iter().all(|b| b.split_brain == Some(3)), "{after:?}");
}
