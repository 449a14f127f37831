//! `keel_gluster_packages`: the Gluster module that moves a host's packages to a release.

fn main() {
    keel_runtime::main(&[&keel_gluster_install::MODULE, &keel_modules::selftest::MODULE]);
}
