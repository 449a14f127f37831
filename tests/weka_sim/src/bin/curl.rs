//! The simulated `curl` of get.weka.io (test support): see weka_sim::curl.
use std::io::Write;

fn main() {
    let out = weka_sim::curl::main(std::env::args().skip(1).collect());
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    std::process::exit(out.code);
}
