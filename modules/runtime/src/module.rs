//! The module entry point: read the args (a file, or stdin), pick and validate the module, run it,
//! and print exactly one JSON result, whatever happens (bad args, errors, panics).

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::args::{self, AnsibleContext, Constraints, Opt};
use crate::clock::{Clock, Moment, Poll, RealClock};
use crate::command::{CommandRunner, Commands, Output};
use crate::error::ModuleError;
use crate::masking::{Secrets, MASK};
use crate::result::ModuleResult;
use crate::spec::{Attribute, Fragment};

/// One module of the multi-call binary, and its spec: the options it takes (with those of the
/// fragments it extends), and everything its generated documentation says. A module is a
/// `pub const MODULE: ModuleDef = ModuleDef { name, options, run, ..., ..ModuleDef::BASE }`
/// listed in its binary (modules/keel/src/lib.rs).
pub struct ModuleDef {
    pub name: &'static str,
    /// The module's own options; those of `fragments` are added.
    pub options: &'static [Opt],
    /// Shared options and documentation (keel-gluster-cli's GLUSTER, keel-weka-cli's WEKA...).
    pub fragments: &'static [&'static Fragment],
    /// Groups of options of which at most one may be given.
    pub mutually_exclusive: &'static [&'static [&'static str]],
    /// Groups of options given all together or not at all.
    pub required_together: &'static [&'static [&'static str]],
    /// False: in check mode the module is skipped, as Ansible does for such modules.
    pub supports_check_mode: bool,
    pub run: fn(&mut Ctx, Map<String, Value>) -> Result<ModuleResult, ModuleError>,
    pub short_description: &'static str,
    pub version_added: &'static str,
    /// Paragraphs.
    pub description: &'static [&'static str],
    pub notes: &'static [&'static str],
    pub requirements: &'static [&'static str],
    /// check_mode and diff_mode (with their support and description), platform.
    pub attributes: &'static [Attribute],
    /// EXAMPLES: YAML text, as it appears in the documentation.
    pub examples: &'static str,
    /// RETURN: YAML text, as it appears in the documentation.
    pub returns: &'static str,
}

fn not_implemented(ctx: &mut Ctx, _: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    Err(ModuleError::failed(format!(
        "{}: this module has no implementation (a bug in Keel)",
        ctx.module
    )))
}

impl ModuleDef {
    /// What a module does not declare: `ModuleDef { name, ..., ..ModuleDef::BASE }`.
    pub const BASE: ModuleDef = ModuleDef {
        name: "",
        options: &[],
        fragments: &[],
        mutually_exclusive: &[],
        required_together: &[],
        supports_check_mode: true,
        run: not_implemented,
        short_description: "",
        version_added: "0.1.0",
        description: &[],
        notes: &[],
        requirements: &[],
        attributes: &[],
        examples: "",
        returns: "",
    };

    /// What the binaries sent to hosts keep of a spec: everything but the documentation text,
    /// unless this is a documentation build (feature `docs`). Evaluated at compile time by
    /// `keel_runtime::binary!`, so the text is never in those binaries.
    pub const fn shipped(self) -> ModuleDef {
        ModuleDef {
            short_description: crate::spec::doc_text(self.short_description),
            description: crate::spec::doc_list(self.description),
            notes: crate::spec::doc_list(self.notes),
            requirements: crate::spec::doc_list(self.requirements),
            attributes: if crate::spec::DOCS { self.attributes } else { &[] },
            examples: crate::spec::doc_text(self.examples),
            returns: crate::spec::doc_text(self.returns),
            ..self
        }
    }

    /// Every option the module takes: its own, then its fragments'.
    pub fn all_options(&self) -> Vec<&'static Opt> {
        self.options
            .iter()
            .chain(self.fragments.iter().flat_map(|f| f.options.iter()))
            .collect()
    }

    /// The spec as JSON (`BINARY --keel-spec`), for `cargo xtask collection`.
    pub fn spec_json(&self) -> Value {
        json!({
            "name": self.name,
            "options": self.options.iter().map(Opt::to_json).collect::<Vec<_>>(),
            "fragments": self.fragments.iter().map(|f| f.name).collect::<Vec<_>>(),
            "mutually_exclusive": self.mutually_exclusive,
            "required_together": self.required_together,
            "supports_check_mode": self.supports_check_mode,
            "short_description": self.short_description,
            "version_added": self.version_added,
            "description": self.description,
            "notes": self.notes,
            "requirements": self.requirements,
            "attributes": self.attributes.iter().map(Attribute::to_json).collect::<Vec<_>>(),
            "examples": self.examples,
            "return": returns_with_common(self.returns),
        })
    }
}

/// What every module returns, because the runtime adds it to every result: documented once here
/// and added to each module's RETURN (unless the module documents it itself).
const COMMON_RETURNS: [(&str, &str); 2] = [
    (
        "duration_s",
        "duration_s:
  description: How long the module ran, in seconds (ansible-core records no timing for binary modules).
  returned: always
  type: float
  sample: 2.4
",
    ),
    (
        "commands",
        "commands:
  description: Every command the module ran on the target, in order, one line each (secret values masked).
  returned: always
  type: list
  elements: str
",
    ),
];

/// A module's RETURN with the runtime's own return values first.
fn returns_with_common(returns: &str) -> String {
    let mut out = String::from("\n");
    for (key, doc) in COMMON_RETURNS {
        let documented = returns
            .lines()
            .any(|l| l.strip_prefix(key).is_some_and(|rest| rest.starts_with(':')));
        if !documented {
            out.push_str(crate::spec::doc_text(doc));
        }
    }
    out.push_str(returns.trim_start_matches('\n'));
    out
}

/// The specs of a binary's modules and of the fragments they extend (each once).
pub fn specs_json(modules: &[&ModuleDef]) -> Value {
    let mut fragments: Vec<&Fragment> = Vec::new();
    for f in modules.iter().flat_map(|m| m.fragments.iter()) {
        if !fragments.iter().any(|g| g.name == f.name) {
            fragments.push(f);
        }
    }
    json!({
        "modules": modules.iter().map(|m| m.spec_json()).collect::<Vec<_>>(),
        "fragments": fragments.iter().map(|f| f.to_json()).collect::<Vec<_>>(),
    })
}

/// What a running module may use: Ansible's context, a command runner, a clock, warnings.
/// Modules reach commands and time only through it (ARCHITECTURE.md, Invariants), so a test can
/// run a module in-process on a transcript and a fake clock (`Ctx::with`).
pub struct Ctx {
    pub module: &'static str,
    pub ansible: AnsibleContext,
    /// The real `Runner` unless a test gave another (`keel_runtime::script::Script`).
    pub runner: CommandRunner,
    clock: Box<dyn Clock>,
    pub warnings: Vec<String>,
}

impl Ctx {
    pub fn new(module: &'static str, ansible: AnsibleContext) -> Self {
        Ctx {
            module,
            ansible,
            runner: CommandRunner::default(),
            clock: Box::new(RealClock::default()),
            warnings: Vec::new(),
        }
    }
    /// A context with the given runner and clock (in-process tests: a transcript, a fake clock).
    pub fn with(
        module: &'static str,
        ansible: AnsibleContext,
        runner: Box<dyn Commands>,
        clock: Box<dyn Clock>,
    ) -> Self {
        Ctx {
            module,
            ansible,
            runner: CommandRunner::Other(runner),
            clock,
            warnings: Vec::new(),
        }
    }
    pub fn check_mode(&self) -> bool {
        self.ansible.check_mode
    }
    pub fn diff_mode(&self) -> bool {
        self.ansible.diff
    }
    pub fn warn(&mut self, msg: impl Into<String>) {
        self.warnings.push(msg.into());
    }
    pub fn run(&mut self, argv: &[&str], timeout: Duration) -> Result<Output, ModuleError> {
        self.runner.run_with_env(argv, &[], timeout)
    }
    /// `run` with variables added to the command's environment (credentials, for example).
    pub fn run_with_env(
        &mut self,
        argv: &[&str],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Output, ModuleError> {
        self.runner.run_with_env(argv, env, timeout)
    }
    /// The module's clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
    /// Now, on the module's monotonic clock.
    pub fn now(&self) -> Moment {
        self.clock.now()
    }
    /// The time since `earlier` (a `now()`).
    pub fn since(&self, earlier: Moment) -> Duration {
        self.clock.now().since(earlier)
    }
    pub fn sleep(&self, pause: Duration) {
        self.clock.sleep(pause)
    }
    /// The wall clock, for stamps kept between calls.
    pub fn wall(&self) -> SystemTime {
        self.clock.wall()
    }
    /// Seconds since the epoch on the wall clock.
    pub fn epoch_s(&self) -> u64 {
        self.epoch().as_secs()
    }
    /// The time since the epoch on the wall clock.
    pub fn epoch(&self) -> Duration {
        self.wall().duration_since(UNIX_EPOCH).unwrap_or_default()
    }
    /// The one polling loop: looks with `look` (given the context and the wait's start) until it
    /// is `Ready`; after a `Pending` look, once `limit` has passed since the first look, ends
    /// with `timed_out(what the look waits for, the time waited)`; else sleeps `every` and looks
    /// again. `limit` None: only `look` ends the wait. An error from `look` ends it at once.
    pub fn poll<T, W>(
        &mut self,
        every: Duration,
        limit: Option<Duration>,
        mut look: impl FnMut(&mut Ctx, Moment) -> Result<Poll<T, W>, ModuleError>,
        timed_out: impl FnOnce(W, Duration) -> ModuleError,
    ) -> Result<T, ModuleError> {
        let started = self.now();
        loop {
            match look(self, started)? {
                Poll::Ready(t) => return Ok(t),
                Poll::Pending(w) => {
                    let waited = self.since(started);
                    if limit.is_some_and(|l| waited >= l) {
                        return Err(timed_out(w, waited));
                    }
                }
            }
            self.sleep(every);
        }
    }

    /// `poll` with no limit: `look` alone ends the wait (it keeps its own time).
    pub fn poll_until_ready<T>(
        &mut self,
        every: Duration,
        look: impl FnMut(&mut Ctx, Moment) -> Result<Poll<T>, ModuleError>,
    ) -> Result<T, ModuleError> {
        self.poll(every, None, look, |(), _| {
            unreachable!("a wait with no limit does not time out")
        })
    }
}

/// Secrets known so far, for the panic hook.
static SECRETS: OnceLock<Mutex<Secrets>> = OnceLock::new();
static MODULE_NAME: OnceLock<Mutex<String>> = OnceLock::new();

fn secrets() -> Secrets {
    SECRETS
        .get()
        .and_then(|m| m.lock().ok().map(|s| s.clone()))
        .unwrap_or_default()
}

/// Runs the module named in the args file (argv[1]) and prints its result. Never returns an
/// error: every failure is a `failed: true` result.
pub fn main(modules: &[&ModuleDef]) -> ! {
    install_panic_hook();
    // For packaging checks: which modules this build holds.
    if std::env::args().nth(1).as_deref() == Some("--list-modules") {
        for m in modules {
            println!("{}", m.name);
        }
        std::process::exit(0);
    }
    // For `cargo xtask collection`: the specs the documentation and routing are generated from.
    // Only a documentation build has the specs' text; the binaries sent to hosts leave the
    // printer out altogether.
    if std::env::args().nth(1).as_deref() == Some(KEEL_SPEC) {
        if crate::spec::DOCS {
            emit(&specs_json(modules));
        } else {
            emit(
                &error_result(ModuleError::invalid_args(
                    "this build carries no documentation: the specs come from a build with the docs feature \
                     (cargo build -p keel-modules --features docs, as cargo xtask collection does)",
                ))
                .to_json(),
            );
        }
        std::process::exit(0);
    }
    let (value, secrets) = match dispatch(modules) {
        Ok(pair) => pair,
        Err(e) => (error_result(e).to_json(), Secrets::default()),
    };
    emit(&secrets.mask_value(value));
    std::process::exit(0);
}

/// In place of the args file: the args come on stdin (the action plugin's binary cache sends them
/// so, keeping them off every command line and file).
pub const ARGS_ON_STDIN: &str = "--args-stdin";
/// In place of the args file: print the modules' specs as JSON.
pub const KEEL_SPEC: &str = "--keel-spec";

fn dispatch(modules: &[&ModuleDef]) -> Result<(Value, Secrets), ModuleError> {
    let names = || modules.iter().map(|m| m.name).collect::<Vec<_>>().join(", ");
    let path = std::env::args().nth(1).ok_or_else(|| {
        let program = std::env::args().next().unwrap_or_default();
        let program = program.rsplit('/').next().unwrap_or("keel");
        ModuleError::invalid_args(format!(
            "usage: {program} ARGS_FILE, or {program} {ARGS_ON_STDIN} with the args on stdin (an Ansible binary \
             module; run it through ansible-core). Modules: {}",
            names()
        ))
    })?;
    let text = if path == ARGS_ON_STDIN {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
            .map_err(|e| ModuleError::invalid_args(format!("cannot read the args on stdin: {e}")))?;
        text
    } else {
        std::fs::read_to_string(&path)
            .map_err(|e| ModuleError::invalid_args(format!("cannot read the args file {path}: {e}")))?
    };
    let raw = args::parse_args_text(&text)?;
    let wanted = raw.keel_module.clone().ok_or_else(|| {
        ModuleError::invalid_args(format!(
            "no module named: the keel.storage action plugin sets _keel_module; call modules by their \
             names (keel.storage.NAME), not the binary. Modules: {}",
            names()
        ))
    })?;
    let def = modules
        .iter()
        .find(|m| m.name == wanted)
        .ok_or_else(|| ModuleError::invalid_args(format!("unknown module '{wanted}'; this build has: {}", names())))?;
    Ok(run_module(def, raw))
}

/// Validates, runs and renders one module; the secrets come back so the caller masks output.
pub fn run_module(def: &ModuleDef, raw: args::RawArgs) -> (Value, Secrets) {
    let ctx = Ctx::new(def.name, raw.context.clone());
    run_module_in(def, raw, ctx)
}

/// `run_module` with a given context: in-process module tests run a module so, on a transcript
/// and a fake clock (`Ctx::with`), and get the result the binary would print (unmasked).
pub fn run_module_in(def: &ModuleDef, raw: args::RawArgs, mut ctx: Ctx) -> (Value, Secrets) {
    ctx.module = def.name;
    ctx.ansible = raw.context.clone();
    if let Some(m) = MODULE_NAME
        .get_or_init(|| Mutex::new(String::new()))
        .lock()
        .ok()
        .as_mut()
    {
        **m = def.name.to_string();
    }
    let options = def.all_options();
    let secret_opts: Vec<&Opt> = options.iter().copied().filter(|o| o.secret).collect();
    // A secret given under an alias is as secret.
    let given = |o: &Opt| o.names().filter_map(|n| raw.user.get(n)).collect::<Vec<_>>();
    let credentials = options
        .iter()
        .filter(|o| o.credentials)
        .flat_map(|o| given(o))
        .filter_map(|v| v.as_str())
        .flat_map(crate::masking::url_credentials);
    let secrets = Secrets::new(
        secret_opts
            .iter()
            .flat_map(|o| given(o))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .chain(credentials)
            .collect(),
    );
    if let Ok(mut s) = SECRETS.get_or_init(|| Mutex::new(Secrets::default())).lock() {
        *s = secrets.clone();
    }
    let invocation = invocation(&raw.user, &secret_opts);
    let started = ctx.now();
    let constraints = Constraints {
        mutually_exclusive: def.mutually_exclusive,
        required_together: def.required_together,
    };
    let outcome = args::validate(def.name, &options, &constraints, &raw.user).and_then(|opts| {
        if ctx.check_mode() && !def.supports_check_mode {
            let mut r = ModuleResult::new(
                false,
                format!("remote module ({}) does not support check mode", def.name),
            );
            r.skipped = true;
            return Ok(r);
        }
        (def.run)(&mut ctx, opts)
    });
    let mut result = match outcome {
        Ok(r) => r,
        Err(e) => error_result(e),
    };
    result.warnings.splice(0..0, std::mem::take(&mut ctx.warnings));
    if !ctx.ansible.diff {
        result.diff = None;
    }
    let mut value = result.to_json();
    if let Value::Object(map) = &mut value {
        map.insert("commands".into(), json!(ctx.runner.history()));
        // Binary modules get no timing from ansible-core; reports and operators want each step's.
        map.insert(
            "duration_s".into(),
            json!((ctx.since(started).as_secs_f64() * 10.0).round() / 10.0),
        );
        map.insert("invocation".into(), json!({ "module_args": invocation }));
    }
    (value, secrets)
}

/// The user's options as given, with secret options replaced whole (whatever their type).
fn invocation(user: &Map<String, Value>, secret_opts: &[&Opt]) -> Value {
    let mut args = user.clone();
    for name in secret_opts.iter().flat_map(|o| o.names()) {
        if let Some(v) = args.get_mut(name) {
            *v = json!(MASK);
        }
    }
    Value::Object(args)
}

pub fn error_result(err: ModuleError) -> ModuleResult {
    let mut r = ModuleResult {
        failed: true,
        msg: err.to_string(),
        ..Default::default()
    };
    match err {
        ModuleError::Command { output, .. } => {
            r.rc = Some(output.rc);
            r.stdout = Some(output.stdout);
            r.stderr = Some(output.stderr);
            r.data.insert("cmd".into(), json!(output.cmd));
        }
        ModuleError::Failed { data, .. } => r.data = data,
        ModuleError::Timeout { cmd, .. } => {
            r.data.insert("cmd".into(), json!(cmd));
        }
        _ => {}
    }
    r
}

fn emit(value: &Value) {
    let text = serde_json::to_string(value)
        .unwrap_or_else(|_| r#"{"failed": true, "msg": "keel: the result could not be serialized"}"#.into());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// A panic is a bug in Keel, but the operator still gets one JSON result saying where, with
/// secrets masked, instead of a bare backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let module = MODULE_NAME
            .get()
            .and_then(|m| m.lock().ok().map(|s| s.clone()))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "keel".into());
        let msg = format!(
            "internal error in keel.storage.{module}: {what}{place}. This is a bug in Keel; nothing after \
             this point ran. Report it with this message."
        );
        emit(&secrets().mask_value(json!({"failed": true, "changed": false, "msg": msg})));
        std::process::exit(1);
    }));
}
