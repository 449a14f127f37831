//! The weka CLI: `cli` runs it with credentials. What its output means (`parse`, `cluster`),
//! WEKA releases (`version`) and upgrade hops (`paths`) are keel-weka-model's, re-exported here.
pub mod cli;

pub use keel_weka_model::{cluster, parse, paths, version};

pub use cli::{path_table, version_option, wait_data_upgrade, Cluster, Common, Weka};
pub use version::WekaVersion;
