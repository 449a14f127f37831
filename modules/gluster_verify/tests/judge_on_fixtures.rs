//! gluster_verify's judgement on pools built from real captured output.

use keel_gluster_cli::fixtures::pool;
use keel_gluster_verify::{judge, rejected_peers, Problems};

#[test]
fn a_healthy_pool_on_the_expected_release_is_whole() {
    let p = judge(&pool("11.1", ""), Some("11.1"), &[]);
    assert!(p.waiting.is_empty() && p.fatal.is_empty(), "{p:?}");
    let p = judge(&pool("10.3", ""), Some("11.1"), &[]);
    assert_eq!(p.waiting, vec!["this server runs Gluster 10.3, expected 11.1"]);
}

#[test]
fn a_rejected_peer_is_fatal_unless_it_runs_another_release() {
    // Captured on 10.198.0.11 right after .12 and .13 moved to 11.1: both Peer Rejected.
    let rejected = pool("11.1", "rejected-");
    assert_eq!(rejected_peers(&rejected), vec!["10.198.0.12", "10.198.0.13"]);
    let p = judge(&rejected, Some("11.1"), &[]);
    assert_eq!(p.fatal.len(), 2, "{p:?}");
    assert!(p.fatal[0].ends_with("is 'Peer Rejected'"), "{p:?}");
    // However many peers are rejected, the remedies come once.
    let mut two = Problems {
        fatal: vec![p.fatal[0].clone(), p.fatal[0].clone()],
        ..Default::default()
    };
    assert_eq!(two.message().matches("Known remedies").count(), 1, "{}", two.message());
    two.fatal.truncate(1);
    assert!(
        two.message()
            .contains("'Peer Rejected'. Known remedies: restart glusterd"),
        "{}",
        two.message()
    );

    let p = judge(&rejected, Some("11.1"), &["10.198.0.12".into()]);
    assert_eq!(p.fatal.len(), 1, "only .13 stays fatal: {p:?}");
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].contains("different releases"), "{p:?}");

    let p = judge(&rejected, Some("11.1"), &["10.198.0.12".into(), "10.198.0.13".into()]);
    assert!(p.fatal.is_empty(), "{p:?}");
    assert!(
        !p.waiting
            .iter()
            .any(|w| w.contains("10.198.0.12") || w.contains("10.198.0.13")),
        "their bricks are not waited for: {p:?}"
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
    peer.state_str = "Accepted peer request".into();
    let p = judge(&degraded, None, &[]);
    assert!(
        p.waiting
            .iter()
            .any(|w| w == "peer 10.198.0.12 is 'Accepted peer request'"),
        "{p:?}"
    );
}
