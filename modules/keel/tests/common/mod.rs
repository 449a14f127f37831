//! What every module test needs: run a module binary as ansible-core does (an args file in, one
//! JSON object out) and build its args.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `binary` on `args` with `path` as the whole PATH and `env` added; returns the parsed result.
/// The binary that holds `module`: the one (of modules/keel/src/bin) whose --list-modules names
/// it, as the collection's BINARY_OF table is generated from the binaries themselves.
#[allow(dead_code)]
pub fn binary_of(module: &str) -> Option<String> {
    static HELD: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    let held = HELD.get_or_init(|| {
        let mut held = Vec::new();
        let mut bins: Vec<String> = std::fs::read_dir(repo().join("modules/keel/src/bin"))
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".rs").map(str::to_string))
            .collect();
        bins.sort();
        for bin in bins {
            let out = Command::cargo_bin(&bin)
                .unwrap()
                .arg("--list-modules")
                .output()
                .unwrap();
            for m in String::from_utf8_lossy(&out.stdout).lines() {
                if !m.starts_with("keel_") {
                    held.push((m.to_string(), bin.clone()));
                }
            }
        }
        held
    });
    held.iter().find(|(m, _)| m == module).map(|(_, b)| b.clone())
}

/// Runs `args` with the binary that holds its `_keel_module` (the pool-wide binary for the hidden
/// self-test and for names no binary holds, which it must refuse).
#[allow(dead_code)]
pub fn run_module(args: Value, path: &str, env: &[(&str, &str)]) -> Value {
    let module = args["_keel_module"].as_str().unwrap_or("keel_selftest").to_string();
    let binary = binary_of(&module).unwrap_or_else(|| "keel_gluster_cluster".to_string());
    run(&binary, args, path, env)
}

pub fn run(binary: &str, args: Value, path: &str, env: &[(&str, &str)]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("args");
    std::fs::write(&file, args.to_string()).unwrap();
    let mut cmd = Command::cargo_bin(binary).unwrap();
    cmd.arg(&file).env_clear().env("PATH", path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "exactly one line of JSON: {stdout}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// The args file of `module`: `base` then `extra`, a later key winning.
pub fn module_args(module: &str, base: Value, extra: Value) -> Value {
    let mut args = json!({ "_keel_module": module });
    for part in [base, extra] {
        args.as_object_mut().unwrap().extend(part.as_object().unwrap().clone());
    }
    args
}
