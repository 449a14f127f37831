//! Small helpers shared by the tasks: running commands and finding paths.

use std::path::{Path, PathBuf};
use std::process::Command;

pub type Result<T = ()> = std::result::Result<T, String>;

/// The repository root (xtask's parent).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repo")
        .to_path_buf()
}

/// Runs `cmd`, echoing it; fails with its exit status. Its output goes to standard error:
/// xtask's own standard output carries only its results (the benchmark's tables, the demo's
/// report).
pub fn run(cmd: &mut Command) -> Result {
    eprintln!("+ {}", show(cmd));
    let status = cmd
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| format!("cannot start {}: {e}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", show(cmd)))
    }
}

/// Runs `cmd` like `run`, echoing its output as it comes, and on failure adds the lines that say
/// what failed (ansible's `fatal:` and `FAILED!`, molecule's `ERROR`), so the closing summary,
/// which is all a CI log tail may show, carries the reason. Returns the standard output.
pub fn run_explained(cmd: &mut Command) -> Result<String> {
    run_watched(cmd, None)
}

/// What a watcher of a command's output is given for each line: the line and the command's pid.
pub type Watcher = Box<dyn FnMut(&str, u32) + Send>;

/// `run_explained`, handing each line of standard output to `watch` as it comes (the fault
/// scenarios inject a fault when a step starts).
pub fn run_watched(cmd: &mut Command, watch: Option<Watcher>) -> Result<String> {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    eprintln!("+ {}", show(cmd));
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", show(cmd)))?;
    let pid = child.id();
    let echo = |pipe: Option<Box<dyn std::io::Read + Send>>, mut watch: Option<Watcher>| {
        std::thread::spawn(move || {
            let (mut reasons, mut all) = (Vec::new(), String::new());
            let Some(pipe) = pipe else { return (reasons, all) };
            for line in BufReader::new(pipe).lines().map_while(std::result::Result::ok) {
                eprintln!("{line}");
                if let Some(w) = watch.as_mut() {
                    w(&line, pid);
                }
                if ["fatal:", "FAILED!", "ERROR", "failed:"]
                    .iter()
                    .any(|k| line.contains(k))
                {
                    reasons.push(line.chars().take(400).collect::<String>());
                }
                all.push_str(&line);
                all.push('\n');
            }
            (reasons, all)
        })
    };
    let out = echo(child.stdout.take().map(|p| Box::new(p) as _), watch);
    let err = echo(child.stderr.take().map(|p| Box::new(p) as _), None);
    let status = child.wait().map_err(|e| e.to_string())?;
    let (mut reasons, stdout) = out.join().unwrap_or_default();
    reasons.extend(err.join().unwrap_or_default().0);
    if status.success() {
        return Ok(stdout);
    }
    reasons.truncate(12);
    Err(format!(
        "{} failed ({status})\n    {}",
        show(cmd),
        reasons.join("\n    ")
    ))
}

/// Runs `cmd` and returns its stdout; fails with its stderr.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().map_err(|e| format!("cannot start {}: {e}", show(cmd)))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}): {}{}",
            show(cmd),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn show(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Copies a directory tree, keeping file modes.
pub fn copy_tree(from: &Path, to: &Path) -> Result {
    std::fs::create_dir_all(to).map_err(|e| format!("mkdir {}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("read {}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let dest = to.join(entry.file_name());
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest).map_err(|e| format!("copy {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}
