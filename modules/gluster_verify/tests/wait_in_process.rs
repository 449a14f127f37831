//! gluster_verify's wait run in-process: gluster answers from the real captures (a transcript
//! mapped as tests/fake-bin's gluster maps them) and time is a fake clock, so the waits to the
//! timeout, the settle and the stuck handshake take no time at all.

use std::time::Duration;

use keel_gluster_cli::fixtures::transcript;
use keel_runtime::script::run_module;
use keel_runtime::FakeClock;
use serde_json::{json, Value};

/// Runs gluster_verify with `args` (a poll every second and a 2 s timeout unless given) on the
/// captures of `release` preferring `prefixes`; the result and the clock.
fn verify(args: Value, release: &str, prefixes: &[&str], mode: &str) -> (Value, FakeClock) {
    let mut all = json!({"poll_interval": 1, "timeout": 2, "_ansible_check_mode": false});
    all.as_object_mut().unwrap().extend(args.as_object().unwrap().clone());
    let clock = FakeClock::default();
    let v = run_module(
        &keel_gluster_verify::MODULE,
        &all,
        &transcript(release, prefixes, mode),
        &clock,
    );
    (v, clock)
}

#[test]
fn a_whole_pool_at_the_expected_release_passes_at_the_first_look() {
    let (v, clock) = verify(json!({"version": "11.1"}), "11.1", &[], "");
    assert_eq!(
        (&v["failed"], &v["changed"], &v["whole"]),
        (&json!(false), &json!(false), &json!(true)),
        "{v}"
    );
    assert_eq!(v["version"]["text"], "11.1");
    assert_eq!(clock.sleeps(), Vec::<Duration>::new(), "no wait");
}

#[test]
fn a_pool_that_stays_degraded_is_named_at_the_timeout() {
    let (v, clock) = verify(json!({"version": "11.1"}), "10.3", &["degraded-"], "");
    assert_eq!(v["failed"], true, "{v}");
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.starts_with("the pool is not whole after 2 s"), "{msg}");
    assert!(msg.contains("this server runs Gluster 10.3, expected 11.1"), "{msg}");
    assert!(msg.contains("peer 10.198.0.13 is disconnected"), "{msg}");
    assert!(
        msg.contains("brick 10.198.0.13:/bricks/gv0 of volume gv0 is offline"),
        "{msg}"
    );
    // A look every poll_interval until the timeout: three looks, two pauses.
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1); 2]);
}

#[test]
fn a_pool_that_looks_whole_is_watched_for_the_settle_before_it_counts() {
    // The settle outlasts the timeout: it looked whole, but not for long enough.
    let (v, _) = verify(json!({"version": "11.1", "settle": 30}), "11.1", &[], "");
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(
        v["msg"], "the pool is not whole after 2 s: the pool looks whole; watching it for 3 s",
        "{v}"
    );
    assert_eq!(v["whole"], false, "{v}");
    // With time for it, the pool counts as whole once it has looked whole for the confirmation.
    let (v, clock) = verify(
        json!({"version": "11.1", "settle": 30, "timeout": 600}),
        "11.1",
        &[],
        "",
    );
    assert_eq!((&v["failed"], &v["whole"]), (&json!(false), &json!(true)), "{v}");
    assert_eq!(v["waited_s"], 3, "{v}");
    assert_eq!(clock.elapsed(), Duration::from_secs(3));
}

#[test]
fn a_handshake_that_outlasts_the_settle_goes_to_a_restart_not_to_the_timeout() {
    let (v, clock) = verify(
        json!({"timeout": 600, "settle": 1, "offer_remedy": true}),
        "11.1",
        &["handshake-"],
        "",
    );
    assert_eq!(v["failed"], false, "{v}");
    assert_eq!(v["remedy"], "restart", "{v}");
    assert_eq!(
        v["stuck"],
        json!(["peer 10.198.0.12 is 'Accepted peer request'"]),
        "{v}"
    );
    assert!(v["waited_s"].as_u64().unwrap() < 10, "{v}");
    assert!(clock.elapsed() < Duration::from_secs(10), "{:?}", clock.elapsed());
    let (v, _) = verify(
        json!({"timeout": 600, "offer_remedy": true, "remedies_applied": ["restart"]}),
        "11.1",
        &["handshake-"],
        "",
    );
    assert_eq!((&v["failed"], &v["remedy"]), (&json!(true), &Value::Null), "{v}");
}

#[test]
fn glusterd_not_answering_is_waited_for_then_named() {
    let (v, clock) = verify(json!({}), "10.3", &[], "no-glusterd");
    assert_eq!(v["failed"], true, "{v}");
    assert!(v["msg"].as_str().unwrap().contains("glusterd is not running"), "{v}");
    assert_eq!(clock.elapsed(), Duration::from_secs(2), "waited to the timeout");
}
