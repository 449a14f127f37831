# -*- coding: utf-8 -*-
# Copyright: Keel developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# What every keel.storage WEKA module documents alike: credentials, the command timeout, platform.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r'''
options:
  token_file:
    description:
      - Path on the target of a login token written by C(weka user login) (for example
        C(/root/.weka/auth-token.json)), passed to weka as E(WEKA_TOKEN).
      - Modules run as root under become, where C($HOME) may not be the operator's; pass the path explicitly.
    type: str
  username:
    description:
      - A WEKA user, passed to weka as E(WEKA_USERNAME) (never on its command line). Needs O(password).
      - Without O(username) and O(token_file), weka uses C(~/.weka/auth-token.json), else tries admin/admin.
    type: str
  password:
    description:
      - The password of O(username), passed as E(WEKA_PASSWORD); masked in everything the module returns.
    type: str
  org:
    description: The WEKA organization, passed as E(WEKA_ORG).
    type: str
  timeout:
    description:
      - Time each read-only weka command may take, in seconds or with a unit (C(90s), C(5m)).
    type: str
    default: "120"
attributes:
  platform:
    support: full
    platforms: posix
    description: Linux x86_64 WEKA backends and clients with the weka CLI; no Python needed.
requirements:
  - WEKA 3.10 or later (the C(weka) CLI and its local agent) on the target.
'''

    # Read-only modules: facts, plans and checks.
    READ_ONLY = r'''
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so has no diff.
'''
