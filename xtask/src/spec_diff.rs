//! `cargo xtask spec-diff`: compare our spec with an upstream document.

use std::process::ExitCode;

pub fn run(_args: &[String]) -> Result<ExitCode, String> {
    Err("not implemented yet".into())
}
