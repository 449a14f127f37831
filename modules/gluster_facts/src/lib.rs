//! `keel.storage.gluster_facts`: read-only facts about the local Gluster server and its pool:
//! version, peers, volumes with their bricks (online, port, pid), self-heal daemons, heal counts
//! per brick, running tasks, and the cluster op-version and max-op-version.

use std::time::Duration;

use keel_gluster_cli::{pool, Gluster};
use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult};
use serde::Deserialize;
use serde_json::{json, Map, Value};

mod spec;
pub use spec::MODULE;

#[derive(Deserialize)]
struct Args {
    /// Gather heal counts (`heal VOL info summary`) for every started replicate/disperse volume.
    heal: bool,
    /// Seconds each gluster command may take.
    command_timeout: u64,
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("gluster_facts", opts)?;
    let gluster = Gluster {
        timeout: Duration::from_secs(args.command_timeout),
    };
    let pool = pool::gather(ctx, &gluster, args.heal)?;
    let msg = format!(
        "Gluster {} with {} peer(s) and {} volume(s), op-version {}",
        pool.version.text,
        pool.peers.len(),
        pool.volumes.len(),
        pool.op_version
    );
    Ok(ModuleResult::new(false, msg).with("ansible_facts", json!({ "gluster": pool })))
}
