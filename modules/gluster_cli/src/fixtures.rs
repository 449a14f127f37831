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
