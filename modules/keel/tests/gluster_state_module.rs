//! gluster_state as ansible-core runs it: the package versions from the fake dpkg-query on PATH
//! (tests/fake-bin/apt, release from FAKE_INSTALLED), glusterd's state and the store in a
//! temporary folder. The real save and restore run on the testbed (xtask's rollback scenario).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{module_args, repo};
use serde_json::{json, Value};

fn apt_path() -> String {
    format!("{}:/usr/bin:/bin", repo().join("tests/fake-bin/apt").display())
}

fn state(dir: &Path, extra: Value, installed: &str) -> Value {
    let args = module_args(
        "gluster_state",
        json!({
            "_ansible_version": "2.21.5",
            "path": dir.join("glusterd"),
            "store": dir.join("rollback"),
            "package_manager": "apt",
        }),
        extra,
    );
    common::run_module(args, &apt_path(), &[("FAKE_INSTALLED", installed)])
}

fn msg(v: &Value) -> &str {
    v["msg"].as_str().unwrap_or_default()
}

/// A glusterd state at `op_version`, with a volume definition.
fn glusterd(dir: &Path, op_version: u64, volume_type: &str) {
    let g = dir.join("glusterd");
    std::fs::create_dir_all(g.join("vols/gv0")).unwrap();
    std::fs::write(
        g.join("glusterd.info"),
        format!("UUID=2a0b5a3c-6a6f-4f4e-9d1e-0d6f0b1c1e11\noperating-version={op_version}\n"),
    )
    .unwrap();
    std::fs::write(g.join("vols/gv0/info"), format!("type={volume_type}\n")).unwrap();
}

#[test]
fn saved_once_per_release_and_never_overwritten() {
    let t = tempfile::tempdir().unwrap();
    glusterd(t.path(), 100000, "2");
    let v = state(
        t.path(),
        json!({"state": "saved", "_ansible_check_mode": true}),
        "10.3-5",
    );
    assert_eq!(
        (v["failed"].clone(), v["changed"].clone()),
        (json!(false), json!(true)),
        "{v}"
    );
    assert!(msg(&v).starts_with("would save"), "{v}");
    assert!(!t.path().join("rollback").exists(), "check mode saves nothing");

    let v = state(t.path(), json!({"state": "saved"}), "10.3-5");
    assert_eq!(v["changed"], true, "{v}");
    assert_eq!(v["manifest"]["release"], "10.3");
    assert_eq!(v["manifest"]["op_version"], 100000);
    assert_eq!(v["manifest"]["packages"]["glusterfs-server"], "10.3-5");
    let store = t.path().join("rollback");
    assert_eq!(std::fs::metadata(&store).unwrap().permissions().mode() & 0o777, 0o700);
    let info = store.join("10.3/glusterd/vols/gv0/info");
    assert_eq!(std::fs::read_to_string(info).unwrap(), "type=2\n");

    // The state changes (an upgraded glusterd rewrote it): the copy of 10.3 is kept as it was.
    glusterd(t.path(), 100000, "5");
    let v = state(t.path(), json!({"state": "saved"}), "10.3-5");
    assert_eq!(v["changed"], false, "{v}");
    assert!(msg(&v).contains("never overwritten"), "{v}");
    let info = store.join("10.3/glusterd/vols/gv0/info");
    assert_eq!(std::fs::read_to_string(info).unwrap(), "type=2\n");

    let v = state(t.path(), json!({"state": "saved", "release": "9.6"}), "10.3-5");
    assert_eq!(v["failed"], true);
    assert!(msg(&v).contains("installed packages carry 10.3"), "{v}");
}

#[test]
fn restored_after_the_downgrade_then_idempotent() {
    let t = tempfile::tempdir().unwrap();
    glusterd(t.path(), 100000, "2");
    assert_eq!(state(t.path(), json!({"state": "saved"}), "10.3-5")["changed"], true);
    // Upgraded to 11.1, op-version not raised: the way back is open.
    glusterd(t.path(), 100000, "11");
    let v = state(t.path(), json!({"state": "query"}), "11.1-3~bpo12+1");
    assert_eq!(v["changed"], false);
    assert_eq!(v["installed_release"], "11.1");
    assert_eq!(
        v["way_back"],
        json!({"release": "10.3", "op_version_saved": 100000, "op_version_now": 100000, "open": true}),
        "{v}"
    );
    // Still on 11.1: restoring 10.3's state under 11.1 is refused.
    let v = state(
        t.path(),
        json!({"state": "restored", "release": "10.3"}),
        "11.1-3~bpo12+1",
    );
    assert_eq!(v["failed"], true);
    assert!(msg(&v).contains("install 10.3 first"), "{v}");

    // 10.3 installed again: check mode says what it would do, then the copy goes back.
    let v = state(
        t.path(),
        json!({"state": "restored", "_ansible_check_mode": true, "_ansible_diff": true}),
        "10.3-5",
    );
    assert_eq!(
        (v["failed"].clone(), v["changed"].clone()),
        (json!(false), json!(true)),
        "{v}"
    );
    assert!(
        msg(&v).starts_with("would restore") && v["diff"]["after"].is_string(),
        "{v}"
    );
    let info = t.path().join("glusterd/vols/gv0/info");
    assert_eq!(std::fs::read_to_string(&info).unwrap(), "type=11\n");

    let v = state(t.path(), json!({"state": "restored"}), "10.3-5");
    assert_eq!(
        (v["failed"].clone(), v["changed"].clone()),
        (json!(false), json!(true)),
        "{v}"
    );
    assert_eq!(std::fs::read_to_string(&info).unwrap(), "type=2\n");
    let aside = v["moved_aside"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(Path::new(aside).join("vols/gv0/info")).unwrap(),
        "type=11\n"
    );
    let v = state(t.path(), json!({"state": "restored"}), "10.3-5");
    assert_eq!(
        (v["failed"].clone(), v["changed"].clone()),
        (json!(false), json!(false)),
        "{v}"
    );

    // A later upgrade's save arms the kept copy again.
    let v = state(t.path(), json!({"state": "saved"}), "10.3-5");
    assert_eq!(v["changed"], true, "{v}");
    assert!(v["manifest"].get("restored_at").is_none(), "{v}");
}

#[test]
fn no_way_back_once_the_op_version_was_raised_or_without_a_copy() {
    let t = tempfile::tempdir().unwrap();
    glusterd(t.path(), 100000, "2");
    let v = state(t.path(), json!({"state": "restored"}), "10.3-5");
    assert_eq!(v["failed"], true);
    assert!(msg(&v).contains("no saved glusterd state of release 10.3"), "{v}");
    let v = state(t.path(), json!({"state": "query"}), "11.1-3");
    assert_eq!(v["way_back"]["open"], false, "{v}");

    assert_eq!(state(t.path(), json!({"state": "saved"}), "10.3-5")["changed"], true);
    glusterd(t.path(), 110000, "11");
    let v = state(t.path(), json!({"state": "query"}), "11.1-3");
    assert_eq!(v["way_back"]["open"], false, "{v}");
    assert!(
        v["way_back"]["reason"]
            .as_str()
            .unwrap()
            .contains("there is no way back"),
        "{v}"
    );
    let v = state(t.path(), json!({"state": "restored"}), "10.3-5");
    assert_eq!(v["failed"], true);
    assert!(msg(&v).contains("there is no way back"), "{v}");
    assert_eq!(
        std::fs::read_to_string(t.path().join("glusterd/vols/gv0/info")).unwrap(),
        "type=11\n"
    );
}

#[test]
fn a_bad_release_and_a_missing_state_are_named() {
    let t = tempfile::tempdir().unwrap();
    let v = state(t.path(), json!({"state": "saved", "release": "../etc"}), "10.3-5");
    assert_eq!(v["failed"], true);
    assert!(msg(&v).contains("option 'release'"), "{v}");
    let v = state(t.path(), json!({"state": "saved"}), "10.3-5");
    assert_eq!(v["failed"], true);
    assert!(
        msg(&v).contains("glusterd.info has no readable operating-version"),
        "{v}"
    );
}
