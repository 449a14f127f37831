//! The command runner's reading of gluster's answers on output captured from real glusterfs
//! (modules/gluster_model/tests/fixtures).

use std::path::Path;

use keel_gluster_cli::cli::lock_busy;

fn fixture(version: &str, name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gluster_model/tests/fixtures")
        .join(version)
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn a_held_lock_is_recognised_in_the_captured_answers_and_nothing_else() {
    // Captured on 10.3 while three servers ran gluster commands on gv0 at once.
    assert!(lock_busy(&fixture("10.3", "lock-busy-volume-status-gv0-detail.xml")));
    assert!(lock_busy(&fixture("10.3", "lock-busy-heal-gv0-trigger.txt")));
    for other in [
        "volume-status-all.xml",
        "splitbrain-shd-off-heal-sb0-trigger.txt",
        "heal-dist0-info-summary.xml",
    ] {
        assert!(!lock_busy(&fixture("10.3", other)), "{other}");
    }
}
