//! AWX / Automation Controller: the execution environment's build context (ansible-builder),
//! the definitions in awx/ (credential type, project requirements), and a harness that runs a
//! job the way AWX does: a private_data_dir (inventory/hosts, env/extravars, env/envvars,
//! env/settings, env/ssh_key, project/ synced from collections/requirements.yml) handed to
//! `ansible-runner run DIR -p PLAYBOOK`, judged by its job events and final status.
//!
//! `cargo xtask awx-job` runs the harness on any playbook and inventory (the Gluster upgrade on
//! the testbed, the WEKA upgrade on the simulator); `cargo xtask ee` makes the EE build context.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::{isolate, write, yaml_to_json};
use crate::ansible::{self, Venv};
use crate::util::{self, Result};

/// Where the execution environment definition expects the tarball, under a name that does not
/// change with the version (execution-environment.yml cannot glob).
const EE_TARBALL: &str = "keel-storage.tar.gz";

/// `cargo xtask ee`: build the collection, then build/ee/context for `podman build`.
pub fn ee_main(_args: &[String]) -> Result {
    let root = util::root();
    let tarball = crate::collection::build()?;
    let context = ee_context(&super::tools()?, &root, &tarball, &root.join("build/ee"))?;
    println!(
        "podman build -t keel-ee:latest -f {0}/Containerfile {0}",
        context.display()
    );
    Ok(())
}

/// Lays out awx/execution-environment.yml with the tarball beside it, runs `ansible-builder
/// create`, and checks the context installs keel.storage from the tarball on the matrix's
/// newest ansible-core. Returns the context directory.
pub fn ee_context(tools: &Venv, root: &Path, tarball: &Path, dir: &Path) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let definition = dir.join("execution-environment.yml");
    std::fs::copy(root.join("awx/execution-environment.yml"), &definition)
        .map_err(|e| format!("awx/execution-environment.yml: {e}"))?;
    std::fs::copy(tarball, dir.join(EE_TARBALL)).map_err(|e| e.to_string())?;
    let ee = yaml_to_json(tools, &definition)?;
    let core = ee["dependencies"]["ansible_core"]["package_pip"]
        .as_str()
        .unwrap_or_default();
    if core != format!("ansible-core=={}.*", ansible::NEWEST.core) {
        return Err(format!(
            "awx/execution-environment.yml installs {core:?}; it must be the newest ansible-core tested, ansible-core=={}.*",
            ansible::NEWEST.core
        ));
    }
    let context = dir.join("context");
    util::run(
        tools
            .cmd("ansible-builder")
            .current_dir(dir)
            .args([
                "create",
                "--file",
                "execution-environment.yml",
                "--output-filename",
                "Containerfile",
                "--context",
            ])
            .arg(&context),
    )?;
    let containerfile =
        std::fs::read_to_string(context.join("Containerfile")).map_err(|e| format!("Containerfile: {e}"))?;
    let requirements = std::fs::read_to_string(context.join("_build/requirements.yml"))
        .map_err(|e| format!("_build/requirements.yml: {e}"))?;
    let copied = context.join("_build/collections").join(EE_TARBALL);
    if !copied.exists() {
        return Err(format!("the build context lacks {}", copied.display()));
    }
    if !requirements.contains(&format!("collections/{EE_TARBALL}"))
        || !containerfile.contains("ansible-galaxy collection install")
    {
        return Err(format!(
            "the build context does not install keel.storage from the tarball:\n{requirements}"
        ));
    }
    eprintln!(
        "execution environment context: {} (Containerfile, _build/)",
        context.display()
    );
    Ok(context)
}

/// The credential type renders (every injected value comes from a declared input, secrets are
/// marked secret), and the example project's requirements.yml accepts the version built here.
pub fn definitions(tools: &Venv, root: &Path, collections: &Path) -> Result {
    let dir = root.join("awx/credential_types");
    for file in super::list_dir(&dir)? {
        let ct = yaml_to_json(tools, &dir.join(&file))?;
        let fields = ct["inputs"]["fields"].as_array().cloned().unwrap_or_default();
        for f in &fields {
            let id = f["id"].as_str().unwrap_or_default();
            let secretish = ["token", "password", "secret", "key"].iter().any(|w| id.contains(w));
            if secretish && f["secret"] != json!(true) {
                return Err(format!("{file}: input {id} holds a secret but is not secret: true"));
            }
        }
        let inputs: Map<String, Value> = fields
            .iter()
            .map(|f| (f["id"].as_str().unwrap_or_default().to_string(), json!("x")))
            .collect();
        let scratch = root.join("build/ecosystem/credential-check");
        let injected = Credential {
            type_file: dir.join(&file),
            inputs,
        }
        .inject(tools, &scratch)?;
        if injected.extravars.is_empty() && injected.env.is_empty() {
            return Err(format!("{file} injects nothing"));
        }
        eprintln!(
            "{file}: injects extra vars {:?}, env {:?}, files {:?}",
            injected.extravars.keys().collect::<Vec<_>>(),
            injected.env.keys().collect::<Vec<_>>(),
            injected.files
        );
    }
    // Offline, an already installed collection that satisfies the requirement is "nothing to do".
    let req = root.join("awx/project/collections/requirements.yml");
    let mut cmd = tools.cmd("ansible-galaxy");
    isolate(&mut cmd, &root.join("build/ecosystem/home"), Some(collections));
    let out = util::output(
        cmd.args(["collection", "install", "--offline", "-p"])
            .arg(collections)
            .arg("-r")
            .arg(&req),
    )?;
    if !out.contains("Nothing to do") {
        return Err(format!(
            "{} does not accept the keel.storage built here:\n{out}",
            req.display()
        ));
    }
    Ok(())
}

/// An AWX credential: a credential type definition (awx/credential_types/*.yml) and its inputs.
pub struct Credential {
    pub type_file: PathBuf,
    pub inputs: Map<String, Value>,
}

/// What a credential injects into a job.
#[derive(Default)]
pub struct Injected {
    pub extravars: Map<String, Value>,
    pub env: BTreeMap<String, String>,
    pub files: Vec<PathBuf>,
}

impl Credential {
    /// Renders the injectors as AWX does: `file` templates become files (mode 0600) in `dir`,
    /// `{{ tower.filename.NAME }}` their paths, `{{ FIELD }}` the input's value (empty if not given). Only these plain
    /// substitutions are supported, which is all Keel's credential types use.
    pub fn inject(&self, tools: &Venv, dir: &Path) -> Result<Injected> {
        use std::os::unix::fs::PermissionsExt;
        let ct = yaml_to_json(tools, &self.type_file)?;
        let name = self.type_file.display().to_string();
        let declared: Vec<String> = ct["inputs"]["fields"]
            .as_array()
            .map(|f| f.iter().filter_map(|f| f["id"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let mut files = BTreeMap::new();
        let mut out = Injected::default();
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let render = |template: &str, files: &BTreeMap<String, PathBuf>| -> Result<String> {
            let mut s = String::new();
            let mut rest = template;
            while let Some(start) = rest.find("{{") {
                s.push_str(&rest[..start]);
                let end = rest[start..]
                    .find("}}")
                    .ok_or_else(|| format!("{name}: unclosed {{{{ in {template}"))?
                    + start;
                let expr = rest[start + 2..end].trim();
                if let Some(f) = expr.strip_prefix("tower.filename.") {
                    let p = files
                        .get(f)
                        .ok_or_else(|| format!("{name}: no file template '{f}' for {expr}"))?;
                    s.push_str(&p.display().to_string());
                } else {
                    if !declared.iter().any(|d| d == expr) {
                        return Err(format!("{name}: {expr} is not an input field"));
                    }
                    // An optional input left empty renders as an empty string, as in AWX.
                    match self.inputs.get(expr) {
                        Some(Value::String(v)) => s.push_str(v),
                        Some(v) => s.push_str(&v.to_string()),
                        None => {}
                    }
                }
                rest = &rest[end + 2..];
            }
            s.push_str(rest);
            Ok(s)
        };
        let inj = &ct["injectors"];
        for (key, template) in inj["file"].as_object().cloned().unwrap_or_default() {
            let f = key.strip_prefix("template.").unwrap_or("template").to_string();
            let path = dir.join(format!("credential-{f}"));
            let text = render(template.as_str().unwrap_or_default(), &files)?;
            write(&path, &text)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
            out.files.push(path.clone());
            files.insert(f, path);
        }
        for (k, v) in inj["extra_vars"].as_object().cloned().unwrap_or_default() {
            out.extravars
                .insert(k, json!(render(v.as_str().unwrap_or_default(), &files)?));
        }
        for (k, v) in inj["env"].as_object().cloned().unwrap_or_default() {
            out.env.insert(k, render(v.as_str().unwrap_or_default(), &files)?);
        }
        Ok(out)
    }
}

/// One AWX job.
pub struct Job<'a> {
    /// A playbook file (copied into project/) or a collection playbook's FQCN such as
    /// keel.storage.gluster_upgrade (run through a one-line wrapper, as an AWX project would).
    pub playbook: &'a str,
    /// Copied to inventory/hosts.
    pub inventory: &'a Path,
    /// env/extravars: the job template's extra variables (the survey answers).
    pub extravars: Value,
    /// env/envvars on top of the collections path.
    pub envvars: Vec<(String, String)>,
    /// env/ssh_key: the Machine credential's private key.
    pub ssh_key: Option<&'a Path>,
    /// Custom credentials, injected as AWX does.
    pub credentials: Vec<Credential>,
    /// project/collections/requirements.yml, installed as a project sync does.
    pub requirements: Option<&'a Path>,
    /// Other files the project holds (group_vars, files the playbook reads), copied into project/.
    pub project_files: Vec<&'a Path>,
    /// The final status the job must end in: "successful", or "failed" for a refused run.
    pub expect_status: &'a str,
    /// Task names that may fail (runner_on_failed) without failing the check; failures under
    /// ignore_errors are always allowed.
    pub expect_failed: Vec<String>,
}

/// What the job did, read from its artifacts.
pub struct JobReport {
    pub status: String,
    pub events: Vec<Value>,
    pub stats: Value,
}

/// Runs `job` in `private` (emptied first) with ansible-runner from `tools`, then checks the
/// artifacts: the final status, a playbook_on_stats event, no runner_on_failed or
/// runner_on_unreachable but those expected.
pub fn run_job(tools: &Venv, private: &Path, job: &Job) -> Result<JobReport> {
    let _ = std::fs::remove_dir_all(private);
    let project = private.join("project");
    std::fs::create_dir_all(&project).map_err(|e| e.to_string())?;
    let playbook = if job.playbook.ends_with(".yml") || job.playbook.ends_with(".yaml") {
        let src = Path::new(job.playbook);
        let name = src
            .file_name()
            .ok_or("playbook has no file name")?
            .to_string_lossy()
            .into_owned();
        std::fs::copy(src, project.join(&name)).map_err(|e| format!("{}: {e}", src.display()))?;
        name
    } else {
        let name = format!("{}.yml", job.playbook.rsplit('.').next().unwrap_or("job"));
        write(
            &project.join(&name),
            &format!(
                "---\n- name: Run {0}\n  ansible.builtin.import_playbook: {0}\n",
                job.playbook
            ),
        )?;
        name
    };
    for f in &job.project_files {
        let dest = project.join(f.file_name().ok_or("project file has no name")?);
        if f.is_dir() {
            util::copy_tree(f, &dest)?;
        } else {
            std::fs::copy(f, &dest).map_err(|e| format!("{}: {e}", f.display()))?;
        }
    }
    // Project sync: AWX installs collections/requirements.yml into requirements_collections and
    // puts that first on the job's collections path.
    let synced = private.join("requirements_collections");
    if let Some(req) = job.requirements {
        write(
            &project.join("collections/requirements.yml"),
            &std::fs::read_to_string(req).map_err(|e| e.to_string())?,
        )?;
        let mut cmd = tools.cmd("ansible-galaxy");
        isolate(&mut cmd, &private.join("home"), Some(&synced));
        util::run(
            cmd.current_dir(&project)
                .args([
                    "collection",
                    "install",
                    "--force",
                    "-r",
                    "collections/requirements.yml",
                    "-p",
                ])
                .arg(&synced),
        )?;
    }
    std::fs::create_dir_all(private.join("inventory")).map_err(|e| e.to_string())?;
    std::fs::copy(job.inventory, private.join("inventory/hosts"))
        .map_err(|e| format!("{}: {e}", job.inventory.display()))?;

    let mut extravars = job.extravars.as_object().cloned().unwrap_or_default();
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for (i, cred) in job.credentials.iter().enumerate() {
        let injected = cred.inject(tools, &private.join(format!("credentials/{i}")))?;
        extravars.extend(injected.extravars);
        env.extend(injected.env);
    }
    // What AWX sets for every job (awx/main/tasks/jobs.py), where it matters outside AWX.
    let home = private.join("home");
    std::fs::create_dir_all(&home).map_err(|e| e.to_string())?;
    for (k, v) in [
        ("ANSIBLE_COLLECTIONS_PATH", synced.display().to_string()),
        ("ANSIBLE_HOST_KEY_CHECKING", "False".into()),
        ("ANSIBLE_INVENTORY_UNPARSED_FAILED", "True".into()),
        ("ANSIBLE_PARAMIKO_RECORD_HOST_KEYS", "False".into()),
        ("ANSIBLE_RETRY_FILES_ENABLED", "False".into()),
        ("ANSIBLE_LOCAL_TEMP", home.join("tmp").display().to_string()),
        ("HOME", home.display().to_string()),
        ("JOB_ID", "1".into()),
        (
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", tools.dir.join("bin").display()),
        ),
    ] {
        env.insert(k.to_string(), v);
    }
    for (k, v) in &job.envvars {
        env.insert(k.clone(), v.clone());
    }
    write(&private.join("env/extravars"), &Value::Object(extravars).to_string())?;
    write(&private.join("env/envvars"), &json!(env).to_string())?;
    write(
        &private.join("env/settings"),
        &json!({"job_timeout": 3600, "idle_timeout": 600, "pexpect_timeout": 5, "suppress_ansible_output": false})
            .to_string(),
    )?;
    if let Some(key) = job.ssh_key {
        std::fs::copy(key, private.join("env/ssh_key")).map_err(|e| format!("{}: {e}", key.display()))?;
    }

    let mut cmd = tools.cmd("ansible-runner");
    cmd.env("HOME", &home)
        .args(["run", "--ident", "job"])
        .arg(private)
        .args(["-p", &playbook]);
    // ansible-runner exits non-zero for a failed job; the artifacts say why.
    let ran = util::run_explained(&mut cmd);
    let artifacts = private.join("artifacts/job");
    let status = std::fs::read_to_string(artifacts.join("status"))
        .unwrap_or_default()
        .trim()
        .to_string();
    let mut events = Vec::new();
    let mut names = super::list_dir(&artifacts.join("job_events")).unwrap_or_default();
    names.sort_by_key(|n| n.split('-').next().and_then(|c| c.parse::<u64>().ok()).unwrap_or(0));
    for n in names.iter().filter(|n| n.ends_with(".json")) {
        let text = std::fs::read_to_string(artifacts.join("job_events").join(n)).map_err(|e| e.to_string())?;
        events.push(serde_json::from_str::<Value>(&text).map_err(|e| format!("{n}: {e}"))?);
    }
    let stats = events
        .iter()
        .find(|e| e["event"] == "playbook_on_stats")
        .map(|e| e["event_data"].clone())
        .unwrap_or(Value::Null);
    let report = JobReport { status, events, stats };

    let mut problems = Vec::new();
    if report.status != job.expect_status {
        problems.push(format!(
            "status is {:?}, expected {:?} ({ran:?})",
            report.status, job.expect_status
        ));
    }
    if report.stats.is_null() {
        problems.push("no playbook_on_stats event".into());
    }
    for e in &report.events {
        let kind = e["event"].as_str().unwrap_or_default();
        let data = &e["event_data"];
        let task = data["task"].as_str().unwrap_or_default();
        let expected = data["ignore_errors"] == json!(true) || job.expect_failed.iter().any(|t| t == task);
        if (kind == "runner_on_failed" || kind == "runner_on_unreachable") && !expected {
            problems.push(format!(
                "{kind} on {} in task {task:?}: {}",
                data["host"].as_str().unwrap_or("?"),
                data["res"]["msg"].as_str().unwrap_or_default()
            ));
        }
    }
    eprintln!(
        "job: status {}, {} events, stats {}",
        report.status,
        report.events.len(),
        report.stats
    );
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(problems.join("\n"))
    }
}

/// The example project's playbook (awx/project/gluster_health.yml) as an AWX job: the project
/// synced from a requirements.yml naming the tarball, a Machine credential key, extra vars,
/// run on localhost against the fake gluster.
pub fn demo_job(tools: &Venv, root: &Path, tarball: &Path, dir: &Path) -> Result {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let requirements = super::requirements_file(&dir.join("requirements.yml"), tarball)?;
    let inventory = write(
        &dir.join("inventory.ini"),
        "[gluster_servers]\nlocalhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n",
    )?;
    let key = dir.join("id_ed25519");
    util::output(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "keel-awx-test", "-f"])
            .arg(&key),
    )?;
    let playbook = root.join("awx/project/gluster_health.yml");
    let job = Job {
        playbook: playbook.to_str().ok_or("path")?,
        inventory: &inventory,
        extravars: json!({"gluster_verify_timeout": "1m"}),
        envvars: vec![
            (
                "PATH".into(),
                format!(
                    "{}:{}:/usr/bin:/bin",
                    root.join("tests/fake-bin/gluster-fixtures").display(),
                    tools.dir.join("bin").display()
                ),
            ),
            ("FAKE_GLUSTER_VERSION".into(), "10.3".into()),
        ],
        ssh_key: Some(&key),
        // Injected as AWX would, though this playbook does not read it.
        credentials: vec![Credential {
            type_file: root.join("awx/credential_types/weka_login.yml"),
            inputs: json!({"weka_username": "admin", "weka_password": "t0ken-Pw"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        }],
        requirements: Some(&requirements),
        project_files: vec![],
        expect_status: "successful",
        expect_failed: vec![],
    };
    let report = run_job(tools, &dir.join("private_data_dir"), &job)?;
    // The module really ran inside the job: its facts are in the task's event.
    let facts = report
        .events
        .iter()
        .find(|e| e["event"] == "runner_on_ok" && e["event_data"]["task"] == "Gather Gluster facts")
        .map(|e| e["event_data"]["res"]["ansible_facts"]["gluster"]["version"]["text"].clone())
        .unwrap_or(Value::Null);
    if facts != json!("10.3") {
        return Err(format!(
            "the job's gluster_facts event holds version {facts}, expected 10.3"
        ));
    }
    let private = dir.join("private_data_dir");
    let extravars: Value =
        serde_json::from_str(&std::fs::read_to_string(private.join("env/extravars")).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    if extravars["weka_password"] != json!("t0ken-Pw") || extravars["weka_username"] != json!("admin") {
        return Err(format!(
            "the WEKA credential was not injected as extra variables: {extravars}"
        ));
    }
    if report.stats["ok"]["localhost"].as_u64().unwrap_or(0) < 3 {
        return Err(format!("expected at least 3 ok tasks on localhost: {}", report.stats));
    }
    Ok(())
}

/// `cargo xtask awx-job PLAYBOOK INVENTORY [-e JSON|@FILE]... [--env K=V]... [--ssh-key KEY]
/// [--requirements REQ] [--credential TYPE.yml=@INPUTS.json]... [--project-file PATH]...
/// [--expect-status S] [--expect-failed TASK]...`: one job through the harness; its
/// private_data_dir is build/awx-job.
pub fn job_main(args: &[String]) -> Result {
    let usage = "usage: cargo xtask awx-job PLAYBOOK|FQCN INVENTORY [-e JSON|@FILE]... [--env K=V]... [--ssh-key KEY] \
                 [--requirements REQUIREMENTS.yml] [--credential TYPE.yml=@INPUTS.json]... [--project-file PATH]... \
                 [--expect-status successful|failed] [--expect-failed TASK]...";
    let root = util::root();
    let (Some(playbook), Some(inventory)) = (args.first(), args.get(1)) else {
        return Err(usage.into());
    };
    let mut extravars = Map::new();
    let mut envvars = Vec::new();
    let mut job_key = None;
    let mut requirements = None;
    let mut credentials = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut expect_status = "successful".to_string();
    let mut expect_failed = Vec::new();
    let mut it = args[2..].iter();
    let read_json = |v: &str| -> Result<Value> {
        let text = match v.strip_prefix('@') {
            Some(f) => std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?,
            None => v.to_string(),
        };
        serde_json::from_str(&text).map_err(|e| format!("{v}: not JSON: {e}"))
    };
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value; {usage}"))
        };
        match flag.as_str() {
            "-e" => extravars.extend(read_json(&value()?)?.as_object().cloned().unwrap_or_default()),
            "--env" => {
                let v = value()?;
                let (k, v) = v.split_once('=').ok_or_else(|| format!("--env K=V; {usage}"))?;
                envvars.push((k.to_string(), v.to_string()));
            }
            "--ssh-key" => job_key = Some(PathBuf::from(value()?)),
            "--requirements" => requirements = Some(PathBuf::from(value()?)),
            "--project-file" => files.push(PathBuf::from(value()?)),
            "--expect-status" => expect_status = value()?,
            "--expect-failed" => expect_failed.push(value()?),
            "--credential" => {
                let v = value()?;
                let (ty, inputs) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--credential TYPE.yml=@INPUTS.json; {usage}"))?;
                credentials.push(Credential {
                    type_file: PathBuf::from(ty),
                    inputs: read_json(inputs)?.as_object().cloned().unwrap_or_default(),
                });
            }
            _ => return Err(usage.into()),
        }
    }
    let tools = super::tools()?;
    // Without a requirements file the collection built here is synced, as a project would.
    let built;
    let requirements = match requirements {
        Some(r) => r,
        None => {
            let tarball = crate::collection::build()?;
            built = super::requirements_file(&root.join("build/awx-job-requirements.yml"), &tarball)?;
            built
        }
    };
    let job = Job {
        playbook,
        inventory: Path::new(inventory),
        extravars: Value::Object(extravars),
        envvars,
        ssh_key: job_key.as_deref(),
        credentials,
        requirements: Some(&requirements),
        project_files: files.iter().map(PathBuf::as_path).collect(),
        expect_status: &expect_status,
        expect_failed,
    };
    run_job(&tools, &root.join("build/awx-job"), &job).map(|_| ())
}
