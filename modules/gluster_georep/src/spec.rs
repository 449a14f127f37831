//! The spec of `keel.storage.gluster_georep`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/gluster_georep.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Attribute, Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_georep",
    options: &[
        Opt::new("state", Kind::Str)
            .default_str("list")
            .choices(&["list", "stopped", "started"])
            .doc(&["C(list) only reads; C(stopped) and C(started) act on the sessions."]),
        Opt::new("record", Kind::Str)
            .default_str("/var/lib/keel/gluster_georep.json")
            .doc(&["Where the stopped sessions are recorded between O(state=stopped) and O(state=started)."]),
        Opt::new("checkpoint", Kind::Bool).default_bool(true).doc(&[
            "With O(state=started), set a checkpoint on each restarted session that is not paused and wait \
                    until it completed, proof that the session syncs again. False restores a session once its \
                    workers are up.",
        ]),
        Opt::new("checkpoint_timeout", Kind::Duration).default_str("300").doc(&[
            "How long the checkpoint may take to complete, in seconds or with a unit (C(90s), C(5m)); the \
                    time the secondary needs to catch up with what was written while geo-replication was stopped.",
        ]),
        Opt::new("wait_id", Kind::Str).doc(&[
            "Names one wait of O(state=started) spread over several calls, each taking one look; a new name \
                    per wait (the host and the time, for instance). The phases a call finds in O(record) under \
                    another name are ignored, as that wait is over. Without it, a call waits until every session \
                    is verified or failed, looking every 2 seconds.",
        ]),
    ],
    fragments: &[&keel_gluster_cli::cli::GLUSTER],
    supports_check_mode: true,
    run: super::run,
    short_description:
        "List GlusterFS geo-replication sessions, stop them for an upgrade and start them again, verified",
    description: &[
        "Reads C(gluster volume geo-replication status) (the pre-10.0 master/slave and the 10.0 and later \
            primary/secondary output alike) and returns every session whose primary volume is on this pool, with \
            the state of each brick's worker.",
        "A status that cannot be read fails the module with C(status_known=false), whatever the state; it is \
            never taken for \"no session\". Gluster answers C(geo-replication command failed) with exit code 2 and \
            no XML both when no session is configured and, possibly, when the command failed; the module takes it \
            for no session only when glusterd's own store (the C(slaveN=) lines of \
            C(/var/lib/glusterd/vols/*/info)) lists no session either.",
        "O(state=stopped) records every running session (started, faulty or paused) in O(record), then stops \
            them. A session gluster would not stop stays running and recorded, and the module fails.",
        "O(state=started) starts the recorded sessions that are stopped (and resumes one found paused that was \
            recorded running), then polls the status for up to O(command_timeout) until every worker of each is Active or \
            Passive; a worker still Faulty (or Created, Initializing) fails the module, naming its server and \
            brick. A session that was paused is paused again once its workers are up. On each running session it \
            then sets a checkpoint (C(gluster volume geo-replication PRIMARY SECONDARY config checkpoint now)) and \
            waits up to O(checkpoint_timeout) until every Active worker reports it completed, unless \
            O(checkpoint=false).",
        "Only the sessions that went through all of that leave the record; one that is missing from the status, \
            or whose start, workers or checkpoint failed, stays recorded, so running the task again finishes it (a \
            session already running is only verified). The module fails while any recorded session is not \
            restored.",
        "With O(wait_id), O(state=started) takes one look per call and never sleeps, for a playbook's C(until) \
            loop that shows a line per look (see EXAMPLES). Each call acts on what is due (start or resume, pause \
            again, set the checkpoint), keeps each session's phase in O(record) (started at a time, checkpoint set \
            at a time, done) and returns C(done=false) with what it still waits for in C(waiting), until a call \
            finds every session verified and returns C(done=true). Within one wait a session is never started, \
            resumed or given a checkpoint twice; the workers get O(command_timeout) from their start, the checkpoint \
            O(checkpoint_timeout) from its setting, and a phase past its limit fails the module as without \
            O(wait_id). The first failure ends the wait; the sessions not verified stay recorded for the next run, \
            which starts afresh from their state.",
        "The Gluster upgrade guides stop geo-replication before an upgrade and start it after, and upgrade \
            secondary pools before their primaries.",
        "Run it once per pool (C(run_once)); a session is stopped or started for every server at once.",
    ],
    notes: &[
        "O(command_timeout) is also how long O(state=started) waits for the workers to become Active or Passive.",
        "When a worker is not Active or Passive, see C(gluster volume geo-replication PRIMARY SECONDARY status \
            detail) and the gsyncd logs under C(/var/log/glusterfs/geo-replication/) on the server named in \
            C(unhealthy_workers).",
    ],
    attributes: &[
        Attribute::new(
            "check_mode",
            "full",
            "Reports the sessions it would stop or start; changes nothing, sets no checkpoint and waits for \
            nothing.",
        ),
        Attribute::new(
            "diff_mode",
            "full",
            "Shows each session stopped or started, with its state before and after.",
        ),
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: List the geo-replication sessions of this pool
  keel.storage.gluster_georep:
  register: georep

- name: Stop geo-replication before upgrading the pool
  keel.storage.gluster_georep:
    state: stopped
  run_once: true

- name: Start again the sessions stopped for the upgrade, verified by a checkpoint
  keel.storage.gluster_georep:
    state: started
    checkpoint_timeout: 10m
  run_once: true

- name: A new wait
  ansible.builtin.set_fact:
    georep_wait: "{{ inventory_hostname }}-{{ now(utc=true).timestamp() }}"
  run_once: true

- name: Start them again, a look every 5 s with a line each, for up to 420 s (2 min for the workers, 5 min for the checkpoint)
  keel.storage.gluster_georep:
    state: started
    command_timeout: 2m
    checkpoint_timeout: 5m
    wait_id: "{{ georep_wait }}"
  run_once: true
  register: georep
  until: georep.done | default(false) or georep is failed
  retries: 86
  delay: 5
"#;

const RETURN: &str = r#"
status_known:
  description:
    - True when the geo-replication status was read. False when it could not be (the module then fails, except
      for O(state=started) with nothing recorded, which only warns); C(sessions) and C(role) are then absent.
  returned: when the module asked gluster for the status (not on invalid options or an unreadable record)
  type: bool
  sample: true
sessions:
  description:
    - Each session with its primary volume, C(secondary) (C([user@]host::volume)), C(secondary_user) and
      C(pairs), one per primary brick (C(primary_node), C(primary_brick), C(secondary_node), C(status) such
      as Active, Passive, Stopped, Faulty, C(crawl_status), C(checkpoint_completed) (Yes, No or N/A) and
      C(checkpoint_time)), as the status shows them at the end of the run.
  returned: when status_known
  type: list
  elements: dict
role:
  description: C(primary) when sessions start from this pool, C(none) otherwise (a secondary pool shows none).
  returned: when status_known
  type: str
  sample: primary
stopped:
  description: The sessions stopped (or that would be, in check mode).
  returned: when state is stopped and a session ran
  type: list
  elements: str
  sample: ["gv0 -> root@site-b::gv0-dr"]
started:
  description:
    - The sessions started, resumed, paused again or given a checkpoint (or that would be started, in check
      mode); a paused one is named with C((paused again, as it was)). With O(wait_id), those of the whole wait so
      far; the call that ends the wait then reports C(changed) when the wait changed anything.
  returned: when state is started and the status was read
  type: list
  elements: str
restored:
  description: The recorded sessions verified in this run (workers Active or Passive, checkpoint completed); they left the record.
  returned: when state is started, not in check mode, and a session was recorded
  type: list
  elements: str
pending:
  description:
    - The sessions still in O(record) after this run, not restored; C(msg) says why for each. Run the task again
      once the cause is fixed. Empty when every recorded session was restored (the record is then removed).
  returned: when state is started, not in check mode, and a session was recorded
  type: list
  elements: str
unhealthy_workers:
  description: Each worker not Active or Passive when the wait for the workers ended.
  returned: when state is started, not in check mode, and a session was recorded
  type: list
  elements: dict
  contains:
    session:
      description: The session, C(PRIMARY -> SECONDARY).
      type: str
    primary_node:
      description: The server of the worker.
      type: str
    primary_brick:
      description: The brick the worker syncs.
      type: str
    status:
      description: Its status, such as Faulty, Created or Initializing....
      type: str
  sample: [{"session": "gv0 -> site-b::gv0-dr", "primary_node": "node2", "primary_brick": "/bricks/gv0", "status": "Faulty"}]
checkpoint_pending:
  description: The sessions whose checkpoint did not complete within O(checkpoint_timeout).
  returned: when state is started, not in check mode, and a session was recorded
  type: list
  elements: str
done:
  description:
    - True when nothing is left to wait for, every recorded session verified (always in check mode, which waits
      for nothing, and when nothing is recorded). False while a wait with O(wait_id) goes on, and on a failure.
  returned: when state is started and the status was read
  type: bool
  sample: false
waiting:
  description:
    - What is still awaited, one line per session, such as its workers not yet Active or Passive or its
      checkpoint not yet completed, with the time waited and the limit.
  returned: when state is started and the status was read
  type: list
  elements: str
  sample: ["gv0 -> site-b::gv0-dr: worker(s) not Active or Passive: node2:/bricks/gv0 Initializing... (12 s of 120)"]
waited_s:
  description: Seconds since the wait first looked at the sessions (with O(wait_id), since its first call).
  returned: when state is started and the status was read
  type: int
  sample: 12
"#;
