//! The saved versions of a deployment, as `GET /v2/deployments/{keyOrID}/versions` lists them.
//!
//! Everything is derived from the deployment (its key, `created` and prompt), so the same
//! deployment always has the same versions, ids and timestamps.

use serde_json::{Value, json};

use crate::deployment::{BASE_CREATED_MILLIS, Deployment, HOUR_MILLIS};
use crate::util;
use crate::wire;

/// The deployment's saved versions, newest first.
pub(crate) fn saved_versions(deployment: &Deployment) -> Vec<Value> {
    let count = deployment.version_count();
    let variants = deployment.variant_ids();
    if count == 0 || variants.is_empty() {
        return Vec::new();
    }
    let key = deployment.key();
    let config = deployment.config();
    let created = util::parse_rfc3339_millis(deployment.created_or_empty()).unwrap_or(BASE_CREATED_MILLIS);
    let model_db_id =
        util::derived_ulid(BASE_CREATED_MILLIS, &format!("{}/{}", config.provider, config.model), "model", 0);
    let mut variables: Vec<&str> = Vec::new();
    for message in &config.messages {
        for name in texts(&message.content).flat_map(wire::placeholder_names) {
            if !variables.contains(&name) {
                variables.push(name);
            }
        }
    }
    let variables: Vec<Value> = variables.iter().map(|name| json!({"key": name, "is_pii": false})).collect();
    // A user saved every version but the first, which came with the deployment.
    let editor = util::derived_ulid(BASE_CREATED_MILLIS, key, "user", 0);

    (1..=count as u64)
        .rev()
        .map(|n| {
            let variant = &variants[((n - 1) % variants.len() as u64) as usize];
            let saved = created + n * HOUR_MILLIS;
            let version = format!("v{n}");
            // Versions newer than this one in the same variant replaced it as the live one.
            let live = n + variants.len() as u64 > count as u64;
            let messages: Vec<Value> = config
                .messages
                .iter()
                .enumerate()
                .map(|(i, message)| {
                    let mut out = json!({
                        "id": util::derived_ulid(saved, key, &format!("v{n} message"), i as u64),
                        "role": message.role,
                        "content": message.content,
                    });
                    if let Some(calls) = &message.tool_calls {
                        out["tool_calls"] = json!(calls);
                    }
                    out
                })
                .collect();
            json!({
                "_id": util::derived_ulid(saved, key, "version", n),
                "deployment_id": deployment.id_or_empty(),
                "variant_id": variant,
                "prompt_config": {
                    "model": config.model,
                    "model_db_id": model_db_id,
                    "model_type": config.model_type,
                    "model_parameters": config.model_parameters,
                    "provider": config.provider,
                    "messages": messages,
                    "integration_id": null,
                    "version": version,
                },
                "fallbacks": [],
                "tools": config.tools,
                "variables": variables,
                "timestamp": util::rfc3339_millis(saved),
                "version": version,
                "description": format!("Version {n} of {key}"),
                "status": if live { "live" } else { "published" },
                "user_id": if n == 1 { Value::Null } else { json!(editor) },
            })
        })
        .collect()
}

/// The texts of a prompt message's content: the string, or the `text` of each text part.
fn texts(content: &Value) -> impl Iterator<Item = &str> {
    let parts = content.as_array().into_iter().flatten().filter_map(|part| part["text"].as_str());
    content.as_str().into_iter().chain(parts)
}
