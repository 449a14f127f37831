//! The spec of `keel.storage.weka_precheck`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/weka_precheck.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "weka_precheck",
    options: &[
        Opt::new("target_version", Kind::Str)
            .required()
            .doc(&["The release to upgrade to, normally the next hop of keel.storage.weka_upgrade_path."]),
        Opt::new("allowed_alerts", Kind::List)
            .default_list(&[])
            .doc(&["Alert types that have been reviewed and may stay active (reported as C(alert_allowed))."]),
        Opt::new("weka_dir", Kind::Str)
            .default_str("/opt/weka")
            .doc(&["Where WEKA keeps its releases on this host."]),
        Opt::new("check_space", Kind::Bool)
            .default_bool(true)
            .doc(&["Check free space under O(weka_dir) on this host (run the module on every backend)."]),
        Opt::new("check_clients", Kind::Bool)
            .default_bool(true)
            .doc(&["Check the clients' releases; the client-version mismatch alert is then judged by these checks."]),
        Opt::new("upgrade_paths", Kind::Dict)
            .doc(&["The path table (see keel.storage.weka_upgrade_path); defaults to the built-in copy."]),
    ],
    fragments: &[&keel_weka_cli::cli::WEKA, &keel_weka_cli::cli::WEKA_READ_ONLY],
    supports_check_mode: true,
    run: super::run,
    short_description: "Check that a WEKA cluster may be upgraded to the next release",
    description: &[
        "Checks the upgrade guide's prerequisites and WEKA's own checker's, and returns every finding with a \
            severity (C(blocker), C(warning), C(info)), a code and a sentence. Fails when any finding blocks. \
            Changes nothing.",
        "Blockers: a backend not UP (C(backend_down)); backends on different releases (C(mixed_versions)); \
            status not OK (C(status_not_ok)); IO not started (C(io_not_started)); a rebuild \
            (C(rebuild_in_progress)); the previous hop's data upgrade still running (C(data_upgrade_running)); a \
            background task other than FSCK or RAID_SCANNER (C(task_running)); an upgrade in progress \
            (C(upgrade_in_progress)); an unmuted alert not in O(allowed_alerts) (C(alert_active)); no login or one \
            that is not a Cluster Admin (C(login), C(login_not_cluster_admin)); too little free space under \
            O(weka_dir) on this host (C(free_space), C(weka_dir_missing)); a target that is not a supported hop \
            (C(hop_invalid)); a 4.1+ target without multi-container backends (C(mcb_required)); a client on an \
            older release line than the backends (C(client_behind), or C(client_unsupported) at two or more lines \
            behind).",
        "Free space follows the running release: up to 4.0, 4 GB free under O(weka_dir) (the upgrade guide); \
            from 4.1, each O(weka_dir)/data/CONTAINER needs 1.5 times its size free on its file system (WEKA's \
            checker).",
        "When O(target_version) is several hops away, the checks are for the first hop (finding C(multi_hop)).",
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Check every backend before the hop to 3.14.1
  keel.storage.weka_precheck:
    target_version: "3.14.1"
    allowed_alerts: [LicenseExpiring]
  register: precheck
"#;

const RETURN: &str = r#"
findings:
  description: Every finding, blockers first.
  returned: always, unless the cluster could not be read
  type: list
  elements: dict
  contains:
    severity:
      description: C(blocker) (the upgrade must not start), C(warning) or C(info).
      type: str
    code:
      description: A stable identifier (see the description).
      type: str
    msg:
      description: What was found and what to do.
      type: str
  sample:
    - {"severity": "blocker", "code": "rebuild_in_progress",
       "msg": "a rebuild is in progress (35% done, 367001 MiB not fully protected): wait until `weka status rebuild` shows it complete"}
blocking:
  description: Whether any finding blocks.
  returned: always, unless the cluster could not be read
  type: bool
running_version:
  description: The release the cluster runs.
  returned: always, unless the cluster could not be read
  type: str
space:
  description: What was measured under O(weka_dir) (C(dir), C(exists), C(free), C(data) as [container, bytes, free]).
  returned: success, with O(check_space)
  type: dict
"#;
