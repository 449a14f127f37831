//! Pure parsers of `weka` output: the JSON of `-J` commands (shapes differ between 3.x, 4.0,
//! 4.1 and 4.2+; see docs/playbooks/weka_upgrade.md) and the few text outputs. Values are read by
//! name and missing fields are tolerated, because every release adds and renames a few; what a
//! module relies on is required and named in the error.

use serde::Serialize;
use serde_json::Value;

use crate::version::WekaVersion;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("weka printed output that is not the expected JSON: {0}")]
    Json(String),
    #[error("weka's JSON has no '{0}'")]
    Missing(&'static str),
    #[error("cannot read a WEKA release from '{0}'")]
    Release(String),
}

fn json(text: &str) -> Result<Value, ParseError> {
    serde_json::from_str(text.trim()).map_err(|e| ParseError::Json(e.to_string()))
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn n(v: &Value, k: &str) -> Option<u64> {
    v.get(k)
        .and_then(|x| x.as_u64().or_else(|| x.as_f64().map(|f| f as u64)))
}

fn b(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}

/// `{active, total}` counters of `weka status -J`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub active: u64,
    pub total: u64,
}

impl Count {
    fn of(v: Option<&Value>) -> Option<Count> {
        let v = v?;
        Some(Count {
            active: n(v, "active").or_else(|| n(v, "active_count"))?,
            total: n(v, "total").or_else(|| n(v, "total_count"))?,
        })
    }
    pub fn whole(&self) -> bool {
        self.active == self.total
    }
}

/// The metadata conversion WEKA may run after a hop ("data upgrade"); it must finish before
/// the next upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataUpgrade {
    pub state: String,
    pub progress: Option<u64>,
    pub kind: String,
}

impl DataUpgrade {
    pub fn running(&self) -> bool {
        !matches!(
            self.state.to_ascii_uppercase().as_str(),
            "" | "DONE" | "COMPLETED" | "FINISHED" | "NONE" | "IDLE"
        )
    }
}

/// `weka status -J`, the fields the modules use.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub release: WekaVersion,
    pub name: String,
    pub guid: String,
    /// OK, REBUILDING, UNPROTECTED, ...
    pub status: String,
    /// STARTED, STOPPED, ...
    pub io_status: String,
    pub backends: Option<Count>,
    pub clients: Option<Count>,
    pub drives: Option<Count>,
    pub io_nodes: Option<Count>,
    pub active_alerts: u64,
    /// `block_upgrade_task` (4.x; its exact shape UNVERIFIED): present while a data upgrade runs.
    pub data_upgrade: Option<DataUpgrade>,
    /// 3.x `upgrade` string or 4.x `upgrade_info.upgrade_phase`: non-empty while an upgrade runs.
    pub upgrade_phase: String,
}

impl Status {
    pub fn upgrading(&self) -> bool {
        !self.upgrade_phase.is_empty() && !self.upgrade_phase.eq_ignore_ascii_case("none")
    }
}

pub fn parse_status(text: &str) -> Result<Status, ParseError> {
    let v = json(text)?;
    let release_text = s(&v, "release");
    if release_text.is_empty() {
        return Err(ParseError::Missing("release"));
    }
    let release = WekaVersion::parse(&release_text).ok_or(ParseError::Release(release_text))?;
    let hosts = v.get("hosts");
    let data_upgrade = v
        .get("block_upgrade_task")
        .filter(|t| t.is_object())
        .map(|t| DataUpgrade {
            state: s(t, "state"),
            progress: n(t, "progress"),
            kind: s(t, "type"),
        });
    let upgrade_phase = match v.get("upgrade_info") {
        Some(info) if info.is_object() => s(info, "upgrade_phase"),
        _ => s(&v, "upgrade"),
    };
    Ok(Status {
        release,
        name: s(&v, "name"),
        guid: s(&v, "guid"),
        status: s(&v, "status"),
        io_status: s(&v, "io_status"),
        backends: Count::of(hosts.and_then(|h| h.get("backends"))),
        clients: Count::of(hosts.and_then(|h| h.get("clients"))),
        drives: Count::of(v.get("drives")),
        io_nodes: Count::of(v.get("io_nodes")),
        active_alerts: n(&v, "active_alerts_count").unwrap_or(0),
        data_upgrade: data_upgrade.filter(|d| !d.state.is_empty()),
        upgrade_phase,
    })
}

/// The release in the first line of `weka status` text: `WekaIO v4.2.9 (CLI build 4.2.9)` or,
/// as the upgrade guide shows it, `Weka v4.0.1`.
pub fn parse_status_text_release(text: &str) -> Result<WekaVersion, ParseError> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    first
        .split_whitespace()
        .find(|w| w.starts_with('v') && w[1..].starts_with(|c: char| c.is_ascii_digit()))
        .and_then(WekaVersion::parse)
        .ok_or_else(|| ParseError::Release(first.to_string()))
}

/// `weka status rebuild -J`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rebuild {
    pub progress_percent: f64,
    pub unavailable_mib: u64,
    pub moving_data: bool,
    /// MiB at each protection level beyond the first (data with 1, 2, ... failures).
    pub degraded_mib: u64,
}

impl Rebuild {
    /// WEKA's own script: no rebuild when progressPercent is 0; fully protected when nothing is
    /// unavailable and no data sits at a degraded protection level.
    pub fn in_progress(&self) -> bool {
        self.progress_percent > 0.0 || self.unavailable_mib > 0 || self.degraded_mib > 0
    }
}

pub fn parse_rebuild(text: &str) -> Result<Rebuild, ParseError> {
    let v = json(text)?;
    if !v.is_object() {
        return Err(ParseError::Missing("progressPercent"));
    }
    let degraded = v
        .get("protectionState")
        .and_then(Value::as_array)
        // Saturating: a sum past u64 (only in damaged output) is still degraded, never wrapped to little.
        .map(|levels| {
            levels
                .iter()
                .skip(1)
                .filter_map(|l| n(l, "MiB"))
                .fold(0u64, u64::saturating_add)
        })
        .unwrap_or(0);
    Ok(Rebuild {
        progress_percent: v.get("progressPercent").and_then(Value::as_f64).unwrap_or(0.0),
        unavailable_mib: n(&v, "unavailableMiB").unwrap_or(0),
        moving_data: b(&v, "movingData"),
        degraded_mib: degraded,
    })
}

/// One entry of `weka cluster host -J` / `weka cluster container -J`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    pub hostname: String,
    pub container: String,
    pub host_id: String,
    /// backend or client
    pub mode: String,
    /// UP, DOWN, ...
    pub status: String,
    /// ACTIVE, INACTIVE, ...
    pub state: String,
    pub version: String,
    /// Stateless clients have an auto-remove timeout.
    pub stateless: bool,
    pub failure: String,
}

impl Container {
    pub fn is_backend(&self) -> bool {
        self.mode.eq_ignore_ascii_case("backend")
    }
    pub fn is_client(&self) -> bool {
        self.mode.eq_ignore_ascii_case("client")
    }
    pub fn up(&self) -> bool {
        self.status.eq_ignore_ascii_case("UP") && (self.state.is_empty() || self.state.eq_ignore_ascii_case("ACTIVE"))
    }
    pub fn release(&self) -> Option<WekaVersion> {
        WekaVersion::parse(&self.version)
    }
}

pub fn parse_containers(text: &str) -> Result<Vec<Container>, ParseError> {
    let v = json(text)?;
    let items = v.as_array().ok_or(ParseError::Missing("a list of hosts"))?;
    Ok(items
        .iter()
        .map(|c| {
            let version = match s(c, "sw_release_string") {
                r if r.is_empty() => s(c, "sw_version"),
                r => r,
            };
            Container {
                hostname: s(c, "hostname"),
                container: s(c, "container_name"),
                host_id: s(c, "host_id"),
                mode: s(c, "mode"),
                status: s(c, "status"),
                state: s(c, "state"),
                version,
                stateless: c.get("auto_remove_timeout").is_some_and(|t| !t.is_null()),
                failure: s(c, "failure_text"),
            }
        })
        .collect())
}

/// `weka alerts -J`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub description: String,
    pub severity: String,
    pub count: u64,
    pub muted: bool,
}

pub fn parse_alerts(text: &str) -> Result<Vec<Alert>, ParseError> {
    let v = json(text)?;
    let items = v.as_array().ok_or(ParseError::Missing("a list of alerts"))?;
    Ok(items
        .iter()
        .map(|a| Alert {
            kind: s(a, "type"),
            title: s(a, "title"),
            description: s(a, "description"),
            severity: s(a, "severity"),
            count: n(a, "count").unwrap_or(1),
            muted: b(a, "muted"),
        })
        .collect())
}

/// `weka cluster task -J` (keys other than type, state, progress, description UNVERIFIED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    #[serde(rename = "type")]
    pub kind: String,
    pub state: String,
    pub progress: Option<u64>,
    pub description: String,
}

impl Task {
    pub fn running(&self) -> bool {
        matches!(
            self.state.to_ascii_uppercase().as_str(),
            "RUNNING" | "PAUSED" | "PENDING" | "QUEUED"
        )
    }
    /// WEKA's checker lets these run during an upgrade; anything else blocks it.
    pub fn harmless(&self) -> bool {
        matches!(self.kind.to_ascii_uppercase().as_str(), "FSCK" | "RAID_SCANNER")
    }
    pub fn is_data_upgrade(&self) -> bool {
        let k = self.kind.to_ascii_uppercase().replace([' ', '-'], "_");
        k.contains("UPGRADE")
    }
}

pub fn parse_tasks(text: &str) -> Result<Vec<Task>, ParseError> {
    let v = json(text)?;
    let items = v.as_array().ok_or(ParseError::Missing("a list of tasks"))?;
    Ok(items
        .iter()
        .map(|t| Task {
            kind: s(t, "type"),
            state: s(t, "state"),
            progress: n(t, "progress"),
            description: s(t, "description"),
        })
        .collect())
}

/// `weka local ps -J`: the containers on this host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalContainer {
    pub name: String,
    pub running: bool,
    pub disabled: bool,
    pub version: String,
    pub run_status: String,
    pub state: String,
}

pub fn parse_local_ps(text: &str) -> Result<Vec<LocalContainer>, ParseError> {
    let v = json(text)?;
    let items = v.as_array().ok_or(ParseError::Missing("a list of containers"))?;
    Ok(items
        .iter()
        .map(|c| LocalContainer {
            name: s(c, "name"),
            running: b(c, "isRunning"),
            disabled: b(c, "isDisabled"),
            version: s(c, "versionName"),
            run_status: s(c, "runStatus"),
            state: c
                .get("internalStatus")
                .map(|i| s(i, "display_status"))
                .unwrap_or_default(),
        })
        .collect())
}

/// `weka version`: installed releases, the current one marked with `* `.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Installed {
    pub versions: Vec<String>,
    pub current: Option<String>,
}

impl Installed {
    pub fn has(&self, v: &WekaVersion) -> bool {
        self.versions
            .iter()
            .filter_map(|x| WekaVersion::parse(x))
            .any(|x| x == *v)
    }
}

pub fn parse_version_list(text: &str) -> Installed {
    let mut out = Installed::default();
    for line in text.lines() {
        let t = line.trim();
        let (current, name) = match t.strip_prefix('*') {
            Some(rest) => (true, rest.trim()),
            None => (false, t),
        };
        if WekaVersion::parse(name).is_none() {
            continue;
        }
        if current {
            out.current = Some(name.to_string());
        }
        out.versions.push(name.to_string());
    }
    out
}

/// `weka user whoami -J` (shape UNVERIFIED: username and role are what the modules use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhoAmI {
    pub username: String,
    pub role: String,
    pub org: String,
}

impl WhoAmI {
    pub fn cluster_admin(&self) -> bool {
        let r = self.role.to_ascii_lowercase().replace([' ', '_'], "");
        r == "clusteradmin"
    }
}

pub fn parse_whoami(text: &str) -> Result<WhoAmI, ParseError> {
    let v = json(text)?;
    let v = if let Some(first) = v.as_array().and_then(|a| a.first()) {
        first.clone()
    } else {
        v
    };
    let username = s(&v, "username");
    if username.is_empty() {
        return Err(ParseError::Missing("username"));
    }
    Ok(WhoAmI {
        username,
        role: s(&v, "role"),
        org: match s(&v, "org_name") {
            o if o.is_empty() => s(&v, "org_id"),
            o => o,
        },
    })
}

/// `weka cluster servers list -J` (4.1+): one entry per server with the releases it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Server {
    pub name: String,
    pub status: String,
    pub roles: Vec<String>,
    pub versions: Vec<String>,
}

pub fn parse_servers(text: &str) -> Result<Vec<Server>, ParseError> {
    let v = json(text)?;
    let items = v.as_array().ok_or(ParseError::Missing("a list of servers"))?;
    let strings = |x: Option<&Value>| -> Vec<String> {
        x.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(items
        .iter()
        .map(|sv| Server {
            name: s(sv, "name"),
            status: s(sv, "status"),
            roles: strings(sv.get("roles")),
            versions: strings(sv.get("versions")),
        })
        .collect())
}
