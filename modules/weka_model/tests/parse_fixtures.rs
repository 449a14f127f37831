//! The parsers on the documented output samples (fixtures/README.md says which are verbatim).

use keel_weka_model::parse::*;
use keel_weka_model::WekaVersion;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn status_json_of_4_4_with_the_k8s_build_suffix() {
    let s = parse_status(&fixture("status-4.4.json")).unwrap();
    assert_eq!(s.release.parts, vec![4, 4, 2, 157]);
    assert_eq!(s.release.suffix.as_deref(), Some("k8s.2"));
    assert_eq!((s.status.as_str(), s.io_status.as_str()), ("OK", "STARTED"));
    assert_eq!(s.backends.map(|c| (c.active, c.total)), Some((18, 18)));
    assert_eq!(s.drives.map(|c| c.whole()), Some(true));
    assert_eq!(s.data_upgrade, None, "an empty block_upgrade_task is no task");
    assert!(!s.upgrading());
}

#[test]
fn status_json_with_a_running_data_upgrade() {
    let s = parse_status(&fixture("status-4.4-data-upgrade.json")).unwrap();
    let d = s.data_upgrade.unwrap();
    assert!(d.running());
    assert_eq!((d.kind.as_str(), d.progress), ("DATA_UPGRADE", Some(35)));
}

#[test]
fn status_json_of_3_14_and_4_1() {
    let s = parse_status(&fixture("status-3.14.json")).unwrap();
    assert_eq!(s.release.text, "3.14.1");
    assert_eq!(s.active_alerts, 2);
    assert_eq!(s.clients.map(|c| c.total), Some(1));
    assert!(!s.upgrading());
    let s = parse_status(&fixture("status-4.1.json")).unwrap();
    assert_eq!(s.release.line, "4.1");
}

#[test]
fn status_json_errors_name_the_problem() {
    assert!(parse_status("WekaIO v4.2.9")
        .unwrap_err()
        .to_string()
        .contains("not the expected JSON"));
    assert_eq!(parse_status("{}").unwrap_err(), ParseError::Missing("release"));
    assert!(matches!(
        parse_status(r#"{"release": "four"}"#),
        Err(ParseError::Release(_))
    ));
}

#[test]
fn status_text_release_in_both_documented_headers() {
    assert_eq!(
        parse_status_text_release(&fixture("status-4.2.txt")).unwrap().text,
        "4.2.9"
    );
    assert_eq!(
        parse_status_text_release(&fixture("status-4.2-degraded.txt"))
            .unwrap()
            .text,
        "4.2.9"
    );
    assert_eq!(
        parse_status_text_release(&fixture("status-4.0.1-seed.txt"))
            .unwrap()
            .text,
        "4.0.1"
    );
    assert!(parse_status_text_release("error: not logged in").is_err());
}

#[test]
fn rebuild_none_and_in_progress() {
    let r = parse_rebuild(&fixture("rebuild-none.json")).unwrap();
    assert!(!r.in_progress(), "{r:?}");
    let r = parse_rebuild(&fixture("rebuild-progress.json")).unwrap();
    assert!(r.in_progress() && r.moving_data);
    assert_eq!((r.progress_percent, r.degraded_mib), (3.0, 31458));
    // Found by the property test on a mutated fixture: the degraded levels' sum overflowed.
    let huge = r#"{"progressPercent": 0, "protectionState": [{"MiB": 1}, {"MiB": 18446744073709551615}, {"MiB": 2}]}"#;
    let r = parse_rebuild(huge).unwrap();
    assert_eq!(r.degraded_mib, u64::MAX);
    assert!(r.in_progress());
}

#[test]
fn containers_of_5_1_and_hosts_of_3_14() {
    let c = parse_containers(&fixture("cluster-container-5.1.json")).unwrap();
    assert_eq!(c.len(), 4);
    assert_eq!(
        (c[0].container.as_str(), c[0].hostname.as_str(), c[0].version.as_str()),
        ("drives0", "h1-3-a", "5.1.31")
    );
    assert!(c[0].is_backend() && c[0].up() && !c[0].stateless);
    assert!(!c[2].up());
    assert_eq!(c[2].failure, "Host disconnected");
    assert!(c[3].is_client() && c[3].stateless);
    assert_eq!(c[3].release(), WekaVersion::parse("5.0.4.401"));
    let h = parse_containers(&fixture("cluster-host-3.14.json")).unwrap();
    assert_eq!(h.iter().filter(|c| c.is_backend()).count(), 2);
}

#[test]
fn servers_alerts_tasks_local_ps() {
    let s = parse_servers(&fixture("servers-list-4.2.json")).unwrap();
    assert_eq!(s[0].versions, vec!["4.2.9.28", "4.2.18.34"]);
    assert_eq!(s[1].roles, vec!["CLIENT"]);
    let a = parse_alerts(&fixture("alerts.json")).unwrap();
    assert_eq!(
        (a[0].kind.as_str(), a[0].severity.as_str(), a[0].muted),
        ("NodeDisconnected", "MAJOR", false)
    );
    let t = parse_tasks(&fixture("tasks.json")).unwrap();
    assert!(t[0].running() && !t[0].harmless());
    assert!(t[1].harmless());
    let p = parse_local_ps(&fixture("local-ps.json")).unwrap();
    assert_eq!(p[1].name, "upgrade");
    assert_eq!(p[0].version, "4.2.9.28");
}

#[test]
fn version_list_and_whoami() {
    let v = parse_version_list(&fixture("version.txt"));
    assert_eq!(v.versions, vec!["3.14.1", "4.0.2", "4.1.2.36"]);
    assert_eq!(v.current.as_deref(), Some("4.0.2"));
    assert!(v.has(&WekaVersion::parse("4.1.2.36").unwrap()));
    let w = parse_whoami(&fixture("whoami.json")).unwrap();
    assert!(w.cluster_admin());
    assert_eq!(w.org, "Root");
    let ro = parse_whoami(r#"{"username": "viewer", "role": "ReadOnly"}"#).unwrap();
    assert!(!ro.cluster_admin());
}
