//! The gluster CLI: `cli` runs it, `parse` turns its `--xml` output into typed data.
pub mod cli;
pub mod parse;
pub mod pool;

pub use cli::{default_timeout, Gluster};
