//! `keel_weka_node`: the WEKA modules that change one host (a release downloaded or installed,
//! the upgrade started from one backend, a client upgraded).

keel_runtime::binary!(
    keel_weka_version::MODULE,
    keel_weka_upgrade::MODULE,
    keel_weka_client_upgrade::MODULE,
    keel_modules::selftest::MODULE,
);
