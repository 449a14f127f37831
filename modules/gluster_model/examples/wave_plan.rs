//! The wave planner at scale (BENCHMARKS.md, "Wave planner (issue 14)"): generated pools of
//! replica 3 volumes, about 4 bricks per server, placed round-robin or at random.
//!
//! Usage: wave_plan                      every case, one child process each, as a Markdown table
//!        wave_plan SERVERS rr|random    one case: prints one table row
//!
//! Each case runs in its own process so that its peak resident set (VmHWM) is its own and not
//! that of a larger case before it. The time is the fastest and the median of 5 plans of the same layout; the
//! plan is then checked against the layout independently of the planner.
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use keel_gluster_model::waves::{plan, Grouping, VolumeLayout};

const SIZES: [usize; 3] = [100, 1_000, 10_000];
const BRICKS_PER_SERVER: usize = 4;
const REPLICA: usize = 3;

mod support;
use support::status_kib;

/// splitmix64: a fixed seed, so every run plans the same layouts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One distributed-replicate volume of floor(4n / 3) replica sets. Round-robin: brick i on server
/// i mod n, as `volume create` is usually written. Random: every server's 4 bricks shuffled into
/// sets, then any set holding a server twice swaps a brick with a random other set until none does.
fn layout(n: usize, random: bool) -> VolumeLayout {
    let bricks = n * BRICKS_PER_SERVER / REPLICA * REPLICA;
    let mut slots: Vec<usize> = (0..bricks).map(|i| i % n).collect();
    if random {
        let mut rng = Rng(0x6b65_656c);
        for i in (1..slots.len()).rev() {
            slots.swap(i, rng.below(i + 1));
        }
        let twice = |slots: &[usize], set: usize| {
            let s = &slots[set * REPLICA..(set + 1) * REPLICA];
            (0..REPLICA).find(|&i| s[..i].contains(&s[i]))
        };
        let sets = bricks / REPLICA;
        for set in 0..sets {
            while let Some(i) = twice(&slots, set) {
                let other = rng.below(slots.len());
                slots.swap(set * REPLICA + i, other);
                // The swap may have spoilt the other set; fix it again if it comes before.
                let o = other / REPLICA;
                if o < set && twice(&slots, o).is_some() {
                    slots.swap(set * REPLICA + i, other);
                }
            }
        }
    }
    VolumeLayout {
        name: "dr".into(),
        grouping: Grouping::Replicate { replica: REPLICA },
        hosts: slots.into_iter().map(name).collect(),
    }
}

fn name(i: usize) -> String {
    format!("server{i:05}")
}

fn case(n: usize, placement: &str) {
    let vol = layout(n, placement == "random");
    let servers: Vec<String> = (0..n).map(name).collect();
    let rss_before = status_kib("VmRSS");
    let mut times = Vec::new();
    let mut result = None;
    for _ in 0..5 {
        let start = Instant::now();
        let p = plan(std::slice::from_ref(&vol), &servers, None).expect("plan");
        times.push(start.elapsed());
        result = Some(p);
    }
    let peak = status_kib("VmHWM");
    let p = result.expect("five plans");
    times.sort();
    // Independent check: every server once, no wave with two servers of one set.
    let mut seen: Vec<&String> = p.waves.iter().flatten().collect();
    seen.sort();
    assert!(
        seen.len() == n && seen.windows(2).all(|w| w[0] != w[1]),
        "every server once"
    );
    for wave in &p.waves {
        let members: BTreeSet<&String> = wave.iter().collect();
        for set in vol.hosts.chunks(REPLICA) {
            assert!(set.iter().filter(|h| members.contains(h)).count() <= 1, "set {set:?}");
        }
    }
    let sizes: Vec<usize> = p.waves.iter().map(Vec::len).collect();
    println!(
        "| {n} | {placement} | {} | {} | {} | {} | {} | {:.2} ms / {:.2} ms | {} KiB | {} KiB |",
        vol.hosts.len(),
        vol.hosts.len() / REPLICA,
        p.waves.len(),
        p.lower_bound,
        sizes.iter().map(usize::to_string).collect::<Vec<_>>().join(", "),
        ms(times[0]),
        ms(times[times.len() / 2]),
        rss_before,
        peak,
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [n, placement] if placement == "rr" || placement == "random" => {
            case(n.parse().expect("SERVERS is a number"), placement)
        }
        [] => {
            println!("| servers | placement | bricks | replica sets | waves | lower bound | wave sizes | plan, fastest / median of 5 | RSS before planning | peak RSS |");
            println!("|---|---|---|---|---|---|---|---|---|---|");
            let me = std::env::current_exe().expect("current_exe");
            for n in SIZES {
                for placement in ["rr", "random"] {
                    let status = std::process::Command::new(&me)
                        .args([n.to_string(), placement.to_string()])
                        .status()
                        .expect("run a case");
                    assert!(status.success(), "{n} {placement}: {status}");
                }
            }
        }
        _ => {
            eprintln!("usage: wave_plan [SERVERS rr|random]");
            std::process::exit(2);
        }
    }
}
