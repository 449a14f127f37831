//! The weka CLI: `cli` runs it with credentials, `parse` reads its output, `version` orders
//! WEKA releases, `paths` plans upgrade hops from the collection's data file.
pub mod cli;
pub mod parse;
pub mod paths;
pub mod version;

pub use cli::{default_timeout, path_table, version_option, wait_data_upgrade, Cluster, Common, Weka};
pub use version::WekaVersion;
