# -*- coding: utf-8 -*-
# Copyright: Keel developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the static binary plugins/modules/__bin__/keel_*, run by the
# keel.storage.native_module action plugin.

from __future__ import annotations

DOCUMENTATION = r'''
---
module: gluster_heal
short_description: Trigger GlusterFS self-heal and wait until nothing is pending
version_added: 0.1.0
description:
  - Reads the heal backlog of every started replicate or disperse volume (or of O(volumes)) with
    C(gluster volume heal VOL info summary), which counts without listing entries, so it stays cheap
    on huge backlogs.
  - When anything is pending, triggers C(gluster volume heal VOL) (retrying while the self-heal daemon
    starts, or while another gluster command holds the volume's lock) and, with O(wait=true), polls until
    every brick reports zero pending entries. A volume with a brick down is not triggered (gluster
    refuses; its self-heal daemon resumes once the brick is back).
  - Fails at once on split-brain, naming up to O(report_entries) entries; fails when a brick stays down
    for three polls, and when O(timeout) passes, with the remaining counts.
  - With O(wait=false) it returns the counts after triggering, so a playbook can loop with C(until)
    and show progress.
  - "C(changed=true) when this run triggered a heal or saw the backlog healed; nothing pending means
    nothing to do: C(changed=false)."
options:
  volumes:
    description: Volumes to heal. Default, every started replicate or disperse volume.
    type: list
    elements: str
  wait:
    description: Wait until nothing is pending.
    type: bool
    default: true
  timeout:
    description: How long to wait, in seconds or with a unit (C(30m), C(2h)).
    type: str
    default: "1800"
  poll_interval:
    description: Time between two counts while waiting, in seconds or with a unit.
    type: str
    default: "10"
  report_entries:
    description: How many split-brain entries to name in the failure message.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    description: Reads the counts and reports whether it would trigger a heal; triggers nothing.
  diff_mode:
    support: none
    description: Healing has no before and after to show.
  platform:
    support: full
    platforms: posix
    description: Linux x86_64 Gluster servers with a running glusterd; no Python needed.
requirements:
  - GlusterFS 3.13 or later on the target (for C(heal info summary)).
author:
  - Keel developers (@keel)
'''

EXAMPLES = r'''
- name: Heal every volume and wait until nothing is pending
  keel.storage.gluster_heal:
    timeout: 2h
  run_once: true

- name: Trigger, then follow the backlog from the playbook
  keel.storage.gluster_heal:
    volumes: [gv0]
    wait: false
  register: heal
  until: heal.healed
  retries: 120
  delay: 15
  run_once: true
'''

RETURN = r'''
duration_s:
  description: How long the module ran, in seconds (ansible-core records no timing for binary modules).
  returned: always
  type: float
  sample: 2.4
healed:
  description: Every brick answered and reports zero pending and zero split-brain entries.
  returned: success or a wait that failed
  type: bool
pending_total:
  description: Entries pending heal, summed over the bricks that answered.
  returned: always, unless the volumes could not be read
  type: int
  sample: 0
volumes:
  description: >-
    Per volume: C(pending), C(split_brain), C(bricks_down) (names of bricks that could not be asked) and
    C(bricks) (per brick C(name), C(host), C(path), C(status), C(connected), C(total), C(pending),
    C(split_brain), C(possibly_healing); a count is null when unknown).
  returned: always, unless the volumes could not be read
  type: dict
triggered:
  description: Volumes on which a heal was triggered.
  returned: success
  type: list
  elements: str
elapsed_s:
  description: Seconds spent.
  returned: always
  type: int
commands:
  description: Every command the module ran on the target, in order, one line each (secret values masked).
  returned: always
  type: list
  elements: str
  sample: ["gluster --version", "gluster --mode=script --xml --timeout=120 pool list"]
'''
