//! Deployments served by the mock, in the wire shape of `GET /v2/deployments`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::util;

/// Providers the orq.ai API names (`prompt_config.provider`), as of 2026-10.
pub const PROVIDERS: &[&str] = &[
    "cohere",
    "openai",
    "anthropic",
    "huggingface",
    "replicate",
    "google",
    "google-ai",
    "azure",
    "aws",
    "anyscale",
    "perplexity",
    "groq",
    "fal",
    "leonardoai",
    "nvidia",
    "jina",
    "togetherai",
    "elevenlabs",
    "inception",
    "meta",
    "greenpt",
    "liquid",
    "typesafe",
    "berget",
    "cloudflare",
];

/// Model types accepted by the orq.ai API (`prompt_config.model_type`).
pub const MODEL_TYPES: &[&str] = &[
    "chat",
    "completion",
    "embedding",
    "vision",
    "image",
    "tts",
    "stt",
    "rerank",
    "moderations",
    "moderation",
    "ocr",
    "classify",
];

/// Message roles allowed in a deployment's prompt and in `get_config` responses.
pub const PROMPT_ROLES: &[&str] = &[
    "system",
    "developer",
    "assistant",
    "user",
    "exception",
    "tool",
    "prompt",
    "correction",
    "expected_output",
];

/// `created` of the newest deployment when none is given explicitly.
pub(crate) const BASE_CREATED_MILLIS: u64 = 1_736_931_600_000; // 2025-01-15T09:00:00.000Z
pub(crate) const HOUR_MILLIS: u64 = 3_600_000;

/// A deployment served by the mock.
///
/// It serializes to (and deserializes from) exactly one item of the `data` array of
/// `GET /v2/deployments`. When loading JSON, `id`, `created`, `updated`, `description`,
/// `version`, `tools`, `model_parameters` and `messages` may be omitted; the mock fills in
/// deterministic defaults when it starts (a UUID derived from the key, distinct `created`
/// timestamps one hour apart with the first deployment being the newest, `version` `"v1"`).
/// Two fields that are not part of the list item set its saved versions (see
/// [`Deployment::versions`] and [`Deployment::variants`]): `mock_versions` (a count) and
/// `mock_variants` (an array of variant ids); they are never written back.
///
/// ```
/// use orq_mock::Deployment;
///
/// let bot = Deployment::chat("support-bot")
///     .description("Answers customer questions")
///     .model("anthropic", "claude-3-5-sonnet-20241022")
///     .system("You help {{name}}.")
///     .parameter("temperature", 0.2)
///     .parameter("maxTokens", 512);
/// assert_eq!(bot.key(), "support-bot");
/// assert_eq!(bot.to_json()["prompt_config"]["provider"], "anthropic");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated: Option<String>,
    key: String,
    #[serde(default)]
    description: String,
    prompt_config: PromptConfig,
    #[serde(default = "default_version")]
    version: String,
    /// How many saved versions `GET /v2/deployments/{keyOrID}/versions` lists. Not part
    /// of the list item: a deployments file may set it as `mock_versions`.
    #[serde(rename = "mock_versions", default = "default_version_count", skip_serializing)]
    version_count: usize,
    /// The variants the saved versions belong to; `None` for two ids derived from the key.
    /// A deployments file may set them as `mock_variants`.
    #[serde(rename = "mock_variants", default, skip_serializing)]
    variant_ids: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PromptConfig {
    #[serde(default)]
    pub(crate) tools: Vec<Value>,
    pub(crate) model: String,
    pub(crate) model_type: String,
    #[serde(default)]
    pub(crate) model_parameters: Map<String, Value>,
    pub(crate) provider: String,
    #[serde(default)]
    pub(crate) messages: Vec<PromptMessage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PromptMessage {
    pub(crate) role: String,
    pub(crate) content: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tool_calls: Option<Vec<Value>>,
}

fn default_version() -> String {
    "v1".to_owned()
}

fn default_version_count() -> usize {
    DEFAULT_VERSION_COUNT
}

/// How many saved versions a deployment has unless [`Deployment::versions`] says otherwise.
pub const DEFAULT_VERSION_COUNT: usize = 3;

impl Deployment {
    /// Creates a deployment with the given key and `model_type`, using OpenAI
    /// `gpt-4o-mini`, `temperature` 0.7, `maxTokens` 256 and an empty prompt.
    pub fn new(key: impl Into<String>, model_type: impl Into<String>) -> Self {
        let mut model_parameters = Map::new();
        model_parameters.insert("temperature".into(), json!(0.7));
        model_parameters.insert("maxTokens".into(), json!(256));
        Deployment {
            id: None,
            created: None,
            updated: None,
            key: key.into(),
            description: String::new(),
            prompt_config: PromptConfig {
                tools: Vec::new(),
                model: "gpt-4o-mini".into(),
                model_type: model_type.into(),
                model_parameters,
                provider: "openai".into(),
                messages: Vec::new(),
            },
            version: default_version(),
            version_count: DEFAULT_VERSION_COUNT,
            variant_ids: None,
        }
    }

    /// Creates a `chat` deployment (see [`Deployment::new`] for the defaults).
    pub fn chat(key: impl Into<String>) -> Self {
        Self::new(key, "chat")
    }

    /// Creates a `completion` deployment using OpenAI `gpt-3.5-turbo-instruct`.
    pub fn completion(key: impl Into<String>) -> Self {
        Self::new(key, "completion").model("openai", "gpt-3.5-turbo-instruct")
    }

    /// Sets the provider (one of [`PROVIDERS`]) and the model name.
    pub fn model(mut self, provider: impl Into<String>, model: impl Into<String>) -> Self {
        self.prompt_config.provider = provider.into();
        self.prompt_config.model = model.into();
        self
    }

    /// Sets the human readable description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the version string (default `"v1"`).
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Sets an explicit id (default: a UUID derived from the key).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets an explicit `created` timestamp (RFC 3339). Listing sorts by this value,
    /// compared as text, newest first.
    pub fn created(mut self, created: impl Into<String>) -> Self {
        self.created = Some(created.into());
        self
    }

    /// Sets an explicit `updated` timestamp (default: equal to `created`).
    pub fn updated(mut self, updated: impl Into<String>) -> Self {
        self.updated = Some(updated.into());
        self
    }

    /// Appends a prompt message with the given role and content (a string or an array of
    /// `{"type":"text"}` / `{"type":"image_url"}` parts). `{{variable}}` placeholders in
    /// text are substituted from the request's `inputs`.
    pub fn message(mut self, role: impl Into<String>, content: impl Into<Value>) -> Self {
        self.prompt_config.messages.push(PromptMessage {
            role: role.into(),
            content: content.into(),
            tool_calls: None,
        });
        self
    }

    /// Appends a `system` prompt message.
    pub fn system(self, text: impl Into<String>) -> Self {
        self.message("system", text.into())
    }

    /// Appends a `user` prompt message.
    pub fn user(self, text: impl Into<String>) -> Self {
        self.message("user", text.into())
    }

    /// Appends an `assistant` prompt message.
    pub fn assistant(self, text: impl Into<String>) -> Self {
        self.message("assistant", text.into())
    }

    /// Sets one model parameter, e.g. `temperature`, `maxTokens`, `topP`.
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.prompt_config.model_parameters.insert(name.into(), value.into());
        self
    }

    /// Removes all model parameters.
    pub fn clear_parameters(mut self) -> Self {
        self.prompt_config.model_parameters.clear();
        self
    }

    /// Adds a function tool. `parameters` is a JSON Schema object such as
    /// `{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}`.
    ///
    /// When an invoked deployment has tools and the last message is a user message that
    /// mentions a tool's name, the mock answers with a `tool_calls` message for that tool.
    pub fn tool(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        self.prompt_config.tools.push(json!({
            "type": "function",
            "function": {
                "name": name.into(),
                "description": description.into(),
                "parameters": parameters,
            }
        }));
        self
    }

    /// Sets how many saved versions `GET /v2/deployments/{keyOrID}/versions` lists
    /// (default [`DEFAULT_VERSION_COUNT`]; 0 for none). Not to be confused with
    /// [`Deployment::version`], the version string of the list item.
    ///
    /// Version `n` (1 is the oldest) is named `"v<n>"`, belongs to variant
    /// `(n - 1) % variants` (see [`Deployment::variant_ids`]) and was saved `n` hours after
    /// the deployment's `created`. The newest version of each variant is `live`, the others
    /// `published`. Ids are derived from the key, so they are the same on every run.
    pub fn versions(mut self, count: usize) -> Self {
        self.version_count = count;
        self
    }

    /// Sets the ids of the variants the saved versions are spread over, in turn starting
    /// with the first (default: two ids derived from the key). At least one is needed.
    pub fn variants<I>(mut self, ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.variant_ids = Some(ids.into_iter().map(Into::into).collect());
        self
    }

    /// How many saved versions the deployment has (see [`Deployment::versions`]).
    pub fn version_count(&self) -> usize {
        self.version_count
    }

    /// The ids of the variants its saved versions belong to: the ones set with
    /// [`Deployment::variants`], else two ULID-shaped ids derived from the key.
    pub fn variant_ids(&self) -> Vec<String> {
        self.variant_ids.clone().unwrap_or_else(|| {
            (0..2).map(|index| util::derived_ulid(BASE_CREATED_MILLIS, &self.key, "variant", index)).collect()
        })
    }

    /// The deployment key used in requests.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The deployment id, once assigned (always set on deployments returned by a running mock).
    pub fn assigned_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The `created` timestamp, once assigned (always set on deployments returned by a running mock).
    pub fn created_at(&self) -> Option<&str> {
        self.created.as_deref()
    }

    /// The provider, e.g. `openai`.
    pub fn provider(&self) -> &str {
        &self.prompt_config.provider
    }

    /// The model name, e.g. `gpt-4o`.
    pub fn model_name(&self) -> &str {
        &self.prompt_config.model
    }

    /// The model type, e.g. `chat`.
    pub fn model_type(&self) -> &str {
        &self.prompt_config.model_type
    }

    /// The deployment as JSON in the list-item wire shape.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("deployment serializes")
    }

    /// Parses deployments from JSON: either an array of list items or a whole list
    /// response `{"object":"list","data":[...]}`.
    pub fn list_from_json(json: &str) -> Result<Vec<Deployment>, Error> {
        let value: Value = serde_json::from_str(json)?;
        let items = match value {
            Value::Object(mut map) if map.contains_key("data") => map.remove("data").unwrap_or(Value::Null),
            other => other,
        };
        Ok(serde_json::from_value(items)?)
    }

    /// Reads deployments from a JSON file (see [`Deployment::list_from_json`]).
    pub fn list_from_file(path: impl AsRef<Path>) -> Result<Vec<Deployment>, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|source| Error::ReadFile { path: path.to_owned(), source })?;
        Self::list_from_json(&text)
    }

    /// The three built-in sample deployments served when none are configured, each with
    /// [`DEFAULT_VERSION_COUNT`] saved versions over two variants:
    ///
    /// * `support-bot` — chat, OpenAI `gpt-4o`, system prompt with a `{{name}}` variable and a
    ///   `get_order_status` tool;
    /// * `summarizer` — completion, OpenAI `gpt-3.5-turbo-instruct`, user prompt with `{{text}}`;
    /// * `translator` — chat, Anthropic `claude-3-5-sonnet-20241022`, system prompt with
    ///   `{{source_language}}` and `{{target_language}}`.
    pub fn samples() -> Vec<Deployment> {
        vec![
            Deployment::chat("support-bot")
                .description("Customer support assistant")
                .model("openai", "gpt-4o")
                .parameter("temperature", 0.7)
                .parameter("maxTokens", 512)
                .system("You are a friendly support agent. Address the customer as {{name}}.")
                .tool(
                    "get_order_status",
                    "Look up the status of an order",
                    json!({
                        "type": "object",
                        "properties": {
                            "order_id": {"type": "string", "description": "The order number"}
                        },
                        "required": ["order_id"],
                        "additionalProperties": false
                    }),
                ),
            Deployment::completion("summarizer")
                .description("Summarizes a text in one paragraph")
                .parameter("temperature", 0.2)
                .parameter("maxTokens", 256)
                .user("Summarize the following text in one paragraph: {{text}}"),
            Deployment::chat("translator")
                .description("Translates between two languages")
                .model("anthropic", "claude-3-5-sonnet-20241022")
                .parameter("temperature", 0.3)
                .parameter("maxTokens", 1024)
                .parameter("topP", 0.9)
                .system("Translate the user's message from {{source_language}} to {{target_language}}."),
        ]
    }

    pub(crate) fn config(&self) -> &PromptConfig {
        &self.prompt_config
    }

    pub(crate) fn id_or_empty(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }

    pub(crate) fn created_or_empty(&self) -> &str {
        self.created.as_deref().unwrap_or_default()
    }

    pub(crate) fn version_str(&self) -> &str {
        &self.version
    }

    /// Checks the deployment against the wire contract.
    fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: String| Error::InvalidDeployment { key: self.key.clone(), reason };
        if self.key.is_empty() {
            return Err(invalid("the key is empty".into()));
        }
        let pc = &self.prompt_config;
        if !PROVIDERS.contains(&pc.provider.as_str()) {
            return Err(invalid(format!("unknown provider `{}`", pc.provider)));
        }
        if !MODEL_TYPES.contains(&pc.model_type.as_str()) {
            return Err(invalid(format!("unknown model_type `{}`", pc.model_type)));
        }
        for message in &pc.messages {
            if !PROMPT_ROLES.contains(&message.role.as_str()) {
                return Err(invalid(format!("unknown message role `{}`", message.role)));
            }
            match &message.content {
                Value::String(_) => {}
                Value::Array(parts) => {
                    for part in parts {
                        let ok = match part.get("type").and_then(Value::as_str) {
                            Some("text") => part.get("text").is_some_and(Value::is_string),
                            Some("image_url") => {
                                part.get("image_url").and_then(|i| i.get("url")).is_some_and(Value::is_string)
                            }
                            _ => false,
                        };
                        if !ok {
                            return Err(invalid(format!("invalid content part {part}")));
                        }
                    }
                }
                _ => return Err(invalid("message content must be a string or an array".into())),
            }
        }
        if let Some(variants) = &self.variant_ids {
            if variants.is_empty() {
                return Err(invalid("it needs at least one variant id".into()));
            }
            for (i, variant) in variants.iter().enumerate() {
                if variant.is_empty() || variants[..i].contains(variant) {
                    return Err(invalid(format!(
                        "variant ids must be distinct and not empty, got {variants:?}"
                    )));
                }
            }
        }
        for tool in &pc.tools {
            let function = tool.get("function");
            let ok = tool.get("type").and_then(Value::as_str) == Some("function")
                && function.and_then(|f| f.get("name")).is_some_and(Value::is_string)
                && function.and_then(|f| f.get("parameters")).is_some_and(Value::is_object);
            if !ok {
                return Err(invalid(format!(
                    "tools must look like {{\"type\":\"function\",\"function\":{{\"name\",\"parameters\"}}}}, got {tool}"
                )));
            }
        }
        Ok(())
    }
}

/// Validates a set of deployments and fills in missing ids and timestamps.
pub(crate) fn normalize(deployments: &mut [Deployment]) -> Result<(), Error> {
    let count = deployments.len() as u64;
    for (index, deployment) in deployments.iter_mut().enumerate() {
        deployment.validate()?;
        if deployment.id.is_none() {
            deployment.id = Some(util::uuid_from(&deployment.key));
        }
        if deployment.created.is_none() {
            let offset = (count - 1 - index as u64) * HOUR_MILLIS;
            deployment.created = Some(util::rfc3339_millis(BASE_CREATED_MILLIS + offset));
        }
        if deployment.updated.is_none() {
            deployment.updated = deployment.created.clone();
        }
    }
    for (i, a) in deployments.iter().enumerate() {
        for b in &deployments[..i] {
            if a.key == b.key {
                return Err(Error::Duplicate(format!("key `{}`", a.key)));
            }
            if a.id == b.id {
                return Err(Error::Duplicate(format!("id `{}`", a.id_or_empty())));
            }
        }
    }
    Ok(())
}

/// Sorts deployments newest first (by `created`, compared as text; ties keep their order).
pub(crate) fn sort_newest_first(deployments: &mut [Deployment]) {
    deployments.sort_by(|a, b| b.created_or_empty().cmp(a.created_or_empty()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_valid_and_distinct() {
        let mut samples = Deployment::samples();
        normalize(&mut samples).unwrap();
        let created: Vec<_> = samples.iter().map(|d| d.created_or_empty()).collect();
        assert!(created.windows(2).all(|w| w[0] > w[1]), "{created:?}");
    }

    #[test]
    fn round_trips_through_json() {
        let mut samples = Deployment::samples();
        normalize(&mut samples).unwrap();
        let json = serde_json::to_string(&samples).unwrap();
        assert_eq!(Deployment::list_from_json(&json).unwrap(), samples);
        let wrapped = json!({"object": "list", "data": samples, "has_more": false}).to_string();
        assert_eq!(Deployment::list_from_json(&wrapped).unwrap(), samples);
    }

    #[test]
    fn accepts_the_newest_providers_and_model_types() {
        let mut newest: Vec<Deployment> =
            ["inception", "meta", "greenpt", "liquid", "typesafe", "berget", "cloudflare"]
                .into_iter()
                .map(|provider| Deployment::chat(format!("on-{provider}")).model(provider, "some-model"))
                .chain([Deployment::new("classifier", "classify")])
                .collect();
        normalize(&mut newest).unwrap();
    }

    #[test]
    fn rejects_unknown_provider_and_duplicates() {
        let mut bad = vec![Deployment::chat("x").model("acme", "m")];
        assert!(matches!(normalize(&mut bad), Err(Error::InvalidDeployment { .. })));
        let mut dup = vec![Deployment::chat("x"), Deployment::chat("x")];
        assert!(matches!(normalize(&mut dup), Err(Error::Duplicate(_))));
    }
}
