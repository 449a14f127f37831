//! `keel_gluster_georep`: the geo-replication sessions stopped and started around an upgrade.

fn main() {
    keel_runtime::main(&[&keel_gluster_georep::MODULE, &keel_modules::selftest::MODULE]);
}
