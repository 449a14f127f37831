//! The leak check of `cargo xtask test` (docs/security.md): every module path that handles a
//! secret (tests/playbooks/secrets.yml, once with Keel's binary cache, which hands the module its
//! arguments on stdin, once without, as ansible-core does it: an args file) and the shipped
//! keel.storage.weka_upgrade playbook with a WEKA password and a get.weka.io token, run on
//! localhost with `-vvv --diff` and `ANSIBLE_KEEP_REMOTE_FILES=1`, every program the modules start
//! behind a wrapper that logs its argv (the wrappers are the modules' whole PATH, so a program
//! without one fails the run). Then every file the runs left in build/leak/<ansible-core>/ is
//! searched for the secrets: the output, the registered results, the reports, the modules'
//! temporary files, the repository files, the argv log. The one place allowed to hold them is the
//! `args` file ansible-core itself writes into its remote temporary directory without the cache,
//! which must hold them; a file planted with the secrets shows the search finds them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::ansible::Venv;
use crate::util::{self, Result};

/// Folders (at any depth) of the check's directory whose files hold the secrets by design, not
/// searched:
/// `input` (the extra-vars file handed to ansible-playbook), `fakes` (the fake package managers'
/// copies of the 0600 repository files they were shown while they ran).
const NOT_SEARCHED: [&str; 2] = ["input", "fakes"];

/// The simulated cluster's state (its user database holds the WEKA password, as WEKA's does).
const SIM_STATE: [&str; 3] = ["state.json", "state.lock", "state.tmp"];

struct Secret {
    name: &'static str,
    value: String,
}

/// `cargo xtask leak [CORE]`: the collection built and installed for ansible-core CORE (default
/// the newest supported), then the check.
pub fn main(args: &[String]) -> Result {
    let release = match args {
        [] => crate::ansible::NEWEST,
        [core] => crate::ansible::RELEASES
            .iter()
            .find(|r| r.core == core.as_str())
            .ok_or_else(|| format!("ansible-core {core} is not one of the supported releases"))?,
        _ => return Err("usage: cargo xtask leak [ANSIBLE_CORE]".into()),
    };
    let root = util::root();
    let tarball = crate::collection::build()?;
    let venv = crate::ansible::venv(release)?;
    let collections = root.join("build").join(format!("ansible-{}", release.core));
    super::test::install(&venv, &tarball, &collections)?;
    check(&venv, &collections, &root, release.core)
}

pub fn check(venv: &Venv, collections: &Path, root: &Path, core: &str) -> Result {
    let started = std::time::Instant::now();
    let dir = root.join("build/leak").join(core);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("rm {}: {e}", dir.display()))?;
    }
    for sub in [
        "wrap/weka",
        "wrap/apt",
        "wrap/rpm",
        "weka-playbook/home",
        "target-tmp",
        "remote-tmp",
        "local-tmp",
        "input",
        "out",
    ] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let unique = format!("{stamp:x}{:x}", std::process::id());
    let secrets = [
        Secret {
            name: "the WEKA password",
            value: format!("KeelPw{unique}"),
        },
        Secret {
            name: "the get.weka.io token",
            value: format!("KeelTok{unique}"),
        },
        Secret {
            name: "the repository password",
            value: format!("KeelRepo{unique}"),
        },
    ];
    let (password, token, repo_password) = (&secrets[0].value, &secrets[1].value, &secrets[2].value);

    let bin = crate::weka::simulator(root)?;
    wrappers(&dir, root, &bin)?;
    let init = |clients: &str| {
        format!("init --release 3.13.1 --backends node1,node2,node3 --clients {clients} --admin-password {password}")
    };
    crate::weka::sim(&bin, &dir.join("weka-playbook"), &init("client1,client2,client3"))?;

    let base = |cmd: &mut Command| {
        super::test::ansible_env(cmd, collections, root);
        cmd.env("ANSIBLE_LOCAL_TEMP", dir.join("local-tmp"))
            .env("ANSIBLE_REMOTE_TMP", dir.join("remote-tmp"))
            .env("ANSIBLE_KEEP_REMOTE_FILES", "1")
            .env("TMPDIR", dir.join("target-tmp"))
            .env("KEEL_ARGV_LOG", dir.join("argv.log"))
            .stdin(Stdio::null());
    };

    // Every module path with a secret, with Keel's binary cache (arguments on stdin) and with
    // ansible-core's own transfer (an args file), each on a cluster and fake hosts of its own.
    for (run, extra) in [("cached", None), ("uncached", Some("keel_binary_cache=false"))] {
        let run_dir = dir.join(run);
        for sub in ["sim/home", "etc", "fakes/apt", "fakes/rpm", "target-tmp"] {
            std::fs::create_dir_all(run_dir.join(sub)).map_err(|e| e.to_string())?;
        }
        crate::weka::sim(&bin, &run_dir.join("sim"), &init("client1"))?;
        let mut cmd = venv.cmd("ansible-playbook");
        base(&mut cmd);
        cmd.env("KEEL_LEAK_DIR", &run_dir)
            .env("KEEL_LEAK_WRAP", dir.join("wrap"))
            .env("KEEL_LEAK_PASSWORD", password)
            .env("KEEL_LEAK_TOKEN", token)
            .env("KEEL_LEAK_REPO_PASSWORD", repo_password)
            .arg("-i")
            .arg(root.join("tests/playbooks/inventory.ini"))
            .arg("tests/playbooks/secrets.yml")
            .args(["-vvv", "--diff"]);
        if let Some(e) = extra {
            cmd.args(["-e", e]);
        }
        run_logged(&mut cmd, &dir.join(format!("out/secrets-{run}.log")))?;
    }

    // The shipped WEKA playbook, the secrets as an operator passes them.
    let vars = dir.join("input/secrets.json");
    let extra = serde_json::json!({
        "weka_username": "admin",
        "weka_password": password,
        "weka_download_from": format!("https://{token}@get.weka.io"),
    });
    std::fs::write(&vars, extra.to_string()).map_err(|e| e.to_string())?;
    let mut cmd = venv.cmd("ansible-playbook");
    base(&mut cmd);
    cmd.env("KEEL_WEKA_SIM_DIR", dir.join("weka-playbook"))
        .env("KEEL_WEKA_SIM_BIN", dir.join("wrap/weka"))
        .arg("-i")
        .arg(root.join("tests/playbooks/weka_inventory.yml"))
        .arg("keel.storage.weka_upgrade")
        .arg("-e")
        .arg(format!("@{}", vars.display()))
        .args([
            "-e",
            "weka_target_version=3.14.1",
            "-e",
            "weka_upgrade_confirm=true",
            "-vvv",
            "--diff",
        ]);
    run_logged(&mut cmd, &dir.join("out/weka_upgrade.log"))?;
    // What the simulated cluster saw run (its log sits in its state, beside its users).
    for sim in ["cached/sim", "uncached/sim", "weka-playbook"] {
        let log = crate::weka::sim(&bin, &dir.join(sim), "log")?;
        let name = sim.replace('/', "-");
        std::fs::write(dir.join(format!("out/{name}-commands.log")), log).map_err(|e| e.to_string())?;
    }

    // The wrappers were in front of what the modules ran.
    let argv = std::fs::read_to_string(dir.join("argv.log")).map_err(|e| format!("no argv log: {e}"))?;
    for program in ["weka ", "curl ", "tar ", "apt-get ", "dpkg-query ", "dnf ", "rpm "] {
        if !argv.lines().any(|l| l.starts_with(program)) {
            return Err(format!(
                "the argv log has no '{program}' line: the wrappers were not in front of the modules' programs"
            ));
        }
    }
    // -vvv shows each module's invocation: the secrets reached the modules, which masked them.
    let output = std::fs::read_to_string(dir.join("out/secrets-cached.log")).map_err(|e| e.to_string())?
        + &std::fs::read_to_string(dir.join("out/secrets-uncached.log")).map_err(|e| e.to_string())?;
    for masked in [
        "\"password\": \"********\"",
        "\"from\": \"********\"",
        "https://********@mirror.example",
    ] {
        if !output.contains(masked) {
            return Err(format!(
                "the output of secrets.yml shows no {masked}: did the secrets reach the modules?"
            ));
        }
    }

    // The search must find a secret where one is: a file planted with all of them.
    let canary = Path::new("out/canary");
    let planted: String = secrets.iter().map(|s| format!("{}\n", s.value)).collect();
    std::fs::write(dir.join(canary), planted).map_err(|e| e.to_string())?;
    let mut found_in_canary = 0;
    let mut leaks = Vec::new();
    let mut kept_by_ansible = vec![0usize; secrets.len()];
    let mut files = 0;
    for file in walk(&dir)? {
        let rel = file.strip_prefix(&dir).unwrap_or(&file);
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let excluded = rel
            .components()
            .any(|c| NOT_SEARCHED.contains(&c.as_os_str().to_string_lossy().as_ref()));
        if excluded || SIM_STATE.contains(&name.as_str()) {
            continue;
        }
        files += 1;
        let bytes = std::fs::read(&file).map_err(|e| format!("read {}: {e}", file.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        let ansible_args = name == "args"
            && rel
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with("ansible-tmp-"));
        for (i, s) in secrets.iter().enumerate() {
            if text.contains(s.value.as_str()) {
                if rel == canary {
                    found_in_canary += 1;
                } else if ansible_args {
                    kept_by_ansible[i] += 1;
                } else {
                    leaks.push(format!("{} in {}", s.name, rel.display()));
                }
            }
        }
    }
    if !leaks.is_empty() {
        return Err(format!(
            "secrets found where Keel writes (files in {}):\n  {}",
            dir.display(),
            leaks.join("\n  ")
        ));
    }
    // Without the cache ansible-core sends an args file and, told to, keeps it: it must hold every
    // secret (docs/security.md says so); with the cache there is none.
    if let Some((s, _)) = secrets.iter().zip(&kept_by_ansible).find(|(_, n)| **n == 0) {
        return Err(format!(
            "{} is in no args file ansible-core kept without the binary cache (ANSIBLE_KEEP_REMOTE_FILES)",
            s.name
        ));
    }
    if found_in_canary != secrets.len() {
        return Err(format!(
            "the search found {found_in_canary} of {} secrets in {}, which holds them all",
            secrets.len(),
            canary.display()
        ));
    }
    eprintln!(
        "leak check: {files} files searched, {} lines of argv, no secret outside ansible-core's own args files \
         (which hold the WEKA password {} times, the token {}, the repository password {}); {:.1} s",
        argv.lines().count(),
        kept_by_ansible[0],
        kept_by_ansible[1],
        kept_by_ansible[2],
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// An argv-logging wrapper in `wrap/SET/` for every program a module may start: the weka
/// simulator's programs and tar, the fake apt tools, the fake rpm tools. Each appends its name and
/// arguments to $KEEL_ARGV_LOG, then runs the real program with the real programs on PATH.
fn wrappers(dir: &Path, root: &Path, sim: &Path) -> Result {
    let tar = ["/usr/bin/tar", "/bin/tar"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or("no tar in /usr/bin or /bin")?;
    let mut sets: Vec<(&str, Vec<PathBuf>)> = vec![(
        "weka",
        vec![sim.join("weka"), sim.join("weka-sim"), sim.join("curl"), tar],
    )];
    for set in ["apt", "rpm"] {
        let fakes = root.join("tests/fake-bin").join(set);
        let mut programs: Vec<PathBuf> = std::fs::read_dir(&fakes)
            .map_err(|e| format!("{}: {e}", fakes.display()))?
            .flatten()
            .map(|e| e.path())
            .collect();
        programs.sort();
        sets.push((set, programs));
    }
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    for (set, programs) in sets {
        for real in programs {
            let name = real
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let real_dir = real.parent().unwrap_or(Path::new("/"));
            let script = format!(
                "#!/bin/sh\n# argv-logging wrapper of cargo xtask test's leak check\n\
                 {{ printf '%s' {name}; for a in \"$@\"; do printf ' %s' \"$a\"; done; echo; }} >> \"$KEEL_ARGV_LOG\"\n\
                 PATH={}:/usr/bin:/bin exec {} \"$@\"\n",
                quote(real_dir),
                quote(&real)
            );
            let path = dir.join("wrap").join(set).join(&name);
            std::fs::write(&path, script).map_err(|e| e.to_string())?;
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Runs `cmd` with its output in `log` (-vvv is long); on failure, the lines that say why.
fn run_logged(cmd: &mut Command, log: &Path) -> Result {
    eprintln!("+ {} > {}", util::show(cmd), log.display());
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start {}: {e}", util::show(cmd)))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    std::fs::write(log, &text).map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    let why: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("fatal:") || l.contains("FAILED!") || l.contains("ERROR"))
        .map(|l| &l[..l.len().min(800)])
        .collect();
    Err(format!(
        "{} failed ({}), see {}:\n{}",
        util::show(cmd),
        out.status,
        log.display(),
        why.join("\n")
    ))
}

/// Every file under `dir` (links not followed).
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)
            .map_err(|e| format!("{}: {e}", d.display()))?
            .flatten()
        {
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                todo.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    Ok(out)
}
