//! One testbed node: overlay root, network namespace, pid/mount/UTS namespaces, and as PID 1
//! either sshd (the default) or systemd, booted by systemd-nspawn, which then starts sshd and
//! glusterd from their Debian units (`testbed up --systemd NAME`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Paths, BRIDGE, BRIDGE_ADDR, PREFIX};
use crate::util::{self, Result};

pub struct Node {
    pub name: String,
    pub addr: String,
    /// systemd is the node's PID 1 (booted by systemd-nspawn), not sshd.
    pub systemd: bool,
}

/// What a node records in its state folder when systemd is its PID 1.
const INIT_FILE: &str = "init";

impl Node {
    pub fn new(name: &str, addr: &str) -> Self {
        Node {
            name: name.into(),
            addr: addr.into(),
            systemd: false,
        }
    }

    /// The same node with systemd as its PID 1.
    pub fn under_systemd(self, systemd: bool) -> Self {
        Node { systemd, ..self }
    }

    /// A node recorded by `start` in the state folder.
    pub fn load(dir: &Path) -> Option<Self> {
        let addr = std::fs::read_to_string(dir.join("addr")).ok()?;
        let systemd = std::fs::read_to_string(dir.join(INIT_FILE)).is_ok_and(|i| i.trim() == "systemd");
        Some(Node::new(&dir.file_name()?.to_string_lossy(), addr.trim()).under_systemd(systemd))
    }

    /// A Gluster server: of the primary pool (`nodeN`) or of the geo-replication secondary
    /// pool (`secN`).
    pub fn is_server(&self) -> bool {
        self.name.starts_with("node") || self.is_secondary()
    }

    /// A server of the geo-replication secondary pool (`up --secondary`): its own glusterd and
    /// pool, never probed into the primary one.
    pub fn is_secondary(&self) -> bool {
        self.name.starts_with("sec")
    }

    fn dir(&self, paths: &Paths) -> PathBuf {
        paths.state.join("nodes").join(&self.name)
    }

    pub fn root(&self, paths: &Paths) -> PathBuf {
        self.dir(paths).join("root")
    }

    fn netns(&self) -> String {
        format!("keel-{}", self.name)
    }

    /// The host end of the node's veth pair (interface names stop at 15 characters).
    fn veth(&self) -> String {
        format!("kl-{}", self.name)
    }

    pub fn start(&self, paths: &Paths, base: &Path, repo: &Path, all: &[Node]) -> Result {
        let dir = self.dir(paths);
        let root = self.root(paths);
        for d in ["upper", "work", "root"] {
            std::fs::create_dir_all(dir.join(d)).map_err(|e| e.to_string())?;
        }
        std::fs::write(dir.join("addr"), &self.addr).map_err(|e| e.to_string())?;
        let lower = format!(
            "lowerdir={},upperdir={},workdir={}",
            base.display(),
            dir.join("upper").display(),
            dir.join("work").display()
        );
        util::run(
            Command::new("mount")
                .args(["-t", "overlay", "overlay", "-o", &lower])
                .arg(&root),
        )?;
        // One directory shared by every node (the WEKA simulator keeps its one cluster there).
        let shared = paths.state.join("shared");
        let shared_in_node = root.join("var/lib/weka-sim");
        std::fs::create_dir_all(&shared).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&shared_in_node).map_err(|e| e.to_string())?;
        let repo_dir = root.join("srv/keel-repo");
        std::fs::create_dir_all(&repo_dir).map_err(|e| e.to_string())?;
        // systemd-nspawn mounts /dev, /sys and /proc itself and binds the two folders in the
        // container's own mount namespace (`boot_systemd`).
        if !self.systemd {
            for sys in ["dev", "sys"] {
                util::run(
                    Command::new("mount")
                        .arg("--rbind")
                        .arg(format!("/{sys}"))
                        .arg(root.join(sys)),
                )?;
            }
            util::run(Command::new("mount").arg("--bind").arg(&shared).arg(&shared_in_node))?;
            util::run(
                Command::new("mount")
                    .args(["--bind", "-o", "ro"])
                    .arg(repo)
                    .arg(&repo_dir),
            )?;
        }

        let hosts: String = std::iter::once("127.0.0.1 localhost\n".to_string())
            .chain(all.iter().map(|n| format!("{} {}\n", n.addr, n.name)))
            .collect();
        let write = |rel: &str, text: &str| std::fs::write(root.join(rel), text).map_err(|e| format!("{rel}: {e}"));
        write("etc/hosts", &hosts)?;
        write("etc/hostname", &format!("{}\n", self.name))?;
        // A dark site: only the local repository, no route to any mirror.
        write(
            "etc/apt/sources.list",
            &super::cache::VERSIONS
                .iter()
                .map(|v| format!("deb [trusted=yes] file:/srv/keel-repo/{v} ./\n"))
                .collect::<String>(),
        )?;
        let _ = std::fs::remove_dir_all(root.join("etc/apt/sources.list.d"));
        std::fs::create_dir_all(root.join("etc/apt/sources.list.d")).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(root.join("root/.ssh")).map_err(|e| e.to_string())?;
        let public = std::fs::read_to_string(paths.key().with_extension("pub")).map_err(|e| e.to_string())?;
        write("root/.ssh/authorized_keys", &public)?;

        let ns = self.netns();
        util::run(Command::new("ip").args(["netns", "add", &ns]))?;
        util::run(Command::new("ip").args([
            "link",
            "add",
            &self.veth(),
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &ns,
        ]))?;
        util::run(Command::new("ip").args(["link", "set", &self.veth(), "master", BRIDGE, "up"]))?;
        let in_ns = |args: &[&str]| util::run(Command::new("ip").args(["netns", "exec", &ns, "ip"]).args(args));
        in_ns(&["addr", "add", &format!("{}/{PREFIX}", self.addr), "dev", "eth0"])?;
        in_ns(&["link", "set", "eth0", "up"])?;
        in_ns(&["link", "set", "lo", "up"])?;

        if self.systemd {
            return self.boot_systemd(paths, repo, &shared);
        }
        // sshd is PID 1 of the node: it also reaps the daemons glusterd leaves behind.
        let log = std::fs::File::create(dir.join("sshd.log")).map_err(|e| e.to_string())?;
        let boot = format!(
            "hostname {}; mount -t tmpfs tmpfs /run; mkdir -p /run/sshd /run/lock; exec /usr/sbin/sshd -D -e",
            self.name
        );
        let child = Command::new("setsid")
            .args(["ip", "netns", "exec", &ns, "unshare", "-m", "-p", "-u", "-f"])
            .arg(format!("--mount-proc={}", root.join("proc").display()))
            .arg("chroot")
            .arg(&root)
            .args(["/bin/sh", "-c", &boot])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.name))?;
        std::fs::write(dir.join("pid"), child.id().to_string()).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// systemd-nspawn boots the node's systemd in the network namespace `start` made, on the
    /// overlay root; systemd starts sshd (ssh.service, enabled by its package) and later
    /// glusterd (`up` enables glusterd.service). The container's /run is its own tmpfs, so
    /// /run/systemd/system exists there (what gluster_service's `use: auto` looks for).
    fn boot_systemd(&self, paths: &Paths, repo: &Path, shared: &Path) -> Result {
        let dir = self.dir(paths);
        let root = self.root(paths);
        // Each node its own machine id (the base's is shared): systemd makes one at boot.
        std::fs::write(root.join("etc/machine-id"), "").map_err(|e| e.to_string())?;
        std::fs::write(dir.join(INIT_FILE), "systemd\n").map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.join("boot.log")).map_err(|e| e.to_string())?;
        let child = Command::new("setsid")
            .arg("systemd-nspawn")
            // No machined or host systemd to register with: the container runs where it is.
            .args([
                "--quiet",
                "--boot",
                "--keep-unit",
                "--register=no",
                "--console=read-only",
            ])
            .args(["--resolv-conf=off", "--timezone=off", "--link-journal=no"])
            .arg(format!("--directory={}", root.display()))
            .arg(format!("--machine={}", self.name))
            .arg(format!("--network-namespace-path=/run/netns/{}", self.netns()))
            .arg(format!("--bind-ro={}:/srv/keel-repo", repo.display()))
            .arg(format!("--bind={}:/var/lib/weka-sim", shared.display()))
            // FUSE, as the other nodes have it from the host's /dev.
            .arg("--bind=/dev/fuse")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {} (systemd-nspawn): {e}", self.name))?;
        std::fs::write(dir.join("pid"), child.id().to_string()).map_err(|e| e.to_string())?;
        Ok(())
    }

    pub fn wait_ssh(&self, paths: &Paths, limit: Duration) -> Result {
        retry(limit, || self.ssh_ok(paths, "true").map(|_| ()))
            .map_err(|e| format!("{} ({}) did not answer ssh: {e}", self.name, self.addr))?;
        if self.systemd {
            self.wait_booted(paths, limit)?;
        }
        Ok(())
    }

    /// Waits until the node's systemd has finished booting; every unit must have started
    /// (`degraded` names the failed ones).
    fn wait_booted(&self, paths: &Paths, limit: Duration) -> Result {
        let state = retry(limit, || {
            let state = self.ssh_ok(paths, "systemctl is-system-running || true")?;
            match state.trim() {
                "initializing" | "starting" => Err(format!("{}: systemd is {}", self.name, state.trim())),
                other => Ok(other.to_string()),
            }
        })?;
        if state == "running" {
            return Ok(());
        }
        let failed = self
            .ssh_ok(paths, "systemctl list-units --failed --plain --no-legend")
            .unwrap_or_default();
        Err(format!(
            "{}: systemd is {state} after booting; failed units:\n{failed}(boot log: {})",
            self.name,
            self.dir(paths).join("boot.log").display()
        ))
    }

    /// Runs `script` on the node over ssh; its stdout, or an error with its stderr. Scripts are
    /// the testbed's own text, never user input.
    pub fn ssh_ok(&self, paths: &Paths, script: &str) -> Result<String> {
        let out = Command::new("ssh")
            .arg("-i")
            .arg(paths.key())
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ])
            .args(["-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"])
            .arg(format!("root@{}", self.addr))
            .arg(script)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("ssh: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "{}: `{script}` failed ({}): {}{}",
                self.name,
                out.status,
                stdout,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Kills every process of this node (all whose root is under its directory), as a crash
    /// would; its mounts and network stay, so it answers nothing.
    pub fn crash(&self, paths: &Paths) -> Result {
        kill_rooted_under(&self.dir(paths));
        // A container's processes do not show its root as theirs; they are all in its network
        // namespace (systemd-nspawn itself, outside it, exits once its container's init dies).
        kill_in_netns(&self.netns());
        match rooted_under(&self.dir(paths)).len() + in_netns(&self.netns()).len() {
            0 => Ok(()),
            n => Err(format!("{}: {n} processes survived kill -9", self.name)),
        }
    }

    /// Stops everything of this node; errors are ignored here and caught by `leftovers`.
    pub fn stop(&self, paths: &Paths) {
        kill_rooted_under(&self.dir(paths));
        kill_in_netns(&self.netns());
        if self.systemd {
            wait_nspawn_gone(&self.dir(paths));
        }
        if let Ok(pid) = std::fs::read_to_string(self.dir(paths).join("pid")) {
            let _ = Command::new("kill")
                .args(["-9", pid.trim()])
                .stderr(Stdio::null())
                .status();
        }
        unmount_under(&self.dir(paths));
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns()])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth()])
            .stderr(Stdio::null())
            .status();
    }
}

pub fn keypair(key: &Path) -> Result {
    if key.exists() {
        return Ok(());
    }
    util::run(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "keel-testbed", "-f"])
            .arg(key),
    )
}

pub fn bridge_up() -> Result {
    let exists = Command::new("ip")
        .args(["link", "show", BRIDGE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !exists {
        util::run(Command::new("ip").args(["link", "add", BRIDGE, "type", "bridge"]))?;
        util::run(Command::new("ip").args(["addr", "add", &format!("{BRIDGE_ADDR}/{PREFIX}"), "dev", BRIDGE]))?;
    }
    util::run(Command::new("ip").args(["link", "set", BRIDGE, "up"]))
}

pub fn retry<T>(limit: Duration, mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let started = Instant::now();
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if started.elapsed() > limit => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// Processes whose root directory lies under `dir`: everything running inside the nodes.
fn rooted_under(dir: &Path) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
                .filter(|pid| std::fs::read_link(format!("/proc/{pid}/root")).is_ok_and(|r| r.starts_with(dir)))
                .collect()
        })
        .unwrap_or_default()
}

fn kill_rooted_under(dir: &Path) {
    for _ in 0..20 {
        let pids = rooted_under(dir);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The processes in network namespace `ns` (`ip netns pids`): a node's, whatever its root.
fn in_netns(ns: &str) -> Vec<u32> {
    Command::new("ip")
        .args(["netns", "pids", ns])
        .stderr(Stdio::null())
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn kill_in_netns(ns: &str) {
    for _ in 0..20 {
        let pids = in_netns(ns);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// systemd-nspawn processes booting a root under `dir` (they run outside the nodes' namespaces).
fn nspawn_under(dir: &Path) -> Vec<u32> {
    let prefix = format!("--directory={}", dir.display());
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a.starts_with(prefix.as_bytes())))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Gives systemd-nspawn a moment to exit after its container's processes died, then kills it.
fn wait_nspawn_gone(dir: &Path) {
    for _ in 0..25 {
        if nspawn_under(dir).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for pid in nspawn_under(dir) {
        let _ = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(dir))
        .collect()
}

fn unmount_under(dir: &Path) {
    for _ in 0..5 {
        let mut mounts = mounts_under(dir);
        if mounts.is_empty() {
            return;
        }
        // Deepest first.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
        for m in mounts {
            let _ = Command::new("umount").arg("-l").arg(&m).stderr(Stdio::null()).status();
        }
    }
}

fn our_netns() -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    out.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with("keel-"))
        .map(str::to_string)
        .collect()
}

fn bridge_exists() -> bool {
    Path::new("/sys/class/net").join(BRIDGE).exists()
}

/// Removes whatever the testbed left, recorded or not.
pub fn sweep(paths: &Paths) {
    kill_rooted_under(&paths.state);
    for ns in our_netns() {
        kill_in_netns(&ns);
    }
    wait_nspawn_gone(&paths.state);
    unmount_under(&paths.state);
    for ns in our_netns() {
        let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    }
    if bridge_exists() {
        let _ = Command::new("ip").args(["link", "del", BRIDGE]).status();
    }
}

pub fn leftovers(paths: &Paths) -> Vec<String> {
    let mut left = Vec::new();
    let ns = our_netns();
    if !ns.is_empty() {
        left.push(format!("network namespaces {ns:?}"));
    }
    if bridge_exists() {
        left.push(format!("bridge {BRIDGE}"));
    }
    let mounts = mounts_under(&paths.state);
    if !mounts.is_empty() {
        left.push(format!("{} mounts under {}", mounts.len(), paths.state.display()));
    }
    let procs: Vec<u32> = rooted_under(&paths.state)
        .into_iter()
        .chain(nspawn_under(&paths.state))
        .collect();
    if !procs.is_empty() {
        left.push(format!("processes {procs:?}"));
    }
    if paths.state.exists() {
        left.push(format!("{}", paths.state.display()));
    }
    left
}
