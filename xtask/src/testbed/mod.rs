//! `cargo xtask testbed up|down|status`: a real GlusterFS cluster on this machine.
pub fn main(_args: &[String]) -> Result<(), String> {
    Err("testbed: not built yet".into())
}
