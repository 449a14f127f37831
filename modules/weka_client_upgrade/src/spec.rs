//! The spec of `keel.storage.weka_client_upgrade`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/weka_client_upgrade.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Attribute, Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "weka_client_upgrade",
    options: &[
        Opt::new("version", Kind::Str).doc(&["The release to upgrade to; default the release the cluster runs."]),
        Opt::new("backend", Kind::Str).doc(&[
            "C(HOST:PORT) of a backend to get a 4.2+ release from; default the first backend weka shows UP, \
                    port 14000.",
        ]),
        Opt::new("upgrade_timeout", Kind::Duration).default_str("1800").doc(&[
            "Time each upgrade command may take. C(weka local upgrade) is never killed (that could leave \
                    the client between releases): past it the module stops waiting and fails, the command goes on \
                    alone and the result names its pid.",
        ]),
    ],
    fragments: &[&keel_weka_cli::cli::WEKA],
    supports_check_mode: true,
    run: super::run,
    short_description: "Upgrade a WEKA client to the cluster's release",
    description: &[
        "Runs C(weka local upgrade) on the client, adding C(--prepare-driver) when the client runs 4.0.1 or \
            later (the upgrade guide's rule). For a 4.2+ target it first gets the release from a backend (C(weka \
            version get VERSION --from BACKEND:14000)) unless the client has it, and for 4.3+ switches the agent \
            (C(weka version set --agent-only VERSION)).",
        "Then confirms C(weka version current) shows the target. Idempotent; a client on the target is left \
            alone.",
        "Upgrade clients after each backend hop; clients two or more versions behind the backends are \
            unsupported.",
    ],
    attributes: &[
        Attribute::new(
            "check_mode",
            "full",
            "Reports the commands it would run; changes nothing.",
        ),
        Attribute::new("diff_mode", "full", "The client's release before and after."),
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
# In a play over the clients with `serial: 5` (five at a time), as keel.storage.weka_upgrade does:
- name: Upgrade this client to the cluster's release
  keel.storage.weka_client_upgrade:
"#;

const RETURN: &str = r#"
from_version:
  description: The client's release before.
  returned: success
  type: str
version:
  description: The target release.
  returned: success
  type: str
steps:
  description: The weka commands run (or that would run).
  returned: when a change was needed
  type: list
  elements: str
  sample: ["weka local upgrade --prepare-driver"]
elapsed_s:
  description: Seconds the module took.
  returned: success
  type: int
left_running:
  description: >-
    True when the command outlived its timeout and was left running, never killed
    (killing it could leave the client between releases); the message says what C(weka version current) says meanwhile and what to do once it ends.
  returned: when C(weka local upgrade) outlived upgrade_timeout
  type: bool
pid:
  description: The process id of the command left running.
  returned: when C(weka local upgrade) outlived upgrade_timeout
  type: int
output_files:
  description: The two files the command left running writes its standard output and error to (C(stdout), C(stderr)).
  returned: when C(weka local upgrade) outlived upgrade_timeout
  type: dict
"#;
