//! `keel.storage.weka_precheck`: may this WEKA cluster be upgraded to the target (its next
//! hop)? Returns every finding and fails when one blocks. Changes nothing.

pub mod findings;

use std::path::Path;

use keel_runtime::findings::verdict;
use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult};
use keel_weka_cli::{path_table, version_option, Common, Weka};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use findings::{Finding, Input, Severity, Space};

mod spec;
pub use spec::MODULE;

const NAME: &str = "weka_precheck";

#[derive(Deserialize)]
struct Args {
    target_version: String,
    allowed_alerts: Vec<String>,
    weka_dir: String,
    check_space: bool,
    check_clients: bool,
    upgrade_paths: Option<Value>,
    #[serde(flatten)]
    common: Common,
}

/// Free space of `dir` and of each of its data/<container> directories, with their sizes.
fn measure(dir: &str) -> Space {
    let free = |p: &Path| {
        nix::sys::statvfs::statvfs(p)
            .map(|s| s.blocks_available().saturating_mul(s.fragment_size()))
            .unwrap_or(0)
    };
    let root = Path::new(dir);
    let mut data = Vec::new();
    if let Ok(entries) = std::fs::read_dir(root.join("data")) {
        for e in entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
            data.push((
                e.file_name().to_string_lossy().into_owned(),
                size_of(&e.path()),
                free(&e.path()),
            ));
        }
    }
    data.sort();
    Space {
        dir: dir.to_string(),
        exists: root.is_dir(),
        free: free(root),
        data,
    }
}

/// Bytes in a directory tree (apparent sizes, symlinks not followed).
fn size_of(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) if m.is_file() => total += m.len(),
                _ => {}
            }
        }
    }
    total
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed(NAME, opts)?;
    let target = version_option(NAME, "target_version", &args.target_version)?;
    let table = path_table(NAME, args.upgrade_paths.as_ref())?;
    let weka = Weka::new(NAME, &args.common)?;
    // Without a login nothing else can be read: that is the finding.
    let cluster = match weka.gather(ctx) {
        Ok(c) => c,
        Err(ModuleError::Command { msg, output }) if keel_weka_cli::cli::refused_credentials(&output) => {
            let f = vec![Finding {
                severity: Severity::Blocker,
                code: "login",
                msg: msg.clone(),
            }];
            let mut data = Map::new();
            data.insert("running_version".into(), Value::Null);
            return verdict(&f, &format!("the upgrade to {target}"), data);
        }
        Err(e) => return Err(e),
    };
    let whoami = weka.whoami(ctx).map_err(|e| e.to_string());
    let space = args.check_space.then(|| measure(&args.weka_dir));
    let found = findings::evaluate(&Input {
        cluster: &cluster,
        whoami,
        target: &target,
        table: &table,
        allowed_alerts: &args.allowed_alerts,
        space: space.clone(),
        check_clients: args.check_clients,
    });
    let running = cluster.status.release.text.clone();
    let mut data = Map::new();
    data.insert("running_version".into(), json!(running));
    data.insert("space".into(), json!(space));
    verdict(&found, &format!("the upgrade from {running} to {target}"), data)
}
