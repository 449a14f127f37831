//! gluster_verify's judgement on pools built from real captured output.

use keel_gluster_cli::fixtures::pool;
use keel_gluster_verify::{judge, rejected_peers};

#[test]
fn a_healthy_pool_on_the_expected_release_is_whole() {
    let p = judge(&pool("11.1", ""), Some("11.1"), &[]);
    assert!(p.is_empty(), "{p:?}");
    let p = judge(&pool("10.3", ""), Some("11.1"), &[]);
    assert_eq!(p.waiting, vec!["this server runs Gluster 10.3, expected 11.1"]);
}

#[test]
fn a_rejected_peer_is_fatal_unless_it_runs_another_release() {
    // Captured on 10.198.0.11 right after .12 and .13 moved to 11.1: both Peer Rejected.
    let rejected = pool("11.1", "rejected-");
    assert_eq!(rejected_peers(&rejected), vec!["10.198.0.12", "10.198.0.13"]);
    let p = judge(&rejected, Some("11.1"), &[]);
    assert_eq!(p.rejected, vec!["10.198.0.12", "10.198.0.13"], "{p:?}");
    assert!(p.fatal.is_empty(), "a remedy may cure it: {p:?}");

    let p = judge(&rejected, Some("11.1"), &["10.198.0.12".into()]);
    assert_eq!(p.rejected, vec!["10.198.0.13"], "only .13 stays rejected: {p:?}");
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].contains("different releases"), "{p:?}");

    let p = judge(&rejected, Some("11.1"), &["10.198.0.12".into(), "10.198.0.13".into()]);
    assert!(p.rejected.is_empty(), "{p:?}");
    assert!(
        !p.waiting
            .iter()
            .any(|w| w.contains("10.198.0.12") || w.contains("10.198.0.13")),
        "their bricks are not waited for: {p:?}"
    );
}

#[test]
fn a_rejection_by_peers_on_another_release_is_no_excuse_for_an_own_brick_offline() {
    // Captured on node1 of the testbed, its definition of gv0 changed behind glusterd's back: its
    // peers reject it and glusterd leaves its brick down. Named as other-release peers (as they
    // would be mid-upgrade), the rejection must still lead to the rejected ladder.
    let pool = pool("10.3", "rejected-brick-down-");
    let others: Vec<String> = vec!["10.199.0.12".into(), "10.199.0.13".into()];
    let p = judge(&pool, None, &others);
    assert!(p.rejected.is_empty(), "{p:?}");
    assert!(p.warnings.is_empty(), "not a mixed-release warning: {p:?}");
    assert_eq!(p.rejected_brick_down.len(), 2, "{p:?}");
    assert!(
        p.rejected_brick_down
            .iter()
            .all(|r| r.contains("10.199.0.11:/bricks/gv0")),
        "{p:?}"
    );
}

#[test]
fn a_degraded_pool_waits_for_its_peers_bricks_and_self_heal_daemons() {
    // Captured with glusterd and the bricks of 10.198.0.13 killed.
    let mut degraded = pool("10.3", "degraded-");
    let p = judge(&degraded, None, &[]);
    assert!(p.fatal.is_empty(), "waiting may cure it: {p:?}");
    for reason in [
        "peer 10.198.0.13 is disconnected",
        "brick 10.198.0.13:/bricks/gv0 of volume gv0 is offline",
        "volume gv0: 2 of 3 self-heal daemons online",
    ] {
        assert!(p.waiting.iter().any(|w| w == reason), "{reason}: {p:?}");
    }
    // A peer still handshaking is connected but not yet in the cluster.
    let peer = degraded.peers.iter_mut().find(|p| !p.is_local && p.connected).unwrap();
    peer.in_cluster = false;
    peer.state = 2;
    peer.state_str = "Probe Received from Peer".into();
    let p = judge(&degraded, None, &[]);
    assert!(
        p.waiting
            .iter()
            .any(|w| w == "peer 10.198.0.12 is 'Probe Received from Peer'"),
        "{p:?}"
    );
    // 'Accepted peer request' is a state the handshake of an established pool does not leave.
    let peer = degraded.peers.iter_mut().find(|p| !p.is_local && p.connected).unwrap();
    peer.state = 4;
    peer.state_str = "Accepted peer request".into();
    let p = judge(&degraded, None, &[]);
    assert_eq!(
        p.handshake,
        vec!["peer 10.198.0.12 is 'Accepted peer request'"],
        "{p:?}"
    );
}
