//! One module per command; this one dispatches and holds what they share.

mod call;
mod config;
mod invoke;
mod list;
mod listing;
mod stream;
mod versions;

use std::io::{self, Write};

use clap::CommandFactory;

use crate::args::{Cli, Command, DeploymentsCommand};
use crate::connection::connect;
use crate::exit::Failure;
use crate::output::Stderr;

/// What every command may use besides its own flags.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// What stderr shows.
    pub stderr: Stderr,
    /// `--quiet`: no notes on stderr.
    pub quiet: bool,
}

impl Context {
    /// A note on stderr about the data on stdout, unless `--quiet`.
    pub fn note(&self, note: &str) {
        if !self.quiet {
            let _ = writeln!(io::stderr(), "orq: {note}");
        }
    }
}

/// Runs the command the command line names.
pub async fn run(cli: Cli, context: Context) -> Result<(), Failure> {
    match cli.command {
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics on a failed write
            // (`orq completions bash | head`), ours is an error.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "orq", &mut script);
            let mut stdout = io::stdout().lock();
            stdout.write_all(&script)?;
            stdout.flush()?;
            Ok(())
        }
        Command::Deployments(command) => {
            // A bad --body is reported before anything is started.
            let body = match &command {
                DeploymentsCommand::Config(args)
                | DeploymentsCommand::Invoke(args)
                | DeploymentsCommand::Stream(args) => call::read_body(args)?,
                DeploymentsCommand::List(_) | DeploymentsCommand::Versions(_) => None,
            };
            let connection = connect(&cli.connection).await?;
            let client = &connection.client;
            let outcome = match command {
                DeploymentsCommand::List(args) => list::run(client, &args, context).await,
                DeploymentsCommand::Versions(args) => versions::run(client, &args, context).await,
                DeploymentsCommand::Config(args) => config::run(client, &args, body, context).await,
                DeploymentsCommand::Invoke(args) => invoke::run(client, &args, body, context).await,
                DeploymentsCommand::Stream(args) => stream::run(client, &args, body, context).await,
            };
            outcome.map_err(|failure| failure.sent_to(client.base_url()))
        }
    }
}

/// Resolves on Ctrl-C; never, where no handler can be installed.
pub async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
