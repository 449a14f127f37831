//! gluster_heal's wait run in-process: gluster answers from the real captures (a transcript
//! mapped as tests/fake-bin's gluster maps them) and time is a fake clock: a brick down past its
//! grace and a heal past its timeout take no time at all.

use std::time::Duration;

use keel_gluster_cli::fixtures::transcript;
use keel_runtime::script::run_module;
use keel_runtime::FakeClock;
use serde_json::{json, Value};

fn heal(args: Value, prefixes: &[&str]) -> (Value, FakeClock) {
    let clock = FakeClock::default();
    let v = run_module(
        &keel_gluster_heal::MODULE,
        &args,
        &transcript("10.3", prefixes, ""),
        &clock,
    );
    (v, clock)
}

#[test]
fn a_brick_that_stays_down_past_its_grace_is_stuck() {
    let (v, clock) = heal(
        json!({"volumes": ["gv0"], "poll_interval": 1, "brick_down_grace": 2}),
        &["degraded-"],
    );
    assert_eq!((&v["failed"], &v["stuck"]), (&json!(true), &json!(true)), "{v}");
    assert_eq!(v["bricks_down"], json!(["10.198.0.13:/bricks/gv0"]), "{v}");
    assert_eq!(v["pending_total"], 56);
    // Counted every poll_interval until the grace had passed.
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1); 2]);
}

#[test]
fn a_heal_that_does_not_finish_gives_up_at_the_timeout_with_the_counts() {
    // Shorter than the grace after which a down brick fails the wait.
    let (v, clock) = heal(
        json!({"volumes": ["gv0"], "poll_interval": 1, "wait_timeout": "1s"}),
        &["degraded-"],
    );
    assert_eq!(v["failed"], true, "{v}");
    assert_eq!(
        v["msg"], "heal did not finish within 1 s: gv0: 56 pending, 1 brick(s) down",
        "{v}"
    );
    assert_eq!(v["pending_total"], 56, "{v}");
    assert_eq!(v["stuck"], false, "{v}");
    assert_eq!(clock.elapsed(), Duration::from_secs(1));
}

#[test]
fn a_healthy_volume_is_triggered_and_healed_without_a_wait() {
    let (v, clock) = heal(json!({}), &[]);
    assert_eq!((&v["failed"], &v["healed"]), (&json!(false), &json!(true)), "{v}");
    assert!(
        v["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "gluster --mode=script --timeout=120 volume heal gv0"),
        "{v}"
    );
    assert_eq!(clock.elapsed(), Duration::ZERO);
}
