//! The spec of `keel.storage.gluster_op_version`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/gluster_op_version.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Attribute, Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_op_version",
    options: &[
        Opt::new("target", Kind::Str).default_str("max").doc(&[
            "C(max) for the highest op-version every server supports, or a number such as C(110000) \
                    (release X.Y.Z is X*10000+Y*100+Z). A number above C(max-op-version) fails.",
        ]),
        Opt::new("clients_behind", Kind::Str)
            .choices(&["defer", "fail", "accept"])
            .default_str("defer")
            .doc(&[
                "What to do when the census finds a host connected to the bricks that supports less than the new \
                 op-version (it would fail or no longer mount once it is raised, and the op-version can never be \
                 lowered). C(defer) leaves the op-version as it is and succeeds with RV(deferred=true) and the \
                 hosts in RV(clients_behind); C(fail) fails naming them; C(accept) raises it anyway. A census gluster \
                 will not give (the command fails) counts alike: unknown is not enough to raise it.",
            ]),
    ],
    fragments: &[&keel_gluster_cli::cli::GLUSTER],
    supports_check_mode: true,
    run: super::run,
    short_description: "Raise a GlusterFS pool's cluster.op-version after every server is upgraded",
    description: &[
        "The last step of a Gluster upgrade, once every server runs the new release. Reads \
            C(cluster.op-version) and C(cluster.max-op-version) and raises the op-version to O(target) when that \
            is greater; never lowers it (Gluster cannot), and reports C(changed=false) when there is nothing to \
            do.",
        "Gluster before 3.10 cannot report C(cluster.max-op-version): there the op-version of the installed \
            release stands in, from glusterd's own table of op-versions by release (3.9.0 gives C(30900), the \
            value the 3.9 upgrade guide sets).",
        "Refuses while any peer is disconnected or not C(Peer in Cluster), because C(max-op-version) then \
            counts only the connected servers and can exceed what the others run.",
        "Before raising it, takes a census of every host connected to the bricks of every started volume \
            (C(gluster volume status all clients), which gives the op-version each client supports) and, by \
            default, leaves the op-version as it is while one of them cannot follow (O(clients_behind)).",
        "Run it once, on one server (C(run_once)).",
    ],
    attributes: &[
        Attribute::new(
            "check_mode",
            "full",
            "Reports the change it would make, changes nothing.",
        ),
        Attribute::new("diff_mode", "full", "Shows the op-version before and after."),
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Raise the op-version once every server runs 11.1
  keel.storage.gluster_op_version:
    target: max
  run_once: true

- name: Raise to a given op-version
  keel.storage.gluster_op_version:
    target: "110000"
  run_once: true
"#;

const RETURN: &str = r#"
op_version_before:
  description: The cluster op-version before the module ran.
  returned: success
  type: int
  sample: 100000
op_version:
  description: The cluster op-version now (unchanged in check mode).
  returned: success
  type: int
  sample: 110000
census:
  description: Every host connected to the bricks, when a raise was due.
  returned: when the op-version was below the target
  type: dict
  contains:
    target:
      description: The op-version the census was taken for.
      type: int
    hosts:
      description: One entry per host, with C(host), C(server) (it holds a brick), C(volumes), C(op_version) (the
        lowest its connections support) and C(behind).
      type: list
      elements: dict
  sample: {"target": 110000, "hosts": [{"host": "10.0.0.21", "server": false, "volumes": ["gv0"],
           "op_version": 100000, "behind": true}]}
clients_behind:
  description: The hosts that cannot follow the new op-version, each with its volumes and op-version.
  returned: when the op-version was below the target
  type: list
  elements: str
  sample: ["client 10.0.0.21 (gv0: op-version 100000)"]
deferred:
  description: True when the op-version was left as it is because a host cannot follow (O(clients_behind=defer)).
  returned: when deferred
  type: bool
glusterd_restart_needed:
  description: >-
    True when the raise crosses op-version 7 (70000) on a pool with quota: quota's configuration checksum
    changed there, so every glusterd must be restarted once more (one server at a time) or peers stay rejected.
  returned: when the op-version was below the target
  type: bool
quota_volumes:
  description: The volumes with quota enabled, read when the raise crosses op-version 7.
  returned: when the op-version was below the target
  type: list
  elements: str
max_op_version:
  description: The highest op-version every server supports.
  returned: success
  type: int
  sample: 110000
"#;
