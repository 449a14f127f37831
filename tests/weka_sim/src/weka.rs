//! The `weka` program: the commands Keel's modules use, answering from the shared state.

use serde_json::json;

use crate::render;
use crate::state::{self, at_least, cmp, min_source, Host, Locked, State, Token, User};

/// What one command prints and returns.
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    fn ok(stdout: impl Into<String>) -> Out {
        Out {
            code: 0,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }
    pub fn err(msg: impl AsRef<str>) -> Out {
        Out {
            code: 1,
            stdout: String::new(),
            stderr: format!("error: {}\n", msg.as_ref()),
        }
    }
    fn usage(msg: impl AsRef<str>) -> Out {
        Out {
            code: 2,
            stdout: String::new(),
            stderr: format!("error: {}\n", msg.as_ref()),
        }
    }
}

type R = Result<Out, Out>;

/// What the real CLI prints when no WEKA agent answers on the host.
const AGENT_DOWN: &str = "Failed connecting to http://127.0.0.1:14000/api/v1. Make sure weka is running on this host \
                          by running\n\t weka local status | start";

pub fn main(args: Vec<String>) -> Out {
    let path = state::state_path();
    if let Some(seconds) = slow(&path, &args) {
        std::thread::sleep(std::time::Duration::from_secs(seconds));
    }
    let lock = match Locked::acquire(&path) {
        Ok(l) => l,
        Err(e) => return Out::err(e),
    };
    let mut st = match lock.load() {
        Ok(s) => s,
        Err(e) => return Out::err(e),
    };
    let host = state::this_host();
    st.log.push(format!("{host}: weka {}", args.join(" ")));
    opt_dirs(&st, &host);
    let out = dispatch(&mut st, &host, args).unwrap_or_else(|e| e);
    if let Err(e) = lock.save(&st) {
        return Out::err(e);
    }
    out
}

/// The seconds an upgrade command waits under the `slow-upgrade` fault, without the lock held,
/// so that other commands answer meanwhile.
fn slow(path: &std::path::Path, args: &[String]) -> Option<u64> {
    let upgrade = match args {
        [local, run, rest @ ..] if local == "local" && run == "run" => rest.iter().any(|a| a == "upgrade"),
        [local, upgrade, ..] => local == "local" && upgrade == "upgrade",
        _ => false,
    };
    if !upgrade {
        return None;
    }
    let st = Locked::acquire(path).ok()?.load().ok()?;
    let host = state::this_host();
    let slow = &st.faults.slow_upgrade;
    (slow.iter().any(|h| h == "*" || *h == host)).then_some(st.faults.slow_upgrade_s)
}

/// Removes `flag` (boolean) from `args`; whether it was there.
fn flag(args: &mut Vec<String>, name: &str) -> bool {
    let before = args.len();
    args.retain(|a| a != name);
    before != args.len()
}

/// Removes `--name VALUE` or `--name=VALUE` from `args`.
fn opt(args: &mut Vec<String>, name: &str) -> Result<Option<String>, Out> {
    let prefix = format!("{name}=");
    if let Some(i) = args.iter().position(|a| a.starts_with(&prefix)) {
        let v = args.remove(i)[prefix.len()..].to_string();
        return Ok(Some(v));
    }
    if let Some(i) = args.iter().position(|a| a == name) {
        if i + 1 >= args.len() {
            return Err(Out::usage(format!("option {name} requires an argument")));
        }
        args.remove(i);
        return Ok(Some(args.remove(i)));
    }
    Ok(None)
}

fn no_extra(args: &[String]) -> Result<(), Out> {
    match args.iter().find(|a| a.starts_with('-')) {
        Some(a) => Err(Out::usage(format!("no such option: {a}"))),
        None => match args.first() {
            Some(a) => Err(Out::usage(format!("unexpected argument '{a}'"))),
            None => Ok(()),
        },
    }
}

fn dispatch(st: &mut State, host: &str, mut args: Vec<String>) -> R {
    let json = flag(&mut args, "-J") | flag(&mut args, "--json");
    let muted = flag(&mut args, "--muted");
    let Some(me) = st.hosts.iter().find(|h| h.hostname == host).cloned() else {
        return Err(Out::err(AGENT_DOWN));
    };
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let is_version_list = matches!(words.as_slice(), ["version"] | ["version", "current"]);
    if !me.up && !is_version_list {
        return Err(Out::err(AGENT_DOWN));
    }
    match words.as_slice() {
        ["status", "rebuild", rest @ ..] => {
            no_extra(&rest.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
            user(st)?;
            Ok(Out::ok(pretty(&render::rebuild_json(st))))
        }
        ["status", rest @ ..] => {
            no_extra(&rest.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
            user(st)?;
            let out = if json {
                pretty(&render::status_json(st))
            } else {
                render::status_text(st)
            };
            tick_data_upgrade(st);
            Ok(Out::ok(out))
        }
        ["alerts", rest @ ..] => {
            no_extra(&rest.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
            user(st)?;
            let alerts = render::active_alerts(st, muted);
            if json {
                return Ok(Out::ok(pretty(&json!(alerts))));
            }
            let mut s = String::from("TYPE | SEVERITY | DESCRIPTION\n");
            for a in alerts {
                s += &format!(
                    "{} | {} | {}\n",
                    a["type"].as_str().unwrap_or(""),
                    a["severity"].as_str().unwrap_or(""),
                    a["description"].as_str().unwrap_or("")
                );
            }
            Ok(Out::ok(s))
        }
        ["cluster", what @ ("host" | "container"), rest @ ..] => {
            let mut rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            if *what == "container" && !render::mcb_release(&st.release) {
                return Err(Out::usage("No such command 'container'."));
            }
            let backends = flag(&mut rest, "-b") | flag(&mut rest, "--backends");
            let clients = flag(&mut rest, "-c") | flag(&mut rest, "--clients");
            no_extra(&rest)?;
            user(st)?;
            let (b, c) = if backends || clients {
                (backends, clients)
            } else {
                (true, true)
            };
            let v = render::containers_json(st, b, c);
            if json {
                return Ok(Out::ok(pretty(&v)));
            }
            let mut s = String::from("HOST ID | HOSTNAME | CONTAINER | STATUS | RELEASE | MODE\n");
            for c in v.as_array().into_iter().flatten() {
                s += &format!(
                    "{} | {} | {} | {} | {} | {}\n",
                    c["host_id"].as_str().unwrap_or(""),
                    c["hostname"].as_str().unwrap_or(""),
                    c["container_name"].as_str().unwrap_or(""),
                    c["status"].as_str().unwrap_or(""),
                    c["sw_release_string"].as_str().unwrap_or(""),
                    c["mode"].as_str().unwrap_or("")
                );
            }
            Ok(Out::ok(s))
        }
        ["cluster", "servers", "list"] => {
            if !render::mcb_release(&st.release) {
                return Err(Out::usage("No such command 'servers'."));
            }
            user(st)?;
            Ok(Out::ok(pretty(&render::servers_json(st))))
        }
        ["cluster", "task" | "tasks"] => {
            user(st)?;
            Ok(Out::ok(if json {
                pretty(&render::tasks_json(st))
            } else {
                render::tasks_text(st)
            }))
        }
        ["cluster", "start-io"] => {
            user(st)?;
            st.io_status = "STARTED".into();
            Ok(Out::ok("IO started\n"))
        }
        ["cluster", "stop-io"] => {
            user(st)?;
            st.io_status = "STOPPED".into();
            Ok(Out::ok("IO stopped\n"))
        }
        ["local", "ps"] => {
            // A container named `upgrade` runs on the host an upgrade was started from.
            let mut shown = me.clone();
            if st.faults.upgrade_running.as_deref() == Some(host) {
                shown.containers.push("upgrade".into());
            }
            Ok(Out::ok(if json {
                pretty(&render::local_ps_json(&shown))
            } else {
                render::local_ps_text(&shown)
            }))
        }
        ["local", "run", ..] => local_run(st, &me, args[2..].to_vec()),
        ["local", "upgrade", ..] => local_upgrade(st, &me, args[2..].to_vec()),
        ["version"] => Ok(Out::ok(render::version_list(&me))),
        ["version", "current"] => Ok(Out::ok(format!("{}\n", me.version))),
        ["version", "get", ..] => version_get(st, &me, args[2..].to_vec()),
        ["version", "prepare", ..] => version_prepare(st, &me, args[2..].to_vec()),
        ["version", "set", ..] => version_set(st, &me, args[2..].to_vec()),
        ["user", "login", rest @ ..] => login(st, rest),
        ["user", "whoami"] => {
            let u = user(st)?;
            if json {
                return Ok(Out::ok(pretty(
                    &json!({"username": u.username, "source": "Internal", "role": u.role,
                                                 "org_id": 0, "org_name": "Root"}),
                )));
            }
            Ok(Out::ok(format!(
                "Username | Source   | Role | Organization\n{} | Internal | {} | Root\n",
                u.username, u.role
            )))
        }
        ["user", "logout"] => {
            if let Some(path) = token_path() {
                let _ = std::fs::remove_file(path);
            }
            Ok(Out::ok("Logged out\n"))
        }
        [] => Err(Out::usage("missing command")),
        [first, ..] => Err(Out::usage(format!(
            "No such command '{first}'. (weka-sim simulates only what Keel uses)"
        ))),
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

fn tick_data_upgrade(st: &mut State) {
    if let Some(d) = st.data_upgrade.as_mut() {
        d.remaining = d.remaining.saturating_sub(1);
        if d.remaining == 0 {
            st.data_upgrade = None;
        }
    }
}

fn token_path() -> Option<std::path::PathBuf> {
    std::env::var_os("WEKA_TOKEN")
        .map(Into::into)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".weka/auth-token.json")))
}

/// Who the CLI acts as: WEKA_USERNAME/WEKA_PASSWORD, else the token file (WEKA_TOKEN, else
/// ~/.weka/auth-token.json), else admin/admin, as the real CLI tries.
fn user(st: &State) -> Result<User, Out> {
    let find = |name: &str| st.users.iter().find(|u| u.username == name).cloned();
    if let (Ok(name), Ok(password)) = (std::env::var("WEKA_USERNAME"), std::env::var("WEKA_PASSWORD")) {
        return find(&name)
            .filter(|u| u.password == password)
            .ok_or_else(|| Out::err("Authentication failed: invalid username or password"));
    }
    if let Some(path) = token_path().filter(|p| p.exists()) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let token = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["access_token"].as_str().map(str::to_string))
            .unwrap_or_default();
        return st
            .tokens
            .iter()
            .find(|t| t.token == token)
            .and_then(|t| find(&t.username))
            .ok_or_else(|| {
                Out::err(format!(
                    "the login token in {} is invalid or expired; log in again with `weka user login`",
                    path.display()
                ))
            });
    }
    // The refusal's wording is UNVERIFIED; it names login, as any such message would.
    find("admin")
        .filter(|u| u.password == "admin")
        .ok_or_else(|| Out::err("You are not logged in; log in with `weka user login`"))
}

fn login(st: &mut State, rest: &[&str]) -> R {
    let [name, password] = rest else {
        return Err(Out::usage(
            "weka-sim: `weka user login USERNAME PASSWORD` (no interactive prompt)",
        ));
    };
    if !st.users.iter().any(|u| u.username == *name && u.password == *password) {
        return Err(Out::err("Authentication failed: invalid username or password"));
    }
    st.next_id += 1;
    let token = format!("sim-token-{}-{}", st.next_id, std::process::id());
    st.tokens.push(Token {
        token: token.clone(),
        username: name.to_string(),
    });
    let path = token_path().ok_or_else(|| Out::err("cannot tell where to write the token: HOME is not set"))?;
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let body = json!({"access_token": token, "refresh_token": format!("{token}-r"), "token_type": "Bearer"});
    std::fs::write(&path, body.to_string()).map_err(|e| Out::err(format!("cannot write {}: {e}", path.display())))?;
    Ok(Out::ok(
        "+------------------------------+\n| Login completed successfully |\n+------------------------------+\n",
    ))
}

fn host_mut<'a>(st: &'a mut State, name: &str) -> &'a mut Host {
    st.hosts
        .iter_mut()
        .find(|h| h.hostname == name)
        .expect("the host exists")
}

fn version_arg(args: &mut Vec<String>) -> Result<String, Out> {
    let i = args
        .iter()
        .position(|a| !a.starts_with('-'))
        .ok_or_else(|| Out::usage("missing argument: VERSION"))?;
    let v = args.remove(i);
    state::parts(&v).ok_or_else(|| Out::err(format!("'{v}' is not a WEKA release")))?;
    Ok(v)
}

fn hit(list: &[String], host: &str) -> bool {
    list.iter().any(|h| h == host || h == "*")
}

fn version_get(st: &mut State, me: &Host, mut args: Vec<String>) -> R {
    let from = opt(&mut args, "--from")?;
    let v = version_arg(&mut args)?;
    no_extra(&args)?;
    if me.installed.contains(&v) {
        return Ok(Out::ok(format!("Version {v} is already downloaded\n")));
    }
    if hit(&st.faults.low_space, &me.hostname) {
        return Err(Out::err(format!("not enough free space in /opt/weka to download {v}")));
    }
    if hit(&st.faults.download_fails, &me.hostname) {
        // The real CLI echoes the source, token and all: the modules must mask it.
        let source = from.unwrap_or_else(|| "https://get.weka.io".into());
        return Err(Out::err(format!(
            "failed to download {v} from {source}: HTTP 403 Forbidden"
        )));
    }
    host_mut(st, &me.hostname).installed.push(v.clone());
    Ok(Out::ok(format!("Downloading version {v}... done\n")))
}

fn version_prepare(st: &mut State, me: &Host, mut args: Vec<String>) -> R {
    let v = version_arg(&mut args)?;
    no_extra(&args)?;
    if !me.installed.contains(&v) {
        return Err(Out::err(format!(
            "version {v} is not downloaded on this host: run `weka version get {v}` first"
        )));
    }
    if me.prepared.contains(&v) {
        return Ok(Out::ok(format!("Version {v} is already prepared\n")));
    }
    // The failure's wording is UNVERIFIED; the guide names a driver that fails to build.
    if hit(&st.faults.driver_build_fails, &me.hostname) {
        return Err(Out::err(format!(
            "preparing version {v} failed: the wekafs driver did not build on this host"
        )));
    }
    host_mut(st, &me.hostname).prepared.push(v.clone());
    Ok(Out::ok(format!(
        "Preparing version {v} (building the wekafs driver)... done\n"
    )))
}

fn version_set(st: &mut State, me: &Host, mut args: Vec<String>) -> R {
    let agent_only = flag(&mut args, "--agent-only");
    let v = version_arg(&mut args)?;
    no_extra(&args)?;
    if agent_only && !at_least(&me.version, "4.3") && !at_least(&v, "4.3") {
        return Err(Out::usage("no such option: --agent-only"));
    }
    if !me.installed.contains(&v) {
        return Err(Out::err(format!(
            "version {v} is not downloaded on this host: run `weka version get {v}` first"
        )));
    }
    let h = host_mut(st, &me.hostname);
    if agent_only {
        h.agent_version = Some(v.clone());
    } else {
        h.version = v.clone();
    }
    Ok(Out::ok(format!(
        "Version set to {v}{}\n",
        if agent_only { " (agent only)" } else { "" }
    )))
}

/// Seconds from `90`, `90s`, `10m`, `1h`.
fn duration(name: &str, v: &str) -> Result<u64, Out> {
    let (num, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&v[..i], &v[i..]),
        None => (v, "s"),
    };
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => 0,
    };
    match num.parse::<u64>() {
        Ok(n) if mult > 0 => Ok(n * mult),
        _ => Err(Out::usage(format!("invalid duration '{v}' for {name}"))),
    }
}

/// `weka local run [--container C] --in V upgrade [FLAGS]`.
fn local_run(st: &mut State, me: &Host, args: Vec<String>) -> R {
    let Some(split) = args.iter().position(|a| a == "upgrade") else {
        return Err(Out::usage(
            "weka-sim simulates only `weka local run --in VERSION upgrade`",
        ));
    };
    let mut run_opts = args[..split].to_vec();
    let mut flags = args[split + 1..].to_vec();
    let container = opt(&mut run_opts, "--container")?;
    let v = opt(&mut run_opts, "--in")?.ok_or_else(|| Out::usage("weka-sim: `local run` needs --in VERSION"))?;
    no_extra(&run_opts)?;
    // The flags the target release's upgrade command knows (it runs "in" that release).
    let prepare_only = flag(&mut flags, "--prepare-only");
    let mut timeouts = vec!["--stop-io-timeout", "--host-version-change-timeout"];
    if at_least(&v, "3.12") {
        timeouts.push("--disconnect-stateless-clients-timeout");
    }
    if at_least(&v, "4.0") {
        timeouts.push("--health-check-timeout");
    }
    for t in timeouts {
        if let Some(d) = opt(&mut flags, t)? {
            duration(t, &d)?;
        }
    }
    if let Some(mode) = opt(&mut flags, "--mode")? {
        let allowed: &[&str] = if !at_least(&v, "3.12") {
            &["one-shot"]
        } else if at_least(&v, "4.1") {
            &["ndu"]
        } else {
            &[]
        };
        if allowed.is_empty() {
            return Err(Out::usage("no such option: --mode"));
        }
        if !allowed.contains(&mode.as_str()) {
            return Err(Out::usage(format!(
                "invalid choice for --mode: {mode} (choose from {})",
                allowed.join(", ")
            )));
        }
    }
    if at_least(&v, "4.2") {
        for f in ["--ndu-drives-phase", "--ndu-frontends-phase", "--ndu-computes-phase"] {
            flag(&mut flags, f);
        }
        opt(&mut flags, "--mgmt-port")?;
    }
    no_extra(&flags)?;

    if !me.is_backend() {
        return Err(Out::err(
            "`weka local run ... upgrade` upgrades backends; on a client use `weka local upgrade`",
        ));
    }
    // On a multi-container backend the command must name the container it runs in (UNVERIFIED
    // wording; the 4.1+ documented form always passes --container).
    match &container {
        None if me.containers.len() > 1 => {
            return Err(Out::err(format!(
                "this host runs several containers ({}); choose one with --container",
                me.containers.join(", ")
            )))
        }
        Some(c) if !me.containers.contains(c) => {
            return Err(Out::err(format!(
                "no container named {c} on this host (it has {})",
                me.containers.join(", ")
            )))
        }
        _ => {}
    }
    if !me.installed.contains(&v) {
        return Err(Out::err(format!(
            "version {v} is not downloaded on this host: run `weka version get {v}` first"
        )));
    }
    let u = user(st)?;
    if u.role != "ClusterAdmin" {
        return Err(Out::err(format!(
            "the upgrade needs a Cluster Admin login; logged in as {} ({})",
            u.username, u.role
        )));
    }
    if let Some(h) = &st.faults.upgrade_running {
        // UNVERIFIED wording: one upgrade at a time.
        return Err(Out::err(format!(
            "an upgrade is already in progress (its upgrade container runs on {h}); wait for it to finish"
        )));
    }
    let from = st.release.clone();
    if cmp(&v, &from).is_eq() {
        return Ok(Out::ok(format!("The cluster already runs {v}; nothing to do\n")));
    }
    if cmp(&v, &from).is_lt() {
        return Err(Out::err(format!("downgrading from {from} to {v} is not supported")));
    }
    match min_source(&v) {
        Some(min) if at_least(&from, min) => {}
        Some(min) => {
            return Err(Out::err(format!(
                "upgrading from {from} to {v} is not supported: {v} can only be installed over {min} or later"
            )))
        }
        None => return Err(Out::err(format!("weka-sim knows no upgrade rule for {v}"))),
    }
    let legacy = st.hosts.iter().any(|h| h.is_backend() && h.containers.len() < 2);
    if at_least(&v, "4.1") && legacy {
        return Err(Out::err(format!(
            "{v} requires multi-container backends; convert the cluster before upgrading"
        )));
    }
    if let Some(p) = render::data_upgrade_progress(st) {
        return Err(Out::err(format!(
            "a data upgrade task is still running ({p}%); wait for it to finish before starting another upgrade"
        )));
    }
    if st.rebuild_percent > 0 {
        return Err(Out::err(format!(
            "cannot upgrade while a rebuild is in progress ({}%)",
            st.rebuild_percent
        )));
    }
    if at_least(&from, "4.1") {
        if let Some(t) = st
            .tasks
            .iter()
            .find(|t| t.state == "RUNNING" && t.kind != "FSCK" && t.kind != "RAID_SCANNER")
        {
            return Err(Out::err(format!(
                "background task {} is {}; stop it or let it finish first",
                t.kind, t.state
            )));
        }
    }
    // Preparation: distribute and prepare on every backend; a host away stops it here.
    let mut out = format!("Upgrading from {from} to {v}\nPreparing version {v} on all backends...\n");
    if let Some(down) = st.hosts.iter().find(|h| h.is_backend() && !h.up) {
        return Err(Out {
            code: 1,
            stdout: out,
            stderr: format!(
                "error: preparation failed on {} (HostId<{}>): host is DOWN. The upgrade stopped before any host changed version.\n",
                down.hostname, down.first_id
            ),
        });
    }
    // "If a failure occurs during the preparation, such as ... failure to build a driver, the
    // upgrade process stops, and a summary message indicates the problematic server."
    if let Some(bad) = st
        .hosts
        .iter()
        .find(|h| h.is_backend() && !h.prepared.contains(&v) && hit(&st.faults.driver_build_fails, &h.hostname))
    {
        return Err(Out {
            code: 1,
            stdout: out,
            stderr: format!(
                "error: preparation failed on {} (HostId<{}>): the wekafs driver of {v} did not build. The upgrade stopped \
                 before any host changed version.\n",
                bad.hostname, bad.first_id
            ),
        });
    }
    for h in st.hosts.iter_mut().filter(|h| h.is_backend()) {
        if !h.installed.contains(&v) {
            h.installed.push(v.clone());
        }
        if !h.prepared.contains(&v) {
            h.prepared.push(v.clone());
        }
    }
    out += "All backends prepared\n";
    if prepare_only {
        return Ok(Out::ok(
            out + &format!("Version {v} prepared on every backend (--prepare-only): not switching\n"),
        ));
    }
    out += "Stopping IO... done\nSwitching hosts to the new release...\n";
    if st.faults.upgrade_reverts {
        let culprit = st
            .hosts
            .iter()
            .find(|h| h.is_backend())
            .map(|h| h.hostname.clone())
            .unwrap_or_default();
        // The guide's advice after a revert, "verify that all the backends are reverted to the
        // old version by running `weka cluster host`", is for a backend the revert missed.
        if let Some(stuck) = &st.faults.revert_leaves {
            if let Some(h) = st.hosts.iter_mut().find(|h| &h.hostname == stuck) {
                h.version = v.clone();
            }
        }
        out += &format!("Reverting all hosts to {from}...\nStarting IO... done\n");
        return Err(Out {
            code: 1,
            stdout: out,
            stderr: format!(
                "error: upgrade to {v} failed: {culprit} did not change version within the host version change timeout; \
                 the cluster was reverted to {from}\n"
            ),
        });
    }
    st.release = v.clone();
    for h in st.hosts.iter_mut().filter(|h| h.is_backend()) {
        h.version = v.clone();
    }
    st.io_status = "STARTED".into();
    if st.faults.data_upgrade_calls > 0 {
        let n = std::mem::take(&mut st.faults.data_upgrade_calls);
        st.data_upgrade = Some(state::DataUpgrade { remaining: n, total: n });
    }
    Ok(Out::ok(
        out + &format!("Starting IO... done\nUpgrade to {v} completed\n"),
    ))
}

/// `weka local upgrade [--prepare-driver] [--all]` on a client.
fn local_upgrade(st: &mut State, me: &Host, mut args: Vec<String>) -> R {
    let prepare_driver = flag(&mut args, "--prepare-driver");
    flag(&mut args, "--all");
    no_extra(&args)?;
    if prepare_driver && !at_least(&me.version, "4.0.1") {
        // The flag came with 4.0.1 clients.
        return Err(Out::usage("no such option: --prepare-driver"));
    }
    if me.is_backend() {
        return Err(Out::err(
            "`weka local upgrade` upgrades a client; backends upgrade with `weka local run --in V upgrade`",
        ));
    }
    let v = st.release.clone();
    if me.version == v {
        return Ok(Out::ok(format!("This client already runs {v}\n")));
    }
    // The guide: "for client source versions 4.0.1 and above, add --prepare-driver" (the
    // failure without it is UNVERIFIED; modelled as a refusal).
    if at_least(&me.version, "4.0.1") && !prepare_driver {
        return Err(Out::err(format!(
            "the wekafs driver for {v} is not prepared on this client; run `weka local upgrade --prepare-driver`"
        )));
    }
    if at_least(&v, "4.2") && !me.installed.contains(&v) {
        return Err(Out::err(format!(
            "version {v} is not available on this client: get it from a backend with `weka version get {v} --from BACKEND:14000`"
        )));
    }
    if at_least(&v, "4.3") && me.agent_version.as_deref() != Some(v.as_str()) {
        return Err(Out::err(format!(
            "the local agent does not run {v}: run `weka version set --agent-only {v}` first"
        )));
    }
    if hit(&st.faults.driver_build_fails, &me.hostname) {
        // UNVERIFIED wording, as for `weka version prepare`.
        return Err(Out::err(format!(
            "upgrading this client to {v} failed: the wekafs driver did not build; the client still runs {}",
            me.version
        )));
    }
    let h = host_mut(st, &me.hostname);
    if !h.installed.contains(&v) {
        h.installed.push(v.clone());
    }
    let from = std::mem::replace(&mut h.version, v.clone());
    Ok(Out::ok(format!("Upgrading this client from {from} to {v}... done\n")))
}

/// Directories under this host's /opt/weka (WEKA_SIM_OPT, `{host}` replaced) and, while the
/// low-space fault is on, a sparse ballast file making each data directory look bigger than
/// the free space can hold 1.5 times.
fn opt_dirs(st: &State, host: &str) {
    let Some(me) = st.hosts.iter().find(|h| h.hostname == host) else {
        return;
    };
    let root = std::env::var("WEKA_SIM_OPT")
        .unwrap_or_else(|_| "/opt/weka".into())
        .replace("{host}", host);
    for c in &me.containers {
        let dir = std::path::Path::new(&root).join("data").join(c);
        if std::fs::create_dir_all(&dir).is_err() {
            continue;
        }
        let ballast = dir.join("weka-sim-ballast");
        if hit(&st.faults.low_space, host) {
            let free = nix::sys::statvfs::statvfs(&dir)
                .map(|s| s.blocks_available() * s.fragment_size())
                .unwrap_or(0);
            if let Ok(f) = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&ballast)
            {
                let _ = f.set_len(free.saturating_mul(2).max(1 << 30));
            }
        } else {
            let _ = std::fs::remove_file(&ballast);
        }
    }
}
