# -*- coding: utf-8 -*-
# Copyright: Keel developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the static binary plugins/modules/__bin__/keel_*, run by the
# keel.storage.native_module action plugin.

from __future__ import annotations

DOCUMENTATION = r'''
---
module: gluster_verify
short_description: Wait until a GlusterFS server runs the expected release and its pool is whole
version_added: 0.1.0
description:
  - Polls until this server runs O(version), glusterd answers, every peer is connected and
    C(Peer in Cluster), and every brick and self-heal daemon of every started volume is online.
  - "Does not wait on a state that waiting cannot clear: a peer C(Peer Rejected) (at once), a connected peer
    held in C(Accepted peer request) or C(Sent and Received peer request) beyond O(settle), or any other
    problem unchanged for O(stuck_after). Such a pool is I(stuck): with O(offer_remedy) the module returns
    at once, not failed, with RV(whole=false) and RV(remedy) naming the next remedy of its ladder that is
    not in O(remedies_applied); without it, or once the ladder is exhausted, it fails with instructions."
  - "The ladder: a rejected peer gets C(restart) (glusterd alone, which redoes the handshake), then
    C(resync) (the volume definitions fetched from the peers again); any other stuck state gets C(restart).
    The caller applies the remedy (M(keel.storage.gluster_service)) and calls this module again with it
    added to O(remedies_applied)."
  - "Fails at once when a Gluster process still runs a binary an install replaced (it needs a restart);
    fails after O(timeout) naming what is still missing."
  - Read-only; run it on a server after starting it again, before moving to the next one.
options:
  version:
    description: The Gluster release this server must run, such as C(11.1). Without it, any release passes.
    type: str
  timeout:
    description: How long to wait, in seconds or with a unit (C(5m)).
    type: str
    default: "300"
  poll_interval:
    description: Time between two looks, in seconds or with a unit.
    type: str
    default: "5"
  settle:
    description:
      - Seconds after this server's C(glusterd) started during which a whole pool is confirmed before the
        module reports it whole. Right after C(glusterd) starts, peers show their stored state until the
        handshake completes, and the handshake (which may reject a peer) follows its connection within a
        moment; so while C(glusterd) is younger than this, two looks at least 3 seconds apart (in a playbook's
        until loop, two consecutive looks) must both see the pool whole. A C(glusterd) that has run longer has
        had its handshakes, so a pool nothing restarted is not watched at all.
      - Also how long a connected peer may stay in C(Accepted peer request) before the pool is stuck.
    type: str
    default: "0"
  stuck_after:
    description:
      - How long a problem may stay unchanged (the same peer disconnected, the same brick offline) before
        the pool counts as stuck, in seconds or with a unit.
    type: str
    default: "120"
  offer_remedy:
    description:
      - When the pool is stuck and a remedy of the ladder is left, return it in RV(remedy) instead of failing.
    type: bool
    default: false
  remedies_applied:
    description: Remedies already applied to this server in this run (C(restart), C(resync)), so the next call offers the next one.
    type: list
    elements: str
    default: []
  wait_id:
    description:
      - Spread the wait over several calls so that a playbook's C(until) loop shows a line per call.
        Each call looks once and returns, with RV(whole=false) and RV(waiting) while the pool is not whole,
        and keeps the wait (its start, how long each problem has lasted) in O(wait_record) for the next
        call with the same O(wait_id). Use a new id for every wait. O(timeout) and O(stuck_after) count from
        the wait's first call.
    type: str
  wait_record:
    description: Where a wait with O(wait_id) is kept between calls (mode 0600; removed when the wait ends).
    type: str
    default: /run/keel/gluster_verify.json
  other_release_peers:
    description:
      - Names or addresses of servers that run another release than this one, in the middle of a rolling
        upgrade. A C(Peer Rejected) between this server and one of them is expected (Gluster 10 and 11 write
        a volume's info file in a different order, so the checksums differ) and only warned about, and their
        bricks and self-heal daemons, which a rejected peer's status omits, are not waited for. Any other
        rejection still fails at once.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - keel.storage.gluster.read_only
attributes:
  platform:
    support: full
    platforms: posix
    description: Linux x86_64 Gluster servers; no Python needed.
requirements:
  - GlusterFS 3.13 or later on the target.
author:
  - Keel developers (@keel)
'''

EXAMPLES = r'''
- name: Wait until the upgraded server is back and the pool is whole
  keel.storage.gluster_verify:
    version: "11.1"
    timeout: 10m

- name: The same wait with a line per look
  keel.storage.gluster_verify:
    version: "11.1"
    timeout: 10m
    wait_id: "after-install-{{ inventory_hostname }}"
  register: pool
  until: pool.whole or pool.remedy or pool is failed
  retries: 120
  delay: 5
'''

RETURN = r'''
duration_s:
  description: How long the module ran, in seconds (ansible-core records no timing for binary modules).
  returned: always
  type: float
  sample: 2.4
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
commands:
  description: Every command the module ran on the target, in order, one line each (secret values masked).
  returned: always
  type: list
  elements: str
  sample: ["gluster --version", "gluster --mode=script --xml --timeout=120 pool list"]
'''
