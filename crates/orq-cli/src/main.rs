//! `orq`: a command-line client for the orq.ai Deployments API, on top of the
//! `orq` SDK.
//!
//! - `args.rs`: the command line (clap).
//! - `connection.rs`: the client the flags describe, or an in-process orq-mock (`--mock`).
//! - `commands/`: one module per command.
//! - `output.rs`: tables, JSON, the spinner, colour and error reports.
//! - `exit.rs`: exit codes and the failures mapped to them.

mod args;
mod commands;
mod connection;
mod exit;
mod output;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::filter::LevelFilter;

use crate::args::Cli;
use crate::commands::Context;
use crate::exit::Failure;
use crate::output::Stderr;

fn main() -> ExitCode {
    // Exits with 2 and clap's message on bad usage (0 for --help and --version).
    let cli = Cli::parse();
    let stderr = Stderr::detect(cli.quiet);
    init_logs(&cli, stderr);
    let context = Context { stderr, quiet: cli.quiet };

    // One thread: a CLI makes one call at a time, and starts faster without a pool.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            stderr.report(&Failure::Input(format!("could not start the async runtime: {error}")));
            return ExitCode::from(exit::OTHER);
        }
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            // The command first: a stream handles Ctrl-C itself, finishing its line.
            biased;
            outcome = commands::run(cli, context) => outcome,
            _ = commands::interrupted() => Err(Failure::Interrupted),
        }
    });
    match outcome {
        Ok(()) => ExitCode::from(exit::OK),
        // The reader of stdout is gone (`orq … | head`): nothing is wrong.
        Err(failure) if failure.is_closed_output() => ExitCode::from(exit::OK),
        Err(failure) => {
            stderr.report(&failure);
            ExitCode::from(failure.code())
        }
    }
}

/// Logs (the SDK's included) go to stderr: warnings by default, none with
/// `-q`, more with each `-v`.
fn init_logs(cli: &Cli, stderr: Stderr) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => LevelFilter::OFF,
        (false, 0) => LevelFilter::WARN,
        (false, 1) => LevelFilter::INFO,
        (false, 2) => LevelFilter::DEBUG,
        (false, _) => LevelFilter::TRACE,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(stderr.colour)
        .with_target(false)
        .init();
}
