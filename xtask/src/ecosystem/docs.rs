//! The module docs against the modules themselves: documented return values against what each
//! binary returns (the options' documentation is generated from the same spec the binary
//! validates with, so it cannot drift), and every EXAMPLES block turned into a playbook that is syntax-checked and really run against
//! the fake gluster (the ones that change a pool also belong on the testbed).

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::{isolate, write};
use crate::ansible::Venv;
use crate::util::{self, Result};

/// Keys ansible-core itself gives meaning to; every other key a module returns must be in RETURN.
const STANDARD_KEYS: &[&str] = &[
    "changed",
    "failed",
    "msg",
    "invocation",
    "warnings",
    "deprecations",
    "diff",
    "skipped",
    "rc",
    "stdout",
    "stderr",
    "exception",
];

/// How a module's examples and its return values are run here: a fake program's directory first
/// on PATH, its environment (`{state}`: a directory of its own), and what each keel.storage task
/// of the examples must show (RESULT: its registered result). The examples of the modules not
/// listed stop services, install packages or drive WEKA: they are syntax-checked here and run on
/// the testbed's nodes (testbed_suite::TESTBED_EXAMPLES).
struct Run {
    module: &'static str,
    fake: &'static str,
    env: &'static [(&'static str, &'static str)],
    expect: &'static str,
}

const GLUSTER_FAKE: &str = "tests/fake-bin/gluster-fixtures";

const RUN_EXAMPLES: &[Run] = &[
    Run {
        module: "gluster_facts",
        fake: GLUSTER_FAKE,
        env: &[("FAKE_GLUSTER_VERSION", "10.3"), ("FAKE_GLUSTER_STATE", "{state}")],
        expect: "RESULT is not failed",
    },
    // The captured pool has a dispersed and a pure distribute volume: an online precheck must
    // block on them, with the findings returned.
    Run {
        module: "gluster_precheck",
        fake: GLUSTER_FAKE,
        env: &[("FAKE_GLUSTER_VERSION", "10.3"), ("FAKE_GLUSTER_STATE", "{state}")],
        expect: "RESULT is not failed or (RESULT.blocking | default(false))",
    },
    // Its example waits for 11.1.
    Run {
        module: "gluster_verify",
        fake: GLUSTER_FAKE,
        env: &[("FAKE_GLUSTER_VERSION", "11.1"), ("FAKE_GLUSTER_STATE", "{state}")],
        expect: "RESULT is not failed",
    },
    // These change a pool: here the fake answers from captures of a real 11.1 pool (op-version
    // 100000, max 110000; nothing to heal); the real run is on the testbed (docs/README.md).
    Run {
        module: "gluster_op_version",
        fake: GLUSTER_FAKE,
        env: &[("FAKE_GLUSTER_VERSION", "11.1"), ("FAKE_GLUSTER_STATE", "{state}")],
        expect: "RESULT is not failed",
    },
    Run {
        module: "gluster_heal",
        fake: GLUSTER_FAKE,
        env: &[("FAKE_GLUSTER_VERSION", "11.1"), ("FAKE_GLUSTER_STATE", "{state}")],
        expect: "RESULT is not failed",
    },
    // /var/lib is the state directory, which holds no glusterd state: saving and restoring are
    // refused with nothing written (the module tests and the testbed's rollback do them for real).
    Run {
        module: "gluster_state",
        fake: "tests/fake-bin/apt",
        env: &[("KEEL_TEST_VAR_LIB", "{state}")],
        expect: "RESULT is not failed or RESULT.msg is search('(?i)nothing was (saved|restored)')",
    },
];

/// Whether `module`'s examples run here, against a fake; the others run on the testbed
/// (testbed_suite::TESTBED_EXAMPLES).
#[cfg(test)]
pub(crate) fn runs_here(module: &str) -> bool {
    run_of(module).is_some()
}

fn run_of(module: &str) -> Option<&'static Run> {
    RUN_EXAMPLES.iter().find(|r| r.module == module)
}

/// The environment a module runs in here: its fake first on PATH (the fake gluster for modules
/// not listed) and its variables, with a fresh state directory.
fn fake_env(root: &Path, state: &Path, run: Option<&Run>) -> Result<Vec<(String, String)>> {
    let _ = std::fs::remove_dir_all(state);
    std::fs::create_dir_all(state).map_err(|e| e.to_string())?;
    let fake = run.map_or(GLUSTER_FAKE, |r| r.fake);
    let mut env = vec![(
        "PATH".to_string(),
        format!("{}:/usr/bin:/bin", root.join(fake).display()),
    )];
    for (k, v) in run.map_or(&[][..], |r| r.env) {
        env.push((k.to_string(), v.replace("{state}", &state.display().to_string())));
    }
    Ok(env)
}

/// ansible-doc --json of one module, as installed.
pub(crate) fn doc_json(tools: &Venv, collections: &Path, module: &str) -> Result<Value> {
    let mut cmd = tools.cmd("ansible-doc");
    isolate(&mut cmd, &collections.join("home"), Some(collections));
    let out = util::output(cmd.args(["--json", &format!("keel.storage.{module}")]))?;
    let v: Value = serde_json::from_str(&out).map_err(|e| format!("ansible-doc --json {module}: {e}"))?;
    Ok(v[format!("keel.storage.{module}")].clone())
}

/// The built binary that holds `module`, found through each binary's --list-modules.
fn binary_of(root: &Path, module: &str) -> Result<PathBuf> {
    let dir = root.join("build/collection/plugins/modules/__bin__");
    for bin in super::list_dir(&dir)? {
        let path = dir.join(&bin);
        let list = util::output(std::process::Command::new(&path).arg("--list-modules"))?;
        if list.lines().any(|l| l == module) {
            return Ok(path);
        }
    }
    Err(format!("no binary in {} holds {module}", dir.display()))
}

/// Runs `module` in `binary` with `args`, in its fake environment, and returns its result.
fn call(binary: &Path, root: &Path, work: &Path, module: &str, args: Value) -> Result<Value> {
    let mut args = args;
    args["_keel_module"] = json!(module);
    // Probes only look: some modules stop processes or install packages, and this host may run
    // a testbed whose processes its /proc shows.
    args["_ansible_check_mode"] = json!(true);
    let file = write(&work.join("args.json"), &args.to_string())?;
    let out = util::output(std::process::Command::new(binary).arg(&file).envs(fake_env(
        root,
        &work.join("state"),
        run_of(module),
    )?))
    .map_err(|e| format!("{module} did not answer: {e}"))?;
    serde_json::from_str(&out).map_err(|e| format!("{module} printed no JSON ({e}): {out}"))
}

pub fn match_binaries(tools: &Venv, root: &Path, collections: &Path) -> Result {
    let work = root.join("build/ecosystem/docs");
    let mut problems = Vec::new();
    for module in super::stubs(root)? {
        let doc = doc_json(tools, collections, &module)?;
        let binary = binary_of(root, &module)?;
        let options = doc["doc"]["options"].as_object().cloned().unwrap_or_default();
        // Documented required options with a valid value, so that the run gets past the check
        // for missing ones.
        let mut required = serde_json::Map::new();
        for (name, d) in options.iter().filter(|(_, d)| d["required"] == json!(true)) {
            let sample = d["choices"].get(0).cloned().unwrap_or_else(|| json!("1"));
            required.insert(name.clone(), sample);
        }

        // Return values: every key a run on the fake pool returns is documented, and every key
        // documented as returned always or on success is there when the run succeeded.
        let ret = doc["return"].as_object().cloned().unwrap_or_default();
        let result = call(&binary, root, &work, &module, Value::Object(required.clone()))?;
        let got = result.as_object().cloned().unwrap_or_default();
        for key in got.keys() {
            if !STANDARD_KEYS.contains(&key.as_str()) && !ret.contains_key(key) {
                problems.push(format!("{module}: returns '{key}', which RETURN does not document"));
            }
        }
        let succeeded = result["failed"] != json!(true);
        for (key, spec) in &ret {
            let when = spec["returned"].as_str().unwrap_or_default();
            // Only a successful run shows them all: a failure may stop before (bad arguments).
            if succeeded && (when == "always" || when == "success") && !got.contains_key(key) {
                problems.push(format!(
                    "{module}: RETURN says '{key}' is returned {when}, but a run returned no such key"
                ));
            }
        }
        eprintln!("{module}: {} return values match {}", ret.len(), binary.display());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// One playbook per module from its EXAMPLES, written to build/ecosystem/examples/MODULE.yml.
/// Its hosts and environment are variables, so the same file runs here against the fake
/// gluster and on the testbed: `ansible-playbook -i INVENTORY build/ecosystem/examples/M.yml
/// -e keel_examples_hosts=servers`. Each keel.storage task is registered and followed by an
/// assert of what it must show.
pub fn example_playbook(module: &str, examples: &str, expect: &str) -> String {
    let mut tasks: Vec<String> = Vec::new();
    for line in examples.lines() {
        if line.starts_with("- ") || tasks.is_empty() {
            tasks.push(String::new());
        }
        if let Some(t) = tasks.last_mut() {
            t.push_str(line);
            t.push('\n');
        }
    }
    let mut body = String::new();
    for (i, task) in tasks
        .iter()
        .filter(|t| !t.trim().is_empty() && !t.trim_start().starts_with('#'))
        .enumerate()
    {
        body.push_str(&indent(task.trim_end(), 4));
        if !task.contains("keel.storage.") {
            continue;
        }
        let register = task
            .lines()
            .find_map(|l| l.strip_prefix("  register: "))
            .map(|r| r.trim().to_string());
        let var = register.clone().unwrap_or_else(|| format!("keel_example_{}", i + 1));
        if register.is_none() {
            body.push_str(&format!("      register: {var}\n"));
        }
        if !task.contains("\n  ignore_errors:") {
            body.push_str("      ignore_errors: true\n");
        }
        let name = task
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("- name: "))
            .unwrap_or("the example")
            .replace('"', "'");
        body.push_str(&format!(
            "    - name: \"Assert: {name}\"\n      ansible.builtin.assert:\n        that:\n          - \"{}\"\n\n",
            expect.replace("RESULT", &var).replace('"', "\\\"")
        ));
    }
    format!(
        "---\n# Generated by cargo xtask test from the EXAMPLES of keel.storage.{module}.\n\
- name: Examples of keel.storage.{module}\n  hosts: \"{{{{ keel_examples_hosts | default('local') }}}}\"\n  gather_facts: false\n  \
environment: \"{{{{ keel_examples_env | default({{}}) }}}}\"\n  tasks:\n{body}"
    )
}

fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("{pad}{l}\n")
            }
        })
        .collect()
}

pub fn examples(tools: &Venv, root: &Path, work: &Path, collections: &Path) -> Result {
    let dir = work.join("examples");
    let inventory = root.join("tests/playbooks/inventory.ini");
    let mut ran = Vec::new();
    let mut checked = Vec::new();
    for module in super::stubs(root)? {
        let doc = doc_json(tools, collections, &module)?;
        let text = doc["examples"].as_str().unwrap_or_default();
        if text.trim().is_empty() {
            return Err(format!("keel.storage.{module} has no EXAMPLES"));
        }
        let run = run_of(&module);
        let expect = run.map_or("RESULT is not failed", |r| r.expect);
        let playbook = write(
            &dir.join(format!("{module}.yml")),
            &example_playbook(&module, text, expect),
        )?;
        let base = |extra: &[&str]| {
            let mut cmd = tools.cmd("ansible-playbook");
            isolate(&mut cmd, &work.join("home"), Some(collections));
            cmd.current_dir(root)
                .arg("-i")
                .arg(&inventory)
                .arg(&playbook)
                .args(extra);
            cmd
        };
        checked.push(module.clone());
        // A run parses the whole playbook first, so only the examples not run get --syntax-check.
        if run.is_none() {
            util::run_explained(&mut base(&["--syntax-check"])).map_err(|e| format!("{module} EXAMPLES: {e}"))?;
            continue;
        }
        let env: Map<String, Value> = fake_env(root, &work.join(format!("examples-state-{module}")), run)?
            .into_iter()
            .map(|(k, v)| (k, json!(v)))
            .collect();
        let vars = json!({ "keel_examples_env": env });
        let vars_file = write(&dir.join(format!("{module}.vars.json")), &vars.to_string())?;
        let at = format!("@{}", vars_file.display());
        util::run_explained(&mut base(&["-e", &at])).map_err(|e| format!("{module} EXAMPLES: {e}"))?;
        ran.push(module);
    }
    let not_run: Vec<&String> = checked.iter().filter(|m| !ran.contains(m)).collect();
    eprintln!(
        "examples: syntax-checked {}; ran against their fakes {}; left to the testbed: {}",
        checked.join(", "),
        ran.join(", "),
        not_run.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_playbooks_register_and_assert_every_keel_task() {
        let examples =
            "- name: First\n  keel.storage.gluster_facts:\n\n- name: Show\n  ansible.builtin.debug:\n    msg: hi\n\n\
                        - name: Kept \"name\"\n  keel.storage.gluster_precheck:\n    mode: offline\n  register: pre\n";
        let p = example_playbook(
            "gluster_x",
            examples,
            "RESULT is not failed or (RESULT.blocking | default(false))",
        );
        assert!(p.contains("      register: keel_example_1\n      ignore_errors: true\n"));
        assert!(p.contains("- \"keel_example_1 is not failed or (keel_example_1.blocking | default(false))\""));
        // A task's own register is kept and asserted, not duplicated.
        assert_eq!(p.matches("register: pre").count(), 1);
        assert!(p.contains("- \"pre is not failed or (pre.blocking | default(false))\""));
        assert!(p.contains("name: \"Assert: Kept 'name'\""));
        // Other tasks are copied untouched and not asserted.
        assert!(p.contains("    - name: Show\n      ansible.builtin.debug:\n        msg: hi\n"));
        assert_eq!(p.matches("ansible.builtin.assert").count(), 2);
    }
}
