//! `weka-sim`: creates the simulated cluster and injects faults into it.

use crate::render::mcb_release;
use crate::state::{self, Alert, DataUpgrade, Host, Locked, State, Task, User};

pub const USAGE: &str = "usage: weka-sim [--state PATH] COMMAND
  init --release R --backends h1,h2,h3 [--clients c1,c2] [--client-release R] [--stateless-clients c2]
       [--admin-password P] [--mcb | --no-mcb] [--downloaded V1,V2] [--name NAME]
  fault backend-down --host H | backend-up --host H
  fault alert --type T [--severity S] [--muted] [--description D]
  fault rebuild --percent P
  fault task --type T [--state RUNNING] [--progress P]
  fault low-space --host H           /opt/weka looks too full; `weka version get` fails there
  fault not-logged-in                admin/admin stops working and every login token is revoked
  fault download-fails [--host H]    `weka version get` fails (echoing its --from URL), and so does the simulated curl (403)
  fault upgrade-reverts [--stuck H]  every full upgrade fails inside the window and is reverted
                                     (--stuck: the revert leaves backend H on the new release)
  fault driver-build-fails [--host H]  the new release's wekafs driver does not build (prepare fails)
  fault upgrade-running --host H     an upgrade is in progress: H runs an `upgrade` container
  fault slow-upgrade --seconds S [--host H]  `weka local run ... upgrade` and `weka local upgrade` take S seconds,
                                     then do their work (the state is not locked meanwhile)
  fault data-upgrade --calls N [--now]  the next upgrade (or now) leaves a data upgrade RUNNING for N status calls
  fault clients-behind --version V   every client runs V
  clear [FAULT]                      removes every fault (or one kind)
  user add NAME PASSWORD ROLE        ROLE: ClusterAdmin, OrgAdmin, ReadOnly, Regular
  install VERSION [--host H]         what a release tarball's install.sh does: VERSION becomes available
  show | log                         the state as JSON | the weka commands run, one per line
State: --state or WEKA_SIM_STATE (default /var/lib/weka-sim/state.json). Host: WEKA_SIM_HOST or the hostname.";

pub fn main(mut args: Vec<String>) -> Result<String, String> {
    let path = match take(&mut args, "--state")? {
        Some(p) => p.into(),
        None => state::state_path(),
    };
    let lock = Locked::acquire(&path)?;
    let cmd = if args.is_empty() { String::new() } else { args.remove(0) };
    if cmd == "init" {
        let st = init(&mut args)?;
        lock.save(&st)?;
        return Ok(format!(
            "weka-sim: cluster {} on {} at {}\n",
            st.name,
            st.release,
            path.display()
        ));
    }
    let mut st = lock.load()?;
    let out = match cmd.as_str() {
        "fault" => fault(&mut st, &mut args)?,
        "clear" => clear(&mut st, args.first().map(String::as_str)),
        "user" => match args.as_slice() {
            [add, name, password, role] if add == "add" => {
                st.users.retain(|u| &u.username != name);
                st.users.push(User {
                    username: name.clone(),
                    password: password.clone(),
                    role: role.clone(),
                });
                format!("user {name} ({role}) added\n")
            }
            _ => return Err(USAGE.into()),
        },
        "install" => {
            let host = take(&mut args, "--host")?.unwrap_or_else(state::this_host);
            let v = args.first().cloned().ok_or(USAGE)?;
            state::parts(&v).ok_or_else(|| format!("weka-sim: '{v}' is not a release"))?;
            let h = st
                .hosts
                .iter_mut()
                .find(|h| h.hostname == host)
                .ok_or_else(|| format!("weka-sim: no host {host}"))?;
            if !h.installed.contains(&v) {
                h.installed.push(v.clone());
            }
            format!("weka-sim: {v} installed on {host}\n")
        }
        "show" => serde_json::to_string_pretty(&st).map_err(|e| e.to_string())? + "\n",
        "log" => st.log.iter().map(|l| format!("{l}\n")).collect(),
        _ => return Err(USAGE.into()),
    };
    lock.save(&st)?;
    Ok(out)
}

fn take(args: &mut Vec<String>, name: &str) -> Result<Option<String>, String> {
    match args.iter().position(|a| a == name) {
        Some(i) if i + 1 < args.len() => {
            args.remove(i);
            Ok(Some(args.remove(i)))
        }
        Some(_) => Err(format!("weka-sim: {name} needs a value")),
        None => Ok(None),
    }
}

fn take_flag(args: &mut Vec<String>, name: &str) -> bool {
    let n = args.len();
    args.retain(|a| a != name);
    n != args.len()
}

fn list(s: Option<String>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect()
    })
    .unwrap_or_default()
}

fn init(args: &mut Vec<String>) -> Result<State, String> {
    let release = take(args, "--release")?.ok_or("weka-sim init: --release is required")?;
    state::parts(&release).ok_or_else(|| format!("weka-sim: '{release}' is not a release"))?;
    let backends = list(take(args, "--backends")?);
    if backends.is_empty() {
        return Err("weka-sim init: --backends is required".into());
    }
    let clients = list(take(args, "--clients")?);
    let stateless = list(take(args, "--stateless-clients")?);
    let client_release = take(args, "--client-release")?.unwrap_or_else(|| release.clone());
    let admin_password = take(args, "--admin-password")?.unwrap_or_else(|| "admin".into());
    let downloaded = list(take(args, "--downloaded")?);
    let name = take(args, "--name")?.unwrap_or_else(|| "keel-sim".into());
    let mcb = if take_flag(args, "--mcb") {
        true
    } else if take_flag(args, "--no-mcb") {
        false
    } else {
        mcb_release(&release)
    };
    if let Some(extra) = args.first() {
        return Err(format!("weka-sim init: unexpected '{extra}'\n{USAGE}"));
    }
    let mut hosts = Vec::new();
    let mut id = 0;
    for (i, b) in backends.iter().enumerate() {
        let containers: Vec<String> = if mcb {
            vec!["drives0".into(), "compute0".into(), "frontend0".into()]
        } else {
            vec!["default".into()]
        };
        let n = containers.len() as u32;
        hosts.push(host(
            b,
            "backend",
            &release,
            containers,
            &downloaded,
            format!("10.0.0.{}", 11 + i),
            id,
        ));
        id += n;
    }
    for (i, c) in clients.iter().enumerate() {
        let mut h = host(
            c,
            "client",
            &client_release,
            vec!["client".into()],
            &downloaded,
            format!("10.0.0.{}", 21 + i),
            id,
        );
        h.stateless = stateless.contains(c);
        hosts.push(h);
        id += 1;
    }
    Ok(State {
        name,
        guid: "554d62b9-ab40-4f59-bee6-ccc326bae2df".into(),
        release,
        io_status: "STARTED".into(),
        hosts,
        users: vec![User {
            username: "admin".into(),
            password: admin_password.clone(),
            role: "ClusterAdmin".into(),
        }],
        admin_password,
        ..Default::default()
    })
}

fn host(name: &str, mode: &str, version: &str, containers: Vec<String>, extra: &[String], ip: String, id: u32) -> Host {
    let mut installed = vec![version.to_string()];
    installed.extend(extra.iter().filter(|v| *v != version).cloned());
    Host {
        hostname: name.into(),
        mode: mode.into(),
        version: version.into(),
        up: true,
        containers,
        prepared: installed.clone(),
        installed,
        agent_version: None,
        ip,
        stateless: false,
        first_id: id,
    }
}

fn fault(st: &mut State, args: &mut Vec<String>) -> Result<String, String> {
    let kind = if args.is_empty() { String::new() } else { args.remove(0) };
    let host = take(args, "--host")?;
    let need_host = |h: &Option<String>, st: &State| -> Result<String, String> {
        let h = h
            .clone()
            .ok_or_else(|| format!("weka-sim fault {kind}: --host is required"))?;
        if st.hosts.iter().any(|x| x.hostname == h) {
            Ok(h)
        } else {
            Err(format!("weka-sim: no host {h}"))
        }
    };
    let msg = match kind.as_str() {
        "backend-down" | "backend-up" => {
            let h = need_host(&host, st)?;
            let down = kind == "backend-down";
            if let Some(x) = st.hosts.iter_mut().find(|x| x.hostname == h) {
                x.up = !down;
            }
            st.alerts
                .retain(|a| !(a.kind == "NodeDisconnected" && a.description.contains(&format!("host {h} "))));
            if down {
                st.alerts.push(Alert {
                    kind: "NodeDisconnected".into(),
                    title: "Node disconnected".into(),
                    description: format!("Nodes of host {h} disconnected from the cluster"),
                    severity: "MAJOR".into(),
                    muted: false,
                });
            }
            format!("{h} is {}", if down { "DOWN" } else { "UP" })
        }
        "alert" => {
            let t = take(args, "--type")?.ok_or("weka-sim fault alert: --type is required")?;
            let severity = take(args, "--severity")?.unwrap_or_else(|| "MAJOR".into());
            let description = take(args, "--description")?.unwrap_or_else(|| format!("Simulated {t} alert"));
            let muted = take_flag(args, "--muted");
            st.alerts.push(Alert {
                title: t.clone(),
                kind: t.clone(),
                description,
                severity,
                muted,
            });
            format!("alert {t} raised")
        }
        "rebuild" => {
            let p = take(args, "--percent")?.unwrap_or_else(|| "3".into());
            st.rebuild_percent = p.parse().map_err(|_| "weka-sim: --percent must be a number")?;
            format!("rebuild at {p}%")
        }
        "task" => {
            let t = take(args, "--type")?.ok_or("weka-sim fault task: --type is required")?;
            let state = take(args, "--state")?.unwrap_or_else(|| "RUNNING".into());
            let progress = take(args, "--progress")?.and_then(|p| p.parse().ok()).unwrap_or(42);
            st.tasks.push(Task {
                description: format!("Simulated {t} task"),
                kind: t.clone(),
                state,
                progress,
            });
            format!("task {t} added")
        }
        "low-space" => {
            let h = need_host(&host, st)?;
            st.faults.low_space.push(h.clone());
            format!("/opt/weka on {h} is short of space")
        }
        "not-logged-in" => {
            st.tokens.clear();
            for u in st.users.iter_mut().filter(|u| u.username == "admin") {
                u.password = "a-password-nobody-knows".into();
            }
            "every token revoked; admin/admin no longer works".into()
        }
        "download-fails" => {
            st.faults
                .download_fails
                .push(host.clone().unwrap_or_else(|| "*".into()));
            "downloads fail".into()
        }
        "upgrade-reverts" => {
            let stuck = match take(args, "--stuck")? {
                Some(h) => Some(need_host(&Some(h), st)?),
                None => None,
            };
            st.faults.upgrade_reverts = true;
            st.faults.revert_leaves = stuck.clone();
            match stuck {
                Some(h) => format!("upgrades revert, except on {h}"),
                None => "upgrades revert".into(),
            }
        }
        "driver-build-fails" => {
            st.faults
                .driver_build_fails
                .push(host.clone().unwrap_or_else(|| "*".into()));
            "wekafs driver builds fail".into()
        }
        "upgrade-running" => {
            let h = need_host(&host, st)?;
            st.faults.upgrade_running = Some(h.clone());
            format!("an upgrade runs from {h}")
        }
        "slow-upgrade" => {
            let secs = take(args, "--seconds")?.ok_or("weka-sim fault slow-upgrade: --seconds is required")?;
            st.faults.slow_upgrade_s = secs.parse().map_err(|_| "weka-sim: --seconds must be a number")?;
            st.faults.slow_upgrade.push(host.clone().unwrap_or_else(|| "*".into()));
            format!("upgrades take {secs} s")
        }
        "data-upgrade" => {
            let n: u32 = take(args, "--calls")?.and_then(|c| c.parse().ok()).unwrap_or(3);
            if take_flag(args, "--now") {
                st.data_upgrade = Some(DataUpgrade { remaining: n, total: n });
            } else {
                st.faults.data_upgrade_calls = n;
            }
            format!("data upgrade for {n} status calls")
        }
        "clients-behind" => {
            let v = take(args, "--version")?.ok_or("weka-sim fault clients-behind: --version is required")?;
            for h in st.hosts.iter_mut().filter(|h| !h.is_backend()) {
                h.version = v.clone();
                if !h.installed.contains(&v) {
                    h.installed.push(v.clone());
                }
            }
            format!("clients run {v}")
        }
        _ => return Err(USAGE.into()),
    };
    if let Some(extra) = args.first() {
        return Err(format!("weka-sim fault {kind}: unexpected '{extra}'"));
    }
    Ok(format!("weka-sim: {msg}\n"))
}

fn clear(st: &mut State, kind: Option<&str>) -> String {
    let all = kind.is_none();
    let is = |k: &str| all || kind == Some(k);
    if is("backend-down") {
        st.hosts.iter_mut().for_each(|h| h.up = true);
        st.alerts.retain(|a| a.kind != "NodeDisconnected");
    }
    if is("alert") {
        st.alerts.clear();
    }
    if is("rebuild") {
        st.rebuild_percent = 0;
    }
    if is("task") {
        st.tasks.clear();
    }
    if is("low-space") {
        st.faults.low_space.clear();
    }
    if is("not-logged-in") {
        let pw = st.admin_password.clone();
        st.users
            .iter_mut()
            .filter(|u| u.username == "admin")
            .for_each(|u| u.password = pw.clone());
    }
    if is("download-fails") {
        st.faults.download_fails.clear();
    }
    if is("upgrade-reverts") {
        st.faults.upgrade_reverts = false;
        st.faults.revert_leaves = None;
    }
    if is("driver-build-fails") {
        st.faults.driver_build_fails.clear();
    }
    if is("upgrade-running") {
        st.faults.upgrade_running = None;
    }
    if is("slow-upgrade") {
        st.faults.slow_upgrade.clear();
        st.faults.slow_upgrade_s = 0;
    }
    if is("data-upgrade") {
        st.faults.data_upgrade_calls = 0;
        st.data_upgrade = None;
    }
    format!("weka-sim: cleared {}\n", kind.unwrap_or("every fault"))
}
