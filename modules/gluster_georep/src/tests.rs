use std::path::Path;

use super::*;

fn fixture(dir: &str, name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gluster_cli/tests/fixtures")
        .join(dir)
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn rc(dir: &str, name: &str) -> i32 {
    fixture(dir, name).trim().parse().unwrap()
}

/// The one session of a 9.2 capture (gv0 -> 10.197.0.11::gsv0).
fn captured(file: &str) -> GeoRepSession {
    parse::parse_georep_status(&fixture("9.2", file)).unwrap().remove(0)
}

/// That session under another secondary volume.
fn other(mut s: GeoRepSession) -> GeoRepSession {
    s.secondary = "10.197.0.11::gsv1".into();
    s
}

fn rec(s: &GeoRepSession, paused: bool) -> Recorded {
    Recorded {
        primary_volume: s.primary_volume.clone(),
        secondary: s.secondary.clone(),
        paused,
    }
}

#[test]
fn no_session_is_only_the_captured_answer() {
    for v in ["9.2", "10.3", "11.1"] {
        let out = fixture(v, "georep-status.xml");
        assert_eq!(judge_status(rc(v, "georep-status.rc"), &out, ""), Ok(None), "{v}");
        // The same words with another exit code, or with more to say, are a failure.
        let err = judge_status(1, &out, "").unwrap_err();
        assert_eq!(err, "gluster answered rc 1 without XML: geo-replication command failed");
        assert!(judge_status(2, &out, "Error : Request timed out\n").is_err(), "{v}");
        assert!(judge_status(2, &format!("{out}Staging failed on node2\n"), "").is_err());
    }
    assert_eq!(
        judge_status(110, "", "Error : Request timed out\n").unwrap_err(),
        "gluster answered rc 110 without XML: Error : Request timed out"
    );
}

#[test]
fn an_xml_error_or_cut_output_is_a_failure_and_never_none() {
    // Captured on 10.3: glusterd's lock held by another server's transaction (rc 0, opRet -1).
    let busy = fixture("10.3", "lock-busy-volume-status-gv0-detail.xml");
    let err = judge_status(0, &busy, "").unwrap_err();
    assert!(err.contains("opRet -1") && err.contains("Another transaction"), "{err}");
    let running = fixture("9.2", "georep-session-running.xml");
    let cut: String = running.lines().take(4).collect::<Vec<_>>().join("\n");
    assert!(judge_status(0, &cut, "").unwrap_err().contains("not valid XML"));
    assert_eq!(
        judge_status(1, &running, "").unwrap_err(),
        "gluster answered rc 1 with its XML"
    );
    assert_eq!(judge_status(0, &running, "").unwrap().unwrap().len(), 1);
    // Built: a no-session error in the envelope reads as none (corroborated by the caller).
    let none = "<cliOutput><opRet>-1</opRet><opErrno>0</opErrno><opErrstr>No active geo-replication sessions</opErrstr></cliOutput>";
    assert_eq!(judge_status(0, none, ""), Ok(None));
}

#[test]
fn settled_means_every_worker_active_or_passive() {
    assert!(settled(&captured("georep-session-running.xml")));
    assert!(settled(&captured("georep-session-active-passive.xml")));
    for f in [
        "georep-session-faulty.xml",
        "georep-session-created.xml",
        "georep-session-paused.xml",
        "georep-session-stopped.xml",
    ] {
        assert!(!settled(&captured(f)), "{f}");
    }
    // Captured on 10.3: Active, Passive and one worker still Created.
    let ten = parse::parse_georep_status(&fixture("10.3", "georep-session-running.xml")).unwrap();
    assert!(!settled(&ten[0]));
    let mut none = captured("georep-session-running.xml");
    none.pairs.clear();
    assert!(!settled(&none), "a session without workers is not verified");
}

#[test]
fn a_checkpoint_is_done_when_every_active_worker_says_yes() {
    assert!(checkpoint_done(&captured("georep-session-checkpoint-completed.xml")));
    assert!(!checkpoint_done(&captured("georep-session-checkpoint-pending.xml")));
    assert!(
        !checkpoint_done(&captured("georep-session-active-passive.xml")),
        "none set"
    );
    assert!(
        !checkpoint_done(&captured("georep-session-faulty.xml")),
        "no Active worker"
    );
}

/// Scripted status answers (the last one repeats), verbs that fail, and a clock that moves only
/// when the code sleeps.
#[derive(Default)]
struct Fake {
    answers: Vec<Vec<GeoRepSession>>,
    polls: usize,
    fail: Vec<&'static str>,
    ran: Vec<String>,
    clock: Duration,
}

impl Pool for Fake {
    fn status(&mut self) -> Result<Vec<GeoRepSession>, ModuleError> {
        let i = self.polls.min(self.answers.len() - 1);
        self.polls += 1;
        Ok(self.answers[i].clone())
    }
    fn act(&mut self, r: &Recorded, verb: &str) -> Result<(), ModuleError> {
        self.ran.push(format!("{} {verb}", r.secondary));
        if self.fail.contains(&verb) {
            return Err(ModuleError::failed(format!("could not {verb}")));
        }
        Ok(())
    }
    fn checkpoint(&mut self, r: &Recorded) -> Result<(), ModuleError> {
        self.ran.push(format!("{} checkpoint", r.secondary));
        if self.fail.contains(&"checkpoint") {
            return Err(ModuleError::failed("could not checkpoint"));
        }
        Ok(())
    }
    fn elapsed(&self) -> Duration {
        self.clock
    }
    fn sleep(&mut self, pause: Duration) {
        self.clock += pause;
    }
}

const PLAN: Plan = Plan {
    timeout: Duration::from_secs(10),
    checkpoint: Some(Duration::from_secs(60)),
};

fn restored(o: &Outcome) -> Vec<String> {
    o.restored.iter().map(Recorded::name).collect()
}

#[test]
fn a_session_whose_start_failed_or_that_is_missing_stays_recorded() {
    let stopped = captured("georep-session-stopped.xml");
    let recorded = [
        rec(&stopped, false),
        rec(&other(stopped.clone()), false),
        Recorded {
            secondary: "gone::vol".into(),
            ..rec(&stopped, false)
        },
    ];
    let done = captured("georep-session-checkpoint-completed.xml");
    let mut fake = Fake {
        answers: vec![vec![done.clone(), other(done)]],
        fail: vec!["start"],
        ..Fake::default()
    };
    let o = restore(&mut fake, &recorded, &[stopped.clone(), other(stopped)], &PLAN).unwrap();
    assert!(o.restored.is_empty() && o.acted.is_empty() && !o.changed);
    assert_eq!(o.problems.len(), 3, "{:?}", o.problems);
    assert!(o.problems[2].contains("gone::vol"), "{:?}", o.problems);
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 start", "10.197.0.11::gsv1 start"]);
}

#[test]
fn workers_are_awaited_then_a_checkpoint_before_a_session_is_restored() {
    let stopped = captured("georep-session-stopped.xml");
    let mut starting = captured("georep-session-active-passive.xml");
    for p in &mut starting.pairs {
        p.status = "Initializing...".into();
    }
    let mut fake = Fake {
        answers: vec![
            vec![starting],
            vec![captured("georep-session-active-passive.xml")],
            vec![captured("georep-session-checkpoint-pending.xml")],
            vec![captured("georep-session-checkpoint-completed.xml")],
        ],
        ..Fake::default()
    };
    let o = restore(&mut fake, &[rec(&stopped, false)], &[stopped], &PLAN).unwrap();
    assert!(o.problems.is_empty(), "{:?}", o.problems);
    assert_eq!(restored(&o), ["gv0 -> 10.197.0.11::gsv0"]);
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 start", "10.197.0.11::gsv0 checkpoint"]);
    assert_eq!((fake.polls, fake.clock), (4, 2 * POLL), "one pause per wait");
}

#[test]
fn a_faulty_worker_fails_its_session_at_the_timeout_and_names_host_and_brick() {
    let stopped = captured("georep-session-stopped.xml");
    let mut faulty = captured("georep-session-active-passive.xml");
    faulty.pairs[2].status = "Faulty".into();
    let good = other(captured("georep-session-checkpoint-completed.xml"));
    let mut fake = Fake {
        answers: vec![vec![faulty, good]],
        ..Fake::default()
    };
    let all = [stopped.clone(), other(stopped.clone())];
    let recorded = [rec(&stopped, false), rec(&other(stopped), false)];
    let o = restore(&mut fake, &recorded, &all, &PLAN).unwrap();
    assert_eq!(fake.clock, PLAN.timeout, "waited the timeout, on the fake clock only");
    assert_eq!(restored(&o), ["gv0 -> 10.197.0.11::gsv1"]);
    assert_eq!(
        o.workers,
        [
            json!({"session": "gv0 -> 10.197.0.11::gsv0", "primary_node": "10.197.0.11",
            "primary_brick": "/bricks/gv0c", "status": "Faulty"})
        ]
    );
    assert!(
        o.problems[0].contains("gluster volume geo-replication gv0 10.197.0.11::gsv0 status detail")
            && o.problems[0].contains("/var/log/glusterfs/geo-replication/"),
        "{:?}",
        o.problems
    );
    assert!(!fake.ran.contains(&"10.197.0.11::gsv0 checkpoint".to_string()));
}

#[test]
fn a_checkpoint_that_never_completes_keeps_the_session_unless_turned_off() {
    let stopped = captured("georep-session-stopped.xml");
    let pending = || Fake {
        answers: vec![vec![captured("georep-session-checkpoint-pending.xml")]],
        ..Fake::default()
    };
    let mut fake = pending();
    let o = restore(
        &mut fake,
        &[rec(&stopped, false)],
        std::slice::from_ref(&stopped),
        &PLAN,
    )
    .unwrap();
    assert!(o.restored.is_empty());
    assert_eq!(o.checkpoint_pending, ["gv0 -> 10.197.0.11::gsv0"]);
    assert_eq!(fake.clock, Duration::from_secs(60));
    let mut fake = pending();
    let off = Plan {
        checkpoint: None,
        ..PLAN
    };
    let o = restore(&mut fake, &[rec(&stopped, false)], std::slice::from_ref(&stopped), &off).unwrap();
    assert_eq!(restored(&o), ["gv0 -> 10.197.0.11::gsv0"]);
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 start"]);
    let mut fake = pending();
    fake.fail = vec!["checkpoint"];
    let o = restore(&mut fake, &[rec(&stopped, false)], &[stopped], &PLAN).unwrap();
    assert!(o.restored.is_empty() && o.problems == ["could not checkpoint"]);
}

#[test]
fn a_paused_session_is_started_verified_then_paused_again_without_checkpoint() {
    let stopped = captured("georep-session-stopped.xml");
    let mut fake = Fake {
        answers: vec![vec![captured("georep-session-running.xml")]],
        ..Fake::default()
    };
    let o = restore(&mut fake, &[rec(&stopped, true)], &[stopped], &PLAN).unwrap();
    assert_eq!(restored(&o), ["gv0 -> 10.197.0.11::gsv0"]);
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 start", "10.197.0.11::gsv0 pause"]);
    // Recorded running but found paused (paused in between): resumed.
    let paused = captured("georep-session-paused.xml");
    let mut fake = Fake {
        answers: vec![vec![captured("georep-session-checkpoint-completed.xml")]],
        ..Fake::default()
    };
    let o = restore(&mut fake, &[rec(&paused, false)], std::slice::from_ref(&paused), &PLAN).unwrap();
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 resume", "10.197.0.11::gsv0 checkpoint"]);
    assert_eq!(restored(&o), ["gv0 -> 10.197.0.11::gsv0"]);
    // Recorded paused and still paused: as the operator left it, nothing to do.
    let mut fake = Fake {
        answers: vec![vec![]],
        ..Fake::default()
    };
    let o = restore(&mut fake, &[rec(&paused, true)], &[paused], &PLAN).unwrap();
    assert!(fake.ran.is_empty() && fake.polls == 0 && o.restored.len() == 1);
}
