//! Running programs on the target: argv only (never a shell), found with `which`, output
//! captured, a timeout enforced, and every command recorded for the result.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::ModuleError;

/// What one command did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Output {
    /// The command as an operator would type it (quoted for display only; never executed).
    pub cmd: String,
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
    /// Wall-clock time in milliseconds.
    pub duration_ms: u64,
}

impl Output {
    pub fn success(&self) -> bool {
        self.rc == 0
    }
}

/// How a module runs commands: `Ctx` holds one as a trait object, the real `Runner` outside
/// tests, a transcript (`crate::script::Script`) in in-process module tests.
pub trait Commands {
    /// See `Runner::run_with_env`.
    fn run_with_env(&mut self, argv: &[&str], env: &[(&str, &str)], timeout: Duration) -> Result<Output, ModuleError>;
    /// See `Runner::run_unkillable`.
    fn run_unkillable(&mut self, argv: &[&str], env: &[(&str, &str)], timeout: Duration)
        -> Result<Output, ModuleError>;
    /// See `Runner::spawn_detached`.
    fn spawn_detached(&mut self, argv: &[&str]) -> Result<u32, ModuleError>;
    /// `run_with_env` with no variables added.
    fn run(&mut self, argv: &[&str], timeout: Duration) -> Result<Output, ModuleError> {
        self.run_with_env(argv, &[], timeout)
    }
    /// Adds what the module did without a command (a signal sent, a folder removed) to the history,
    /// as an operator would type it.
    fn record(&mut self, shown: String);
    /// The commands run so far, as shown in the result.
    fn history(&self) -> Vec<String>;
}

/// What `Ctx` runs commands with: the real `Runner`, or another `Commands` (a test's `Script`).
/// An enum rather than only a trait object, so that a binary links only the runner methods its
/// modules call (a vtable would pull `run_unkillable` and `spawn_detached` into every binary).
pub enum CommandRunner {
    Real(Runner),
    Other(Box<dyn Commands>),
}

impl Default for CommandRunner {
    fn default() -> Self {
        CommandRunner::Real(Runner::default())
    }
}

impl CommandRunner {
    pub fn run_with_env(
        &mut self,
        argv: &[&str],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Output, ModuleError> {
        match self {
            CommandRunner::Real(r) => r.run_with_env(argv, env, timeout),
            CommandRunner::Other(o) => o.run_with_env(argv, env, timeout),
        }
    }
    pub fn run(&mut self, argv: &[&str], timeout: Duration) -> Result<Output, ModuleError> {
        self.run_with_env(argv, &[], timeout)
    }
    pub fn run_unkillable(
        &mut self,
        argv: &[&str],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Output, ModuleError> {
        match self {
            CommandRunner::Real(r) => r.run_unkillable(argv, env, timeout),
            CommandRunner::Other(o) => o.run_unkillable(argv, env, timeout),
        }
    }
    pub fn spawn_detached(&mut self, argv: &[&str]) -> Result<u32, ModuleError> {
        match self {
            CommandRunner::Real(r) => r.spawn_detached(argv),
            CommandRunner::Other(o) => o.spawn_detached(argv),
        }
    }
    /// See `Commands::record`.
    pub fn record(&mut self, shown: String) {
        match self {
            CommandRunner::Real(r) => r.history.push(shown),
            CommandRunner::Other(o) => o.record(shown),
        }
    }
    /// The commands run so far, as shown in the result.
    pub fn history(&self) -> Vec<String> {
        match self {
            CommandRunner::Real(r) => r.history.clone(),
            CommandRunner::Other(o) => o.history(),
        }
    }
}

/// Runs commands and remembers them, so the result can show what the module did.
#[derive(Debug, Default)]
pub struct Runner {
    pub history: Vec<String>,
}

impl Commands for Runner {
    fn run_with_env(&mut self, argv: &[&str], env: &[(&str, &str)], timeout: Duration) -> Result<Output, ModuleError> {
        Runner::run_with_env(self, argv, env, timeout)
    }
    fn run_unkillable(
        &mut self,
        argv: &[&str],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Output, ModuleError> {
        Runner::run_unkillable(self, argv, env, timeout)
    }
    fn spawn_detached(&mut self, argv: &[&str]) -> Result<u32, ModuleError> {
        Runner::spawn_detached(self, argv)
    }
    fn record(&mut self, shown: String) {
        self.history.push(shown)
    }
    fn history(&self) -> Vec<String> {
        self.history.clone()
    }
}

impl Runner {
    /// The program's path, its arguments and the command as shown, recorded in the history.
    fn prepare<'a>(&mut self, argv: &'a [&'a str]) -> Result<(std::path::PathBuf, &'a [&'a str], String), ModuleError> {
        let (program, args) = argv.split_first().ok_or_else(|| ModuleError::failed("empty command"))?;
        let path = locate(program)?;
        let cmd = display(argv);
        self.history.push(cmd.clone());
        Ok((path, args, cmd))
    }

    /// Runs `argv` with a C locale, no stdin and `timeout`; a non-zero exit is not an error here
    /// (callers decide), a missing program or a timeout is.
    pub fn run(&mut self, argv: &[&str], timeout: Duration) -> Result<Output, ModuleError> {
        self.run_with_env(argv, &[], timeout)
    }

    /// Like `run`, with `env` added to the command's environment. Values passed this way (tokens,
    /// passwords) never appear in the displayed command or the history. Each of stdout and stderr
    /// keeps at most `CAPTURE_LIMIT` bytes (`Capture`). Once the command has exited, or was killed
    /// at its timeout, the module waits at most `AFTER_EXIT` for the rest of its output and for the
    /// end of the process: a process it left in the background holding a pipe, or a process stuck
    /// in the kernel, never hangs the module.
    pub fn run_with_env(
        &mut self,
        argv: &[&str],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Output, ModuleError> {
        let (path, args, cmd) = self.prepare(argv)?;
        let started = Instant::now();
        let mut child = Command::new(&path)
            .args(args)
            .env("LC_ALL", "C")
            .env("LANG", "C")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Own process group, so a timeout kills the command and anything it started.
            .process_group(0)
            .spawn()
            .map_err(|e| ModuleError::failed(format!("could not start '{cmd}': {e}")))?;
        // Both pipes are read while waiting, or a chatty command blocks on a full pipe.
        let mut pipes = [
            child.stdout.take().map(OwnedFd::from),
            child.stderr.take().map(OwnedFd::from),
        ];
        let mut captured = [Capture::default(), Capture::default()];
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() < timeout => pump(&mut pipes, &mut captured),
                Ok(None) => {
                    kill_group(&mut child);
                    return Err(ModuleError::Timeout {
                        cmd,
                        seconds: timeout.as_secs(),
                    });
                }
                Err(e) => {
                    kill_group(&mut child);
                    return Err(ModuleError::failed(format!("waiting for '{cmd}' failed: {e}")));
                }
            }
        };
        let exited = Instant::now();
        while pipes.iter().any(Option::is_some) && exited.elapsed() < AFTER_EXIT {
            pump(&mut pipes, &mut captured);
        }
        let [out, mut err] = captured;
        if pipes.iter().any(Option::is_some) {
            err.note(&format!(
                "[keel: output no longer read {} s after the command exited: a process it started still holds it \
                 open]",
                AFTER_EXIT.as_secs()
            ));
        }
        let rc = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        Ok(Output {
            cmd,
            rc,
            stdout: out.into_string(),
            stderr: err.into_string(),
            duration_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// Like `run_with_env`, for a command that must never be killed half way (a package
    /// manager's transaction): on timeout the module stops waiting and the command goes on,
    /// detached, with `ModuleError::LeftRunning` naming its pid. It runs in a session of its own
    /// (no terminal hangup when the module's connection ends) and writes to files rather than
    /// pipes, which would break (SIGPIPE) once the module exits; the files are removed when it
    /// finishes in time and named in the error when it does not.
    pub fn run_unkillable(
        &mut self,
        argv: &[&str],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Output, ModuleError> {
        let (path, args, cmd) = self.prepare(argv)?;
        let (files, out, err) = OutputFiles::create(argv[0])?;
        let mut command = Command::new(&path);
        command
            .args(args)
            .env("LC_ALL", "C")
            .env("LANG", "C")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(std::io::Error::from));
        }
        let started = Instant::now();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                files.remove();
                return Err(ModuleError::failed(format!("could not start '{cmd}': {e}")));
            }
        };
        let pid = child.id();
        let status = match wait_until(&mut child, started + timeout) {
            Ok(Some(status)) => status,
            Ok(None) => {
                return Err(ModuleError::LeftRunning {
                    cmd,
                    seconds: timeout.as_secs(),
                    pid,
                    stdout: files.stdout.display().to_string(),
                    stderr: files.stderr.display().to_string(),
                })
            }
            Err(e) => {
                return Err(ModuleError::failed(format!(
                    "waiting for '{cmd}' (pid {pid}) failed: {e}; it was left running, not killed, its output goes to \
                     {}",
                    files.stdout.display()
                )))
            }
        };
        let rc = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        let read = |p: &std::path::Path| {
            let mut c = Capture::default();
            if let Ok(mut f) = std::fs::File::open(p) {
                let mut buf = [0u8; 65536];
                while let Ok(n @ 1..) = f.read(&mut buf) {
                    c.push(&buf[..n]);
                }
            }
            c.into_string()
        };
        let out = Output {
            cmd,
            rc,
            stdout: read(&files.stdout),
            stderr: read(&files.stderr),
            duration_ms: started.elapsed().as_millis() as u64,
        };
        files.remove();
        Ok(out)
    }

    /// Starts `argv` in a session of its own with no stdin/stdout/stderr and does not wait: for
    /// daemons that must outlive the module (a service restarted where there is no systemd).
    pub fn spawn_detached(&mut self, argv: &[&str]) -> Result<u32, ModuleError> {
        let (path, args, cmd) = self.prepare(argv)?;
        let mut command = Command::new(&path);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(std::io::Error::from));
        }
        let child = command
            .spawn()
            .map_err(|e| ModuleError::failed(format!("could not start '{cmd}': {e}")))?;
        Ok(child.id())
    }
}

/// Where an unkillable command writes: two files of the module's own in the temporary folder,
/// created exclusively so that an existing file or link there is never written through.
struct OutputFiles {
    stdout: std::path::PathBuf,
    stderr: std::path::PathBuf,
}

impl OutputFiles {
    /// The paths and the two files opened for writing.
    fn create(program: &str) -> Result<(Self, std::fs::File, std::fs::File), ModuleError> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let base = format!(
            "keel-{}-{}-{stamp}",
            program.rsplit('/').next().unwrap_or(program),
            std::process::id()
        );
        let dir = std::env::temp_dir();
        let files = OutputFiles {
            stdout: dir.join(format!("{base}.stdout")),
            stderr: dir.join(format!("{base}.stderr")),
        };
        let out = open_new(&files.stdout)?;
        let err = open_new(&files.stderr).inspect_err(|_| {
            let _ = std::fs::remove_file(&files.stdout);
        })?;
        Ok((files, out, err))
    }

    fn remove(&self) {
        let _ = std::fs::remove_file(&self.stdout);
        let _ = std::fs::remove_file(&self.stderr);
    }
}

fn open_new(path: &std::path::Path) -> Result<std::fs::File, ModuleError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            ModuleError::failed(format!(
                "cannot create {} for the command's output: {e}; set TMPDIR to a writable folder",
                path.display()
            ))
        })
}

/// Whether `program` is on PATH (to pick between tools, e.g. apt-get or dnf).
pub fn program_exists(program: &str) -> bool {
    find_program(program).is_ok()
}

/// Where `program` is found (a path as given, else on PATH), as the runner would run it.
pub fn locate_program(program: &str) -> Option<std::path::PathBuf> {
    find_program(program).ok()
}

fn locate(program: &str) -> Result<std::path::PathBuf, ModuleError> {
    find_program(program).map_err(|_| ModuleError::NotFound {
        program: program.to_string(),
        path: std::env::var("PATH").unwrap_or_default(),
        hint: String::new(),
    })
}

/// `which` over PATH, with a file-system view that never asks NSS for a home directory: a
/// static glibc binary would otherwise link the whole NSS and DNS resolver (about 130 KB) and
/// need the host's shared NSS libraries at run time anyway.
fn find_program(program: &str) -> which::Result<std::path::PathBuf> {
    let cwd = std::env::current_dir().ok();
    let mut config = which::WhichConfig::new_with_sys(TargetSys).binary_name(program.into());
    if let Some(cwd) = cwd {
        config = config.custom_cwd(cwd);
    }
    config.first_result()
}

#[derive(Clone, Copy)]
struct TargetSys;

impl which::sys::Sys for TargetSys {
    type ReadDirEntry = std::fs::DirEntry;
    type Metadata = std::fs::Metadata;

    fn is_windows(&self) -> bool {
        false
    }
    fn current_dir(&self) -> std::io::Result<std::path::PathBuf> {
        std::env::current_dir()
    }
    fn home_dir(&self) -> Option<std::path::PathBuf> {
        std::env::var_os("HOME").map(Into::into)
    }
    fn env_split_paths(&self, paths: &std::ffi::OsStr) -> Vec<std::path::PathBuf> {
        std::env::split_paths(paths).collect()
    }
    fn env_path(&self) -> Option<std::ffi::OsString> {
        std::env::var_os("PATH")
    }
    fn env_path_ext(&self) -> Option<std::ffi::OsString> {
        None
    }
    fn metadata(&self, path: &std::path::Path) -> std::io::Result<Self::Metadata> {
        std::fs::metadata(path)
    }
    fn symlink_metadata(&self, path: &std::path::Path) -> std::io::Result<Self::Metadata> {
        std::fs::symlink_metadata(path)
    }
    fn read_dir(
        &self,
        path: &std::path::Path,
    ) -> std::io::Result<Box<dyn Iterator<Item = std::io::Result<Self::ReadDirEntry>>>> {
        Ok(Box::new(std::fs::read_dir(path)?))
    }
    fn is_valid_executable(&self, path: &std::path::Path) -> std::io::Result<bool> {
        Ok(nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok())
    }
}

/// How long the output of a command that has exited (or was killed) is still read, and how
/// long a killed command is waited for.
const AFTER_EXIT: Duration = Duration::from_secs(2);

/// At most this many bytes of each of a command's stdout and stderr are kept: the first and the
/// last half, where a command says what it is and how it ended.
pub const CAPTURE_LIMIT: usize = 16 << 20;

/// A command's output, bounded: past `CAPTURE_LIMIT` the middle is cut and a line in its place
/// says how many bytes went.
#[derive(Default)]
struct Capture {
    head: Vec<u8>,
    tail: Vec<u8>,
    cut: usize,
}

impl Capture {
    fn push(&mut self, mut data: &[u8]) {
        let half = CAPTURE_LIMIT / 2;
        let room = half.saturating_sub(self.head.len()).min(data.len());
        self.head.extend_from_slice(&data[..room]);
        data = &data[room..];
        self.tail.extend_from_slice(data);
        // Trimmed in batches, so that a long stream costs linear time.
        if self.tail.len() >= 2 * half {
            let excess = self.tail.len() - half;
            self.tail.drain(..excess);
            self.cut += excess;
        }
    }

    /// A line of the module's own at the end.
    fn note(&mut self, line: &str) {
        let sep = if self.tail.is_empty() && self.head.is_empty() {
            ""
        } else {
            "\n"
        };
        let text = format!("{sep}{line}\n");
        self.tail.extend_from_slice(text.as_bytes());
    }

    fn into_string(mut self) -> String {
        let half = CAPTURE_LIMIT / 2;
        if self.tail.len() > half {
            let excess = self.tail.len() - half;
            self.tail.drain(..excess);
            self.cut += excess;
        }
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.cut > 0 {
            text.push_str(&format!(
                "\n[keel: {} bytes of output cut here, over the limit of {} MiB]\n",
                self.cut,
                CAPTURE_LIMIT >> 20
            ));
        }
        text.push_str(&String::from_utf8_lossy(&self.tail));
        text
    }
}

/// Waits up to 10 ms for output on the open pipes and reads what came; a pipe at its end (or
/// failing) is closed. With no pipe open it only sleeps, so callers can poll the process.
fn pump(pipes: &mut [Option<OwnedFd>; 2], captured: &mut [Capture; 2]) {
    use nix::poll::{poll, PollFd, PollFlags};
    let open: Vec<usize> = (0..2).filter(|&i| pipes[i].is_some()).collect();
    if open.is_empty() {
        std::thread::sleep(Duration::from_millis(10));
        return;
    }
    let mut fds: Vec<PollFd> = open
        .iter()
        .filter_map(|&i| pipes[i].as_ref())
        .map(|fd| PollFd::new(fd.as_fd(), PollFlags::POLLIN))
        .collect();
    if poll(&mut fds, 10u8).unwrap_or(0) <= 0 {
        return;
    }
    let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
    drop(fds);
    let mut buf = [0u8; 65536];
    for (&i, ready) in open.iter().zip(ready) {
        if !ready {
            continue;
        }
        let read = pipes[i].as_ref().map(|fd| nix::unistd::read(fd, &mut buf));
        match read {
            Some(Ok(n)) if n > 0 => captured[i].push(&buf[..n]),
            Some(Err(nix::errno::Errno::EINTR)) => {}
            _ => pipes[i] = None,
        }
    }
}

/// The child's status once it exits, None at `deadline`.
fn wait_until(child: &mut Child, deadline: Instant) -> std::io::Result<Option<std::process::ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `check` run in a forked child, so that a call blocked in the kernel (a stat of a hung FUSE
/// mount) blocks only the child: its answer, or None when it gives none within `timeout` (the
/// child is then killed, and not waited for: the kernel may hold it a while longer).
pub fn in_child(timeout: Duration, check: impl FnOnce() -> bool) -> Option<bool> {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    use nix::unistd::{fork, ForkResult};
    // SAFETY: the child makes only system calls (what `check` does) and leaves with _exit,
    // never returning into the parent's code or running its destructors.
    let child = match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            // A child stuck past the module's end must not hold its output open: ansible-core
            // reads the result until every holder has closed it.
            for fd in 0..3 {
                unsafe { nix::libc::close(fd) };
            }
            let code = if check() { 0 } else { 1 };
            unsafe { nix::libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(_) => return None,
    };
    let started = std::time::Instant::now();
    loop {
        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Some(code == 0),
            Ok(WaitStatus::StillAlive) if started.elapsed() < timeout => std::thread::sleep(Duration::from_millis(10)),
            Ok(WaitStatus::StillAlive) => {
                let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
                let _ = waitpid(child, Some(WaitPidFlag::WNOHANG));
                return None;
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// Kills the command's process group and reaps the command, waiting at most `AFTER_EXIT`: a
/// process stuck in the kernel (a hung mount) cannot hang the module.
fn kill_group(child: &mut Child) {
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::Pid;
    let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    let _ = child.kill();
    let _ = wait_until(child, Instant::now() + AFTER_EXIT);
}

/// Quotes argv for display the way a POSIX shell would read it back.
pub fn display(argv: &[&str]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                a.to_string()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_exit_code_without_a_shell() {
        let mut r = Runner::default();
        let out = r
            .run(&["sh", "-c", "echo out; echo err >&2; exit 3"], Duration::from_secs(10))
            .unwrap();
        assert_eq!(
            (out.rc, out.stdout.as_str(), out.stderr.as_str()),
            (3, "out\n", "err\n")
        );
        // A metacharacter in an argument is data, not shell syntax.
        let out = r.run(&["echo", "a;b", "$(id)"], Duration::from_secs(10)).unwrap();
        assert_eq!(out.stdout, "a;b $(id)\n");
        assert_eq!(r.history[1], "echo 'a;b' '$(id)'");
    }

    #[test]
    fn env_reaches_the_command_but_not_the_history() {
        let mut r = Runner::default();
        let out = r
            .run_with_env(
                &["sh", "-c", "echo $KEEL_T"],
                &[("KEEL_T", "tok-1")],
                Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!(out.stdout, "tok-1\n");
        assert!(!r.history[0].contains("tok-1"));
    }

    #[test]
    fn missing_program_is_not_found() {
        let err = Runner::default()
            .run(&["keel-no-such-program"], Duration::from_secs(1))
            .unwrap_err();
        assert!(matches!(err, ModuleError::NotFound { .. }), "{err:?}");
    }

    #[test]
    fn timeout_kills_the_command_and_its_children() {
        let started = Instant::now();
        let err = Runner::default()
            .run(&["sh", "-c", "sleep 30 & sleep 30"], Duration::from_millis(300))
            .unwrap_err();
        assert!(matches!(err, ModuleError::Timeout { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn output_over_the_limit_keeps_its_head_and_tail_and_says_how_much_was_cut() {
        // 40 MB on each stream, with a start and an end marker.
        let script = "gen() { printf \"$1\"; head -c 40000000 /dev/zero | tr '\\0' x; printf END; }; \
                      gen OUT-START & gen ERR-START >&2; wait";
        let out = Runner::default()
            .run(&["sh", "-c", script], Duration::from_secs(60))
            .unwrap();
        for (text, start) in [(&out.stdout, "OUT-START"), (&out.stderr, "ERR-START")] {
            let total = start.len() + 40_000_000 + 3;
            let cut = total - CAPTURE_LIMIT;
            assert!(text.starts_with(start) && text.ends_with("xEND"), "{}", &text[..40]);
            let marker = format!("\n[keel: {cut} bytes of output cut here, over the limit of 16 MiB]\n");
            assert_eq!(text.matches(&marker).count(), 1, "one marker saying {cut} bytes");
            assert_eq!(text.len(), CAPTURE_LIMIT + marker.len());
        }
        assert_eq!(out.rc, 0);
    }

    #[test]
    fn capture_under_the_limit_is_whole_and_trims_in_any_chunking() {
        let mut c = Capture::default();
        c.push(b"abc");
        assert_eq!(c.into_string(), "abc");
        // Byte by byte past the limit: the same head, tail and count as one big write.
        let mut small = Capture::default();
        let mut big = Capture::default();
        let data: Vec<u8> = (0..CAPTURE_LIMIT + 1000).map(|i| b'a' + (i % 26) as u8).collect();
        for chunk in data.chunks(7) {
            small.push(chunk);
        }
        big.push(&data);
        let (small, big) = (small.into_string(), big.into_string());
        assert_eq!(small, big);
        assert!(
            small.contains("[keel: 1000 bytes of output cut here"),
            "{}",
            &small[CAPTURE_LIMIT / 2..][..80]
        );
    }

    /// Ends a test's leftover process.
    fn end(pid: &str) {
        if let Ok(pid) = pid.trim().parse::<i32>() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }

    #[test]
    fn a_background_process_holding_stdout_does_not_hang_the_module() {
        let started = Instant::now();
        let out = Runner::default()
            .run(
                &["sh", "-c", "sleep 60 & echo $!; echo done >&2"],
                Duration::from_secs(30),
            )
            .unwrap();
        end(out.stdout.lines().next().unwrap_or_default());
        assert!(
            started.elapsed() < AFTER_EXIT + Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(out.rc, 0);
        assert!(
            out.stderr
                .starts_with("done\n\n[keel: output no longer read 2 s after the command exited: a process it started"),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn a_timeout_does_not_wait_for_a_process_that_left_the_group_holding_stdout() {
        let dir = std::env::temp_dir().join(format!("keel-test-setsid-{}", std::process::id()));
        let script = format!("setsid sleep 60 & echo $! > {}; sleep 60", dir.display());
        let started = Instant::now();
        let err = Runner::default()
            .run(&["sh", "-c", &script], Duration::from_millis(300))
            .unwrap_err();
        end(&std::fs::read_to_string(&dir).unwrap_or_default());
        let _ = std::fs::remove_file(&dir);
        assert!(matches!(err, ModuleError::Timeout { .. }), "{err:?}");
        assert!(
            started.elapsed() < AFTER_EXIT + Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    /// The state letter of /proc/PID/stat ('Z' for a zombie), None when there is no such process.
    fn proc_state(pid: u32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(") ")?.1.chars().next()
    }

    #[test]
    fn an_unkillable_command_outlives_its_timeout_and_is_named_with_its_pid() {
        let started = Instant::now();
        let err = Runner::default()
            .run_unkillable(&["sleep", "3"], &[], Duration::from_millis(300))
            .unwrap_err();
        let ModuleError::LeftRunning { pid, ref stdout, .. } = err else {
            panic!("{err:?}");
        };
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "stopped waiting at the timeout"
        );
        let state = proc_state(pid);
        assert!(matches!(state, Some(s) if s != 'Z'), "still running: {state:?}");
        assert!(
            err.to_string()
                .contains(&format!("left running (pid {pid}), not killed")),
            "{err}"
        );
        assert!(std::path::Path::new(stdout).exists(), "its output file is kept");
        // The command is this test's child: end and reap it, and remove its files.
        use nix::sys::signal::{killpg, Signal};
        let _ = killpg(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid as i32), None);
        if let ModuleError::LeftRunning { stdout, stderr, .. } = err {
            let _ = std::fs::remove_file(stdout);
            let _ = std::fs::remove_file(stderr);
        }
    }

    #[test]
    fn an_unkillable_command_that_finishes_in_time_is_captured_like_any_other() {
        let mut r = Runner::default();
        let out = r
            .run_unkillable(
                &[
                    "sh",
                    "-c",
                    "echo out; echo \"$KEEL_T\" >&2; ls -l /proc/self/fd/1; exit 3",
                ],
                &[("KEEL_T", "tok-1")],
                Duration::from_secs(10),
            )
            .unwrap();
        assert_eq!((out.rc, out.stderr.as_str()), (3, "tok-1\n"));
        let file = out.stdout.lines().nth(1).and_then(|l| l.split(" -> ").nth(1)).unwrap();
        assert!(file.ends_with(".stdout"), "written to a file, not a pipe: {file}");
        assert!(!std::path::Path::new(file).exists(), "removed once read");
        assert_eq!(
            r.history,
            vec![display(&[
                "sh",
                "-c",
                "echo out; echo \"$KEEL_T\" >&2; ls -l /proc/self/fd/1; exit 3"
            ])]
        );
    }

    #[test]
    fn display_quotes_only_what_needs_it() {
        assert_eq!(
            display(&["gluster", "--mode=script", "volume heal", "it's"]),
            r"gluster --mode=script 'volume heal' 'it'\''s'"
        );
    }
}
