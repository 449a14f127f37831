//! `keel_gluster_heal`: counting, triggering and waiting for self-heal.

fn main() {
    keel_runtime::main(&[&keel_gluster_heal::MODULE, &keel_modules::selftest::MODULE]);
}
