//! The spec of `keel.storage.weka_version`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/weka_version.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Attribute, Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "weka_version",
    options: &[
        Opt::new("version", Kind::Str)
            .required()
            .doc(&["The release, such as C(4.0.2)."]),
        Opt::new("from", Kind::Str).secret().doc(&[
            "Where to download from, such as C(https://TOKEN@get.weka.io); without it (or empty), the \
                    cluster's distribution server.",
            "With credentials in it, the release is fetched with C(curl), the URL in a 0600 file rather \
                    than on a command line; without, it is passed to C(weka version get --from).",
            "A secret, masked everywhere, and its token part on its own too.",
        ]),
        Opt::new("tarball", Kind::Str).doc(&[
            "Path on the target of a release tarball (C(weka-VERSION.tar)) whose C(install.sh) installs the \
                    release.",
        ]),
        Opt::new("prepare", Kind::Bool)
            .default_bool(true)
            .doc(&["Run C(weka version prepare VERSION) after downloading it (or when it is already downloaded)."]),
        Opt::new("download_timeout", Kind::Duration).default_str("1800").doc(&[
            "Time the download (or install.sh) and the preparation may each take. C(install.sh) installs \
                    packages and is never killed: past it the module stops waiting and fails, the script goes on \
                    alone from its directory, which is kept, and the result names its pid.",
        ]),
    ],
    fragments: &[&keel_weka_cli::cli::WEKA],
    supports_check_mode: true,
    run: super::run,
    short_description: "Make a WEKA release available on a host (download or dark-site tarball) and prepare it",
    description: &[
        "Runs C(weka version get VERSION) (with C(--from) when O(from) is set and holds no credentials) then \
            C(weka version prepare VERSION), as the upgrade guide's first way to download a release; or, for dark \
            sites without access to get.weka.io, unpacks a release tarball already on the host and runs its \
            C(install.sh) (the guide's third way).",
        "When O(from) holds credentials (C(https://TOKEN@get.weka.io)), downloads \
            C(FROM/dist/v1/pkg/weka-VERSION.tar) with C(curl) (the guide's second way) and runs its C(install.sh). \
            The URL goes to curl in a config file (mode 0600, in the private directory below), so the token is on \
            no command line, where any user of the host could read it in C(/proc/PID/cmdline); curl must be \
            installed. Such a URL must be https; redirects stay on https.",
        "Tarballs are unpacked, and downloads written, in a new directory with a random name and mode 0700 \
            under C(TMPDIR) (else C(/tmp)), which must be a directory (not a link) owned by root and not writable \
            by others unless sticky; the directory is removed afterwards.",
        "Idempotent; a release C(weka version) already lists is not downloaded again, and reports no change. \
            With O(prepare), C(weka version prepare) still runs for it (WEKA prepares idempotently and C(weka \
            version) does not show whether a release is prepared), so a run whose preparation failed, for example \
            on a driver that did not build, completes once the cause is fixed.",
        "The token inside O(from) never appears in the result, even when a command echoes the URL in an error.",
    ],
    attributes: &[
        Attribute::new(
            "check_mode",
            "full",
            "Reports what it would download or install; changes nothing.",
        ),
        Attribute::new(
            "diff_mode",
            "full",
            "The installed releases (C(weka version)) before and after.",
        ),
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Download and prepare 4.0.2 from get.weka.io on every backend
  keel.storage.weka_version:
    version: "4.0.2"
    from: "https://{{ weka_get_token }}@get.weka.io"
  no_log: false   # the module masks the token itself

- name: Dark site - install from a tarball copied there before
  keel.storage.weka_version:
    version: "4.0.2"
    tarball: /root/weka-4.0.2.tar
"#;

const RETURN: &str = r#"
version:
  description: The release asked for.
  returned: success
  type: str
installed_before:
  description: The releases C(weka version) listed before.
  returned: success
  type: list
  elements: str
installed:
  description: The releases C(weka version) lists now.
  returned: success
  type: list
  elements: str
current:
  description: The release this host runs.
  returned: success
  type: str
downloaded:
  description: Whether this run downloaded or installed the release.
  returned: success
  type: bool
prepared:
  description: Whether this run ran C(weka version prepare) for it.
  returned: success
  type: bool
elapsed_s:
  description: Seconds the module took.
  returned: success
  type: int
left_running:
  description: >-
    True when the command outlived its timeout and was left running, never killed
    (killing it could leave packages half installed); the message says what C(weka version) lists meanwhile and what to do once it ends.
  returned: when install.sh outlived download_timeout
  type: bool
pid:
  description: The process id of the command left running.
  returned: when install.sh outlived download_timeout
  type: int
output_files:
  description: The two files the command left running writes its standard output and error to (C(stdout), C(stderr)).
  returned: when install.sh outlived download_timeout
  type: dict
directory:
  description: The private directory install.sh runs from, kept while it runs; remove it once it ended.
  returned: when install.sh outlived download_timeout
  type: str
"#;
