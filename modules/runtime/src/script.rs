//! A command runner for in-process module tests: each argv gets the answers a transcript gives
//! it (stdout, stderr, rc), in turn, the last one repeated; nothing is run. With a `FakeClock`
//! (`Ctx::with`), a module's waits run on the transcript without sleeping.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::command::{display, Commands, Output};
use crate::error::ModuleError;

/// One scripted answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Answer {
    pub fn ok(stdout: impl Into<String>) -> Self {
        Answer {
            stdout: stdout.into(),
            ..Default::default()
        }
    }
    pub fn fail(rc: i32, stdout: impl Into<String>, stderr: impl Into<String>) -> Self {
        Answer {
            rc,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }
}

/// What answers an argv the transcript does not list (fixtures looked up by the command's words,
/// as tests/fake-bin's programs do); None: the test did not expect it.
pub type Responder = Arc<dyn Fn(&[&str]) -> Option<Answer> + Send + Sync>;

/// argv -> answers. Clones share the transcript and the record of what ran, so a test keeps
/// one to change the answers between looks or to read the commands.
#[derive(Clone, Default)]
pub struct Script {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default)]
struct Inner {
    answers: Vec<(Vec<String>, VecDeque<Answer>)>,
    responder: Option<Responder>,
    history: Vec<String>,
}

impl Script {
    pub fn new() -> Self {
        Self::default()
    }
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }
    /// A script that answers every argv it does not list with `responder`.
    pub fn answering(responder: impl Fn(&[&str]) -> Option<Answer> + Send + Sync + 'static) -> Self {
        let s = Self::default();
        s.with(|i| i.responder = Some(Arc::new(responder)));
        s
    }
    /// Adds `answer` for `argv`, after those it already has.
    pub fn on(self, argv: &[&str], answer: Answer) -> Self {
        self.add(argv, answer);
        self
    }
    /// `on`, through a shared handle.
    pub fn add(&self, argv: &[&str], answer: Answer) {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        self.with(|i| match i.answers.iter_mut().find(|(a, _)| *a == argv) {
            Some((_, q)) => q.push_back(answer),
            None => i.answers.push((argv, VecDeque::from([answer]))),
        })
    }
    /// From now on `argv` gets `answer` only (the answers it had are dropped).
    pub fn set(&self, argv: &[&str], answer: Answer) {
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        self.with(|i| {
            i.answers.retain(|(a, _)| *a != argv);
            i.answers.push((argv, VecDeque::from([answer])));
        })
    }
    /// The commands run so far, as shown in a result.
    pub fn history(&self) -> Vec<String> {
        self.with(|i| i.history.clone())
    }
    fn answer(&self, argv: &[&str]) -> Result<Output, ModuleError> {
        let cmd = display(argv);
        self.with(|i| {
            i.history.push(cmd.clone());
            let q = i
                .answers
                .iter_mut()
                .find(|(a, _)| a.iter().map(String::as_str).eq(argv.iter().copied()))
                .map(|(_, q)| q);
            let a = match q {
                Some(q) if q.len() > 1 => q.pop_front().unwrap_or_default(),
                Some(q) => q.front().cloned().unwrap_or_default(),
                None => match i.responder.as_ref().and_then(|r| r(argv)) {
                    Some(a) => a,
                    None => panic!("the test's script has no answer for: {cmd}"),
                },
            };
            Ok(Output {
                cmd,
                rc: a.rc,
                stdout: a.stdout,
                stderr: a.stderr,
                duration_ms: 0,
            })
        })
    }
}

impl Commands for Script {
    fn run_with_env(
        &mut self,
        argv: &[&str],
        _env: &[(&str, &str)],
        _timeout: Duration,
    ) -> Result<Output, ModuleError> {
        self.answer(argv)
    }
    fn run_unkillable(
        &mut self,
        argv: &[&str],
        _env: &[(&str, &str)],
        _timeout: Duration,
    ) -> Result<Output, ModuleError> {
        self.answer(argv)
    }
    fn spawn_detached(&mut self, argv: &[&str]) -> Result<u32, ModuleError> {
        self.answer(argv).map(|_| 0)
    }
    fn record(&mut self, shown: String) {
        self.with(|i| i.history.push(shown))
    }
    fn history(&self) -> Vec<String> {
        Script::history(self)
    }
}

/// Runs `def` in-process with `args` (a JSON object, as in an args file) on `script` and `clock`:
/// the result the binary would print, masked. Nothing runs and nothing sleeps.
pub fn run_module(
    def: &crate::ModuleDef,
    args: &serde_json::Value,
    script: &Script,
    clock: &crate::FakeClock,
) -> serde_json::Value {
    let raw = crate::args::parse_args_text(&args.to_string()).expect("the test's args are a JSON object");
    let ctx = crate::Ctx::with(
        def.name,
        raw.context.clone(),
        Box::new(script.clone()),
        Box::new(clock.clone()),
    );
    let (value, secrets) = crate::module::run_module_in(def, raw, ctx);
    secrets.mask_value(value)
}
