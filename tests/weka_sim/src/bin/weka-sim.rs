//! `weka-sim`: create the simulated cluster, inject faults, show its state.
fn main() {
    match weka_sim::admin::main(std::env::args().skip(1).collect()) {
        Ok(out) => print!("{out}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}
