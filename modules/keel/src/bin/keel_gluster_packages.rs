//! `keel_gluster_packages`: the Gluster module that moves a host's packages to a release.

keel_runtime::binary!(keel_gluster_install::MODULE, keel_modules::selftest::MODULE,);
