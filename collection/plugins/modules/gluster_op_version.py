# -*- coding: utf-8 -*-
# Copyright: Keel developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the static binary plugins/modules/__bin__/keel_*, run by the
# keel.storage.native_module action plugin.

from __future__ import annotations

DOCUMENTATION = r'''
---
module: gluster_op_version
short_description: Raise a GlusterFS pool's cluster.op-version after every server is upgraded
version_added: 0.1.0
description:
  - The last step of a Gluster upgrade, once every server runs the new release. Reads
    C(cluster.op-version) and C(cluster.max-op-version) and raises the op-version to O(target) when that
    is greater; never lowers it (Gluster cannot), and reports C(changed=false) when there is nothing to do.
  - Refuses while any peer is disconnected or not C(Peer in Cluster), because C(max-op-version) then
    counts only the connected servers and can exceed what the others run.
  - Run it once, on one server (C(run_once)).
options:
  target:
    description:
      - C(max) for the highest op-version every server supports, or a number such as C(110000)
        (release X.Y.Z is X*10000+Y*100+Z). A number above C(max-op-version) fails.
    type: str
    default: max
extends_documentation_fragment:
  - keel.storage.gluster
attributes:
  check_mode:
    support: full
    description: Reports the change it would make, changes nothing.
  diff_mode:
    support: full
    description: Shows the op-version before and after.
author:
  - Keel developers (@keel)
'''

EXAMPLES = r'''
- name: Raise the op-version once every server runs 11.1
  keel.storage.gluster_op_version:
    target: max
  run_once: true

- name: Raise to a given op-version
  keel.storage.gluster_op_version:
    target: "110000"
  run_once: true
'''

RETURN = r'''
duration_s:
  description: How long the module ran, in seconds (ansible-core records no timing for binary modules).
  returned: always
  type: float
  sample: 2.4
op_version_before:
  description: The cluster op-version before the module ran.
  returned: success
  type: int
  sample: 100000
op_version:
  description: The cluster op-version now (unchanged in check mode).
  returned: success
  type: int
  sample: 110000
max_op_version:
  description: The highest op-version every server supports.
  returned: success
  type: int
  sample: 110000
commands:
  description: Every command the module ran on the target, in order, one line each (secret values masked).
  returned: always
  type: list
  elements: str
  sample: ["gluster --version", "gluster --mode=script --xml --timeout=120 pool list"]
'''
