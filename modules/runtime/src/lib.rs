//! The Ansible binary-module protocol, shared by every keel.storage module: the args file,
//! option validation and coercion, check/diff mode, the JSON result, secret masking and a
//! shell-free command runner. ARCHITECTURE.md describes the protocol.

pub mod args;
pub mod command;
pub mod error;
pub mod findings;
pub mod masking;
pub mod module;
pub mod result;

pub use args::{into_typed, AnsibleContext, Kind, Opt};
pub use command::Output;
pub use error::ModuleError;
pub use module::{main, Ctx, ModuleDef};
pub use result::ModuleResult;
