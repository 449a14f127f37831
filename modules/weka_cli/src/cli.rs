//! Running the weka CLI through the runtime's runner: credentials go in its environment
//! (WEKA_TOKEN / WEKA_USERNAME / WEKA_PASSWORD / WEKA_ORG, never argv), and failures become
//! messages an operator can act on (weka missing, agent down, not logged in).

use std::time::Duration;

use keel_runtime::{Attribute, Ctx, Fragment, Kind, ModuleError, Opt, Output, Poll, READ_ONLY_ATTRIBUTES};
use serde::Deserialize;

use crate::parse::{self, Alert, Container, Installed, LocalContainer, Rebuild, Status, Task, WhoAmI};
use crate::version::WekaVersion;

/// The cluster these commands read (keel-weka-model's).
pub use crate::cluster::{Cluster, Host};

/// What every WEKA module takes and documents alike: credentials, the command timeout, platform
/// (the doc fragment keel.storage.weka; `Common` is its typed view). Its modules form the action
/// group `weka`, so `module_defaults: group/keel.storage.weka` sets the credentials at once.
pub const WEKA: Fragment = Fragment {
    options: &[
        Opt::new("token_file", Kind::Str).doc(&[
            "Path on the target of a login token written by C(weka user login) (for example \
             C(/root/.weka/auth-token.json)), passed to weka as E(WEKA_TOKEN).",
            "Modules run as root under become, where C($HOME) may not be the operator's; pass the path explicitly.",
        ]),
        Opt::new("username", Kind::Str).doc(&[
            "A WEKA user, passed to weka as E(WEKA_USERNAME) (never on its command line). Needs O(password).",
            "Without O(username) and O(token_file), weka uses C(~/.weka/auth-token.json), else tries admin/admin.",
        ]),
        Opt::new("password", Kind::Str).secret().doc(&[
            "The password of O(username), passed as E(WEKA_PASSWORD); masked in everything the module returns.",
        ]),
        Opt::new("org", Kind::Str).doc(&["The WEKA organization, passed as E(WEKA_ORG)."]),
        Opt::new("command_timeout", Kind::Duration)
            .aliases(&["timeout"])
            .default_str("120")
            .doc(&["Time each read-only weka command may take, in seconds or with a unit (C(90s), C(5m))."]),
    ],
    attributes: &[Attribute::platform(
        "posix",
        "Linux x86_64 WEKA backends and clients with the weka CLI; no Python needed.",
    )],
    requirements: &["WEKA 3.10 or later (the C(weka) CLI and its local agent) on the target."],
    action_group: Some("weka"),
    ..Fragment::new(
        "keel.storage.weka",
        "What every keel.storage WEKA module documents alike: credentials, the command timeout, platform.",
    )
};

/// Read-only WEKA modules: facts, plans and checks (keel.storage.weka.read_only).
pub const WEKA_READ_ONLY: Fragment = Fragment {
    attributes: READ_ONLY_ATTRIBUTES,
    ..Fragment::new(
        "keel.storage.weka.read_only",
        "Read-only modules: facts, plans and checks.",
    )
};

/// The options every WEKA module takes (`#[serde(flatten)]` into the module's own struct),
/// filled from WEKA's spec.
#[derive(Debug, Clone, Deserialize)]
pub struct Common {
    pub token_file: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub org: Option<String>,
    pub command_timeout: u64,
}

/// The weka CLI on this host, with the credentials to pass it.
#[derive(Debug, Clone)]
pub struct Weka {
    pub timeout: Duration,
    env: Vec<(&'static str, String)>,
}

impl Weka {
    /// Checks the credential options; `module` names the module in messages.
    pub fn new(module: &str, c: &Common) -> Result<Weka, ModuleError> {
        let mut env = Vec::new();
        // An empty inventory variable means "not set".
        let set = |o: &Option<String>| o.clone().filter(|s| !s.is_empty());
        match (set(&c.username), set(&c.password)) {
            (Some(u), Some(p)) => {
                env.push(("WEKA_USERNAME", u));
                env.push(("WEKA_PASSWORD", p));
            }
            (None, None) => {}
            _ => {
                return Err(ModuleError::invalid_args(format!(
                    "{module}: options 'username' and 'password' go together"
                )))
            }
        }
        if let Some(t) = set(&c.token_file) {
            if !std::path::Path::new(&t).is_file() {
                return Err(ModuleError::failed(format!(
                    "{module}: token_file {t} does not exist on this host: log in there with `weka user login` as a \
                     Cluster Admin (it writes ~/.weka/auth-token.json), or pass username and password"
                )));
            }
            env.push(("WEKA_TOKEN", t));
        }
        if let Some(o) = set(&c.org) {
            env.push(("WEKA_ORG", o));
        }
        Ok(Weka {
            timeout: Duration::from_secs(c.command_timeout.max(1)),
            env,
        })
    }

    /// Runs `weka ARGS` and returns what it did, whatever its exit code.
    pub fn exec(&self, ctx: &mut Ctx, args: &[&str], timeout: Duration) -> Result<Output, ModuleError> {
        self.exec_as(ctx, args, timeout, false)
    }

    /// `exec` for a command that must never be killed half way (`weka local run ... upgrade`,
    /// `weka local upgrade`): past `timeout` it goes on alone and the error is
    /// `ModuleError::LeftRunning` (see `left_running`).
    pub fn exec_unkillable(&self, ctx: &mut Ctx, args: &[&str], timeout: Duration) -> Result<Output, ModuleError> {
        self.exec_as(ctx, args, timeout, true)
    }

    fn exec_as(
        &self,
        ctx: &mut Ctx,
        args: &[&str],
        timeout: Duration,
        unkillable: bool,
    ) -> Result<Output, ModuleError> {
        let mut argv = vec!["weka"];
        argv.extend_from_slice(args);
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let result = if unkillable {
            ctx.runner.run_unkillable(&argv, &env, timeout)
        } else {
            ctx.run_with_env(&argv, &env, timeout)
        };
        result.map_err(|e| match e {
            ModuleError::NotFound { program, path, .. } => ModuleError::NotFound {
                program,
                path,
                hint: "Install WEKA on this host (the weka CLI comes with the WEKA agent), or run this task only on \
                       WEKA backends and clients."
                    .into(),
            },
            other => other,
        })
    }

    /// `weka ARGS` that must succeed: its stdout.
    pub fn ok(&self, ctx: &mut Ctx, args: &[&str]) -> Result<String, ModuleError> {
        let out = self.exec(ctx, args, self.timeout)?;
        if !out.success() {
            return Err(failure(&format!("'{}' failed", out.cmd), out));
        }
        Ok(out.stdout)
    }

    pub fn status(&self, ctx: &mut Ctx) -> Result<Status, ModuleError> {
        let text = self.ok(ctx, &["status", "-J"])?;
        parse::parse_status(&text).map_err(parse_failed("status -J"))
    }

    /// Every container (4.1+) or host (before) of the cluster, backends and clients.
    pub fn containers(&self, ctx: &mut Ctx, release: &WekaVersion) -> Result<Vec<Container>, ModuleError> {
        // `cluster container` arrived with multi-container backends in 4.1; `cluster host` is a
        // hidden alias from 4.2 on.
        let what = if release.at_least("4.1") { "container" } else { "host" };
        let text = self.ok(ctx, &["cluster", what, "-J"])?;
        parse::parse_containers(&text).map_err(parse_failed(&format!("cluster {what} -J")))
    }

    pub fn alerts(&self, ctx: &mut Ctx) -> Result<Vec<Alert>, ModuleError> {
        let text = self.ok(ctx, &["alerts", "-J"])?;
        parse::parse_alerts(&text).map_err(parse_failed("alerts -J"))
    }

    pub fn rebuild(&self, ctx: &mut Ctx) -> Result<Rebuild, ModuleError> {
        let text = self.ok(ctx, &["status", "rebuild", "-J"])?;
        parse::parse_rebuild(&text).map_err(parse_failed("status rebuild -J"))
    }

    pub fn tasks(&self, ctx: &mut Ctx) -> Result<Vec<Task>, ModuleError> {
        let text = self.ok(ctx, &["cluster", "task", "-J"])?;
        parse::parse_tasks(&text).map_err(parse_failed("cluster task -J"))
    }

    pub fn local_ps(&self, ctx: &mut Ctx) -> Result<Vec<LocalContainer>, ModuleError> {
        let text = self.ok(ctx, &["local", "ps", "-J"])?;
        parse::parse_local_ps(&text).map_err(parse_failed("local ps -J"))
    }

    pub fn installed(&self, ctx: &mut Ctx) -> Result<Installed, ModuleError> {
        Ok(parse::parse_version_list(&self.ok(ctx, &["version"])?))
    }

    pub fn whoami(&self, ctx: &mut Ctx) -> Result<WhoAmI, ModuleError> {
        let text = self.ok(ctx, &["user", "whoami", "-J"])?;
        parse::parse_whoami(&text).map_err(parse_failed("user whoami -J"))
    }

    /// Everything the facts, checks and verification look at, from this host.
    pub fn gather(&self, ctx: &mut Ctx) -> Result<Cluster, ModuleError> {
        let status = self.status(ctx)?;
        let containers = self.containers(ctx, &status.release)?;
        Ok(Cluster {
            alerts: self.alerts(ctx)?,
            rebuild: self.rebuild(ctx)?,
            tasks: self.tasks(ctx)?,
            local: self.local_ps(ctx)?,
            containers,
            status,
        })
    }
}

/// Whether weka's own answer refuses the credentials: callers that treat a login failure apart
/// (a precheck finding, a verification that must not retry) ask this of the command's output.
pub fn refused_credentials(out: &Output) -> bool {
    let lower = first_line(&out.stderr, &out.stdout).to_ascii_lowercase();
    [
        "logged in",
        "login",
        "authenticat",
        "token",
        "unauthorized",
        "permission",
    ]
    .iter()
    .any(|k| lower.contains(k))
}

/// A failed weka command as an operator-facing error.
pub fn failure(what: &str, out: Output) -> ModuleError {
    let why = first_line(&out.stderr, &out.stdout);
    let lower = why.to_ascii_lowercase();
    let msg = if refused_credentials(&out) {
        format!(
            "{what}: weka refused the credentials ({why}). Pass token_file (a token from `weka user login`, for \
             example /root/.weka/auth-token.json) or username and password of a Cluster Admin"
        )
    } else if lower.contains("failed connecting") {
        format!(
            "{what}: the WEKA agent or container is not running on this host ({why}); check `weka local status` and \
             start it with `weka local start`"
        )
    } else {
        format!("{what} (rc {}): {why}", out.rc)
    };
    ModuleError::command(msg, out)
}

/// A command that outlived `option` and was left running (`ModuleError::LeftRunning`) as a
/// failure an operator can act on: `state` says what the host or cluster shows now, `what_next`
/// what to do once it ends. The result carries `cmd`, `pid`, `left_running: true` and the files
/// its output goes to (`output_files`); any other error passes through.
pub fn left_running(
    err: ModuleError,
    option: &str,
    why: &str,
    state: &str,
    what_next: &str,
    mut data: serde_json::Map<String, serde_json::Value>,
) -> ModuleError {
    let ModuleError::LeftRunning {
        cmd,
        seconds,
        pid,
        stdout,
        stderr,
    } = err
    else {
        return err;
    };
    data.insert("cmd".into(), cmd.clone().into());
    data.insert("pid".into(), pid.into());
    data.insert("left_running".into(), true.into());
    data.insert(
        "output_files".into(),
        serde_json::json!({"stdout": stdout, "stderr": stderr}),
    );
    ModuleError::failed_with(
        format!(
            "'{cmd}' did not finish within {seconds} s ({option}) and was left running (pid {pid}), not killed: {why}. \
             {state}. Wait for pid {pid} to end (its output goes to {stdout} and {stderr}), then {what_next}"
        ),
        data,
    )
}

pub fn first_line(a: &str, b: &str) -> String {
    a.lines()
        .chain(b.lines())
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output")
        .to_string()
}

fn parse_failed(what: &str) -> impl Fn(parse::ParseError) -> ModuleError + '_ {
    move |e| ModuleError::failed(format!("cannot read the output of weka {what}: {e}"))
}

/// A version option, checked: `module: option 'NAME' must be a WEKA release like 4.2.9, got 'X'`.
pub fn version_option(module: &str, name: &str, text: &str) -> Result<WekaVersion, ModuleError> {
    WekaVersion::parse(text).ok_or_else(|| {
        ModuleError::invalid_args(format!(
            "{module}: option '{name}' must be a WEKA release like 4.2.9 or 4.2.8.312, got '{text}'"
        ))
    })
}

/// The `upgrade_paths` option (the collection's data file as a mapping), else the built-in copy.
pub fn path_table(module: &str, given: Option<&serde_json::Value>) -> Result<crate::paths::Table, ModuleError> {
    match given {
        Some(v) => crate::paths::Table::from_value(v)
            .map_err(|e| ModuleError::invalid_args(format!("{module}: option 'upgrade_paths': {e}"))),
        None => Ok(crate::paths::Table::builtin()),
    }
}

/// Polls until no data upgrade runs; the seconds waited. The metadata conversion after a hop
/// must finish before the next upgrade may start.
pub fn wait_data_upgrade(ctx: &mut Ctx, weka: &Weka, timeout: Duration, poll: Duration) -> Result<u64, ModuleError> {
    ctx.poll(
        poll.max(Duration::from_secs(1)),
        Some(timeout),
        |ctx, started| {
            let status = weka.status(ctx)?;
            let running = match status.data_upgrade.as_ref().filter(|d| d.running()) {
                Some(d) => Some(format!(
                    "{} {}{}",
                    d.kind,
                    d.state,
                    d.progress.map(|p| format!(" ({p}%)")).unwrap_or_default()
                )),
                None => weka
                    .tasks(ctx)?
                    .into_iter()
                    .find(|t| t.running() && t.is_data_upgrade())
                    .map(|t| format!("{} {}", t.kind, t.state)),
            };
            Ok(match running {
                None => Poll::Ready(ctx.since(started).as_secs()),
                Some(what) => Poll::Pending(what),
            })
        },
        |what, _| {
            ModuleError::failed(format!(
                "the data upgrade is still running after {} s ({what}): do not start another upgrade until `weka \
                 status` shows it finished; raise data_upgrade_timeout to wait longer",
                timeout.as_secs()
            ))
        },
    )
}
