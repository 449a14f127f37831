//! `resync_volumes`: glusterd restarted without its copy of the volume definitions, so that it
//! imports its peers'. The copy is moved aside as `vols.keel-STAMP`. A record in glusterd's
//! working directory names it before anything is stopped or moved, so that the next run settles
//! a resync that was interrupted (module killed, host rebooted): see `settle`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keel_host::record;
use keel_runtime::{Ctx, ModuleError, ModuleResult};
use serde_json::{json, Map, Value};

use crate::{ensure_glusterd, glusterd_cmdline, start_glusterd, stop_glusterd, terminate, Host};

/// glusterd's working directory. The variable exists for tests (a scratch folder, where no
/// glusterd runs); it is not an option, so that no task can point the module elsewhere.
const WORKDIR: &str = "/var/lib/glusterd";
const WORKDIR_VAR: &str = "KEEL_TEST_GLUSTERD_DIR";
/// Saved copies are `vols.keel-STAMP`, STAMP in seconds since the epoch.
const PREFIX: &str = "vols.keel-";
/// How many saved copies are kept: the newest, the one just made included.
pub const KEEP: usize = 3;

pub struct Paths {
    pub workdir: PathBuf,
}

impl Paths {
    pub fn from_env() -> Paths {
        Paths {
            workdir: std::env::var_os(WORKDIR_VAR).map_or_else(|| PathBuf::from(WORKDIR), PathBuf::from),
        }
    }
    fn vols(&self) -> PathBuf {
        self.workdir.join("vols")
    }
    fn record(&self) -> PathBuf {
        self.workdir.join("keel-resync.json")
    }
    fn copy(&self, stamp: u64) -> PathBuf {
        self.workdir.join(format!("{PREFIX}{stamp}"))
    }
}

/// A resync in progress: written before glusterd is stopped, removed once the definitions are
/// whole again (imported, or put back). Kept as a JSON value: a derived (de)serializer costs the
/// binary more than these few fields.
pub struct InProgress {
    /// Where `vols` is moved.
    pub copy: PathBuf,
    /// The volumes of the copy, for the operator.
    pub volumes: Vec<String>,
    /// glusterd's command line, to start it the same way without systemd.
    pub glusterd: Vec<String>,
    /// Set before the copy is put back: an interrupted restore is finished, never judged again
    /// (a half-removed import proves nothing).
    pub restoring: bool,
}

impl InProgress {
    fn to_value(&self) -> Value {
        json!({"copy": self.copy.to_string_lossy(), "volumes": self.volumes, "glusterd": self.glusterd,
               "restoring": self.restoring})
    }

    fn from_value(v: &Value) -> Option<InProgress> {
        let strings = |key: &str| -> Option<Vec<String>> {
            v[key]
                .as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        Some(InProgress {
            copy: PathBuf::from(v["copy"].as_str()?),
            volumes: strings("volumes")?,
            glusterd: strings("glusterd")?,
            restoring: v["restoring"].as_bool().unwrap_or(false),
        })
    }
}

/// What a run does with a resync an earlier run left in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Nothing was moved, or the copy is back already: only the record goes.
    Cleared,
    /// glusterd imported every volume of the copy: the resync is done, the copy is kept.
    Completed,
    /// The import is short (or a restore was under way): the copy is put back.
    Restored,
    /// Neither the definitions nor the copy are there: only the operator can tell what happened.
    Lost,
}

impl Settle {
    /// As the `recovered` result names it.
    pub fn name(self) -> &'static str {
        match self {
            Settle::Cleared => "cleared",
            Settle::Completed => "completed",
            Settle::Restored => "restored",
            Settle::Lost => "lost",
        }
    }
}

/// The decision, from the file system alone. Completing is safe only when every volume of the
/// copy has its `info` again (glusterd writes it through a rename, so it is whole), which is what
/// a run that was not interrupted waits for; anything less is put back, the state before the
/// resync, from which the resync can be run again.
pub fn settle(restoring: bool, copy_there: bool, vols_there: bool, saved: &[String], now: &[String]) -> Settle {
    match (copy_there, vols_there) {
        (false, true) => Settle::Cleared,
        (false, false) => Settle::Lost,
        (true, true) if !restoring && missing(saved, now).is_empty() => Settle::Completed,
        (true, _) => Settle::Restored,
    }
}

/// The volumes of `saved` not (yet) in `now`.
pub fn missing(saved: &[String], now: &[String]) -> Vec<String> {
    saved.iter().filter(|v| !now.contains(v)).cloned().collect()
}

/// Saved copies to remove, oldest first: all but the newest `keep`, never one in `protect`.
pub fn to_tidy(stamps: &[u64], keep: usize, protect: &[u64]) -> Vec<u64> {
    let mut all = sorted(stamps.to_vec());
    all.dedup();
    let old = all.len().saturating_sub(keep);
    all.truncate(old);
    all.retain(|s| !protect.contains(s));
    all
}

/// Ascending, by insertion: a handful of stamps, and std's sort of u64 would cost the binary
/// about 6 KB.
fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v[j - 1] > v[j] {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
    v
}

/// The stamp of a new copy: now, or after the newest copy when the clock is behind it, so that
/// the newest copy always has the highest stamp and no two share one.
pub fn new_stamp(now: u64, taken: &[u64]) -> u64 {
    taken.iter().max().map_or(now, |m| now.max(m + 1))
}

/// `vols.keel-1795652400` -> 1795652400; anything else (an operator's `vols.keel-old`) is no copy.
pub fn stamp_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The stamps of the saved copies in `workdir` (folders only, links not followed).
fn copies(workdir: &Path) -> Vec<u64> {
    let v: Vec<u64> = std::fs::read_dir(workdir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| stamp_of(&e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    sorted(v)
}

/// The volumes defined in `dir`: sub-folders with an `info` file.
pub fn volume_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().join("info").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn read_in_progress(paths: &Paths) -> Result<Option<InProgress>, ModuleError> {
    let advice = "it names the saved copy of the volume definitions of a resync that did not finish: put that copy \
                  back as the vols folder if the folder lacks volumes, then remove the record";
    match record::read::<Value>(&paths.record(), advice)? {
        None => Ok(None),
        Some(v) => InProgress::from_value(&v).map(Some).ok_or_else(|| {
            ModuleError::failed(format!(
                "the record {} is unreadable (not a resync record); {advice}",
                paths.record().display()
            ))
        }),
    }
}

/// The commands that put the copy back by hand.
fn by_hand(host: &Host, paths: &Paths, rec: &InProgress) -> String {
    let (stop, start) = if host.systemd {
        ("systemctl stop glusterd", "systemctl start glusterd".to_string())
    } else {
        ("pkill -x glusterd", rec.glusterd.join(" "))
    };
    let (vols, copy) = (paths.vols(), &rec.copy);
    format!(
        "The definitions are in {copy}; put them back with `{stop}; rm -rf {vols}; mv {copy} {vols}; {start}`, \
         then remove {record} (or run this task again once the cause is fixed: it puts them back itself)",
        copy = copy.display(),
        vols = vols.display(),
        record = paths.record().display()
    )
}

/// `cause`, then what became of the definitions; a failed command's output is kept.
fn failure(cause: ModuleError, then: &str, restored: bool, kept: Option<&Path>) -> ModuleError {
    let mut data = Map::new();
    let msg = format!("{cause}; {then}");
    match cause {
        ModuleError::Command { output, .. } => {
            data.insert("cmd".into(), json!(output.cmd));
            data.insert("stderr".into(), json!(output.stderr));
        }
        ModuleError::Failed { data: d, .. } => data = d,
        _ => {}
    }
    data.insert("restored".into(), json!(restored));
    if let Some(k) = kept {
        data.insert("kept".into(), json!(k.display().to_string()));
    }
    ModuleError::failed_with(msg, data)
}

/// Puts the copy back: glusterd stopped, what it imported dropped, the copy renamed to `vols`.
/// The record is marked first and goes last, so that an interrupted restore is finished later.
fn restore(ctx: &mut Ctx, host: &Host, paths: &Paths, rec: &mut InProgress, timeout: u64) -> Result<(), ModuleError> {
    let vols = paths.vols();
    if !rec.restoring {
        rec.restoring = true;
        record::write_synced(&paths.record(), &rec.to_value())?;
    }
    stop_glusterd(ctx, host, timeout)?;
    let io = |what: String| move |e: std::io::Error| ModuleError::failed(format!("{what}: {e}"));
    if vols.is_dir() {
        ctx.runner.record(format!("rm -rf {}", vols.display()));
        std::fs::remove_dir_all(&vols).map_err(io(format!("cannot remove {}", vols.display())))?;
    }
    ctx.runner
        .record(format!("mv {} {}", rec.copy.display(), vols.display()));
    std::fs::rename(&rec.copy, &vols).map_err(io(format!("cannot move {} back", rec.copy.display())))?;
    let _ = record::sync_dir(&paths.workdir);
    // Once the copy is back, a record left behind is only cleared by the next run.
    if let Err(e) = record::remove(&paths.record()) {
        ctx.warn(e.to_string());
    }
    Ok(())
}

/// After `cause` (the definitions moved aside): the copy goes back and glusterd runs again.
fn put_back(
    ctx: &mut Ctx,
    host: &Host,
    paths: &Paths,
    rec: &mut InProgress,
    timeout: u64,
    cause: ModuleError,
) -> ModuleError {
    if let Err(e) = restore(ctx, host, paths, rec, timeout) {
        let then = format!(
            "and the definitions could not be put back ({e}). {}",
            by_hand(host, paths, rec)
        );
        return failure(cause, &then, false, Some(&rec.copy));
    }
    let then = glusterd_again(ctx, host, rec, timeout, "this server's own definitions were put back");
    failure(cause, &then, true, None)
}

/// `done`, then whether glusterd runs again.
fn glusterd_again(ctx: &mut Ctx, host: &Host, rec: &InProgress, timeout: u64, done: &str) -> String {
    match ensure_glusterd(ctx, host, &rec.glusterd, timeout) {
        Ok(()) => format!("{done} and glusterd runs again"),
        Err(e) => format!("{done}, but glusterd did not start again: {e}"),
    }
}

pub struct Settled {
    pub action: Settle,
    pub copy: PathBuf,
}

/// Settles a resync an earlier run left in progress (see `settle`); in check mode only judges it.
/// glusterd runs afterwards where it can.
pub fn settle_earlier(ctx: &mut Ctx, host: &Host, paths: &Paths, timeout: u64) -> Result<Option<Settled>, ModuleError> {
    let Some(mut rec) = read_in_progress(paths)? else {
        return Ok(None);
    };
    let vols = paths.vols();
    let action = settle(
        rec.restoring,
        rec.copy.is_dir(),
        vols.is_dir(),
        &volume_names(&rec.copy),
        &volume_names(&vols),
    );
    if action == Settle::Lost {
        let msg = format!(
            "the record {record} says a resync moved the volume definitions to {copy}, but neither that nor {vols} \
             exists: put the newest {workdir}/{PREFIX}* copy back as {vols} (or copy that folder from a peer), start \
             glusterd, then remove {record}",
            record = paths.record().display(),
            copy = rec.copy.display(),
            vols = vols.display(),
            workdir = paths.workdir.display(),
        );
        let mut data = Map::new();
        data.insert("restored".into(), json!(false));
        return Err(ModuleError::failed_with(msg, data));
    }
    let settled = Settled {
        action,
        copy: rec.copy.clone(),
    };
    if ctx.check_mode() {
        return Ok(Some(settled));
    }
    let earlier = "a resync interrupted earlier";
    if action == Settle::Restored {
        restore(ctx, host, paths, &mut rec, timeout).map_err(|e| {
            let then = format!(
                "{earlier} left the definitions aside and they could not be put back. {}",
                by_hand(host, paths, &rec)
            );
            failure(e, &then, false, Some(&rec.copy))
        })?;
    } else {
        record::remove(&paths.record())?;
    }
    ensure_glusterd(ctx, host, &rec.glusterd, timeout).map_err(|e| {
        failure(
            e,
            &format!(
                "{earlier} was settled ({}), the definitions are whole, but glusterd does not run",
                action.name()
            ),
            action != Settle::Completed,
            (action == Settle::Completed).then_some(rec.copy.as_path()),
        )
    })?;
    Ok(Some(settled))
}

/// The Gluster remedy for a server that rejects its peers because its copy of the volume
/// definitions differs from theirs (after a 10 -> 11 upgrade: the same options written in another
/// order): glusterd restarts without its copy (kept aside) and imports the definitions from its
/// peers. This server's bricks and self-heal daemons restart from the imported definitions. When
/// the import does not bring every volume back, or any step fails, the copy is put back.
/// How long every peer stays in the cluster, connected, before a definition that has not
/// arrived is taken as one that will not.
const IMPORT_GRACE: Duration = Duration::from_secs(30);

/// Whether `gluster peer status` lists at least one peer and every one connected and in the
/// cluster. Its text is read rather than its XML to keep an XML parser out of this binary.
fn all_in_cluster(peer_status: &str) -> bool {
    let states: Vec<&str> = peer_status
        .lines()
        .filter_map(|l| l.trim().strip_prefix("State:"))
        .map(str::trim)
        .collect();
    !states.is_empty() && states.iter().all(|s| *s == "Peer in Cluster (Connected)")
}

/// Since when the peers have been settled without a break; times are offsets from the start
/// of the wait, so tests need no clock.
#[derive(Debug, Default)]
struct Handshake {
    since: Option<Duration>,
}

impl Handshake {
    /// Records whether the peers are settled at `now`; returns for how long they have been.
    fn observe(&mut self, now: Duration, settled: bool) -> Duration {
        if !settled {
            self.since = None;
            return Duration::ZERO;
        }
        now.saturating_sub(*self.since.get_or_insert(now))
    }
}

pub fn resync(ctx: &mut Ctx, host: &Host, paths: &Paths, timeout: u64) -> Result<ModuleResult, ModuleError> {
    let earlier = settle_earlier(ctx, host, paths, timeout)?;
    let action = earlier.as_ref().map(|s| s.action);
    let vols = paths.vols();
    let before = volume_names(&vols);
    // A copy put back (or, in check mode, to be) is no longer one.
    let back = earlier
        .as_ref()
        .filter(|s| s.action == Settle::Restored)
        .map(|s| s.copy.clone());
    let mut taken: Vec<u64> = copies(&paths.workdir)
        .into_iter()
        .filter(|t| Some(paths.copy(*t)) != back)
        .collect();
    let done_earlier = earlier.as_ref().filter(|s| s.action == Settle::Completed);
    let (copy, stamp) = match done_earlier {
        Some(s) => (
            s.copy.clone(),
            s.copy.file_name().and_then(|n| stamp_of(&n.to_string_lossy())),
        ),
        None => {
            let now = ctx.epoch_s();
            let stamp = new_stamp(now, &taken);
            taken.push(stamp);
            (paths.copy(stamp), Some(stamp))
        }
    };
    let tidy: Vec<u64> = to_tidy(&taken, KEEP, stamp.as_slice());
    let header = format!("saved copies of the volume definitions in {}", paths.workdir.display());
    let diff = json!({
        "before": listing(&copies(&paths.workdir), &[]),
        "after": listing(&taken, &tidy),
        "before_header": header,
        "after_header": header,
    });
    let base = |mut r: ModuleResult, removed: Vec<String>| {
        r.diff = Some(diff.clone());
        r.with("recovered", action.map(Settle::name))
            .with("kept", copy.display().to_string())
            .with("removed", removed)
            .with("resync_record", paths.record().display().to_string())
    };
    let volumes = if before.is_empty() {
        "no volume".to_string()
    } else {
        before.join(", ")
    };
    if ctx.check_mode() {
        let what = match action {
            Some(Settle::Completed) => "would complete the resync interrupted earlier".to_string(),
            _ => format!(
                "would {}restart glusterd without its definitions of {volumes}, keeping them in {}",
                if action == Some(Settle::Restored) {
                    "put back the copy a resync interrupted earlier left aside, then "
                } else {
                    ""
                },
                copy.display()
            ),
        };
        let would_remove: Vec<String> = tidy.iter().map(|s| paths.copy(*s).display().to_string()).collect();
        let msg = format!("{what}, and remove {} older copies", would_remove.len());
        return Ok(base(ModuleResult::new(true, msg), would_remove));
    }
    if done_earlier.is_some() {
        let removed = remove_copies(ctx, paths, &tidy);
        let msg = format!(
            "a resync interrupted earlier had imported every volume of {}; it is complete",
            copy.display()
        );
        return Ok(base(ModuleResult::new(true, msg), removed));
    }

    let mut rec = InProgress {
        copy: copy.clone(),
        volumes: before.clone(),
        glusterd: glusterd_cmdline(host),
        restoring: false,
    };
    record::write_synced(&paths.record(), &rec.to_value())?;
    if let Err(cause) = move_aside(ctx, host, paths, &copy, timeout) {
        // Nothing moved (a rename is whole or nothing): glusterd runs again, the record goes.
        let then = glusterd_again(ctx, host, &rec, timeout, "nothing was moved");
        let _ = record::remove(&paths.record());
        return Err(failure(cause, &then, true, None));
    }
    let _ = record::sync_dir(&paths.workdir);
    if let Err(e) = std::fs::create_dir(&vols) {
        let cause = ModuleError::failed(format!("cannot create an empty {}: {e}", vols.display()));
        return Err(put_back(ctx, host, paths, &mut rec, timeout, cause));
    }
    if let Err(cause) = start_glusterd(ctx, host, &rec.glusterd, timeout) {
        return Err(put_back(ctx, host, paths, &mut rec, timeout, cause));
    }
    let started = ctx.now();
    let mut handshake = Handshake::default();
    loop {
        let short = missing(&before, &volume_names(&vols));
        if short.is_empty() {
            break;
        }
        // The peers send their definitions as part of the handshake: once every peer has been in
        // the cluster for IMPORT_GRACE, a definition still missing will not come.
        let settled = ctx
            .runner
            .run(
                &["gluster", "--mode=script", "peer", "status"],
                Duration::from_secs(timeout.clamp(1, 30)),
            )
            .ok()
            .is_some_and(|o| o.success() && all_in_cluster(&o.stdout));
        if handshake.observe(ctx.since(started), settled) >= IMPORT_GRACE {
            let cause = ModuleError::failed(format!(
                "every peer has been in the cluster for {} s, yet glusterd did not import {} from them: they cannot \
                 give this server their definition (seen when they run another release: glusterd.log says what \
                 is missing in the payload). This server's own definitions were put back; see \
                 /var/log/glusterfs/glusterd.log",
                IMPORT_GRACE.as_secs(),
                short.join(", ")
            ));
            return Err(put_back(ctx, host, paths, &mut rec, timeout, cause));
        }
        if ctx.since(started) >= Duration::from_secs(timeout) {
            let cause = ModuleError::failed(format!(
                "glusterd did not import {} from its peers within {timeout} s: check that the peers agree (gluster \
                 peer status on each) and see /var/log/glusterfs/glusterd.log",
                short.join(", ")
            ));
            return Err(put_back(ctx, host, paths, &mut rec, timeout, cause));
        }
        ctx.sleep(Duration::from_secs(1));
    }
    // Whole: a record left behind would be judged complete by the next run.
    if let Err(e) = record::remove(&paths.record()) {
        ctx.warn(e.to_string());
    }
    let removed = remove_copies(ctx, paths, &tidy);
    let msg = format!(
        "glusterd imported the definitions of {volumes} from its peers (the previous copy is kept in {})",
        copy.display()
    );
    Ok(base(ModuleResult::new(true, msg), removed))
}

/// glusterd, then the bricks and self-heal daemons it started, stopped; `vols` renamed to `copy`.
fn move_aside(ctx: &mut Ctx, host: &Host, paths: &Paths, copy: &Path, timeout: u64) -> Result<(), ModuleError> {
    stop_glusterd(ctx, host, timeout)?;
    // Left running, they hold their ports and brick locks and the ones started afresh from the
    // imported definitions fail.
    let daemons: Vec<_> = host
        .running(&[])
        .into_iter()
        .filter(|p| {
            p.name == "glusterfsd" || (p.name == "glusterfs" && p.cmdline.iter().any(|a| a.contains("glustershd")))
        })
        .collect();
    terminate(
        ctx,
        host,
        &daemons.iter().collect::<Vec<_>>(),
        Duration::from_secs(timeout),
    )?;
    let vols = paths.vols();
    ctx.runner.record(format!("mv {} {}", vols.display(), copy.display()));
    std::fs::rename(&vols, copy).map_err(|e| {
        ModuleError::failed(format!(
            "cannot move {} aside to {}: {e}",
            vols.display(),
            copy.display()
        ))
    })
}

/// The copies of `stamps` but `but`, one a line, for the diff.
fn listing(stamps: &[u64], but: &[u64]) -> String {
    stamps
        .iter()
        .filter(|s| !but.contains(s))
        .map(|s| format!("{PREFIX}{s}\n"))
        .collect()
}

/// Removes the saved copies `stamps` (in check mode only names them); one that resists is a
/// warning, not a failure: the resync itself is done.
fn remove_copies(ctx: &mut Ctx, paths: &Paths, stamps: &[u64]) -> Vec<String> {
    let mut removed = Vec::new();
    for s in stamps {
        let p = paths.copy(*s);
        ctx.runner.record(format!("rm -rf {}", p.display()));
        match std::fs::remove_dir_all(&p) {
            Ok(()) => removed.push(p.display().to_string()),
            Err(e) => ctx.warn(format!(
                "cannot remove the old copy {}: {e}; remove it by hand",
                p.display()
            )),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_interrupted_resync_completes_only_when_every_saved_volume_is_back() {
        let saved = names(&["arb0", "gv0"]);
        assert_eq!(
            settle(false, true, true, &saved, &names(&["arb0", "gv0", "new"])),
            Settle::Completed
        );
        assert_eq!(settle(false, true, true, &saved, &names(&["gv0"])), Settle::Restored);
        assert_eq!(settle(false, true, true, &saved, &[]), Settle::Restored);
        // Moved, then killed before the empty folder was made.
        assert_eq!(settle(false, true, false, &saved, &[]), Settle::Restored);
        // A restore under way is finished even when the import looks whole.
        assert_eq!(settle(true, true, true, &saved, &saved), Settle::Restored);
        // Killed before the move, or after the copy went back.
        assert_eq!(settle(false, false, true, &saved, &saved), Settle::Cleared);
        assert_eq!(settle(true, false, true, &saved, &saved), Settle::Cleared);
        assert_eq!(settle(false, false, false, &saved, &[]), Settle::Lost);
    }

    #[test]
    fn an_import_is_given_up_once_the_peers_stayed_in_the_cluster_for_the_grace() {
        let secs = Duration::from_secs;
        let mut h = Handshake::default();
        assert_eq!(h.observe(secs(0), false), secs(0));
        assert_eq!(h.observe(secs(5), true), secs(0));
        assert_eq!(h.observe(secs(20), true), secs(15));
        // A peer that drops out starts the grace again.
        assert_eq!(h.observe(secs(21), false), secs(0));
        assert_eq!(h.observe(secs(22), true), secs(0));
        assert!(h.observe(secs(52), true) >= IMPORT_GRACE);
    }

    #[test]
    fn peers_are_settled_only_when_every_one_is_connected_and_in_the_cluster() {
        // `gluster peer status` captured on the testbed (10.3): node2, then node1 whose definition
        // of gv0 its peers rejected.
        let node2 = "Number of Peers: 2\n\nHostname: node1\nUuid: 76c7e44d-2081-4424-8c9a-2007d29f4cc8\n\
                     State: Peer in Cluster (Connected)\n\nHostname: 10.199.0.13\n\
                     Uuid: e3c33170-2556-4c5b-a860-53bcc985092a\nState: Peer in Cluster (Connected)\n";
        let node1 = "Number of Peers: 2\n\nHostname: 10.199.0.12\nUuid: e90ca650-bfe3-4ebd-aca4-450374c5faa2\n\
                     State: Peer Rejected (Connected)\n\nHostname: 10.199.0.13\n\
                     Uuid: e3c33170-2556-4c5b-a860-53bcc985092a\nState: Peer Rejected (Connected)\n";
        assert!(all_in_cluster(node2));
        assert!(!all_in_cluster(node1));
        assert!(!all_in_cluster(&node2.replace(
            "in Cluster (Connected)\n\nHostname: 10",
            "in Cluster (Disconnected)\n\nHostname: 10"
        )));
        assert!(!all_in_cluster("Number of Peers: 0\n"));
    }

    #[test]
    fn tidying_keeps_the_newest_and_never_the_protected_copy() {
        assert_eq!(to_tidy(&[300, 100, 400, 200, 500], 3, &[]), vec![100, 200]);
        assert_eq!(to_tidy(&[300, 100, 400, 200, 500], 3, &[100]), vec![200]);
        assert_eq!(to_tidy(&[100, 200], 3, &[]), Vec::<u64>::new());
        assert_eq!(to_tidy(&[100, 100, 200, 300], 1, &[]), vec![100, 200]);
    }

    #[test]
    fn a_new_copy_is_the_newest_even_when_the_clock_is_behind() {
        assert_eq!(new_stamp(1000, &[]), 1000);
        assert_eq!(new_stamp(1000, &[999, 10]), 1000);
        assert_eq!(new_stamp(1000, &[1000]), 1001);
        assert_eq!(new_stamp(5, &[1000]), 1001);
    }

    #[test]
    fn only_stamped_folders_are_copies() {
        assert_eq!(stamp_of("vols.keel-1795652400"), Some(1795652400));
        for other in [
            "vols.keel-",
            "vols.keel-old",
            "vols.keel-12x",
            "vols",
            "vols.keel--1",
            "keel-resync.json",
        ] {
            assert_eq!(stamp_of(other), None, "{other}");
        }
        let dir = tempfile::tempdir().unwrap();
        for d in ["vols.keel-30", "vols.keel-10", "vols.keel-old", "vols"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        std::fs::write(dir.path().join("vols.keel-20"), "").unwrap();
        std::os::unix::fs::symlink(dir.path().join("vols"), dir.path().join("vols.keel-40")).unwrap();
        assert_eq!(copies(dir.path()), vec![10, 30]);
    }

    #[test]
    fn a_restore_under_way_is_recorded_and_the_record_goes_once_the_copy_is_back() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths {
            workdir: dir.path().to_path_buf(),
        };
        let copy = paths.copy(7);
        std::fs::create_dir_all(copy.join("gv0")).unwrap();
        std::fs::write(copy.join("gv0/info"), "type=2\n").unwrap();
        std::fs::create_dir_all(paths.vols().join("partial")).unwrap();
        let mut rec = InProgress {
            copy: copy.clone(),
            volumes: names(&["gv0"]),
            glusterd: names(&["glusterd"]),
            restoring: false,
        };
        record::write_synced(&paths.record(), &rec.to_value()).unwrap();
        let mut ctx = Ctx::new("gluster_service", keel_runtime::AnsibleContext::default());
        // An empty process table: the stop signals nothing (the module tests play it with systemd).
        let host = Host {
            proc_root: dir.path().join("no-proc"),
            systemd: false,
        };
        restore(&mut ctx, &host, &paths, &mut rec, 1).unwrap();
        assert_eq!(volume_names(&paths.vols()), vec!["gv0"]);
        assert!(!copy.exists() && !paths.record().exists());
        assert!(rec.restoring);
    }
}
