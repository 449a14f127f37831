# -*- coding: utf-8 -*-
# Copyright: Keel developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the static binary plugins/modules/__bin__/keel_*, run by the
# keel.storage.native_module action plugin.

from __future__ import annotations

DOCUMENTATION = r'''
---
module: weka_verify
short_description: Wait until every WEKA backend (and client) runs the expected release and the cluster is healthy
version_added: 0.1.0
description:
  - Polls until the cluster runs O(version) (in C(weka status -J) and in the header of C(weka status), the upgrade
    guide's check), every backend host (and with O(include_clients) every client) is UP on it, IO is C(STARTED),
    the status is C(OK) and no data upgrade runs. Fails after O(wait_timeout) naming what is still missing.
  - Read-only.
options:
  version:
    description: The release every host must run. Without it, only health is checked.
    type: str
  include_clients:
    description: Also require every client to run O(version) and be UP.
    type: bool
    default: false
  wait_timeout:
    description: How long to wait, in seconds or with a unit (C(10m)).
    type: str
    default: "600"
  poll_interval:
    description: Time between two looks, in seconds or with a unit.
    type: str
    default: "10"
extends_documentation_fragment:
  - keel.storage.weka
  - keel.storage.weka.read_only
author:
  - Keel developers (@keel)
'''

EXAMPLES = r'''
- name: Every backend and client on 4.0.2
  keel.storage.weka_verify:
    version: "4.0.2"
    include_clients: true
    wait_timeout: 15m
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
release:
  description: The release the cluster runs, as C(text), C(parts), C(suffix), C(major), C(minor) and C(line).
  returned: success
  type: dict
backends:
  description: Every backend host (C(hostname), C(version), C(up), C(containers), ...).
  returned: success
  type: list
  elements: dict
clients:
  description: Every client host.
  returned: success
  type: list
  elements: dict
waited_s:
  description: Seconds waited.
  returned: success
  type: int
'''
