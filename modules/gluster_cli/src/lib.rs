//! The gluster CLI: `cli` runs it, `pool::gather` asks it for the whole pool. What its output
//! means (`parse`, `pool`, `waves`, `clients`) is keel-gluster-model's, re-exported here.
pub mod cli;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod gather;

pub use keel_gluster_model::{clients, parse, releases, waves};

/// The pool (keel-gluster-model's) and asking gluster for it.
pub mod pool {
    pub use crate::gather::{gather, max_op_version};
    pub use keel_gluster_model::pool::*;
}

pub use cli::Gluster;
