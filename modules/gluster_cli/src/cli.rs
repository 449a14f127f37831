//! Running the gluster CLI through the runtime's runner, with failures turned into messages an
//! operator can act on (gluster missing, glusterd down, gluster's own error string).

use std::time::Duration;

use keel_runtime::{Attribute, Ctx, Fragment, Kind, ModuleError, Opt, Output, READ_ONLY_ATTRIBUTES};

use crate::parse::{self, BrickHeal, GlusterVersion, Peer, VolumeInfo, VolumeStatus};

/// gluster's own CLI timeout, the default of the modules' `command_timeout` option (GLUSTER).
pub const DEFAULT_TIMEOUT_S: u64 = 120;

/// What every Gluster module that runs the gluster CLI takes and documents alike (the doc
/// fragment keel.storage.gluster).
pub const GLUSTER: Fragment = Fragment {
    options: &[Opt::new("command_timeout", Kind::Duration)
        .aliases(&["timeout"])
        .default_str("120")
        .doc(&["Time each gluster command may take, in seconds or with a unit (C(90s), C(5m))."])],
    attributes: &[Attribute::platform(
        "posix",
        "Linux x86_64 Gluster servers with the gluster CLI and a running glusterd; no Python needed.",
    )],
    requirements: &["GlusterFS 3.13 or later (the C(gluster) CLI) and a running C(glusterd) on the target."],
    ..Fragment::new(
        "keel.storage.gluster",
        "What every keel.storage Gluster module documents alike.",
    )
};

/// Read-only Gluster modules: facts and checks (keel.storage.gluster.read_only).
pub const GLUSTER_READ_ONLY: Fragment = Fragment {
    attributes: READ_ONLY_ATTRIBUTES,
    ..Fragment::new("keel.storage.gluster.read_only", "Read-only modules: facts and checks.")
};

/// The gluster CLI on this host.
#[derive(Debug, Clone)]
pub struct Gluster {
    /// Passed to gluster as `--timeout` (its default is 120 s); the process gets a little more.
    pub timeout: Duration,
}

impl Default for Gluster {
    fn default() -> Self {
        Gluster {
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_S),
        }
    }
}

/// What gluster prints when glusterd does not answer on this host.
const NO_GLUSTERD: &str = "Connection failed";

/// glusterd's answer while another transaction (a command run on another server, by another
/// tool, or a heal trigger) holds the volume's or the cluster's lock: the command did not run,
/// so asking again is safe. Captured on 10.3: "Another transaction is in progress for gv0. Please
/// try again after some time." (heal trigger: rc 1; `--xml volume status`: rc 0, opRet -1).
pub fn lock_busy(text: &str) -> bool {
    text.contains("Another transaction is in progress") || text.contains("Locking failed on")
}

impl Gluster {
    /// Runs `argv` (a gluster command line), asking again while another transaction holds the
    /// lock, for up to the CLI timeout; the last answer is returned either way.
    pub fn run(&self, ctx: &mut Ctx, argv: &[&str]) -> Result<Output, ModuleError> {
        let started = ctx.now();
        let mut pause = Duration::from_millis(500);
        loop {
            let out = self.exec(ctx, argv)?;
            if !(lock_busy(&out.stdout) || lock_busy(&out.stderr)) || ctx.since(started) + pause > self.timeout {
                return Ok(out);
            }
            ctx.sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    fn exec(&self, ctx: &mut Ctx, argv: &[&str]) -> Result<Output, ModuleError> {
        ctx.run(argv, self.timeout + Duration::from_secs(10))
            .map_err(|e| match e {
                ModuleError::NotFound { program, path, .. } => ModuleError::NotFound {
                    program,
                    path,
                    hint: "Install the GlusterFS server packages (glusterfs-server, which provides the gluster \
                       CLI) on this host, or run this task only on the Gluster servers."
                        .into(),
                },
                other => other,
            })
    }

    /// `gluster --mode=script --xml ARGS`: the XML text, once the exit code says it ran.
    pub fn xml(&self, ctx: &mut Ctx, args: &[&str]) -> Result<String, ModuleError> {
        let timeout = format!("--timeout={}", self.timeout.as_secs().max(1));
        let mut argv = vec!["gluster", "--mode=script", "--xml", timeout.as_str()];
        argv.extend_from_slice(args);
        let out = self.run(ctx, &argv)?;
        if lock_busy(&out.stdout) || lock_busy(&out.stderr) {
            return Err(ModuleError::command(
                format!(
                    "'{}': another gluster transaction kept the lock for {} s ({}): run it again once the other \
                     command (on another server, or by another tool) is done",
                    out.cmd,
                    self.timeout.as_secs(),
                    first_line(&out.stderr, &busy_line(&out.stdout)),
                ),
                out,
            ));
        }
        let out = glusterd_answered(out)?;
        if !out.success() {
            // The XML envelope usually carries gluster's reason; fall back to its stderr.
            let why = match parse::check_envelope(&out.stdout) {
                Err(e @ parse::ParseError::OpFailed { .. }) => e.to_string(),
                _ => first_line(&out.stderr, &out.stdout),
            };
            return Err(ModuleError::command(
                format!("'{}' failed (rc {}): {why}", out.cmd, out.rc),
                out,
            ));
        }
        Ok(out.stdout)
    }

    pub fn version(&self, ctx: &mut Ctx) -> Result<GlusterVersion, ModuleError> {
        let out = self.exec(ctx, &["gluster", "--version"])?;
        if !out.success() {
            let why = first_line(&out.stderr, &out.stdout);
            return Err(ModuleError::command(
                format!("'gluster --version' failed (rc {}): {why}", out.rc),
                out,
            ));
        }
        parse::parse_version(&out.stdout)
            .map_err(|e| ModuleError::command(format!("cannot tell the installed Gluster version: {e}"), out))
    }

    pub fn peers(&self, ctx: &mut Ctx) -> Result<Vec<Peer>, ModuleError> {
        let xml = self.xml(ctx, &["pool", "list"])?;
        parse::parse_peers(&xml).map_err(parse_failed("pool list"))
    }

    pub fn volume_info(&self, ctx: &mut Ctx) -> Result<Vec<VolumeInfo>, ModuleError> {
        let xml = self.xml(ctx, &["volume", "info", "all"])?;
        parse::parse_volume_info(&xml).map_err(parse_failed("volume info"))
    }

    /// Status of every started volume (stopped volumes are not listed by gluster).
    pub fn volume_status(&self, ctx: &mut Ctx) -> Result<Vec<VolumeStatus>, ModuleError> {
        let xml = self.xml(ctx, &["volume", "status", "all"])?;
        parse::parse_volume_status(&xml).map_err(parse_failed("volume status"))
    }

    /// Per-brick heal counts from `heal VOL info summary`: cheap even with a huge backlog,
    /// unlike `heal VOL info`, which lists every entry.
    pub fn heal_summary(&self, ctx: &mut Ctx, volume: &str) -> Result<Vec<BrickHeal>, ModuleError> {
        let xml = self.xml(ctx, &["volume", "heal", volume, "info", "summary"])?;
        parse::parse_heal_summary(&xml).map_err(parse_failed("heal info summary"))
    }

    /// Every connection to every brick of every started volume, with the op-version each client
    /// supports (`volume status all clients`); none when no volume is started.
    pub fn clients(&self, ctx: &mut Ctx) -> Result<Vec<crate::clients::BrickClient>, ModuleError> {
        match self.xml(ctx, &["volume", "status", "all", "clients"]) {
            Ok(xml) => crate::clients::parse_volume_clients(&xml).map_err(parse_failed("volume status all clients")),
            Err(ModuleError::Command { output, .. })
                if matches!(parse::check_envelope(&output.stdout),
                            Err(parse::ParseError::OpFailed { ref op_errstr, .. }) if op_errstr.contains("No volumes present")) =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// `cluster.op-version` or `cluster.max-op-version`.
    pub fn op_version(&self, ctx: &mut Ctx, option: &str) -> Result<u64, ModuleError> {
        let xml = self.xml(ctx, &["volume", "get", "all", option])?;
        parse::parse_op_version(&xml, option).map_err(parse_failed(option))
    }
}

/// The answer, or the error that says glusterd is down when gluster could not reach it.
pub fn glusterd_answered(out: Output) -> Result<Output, ModuleError> {
    if out.stdout.contains(NO_GLUSTERD) || out.stderr.contains(NO_GLUSTERD) {
        return Err(ModuleError::command(
            "glusterd is not running or not answering on this host (gluster: 'Connection failed. Please check \
             if gluster daemon is operational.'): start it (systemctl start glusterd, or run glusterd where \
             there is no systemd) and retry",
            out,
        ));
    }
    Ok(out)
}

/// glusterd's lock message out of an XML answer (its opErrstr), or the text as it is.
fn busy_line(text: &str) -> String {
    text.lines()
        .map(|l| {
            l.trim()
                .trim_start_matches("<opErrstr>")
                .trim_end_matches("</opErrstr>")
        })
        .find(|l| lock_busy(l))
        .unwrap_or(text)
        .to_string()
}

fn first_line(a: &str, b: &str) -> String {
    a.lines()
        .chain(b.lines())
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output")
        .to_string()
}

fn parse_failed(what: &str) -> impl Fn(parse::ParseError) -> ModuleError + '_ {
    move |e| ModuleError::failed(format!("cannot read the output of gluster {what}: {e}"))
}
