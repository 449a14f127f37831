# -*- coding: utf-8 -*-
# Copyright: Keel developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the static binary plugins/modules/__bin__/keel_*, run by the
# keel.storage.native_module action plugin.

from __future__ import annotations

DOCUMENTATION = r'''
---
module: weka_upgrade
short_description: Upgrade a WEKA cluster to the next release from one backend
version_added: 0.1.0
description:
  - Runs C(weka local run --in VERSION upgrade) on the backend it is run on (once per cluster, C(run_once)), which
    distributes and prepares the release on every backend, stops IO, switches every backend and starts IO again. From
    4.1 it uses the non-disruptive form C(weka local run --container drives0 --in VERSION upgrade) (C(--mode ndu) on
    4.1, the default from 4.2); before 3.12 it adds C(--mode one-shot).
  - With O(prepare_only), only distributes and prepares (C(--prepare-only)), to shorten the upgrade on large clusters.
  - After weka returns, confirms every backend runs O(version); when the upgrade failed, tells an automatic revert
    (WEKA reverts within its 10-minute window) from a stop before any host changed, quoting what C(weka cluster host)
    shows. Then waits until the hop's data upgrade (metadata conversion) finishes, which must happen before another upgrade.
  - Idempotent; a cluster on O(version) is left alone. Refuses a hop the path table does not allow and a release not yet
    on this backend (use keel.storage.weka_version first). Needs a Cluster Admin login.
options:
  version:
    description: The release to upgrade to (the next hop).
    type: str
    required: true
  prepare_only:
    description: Only distribute and prepare the release on every backend.
    type: bool
    default: false
  mode:
    description: C(auto) picks C(one-shot) before 3.12 and C(ndu) for 4.1; give one to force it.
    type: str
    choices: [auto, ndu, one-shot]
    default: auto
  container:
    description: The container to run the upgrade in on multi-container backends; default the C(drives) one.
    type: str
  stop_io_timeout:
    description: C(--stop-io-timeout), in seconds or with a unit; weka's default (90s) when not set.
    type: str
  host_version_change_timeout:
    description: C(--host-version-change-timeout); weka's default is 180s, the guide advises 600s for large deployments.
    type: str
  disconnect_stateless_clients_timeout:
    description: C(--disconnect-stateless-clients-timeout) (3.12+); default 60s, 200s advised for large deployments.
    type: str
  health_check_timeout:
    description: C(--health-check-timeout) (4.0+).
    type: str
  upgrade_timeout:
    description: >-
      Time the whole upgrade command may take. Past it the module stops waiting and fails, but the command is never
      killed (that could leave the cluster between releases): it goes on alone and the result names its pid and what
      C(weka cluster host) shows meanwhile.
    type: str
    default: "3600"
  confirm_timeout:
    description: Time to wait, after weka reports success, until every backend shows the new release.
    type: str
    default: "600"
  wait_data_upgrade:
    description: Wait until the data upgrade task finishes before reporting done.
    type: bool
    default: true
  data_upgrade_timeout:
    description: How long to wait for the data upgrade.
    type: str
    default: "3600"
  poll_interval:
    description: Time between two looks while confirming and waiting.
    type: str
    default: "10"
  upgrade_paths:
    description: The path table (see keel.storage.weka_upgrade_path); defaults to the built-in copy.
    type: dict
extends_documentation_fragment:
  - keel.storage.weka
attributes:
  check_mode:
    support: full
    description: Reports the command it would run; changes nothing.
  diff_mode:
    support: full
    description: The cluster release before and after.
author:
  - Keel developers (@keel)
'''

EXAMPLES = r'''
- name: Upgrade the cluster to 3.14.1 from the first backend, large-deployment timeouts
  keel.storage.weka_upgrade:
    version: "3.14.1"
    host_version_change_timeout: 600s
    disconnect_stateless_clients_timeout: 200s
  run_once: true
'''

RETURN = r'''
duration_s:
  description: How long the module ran, in seconds (ansible-core records no timing for binary modules).
  returned: always
  type: float
  sample: 2.4
commands:
  description: Every command the module ran on the target, in order, one line each (secret values masked).
  returned: always
  type: list
  elements: str
from_version:
  description: The release the cluster ran before.
  returned: always, unless the cluster could not be read
  type: str
version:
  description: The target release.
  returned: always, unless the cluster could not be read
  type: str
command:
  description: The weka command run (or that would run).
  returned: when it ran or would run
  type: str
  sample: weka local run --in 3.14.1 upgrade --host-version-change-timeout 600s
reverted:
  description: On failure, whether WEKA reverted the cluster to the previous release.
  returned: failure of the upgrade command
  type: bool
backends:
  description: On failure, every backend container as C(weka cluster host) shows it.
  returned: failure of the upgrade command
  type: list
  elements: dict
stdout:
  description: On failure, the whole standard output of the upgrade command (secrets masked).
  returned: failure of the upgrade command
  type: str
stderr:
  description: On failure, the whole standard error of the upgrade command (secrets masked); the message quotes one line of it.
  returned: failure of the upgrade command
  type: str
upgrade_s:
  description: Seconds the upgrade command took.
  returned: when it ran
  type: int
data_upgrade_s:
  description: Seconds waited for the data upgrade.
  returned: success
  type: int
output:
  description: The upgrade command's output lines.
  returned: when it ran
  type: list
  elements: str
elapsed_s:
  description: Seconds the module took.
  returned: success
  type: int
left_running:
  description: >-
    True when the command outlived its timeout and was left running, never killed
    (killing it could leave the cluster between releases); the message says what C(weka cluster host) shows meanwhile and what to do once it ends.
  returned: when the upgrade command outlived upgrade_timeout
  type: bool
pid:
  description: The process id of the command left running.
  returned: when the upgrade command outlived upgrade_timeout
  type: int
output_files:
  description: The two files the command left running writes its standard output and error to (C(stdout), C(stderr)).
  returned: when the upgrade command outlived upgrade_timeout
  type: dict
'''
