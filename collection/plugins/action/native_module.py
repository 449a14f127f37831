# -*- coding: utf-8 -*-
# Copyright: Keel developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs a keel.storage module: picks the static binary that holds it, built for the target's system
and architecture, and tells it which module to run. Every module in meta/runtime.yml routes here."""

from __future__ import annotations

import os

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase

COLLECTION = 'keel.storage'
# Which multi-call binary holds each module (a family per binary keeps each under its size budget).
# `cargo xtask collection` checks this table against what every built binary says it holds.
BINARY_OF = {
    'gluster_facts': 'keel_gluster_cluster',
    'gluster_precheck': 'keel_gluster_cluster',
    'gluster_op_version': 'keel_gluster_cluster',
    'gluster_heal': 'keel_gluster_heal',
    'gluster_verify': 'keel_gluster_cluster',
    'gluster_georep': 'keel_gluster_georep',
    'gluster_service': 'keel_gluster_services',
    'gluster_install': 'keel_gluster_packages',
    'weka_facts': 'keel_weka_cluster',
    'weka_upgrade_path': 'keel_weka_cluster',
    'weka_precheck': 'keel_weka_cluster',
    'weka_verify': 'keel_weka_cluster',
    'weka_version': 'keel_weka_node',
    'weka_upgrade': 'keel_weka_node',
    'weka_client_upgrade': 'keel_weka_node',
}
BIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'modules', '__bin__')
# uname -m spellings to the names the builds carry.
ARCHITECTURES = {'x86_64': 'x86_64', 'amd64': 'x86_64', 'aarch64': 'aarch64', 'arm64': 'aarch64'}
# The platforms builds can exist for. The target names its platform (uname, facts): only one of
# these ever becomes part of a path on the controller, whatever the target answers.
PLATFORMS = ('linux_aarch64', 'linux_x86_64')
PLATFORM_FACT = 'keel_platform'


class ActionModule(ActionBase):
    # The binary honours check mode itself (and skips where a module cannot).
    _supports_check_mode = True
    # Ansible's async wrapper is Python; Keel's targets need not have it.
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        try:
            return self._run(tmp, task_vars)
        except AnsibleConnectionFailure as e:
            # Ansible runs no rescue for an unreachable host, so an upgrade would stop with no
            # record of where. A failure lets the playbook's rescue record the server and the
            # step, try to restore what it stopped, and stop the run.
            return dict(
                failed=True,
                keel_unreachable=True,
                msg='%s became unreachable during "%s": %s. The step may have run in part. Check that the server '
                    'is up and answers ssh, then look at its Gluster services (systemctl status glusterd, '
                    'gluster peer status) before running the playbook again.'
                    % (task_vars.get('inventory_hostname', 'the host'), self._task.get_name(), str(e).strip()),
            )

    def _run(self, tmp, task_vars):
        result = super().run(tmp, task_vars)
        module = self._task.action.rsplit('.', 1)[-1]
        binary = BINARY_OF.get(module)
        if binary is None:
            result.update(failed=True, msg='%s: no module named %s; modules: %s'
                          % (COLLECTION, module, ', '.join(sorted(BINARY_OF))))
            return result

        platform, discovered = self._platform(task_vars)
        if platform is None:
            result.update(failed=True, msg=discovered)
            return result
        build = '%s_%s' % (binary, platform)
        if platform not in PLATFORMS or not os.path.exists(os.path.join(BIN_DIR, build)):
            available = [p for p in PLATFORMS if os.path.exists(os.path.join(BIN_DIR, '%s_%s' % (binary, p)))]
            shown = platform if platform.replace('_', '').isalnum() and platform.isascii() else repr(platform)
            result.update(
                failed=True,
                msg='%s.%s has no build for this host\'s platform %s (available: %s). Run it on a supported host, '
                    'or build the collection for this platform.' % (COLLECTION, module, shown, ', '.join(available) or 'none'),
            )
            return result

        module_args = dict(self._task.args)
        module_args['_keel_module'] = module
        result.update(self._execute_module(
            module_name='%s.__bin__.%s' % (COLLECTION, build), module_args=module_args, task_vars=task_vars,
        ))
        # Remember the platform, so later tasks on this host skip the uname round trip.
        if discovered and not self._task.delegate_to:
            result.setdefault('ansible_facts', {})[PLATFORM_FACT] = platform
        return result

    def _platform(self, task_vars):
        """Returns (platform, discovered) where platform is like 'linux_x86_64', or (None, error)."""
        if not self._task.delegate_to:
            # Facts come from the target too: one that is not a known platform is asked again.
            known = task_vars.get('ansible_facts', {}).get(PLATFORM_FACT)
            if known in PLATFORMS:
                return known, False
            facts = task_vars.get('ansible_facts', {})
            if facts.get('system') and facts.get('architecture'):
                name = self._name(str(facts['system']), str(facts['architecture']))
                if name in PLATFORMS:
                    return name, False
        # A fixed command, no user input; needs no Python on the target.
        res = self._low_level_execute_command('uname -s -m')
        words = res.get('stdout', '').split()
        if res.get('rc') != 0 or len(words) != 2:
            return None, ('%s: cannot tell the target\'s platform: `uname -s -m` answered rc=%s %r %r'
                          % (COLLECTION, res.get('rc'), res.get('stdout', ''), res.get('stderr', '')))
        return self._name(*words), True

    @staticmethod
    def _name(system, machine):
        return '%s_%s' % (system.lower(), ARCHITECTURES.get(machine.lower(), machine.lower()))
