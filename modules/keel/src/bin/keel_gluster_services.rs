//! `keel_gluster_services`: the Gluster module that stops and starts things on a server: its
//! processes and consumers (geo-replication has a binary of its own: keel_gluster_georep).

keel_runtime::binary!(
    keel_gluster_service::MODULE,
    keel_gluster_state::MODULE,
    keel_modules::selftest::MODULE,
);
