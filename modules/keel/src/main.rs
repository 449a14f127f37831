//! `keel`: one static binary holding every keel.storage module. The collection's dispatch
//! action plugin copies it to the target and names the module in `_keel_module`; one binary
//! instead of one per module keeps the collection small as modules multiply.

mod selftest;

fn main() {
    keel_runtime::main(&[
        &keel_gluster_facts::MODULE,
        &keel_gluster_precheck::MODULE,
        &keel_gluster_op_version::MODULE,
        &keel_gluster_heal::MODULE,
        &keel_gluster_verify::MODULE,
        &selftest::MODULE,
    ]);
}
