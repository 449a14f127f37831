//! `keel.storage.gluster_precheck`: may this pool be upgraded (online or offline) to the target
//! release? Returns every finding and fails when one blocks. Changes nothing.

pub mod findings;

use std::time::Duration;

use keel_gluster_cli::{parse::version_from, pool, Gluster};
use keel_runtime::findings::verdict;
use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use findings::{Mode, Policy};

mod spec;
pub use spec::MODULE;

#[derive(Deserialize)]
struct Args {
    mode: Mode,
    target_version: Option<String>,
    allow_distribute: bool,
    other_release_peers: Vec<String>,
    georep_changelog_upgraded: bool,
    clients_connected_ok: bool,
    command_timeout: u64,
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_precheck", opts)?;
    let target = match &args.target_version {
        Some(t) => Some(version_from(t).ok_or_else(|| {
            ModuleError::invalid_args(format!(
                "gluster_precheck: option 'target_version' must be a Gluster release like 11.1, got '{t}'"
            ))
        })?),
        None => None,
    };
    let policy = Policy {
        mode: args.mode,
        target,
        allow_distribute: args.allow_distribute,
        other_release: args.other_release_peers,
        georep_changelog_upgraded: args.georep_changelog_upgraded,
    };
    let gluster = Gluster {
        timeout: Duration::from_secs(args.command_timeout),
    };
    let pool = pool::gather(ctx, &gluster, true)?;
    let mut found = findings::evaluate(&pool, &policy);
    let mut data = Map::new();
    if policy.mode == Mode::Offline {
        let connections = gluster.clients(ctx)?;
        found.extend(findings::clients_connected(&connections, args.clients_connected_ok));
        found.sort_by_key(|f| std::cmp::Reverse(f.severity));
    }
    data.insert("installed_version".into(), json!(pool.version.text));
    data.insert("blockers_may_clear".into(), json!(findings::blockers_may_clear(&found)));
    // The rolling play skips a server already on the target from this, not from its own compare.
    data.insert("at_target".into(), json!(found.iter().any(|f| f.code == "at_target")));
    let what = match args.mode {
        Mode::Online => "an online upgrade",
        Mode::Offline => "an offline upgrade",
        Mode::Clients => "the clients' upgrade",
    };
    verdict(&found, what, data)
}
