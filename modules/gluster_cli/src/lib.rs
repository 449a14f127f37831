//! The gluster CLI: `cli` runs it, `parse` turns its `--xml` output into typed data.
pub mod cli;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod parse;
pub mod pool;

pub use cli::{default_timeout, Gluster};
