# -*- coding: utf-8 -*-
# Copyright: Keel developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs a keel.storage module: picks the static binary that holds it, built for the target's system
and architecture, and tells it which module to run. Every module in meta/runtime.yml routes here.

The binary is kept on the target, named by its SHA-256, so a task is one command: it learns the
platform, verifies the cached copy and runs it with the arguments on stdin (docs/binary_cache.md)."""

from __future__ import annotations

import hashlib
import os
import re
import secrets

from ansible import constants as C
from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

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
# uname -s of each system a build can exist for.
SYSTEMS = {'linux': 'Linux'}
# The platforms builds can exist for. The target names its platform (uname, facts): only one of
# these ever becomes part of a path on the controller, whatever the target answers.
PLATFORMS = ('linux_aarch64', 'linux_x86_64')
PLATFORM_FACT = 'keel_platform'

# The binary cache (docs/binary_cache.md): CACHE_DIR under remote_tmp, as the user the module runs as.
CACHE_DIR = 'keel-cache'
CACHE_VAR = 'keel_binary_cache'
# Tells the runtime that the arguments come on stdin (modules/runtime/src/module.rs).
ARGS_ON_STDIN = '--args-stdin'
# Starts the one line the cache command prints about itself, before any output of the module.
MARK = 'KEEL_CACHE'
# Stands in for the temporary directory ansible-core would create: the cache needs none.
NO_TMPDIR = '/nonexistent/keel-cache-needs-no-tmpdir'
# A user name that may follow ~ unquoted.
USER_NAME = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\$?$')
# What remote_tmp may not hold in the cache command: the shell would run it or end the quoting.
NOT_IN_PATH = ('"', '\\', '`', '$(', '\n', '\r')

# The one command of a task, run as the user the module runs as (POSIX sh). It prints one line
# starting with MARK: `run` is followed by the module's output; `miss`, `replaced` (the cached
# copy did not match and is gone), `fallback` and `platform` ran nothing. A file runs only once
# its SHA-256 matches, from a directory of that user's, mode 0700, in a path no one else can
# change (each directory above owned by root or that user, not writable by others unless sticky).
SCRIPT = '''umask 077; set -f
k() {{ echo "{mark} $1 $p $2"; exit 0; }}
p=-; u=$(uname -s -m 2>/dev/null)
case $u in
{arms}
*) k platform "$u";;
esac
command -v sha256sum >/dev/null 2>&1 || k fallback "the target has no sha256sum"
d={dir}
[ -d "$d" ] || mkdir -p -- "$d" 2>/dev/null
r=$(cd -P -- "$d" 2>/dev/null && pwd -P) || k fallback "cannot create $d"
set -- $(ls -ldn -- "$r")
[ -O "$r" ] || k fallback "$r belongs to uid $3"
i=$3
case $1 in drwx------|drwx------.) ;; *) k fallback "$r has mode $1, not drwx------";; esac
set --; a=$r
while [ -n "$a" ]; do a=${{a%/*}}; set -- "$@" "${{a:-/}}"; done
o=$(ls -ldn -- "$@") || k fallback "cannot read the directories above $r"
IFS='
'
for l in $o; do
IFS=' '; set -- $l
[ "$3" = 0 ] || [ "$3" = "$i" ] || k fallback "a directory above $r belongs to uid $3: $l"
case $1 in ?????????[tT]*) ;; ?????w*|????????w*) k fallback "a directory above $r is writable by others: $l";; esac
done
unset IFS
f=$r/$h
{install}
if [ -f "$f" ] && [ ! -h "$f" ]; then
s=$(sha256sum < "$f") && [ "${{s%% *}}" = "$h" ] && {{ echo "{mark} run $p $r"; {env}exec "$f" {marker}; }}
fi
if [ -e "$f" ] || [ -h "$f" ]; then rm -f -- "$f"; k replaced "$r"; fi
k miss "$r"
'''
# On a miss, the binary sent under a temporary name becomes the cached file: by a rename when
# the connection's user wrote it into the cache directory, else copied from ansible-core's
# temporary directory (become).
INSTALL_MOVE = ('n={name}; if [ -f "$r/$n" ]; then chmod 700 "$r/$n" && mv -f -- "$r/$n" "$f" '
                '|| k fallback "cannot install $r/$n"; fi')
INSTALL_COPY = ('n={name}; cp -- {src} "$r/$n" && chmod 700 "$r/$n" && mv -f -- "$r/$n" "$f" '
                '|| {{ rm -f -- "$r/$n"; k fallback "cannot copy the binary into $r"; }}')


class _Fallback(Exception):
    """The cache cannot serve this task; nothing ran. ansible-core's own transfer runs it."""

    def __init__(self, why, platform=None):
        super().__init__(why)
        self.platform = platform


class _Unknown(Exception):
    """The target's `uname -s -m` names no platform of the cache command; nothing ran."""

    def __init__(self, uname):
        super().__init__(uname)
        self.uname = uname


class ActionModule(ActionBase):
    # The binary honours check mode itself (and skips where a module cannot).
    _supports_check_mode = True
    # Ansible's async wrapper is Python; Keel's targets need not have it.
    _supports_async = False

    # While ansible-core's _execute_module runs a module through the cache: what it would have
    # sent, and the cache's settings. None otherwise.
    _keel = None

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
        builds = dict((p, os.path.join(BIN_DIR, '%s_%s' % (binary, p))) for p in PLATFORMS)
        builds = dict((p, path) for p, path in builds.items() if os.path.exists(path))
        module_args = dict(self._task.args)
        module_args['_keel_module'] = module
        known = self._known_platform(task_vars)

        platform, discovered = None, False
        cache_dir, why = self._cache_dir(task_vars)
        if cache_dir is not None and builds:
            try:
                result.update(self._cached_execute(binary, builds, known, cache_dir, module_args, task_vars))
            except _Fallback as e:
                why, platform = str(e), e.platform
            except _Unknown as e:
                platform, error = self._platform_of(e.uname)
                if platform is None:
                    result.update(failed=True, msg=error)
                    return result
                if platform in builds:
                    why = '`uname -s -m` answered %r' % e.uname
            else:
                learned = self._keel_platform
                if learned is not None and learned != known and not self._task.delegate_to:
                    result.setdefault('ansible_facts', {})[PLATFORM_FACT] = learned
                return result
            discovered = platform is not None
        if why:
            display.vvv('%s: the binary cache is not used (%s); ansible-core sends the binary' % (COLLECTION, why),
                        host=self._host(task_vars))

        if platform is None:
            platform = known
        if platform is None:
            platform, error = self._uname()
            if platform is None:
                result.update(failed=True, msg=error)
                return result
            discovered = True
        if platform not in builds:
            available = [p for p in PLATFORMS if p in builds]
            shown = platform if platform.replace('_', '').isalnum() and platform.isascii() else repr(platform)
            result.update(
                failed=True,
                msg='%s.%s has no build for this host\'s platform %s (available: %s). Run it on a supported host, '
                    'or build the collection for this platform.'
                    % (COLLECTION, module, shown, ', '.join(available) or 'none'),
            )
            return result
        result.update(self._execute_module(
            module_name='%s.__bin__.%s_%s' % (COLLECTION, binary, platform), module_args=module_args,
            task_vars=task_vars,
        ))
        # Remember the platform, so later tasks on this host skip the uname round trip.
        if discovered and platform in PLATFORMS and not self._task.delegate_to:
            result.setdefault('ansible_facts', {})[PLATFORM_FACT] = platform
        return result

    def _host(self, task_vars):
        return task_vars.get('inventory_hostname') or self._play_context.remote_addr

    def _known_platform(self, task_vars):
        """The platform the facts name, or None. A delegated task runs elsewhere: facts do not tell."""
        if self._task.delegate_to:
            return None
        # Facts come from the target too: one that is not a known platform is asked again.
        facts = task_vars.get('ansible_facts', {})
        known = facts.get(PLATFORM_FACT)
        if known in PLATFORMS:
            return known
        if facts.get('system') and facts.get('architecture'):
            name = self._name(str(facts['system']), str(facts['architecture']))
            if name in PLATFORMS:
                return name
        return None

    def _uname(self):
        """Returns (platform, None) where platform is like 'linux_x86_64', or (None, error)."""
        # A fixed command, no user input; needs no Python on the target.
        res = self._low_level_execute_command('uname -s -m')
        if res.get('rc') != 0:
            return None, ('%s: cannot tell the target\'s platform: `uname -s -m` answered rc=%s %r %r'
                          % (COLLECTION, res.get('rc'), res.get('stdout', ''), res.get('stderr', '')))
        return self._platform_of(res.get('stdout', ''))

    def _platform_of(self, uname):
        words = uname.split()
        if len(words) != 2:
            return None, ('%s: cannot tell the target\'s platform: `uname -s -m` answered %r' % (COLLECTION, uname))
        return self._name(*words), None

    @staticmethod
    def _name(system, machine):
        return '%s_%s' % (system.lower(), ARCHITECTURES.get(machine.lower(), machine.lower()))

    # The binary cache.

    def _become_applies(self):
        """Whether ansible-core runs commands through the become plugin (its own test)."""
        if not self._connection.become:
            return False
        remote = self._get_remote_user()
        become = self.get_become_option('become_user')
        return bool(C.BECOME_ALLOW_SAME_USER or become != remote or not any((remote, become)))

    def _cache_dir(self, task_vars):
        """The cache directory as a word of the cache command, or (None, why the cache cannot serve)."""
        enabled = task_vars.get(CACHE_VAR, True)
        if isinstance(enabled, str):
            enabled = self._templar.template(enabled)
        if not boolean(enabled, strict=False):
            return None, '%s is false' % CACHE_VAR
        if getattr(self._connection._shell, 'SHELL_FAMILY', None) != 'sh':
            return None, 'the cache command needs a POSIX shell'
        if not getattr(self._connection, 'has_pipelining', False):
            return None, 'connection %s cannot send the arguments on stdin' % self._connection.transport
        become = self._become_applies()
        if become and self._connection.become.expect_prompt() and not self._connection.is_pipelining_enabled():
            # The password prompt takes stdin (a tty) unless the connection pipelines.
            return None, 'become with a password sends the arguments on stdin only with pipelining on'
        remote_tmp = self.get_shell_option('remote_tmp', default='~/.ansible/tmp') or '~/.ansible/tmp'
        if any(c in remote_tmp for c in NOT_IN_PATH):
            return None, 'remote_tmp %r holds characters the cache command does not take' % remote_tmp
        remote_tmp = remote_tmp.rstrip('/') or '/'
        if remote_tmp.startswith('~'):
            # ~ is the home of the user the module runs as, as AnsibleModule reads remote_tmp.
            user, rest = (remote_tmp[1:].split('/', 1) + [''])[:2]
            if not user and become:
                user = self.get_become_option('become_user') or ''
            if user and not USER_NAME.match(user):
                return None, 'user name %r is not one the cache command takes' % user
            return '~%s/"%s"' % (user, os.path.join(rest, CACHE_DIR)), None
        if remote_tmp.startswith('/'):
            return '"%s"' % os.path.join(remote_tmp, CACHE_DIR), None
        return None, 'remote_tmp %r is not an absolute path' % remote_tmp

    def _cached_execute(self, binary, builds, known, cache_dir, module_args, task_vars):
        """Runs the module through the cache (ansible-core's _execute_module builds the arguments
        and reads the result; the methods below keep it from creating, sending and removing files)."""
        hashes = dict((p, _sha256(path)) for p, path in builds.items())
        first = known if known in builds else sorted(builds)[0]
        self._keel_platform = None
        self._keel = dict(builds=builds, hashes=hashes, dir=cache_dir, args=None, module=None,
                          host=self._host(task_vars), binary=binary)
        try:
            return self._execute_module(
                module_name='%s.__bin__.%s_%s' % (COLLECTION, binary, first), module_args=module_args,
                task_vars=task_vars,
            )
        finally:
            self._keel = None
            if self._connection._shell.tmpdir == NO_TMPDIR:
                self._connection._shell.tmpdir = None

    def _make_tmp_path(self, remote_user=None):
        if self._keel is None:
            return super()._make_tmp_path(remote_user)
        self._connection._shell.tmpdir = NO_TMPDIR
        return NO_TMPDIR

    def _update_module_args(self, module_name, module_args, task_vars, *args, **kwargs):
        super()._update_module_args(module_name, module_args, task_vars, *args, **kwargs)
        if self._keel is not None:
            module_args['_ansible_tmpdir'] = None

    def _transfer_file(self, local_path, remote_path):
        if self._keel is None:
            return super()._transfer_file(local_path, remote_path)
        self._keel['module'] = local_path
        return remote_path

    def _transfer_data(self, remote_path, data):
        if self._keel is None:
            return super()._transfer_data(remote_path, data)
        self._keel['args'] = data.encode(errors='surrogateescape') if isinstance(data, str) else data
        return remote_path

    def _fixup_perms2(self, remote_paths, remote_user=None, execute=True):
        if self._keel is None:
            return super()._fixup_perms2(remote_paths, remote_user=remote_user, execute=execute)
        return remote_paths

    def _low_level_execute_command(self, cmd, sudoable=True, in_data=None, *args, **kwargs):
        keel = self._keel
        if keel is None:
            return super()._low_level_execute_command(cmd, sudoable, in_data, *args, **kwargs)
        # The module's command: this is where the cache runs it. Commands of its own go straight through.
        self._keel = None
        if keel['args'] is None or keel['module'] not in keel['builds'].values():
            raise _Fallback('ansible-core sent the module in a way the cache does not know')
        return self._cache_run(keel, sudoable)

    def _cache_run(self, keel, sudoable):
        res, head = self._cache_command(keel, sudoable, '')
        status, platform, rest = head
        if status in ('miss', 'replaced'):
            say = ('not cached' if status == 'miss'
                   else 'the cached copy did not match its SHA-256 and was removed without running')
            display.vvv('%s: %s_%s %s on the target: sending it to %s'
                        % (COLLECTION, keel['binary'], platform, say, rest), host=keel['host'])
            res, head = self._cache_send(keel, sudoable, platform, rest)
            status, platform, rest = head
            if status not in ('run', 'lost'):
                raise _Fallback('after sending the binary the cache command answered %s %s' % (status, rest), platform)
        elif status == 'run':
            display.vvv('%s: %s_%s cached in %s, SHA-256 verified: one command'
                        % (COLLECTION, keel['binary'], platform, rest), host=keel['host'])
        return res

    def _cache_send(self, keel, sudoable, platform, where):
        """Sends the build for `platform` under a temporary name, then runs the command that
        renames it into the cache, verifies it and runs it."""
        local, digest = keel['builds'][platform], keel['hashes'][platform]
        name = '.%s.%s.tmp' % (digest, secrets.token_hex(8))
        if not self._become_applies():
            # The connection's user is the module's: straight into the cache directory.
            self._connection.put_file(local, '%s/%s' % (where, name))
            return self._cache_command(keel, sudoable, INSTALL_MOVE.format(name=name))
        # Through ansible-core's temporary directory, readable by the become user.
        tmpdir = self._make_tmp_path()
        remote = self._connection._shell.join_path(tmpdir, 'keel-%s' % digest)
        try:
            self._connection.put_file(local, remote)
            self._fixup_perms2([tmpdir, remote], remote_user=self._get_remote_user(), execute=False)
            quoted = self._connection._shell.quote(remote)
            return self._cache_command(keel, sudoable, INSTALL_COPY.format(name=name, src=quoted))
        finally:
            self._remove_tmp_path(tmpdir)

    def _cache_command(self, keel, sudoable, install):
        """Runs the cache command with the arguments on stdin; returns (result, (status, platform, rest))."""
        env = self._compute_environment_string()
        script = SCRIPT.format(arms=self._arms(keel['hashes']), dir=keel['dir'], install=install,
                               env=env + ' ' if env else '', mark=MARK, marker=ARGS_ON_STDIN)
        res = super()._low_level_execute_command(script, sudoable=sudoable, in_data=keel['args'])
        lines = res.get('stdout', '').splitlines(True)
        for n, line in enumerate(lines):
            if not line.startswith(MARK + ' '):
                continue
            words = line.rstrip('\r\n').split(' ', 3) + ['']
            status, platform, rest = words[1], words[2], words[3]
            if status == 'platform':
                raise _Unknown(rest)
            if platform not in keel['builds']:
                raise _Fallback('the cache command answered %r' % line.strip())
            self._keel_platform = platform
            if status == 'fallback':
                raise _Fallback(rest, platform)
            if status == 'run':
                out = ''.join(lines[:n] + lines[n + 1:])
                if res.get('rc') == 126 and not out.strip():
                    # The shell could not execute the file (a noexec mount): the module never started.
                    why = 'the cached binary cannot be executed: %s' % res.get('stderr', '').strip()
                    raise _Fallback(why, platform)
                res = dict(res, stdout=out, stdout_lines=out.splitlines())
            return res, (status, platform, rest)
        if res.get('rc') in (0, 255):
            # The output may be cut short (a lost connection): the module may have started, so it
            # must not run again; ansible-core reports what came back.
            return res, ('lost', None, '')
        # The shell never reached its first line (become failed, sudo wants a tty): nothing ran.
        raise _Fallback('the cache command did not start: rc=%s %s' % (res.get('rc'), res.get('stderr', '').strip()))

    @staticmethod
    def _arms(hashes):
        """The cache command's case arms: each build's `uname -s -m` answers, its platform and SHA-256."""
        arms = []
        for platform, digest in sorted(hashes.items()):
            system, arch = platform.split('_', 1)
            answers = ["'%s %s'" % (SYSTEMS[system], m) for m, a in sorted(ARCHITECTURES.items()) if a == arch]
            arms.append('%s) p=%s h=%s;;' % ('|'.join(answers), platform, digest))
        return '\n'.join(arms)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()
