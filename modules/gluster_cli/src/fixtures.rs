//! Pools built from the real captured output in modules/gluster_model/tests/fixtures, for the
//! tests of every crate that judges a pool (feature `fixtures`, enabled only as a
//! dev-dependency). Here rather than in the model crate: it reads files.

use std::path::Path;

use crate::parse::*;
use crate::pool::{merge_volume, Pool};

fn fixture(dir: &str, name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gluster_model/tests/fixtures")
        .join(dir)
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A pool from captures; `prefix` picks the degraded or rejected variants where they exist.
pub fn pool(dir: &str, prefix: &str) -> Pool {
    let pick = |name: &str| {
        let special = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../gluster_model/tests/fixtures")
            .join(dir)
            .join(format!("{prefix}{name}"));
        if special.exists() {
            std::fs::read_to_string(special).unwrap()
        } else {
            fixture(dir, name)
        }
    };
    let statuses = parse_volume_status(&pick("volume-status-all.xml")).unwrap();
    let volumes = parse_volume_info(&pick("volume-info.xml"))
        .unwrap()
        .into_iter()
        .map(|info| {
            let heal = if info.started() && info.vol_type.heals() {
                let f = format!("heal-{}-info-summary.xml", info.name);
                let special = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../gluster_model/tests/fixtures")
                    .join(dir)
                    .join(format!("{prefix}{f}"));
                let plain = special.with_file_name(&f);
                if special.exists() || plain.exists() {
                    Ok(parse_heal_summary(&pick(&f)).unwrap())
                } else {
                    Ok(vec![])
                }
            } else {
                Ok(vec![])
            };
            let st = statuses.iter().find(|s| s.name == info.name);
            merge_volume(info, st, heal)
        })
        .collect();
    Pool {
        version: parse_version(&fixture(dir, "version.txt")).unwrap(),
        op_version: 100000,
        max_op_version: Some(100000),
        peers: parse_peers(&pick("pool-list.xml")).unwrap(),
        volumes,
    }
}

/// A transcript for in-process module tests: `gluster` answers as tests/fake-bin's gluster does,
/// from the captures of release `dir`, preferring those named with one of `prefixes` (in order);
/// `mode` "no-glusterd" answers as a host whose glusterd is down, "no-max-op-version" as a glusterd
/// that will not tell cluster.max-op-version. Other programs are not answered.
pub fn transcript(dir: &str, prefixes: &[&str], mode: &str) -> keel_runtime::script::Script {
    let dir = dir.to_string();
    let prefixes: Vec<String> = prefixes.iter().map(|p| p.to_string()).collect();
    let mode = mode.to_string();
    keel_runtime::script::Script::answering(move |argv| {
        use keel_runtime::script::Answer;
        let (program, args) = argv.split_first()?;
        if *program != "gluster" {
            return None;
        }
        if mode == "no-glusterd" && args.first() != Some(&"--version") {
            return Some(Answer::fail(
                1,
                "Connection failed. Please check if gluster daemon is operational.\n",
                "",
            ));
        }
        let words: Vec<&str> = args
            .iter()
            .copied()
            .filter(|a| !(a.starts_with("--mode=") || *a == "--xml" || a.starts_with("--timeout=")))
            .collect();
        let file = match words.as_slice() {
            ["--version"] => "version.txt".to_string(),
            ["pool", "list"] => "pool-list.xml".into(),
            ["peer", "status"] => "peer-status.xml".into(),
            ["volume", "info", "all"] | ["volume", "info"] => "volume-info.xml".into(),
            ["volume", "status", "all", "clients"] => "volume-status-all-clients.xml".into(),
            ["volume", "status", "all"] => "volume-status-all.xml".into(),
            ["volume", "heal", v, "info", "summary"] => format!("heal-{v}-info-summary.xml"),
            ["volume", "heal", v, "info", "split-brain"] => format!("heal-{v}-info-split-brain.xml"),
            ["volume", "heal", v, "info"] => format!("heal-{v}-info.xml"),
            ["volume", "heal", v] => format!("heal-{v}-trigger.txt"),
            ["volume", "get", "all", "cluster.op-version"] => "op-version.xml".into(),
            ["volume", "get", "all", "cluster.max-op-version"] if mode == "no-max-op-version" => {
                // As glusterd answers for a while after peers (re)connect (seen on the testbed).
                return Some(Answer::ok(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<cliOutput>\n  <opRet>-2</opRet>\n  \
                     <opErrno>0</opErrno>\n  <opErrstr>option cluster.max-op-version does not exist</opErrstr>\n\
                     </cliOutput>\n",
                ));
            }
            ["volume", "get", "all", "cluster.max-op-version"] => "max-op-version.xml".into(),
            _ => {
                return Some(Answer::fail(
                    2,
                    "",
                    format!("fake gluster: no fixture for: {}\n", words.join(" ")),
                ))
            }
        };
        let base = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../gluster_model/tests/fixtures")
            .join(&dir);
        let file = prefixes
            .iter()
            .map(|p| format!("{p}{file}"))
            .find(|f| base.join(f).exists())
            .unwrap_or(file);
        let path = base.join(&file);
        let Ok(stdout) = std::fs::read_to_string(&path) else {
            return Some(Answer::fail(
                2,
                "",
                format!("fake gluster: missing {}\n", path.display()),
            ));
        };
        let stem = path.with_extension("");
        let side = |ext: &str| std::fs::read_to_string(stem.with_extension(ext)).ok();
        let rc = side("rc").and_then(|t| t.trim().parse().ok()).unwrap_or(0);
        Some(Answer::fail(rc, stdout, side("stderr").unwrap_or_default()))
    })
}
