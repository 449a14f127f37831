//! The spec of `keel.storage.gluster_state`: its options with their defaults, its documentation,
//! examples and return values. The collection's plugins/modules/gluster_state.py is generated
//! from it (`cargo xtask collection`).

use keel_runtime::{Attribute, Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_state",
    options: &[
        Opt::new("state", Kind::Str)
            .required()
            .choices(&["saved", "restored", "query"])
            .doc(&[
                "C(saved): keep a copy of O(path) and a manifest (release, Gluster package versions, op-version, \
                    time) in O(store)/RELEASE, for the release installed now. A copy of the same release already \
                    kept is never overwritten.",
                "C(restored): put the copy of the installed release back as O(path); the current O(path) is kept \
                    as C(PATH.keel-rollback-TIMESTAMP). Refused while C(glusterd) runs, without a copy, or once \
                    the op-version was raised past the one the copy recorded.",
                "C(query): change nothing; report the copies kept and whether the way back is open \
                    (RV(way_back)).",
            ]),
        Opt::new("release", Kind::Str).doc(&[
            "With O(state=restored), the release whose copy to restore; it must be the installed one (default).",
            "With O(state=query), the release to judge the way back to (default: the newest kept release older \
                than the installed one). With O(state=saved), a check: the installed release must be this one.",
        ]),
        Opt::new("path", Kind::Str)
            .default_str("/var/lib/glusterd")
            .doc(&["glusterd's working directory (its state; brick data is never there)."]),
        Opt::new("store", Kind::Str).default_str("/var/lib/keel/rollback").doc(&[
            "Where the copies are kept, one folder per release; created root-owned, mode 0700.",
        ]),
        Opt::new("package_manager", Kind::Str)
            .default_str("auto")
            .choices(&["auto", "apt", "dnf", "yum", "zypper"])
            .doc(&["Whose package database names the installed release; C(auto) picks the first found."]),
    ],
    fragments: &[],
    supports_check_mode: true,
    run: super::run,
    short_description: "Keep a server's glusterd state before an upgrade and put it back: the way back",
    description: &[
        "Before a server is upgraded, O(state=saved) copies C(/var/lib/glusterd) (following no link, with modes \
            and owners) into a private folder with a manifest of the installed Gluster packages and the \
            op-version (C(operating-version) of C(glusterd.info)).",
        "After the old release was installed again (M(keel.storage.gluster_install) with O(keel.storage.gluster_install#module:allow_downgrade=true)) \
            and with the Gluster services stopped, O(state=restored) puts that copy back. The playbook \
            C(keel.storage.gluster_rollback) does both steps on every server, one at a time.",
        "The way back exists until C(cluster.op-version) is raised: Gluster never lowers it, and the old release \
            cannot run a pool above its own op-version. The module refuses to restore past that point.",
    ],
    attributes: &[
        Attribute::new("check_mode", "full", "Says what it would save or restore; changes nothing."),
        Attribute::new("diff_mode", "full", "Shows the state before and after, in a line each."),
        Attribute::platform("posix", "Linux hosts with dpkg or rpm; no Python needed."),
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Keep this server's glusterd state before it is upgraded
  keel.storage.gluster_state:
    state: saved

- name: Is the way back still open?
  keel.storage.gluster_state:
    state: query
  register: way

- name: Put the state of 10.3 back (glusterd stopped, 10.3 installed again)
  keel.storage.gluster_state:
    state: restored
    release: "10.3"
"#;

const RETURN: &str = r#"
duration_s:
  description: How long the module ran, in seconds.
  returned: always
  type: float
  sample: 0.1
release:
  description: The release whose state was saved or restored.
  returned: with O(state=saved) and O(state=restored)
  type: str
  sample: "10.3"
saved_copy:
  description: The saved copy of glusterd's state.
  returned: with O(state=saved) and O(state=restored)
  type: str
  sample: /var/lib/keel/rollback/10.3/glusterd
manifest:
  description: What was recorded with the copy.
  returned: with O(state=saved) and O(state=restored)
  type: dict
  sample: {"release": "10.3", "packages": {"glusterfs-server": "10.3-5"}, "op_version": 100000,
           "saved_at": 1764790000}
files:
  description: How many files the copy holds.
  returned: with O(state=saved), when a copy was taken
  type: int
  sample: 42
bytes:
  description: How many bytes the copy holds.
  returned: with O(state=saved), when a copy was taken
  type: int
  sample: 61440
not_copied:
  description: Files of O(path) that are neither directories, regular files nor links (sockets, pipes), not copied.
  returned: with O(state=saved), when a copy was taken
  type: list
  elements: str
  sample: []
moved_aside:
  description: Where a copy of the state that was replaced is kept.
  returned: with O(state=restored), when it changed something
  type: str
  sample: /var/lib/glusterd.keel-rollback-1764790000
installed_release:
  description: The release the installed packages carry.
  returned: with O(state=query)
  type: str
  sample: "11.1"
saved:
  description: Every kept copy's manifest, oldest release first.
  returned: with O(state=query)
  type: list
  elements: dict
way_back:
  description: Whether the way back is open, with C(release), C(op_version_saved), C(op_version_now), C(open)
    and, when closed, C(reason).
  returned: with O(state=query)
  type: dict
  sample: {"release": "10.3", "op_version_saved": 100000, "op_version_now": 100000, "open": true}
"#;
