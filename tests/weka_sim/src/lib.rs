//! A `weka` CLI simulator for Keel's tests (not shipped in the collection). WEKA cannot be
//! installed here, so this answers the commands Keel's modules run, in the output shapes of the
//! release it pretends to run, from ONE state file shared by every host (WEKA_SIM_STATE), so a
//! multi-host playbook sees one cluster. `weka-sim` creates the cluster and injects faults.
pub mod admin;
pub mod curl;
pub mod render;
pub mod state;
pub mod weka;
