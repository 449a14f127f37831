//! `keel_gluster_heal`: counting, triggering and waiting for self-heal.

keel_runtime::binary!(keel_gluster_heal::MODULE, keel_modules::selftest::MODULE,);
