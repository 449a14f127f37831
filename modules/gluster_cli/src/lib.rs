//! The gluster CLI: `cli` runs it, `parse` turns its `--xml` output into typed data.
pub mod cli;
pub mod parse;

pub use cli::Gluster;
