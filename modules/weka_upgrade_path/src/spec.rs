//! The spec of `keel.storage.weka_upgrade_path`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/weka_upgrade_path.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "weka_upgrade_path",
    options: &[
        Opt::new("target_version", Kind::Str)
            .required()
            .doc(&["The release to reach, such as C(4.0.2) or C(4.2.18.34)."]),
        Opt::new("from_version", Kind::Str)
            .doc(&["Plan from this release instead of the one the cluster runs (then weka is not asked)."]),
        Opt::new("upgrade_paths", Kind::Dict).doc(&[
            "The path table, as loaded from C(weka_upgrade_paths.json) (with or without its top-level \
                    C(weka_upgrade_paths) key). Defaults to the copy built into the module.",
        ]),
    ],
    fragments: &[&keel_weka_cli::cli::WEKA, &keel_weka_cli::cli::WEKA_READ_ONLY],
    supports_check_mode: true,
    run: super::run,
    short_description: "Plan the WEKA upgrade hops from the running release to a target",
    description: &[
        "Returns the chain of hops WEKA's rules require, for example C(3.13.1 -> 3.14.1 -> 4.0.2): each release \
            line can only be installed over a minimum source (4.0.x over 3.14.1 or later, 4.1.x over 4.0.2, ...). \
            Among valid chains it picks the cheapest, costed like WEKA's own checker (a hop within a major version \
            1, across 2).",
        "The rules are data, in the collection's C(playbooks/vars/weka_upgrade_paths.json): one line per \
            release line with its C(min_source) and the C(hop_release) a chain stops at. A new WEKA release is one \
            more line; no code changes.",
        "Fails with the reason when the target cannot be reached (a downgrade, an unknown release line, a \
            source older than any rule). Changes nothing.",
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Plan the hops to 4.0.2
  keel.storage.weka_upgrade_path:
    target_version: "4.0.2"
  run_once: true
  register: plan

- name: Plan with an edited copy of the collection's data file, kept in the playbook's files folder
  keel.storage.weka_upgrade_path:
    target_version: "4.4.36.15"
    upgrade_paths: "{{ lookup('ansible.builtin.file', 'weka_upgrade_paths.json') | from_json }}"
"#;

const RETURN: &str = r#"
hops:
  description: The hops in order; empty when the cluster already runs the target.
  returned: success
  type: list
  elements: dict
  contains:
    from:
      description: The release before the hop.
      type: str
    to:
      description: The release after the hop.
      type: str
    line:
      description: The target release line whose rule allows the hop.
      type: str
    min_source:
      description: That rule's minimum source release.
      type: str
    cross_major:
      description: Whether the hop changes the major version.
      type: bool
    multi_container:
      description: Whether the target line needs multi-container backends.
      type: bool
    notes:
      description: The rule's notes.
      type: list
      elements: str
  sample: [{"from": "3.13.1", "to": "3.14.1", "line": "3.14", "min_source": "3.13.1", "cross_major": false,
            "multi_container": false, "notes": []}]
path:
  description: The releases from the start to the target.
  returned: success
  type: list
  elements: str
  sample: ["3.13.1", "3.14.1", "4.0.2"]
from_version:
  description: The release planned from.
  returned: success
  type: str
target_version:
  description: The target release.
  returned: success
  type: str
"#;
