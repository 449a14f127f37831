//! The cluster as seen from one host, from what the weka CLI printed (keel-weka-cli reads it):
//! its hosts with their containers folded together, the running data upgrade, whether backends
//! are multi-container.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::parse::{Alert, Container, LocalContainer, Rebuild, Status, Task};

/// The cluster as seen from one host.
#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    pub status: Status,
    pub containers: Vec<Container>,
    pub alerts: Vec<Alert>,
    pub rebuild: Rebuild,
    pub tasks: Vec<Task>,
    pub local: Vec<LocalContainer>,
}

/// One machine of the cluster: its containers folded together.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Host {
    pub hostname: String,
    pub mode: String,
    /// The release its containers run; `mixed` when they differ.
    pub version: String,
    pub up: bool,
    pub stateless: bool,
    pub containers: Vec<String>,
}

impl Cluster {
    pub fn hosts(&self, mode: &str) -> Vec<Host> {
        let mut by: BTreeMap<&str, Vec<&Container>> = BTreeMap::new();
        for c in self.containers.iter().filter(|c| c.mode.eq_ignore_ascii_case(mode)) {
            by.entry(c.hostname.as_str()).or_default().push(c);
        }
        by.into_iter()
            .map(|(hostname, cs)| {
                let mut versions: Vec<&str> = cs.iter().map(|c| c.version.as_str()).collect();
                versions.dedup();
                Host {
                    hostname: hostname.to_string(),
                    mode: mode.to_string(),
                    version: if versions.len() == 1 {
                        versions[0].to_string()
                    } else {
                        "mixed".into()
                    },
                    up: cs.iter().all(|c| c.up()),
                    stateless: cs.iter().any(|c| c.stateless),
                    containers: cs.iter().map(|c| c.container.clone()).collect(),
                }
            })
            .collect()
    }

    /// The running data upgrade, from `weka status` or, failing that, the task list.
    pub fn data_upgrade(&self) -> Option<String> {
        if let Some(d) = self.status.data_upgrade.as_ref().filter(|d| d.running()) {
            return Some(format!(
                "{} {}{}",
                if d.kind.is_empty() {
                    "data upgrade"
                } else {
                    d.kind.as_str()
                },
                d.state,
                d.progress.map(|p| format!(" ({p}%)")).unwrap_or_default()
            ));
        }
        self.tasks.iter().find(|t| t.running() && t.is_data_upgrade()).map(|t| {
            format!(
                "{} {}{}",
                t.kind,
                t.state,
                t.progress.map(|p| format!(" ({p}%)")).unwrap_or_default()
            )
        })
    }

    /// Multi-container backends: every backend host runs more than one container (drives0,
    /// compute0, frontend0, ...), as 4.1 and later require.
    pub fn multi_container(&self) -> bool {
        let backends = self.hosts("backend");
        !backends.is_empty() && backends.iter().all(|h| h.containers.len() > 1)
    }
}
