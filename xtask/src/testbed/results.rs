//! The module results of a testbed playbook run, as data: a notification callback
//! (keel_results.py) writes every task result as a JSON line, and the checks read them. The
//! upgrade report keeps each step's outcome but not the whole result, so whether
//! gluster_service stopped and started a server through systemd or signals (its `systemd`
//! field and record) is read here.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::Result;

const CALLBACK: &str = include_str!("keel_results.py");

/// Where one run's results go.
pub struct Recorder {
    plugins: PathBuf,
    file: PathBuf,
}

impl Recorder {
    /// A recorder writing under `dir` (emptied first).
    pub fn new(dir: &Path) -> Result<Self> {
        let _ = std::fs::remove_dir_all(dir);
        Recorder::at(dir)
    }

    /// A recorder adding to what `dir` holds already.
    pub fn at(dir: &Path) -> Result<Self> {
        let plugins = dir.join("callback_plugins");
        std::fs::create_dir_all(&plugins).map_err(|e| format!("{}: {e}", plugins.display()))?;
        std::fs::write(plugins.join("keel_results.py"), CALLBACK).map_err(|e| e.to_string())?;
        Ok(Recorder {
            plugins,
            file: dir.join("results.jsonl"),
        })
    }

    /// Makes `cmd` (ansible-playbook) record its task results.
    pub fn apply(&self, cmd: &mut Command) {
        cmd.env("ANSIBLE_CALLBACK_PLUGINS", &self.plugins)
            .env("ANSIBLE_CALLBACKS_ENABLED", "keel_results")
            .env("KEEL_RESULTS_FILE", &self.file);
    }

    /// Every recorded task result, in the order they came.
    pub fn results(&self) -> Result<Vec<Value>> {
        let text = std::fs::read_to_string(&self.file).map_err(|e| format!("{}: {e}", self.file.display()))?;
        text.lines()
            .map(|l| serde_json::from_str(l).map_err(|e| format!("{}: {e}", self.file.display())))
            .collect()
    }
}

/// How gluster_service stopped and started one server in a run.
#[derive(Debug, PartialEq, Eq)]
pub enum ServicePath {
    Systemd,
    Signals,
}

/// The `result` of every keel.storage.gluster_service task with `state` on `host`.
fn service_results<'a>(results: &'a [Value], host: &str, state: &str) -> Vec<&'a Value> {
    results
        .iter()
        .filter(|r| r["host"] == host && r["action"] == "keel.storage.gluster_service" && r["args"]["state"] == state)
        .map(|r| &r["result"])
        .collect()
}

/// Checks that `host`'s Gluster services were stopped and started again in the runs recorded,
/// every time along `path`: every stop and start result says `systemd` accordingly, at least one
/// stop recorded glusterd as that path does (with systemd the unit glusterd; with signals the
/// glusterd program and no unit) and at least one start started glusterd. Returns a summary.
pub fn service_path(results: &[Value], host: &str, path: ServicePath) -> Result<String> {
    let systemd = path == ServicePath::Systemd;
    let stops = service_results(results, host, "stopped");
    let starts = service_results(results, host, "started");
    if stops.is_empty() || starts.is_empty() {
        return Err(format!(
            "{host}: {} gluster_service stop and {} start results in the run",
            stops.len(),
            starts.len()
        ));
    }
    let has = |v: &Value, name: &str| v.as_array().is_some_and(|a| a.iter().any(|x| x == name));
    for r in stops.iter().chain(&starts) {
        if r["failed"] == true || r["systemd"] != systemd {
            return Err(format!(
                "{host}: a gluster_service result with systemd={}: {r}",
                r["systemd"]
            ));
        }
    }
    let recorded_right = |stop: &&&Value| {
        let record = &stop["recorded"];
        stop["changed"] == true
            && if systemd {
                record["systemd"] == true && has(&record["units"], "glusterd")
            } else {
                record["systemd"] == false
                    && record["units"].as_array().is_some_and(Vec::is_empty)
                    && record["programs"]
                        .as_array()
                        .is_some_and(|p| p.iter().any(|x| x["name"] == "glusterd"))
            }
    };
    let Some(stop) = stops.iter().rev().find(recorded_right) else {
        return Err(format!(
            "{host}: no stop recorded glusterd as {path:?} would: {stops:?}"
        ));
    };
    let Some(start) = starts
        .iter()
        .rev()
        .find(|s| s["changed"] == true && has(&s["started"], "glusterd"))
    else {
        return Err(format!("{host}: no start started glusterd: {starts:?}"));
    };
    Ok(format!(
        "{host}: gluster_service stopped {} and started {} ({path:?})",
        stop["stopped"], start["started"]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(host: &str, systemd: bool) -> Vec<Value> {
        let record = if systemd {
            json!({"systemd": true, "units": ["glusterd"], "programs": [], "mounts": []})
        } else {
            json!({"systemd": false, "units": [], "programs": [{"name": "glusterd"}], "mounts": []})
        };
        vec![
            json!({"host": host, "action": "keel.storage.gluster_service", "args": {"state": "stopped"},
                   "result": {"changed": true, "systemd": systemd, "stopped": ["glusterd"], "recorded": record}}),
            json!({"host": host, "action": "keel.storage.gluster_install", "args": {"version": "11.1"},
                   "result": {"changed": true}}),
            json!({"host": host, "action": "keel.storage.gluster_service", "args": {"state": "started"},
                   "result": {"changed": true, "systemd": systemd, "started": ["glusterd"]}}),
        ]
    }

    #[test]
    fn tells_the_systemd_path_from_the_signals_path() {
        let mut results = run("node3", true);
        results.extend(run("node2", false));
        assert!(service_path(&results, "node3", ServicePath::Systemd).is_ok());
        assert!(service_path(&results, "node2", ServicePath::Signals).is_ok());
        assert!(service_path(&results, "node3", ServicePath::Signals).is_err());
        assert!(service_path(&results, "node2", ServicePath::Systemd).is_err());
        assert!(
            service_path(&results, "node1", ServicePath::Signals).is_err(),
            "no result at all"
        );
    }

    #[test]
    fn a_start_that_started_nothing_is_not_the_path() {
        let mut results = run("node3", true);
        results[2]["result"]["started"] = json!([]);
        results[2]["result"]["changed"] = json!(false);
        assert!(service_path(&results, "node3", ServicePath::Systemd).is_err());
    }
}
