//! The spec of `keel.storage.gluster_heal`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/gluster_heal.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Attribute, Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_heal",
    options: &[
        Opt::new("volumes", Kind::List).doc(&[
            "Volumes to heal; each must exist, be started and be replicate or disperse. Default, every \
                    started replicate or disperse volume.",
        ]),
        Opt::new("trigger", Kind::Bool).default_bool(true).doc(&[
            "Run C(gluster volume heal VOL) on every volume, once per run, as soon as none of its bricks is \
                    down.",
        ]),
        Opt::new("wait", Kind::Bool)
            .default_bool(true)
            .doc(&["Count again every O(poll_interval) until healed, for up to O(wait_timeout)."]),
        Opt::new("wait_timeout", Kind::Duration)
            .default_str("1800")
            .doc(&["How long O(wait=true) waits, in seconds or with a unit (C(30m), C(2h))."]),
        Opt::new("poll_interval", Kind::Duration)
            .default_str("10")
            .doc(&["Time between two counts while waiting, in seconds or with a unit."]),
        Opt::new("brick_down_grace", Kind::Duration).default_str("30").doc(&[
            "How long a brick may be down (right after a restart it is, briefly) before the run fails as \
                    stuck, in seconds or with a unit; looked at again every 5 s (or O(poll_interval) if shorter) \
                    within the run, also with O(wait=false). C(0) fails at the first count that shows a brick \
                    down.",
        ]),
        Opt::new("report_entries", Kind::Int)
            .default_int(10)
            .doc(&["How many split-brain entries to name in the failure and in RV(split_brain)."]),
    ],
    fragments: &[&keel_gluster_cli::cli::GLUSTER],
    supports_check_mode: true,
    run: super::run,
    short_description: "Trigger GlusterFS self-heal on every volume and tell whether every brick is healed",
    description: &[
        "Reads the heal counts of every started replicate or disperse volume (or of O(volumes)) with C(gluster \
            volume heal VOL info summary), which counts without listing entries, so it stays cheap on huge \
            backlogs.",
        "Healed means: every brick of every such volume answered with its counts, and all are zero: entries \
            pending heal, in split-brain and possibly healing. A count gluster cannot give (a brick not connected, \
            missing from the summary, or printed as C(-)) is unknown, never zero, and keeps the volume unhealed; \
            RV(volumes) names each such brick with the reason.",
        "With O(trigger=true), runs C(gluster volume heal VOL) on every volume, as the Gluster upgrade guides \
            do after each server, whether or not entries are pending (retrying while the self-heal daemon starts, \
            or while another gluster command holds the volume's lock). While a brick of a volume is down gluster \
            refuses its trigger, so that volume is triggered once its bricks are back.",
        "Stuck: fails at once, with RV(stuck=true), when a volume has entries in split-brain (waiting never \
            heals them; the message names the entries and the C(gluster volume heal VOL split-brain ...) \
            commands), and when a brick stays down for O(brick_down_grace) (looked at again every few seconds \
            within the same run).",
        "With O(wait=false) it counts (and triggers) once and returns at once, so a playbook polls it with \
            C(until) and Ansible prints a retry line per poll. With O(wait=true) it counts again every \
            O(poll_interval) until healed, and fails (not stuck) after O(wait_timeout).",
        "C(changed=true) when this run triggered a heal while something was not healed, or saw it healed; \
            triggering volumes with nothing pending is C(changed=false).",
    ],
    attributes: &[
        Attribute::new(
            "check_mode",
            "full",
            "Counts (read-only) and reports stuck states alike; triggers nothing and returns the volumes it would \
            trigger in RV(would_trigger); does not wait.",
        ),
        Attribute::new("diff_mode", "none", "Healing has no before and after to show."),
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Heal every volume and wait until every brick reports nothing to heal
  keel.storage.gluster_heal:
    wait_timeout: 2h
  run_once: true

- name: Trigger, then follow the counts from the playbook, stopping when stuck
  keel.storage.gluster_heal:
    volumes: [gv0]
    wait: false
  register: heal
  until: heal.healed | default(false) or heal.stuck | default(false)
  retries: 120
  delay: 15
  failed_when: heal.failed or not heal.healed | default(false)
  run_once: true
"#;

const RETURN: &str = r#"
healed:
  description: Every brick of every volume answered with its counts, and all are zero (pending, split-brain,
    possibly healing).
  returned: success, and failures once the counts were read
  type: bool
stuck:
  description: Waiting cannot heal the pool (split-brain, or a brick down past O(brick_down_grace)); the run
    failed with the remedy in C(msg). False on success and when O(wait_timeout) passed.
  returned: success, and failures once the counts were read
  type: bool
stuck_reasons:
  description: Why stuck, C(split_brain) and/or C(bricks_down).
  returned: when stuck
  type: list
  elements: str
  sample: ["bricks_down"]
split_brain:
  description: Per volume in split-brain, C(bricks) (brick name to its count of entries in split-brain) and
    C(entries) (the first O(report_entries), each once).
  returned: when stuck
  type: dict
  sample: {"sb0": {"bricks": {"10.196.0.11:/bricks/sb0": 4}, "entries": ["/", "/f4", "/f1"]}}
bricks_down:
  description: Bricks still down after O(brick_down_grace).
  returned: when stuck
  type: list
  elements: str
  sample: ["10.198.0.13:/bricks/gv0"]
pending_total:
  description: Entries pending heal, summed over the bricks whose counts are known (a brick whose counts are
    unknown adds nothing, so zero alone is not healed; see RV(healed)).
  returned: success, and failures once the counts were read
  type: int
  sample: 0
volumes:
  description: >-
    Per volume: C(healed), C(pending), C(split_brain), C(possibly_healing) (sums over bricks whose counts are
    known), C(bricks_down) (bricks the summary shows not connected), C(bricks_unknown) (brick name to why
    its counts are unknown: gluster's status, not in the summary, or no count) and C(bricks) (per brick
    C(name), C(host), C(path), C(status), C(connected), C(total), C(pending), C(split_brain),
    C(possibly_healing); a count is null when unknown).
  returned: success, and failures once the counts were read
  type: dict
triggered:
  description: Volumes on which this run triggered a heal.
  returned: success, and failures once the counts were read
  type: list
  elements: str
would_trigger:
  description: In check mode, the volumes a run would trigger; empty otherwise.
  returned: success, and failures once the counts were read
  type: list
  elements: str
elapsed_s:
  description: Seconds spent counting, triggering and waiting.
  returned: success, and failures once the counts were read
  type: int
"#;
