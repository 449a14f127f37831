//! The spec of `keel.storage.gluster_precheck`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/gluster_precheck.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_precheck",
    options: &[
        Opt::new("mode", Kind::Str)
            .default_str("online")
            .choices(&["online", "offline", "clients"])
            .doc(&[
                "The kind of upgrade to check for. V(clients): whether the clients may move to O(target_version) \
                    now, judged from this server (the servers' major release, never newer than the server's); \
                    nothing else is checked.",
            ]),
        Opt::new("target_version", Kind::Str)
            .doc(&["The Gluster release to upgrade to, such as C(11.1). Without it, release checks are skipped."]),
        Opt::new("allow_distribute", Kind::Bool).default_bool(false).doc(&[
            "Accept pure distribute volumes in an online upgrade (their files on the server being upgraded \
                    are unavailable meanwhile); they are reported as a warning instead of a blocker.",
        ]),
        Opt::new("other_release_peers", Kind::List).default_list(&[]).doc(&[
            "Names or addresses of servers that run another release than this one, when a rolling upgrade \
                    is resumed half way. Gluster 10 and 11 servers reject each other (each writes a volume's info \
                    file in its own order), so a connected C(Peer Rejected) peer named here is only a warning, and \
                    the bricks and self-heal daemons that its rejection hides from this server's view are not \
                    counted offline. Heal counts still cover every brick. The keel.storage.gluster_upgrade \
                    playbook fills it in.",
        ]),
        Opt::new("georep_changelog_upgraded", Kind::Bool)
            .default_bool(false)
            .doc(&[
                "Gluster 8 changed the layout of the changelogs that geo-replication reads. Before an upgrade \
                    from below 8, stop the sessions and run C(glusterfs-georep-upgrade.py BRICK_PATH) (from the \
                    Gluster 8 sources' C(extras/)) on every brick of each primary volume; then set this to \
                    C(true). Until then a primary volume (C(geo-replication.indexing) on) blocks such an upgrade.",
            ]),
        Opt::new("clients_connected_ok", Kind::Bool).default_bool(false).doc(&[
            "O(mode=offline) only: the offline upgrade needs the clients away (the Gluster guides schedule a \
                downtime with every client stopped), so a client connected to the bricks (C(gluster volume status all \
                clients)) blocks it, named in the finding C(clients_connected). C(true) makes that a warning.",
        ]),
    ],
    fragments: &[
        &keel_gluster_cli::cli::GLUSTER,
        &keel_gluster_cli::cli::GLUSTER_READ_ONLY,
    ],
    supports_check_mode: true,
    run: super::run,
    short_description: "Check that a GlusterFS pool can be upgraded safely, online or offline",
    description: &[
        "Evaluates the whole trusted storage pool, as seen from the target server, against the rules of the \
            Gluster upgrade guides, and returns every finding with a severity (C(blocker), C(warning), C(info)), a \
            code and a sentence. Fails when any finding blocks. Changes nothing.",
        "Online mode blocks for: dispersed or distributed-dispersed volumes; pure distribute volumes (unless \
            O(allow_distribute)); a peer disconnected or not C(Peer in Cluster); a brick or self-heal daemon \
            offline; heal backlog or unknown heal counts; a replica set with two bricks on one server; replica 2 \
            without an arbiter (client quorum).",
        "Both modes block for: split-brain entries; a peer not in the cluster (for example C(Peer Rejected)); a \
            running rebalance or remove-brick; removed volume types or features (tier, stripe) when the target is \
            6 or later; a target older than the installed release.",
        "Upgrades that cross a release which changed something also get what that release's upgrade guide asks \
            for: from below 4.1, C(features.lock-heal) or C(features.grace-timeout) still set blocks; from below \
            8, geo-replication primaries block until their changelogs are upgraded (see \
            O(georep_changelog_upgraded)); from below 7 with quota on, a warning about the extra glusterd restart; \
            from below 10, a warning that bricks move to random ports.",
    ],
    notes: &[
        "Run it on every server before touching any (C(any_errors_fatal) in the play): each server reports what \
            it sees, and a disconnected peer looks different from each side.",
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Check every server before an online upgrade to 11.1
  keel.storage.gluster_precheck:
    mode: online
    target_version: "11.1"

- name: Check for an offline upgrade, keeping the findings for the report
  keel.storage.gluster_precheck:
    mode: offline
    target_version: "11.1"
  register: precheck

- name: Accept pure distribute volumes (their files are briefly unavailable)
  keel.storage.gluster_precheck:
    target_version: "11.1"
    allow_distribute: true
"#;

const RETURN: &str = r#"
findings:
  description: Every finding, blockers first.
  returned: always, unless the pool could not be read
  type: list
  elements: dict
  contains:
    severity:
      description: C(blocker) (the upgrade must not start), C(warning) or C(info).
      type: str
    code:
      description: >-
        A stable identifier: target_older, at_target, peer_disconnected, peer_not_in_cluster,
        dispersed_volume, distribute_volume, removed_volume_type, removed_xlator, brick_offline,
        peer_rejected_mixed_release, shd_offline, shd_disabled, heal_pending, heal_unknown, split_brain, task_running,
        replica_same_server, replica2_quorum, quorum_off, removed_option_set, georep_changelog_upgrade,
        clients_connected, client_release, peer_rejected_expected,
        quota_restart, brick_ports_random.
      type: str
    msg:
      description: What was found and what to do.
      type: str
  sample:
    - {"severity": "blocker", "code": "dispersed_volume",
       "msg": "volume ec0 is Disperse: Gluster supports only offline upgrades of dispersed volumes"}
blocking:
  description: Whether any finding blocks the upgrade.
  returned: always, unless the pool could not be read
  type: bool
blockers_may_clear:
  description: >-
    Whether waiting alone may clear what blocks: true only when something blocks and every blocker is
    heal entries pending (a pool under writes lists a file mid-write for a moment), so a playbook may
    look again for a bounded time.
  returned: always, unless the pool could not be read
  type: bool
at_target:
  description: Whether the server already runs the release O(target_version) names (same major and minor).
  returned: always, unless the pool could not be read
  type: bool
installed_version:
  description: The Gluster release installed on the target.
  returned: always, unless the pool could not be read
  type: str
  sample: "10.3"
"#;
