//! `keel_gluster_georep`: the geo-replication sessions stopped and started around an upgrade.

keel_runtime::binary!(keel_gluster_georep::MODULE, keel_modules::selftest::MODULE,);
