//! gluster_op_version run in-process on the real captures (a transcript mapped as tests/fake-bin's
//! gluster maps them) and a fake clock: the retries a second apart take no time.

use std::time::Duration;

use keel_gluster_cli::fixtures::transcript;
use keel_runtime::script::run_module;
use keel_runtime::FakeClock;
use serde_json::json;

#[test]
fn op_version_refuses_when_glusterd_will_not_tell_the_max() {
    let clock = FakeClock::default();
    let v = run_module(
        &keel_gluster_op_version::MODULE,
        &json!({"_ansible_diff": true}),
        &transcript("11.1", &[], "no-max-op-version"),
        &clock,
    );
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(
        v["msg"],
        "glusterd would not report cluster.max-op-version (it does not for a while after peers reconnect); retry in \
         a minute",
        "{v}"
    );
    assert!(
        v["warnings"][0].as_str().unwrap().contains(
            "max-op-version unknown: cannot read the output of gluster cluster.max-op-version: gluster reported an \
             error (opRet -2, opErrno 0): option cluster.max-op-version does not exist"
        ),
        "{v}"
    );
    let asked = v["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.as_str().unwrap().ends_with("cluster.max-op-version"))
        .count();
    assert_eq!(asked, 5, "asked five times: {v}");
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1); 4], "a second apart");
}
