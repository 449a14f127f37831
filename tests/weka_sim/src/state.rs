//! The simulated cluster: one JSON file shared by every host that runs the simulator (a bind
//! mount on the testbed, one path on localhost), read and written under an exclusive lock.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub name: String,
    pub guid: String,
    /// The release the backends run.
    pub release: String,
    pub io_status: String,
    pub hosts: Vec<Host>,
    pub users: Vec<User>,
    pub tokens: Vec<Token>,
    /// The admin password `init` set, restored by `clear`.
    pub admin_password: String,
    pub alerts: Vec<Alert>,
    pub rebuild_percent: u32,
    pub tasks: Vec<Task>,
    /// A data upgrade running now: it ends after `remaining` more `weka status` calls.
    pub data_upgrade: Option<DataUpgrade>,
    pub faults: Faults,
    /// Every weka command run, as `host: argv`.
    pub log: Vec<String>,
    pub next_id: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Host {
    pub hostname: String,
    /// backend or client
    pub mode: String,
    pub version: String,
    pub up: bool,
    pub containers: Vec<String>,
    pub installed: Vec<String>,
    pub prepared: Vec<String>,
    /// 4.3+ clients: `weka version set --agent-only V` sets it.
    pub agent_version: Option<String>,
    pub ip: String,
    pub stateless: bool,
    pub first_id: u32,
}

impl Host {
    pub fn is_backend(&self) -> bool {
        self.mode == "backend"
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub password: String,
    pub role: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Token {
    pub token: String,
    pub username: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Alert {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub description: String,
    pub severity: String,
    pub muted: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Task {
    #[serde(rename = "type")]
    pub kind: String,
    pub state: String,
    pub progress: u32,
    pub description: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DataUpgrade {
    pub remaining: u32,
    pub total: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Faults {
    /// Hosts whose `weka version get` fails; `*` for every host.
    pub download_fails: Vec<String>,
    /// Every full upgrade fails inside the window and is reverted.
    pub upgrade_reverts: bool,
    /// The next successful upgrade leaves a data upgrade running for this many status calls.
    pub data_upgrade_calls: u32,
    /// Hosts whose /opt/weka has too little free space.
    pub low_space: Vec<String>,
    /// With `upgrade_reverts`: the backend the revert leaves on the new release.
    #[serde(default)]
    pub revert_leaves: Option<String>,
    /// Hosts where the wekafs driver of a new release does not build; `*` for every host.
    #[serde(default)]
    pub driver_build_fails: Vec<String>,
    /// The host whose `upgrade` container runs: an upgrade is in progress.
    #[serde(default)]
    pub upgrade_running: Option<String>,
    /// Hosts (`*`: every host) whose `weka local run ... upgrade` and `weka local upgrade` take
    /// `slow_upgrade_s` seconds before they do their work.
    #[serde(default)]
    pub slow_upgrade: Vec<String>,
    #[serde(default)]
    pub slow_upgrade_s: u64,
}

pub fn state_path() -> PathBuf {
    std::env::var_os("WEKA_SIM_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/weka-sim/state.json"))
}

/// The host this process plays: WEKA_SIM_HOST, else the (UTS namespace's) hostname.
pub fn this_host() -> String {
    std::env::var("WEKA_SIM_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Holds the lock while the state is read, changed and written back.
pub struct Locked {
    path: PathBuf,
    _lock: Flock<std::fs::File>,
}

impl Locked {
    pub fn acquire(path: &Path) -> Result<Locked, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("weka-sim: mkdir {}: {e}", dir.display()))?;
        }
        let lock_path = path.with_extension("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("weka-sim: open {}: {e}", lock_path.display()))?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| format!("weka-sim: lock {}: {e}", lock_path.display()))?;
        Ok(Locked {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn load(&self) -> Result<State, String> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| {
            format!(
                "weka-sim: no simulated cluster at {} ({e}); create one with `weka-sim init` (WEKA_SIM_STATE picks the file)",
                self.path.display()
            )
        })?;
        serde_json::from_str(&text)
            .map_err(|e| format!("weka-sim: {} is not a simulator state: {e}", self.path.display()))
    }

    /// Written to a temporary file and renamed, so a reader never sees half a state.
    pub fn save(&self, st: &State) -> Result<(), String> {
        let tmp = self.path.with_extension("tmp");
        let text = serde_json::to_string_pretty(st).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text).map_err(|e| format!("weka-sim: write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| format!("weka-sim: rename to {}: {e}", self.path.display()))
    }
}

/// Numeric parts of a release (`4.2.8.312-abc` -> [4, 2, 8, 312]), missing parts as 0: the
/// simulator's own comparison, independent of the modules' code it tests.
pub fn parts(v: &str) -> Option<[u32; 4]> {
    let v = v.trim().trim_start_matches('v');
    let numbers = v.split('-').next()?;
    let mut out = [0u32; 4];
    let mut count = 0;
    for (i, p) in numbers.split('.').enumerate() {
        if i >= 4 {
            return None;
        }
        out[i] = p.parse().ok()?;
        count += 1;
    }
    (count >= 2).then_some(out)
}

pub fn cmp(a: &str, b: &str) -> std::cmp::Ordering {
    parts(a).unwrap_or_default().cmp(&parts(b).unwrap_or_default())
}

pub fn at_least(v: &str, min: &str) -> bool {
    cmp(v, min) != std::cmp::Ordering::Less
}

pub fn same_line(a: &str, b: &str) -> bool {
    let (a, b) = (parts(a).unwrap_or_default(), parts(b).unwrap_or_default());
    a[..2] == b[..2]
}

/// WEKA's documented minimum source per target line (the simulator refuses other hops, as
/// WEKA's upgrade does).
pub const MIN_SOURCE: [(&str, &str); 11] = [
    ("3.11", "3.10.0"),
    ("3.12", "3.11.0"),
    ("3.13", "3.12.1"),
    ("3.14", "3.13.1"),
    ("4.0", "3.14.1"),
    ("4.1", "4.0.2"),
    ("4.2", "4.1.2"),
    ("4.3", "4.2.1"),
    ("4.4", "4.2.1"),
    ("5.0", "4.4.6"),
    ("5.1", "5.0.2"),
];

pub fn min_source(target: &str) -> Option<&'static str> {
    MIN_SOURCE
        .iter()
        .find(|(line, _)| same_line(line, target))
        .map(|(_, m)| *m)
}
