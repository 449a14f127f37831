//! The wave planner on layouts parsed from real captured `volume info` (tests/fixtures), and its
//! properties on generated layouts: no wave takes more bricks of a set than the set tolerates,
//! every server is in exactly one wave, no wave is larger than asked, the plan does not depend on
//! the order the servers are given in, and common layouts reach the lower bound.
//! `PROPTEST_CASES` sets the number of cases (default 256).

use std::collections::BTreeSet;
use std::path::Path;

use keel_gluster_model::parse::{parse_volume_info, VolumeInfo};
use keel_gluster_model::pool::merge_volume;
use keel_gluster_model::waves::{plan, Grouping, VolumeLayout, WaveError, WavePlan};
use proptest::prelude::*;
use proptest::sample::Index;

fn volume_info(dir: &str) -> Vec<VolumeInfo> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join("volume-info.xml");
    parse_volume_info(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const SERVERS: [&str; 3] = ["10.198.0.11", "10.198.0.12", "10.198.0.13"];

fn layouts(infos: &[VolumeInfo], only: &[&str]) -> Vec<VolumeLayout> {
    infos
        .iter()
        .filter(|i| only.is_empty() || only.contains(&i.name.as_str()))
        .map(|i| VolumeLayout::from_info(i).unwrap())
        .collect()
}

#[test]
fn captured_pool_every_volume_type_three_waves_of_one() {
    for dir in ["10.3", "11.1"] {
        let infos = volume_info(dir);
        let all = layouts(&infos, &[]);
        assert_eq!(all.len(), 6, "{dir}: gv0, arb0, dr0, ec0, dist0, stopped0");
        let p = plan(&all, &strings(&SERVERS), None).unwrap();
        assert_eq!(
            p,
            WavePlan {
                waves: vec![strings(&SERVERS[..1]), strings(&SERVERS[1..2]), strings(&SERVERS[2..])],
                lower_bound: 3,
                hosts_not_upgraded: vec![],
            },
            "{dir}"
        );
    }
}

#[test]
fn captured_volumes_one_by_one() {
    let infos = volume_info("10.3");
    let grouping = |name: &str| layouts(&infos, &[name])[0].grouping;
    assert_eq!(
        grouping("arb0"),
        Grouping::Replicate { replica: 3 },
        "arbiter counts as a brick"
    );
    assert_eq!(grouping("dr0"), Grouping::Replicate { replica: 3 });
    assert_eq!(
        grouping("ec0"),
        Grouping::Disperse {
            disperse: 3,
            redundancy: 1
        }
    );
    assert_eq!(grouping("dist0"), Grouping::Distribute);
    // Each server holds two bricks of dr0, one in each replica set: still one server per wave.
    for vol in ["gv0", "arb0", "dr0", "ec0", "stopped0"] {
        let p = plan(&layouts(&infos, &[vol]), &strings(&SERVERS), None).unwrap();
        assert_eq!((p.waves.len(), p.lower_bound), (3, 3), "{vol}: {p:?}");
    }
    // A distribute brick is down while its server is, whatever the plan: no constraint.
    let p = plan(&layouts(&infos, &["dist0"]), &strings(&SERVERS), None).unwrap();
    assert_eq!(p.waves, [strings(&SERVERS)]);
    assert_eq!(p.lower_bound, 1);
}

#[test]
fn captured_pool_joined_with_status_plans_the_same() {
    let infos = volume_info("10.3");
    let expected = plan(&layouts(&infos, &[]), &strings(&SERVERS), Some(2)).unwrap();
    let joined: Vec<VolumeLayout> = infos
        .into_iter()
        .map(|i| VolumeLayout::from_volume(&merge_volume(i, None, Ok(vec![]))).unwrap())
        .collect();
    assert_eq!(plan(&joined, &strings(&SERVERS), Some(2)).unwrap(), expected);
}

#[test]
fn captured_upgrade_of_part_of_the_pool() {
    let infos = volume_info("10.3");
    let p = plan(&layouts(&infos, &[]), &strings(&SERVERS[..2]), None).unwrap();
    assert_eq!(p.waves, [strings(&SERVERS[..1]), strings(&SERVERS[1..2])]);
    assert_eq!(p.hosts_not_upgraded, strings(&SERVERS[2..]));
    // Inventory names that are not the bricks' hosts plan nothing safely: every brick host shows
    // as not upgraded, which the caller must refuse.
    let p = plan(&layouts(&infos, &[]), &strings(&["node1", "node2", "node3"]), None).unwrap();
    assert_eq!(p.waves.len(), 1);
    assert_eq!(p.hosts_not_upgraded, strings(&SERVERS));
}

#[test]
fn captured_9_2_replica_set_on_one_server_is_refused() {
    // 9.2's gv0 is replica 3 with all three bricks on 10.197.0.11 (created with `force`).
    let infos = volume_info("9.2");
    let gv0: Vec<VolumeLayout> = layouts(&infos, &["gv0"]);
    let err = plan(&gv0, &strings(&["10.197.0.11"]), None).unwrap_err();
    assert_eq!(
        err,
        WaveError::SeveralBricks {
            volume: "gv0".into(),
            kind: "replica",
            set: 1,
            server: "10.197.0.11".into(),
            bricks: 3,
            tolerated: 1,
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Properties

fn config() -> ProptestConfig {
    ProptestConfig::default()
}

/// Distinct server names in no particular order (the planner must not care).
fn names(n: impl Into<prop::collection::SizeRange>) -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set("[a-z0-9.-]{1,8}", n)
        .prop_map(|s| s.into_iter().collect::<Vec<_>>())
        .prop_shuffle()
}

fn grouping() -> impl Strategy<Value = Grouping> {
    prop_oneof![
        Just(Grouping::Distribute),
        (1usize..=4).prop_map(|replica| Grouping::Replicate { replica }),
        (3usize..=6)
            .prop_flat_map(|d| (Just(d), 1..=(d - 1) / 2))
            .prop_map(|(disperse, redundancy)| Grouping::Disperse { disperse, redundancy }),
    ]
}

fn set_size(g: Grouping) -> usize {
    match g {
        Grouping::Distribute => 1,
        Grouping::Replicate { replica } => replica,
        Grouping::Disperse { disperse, .. } => disperse,
    }
}

fn tolerated(g: Grouping) -> usize {
    match g {
        Grouping::Distribute | Grouping::Replicate { .. } => 1,
        Grouping::Disperse { redundancy, .. } => redundancy,
    }
}

/// One volume's shape: its grouping, and per set the picks of its hosts and whether they are
/// drawn without repeats (mostly: repeats are the layouts the planner refuses).
fn volume_shape() -> impl Strategy<Value = (Grouping, Vec<(bool, Vec<Index>)>)> {
    grouping().prop_flat_map(|g| {
        let set = (
            prop::bool::weighted(0.9),
            prop::collection::vec(any::<Index>(), set_size(g)),
        );
        (Just(g), prop::collection::vec(set, 1..=4))
    })
}

#[derive(Debug, Clone)]
struct Case {
    volumes: Vec<VolumeLayout>,
    /// In the order given to the planner (duplicates possible).
    servers: Vec<String>,
    wave_size_max: Option<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        names(1..=12),
        prop::collection::vec(volume_shape(), 0..=4),
        prop::collection::vec(prop::bool::weighted(0.85), 12),
        names(0..=3),
        prop::option::of(1usize..=6),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(pool, shapes, upgraded, brickless, wave_size_max, duplicate)| {
            let volumes = shapes
                .into_iter()
                .enumerate()
                .map(|(v, (grouping, sets))| {
                    let mut hosts = Vec::new();
                    for (distinct, picks) in sets {
                        let mut left: Vec<&String> = pool.iter().collect();
                        for pick in picks {
                            let i = pick.index(left.len());
                            hosts.push(left[i].clone());
                            if distinct && left.len() > 1 {
                                left.remove(i);
                            }
                        }
                    }
                    VolumeLayout {
                        name: format!("v{v}"),
                        grouping,
                        hosts,
                    }
                })
                .collect();
            let mut servers: Vec<String> = pool
                .iter()
                .zip(&upgraded)
                .filter(|(_, up)| **up)
                .map(|(s, _)| s.clone())
                .collect();
            // Brickless servers: names that may also be in the pool (then they are just servers).
            servers.extend(brickless.into_iter().map(|b| format!("{b}-client")));
            if duplicate {
                if let Some(first) = servers.first().cloned() {
                    servers.push(first);
                }
            }
            Case {
                volumes,
                servers,
                wave_size_max,
            }
        })
}

/// The bricks `members` hold in one set.
fn bricks_in(set: &[String], members: &BTreeSet<&str>) -> usize {
    set.iter().filter(|h| members.contains(h.as_str())).count()
}

/// Checks a plan against the layout with no help from the planner's own bookkeeping.
fn check(case: &Case, p: &WavePlan) -> Result<(), TestCaseError> {
    let servers: BTreeSet<&str> = case.servers.iter().map(String::as_str).collect();
    let mut seen: Vec<&str> = p.waves.iter().flatten().map(String::as_str).collect();
    seen.sort_unstable();
    prop_assert_eq!(
        &seen,
        &servers.iter().copied().collect::<Vec<_>>(),
        "every server exactly once"
    );
    prop_assert!(p.waves.iter().all(|w| !w.is_empty()), "no empty wave");
    if let Some(max) = case.wave_size_max {
        prop_assert!(p.waves.iter().all(|w| w.len() <= max), "wave larger than {}", max);
    }
    let mut lower = usize::from(!servers.is_empty());
    if let Some(max) = case.wave_size_max {
        lower = lower.max(servers.len().div_ceil(max));
    }
    for vol in &case.volumes {
        let tol = tolerated(vol.grouping);
        for (i, set) in vol.hosts.chunks(set_size(vol.grouping)).enumerate() {
            lower = lower.max(bricks_in(set, &servers).div_ceil(tol));
            for (w, wave) in p.waves.iter().enumerate() {
                let down = bricks_in(set, &wave.iter().map(String::as_str).collect());
                prop_assert!(
                    down <= tol,
                    "wave {} takes {} bricks of set {} of {} ({:?}), which tolerates {}",
                    w,
                    down,
                    i + 1,
                    vol.name,
                    vol.grouping,
                    tol
                );
            }
        }
    }
    prop_assert_eq!(p.lower_bound, lower);
    prop_assert!(p.waves.len() >= p.lower_bound);
    let hosts: BTreeSet<&str> = case
        .volumes
        .iter()
        .flat_map(|v| v.hosts.iter().map(String::as_str))
        .filter(|h| !servers.contains(h))
        .collect();
    prop_assert_eq!(
        &p.hosts_not_upgraded,
        &hosts.into_iter().map(str::to_string).collect::<Vec<_>>()
    );
    Ok(())
}

/// The number of distinct servers `s` shares a set with where together they could exceed it.
fn max_degree(case: &Case) -> usize {
    let servers: BTreeSet<&str> = case.servers.iter().map(String::as_str).collect();
    servers
        .iter()
        .map(|s| {
            let mut nb = BTreeSet::new();
            for vol in &case.volumes {
                for set in vol.hosts.chunks(set_size(vol.grouping)) {
                    if set.iter().any(|h| h == s) && bricks_in(set, &servers) > tolerated(vol.grouping) {
                        nb.extend(set.iter().map(String::as_str).filter(|h| h != s && servers.contains(h)));
                    }
                }
            }
            nb.len()
        })
        .max()
        .unwrap_or(0)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn waves_are_safe_complete_and_bounded(case in case()) {
        match plan(&case.volumes, &case.servers, case.wave_size_max) {
            Ok(p) => {
                check(&case, &p)?;
                // First fit never opens a wave past a server's neighbours + 1.
                if case.wave_size_max.is_none() {
                    prop_assert!(p.waves.len() <= max_degree(&case) + 1, "{:?}", p);
                }
                let mut reversed = case.servers.clone();
                reversed.reverse();
                prop_assert_eq!(plan(&case.volumes, &reversed, case.wave_size_max).unwrap(), p, "order-independent");
            }
            Err(WaveError::SeveralBricks { volume, set, server, bricks, tolerated: tol, .. }) => {
                let vol = case.volumes.iter().find(|v| v.name == volume).unwrap();
                let hosts = &vol.hosts.chunks(set_size(vol.grouping)).nth(set - 1).unwrap();
                prop_assert!(case.servers.contains(&server));
                prop_assert_eq!(hosts.iter().filter(|h| **h == server).count(), bricks);
                prop_assert!(bricks > tol && tol == tolerated(vol.grouping));
            }
            Err(e) => prop_assert!(false, "{}", e),
        }
    }

    #[test]
    fn no_refusal_without_a_server_over_a_set_tolerance(case in case()) {
        let servers: BTreeSet<&str> = case.servers.iter().map(String::as_str).collect();
        let over = case.volumes.iter().any(|v| {
            v.hosts.chunks(set_size(v.grouping)).any(|set| {
                servers.iter().any(|s| set.iter().filter(|h| h == s).count() > tolerated(v.grouping))
            })
        });
        prop_assert_eq!(plan(&case.volumes, &case.servers, case.wave_size_max).is_err(), over);
    }

    /// n x 3 distributed-replicate, brick i on server i mod 3k (how `volume create` is usually
    /// written), with or without an arbiter, with or without waves of k: exactly 3 waves.
    #[test]
    fn round_robin_n_by_3_over_3k_servers_takes_3_waves(
        (pool, n) in (1usize..=8).prop_flat_map(|k| (names(3 * k), 1usize..=6 * k)),
        limit in any::<bool>(),
    ) {
        let k = pool.len() / 3;
        let hosts = (0..3 * n).map(|i| pool[i % pool.len()].clone()).collect();
        let vol = VolumeLayout { name: "dr".into(), grouping: Grouping::Replicate { replica: 3 }, hosts };
        let case = Case { volumes: vec![vol], servers: pool.clone(), wave_size_max: limit.then_some(k) };
        let p = plan(&case.volumes, &case.servers, case.wave_size_max).unwrap();
        check(&case, &p)?;
        prop_assert_eq!((p.waves.len(), p.lower_bound), (3, 3), "{:?}", p);
    }

    #[test]
    fn arbiter_1_by_2_plus_1_on_3_servers_takes_3_waves(pool in names(3)) {
        let vol = VolumeLayout { name: "arb".into(), grouping: Grouping::Replicate { replica: 3 }, hosts: pool.clone() };
        let case = Case { volumes: vec![vol], servers: pool, wave_size_max: None };
        let p = plan(&case.volumes, &case.servers, None).unwrap();
        check(&case, &p)?;
        prop_assert_eq!(p.waves.len(), 3);
    }

    /// The testbed: 2 x 3 over 6 servers and an arbiter volume on any 3 of them.
    #[test]
    fn two_by_three_and_an_arbiter_volume_take_3_waves_of_2(
        pool in names(6),
        arbiter in prop::sample::subsequence((0..6).collect::<Vec<usize>>(), 3).prop_shuffle(),
    ) {
        let volumes = vec![
            VolumeLayout { name: "dr".into(), grouping: Grouping::Replicate { replica: 3 }, hosts: pool.clone() },
            VolumeLayout {
                name: "arb".into(),
                grouping: Grouping::Replicate { replica: 3 },
                hosts: arbiter.iter().map(|&i| pool[i].clone()).collect(),
            },
        ];
        let case = Case { volumes, servers: pool, wave_size_max: None };
        let p = plan(&case.volumes, &case.servers, None).unwrap();
        check(&case, &p)?;
        prop_assert_eq!(p.waves.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 2]);
    }
}
