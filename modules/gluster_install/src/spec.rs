//! The spec of `keel.storage.gluster_install`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/gluster_install.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Attribute, Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_install",
    options: &[
        Opt::new("version", Kind::Str)
            .required()
            .doc(&["The Gluster release to install, such as C(11.1)."]),
        Opt::new("packages", Kind::List).doc(&[
            "The packages to move. Default every Gluster package installed on the host.",
            "Package names only (letters, digits, C(+ . _ -)); anything else is refused.",
        ]),
        // A login in the URL is masked on its own and written to a 0600 file, never to argv.
        Opt::new("repo", Kind::Str).credentials().doc(&[
            "A repository to install from, for this run only. With apt, a folder or URL of a flat \
                    repository (written as C(deb URI ./) to C(/etc/apt/sources.list.d/keel-gluster.list)) or a \
                    whole C(deb ...) source line; with dnf and yum a folder or URL \
                    (C(/etc/yum.repos.d/keel-gluster.repo)); with zypper a folder or URL \
                    (C(/etc/zypp/repos.d/keel-gluster.repo)).",
            "The file is removed once the install is done.",
            "A C(deb) line with C(trusted=yes) (or another option that turns signature checks off) is \
                    refused unless O(repo_unsigned_ok=true).",
        ]),
        Opt::new("repo_key", Kind::Str).doc(&[
            "Path on the host of the key that signs O(repo) (apt C(signed-by), dnf and yum C(gpgkey); with \
                    zypper it is imported into rpm's keyring first). Without it the keys the host already trusts \
                    check the signatures.",
        ]),
        Opt::new("repo_unsigned_ok", Kind::Bool).default_bool(false).doc(&[
            "Install from O(repo) without checking signatures (apt C(trusted=yes), dnf, yum and zypper \
                    C(gpgcheck=0)). Only for a repository whose path to the host is trusted, such as a local \
                    folder filled from verified packages; anyone who can change its packages gets them installed \
                    as root.",
        ]),
        Opt::new("allow_downgrade", Kind::Bool)
            .default_bool(false)
            .doc(&["Allow moving to an older release (Gluster does not support downgrading a pool member)."]),
        Opt::new("update_cache", Kind::Bool)
            .default_bool(true)
            .doc(&["Refresh the apt package index first."]),
        Opt::new("package_manager", Kind::Str)
            .default_str("auto")
            .choices(&["auto", "apt", "dnf", "yum", "zypper"])
            .doc(&["The package manager to use; C(auto) picks the first of apt-get, dnf, yum, zypper found."]),
        Opt::new("install_timeout", Kind::Duration)
            .aliases(&["timeout"])
            .default_str("900")
            .doc(&[
                "Time the package manager may take, in seconds or with a unit (C(15m)).",
                "An install transaction still running then is left running, not killed (see \
                    RV(package_manager_running)).",
            ]),
    ],
    fragments: &[],
    supports_check_mode: true,
    run: super::run,
    short_description: "Install one GlusterFS release on a server or client, every Gluster package together",
    description: &[
        "Moves every installed Gluster package (C(glusterfs-server), C(-client), C(-common), C(-cli) and the \
            C(libgf*) libraries, which pin each other's exact versions) to release O(version) with the host's \
            package manager (apt, dnf, yum or zypper, detected), then checks that C(gluster --version) (or \
            C(glusterfs --version) on a client) reports it.",
        "O(repo) names a repository to install from, for sites without internet access; with apt only that \
            source is refreshed, so unreachable mirrors do not fail the run. It is written to a file of Keel's own \
            (mode 0600) and removed once the install is done. Its packages' signatures are checked - with \
            O(repo_key), else with the keys the host trusts - unless O(repo_unsigned_ok=true).",
        "A login in O(repo) (C(https://USER:PASSWORD@host/path)) is masked in every result and goes to no \
            command line; with apt to C(/etc/apt/auth.conf.d/keel-gluster.conf), with dnf and yum to the \
            repository file's C(username) and C(password), with zypper into the repository file's URL (each mode \
            0600, removed afterwards).",
        "The packages are named to the package manager after C(--); O(packages) must be package names.",
        "Refuses a downgrade unless O(allow_downgrade=true). Reports C(changed=false) when every package \
            already carries the release. On failure returns the package manager's output.",
        "With apt, packages that a failed install left half way (unpacked or half-configured, for example when \
            a maintainer script failed) are named in the failure, and count as not yet installed: once the cause \
            is fixed, running the module again installs them again and finishes the upgrade.",
        "Stop the Gluster services first with M(keel.storage.gluster_service), because processes keep running \
            the replaced binaries until restarted; the module warns when C(glusterd) is running.",
        "The install transaction is never killed: a package manager killed half way leaves packages half \
            installed. When it outlives O(install_timeout) the module stops waiting and fails with \
            RV(package_manager_running=true), its RV(pid), where its output goes and the Gluster packages' state \
            as the package database shows it then; the package manager finishes on its own. Wait for it, then run \
            C(dpkg --configure -a) (apt) and the task again. Read-only queries and the apt index refresh are still \
            stopped at their timeout.",
        "Every result carries RV(services_safe_to_start). A rescue that restarts the Gluster services after a \
            failed upgrade step must skip the restart when it is false.",
    ],
    attributes: &[
        Attribute::new(
            "check_mode",
            "full",
            "Reports the packages it would move; installs nothing and refreshes no index.",
        ),
        Attribute::new("diff_mode", "full", "Shows each package's version before and after."),
        Attribute::platform(
            "posix",
            "Linux x86_64 hosts with apt, dnf, yum or zypper; no Python needed.",
        ),
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Install Gluster 11.1 from the configured repositories
  keel.storage.gluster_install:
    version: "11.1"

- name: Install Gluster 11.1 from a local mirror without signatures (dark site)
  keel.storage.gluster_install:
    version: "11.1"
    repo: /srv/mirror/gluster-11.1
    repo_unsigned_ok: true   # a local folder filled from verified packages; otherwise give repo_key
"#;

const RETURN: &str = r#"
package_manager:
  description: The package manager used.
  returned: always
  type: str
  sample: apt
version_before:
  description: The release C(gluster --version) reported before.
  returned: success
  type: str
  sample: "10.3"
version:
  description: The release C(gluster --version) reports now (unchanged in check mode).
  returned: success
  type: str
  sample: "11.1"
services_safe_to_start:
  description:
    - Whether the Gluster services may be started now. True on success, and on a failure that left the
      packages as they were before the run (finished, at the previous release).
    - False when the package manager is still running (RV(package_manager_running)), when Gluster packages
      are unpacked, half-configured or at two versions (RV(unfinished)), when the packages changed but the
      install did not complete (for example C(gluster --version) fails), or when their state cannot be read
      after the package manager ran. Do not start glusterd then; the message says what to do.
    - Absent only when the task's options are rejected before the module runs (a required option missing).
  returned: always
  type: bool
  sample: false
package_manager_running:
  description:
    - True when the install transaction outlived O(install_timeout) and was left running, not killed; false on
      every other failure.
  returned: failure
  type: bool
  sample: true
pid:
  description: The process ID of the package manager left running.
  returned: when package_manager_running is true
  type: int
  sample: 48213
output:
  description: The files the package manager left running writes its output to (in C($TMPDIR) or C(/tmp)).
  returned: when package_manager_running is true
  type: dict
  sample: {stdout: /tmp/keel-apt-get-48190-1733212345000000000.stdout,
           stderr: /tmp/keel-apt-get-48190-1733212345000000000.stderr}
cmd:
  description: The command that failed or was left running.
  returned: failure, when a command failed, timed out or was left running
  type: str
installed:
  description:
    - The Gluster packages as the package database shows them after the failure (read without waiting for
      the package manager's lock), each with its C(name), C(version) and, when not fully installed, its
      C(unfinished) state (C(unpacked, not configured), C(half-configured), C(half-installed),
      C(waiting for triggers), or with rpm C(two versions installed)).
  returned: failure, when the packages could be read
  type: list
  elements: dict
  sample: [{name: glusterfs-server, version: 11.1-3~bpo12+1, unfinished: "unpacked, not configured"}]
unfinished:
  description: The names of the Gluster packages in RV(installed) that are not fully installed.
  returned: failure, when the packages could be read
  type: list
  elements: str
  sample: [glusterfs-server, glusterfs-common]
packages:
  description: The packages moved (or that would move in check mode).
  returned: success
  type: list
  elements: dict
  sample: [{name: glusterfs-server, from: 10.3-5, to: 11.1-3~bpo12+1}]
"#;
