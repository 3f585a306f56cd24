//! `orq deployments config`: what a deployment resolves to, as text or JSON.

use std::io::{self, BufWriter, Write};

use orq::Client;
use orq::types::{DeploymentConfig, DeploymentRequest};
use serde_json::Value;

use super::{Context, call};
use crate::args::CallArgs;
use crate::exit::Failure;
use crate::output;

/// Fetches and prints the configuration.
pub async fn run(
    client: &Client,
    args: &CallArgs,
    body: Option<DeploymentRequest>,
    context: Context,
) -> Result<(), Failure> {
    let request = call::build(client.deployments().get_config(args.key.as_str()), args, body);
    let spinner = context.stderr.spinner("resolving the configuration");
    let config = request.send().await?;
    spinner.stop();
    let mut out = BufWriter::new(io::stdout().lock());
    match (&config, args.json) {
        (_, true) => output::json(&mut out, &config)?,
        (Some(config), false) => write_text(&mut out, &args.key, config)?,
        (None, false) => context.note("the service answered with no content"),
    }
    out.flush()?;
    Ok(())
}

/// A summary: the model and its settings, then the prompt's messages.
fn write_text(out: &mut impl Write, key: &str, config: &DeploymentConfig) -> io::Result<()> {
    let model_type = config.type_.as_ref().map(|t| format!(" ({})", t.as_str())).unwrap_or_default();
    writeln!(out, "deployment  {key}")?;
    if !config.version.is_empty() {
        writeln!(out, "version     {}", config.version)?;
    }
    writeln!(out, "model       {}/{}{model_type}", config.provider, config.model)?;
    let parameters = serde_json::to_string(&config.parameters).unwrap_or_default();
    writeln!(out, "parameters  {parameters}")?;
    if !config.tools.is_empty() {
        let names: Vec<&str> = config.tools.iter().map(|tool| tool.function.name.as_str()).collect();
        writeln!(out, "tools       {}", names.join(", "))?;
    }
    for message in &config.messages {
        // Through JSON: the text of every content shape, known or not.
        let message = serde_json::to_value(message).unwrap_or_default();
        let role = message["role"].as_str().unwrap_or("message");
        writeln!(out, "\n{role}: {}", content_text(&message["content"]))?;
    }
    Ok(())
}

/// The text of a message's content: the text itself, or its parts' texts
/// (other parts by their type, such as `[image_url]`).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|part| match part["text"].as_str() {
                Some(text) => text.to_string(),
                None => format!("[{}]", part["type"].as_str().unwrap_or("part")),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
