use std::collections::BTreeMap;

use keel_gluster_cli::parse::{parse_heal_entries, parse_heal_summary, parse_volume_info};

use super::*;

macro_rules! fixture {
    ($dir:literal, $name:literal) => {
        include_str!(concat!("../../gluster_model/tests/fixtures/", $dir, "/", $name))
    };
}

const HEALTHY: &str = fixture!("10.3", "heal-gv0-info-summary.xml");
const DEGRADED: &str = fixture!("10.3", "degraded-heal-gv0-info-summary.xml");
const UNKNOWN: &str = fixture!("10.3", "unknown-heal-gv0-info-summary.xml");
const MISSING: &str = fixture!("10.3", "missing-heal-gv0-info-summary.xml");
const HEALING: &str = fixture!("10.3", "healing-heal-gv0-info-summary.xml");
const SPLIT: &str = fixture!("10.3", "splitbrain-heal-sb0-info-summary.xml");

/// The bricks volume info gives gv0 (or sb0) on the captured pools.
fn bricks_of(volume: &str) -> Vec<String> {
    let info = if volume == "sb0" {
        fixture!("10.3", "splitbrain-volume-info.xml")
    } else {
        fixture!("10.3", "volume-info.xml")
    };
    let infos = parse_volume_info(info).unwrap();
    select(&infos, &[volume.to_string()]).unwrap().remove(0).1
}

fn gv0(xml: &str) -> VolumeCounts {
    counts(&bricks_of("gv0"), parse_heal_summary(xml).unwrap())
}

fn output(rc: i32, text: &str) -> Output {
    Output {
        cmd: "gluster volume heal".into(),
        rc,
        stdout: text.into(),
        stderr: String::new(),
        duration_ms: 0,
    }
}

/// A pool answering captured summaries in turn (the last one repeats), with a clock that moves
/// only when the loop sleeps.
#[derive(Default)]
struct Fake {
    summaries: BTreeMap<String, Vec<&'static str>>,
    reads: BTreeMap<String, usize>,
    /// Trigger answers in turn; success once they run out.
    refusals: Vec<Output>,
    triggered: Vec<String>,
    clock: Duration,
    slept: Vec<u64>,
}

impl Fake {
    fn new(volume: &str, summaries: &[&'static str]) -> Fake {
        Fake {
            summaries: BTreeMap::from([(volume.to_string(), summaries.to_vec())]),
            ..Fake::default()
        }
    }
}

impl Cluster for Fake {
    fn summary(&mut self, volume: &str) -> Result<Vec<BrickHeal>, ModuleError> {
        let n = self.reads.entry(volume.to_string()).or_default();
        let all = &self.summaries[volume];
        let xml = all[(*n).min(all.len() - 1)];
        *n += 1;
        Ok(parse_heal_summary(xml).unwrap())
    }
    fn trigger(&mut self, volume: &str) -> Result<Output, ModuleError> {
        self.triggered.push(volume.to_string());
        Ok(if self.refusals.is_empty() {
            output(0, "")
        } else {
            self.refusals.remove(0)
        })
    }
    fn split_brain_entries(&mut self, _volume: &str, limit: usize) -> Vec<String> {
        parse_heal_entries(fixture!("10.3", "splitbrain-heal-sb0-info-split-brain.xml"), limit).unwrap()
    }
    fn elapsed(&self) -> Duration {
        self.clock
    }
    fn sleep(&mut self, pause: Duration) {
        self.clock += pause;
        self.slept.push(pause.as_secs());
    }
}

fn plan(volumes: &[&str]) -> Plan {
    Plan {
        volumes: volumes.iter().map(|v| (v.to_string(), bricks_of(v))).collect(),
        trigger: true,
        wait: false,
        check_mode: false,
        wait_timeout: Duration::from_secs(1800),
        poll_interval: Duration::from_secs(10),
        brick_down_grace: Duration::from_secs(30),
        report_entries: 3,
    }
}

/// The data of a failure the loop returned.
fn failure(e: ModuleError) -> Map<String, Value> {
    match e {
        ModuleError::Failed { data, .. } => data,
        other => panic!("not a failure with data: {other:?}"),
    }
}

#[test]
fn every_brick_of_a_healthy_capture_answers_zero() {
    let c = gv0(HEALTHY);
    assert!(c.healed, "{c:?}");
    assert!(c.bricks_unknown.is_empty());
}

#[test]
fn a_count_printed_as_a_dash_is_unknown_not_zero() {
    let c = gv0(UNKNOWN);
    assert!(!c.healed, "{c:?}");
    assert_eq!((c.pending, c.split_brain, c.possibly_healing), (0, 0, 0));
    assert_eq!(
        c.bricks_unknown.keys().collect::<Vec<_>>(),
        ["10.198.0.13:/bricks/gv0"],
        "{c:?}"
    );
    assert!(c.bricks_down.is_empty(), "connected, so not down");
}

#[test]
fn a_brick_missing_from_the_summary_is_unknown() {
    let c = gv0(MISSING);
    assert!(!c.healed, "{c:?}");
    assert_eq!(c.bricks_unknown.keys().collect::<Vec<_>>(), ["10.198.0.13:/bricks/gv0"]);
}

#[test]
fn an_entry_possibly_healing_is_not_healed() {
    let c = gv0(HEALING);
    assert!(!c.healed, "{c:?}");
    assert_eq!((c.pending, c.possibly_healing), (0, 1));
}

#[test]
fn a_down_brick_is_unknown_with_gluster_s_reason() {
    let c = gv0(DEGRADED);
    assert!(!c.healed);
    assert_eq!(c.pending, 56);
    assert_eq!(c.bricks_down, ["10.198.0.13:/bricks/gv0"]);
    assert_eq!(
        c.bricks_unknown["10.198.0.13:/bricks/gv0"],
        "Failed to process entries completely. (Transport endpoint is not connected)totalNumberOfEntries0"
    );
}

#[test]
fn every_volume_is_triggered_even_with_nothing_pending() {
    let mut f = Fake::default();
    for v in ["arb0", "gv0"] {
        f.summaries.insert(v.into(), vec![HEALTHY]);
    }
    let mut p = plan(&["gv0"]);
    p.volumes.push(("arb0".into(), Vec::new()));
    let out = heal(&mut f, &p).unwrap();
    assert!(out.healed() && !out.backlog);
    assert_eq!(f.triggered, ["arb0", "gv0"]);
    assert_eq!(out.triggered, ["arb0", "gv0"]);
    assert!(f.slept.is_empty(), "wait false returns without sleeping");
}

#[test]
fn check_mode_counts_and_triggers_nothing() {
    let mut f = Fake::new("gv0", &[HEALING]);
    let mut p = plan(&["gv0"]);
    p.check_mode = true;
    p.wait = true;
    let out = heal(&mut f, &p).unwrap();
    assert!(f.triggered.is_empty());
    assert_eq!(out.would_trigger, ["gv0"]);
    assert!(out.triggered.is_empty() && !out.healed());
    assert!(f.slept.is_empty(), "check mode does not wait");
}

#[test]
fn a_brick_back_within_its_grace_is_triggered_and_no_failure() {
    let mut f = Fake::new("gv0", &[DEGRADED, DEGRADED, HEALTHY]);
    let out = heal(&mut f, &plan(&["gv0"])).unwrap();
    assert!(out.healed() && out.backlog);
    assert_eq!(f.slept, [5, 5], "looked again every 5 s");
    assert_eq!(f.triggered, ["gv0"], "only once its brick is back");
}

#[test]
fn a_brick_still_down_after_its_grace_is_stuck() {
    let mut f = Fake::new("gv0", &[DEGRADED]);
    let d = failure(heal(&mut f, &plan(&["gv0"])).unwrap_err());
    assert_eq!(f.clock, Duration::from_secs(30), "the grace, on the fake clock");
    assert_eq!(
        (&d["stuck"], &d["healed"], &d["stuck_reasons"]),
        (&json!(true), &json!(false), &json!(["bricks_down"]))
    );
    assert_eq!(d["bricks_down"], json!(["10.198.0.13:/bricks/gv0"]));
    assert_eq!(d["pending_total"], 56);
    assert!(f.triggered.is_empty(), "gluster refuses the trigger anyway");
}

#[test]
fn a_volume_whose_bricks_all_answer_is_triggered_while_another_waits_for_its_brick() {
    let mut f = Fake::new("gv0", &[DEGRADED]);
    f.summaries.insert("arb0".into(), vec![HEALTHY]);
    let mut p = plan(&["gv0"]);
    p.volumes.push(("arb0".into(), Vec::new()));
    let d = failure(heal(&mut f, &p).unwrap_err());
    assert_eq!(f.triggered, ["arb0"], "once, not at each look during the grace");
    assert_eq!((&d["stuck"], &d["triggered"]), (&json!(true), &json!(["arb0"])));
}

#[test]
fn no_grace_makes_a_down_brick_stuck_at_once() {
    let mut f = Fake::new("gv0", &[DEGRADED]);
    let mut p = plan(&["gv0"]);
    p.brick_down_grace = Duration::ZERO;
    let d = failure(heal(&mut f, &p).unwrap_err());
    assert_eq!(d["stuck"], true);
    assert!(f.slept.is_empty());
}

#[test]
fn split_brain_is_stuck_at_once_with_its_entries() {
    let mut f = Fake::new("sb0", &[SPLIT]);
    let d = failure(heal(&mut f, &plan(&["sb0"])).unwrap_err());
    assert!(f.slept.is_empty() && f.triggered.is_empty());
    assert_eq!(
        (&d["stuck"], &d["healed"], &d["stuck_reasons"]),
        (&json!(true), &json!(false), &json!(["split_brain"]))
    );
    assert_eq!(d["split_brain"]["sb0"]["entries"], json!(["/", "/f4", "/f1"]));
    assert_eq!(d["split_brain"]["sb0"]["bricks"]["10.196.0.12:/bricks/sb0"], 4);
    assert_eq!(d["bricks_down"], json!([]));
}

#[test]
fn wait_counts_again_until_healed() {
    let mut f = Fake::new("gv0", &[HEALING, HEALING, HEALTHY]);
    let mut p = plan(&["gv0"]);
    p.wait = true;
    let out = heal(&mut f, &p).unwrap();
    assert!(out.healed() && out.backlog);
    assert_eq!(f.slept, [10, 10]);
    assert_eq!(f.triggered, ["gv0"], "once per run");
}

#[test]
fn wait_with_a_count_never_known_ends_at_the_wait_timeout_not_stuck() {
    let mut f = Fake::new("gv0", &[UNKNOWN]);
    let mut p = plan(&["gv0"]);
    p.wait = true;
    p.wait_timeout = Duration::from_secs(25);
    let d = failure(heal(&mut f, &p).unwrap_err());
    assert_eq!(f.slept, [10, 10, 5]);
    assert_eq!((&d["stuck"], &d["healed"]), (&json!(false), &json!(false)));
    assert_eq!(d["elapsed_s"], 25);
}

#[test]
fn a_trigger_refused_while_the_daemon_starts_is_tried_again() {
    let mut f = Fake::new("gv0", &[HEALTHY]);
    f.refusals = vec![output(
        1,
        "Self-heal daemon is not running. Check self-heal daemon log file.",
    )];
    heal(&mut f, &plan(&["gv0"])).unwrap();
    assert_eq!(f.triggered, ["gv0", "gv0"]);
    assert_eq!(f.slept, [2]);
}

#[test]
fn a_disabled_self_heal_daemon_is_refused_for_good_with_the_remedy() {
    // What 10.3 printed on stderr (rc 1) for `volume heal sb0` with the daemon disabled.
    let text = fixture!("10.3", "splitbrain-shd-off-heal-sb0-trigger.stderr");
    let msg = refused_for_good("sb0", text).unwrap();
    assert!(
        msg.contains("gluster volume set sb0 cluster.self-heal-daemon on"),
        "{msg}"
    );
    assert_eq!(refused_for_good("gv0", "Self-heal daemon is not running"), None);
}

#[test]
fn a_trigger_is_retried_for_a_minute_only_while_the_self_heal_daemon_comes_up() {
    let second = Duration::from_secs(1);
    let shd_off = fixture!("10.3", "splitbrain-shd-off-heal-sb0-trigger.stderr");
    let msg = trigger_refused("sb0", shd_off, second).unwrap();
    assert!(msg.starts_with("the self-heal daemon of sb0 is disabled"), "{msg}");
    // Seen on a 10.3 + 11.1 pool right after the upgraded server's glusterd started.
    let commit = "Commit failed on 10.198.0.12. Please check log file for details.";
    assert_eq!(trigger_refused("gv0", commit, second), None, "retried");
    assert_eq!(
        trigger_refused("gv0", commit, Duration::from_secs(61)).unwrap(),
        "could not trigger heal on gv0: Commit failed on 10.198.0.12. Please check log file for details."
    );
    let other = "Launching heal operation to perform index self heal on volume gv0 has been unsuccessful:\n\
                 Volume gv0 is not started.\n";
    assert!(
        trigger_refused("gv0", other, second)
            .unwrap()
            .starts_with("could not trigger heal on gv0: Launching heal operation"),
        "anything else fails at once"
    );
}
