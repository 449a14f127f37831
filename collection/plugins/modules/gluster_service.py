# -*- coding: utf-8 -*-
# Copyright: Keel developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the static binary plugins/modules/__bin__/keel_*, run by the
# keel.storage.native_module action plugin.

from __future__ import annotations

DOCUMENTATION = r'''
---
module: gluster_service
short_description: Stop or start a GlusterFS server's services for an upgrade, and restore exactly what ran
version_added: 0.1.0
description:
  - O(state=stopped) stops, on this server, the gfapi consumers named in O(consumers) (NFS-Ganesha,
    Samba, qemu, ...), then C(glusterd), C(glustereventsd), the brick processes (C(glusterfsd)), the
    self-heal daemon and FUSE clients (C(glusterfs)) and geo-replication workers (C(gsyncd)), as the
    Gluster upgrade guides require before the packages are replaced. On a client it stops the consumers
    and unmounts the Gluster FUSE mounts (O(unmount=true)).
  - Where systemd runs, the units C(glusterd), C(glustereventsd) and the consumers are stopped with
    C(systemctl); processes left over (bricks are not part of C(glusterd.service)), or every process
    where there is no systemd, get SIGTERM, then SIGKILL after O(timeout). No other process is touched.
  - Before stopping anything it records what was running (units, or the command lines of C(glusterd),
    C(glustereventsd) and the consumers, and the Gluster FUSE mounts) in O(record).
  - O(state=started) starts exactly that recorded set (or O(services) when given, or C(glusterd) and
    O(consumers) when there is no record). First C(glusterd), waiting until it answers, then the recorded
    Gluster FUSE mounts that are gone, then the consumers; then it removes the record.
  - O(state=restarted) restarts only O(services) (default C(glusterd)); bricks and clients keep running.
    The Gluster 11 upgrade guide's remedy for a peer left C(Peer Rejected) after an upgrade. Always reports
    a change.
  - Idempotent (but for O(state=restarted)); a second O(state=stopped) keeps what the first one recorded.
options:
  state:
    description: Whether the Gluster services of this server should be stopped, started, or restarted.
    type: str
    choices: [stopped, started, restarted]
    required: true
  consumers:
    description:
      - gfapi consumers on this server to stop first and start last. systemd unit names where systemd
        runs (C(nfs-ganesha), C(smb)), process names otherwise.
    type: list
    elements: str
    default: []
  services:
    description:
      - With O(state=started), start exactly these (systemd units, or programs where there is no systemd)
        instead of the recorded set. With O(state=restarted), restart these (default C(glusterd)).
    type: list
    elements: str
  timeout:
    description:
      - Grace after SIGTERM before SIGKILL, and the time C(glusterd) has to answer after a start; seconds
        or with a unit (C(90s), C(5m)).
    type: str
    default: "120"
  unmount:
    description:
      - With O(state=stopped), unmount this host's Gluster FUSE mounts after stopping the consumers and
        before stopping Gluster (a client upgrade); fails, naming the mount, when one is in use.
        Without it the mounts' client processes are stopped like every Gluster process.
      - Either way O(state=started) mounts them again with the options their client process had
        (backup volfile servers, C(ro), C(acl)).
    type: bool
    default: false
  resync_volumes:
    description:
      - With O(state=restarted), restart C(glusterd) without its copy of the volume definitions, so that it
        imports them from its peers. This is the Gluster procedure for a server that rejects its peers because its
        copy differs from theirs (after a 10 to 11 upgrade, the same options are written in another order).
        The previous copy is kept as C(/var/lib/glusterd/vols.keel-TIMESTAMP); when the import does not bring
        every volume back within O(timeout), it is put back and the module fails. This server's bricks and
        self-heal daemons are stopped and started afresh from the imported definitions (FUSE clients are
        left alone).
    type: bool
    default: false
  use:
    description:
      - How services are stopped and started. V(auto) uses systemd when it is the init system (PID 1),
        signals otherwise. V(systemd) always uses C(systemctl) (a host where systemd manages Gluster but
        is not detected). V(signals) never uses systemd; on a systemd host, units set to restart on failure
        may start again behind the module's back.
    type: str
    choices: [auto, systemd, signals]
    default: auto
  record:
    description: Where the stopped set is recorded between O(state=stopped) and O(state=started).
    type: str
    default: /var/lib/keel/gluster_service.json
attributes:
  check_mode:
    support: full
    description: Reports what it would stop or start; changes nothing.
  diff_mode:
    support: full
    description: Shows the processes and units stopped, or the services started.
  platform:
    support: full
    platforms: posix
    description: Linux x86_64 Gluster servers, with or without systemd; no Python needed.
author:
  - Keel developers (@keel)
'''

EXAMPLES = r'''
- name: Stop Gluster and NFS-Ganesha on this server
  keel.storage.gluster_service:
    state: stopped
    consumers: [nfs-ganesha]
  register: stopped

- name: Start again exactly what was stopped, and wait for glusterd
  keel.storage.gluster_service:
    state: started

- name: On a client, stop the application using the mount, then unmount
  keel.storage.gluster_service:
    state: stopped
    consumers: [myapp]
    unmount: true

- name: Restart glusterd alone, the remedy for a peer left rejected after an upgrade
  keel.storage.gluster_service:
    state: restarted

- name: Start only glusterd
  keel.storage.gluster_service:
    state: started
    services: [glusterd]
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
systemd:
  description: Whether systemd runs this host (units were used) or processes were signalled.
  returned: always
  type: bool
running_before:
  description: The Gluster and consumer processes found running (O(state=stopped)).
  returned: when state is stopped
  type: list
  elements: dict
  sample: [{pid: 412, name: glusterd, cmdline: [/usr/sbin/glusterd, -p, /run/glusterd.pid]}]
stopped:
  description: Names of the processes stopped, in the order they were signalled.
  returned: when state is stopped
  type: list
  elements: str
  sample: [glusterd, glusterfsd, glusterfs]
killed:
  description: Processes that did not exit within O(timeout) of SIGTERM and got SIGKILL.
  returned: when state is stopped and something was stopped
  type: list
  elements: str
recorded:
  description: What O(state=started) will bring back (null when nothing is recorded).
  returned: when state is stopped
  type: dict
started:
  description: Units or programs started.
  returned: when state is started
  type: list
  elements: str
  sample: [glusterd]
remounted:
  description: Gluster FUSE mounts mounted again.
  returned: when state is started and something was started
  type: list
  elements: str
kept:
  description: Where the previous volume definitions were kept (O(resync_volumes=true)).
  returned: when resync_volumes is true and it succeeded
  type: str
  sample: /var/lib/glusterd/vols.keel-1795652400
restarted:
  description: The services restarted.
  returned: when state is restarted
  type: list
  elements: str
  sample: [glusterd]
record:
  description: The path of the record.
  returned: when state is stopped or started
  type: str
'''
