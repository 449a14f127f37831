//! `keel.storage.gluster_georep`: the geo-replication sessions whose primary volume is on this
//! pool, their state; `stopped` stops the running ones and records them, `started` starts
//! exactly the recorded ones again, waits until every worker is Active or Passive and a
//! checkpoint set after the restart has completed. A session leaves the record only once it is
//! verified, so a run that fails half way is finished by the next. With `wait_id`, `started`
//! takes one look per call and keeps each session's phase in the record, for a playbook's until
//! loop that shows a line per look. The Gluster guides: stop
//! geo-replication before an upgrade, start it after, and upgrade secondary pools before their
//! primaries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keel_gluster_cli::cli::glusterd_answered;
use keel_gluster_cli::parse::{self, GeoRepSession, GEOREP_NO_SESSION};
use keel_gluster_cli::Gluster;
use keel_host::record;
use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult, Output};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

mod spec;
pub use spec::MODULE;

#[derive(Deserialize)]
struct Args {
    state: String,
    record: String,
    command_timeout: u64,
    checkpoint: bool,
    checkpoint_timeout: u64,
    /// Names the wait that a playbook's until loop spreads over its calls: one look per call.
    wait_id: Option<String>,
}

/// glusterd's working directory; the variable exists for tests only (as for resync_volumes).
const WORKDIR_VAR: &str = "KEEL_TEST_GLUSTERD_DIR";
/// Between two status polls while waiting for workers or a checkpoint.
const POLL: Duration = Duration::from_secs(2);

/// How `volume geo-replication status --xml` answered: the sessions, `Ok(None)` for glusterd's
/// answer when no session is configured (which a failure may share, so the caller corroborates
/// it), or why it tells nothing.
pub fn judge_status(rc: i32, stdout: &str, stderr: &str) -> Result<Option<Vec<GeoRepSession>>, String> {
    if !stdout.trim_start().starts_with('<') {
        if rc == 2 && stdout.trim() == GEOREP_NO_SESSION && stderr.trim().is_empty() {
            return Ok(None);
        }
        let said = format!("{stdout} {stderr}");
        return Err(format!("gluster answered rc {rc} without XML: {}", said.trim()));
    }
    match parse::parse_georep_status(stdout) {
        Err(parse::ParseError::OpFailed { op_errstr, .. })
            if op_errstr.contains("No active geo-replication session") =>
        {
            Ok(None)
        }
        Err(e) => Err(e.to_string()),
        Ok(_) if rc != 0 => Err(format!("gluster answered rc {rc} with its XML")),
        Ok(s) => Ok(Some(s)),
    }
}

/// Every worker Active (syncing) or Passive (standing by for its replica set's Active one).
pub fn settled(s: &GeoRepSession) -> bool {
    !s.pairs.is_empty()
        && s.pairs
            .iter()
            .all(|p| matches!(p.status.as_str(), "Active" | "Passive"))
}

/// Every Active worker has synced past the checkpoint (Passive ones report none).
pub fn checkpoint_done(s: &GeoRepSession) -> bool {
    let mut active = s.pairs.iter().filter(|p| p.status == "Active").peekable();
    active.peek().is_some() && active.all(|p| p.checkpoint_completed == "Yes")
}

fn name(s: &GeoRepSession) -> String {
    format!("{} -> {}", s.primary_volume, s.secondary)
}

/// A session stopped for the upgrade. A paused one is paused again after its start: the
/// operator paused it for a reason the upgrade knows nothing about.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Recorded {
    pub primary_volume: String,
    pub secondary: String,
    #[serde(default)]
    pub paused: bool,
    /// Where its restart stands in the wait under way: kept in the record so that each call of a
    /// playbook's until loop takes up where the last one left off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

/// A recorded session's restart within one wait (`wait_id`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Progress {
    /// The wait it belongs to; a progress of another wait is ignored (that wait is over).
    pub wait_id: String,
    /// When this wait first looked at the session, in seconds since the epoch.
    pub since_s: u64,
    /// This wait started, resumed, paused or set a checkpoint on it.
    #[serde(default)]
    pub acted: bool,
    pub phase: Phase,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Phase {
    /// Started or resumed (or found running) at `at_s`: its workers are awaited.
    Starting { at_s: u64 },
    /// A checkpoint set at `at_s` is awaited. `replaced`: the checkpoint times the Active workers
    /// showed before, which the status goes on showing until the new one is in effect (gsyncd
    /// prints them in the server's local time, so they are compared as text, not as times).
    Checkpoint {
        at_s: u64,
        #[serde(default)]
        replaced: Vec<String>,
    },
    /// Verified: it leaves the record when the wait ends.
    Done,
}

impl Recorded {
    fn of(s: &GeoRepSession) -> Recorded {
        Recorded {
            primary_volume: s.primary_volume.clone(),
            secondary: s.secondary.clone(),
            paused: s.paused(),
            progress: None,
        }
    }
    fn is(&self, s: &GeoRepSession) -> bool {
        self.primary_volume == s.primary_volume && self.secondary == s.secondary
    }
    fn name(&self) -> String {
        format!("{} -> {}", self.primary_volume, self.secondary)
    }
    /// Its progress in the wait `id`.
    fn progress_in(&self, id: &str) -> Option<&Progress> {
        self.progress.as_ref().filter(|p| p.wait_id == id)
    }
    /// Verified in the wait `id`.
    fn done_in(&self, id: &str) -> bool {
        self.progress_in(id).is_some_and(|p| p.phase == Phase::Done)
    }
}

/// What the module needs from the pool and the clock: gluster and the real clock in the module,
/// scripted answers and a clock that moves only when slept in tests.
pub trait Pool {
    fn status(&mut self) -> Result<Vec<GeoRepSession>, ModuleError>;
    /// `gluster volume geo-replication PRIMARY SECONDARY VERB`: start, stop, pause or resume.
    fn act(&mut self, r: &Recorded, verb: &str) -> Result<(), ModuleError>;
    /// `... config checkpoint now`.
    fn checkpoint(&mut self, r: &Recorded) -> Result<(), ModuleError>;
    /// The wall clock: phases started in one call are timed in the next.
    fn now(&self) -> Duration;
    fn sleep(&mut self, pause: Duration);
}

/// The checkpoint set after `replaced` was shown has completed on every Active worker.
pub fn checkpoint_reached(s: &GeoRepSession, replaced: &[String]) -> bool {
    checkpoint_done(s)
        && s.pairs
            .iter()
            .filter(|p| p.status == "Active")
            .all(|p| !replaced.contains(&p.checkpoint_time))
}

/// The checkpoint times the Active workers show (none set: none).
fn checkpoint_times(s: &GeoRepSession) -> Vec<String> {
    let mut v: Vec<String> = s
        .pairs
        .iter()
        .filter(|p| p.status == "Active" && !matches!(p.checkpoint_time.as_str(), "" | "N/A"))
        .map(|p| p.checkpoint_time.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// What `started` needs besides the record.
pub struct Plan {
    /// How long workers may take to become Active or Passive.
    pub timeout: Duration,
    /// How long the checkpoint may take to complete; None: no checkpoint.
    pub checkpoint: Option<Duration>,
    /// The wait the calls share (`wait_id`): one look per call. None: this call waits until each
    /// session is restored or failed.
    pub wait_id: Option<String>,
}

/// What a `stopped` or `started` run did.
#[derive(Default)]
pub struct Outcome {
    /// This call changed something.
    pub changed: bool,
    /// Each session acted on by this call.
    pub acted: Vec<Recorded>,
    /// Each thing that went wrong, with what to do.
    pub problems: Vec<String>,
    /// Each worker not Active or Passive when the wait for it ended.
    pub workers: Vec<Value>,
    /// Sessions whose checkpoint did not complete in time.
    pub checkpoint_pending: Vec<String>,
    /// gluster's answer to the first command that failed.
    pub output: Option<Output>,
    /// What is still awaited after the last look, one line per session.
    pub waiting: Vec<String>,
    /// The sessions that failed in this call: not looked at again.
    failed: Vec<String>,
    /// The last look acted, so what it saw is stale.
    stale: bool,
    /// The least time left before a limit among the sessions awaited.
    next: Option<Duration>,
}

impl Outcome {
    /// Runs `verb`; a failure is noted and the session stays recorded.
    fn act(&mut self, p: &mut dyn Pool, r: &Recorded, verb: &str) -> bool {
        self.stale = true;
        let done = p.act(r, verb).map_err(|e| self.fail(r, e)).is_ok();
        if done {
            self.changed = true;
            if !self.acted.iter().any(|a| a.name() == r.name()) {
                self.acted.push(r.clone());
            }
        }
        done
    }
    fn fail(&mut self, r: &Recorded, e: ModuleError) {
        self.failed.push(r.name());
        match e {
            ModuleError::Command { msg, output } => {
                self.output.get_or_insert(*output);
                self.problems.push(msg);
            }
            e => self.problems.push(e.to_string()),
        }
    }
    fn problem(&mut self, r: &Recorded, msg: String) {
        self.failed.push(r.name());
        self.problems.push(msg);
    }
    /// `r` is still awaited, `left` before its limit.
    fn wait(&mut self, line: String, left: Duration) {
        self.waiting.push(line);
        self.next = Some(self.next.map_or(left, |n| n.min(left)));
    }
}

/// What a recorded session needs now: a start (stopped), a resume (paused but recorded running),
/// none (running).
fn verb(r: &Recorded, s: &GeoRepSession) -> Option<&'static str> {
    if !s.running() {
        Some("start")
    } else if s.paused() && !r.paused {
        Some("resume")
    } else {
        None
    }
}

/// The workers of `s` not Active or Passive, as `node:brick Status`.
fn unsettled(s: &GeoRepSession) -> Vec<&parse::GeoRepPair> {
    s.pairs
        .iter()
        .filter(|w| !matches!(w.status.as_str(), "Active" | "Passive"))
        .collect()
}

/// One look at the recorded sessions with `now` (the status): acts on what each needs (start or
/// resume, pause again, set a checkpoint), moves each along its phases, fails the ones past
/// their limit and notes what is still awaited. A session acted on is looked at again only in
/// the next look: what `now` showed of it is then stale. Never sleeps.
pub fn look(
    p: &mut dyn Pool,
    recorded: &mut [Recorded],
    now: &[GeoRepSession],
    plan: &Plan,
    id: &str,
    o: &mut Outcome,
) {
    o.waiting.clear();
    o.stale = false;
    o.next = None;
    let t = p.now().as_secs();
    for r in recorded.iter_mut() {
        if o.failed.contains(&r.name()) || r.done_in(id) {
            continue;
        }
        let Some(s) = now.iter().find(|s| r.is(s)) else {
            o.problem(
                r,
                format!(
                    "the recorded session {} is not in gluster's geo-replication status: check 'gluster volume \
                     geo-replication status'; if the session was deleted on purpose, remove it from the record",
                    r.name()
                ),
            );
            continue;
        };
        let mut pr = match r.progress_in(id) {
            Some(pr) => pr.clone(),
            None => {
                let mut pr = Progress {
                    wait_id: id.to_string(),
                    since_s: t,
                    acted: false,
                    phase: Phase::Starting { at_s: t },
                };
                if r.paused && s.paused() {
                    // As the operator left it: nothing to do.
                    pr.phase = Phase::Done;
                } else if let Some(v) = verb(r, s) {
                    if !o.act(p, r, v) {
                        continue;
                    }
                    pr.acted = true;
                    r.progress = Some(pr.clone());
                    o.wait(
                        format!(
                            "{}: {v} done, its workers awaited (0 s of {})",
                            r.name(),
                            plan.timeout.as_secs()
                        ),
                        plan.timeout,
                    );
                    continue;
                }
                pr
            }
        };
        step(p, r, s, &mut pr, t, plan, o);
        r.progress = Some(pr);
    }
}

/// Moves a session with its status `s` along its phases, from `pr`.
fn step(p: &mut dyn Pool, r: &Recorded, s: &GeoRepSession, pr: &mut Progress, t: u64, plan: &Plan, o: &mut Outcome) {
    match pr.phase.clone() {
        Phase::Done => {}
        Phase::Starting { at_s } if !settled(s) => {
            let waited = Duration::from_secs(t.saturating_sub(at_s));
            let bad = unsettled(s);
            let seen: Vec<String> = bad
                .iter()
                .map(|w| format!("{}:{} {}", w.primary_node, w.primary_brick, w.status))
                .collect();
            let what = if seen.is_empty() {
                "no worker listed".to_string()
            } else {
                format!("worker(s) not Active or Passive: {}", seen.join(", "))
            };
            if waited < plan.timeout {
                o.wait(
                    format!(
                        "{}: {what} ({} s of {})",
                        r.name(),
                        waited.as_secs(),
                        plan.timeout.as_secs()
                    ),
                    plan.timeout - waited,
                );
                return;
            }
            for w in bad {
                o.workers
                    .push(json!({"session": r.name(), "primary_node": w.primary_node,
                    "primary_brick": w.primary_brick, "status": w.status}));
            }
            o.problem(
                r,
                format!(
                    "geo-replication session {}: {what} after {} s; see 'gluster volume geo-replication {} {} status \
                     detail' and the gsyncd logs under /var/log/glusterfs/geo-replication/ on those servers, fix the \
                     cause and run again (the record keeps the session)",
                    r.name(),
                    plan.timeout.as_secs(),
                    r.primary_volume,
                    r.secondary
                ),
            );
        }
        Phase::Starting { .. } => {
            if r.paused {
                if o.act(p, r, "pause") {
                    pr.acted = true;
                    pr.phase = Phase::Done;
                }
            } else if let Some(within) = plan.checkpoint {
                let replaced = checkpoint_times(s);
                o.stale = true;
                if p.checkpoint(r).map_err(|e| o.fail(r, e)).is_ok() {
                    o.changed = true;
                    pr.acted = true;
                    pr.phase = Phase::Checkpoint { at_s: t, replaced };
                    o.wait(
                        format!("{}: checkpoint set, awaited (0 s of {})", r.name(), within.as_secs()),
                        within,
                    );
                }
            } else {
                pr.phase = Phase::Done;
            }
        }
        Phase::Checkpoint { at_s, replaced } => {
            if checkpoint_reached(s, &replaced) {
                pr.phase = Phase::Done;
                return;
            }
            let within = plan.checkpoint.unwrap_or_default();
            let waited = Duration::from_secs(t.saturating_sub(at_s));
            if waited < within {
                o.wait(
                    format!(
                        "{}: the checkpoint set after the restart, not yet completed by every Active worker ({} s of {})",
                        r.name(),
                        waited.as_secs(),
                        within.as_secs()
                    ),
                    within - waited,
                );
                return;
            }
            o.checkpoint_pending.push(r.name());
            o.problem(
                r,
                format!(
                    "geo-replication session {}: the checkpoint set after the restart did not complete within {} s; \
                     see 'gluster volume geo-replication {} {} status detail' (checkpoint_completed of the Active \
                     workers), then run again, raise checkpoint_timeout or set checkpoint: false (the record keeps \
                     the session)",
                    r.name(),
                    within.as_secs(),
                    r.primary_volume,
                    r.secondary
                ),
            );
        }
    }
}

/// Starts (or resumes) each recorded session, waits for its workers, pauses again the ones that
/// were paused and sets a checkpoint on the others, waiting for it; each session's progress is
/// in `recorded`. With a `wait_id`, one look and back: the caller calls again. Without, looks
/// until nothing is awaited, pausing only after a look that acted on nothing.
pub fn restore(
    p: &mut dyn Pool,
    recorded: &mut [Recorded],
    all: &[GeoRepSession],
    plan: &Plan,
) -> Result<Outcome, ModuleError> {
    let id = plan.wait_id.clone().unwrap_or_default();
    if plan.wait_id.is_none() {
        // A wait within this call starts from the sessions' state alone.
        for r in recorded.iter_mut() {
            r.progress = None;
        }
    }
    let mut o = Outcome::default();
    look(p, recorded, all, plan, &id, &mut o);
    while plan.wait_id.is_none() && !o.waiting.is_empty() {
        if !o.stale {
            p.sleep(POLL.min(o.next.unwrap_or(POLL)));
        }
        let now = p.status()?;
        look(p, recorded, &now, plan, &id, &mut o);
    }
    Ok(o)
}

/// gluster on this host, with the real clock.
struct Live<'a> {
    ctx: &'a mut Ctx,
    gluster: Gluster,
    workdir: PathBuf,
}

impl Pool for Live<'_> {
    fn status(&mut self) -> Result<Vec<GeoRepSession>, ModuleError> {
        let timeout = format!("--timeout={}", self.gluster.timeout.as_secs().max(1));
        let argv = [
            "gluster",
            "--mode=script",
            "--xml",
            &timeout,
            "volume",
            "geo-replication",
            "status",
        ];
        let out = match glusterd_answered(self.gluster.run(self.ctx, &argv)?) {
            Err(ModuleError::Command { msg, output }) => return Err(unknown(msg, *output)),
            r => r?,
        };
        let why = match judge_status(out.rc, &out.stdout, &out.stderr) {
            Ok(Some(s)) => return Ok(s),
            Ok(None) => {
                let kept = stored(&self.workdir)?;
                if kept.is_empty() {
                    return Ok(Vec::new());
                }
                format!(
                    "gluster gave its answer for no session (rc {}, '{GEOREP_NO_SESSION}') but glusterd's store \
                     ({}/vols/*/info) has {}",
                    out.rc,
                    self.workdir.display(),
                    kept.join(", ")
                )
            }
            Err(why) => why,
        };
        Err(unknown(
            format!(
                "cannot read the geo-replication status: {why}; run 'gluster volume geo-replication status' on this \
                 server to see why (glusterd's log: /var/log/glusterfs/glusterd.log), fix it and run again"
            ),
            out,
        ))
    }
    fn act(&mut self, r: &Recorded, verb: &str) -> Result<(), ModuleError> {
        self.session(r, &[verb], verb)
    }
    fn checkpoint(&mut self, r: &Recorded) -> Result<(), ModuleError> {
        // With --xml: gluster may exit 0 and refuse in the envelope.
        self.session(r, &["config", "checkpoint", "now", "--xml"], "set a checkpoint on")
    }
    fn now(&self) -> Duration {
        self.ctx.epoch()
    }
    fn sleep(&mut self, pause: Duration) {
        self.ctx.sleep(pause)
    }
}

impl Live<'_> {
    /// `gluster volume geo-replication PRIMARY SECONDARY WORDS`; `--xml` among `words` goes
    /// first, and then its envelope must say it worked.
    fn session(&mut self, r: &Recorded, words: &[&str], what: &str) -> Result<(), ModuleError> {
        let xml = words.contains(&"--xml");
        let mut argv = vec!["gluster", "--mode=script"];
        if xml {
            argv.push("--xml");
        }
        argv.extend(["volume", "geo-replication", &r.primary_volume, &r.secondary]);
        argv.extend(words.iter().filter(|w| **w != "--xml"));
        let out = self.gluster.run(self.ctx, &argv)?;
        if out.success() && (!xml || out.stdout.contains("<opRet>0</opRet>")) {
            return Ok(());
        }
        Err(ModuleError::command(
            format!("gluster could not {what} the geo-replication session {}", r.name()),
            out,
        ))
    }
}

/// A status that tells nothing: failed, with `status_known: false` and gluster's answer.
fn unknown(msg: String, out: Output) -> ModuleError {
    let mut data = Map::new();
    data.insert("status_known".into(), false.into());
    data.insert("cmd".into(), out.cmd.into());
    data.insert("rc".into(), out.rc.into());
    data.insert("stdout".into(), out.stdout.into());
    data.insert("stderr".into(), out.stderr.into());
    ModuleError::failed_with(msg, data)
}

/// `VOL -> SECONDARY` for each session glusterd keeps in its store, the CLI aside.
fn stored(workdir: &Path) -> Result<Vec<String>, ModuleError> {
    let cannot = |p: &Path, e: std::io::Error| {
        ModuleError::failed(format!(
            "cannot read {} ({e}), needed to tell no geo-replication session from a failed status: run the \
             module as root on a Gluster server",
            p.display()
        ))
    };
    let vols = workdir.join("vols");
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&vols) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        r => r.map_err(|e| cannot(&vols, e))?,
    };
    for e in entries {
        let info = e.map_err(|e| cannot(&vols, e))?.path().join("info");
        match std::fs::read_to_string(&info) {
            Ok(text) => {
                let vol = info.parent().and_then(Path::file_name).unwrap_or_default();
                for s in parse::georep_store_secondaries(&text) {
                    out.push(format!("{} -> {s}", vol.to_string_lossy()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(cannot(&info, e)),
        }
    }
    Ok(out)
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_georep", opts)?;
    if args.wait_id.as_deref().is_some_and(|w| w.trim().is_empty()) {
        return Err(ModuleError::invalid_args(
            "gluster_georep: option 'wait_id' must name the wait (unique per wait, such as the host and the time); \
             leave it out to wait within one call",
        ));
    }
    let check = ctx.check_mode();
    let mut live = Live {
        ctx,
        gluster: Gluster {
            timeout: Duration::from_secs(args.command_timeout),
        },
        workdir: std::env::var_os(WORKDIR_VAR).map_or_else(|| PathBuf::from("/var/lib/glusterd"), PathBuf::from),
    };
    let path = Path::new(&args.record);
    let start = args.state == "started";
    let recorded = if args.state == "list" { Vec::new() } else { read(path)? };
    let all = match live.status() {
        // Nothing to restore: a status that tells nothing is reported, not failed.
        Err(ModuleError::Failed { msg, data }) if start && recorded.is_empty() => {
            let mut r = ModuleResult::new(false, format!("no geo-replication session is recorded; {msg}"));
            r.warnings.push(r.msg.clone());
            r.data = data;
            return Ok(r);
        }
        a => a?,
    };
    let mut o = Outcome::default();
    let mut lines = Vec::new();
    let mut planned = Vec::new();
    // The sessions the wait acted on (its calls so far, with a wait_id).
    let mut acted = Vec::new();
    // What a call of a wait that goes on says instead of what it did.
    let mut waiting = None;
    let mut data = Map::new();
    let (key, idle) = match args.state.as_str() {
        "stopped" => {
            planned = all.iter().filter(|s| s.running()).map(Recorded::of).collect();
            for s in &planned {
                lines.push((s.name(), "running", "stopped"));
            }
            if !check && !planned.is_empty() {
                // Recorded first: a failure half way still lets `started` bring back every one.
                let mut keep = recorded;
                // A stop begins a new round: what a wait left is void.
                for r in &mut keep {
                    r.progress = None;
                }
                for s in &planned {
                    if !keep.iter().any(|r| r.name() == s.name()) {
                        keep.push(s.clone());
                    }
                }
                record::write(path, &keep)?;
                for s in &planned {
                    o.act(&mut live, s, "stop");
                }
                acted = std::mem::take(&mut o.acted);
            }
            ("stopped", "no geo-replication session is running")
        }
        "started" => {
            for r in &recorded {
                let Some(s) = all.iter().find(|s| r.is(s)) else {
                    continue;
                };
                if verb(r, s).is_some() || (r.paused && !s.paused()) {
                    let before = match (s.running(), s.paused()) {
                        (false, _) => "stopped",
                        (_, true) => "paused",
                        _ => "running",
                    };
                    lines.push((r.name(), before, if r.paused { "paused" } else { "running" }));
                    planned.push(r.clone());
                }
            }
            // Check mode and an empty record wait for nothing.
            data.insert("done".into(), true.into());
            data.insert("waiting".into(), json!([]));
            data.insert("waited_s".into(), 0.into());
            if !check && !recorded.is_empty() {
                let plan = Plan {
                    timeout: Duration::from_secs(args.command_timeout),
                    checkpoint: args.checkpoint.then_some(Duration::from_secs(args.checkpoint_timeout)),
                    wait_id: args.wait_id.clone(),
                };
                let id = plan.wait_id.clone().unwrap_or_default();
                let mut now = recorded.clone();
                o = restore(&mut live, &mut now, &all, &plan)?;
                // With a wait_id the first problem ends the wait too: the playbook's loop stops on it.
                let over = plan.wait_id.is_none() || o.waiting.is_empty() || !o.problems.is_empty();
                acted = now
                    .iter()
                    .filter(|r| r.progress_in(&id).is_some_and(|p| p.acted))
                    .cloned()
                    .collect();
                let waited_s = now
                    .iter()
                    .filter_map(|r| r.progress_in(&id))
                    .map(|p| p.since_s)
                    .min()
                    .map_or(0, |t| live.now().as_secs().saturating_sub(t));
                let names = |v: &mut dyn Iterator<Item = &Recorded>| json!(v.map(Recorded::name).collect::<Vec<_>>());
                data.insert("restored".into(), names(&mut now.iter().filter(|r| r.done_in(&id))));
                data.insert("pending".into(), names(&mut now.iter().filter(|r| !r.done_in(&id))));
                let keep: Vec<Recorded> = if over {
                    // Only verified sessions leave the record; the rest stay for the next run,
                    // without the progress of a wait that is over.
                    now.iter()
                        .filter(|r| !r.done_in(&id))
                        .map(|r| Recorded {
                            progress: None,
                            ..r.clone()
                        })
                        .collect()
                } else {
                    now
                };
                if keep.is_empty() {
                    record::remove(path)?;
                } else if keep != recorded {
                    record::write(path, &keep)?;
                }
                data.insert("unhealthy_workers".into(), Value::Array(std::mem::take(&mut o.workers)));
                data.insert("checkpoint_pending".into(), json!(o.checkpoint_pending));
                data.insert("done".into(), (over && o.problems.is_empty()).into());
                data.insert("waiting".into(), json!(o.waiting));
                data.insert("waited_s".into(), waited_s.into());
                // The until loop keeps only the last call's result: it tells what the whole wait changed.
                o.changed |= over && !acted.is_empty();
                if !over {
                    waiting = Some(format!("waiting ({waited_s} s): {}", o.waiting.join("; ")));
                }
            }
            ("started", "every recorded geo-replication session runs")
        }
        _ => {
            let msg = if all.is_empty() {
                "no geo-replication session has its primary volume on this pool".to_string()
            } else {
                format!(
                    "{} session(s): {}",
                    all.len(),
                    all.iter().map(name).collect::<Vec<_>>().join(", ")
                )
            };
            return Ok(base(ModuleResult::new(false, msg), &all));
        }
    };
    let done = if check { &planned } else { &acted };
    let names: Vec<String> = done
        .iter()
        .map(|r| {
            if start && r.paused {
                format!("{} (paused again, as it was)", r.name())
            } else {
                r.name()
            }
        })
        .collect();
    let mut r = ModuleResult::new(
        if check { !planned.is_empty() } else { o.changed },
        if names.is_empty() {
            idle.to_string()
        } else {
            format!(
                "{} {}",
                match (check, start) {
                    (true, true) => "would start",
                    (true, false) => "would stop",
                    _ => key,
                },
                names.join(", ")
            )
        },
    );
    if let Some(w) = waiting {
        r.msg = w;
    }
    if !lines.is_empty() {
        r.diff = Some(transition(&lines));
    }
    data.insert(key.into(), json!(names));
    r.data = data;
    let after = if o.changed { live.status()? } else { all };
    let mut r = base(r, &after);
    if !o.problems.is_empty() {
        r.failed = true;
        r.msg = o.problems.join("; ");
        if let Some(out) = o.output.take() {
            r.rc = Some(out.rc);
            r.stdout = Some(out.stdout);
            r.stderr = Some(out.stderr);
            r.data.insert("cmd".into(), out.cmd.into());
        }
    }
    Ok(r)
}

fn base(r: ModuleResult, all: &[GeoRepSession]) -> ModuleResult {
    let mut r = r.with("sessions", all);
    r.data
        .insert("role".into(), if all.is_empty() { "none" } else { "primary" }.into());
    r.data.insert("status_known".into(), true.into());
    r
}

/// The diff of sessions, one line each: name, state before, state after.
fn transition(lines: &[(String, &str, &str)]) -> Value {
    let text = |after: bool| -> String {
        lines
            .iter()
            .map(|(n, b, a)| format!("{n}: {}\n", if after { a } else { b }))
            .collect()
    };
    json!({
        "before": text(false),
        "after": text(true),
        "before_header": "geo-replication sessions",
        "after_header": "geo-replication sessions",
    })
}

/// The recorded sessions; none recorded when there is no record.
fn read(path: &Path) -> Result<Vec<Recorded>, ModuleError> {
    Ok(record::read(path, "check or remove it")?.unwrap_or_default())
}

#[cfg(test)]
mod tests;
