//! WEKA's model, pure: no I/O, no runtime (xtask/tests/invariants.rs checks it). `parse` reads the
//! weka CLI's output, `cluster` is the cluster it describes, `version` orders WEKA releases,
//! `paths` plans upgrade hops from the collection's data file (compiled in). Running weka is
//! keel-weka-cli's.
pub mod cluster;
pub mod parse;
pub mod paths;
pub mod version;

pub use cluster::Cluster;
pub use version::WekaVersion;
