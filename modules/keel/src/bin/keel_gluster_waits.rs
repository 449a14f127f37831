//! `keel_gluster_waits`: the Gluster modules the playbooks wait on between steps, one look per
//! call: the pool whole (gluster_verify) and heal done (gluster_heal).

keel_runtime::binary!(
    keel_gluster_verify::MODULE,
    keel_gluster_heal::MODULE,
    keel_modules::selftest::MODULE,
);
