//! `keel.storage.weka_upgrade_path`: the hops WEKA's rules require from the running release (or
//! `from_version`) to `target_version`, from the collection's data file (option
//! `upgrade_paths`, the built-in copy by default). An impossible target fails with the reason.
//! Read-only.

use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult};
use keel_weka_cli::{path_table, version_option, Common, Weka};
use serde::Deserialize;
use serde_json::{Map, Value};

mod spec;
pub use spec::MODULE;

#[derive(Deserialize)]
struct Args {
    target_version: String,
    from_version: Option<String>,
    upgrade_paths: Option<Value>,
    #[serde(flatten)]
    common: Common,
}

const NAME: &str = "weka_upgrade_path";

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed(NAME, opts)?;
    let target = version_option(NAME, "target_version", &args.target_version)?;
    let table = path_table(NAME, args.upgrade_paths.as_ref())?;
    let from = match &args.from_version {
        Some(f) => version_option(NAME, "from_version", f)?,
        None => Weka::new(NAME, &args.common)?.status(ctx)?.release,
    };
    let hops = table.plan(&from, &target).map_err(ModuleError::failed)?;
    let path: Vec<&str> = std::iter::once(from.text.as_str())
        .chain(hops.iter().map(|h| h.to.as_str()))
        .collect();
    let msg = if hops.is_empty() {
        format!("the cluster already runs {target}: no hop to make")
    } else {
        format!("{} hop(s): {}", hops.len(), path.join(" -> "))
    };
    Ok(ModuleResult::new(false, msg)
        .with("from_version", &from.text)
        .with("target_version", &target.text)
        .with("path", &path)
        .with("hops", &hops))
}
