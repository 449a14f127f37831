//! The host as modules see it through /proc: processes (of the module's own PID namespace only)
//! and Gluster FUSE mounts, pure readers of a /proc root, so tests use a fake one; and the
//! records modules keep on the host between runs.
pub mod procs;
pub mod record;
