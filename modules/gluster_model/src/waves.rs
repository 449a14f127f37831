//! The wave planner (issue 14): which servers of a pool may be upgraded together. Pure: volume
//! layouts in, waves out.
//!
//! Each volume's bricks, in `volume info` order, form sets: a replica set is `replica_count`
//! consecutive bricks (an arbiter counts as a brick: gluster's `replicaCount` includes it), a
//! disperse set `disperse_count` bricks. A wave takes its servers down together, so in every set
//! the bricks held by one wave's servers may number at most its tolerance: 1 for a replica set
//! (client quorum of replica 3, and of replica 2 + arbiter, survives one brick down), `redundancy`
//! for a disperse set. A pure distribute brick is a set of one with tolerance 1: its files are
//! unavailable while its server is down, exactly as in the one-server-at-a-time upgrade, so it
//! never holds a server back (precheck's `distribute_volume` decides whether that is allowed, as
//! it does today). Every volume counts, started or not: a stopped volume may be started while the
//! upgrade runs.
//!
//! Two servers conflict when together they would exceed a set's tolerance; the waves are a
//! colouring of that conflict graph. DSatur (the server barred from the most waves first, then the
//! one with the most neighbours, then by name) puts each server in the first wave it fits; rounds
//! of Culberson's iterated greedy then try to need fewer waves, and the smallest wave is emptied
//! into the others where a server (after moving at most two others) fits there. Servers that bar
//! no one go to the first waves with room. The result is deterministic: servers are sorted by name
//! first (so the order they are given in does not matter) and the shuffles are seeded.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::parse::{VolumeInfo, VolumeType};
use crate::pool::Volume;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaveError {
    /// A server whose bricks alone exceed a set's tolerance: no wave can take it down safely.
    #[error(
        "volume {volume}: {server} holds {bricks} bricks of {kind} set {set}, of which at most {tolerated} may be \
         down at once; upgrading {server} takes the set below quorum in any wave (move a brick with \
         replace-brick, or upgrade offline)"
    )]
    SeveralBricks {
        volume: String,
        kind: &'static str,
        /// 1-based, as gluster numbers subvolumes.
        set: usize,
        server: String,
        bricks: usize,
        tolerated: usize,
    },
    #[error("volume {volume} is of type '{type_str}', which current Gluster releases no longer support")]
    UnsupportedType { volume: String, type_str: String },
    #[error("volume {volume}: {detail}")]
    BadCounts { volume: String, detail: String },
    #[error("gluster_wave_size_max must be at least 1")]
    WaveSizeZero,
}

/// How a volume's bricks group into sets, and how many bricks of a set may be down at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Every brick alone (pure distribute).
    Distribute,
    /// Sets of `replica` consecutive bricks, arbiter included; one may be down.
    Replicate { replica: usize },
    /// Sets of `disperse` consecutive bricks; `redundancy` may be down.
    Disperse { disperse: usize, redundancy: usize },
}

impl Grouping {
    fn set_size(self) -> usize {
        match self {
            Grouping::Distribute => 1,
            Grouping::Replicate { replica } => replica,
            Grouping::Disperse { disperse, .. } => disperse,
        }
    }
    fn tolerated(self) -> usize {
        match self {
            Grouping::Distribute | Grouping::Replicate { .. } => 1,
            Grouping::Disperse { redundancy, .. } => redundancy,
        }
    }
    fn kind(self) -> &'static str {
        match self {
            Grouping::Distribute => "distribute",
            Grouping::Replicate { .. } => "replica",
            Grouping::Disperse { .. } => "disperse",
        }
    }
}

/// One volume as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeLayout {
    pub name: String,
    pub grouping: Grouping,
    /// The host of each brick, in `volume info` order.
    pub hosts: Vec<String>,
}

impl VolumeLayout {
    /// From `volume info` as parsed (its `bricks`).
    pub fn from_info(info: &VolumeInfo) -> Result<Self, WaveError> {
        Self::new(info, info.bricks.iter().map(|b| b.host.clone()).collect())
    }

    /// From the joined pool (`pool::merge_volume` moves the bricks out of the info).
    pub fn from_volume(vol: &Volume) -> Result<Self, WaveError> {
        Self::new(&vol.info, vol.bricks.iter().map(|b| b.info.host.clone()).collect())
    }

    fn new(info: &VolumeInfo, hosts: Vec<String>) -> Result<Self, WaveError> {
        let bad = |detail: String| WaveError::BadCounts {
            volume: info.name.clone(),
            detail,
        };
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let grouping = match info.vol_type {
            VolumeType::Distribute => Grouping::Distribute,
            VolumeType::Replicate | VolumeType::DistributedReplicate => {
                if info.replica_count == 0 {
                    return Err(bad("replica count 0".into()));
                }
                Grouping::Replicate {
                    replica: count(info.replica_count),
                }
            }
            VolumeType::Disperse | VolumeType::DistributedDisperse => {
                let (disperse, redundancy) = (count(info.disperse_count), count(info.redundancy_count));
                if redundancy == 0 || redundancy >= disperse {
                    return Err(bad(format!("disperse count {disperse} with redundancy {redundancy}")));
                }
                Grouping::Disperse { disperse, redundancy }
            }
            VolumeType::Other => {
                return Err(WaveError::UnsupportedType {
                    volume: info.name.clone(),
                    type_str: info.type_str.clone(),
                })
            }
        };
        let layout = VolumeLayout {
            name: info.name.clone(),
            grouping,
            hosts,
        };
        layout.check()?;
        Ok(layout)
    }

    /// A brick list that does not split into whole sets means the counts were misread; planning
    /// on it would group the wrong bricks.
    fn check(&self) -> Result<(), WaveError> {
        let size = self.grouping.set_size();
        if size == 0 || !self.hosts.len().is_multiple_of(size) {
            return Err(WaveError::BadCounts {
                volume: self.name.clone(),
                detail: format!(
                    "{} bricks do not form whole {} sets of {size}",
                    self.hosts.len(),
                    self.grouping.kind()
                ),
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WavePlan {
    /// In the order to run them; the servers of a wave sorted by name.
    pub waves: Vec<Vec<String>>,
    /// No plan has fewer waves: the most any one set needs (its servers' bricks over its
    /// tolerance, rounded up) and the servers over `wave_size_max`, rounded up.
    pub lower_bound: usize,
    /// Brick hosts not among the servers to upgrade: they stay up throughout. A name here that
    /// is an upgraded server under another spelling means the caller's mapping is wrong.
    pub hosts_not_upgraded: Vec<String>,
}

/// Rounds of iterated greedy after DSatur, at most, and without fewer waves in a row.
const ITERATED_GREEDY_ROUNDS: usize = 200;
const ITERATED_GREEDY_STALL: usize = 30;

/// One set's servers among those upgraded, each with its brick count there.
struct Set {
    tolerated: u32,
    members: Vec<(usize, u32)>,
}

/// The conflicts: per server its sets, and how many distinct servers it shares one with.
struct Graph {
    sets: Vec<Set>,
    sets_of: Vec<Vec<usize>>,
    degree: Vec<u32>,
}

impl Graph {
    fn new(n: usize, sets: Vec<Set>) -> Self {
        let mut sets_of: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (si, set) in sets.iter().enumerate() {
            for &(s, _) in &set.members {
                sets_of[s].push(si);
            }
        }
        let degree = sets_of
            .iter()
            .enumerate()
            .map(|(s, own)| {
                let mut nb: Vec<usize> = own
                    .iter()
                    .flat_map(|&si| sets[si].members.iter().map(|(m, _)| *m))
                    .filter(|&m| m != s)
                    .collect();
                nb.sort_unstable();
                nb.dedup();
                u32::try_from(nb.len()).unwrap_or(u32::MAX)
            })
            .collect();
        Graph { sets, sets_of, degree }
    }
}

/// Waves being filled: per set the bricks down in each wave, per server the waves it can no
/// longer join (sorted), and the waves with room left (so a small `wave_size_max` does not make
/// every placement scan every full wave).
struct Filling<'g> {
    graph: &'g Graph,
    max: Option<usize>,
    placed: Vec<bool>,
    waves: Vec<Vec<usize>>,
    /// Per set: (wave, bricks down), only for waves holding one of its members.
    load: Vec<Vec<(usize, u32)>>,
    blocked: Vec<Vec<usize>>,
    open: BTreeSet<usize>,
}

impl<'g> Filling<'g> {
    fn new(graph: &'g Graph, max: Option<usize>) -> Self {
        let n = graph.sets_of.len();
        Filling {
            graph,
            max,
            placed: vec![false; n],
            waves: Vec::new(),
            load: vec![Vec::new(); graph.sets.len()],
            blocked: vec![Vec::new(); n],
            open: BTreeSet::new(),
        }
    }

    /// The first wave with room that `s` does not push over a set's tolerance (a new one if none).
    fn first_fit(&mut self, s: usize) -> usize {
        match self.open.iter().find(|&w| self.blocked[s].binary_search(w).is_err()) {
            Some(&w) => w,
            None => {
                self.waves.push(Vec::new());
                self.open.insert(self.waves.len() - 1);
                self.waves.len() - 1
            }
        }
    }

    /// Puts `s` in wave `w`; `on_block(u)` runs before each server still to place is newly
    /// barred from `w`.
    fn put(&mut self, s: usize, w: usize, mut on_block: impl FnMut(usize, &[Vec<usize>])) {
        self.placed[s] = true;
        self.waves[w].push(s);
        if self.max.is_some_and(|max| self.waves[w].len() >= max) {
            self.open.remove(&w);
        }
        for &si in &self.graph.sets_of[s] {
            let set = &self.graph.sets[si];
            let own = set.members.iter().find(|(m, _)| *m == s).map_or(0, |(_, k)| *k);
            let load = match self.load[si].iter_mut().find(|(x, _)| *x == w) {
                Some((_, k)) => {
                    *k += own;
                    *k
                }
                None => {
                    self.load[si].push((w, own));
                    own
                }
            };
            for &(u, k) in &set.members {
                if self.placed[u] || load + k <= set.tolerated {
                    continue;
                }
                if let Err(pos) = self.blocked[u].binary_search(&w) {
                    on_block(u, &self.blocked);
                    self.blocked[u].insert(pos, w);
                }
            }
        }
    }
}

/// DSatur: the server barred from the most waves first, then the one with the most neighbours,
/// then by name; each into its first fit.
fn dsatur(graph: &Graph, max: Option<usize>) -> Vec<Vec<usize>> {
    let n = graph.sets_of.len();
    let key = |s: usize, blocked: &[Vec<usize>]| (Reverse(blocked[s].len()), Reverse(graph.degree[s]), s);
    let mut f = Filling::new(graph, max);
    let mut queue: BTreeSet<(Reverse<usize>, Reverse<u32>, usize)> = (0..n).map(|s| key(s, &f.blocked)).collect();
    let mut barred = Vec::new();
    while let Some((_, _, s)) = queue.pop_first() {
        let w = f.first_fit(s);
        f.put(s, w, |u, blocked| {
            queue.remove(&key(u, blocked));
            barred.push(u);
        });
        for u in barred.drain(..) {
            queue.insert(key(u, &f.blocked));
        }
    }
    f.waves
}

/// Each server in `order` into its first fit.
fn first_fit(graph: &Graph, max: Option<usize>, order: impl Iterator<Item = usize>) -> Vec<Vec<usize>> {
    let mut f = Filling::new(graph, max);
    for s in order {
        let w = f.first_fit(s);
        f.put(s, w, |_, _| {});
    }
    f.waves
}

/// Moves every server of the smallest wave to another wave, directly or after moving the one or
/// two servers that bar it there to third waves; true when the wave is gone. Every move keeps every
/// wave safe, so stopping half way still leaves a valid plan (with a smaller last wave).
fn empty_smallest_wave(graph: &Graph, max: Option<usize>, waves: &mut Vec<Vec<usize>>) -> bool {
    let Some(small) = (0..waves.len()).min_by_key(|&w| (waves[w].len(), Reverse(w))) else {
        return false;
    };
    let mut wave_of = vec![usize::MAX; graph.sets_of.len()];
    let mut size: Vec<usize> = waves.iter().map(Vec::len).collect();
    for (w, wave) in waves.iter().enumerate() {
        for &s in wave {
            wave_of[s] = w;
        }
    }
    // Whether `v` may join `w` once `leaving` (if any) has left it.
    let fits = |wave_of: &[usize], size: &[usize], v: usize, w: usize, leaving: Option<usize>| {
        let stays = size[w] - usize::from(leaving.is_some_and(|u| wave_of[u] == w));
        max.is_none_or(|m| stays < m)
            && graph.sets_of[v].iter().all(|&si| {
                let set = &graph.sets[si];
                let down: u32 = set
                    .members
                    .iter()
                    .filter(|(m, _)| *m == v || (wave_of[*m] == w && Some(*m) != leaving))
                    .map(|(_, k)| *k)
                    .sum();
                down <= set.tolerated
            })
    };
    let mut emptied = true;
    'server: for &v in &waves[small] {
        let others = (0..waves.len()).filter(|&w| w != small);
        for w in others.clone() {
            if fits(&wave_of, &size, v, w, None) {
                (wave_of[v], size[w], size[small]) = (w, size[w] + 1, size[small] - 1);
                continue 'server;
            }
        }
        for w in others {
            let mut bar: Vec<usize> = graph.sets_of[v]
                .iter()
                .flat_map(|&si| graph.sets[si].members.iter().map(|(m, _)| *m))
                .filter(|&m| m != v && wave_of[m] == w)
                .collect();
            bar.sort_unstable();
            bar.dedup();
            // Up to two servers barring `v` from `w` may each move on to a third wave.
            if bar.len() > 2 {
                continue;
            }
            let mut moved = Vec::new();
            for &u in &bar {
                if let Some(x) = (0..waves.len()).find(|&x| x != w && x != small && fits(&wave_of, &size, u, x, None)) {
                    (wave_of[u], size[w], size[x]) = (x, size[w] - 1, size[x] + 1);
                    moved.push((u, x));
                }
            }
            if moved.len() == bar.len() && fits(&wave_of, &size, v, w, None) {
                (wave_of[v], size[w], size[small]) = (w, size[w] + 1, size[small] - 1);
                continue 'server;
            }
            for (u, x) in moved {
                (wave_of[u], size[w], size[x]) = (w, size[w] + 1, size[x] - 1);
            }
        }
        emptied = false;
    }
    let mut rebuilt: Vec<Vec<usize>> = vec![Vec::new(); waves.len()];
    for wave in waves.iter() {
        for &s in wave {
            rebuilt[wave_of[s]].push(s);
        }
    }
    rebuilt.retain(|w| !w.is_empty());
    *waves = rebuilt;
    emptied
}

/// Servers that bar no one (no bricks, or bricks no wave can overload) go to the first waves
/// with room, whatever the search did with them.
fn unconstrained_first(graph: &Graph, max: Option<usize>, mut waves: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    let free: Vec<usize> = (0..graph.sets_of.len())
        .filter(|&s| graph.sets_of[s].is_empty())
        .collect();
    for wave in &mut waves {
        wave.retain(|&s| !graph.sets_of[s].is_empty());
    }
    waves.retain(|w| !w.is_empty());
    let mut w = 0;
    for s in free {
        while w < waves.len() && max.is_some_and(|m| waves[w].len() >= m) {
            w += 1;
        }
        if w == waves.len() {
            waves.push(Vec::new());
        }
        waves[w].push(s);
    }
    waves
}

/// splitmix64, for the seeded shuffles of iterated greedy.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z % n as u64) as usize
    }
}

/// Splits `servers` into waves. `servers` are names as the bricks' hosts spell them (duplicates
/// are ignored); `wave_size_max` bounds every wave.
pub fn plan(volumes: &[VolumeLayout], servers: &[String], wave_size_max: Option<usize>) -> Result<WavePlan, WaveError> {
    if wave_size_max == Some(0) {
        return Err(WaveError::WaveSizeZero);
    }
    let mut names: Vec<&str> = servers.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let n = names.len();

    let mut sets: Vec<Set> = Vec::new();
    let mut not_upgraded: BTreeSet<&str> = BTreeSet::new();
    let mut lower_bound = usize::from(n > 0);
    for vol in volumes {
        vol.check()?;
        let size = vol.grouping.set_size();
        let tolerated = vol.grouping.tolerated();
        for (i, chunk) in vol.hosts.chunks(size).enumerate() {
            let mut members: Vec<(usize, u32)> = Vec::new();
            for host in chunk {
                match index.get(host.as_str()) {
                    Some(&s) => match members.iter_mut().find(|(m, _)| *m == s) {
                        Some((_, k)) => *k += 1,
                        None => members.push((s, 1)),
                    },
                    None => {
                        not_upgraded.insert(host);
                    }
                }
            }
            if let Some(&(s, k)) = members.iter().find(|(_, k)| *k as usize > tolerated) {
                return Err(WaveError::SeveralBricks {
                    volume: vol.name.clone(),
                    kind: vol.grouping.kind(),
                    set: i + 1,
                    server: names[s].to_string(),
                    bricks: k as usize,
                    tolerated,
                });
            }
            let total: usize = members.iter().map(|(_, k)| *k as usize).sum();
            lower_bound = lower_bound.max(total.div_ceil(tolerated));
            // A set whose upgraded servers fit in one wave can never hold anyone back.
            if total > tolerated {
                sets.push(Set {
                    tolerated: u32::try_from(tolerated).unwrap_or(u32::MAX),
                    members,
                });
            }
        }
    }
    if let Some(max) = wave_size_max {
        lower_bound = lower_bound.max(n.div_ceil(max));
    }

    let graph = Graph::new(n, sets);
    let mut best = dsatur(&graph, wave_size_max);
    // Culberson's iterated greedy: first fit over the servers taken wave by wave, the waves in
    // another order, never needs more waves than before (each wave's servers fit together), and
    // often fewer. The shuffles are seeded, so the plan stays deterministic.
    let mut rng = SplitMix(0x6b65_656c_7761_7665);
    let mut stalled = 0;
    for round in 0..ITERATED_GREEDY_ROUNDS {
        if best.len() <= lower_bound || stalled >= ITERATED_GREEDY_STALL {
            break;
        }
        let mut order = best.clone();
        match round % 3 {
            0 => order.reverse(),
            1 => order.sort_by_key(|w| Reverse(w.len())),
            _ => {
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.below(i + 1));
                }
            }
        }
        let next = first_fit(&graph, wave_size_max, order.into_iter().flatten());
        stalled = if next.len() < best.len() { 0 } else { stalled + 1 };
        best = next;
    }
    while best.len() > lower_bound && empty_smallest_wave(&graph, wave_size_max, &mut best) {}
    let waves = unconstrained_first(&graph, wave_size_max, best);

    Ok(WavePlan {
        waves: waves
            .into_iter()
            .map(|wave| {
                let mut names: Vec<String> = wave.into_iter().map(|s| names[s].to_string()).collect();
                names.sort_unstable();
                names
            })
            .collect(),
        lower_bound,
        hosts_not_upgraded: not_upgraded.into_iter().map(str::to_string).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(name: &str, replica: usize, hosts: &[&str]) -> VolumeLayout {
        VolumeLayout {
            name: name.into(),
            grouping: Grouping::Replicate { replica },
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
        }
    }

    fn servers(names: &[&str]) -> Vec<String> {
        names.iter().map(|h| h.to_string()).collect()
    }

    #[test]
    fn two_by_three_and_an_arbiter_volume_make_three_waves_of_two() {
        let vols = [
            rep("dr", 3, &["s1", "s2", "s3", "s4", "s5", "s6"]),
            rep("arb", 3, &["s2", "s4", "s6"]),
        ];
        let p = plan(&vols, &servers(&["s6", "s5", "s4", "s3", "s2", "s1"]), None).unwrap();
        assert_eq!(p.waves.len(), 3, "{p:?}");
        assert!(p.waves.iter().all(|w| w.len() == 2), "{p:?}");
        assert_eq!(p.lower_bound, 3);
    }

    #[test]
    fn brickless_servers_join_the_first_wave_with_room() {
        let vols = [rep("gv", 3, &["a", "b", "c"])];
        let p = plan(&vols, &servers(&["a", "b", "c", "client", "z"]), Some(2)).unwrap();
        assert_eq!(p.waves, [vec!["a", "client"], vec!["b", "z"], vec!["c"]]);
        assert_eq!(p.lower_bound, 3);
    }

    #[test]
    fn wave_size_max_bounds_every_wave() {
        let vols = [rep("d", 1, &["a", "b", "c", "d", "e"])];
        let p = plan(&vols, &servers(&["a", "b", "c", "d", "e"]), Some(2)).unwrap();
        assert_eq!(p.waves, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
        assert_eq!(plan(&vols, &servers(&["a"]), Some(0)), Err(WaveError::WaveSizeZero));
    }

    #[test]
    fn disperse_sets_take_up_to_redundancy_servers_per_wave() {
        let vol = VolumeLayout {
            name: "ec".into(),
            grouping: Grouping::Disperse {
                disperse: 6,
                redundancy: 2,
            },
            hosts: servers(&["a", "b", "c", "d", "e", "f"]),
        };
        let p = plan(&[vol], &servers(&["a", "b", "c", "d", "e", "f"]), None).unwrap();
        assert_eq!(p.waves, [vec!["a", "b"], vec!["c", "d"], vec!["e", "f"]]);
        assert_eq!(p.lower_bound, 3);
    }

    #[test]
    fn a_server_with_two_bricks_of_one_replica_set_is_named() {
        let vols = [rep("gv", 3, &["a", "b", "c", "a", "b", "b"])];
        let err = plan(&vols, &servers(&["a", "b", "c"]), None).unwrap_err();
        assert_eq!(
            err,
            WaveError::SeveralBricks {
                volume: "gv".into(),
                kind: "replica",
                set: 2,
                server: "b".into(),
                bricks: 2,
                tolerated: 1
            }
        );
        assert!(err.to_string().contains("b holds 2 bricks of replica set 2"), "{err}");
        // Not upgraded, it is not this plan's concern.
        let p = plan(&vols, &servers(&["a", "c"]), None).unwrap();
        assert_eq!(p.hosts_not_upgraded, ["b"]);
    }

    #[test]
    fn bricks_that_do_not_form_whole_sets_are_refused() {
        let vols = [rep("gv", 3, &["a", "b"])];
        assert!(matches!(
            plan(&vols, &servers(&["a"]), None),
            Err(WaveError::BadCounts { .. })
        ));
    }

    #[test]
    fn no_servers_no_waves() {
        let p = plan(&[rep("gv", 3, &["a", "b", "c"])], &[], None).unwrap();
        assert_eq!((p.waves.len(), p.lower_bound), (0, 0));
    }
}
