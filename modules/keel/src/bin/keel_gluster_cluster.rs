//! `keel_gluster_cluster`: the Gluster modules that read, judge and change the pool as a whole
//! (heal has a binary of its own: keel_gluster_heal).

keel_runtime::binary!(
    keel_gluster_facts::MODULE,
    keel_gluster_precheck::MODULE,
    keel_gluster_op_version::MODULE,
    keel_gluster_verify::MODULE,
    keel_modules::selftest::MODULE,
);
