//! `keel_gluster_cluster`: the Gluster modules that read and judge the pool as a whole and raise
//! its op-version (the waits between steps are keel_gluster_waits').

keel_runtime::binary!(
    keel_gluster_facts::MODULE,
    keel_gluster_precheck::MODULE,
    keel_gluster_op_version::MODULE,
    keel_modules::selftest::MODULE,
);
