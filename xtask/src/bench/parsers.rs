//! `cargo xtask bench parsers`: time and peak memory of the heal parsers of keel-gluster-model at
//! 1, 10^4 and 10^6 heal entries. Inputs are the captured fixtures with their entries multiplied,
//! so the shape is gluster's own; each parse runs in a process of its own
//! (modules/gluster_model/examples/parse_bench.rs, built like the module binaries), so its peak
//! resident set is that parse's alone.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::sizes::thousands;
use crate::collection::{RUSTFLAGS, TARGET};
use crate::util::{self, Result};

/// `heal VOL info` while a server was down (two live bricks listing the same 28 entries, one
/// brick unreachable), and `heal VOL info summary` with a backlog.
const INFO_FIXTURE: &str = "modules/gluster_model/tests/fixtures/10.3/degraded-heal-gv0-info.xml";
const SUMMARY_FIXTURE: &str = "modules/gluster_model/tests/fixtures/10.3/healing-heal-gv0-info-summary.xml";
/// gluster_heal's default `report_entries`: how many split-brain entries it reads.
const MODULE_LIMIT: usize = 10;
/// keel-runtime's `CAPTURE_LIMIT` (not a dependency of xtask): what a module keeps of an output.
const CAPTURE_LIMIT: usize = 16 << 20;
const SIZES: [usize; 3] = [1, 10_000, 1_000_000];

struct Case {
    parser: &'static str,
    entries: usize,
    limit: Option<usize>,
    /// Cut as the module's command runner cuts an output over `CAPTURE_LIMIT`.
    cut: bool,
}

#[derive(Clone)]
struct Sample {
    ns: u64,
    before_kib: u64,
    peak_kib: u64,
    /// What the parser returned: a count, or "error".
    items: String,
}

pub fn run(_args: &[String]) -> Result<String> {
    let root = util::root();
    let bin = build(&root)?;
    let work = std::env::temp_dir().join(format!("keel-bench-parsers-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
    let out = measure(&root, &bin, &work);
    let _ = std::fs::remove_dir_all(&work);
    out
}

fn build(root: &Path) -> Result<PathBuf> {
    util::run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args(["build", "--release", "--locked", "-p", "keel-gluster-model"])
            .args(["--example", "parse_bench", "--target", TARGET])
            // The module binaries' flags and profile, so the figures are the shipped code's.
            .env("RUSTFLAGS", RUSTFLAGS),
    )?;
    Ok(root.join("target").join(TARGET).join("release/examples/parse_bench"))
}

fn measure(root: &Path, bin: &Path, work: &Path) -> Result<String> {
    let info = read(&root.join(INFO_FIXTURE))?;
    let summary = read(&root.join(SUMMARY_FIXTURE))?;
    let mut cases = Vec::new();
    for &n in &SIZES {
        cases.push(Case {
            parser: "summary",
            entries: n,
            limit: None,
            cut: false,
        });
        cases.push(Case {
            parser: "entries",
            entries: n,
            limit: Some(MODULE_LIMIT),
            cut: false,
        });
    }
    cases.push(Case {
        parser: "entries",
        entries: 1_000_000,
        limit: Some(MODULE_LIMIT),
        cut: true,
    });
    // Every entry kept: each new entry is compared with all kept ones, so this grows with the
    // square of the entries; 10^6 would take hours.
    for n in [1, 10_000, 30_000] {
        cases.push(Case {
            parser: "entries",
            entries: n,
            limit: Some(n),
            cut: false,
        });
    }
    let mut rows = Vec::new();
    let mut baseline: Vec<(&str, u64)> = Vec::new();
    let mut cut_result = None;
    for case in &cases {
        let cut = if case.cut { "-cut" } else { "" };
        let file = work.join(format!("{}-{}{cut}.xml", case.parser, case.entries));
        if !file.exists() {
            let mut text = match case.parser {
                "summary" => heal_summary(&summary, case.entries),
                _ => heal_info(&info, case.entries),
            };
            if case.cut {
                text = capture_cut(&text);
            }
            write(&file, &text)?;
        }
        let bytes = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
        // Fewer runs of the big inputs: each takes seconds and varies little.
        let runs = if bytes > 4_000_000 { 3 } else { 5 };
        let mut samples = Vec::new();
        for _ in 0..runs {
            samples.push(once(bin, case, &file)?);
        }
        let s = median(&samples);
        if samples.iter().any(|x| x.items != s.items) {
            return Err(format!(
                "{}: the parser returned different results: {:?}",
                file.display(),
                samples.iter().map(|x| &x.items).collect::<Vec<_>>()
            ));
        }
        if case.cut {
            cut_result = Some(s.items.clone());
        }
        if case.entries == 1 && !baseline.iter().any(|(p, _)| *p == case.parser) {
            baseline.push((case.parser, s.peak_kib));
        }
        let base = baseline.iter().find(|(p, _)| *p == case.parser).map_or(0, |b| b.1);
        eprintln!(
            "{} {} entries (limit {:?}): {} bytes, {:.3} ms, peak {} KiB",
            case.parser,
            case.entries,
            case.limit,
            bytes,
            s.ns as f64 / 1e6,
            s.peak_kib
        );
        rows.push(format!(
            "| `{}` | {}{} | {} | {} | {} | {} | {} KiB | {} KiB | {} KiB | {} KiB{} |",
            match case.parser {
                "summary" => "parse_heal_summary",
                _ => "parse_heal_entries",
            },
            thousands(case.entries as u64),
            if case.cut { ", cut at 16 MiB" } else { "" },
            case.limit.map_or("".into(), |l| thousands(l as u64)),
            thousands(bytes),
            match (case.parser, s.items.as_str()) {
                (_, "error") => "error (not XML)".to_string(),
                ("summary", n) => format!("{n} bricks"),
                (_, "1") => "1 entry".to_string(),
                (_, n) => format!("{} entries", n.parse().map_or(n.to_string(), thousands)),
            },
            ms(s.ns),
            thousands(s.before_kib),
            thousands(s.peak_kib),
            thousands(s.peak_kib.saturating_sub(base)),
            thousands(s.peak_kib.saturating_sub(s.before_kib)),
            // Per input byte only where the input outweighs the allocator's first pages.
            if bytes >= 1_000_000 {
                format!(
                    " ({:.1} x input)",
                    s.peak_kib.saturating_sub(s.before_kib) as f64 * 1024.0 / bytes as f64
                )
            } else {
                String::new()
            },
        ));
    }
    let capture_mib = CAPTURE_LIMIT >> 20;
    // What the cut document gave, as measured: whether it stays XML depends on where the cut falls.
    let cut = match cut_result.as_deref() {
        Some("error") => "the parser refuses it, and gluster_heal then reports no split-brain entries.".to_string(),
        Some(n) => format!(
            "the parser accepts it ({n} entries: the cut fell inside elements' text, which may hold the \
             marker line and the `\">` of a cut tag), so the entries reported come from the first 8 MiB; \
             a cut at another place can fall inside a tag and be refused."
        ),
        None => String::new(),
    };
    Ok(format!(
        "## Parsers\n\n`cargo xtask bench parsers`: keel-gluster-model's heal parsers on generated \
         inputs of N entries in the shape of the captured `{}` (N files listed by each of the two \
         live bricks, the third brick unreachable) and `{}` (N in every count; the summary holds \
         counts, not entries, so its size barely grows). Each parse in a process of its own \
         (`modules/gluster_model/examples/parse_bench.rs`, the module binaries' profile and flags), \
         timed without reading the file; time and peak the median of 5 runs (3 for inputs over \
         4 MB). \"RSS, input read\" is VmRSS before the parse (the input is in memory), \"peak\" \
         VmHWM after it; \"over baseline\" subtracts the peak of the same parser on 1 entry, \
         \"parse's own\" the RSS with the input read. `limit` is `parse_heal_entries`' entry limit \
         (gluster_heal's default `report_entries` is {MODULE_LIMIT}; the entries kept are \
         indexed, so each entry costs a look-up).\n\n\
         | parser | entries | limit | input bytes | result | time | RSS, input read | peak RSS | \
         peak over baseline | parse's own |\n\
         |---|---|---|---|---|---|---|---|---|---|\n{}\n\n\
         Both parsers build roxmltree's DOM of the whole document before reading it, so their \
         memory grows with the input whatever the limit (the last column, in bytes per input \
         byte). The module's command runner keeps at most {capture_mib} MiB of a command's output \
         (`CAPTURE_LIMIT`: the first and last 8 MiB, a line in between); the row \"cut at 16 MiB\" \
         is the 10^6-entry document cut that way, which is what gluster_heal would be given: {cut}\n",
        INFO_FIXTURE.rsplit('/').next().unwrap_or_default(),
        SUMMARY_FIXTURE.rsplit('/').next().unwrap_or_default(),
        rows.join("\n")
    ))
}

fn once(bin: &Path, case: &Case, file: &Path) -> Result<Sample> {
    let mut cmd = Command::new(bin);
    cmd.arg(case.parser).arg(file);
    if let Some(l) = case.limit {
        cmd.arg(l.to_string());
    }
    let out = util::output(&mut cmd)?;
    let field = |k: &str| -> Result<u64> {
        out.split_whitespace()
            .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("parse_bench printed no {k}: {out}"))
    };
    let items = out
        .split_whitespace()
        .find_map(|w| w.strip_prefix("items="))
        .ok_or_else(|| format!("parse_bench printed no items: {out}"))?
        .to_string();
    Ok(Sample {
        items,
        ns: field("parse_ns")?,
        before_kib: field("rss_before_kib")?,
        peak_kib: field("peak_kib")?,
    })
}

/// The median of each figure on its own.
fn median(samples: &[Sample]) -> Sample {
    let pick = |f: fn(&Sample) -> u64| {
        let mut v: Vec<u64> = samples.iter().map(f).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    Sample {
        ns: pick(|s| s.ns),
        before_kib: pick(|s| s.before_kib),
        peak_kib: pick(|s| s.peak_kib),
        items: samples[0].items.clone(),
    }
}

/// `text` as the command runner (modules/runtime/src/command.rs, `Capture`) keeps an output over
/// its limit: the first and the last half, and a line saying how much went.
fn capture_cut(text: &str) -> String {
    let half = CAPTURE_LIMIT / 2;
    let b = text.as_bytes();
    if b.len() <= CAPTURE_LIMIT {
        return text.to_string();
    }
    format!(
        "{}\n[keel: {} bytes of output cut here, over the limit of {} MiB]\n{}",
        String::from_utf8_lossy(&b[..half]),
        b.len() - CAPTURE_LIMIT,
        CAPTURE_LIMIT >> 20,
        String::from_utf8_lossy(&b[b.len() - half..])
    )
}

fn ms(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms < 1.0 {
        format!("{ms:.3} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{} ms", thousands(ms.round() as u64))
    }
}

/// The fixture's `heal info` with each live brick's `<file>` lines replaced by `n` entries (the
/// same on both live bricks, as a replica lists them) and its count set to `n`.
fn heal_info(fixture: &str, n: usize) -> String {
    let mut out = String::with_capacity(200 + n * 2 * 80);
    let mut in_files = false;
    for line in fixture.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("<file ") {
            if !in_files {
                in_files = true;
                let indent = &line[..line.len() - trimmed.len()];
                for i in 0..n {
                    out += &format!("{indent}<file gfid=\"{}\">/f{i}</file>\n", gfid(i as u64));
                }
            }
            continue;
        }
        in_files = false;
        match trimmed.strip_prefix("<numberOfEntries>") {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
                let indent = &line[..line.len() - trimmed.len()];
                out += &format!("{indent}<numberOfEntries>{n}</numberOfEntries>\n");
            }
            _ => {
                out += line;
                out.push('\n');
            }
        }
    }
    out
}

/// The fixture's summary with every count that is not a split-brain count set to `n`.
fn heal_summary(fixture: &str, n: usize) -> String {
    let mut out = String::new();
    for line in fixture.lines() {
        let trimmed = line.trim_start();
        let tag = [
            "totalNumberOfEntries",
            "numberOfEntriesInHealPending",
            "numberOfEntriesPossiblyHealing",
        ]
        .into_iter()
        .find(|t| trimmed.starts_with(&format!("<{t}>")));
        match tag {
            Some(t) => {
                let indent = &line[..line.len() - trimmed.len()];
                out += &format!("{indent}<{t}>{n}</{t}>\n");
            }
            None => {
                out += line;
                out.push('\n');
            }
        }
    }
    out
}

/// A random-looking UUID for entry `i` (splitmix64), so no two entries share a long prefix.
fn gfid(i: u64) -> String {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (a, b) = (mix(2 * i), mix(2 * i + 1));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn read(p: &Path) -> Result<String> {
    std::fs::read_to_string(p).map_err(|e| format!("read {}: {e}", p.display()))
}

fn write(p: &Path, text: &str) -> Result {
    let mut f = std::fs::File::create(p).map_err(|e| format!("create {}: {e}", p.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("write {}: {e}", p.display()))
}
