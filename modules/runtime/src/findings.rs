//! What a precheck module returns, whatever it checks: findings, each with a severity, a stable
//! code and a sentence, and the verdict: a result when nothing blocks, a failure naming every
//! blocker otherwise.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::{ModuleError, ModuleResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    /// The upgrade must not start.
    Blocker,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: &'static str,
    pub msg: String,
}

/// The result of a precheck of `what` ("an online upgrade", "the upgrade from 4.0.2 to 4.1.2"):
/// `findings`, `blocking` and `data` returned either way; failed when a finding blocks, with
/// every blocker in the message.
pub fn verdict(found: &[Finding], what: &str, mut data: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let blockers: Vec<&str> = found
        .iter()
        .filter(|f| f.severity == Severity::Blocker)
        .map(|f| f.msg.as_str())
        .collect();
    data.insert("findings".into(), json!(found));
    data.insert("blocking".into(), json!(!blockers.is_empty()));
    if !blockers.is_empty() {
        return Err(ModuleError::failed_with(
            format!(
                "{} blocking finding(s) for {what}: {}",
                blockers.len(),
                blockers.join("; ")
            ),
            data,
        ));
    }
    let mut r = ModuleResult::new(
        false,
        format!("no blocking findings for {what} ({} finding(s) in all)", found.len()),
    );
    r.data.extend(data);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: Severity, msg: &str) -> Finding {
        Finding {
            severity,
            code: "x",
            msg: msg.into(),
        }
    }

    #[test]
    fn blockers_fail_naming_each_and_the_rest_pass() {
        let mut data = Map::new();
        data.insert("installed_version".into(), json!("10.3"));
        let found = [
            finding(Severity::Blocker, "volume ec0 is Disperse"),
            finding(Severity::Warning, "quorum off"),
            finding(Severity::Blocker, "brick down"),
        ];
        let err = verdict(&found, "an online upgrade", data.clone()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "2 blocking finding(s) for an online upgrade: volume ec0 is Disperse; brick down"
        );
        let ok = verdict(&found[1..2], "an online upgrade", data).unwrap();
        assert_eq!(
            ok.msg,
            "no blocking findings for an online upgrade (1 finding(s) in all)"
        );
        assert_eq!(
            (ok.data["blocking"].clone(), ok.data["installed_version"].clone()),
            (json!(false), json!("10.3"))
        );
        assert_eq!(ok.data["findings"][0]["severity"], "warning");
    }
}
