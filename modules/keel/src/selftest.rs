//! `keel_selftest`: exercises the protocol runtime end to end (options of every kind, a secret,
//! a command, check and diff mode, failure and panic paths). Used by the test suite through
//! `keel.storage.__bin__.keel_gluster_cluster_linux_x86_64`; every binary holds it; not routed or
//! documented as a user module.

use std::time::Duration;

use keel_runtime::{into_typed, Ctx, Kind, ModuleDef, ModuleError, ModuleResult, Opt};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const MODULE: ModuleDef = ModuleDef {
    name: "keel_selftest",
    options: &[
        Opt::new("message", Kind::Str).default_str(""),
        Opt::new("password", Kind::Str).secret().default_str(""),
        Opt::new("count", Kind::Int).default_int(0),
        Opt::new("enabled", Kind::Bool).default_bool(false),
        Opt::new("timeout", Kind::Duration).default_str("0"),
        Opt::new("change", Kind::Bool).default_bool(false),
        Opt::new("fail", Kind::Bool).default_bool(false),
        Opt::new("panic", Kind::Bool).default_bool(false),
    ],
    supports_check_mode: true,
    run,
    ..ModuleDef::BASE
};

#[derive(Deserialize)]
struct Args {
    message: String,
    password: String,
    count: i64,
    enabled: bool,
    timeout: u64,
    change: bool,
    fail: bool,
    panic: bool,
}

fn run(ctx: &mut Ctx, opts: Map<String, Value>) -> Result<ModuleResult, ModuleError> {
    let a: Args = into_typed("keel_selftest", opts)?;
    if a.panic {
        panic!("selftest panic carrying {}", a.password);
    }
    let out = ctx.run(&["echo", &a.message, &a.password], Duration::from_secs(10))?;
    if a.fail {
        return Err(ModuleError::command(
            format!("selftest failed on purpose with {}", a.password),
            out,
        ));
    }
    let changed = a.change;
    let mut r = ModuleResult::new(
        changed,
        if ctx.check_mode() {
            format!("would echo {}", a.password)
        } else {
            format!("echoed {}", a.password)
        },
    )
    .with(
        "echo",
        json!({"message": a.message, "nested": [a.password.clone()], "count": a.count,
                         "enabled": a.enabled, "timeout": a.timeout, "check_mode": ctx.check_mode()}),
    );
    r.stdout = Some(out.stdout);
    if changed {
        r.diff = Some(json!({"before": "", "after": format!("{}\n", a.message)}));
    }
    Ok(r)
}
