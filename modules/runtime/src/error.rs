//! Every way a module can fail, each carrying a message an operator can act on.

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The task's options are wrong: the message names the option and what is valid.
    #[error("{0}")]
    InvalidArgs(String),
    /// A program the module needs is not installed on the target.
    #[error("the '{program}' command was not found on this host (searched PATH={path}). {hint}")]
    NotFound {
        program: String,
        path: String,
        hint: String,
    },
    /// A command ran and failed; its output goes back to the operator.
    #[error("{msg}")]
    Command {
        msg: String,
        output: Box<crate::command::Output>,
    },
    #[error("'{cmd}' did not finish within {seconds} s and was killed; raise the module's timeout option if it is just slow")]
    Timeout { cmd: String, seconds: u64 },
    /// A command that must not be interrupted (a package manager's transaction) outlived its
    /// timeout: the module stopped waiting, the command goes on; its output goes to two files.
    #[error(
        "'{cmd}' did not finish within {seconds} s and was left running (pid {pid}), not killed: interrupting it \
         could leave its work half done. Wait for pid {pid} to finish (its output goes to {stdout} and {stderr})"
    )]
    LeftRunning {
        cmd: String,
        seconds: u64,
        pid: u32,
        stdout: String,
        stderr: String,
    },
    /// Any other failure; `data` is returned beside `msg` (findings, counts, ...).
    #[error("{msg}")]
    Failed { msg: String, data: Map<String, Value> },
}

impl ModuleError {
    pub fn invalid_args(msg: impl Into<String>) -> Self {
        ModuleError::InvalidArgs(msg.into())
    }
    pub fn failed(msg: impl Into<String>) -> Self {
        ModuleError::Failed {
            msg: msg.into(),
            data: Map::new(),
        }
    }
    pub fn failed_with(msg: impl Into<String>, data: Map<String, Value>) -> Self {
        ModuleError::Failed { msg: msg.into(), data }
    }
    /// A command failure whose message explains what the command was for.
    pub fn command(msg: impl Into<String>, output: crate::command::Output) -> Self {
        ModuleError::Command {
            msg: msg.into(),
            output: Box::new(output),
        }
    }
}

/// For a command whose limit is the module option `option` rather than `timeout`: a timeout
/// names that option (`Timeout`'s own message points at `timeout`, which would not help), then
/// `after`, what the kill may have left behind.
pub fn timeout_of<'a>(option: &'a str, after: &'a str) -> impl Fn(ModuleError) -> ModuleError + 'a {
    move |e| match e {
        ModuleError::Timeout { cmd, seconds } => {
            let mut data = serde_json::Map::new();
            data.insert("cmd".into(), serde_json::Value::String(cmd.clone()));
            ModuleError::failed_with(
                format!(
                    "'{cmd}' did not finish within {seconds} s ({option}) and was killed{after}; raise {option} if it \
                     is just slow"
                ),
                data,
            )
        }
        other => other,
    }
}
