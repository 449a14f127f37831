//! Gluster's model, pure: no I/O, no runtime (xtask/tests/invariants.rs checks it). `parse` turns
//! the gluster CLI's `--xml` output into typed data, `pool` joins it into the pool, `waves` plans
//! which servers may be upgraded together, `packages` reads the package tools' output and plans
//! what must move. Running gluster is keel-gluster-cli's; the package tools, gluster_install's.
pub mod clients;
pub mod packages;
pub mod parse;
pub mod pool;
pub mod releases;
pub mod rollback;
pub mod waves;
