use std::path::Path;

use super::*;

fn fixture(dir: &str, name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gluster_model/tests/fixtures")
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
        progress: None,
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
/// when the code sleeps (or a test moves it).
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
    fn now(&self) -> Duration {
        self.clock
    }
    fn sleep(&mut self, pause: Duration) {
        self.clock += pause;
    }
}

const PLAN: Plan = Plan {
    timeout: Duration::from_secs(10),
    checkpoint: Some(Duration::from_secs(60)),
    wait_id: None,
};

/// `restore` within one call on a copy of `recorded`: what it did, and the record after it.
fn within(fake: &mut Fake, recorded: &[Recorded], all: &[GeoRepSession], plan: &Plan) -> (Outcome, Vec<Recorded>) {
    let mut now = recorded.to_vec();
    let o = restore(fake, &mut now, all, plan).unwrap();
    (o, now)
}

/// The sessions verified in the wait `id` ("" within one call).
fn restored(now: &[Recorded], id: &str) -> Vec<String> {
    now.iter().filter(|r| r.done_in(id)).map(Recorded::name).collect()
}

/// The phase of the first session in the wait `id`.
fn phase(now: &[Recorded], id: &str) -> Option<Phase> {
    now[0].progress_in(id).map(|p| p.phase.clone())
}

/// A session whose workers are still starting.
fn initializing() -> GeoRepSession {
    let mut s = captured("georep-session-active-passive.xml");
    for p in &mut s.pairs {
        p.status = "Initializing...".into();
    }
    s
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
    let (o, now) = within(&mut fake, &recorded, &[stopped.clone(), other(stopped)], &PLAN);
    assert!(restored(&now, "").is_empty() && o.acted.is_empty() && !o.changed);
    assert_eq!(o.problems.len(), 3, "{:?}", o.problems);
    assert!(o.problems[2].contains("gone::vol"), "{:?}", o.problems);
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 start", "10.197.0.11::gsv1 start"]);
    assert_eq!(fake.polls, 0, "nothing left to wait for");
}

#[test]
fn workers_are_awaited_then_a_checkpoint_before_a_session_is_restored() {
    let stopped = captured("georep-session-stopped.xml");
    let mut fake = Fake {
        answers: vec![
            vec![initializing()],
            vec![captured("georep-session-active-passive.xml")],
            vec![captured("georep-session-checkpoint-pending.xml")],
            vec![captured("georep-session-checkpoint-completed.xml")],
        ],
        ..Fake::default()
    };
    let (o, now) = within(&mut fake, &[rec(&stopped, false)], &[stopped], &PLAN);
    assert!(o.problems.is_empty() && o.waiting.is_empty(), "{:?}", o.problems);
    assert_eq!(restored(&now, ""), ["gv0 -> 10.197.0.11::gsv0"]);
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 start", "10.197.0.11::gsv0 checkpoint"]);
    assert_eq!(
        (fake.polls, fake.clock),
        (4, 2 * POLL),
        "no pause after a look that acted, one after each that saw nothing new"
    );
}

#[test]
fn a_faulty_worker_fails_its_session_at_the_timeout_and_names_host_and_brick() {
    let stopped = captured("georep-session-stopped.xml");
    let mut faulty = captured("georep-session-active-passive.xml");
    faulty.pairs[2].status = "Faulty".into();
    let mut fake = Fake {
        answers: vec![
            vec![faulty.clone(), other(captured("georep-session-active-passive.xml"))],
            vec![faulty, other(captured("georep-session-checkpoint-completed.xml"))],
        ],
        ..Fake::default()
    };
    let all = [stopped.clone(), other(stopped.clone())];
    let recorded = [rec(&stopped, false), rec(&other(stopped), false)];
    let (o, now) = within(&mut fake, &recorded, &all, &PLAN);
    assert_eq!(fake.clock, PLAN.timeout, "waited the timeout, on the fake clock only");
    assert_eq!(restored(&now, ""), ["gv0 -> 10.197.0.11::gsv1"]);
    assert_eq!(
        o.workers,
        [
            json!({"session": "gv0 -> 10.197.0.11::gsv0", "primary_node": "10.197.0.11",
            "primary_brick": "/bricks/gv0c", "status": "Faulty"})
        ]
    );
    assert!(
        o.problems[0].contains("gluster volume geo-replication gv0 10.197.0.11::gsv0 status detail")
            && o.problems[0].contains("/var/log/glusterfs/geo-replication/")
            && o.problems[0].contains("after 10 s"),
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
    let (o, now) = within(
        &mut fake,
        &[rec(&stopped, false)],
        std::slice::from_ref(&stopped),
        &PLAN,
    );
    assert!(restored(&now, "").is_empty());
    assert_eq!(o.checkpoint_pending, ["gv0 -> 10.197.0.11::gsv0"]);
    assert!(
        o.problems[0].contains("did not complete within 60 s"),
        "{:?}",
        o.problems
    );
    assert_eq!(fake.clock, Duration::from_secs(60));
    let mut fake = pending();
    let off = Plan {
        checkpoint: None,
        ..PLAN
    };
    let (_, now) = within(&mut fake, &[rec(&stopped, false)], std::slice::from_ref(&stopped), &off);
    assert_eq!(restored(&now, ""), ["gv0 -> 10.197.0.11::gsv0"]);
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 start"]);
    let mut fake = pending();
    fake.fail = vec!["checkpoint"];
    let (o, now) = within(&mut fake, &[rec(&stopped, false)], &[stopped], &PLAN);
    assert!(restored(&now, "").is_empty() && o.problems == ["could not checkpoint"]);
}

#[test]
fn a_paused_session_is_started_verified_then_paused_again_without_checkpoint() {
    let stopped = captured("georep-session-stopped.xml");
    let mut fake = Fake {
        answers: vec![vec![captured("georep-session-running.xml")]],
        ..Fake::default()
    };
    let (_, now) = within(&mut fake, &[rec(&stopped, true)], &[stopped], &PLAN);
    assert_eq!(restored(&now, ""), ["gv0 -> 10.197.0.11::gsv0"]);
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 start", "10.197.0.11::gsv0 pause"]);
    // Recorded running but found paused (paused in between): resumed.
    let paused = captured("georep-session-paused.xml");
    let mut fake = Fake {
        answers: vec![
            vec![captured("georep-session-active-passive.xml")],
            vec![captured("georep-session-checkpoint-completed.xml")],
        ],
        ..Fake::default()
    };
    let (_, now) = within(&mut fake, &[rec(&paused, false)], std::slice::from_ref(&paused), &PLAN);
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 resume", "10.197.0.11::gsv0 checkpoint"]);
    assert_eq!(restored(&now, ""), ["gv0 -> 10.197.0.11::gsv0"]);
    // Recorded paused and still paused: as the operator left it, nothing to do.
    let mut fake = Fake {
        answers: vec![vec![]],
        ..Fake::default()
    };
    let (_, now) = within(&mut fake, &[rec(&paused, true)], &[paused], &PLAN);
    assert!(fake.ran.is_empty() && fake.polls == 0 && restored(&now, "").len() == 1);
}

/// A wait spread over calls: `wait_id` w1.
fn one_look() -> Plan {
    Plan {
        wait_id: Some("w1".into()),
        ..PLAN
    }
}

/// One call of the wait: one look at `all`, the record kept in `now`.
fn call(fake: &mut Fake, now: &mut [Recorded], all: GeoRepSession, plan: &Plan) -> Outcome {
    let before = (fake.polls, fake.clock);
    let o = restore(fake, now, &[all], plan).unwrap();
    assert_eq!((fake.polls, fake.clock), before, "one look per call, never a pause");
    o
}

#[test]
fn with_a_wait_id_each_call_takes_one_look_and_moves_the_phases_on() {
    let stopped = captured("georep-session-stopped.xml");
    let plan = one_look();
    let mut fake = Fake {
        clock: Duration::from_secs(1_000),
        ..Fake::default()
    };
    let mut now = vec![rec(&stopped, false)];
    // 1: started; its workers are awaited.
    let o = call(&mut fake, &mut now, stopped.clone(), &plan);
    assert!(o.changed && o.problems.is_empty());
    assert_eq!(phase(&now, "w1"), Some(Phase::Starting { at_s: 1_000 }));
    assert_eq!(
        o.waiting,
        ["gv0 -> 10.197.0.11::gsv0: start done, its workers awaited (0 s of 10)"]
    );
    // 2: gluster still shows it stopped (the monitor not yet up): no second start.
    fake.clock += Duration::from_secs(3);
    let o = call(&mut fake, &mut now, stopped.clone(), &plan);
    assert!(
        !o.changed && o.waiting[0].contains("Stopped (3 s of 10)"),
        "{:?}",
        o.waiting
    );
    // 3: workers starting.
    fake.clock += Duration::from_secs(3);
    let o = call(&mut fake, &mut now, initializing(), &plan);
    assert!(o.waiting[0].contains("Initializing... (6 s of 10)"), "{:?}", o.waiting);
    // 4: settled: a checkpoint is set.
    fake.clock += Duration::from_secs(3);
    let o = call(
        &mut fake,
        &mut now,
        captured("georep-session-active-passive.xml"),
        &plan,
    );
    assert!(o.changed);
    assert_eq!(
        phase(&now, "w1"),
        Some(Phase::Checkpoint {
            at_s: 1_009,
            replaced: vec![]
        })
    );
    // 5: pending: no second checkpoint while one is awaited.
    fake.clock += Duration::from_secs(30);
    let o = call(
        &mut fake,
        &mut now,
        captured("georep-session-checkpoint-pending.xml"),
        &plan,
    );
    assert!(!o.changed && o.waiting[0].contains("(30 s of 60)"), "{:?}", o.waiting);
    // 6: completed: done.
    fake.clock += Duration::from_secs(5);
    let o = call(
        &mut fake,
        &mut now,
        captured("georep-session-checkpoint-completed.xml"),
        &plan,
    );
    assert!(o.waiting.is_empty() && o.problems.is_empty());
    assert_eq!(restored(&now, "w1"), ["gv0 -> 10.197.0.11::gsv0"]);
    let p = now[0].progress.as_ref().unwrap();
    assert!(p.acted && p.since_s == 1_000, "{p:?}");
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 start", "10.197.0.11::gsv0 checkpoint"]);
    // A call after the end looks at nothing more.
    let o = call(&mut fake, &mut now, stopped, &plan);
    assert!(o.waiting.is_empty() && o.problems.is_empty() && fake.ran.len() == 2);
}

#[test]
fn with_a_wait_id_each_phase_fails_past_its_own_limit() {
    let stopped = captured("georep-session-stopped.xml");
    let plan = one_look();
    let mut fake = Fake::default();
    let mut now = vec![rec(&stopped, false)];
    call(&mut fake, &mut now, stopped.clone(), &plan);
    fake.clock += Duration::from_secs(9);
    let o = call(&mut fake, &mut now, initializing(), &plan);
    assert!(o.problems.is_empty() && o.waiting.len() == 1);
    fake.clock += Duration::from_secs(1);
    let o = call(&mut fake, &mut now, initializing(), &plan);
    assert!(o.waiting.is_empty() && o.workers.len() == 3, "{:?}", o.workers);
    assert!(
        o.problems[0].contains("worker(s) not Active or Passive: 10.197.0.11:/bricks/gv0a Initializing...")
            && o.problems[0].contains("after 10 s"),
        "{:?}",
        o.problems
    );
    // The checkpoint's limit counts from its setting, not from the start.
    let mut fake = Fake::default();
    let mut now = vec![rec(&stopped, false)];
    call(&mut fake, &mut now, stopped, &plan);
    fake.clock += Duration::from_secs(8);
    call(
        &mut fake,
        &mut now,
        captured("georep-session-active-passive.xml"),
        &plan,
    );
    fake.clock += Duration::from_secs(59);
    let o = call(
        &mut fake,
        &mut now,
        captured("georep-session-checkpoint-pending.xml"),
        &plan,
    );
    assert!(o.problems.is_empty(), "{:?}", o.problems);
    fake.clock += Duration::from_secs(1);
    let o = call(
        &mut fake,
        &mut now,
        captured("georep-session-checkpoint-pending.xml"),
        &plan,
    );
    assert_eq!(o.checkpoint_pending, ["gv0 -> 10.197.0.11::gsv0"]);
    assert!(
        o.problems[0].contains("did not complete within 60 s"),
        "{:?}",
        o.problems
    );
    assert!(restored(&now, "w1").is_empty());
}

#[test]
fn a_checkpoint_completed_before_the_new_one_was_set_does_not_count() {
    let completed = captured("georep-session-checkpoint-completed.xml");
    let plan = one_look();
    let mut fake = Fake::default();
    // Running, settled, an older checkpoint completed: a new one is set and awaited.
    let mut now = vec![rec(&completed, false)];
    call(&mut fake, &mut now, completed.clone(), &plan);
    assert_eq!(
        phase(&now, "w1"),
        Some(Phase::Checkpoint {
            at_s: 0,
            replaced: vec!["2026-11-25 04:20:00".into()]
        })
    );
    let o = call(&mut fake, &mut now, completed.clone(), &plan);
    assert_eq!(o.waiting.len(), 1, "the old checkpoint is not the new one");
    let mut newer = completed;
    for p in newer.pairs.iter_mut().filter(|p| p.status == "Active") {
        p.checkpoint_time = "2026-12-03 15:00:00".into();
    }
    let o = call(&mut fake, &mut now, newer, &plan);
    assert!(o.waiting.is_empty() && o.problems.is_empty());
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 checkpoint"]);
}

#[test]
fn another_wait_starts_afresh_from_the_sessions_state() {
    let running = captured("georep-session-active-passive.xml");
    let mut old = rec(&running, false);
    // Left by a wait that failed long ago: its clock and phase do not carry over.
    old.progress = Some(Progress {
        wait_id: "w0".into(),
        since_s: 0,
        acted: true,
        phase: Phase::Starting { at_s: 0 },
    });
    let mut fake = Fake {
        clock: Duration::from_secs(100_000),
        ..Fake::default()
    };
    let mut now = vec![old];
    let o = call(&mut fake, &mut now, running, &one_look());
    assert!(o.problems.is_empty(), "{:?}", o.problems);
    assert_eq!(
        fake.ran,
        ["10.197.0.11::gsv0 checkpoint"],
        "running: verified, not started again"
    );
    assert!(matches!(
        phase(&now, "w1"),
        Some(Phase::Checkpoint { at_s: 100_000, .. })
    ));
    // Within one call, a recorded progress is ignored the same way.
    let stopped = captured("georep-session-stopped.xml");
    let mut left = rec(&stopped, false);
    left.progress = now[0].progress.clone();
    let mut fake = Fake {
        answers: vec![
            vec![captured("georep-session-active-passive.xml")],
            vec![captured("georep-session-checkpoint-completed.xml")],
        ],
        ..Fake::default()
    };
    let (o, now) = within(&mut fake, &[left], &[stopped], &PLAN);
    assert!(o.problems.is_empty(), "{:?}", o.problems);
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 start", "10.197.0.11::gsv0 checkpoint"]);
    assert_eq!(restored(&now, ""), ["gv0 -> 10.197.0.11::gsv0"]);
}

#[test]
fn with_a_wait_id_a_paused_session_is_paused_again_once_its_workers_are_up() {
    let stopped = captured("georep-session-stopped.xml");
    let plan = one_look();
    let mut fake = Fake::default();
    let mut now = vec![rec(&stopped, true)];
    call(&mut fake, &mut now, stopped, &plan);
    let o = call(&mut fake, &mut now, captured("georep-session-running.xml"), &plan);
    assert!(o.waiting.is_empty() && o.problems.is_empty() && o.changed);
    assert_eq!(fake.ran, ["10.197.0.11::gsv0 start", "10.197.0.11::gsv0 pause"]);
    assert_eq!(restored(&now, "w1"), ["gv0 -> 10.197.0.11::gsv0"]);
}

#[test]
fn the_record_keeps_a_progress_and_reads_one_without() {
    let stopped = captured("georep-session-stopped.xml");
    let mut r = rec(&stopped, false);
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"primary_volume": "gv0", "secondary": "10.197.0.11::gsv0", "paused": false})
    );
    r.progress = Some(Progress {
        wait_id: "w1".into(),
        since_s: 5,
        acted: true,
        phase: Phase::Checkpoint {
            at_s: 9,
            replaced: vec!["2026-11-25 04:20:00".into()],
        },
    });
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["progress"]["phase"]["name"], "checkpoint", "{v}");
    assert_eq!(serde_json::from_value::<Recorded>(v).unwrap(), r);
}
