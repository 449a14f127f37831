//! `keel_weka_cluster`: the WEKA modules that read, plan, judge and verify the cluster as a whole.

keel_runtime::binary!(
    keel_weka_facts::MODULE,
    keel_weka_upgrade_path::MODULE,
    keel_weka_precheck::MODULE,
    keel_weka_verify::MODULE,
    keel_modules::selftest::MODULE,
);
