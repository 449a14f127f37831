//! Who is connected to the bricks (`gluster volume status all clients --xml`), with the highest
//! op-version each client supports, and the census an op-version bump needs: a client that
//! supports less than the new op-version cannot follow the pool once it is raised (clients then
//! fail or can no longer mount), and the op-version can never be lowered again.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::parse::{children, doc, envelope_ok, find, num, split_brick, text, ParseError};

/// One connection to one brick, as glusterd lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrickClient {
    pub volume: String,
    /// The brick, `host:/path`.
    pub brick: String,
    /// The client's address and port, as gluster prints it (`10.0.0.21:49145`).
    pub address: String,
    /// The highest op-version the client supports; None where the release does not say.
    pub op_version: Option<u64>,
}

impl BrickClient {
    /// The client's host: its address without the port.
    pub fn host(&self) -> &str {
        match self.address.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host.trim_matches(['[', ']']),
            _ => &self.address,
        }
    }
}

/// Every connection to every brick of the output (one volume or `all`).
pub fn parse_volume_clients(xml: &str) -> Result<Vec<BrickClient>, ParseError> {
    let d = doc(xml)?;
    envelope_ok(&d)?;
    let volumes = find(d.root(), "volumes")?;
    let mut out = Vec::new();
    for vol in children(volumes, "volume") {
        let volume = text(vol, "volName");
        for node in children(vol, "node") {
            let brick = format!("{}:{}", text(node, "hostname"), text(node, "path"));
            for status in children(node, "clientsStatus") {
                for client in children(status, "client") {
                    out.push(BrickClient {
                        volume: volume.clone(),
                        brick: brick.clone(),
                        address: text(client, "hostname"),
                        op_version: num(client, "opVersion").filter(|v| *v > 0),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// One client host, over all its connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CensusHost {
    pub host: String,
    /// A server of the pool (its self-heal daemon, or a mount on the server itself), or a client.
    pub server: bool,
    pub volumes: Vec<String>,
    /// The lowest op-version over its connections; None when no connection said.
    pub op_version: Option<u64>,
    /// Some connection supports less than the target op-version, or does not say what it supports.
    pub behind: bool,
}

/// The census before raising the op-version to `target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Census {
    pub target: u64,
    pub hosts: Vec<CensusHost>,
}

impl Census {
    pub fn behind(&self) -> impl Iterator<Item = &CensusHost> {
        self.hosts.iter().filter(|h| h.behind)
    }
}

/// Groups the connections by host; a host that holds a brick is a server (its self-heal daemon,
/// or a mount on the server itself). A connection that does not say its op-version counts as
/// behind: unknown is not enough to raise what can never be lowered.
pub fn census(connections: &[BrickClient], target: u64) -> Census {
    let servers: Vec<String> = connections.iter().map(|c| split_brick(&c.brick).0).collect();
    let mut by_host: BTreeMap<&str, (Vec<String>, Option<u64>, bool)> = BTreeMap::new();
    for c in connections {
        let entry = by_host.entry(c.host()).or_insert((Vec::new(), None, false));
        if !entry.0.contains(&c.volume) {
            entry.0.push(c.volume.clone());
        }
        match c.op_version {
            Some(v) => entry.1 = Some(entry.1.map_or(v, |low: u64| low.min(v))),
            None => entry.2 = true,
        }
    }
    let hosts = by_host
        .into_iter()
        .map(|(host, (volumes, op_version, unknown))| CensusHost {
            host: host.to_string(),
            server: servers.iter().any(|s| s == host),
            volumes,
            op_version,
            behind: unknown || op_version.is_some_and(|v| v < target),
        })
        .collect();
    Census { target, hosts }
}
