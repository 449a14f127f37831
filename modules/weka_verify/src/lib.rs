//! `keel.storage.weka_verify`: waits until every backend (and, optionally, every client) runs
//! the expected release, io is STARTED, `weka status` says OK and shows the release in its
//! header (the upgrade guide's check), and no data upgrade runs. Read-only.

use std::time::Duration;

use keel_runtime::{into_typed, Ctx, ModuleError, ModuleResult, Poll};
use keel_weka_cli::{version_option, Cluster, Common, Weka, WekaVersion};
use serde::Deserialize;
use serde_json::{Map, Value};

mod spec;
pub use spec::MODULE;

const NAME: &str = "weka_verify";

#[derive(Deserialize)]
struct Args {
    version: Option<String>,
    include_clients: bool,
    wait_timeout: u64,
    poll_interval: u64,
    #[serde(flatten)]
    common: Common,
}

/// What keeps the cluster from being verified; empty when it is.
pub fn problems(
    c: &Cluster,
    header: Option<&WekaVersion>,
    expected: Option<&WekaVersion>,
    clients: bool,
) -> Vec<String> {
    let mut p = Vec::new();
    if let Some(v) = expected {
        if c.status.release != *v {
            p.push(format!("the cluster runs {}, expected {v}", c.status.release));
        }
        if let Some(h) = header.filter(|h| *h != v) {
            p.push(format!("`weka status` shows {h} in its header, expected {v}"));
        }
    }
    let mut hosts = c.hosts("backend");
    // A listing with no backend (empty, or in a shape the parser does not know) verifies nothing.
    if hosts.is_empty() {
        p.push("weka lists no backend, so none was verified".into());
    }
    if clients {
        hosts.extend(c.hosts("client"));
    }
    for h in &hosts {
        if !h.up {
            p.push(format!("{} {} is not UP", h.mode, h.hostname));
        }
        if let Some(v) = expected {
            if WekaVersion::parse(&h.version).as_ref() != Some(v) {
                p.push(format!("{} {} runs {}, expected {v}", h.mode, h.hostname, h.version));
            }
        }
    }
    if !c.status.io_status.eq_ignore_ascii_case("STARTED") {
        p.push(format!("io status is {}, not STARTED", c.status.io_status));
    }
    if !c.status.status.eq_ignore_ascii_case("OK") {
        p.push(format!("weka status is {}, not OK", c.status.status));
    }
    if let Some(d) = c.data_upgrade() {
        p.push(format!("a data upgrade is still running ({d})"));
    }
    p
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let args: Args = into_typed(NAME, opts)?;
    let expected = match &args.version {
        Some(v) => Some(version_option(NAME, "version", v)?),
        None => None,
    };
    let weka = Weka::new(NAME, &args.common)?;
    ctx.poll(
        Duration::from_secs(args.poll_interval.max(1)),
        Some(Duration::from_secs(args.wait_timeout)),
        |ctx, started| {
            let found = match weka.gather(ctx) {
                Ok(c) => {
                    let header = weka
                        .ok(ctx, &["status"])
                        .ok()
                        .and_then(|t| keel_weka_cli::parse::parse_status_text_release(&t).ok());
                    let p = problems(&c, header.as_ref(), expected.as_ref(), args.include_clients);
                    if p.is_empty() {
                        let backends = c.hosts("backend");
                        let clients = c.hosts("client");
                        let msg = format!(
                            "WEKA {}: {} backend(s){} on it and UP, io STARTED, status OK",
                            c.status.release,
                            backends.len(),
                            if args.include_clients {
                                format!(" and {} client(s)", clients.len())
                            } else {
                                String::new()
                            }
                        );
                        return Ok(Poll::Ready(
                            ModuleResult::new(false, msg)
                                .with("release", &c.status.release)
                                .with("backends", &backends)
                                .with("clients", &clients)
                                .with("waited_s", ctx.since(started).as_secs()),
                        ));
                    }
                    p
                }
                // Credentials will not fix themselves; anything else may be the cluster settling.
                Err(e @ ModuleError::Command { .. }) if refused(&e) => return Err(e),
                // No weka CLI on this host: waiting will not install it.
                Err(e @ ModuleError::NotFound { .. }) => return Err(e),
                Err(e) => vec![e.to_string()],
            };
            Ok(Poll::Pending(found))
        },
        |found, _| {
            ModuleError::failed(format!(
                "the cluster is not verified after {} s: {}",
                args.wait_timeout,
                found.join("; ")
            ))
        },
    )
}

fn refused(e: &ModuleError) -> bool {
    matches!(e, ModuleError::Command { output, .. } if keel_weka_cli::cli::refused_credentials(output))
}
