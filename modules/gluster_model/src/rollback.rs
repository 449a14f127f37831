//! The way back before the op-version is raised, pure: the manifest kept beside a server's saved
//! glusterd state (`gluster_state`), the op-version read from `glusterd.info`, and the decisions
//! (which saved release a server goes back to, whether the way back is still open). The copying
//! is the module's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::packages::{release_of, Installed};
use crate::parse::GlusterVersion;

/// What `gluster_state` records beside a saved copy of /var/lib/glusterd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The Gluster release the server ran when the copy was taken ("10.3").
    pub release: String,
    /// Every installed Gluster package and its version, from the package database.
    pub packages: BTreeMap<String, String>,
    /// `operating-version` of glusterd.info when the copy was taken (cluster.op-version).
    pub op_version: u64,
    /// Seconds since the epoch.
    pub saved_at: u64,
    /// Set when the copy was put back (seconds since the epoch); a later save of the same
    /// release clears it (the way back is armed again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_at: Option<u64>,
}

/// `operating-version=N` of `/var/lib/glusterd/glusterd.info`: the op-version glusterd runs at
/// (what `gluster volume get all cluster.op-version` reports; glusterd writes it there).
pub fn op_version_of_info(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("operating-version="))
        .and_then(|v| v.trim().parse().ok())
}

/// The release the installed packages carry: glusterfs-server's, else any Gluster package's
/// (a client). None when nothing Gluster is installed, or when a package is left half way (an
/// interrupted install is no release to save).
pub fn installed_release(installed: &[Installed]) -> Result<GlusterVersion, String> {
    if let Some(p) = installed.iter().find(|p| p.unfinished.is_some()) {
        return Err(format!(
            "package {} is {} (an install left half way): finish it (dpkg --configure -a, or \
             keel.storage.gluster_install) before saving or restoring the state",
            p.name,
            p.unfinished.unwrap_or_default()
        ));
    }
    let pick = installed
        .iter()
        .find(|p| p.name == "glusterfs-server")
        .or_else(|| installed.first())
        .ok_or_else(|| "no Gluster package is installed on this host".to_string())?;
    release_of(&pick.version).ok_or_else(|| {
        format!(
            "cannot read a Gluster release from {} version {}",
            pick.name, pick.version
        )
    })
}

/// A manifest for the packages as installed now.
pub fn manifest(installed: &[Installed], op_version: u64, now: u64) -> Result<Manifest, String> {
    let release = installed_release(installed)?;
    Ok(Manifest {
        release: release.text,
        packages: installed.iter().map(|p| (p.name.clone(), p.version.clone())).collect(),
        op_version,
        saved_at: now,
        restored_at: None,
    })
}

/// What `state: saved` does for the release installed now.
#[derive(Debug, PartialEq, Eq)]
pub enum Save {
    /// No copy for this release yet: take one.
    Take,
    /// A copy of this release exists and is kept (never overwritten by a later state).
    Keep,
    /// A copy exists and was restored since: kept, and armed again for a later way back.
    Rearm,
}

pub fn save_decision(existing: Option<&Manifest>) -> Save {
    match existing {
        None => Save::Take,
        Some(m) if m.restored_at.is_some() => Save::Rearm,
        Some(_) => Save::Keep,
    }
}

/// Whether the way back to a saved release is still open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WayBack {
    /// The release the server would go back to; None when no copy of an older release is kept.
    pub release: Option<String>,
    /// The op-version that copy recorded.
    pub op_version_saved: Option<u64>,
    /// The op-version glusterd runs at now.
    pub op_version_now: Option<u64>,
    /// A copy exists and the op-version has not been raised past it.
    pub open: bool,
    /// Why not, in words, when closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The copy a server goes back to: `wanted` if given, else the newest saved release older than
/// the installed one (or, with the installed release unknown, the only one kept); the way is open
/// while the op-version now is at most the one the copy recorded: Gluster never lowers it, and
/// the old release cannot join a pool above its own.
pub fn way_back(
    saved: &[Manifest],
    installed: Option<&GlusterVersion>,
    op_version_now: Option<u64>,
    wanted: Option<&str>,
) -> WayBack {
    let release = |m: &Manifest| crate::parse::version_from(&m.release);
    let chosen = match wanted {
        Some(w) => saved.iter().find(|m| m.release == w),
        None => saved
            .iter()
            .filter(|m| match (release(m), installed) {
                (Some(r), Some(i)) => r < *i,
                (_, None) => saved.len() == 1,
                (None, Some(_)) => false,
            })
            .max_by_key(|m| release(m)),
    };
    let closed = |reason: String, m: Option<&Manifest>| WayBack {
        release: m.map(|m| m.release.clone()),
        op_version_saved: m.map(|m| m.op_version),
        op_version_now,
        open: false,
        reason: Some(reason),
    };
    let Some(m) = chosen else {
        let kept: Vec<&str> = saved.iter().map(|m| m.release.as_str()).collect();
        return closed(
            match wanted {
                Some(w) => format!(
                    "no saved state of release {w} on this server (kept: {})",
                    if kept.is_empty() {
                        "none".to_string()
                    } else {
                        kept.join(", ")
                    }
                ),
                None => format!(
                    "no saved state of a release older than the installed {} on this server (kept: {})",
                    installed.map_or("?", |i| i.text.as_str()),
                    if kept.is_empty() {
                        "none".to_string()
                    } else {
                        kept.join(", ")
                    }
                ),
            },
            None,
        );
    };
    match op_version_now {
        None => closed(
            "the op-version glusterd runs at cannot be read (glusterd.info has no operating-version)".into(),
            Some(m),
        ),
        Some(now) if now > m.op_version => closed(
            format!(
                "the op-version was raised to {now} after release {} was saved at op-version {}: the point of no \
                 return has passed and there is no way back (Gluster never lowers the op-version, and {} cannot \
                 run a pool at {now})",
                m.release, m.op_version, m.release
            ),
            Some(m),
        ),
        Some(_) => WayBack {
            release: Some(m.release.clone()),
            op_version_saved: Some(m.op_version),
            op_version_now,
            open: true,
            reason: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::version_from;

    fn pkgs(v: &str) -> Vec<Installed> {
        ["glusterfs-client", "glusterfs-server", "libglusterfs0"]
            .iter()
            .map(|n| Installed {
                name: n.to_string(),
                version: v.to_string(),
                unfinished: None,
            })
            .collect()
    }

    fn saved(release: &str, op: u64) -> Manifest {
        manifest(&pkgs(&format!("{release}-5")), op, 1).unwrap()
    }

    #[test]
    fn op_version_comes_from_glusterd_info() {
        let info = "UUID=2a0b5a3c-6a6f-4f4e-9d1e-0d6f0b1c1e11\noperating-version=100000\n";
        assert_eq!(op_version_of_info(info), Some(100000));
        assert_eq!(op_version_of_info("UUID=x\n"), None);
        assert_eq!(op_version_of_info("operating-version=abc\n"), None);
    }

    #[test]
    fn the_manifest_names_the_release_and_every_package() {
        let m = manifest(&pkgs("10.3-5"), 100000, 42).unwrap();
        assert_eq!(m.release, "10.3");
        assert_eq!(m.packages.len(), 3);
        assert_eq!(m.packages["glusterfs-server"], "10.3-5");
        assert_eq!((m.op_version, m.saved_at, m.restored_at), (100000, 42, None));
    }

    #[test]
    fn no_manifest_of_nothing_or_of_a_half_install() {
        assert!(manifest(&[], 1, 1).unwrap_err().contains("no Gluster package"));
        let mut p = pkgs("11.1-3");
        p[1].unfinished = Some("half-configured");
        let e = manifest(&p, 1, 1).unwrap_err();
        assert!(e.contains("glusterfs-server is half-configured"), "{e}");
    }

    #[test]
    fn an_existing_copy_is_kept_and_rearmed_after_a_restore() {
        let mut m = saved("10.3", 100000);
        assert_eq!(save_decision(None), Save::Take);
        assert_eq!(save_decision(Some(&m)), Save::Keep);
        m.restored_at = Some(5);
        assert_eq!(save_decision(Some(&m)), Save::Rearm);
    }

    #[test]
    fn the_way_back_is_open_until_the_op_version_is_raised() {
        let kept = [saved("10.3", 100000)];
        let v11 = version_from("11.1");
        let w = way_back(&kept, v11.as_ref(), Some(100000), None);
        assert!(w.open, "{w:?}");
        assert_eq!(w.release.as_deref(), Some("10.3"));
        let w = way_back(&kept, v11.as_ref(), Some(110000), None);
        assert!(!w.open);
        assert!(w.reason.unwrap().contains("there is no way back"));
        let w = way_back(&kept, v11.as_ref(), None, None);
        assert!(!w.open);
    }

    #[test]
    fn the_newest_older_release_is_chosen_unless_one_is_named() {
        let kept = [saved("9.6", 90000), saved("10.3", 100000), saved("11.1", 100000)];
        let v11 = version_from("11.1");
        assert_eq!(
            way_back(&kept, v11.as_ref(), Some(100000), None).release.as_deref(),
            Some("10.3")
        );
        let w = way_back(&kept, v11.as_ref(), Some(100000), Some("9.6"));
        // 9.6 recorded 90000: the pool has been raised past it since.
        assert!(!w.open && w.reason.unwrap().contains("no way back"));
        let w = way_back(&kept, v11.as_ref(), Some(100000), Some("8.0"));
        assert!(!w.open && w.reason.unwrap().contains("no saved state of release 8.0"));
    }

    #[test]
    fn nothing_older_saved_is_no_way_back() {
        let kept = [saved("11.1", 100000)];
        let w = way_back(&kept, version_from("11.1").as_ref(), Some(100000), None);
        assert!(!w.open);
        assert!(w.reason.unwrap().contains("older than the installed 11.1"));
        let w = way_back(&[], None, Some(1), None);
        assert!(!w.open && w.release.is_none());
    }
}
