//! `cargo xtask testbed up|down|status|writer|verify`: a real GlusterFS pool on this machine.
//!
//! Each server is a "node": its own root (an overlay over one shared debootstrap base, so nodes
//! can hold different Gluster releases), network namespace with an address on the bridge
//! `keelbr0`, and pid, mount and UTS namespaces, with sshd as its first process, or systemd
//! (`--systemd NAME`: booted by systemd-nspawn, glusterd.service and ssh.service started by it).
//! A client node mounts the volume over FUSE. A local apt repository of the 10.3 and 11.1
//! packages is served to the nodes as a dark site would (they have no route to any mirror). See
//! testbed/README.md.

mod cache;
mod node;
pub mod results;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::util::Result;
use node::Node;

pub const BRIDGE: &str = "keelbr0";
/// What the server without Python lacks.
const NO_PYTHON: &str = "/usr/bin/python3 /usr/bin/python3.11 /usr/lib/x86_64-linux-gnu/glusterfs/gsyncd";
pub const BRIDGE_ADDR: &str = "10.199.0.1";
const PREFIX: u8 = 24;

/// Where things live: the cache survives `down`, the state does not.
#[derive(Clone)]
pub struct Paths {
    pub cache: PathBuf,
    pub state: PathBuf,
}

impl Paths {
    pub fn from_env() -> Self {
        let var = |k: &str, d: &str| PathBuf::from(std::env::var(k).unwrap_or_else(|_| d.to_string()));
        Paths {
            cache: var("KEEL_TESTBED_CACHE", "/var/cache/keel-testbed"),
            state: var("KEEL_TESTBED_STATE", "/var/lib/keel-testbed"),
        }
    }
    pub fn key(&self) -> PathBuf {
        self.state.join("id_ed25519")
    }
    pub fn inventory(&self) -> PathBuf {
        self.state.join("inventory.ini")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Replica3,
    Arbiter,
    DistReplicate,
    Disperse,
    Mixed,
}

pub struct Options {
    pub nodes: u8,
    pub version: String,
    pub layout: Layout,
    /// One more server, `sec1`, forming a pool of its own with volume gsv0, and a running
    /// geo-replication session gv0 -> sec1::gsv0 created from node1.
    pub secondary: bool,
    /// Servers whose PID 1 is systemd (booted by systemd-nspawn) rather than sshd: glusterd
    /// runs as the Debian package's glusterd.service there, so gluster_service takes its
    /// systemd path. The others have no service manager (its signals path).
    pub systemd: Vec<String>,
}

/// The geo-replication secondary server of `up --secondary`, its volume and the session's
/// secondary as the primary pool names it.
pub const SECONDARY: (&str, &str) = ("sec1", "10.199.0.31");
pub const SECONDARY_VOLUME: &str = "gsv0";

const USAGE: &str = "usage: cargo xtask testbed <command>
  up [--nodes N] [--version 10.3|11.1] [--layout replica3|arbiter|dist-replicate|disperse|mixed] [--secondary]
     [--systemd SERVER[,SERVER...]]
       --secondary: also sec1 (10.199.0.31), a one-server pool of its own (inventory group
       secondaries) with volume gsv0, and a running geo-replication session gv0 -> sec1::gsv0
       --systemd: these servers (e.g. node3) boot systemd as PID 1 (systemd-nspawn), which starts
       sshd and glusterd from their Debian units; the others run sshd as PID 1
  down | status
  writer start|stop    keep writing checksummed files on the client's mount
  verify               every file the writer wrote is present and intact";

pub fn main(args: &[String]) -> Result {
    let paths = Paths::from_env();
    match args.first().map(String::as_str) {
        Some("up") => {
            let opts = parse_up(&args[1..])?;
            let started = Instant::now();
            let inventory = up(&paths, &opts)?;
            eprintln!("testbed up in {:.0} s", started.elapsed().as_secs_f64());
            println!("{}", inventory.display());
            Ok(())
        }
        Some("down") => down(&paths),
        Some("status") => status(&paths),
        Some("writer") => match args.get(1).map(String::as_str) {
            Some("start") => writer_start(&paths),
            Some("stop") => writer_stop(&paths).map(|_| ()),
            _ => Err(USAGE.into()),
        },
        Some("verify") => verify(&paths).map(|v| println!("verified {} files, {} lost", v.verified, v.lost)),
        _ => Err(USAGE.into()),
    }
}

fn parse_up(args: &[String]) -> Result<Options> {
    let mut o = Options {
        nodes: 3,
        version: "10.3".into(),
        layout: Layout::Replica3,
        secondary: false,
        systemd: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--secondary" {
            o.secondary = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--nodes" => {
                o.nodes = value
                    .parse()
                    .ok()
                    .filter(|n| (2..=6).contains(n))
                    .ok_or("--nodes must be 2 to 6")?;
            }
            "--version" => {
                if !cache::VERSIONS.contains(&value.as_str()) {
                    return Err(format!("--version must be one of {:?}", cache::VERSIONS));
                }
                o.version = value.clone();
            }
            "--layout" => {
                o.layout = match value.as_str() {
                    "replica3" => Layout::Replica3,
                    "arbiter" => Layout::Arbiter,
                    "dist-replicate" => Layout::DistReplicate,
                    "disperse" => Layout::Disperse,
                    "mixed" => Layout::Mixed,
                    other => return Err(format!("unknown layout {other}\n{USAGE}")),
                }
            }
            "--systemd" => o.systemd.extend(value.split(',').map(str::to_string)),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(o)
}

/// The servers node1..nodeN (10.199.0.11..), one client (10.199.0.21) and with `secondary` the
/// secondary pool's server sec1 (10.199.0.31).
/// Those named in `systemd` boot systemd; each must be one of these servers (the client's FUSE
/// mount is not tried under systemd-nspawn).
fn nodes(n: u8, secondary: bool, systemd: &[String]) -> Result<Vec<Node>> {
    let mut v: Vec<Node> = (1..=n)
        .map(|i| Node::new(&format!("node{i}"), &format!("10.199.0.{}", 10 + i)))
        .collect();
    v.push(Node::new("client1", "10.199.0.21"));
    if secondary {
        v.push(Node::new(SECONDARY.0, SECONDARY.1));
    }
    for name in systemd {
        if !v.iter().any(|s| s.is_server() && &s.name == name) {
            let servers: Vec<&str> = v.iter().filter(|s| s.is_server()).map(|s| s.name.as_str()).collect();
            return Err(format!(
                "--systemd {name}: not one of this testbed's servers {servers:?}"
            ));
        }
    }
    Ok(v.into_iter()
        .map(|node| {
            let under = systemd.contains(&node.name);
            node.under_systemd(under)
        })
        .collect())
}

fn recorded_nodes(paths: &Paths) -> Vec<Node> {
    let mut found: Vec<Node> = std::fs::read_dir(paths.state.join("nodes"))
        .map(|d| d.flatten().filter_map(|e| Node::load(&e.path())).collect())
        .unwrap_or_default();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

pub fn up(paths: &Paths, opts: &Options) -> Result<PathBuf> {
    let all = nodes(opts.nodes, opts.secondary, &opts.systemd)?;
    // A half-built testbed is torn down and built again: simpler and surer than repairing.
    if paths.state.exists() {
        eprintln!("testbed: removing the previous testbed first");
        down(paths)?;
    }
    let base = cache::base(&paths.cache)?;
    let repo = cache::repo(&paths.cache, &base)?;
    std::fs::create_dir_all(paths.state.join("nodes")).map_err(|e| e.to_string())?;
    node::keypair(&paths.key())?;
    node::bridge_up()?;
    for n in &all {
        n.start(paths, &base, &repo, &all)?;
    }
    for n in &all {
        n.wait_ssh(paths, Duration::from_secs(60))?;
    }
    // The primary pool; the secondary's server (if any) forms a pool of its own.
    let servers: Vec<&Node> = all.iter().filter(|n| n.is_server() && !n.is_secondary()).collect();
    let secondary = all.iter().find(|n| n.is_secondary());
    if opts.version != "10.3" {
        for s in servers.iter().chain(secondary.as_ref()) {
            s.ssh_ok(paths, &cache::install_command(&opts.version))?;
        }
    }
    // The third server keeps Gluster's packages but has no Python interpreter: the collection
    // must need none. glusterd refuses to start when gsyncd (geo-replication, a Python program)
    // is present but cannot run, so gsyncd goes too: that server has no geo-replication.
    // dpkg-divert keeps apt's view of the packages intact. With a secondary pool every primary
    // server keeps Python and gsyncd: each runs a geo-replication worker for its brick, and
    // `gsec_create` runs gsyncd on every server of the pool.
    if let Some(s) = servers.get(2).filter(|_| !opts.secondary) {
        s.ssh_ok(
            paths,
            &format!(
                "for f in {NO_PYTHON}; do dpkg-divert --local --rename --add $f >/dev/null; done; ! command -v python3"
            ),
        )?;
    }
    for s in servers.iter().chain(secondary.as_ref()) {
        // Under systemd, glusterd is the package's unit, enabled as an operator would.
        let start = if s.systemd {
            "mkdir -p /bricks && systemctl enable --now --quiet glusterd.service"
        } else {
            "mkdir -p /bricks && glusterd"
        };
        s.ssh_ok(paths, start)?;
    }
    let first = servers[0];
    for s in &servers[1..] {
        node::retry(Duration::from_secs(30), || {
            first.ssh_ok(paths, &format!("gluster peer probe {}", s.addr))
        })?;
    }
    node::retry(Duration::from_secs(60), || {
        let out = first.ssh_ok(paths, "gluster --mode=script pool list")?;
        let connected = out.lines().filter(|l| l.contains("Connected")).count();
        if connected == servers.len() {
            Ok(())
        } else {
            Err(format!("{connected} of {} peers connected", servers.len()))
        }
    })?;
    for (name, create) in volumes(opts.layout, &servers) {
        first.ssh_ok(
            paths,
            &format!("gluster --mode=script volume create {name} {create} force"),
        )?;
        first.ssh_ok(paths, &format!("gluster --mode=script volume start {name}"))?;
    }
    node::retry(Duration::from_secs(60), || {
        let out = first.ssh_ok(paths, "gluster --mode=script volume status all")?;
        let down: Vec<&str> = out
            .lines()
            .filter(|l| l.trim_end().ends_with(" N       N/A") || l.contains(" N  "))
            .collect();
        if down.is_empty() {
            Ok(())
        } else {
            Err(format!("not yet online: {down:?}"))
        }
    })?;
    // glusterd answers "option cluster.max-op-version does not exist" for a while after the
    // pool forms; the pool is settled once every server answers it.
    for s in &servers {
        node::retry(Duration::from_secs(60), || {
            s.ssh_ok(paths, "gluster --mode=script volume get all cluster.max-op-version")
        })?;
    }
    let client = all.iter().find(|n| !n.is_server()).expect("a client");
    let backups: Vec<&str> = servers[1..].iter().map(|s| s.addr.as_str()).collect();
    client.ssh_ok(
        paths,
        &format!(
            "mkdir -p /mnt/gv0 && mount -t glusterfs -o backup-volfile-servers={} {}:/gv0 /mnt/gv0 && df /mnt/gv0",
            backups.join(":"),
            first.addr
        ),
    )?;
    // Tests that follow judge the pool strictly (prechecks fail on any heal backlog or peer
    // away), so `up` returns only once every server sees every peer and nothing to heal.
    let names: Vec<String> = volumes(opts.layout, &servers).into_iter().map(|(n, _)| n).collect();
    for s in &servers {
        node::retry(Duration::from_secs(90), || settled(paths, s, servers.len(), &names))?;
    }
    if let Some(sec) = secondary {
        geo_replication(paths, &servers, sec)?;
    }
    let inventory = paths.inventory();
    std::fs::write(&inventory, inventory_text(paths, &all)).map_err(|e| e.to_string())?;
    Ok(inventory)
}

/// The secondary pool (`sec`, one server, volume gsv0, distribute) and a geo-replication session
/// gv0 -> sec::gsv0 created and started from the primary pool's first server, returning once
/// the session runs (one worker Active per replica set, the others Passive).
fn geo_replication(paths: &Paths, servers: &[&Node], sec: &Node) -> Result {
    let first = servers[0];
    let vol = SECONDARY_VOLUME;
    node::retry(Duration::from_secs(30), || {
        sec.ssh_ok(
            paths,
            &format!(
                "gluster --mode=script volume create {vol} {}:/bricks/{vol} force",
                sec.addr
            ),
        )
    })?;
    sec.ssh_ok(paths, &format!("gluster --mode=script volume start {vol}"))?;
    // `create push-pem` runs gverify.sh, which logs in to the secondary as root over ssh with
    // the default identity: the testbed's key, which every node accepts.
    for s in servers {
        let key = s.root(paths).join("root/.ssh/id_ed25519");
        std::fs::copy(paths.key(), &key).map_err(|e| format!("copy the key into {}: {e}", s.name))?;
    }
    let session = format!("gv0 {}::{vol}", sec.addr);
    let georep = |verb: &str| {
        first.ssh_ok(
            paths,
            &format!("gluster --mode=script volume geo-replication {session} {verb}"),
        )
    };
    first.ssh_ok(paths, "gluster --mode=script system:: execute gsec_create")?;
    georep("create push-pem")?;
    // A worker mounts the volume in a private mount namespace (`unshare --propagation private`),
    // which fails in these chroots (the worker goes Faulty); access-mount keeps the mount in
    // the worker's own namespace, without unshare.
    georep("config access-mount true")?;
    // The nodes have no rsync (a minbase root, a dark site): the workers sync with tar over ssh
    // (the worker went Faulty on its first sync otherwise: "No such file or directory: 'rsync'").
    georep("config sync-method tarssh")?;
    georep("start")?;
    georep_running(paths, Duration::from_secs(120))
}

/// Writes a file through the client's mount of gv0 and waits until the session has copied it to
/// the secondary's brick: the session does not only look alive, it replicates.
pub fn georep_replicates(paths: &Paths, limit: Duration) -> Result {
    let nodes = recorded_nodes(paths);
    let sec = nodes
        .iter()
        .find(|n| n.is_secondary())
        .ok_or("testbed --secondary is not up")?;
    let client = client(paths)?;
    let file = format!(
        "georep-probe-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    client.ssh_ok(paths, &format!("date > /mnt/gv0/{file}"))?;
    // gsyncd now and then misses a change made right as its worker enters the changelog crawl
    // (seen on 10.3 and 11.1 here: the crawl then processes no changelog for minutes). The
    // session replicates if a later write of the same file arrives: append every 30 s.
    let mut appended = Instant::now();
    node::retry(limit, || {
        if appended.elapsed() >= Duration::from_secs(30) {
            appended = Instant::now();
            client.ssh_ok(paths, &format!("date >> /mnt/gv0/{file}"))?;
        }
        sec.ssh_ok(paths, &format!("test -s /bricks/{SECONDARY_VOLUME}/{file}"))
            .map(|_| ())
    })
    .map_err(|e| {
        let first = nodes.iter().find(|n| n.is_server() && !n.is_secondary());
        let status = first
            .and_then(|n| {
                n.ssh_ok(
                    paths,
                    "gluster --mode=script volume geo-replication status detail; \
                     tail -n 30 /var/log/glusterfs/geo-replication/*/gsyncd.log 2>&1",
                )
                .ok()
            })
            .unwrap_or_default();
        format!(
            "{file}, written to gv0, did not reach {}::{SECONDARY_VOLUME}: {e}\nstatus and gsyncd log on node1:\n{status}",
            sec.name
        )
    })
}

/// Waits until the geo-replication session of `up --secondary` runs, seen from node1: every
/// worker Active or Passive, at least one Active, and the Active ones in the changelog crawl. On timeout: the status and gsyncd's log.
pub fn georep_running(paths: &Paths, limit: Duration) -> Result {
    let nodes = recorded_nodes(paths);
    let first = nodes
        .iter()
        .find(|n| n.is_server() && !n.is_secondary())
        .ok_or("testbed is not up")?;
    let session = format!("gv0 {}::{SECONDARY_VOLUME}", SECONDARY.1);
    node::retry(limit, || {
        let out = first.ssh_ok(
            paths,
            &format!("gluster --mode=script volume geo-replication {session} status"),
        )?;
        let states: Vec<&str> = out
            .lines()
            .filter(|l| l.contains("/bricks/gv0"))
            .filter_map(|l| {
                ["Active", "Passive", "Faulty", "Initializing...", "Created", "Stopped"]
                    .into_iter()
                    .find(|st| l.split_whitespace().any(|w| w == *st))
            })
            .collect();
        // The Active worker first replays history up to its start; a write made meanwhile was
        // seen to wait for the next session restart: steady state is the changelog crawl.
        let crawling = out
            .lines()
            .filter(|l| l.contains("/bricks/gv0") && l.contains(" Active "))
            .all(|l| l.contains("Changelog Crawl"));
        if !states.is_empty()
            && states.iter().all(|s| *s == "Active" || *s == "Passive")
            && states.contains(&"Active")
            && crawling
        {
            Ok(())
        } else {
            Err(format!("geo-replication {session} not running yet: {out}"))
        }
    })
    .map_err(|e| {
        let log = first
            .ssh_ok(paths, "tail -n 20 /var/log/glusterfs/geo-replication/*/gsyncd.log 2>&1")
            .unwrap_or_default();
        format!("{e}\ngsyncd log on {}: {log}", first.name)
    })
}

/// Whether `server` sees `peers` connected peers and no heal backlog on any of `volumes`.
fn settled(paths: &Paths, server: &Node, peers: usize, volumes: &[String]) -> Result {
    let pool = server.ssh_ok(paths, "gluster --mode=script pool list")?;
    let connected = pool.lines().filter(|l| l.contains("Connected")).count();
    if connected != peers {
        return Err(format!("{}: {connected} of {peers} peers connected", server.name));
    }
    for v in volumes {
        let summary = server.ssh_ok(paths, &format!("gluster --mode=script volume heal {v} info summary"))?;
        let pending = summary
            .lines()
            .filter(|l| l.contains("Number of entries") || l.contains("Total Number of entries"))
            .filter_map(|l| l.rsplit(':').next()?.trim().parse::<u64>().ok())
            .any(|n| n > 0);
        if pending || summary.contains("Transport endpoint") {
            return Err(format!("{}: volume {v} not settled: {summary}", server.name));
        }
    }
    Ok(())
}

/// (name, brick list and layout words) of the volumes a layout creates; the first is always gv0.
fn volumes(layout: Layout, servers: &[&Node]) -> Vec<(String, String)> {
    let bricks = |vol: &str, per_server: u8| {
        (0..per_server)
            .flat_map(|i| {
                servers.iter().map(move |s| {
                    format!(
                        "{}:/bricks/{vol}{}",
                        s.addr,
                        if per_server > 1 { format!("-{i}") } else { String::new() }
                    )
                })
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let n = servers.len();
    let replica = if n >= 3 { 3 } else { 2 };
    let gv0 = |words: &str, per: u8| ("gv0".to_string(), format!("{words} {}", bricks("gv0", per)));
    match layout {
        Layout::Replica3 => vec![gv0(&format!("replica {replica}"), 1)],
        Layout::Arbiter => vec![gv0("replica 3 arbiter 1", 1)],
        Layout::DistReplicate => vec![gv0(&format!("replica {replica}"), 2)],
        Layout::Disperse => vec![gv0(&format!("disperse {n} redundancy 1"), 1)],
        Layout::Mixed => vec![
            gv0(&format!("replica {replica}"), 1),
            ("arb0".into(), format!("replica 3 arbiter 1 {}", bricks("arb0", 1))),
            ("ec0".into(), format!("disperse {n} redundancy 1 {}", bricks("ec0", 1))),
        ],
    }
}

fn inventory_text(paths: &Paths, all: &[Node]) -> String {
    let mut s = String::from("# Written by cargo xtask testbed up.\n[servers]\n");
    for n in all.iter().filter(|n| n.is_server() && !n.is_secondary()) {
        s += &format!("{} ansible_host={}\n", n.name, n.addr);
    }
    if let Some(sec) = all.iter().find(|n| n.is_secondary()) {
        // The geo-replication secondary pool: its own group, upgraded before the primary when
        // the playbooks get gluster_secondary_groups=[secondaries]. Its one volume is pure
        // distribute, which an online upgrade refuses unless allowed for that pool.
        s += &format!(
            "\n[secondaries]\n{} ansible_host={}\n\n[secondaries:vars]\ngluster_allow_distribute=true\n",
            sec.name, sec.addr
        );
    }
    s += "\n[clients]\n";
    for n in all.iter().filter(|n| !n.is_server()) {
        s += &format!("{} ansible_host={}\n", n.name, n.addr);
    }
    // The group names the collection's playbooks use by default.
    s += "\n[gluster_servers:children]\nservers\n\n[gluster_clients:children]\nclients\n";
    s += &format!(
        "\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file={}\n\
         ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR'\n\
         gluster_volume_mount=/mnt/gv0\n",
        paths.key().display()
    );
    s
}

pub fn down(paths: &Paths) -> Result {
    let recorded = recorded_nodes(paths);
    for n in &recorded {
        n.stop(paths);
    }
    // Also anything of ours that the state no longer records (an interrupted `up`).
    node::sweep(paths);
    if paths.state.exists() {
        std::fs::remove_dir_all(&paths.state).map_err(|e| format!("rm {}: {e}", paths.state.display()))?;
    }
    let left = leftovers(paths);
    if left.is_empty() {
        eprintln!("testbed down: nothing left behind");
        Ok(())
    } else {
        Err(format!("testbed down left behind: {}", left.join("; ")))
    }
}

/// Namespaces, links, mounts and processes of the testbed still present.
pub fn leftovers(paths: &Paths) -> Vec<String> {
    node::leftovers(paths)
}

fn status(paths: &Paths) -> Result {
    let recorded = recorded_nodes(paths);
    if recorded.is_empty() {
        println!("testbed: down");
        return Ok(());
    }
    for n in &recorded {
        let v = n
            .ssh_ok(paths, "gluster --version 2>/dev/null | head -1; hostname")
            .unwrap_or_else(|e| format!("unreachable: {e}"));
        let init = if n.systemd { "systemd" } else { "sshd" };
        println!("{:8} {:12} {init:8} {}", n.name, n.addr, v.replace('\n', "  "));
    }
    // The primary pool's first server, then the secondary pool's.
    for first in [
        recorded.iter().find(|n| n.is_server() && !n.is_secondary()),
        recorded.iter().find(|n| n.is_secondary()),
    ]
    .into_iter()
    .flatten()
    {
        println!("{}", first.ssh_ok(paths, "gluster --mode=script pool list; gluster --mode=script volume info | grep -E '^(Volume Name|Type|Status):'; gluster --mode=script volume geo-replication status 2>/dev/null; true").unwrap_or_default());
    }
    println!("inventory: {}", paths.inventory().display());
    Ok(())
}

fn client(paths: &Paths) -> Result<Node> {
    recorded_nodes(paths)
        .into_iter()
        .find(|n| !n.is_server())
        .ok_or_else(|| "testbed is not up".to_string())
}

const WRITER: &str = include_str!("../../../testbed/writer.sh");

pub fn writer_start(paths: &Paths) -> Result {
    let c = client(paths)?;
    std::fs::write(c.root(paths).join("usr/local/bin/keel-writer"), WRITER).map_err(|e| e.to_string())?;
    c.ssh_ok(paths, "chmod +x /usr/local/bin/keel-writer; setsid keel-writer run /mnt/gv0 /var/lib/keel-writer </dev/null >/dev/null 2>&1 & sleep 1; cat /var/lib/keel-writer/pid")?;
    Ok(())
}

/// What the writer did, from its one JSON line.
#[derive(Debug, serde::Deserialize)]
pub struct Writes {
    pub written: u64,
    pub failed_writes: u64,
}

/// Stops the writer: how many files it wrote and how many writes the volume refused.
pub fn writer_stop(paths: &Paths) -> Result<Writes> {
    let out = client(paths)?.ssh_ok(paths, "keel-writer stop /var/lib/keel-writer")?;
    let w: Writes = last_json(&out)?;
    println!("writer: {} files written, {} failed writes", w.written, w.failed_writes);
    Ok(w)
}

fn last_json<T: serde::de::DeserializeOwned>(out: &str) -> Result<T> {
    out.lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("no JSON line from the writer: {out}"))
}

/// Gives the Python-less server its Python back: Debian's Gluster packages run Python in their
/// maintainer scripts, so a package upgrade needs it (Keel's modules never do).
pub fn python_everywhere(paths: &Paths) -> Result {
    for n in recorded_nodes(paths).iter().filter(|n| n.is_server()) {
        n.ssh_ok(
            paths,
            &format!(
                "for f in {NO_PYTHON}; do if dpkg-divert --list \"$f\" | grep -q local; then \
                 dpkg-divert --local --rename --remove \"$f\" >/dev/null; fi; done; command -v python3 >/dev/null"
            ),
        )?;
    }
    Ok(())
}

/// On `name`, a server booted with systemd: glusterd.service is active and its MainPID is the
/// one glusterd running, on its installed executable (not a replaced one), of release `version`
/// (its `--version`). Returns what it found.
pub fn systemd_glusterd(paths: &Paths, name: &str, version: &str) -> Result<String> {
    let node = recorded_nodes(paths)
        .into_iter()
        .find(|n| n.name == name)
        .ok_or_else(|| format!("no node {name}"))?;
    if !node.systemd {
        return Err(format!("{name} does not run systemd"));
    }
    let active = node.ssh_ok(paths, "systemctl is-active glusterd.service || true")?;
    if active.trim() != "active" {
        return Err(format!("{name}: glusterd.service is {:?}, not active", active.trim()));
    }
    let pid: u32 = node
        .ssh_ok(paths, "systemctl show --property=MainPID --value glusterd.service")?
        .trim()
        .parse()
        .map_err(|e| format!("{name}: MainPID of glusterd.service: {e}"))?;
    let running = node.ssh_ok(paths, "pgrep -x glusterd")?;
    let running: Vec<&str> = running.split_whitespace().collect();
    if pid == 0 || running != [pid.to_string().as_str()] {
        return Err(format!(
            "{name}: glusterd.service's MainPID is {pid}, the running glusterd {running:?}"
        ));
    }
    // Debian's /usr/sbin/glusterd is a link to glusterfsd; a replaced executable reads
    // "... (deleted)".
    let exe = node.ssh_ok(
        paths,
        &format!("readlink /proc/{pid}/exe; readlink -f /usr/sbin/glusterd"),
    )?;
    let exe: Vec<&str> = exe.lines().collect();
    if exe.len() != 2 || exe[0] != exe[1] {
        return Err(format!(
            "{name}: glusterd (pid {pid}) runs {:?}, not the installed /usr/sbin/glusterd ({:?})",
            exe.first(),
            exe.get(1)
        ));
    }
    let said = node.ssh_ok(paths, &format!("/proc/{pid}/exe --version | head -n 1"))?;
    if said.split_whitespace().nth(1) != Some(version) {
        return Err(format!(
            "{name}: glusterd (pid {pid}) is not {version}: {}",
            said.trim()
        ));
    }
    Ok(format!(
        "{name}: glusterd.service active, MainPID {pid}, {}",
        said.trim()
    ))
}

/// Kills every process of node `name`: the server dies as a crashed machine would and stops
/// answering ssh.
pub fn crash(paths: &Paths, name: &str) -> Result {
    let node = recorded_nodes(paths)
        .into_iter()
        .find(|n| n.name == name)
        .ok_or_else(|| format!("no node {name}"))?;
    node.crash(paths)
}

/// Runs `script` on every node whose name is in `names` (all when empty), over ssh.
pub fn on_nodes(paths: &Paths, names: &[&str], script: &str) -> Result {
    for n in recorded_nodes(paths)
        .iter()
        .filter(|n| names.is_empty() || names.contains(&n.name.as_str()))
    {
        n.ssh_ok(paths, script).map_err(|e| format!("{}: {e}", n.name))?;
    }
    Ok(())
}

/// The directory every node sees at /var/lib/weka-sim.
pub fn shared_dir(paths: &Paths) -> PathBuf {
    paths.state.join("shared")
}

/// Copies `file` into every node at `dest` (a path inside the node), executable.
pub fn install_everywhere(paths: &Paths, file: &std::path::Path, dest: &str) -> Result {
    use std::os::unix::fs::PermissionsExt;
    for n in recorded_nodes(paths) {
        let target = n.root(paths).join(dest.trim_start_matches('/'));
        std::fs::copy(file, &target).map_err(|e| format!("copy {} to {}: {e}", file.display(), target.display()))?;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Checks every file in the writer's manifest; returns how many.
/// Every file the writer recorded, checked on the volume: how many are intact and how many are
/// lost (missing or damaged).
#[derive(Debug, serde::Deserialize)]
pub struct Verified {
    pub verified: u64,
    pub lost: u64,
}

/// The verifier's counts, whatever they say.
pub fn verified_counts(paths: &Paths) -> Result<Verified> {
    // Its exit code repeats what the JSON line says.
    let out = client(paths)?.ssh_ok(paths, "keel-writer verify /mnt/gv0 /var/lib/keel-writer || true")?;
    last_json(&out)
}

/// The verifier's counts when nothing was lost; an error saying what was lost otherwise.
pub fn verify(paths: &Paths) -> Result<Verified> {
    let v = verified_counts(paths)?;
    match v {
        Verified { lost: 0, verified: 1.. } => Ok(v),
        Verified { verified: 0, lost: 0 } => Err("the writer wrote nothing".into()),
        _ => Err(format!(
            "{} of {} files lost (missing or damaged)",
            v.lost,
            v.lost + v.verified
        )),
    }
}
