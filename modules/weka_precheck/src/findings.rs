//! The upgrade prerequisites as a pure function of what was read: findings with a severity, a
//! code and a sentence. Rules: the seed procedure (backends online, no rebuild, no unaddressed
//! alerts, free space under /opt/weka, the data upgrade finished, a Cluster Admin login, a
//! supported hop, clients not two versions behind) and WEKA's own checker (tasks, mixed
//! versions, the 1.5x free-space rule of newer releases).

use keel_weka_cli::parse::WhoAmI;
use keel_weka_cli::paths::Table;
use keel_weka_cli::{Cluster, WekaVersion};
use serde::Serialize;

pub use keel_runtime::findings::{Finding, Severity};

/// Free space where WEKA keeps its releases, measured on this host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Space {
    pub dir: String,
    pub exists: bool,
    /// Bytes free to unprivileged users in `dir`.
    pub free: u64,
    /// Per `dir/data/<container>`: (container, bytes in it, bytes free on its file system).
    pub data: Vec<(String, u64, u64)>,
}

/// The seed's flat rule (3.x to 4.0): 4 GB free under /opt/weka.
pub const FLAT_MIN_FREE: u64 = 4 * 1024 * 1024 * 1024;

/// WEKA's checker replaced the flat rule for multi-container releases (4.1+): each container's
/// data directory needs 1.5 times its size free. Which release switched is not documented;
/// 4.1, where per-container data directories arrived, is the choice here.
pub fn space_findings(running: &WekaVersion, s: &Space) -> Vec<Finding> {
    let mut out = Vec::new();
    let gib = |b: u64| format!("{:.1} GiB", b as f64 / 1073741824.0);
    if !s.exists {
        out.push(Finding {
            severity: Severity::Blocker,
            code: "weka_dir_missing",
            msg: format!(
                "{} does not exist on this host, so its free space cannot be checked: run the precheck on WEKA backends \
                 (or set weka_dir)",
                s.dir
            ),
        });
        return out;
    }
    if running.at_least("4.1") {
        for (container, size, free) in &s.data {
            let need = size.saturating_mul(3) / 2;
            if *free < need {
                out.push(Finding {
                    severity: Severity::Blocker,
                    code: "free_space",
                    msg: format!(
                        "{}/data/{container} holds {} and its file system has {} free; WEKA needs 1.5 times the directory's \
                         size ({}) free to upgrade: free space there (old releases: `weka version rm`)",
                        s.dir,
                        gib(*size),
                        gib(*free),
                        gib(need)
                    ),
                });
            }
        }
    } else if s.free < FLAT_MIN_FREE {
        out.push(Finding {
            severity: Severity::Blocker,
            code: "free_space",
            msg: format!(
                "{} has {} free; the upgrade needs at least 4 GB: free space there (old releases: `weka version rm`)",
                s.dir,
                gib(s.free)
            ),
        });
    }
    out
}

pub struct Input<'a> {
    pub cluster: &'a Cluster,
    /// `weka user whoami`, or why it failed.
    pub whoami: Result<WhoAmI, String>,
    pub target: &'a WekaVersion,
    pub table: &'a Table,
    /// Alert types an operator has reviewed and accepts.
    pub allowed_alerts: &'a [String],
    pub space: Option<Space>,
    pub check_clients: bool,
}

pub fn evaluate(i: &Input) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |severity, code, msg: String| out.push(Finding { severity, code, msg });
    let c = i.cluster;
    let running = &c.status.release;
    let backends = c.hosts("backend");

    // The hop: the target itself, or the first hop of the path to it.
    let mut next = i.target.clone();
    if i.target == running {
        add(
            Severity::Info,
            "at_target",
            format!("the cluster already runs {running}"),
        );
    } else {
        match i.table.plan(running, i.target) {
            Err(e) => add(Severity::Blocker, "hop_invalid", e),
            Ok(hops) => {
                if hops.len() > 1 {
                    let path: Vec<&str> = hops.iter().map(|h| h.to.as_str()).collect();
                    add(
                        Severity::Info,
                        "multi_hop",
                        format!(
                            "{} is {} hops away ({running} -> {}); these checks are for the first hop, {}",
                            i.target,
                            hops.len(),
                            path.join(" -> "),
                            path[0]
                        ),
                    );
                }
                if let Some(first) = hops.first() {
                    next = WekaVersion::parse(&first.to).unwrap_or(next);
                    if first.multi_container && !c.multi_container() {
                        add(
                            Severity::Blocker,
                            "mcb_required",
                            format!(
                                "WEKA {}.x needs multi-container backends (drives, compute and frontend containers on \
                                 every backend); convert the backends first",
                                first.line
                            ),
                        );
                    }
                }
            }
        }
    }

    for h in backends.iter().filter(|h| !h.up) {
        add(
            Severity::Blocker,
            "backend_down",
            format!(
                "backend {} is not UP and ACTIVE (containers {})",
                h.hostname,
                h.containers.join(", ")
            ),
        );
    }
    if let Some(b) = c.status.backends.filter(|b| !b.whole()) {
        if backends.iter().all(|h| h.up) {
            add(
                Severity::Blocker,
                "backend_down",
                format!("weka status counts {} of {} backends active", b.active, b.total),
            );
        }
    }
    let mut versions: Vec<&str> = backends.iter().map(|h| h.version.as_str()).collect();
    versions.sort_unstable();
    versions.dedup();
    if versions.len() > 1 {
        add(
            Severity::Blocker,
            "mixed_versions",
            format!(
                "the backends run different releases ({}): finish or revert the previous upgrade first",
                versions.join(", ")
            ),
        );
    }
    if !c.status.status.eq_ignore_ascii_case("OK") && !c.status.status.eq_ignore_ascii_case("REBUILDING") {
        add(
            Severity::Blocker,
            "status_not_ok",
            format!("weka status is {}, not OK", c.status.status),
        );
    }
    if !c.status.io_status.eq_ignore_ascii_case("STARTED") {
        add(
            Severity::Blocker,
            "io_not_started",
            format!(
                "io status is {}, not STARTED (`weka cluster start-io`)",
                c.status.io_status
            ),
        );
    }
    if c.rebuild.in_progress() || c.status.status.eq_ignore_ascii_case("REBUILDING") {
        add(
            Severity::Blocker,
            "rebuild_in_progress",
            format!(
                "a rebuild is in progress ({}% done, {} MiB not fully protected): wait until `weka status rebuild` shows it complete",
                c.rebuild.progress_percent, c.rebuild.degraded_mib
            ),
        );
    }
    if let Some(d) = c.data_upgrade() {
        add(
            Severity::Blocker,
            "data_upgrade_running",
            format!(
                "the previous upgrade's data upgrade is still running ({d}): it must finish before another upgrade"
            ),
        );
    }
    for t in c.tasks.iter().filter(|t| t.running() && !t.is_data_upgrade()) {
        if t.harmless() {
            add(
                Severity::Info,
                "task_running",
                format!("background task {} is {} (allowed during an upgrade)", t.kind, t.state),
            );
        } else {
            add(
                Severity::Blocker,
                "task_running",
                format!(
                    "background task {} is {}{}: stop it or let it finish before upgrading",
                    t.kind,
                    t.state,
                    t.progress.map(|p| format!(" ({p}%)")).unwrap_or_default()
                ),
            );
        }
    }
    if c.status.upgrading() || c.local.iter().any(|l| l.name == "upgrade") {
        add(
            Severity::Blocker,
            "upgrade_in_progress",
            "an upgrade is already in progress (an `upgrade` container runs, or weka status shows an upgrade phase)"
                .into(),
        );
    }
    for a in &c.alerts {
        // The client-version alert is judged by the client findings below.
        if a.kind == "ClientVersionMismatch" && i.check_clients {
            continue;
        }
        let what = format!("alert {} ({}): {}", a.kind, a.severity, a.description);
        if i.allowed_alerts.iter().any(|x| x.eq_ignore_ascii_case(&a.kind)) {
            add(
                Severity::Info,
                "alert_allowed",
                format!("{what}; allowed by allowed_alerts"),
            );
        } else {
            add(
                Severity::Blocker,
                "alert_active",
                format!("{what}. Address it, mute it (`weka alerts mute`), or list its type in allowed_alerts"),
            );
        }
    }
    match &i.whoami {
        Ok(w) if w.cluster_admin() => {}
        Ok(w) => add(
            Severity::Blocker,
            "login_not_cluster_admin",
            format!(
                "weka acts as {} with role {}: the upgrade needs a Cluster Admin (`weka user login`)",
                w.username, w.role
            ),
        ),
        Err(e) => add(Severity::Blocker, "login", e.clone()),
    }
    if let Some(space) = &i.space {
        out.extend(space_findings(running, space));
    }
    if i.check_clients {
        client_findings(i, running, &next, &mut out);
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

/// "Clients two or more versions behind the backends are not supported; upgrade the clients
/// before the next upgrade": a client on an older line than the backends blocks the next hop.
fn client_findings(i: &Input, running: &WekaVersion, next: &WekaVersion, out: &mut Vec<Finding>) {
    for h in i.cluster.hosts("client") {
        if !h.up {
            out.push(Finding {
                severity: Severity::Warning,
                code: "client_down",
                msg: format!(
                    "client {} is not UP; it will need `weka local upgrade` when it returns",
                    h.hostname
                ),
            });
        }
        let Some(v) = WekaVersion::parse(&h.version) else {
            out.push(Finding {
                severity: Severity::Warning,
                code: "client_version_unknown",
                msg: format!("client {} reports release '{}'", h.hostname, h.version),
            });
            continue;
        };
        if v.same_line(running) {
            if v < *running {
                out.push(Finding {
                    severity: Severity::Info,
                    code: "client_older_patch",
                    msg: format!(
                        "client {} runs {v}, an older release of the backends' {} line",
                        h.hostname, running.line
                    ),
                });
            }
            continue;
        }
        if v > *running {
            continue;
        }
        let behind = i.table.lines_behind(&v, running).unwrap_or(1).max(1);
        let after = i.table.lines_behind(&v, next).unwrap_or(behind + 1);
        out.push(Finding {
            severity: Severity::Blocker,
            code: if behind >= 2 {
                "client_unsupported"
            } else {
                "client_behind"
            },
            msg: format!(
                "client {} runs {v}, {behind} version(s) behind the backends' {running}{}; upgrade it (`weka local \
                 upgrade`) before the next upgrade, which would leave it {after} behind (two or more is unsupported)",
                h.hostname,
                if behind >= 2 { " (unsupported already)" } else { "" }
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> WekaVersion {
        WekaVersion::parse(s).unwrap()
    }

    fn space(free: u64, data: &[(&str, u64, u64)]) -> Space {
        Space {
            dir: "/opt/weka".into(),
            exists: true,
            free,
            data: data.iter().map(|(c, s, f)| (c.to_string(), *s, *f)).collect(),
        }
    }

    const GIB: u64 = 1024 * 1024 * 1024;

    #[test]
    fn up_to_4_0_the_flat_4_gb_rule() {
        assert!(space_findings(&v("3.14.1"), &space(5 * GIB, &[("default", 100 * GIB, 5 * GIB)])).is_empty());
        let f = space_findings(&v("4.0.2"), &space(3 * GIB, &[]));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].msg.contains("has 3.0 GiB free; the upgrade needs at least 4 GB"),
            "{f:?}"
        );
    }

    #[test]
    fn from_4_1_each_container_needs_one_and_a_half_times_its_size() {
        let s = space(
            100 * GIB,
            &[("drives0", 10 * GIB, 15 * GIB), ("compute0", 10 * GIB, 14 * GIB)],
        );
        let f = space_findings(&v("4.2.9.28"), &s);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].msg.contains("/opt/weka/data/compute0 holds 10.0 GiB") && f[0].msg.contains("(15.0 GiB)"));
        // The flat rule no longer applies: 3 GiB free is fine for a small directory.
        assert!(space_findings(&v("4.1.2.36"), &space(3 * GIB, &[("drives0", GIB, 3 * GIB)])).is_empty());
    }

    #[test]
    fn a_missing_directory_blocks() {
        let mut s = space(0, &[]);
        s.exists = false;
        assert_eq!(space_findings(&v("4.0.2"), &s)[0].code, "weka_dir_missing");
    }
}
