//! The Ansible binary-module protocol, shared by every keel.storage module: the args file,
//! option validation and coercion, check/diff mode, the JSON result, secret masking and a
//! shell-free command runner. ARCHITECTURE.md describes the protocol.

pub mod args;
pub mod clock;
pub mod command;
pub mod error;
pub mod findings;
pub mod masking;
pub mod module;
pub mod result;
pub mod script;
pub mod spec;

pub use args::{into_typed, AnsibleContext};
pub use clock::{Clock, FakeClock, Moment, Poll};
pub use command::{Commands, Output};
pub use error::ModuleError;
pub use module::{main, Ctx, ModuleDef};
pub use result::ModuleResult;
pub use spec::{Attribute, DefaultValue, Fragment, Kind, Opt, READ_ONLY_ATTRIBUTES};

/// A multi-call binary: its `main`, with its modules one line each. Their specs are taken
/// without the documentation text (`ModuleDef::shipped`, evaluated at compile time) unless the
/// build has the `docs` feature.
#[macro_export]
macro_rules! binary {
    ($($module:path),+ $(,)?) => {
        fn main() {
            const MODULES: &[&$crate::ModuleDef] = &[$(&$module.shipped()),+];
            $crate::main(MODULES)
        }
    };
}
