//! The host as modules see it through /proc: processes (of the module's own PID namespace only)
//! and Gluster FUSE mounts. Pure readers of a /proc root, so tests use a fake one.
pub mod procs;
