//! The spec of `keel.storage.weka_verify`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/weka_verify.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "weka_verify",
    options: &[
        Opt::new("version", Kind::Str).doc(&["The release every host must run. Without it, only health is checked."]),
        Opt::new("include_clients", Kind::Bool)
            .default_bool(false)
            .doc(&["Also require every client to run O(version) and be UP."]),
        Opt::new("wait_timeout", Kind::Duration)
            .default_str("600")
            .doc(&["How long to wait, in seconds or with a unit (C(10m))."]),
        Opt::new("poll_interval", Kind::Duration)
            .default_str("10")
            .doc(&["Time between two looks, in seconds or with a unit."]),
    ],
    fragments: &[&keel_weka_cli::cli::WEKA, &keel_weka_cli::cli::WEKA_READ_ONLY],
    supports_check_mode: true,
    run: super::run,
    short_description:
        "Wait until every WEKA backend (and client) runs the expected release and the cluster is healthy",
    description: &[
        "Polls until the cluster runs O(version) (in C(weka status -J) and in the header of C(weka status), the \
            upgrade guide's check), every backend host (and with O(include_clients) every client) is UP on it, IO \
            is C(STARTED), the status is C(OK) and no data upgrade runs. Fails after O(wait_timeout) naming what \
            is still missing.",
        "Read-only.",
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Every backend and client on 4.0.2
  keel.storage.weka_verify:
    version: "4.0.2"
    include_clients: true
    wait_timeout: 15m
  run_once: true
"#;

const RETURN: &str = r#"
release:
  description: The release the cluster runs, as C(text), C(parts), C(suffix), C(major), C(minor) and C(line).
  returned: success
  type: dict
backends:
  description: Every backend host (C(hostname), C(version), C(up), C(containers), ...).
  returned: success
  type: list
  elements: dict
clients:
  description: Every client host.
  returned: success
  type: list
  elements: dict
waited_s:
  description: Seconds waited.
  returned: success
  type: int
"#;
