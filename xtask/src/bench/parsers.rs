//! Placeholder: filled in by the benchmark work.
use crate::util::Result;

pub fn run(_args: &[String]) -> Result<String> {
    Err("not yet measured".into())
}
