//! Package facts as pure functions of the package tools' output: which Gluster packages are
//! installed, which versions a repository offers, and what must move.

use crate::parse::{version_from, GlusterVersion};
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

/// The package manager's install command for `moves` (argv, without a shell). `--` ends the
/// options, so that no package argument is ever read as one; a given repository is a file of its
/// own (`RepoFiles`), never an argument.
pub fn install_argv(manager: Manager, moves: &[Move], downgrade: bool) -> Vec<String> {
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
            argv.push("--".into());
            argv.extend(moves.iter().map(|m| format!("{}={}", m.name, m.to)));
        }
        Manager::Dnf | Manager::Yum => {
            argv.push(manager.program().into());
            argv.push("-y".into());
            argv.push(if downgrade { "downgrade" } else { "install" }.into());
            argv.push("--".into());
            // NAME-VERSION* matches every build of the release.
            argv.extend(moves.iter().map(|m| format!("{}-{}*", m.name, m.to)));
        }
        Manager::Zypper => {
            argv.extend(["zypper", "--non-interactive", "install"].map(String::from));
            if downgrade {
                argv.push("--oldpackage".into());
            }
            argv.push("--".into());
            argv.extend(moves.iter().map(|m| format!("{}={}", m.name, m.to)));
        }
    }
    argv
}

/// A package name as Debian and RPM allow them (letters, digits, `+ . _ -`, not starting with a
/// punctuation mark): anything else is refused before it reaches a package manager.
pub fn valid_package_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+._-".contains(c))
}

/// A URL's credentials (`scheme://USER:PASSWORD@host/...`) apart from the rest of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The URL without user-info, or a folder as `file:` URL.
    pub url: String,
    pub host_path: String,
    pub login: Option<(String, String)>,
}

pub fn locate(repo: &str) -> Located {
    if repo.starts_with('/') {
        return Located {
            url: format!("file:{repo}"),
            host_path: String::new(),
            login: None,
        };
    }
    let Some((scheme, rest)) = repo.split_once("://") else {
        return Located {
            url: repo.to_string(),
            host_path: String::new(),
            login: None,
        };
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (login, host) = match rest[..end].rsplit_once('@') {
        Some((info, host)) => {
            // The URL's user-info is percent-encoded; apt and dnf want the login as it is.
            let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            let (user, password) = info.split_once(':').unwrap_or((info, ""));
            (Some((decode(user), decode(password))), host)
        }
        None => (None, &rest[..end]),
    };
    Located {
        url: format!("{scheme}://{host}{}", &rest[end..]),
        host_path: format!("{host}{}", &rest[end..]),
        login,
    }
}

/// How a repository's packages are verified: its key, the host's trusted keys, or (the operator's
/// explicit choice) not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust<'a> {
    Key(&'a str),
    HostKeys,
    Unsigned,
}

/// apt options that turn signature checks off.
const APT_INSECURE: [&str; 4] = [
    "trusted=yes",
    "allow-insecure=yes",
    "allow-weak=yes",
    "allow-downgrade-to-insecure=yes",
];

/// The apt source line for `repo` and, when its URL carries a login, the auth.conf entry that holds
/// it instead (the line never does). `repo` is a folder or URL of a flat repository, or a whole
/// `deb ...` line. Signatures are checked unless `trust` is `Unsigned`: with the given key
/// (`signed-by`), else with the host's trusted keys.
pub fn apt_source(repo: &str, trust: Trust) -> Result<(String, Option<String>), String> {
    let (options, uri, rest): (Vec<String>, String, String) = if let Some(line) = repo.strip_prefix("deb ") {
        let line = line.trim_start();
        let (options, after) = match line.strip_prefix('[') {
            Some(o) => {
                let (opts, after) = o.split_once(']').ok_or("the 'deb' line's [options] are not closed")?;
                (opts.split_whitespace().map(String::from).collect(), after.trim_start())
            }
            None => (Vec::new(), line),
        };
        let (uri, rest) = after
            .split_once(char::is_whitespace)
            .ok_or("the 'deb' line names no suite")?;
        (options, uri.to_string(), rest.trim().to_string())
    } else {
        (Vec::new(), repo.to_string(), "./".to_string())
    };
    let insecure: Vec<String> = options
        .iter()
        .filter(|o| APT_INSECURE.contains(&o.as_str()))
        .cloned()
        .collect();
    if !insecure.is_empty() && trust != Trust::Unsigned {
        return Err(format!(
            "the 'deb' line turns signature checks off ({}): set repo_unsigned_ok: true to install unverified packages",
            insecure.join(" ")
        ));
    }
    let mut options = options;
    match trust {
        Trust::Key(key) => {
            options.retain(|o| !o.starts_with("signed-by="));
            options.push(format!("signed-by={key}"));
        }
        Trust::Unsigned if insecure.is_empty() => options.push("trusted=yes".into()),
        _ => {}
    }
    let at = locate(&uri);
    let auth = at
        .login
        .map(|(user, password)| format!("machine {} login {user} password {password}\n", at.host_path));
    let options = if options.is_empty() {
        String::new()
    } else {
        format!("[{}] ", options.join(" "))
    };
    Ok((format!("deb {options}{} {rest}", at.url), auth))
}

/// The repository file for dnf and yum (`/etc/yum.repos.d/keel-gluster.repo`) or zypper
/// (`/etc/zypp/repos.d/keel-gluster.repo`): the login in it (mode 0600), not on a command line.
pub fn rpm_repo_file(manager: Manager, repo: &str, trust: Trust) -> String {
    let at = locate(repo);
    let baseurl = if repo.starts_with('/') {
        format!("file://{repo}")
    } else if manager == Manager::Zypper {
        // zypper takes the login only inside the URL.
        repo.to_string()
    } else {
        at.url.clone()
    };
    let mut text =
        format!("[keel-gluster]\nname=Gluster packages (keel.storage.gluster_install)\nbaseurl={baseurl}\nenabled=1\n");
    if manager == Manager::Zypper {
        text.push_str("autorefresh=1\n");
    }
    match trust {
        Trust::Key(key) => text.push_str(&format!("gpgcheck=1\ngpgkey=file://{key}\n")),
        Trust::HostKeys => text.push_str("gpgcheck=1\n"),
        Trust::Unsigned => text.push_str("gpgcheck=0\n"),
    }
    if manager != Manager::Zypper {
        if let Some((user, password)) = &at.login {
            text.push_str(&format!("username={user}\npassword={password}\n"));
        }
    }
    text
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
    fn install_commands_per_manager_end_their_options_before_the_packages() {
        let moves = vec![Move {
            name: "glusterfs-server".into(),
            from: Some("10.3-5".into()),
            to: "11.1-3~bpo12+1".into(),
        }];
        assert_eq!(
            install_argv(Manager::Apt, &moves, false).join(" "),
            "apt-get install -y -q -o Dpkg::Options::=--force-confold -- glusterfs-server=11.1-3~bpo12+1"
        );
        let rpm = vec![Move {
            name: "glusterfs-server".into(),
            from: None,
            to: "11.1".into(),
        }];
        assert_eq!(
            install_argv(Manager::Dnf, &rpm, true).join(" "),
            "dnf -y downgrade -- glusterfs-server-11.1*"
        );
        assert_eq!(
            install_argv(Manager::Zypper, &rpm, false).join(" "),
            "zypper --non-interactive install -- glusterfs-server=11.1"
        );
        for good in [
            "glusterfs-server",
            "libgfapi0",
            "libstdc++6",
            "python3.11",
            "glusterfs_x",
        ] {
            assert!(valid_package_name(good), "{good}");
        }
        for bad in ["", "-y", "--allow-unauthenticated", "a b", "pkg;rm", "../x", "x=1"] {
            assert!(!valid_package_name(bad), "{bad}");
        }
    }

    #[test]
    fn an_apt_repository_is_signed_unless_the_operator_says_otherwise() {
        let dir = "/srv/keel-repo/11.1";
        assert_eq!(
            apt_source(dir, Trust::HostKeys).unwrap(),
            ("deb file:/srv/keel-repo/11.1 ./".into(), None)
        );
        assert_eq!(
            apt_source(dir, Trust::Key("/etc/keys/gluster.asc")).unwrap().0,
            "deb [signed-by=/etc/keys/gluster.asc] file:/srv/keel-repo/11.1 ./"
        );
        assert_eq!(
            apt_source(dir, Trust::Unsigned).unwrap().0,
            "deb [trusted=yes] file:/srv/keel-repo/11.1 ./"
        );
        assert_eq!(
            apt_source("deb http://m/debian bookworm main", Trust::HostKeys)
                .unwrap()
                .0,
            "deb http://m/debian bookworm main"
        );
        assert_eq!(
            apt_source("deb [arch=amd64] http://m/debian bookworm main", Trust::Key("/k.gpg"))
                .unwrap()
                .0,
            "deb [arch=amd64 signed-by=/k.gpg] http://m/debian bookworm main"
        );
        let err = apt_source("deb [trusted=yes] http://m/debian bookworm main", Trust::HostKeys).unwrap_err();
        assert!(
            err.contains("trusted=yes") && err.contains("repo_unsigned_ok: true"),
            "{err}"
        );
        assert_eq!(
            apt_source("deb [trusted=yes] http://m/d bookworm main", Trust::Unsigned)
                .unwrap()
                .0,
            "deb [trusted=yes] http://m/d bookworm main"
        );
    }

    #[test]
    fn a_repository_login_goes_to_a_file_of_its_own_never_the_source_line() {
        let (line, auth) = apt_source("https://bob:s3cr%40t@mirror.example:8443/gluster/11/", Trust::HostKeys).unwrap();
        assert_eq!(line, "deb https://mirror.example:8443/gluster/11/ ./");
        assert_eq!(
            auth.as_deref(),
            Some("machine mirror.example:8443/gluster/11/ login bob password s3cr@t\n")
        );
        let dnf = rpm_repo_file(
            Manager::Dnf,
            "https://bob:pw@m.example/el9/",
            Trust::Key("/etc/pki/g.asc"),
        );
        assert!(dnf.contains("\nbaseurl=https://m.example/el9/\n"), "{dnf}");
        assert!(dnf.contains("\ngpgcheck=1\ngpgkey=file:///etc/pki/g.asc\n"), "{dnf}");
        assert!(dnf.ends_with("username=bob\npassword=pw\n"), "{dnf}");
        let zypper = rpm_repo_file(Manager::Zypper, "/srv/gluster-11", Trust::HostKeys);
        assert!(
            zypper.contains("\nbaseurl=file:///srv/gluster-11\n") && zypper.contains("\ngpgcheck=1\n"),
            "{zypper}"
        );
        assert!(rpm_repo_file(Manager::Yum, "/srv/r", Trust::Unsigned).contains("\ngpgcheck=0\n"));
    }
}
