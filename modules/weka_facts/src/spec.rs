//! The spec of `keel.storage.weka_facts`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/weka_facts.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::ModuleDef;

pub const MODULE: ModuleDef = ModuleDef {
    name: "weka_facts",
    options: &[],
    fragments: &[&keel_weka_cli::cli::WEKA, &keel_weka_cli::cli::WEKA_READ_ONLY],
    supports_check_mode: true,
    run: super::run,
    short_description: "Gather facts about a WEKA cluster as one of its hosts sees it",
    description: &[
        "Reads C(weka status -J), C(weka cluster host -J) (C(weka cluster container -J) from 4.1), C(weka \
            alerts -J), C(weka status rebuild -J), C(weka cluster task -J) and C(weka local ps -J), and returns \
            them as C(ansible_facts.weka). Changes nothing.",
        "The release is parsed into its numeric parts (up to four) and build suffix, so releases compare \
            correctly (C(4.2.10) is newer than C(4.2.9.28)).",
        "A native static binary; the target needs no Python.",
    ],
    notes: &["Works on backends and clients alike; every host of the cluster sees the same cluster."],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
- name: Gather WEKA facts from one backend
  keel.storage.weka_facts:
    token_file: /root/.weka/auth-token.json
  run_once: true

- name: List the clients still on an older release
  ansible.builtin.debug:
    msg: "{{ ansible_facts.weka.clients | rejectattr('version', 'equalto', ansible_facts.weka.release.text) | map(attribute='hostname') }}"
"#;

const RETURN: &str = r#"
ansible_facts:
  description: Facts about the WEKA cluster.
  returned: success
  type: dict
  contains:
    weka:
      description: Everything gathered.
      type: dict
      returned: success
      contains:
        release:
          description: The release the cluster runs, as C(text), C(parts), C(suffix), C(major), C(minor) and C(line).
          type: dict
          returned: success
          sample: {"text": "4.4.2.157-k8s.2", "parts": [4, 4, 2, 157], "suffix": "k8s.2", "major": 4, "minor": 4, "line": "4.4"}
        status:
          description: The cluster status (C(OK), C(REBUILDING), C(UNPROTECTED), ...).
          type: str
          returned: success
        io_status:
          description: C(STARTED) when IO runs.
          type: str
          returned: success
        backends:
          description:
            - One entry per backend host, with C(hostname), C(mode), C(version) (C(mixed) when its containers
              differ), C(up), C(stateless) and C(containers).
          type: list
          elements: dict
          returned: success
        clients:
          description: One entry per client host, like RV(ansible_facts.weka.backends).
          type: list
          elements: dict
          returned: success
        containers:
          description:
            - Every container as C(weka cluster host) lists it (C(hostname), C(container), C(host_id), C(mode),
              C(status), C(state), C(version), C(stateless), C(failure)).
          type: list
          elements: dict
          returned: success
        alerts:
          description: Active, unmuted alerts (C(type), C(title), C(description), C(severity), C(count), C(muted)).
          type: list
          elements: dict
          returned: success
        rebuild:
          description: C(progress_percent), C(unavailable_mib), C(moving_data), C(degraded_mib).
          type: dict
          returned: success
        tasks:
          description: Background tasks (C(type), C(state), C(progress), C(description)).
          type: list
          elements: dict
          returned: success
        data_upgrade:
          description: The running data upgrade after a hop, or null.
          type: str
          returned: success
        upgrading:
          description: Whether weka shows an upgrade in progress.
          type: bool
          returned: success
        multi_container:
          description: Whether every backend runs several containers (required from 4.1).
          type: bool
          returned: success
        local_containers:
          description: The containers on this host (C(weka local ps)).
          type: list
          elements: dict
          returned: success
        name:
          description: The cluster's name.
          type: str
          returned: success
        guid:
          description: The cluster's GUID.
          type: str
          returned: success
        counts:
          description: The active and total counts of C(weka status) (backends, clients, drives, io_nodes) and the active alerts.
          type: dict
          returned: success
"#;
