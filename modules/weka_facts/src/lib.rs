//! `keel.storage.weka_facts`: read-only facts about the WEKA cluster as this host sees it:
//! release (parsed into numeric parts and build suffix), status, backends and clients with
//! their releases and states, alerts, rebuild, background tasks, the data upgrade, and the
//! containers on this host.

use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult};
use keel_weka_cli::{Common, Weka};
use serde::Deserialize;
use serde_json::{json, Map, Value};

mod spec;
pub use spec::MODULE;

#[derive(Deserialize)]
struct Args {
    #[serde(flatten)]
    common: Common,
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed("weka_facts", opts)?;
    let weka = Weka::new("weka_facts", &args.common)?;
    let c = weka.gather(ctx)?;
    let backends = c.hosts("backend");
    let clients = c.hosts("client");
    let data_upgrade = c.data_upgrade();
    let msg = format!(
        "WEKA {} cluster {}: {} backend(s) ({} up), {} client(s); status {}, io {}; {} alert(s){}",
        c.status.release,
        c.status.name,
        backends.len(),
        backends.iter().filter(|h| h.up).count(),
        clients.len(),
        c.status.status,
        c.status.io_status,
        c.alerts.len(),
        data_upgrade.as_deref().map(|d| format!("; {d}")).unwrap_or_default()
    );
    let facts = json!({
        "release": c.status.release,
        "name": c.status.name,
        "guid": c.status.guid,
        "status": c.status.status,
        "io_status": c.status.io_status,
        "upgrading": c.status.upgrading(),
        "data_upgrade": data_upgrade,
        "multi_container": c.multi_container(),
        "backends": backends,
        "clients": clients,
        "containers": c.containers,
        "alerts": c.alerts,
        "rebuild": c.rebuild,
        "tasks": c.tasks,
        "local_containers": c.local,
        "counts": {"backends": c.status.backends, "clients": c.status.clients, "drives": c.status.drives,
                   "io_nodes": c.status.io_nodes, "active_alerts": c.status.active_alerts},
    });
    Ok(ModuleResult::new(false, msg).with("ansible_facts", json!({ "weka": facts })))
}
