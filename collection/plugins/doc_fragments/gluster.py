# -*- coding: utf-8 -*-
# Copyright: Keel developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# What every keel.storage Gluster module documents alike.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r'''
options:
  timeout:
    description:
      - Time each gluster command may take, in seconds or with a unit (C(90s), C(5m)).
    type: str
    default: "120"
attributes:
  platform:
    support: full
    platforms: posix
    description: Linux x86_64 Gluster servers with the gluster CLI and a running glusterd; no Python needed.
requirements:
  - GlusterFS 3.13 or later (the C(gluster) CLI) and a running C(glusterd) on the target.
'''

    # Read-only modules: facts and checks.
    READ_ONLY = r'''
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so has no diff.
'''
