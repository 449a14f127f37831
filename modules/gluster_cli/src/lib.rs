//! The gluster CLI: `cli` runs it, `parse` turns its `--xml` output into typed data; `waves` plans
//! which servers may be upgraded together (pure).
pub mod cli;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod parse;
pub mod pool;
pub mod waves;

pub use cli::{default_timeout, Gluster};
