//! `orq deployments stream`: text as it is generated, or one chunk per line.

use std::io::{self, Write};
use std::pin::pin;

use futures::StreamExt;
use orq::Client;
use orq::types::DeploymentRequest;

use super::{Context, call, interrupted};
use crate::args::CallArgs;
use crate::exit::Failure;
use crate::output;

/// Runs the deployment and prints each chunk as it arrives, flushed at once.
/// Ctrl-C ends the stream; the text so far stays printed.
pub async fn run(
    client: &Client,
    args: &CallArgs,
    body: Option<DeploymentRequest>,
    context: Context,
) -> Result<(), Failure> {
    let request = call::build(client.deployments().stream(args.key.as_str()), args, body);
    let mut spinner = Some(context.stderr.spinner("generating"));
    let mut interrupt = pin!(interrupted());
    let mut chunks = tokio::select! {
        biased;
        _ = &mut interrupt => return Err(Failure::Interrupted),
        chunks = request.send() => chunks?,
    };
    let mut out = io::stdout().lock();
    let mut line = Line::default();
    let outcome = loop {
        let next = tokio::select! {
            biased;
            _ = &mut interrupt => break Err(Failure::Interrupted),
            next = chunks.next() => next,
        };
        // The first chunk ends the wait.
        spinner.take();
        match next {
            None => break Ok(()),
            Some(Ok(chunk)) if args.json => output::json_line(&mut out, &chunk)?,
            Some(Ok(chunk)) => line.write(&mut out, chunk.text())?,
            Some(Err(error)) => break Err(error.into()),
        }
        out.flush()?;
    };
    drop(spinner);
    // Whatever ended the stream, the text ends with a line break, so that what
    // follows (a prompt, the error on stderr) starts on a line of its own.
    line.finish(&mut out)?;
    out.flush()?;
    outcome
}

/// Tracks whether the text printed so far ends a line.
#[derive(Debug, Default)]
struct Line {
    open: bool,
}

impl Line {
    fn write(&mut self, out: &mut impl Write, text: &str) -> io::Result<()> {
        if !text.is_empty() {
            out.write_all(text.as_bytes())?;
            self.open = !text.ends_with('\n');
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        if std::mem::take(&mut self.open) {
            writeln!(out)?;
        }
        Ok(())
    }
}
