//! The pool benchmarks on the testbed.
use crate::util::Result;

pub fn converged(_args: &[String]) -> Result<String> {
    Err("not yet measured".into())
}

pub fn upgrade(_args: &[String]) -> Result<String> {
    Err("not yet measured".into())
}
