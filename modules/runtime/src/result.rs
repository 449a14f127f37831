//! The one JSON object a module prints.

use serde_json::{json, Map, Value};

/// A module's outcome. `data` holds the module's own return values beside Ansible's keys.
#[derive(Debug, Default, Clone)]
pub struct ModuleResult {
    pub changed: bool,
    pub failed: bool,
    pub skipped: bool,
    pub msg: String,
    pub rc: Option<i32>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub warnings: Vec<String>,
    /// `{before, after, before_header?, after_header?}`, or a list of them; sent only in diff mode.
    pub diff: Option<Value>,
    pub data: Map<String, Value>,
}

impl ModuleResult {
    pub fn new(changed: bool, msg: impl Into<String>) -> Self {
        ModuleResult {
            changed,
            msg: msg.into(),
            ..Default::default()
        }
    }

    pub fn with(mut self, key: &str, value: impl serde::Serialize) -> Self {
        self.data
            .insert(key.to_string(), serde_json::to_value(value).unwrap_or(Value::Null));
        self
    }

    /// Ansible's keys first, then the module's own; a module key never overrides Ansible's.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        for (k, v) in &self.data {
            out.insert(k.clone(), v.clone());
        }
        out.insert("changed".into(), json!(self.changed));
        out.insert("failed".into(), json!(self.failed));
        if self.skipped {
            out.insert("skipped".into(), json!(true));
        }
        out.insert("msg".into(), json!(self.msg));
        if let Some(rc) = self.rc {
            out.insert("rc".into(), json!(rc));
        }
        if let Some(s) = &self.stdout {
            out.insert("stdout".into(), json!(s));
        }
        if let Some(s) = &self.stderr {
            out.insert("stderr".into(), json!(s));
        }
        if !self.warnings.is_empty() {
            out.insert("warnings".into(), json!(self.warnings));
        }
        if let Some(d) = &self.diff {
            out.insert("diff".into(), d.clone());
        }
        Value::Object(out)
    }
}
