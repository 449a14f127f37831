//! The spec of `keel.storage.gluster_service`: its options with their defaults, its documentation, examples
//! and return values. The collection's plugins/modules/gluster_service.py is generated from it
//! (`cargo xtask collection`).

use keel_runtime::{Attribute, Kind, ModuleDef, Opt};

pub const MODULE: ModuleDef = ModuleDef {
    name: "gluster_service",
    options: &[
        Opt::new("state", Kind::Str)
            .required()
            .choices(&["stopped", "started", "restarted"])
            .doc(&["Whether the Gluster services of this server should be stopped, started, or restarted."]),
        Opt::new("consumers", Kind::List).default_list(&[]).doc(&[
            "gfapi consumers on this server to stop first and start last. systemd unit names where systemd \
                    runs (C(nfs-ganesha), C(smb)), process names otherwise.",
        ]),
        Opt::new("services", Kind::List).doc(&[
            "With O(state=started), start exactly these (systemd units, or programs where there is no \
                    systemd) instead of the recorded set. With O(state=restarted), restart these (default \
                    C(glusterd)).",
        ]),
        Opt::new("service_timeout", Kind::Duration)
            .aliases(&["timeout"]).default_str("120").doc(&[
            "Grace after SIGTERM before SIGKILL, and the time C(glusterd) has to answer after a start; \
                    seconds or with a unit (C(90s), C(5m)).",
        ]),
        Opt::new("unmount", Kind::Bool).default_bool(false).doc(&[
            "With O(state=stopped), unmount this host's Gluster FUSE mounts after stopping the consumers \
                    and before stopping Gluster (a client upgrade); fails, naming the mount, when one is in use. \
                    Without it the mounts' client processes are stopped like every Gluster process.",
            "Either way O(state=started) mounts them again with the options their client process had \
                    (backup volfile servers, C(ro), C(acl)).",
        ]),
        Opt::new("resync_volumes", Kind::Bool).default_bool(false).doc(&[
            "With O(state=restarted), restart C(glusterd) without its copy of the volume definitions, so \
                    that it imports them from its peers. This is the Gluster procedure for a server that rejects \
                    its peers because its copy differs from theirs (after a 10 to 11 upgrade, the same options are \
                    written in another order). This server's bricks and self-heal daemons are stopped and started \
                    afresh from the imported definitions (FUSE clients are left alone).",
            "The previous copy is kept as C(/var/lib/glusterd/vols.keel-TIMESTAMP). When the import does \
                    not bring every volume back within O(service_timeout), or any step after the copy was moved fails, the \
                    copy is put back, C(glusterd) is started again and the module fails with RV(restored=true). \
                    Where the copy cannot be put back (C(glusterd) will not stop, a file system error), the \
                    failure gives RV(kept) and the commands that put it back by hand, and leaves the record below \
                    so that the next run puts it back itself.",
            "Before anything is stopped or moved, the resync in progress is recorded in \
                    C(/var/lib/glusterd/keel-resync.json) (written whole and flushed to disk). The next \
                    O(state=restarted) run (with or without O(resync_volumes)) settles a resync that was \
                    interrupted (module killed, server rebooted) before anything else, see RV(recovered). When \
                    every volume of the kept copy has its definition (C(info)) again, the resync is complete and \
                    the record goes; with O(resync_volumes=true) nothing more is done. Otherwise the import is \
                    partial and the copy is put back (a restore that was under way is always finished), after \
                    which a resync starts afresh. When neither the copy nor the definitions exist the module \
                    fails, naming the other saved copies, and keeps the record.",
            "Retention, after a resync succeeds, keeps the newest 3 copies (C(vols.keel-) followed by \
                    digits only; the one just made counts) and removes the older ones, listed in RV(removed). It \
                    never removes the copy a resync in progress points to, nor other folders. In check mode it \
                    names the copies it would remove and what it would do with a resync in progress, and changes \
                    nothing; in diff mode it shows the saved copies before and after.",
        ]),
        Opt::new("use", Kind::Str)
            .default_str("auto")
            .choices(&["auto", "systemd", "signals"])
            .doc(&[
                "How services are stopped and started. V(auto) uses systemd when it is the init system (PID 1), \
                    signals otherwise. V(systemd) always uses C(systemctl) (a host where systemd manages Gluster \
                    but is not detected). V(signals) never uses systemd; on a systemd host, units set to restart \
                    on failure may start again behind the module's back.",
            ]),
        Opt::new("record", Kind::Str)
            .default_str("/var/lib/keel/gluster_service.json")
            .doc(&["Where the stopped set is recorded between O(state=stopped) and O(state=started)."]),
    ],
    fragments: &[],
    supports_check_mode: true,
    run: super::run,
    short_description: "Stop or start a GlusterFS server's services for an upgrade, and restore exactly what ran",
    description: &[
        "O(state=stopped) stops, on this server, the gfapi consumers named in O(consumers) (NFS-Ganesha, Samba, \
            qemu, ...), then C(glusterd), C(glustereventsd), the brick processes (C(glusterfsd)), the self-heal \
            daemon and FUSE clients (C(glusterfs)) and geo-replication workers (C(gsyncd)), as the Gluster upgrade \
            guides require before the packages are replaced. On a client it stops the consumers and unmounts the \
            Gluster FUSE mounts (O(unmount=true)).",
        "Where systemd runs, the units C(glusterd), C(glustereventsd) and the consumers are stopped with \
            C(systemctl); processes left over (bricks are not part of C(glusterd.service)), or every process where \
            there is no systemd, get SIGTERM, then SIGKILL after O(service_timeout). No other process is touched.",
        "A process counts only when root runs the expected executable (C(/proc/PID/exe)) - for C(glusterd), \
            C(glusterfsd) and C(glusterfs) the C(glusterfsd) the packages install in C(/usr/sbin) (or C(/sbin), \
            C(/usr/local/sbin)); for others an executable of that name, or an interpreter (a shell, Python, Perl, \
            Ruby) running a script of that name. A process of another user, or another program given the name, is \
            left alone with a warning, never signalled, recorded, started again or a source of mount options.",
        "Before stopping anything it records what was running (units, or the command lines and executables of \
            C(glusterd), C(glustereventsd) and the consumers, and the Gluster FUSE mounts) in O(record), a file of \
            mode 0600 in a folder of mode 0700. A recorded program is started again only while its command still \
            resolves to the recorded executable.",
        "O(state=started) starts exactly that recorded set (or O(services) when given, or C(glusterd) and \
            O(consumers) when there is no record). First C(glusterd), waiting until it answers, then the recorded \
            Gluster FUSE mounts that are gone, then the consumers; then it removes the record.",
        "O(state=restarted) restarts only O(services) (default C(glusterd)); bricks and clients keep running. \
            The Gluster 11 upgrade guide's remedy for a peer left C(Peer Rejected) after an upgrade. Always \
            reports a change.",
        "Idempotent (but for O(state=restarted)); a second O(state=stopped) keeps what the first one recorded.",
    ],
    attributes: &[
        Attribute::new(
            "check_mode",
            "full",
            "Reports what it would stop, start or resync and which saved copies it would remove; changes nothing.",
        ),
        Attribute::new(
            "diff_mode",
            "full",
            "Shows the processes and units stopped, the services started, or the saved copies of the volume \
            definitions.",
        ),
        Attribute::platform(
            "posix",
            "Linux x86_64 Gluster servers, with or without systemd; no Python needed.",
        ),
    ],
    examples: EXAMPLES,
    returns: RETURN,
    ..ModuleDef::BASE
};

const EXAMPLES: &str = r#"
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

- name: Fetch the volume definitions from the peers again (a peer left rejected after an upgrade)
  keel.storage.gluster_service:
    state: restarted
    resync_volumes: true
    service_timeout: 5m
  register: resync

- name: Start only glusterd
  keel.storage.gluster_service:
    state: started
    services: [glusterd]
"#;

const RETURN: &str = r#"
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
  description: Processes that did not exit within O(service_timeout) of SIGTERM and got SIGKILL.
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
  description:
    - Where the previous volume definitions are kept (O(resync_volumes=true)); in check mode, where they would be.
    - On a failure, only when they could not be put back (RV(restored=false)).
  returned: when resync_volumes is true
  type: str
  sample: /var/lib/glusterd/vols.keel-1795652400
removed:
  description: Copies older than the newest 3 that were removed (in check mode, that would be removed), oldest first.
  returned: when resync_volumes is true and it succeeded, or in check mode
  type: list
  elements: str
  sample: [/var/lib/glusterd/vols.keel-1795000000]
recovered:
  description:
    - What this run did with a resync an earlier run left in progress (in check mode, what it would do).
      V(completed) (every volume had been imported; the copy is kept), V(restored) (the copy was put back),
      V(cleared) (nothing had been moved; only the record was removed); null when there was none.
  returned: when state is restarted and it succeeded
  type: str
  sample: restored
resync_record:
  description: Where a resync records itself while it is in progress (the file is removed when it ends).
  returned: when resync_volumes is true and it succeeded
  type: str
  sample: /var/lib/glusterd/keel-resync.json
restored:
  description:
    - On a failed resync, whether this server's own volume definitions are back in C(/var/lib/glusterd/vols)
      (true), or still in RV(kept) (false; the message says how to put them back).
  returned: when resync_volumes is true and it failed after it began
  type: bool
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
"#;
