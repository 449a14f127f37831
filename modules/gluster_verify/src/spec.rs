//! The spec of `keel.storage.gluster_verify`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/gluster_verify.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Attribute, Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_verify",
    options: &[
        Opt::new("version", Kind::Str)
            .doc(&["The Gluster release this server must run, such as C(11.1). Without it, any release passes."]),
        Opt::new("wait_timeout", Kind::Duration)
            .aliases(&["timeout"])
            .default_str("300")
            .doc(&["How long to wait, in seconds or with a unit (C(5m))."]),
        Opt::new("poll_interval", Kind::Duration)
            .default_str("5")
            .doc(&["Time between two looks, in seconds or with a unit."]),
        Opt::new("settle", Kind::Duration).default_str("0").doc(&[
            "Seconds after this server's C(glusterd) started during which a whole pool is confirmed before \
                    the module reports it whole. Right after C(glusterd) starts, peers show their stored state \
                    until the handshake completes, and the handshake (which may reject a peer) follows its \
                    connection within a moment; so while C(glusterd) is younger than this, two looks at least 3 \
                    seconds apart (in a playbook's until loop, two consecutive looks) must both see the pool \
                    whole. A C(glusterd) that has run longer has had its handshakes, so a pool nothing restarted \
                    is not watched at all.",
            "Also how long a connected peer may stay in C(Accepted peer request) before the pool is stuck.",
        ]),
        Opt::new("stuck_after", Kind::Duration).default_str("120").doc(&[
            "How long a problem may stay unchanged (the same peer disconnected, the same brick offline) \
                    before the pool counts as stuck, in seconds or with a unit.",
        ]),
        Opt::new("offer_remedy", Kind::Bool).default_bool(false).doc(&[
            "When the pool is stuck and a remedy of the ladder is left, return it in RV(remedy) instead of \
                    failing.",
        ]),
        Opt::new("remedies_applied", Kind::List).default_list(&[]).doc(&[
            "Remedies already applied to this server in this run (C(restart), C(resync)), so the next call \
                    offers the next one.",
        ]),
        Opt::new("wait_id", Kind::Str).doc(&[
            "Spread the wait over several calls so that a playbook's C(until) loop shows a line per call. \
                    Each call looks once and returns, with RV(whole=false) and RV(waiting) while the pool is not \
                    whole, and keeps the wait (its start, how long each problem has lasted) in O(wait_record) for \
                    the next call with the same O(wait_id). Use a new id for every wait. O(wait_timeout) and \
                    O(stuck_after) count from the wait's first call.",
        ]),
        Opt::new("wait_record", Kind::Str)
            .default_str("/run/keel/gluster_verify.json")
            .doc(&["Where a wait with O(wait_id) is kept between calls (mode 0600; removed when the wait ends)."]),
        Opt::new("other_release_peers", Kind::List).default_list(&[]).doc(&[
            "Names or addresses of servers that run another release than this one, in the middle of a \
                    rolling upgrade. A C(Peer Rejected) between this server and one of them is expected (Gluster \
                    10 and 11 write a volume's info file in a different order, so the checksums differ) and only \
                    warned about, and their bricks and self-heal daemons, which a rejected peer's status omits, \
                    are not waited for. Any other rejection still fails at once.",
        ]),
    ],
    fragments: &[&keel_gluster_cli::cli::GLUSTER_READ_ONLY],
    supports_check_mode: true,
    run: super::run,
    short_description: "Wait until a GlusterFS server runs the expected release and its pool is whole",
    description: &[
        "Polls until this server runs O(version), glusterd answers, every peer is connected and C(Peer in \
            Cluster), and every brick and self-heal daemon of every started volume is online.",
        "Does not wait on a state that waiting cannot clear: a peer C(Peer Rejected) (at once), a connected \
            peer held in C(Accepted peer request) or C(Sent and Received peer request) beyond O(settle), or any \
            other problem unchanged for O(stuck_after). Such a pool is I(stuck): with O(offer_remedy) the module \
            returns at once, not failed, with RV(whole=false) and RV(remedy) naming the next remedy of its ladder \
            that is not in O(remedies_applied); without it, or once the ladder is exhausted, it fails with \
            instructions.",
        "The ladder: a rejected peer gets C(restart) (glusterd alone, which redoes the handshake), then \
            C(resync) (the volume definitions fetched from the peers again); any other stuck state gets \
            C(restart). The caller applies the remedy (M(keel.storage.gluster_service)) and calls this module \
            again with it added to O(remedies_applied).",
        "Fails at once when a Gluster process still runs a binary an install replaced (it needs a restart); \
            fails after O(wait_timeout) naming what is still missing.",
        "Read-only; run it on a server after starting it again, before moving to the next one.",
    ],
    requirements: &["GlusterFS 3.13 or later on the target."],
    attributes: &[Attribute::platform(
        "posix",
        "Linux x86_64 Gluster servers; no Python needed.",
    )],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Wait until the upgraded server is back and the pool is whole
  keel.storage.gluster_verify:
    version: "11.1"
    wait_timeout: 10m

- name: The same wait with a line per look
  keel.storage.gluster_verify:
    version: "11.1"
    wait_timeout: 10m
    wait_id: "after-install-{{ inventory_hostname }}"
  register: pool
  until: pool.whole or pool.remedy or pool is failed
  retries: 120
  delay: 5
"#;

const RETURN: &str = r#"
whole:
  description: Whether the pool was found whole (false on failure; unlike C(failed), a C(failed_when) leaves it alone).
  returned: always
  type: bool
stuck:
  description: Why waiting will not make the pool whole (empty when whole; also returned on failure).
  returned: always
  type: list
  elements: str
remedy:
  description: The next remedy to apply, C(restart) or C(resync); null when whole or when none is left.
  returned: always
  type: str
remedies_applied:
  description: O(remedies_applied), as understood.
  returned: always
  type: list
  elements: str
rejected_peers:
  description: Peers this server sees as C(Peer Rejected) (also returned on failure).
  returned: always
  type: list
  elements: str
  sample: [10.199.0.13]
version:
  description: The Gluster release this server runs, as C(major), C(minor) and C(text).
  returned: success
  type: dict
  sample: {"major": 11, "minor": 1, "text": "11.1"}
waiting:
  description: What the pool is still waited for; with O(wait_id), a call that finds it not whole yet returns it.
  returned: success
  type: list
  elements: str
waited_s:
  description: Seconds waited (with O(wait_id), since the wait's first call).
  returned: success
  type: int
"#;
