//! The client census on real `gluster volume status all clients --xml` output (10.3, a replica 3
//! volume on three servers and one FUSE client).

use keel_gluster_model::clients::{census, parse_volume_clients};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn every_connection_of_every_brick_with_its_op_version() {
    let all = parse_volume_clients(&fixture("10.3/volume-status-all-clients.xml")).unwrap();
    assert_eq!(all.len(), 12);
    assert!(
        all.iter().all(|c| c.volume == "gv0" && c.op_version == Some(100000)),
        "{all:#?}"
    );
    assert_eq!(all[3].brick, "10.199.0.11:/bricks/gv0");
    assert_eq!(all[3].address, "10.199.0.21:49145");
    assert_eq!(all[3].host(), "10.199.0.21");
}

#[test]
fn a_census_per_host_tells_servers_from_clients_and_who_cannot_follow() {
    let all = parse_volume_clients(&fixture("10.3/volume-status-all-clients.xml")).unwrap();
    let c = census(&all, 100000);
    assert_eq!(c.hosts.len(), 4);
    assert_eq!(c.behind().count(), 0);
    let client = c.hosts.iter().find(|h| !h.server).unwrap();
    assert_eq!((client.host.as_str(), client.op_version), ("10.199.0.21", Some(100000)));
    assert_eq!(client.volumes, ["gv0"]);
    // Raised to 11's op-version, every 10.3 process is behind, servers' and client's alike.
    let c = census(&all, 110000);
    assert_eq!(c.behind().count(), 4);
}

#[test]
fn a_connection_that_does_not_say_its_op_version_is_behind() {
    let mut all = parse_volume_clients(&fixture("10.3/volume-status-all-clients.xml")).unwrap();
    all[3].op_version = None;
    let c = census(&all, 100000);
    let behind: Vec<&str> = c.behind().map(|h| h.host.as_str()).collect();
    assert_eq!(behind, ["10.199.0.21"]);
    assert_eq!(
        c.hosts.iter().find(|h| h.host == "10.199.0.21").unwrap().op_version,
        Some(100000)
    );
}

#[test]
fn a_refusal_is_an_error_not_an_empty_census() {
    let refused = "<?xml version=\"1.0\"?><cliOutput><opRet>-1</opRet><opErrno>30800</opErrno>\
                   <opErrstr>Volume gv9 does not exist</opErrstr></cliOutput>";
    assert!(parse_volume_clients(refused).is_err());
}

#[test]
fn servers_on_11_1_and_a_client_still_on_10_3() {
    // Captured with gv0's three servers on 11.1 and client1 still on 10.3, then client1 upgraded.
    let mixed = parse_volume_clients(&fixture("11.1/clients-behind-volume-status-all-clients.xml")).unwrap();
    let c = census(&mixed, 110000);
    let behind: Vec<(&str, bool, Option<u64>)> =
        c.behind().map(|h| (h.host.as_str(), h.server, h.op_version)).collect();
    assert_eq!(behind, [("10.199.0.21", false, Some(100000))]);
    assert!(c
        .hosts
        .iter()
        .filter(|h| h.server)
        .all(|h| h.op_version == Some(110000) && !h.behind));
    let upgraded = parse_volume_clients(&fixture("11.1/volume-status-all-clients.xml")).unwrap();
    assert_eq!(census(&upgraded, 110000).behind().count(), 0);
}
