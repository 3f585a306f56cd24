//! What config, invoke and stream share: the request built from `--body`,
//! `-v` and `-m`.

use std::io::{IsTerminal, Read};

use orq::deployments::DeploymentCall;
use orq::types::{DeploymentRequest, Message};
use serde_json::Value;

use crate::args::CallArgs;
use crate::exit::Failure;

/// Reads and checks `--body` (a file, or `-` for stdin), if given.
pub fn read_body(args: &CallArgs) -> Result<Option<DeploymentRequest>, Failure> {
    let Some(source) = args.body.as_deref() else { return Ok(None) };
    let (text, name) = if source == "-" {
        if std::io::stdin().is_terminal() {
            tracing::warn!("reading the request body from stdin (end it with Ctrl-D)");
        }
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Input(format!("could not read the body from stdin: {e}")))?;
        (text, "stdin".to_string())
    } else {
        let text = std::fs::read_to_string(source)
            .map_err(|e| Failure::Input(format!("could not read the body file `{source}`: {e}")))?;
        (text, format!("`{source}`"))
    };
    parse_body(&text, &args.key)
        .map(Some)
        .map_err(|problem| Failure::Usage(format!("the body from {name} {problem}")))
}

/// A request body from JSON text. Its `key` may be left out: the command's KEY
/// replaces it anyway.
fn parse_body(text: &str, key: &str) -> Result<DeploymentRequest, String> {
    let mut value: Value = serde_json::from_str(text).map_err(|e| format!("is not JSON: {e}"))?;
    let Some(object) = value.as_object_mut() else {
        return Err("must be a JSON object".to_string());
    };
    object.entry("key").or_insert_with(|| Value::String(key.to_string()));
    serde_path_to_error::deserialize(value)
        .map_err(|e| format!("is not a request body: at `{}`: {}", e.path(), e.inner()))
}

/// `call` with the body, then the inputs and messages of the flags on top.
pub fn build<Op>(
    mut call: DeploymentCall<Op>,
    args: &CallArgs,
    body: Option<DeploymentRequest>,
) -> DeploymentCall<Op> {
    if let Some(body) = body {
        call = call.body(body);
    }
    for (name, value) in &args.inputs {
        call = call.input(name.clone(), value.clone());
    }
    for message in &args.messages {
        call = call.message(Message::user(message.as_str()));
    }
    call
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_take_the_key_of_the_command() {
        let body = parse_body(r#"{"inputs": {"name": "Ada"}}"#, "support-bot").unwrap();
        assert_eq!(body.key, "support-bot");
        assert_eq!(body.inputs["name"].to_string(), "Ada");
    }

    #[test]
    fn bad_bodies_say_where() {
        assert!(parse_body("[1]", "k").unwrap_err().contains("JSON object"));
        assert!(parse_body("{", "k").unwrap_err().contains("not JSON"));
        let error = parse_body(r#"{"messages": 3}"#, "k").unwrap_err();
        assert!(error.contains("`messages`"), "{error}");
    }
}
