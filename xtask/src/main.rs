//! Task runner: `cargo xtask <task>`.
mod testbed;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("testbed") => testbed::main(&args[1..]),
        _ => Err("usage: cargo xtask <collection|test|testbed|demo>".to_string()),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}
