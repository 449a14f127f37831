//! `cargo xtask bench sizes`: the collection built as `cargo xtask collection` builds it, and the
//! size of every binary in its tarball and of the tarball against their budgets. Sizes are read
//! from the tarball itself, since that is what Galaxy serves and what a task sends.
use std::path::Path;
use std::process::Command;

use crate::collection::{self, MAX_BINARY_BYTES, MAX_TARBALL_BYTES};
use crate::util::{self, Result};

const BIN_DIR: &str = "plugins/modules/__bin__";

pub fn run(_args: &[String]) -> Result<String> {
    let (_, tarball) = collection::build_unchecked()?;
    let work = std::env::temp_dir().join(format!("keel-bench-sizes-{}", std::process::id()));
    let out = table(&tarball, &work);
    let _ = std::fs::remove_dir_all(&work);
    out
}

fn table(tarball: &Path, work: &Path) -> Result<String> {
    std::fs::create_dir_all(work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
    util::run(
        Command::new("tar")
            .arg("-xzf")
            .arg(tarball)
            .arg("-C")
            .arg(work)
            .arg(BIN_DIR),
    )?;
    let mut bins: Vec<_> = std::fs::read_dir(work.join(BIN_DIR))
        .map_err(|e| format!("read {BIN_DIR}: {e}"))?
        .flatten()
        .map(|e| e.path())
        .collect();
    bins.sort();
    let mut md = format!(
        "## Size\n\n`cargo xtask bench sizes` (the build of `cargo xtask collection`; sizes read from \
         the tarball {}):\n\n| binary | modules | bytes | MiB | budget |\n|---|---|---|---|---|\n",
        file_name(tarball)
    );
    let mut over = 0;
    for bin in &bins {
        let bytes = len(bin)?;
        let mark = budget(bytes, MAX_BINARY_BYTES, "1.5 MiB", &mut over);
        md += &format!(
            "| `{}` | {} | {} | {:.2} | {mark} |\n",
            file_name(bin),
            collection::modules_of(bin)?.join(", "),
            thousands(bytes),
            bytes as f64 / 1048576.0
        );
    }
    let bytes = len(tarball)?;
    let mark = budget(bytes, MAX_TARBALL_BYTES, "8 MB", &mut over);
    md += &format!(
        "| `dist/{}` (the tarball) | | {} | {:.2} | {mark} |\n",
        file_name(tarball),
        thousands(bytes),
        bytes as f64 / 1048576.0
    );
    md += &format!("\n{over} over budget.\n");
    Ok(md)
}

fn len(p: &Path) -> Result<u64> {
    std::fs::metadata(p)
        .map(|m| m.len())
        .map_err(|e| format!("stat {}: {e}", p.display()))
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap_or_default().to_string_lossy().into_owned()
}

/// 1533560 -> "1,533,560", as BENCHMARKS.md writes byte counts.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The budget column: `name`, marked and counted in `over` when `bytes` exceed `max`.
fn budget(bytes: u64, max: u64, name: &str, over: &mut usize) -> String {
    if bytes > max {
        *over += 1;
        format!("{name}: **OVER**")
    } else {
        name.to_string()
    }
}
