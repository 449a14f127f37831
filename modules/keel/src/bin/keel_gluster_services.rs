//! `keel_gluster_services`: the Gluster modules that stop and start things on a server: its
//! processes and consumers, and the geo-replication sessions that run from its pool.

fn main() {
    keel_runtime::main(&[
        &keel_gluster_service::MODULE,
        &keel_gluster_georep::MODULE,
        &keel_modules::selftest::MODULE,
    ]);
}
