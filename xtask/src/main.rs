//! `cargo xtask <task>`: maintenance tasks for this workspace.
//!
//! - `codegen [--check]`: regenerate `crates/orq-api/src/generated*.rs` from `openapi/`.
//! - `spec-diff <upstream.yaml|json>`: list what the upstream spec has that ours lacks.

mod codegen;
mod spec_diff;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => codegen::run(&args[1..]),
        Some("spec-diff") => spec_diff::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask codegen [--check] | cargo xtask spec-diff <upstream.yaml|json> [--ours <spec>]"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Our spec of the Deployments API.
pub const SPEC_PATH: &str = "openapi/orq-deployments.yaml";
