//! The spec of `keel.storage.gluster_facts`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/gluster_facts.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_facts",
    options: &[Opt::new("heal", Kind::Bool).default_bool(true).doc(&[
        "Gather heal counts (C(gluster volume heal VOL info summary)) for every started replicate or \
                    disperse volume. Cheap even with a large backlog, as it never lists entries.",
    ])],
    fragments: &[
        &keel_gluster_cli::cli::GLUSTER,
        &keel_gluster_cli::cli::GLUSTER_READ_ONLY,
    ],
    supports_check_mode: true,
    run: super::run,
    short_description: "Gather facts about a GlusterFS server and its trusted storage pool",
    description: &[
        "Reads the installed GlusterFS version, the peers of the trusted storage pool, every volume with its \
            bricks (host, path, online, port, pid), self-heal daemons, running tasks (rebalance, remove-brick), \
            per-brick heal counts, and the cluster C(op-version) and C(max-op-version).",
        "Runs C(gluster --mode=script --xml) on the target and returns the result as C(ansible_facts.gluster). \
            Changes nothing.",
        "A native static binary; the target needs no Python.",
    ],
    notes: &[
        "Fails with a message naming the C(gluster) command when it is not installed, and one naming \
            C(glusterd) when the daemon does not answer.",
        "Bricks whose server is down are absent from C(gluster volume status); they are reported with \
            C(online=false).",
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Gather Gluster facts on every server
  keel.storage.gluster_facts:

- name: Show volumes that are not fully online
  ansible.builtin.debug:
    msg: "{{ item.name }} has bricks offline"
  loop: "{{ ansible_facts.gluster.volumes }}"
  when: item.bricks | rejectattr('online') | list | length > 0

- name: Facts without heal counts, with a longer command timeout
  keel.storage.gluster_facts:
    heal: false
    command_timeout: 5m
"#;

const RETURN: &str = r#"
ansible_facts:
  description: Facts about the local Gluster server and its pool.
  returned: success
  type: dict
  contains:
    gluster:
      description: Everything gathered.
      type: dict
      returned: success
      contains:
        version:
          description: The installed GlusterFS version, as C(major), C(minor) and C(text) (for example C(10.3)).
          type: dict
          returned: success
          sample: {"major": 10, "minor": 3, "text": "10.3"}
        op_version:
          description: The cluster's current operating version.
          type: int
          returned: success
          sample: 100000
        max_op_version:
          description: >-
            The highest op-version every connected peer supports. Only meaningful when every peer is
            connected and in the cluster. Null (with a warning) when glusterd would not tell after
            five tries, as happens for a few seconds after peers connect.
          type: int
          returned: success
          sample: 110000
        peers:
          description: The trusted storage pool as C(gluster pool list) shows it, this node included (C(is_local)).
          type: list
          elements: dict
          returned: success
          sample:
            - {"uuid": "0d5c...", "hostname": "10.199.0.12", "hostnames": ["10.199.0.12"], "connected": true,
               "state": 3, "state_str": "Peer in Cluster", "is_local": false}
        volumes:
          description: >-
            Every volume, with C(name), C(id), C(status) (Created, Started, Stopped), C(type)
            (distribute, replicate, disperse, distributed_replicate, distributed_disperse, other),
            C(type_str), C(brick_count), C(dist_count), C(replica_count), C(arbiter_count),
            C(disperse_count), C(redundancy_count), C(options), C(bricks) (each with C(name),
            C(host), C(path), C(host_uuid), C(is_arbiter), C(online), C(port), C(pid) and C(heal):
            C(status), C(connected), C(total), C(pending), C(split_brain), C(possibly_healing),
            where a count is null when the brick could not be asked), C(self_heal_daemons)
            (C(host), C(online), C(pid)), C(tasks) (rebalance, remove-brick) and C(heal_error).
          type: list
          elements: dict
          returned: success
"#;
