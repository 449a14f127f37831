//! This host's process table and FUSE mounts, read from /proc (a root given so tests can use a
//! fake one: the test seam). Only what identifies a Gluster process: its name, its command line,
//! its owner, its executable, its state. A process's name is whatever its owner chose, so nothing
//! is signalled, recorded or run again for its name alone: `genuine` also wants root and the
//! expected executable.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proc {
    pub pid: i32,
    pub name: String,
    pub cmdline: Vec<String>,
    /// The executable, as its /proc link reads (" (deleted)" when a package replaced it); the
    /// kernel resolves links, so glusterd's reads /usr/sbin/glusterfsd.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exe: String,
    /// The owner (real and effective uid alike), None when /proc does not say or they differ.
    #[serde(skip)]
    pub uid: Option<u32>,
}

/// Where the Gluster packages (and a source build) install glusterfsd, the one executable that
/// glusterd, glusterfsd and glusterfs processes run (the other two names are links to it).
pub const GLUSTERFSD: [&str; 3] = ["/usr/sbin/glusterfsd", "/sbin/glusterfsd", "/usr/local/sbin/glusterfsd"];

impl Proc {
    /// The executable's path, without the " (deleted)" of a binary replaced since it started.
    pub fn exe_path(&self) -> &str {
        self.exe.strip_suffix(" (deleted)").unwrap_or(&self.exe)
    }
}

/// Whether `p` is the program `name` run by root: glusterd, glusterfsd and glusterfs must run
/// glusterfsd from where the packages install it; any other program (glustereventsd, gsyncd, a
/// consumer) an executable of that name, or an interpreter running a script of that name
/// (glustereventsd and gsyncd are Python scripts; a consumer may be a shell script). A process
/// another user started, or another program given the name, is never signalled, recorded or
/// started again as root.
pub fn genuine(p: &Proc, name: &str) -> bool {
    if p.uid != Some(0) || p.name != comm(name) {
        return false;
    }
    let exe = p.exe_path();
    match name {
        "glusterd" | "glusterfsd" | "glusterfs" => GLUSTERFSD.contains(&exe),
        _ => {
            let file = |path: &str| path.rsplit('/').next().unwrap_or_default().to_string();
            let interpreter = ["python", "perl", "ruby"].iter().any(|i| file(exe).starts_with(i))
                || ["sh", "dash", "bash", "ksh", "zsh"].contains(&file(exe).as_str());
            exe.starts_with('/')
                && (file(exe) == name
                    || (interpreter
                        && p.cmdline.get(1).is_some_and(|script| {
                            let script = file(script);
                            script == name || script == format!("{name}.py")
                        })))
        }
    }
}

/// A program's name as the kernel keeps it (`comm`: at most 15 bytes).
fn comm(name: &str) -> &str {
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Live processes of this host's own PID namespace (zombies excluded: they have exited, their
/// parent just has not reaped them). Processes of containers or other namespaces on the host
/// show in /proc too, but are not this server's: they are never touched.
pub fn scan(proc_root: &Path) -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let own_ns = pid_namespace(&proc_root.join("self"));
    let mut out: Vec<Proc> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            own_ns.is_none() || pid_namespace(&proc_root.join(pid.to_string())).is_none_or(|ns| Some(ns) == own_ns)
        })
        .filter_map(|pid| read(proc_root, pid))
        .collect();
    out.sort_by_key(|p| p.pid);
    out
}

/// The PID namespace of a /proc entry, as its `ns/pid` link reads ("pid:[4026531836]").
fn pid_namespace(entry: &Path) -> Option<String> {
    std::fs::read_link(entry.join("ns/pid"))
        .ok()
        .map(|l| l.to_string_lossy().into_owned())
}

fn read(proc_root: &Path, pid: i32) -> Option<Proc> {
    let dir = proc_root.join(pid.to_string());
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // The state follows the name in parentheses, which may itself hold spaces or parentheses.
    let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let name = std::fs::read_to_string(dir.join("comm")).ok()?.trim_end().to_string();
    let cmdline = std::fs::read(dir.join("cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default();
    let exe = std::fs::read_link(dir.join("exe"))
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_default();
    let uid = std::fs::read_to_string(dir.join("status")).ok().and_then(|s| owner(&s));
    Some(Proc {
        pid,
        name,
        cmdline,
        exe,
        uid,
    })
}

/// The `Uid:` line of /proc/PID/status (real, effective, saved, file-system): the uid when they
/// all agree.
fn owner(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let ids: Vec<u32> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    let first = *ids.first()?;
    ids.iter().all(|i| *i == first).then_some(first)
}

/// USER_HZ: the unit of the times in /proc/PID/stat, fixed at 100 by Linux's x86_64 and aarch64
/// ABIs (the platforms Keel builds for).
const USER_HZ: u64 = 100;

/// How long `pid` has been running, from its start time in /proc/PID/stat and /proc/uptime.
pub fn age(proc_root: &Path, pid: i32) -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")).ok()?;
    let uptime = std::fs::read_to_string(proc_root.join("uptime")).ok()?;
    age_from(&stat, &uptime)
}

/// The age a process's stat line and the host's uptime line give: uptime minus the start time
/// (field 22 of stat, counted after the name in parentheses, which may hold spaces).
pub fn age_from(stat: &str, uptime: &str) -> Option<std::time::Duration> {
    let after_name = stat.rsplit_once(')')?.1;
    // Field 3 (the state) is the first after the name; field 22 is 19 further.
    let start_ticks: u64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let up: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    let up_ms = (up * 1000.0) as u64;
    Some(std::time::Duration::from_millis(
        up_ms.saturating_sub(start_ticks * 1000 / USER_HZ),
    ))
}

/// Whether `pid` still runs (a zombie does not).
pub fn alive(proc_root: &Path, pid: i32) -> bool {
    read(proc_root, pid).is_some()
}

/// A Gluster FUSE mount on this host: `glusterfs` client processes die with the services, so
/// the mount is remounted on start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuseMount {
    pub source: String,
    pub target: String,
    /// Mount options read back from the client process (backup volfile servers, ro, acl), so the
    /// remount is the same mount.
    #[serde(default)]
    pub options: Vec<String>,
}

/// The mount options a `glusterfs` FUSE client process was started with, from its command line
/// (`mount.glusterfs` turns `-o backup-volfile-servers=b:c` into extra `--volfile-server`s).
pub fn mount_options(cmdline: &[String]) -> Vec<String> {
    let servers: Vec<&str> = cmdline
        .iter()
        .filter_map(|a| a.strip_prefix("--volfile-server="))
        .collect();
    let mut opts = Vec::new();
    if servers.len() > 1 {
        opts.push(format!("backup-volfile-servers={}", servers[1..].join(":")));
    }
    if cmdline.iter().any(|a| a == "--read-only") {
        opts.push("ro".into());
    }
    if cmdline.iter().any(|a| a == "--acl") {
        opts.push("acl".into());
    }
    opts
}

/// The mounts of `mountinfo` with their options taken from the FUSE client serving each (a
/// genuine one: the options are mounted again as root).
pub fn gluster_mounts_with_options(mountinfo: &str, running: &[Proc]) -> Vec<FuseMount> {
    gluster_mounts(mountinfo)
        .into_iter()
        .map(|mut m| {
            if let Some(p) = running
                .iter()
                .find(|p| genuine(p, "glusterfs") && p.cmdline.last() == Some(&m.target))
            {
                m.options = mount_options(&p.cmdline);
            }
            m
        })
        .collect()
}

/// `fuse.glusterfs` entries of a mountinfo file.
pub fn gluster_mounts(mountinfo: &str) -> Vec<FuseMount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let target = left.split_whitespace().nth(4)?;
            let mut r = right.split_whitespace();
            let (fstype, source) = (r.next()?, r.next()?);
            (fstype == "fuse.glusterfs").then(|| FuseMount {
                source: source.to_string(),
                target: unescape(target),
                options: Vec::new(),
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_process_age_is_the_uptime_less_its_start() {
        // Captured on this machine: /proc/1/stat (started 25 ticks after boot) and /proc/uptime.
        let stat =
            "1 (process_api) S 0 0 0 0 -1 4194560 57134 257622684 0 48538 1228 9275 616594 161589 10 -10 17 0 25 \
                    48005120 2792 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0";
        assert_eq!(
            age_from(stat, "16721.64 23406.00"),
            Some(std::time::Duration::from_millis(16_721_390))
        );
        // A name with spaces and parentheses does not shift the fields.
        let odd = stat.replace("(process_api)", "(a (b) c)");
        assert_eq!(
            age_from(&odd, "16721.64 23406.00"),
            Some(std::time::Duration::from_millis(16_721_390))
        );
        assert_eq!(age_from("1 (x) S 0", "1.0 1.0"), None);
        assert_eq!(age_from(stat, ""), None);
    }

    use super::*;

    fn fake(root: &Path, pid: i32, comm: &str, state: &str, cmdline: &[&str]) {
        let d = root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("comm"), format!("{comm}\n")).unwrap();
        std::fs::write(d.join("stat"), format!("{pid} ({comm} x) {state} 1 2 3")).unwrap();
        std::fs::write(d.join("cmdline"), cmdline.join("\0") + "\0").unwrap();
    }

    /// `fake`, owned by `uid` and running `exe` (the link need not lead anywhere).
    fn fake_owned(root: &Path, pid: i32, comm: &str, cmdline: &[&str], uid: u32, exe: &str) {
        fake(root, pid, comm, "S", cmdline);
        let d = root.join(pid.to_string());
        std::fs::write(
            d.join("status"),
            format!("Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"),
        )
        .unwrap();
        std::os::unix::fs::symlink(exe, d.join("exe")).unwrap();
    }

    #[test]
    fn only_root_running_the_expected_executable_is_genuine() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let sbin = "/usr/sbin/glusterfsd";
        fake_owned(root, 10, "glusterd", &["/usr/sbin/glusterd"], 0, sbin);
        fake_owned(
            root,
            11,
            "glusterfsd",
            &["/usr/sbin/glusterfsd"],
            0,
            "/usr/sbin/glusterfsd (deleted)",
        );
        fake_owned(root, 12, "glusterd", &["/home/eve/glusterd"], 1000, sbin);
        fake_owned(root, 13, "glusterd", &["/tmp/glusterd"], 0, "/tmp/glusterd");
        fake_owned(root, 14, "glusterfs", &["glusterfs", "/mnt/gv0"], 1000, sbin);
        fake_owned(
            root,
            15,
            "glustereventsd",
            &[
                "/usr/bin/python3",
                "/usr/sbin/glustereventsd",
                "--pid-file",
                "/run/e.pid",
            ],
            0,
            "/usr/bin/python3.11",
        );
        fake_owned(
            root,
            16,
            "gsyncd",
            &["/usr/bin/python3", "/tmp/evil.py"],
            0,
            "/usr/bin/python3.11",
        );
        fake_owned(root, 17, "smbd", &["/usr/sbin/smbd", "-D"], 0, "/usr/sbin/smbd");
        fake_owned(root, 18, "smbd", &["/usr/sbin/smbd"], 0, "/usr/bin/bash");
        fake(root, 19, "glusterd", "S", &["glusterd"]);
        // A consumer that is a shell script (the testbed's writer), and a script of another name.
        let writer = ["/bin/sh", "/usr/local/bin/keel-writer", "run", "/mnt/gv0"];
        fake_owned(root, 20, "keel-writer", &writer, 0, "/usr/bin/dash");
        let other = ["/bin/sh", "/tmp/other", "run"];
        fake_owned(root, 21, "keel-writer", &other, 0, "/usr/bin/dash");
        let trusted: Vec<i32> = scan(root)
            .iter()
            .filter(|p| genuine(p, &p.name))
            .map(|p| p.pid)
            .collect();
        assert_eq!(trusted, vec![10, 11, 15, 17, 20]);
        let procs = scan(root);
        assert_eq!(procs[0].exe_path(), sbin);
        assert!(
            !genuine(&procs[0], "glusterfs"),
            "a genuine glusterd is not a glusterfs"
        );
        // The FUSE client another user runs gives no options to a mount made again as root.
        let info = "95 60 0:50 / /mnt/gv0 rw - fuse.glusterfs n1:/gv0 rw\n";
        let p14 = procs.iter().find(|p| p.pid == 14).unwrap().clone();
        let mut evil = p14.clone();
        evil.cmdline = vec!["glusterfs".into(), "--acl".into(), "/mnt/gv0".into()];
        assert!(gluster_mounts_with_options(info, &[evil.clone()])[0].options.is_empty());
        evil.uid = Some(0);
        assert_eq!(gluster_mounts_with_options(info, &[evil])[0].options, vec!["acl"]);
    }

    #[test]
    fn scans_names_and_command_lines_and_skips_zombies() {
        let dir = tempfile::tempdir().unwrap();
        fake(
            dir.path(),
            12,
            "glusterd",
            "S",
            &["/usr/sbin/glusterd", "-p", "/run/glusterd.pid"],
        );
        fake(dir.path(), 30, "glusterfsd", "Z", &[]);
        std::fs::create_dir_all(dir.path().join("self")).unwrap();
        let procs = scan(dir.path());
        assert_eq!(
            procs,
            vec![Proc {
                pid: 12,
                name: "glusterd".into(),
                cmdline: vec!["/usr/sbin/glusterd".into(), "-p".into(), "/run/glusterd.pid".into()],
                exe: String::new(),
                uid: None,
            }]
        );
        assert!(alive(dir.path(), 12));
        assert!(!alive(dir.path(), 30), "a zombie has exited");
        assert!(!alive(dir.path(), 31));
    }

    #[test]
    fn leaves_processes_of_other_pid_namespaces_alone() {
        let dir = tempfile::tempdir().unwrap();
        fake(dir.path(), 12, "glusterd", "S", &["glusterd"]);
        fake(dir.path(), 40, "glusterd", "S", &["glusterd"]);
        let ns = |entry: &str, id: &str| {
            std::fs::create_dir_all(dir.path().join(entry).join("ns")).unwrap();
            std::os::unix::fs::symlink(format!("pid:[{id}]"), dir.path().join(entry).join("ns/pid")).unwrap();
        };
        ns("self", "4026531836");
        ns("12", "4026531836");
        ns("40", "4026532999");
        let pids: Vec<i32> = scan(dir.path()).iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![12], "pid 40 runs in a container's namespace");
    }

    #[test]
    fn finds_gluster_fuse_mounts() {
        let info = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
                    95 60 0:50 / /mnt/my\\040vol rw,relatime shared:1 - fuse.glusterfs 10.199.0.11:/gv0 rw,user_id=0\n\
                    96 60 0:51 / /mnt/nfs rw - nfs4 srv:/x rw\n";
        assert_eq!(
            gluster_mounts(info),
            vec![FuseMount {
                source: "10.199.0.11:/gv0".into(),
                target: "/mnt/my vol".into(),
                options: vec![],
            }]
        );
    }

    #[test]
    fn reads_mount_options_back_from_the_client_process() {
        // The FUSE client a testbed client runs for gv0 (backup-volfile-servers=10.199.0.12:10.199.0.13).
        let cmdline: Vec<String> = [
            "/usr/sbin/glusterfs",
            "--process-name",
            "fuse",
            "--volfile-server=10.199.0.11",
            "--volfile-server=10.199.0.12",
            "--volfile-server=10.199.0.13",
            "--volfile-id=/gv0",
            "/mnt/gv0",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            mount_options(&cmdline),
            vec!["backup-volfile-servers=10.199.0.12:10.199.0.13"]
        );
    }
}
