//! The invariants of ARCHITECTURE.md ("Invariants") that a machine can check, run by
//! `cargo test --workspace`:
//!
//! - `model_crates_depend_on_nothing_that_does_io`: the model crates (`keel-*-model`: parsers,
//!   pool judgements, planners) have, in `cargo metadata`'s resolved graph, no normal dependency
//!   (direct or not) on the runtime, keel-host, nix, which or another crate that does I/O by
//!   design, and their direct normal dependencies are all on a short list of pure crates;
//! - `model_crate_sources_do_no_io`: their `src/` names no `std::fs`, `std::process`, `std::net`,
//!   `std::env`, `std::os`, `thread::sleep`, `Instant::now`, `SystemTime::now`, standard streams
//!   or printing macros, outside `#[cfg(test)]` items (their tests/ and examples/ may);
//! - `modules_reach_time_only_through_ctx`: no source under modules/*/src (tests aside) sleeps or
//!   reads a clock (`thread::sleep`, `Instant::now`, `SystemTime::now`) but the runtime's clock
//!   and command runner (clock.rs, command.rs): modules use `Ctx`'s clock;
//! - `no_tracked_file_points_outside_the_repository`: no tracked file names the sibling
//!   directory the project was once developed beside (see `outside()`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use serde_json::Value;

/// The crates a model crate may name as normal dependencies: none of them does I/O. A new one is
/// added here only after reading what it does.
const PURE: [&str; 5] = ["serde", "serde_json", "roxmltree", "thiserror", "percent-encoding"];

/// Crates that do I/O by design, refused anywhere in a model crate's normal dependency graph.
const IO: [&str; 22] = [
    "keel-runtime",
    "keel-host",
    "nix",
    "which",
    "libc",
    "rustix",
    "tempfile",
    "walkdir",
    "notify",
    "tokio",
    "async-std",
    "mio",
    "socket2",
    "reqwest",
    "ureq",
    "hyper",
    "signal-hook",
    "ctrlc",
    "dirs",
    "home",
    "env_logger",
    "assert_cmd",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

fn metadata() -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", Path::new(&cargo).display()));
    assert!(
        out.status.success(),
        "cargo metadata --locked failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON")
}

/// The workspace's model crates: (name, package id, manifest directory). Both families' must be
/// there, or the checks below would pass on nothing.
fn model_crates(meta: &Value) -> Vec<(String, String, PathBuf)> {
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let models: Vec<(String, String, PathBuf)> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| members.contains(p["id"].as_str().unwrap_or_default()))
        .filter_map(|p| {
            let name = p["name"].as_str()?;
            (name.starts_with("keel-") && name.ends_with("-model")).then(|| {
                let manifest = Path::new(p["manifest_path"].as_str().expect("manifest_path"));
                (
                    name.to_string(),
                    p["id"].as_str().expect("id").to_string(),
                    manifest.parent().expect("a manifest's directory").to_path_buf(),
                )
            })
        })
        .collect();
    let names: BTreeSet<&str> = models.iter().map(|(n, _, _)| n.as_str()).collect();
    for expected in ["keel-gluster-model", "keel-weka-model"] {
        assert!(names.contains(expected), "no {expected} in the workspace: {names:?}");
    }
    models
}

#[test]
fn model_crates_depend_on_nothing_that_does_io() {
    let meta = metadata();
    let models = model_crates(&meta);
    let model_ids: BTreeSet<&str> = models.iter().map(|(_, id, _)| id.as_str()).collect();
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve.nodes (cargo metadata without --no-deps)")
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    // A dependency edge is normal when one of its kinds is null (not "dev", not "build").
    let normal_deps = |id: &str| -> Vec<&str> {
        nodes[id]["deps"]
            .as_array()
            .map(|deps| {
                deps.iter()
                    .filter(|d| {
                        d["dep_kinds"]
                            .as_array()
                            .is_some_and(|k| k.iter().any(|k| k["kind"].is_null()))
                    })
                    .filter_map(|d| d["pkg"].as_str())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    for (name, id, _) in &models {
        for dep in normal_deps(id) {
            let dep_name = names[dep];
            if !PURE.contains(&dep_name) && !model_ids.contains(dep) {
                problems.push(format!(
                    "{name} depends on {dep_name}, which is not on the list of pure crates (xtask/tests/invariants.rs, \
                     PURE): a model crate does no I/O"
                ));
            }
        }
        // Every crate reachable over normal edges, with the edge that reached it first.
        let mut via: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([id.as_str()]);
        while let Some(at) = queue.pop_front() {
            for dep in normal_deps(at) {
                if dep != id && !via.contains_key(dep) {
                    via.insert(dep, at);
                    queue.push_back(dep);
                }
            }
        }
        for &dep in via.keys() {
            let dep_name = names[dep];
            let workspace_io = members.contains(dep) && !model_ids.contains(dep);
            if IO.contains(&dep_name) || workspace_io {
                let mut chain = vec![dep_name];
                let mut at = dep;
                while let Some(&from) = via.get(at) {
                    chain.push(names[from]);
                    at = from;
                }
                chain.push(name);
                chain.reverse();
                chain.dedup();
                problems.push(format!(
                    "{name} depends on {dep_name} ({}), a crate that does I/O or runs commands; model crates must not",
                    chain.join(" -> ")
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The tokens of a source file, comments and string contents dropped, items under `#[cfg(test)]`
/// left out: (text, line).
fn code_tokens(src: &str) -> Result<Vec<(String, usize)>, String> {
    let stream = TokenStream::from_str(src).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    flatten(stream, &mut out);
    Ok(out)
}

/// `cfg(test)` or `cfg(all(test, ...))`: the bracket group's content.
fn is_cfg_test(attr: &TokenStream) -> bool {
    let tokens: Vec<TokenTree> = attr.clone().into_iter().collect();
    match tokens.as_slice() {
        [TokenTree::Ident(cfg), TokenTree::Group(args)] if cfg == "cfg" => {
            let inner: Vec<TokenTree> = args.stream().into_iter().collect();
            match inner.first() {
                Some(TokenTree::Ident(i)) if i == "test" => inner.len() == 1,
                Some(TokenTree::Ident(i)) if i == "all" => inner.iter().skip(1).any(|t| match t {
                    TokenTree::Group(g) => g
                        .stream()
                        .into_iter()
                        .any(|t| matches!(&t, TokenTree::Ident(i) if i == "test")),
                    _ => false,
                }),
                _ => false,
            }
        }
        _ => false,
    }
}

fn flatten(stream: TokenStream, out: &mut Vec<(String, usize)>) {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        // `#![cfg(test)]`: the whole module is a test's.
        if let (Some(TokenTree::Punct(hash)), Some(TokenTree::Punct(bang)), Some(TokenTree::Group(g))) =
            (tokens.get(i), tokens.get(i + 1), tokens.get(i + 2))
        {
            if hash.as_char() == '#'
                && bang.as_char() == '!'
                && g.delimiter() == Delimiter::Bracket
                && is_cfg_test(&g.stream())
            {
                return;
            }
        }
        // `#[cfg(test)] ITEM`: skip the item, up to its `;` or its body's braces.
        if let (Some(TokenTree::Punct(hash)), Some(TokenTree::Group(g))) = (tokens.get(i), tokens.get(i + 1)) {
            if hash.as_char() == '#' && g.delimiter() == Delimiter::Bracket && is_cfg_test(&g.stream()) {
                i += 2;
                while i < tokens.len() {
                    match &tokens[i] {
                        TokenTree::Punct(p) if p.as_char() == ';' => break,
                        TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => break,
                        _ => i += 1,
                    }
                }
                i += 1;
                continue;
            }
        }
        match &tokens[i] {
            TokenTree::Ident(id) => out.push((id.to_string(), id.span().start().line)),
            TokenTree::Punct(p) => out.push((p.as_char().to_string(), p.span().start().line)),
            TokenTree::Literal(_) => {}
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::None => ("", ""),
                };
                out.push((open.to_string(), g.span_open().start().line));
                flatten(g.stream(), out);
                out.push((close.to_string(), g.span_close().start().line));
            }
        }
        i += 1;
    }
}

/// The paths a `use` tree names, from the tokens after `use` up to its `;`: `std::{fs, io::stdin}`
/// gives `std::fs` and `std::io::stdin`.
fn use_paths(tokens: &[(String, usize)], prefix: &[String], out: &mut Vec<Vec<String>>) {
    let mut path = prefix.to_vec();
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].0.as_str() {
            "{" => {
                let mut depth = 0;
                let start = i + 1;
                while i < tokens.len() {
                    match tokens[i].0.as_str() {
                        "{" => depth += 1,
                        "}" => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                use_paths(&tokens[start..i.min(tokens.len())], &path, out);
                path = prefix.to_vec();
            }
            "," => {
                if path.len() > prefix.len() {
                    out.push(std::mem::replace(&mut path, prefix.to_vec()));
                }
            }
            "as" => i += 1,
            ":" | "*" | "}" => {}
            name => path.push(name.to_string()),
        }
        i += 1;
    }
    if path.len() > prefix.len() {
        out.push(path);
    }
}

/// What a model crate's code must not name: (path prefix, why).
const REFUSED_PATHS: [(&[&str], &str); 11] = [
    (&["std", "fs"], "files are the runtime's or a module's"),
    (&["std", "process"], "commands are the runtime's runner's"),
    (&["std", "net"], "no network"),
    (&["std", "env"], "the environment is input a module reads"),
    (&["std", "os"], "OS specifics are the runtime's or keel-host's"),
    (&["std", "thread", "sleep"], "waiting is a module's"),
    (&["std", "io", "stdin"], "stdin is the runtime's (the protocol)"),
    (&["std", "io", "stdout"], "stdout is the runtime's (the protocol)"),
    (&["std", "io", "stderr"], "stderr is the runtime's"),
    (&["std", "time", "Instant", "now"], "the clock is input a module reads"),
    (
        &["std", "time", "SystemTime", "now"],
        "the clock is input a module reads",
    ),
];

/// Token sequences refused wherever they appear (after a `use` of their first part).
const REFUSED_CODE: [(&[&str], &str); 12] = [
    (&["thread", ":", ":", "sleep"], "waiting is a module's"),
    (&["Instant", ":", ":", "now"], "the clock is input a module reads"),
    (&["SystemTime", ":", ":", "now"], "the clock is input a module reads"),
    (&["fs", ":", ":"], "files are the runtime's or a module's"),
    (&["io", ":", ":", "stdin"], "stdin is the runtime's (the protocol)"),
    (&["io", ":", ":", "stdout"], "stdout is the runtime's (the protocol)"),
    (&["io", ":", ":", "stderr"], "stderr is the runtime's"),
    (&["println", "!"], "stdout is the runtime's (the protocol)"),
    (&["print", "!"], "stdout is the runtime's (the protocol)"),
    (&["eprintln", "!"], "stderr is the runtime's"),
    (&["eprint", "!"], "stderr is the runtime's"),
    (&["dbg", "!"], "stderr is the runtime's"),
];

/// Where a source file does I/O: "line: what (why)".
fn io_in(src: &str) -> Result<Vec<String>, String> {
    let tokens = code_tokens(src)?;
    let texts: Vec<&str> = tokens.iter().map(|(t, _)| t.as_str()).collect();
    let mut found = Vec::new();
    // Every path written out, `use` trees expanded: identifiers joined by `::`.
    let mut i = 0;
    while i < tokens.len() {
        if texts[i] == "use" {
            let end = texts[i..]
                .iter()
                .position(|t| *t == ";")
                .map_or(tokens.len(), |p| i + p);
            let mut paths = Vec::new();
            use_paths(&tokens[i + 1..end], &[], &mut paths);
            for path in paths {
                for (refused, why) in REFUSED_PATHS {
                    if path.len() >= refused.len() && path[..refused.len()].iter().zip(refused).all(|(a, b)| a == b) {
                        found.push(format!("{}: use {} ({why})", tokens[i].1, path.join("::")));
                    }
                }
            }
            i = end;
            continue;
        }
        if texts[i] == "std" {
            let mut path = vec!["std".to_string()];
            let mut j = i + 1;
            while j + 2 < texts.len() && texts[j] == ":" && texts[j + 1] == ":" {
                path.push(texts[j + 2].to_string());
                j += 3;
            }
            for (refused, why) in REFUSED_PATHS {
                if path.len() >= refused.len() && path[..refused.len()].iter().zip(refused).all(|(a, b)| a == b) {
                    found.push(format!("{}: {} ({why})", tokens[i].1, path.join("::")));
                }
            }
        }
        for (refused, why) in REFUSED_CODE {
            // `std::fs::` is reported as a path above; a bare `fs::` follows a `use std::fs`.
            let after_path = i > 0 && texts[i - 1] == ":";
            if texts[i..].starts_with(refused) && !after_path {
                found.push(format!("{}: {} ({why})", tokens[i].1, refused.concat()));
            }
        }
        i += 1;
    }
    found.dedup();
    Ok(found)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn model_crate_sources_do_no_io() {
    let meta = metadata();
    let mut problems = Vec::new();
    let mut scanned = 0;
    for (name, _, dir) in model_crates(&meta) {
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for f in files {
            let src = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let rel = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
            match io_in(&src) {
                Ok(found) => problems.extend(found.into_iter().map(|w| format!("{name}: {rel}:{w}"))),
                Err(e) => problems.push(format!("{rel}: cannot read its tokens: {e}")),
            }
            scanned += 1;
        }
    }
    assert!(scanned >= 2, "no model crate sources found");
    assert!(
        problems.is_empty(),
        "model crates do no I/O (ARCHITECTURE.md, Invariants; tests and examples may):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_io_scan_sees_what_it_must_and_skips_tests() {
    let hits = |src: &str| io_in(src).unwrap();
    assert!(hits("fn f() -> u32 { 1 }").is_empty());
    assert!(hits("use std::time::{Duration, Instant}; fn f(d: Duration) {}").is_empty());
    assert!(hits(
        r#"/// std::fs::read here is prose
        fn f() -> &'static str { "std::process::Command" }"#
    )
    .is_empty());
    assert!(hits("#[cfg(test)] mod tests { use std::fs; fn t() { std::fs::read(\"x\").ok(); } }").is_empty());
    assert!(hits("#[cfg(all(test, unix))] fn t() { println!(\"x\") }").is_empty());
    for bad in [
        "fn f() { let _ = std::fs::read_to_string(\"x\"); }",
        "use std::fs;",
        "use std::{collections::BTreeMap, process::Command};",
        "use std::io::{self, stdin};",
        "fn f() { std::thread::sleep(std::time::Duration::from_secs(1)); }",
        "use std::thread; fn f() { thread::sleep(D); }",
        "use std::time::Instant; fn f() { let _ = Instant::now(); }",
        "fn f() -> u64 { std::time::SystemTime::now().elapsed().unwrap().as_secs() }",
        "fn f() { println!(\"{}\", 1) }",
        "fn f() -> u32 { std::process::id() }",
        "#[cfg(not(test))] fn f() { std::process::exit(1) }",
        "fn f() -> String { std::env::var(\"HOME\").unwrap() }",
        "use std::io; fn f() { let _ = io::stdout(); }",
    ] {
        assert!(!hits(bad).is_empty(), "not seen: {bad}");
    }
}

/// The runtime's implementations of the clock and of the command runner: the only module sources
/// that may read the host's clocks or sleep.
const CLOCK_AND_RUNNER: [&str; 2] = ["modules/runtime/src/clock.rs", "modules/runtime/src/command.rs"];

/// Where a source file reads a clock or sleeps: the time-related hits of `io_in`.
fn time_in(src: &str) -> Result<Vec<String>, String> {
    Ok(io_in(src)?
        .into_iter()
        .filter(|hit| hit.contains("sleep") || hit.contains("::now"))
        .collect())
}

#[test]
fn modules_reach_time_only_through_ctx() {
    let mut problems = Vec::new();
    let mut scanned = 0;
    let modules = root().join("modules");
    let mut crates: Vec<PathBuf> = std::fs::read_dir(&modules)
        .unwrap_or_else(|e| panic!("{}: {e}", modules.display()))
        .map(|e| e.expect("a directory entry").path().join("src"))
        .filter(|src| src.is_dir())
        .collect();
    crates.sort();
    for src_dir in crates {
        let mut files = Vec::new();
        rust_files(&src_dir, &mut files);
        for f in files {
            let rel = f.strip_prefix(root()).unwrap_or(&f).display().to_string();
            // Test modules kept in their own file (`#[cfg(test)] mod tests;`).
            if CLOCK_AND_RUNNER.contains(&rel.as_str()) || f.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            let src = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            match time_in(&src) {
                Ok(found) => problems.extend(found.into_iter().map(|w| format!("{rel}:{w}"))),
                Err(e) => problems.push(format!("{rel}: cannot read its tokens: {e}")),
            }
            scanned += 1;
        }
    }
    assert!(scanned >= 20, "only {scanned} module sources found");
    assert!(
        problems.is_empty(),
        "modules reach time only through Ctx (ctx.now(), ctx.sleep(), ctx.wall(), ctx.poll(); ARCHITECTURE.md, \
         Invariants), so that a test runs their waits on a fake clock:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_time_scan_sees_sleeps_and_clocks_only() {
    let hits = |src: &str| time_in(src).unwrap();
    assert!(hits("fn f(ctx: &Ctx) { ctx.sleep(D); let _ = ctx.now(); }").is_empty());
    assert!(
        hits("fn f() { let _ = std::fs::read(\"x\"); }").is_empty(),
        "files are not time"
    );
    assert!(hits("#[cfg(test)] mod tests { fn t() { std::thread::sleep(D); } }").is_empty());
    for bad in [
        "fn f() { std::thread::sleep(std::time::Duration::from_secs(1)); }",
        "use std::thread::sleep; fn f() { sleep(D); }",
        "use std::time::Instant; fn f() { let _ = Instant::now(); }",
        "fn f() -> u64 { std::time::SystemTime::now().elapsed().unwrap().as_secs() }",
    ] {
        assert!(!hits(bad).is_empty(), "not seen: {bad}");
    }
}

/// The sibling directory the project must not reach into, written so that this file does not
/// name it itself (and so needs no exception in the scan).
fn outside() -> String {
    ["..", "shared"].join("/")
}

#[test]
fn no_tracked_file_points_outside_the_repository() {
    let root = root();
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(&root)
        .output()
        .expect("git: the check reads the tracked files");
    assert!(
        out.status.success(),
        "git ls-files: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let needle = outside();
    let mut hits = Vec::new();
    let mut read = 0;
    for name in out.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name).into_owned();
        let path = root.join(&name);
        // Deleted in the working tree, a submodule or a dangling link: nothing to read.
        let Ok(bytes) = std::fs::read(&path) else { continue };
        if bytes[..bytes.len().min(8000)].contains(&0) {
            continue;
        }
        let Ok(text) = String::from_utf8(bytes) else { continue };
        read += 1;
        for (n, line) in text.lines().enumerate() {
            if line.contains(&needle) {
                hits.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(read > 100, "only {read} tracked text files read");
    assert!(
        hits.is_empty(),
        "tracked files name {needle}, outside the repository (ARCHITECTURE.md, Invariants):\n{}",
        hits.join("\n")
    );
}
