//! One parse of a file, for `cargo xtask bench parsers`: run once per measurement, so the peak
//! memory printed is this parse's own and not that of earlier, larger inputs.
//!
//! Usage: parse_bench summary|entries FILE [LIMIT]
//! Prints `parse_ns=N rss_before_kib=N peak_kib=N items=N|error` (the error on stderr): the time of the parse alone (the file
//! is read before the clock starts), the resident set with the input read, and the peak
//! resident set (VmHWM) after the parse.
use std::time::Instant;

use keel_gluster_model::parse::{parse_heal_entries, parse_heal_summary};

mod support;
use support::status_kib;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [parser, file, rest @ ..] = args.as_slice() else {
        eprintln!("usage: parse_bench summary|entries FILE [LIMIT]");
        std::process::exit(2);
    };
    let limit: usize = rest.first().map_or(10, |l| l.parse().expect("LIMIT is a number"));
    let xml = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let rss_before = status_kib("VmRSS");
    let started = Instant::now();
    let items = match parser.as_str() {
        "summary" => parse_heal_summary(&xml).map(|b| b.len()),
        "entries" => parse_heal_entries(&xml, limit).map(|e| e.len()),
        other => panic!("no parser {other}"),
    };
    let parse_ns = started.elapsed().as_nanos();
    let peak = status_kib("VmHWM");
    // A refused document is a result too (the cut of an over-long output): say so, with why.
    let items = match items {
        Ok(n) => n.to_string(),
        Err(e) => {
            eprintln!("{e}");
            "error".into()
        }
    };
    println!("parse_ns={parse_ns} rss_before_kib={rss_before} peak_kib={peak} items={items}");
}
