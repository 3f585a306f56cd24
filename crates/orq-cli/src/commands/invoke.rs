//! `orq deployments invoke`: the generation's text, or the whole response as JSON.

use std::io::{self, Write};

use orq::Client;
use orq::types::DeploymentRequest;

use super::{Context, call};
use crate::args::CallArgs;
use crate::exit::Failure;
use crate::output;

/// Runs the deployment and prints its answer.
pub async fn run(
    client: &Client,
    args: &CallArgs,
    body: Option<DeploymentRequest>,
    context: Context,
) -> Result<(), Failure> {
    let request = call::build(client.deployments().invoke(args.key.as_str()), args, body);
    let spinner = context.stderr.spinner("generating");
    let answer = request.send().await?;
    spinner.stop();
    let mut out = io::stdout().lock();
    if args.json {
        output::json(&mut out, &answer)?;
    } else {
        match answer.as_ref().map(|answer| answer.text()) {
            Some(Some(text)) => writeln!(out, "{text}")?,
            Some(None) => context.note("the answer has no text (a tool call or an image?): --json shows it"),
            None => context.note("the service answered with no content"),
        }
    }
    out.flush()?;
    Ok(())
}
