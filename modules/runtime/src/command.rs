//! Running programs on the target: argv only (never a shell), found with `which`, output
//! captured, a timeout enforced, and every command recorded for the result.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use wait_timeout::ChildExt;

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

/// Runs commands and remembers them, so the result can show what the module did.
#[derive(Debug, Default)]
pub struct Runner {
    pub history: Vec<String>,
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
    /// passwords) never appear in the displayed command or the history.
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
        // Read both pipes while waiting, or a chatty command blocks on a full pipe.
        let stdout = reader(child.stdout.take());
        let stderr = reader(child.stderr.take());
        let status = match child.wait_timeout(timeout) {
            Ok(Some(status)) => status,
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
        };
        let rc = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        Ok(Output {
            cmd,
            rc,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
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
        let status = match child.wait_timeout(timeout) {
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
        let read = |p: &std::path::Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
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

fn reader<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn kill_group(child: &mut Child) {
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::Pid;
    let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    let _ = child.kill();
    let _ = child.wait();
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
