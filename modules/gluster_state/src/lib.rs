//! `keel.storage.gluster_state`: before a server is upgraded, keeps a copy of its glusterd state
//! (`/var/lib/glusterd`, never brick data) and a manifest of its Gluster packages and op-version
//! (`state: saved`); puts the copy back after the old release was installed again
//! (`state: restored`); says whether the way back is still open (`state: query`). The decisions
//! are keel_gluster_model::rollback's.

use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use keel_gluster_install::{detect, query_installed};
use keel_gluster_model::rollback::{self, Manifest, Save};
use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult};
use serde::Deserialize;
use serde_json::{json, Map, Value};

mod spec;
pub use spec::MODULE;

#[derive(Deserialize)]
struct Args {
    state: String,
    release: Option<String>,
    path: String,
    store: String,
    package_manager: String,
}

const MANIFEST: &str = "manifest.json";
const COPY: &str = "glusterd";

fn io_failed(what: &str, path: &Path, e: std::io::Error) -> ModuleError {
    ModuleError::failed(format!(
        "cannot {what} {}: {e}; check the file system (space, permissions) and run the task again",
        path.display()
    ))
}

/// A release as a directory name: digits and dots only (the manifest's own release).
fn valid_release(r: &str) -> bool {
    !r.is_empty() && r.len() <= 32 && r.chars().all(|c| c.is_ascii_digit() || c == '.') && !r.starts_with('.')
}

/// Every saved copy's manifest, oldest release first; unreadable ones are named, not skipped.
fn saved(store: &Path) -> Result<Vec<Manifest>, ModuleError> {
    let dir = match std::fs::read_dir(store) {
        Ok(d) => d,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_failed("read", store, e)),
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !valid_release(&name) {
            continue; // a copy being made (RELEASE.tmp-PID) or anything else
        }
        let file = entry.path().join(MANIFEST);
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(io_failed("read", &file, e)),
        };
        let m: Manifest = serde_json::from_str(&text).map_err(|e| {
            ModuleError::failed(format!(
                "the manifest {} is unreadable ({e}); remove {} if that copy is not wanted, or repair the file",
                file.display(),
                entry.path().display()
            ))
        })?;
        out.push(m);
    }
    out.sort_by_key(|m| keel_gluster_model::parse::version_from(&m.release));
    Ok(out)
}

fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), ModuleError> {
    let file = dir.join(MANIFEST);
    let text = serde_json::to_vec_pretty(m).unwrap_or_default();
    keel_host::record::write_file(&file, &text).map_err(|e| io_failed("write", &file, e))
}

/// The op-version glusterd runs at, from `PATH/glusterd.info`.
fn op_version_at(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path.join("glusterd.info"))
        .ok()
        .and_then(|t| rollback::op_version_of_info(&t))
}

/// Copies `from` into `to` (which must not exist): directories, regular files and symbolic links
/// as links (none is followed), with their modes and owners; other files (sockets, pipes) are
/// not copied, and named. Returns (files, bytes, skipped).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<(u64, u64, Vec<String>)> {
    let meta = std::fs::symlink_metadata(from)?;
    let mut counts = (0, 0, Vec::new());
    std::fs::DirBuilder::new().mode(0o700).create(to)?;
    copy_dir(from, to, &mut counts)?;
    std::os::unix::fs::chown(to, Some(meta.uid()), Some(meta.gid()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    Ok(counts)
}

fn copy_dir(from: &Path, to: &Path, counts: &mut (u64, u64, Vec<String>)) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = std::fs::symlink_metadata(&src)?;
        let ft = meta.file_type();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
            std::os::unix::fs::lchown(&dst, Some(meta.uid()), Some(meta.gid()))?;
            continue;
        } else if ft.is_dir() {
            std::fs::DirBuilder::new().mode(0o700).create(&dst)?;
            copy_dir(&src, &dst, counts)?;
        } else if ft.is_file() {
            // Opened without following a link put there meanwhile (O_NOFOLLOW).
            let mut input = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(O_NOFOLLOW)
                .open(&src)?;
            let mut output = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&dst)?;
            counts.1 += std::io::copy(&mut input, &mut output)?;
            output.sync_all()?;
            counts.0 += 1;
        } else {
            counts.2.push(src.display().to_string());
            continue;
        }
        std::os::unix::fs::chown(&dst, Some(meta.uid()), Some(meta.gid()))?;
        std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    Ok(())
}

/// Linux's O_NOFOLLOW (the same on x86_64, aarch64 and riscv64, the platforms Keel builds for).
const O_NOFOLLOW: i32 = 0o400000;

/// Makes `dir` (created if missing) hold exactly what `from` holds, with `from`'s mode and owner:
/// its entries removed (links not followed), then `from`'s copied in.
fn replace_contents(dir: &Path, from: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    if !dir.exists() {
        std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    }
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    copy_dir(from, dir, &mut (0, 0, Vec::new()))?;
    std::os::unix::fs::chown(dir, Some(meta.uid()), Some(meta.gid()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(meta.mode() & 0o7777))
}

/// Whether two trees hold the same names, kinds, modes and contents (an idempotence check).
fn same_tree(a: &Path, b: &Path) -> bool {
    fn walk(a: &Path, b: &Path) -> std::io::Result<bool> {
        let (ma, mb) = (std::fs::symlink_metadata(a)?, std::fs::symlink_metadata(b)?);
        if ma.file_type() != mb.file_type() || ma.mode() != mb.mode() {
            return Ok(false);
        }
        if ma.file_type().is_symlink() {
            return Ok(std::fs::read_link(a)? == std::fs::read_link(b)?);
        }
        if ma.is_file() {
            return Ok(ma.len() == mb.len() && std::fs::read(a)? == std::fs::read(b)?);
        }
        if !ma.is_dir() {
            return Ok(true);
        }
        let names = |p: &Path| -> std::io::Result<Vec<std::ffi::OsString>> {
            let mut n: Vec<_> = std::fs::read_dir(p)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<_, _>>()?;
            n.sort();
            Ok(n)
        };
        let (na, nb) = (names(a)?, names(b)?);
        if na != nb {
            return Ok(false);
        }
        for n in na {
            if !walk(&a.join(&n), &b.join(&n))? {
                return Ok(false);
            }
        }
        Ok(true)
    }
    walk(a, b).unwrap_or(false)
}

/// The store: root's alone (0700), created if missing; refused when a link or another owner's.
fn private_store(store: &Path) -> Result<(), ModuleError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(store)
        .map_err(|e| io_failed("create", store, e))?;
    let meta = std::fs::symlink_metadata(store).map_err(|e| io_failed("read", store, e))?;
    let own_uid = std::fs::symlink_metadata("/proc/self").map(|m| m.uid()).unwrap_or(0);
    if !meta.is_dir() || meta.uid() != own_uid {
        return Err(ModuleError::failed(format!(
            "{} is not a directory of this user's own (a link, or another owner's): refusing to keep glusterd's \
             state there; remove it or give another store",
            store.display()
        )));
    }
    std::fs::set_permissions(store, std::fs::Permissions::from_mode(0o700)).map_err(|e| io_failed("protect", store, e))
}

fn installed(ctx: &mut Ctx, args: &Args) -> Result<Vec<keel_gluster_model::packages::Installed>, ModuleError> {
    let manager = detect(&args.package_manager)?;
    query_installed(ctx, manager)
}

/// Tests (the docs check runs the EXAMPLES on the build host) put /var/lib elsewhere.
const VAR_LIB_VAR: &str = "KEEL_TEST_VAR_LIB";

fn under_test_root(path: &str) -> PathBuf {
    match (std::env::var_os(VAR_LIB_VAR), path.strip_prefix("/var/lib/")) {
        (Some(root), Some(rest)) => PathBuf::from(root).join(rest),
        _ => PathBuf::from(path),
    }
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_state", opts)?;
    if let Some(r) = &args.release {
        if !valid_release(r) {
            return Err(ModuleError::invalid_args(format!(
                "gluster_state: option 'release' must be a Gluster release such as 10.3, got '{r}'"
            )));
        }
    }
    let (path, store) = (under_test_root(&args.path), under_test_root(&args.store));
    match args.state.as_str() {
        "saved" => save(ctx, &args, &path, &store),
        "restored" => restore(ctx, &args, &path, &store),
        _ => query(ctx, &args, &path, &store),
    }
}

fn way_back_of(
    ctx: &mut Ctx,
    args: &Args,
    path: &Path,
    kept: &[Manifest],
) -> Result<(rollback::WayBack, Option<String>), ModuleError> {
    let release = rollback::installed_release(&installed(ctx, args)?).ok();
    let w = rollback::way_back(kept, release.as_ref(), op_version_at(path), args.release.as_deref());
    Ok((w, release.map(|r| r.text)))
}

fn query(ctx: &mut Ctx, args: &Args, path: &Path, store: &Path) -> Result<ModuleResult, ModuleError> {
    let kept = saved(store)?;
    let (way_back, installed) = way_back_of(ctx, args, path, &kept)?;
    let msg = match (&way_back.release, way_back.open) {
        (Some(r), true) => format!("the way back to {r} is open"),
        _ => format!("no way back: {}", way_back.reason.clone().unwrap_or_default()),
    };
    Ok(ModuleResult::new(false, msg)
        .with("installed_release", installed)
        .with("saved", &kept)
        .with("way_back", &way_back))
}

fn save(ctx: &mut Ctx, args: &Args, path: &Path, store: &Path) -> Result<ModuleResult, ModuleError> {
    let packages = installed(ctx, args)?;
    let op_version = op_version_at(path).ok_or_else(|| {
        ModuleError::failed(format!(
            "{} has no readable operating-version: is this a Gluster server whose glusterd has run once? Nothing was \
             saved",
            path.join("glusterd.info").display()
        ))
    })?;
    let manifest = rollback::manifest(&packages, op_version, ctx.epoch_s()).map_err(|e| {
        ModuleError::failed(format!(
            "cannot tell which release this server runs: {e}; nothing was saved"
        ))
    })?;
    if let Some(r) = &args.release {
        if *r != manifest.release {
            return Err(ModuleError::failed(format!(
                "release {r} was asked for, but the installed packages carry {}: the state saved must be the installed \
                 release's; nothing was saved",
                manifest.release
            )));
        }
    }
    let dir = store.join(&manifest.release);
    let kept = saved(store)?;
    let existing = kept.iter().find(|m| m.release == manifest.release);
    let base = |r: ModuleResult, m: &Manifest| {
        r.with("release", &m.release)
            .with("saved_copy", dir.join(COPY))
            .with("manifest", m)
    };
    match rollback::save_decision(existing) {
        Save::Keep => {
            let m = existing.cloned().unwrap_or(manifest);
            Ok(base(
                ModuleResult::new(
                    false,
                    format!(
                        "the state of release {} saved at op-version {} is kept in {} (never overwritten by a later \
                         state)",
                        m.release,
                        m.op_version,
                        dir.display()
                    ),
                ),
                &m,
            ))
        }
        Save::Rearm => {
            let mut m = existing.cloned().unwrap_or(manifest);
            m.restored_at = None;
            if !ctx.check_mode() {
                write_manifest(&dir, &m)?;
            }
            Ok(base(
                ModuleResult::new(
                    true,
                    format!(
                        "the state of release {} (restored once) is kept in {} and serves the way back again",
                        m.release,
                        dir.display()
                    ),
                ),
                &m,
            ))
        }
        Save::Take => {
            let msg = format!(
                "{} {} (release {}, op-version {}, {} Gluster packages) to {}",
                if ctx.check_mode() { "would save" } else { "saved" },
                path.display(),
                manifest.release,
                manifest.op_version,
                manifest.packages.len(),
                dir.display()
            );
            let mut r = base(ModuleResult::new(true, msg), &manifest);
            if ctx.diff_mode() {
                r.diff = Some(json!({
                    "before": "",
                    "after": format!("{}\n", dir.display()),
                    "after_header": "saved glusterd state",
                }));
            }
            if ctx.check_mode() {
                return Ok(r);
            }
            if !path.is_dir() {
                return Err(ModuleError::failed(format!(
                    "{} is not a directory: nothing to save",
                    path.display()
                )));
            }
            private_store(store)?;
            let tmp = store.join(format!("{}.tmp-{}", manifest.release, std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            let made = std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&tmp)
                .and_then(|()| copy_tree(path, &tmp.join(COPY)));
            let (files, bytes, skipped) = match made {
                Ok(c) => c,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&tmp);
                    return Err(io_failed("copy glusterd's state to", &tmp, e));
                }
            };
            write_manifest(&tmp, &manifest).inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&tmp);
            })?;
            std::fs::rename(&tmp, &dir).map_err(|e| {
                let _ = std::fs::remove_dir_all(&tmp);
                io_failed("put the copy in place as", &dir, e)
            })?;
            let _ = keel_host::record::sync_dir(store);
            Ok(r.with("files", files).with("bytes", bytes).with("not_copied", skipped))
        }
    }
}

/// A glusterd of this host's own PID namespace.
fn glusterd_running() -> Option<i32> {
    keel_host::procs::scan(Path::new("/proc"))
        .into_iter()
        .find(|p| p.name == "glusterd")
        .map(|p| p.pid)
}

fn restore(ctx: &mut Ctx, args: &Args, path: &Path, store: &Path) -> Result<ModuleResult, ModuleError> {
    let release = rollback::installed_release(&installed(ctx, args)?).map_err(|e| {
        ModuleError::failed(format!(
            "cannot tell which release this server runs: {e}; nothing was restored"
        ))
    })?;
    let wanted = args.release.clone().unwrap_or_else(|| release.text.clone());
    if wanted != release.text {
        return Err(ModuleError::failed(format!(
            "release {wanted} is to be restored but the installed packages carry {}: install {wanted} first \
             (keel.storage.gluster_install with version {wanted} and allow_downgrade: true), then restore its state; \
             nothing was restored",
            release.text
        )));
    }
    let kept = saved(store)?;
    let dir = store.join(&wanted);
    let Some(m) = kept.iter().find(|m| m.release == wanted).cloned() else {
        let names: Vec<&str> = kept.iter().map(|m| m.release.as_str()).collect();
        return Err(ModuleError::failed(format!(
            "no saved glusterd state of release {wanted} in {} (kept: {}): there is no copy to go back to; nothing \
             was restored",
            store.display(),
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        )));
    };
    let copy = dir.join(COPY);
    let base = |r: ModuleResult| {
        r.with("release", &wanted)
            .with("saved_copy", &copy)
            .with("manifest", &m)
    };
    if m.restored_at.is_some() || same_tree(&copy, path) {
        return Ok(base(ModuleResult::new(
            false,
            format!("{} already holds the saved state of release {wanted}", path.display()),
        )));
    }
    if let Some(now) = op_version_at(path) {
        if now > m.op_version {
            return Err(ModuleError::failed(format!(
                "refusing to restore: the op-version was raised to {now} after release {wanted} was saved at \
                 op-version {}. The point of no return has passed: there is no way back (Gluster never lowers the \
                 op-version); nothing was restored",
                m.op_version
            )));
        }
    }
    if let Some(pid) = glusterd_running() {
        return Err(ModuleError::failed(format!(
            "glusterd is running (pid {pid}): stop the Gluster services first (keel.storage.gluster_service with \
             state: stopped), then restore; nothing was restored"
        )));
    }
    let ts = ctx.epoch_s();
    let aside = PathBuf::from(format!("{}.keel-rollback-{ts}", path.display()));
    let msg = format!(
        "{} the saved state of release {wanted} (op-version {}) to {}, the current one {} {}",
        if ctx.check_mode() { "would restore" } else { "restored" },
        m.op_version,
        path.display(),
        if ctx.check_mode() { "to be kept as" } else { "kept as" },
        aside.display()
    );
    let mut r = base(ModuleResult::new(true, msg)).with("moved_aside", &aside);
    if ctx.diff_mode() {
        r.diff = Some(json!({
            "before": format!("{}: the current state (op-version {})\n", path.display(),
                op_version_at(path).map_or("unknown".into(), |v| v.to_string())),
            "after": format!("{}: release {wanted}'s saved state (op-version {})\n", path.display(), m.op_version),
        }));
    }
    if ctx.check_mode() {
        return Ok(r);
    }
    // /var/lib/glusterd may be a mount point of its own (it is on the testbed), so it is never
    // renamed: its contents are copied aside first, then replaced with the saved copy's.
    if path.exists() {
        if let Err(e) = copy_tree(path, &aside) {
            let _ = std::fs::remove_dir_all(&aside);
            return Err(io_failed("keep the current state aside as", &aside, e));
        }
    }
    if let Err(e) = replace_contents(path, &copy) {
        let back = replace_contents(path, &aside);
        return Err(ModuleError::failed(format!(
            "cannot put the saved state of release {wanted} in place as {} ({e}); {}",
            path.display(),
            match back {
                Ok(()) => format!("the current state was put back (a copy stays in {})", aside.display()),
                Err(b) => format!(
                    "and the current state could not be put back ({b}): it is kept as {}; the saved state is in {}: \
                     copy one of them to {} by hand (cp -a) before starting glusterd",
                    aside.display(),
                    copy.display(),
                    path.display()
                ),
            }
        )));
    }
    let mut done = m.clone();
    done.restored_at = Some(ts);
    write_manifest(&dir, &done)?;
    Ok(r.with("manifest", &done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_is_copied_with_modes_and_links_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join("vols/gv0")).unwrap();
        std::fs::write(src.join("glusterd.info"), "operating-version=100000\n").unwrap();
        std::fs::write(src.join("vols/gv0/info"), "type=2\n").unwrap();
        std::fs::set_permissions(src.join("vols/gv0/info"), std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::write(t.path().join("outside"), "brick data").unwrap();
        std::os::unix::fs::symlink(t.path().join("outside"), src.join("link")).unwrap();
        let dst = t.path().join("dst");
        let (files, _, skipped) = copy_tree(&src, &dst).unwrap();
        assert_eq!((files, skipped.len()), (2, 0));
        assert!(std::fs::symlink_metadata(dst.join("link"))
            .unwrap()
            .file_type()
            .is_symlink());
        let mode = std::fs::metadata(dst.join("vols/gv0/info")).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert!(same_tree(&src, &dst));
        std::fs::write(dst.join("vols/gv0/info"), "type=3\n").unwrap();
        assert!(!same_tree(&src, &dst));
        assert_eq!(op_version_at(&dst), Some(100000));
    }

    #[test]
    fn releases_are_plain_directory_names() {
        assert!(valid_release("10.3") && valid_release("3.12"));
        assert!(!valid_release("../x") && !valid_release("10.3.tmp-1") && !valid_release("") && !valid_release(".1"));
    }
}
