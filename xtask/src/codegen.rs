//! `cargo xtask codegen`: regenerate orq-api from our spec.

use std::process::ExitCode;

pub fn run(_args: &[String]) -> Result<ExitCode, String> {
    Err("not implemented yet".into())
}
