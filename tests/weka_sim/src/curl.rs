//! `curl` as weka_version runs it to fetch a release tarball from get.weka.io with a token:
//! `curl -q --config FILE` and nothing else on its command line. It answers from the shared
//! state (the `download-fails` fault fails it with HTTP 403), writes a tarball whose `install.sh`
//! runs `weka-sim install VERSION`, and logs `host: curl URL` without the credentials, followed
//! by what it saw of the config file's protection, so that tests can assert on both.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::state::{self, Locked};
use crate::weka::Out;

pub fn main(args: Vec<String>) -> Out {
    match run(args) {
        Ok(o) | Err(o) => o,
    }
}

fn fail(code: i32, msg: &str) -> Out {
    Out {
        code,
        stdout: String::new(),
        stderr: format!("curl: {msg}\n"),
    }
}

fn run(args: Vec<String>) -> Result<Out, Out> {
    let config = match args.as_slice() {
        [q, c, file] if q == "-q" && c == "--config" => PathBuf::from(file),
        _ => {
            return Err(fail(
                2,
                &format!(
                    "the simulator knows only `curl -q --config FILE`, got: {}",
                    args.join(" ")
                ),
            ))
        }
    };
    let text = std::fs::read_to_string(&config)
        .map_err(|e| fail(26, &format!("cannot read the config {}: {e}", config.display())))?;
    let value = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
    };
    let url = value("url").ok_or_else(|| fail(2, "no url in the config"))?;
    let output = value("output").ok_or_else(|| fail(2, "no output in the config"))?;
    let (token, bare) = split_credentials(&url);
    let version = bare
        .rsplit_once("/dist/v1/pkg/weka-")
        .and_then(|(_, t)| t.strip_suffix(".tar"))
        .map(str::to_string)
        .ok_or_else(|| fail(22, "The requested URL returned error: 404"))?;
    let host = state::this_host();
    let path = state::state_path();
    let lock = Locked::acquire(&path).map_err(|e| fail(2, &e))?;
    let mut st = lock.load().map_err(|e| fail(2, &e))?;
    st.log.push(format!("{host}: curl {bare} ({})", protection(&config)));
    let failed = st.faults.download_fails.iter().any(|h| h == &host || h == "*");
    lock.save(&st).map_err(|e| fail(2, &e))?;
    if token.is_empty() {
        return Err(fail(22, "The requested URL returned error: 401"));
    }
    if failed {
        return Err(fail(22, "The requested URL returned error: 403"));
    }
    tarball(Path::new(&output), &version).map_err(|e| fail(23, &e))?;
    Ok(Out {
        code: 0,
        stdout: String::new(),
        stderr: String::new(),
    })
}

/// (user-info, the URL without it).
fn split_credentials(url: &str) -> (String, String) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (String::new(), url.to_string());
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => (rest[..at].to_string(), format!("{scheme}://{}", &rest[at + 1..])),
        None => (String::new(), url.to_string()),
    }
}

/// "config 0600, directory 0700, both owned by uid 0" as found.
fn protection(config: &Path) -> String {
    let mode = |p: &Path| {
        std::fs::symlink_metadata(p)
            .map(|m| (format!("{:04o}", m.permissions().mode() & 0o7777), m.uid()))
            .unwrap_or_else(|_| ("?".into(), u32::MAX))
    };
    let (file, fu) = mode(config);
    let (dir, du) = mode(config.parent().unwrap_or(Path::new("/")));
    format!("config {file} uid {fu}, directory {dir} uid {du}")
}

/// A release tarball as get.weka.io serves it: `weka-V/install.sh`.
fn tarball(output: &Path, version: &str) -> Result<(), String> {
    let work = output.with_extension("sim");
    let top = work.join(format!("weka-{version}"));
    std::fs::create_dir_all(&top).map_err(|e| e.to_string())?;
    let script = top.join("install.sh");
    std::fs::write(&script, format!("#!/bin/sh\nexec weka-sim install {version}\n")).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
    let status = std::process::Command::new("tar")
        .arg("-cf")
        .arg(output)
        .arg("-C")
        .arg(&work)
        .arg(format!("weka-{version}"))
        .status()
        .map_err(|e| format!("tar: {e}"))?;
    let _ = std::fs::remove_dir_all(&work);
    if status.success() {
        Ok(())
    } else {
        Err(format!("tar failed: {status}"))
    }
}
