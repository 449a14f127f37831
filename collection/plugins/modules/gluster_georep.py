# -*- coding: utf-8 -*-
# Copyright: Keel developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the static binary plugins/modules/__bin__/keel_*, run by the
# keel.storage.native_module action plugin.

from __future__ import annotations

DOCUMENTATION = r'''
---
module: gluster_georep
short_description: List GlusterFS geo-replication sessions, stop them for an upgrade and start them again
version_added: 0.1.0
description:
  - Reads C(gluster volume geo-replication status) (the pre-10.0 master/slave and the 10.0 and later
    primary/secondary output alike) and returns every session whose primary volume is on this pool, with
    the state of each brick's worker.
  - O(state=stopped) stops every running session (started, faulty or paused) and records them in O(record);
    O(state=started) starts exactly the recorded sessions again and removes the record. A session that was
    paused is paused again right after its start. The Gluster upgrade guides stop geo-replication before an
    upgrade and start it after, and upgrade secondary pools before their primaries.
  - Run it once per pool (C(run_once)); a session is stopped or started for every server at once.
options:
  state:
    description: C(list) only reads; C(stopped) and C(started) act on the sessions.
    type: str
    choices: [list, stopped, started]
    default: list
  record:
    description: Where the stopped sessions are recorded between O(state=stopped) and O(state=started).
    type: str
    default: /var/lib/keel/gluster_georep.json
extends_documentation_fragment:
  - keel.storage.gluster
attributes:
  check_mode:
    support: full
    description: Reports the sessions it would stop or start; changes nothing.
  diff_mode:
    support: full
    description: Shows each session stopped or started, with its state before and after.
author:
  - Keel developers (@keel)
'''

EXAMPLES = r'''
- name: List the geo-replication sessions of this pool
  keel.storage.gluster_georep:
  register: georep

- name: Stop geo-replication before upgrading the pool
  keel.storage.gluster_georep:
    state: stopped
  run_once: true

- name: Start again the sessions stopped for the upgrade
  keel.storage.gluster_georep:
    state: started
  run_once: true
'''

RETURN = r'''
duration_s:
  description: How long the module ran, in seconds (ansible-core records no timing for binary modules).
  returned: always
  type: float
  sample: 0.4
commands:
  description: Every command the module ran on the target, in order, one line each (secret values masked).
  returned: always
  type: list
  elements: str
sessions:
  description:
    - Each session with its primary volume, C(secondary) (C([user@]host::volume)), C(secondary_user) and
      C(pairs), one per primary brick (C(primary_node), C(primary_brick), C(secondary_node), C(status) such
      as Active, Passive, Stopped, Faulty, and C(crawl_status)).
  returned: success
  type: list
  elements: dict
role:
  description: C(primary) when sessions start from this pool, C(none) otherwise (a secondary pool shows none).
  returned: success
  type: str
  sample: primary
stopped:
  description: The sessions stopped (or that would be).
  returned: when state is stopped and a session ran
  type: list
  elements: str
  sample: ["gv0 -> root@site-b::gv0-dr"]
started:
  description: The sessions started (or that would be); a paused one is named with C((paused again, as it was)).
  returned: when state is started and a recorded session was stopped
  type: list
  elements: str
'''
