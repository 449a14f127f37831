//! `keel.storage.gluster_service`: stops this server's Gluster processes (glusterd,
//! glustereventsd, bricks, self-heal and FUSE clients, geo-replication workers) and the gfapi
//! consumers the operator names, through systemd where it runs and by signalling the processes
//! otherwise; remembers what ran, so `started` brings back exactly that set.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keel_runtime::command::in_child;

use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult, Poll};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use keel_host::procs::{self, FuseMount, Proc};
use keel_host::record;

mod resync;

/// Programs of a Gluster server, by the kernel's process name (`comm`): the management daemon,
/// the events daemon, bricks, FUSE clients and self-heal daemons, geo-replication workers.
pub const GLUSTER_PROGRAMS: [&str; 5] = ["glusterd", "glustereventsd", "glusterfsd", "glusterfs", "gsyncd"];

/// Programs that the operator starts (glusterd starts the bricks, self-heal and gsyncd itself).
pub const TOP_LEVEL: [&str; 2] = ["glusterd", "glustereventsd"];

mod spec;
pub use spec::MODULE;

const SYSTEMD_UNITS: [&str; 2] = ["glusterd", "glustereventsd"];

#[derive(Deserialize)]
struct Args {
    state: String,
    consumers: Vec<String>,
    services: Option<Vec<String>>,
    service_timeout: u64,
    record: String,
    unmount: bool,
    resync_volumes: bool,
    #[serde(rename = "use")]
    manager: String,
}

/// What was running when the services were stopped: what `started` brings back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub systemd: bool,
    /// systemd units that were active, in the order to start them.
    #[serde(default)]
    pub units: Vec<String>,
    /// Without systemd: the programs to run again, with their command lines and executables.
    #[serde(default)]
    pub programs: Vec<Proc>,
    #[serde(default)]
    pub mounts: Vec<FuseMount>,
}

impl Record {
    /// A second `stopped` after a partial one must not forget what the first saw running.
    pub fn merge(mut self, newer: Record) -> Record {
        self.systemd |= newer.systemd;
        for u in newer.units {
            if !self.units.contains(&u) {
                self.units.push(u);
            }
        }
        for p in newer.programs {
            if !self.programs.iter().any(|q| q.name == p.name) {
                self.programs.push(p);
            }
        }
        for m in newer.mounts {
            if !self.mounts.contains(&m) {
                self.mounts.push(m);
            }
        }
        self.units.sort_by_key(|u| start_rank(u));
        self.programs.sort_by_key(|p| start_rank(&p.name));
        self
    }
}

/// glusterd first (it starts the bricks), then the events daemon, then the consumers.
fn start_rank(name: &str) -> usize {
    TOP_LEVEL.iter().position(|t| *t == name).unwrap_or(TOP_LEVEL.len())
}

/// Processes to signal, in the order to signal them: consumers first (they hold volumes open),
/// then glusterd (so it restarts nothing), then everything it started.
pub fn to_signal<'a>(running: &'a [Proc], consumers: &[String]) -> Vec<&'a Proc> {
    let rank = |p: &Proc| {
        if consumers.contains(&p.name) {
            0
        } else {
            1 + GLUSTER_PROGRAMS
                .iter()
                .position(|g| *g == p.name)
                .unwrap_or(GLUSTER_PROGRAMS.len())
        }
    };
    let mut out: Vec<&Proc> = running
        .iter()
        .filter(|p| consumers.contains(&p.name) || GLUSTER_PROGRAMS.contains(&p.name.as_str()))
        .collect();
    out.sort_by_key(|p| (rank(p), p.pid));
    out
}

/// What a `stopped` run finds to record (before stopping anything).
pub fn record_of(
    running: &[Proc],
    active_units: &[String],
    mounts: Vec<FuseMount>,
    systemd: bool,
    consumers: &[String],
) -> Record {
    let programs = if systemd {
        Vec::new()
    } else {
        let mut seen: Vec<Proc> = Vec::new();
        for p in running {
            let restartable = TOP_LEVEL.contains(&p.name.as_str()) || consumers.contains(&p.name);
            if restartable && !p.cmdline.is_empty() && !seen.iter().any(|q| q.name == p.name) {
                seen.push(p.clone());
            }
        }
        seen
    };
    Record {
        systemd,
        units: active_units.to_vec(),
        programs,
        mounts,
    }
    .merge(Record::default())
}

/// Names with counts, for messages: "glusterd, glusterfsd x3".
fn summary(procs: &[&Proc]) -> String {
    let mut names: Vec<(String, usize)> = Vec::new();
    for p in procs {
        match names.iter_mut().find(|(n, _)| *n == p.name) {
            Some((_, c)) => *c += 1,
            None => names.push((p.name.clone(), 1)),
        }
    }
    names
        .iter()
        .map(|(n, c)| if *c > 1 { format!("{n} x{c}") } else { n.clone() })
        .collect::<Vec<_>>()
        .join(", ")
}

struct Host {
    proc_root: PathBuf,
    systemd: bool,
}

impl Host {
    /// `manager` is the `use` option: `auto` asks the host, the others say what the operator knows
    /// (a container whose systemd is not PID 1, a host whose Gluster runs outside its units).
    fn detect(manager: &str) -> Host {
        Host {
            proc_root: PathBuf::from("/proc"),
            systemd: match manager {
                "systemd" => true,
                "signals" => false,
                // sd_booted(): systemd is PID 1 exactly when this directory exists.
                _ => Path::new("/run/systemd/system").is_dir(),
            },
        }
    }

    /// The Gluster processes and named consumers that are genuine (`procs::genuine`: root runs the
    /// expected executable): the only ones signalled, recorded and started again.
    fn running(&self, consumers: &[String]) -> Vec<Proc> {
        self.named(consumers).0
    }

    /// (genuine, look-alikes) among the processes with a Gluster program's or a consumer's name.
    fn named(&self, consumers: &[String]) -> (Vec<Proc>, Vec<Proc>) {
        procs::scan(&self.proc_root)
            .into_iter()
            .filter(|p| consumers.contains(&p.name) || GLUSTER_PROGRAMS.contains(&p.name.as_str()))
            .partition(|p| procs::genuine(p, &p.name))
    }
}

/// Warns of processes that have a Gluster program's or a consumer's name but are not it.
fn warn_look_alikes(ctx: &mut Ctx, host: &Host, consumers: &[String]) {
    let (_, others) = host.named(consumers);
    if !others.is_empty() {
        ctx.warn(format!(
            "left alone, not root running the expected executable: {}",
            others
                .iter()
                .map(|p| format!(
                    "{} (pid {}, uid {}, {})",
                    p.name,
                    p.pid,
                    p.uid.map_or("?".into(), |u| u.to_string()),
                    if p.exe.is_empty() { "executable unknown" } else { &p.exe }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

/// Starts a program as a record (or a running process) gives it. A recorded executable must still
/// be what the command line's program resolves to: a record never makes root run anything else.
fn spawn(ctx: &mut Ctx, p: &Proc) -> Result<(), ModuleError> {
    let argv: Vec<&str> = p.cmdline.iter().map(String::as_str).collect();
    let Some(program) = argv.first() else {
        return Err(ModuleError::failed(format!("no command line to start {} with", p.name)));
    };
    let recorded = p.exe_path();
    if !recorded.is_empty() {
        let now = keel_runtime::command::locate_program(program).and_then(|x| std::fs::canonicalize(x).ok());
        if now.as_deref() != Some(Path::new(recorded)) {
            return Err(ModuleError::failed(format!(
                "{} ran {recorded}, but its command's program {program} is {} now: not started; start it by hand",
                p.name,
                now.map_or("not found".into(), |x| x.display().to_string())
            )));
        }
    }
    ctx.runner.spawn_detached(&argv).map(|_| ())
}

/// The units among `units` that systemd reports active.
fn active_units(ctx: &mut Ctx, units: &[String]) -> Result<Vec<String>, ModuleError> {
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let mut argv = vec!["systemctl", "is-active"];
    argv.extend(units.iter().map(String::as_str));
    // is-active exits non-zero when any unit is inactive; the per-unit lines are what count.
    let out = ctx.run(&argv, Duration::from_secs(30))?;
    Ok(units
        .iter()
        .zip(out.stdout.lines())
        .filter(|(_, state)| matches!(state.trim(), "active" | "activating" | "reloading"))
        .map(|(u, _)| u.clone())
        .collect())
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_service", opts)?;
    let host = Host::detect(&args.manager);
    match args.state.as_str() {
        "stopped" => stop(ctx, &args, &host),
        "restarted" => restart(ctx, &args, &host),
        _ => start(ctx, &args, &host),
    }
}

fn read_record(path: &Path) -> Result<Option<Record>, ModuleError> {
    record::read(path, "check it, or remove it and start the services by hand")
}

fn listing(procs: &[Proc], units: &[String]) -> String {
    let mut s: String = units.iter().map(|u| format!("unit {u}: active\n")).collect();
    s += &procs
        .iter()
        .map(|p| format!("{} (pid {})\n", p.name, p.pid))
        .collect::<String>();
    s
}

fn stop(ctx: &mut Ctx, args: &Args, host: &Host) -> Result<ModuleResult, ModuleError> {
    let record_path = PathBuf::from(&args.record);
    warn_look_alikes(ctx, host, &args.consumers);
    let running = host.running(&args.consumers);
    let units_known: Vec<String> = args
        .consumers
        .iter()
        .cloned()
        .chain(SYSTEMD_UNITS.iter().map(|u| u.to_string()))
        .collect();
    let active = if host.systemd {
        active_units(ctx, &units_known)?
    } else {
        Vec::new()
    };
    let base = |r: ModuleResult| {
        r.with("systemd", host.systemd).with("record", &args.record).with(
            "running_before",
            running
                .iter()
                .map(|p| json!({"pid": p.pid, "name": p.name}))
                .collect::<Vec<_>>(),
        )
    };
    if running.is_empty() && active.is_empty() {
        // What an earlier run recorded still tells `started` what to bring back.
        return Ok(base(ModuleResult::new(
            false,
            "no Gluster process or named consumer is running",
        ))
        .with("stopped", Vec::<String>::new())
        .with("recorded", read_record(&record_path)?));
    }
    let mounts = procs::gluster_mounts_with_options(
        &std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default(),
        &running,
    );
    let record = record_of(&running, &active, mounts, host.systemd, &args.consumers);
    let order = to_signal(&running, &args.consumers);
    let what = summary(&order);
    let diff = json!({"before": listing(&running, &active), "after": "",
                      "before_header": "Gluster processes and units", "after_header": "Gluster processes and units"});
    if ctx.check_mode() {
        let mut r = base(ModuleResult::new(
            true,
            format!("would stop {}", join_what(&active, &what)),
        ));
        r.diff = Some(diff);
        return Ok(r.with("stopped", names(&order)));
    }
    let merged = match read_record(&record_path)? {
        Some(old) => old.merge(record),
        None => record,
    };
    record::write(&record_path, &merged)?;

    // Consumers first (they hold volumes open), then the mounts, then Gluster itself.
    let (consumer_units, gluster_units): (Vec<String>, Vec<String>) =
        active.iter().cloned().partition(|u| args.consumers.contains(u));
    systemctl(ctx, "stop", &consumer_units, args.service_timeout)?;
    let consumer_procs: Vec<Proc> = host
        .running(&args.consumers)
        .into_iter()
        .filter(|p| args.consumers.contains(&p.name))
        .collect();
    let grace = Duration::from_secs(args.service_timeout);
    let mut killed = terminate(ctx, host, &consumer_procs.iter().collect::<Vec<_>>(), grace)?;
    if args.unmount {
        for m in &merged.mounts {
            unmount(ctx, m)?;
        }
    }
    systemctl(ctx, "stop", &gluster_units, args.service_timeout)?;
    // What systemd left (bricks and clients are not part of glusterd.service) or everything
    // where there is no systemd.
    let left = host.running(&args.consumers);
    killed.extend(terminate(ctx, host, &to_signal(&left, &args.consumers), grace)?);
    let mut r = base(ModuleResult::new(
        true,
        format!("stopped {}", join_what(&active, &what)),
    ));
    r.diff = Some(diff);
    if !killed.is_empty() {
        ctx.warn(format!(
            "{} did not exit within {} s of SIGTERM and were killed",
            killed.join(", "),
            args.service_timeout
        ));
    }
    Ok(r.with("stopped", names(&order))
        .with("killed", killed)
        .with("recorded", merged))
}

fn systemctl(ctx: &mut Ctx, verb: &str, units: &[String], timeout: u64) -> Result<(), ModuleError> {
    if units.is_empty() {
        return Ok(());
    }
    let mut argv = vec!["systemctl", verb];
    argv.extend(units.iter().map(String::as_str));
    let out = ctx.run(&argv, Duration::from_secs(timeout.max(30)))?;
    if out.success() {
        Ok(())
    } else {
        Err(ModuleError::command(
            format!("systemctl could not {verb} {}", units.join(", ")),
            out,
        ))
    }
}

fn unmount(ctx: &mut Ctx, m: &FuseMount) -> Result<(), ModuleError> {
    // A stopped consumer's last child (a copy in flight) may hold the mount for a moment.
    let mut out = ctx.run(&["umount", &m.target], Duration::from_secs(60))?;
    for _ in 0..5 {
        if out.success() {
            return Ok(());
        }
        ctx.sleep(Duration::from_secs(1));
        out = ctx.run(&["umount", &m.target], Duration::from_secs(60))?;
    }
    if out.success() {
        return Ok(());
    }
    Err(ModuleError::command(
        format!(
            "cannot unmount {} ({}): it is probably in use; stop the programs using it (name them in 'consumers', \
             see `fuser -vm {}`) and retry. Only the consumers were stopped so far.",
            m.target, m.source, m.target
        ),
        out,
    ))
}

fn join_what(units: &[String], procs: &str) -> String {
    let mut parts = Vec::new();
    if !units.is_empty() {
        parts.push(format!("units {}", units.join(", ")));
    }
    if !procs.is_empty() {
        parts.push(format!("processes {procs}"));
    }
    parts.join("; ")
}

fn names(procs: &[&Proc]) -> Vec<String> {
    let mut n: Vec<String> = procs.iter().map(|p| p.name.clone()).collect();
    n.dedup();
    n
}

/// How long SIGKILLed processes get to disappear before they count as stuck.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// SIGTERM, wait up to `grace`, then SIGKILL what is left; returns the names that needed KILL.
fn terminate(ctx: &mut Ctx, host: &Host, order: &[&Proc], grace: Duration) -> Result<Vec<String>, ModuleError> {
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    let send = |p: &Proc, signal| {
        let _ = kill(Pid::from_raw(p.pid), signal);
    };
    let alive = |p: &Proc| procs::alive(&host.proc_root, p.pid);
    terminate_with(ctx, order, grace, KILL_WAIT, send, alive)
}

/// `terminate` with the signalling and the liveness check passed in, so that a test can play a
/// process that ignores SIGTERM or survives SIGKILL without signalling anything real.
fn terminate_with(
    ctx: &mut Ctx,
    order: &[&Proc],
    grace: Duration,
    kill_wait: Duration,
    mut send: impl FnMut(&Proc, nix::sys::signal::Signal),
    alive: impl Fn(&Proc) -> bool,
) -> Result<Vec<String>, ModuleError> {
    use nix::sys::signal::Signal;
    if order.is_empty() {
        return Ok(Vec::new());
    }
    ctx.runner.record(format!(
        "kill -TERM {}",
        order.iter().map(|p| p.pid.to_string()).collect::<Vec<_>>().join(" ")
    ));
    for p in order {
        send(p, Signal::SIGTERM);
    }
    let alive = |ps: &[&Proc]| -> Vec<Proc> { ps.iter().filter(|p| alive(p)).map(|p| (*p).clone()).collect() };
    let started = ctx.now();
    let mut left = alive(order);
    while !left.is_empty() && ctx.since(started) < grace {
        ctx.sleep(Duration::from_millis(200));
        left = alive(order);
    }
    if left.is_empty() {
        return Ok(Vec::new());
    }
    ctx.runner.record(format!(
        "kill -KILL {}",
        left.iter().map(|p| p.pid.to_string()).collect::<Vec<_>>().join(" ")
    ));
    for p in &left {
        send(p, Signal::SIGKILL);
    }
    let refs: Vec<&Proc> = left.iter().collect();
    ctx.poll(
        Duration::from_millis(200),
        Some(kill_wait),
        |_, _| {
            Ok(if alive(&refs).is_empty() {
                Poll::Ready(())
            } else {
                Poll::Pending(())
            })
        },
        |(), _| {
            ModuleError::failed(format!(
                "{} survived SIGKILL (stuck in the kernel, e.g. on a hung mount); reboot this server before upgrading \
                 it",
                alive(&refs)
                    .iter()
                    .map(|p| format!("{} (pid {})", p.name, p.pid))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        },
    )?;
    Ok(left.iter().map(|p| format!("{} (pid {})", p.name, p.pid)).collect())
}

fn start(ctx: &mut Ctx, args: &Args, host: &Host) -> Result<ModuleResult, ModuleError> {
    let record_path = PathBuf::from(&args.record);
    let record = read_record(&record_path)?;
    // The given set, else exactly what was stopped, else glusterd and the named consumers.
    let wanted = match (&args.services, &record) {
        (Some(services), _) => requested(services, host.systemd),
        (None, Some(r)) => r.clone(),
        (None, None) => {
            let names: Vec<String> = std::iter::once("glusterd".to_string())
                .chain(args.consumers.iter().cloned())
                .collect();
            requested(&names, host.systemd)
        }
    }
    .merge(Record::default());

    let consumers: Vec<String> = wanted.programs.iter().map(|p| p.name.clone()).collect();
    let running = host.running(&consumers);
    let inactive_units: Vec<String> = if host.systemd {
        let active = active_units(ctx, &wanted.units)?;
        wanted.units.iter().filter(|u| !active.contains(u)).cloned().collect()
    } else {
        Vec::new()
    };
    let missing_programs: Vec<&Proc> = wanted
        .programs
        .iter()
        .filter(|p| !running.iter().any(|r| r.name == p.name))
        .collect();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let dead_mounts: Vec<&FuseMount> = wanted.mounts.iter().filter(|m| !mount_alive(m, &mountinfo)).collect();
    let to_start: Vec<String> = inactive_units
        .iter()
        .cloned()
        .chain(missing_programs.iter().map(|p| p.name.clone()))
        .collect();
    let base = |r: ModuleResult| r.with("systemd", host.systemd).with("record", &args.record);
    if to_start.is_empty() && dead_mounts.is_empty() {
        if !ctx.check_mode() && record.is_some() {
            record::remove(&record_path)?;
        }
        return Ok(
            base(ModuleResult::new(false, "every recorded Gluster service is running")).with("started", to_start),
        );
    }
    let diff = json!({"before": "", "after": to_start.iter().map(|s| format!("{s}\n")).collect::<String>(),
                      "before_header": "Gluster services started", "after_header": "Gluster services started"});
    let remounts: Vec<String> = dead_mounts.iter().map(|m| m.target.clone()).collect();
    if ctx.check_mode() {
        let mut r = base(ModuleResult::new(
            true,
            format!("would {}", start_what(&to_start, &remounts, false)),
        ));
        r.diff = Some(diff);
        return Ok(r.with("started", to_start).with("remounted", remounts));
    }
    // glusterd first (local mounts may fetch their volfile from it), then the mounts, then the
    // consumers that use them.
    let is_consumer = |name: &str| !TOP_LEVEL.contains(&name);
    let (late_units, early_units): (Vec<String>, Vec<String>) =
        inactive_units.iter().cloned().partition(|u| is_consumer(u));
    let (late_programs, early_programs): (Vec<&Proc>, Vec<&Proc>) =
        missing_programs.iter().partition(|p| is_consumer(&p.name));
    systemctl(ctx, "start", &early_units, args.service_timeout)?;
    for p in &early_programs {
        spawn(ctx, p)?;
    }
    let glusterd_wanted =
        wanted.units.iter().any(|u| u == "glusterd") || wanted.programs.iter().any(|p| p.name == "glusterd");
    if glusterd_wanted {
        wait_glusterd(ctx, Duration::from_secs(args.service_timeout))?;
    }
    for m in &dead_mounts {
        remount(ctx, m, &mountinfo)?;
    }
    systemctl(ctx, "start", &late_units, args.service_timeout)?;
    for p in &late_programs {
        spawn(ctx, p)?;
    }
    record::remove(&record_path)?;
    let mut r = base(ModuleResult::new(true, start_what(&to_start, &remounts, true)));
    r.diff = Some(diff);
    Ok(r.with("started", to_start).with("remounted", remounts))
}

/// Restarts only the named services (default glusterd): bricks and clients keep running. The
/// remedy the Gluster 11 upgrade guide gives for a peer left Rejected after an upgrade.
fn restart(ctx: &mut Ctx, args: &Args, host: &Host) -> Result<ModuleResult, ModuleError> {
    let names = args.services.clone().unwrap_or_else(|| vec!["glusterd".to_string()]);
    let base = |r: ModuleResult| r.with("systemd", host.systemd).with("restarted", &names);
    let paths = resync::Paths::from_env();
    if args.resync_volumes {
        return resync::resync(ctx, host, &paths, args.service_timeout).map(base);
    }
    // A resync that an earlier run left half done is settled first: restarted on a partial import,
    // glusterd would run without some of the volumes.
    let earlier = resync::settle_earlier(ctx, host, &paths, args.service_timeout)?;
    let base = |r: ModuleResult| base(r).with("recovered", earlier.as_ref().map(|s| s.action.name()));
    if ctx.check_mode() {
        return Ok(base(ModuleResult::new(
            true,
            format!("would restart {}", names.join(", ")),
        )));
    }
    if host.systemd {
        systemctl(ctx, "restart", &names, args.service_timeout)?;
    } else {
        warn_look_alikes(ctx, host, &names);
        let running = host.running(&names);
        let targets: Vec<&Proc> = running.iter().filter(|p| names.contains(&p.name)).collect();
        terminate(ctx, host, &targets, Duration::from_secs(args.service_timeout))?;
        for name in &names {
            let again = targets
                .iter()
                .find(|p| &p.name == name && !p.cmdline.is_empty())
                .map(|p| (*p).clone())
                .unwrap_or_else(|| program(name));
            spawn(ctx, &again)?;
        }
    }
    if names.iter().any(|n| n == "glusterd") {
        wait_glusterd(ctx, Duration::from_secs(args.service_timeout))?;
    }
    Ok(base(ModuleResult::new(true, format!("restarted {}", names.join(", ")))))
}

/// glusterd's command line, to start it the same way without systemd.
fn glusterd_cmdline(host: &Host) -> Vec<String> {
    let running = if host.systemd { Vec::new() } else { host.running(&[]) };
    running
        .into_iter()
        .find(|p| p.name == "glusterd" && !p.cmdline.is_empty())
        .map(|p| p.cmdline)
        .unwrap_or_else(|| vec!["glusterd".to_string()])
}

/// Stops glusterd alone.
fn stop_glusterd(ctx: &mut Ctx, host: &Host, timeout: u64) -> Result<(), ModuleError> {
    if host.systemd {
        return systemctl(ctx, "stop", &["glusterd".to_string()], timeout);
    }
    let running = host.running(&[]);
    let glusterd: Vec<&Proc> = running.iter().filter(|p| p.name == "glusterd").collect();
    terminate(ctx, host, &glusterd, Duration::from_secs(timeout)).map(|_| ())
}

/// Starts glusterd unless it runs, then waits until it answers.
fn ensure_glusterd(ctx: &mut Ctx, host: &Host, cmdline: &[String], timeout: u64) -> Result<(), ModuleError> {
    if !host.systemd && host.running(&[]).iter().any(|p| p.name == "glusterd") {
        return wait_glusterd(ctx, Duration::from_secs(timeout));
    }
    start_glusterd(ctx, host, cmdline, timeout)
}

fn start_glusterd(ctx: &mut Ctx, host: &Host, cmdline: &[String], timeout: u64) -> Result<(), ModuleError> {
    if host.systemd {
        systemctl(ctx, "start", &["glusterd".to_string()], timeout)?;
    } else {
        let argv: Vec<&str> = cmdline.iter().map(String::as_str).collect();
        ctx.runner.spawn_detached(&argv)?;
    }
    wait_glusterd(ctx, Duration::from_secs(timeout))
}

/// What a start does, for its message: "start glusterd, smb; remount /mnt/gv0", or either part
/// alone (a mount may be all that is down); `done`: "started ...; remounted ...".
fn start_what(to_start: &[String], remounts: &[String], done: bool) -> String {
    let (start, remount) = if done {
        ("started", "remounted")
    } else {
        ("start", "remount")
    };
    let mut parts = Vec::new();
    if !to_start.is_empty() {
        parts.push(format!("{start} {}", to_start.join(", ")));
    }
    if !remounts.is_empty() {
        parts.push(format!("{remount} {}", remounts.join(", ")));
    }
    parts.join("; ")
}

/// Services named by the operator: systemd units, or programs started by name without systemd.
fn requested(names: &[String], systemd: bool) -> Record {
    Record {
        systemd,
        units: if systemd { names.to_vec() } else { Vec::new() },
        programs: if systemd {
            Vec::new()
        } else {
            names.iter().map(|s| program(s)).collect()
        },
        mounts: Vec::new(),
    }
}

/// A program to start by name: its command line is its name (found on PATH).
fn program(name: &str) -> Proc {
    Proc {
        pid: 0,
        name: name.rsplit('/').next().unwrap_or(name).to_string(),
        cmdline: vec![name.to_string()],
        exe: String::new(),
        uid: None,
    }
}

/// How long a mount may take to answer a stat before it counts as hung.
const STAT_TIMEOUT: Duration = Duration::from_secs(10);

/// Mounted and answering (a FUSE mount whose process died stays listed but fails every stat; one
/// whose process hangs blocks every stat, so the stat runs in a child the module stops waiting for).
fn mount_alive(m: &FuseMount, mountinfo: &str) -> bool {
    if !procs::gluster_mounts(mountinfo).iter().any(|x| x.target == m.target) {
        return false;
    }
    let Ok(path) = std::ffi::CString::new(m.target.as_bytes()) else {
        return false;
    };
    in_child(STAT_TIMEOUT, || nix::sys::stat::stat(path.as_c_str()).is_ok()) == Some(true)
}

fn remount(ctx: &mut Ctx, m: &FuseMount, mountinfo: &str) -> Result<(), ModuleError> {
    if procs::gluster_mounts(mountinfo).iter().any(|x| x.target == m.target) {
        ctx.run(&["umount", "-l", &m.target], Duration::from_secs(30))?;
    }
    let options = m.options.join(",");
    let mut argv = vec!["mount", "-t", "glusterfs"];
    if !options.is_empty() {
        argv.extend(["-o", options.as_str()]);
    }
    argv.extend([m.source.as_str(), m.target.as_str()]);
    let out = ctx.run(&argv, Duration::from_secs(60))?;
    if out.success() {
        Ok(())
    } else {
        Err(ModuleError::command(
            format!("could not mount {} on {} again", m.source, m.target),
            out,
        ))
    }
}

/// glusterd answers once `gluster pool list` succeeds.
/// How long no glusterd process may run after a start before waiting is pointless: glusterd
/// daemonises within a second, so its absence this long means it exited.
const GLUSTERD_GONE_AFTER: Duration = Duration::from_secs(5);

fn wait_glusterd(ctx: &mut Ctx, timeout: Duration) -> Result<(), ModuleError> {
    let mut absent_since: Option<keel_runtime::Moment> = None;
    ctx.poll(
        Duration::from_secs(1),
        Some(timeout),
        |ctx, _| {
            let out = ctx.run(
                &["gluster", "--mode=script", "--timeout=10", "pool", "list"],
                Duration::from_secs(20),
            )?;
            if out.success() {
                return Ok(Poll::Ready(()));
            }
            let running = procs::scan(Path::new("/proc"))
                .iter()
                .any(|p| procs::genuine(p, "glusterd"));
            absent_since = if running {
                None
            } else {
                absent_since.or(Some(ctx.now()))
            };
            if absent_since.is_some_and(|t| ctx.since(t) >= GLUSTERD_GONE_AFTER) {
                return Err(ModuleError::command(
                    format!(
                        "glusterd exited right after its start (no glusterd process for {} s): waiting cannot help; \
                         see /var/log/glusterfs/glusterd.log and run glusterd --debug by hand to see why",
                        GLUSTERD_GONE_AFTER.as_secs()
                    ),
                    out,
                ));
            }
            Ok(Poll::Pending(out))
        },
        |out, _| {
            ModuleError::command(
                format!(
                    "glusterd was started but does not answer after {} s; see /var/log/glusterfs/glusterd.log",
                    timeout.as_secs()
                ),
                out,
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn p(pid: i32, name: &str) -> Proc {
        Proc {
            pid,
            name: name.into(),
            cmdline: vec![format!("/usr/sbin/{name}")],
            exe: String::new(),
            uid: None,
        }
    }

    #[test]
    fn a_check_that_hangs_in_the_child_does_not_hang_the_module() {
        assert_eq!(in_child(Duration::from_secs(10), || true), Some(true));
        assert_eq!(in_child(Duration::from_secs(10), || false), Some(false));
        let path = std::ffi::CString::new("/nonexistent/keel").unwrap();
        assert_eq!(
            in_child(Duration::from_secs(10), || nix::sys::stat::stat(path.as_c_str())
                .is_ok()),
            Some(false)
        );
        // As a stat of a hung FUSE mount would.
        let started = Instant::now();
        let hung = in_child(Duration::from_millis(300), || {
            std::thread::sleep(Duration::from_secs(60));
            true
        });
        assert_eq!(hung, None);
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        // The child holds none of the module's standard streams.
        let closed = |fd| {
            nix::fcntl::fcntl(
                unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
                nix::fcntl::FcntlArg::F_GETFD,
            )
            .is_err()
        };
        assert_eq!(in_child(Duration::from_secs(10), || (0..3).all(closed)), Some(true));
    }

    #[test]
    fn signals_consumers_then_glusterd_then_its_children_and_nothing_else() {
        let running = vec![
            p(5, "glusterfsd"),
            p(3, "glusterd"),
            p(9, "sshd"),
            p(7, "glusterfs"),
            p(8, "ganesha.nfsd"),
        ];
        let order: Vec<i32> = to_signal(&running, &["ganesha.nfsd".into()])
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(order, vec![8, 3, 5, 7]);
    }

    #[test]
    fn records_top_level_programs_only_without_systemd() {
        let running = vec![
            p(5, "glusterfsd"),
            p(3, "glusterd"),
            p(4, "glustereventsd"),
            p(8, "smbd"),
        ];
        let r = record_of(&running, &[], vec![], false, &["smbd".into()]);
        let names: Vec<&str> = r.programs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["glusterd", "glustereventsd", "smbd"]);
        let r = record_of(&running, &["glusterd".into()], vec![], true, &[]);
        assert!(r.programs.is_empty());
        assert_eq!(r.units, vec!["glusterd"]);
    }

    /// A process table played in memory: `send` records each signal, and a process leaves the
    /// table on the signals named in `dies_on` (never a real signal: this host may run a testbed).
    struct Played {
        alive: std::cell::RefCell<Vec<i32>>,
        sent: std::cell::RefCell<Vec<String>>,
    }

    impl Played {
        fn new(pids: &[i32]) -> Played {
            Played {
                alive: std::cell::RefCell::new(pids.to_vec()),
                sent: Default::default(),
            }
        }

        fn terminate(&self, order: &[&Proc], dies_on: &[nix::sys::signal::Signal]) -> Result<Vec<String>, ModuleError> {
            let mut ctx = Ctx::new("gluster_service", keel_runtime::AnsibleContext::default());
            let send = |p: &Proc, signal| {
                self.sent.borrow_mut().push(format!("{signal:?} {}", p.pid));
                if dies_on.contains(&signal) {
                    self.alive.borrow_mut().retain(|pid| *pid != p.pid);
                }
            };
            let alive = |p: &Proc| self.alive.borrow().contains(&p.pid);
            terminate_with(&mut ctx, order, Duration::ZERO, Duration::from_millis(300), send, alive)
        }
    }

    #[test]
    fn a_process_that_exits_on_sigterm_is_not_killed() {
        use nix::sys::signal::Signal;
        let table = Played::new(&[3]);
        let glusterd = p(3, "glusterd");
        assert_eq!(
            table.terminate(&[&glusterd], &[Signal::SIGTERM]).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(*table.sent.borrow(), vec!["SIGTERM 3"]);
    }

    #[test]
    fn a_process_that_ignores_sigterm_is_killed_and_named() {
        use nix::sys::signal::Signal;
        let table = Played::new(&[3, 5]);
        let (glusterd, brick) = (p(3, "glusterd"), p(5, "glusterfsd"));
        let killed = table.terminate(&[&glusterd, &brick], &[Signal::SIGKILL]).unwrap();
        assert_eq!(killed, vec!["glusterd (pid 3)", "glusterfsd (pid 5)"]);
        assert_eq!(
            *table.sent.borrow(),
            vec!["SIGTERM 3", "SIGTERM 5", "SIGKILL 3", "SIGKILL 5"]
        );
    }

    #[test]
    fn a_process_that_survives_sigkill_fails_with_the_remedy() {
        // A brick stuck in the kernel (D state on a hung mount) outlives SIGKILL.
        let table = Played::new(&[5]);
        let brick = p(5, "glusterfsd");
        let err = table.terminate(&[&brick], &[]).unwrap_err().to_string();
        assert!(
            err.starts_with("glusterfsd (pid 5) survived SIGKILL")
                && err.contains("reboot this server before upgrading it"),
            "{err}"
        );
        assert_eq!(*table.sent.borrow(), vec!["SIGTERM 5", "SIGKILL 5"]);
    }

    /// A fake /proc entry (the test seam: the module reads the real /proc) owned by `uid` and
    /// running `exe`.
    fn fake(root: &Path, pid: i32, name: &str, cmdline: &[&str], uid: u32, exe: &str) {
        let d = root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("comm"), format!("{name}\n")).unwrap();
        std::fs::write(d.join("stat"), format!("{pid} ({name}) S 1 2 3")).unwrap();
        std::fs::write(d.join("cmdline"), cmdline.join("\0") + "\0").unwrap();
        std::fs::write(d.join("status"), format!("Uid:\t{uid}\t{uid}\t{uid}\t{uid}\n")).unwrap();
        std::os::unix::fs::symlink(exe, d.join("exe")).unwrap();
    }

    #[test]
    fn signals_records_and_restarts_only_root_running_the_expected_executable() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let sbin = "/usr/sbin/glusterfsd";
        fake(
            root,
            3,
            "glusterd",
            &["/usr/sbin/glusterd", "-p", "/run/glusterd.pid"],
            0,
            sbin,
        );
        // Another user's process named glusterd, and root's running some other program.
        fake(root, 4, "glusterd", &["/home/eve/glusterd", "--evil"], 1000, sbin);
        fake(root, 6, "glusterd", &["/tmp/glusterd"], 0, "/tmp/glusterd");
        fake(
            root,
            5,
            "glusterfsd",
            &[sbin, "-s", "n1"],
            0,
            "/usr/sbin/glusterfsd (deleted)",
        );
        fake(root, 7, "glusterfs", &["glusterfs", "--acl", "/mnt/gv0"], 1000, sbin);
        fake(root, 8, "smbd", &["/usr/sbin/smbd"], 0, "/usr/sbin/smbd");
        fake(root, 9, "smbd", &["/home/eve/smbd"], 1000, "/home/eve/smbd");
        let host = Host {
            proc_root: root.to_path_buf(),
            systemd: false,
        };
        let consumers = vec!["smbd".to_string()];
        let running = host.running(&consumers);
        let pids: Vec<i32> = running.iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![3, 5, 8]);
        let order: Vec<i32> = to_signal(&running, &consumers).iter().map(|p| p.pid).collect();
        assert_eq!(order, vec![8, 3, 5]);
        let info = "95 60 0:50 / /mnt/gv0 rw - fuse.glusterfs n1:/gv0 rw\n";
        let mounts = procs::gluster_mounts_with_options(info, &host.named(&consumers).1);
        assert!(
            mounts[0].options.is_empty(),
            "another user's client gives no mount options"
        );
        let record = record_of(&running, &[], mounts, false, &consumers);
        let recorded: Vec<(&str, &str)> = record
            .programs
            .iter()
            .map(|p| (p.name.as_str(), p.exe.as_str()))
            .collect();
        assert_eq!(recorded, vec![("glusterd", sbin), ("smbd", "/usr/sbin/smbd")]);
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["programs"][0]["exe"], sbin, "the executable is in the record");
        // A record whose program no longer resolves to the executable that ran is not started.
        let mut ctx = Ctx::new("gluster_service", keel_runtime::AnsibleContext::default());
        let mut swapped = record.programs[0].clone();
        swapped.cmdline = vec!["/bin/true".into()];
        let err = spawn(&mut ctx, &swapped).unwrap_err().to_string();
        assert!(
            err.starts_with("glusterd ran /usr/sbin/glusterfsd, but its command's program /bin/true is ")
                && err.ends_with(": not started; start it by hand"),
            "{err}"
        );
        assert!(ctx.runner.history().is_empty(), "nothing ran");
    }

    #[test]
    fn a_second_record_keeps_what_the_first_saw() {
        let first = Record {
            systemd: true,
            units: vec!["smb".into(), "glusterd".into()],
            ..Default::default()
        };
        let merged = first.merge(Record {
            systemd: true,
            units: vec!["glustereventsd".into()],
            ..Default::default()
        });
        assert_eq!(merged.units, vec!["glusterd", "glustereventsd", "smb"]);
    }
}
