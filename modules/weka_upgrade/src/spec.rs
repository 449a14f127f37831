//! The spec of `keel.storage.weka_upgrade`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/weka_upgrade.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Attribute, Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "weka_upgrade",
    options: &[
        Opt::new("version", Kind::Str)
            .required()
            .doc(&["The release to upgrade to (the next hop)."]),
        Opt::new("prepare_only", Kind::Bool)
            .default_bool(false)
            .doc(&["Only distribute and prepare the release on every backend."]),
        Opt::new("mode", Kind::Str)
            .default_str("auto")
            .choices(&["auto", "ndu", "one-shot"])
            .doc(&["C(auto) picks C(one-shot) before 3.12 and C(ndu) for 4.1; give one to force it."]),
        Opt::new("container", Kind::Str)
            .doc(&["The container to run the upgrade in on multi-container backends; default the C(drives) one."]),
        Opt::new("stop_io_timeout", Kind::Duration)
            .doc(&["C(--stop-io-timeout), in seconds or with a unit; weka's default (90s) when not set."]),
        Opt::new("host_version_change_timeout", Kind::Duration).doc(&[
            "C(--host-version-change-timeout); weka's default is 180s, the guide advises 600s for large \
                    deployments.",
        ]),
        Opt::new("disconnect_stateless_clients_timeout", Kind::Duration).doc(&[
            "C(--disconnect-stateless-clients-timeout) (3.12+); default 60s, 200s advised for large \
                    deployments.",
        ]),
        Opt::new("health_check_timeout", Kind::Duration).doc(&["C(--health-check-timeout) (4.0+)."]),
        Opt::new("upgrade_timeout", Kind::Duration).default_str("3600").doc(&[
            "Time the whole upgrade command may take. Past it the module stops waiting and fails, but the \
                    command is never killed (that could leave the cluster between releases): it goes on alone and \
                    the result names its pid and what C(weka cluster host) shows meanwhile.",
        ]),
        Opt::new("confirm_timeout", Kind::Duration)
            .default_str("600")
            .doc(&["Time to wait, after weka reports success, until every backend shows the new release."]),
        Opt::new("wait_data_upgrade", Kind::Bool)
            .default_bool(true)
            .doc(&["Wait until the data upgrade task finishes before reporting done."]),
        Opt::new("data_upgrade_timeout", Kind::Duration)
            .default_str("3600")
            .doc(&["How long to wait for the data upgrade."]),
        Opt::new("poll_interval", Kind::Duration)
            .default_str("10")
            .doc(&["Time between two looks while confirming and waiting."]),
        Opt::new("upgrade_paths", Kind::Dict)
            .doc(&["The path table (see keel.storage.weka_upgrade_path); defaults to the built-in copy."]),
    ],
    fragments: &[&keel_weka_cli::cli::WEKA],
    supports_check_mode: true,
    run: super::run,
    short_description: "Upgrade a WEKA cluster to the next release from one backend",
    description: &[
        "Runs C(weka local run --in VERSION upgrade) on the backend it is run on (once per cluster, \
            C(run_once)), which distributes and prepares the release on every backend, stops IO, switches every \
            backend and starts IO again. From 4.1 it uses the non-disruptive form C(weka local run --container \
            drives0 --in VERSION upgrade) (C(--mode ndu) on 4.1, the default from 4.2); before 3.12 it adds \
            C(--mode one-shot).",
        "With O(prepare_only), only distributes and prepares (C(--prepare-only)), to shorten the upgrade on \
            large clusters.",
        "After weka returns, confirms every backend runs O(version); when the upgrade failed, tells an \
            automatic revert (WEKA reverts within its 10-minute window) from a stop before any host changed, \
            quoting what C(weka cluster host) shows. Then waits until the hop's data upgrade (metadata conversion) \
            finishes, which must happen before another upgrade.",
        "Idempotent; a cluster on O(version) is left alone. Refuses a hop the path table does not allow and a \
            release not yet on this backend (use keel.storage.weka_version first). Needs a Cluster Admin login.",
    ],
    attributes: &[
        Attribute::new(
            "check_mode",
            "full",
            "Reports the command it would run; changes nothing.",
        ),
        Attribute::new("diff_mode", "full", "The cluster release before and after."),
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Upgrade the cluster to 3.14.1 from the first backend, large-deployment timeouts
  keel.storage.weka_upgrade:
    version: "3.14.1"
    host_version_change_timeout: 600s
    disconnect_stateless_clients_timeout: 200s
  run_once: true
"#;

const RETURN: &str = r#"
from_version:
  description: The release the cluster ran before.
  returned: always, unless the cluster could not be read
  type: str
version:
  description: The target release.
  returned: always, unless the cluster could not be read
  type: str
command:
  description: The weka command run (or that would run).
  returned: when it ran or would run
  type: str
  sample: weka local run --in 3.14.1 upgrade --host-version-change-timeout 600s
reverted:
  description: On failure, whether WEKA reverted the cluster to the previous release.
  returned: failure of the upgrade command
  type: bool
backends:
  description: On failure, every backend container as C(weka cluster host) shows it.
  returned: failure of the upgrade command
  type: list
  elements: dict
stdout:
  description: On failure, the whole standard output of the upgrade command (secrets masked).
  returned: failure of the upgrade command
  type: str
stderr:
  description: On failure, the whole standard error of the upgrade command (secrets masked); the message quotes one line of it.
  returned: failure of the upgrade command
  type: str
upgrade_s:
  description: Seconds the upgrade command took.
  returned: when it ran
  type: int
data_upgrade_s:
  description: Seconds waited for the data upgrade.
  returned: success
  type: int
output:
  description: The upgrade command's output lines.
  returned: when it ran
  type: list
  elements: str
elapsed_s:
  description: Seconds the module took.
  returned: success
  type: int
left_running:
  description: >-
    True when the command outlived its timeout and was left running, never killed
    (killing it could leave the cluster between releases); the message says what C(weka cluster host) shows meanwhile and what to do once it ends.
  returned: when the upgrade command outlived upgrade_timeout
  type: bool
pid:
  description: The process id of the command left running.
  returned: when the upgrade command outlived upgrade_timeout
  type: int
output_files:
  description: The two files the command left running writes its standard output and error to (C(stdout), C(stderr)).
  returned: when the upgrade command outlived upgrade_timeout
  type: dict
"#;
