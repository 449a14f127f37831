//! `keel_gluster_node`: the Gluster modules that act on one server's processes and packages.

fn main() {
    keel_runtime::main(&[
        &keel_gluster_service::MODULE,
        &keel_gluster_install::MODULE,
        &keel_modules::selftest::MODULE,
    ]);
}
