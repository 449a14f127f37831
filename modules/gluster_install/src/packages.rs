//! Package facts as pure functions of the package tools' output: which Gluster packages are
//! installed, which versions a repository offers, and what must move.

use keel_gluster_cli::parse::{version_from, GlusterVersion};
use serde::Serialize;

/// The package managers Keel drives, each with its query tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    Apt,
    Dnf,
    Yum,
    Zypper,
}

impl Manager {
    pub const ALL: [Manager; 4] = [Manager::Apt, Manager::Dnf, Manager::Yum, Manager::Zypper];

    pub fn name(self) -> &'static str {
        match self {
            Manager::Apt => "apt",
            Manager::Dnf => "dnf",
            Manager::Yum => "yum",
            Manager::Zypper => "zypper",
        }
    }

    /// The program whose presence means this manager runs the host.
    pub fn program(self) -> &'static str {
        match self {
            Manager::Apt => "apt-get",
            Manager::Dnf => "dnf",
            Manager::Yum => "yum",
            Manager::Zypper => "zypper",
        }
    }

    pub fn from_name(s: &str) -> Option<Manager> {
        Manager::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installed {
    pub name: String,
    pub version: String,
    /// dpkg's state is not "installed" but unpacked, half-configured, half-installed or
    /// waiting for triggers: an install that failed half way (a maintainer script that broke).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfinished: Option<&'static str>,
}

/// Packages of a Gluster installation: they move to a new release together, or the package
/// manager refuses (the library packages pin each other's exact versions).
pub fn is_gluster_package(name: &str) -> bool {
    name.starts_with("glusterfs")
        || name.starts_with("libglusterfs")
        || name.starts_with("libgfapi")
        || name.starts_with("libgfrpc")
        || name.starts_with("libgfxdr")
        || name.starts_with("libgfchangelog")
        || name.starts_with("libglusterd")
        || name == "python3-gluster"
}

/// `dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n'`: installed Gluster packages,
/// those an install left half way included. Status-Abbrev is the wanted state (i install, h
/// hold), the current one and an error flag: "ii " installed, "iU " unpacked, "iF " half
/// configured, "iFR" the same needing a reinstall, "rc " removed with its configuration left.
pub fn parse_dpkg_query(out: &str) -> Vec<Installed> {
    out.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (name, version, status) = (f.next()?, f.next()?, f.next().unwrap_or(""));
            let mut st = status.chars();
            let (wanted, current) = (st.next()?, st.next()?);
            let unfinished = match current {
                'i' => None,
                'U' => Some("unpacked, not configured"),
                'F' => Some("half-configured"),
                'H' => Some("half-installed"),
                'W' | 't' => Some("waiting for triggers"),
                _ => return None,
            };
            (matches!(wanted, 'i' | 'h') && is_gluster_package(name)).then(|| Installed {
                name: name.to_string(),
                version: version.to_string(),
                unfinished,
            })
        })
        .collect()
}

/// `rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\n'`: installed Gluster packages. A package listed
/// at two versions is one an rpm transaction is replacing, or was interrupted replacing (the new
/// one is installed before the old one is erased); the same version twice is multilib.
pub fn parse_rpm_query(out: &str) -> Vec<Installed> {
    let mut got: Vec<Installed> = out
        .lines()
        .filter_map(|l| {
            let (name, version) = l.split_once('\t')?;
            is_gluster_package(name).then(|| Installed {
                name: name.to_string(),
                version: version.trim().to_string(),
                unfinished: None,
            })
        })
        .collect();
    let twice: Vec<String> = got
        .iter()
        .filter(|i| got.iter().any(|o| o.name == i.name && o.version != i.version))
        .map(|i| i.name.clone())
        .collect();
    for i in got.iter_mut().filter(|i| twice.contains(&i.name)) {
        i.unfinished = Some("two versions installed");
    }
    got
}

/// The release a package version carries: "11.1-3~bpo12+1" and "1:10.3-5" -> 11.1 and 10.3.
pub fn release_of(package_version: &str) -> Option<GlusterVersion> {
    let no_epoch = package_version.split_once(':').map_or(package_version, |(_, v)| v);
    version_from(no_epoch)
}

/// `apt-cache madison P...`: for `package`, the first (highest-priority) version of `release`.
pub fn madison_candidate(out: &str, package: &str, release: &GlusterVersion) -> Option<String> {
    out.lines().find_map(|l| {
        let mut f = l.split('|').map(str::trim);
        let (name, version) = (f.next()?, f.next()?);
        let r = release_of(version)?;
        (name == package && (r.major, r.minor) == (release.major, release.minor)).then(|| version.to_string())
    })
}

/// One package's move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    pub name: String,
    pub from: Option<String>,
    /// The exact package version where it is known (apt), else the release.
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Every package already carries the release.
    AtRelease,
    Install {
        moves: Vec<Move>,
        downgrade: bool,
    },
}

/// What must move so that every one of `packages` carries `release`. `installed` is what the
/// host has; `exact` gives the repository's exact version of a package where known.
pub fn plan(
    packages: &[String],
    installed: &[Installed],
    release: &GlusterVersion,
    exact: impl Fn(&str) -> Option<String>,
) -> Plan {
    let mut moves = Vec::new();
    let mut downgrade = false;
    for name in packages {
        let have = installed.iter().find(|i| &i.name == name);
        let at_release = have
            .and_then(|i| release_of(&i.version))
            .is_some_and(|r| (r.major, r.minor) == (release.major, release.minor));
        // A package left unfinished at the release is installed again, which finishes it.
        if at_release && have.is_some_and(|i| i.unfinished.is_none()) {
            continue;
        }
        if let Some(r) = have.and_then(|i| release_of(&i.version)) {
            downgrade |= (r.major, r.minor) > (release.major, release.minor);
        }
        moves.push(Move {
            name: name.clone(),
            from: have.map(|i| i.version.clone()),
            to: exact(name).unwrap_or_else(|| release.text.clone()),
        });
    }
    if moves.is_empty() {
        Plan::AtRelease
    } else {
        Plan::Install { moves, downgrade }
    }
}

/// The package manager's install command for `moves` (argv, without a shell).
pub fn install_argv(manager: Manager, moves: &[Move], downgrade: bool, repo: Option<&str>) -> Vec<String> {
    let mut argv: Vec<String> = Vec::new();
    match manager {
        Manager::Apt => {
            argv.extend(
                [
                    "apt-get",
                    "install",
                    "-y",
                    "-q",
                    "-o",
                    "Dpkg::Options::=--force-confold",
                ]
                .map(String::from),
            );
            if downgrade {
                argv.push("--allow-downgrades".into());
            }
            argv.extend(moves.iter().map(|m| format!("{}={}", m.name, m.to)));
        }
        Manager::Dnf | Manager::Yum => {
            argv.push(manager.program().into());
            argv.push("-y".into());
            if let Some(r) = repo {
                argv.push(format!("--repofrompath=keel-gluster,{r}"));
            }
            argv.push(if downgrade { "downgrade" } else { "install" }.into());
            // NAME-VERSION* matches every build of the release.
            argv.extend(moves.iter().map(|m| format!("{}-{}*", m.name, m.to)));
        }
        Manager::Zypper => {
            argv.extend(["zypper", "--non-interactive"].map(String::from));
            if let Some(r) = repo {
                argv.push("--plus-repo".into());
                argv.push(r.into());
            }
            argv.push("install".into());
            if downgrade {
                argv.push("--oldpackage".into());
            }
            argv.extend(moves.iter().map(|m| format!("{}={}", m.name, m.to)));
        }
    }
    argv
}

/// An apt source line for `repo`: kept as given when it is one, else a flat repository at a URL
/// or a local folder (how a dark site serves packages).
pub fn apt_source_line(repo: &str) -> String {
    if repo.starts_with("deb ") {
        return repo.to_string();
    }
    let uri = if repo.starts_with('/') {
        format!("file:{repo}")
    } else {
        repo.to_string()
    };
    format!("deb [trusted=yes] {uri} ./")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> GlusterVersion {
        version_from(s).unwrap()
    }

    // Captured on a testbed node (Debian bookworm, glusterfs 10.3-5) and its local repository.
    const DPKG: &str = "apt\t2.6.1\tii \nglusterfs-cli\t10.3-5\tii \nglusterfs-client\t10.3-5\tii \n\
        glusterfs-common\t10.3-5\tii \nglusterfs-server\t10.3-5\tii \nlibgfapi0\t10.3-5\tii \n\
        libgfchangelog0\t10.3-5\tii \nlibgfrpc0\t10.3-5\tii \nlibgfxdr0\t10.3-5\tii \nlibglusterd0\t10.3-5\trc \n\
        libglusterfs0\t10.3-5\tii \n";
    const MADISON: &str = "glusterfs-server | 11.1-3~bpo12+1 | file:/srv/keel-repo/11.1 ./ Packages\n\
        glusterfs-server |     10.3-5 | file:/srv/keel-repo/10.3 ./ Packages\n\
        glusterfs-cli | 11.1-3~bpo12+1 | file:/srv/keel-repo/11.1 ./ Packages\n";

    #[test]
    fn installed_gluster_packages_only_and_only_installed_ones() {
        let got = parse_dpkg_query(DPKG);
        assert_eq!(got.len(), 9);
        assert!(got.iter().all(|i| i.version == "10.3-5"));
        assert!(
            !got.iter().any(|i| i.name == "libglusterd0"),
            "removed, config left (rc)"
        );
        assert!(!got.iter().any(|i| i.name == "apt"));
        let rpm = parse_rpm_query("glusterfs-server\t11.1-1.el9\nbash\t5.1-6\nlibgfapi0\t11.1-1.el9\n");
        assert_eq!(rpm.len(), 2);
    }

    #[test]
    fn an_rpm_package_at_two_versions_is_unfinished_but_multilib_is_not() {
        let rpm = parse_rpm_query(
            "glusterfs\t10.3-1.el9\nglusterfs\t11.1-1.el9\nlibgfapi0\t11.1-1.el9\nlibgfapi0\t11.1-1.el9\n",
        );
        let states: Vec<(&str, Option<&str>)> = rpm.iter().map(|i| (i.name.as_str(), i.unfinished)).collect();
        assert_eq!(
            states,
            vec![
                ("glusterfs", Some("two versions installed")),
                ("glusterfs", Some("two versions installed")),
                ("libgfapi0", None),
                ("libgfapi0", None)
            ]
        );
    }

    // Captured on testbed node3 after apt-get's upgrade to 11.1 failed in glusterfs-common's
    // maintainer script (py3clean without python3).
    const DPKG_HALF_WAY: &str = "glusterfs-cli\t11.1-3~bpo12+1\tiU \nglusterfs-client\t11.1-3~bpo12+1\tiU \n\
        glusterfs-common\t10.3-5\tiFR\nglusterfs-server\t11.1-3~bpo12+1\tiU \nlibgfapi0\t11.1-3~bpo12+1\tiU \n\
        libgfchangelog0\t11.1-3~bpo12+1\tiU \nlibgfrpc0\t11.1-3~bpo12+1\tiU \nlibgfxdr0\t11.1-3~bpo12+1\tiU \n\
        libglusterd0\t10.3-5\tii \nlibglusterfs0\t11.1-3~bpo12+1\tiU \n";

    #[test]
    fn a_failed_install_leaves_unfinished_packages_that_the_next_plan_installs_again() {
        let installed = parse_dpkg_query(DPKG_HALF_WAY);
        assert_eq!(installed.len(), 10);
        let common = installed.iter().find(|i| i.name == "glusterfs-common").unwrap();
        assert_eq!(common.unfinished, Some("half-configured"));
        assert_eq!(installed.iter().filter(|i| i.unfinished.is_some()).count(), 9);
        let names: Vec<String> = installed
            .iter()
            .filter(|i| i.name != "libglusterd0")
            .map(|i| i.name.clone())
            .collect();
        match plan(&names, &installed, &v("11.1"), |_| Some("11.1-3~bpo12+1".into())) {
            Plan::Install { moves, downgrade } => {
                assert!(!downgrade);
                // Every one of them, those already unpacked at 11.1 too.
                assert_eq!(moves.len(), 9, "{moves:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn picks_the_repository_version_of_the_release() {
        assert_eq!(
            madison_candidate(MADISON, "glusterfs-server", &v("11.1")).as_deref(),
            Some("11.1-3~bpo12+1")
        );
        assert_eq!(
            madison_candidate(MADISON, "glusterfs-server", &v("10.3")).as_deref(),
            Some("10.3-5")
        );
        assert_eq!(madison_candidate(MADISON, "glusterfs-server", &v("9.2")), None);
        assert_eq!(release_of("1:10.3-5"), Some(v("10.3")));
    }

    #[test]
    fn plans_moves_downgrades_and_nothing_at_the_release() {
        let installed = parse_dpkg_query(DPKG);
        let names: Vec<String> = installed.iter().map(|i| i.name.clone()).collect();
        let exact = |p: &str| madison_candidate(MADISON, p, &v("11.1"));
        match plan(&names, &installed, &v("11.1"), exact) {
            Plan::Install { moves, downgrade } => {
                assert!(!downgrade);
                assert_eq!(moves.len(), 9);
                let server = moves.iter().find(|m| m.name == "glusterfs-server").unwrap();
                assert_eq!(
                    (server.from.as_deref(), server.to.as_str()),
                    (Some("10.3-5"), "11.1-3~bpo12+1")
                );
                let common = moves.iter().find(|m| m.name == "glusterfs-common").unwrap();
                assert_eq!(common.to, "11.1", "not in the index: the release");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(plan(&names, &installed, &v("10.3"), |_| None), Plan::AtRelease);
        assert!(matches!(
            plan(&names, &installed, &v("9.2"), |_| None),
            Plan::Install { downgrade: true, .. }
        ));
    }

    #[test]
    fn install_commands_per_manager() {
        let moves = vec![Move {
            name: "glusterfs-server".into(),
            from: Some("10.3-5".into()),
            to: "11.1-3~bpo12+1".into(),
        }];
        assert_eq!(
            install_argv(Manager::Apt, &moves, false, None).join(" "),
            "apt-get install -y -q -o Dpkg::Options::=--force-confold glusterfs-server=11.1-3~bpo12+1"
        );
        let rpm = vec![Move {
            name: "glusterfs-server".into(),
            from: None,
            to: "11.1".into(),
        }];
        assert_eq!(
            install_argv(Manager::Dnf, &rpm, true, Some("file:///srv/repo")).join(" "),
            "dnf -y --repofrompath=keel-gluster,file:///srv/repo downgrade glusterfs-server-11.1*"
        );
        assert_eq!(
            install_argv(Manager::Zypper, &rpm, false, None).join(" "),
            "zypper --non-interactive install glusterfs-server=11.1"
        );
        assert_eq!(
            apt_source_line("/srv/keel-repo/11.1"),
            "deb [trusted=yes] file:/srv/keel-repo/11.1 ./"
        );
        assert_eq!(
            apt_source_line("deb http://m/debian bookworm main"),
            "deb http://m/debian bookworm main"
        );
    }
}
