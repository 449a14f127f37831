//! Pure parsers for `gluster --mode=script --xml` output (and the few text-only commands).
//! Field names follow gluster's `cli/src/cli-xml-output.c`; tests run on output captured from
//! real glusterfs 10.3 and 11.1 (tests/fixtures).

use std::collections::{BTreeMap, BTreeSet};

use roxmltree::{Document, Node};
use serde::Serialize;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("gluster printed output that is not valid XML: {0}")]
    Xml(String),
    #[error("gluster's XML has no <{0}> element")]
    Missing(&'static str),
    /// The command itself failed: gluster's own `opErrstr`.
    #[error("gluster reported an error (opRet {op_ret}, opErrno {op_errno}): {op_errstr}")]
    OpFailed {
        op_ret: i64,
        op_errno: i64,
        op_errstr: String,
    },
    #[error("cannot read the gluster version from: {0}")]
    Version(String),
}

pub(crate) fn doc(xml: &str) -> Result<Document<'_>, ParseError> {
    Document::parse(xml.trim_start()).map_err(|e| ParseError::Xml(e.to_string()))
}

pub(crate) fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name(name))
}

pub(crate) fn children<'a, 'i: 'a>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |n| n.has_tag_name(name))
}

/// The text of a direct child, trimmed; "" when absent.
pub(crate) fn text(node: Node, name: &str) -> String {
    child(node, name)
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .unwrap_or_default()
}

/// A number, or None for gluster's "-" / "N/A" / empty placeholders.
pub(crate) fn num(node: Node, name: &str) -> Option<u64> {
    text(node, name).parse().ok()
}

pub(crate) fn find<'a, 'i>(root: Node<'a, 'i>, name: &'static str) -> Result<Node<'a, 'i>, ParseError> {
    root.descendants()
        .find(|n| n.has_tag_name(name))
        .ok_or(ParseError::Missing(name))
}

/// `<opRet>` of any `--xml` output: gluster can exit 0 and still refuse (volume set).
pub fn check_envelope(xml: &str) -> Result<(), ParseError> {
    envelope_ok(&doc(xml)?)
}

/// Checks `<opRet>`: gluster can exit 0 and still report an error in the envelope. An envelope
/// without a readable `<opRet>` (cut off, or not gluster's) is no success.
pub(crate) fn envelope_ok(d: &Document) -> Result<(), ParseError> {
    let root = d.root_element();
    let op_ret: i64 = text(root, "opRet").parse().map_err(|_| ParseError::Missing("opRet"))?;
    if op_ret != 0 {
        return Err(ParseError::OpFailed {
            op_ret,
            op_errno: text(root, "opErrno").parse().unwrap_or(0),
            op_errstr: text(root, "opErrstr"),
        });
    }
    Ok(())
}

/// `host:/path` split at the first `:/`, so IPv6 hosts (which contain ':') stay whole.
pub fn split_brick(name: &str) -> (String, String) {
    match name.find(":/") {
        Some(i) => (name[..i].to_string(), name[i + 1..].to_string()),
        None => (name.to_string(), String::new()),
    }
}

// ---------------------------------------------------------------------------------------------
// gluster --version

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlusterVersion {
    pub major: u32,
    pub minor: u32,
    /// As printed, e.g. "10.3" or "11.1".
    pub text: String,
}

/// First line of `gluster --version`: "glusterfs 10.3" (older: "glusterfs 3.12.15").
pub fn parse_version(out: &str) -> Result<GlusterVersion, ParseError> {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("glusterfs "))
        .unwrap_or("");
    let text = line.split_whitespace().nth(1).unwrap_or("").to_string();
    version_from(&text).ok_or_else(|| ParseError::Version(out.lines().next().unwrap_or("").into()))
}

/// "10.3", "11.1", "3.12.15", "11.1-3~bpo12+1" (a Debian package version) -> major.minor.
pub fn version_from(text: &str) -> Option<GlusterVersion> {
    let upstream = text.split(['-', '~', '+']).next()?;
    let mut parts = upstream.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map(|m| m.parse().ok()).unwrap_or(Some(0))?;
    Some(GlusterVersion {
        major,
        minor,
        text: upstream.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// pool list / peer status

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Peer {
    pub uuid: String,
    pub hostname: String,
    pub hostnames: Vec<String>,
    pub connected: bool,
    /// 3 = "Peer in Cluster", 6 = "Peer Rejected" (glusterd-sm.h).
    pub state: i64,
    pub state_str: String,
    /// `pool list` names the local node "localhost" (and gives it no state).
    pub is_local: bool,
    /// "Peer in Cluster" (state 3); the local node always is.
    pub in_cluster: bool,
}

impl Peer {
    pub fn in_cluster(&self) -> bool {
        self.in_cluster
    }
    pub fn rejected(&self) -> bool {
        self.state == 6
    }
}

pub fn parse_peers(xml: &str) -> Result<Vec<Peer>, ParseError> {
    let d = doc(xml)?;
    envelope_ok(&d)?;
    let status = find(d.root_element(), "peerStatus")?;
    Ok(children(status, "peer")
        .map(|p| {
            let hostname = text(p, "hostname");
            let mut hostnames: Vec<String> = child(p, "hostnames")
                .map(|h| {
                    children(h, "hostname")
                        .filter_map(|n| n.text())
                        .map(|t| t.trim().to_string())
                        .collect()
                })
                .unwrap_or_default();
            if hostnames.is_empty() && !hostname.is_empty() {
                hostnames.push(hostname.clone());
            }
            let state = text(p, "state").parse().unwrap_or(-1);
            let is_local = hostname == "localhost";
            Peer {
                uuid: text(p, "uuid"),
                is_local,
                in_cluster: is_local || state == 3,
                hostname,
                hostnames,
                connected: text(p, "connected") == "1",
                state,
                state_str: text(p, "stateStr"),
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// volume info

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VolumeType {
    Distribute,
    Replicate,
    Disperse,
    DistributedReplicate,
    DistributedDisperse,
    /// Tier, stripe and other types removed from current releases.
    Other,
}

impl VolumeType {
    /// From `<type>` (glusterd's GF_CLUSTER_TYPE numbering as the CLI prints it).
    fn from_code(code: i64, type_str: &str) -> Self {
        match (code, type_str) {
            (0, _) => VolumeType::Distribute,
            (2, _) => VolumeType::Replicate,
            (4, _) => VolumeType::Disperse,
            (7, _) => VolumeType::DistributedReplicate,
            (9, _) => VolumeType::DistributedDisperse,
            (_, "Distribute") => VolumeType::Distribute,
            (_, "Replicate") => VolumeType::Replicate,
            (_, "Disperse") => VolumeType::Disperse,
            (_, "Distributed-Replicate") => VolumeType::DistributedReplicate,
            (_, "Distributed-Disperse") => VolumeType::DistributedDisperse,
            _ => VolumeType::Other,
        }
    }
    pub fn is_replicated(self) -> bool {
        matches!(self, VolumeType::Replicate | VolumeType::DistributedReplicate)
    }
    pub fn is_dispersed(self) -> bool {
        matches!(self, VolumeType::Disperse | VolumeType::DistributedDisperse)
    }
    /// Only these have a self-heal daemon and answer `volume heal`.
    pub fn heals(self) -> bool {
        self.is_replicated() || self.is_dispersed()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BrickInfo {
    pub name: String,
    pub host: String,
    pub path: String,
    pub host_uuid: String,
    pub is_arbiter: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VolumeInfo {
    pub name: String,
    pub id: String,
    /// "Created", "Started" or "Stopped".
    pub status: String,
    #[serde(rename = "type")]
    pub vol_type: VolumeType,
    pub type_str: String,
    pub brick_count: u64,
    pub dist_count: u64,
    pub replica_count: u64,
    pub arbiter_count: u64,
    pub disperse_count: u64,
    pub redundancy_count: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bricks: Vec<BrickInfo>,
    pub options: BTreeMap<String, String>,
}

impl VolumeInfo {
    pub fn started(&self) -> bool {
        self.status == "Started"
    }
}

pub fn parse_volume_info(xml: &str) -> Result<Vec<VolumeInfo>, ParseError> {
    let d = doc(xml)?;
    envelope_ok(&d)?;
    let vols = find(d.root_element(), "volumes")?;
    Ok(children(vols, "volume")
        .map(|v| {
            let bricks = child(v, "bricks")
                .map(|b| {
                    children(b, "brick")
                        .map(|br| {
                            // Older releases print the name only as the element's text.
                            let mut name = text(br, "name");
                            if name.is_empty() {
                                name = br.text().unwrap_or("").trim().to_string();
                            }
                            let (host, path) = split_brick(&name);
                            BrickInfo {
                                host,
                                path,
                                host_uuid: Some(text(br, "hostUuid"))
                                    .filter(|u| !u.is_empty())
                                    .or_else(|| br.attribute("uuid").map(str::to_string))
                                    .unwrap_or_default(),
                                is_arbiter: text(br, "isArbiter") == "1",
                                name,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let options = child(v, "options")
                .map(|o| {
                    children(o, "option")
                        .map(|op| (text(op, "name"), text(op, "value")))
                        .collect()
                })
                .unwrap_or_default();
            let type_str = text(v, "typeStr");
            VolumeInfo {
                name: text(v, "name"),
                id: text(v, "id"),
                status: text(v, "statusStr"),
                vol_type: VolumeType::from_code(text(v, "type").parse().unwrap_or(-1), &type_str),
                type_str,
                brick_count: num(v, "brickCount").unwrap_or(0),
                dist_count: num(v, "distCount").unwrap_or(0),
                replica_count: num(v, "replicaCount").unwrap_or(0),
                arbiter_count: num(v, "arbiterCount").unwrap_or(0),
                disperse_count: num(v, "disperseCount").unwrap_or(0),
                redundancy_count: num(v, "redundancyCount").unwrap_or(0),
                bricks,
                options,
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// volume status

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BrickStatus {
    pub host: String,
    pub path: String,
    pub peer_id: String,
    pub online: bool,
    pub port: Option<u64>,
    pub pid: Option<u64>,
}

/// Self-heal daemon, NFS server, quota daemon...: `volume status` lists them as nodes whose
/// hostname is the daemon's name and whose path is the peer's host.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DaemonStatus {
    pub name: String,
    pub host: String,
    pub peer_id: String,
    pub online: bool,
    pub pid: Option<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VolumeTask {
    /// "Rebalance", "Remove brick", ...
    pub kind: String,
    pub id: String,
    pub status: i64,
    pub status_str: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VolumeStatus {
    pub name: String,
    pub bricks: Vec<BrickStatus>,
    pub daemons: Vec<DaemonStatus>,
    pub tasks: Vec<VolumeTask>,
}

/// Daemon entries name the daemon where a brick names its host.
const DAEMON_NAMES: [&str; 7] = [
    "Self-heal Daemon",
    "NFS Server",
    "Quota Daemon",
    "Bitrot Daemon",
    "Scrubber Daemon",
    "Snapshot Daemon",
    "Tier Daemon",
];

pub fn parse_volume_status(xml: &str) -> Result<Vec<VolumeStatus>, ParseError> {
    let d = doc(xml)?;
    envelope_ok(&d)?;
    let vols = find(d.root_element(), "volumes")?;
    Ok(children(vols, "volume")
        .map(|v| {
            let mut bricks = Vec::new();
            let mut daemons = Vec::new();
            for n in children(v, "node") {
                let hostname = text(n, "hostname");
                let online = text(n, "status") == "1";
                let pid = num(n, "pid").filter(|p| *p > 0);
                if DAEMON_NAMES.contains(&hostname.as_str()) {
                    daemons.push(DaemonStatus {
                        name: hostname,
                        host: text(n, "path"),
                        peer_id: text(n, "peerid"),
                        online,
                        pid,
                    });
                } else {
                    bricks.push(BrickStatus {
                        host: hostname,
                        path: text(n, "path"),
                        peer_id: text(n, "peerid"),
                        online,
                        port: num(n, "port").filter(|p| *p > 0),
                        pid,
                    });
                }
            }
            let tasks = child(v, "tasks")
                .map(|t| {
                    children(t, "task")
                        .map(|t| VolumeTask {
                            kind: text(t, "type"),
                            id: text(t, "id"),
                            status: text(t, "status").parse().unwrap_or(-1),
                            status_str: text(t, "statusStr"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            VolumeStatus {
                name: text(v, "volName"),
                bricks,
                daemons,
                tasks,
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// volume heal VOL info summary

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BrickHeal {
    pub name: String,
    pub host: String,
    pub path: String,
    /// "Connected", or why the brick could not be asked ("Transport endpoint is not connected").
    pub status: String,
    pub connected: bool,
    /// None when the brick could not be asked (gluster prints "-"): unknown is not zero.
    pub total: Option<u64>,
    pub pending: Option<u64>,
    pub split_brain: Option<u64>,
    pub possibly_healing: Option<u64>,
}

/// `heal VOL info summary` (3.13+). glfsheal prints `<healInfo>` before the envelope, and its
/// opRet can be 0 while a brick is down: callers must look at each brick.
pub fn parse_heal_summary(xml: &str) -> Result<Vec<BrickHeal>, ParseError> {
    let d = doc(xml)?;
    envelope_ok(&d)?;
    let bricks = find(d.root_element(), "bricks")?;
    Ok(children(bricks, "brick")
        .map(|b| {
            let name = text(b, "name");
            let (host, path) = split_brick(&name);
            let status = text(b, "status");
            BrickHeal {
                connected: status == "Connected",
                name,
                host,
                path,
                status,
                total: num(b, "totalNumberOfEntries").or_else(|| num(b, "numberOfEntries")),
                pending: num(b, "numberOfEntriesInHealPending"),
                split_brain: num(b, "numberOfEntriesInSplitBrain"),
                possibly_healing: num(b, "numberOfEntriesPossiblyHealing"),
            }
        })
        .collect())
}

/// The first `limit` entries of `heal VOL info` or `heal VOL info split-brain`, each once: every
/// brick lists the same entry, by path on one brick and as `<gfid:...>` on another (seen on a
/// real 10.3 split-brain), so entries are told apart by gfid, a path wins over a gfid, and a path
/// is named once.
pub fn parse_heal_entries(xml: &str, limit: usize) -> Result<Vec<String>, ParseError> {
    let d = doc(xml)?;
    envelope_ok(&d)?;
    let is_gfid = |name: &str| name.starts_with("<gfid:");
    let mut out: Vec<(String, String)> = Vec::new();
    // Indexes of what is kept, so that each entry costs a look-up, not a scan of the kept ones.
    let mut at_key: BTreeMap<String, usize> = BTreeMap::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    for f in d.descendants().filter(|n| n.has_tag_name("file")) {
        let gfid = f.attribute("gfid").unwrap_or_default();
        let name = f
            .text()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("<gfid:{gfid}>"));
        let key = if gfid.is_empty() {
            name.clone()
        } else {
            gfid.to_string()
        };
        // A gfid mismatch lists one path under two gfids: name it once.
        if names.contains(&name) {
            continue;
        }
        match at_key.get(&key) {
            Some(&i) if is_gfid(&out[i].1) && !is_gfid(&name) => {
                names.remove(&out[i].1);
                names.insert(name.clone());
                out[i].1 = name;
            }
            Some(_) => {}
            None if out.len() < limit => {
                at_key.insert(key.clone(), out.len());
                names.insert(name.clone());
                out.push((key, name));
            }
            None => {}
        }
    }
    Ok(out.into_iter().map(|(_, name)| name).collect())
}

// ---------------------------------------------------------------------------------------------
// volume get all OPTION

/// `volume get all cluster.op-version`: `volGetopts/Opt/{Option,Value}` (3.10+), or
/// `Option`/`Value` directly under `volGetopts` (older releases).
pub fn parse_volume_get(xml: &str) -> Result<BTreeMap<String, String>, ParseError> {
    let d = doc(xml)?;
    envelope_ok(&d)?;
    let opts = find(d.root_element(), "volGetopts")?;
    let mut out: BTreeMap<String, String> = children(opts, "Opt")
        .map(|o| (text(o, "Option"), text(o, "Value")))
        .collect();
    if out.is_empty() && child(opts, "Option").is_some() {
        out.insert(text(opts, "Option"), text(opts, "Value"));
    }
    Ok(out)
}

/// The one numeric value of `volume get all OPTION`.
pub fn parse_op_version(xml: &str, option: &str) -> Result<u64, ParseError> {
    let opts = parse_volume_get(xml)?;
    opts.get(option)
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ParseError::Xml(format!("no numeric value for {option} in: {opts:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brick_names_split_at_the_first_colon_slash() {
        assert_eq!(
            split_brick("10.0.0.1:/bricks/b1"),
            ("10.0.0.1".into(), "/bricks/b1".into())
        );
        assert_eq!(
            split_brick("fe80::1:/data/brick"),
            ("fe80::1".into(), "/data/brick".into())
        );
        assert_eq!(split_brick("host:/a:/b"), ("host".into(), "/a:/b".into()));
    }

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("glusterfs 10.3\nRepository revision: git://...")
                .unwrap()
                .text,
            "10.3"
        );
        let v = parse_version("glusterfs 3.12.15\n").unwrap();
        assert_eq!((v.major, v.minor), (3, 12));
        assert_eq!(version_from("11.1-3~bpo12+1").unwrap().text, "11.1");
        assert!(version_from("11.1").unwrap() > version_from("10.3").unwrap());
        assert!(parse_version("bash: gluster: not found").is_err());
    }

    #[test]
    fn op_failed_envelope_carries_gluster_error() {
        let xml = "<?xml version=\"1.0\"?><cliOutput><opRet>-1</opRet><opErrno>30800</opErrno><opErrstr>Volume nope does not exist</opErrstr></cliOutput>";
        let err = parse_volume_info(xml).unwrap_err();
        assert!(err.to_string().contains("Volume nope does not exist"), "{err}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for junk in [
            "",
            "Connection failed. Please check if gluster daemon is operational.",
            "<cliOutput>",
        ] {
            assert!(parse_peers(junk).is_err());
            assert!(parse_volume_status(junk).is_err());
        }
    }

    #[test]
    fn a_successful_envelope_without_the_expected_element_names_it() {
        let xml = "<cliOutput><opRet>0</opRet><opErrno>0</opErrno><opErrstr/></cliOutput>";
        assert_eq!(parse_peers(xml).unwrap_err(), ParseError::Missing("peerStatus"));
        assert_eq!(
            parse_volume_info(xml).unwrap_err().to_string(),
            "gluster's XML has no <volumes> element"
        );
        assert_eq!(parse_heal_summary(xml).unwrap_err(), ParseError::Missing("bricks"));
        assert_eq!(parse_volume_get(xml).unwrap_err(), ParseError::Missing("volGetopts"));
    }

    #[test]
    fn an_envelope_without_op_ret_is_no_success() {
        for xml in [
            "<cliOutput><opErrno>0</opErrno><volGetopts/></cliOutput>",
            "<cliOutput><opRet></opRet><volGetopts/></cliOutput>",
            "<cliOutput><opRet>ok</opRet><volGetopts/></cliOutput>",
        ] {
            assert_eq!(check_envelope(xml), Err(ParseError::Missing("opRet")), "{xml}");
            assert_eq!(
                parse_volume_get(xml).unwrap_err(),
                ParseError::Missing("opRet"),
                "{xml}"
            );
        }
        assert_eq!(check_envelope("<cliOutput><opRet>0</opRet></cliOutput>"), Ok(()));
    }

    #[test]
    fn an_op_version_that_is_not_a_number_is_named() {
        let xml = "<cliOutput><opRet>0</opRet><volGetopts><Opt><Option>cluster.op-version</Option><Value>N/A</Value></Opt></volGetopts></cliOutput>";
        let err = parse_op_version(xml, "cluster.op-version").unwrap_err().to_string();
        assert!(err.contains("no numeric value for cluster.op-version"), "{err}");
        let err = parse_op_version(xml, "cluster.max-op-version").unwrap_err().to_string();
        assert!(err.contains("no numeric value for cluster.max-op-version"), "{err}");
    }

    #[test]
    fn legacy_volume_get_layout() {
        let xml = "<cliOutput><opRet>0</opRet><volGetopts><count>1</count><Option>cluster.op-version</Option><Value>30800</Value></volGetopts></cliOutput>";
        assert_eq!(parse_op_version(xml, "cluster.op-version").unwrap(), 30800);
    }
}

// ---------------------------------------------------------------------------------------------
// volume geo-replication status

/// One brick's worker of a geo-replication session.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GeoRepPair {
    pub primary_node: String,
    pub primary_brick: String,
    pub secondary_node: String,
    /// Active, Passive, Stopped, Faulty, Created, Paused, Initializing..., Offline.
    pub status: String,
    pub crawl_status: String,
    /// Yes, No, or N/A (no checkpoint set; a Passive worker shows N/A whatever the checkpoint).
    pub checkpoint_completed: String,
    /// The checkpoint this worker compares with (`YYYY-MM-DD HH:MM:SS`), or N/A.
    pub checkpoint_time: String,
}

/// A session between a primary volume of this pool and a secondary volume elsewhere.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GeoRepSession {
    pub primary_volume: String,
    /// `[user@]host::volume`, as the start and stop commands take it.
    pub secondary: String,
    pub secondary_user: String,
    pub pairs: Vec<GeoRepPair>,
}

impl GeoRepSession {
    /// Some worker is neither stopped nor merely created: the session runs (or tries to).
    pub fn running(&self) -> bool {
        self.pairs
            .iter()
            .any(|p| !matches!(p.status.as_str(), "Stopped" | "Created" | "Offline" | ""))
    }

    /// Paused by the operator (`geo-replication ... pause`): it counts as running, its workers
    /// wait.
    pub fn paused(&self) -> bool {
        self.pairs.iter().any(|p| p.status == "Paused")
    }
}

/// Text of the first of `names` present: 10.0 renamed master/slave to primary/secondary.
fn text_any(node: Node, names: &[&str]) -> String {
    names
        .iter()
        .map(|n| text(node, n))
        .find(|t| !t.is_empty())
        .unwrap_or_default()
}

/// `[user@]host::volume` from a pair's secondary URL (`ssh://root@host::vol` or `host::vol`).
fn secondary_of(url: &str) -> String {
    url.trim_start_matches("ssh://").to_string()
}

/// `[user@]host::volume` from a session's name, `PRIMARY-UUID:ssh://[user@]host::volume:SECONDARY-UUID`
/// (glusterd's `<session_secondary>` and the `slaveN=` lines of its store).
fn secondary_of_session(s: &str) -> String {
    let s = s.rsplit_once("ssh://").map_or(s, |(_, r)| r);
    s.split("::")
        .take(2)
        .collect::<Vec<_>>()
        .join("::")
        .split(':')
        .take(3)
        .collect::<Vec<_>>()
        .join(":")
}

/// What every release's CLI prints, with exit code 2 and no XML, for `volume geo-replication
/// status --xml` when no session is configured (captured on 9.2, 10.3 and 11.1). Its XML writer
/// gives up on the empty answer; it may well give up on a failed one alike.
pub const GEOREP_NO_SESSION: &str = "geo-replication command failed";

/// The secondaries glusterd keeps for a volume: the `slaveN=` lines of `vols/VOL/info` in its
/// working directory (`secondaryN=` accepted too), one per session, whatever the CLI answers.
pub fn georep_store_secondaries(info: &str) -> Vec<String> {
    info.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| {
            ["slave", "secondary"].iter().any(|p| {
                k.strip_prefix(p)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
        })
        .map(|(_, v)| secondary_of_session(v.trim()))
        .collect()
}

/// `volume geo-replication status --xml`: every session of every primary volume on this pool,
/// in the pre-10.0 (master/slave) and the 10.0+ (primary/secondary) spelling.
pub fn parse_georep_status(xml: &str) -> Result<Vec<GeoRepSession>, ParseError> {
    let d = doc(xml)?;
    envelope_ok(&d)?;
    let mut out = Vec::new();
    let is_volume = |n: &Node| n.has_tag_name("volume") && n.parent().is_some_and(|p| p.has_tag_name("geoRep"));
    for vol in d.descendants().filter(is_volume) {
        let name = text(vol, "name");
        // Each session once, under its nearest volume: a volume nested in another would
        // otherwise be read once per level, output quadratic in the input.
        let own = |n: &Node| n.ancestors().skip(1).find(is_volume) == Some(vol);
        for session in vol.descendants().filter(|n| n.has_tag_name("session") && own(n)) {
            let pairs: Vec<Node> = children(session, "pair").collect();
            let url = pairs
                .iter()
                .map(|p| text_any(*p, &["secondary", "slave"]))
                .find(|u| !u.is_empty())
                .unwrap_or_else(|| secondary_of_session(&text_any(session, &["session_secondary", "session_slave"])));
            let secondary = secondary_of(&url);
            let secondary_user = pairs
                .iter()
                .map(|p| text_any(*p, &["secondary_user", "slave_user"]))
                .find(|u| !u.is_empty())
                .or_else(|| secondary.split_once('@').map(|(u, _)| u.to_string()))
                .unwrap_or_else(|| "root".into());
            out.push(GeoRepSession {
                primary_volume: name.clone(),
                secondary,
                secondary_user,
                pairs: pairs
                    .iter()
                    .map(|p| GeoRepPair {
                        primary_node: text_any(*p, &["primary_node", "master_node"]),
                        primary_brick: text_any(*p, &["primary_brick", "master_brick"]),
                        secondary_node: text_any(*p, &["secondary_node", "slave_node"]),
                        status: text(*p, "status"),
                        crawl_status: text(*p, "crawl_status"),
                        checkpoint_completed: text(*p, "checkpoint_completed"),
                        checkpoint_time: text(*p, "checkpoint_time"),
                    })
                    .collect(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod georep_tests {
    use super::*;

    fn fixture(dir: &str, name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(dir)
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn each_worker_carries_its_checkpoint() {
        // Captured on 9.2 with no checkpoint set: N/A everywhere.
        let s = parse_georep_status(&fixture("9.2", "georep-session-active-passive.xml")).unwrap();
        let cp: Vec<(&str, &str)> = s[0]
            .pairs
            .iter()
            .map(|p| (p.checkpoint_completed.as_str(), p.checkpoint_time.as_str()))
            .collect();
        assert_eq!(cp, [("N/A", "N/A"); 3]);
        // Built from that capture: the Active worker past a checkpoint, then not yet.
        for (file, done) in [
            ("georep-session-checkpoint-completed.xml", "Yes"),
            ("georep-session-checkpoint-pending.xml", "No"),
        ] {
            let s = parse_georep_status(&fixture("9.2", file)).unwrap();
            let p = &s[0].pairs[0];
            assert_eq!(
                (
                    p.status.as_str(),
                    p.checkpoint_completed.as_str(),
                    p.checkpoint_time.as_str()
                ),
                ("Active", done, "2026-11-25 04:20:00"),
                "{file}"
            );
            assert_eq!(s[0].pairs[1].checkpoint_completed, "N/A", "{file}: Passive");
        }
    }

    #[test]
    fn the_store_names_each_session_of_a_volume() {
        assert_eq!(
            georep_store_secondaries(&fixture("9.2", "store-vols-gv0-info")),
            ["10.197.0.11::gsv0"]
        );
        let two = "type=2\nslave1=u1:ssh://geo@site-b::dr:u2\nslave2=u1:ssh://site-c::dr2:u3\nsecondary3=u1:ssh://d::v:u4\nslave-timeout=5\nslave=x\n";
        assert_eq!(georep_store_secondaries(two), ["geo@site-b::dr", "site-c::dr2", "d::v"]);
        assert!(georep_store_secondaries("type=2\ngeo-replication.indexing=on\n").is_empty());
    }
}
