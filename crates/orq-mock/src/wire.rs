//! Request validation and response construction for the deployment endpoints.
//!
//! Everything here is plain `serde_json`: the mock deliberately does not share types with
//! the SDK so that it checks the SDK's wire format independently.

use serde_json::{Map, Value, json};

use crate::deployment::Deployment;
use crate::util;

/// An error answered over HTTP as `{"message": ..., "code": ...}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, code: code.to_owned(), message: message.into() }
    }

    /// `400 invalid_request`.
    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", message)
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::invalid_request(message)
    }

    pub(crate) fn body(&self) -> Value {
        json!({"message": self.message, "code": self.code})
    }
}

/// A validated body of `get_config`, `invoke` or `stream`.
#[derive(Debug, Clone)]
pub(crate) struct DeploymentRequest {
    pub(crate) key: String,
    pub(crate) inputs: Map<String, Value>,
    pub(crate) prefix_messages: Vec<Value>,
    pub(crate) messages: Vec<Value>,
    pub(crate) documents: Vec<Value>,
    pub(crate) include_retrievals: bool,
    /// `invoke_options.include_usage`: answer with token counts.
    pub(crate) include_usage: bool,
    /// `invoke_options.mock_response`: answer with this text instead of the fake model's.
    pub(crate) mock_response: Option<String>,
    /// Who the request is for, as sent (validated).
    // Kept for inspection (tests); the fake's answer depends on none of these three.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) identity: Option<Value>,
    /// The conversation the request belongs to, as sent (validated).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) thread: Option<Value>,
    /// The knowledge filter, as sent (validated).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) knowledge_filter: Option<Value>,
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expect<'a>(
    value: &'a Value,
    path: &str,
    what: &str,
    ok: impl Fn(&'a Value) -> bool,
) -> Result<&'a Value, ApiError> {
    if ok(value) {
        Ok(value)
    } else {
        Err(ApiError::invalid(format!("`{path}` must be {what}, got {}", type_name(value))))
    }
}

/// Returns the field unless it is absent or `null`.
fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|v| !v.is_null())
}

fn required<'a>(object: &'a Map<String, Value>, name: &str, path: &str) -> Result<&'a Value, ApiError> {
    field(object, name).ok_or_else(|| ApiError::invalid(format!("missing required field `{path}.{name}`")))
}

fn string_enum(value: &Value, path: &str, allowed: &[&str]) -> Result<(), ApiError> {
    let s = expect(value, path, "a string", Value::is_string)?;
    let s = s.as_str().unwrap_or_default();
    if allowed.contains(&s) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!("`{path}` must be one of {allowed:?}, got {s:?}")))
    }
}

/// Parses and validates a request body. Unknown fields are ignored; `null` counts as absent.
pub(crate) fn parse_request(body: &[u8]) -> Result<DeploymentRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(400, "invalid_json", "the request body is empty; expected a JSON object"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(400, "invalid_json", format!("the request body is not valid JSON: {e}"))
    })?;
    let Value::Object(object) = value else {
        return Err(ApiError::invalid(format!(
            "the request body must be a JSON object, got {}",
            type_name(&value)
        )));
    };
    let key = field(&object, "key").ok_or_else(|| ApiError::invalid("missing required field `key`"))?;
    let key = expect(key, "key", "a string", Value::is_string)?.as_str().unwrap_or_default().to_owned();
    if let Some(stream) = field(&object, "stream") {
        expect(stream, "stream", "a boolean", Value::is_boolean)?;
    }
    let mut inputs = Map::new();
    if let Some(value) = field(&object, "inputs") {
        let map = expect(value, "inputs", "an object", Value::is_object)?;
        for (name, input) in map.as_object().into_iter().flatten() {
            expect(input, &format!("inputs.{name}"), "a string, a number or a boolean", |v| {
                v.is_string() || v.is_number() || v.is_boolean()
            })?;
            inputs.insert(name.clone(), input.clone());
        }
    }
    for name in ["context", "metadata", "extra_params"] {
        if let Some(value) = field(&object, name) {
            expect(value, name, "an object", Value::is_object)?;
        }
    }
    let prefix_messages = message_list(&object, "prefix_messages")?;
    let messages = message_list(&object, "messages")?;
    if let Some(value) = field(&object, "file_ids") {
        let ids = expect(value, "file_ids", "an array", Value::is_array)?;
        for (i, id) in ids.as_array().into_iter().flatten().enumerate() {
            expect(id, &format!("file_ids[{i}]"), "a string", Value::is_string)?;
        }
    }
    let mut documents = Vec::new();
    if let Some(value) = field(&object, "documents") {
        let list = expect(value, "documents", "an array", Value::is_array)?;
        for (i, doc) in list.as_array().into_iter().flatten().enumerate() {
            let path = format!("documents[{i}]");
            let map = expect(doc, &path, "an object", Value::is_object)?.as_object().expect("checked");
            expect(required(map, "text", &path)?, &format!("{path}.text"), "a string", Value::is_string)?;
            if let Some(meta) = field(map, "metadata") {
                let meta_path = format!("{path}.metadata");
                let meta =
                    expect(meta, &meta_path, "an object", Value::is_object)?.as_object().expect("checked");
                for name in ["file_name", "file_type"] {
                    if let Some(v) = field(meta, name) {
                        expect(v, &format!("{meta_path}.{name}"), "a string", Value::is_string)?;
                    }
                }
                if let Some(v) = field(meta, "page_number") {
                    expect(v, &format!("{meta_path}.page_number"), "a number", Value::is_number)?;
                }
            }
            documents.push(doc.clone());
        }
    }
    let (mut include_retrievals, mut include_usage, mut mock_response) = (false, false, None);
    if let Some(options) = field(&object, "invoke_options") {
        let options =
            expect(options, "invoke_options", "an object", Value::is_object)?.as_object().expect("checked");
        let flag = |name: &str| -> Result<bool, ApiError> {
            match field(options, name) {
                Some(v) => Ok(expect(v, &format!("invoke_options.{name}"), "a boolean", Value::is_boolean)?
                    .as_bool()
                    .unwrap_or_default()),
                None => Ok(false),
            }
        };
        include_retrievals = flag("include_retrievals")?;
        include_usage = flag("include_usage")?;
        if let Some(v) = field(options, "mock_response") {
            let text = expect(v, "invoke_options.mock_response", "a string", Value::is_string)?;
            mock_response = text.as_str().map(str::to_owned);
        }
    }
    let identity =
        field(&object, "identity").map(|v| validate_identity(v).map(|()| v.clone())).transpose()?;
    let thread = field(&object, "thread").map(|v| validate_thread(v).map(|()| v.clone())).transpose()?;
    let knowledge_filter =
        field(&object, "knowledge_filter").map(|v| validate_filter(v).map(|()| v.clone())).transpose()?;
    Ok(DeploymentRequest {
        key,
        inputs,
        prefix_messages,
        messages,
        documents,
        include_retrievals,
        include_usage,
        mock_response,
        identity,
        thread,
        knowledge_filter,
    })
}

/// An array of strings at `path`, when present.
fn string_list(map: &Map<String, Value>, name: &str, path: &str) -> Result<(), ApiError> {
    if let Some(list) = field(map, name) {
        let list_path = format!("{path}.{name}");
        let list = expect(list, &list_path, "an array of strings", Value::is_array)?;
        for (i, item) in list.as_array().into_iter().flatten().enumerate() {
            expect(item, &format!("{list_path}[{i}]"), "a string", Value::is_string)?;
        }
    }
    Ok(())
}

/// `identity`: `id` required; `display_name`, `email`, `logo_url` strings; `metadata`
/// an array of objects; `tags` an array of strings.
fn validate_identity(identity: &Value) -> Result<(), ApiError> {
    let map = expect(identity, "identity", "an object", Value::is_object)?.as_object().expect("checked");
    expect(required(map, "id", "identity")?, "identity.id", "a string", Value::is_string)?;
    for name in ["display_name", "email", "logo_url"] {
        if let Some(v) = field(map, name) {
            expect(v, &format!("identity.{name}"), "a string", Value::is_string)?;
        }
    }
    if let Some(metadata) = field(map, "metadata") {
        let list = expect(metadata, "identity.metadata", "an array of objects", Value::is_array)?;
        for (i, item) in list.as_array().into_iter().flatten().enumerate() {
            expect(item, &format!("identity.metadata[{i}]"), "an object", Value::is_object)?;
        }
    }
    string_list(map, "tags", "identity")
}

/// `thread`: `id` required; `tags` an array of strings.
fn validate_thread(thread: &Value) -> Result<(), ApiError> {
    let map = expect(thread, "thread", "an object", Value::is_object)?.as_object().expect("checked");
    expect(required(map, "id", "thread")?, "thread.id", "a string", Value::is_string)?;
    string_list(map, "tags", "thread")
}

/// The operators of a knowledge filter's field condition.
const FILTER_OPERATORS: [&str; 9] = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "exists"];

/// `knowledge_filter`: a map of field conditions, or `{"and": [maps]}`, or
/// `{"or": [maps]}`; never a mix, `and`/`or` not empty. Each field condition is
/// an object with exactly one operator and an operand of its type.
fn validate_filter(filter: &Value) -> Result<(), ApiError> {
    let map =
        expect(filter, "knowledge_filter", "an object", Value::is_object)?.as_object().expect("checked");
    let logical: Vec<&str> = ["and", "or"].into_iter().filter(|op| map.contains_key(*op)).collect();
    match logical.as_slice() {
        [] => validate_field_conditions(map, "knowledge_filter"),
        [operator] if map.len() == 1 => {
            let path = format!("knowledge_filter.{operator}");
            let list = expect(&map[*operator], &path, "an array of objects", Value::is_array)?
                .as_array()
                .expect("checked");
            if list.is_empty() {
                return Err(ApiError::invalid(format!("`{path}` must not be empty")));
            }
            for (i, item) in list.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                let conditions = expect(item, &item_path, "an object", Value::is_object)?;
                validate_field_conditions(conditions.as_object().expect("checked"), &item_path)?;
            }
            Ok(())
        }
        _ => Err(ApiError::invalid(
            "`knowledge_filter` must be field conditions, or `and`, or `or`: not a mix of them",
        )),
    }
}

fn validate_field_conditions(map: &Map<String, Value>, path: &str) -> Result<(), ApiError> {
    if map.is_empty() {
        return Err(ApiError::invalid(format!("`{path}` has no conditions")));
    }
    let scalar = |v: &Value| v.is_string() || v.is_number() || v.is_boolean();
    for (name, condition) in map {
        let path = format!("{path}.{name}");
        let operators =
            expect(condition, &path, "an object", Value::is_object)?.as_object().expect("checked");
        let (operator, operand) = match operators.iter().next() {
            Some((operator, operand)) if operators.len() == 1 => (operator.as_str(), operand),
            _ => {
                return Err(ApiError::invalid(format!(
                    "`{path}` must have exactly one operator of {FILTER_OPERATORS:?}, got {}",
                    operators.len()
                )));
            }
        };
        let operand_path = format!("{path}.{operator}");
        match operator {
            "eq" | "ne" => {
                expect(operand, &operand_path, "a string, a number or a boolean", scalar)?;
            }
            "gt" | "gte" | "lt" | "lte" => {
                expect(operand, &operand_path, "a number", Value::is_number)?;
            }
            "in" | "nin" => {
                let values = expect(operand, &operand_path, "an array", Value::is_array)?;
                for (i, value) in values.as_array().into_iter().flatten().enumerate() {
                    expect(
                        value,
                        &format!("{operand_path}[{i}]"),
                        "a string, a number or a boolean",
                        scalar,
                    )?;
                }
            }
            "exists" => {
                expect(operand, &operand_path, "a boolean", Value::is_boolean)?;
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "`{path}` has the unknown operator {other:?}; expected one of {FILTER_OPERATORS:?}"
                )));
            }
        }
    }
    Ok(())
}

fn message_list(object: &Map<String, Value>, name: &str) -> Result<Vec<Value>, ApiError> {
    let Some(value) = field(object, name) else {
        return Ok(Vec::new());
    };
    let list = expect(value, name, "an array", Value::is_array)?.as_array().expect("checked");
    for (i, message) in list.iter().enumerate() {
        validate_message(message, &format!("{name}[{i}]"))?;
    }
    Ok(list.clone())
}

fn validate_message(message: &Value, path: &str) -> Result<(), ApiError> {
    let map = expect(message, path, "an object", Value::is_object)?.as_object().expect("checked");
    let role = required(map, "role", path)?;
    string_enum(role, &format!("{path}.role"), &["developer", "system", "user", "assistant", "tool"])?;
    if let Some(name) = field(map, "name") {
        expect(name, &format!("{path}.name"), "a string", Value::is_string)?;
    }
    validate_cache_control(map, path)?;
    let content_path = format!("{path}.content");
    match role.as_str().unwrap_or_default() {
        "developer" | "system" => {
            let content = expect(
                required(map, "content", path)?,
                &content_path,
                "a string or an array of text parts",
                |v| v.is_string() || v.is_array(),
            )?;
            for (i, part) in content.as_array().into_iter().flatten().enumerate() {
                validate_text_part(part, &format!("{content_path}[{i}]"))?;
            }
        }
        "user" => {
            let content = expect(
                required(map, "content", path)?,
                &content_path,
                "a string or an array of content parts",
                |v| v.is_string() || v.is_array(),
            )?;
            for (i, part) in content.as_array().into_iter().flatten().enumerate() {
                validate_user_part(part, &format!("{content_path}[{i}]"))?;
            }
        }
        "assistant" => {
            if let Some(content) = field(map, "content") {
                let content =
                    expect(content, &content_path, "a string, null or an array of content parts", |v| {
                        v.is_string() || v.is_array()
                    })?;
                for (i, part) in content.as_array().into_iter().flatten().enumerate() {
                    let part_path = format!("{content_path}[{i}]");
                    let part_map = expect(part, &part_path, "an object", Value::is_object)?
                        .as_object()
                        .expect("checked");
                    let kind = required(part_map, "type", &part_path)?;
                    string_enum(
                        kind,
                        &format!("{part_path}.type"),
                        &["text", "refusal", "reasoning", "redacted_reasoning"],
                    )?;
                    validate_cache_control(part_map, &part_path)?;
                    let text_field = match kind.as_str().unwrap_or_default() {
                        "redacted_reasoning" => "data",
                        other => other,
                    };
                    expect(
                        required(part_map, text_field, &part_path)?,
                        &format!("{part_path}.{text_field}"),
                        "a string",
                        Value::is_string,
                    )?;
                    if let Some(signature) = field(part_map, "signature") {
                        expect(signature, &format!("{part_path}.signature"), "a string", Value::is_string)?;
                    }
                }
            }
            for name in ["refusal", "reasoning_content"] {
                if let Some(text) = field(map, name) {
                    expect(text, &format!("{path}.{name}"), "a string", Value::is_string)?;
                }
            }
            if let Some(audio) = field(map, "audio") {
                let audio_path = format!("{path}.audio");
                let audio =
                    expect(audio, &audio_path, "an object", Value::is_object)?.as_object().expect("checked");
                expect(
                    required(audio, "id", &audio_path)?,
                    &format!("{audio_path}.id"),
                    "a string",
                    Value::is_string,
                )?;
            }
            if let Some(calls) = field(map, "tool_calls") {
                let calls_path = format!("{path}.tool_calls");
                let calls = expect(calls, &calls_path, "an array", Value::is_array)?;
                for (i, call) in calls.as_array().into_iter().flatten().enumerate() {
                    validate_tool_call(call, &format!("{calls_path}[{i}]"))?;
                }
            }
        }
        "tool" => {
            let content = expect(
                required(map, "content", path)?,
                &content_path,
                "a string or an array of strings and text parts",
                |v| v.is_string() || v.is_array(),
            )?;
            for (i, part) in content.as_array().into_iter().flatten().enumerate() {
                if !part.is_string() {
                    validate_text_part(part, &format!("{content_path}[{i}]"))?;
                }
            }
            expect(
                required(map, "tool_call_id", path)?,
                &format!("{path}.tool_call_id"),
                "a string",
                Value::is_string,
            )?;
        }
        _ => unreachable!("role checked above"),
    }
    Ok(())
}

/// `cache_control`, where present: an object with a string `type` and optional string `ttl`.
fn validate_cache_control(map: &Map<String, Value>, path: &str) -> Result<(), ApiError> {
    let Some(cache) = field(map, "cache_control") else {
        return Ok(());
    };
    let cache_path = format!("{path}.cache_control");
    let cache = expect(cache, &cache_path, "an object", Value::is_object)?.as_object().expect("checked");
    expect(
        required(cache, "type", &cache_path)?,
        &format!("{cache_path}.type"),
        "a string",
        Value::is_string,
    )?;
    if let Some(ttl) = field(cache, "ttl") {
        expect(ttl, &format!("{cache_path}.ttl"), "a string", Value::is_string)?;
    }
    Ok(())
}

/// A `{"type": "text", "text": ...}` part (system, developer and tool messages).
fn validate_text_part(part: &Value, path: &str) -> Result<(), ApiError> {
    let map = expect(part, path, "an object", Value::is_object)?.as_object().expect("checked");
    string_enum(required(map, "type", path)?, &format!("{path}.type"), &["text"])?;
    validate_cache_control(map, path)?;
    expect(required(map, "text", path)?, &format!("{path}.text"), "a string", Value::is_string)?;
    Ok(())
}

/// Where a file content part's data comes from: exactly one of them is required.
const FILE_SOURCES: [&str; 3] = ["file_data", "file_id", "uri"];

fn validate_user_part(part: &Value, path: &str) -> Result<(), ApiError> {
    let map = expect(part, path, "an object", Value::is_object)?.as_object().expect("checked");
    let kind = required(map, "type", path)?;
    string_enum(kind, &format!("{path}.type"), &["text", "image_url", "input_audio", "file"])?;
    validate_cache_control(map, path)?;
    match kind.as_str().unwrap_or_default() {
        "text" => {
            expect(required(map, "text", path)?, &format!("{path}.text"), "a string", Value::is_string)?;
        }
        "file" => {
            let inner_path = format!("{path}.file");
            let inner = expect(required(map, "file", path)?, &inner_path, "an object", Value::is_object)?
                .as_object()
                .expect("checked");
            for name in ["file_data", "file_id", "uri", "mimeType", "filename"] {
                if let Some(v) = field(inner, name) {
                    expect(v, &format!("{inner_path}.{name}"), "a string", Value::is_string)?;
                }
            }
            let sources: Vec<&str> =
                FILE_SOURCES.into_iter().filter(|name| field(inner, name).is_some()).collect();
            if sources.len() != 1 {
                return Err(ApiError::invalid(format!(
                    "`{inner_path}` must have exactly one of {FILE_SOURCES:?}, got {sources:?}"
                )));
            }
        }
        "image_url" => {
            let inner_path = format!("{path}.image_url");
            let inner =
                expect(required(map, "image_url", path)?, &inner_path, "an object", Value::is_object)?
                    .as_object()
                    .expect("checked");
            expect(
                required(inner, "url", &inner_path)?,
                &format!("{inner_path}.url"),
                "a string",
                Value::is_string,
            )?;
            if let Some(detail) = field(inner, "detail") {
                string_enum(detail, &format!("{inner_path}.detail"), &["low", "high", "auto"])?;
            }
        }
        _ => {
            let inner_path = format!("{path}.input_audio");
            let inner =
                expect(required(map, "input_audio", path)?, &inner_path, "an object", Value::is_object)?
                    .as_object()
                    .expect("checked");
            expect(
                required(inner, "data", &inner_path)?,
                &format!("{inner_path}.data"),
                "a string",
                Value::is_string,
            )?;
            string_enum(
                required(inner, "format", &inner_path)?,
                &format!("{inner_path}.format"),
                &["mp3", "wav"],
            )?;
        }
    }
    Ok(())
}

fn validate_tool_call(call: &Value, path: &str) -> Result<(), ApiError> {
    let map = expect(call, path, "an object", Value::is_object)?.as_object().expect("checked");
    expect(required(map, "id", path)?, &format!("{path}.id"), "a string", Value::is_string)?;
    string_enum(required(map, "type", path)?, &format!("{path}.type"), &["function"])?;
    let function_path = format!("{path}.function");
    let function = expect(required(map, "function", path)?, &function_path, "an object", Value::is_object)?
        .as_object()
        .expect("checked");
    for name in ["name", "arguments"] {
        if let Some(v) = field(function, name) {
            expect(v, &format!("{function_path}.{name}"), "a string", Value::is_string)?;
        }
    }
    if let Some(signature) = field(map, "thought_signature") {
        expect(signature, &format!("{path}.thought_signature"), "a string", Value::is_string)?;
    }
    // `extra_content.google.thought_signature`: provider-specific data, only Google's for now.
    if let Some(extra) = field(map, "extra_content") {
        let extra_path = format!("{path}.extra_content");
        let extra = expect(extra, &extra_path, "an object", Value::is_object)?.as_object().expect("checked");
        if let Some(google) = field(extra, "google") {
            let google_path = format!("{extra_path}.google");
            let google =
                expect(google, &google_path, "an object", Value::is_object)?.as_object().expect("checked");
            if let Some(signature) = field(google, "thought_signature") {
                expect(signature, &format!("{google_path}.thought_signature"), "a string", Value::is_string)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Templating and message conversion
// ---------------------------------------------------------------------------------------

/// Replaces `{{name}}` (and `{{ name }}`) placeholders with values from `inputs`.
/// Strings are inserted as is, numbers and booleans as their JSON text; unknown
/// placeholders are left untouched.
pub(crate) fn substitute(template: &str, inputs: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        match inputs.get(name) {
            Some(Value::String(s)) => out.push_str(s),
            Some(other) => out.push_str(&other.to_string()),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The names of the `{{name}}` placeholders in `template`, in order, as [`substitute`]
/// reads them (duplicates included).
pub(crate) fn placeholder_names(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        names.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    names
}

fn substitute_content(content: &Value, inputs: &Map<String, Value>) -> Value {
    match content {
        Value::String(s) => Value::String(substitute(s, inputs)),
        Value::Array(parts) => Value::Array(
            parts
                .iter()
                .map(|part| {
                    let mut part = part.clone();
                    if let Some(Value::String(text)) = part.get_mut("text") {
                        *text = substitute(text, inputs);
                    }
                    part
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Converts a request message into the response (`get_config`) message shape.
///
/// * `developer` becomes `system` (the response role enum has no `developer`);
/// * `input_audio` parts become text parts `"[input_audio <format>]"` and assistant
///   `refusal` parts become text parts (the response part enum has text, image_url and
///   file); assistant reasoning parts are dropped; `cache_control` is dropped;
/// * a missing/`null` assistant content becomes `""`; a tool message's array of strings
///   becomes text parts; `name` and `tool_call_id` are dropped.
fn to_config_message(message: &Value) -> Value {
    let role = message["role"].as_str().unwrap_or_default();
    let content = &message["content"];
    let converted = match content {
        Value::String(s) => Value::String(s.clone()),
        Value::Array(parts) => Value::Array(
            parts
                .iter()
                // Reasoning is not content: a prompt has no place for it.
                .filter(|part| !matches!(part["type"].as_str(), Some("reasoning" | "redacted_reasoning")))
                .map(|part| match part {
                    Value::String(s) => json!({"type": "text", "text": s}),
                    _ => match part["type"].as_str().unwrap_or_default() {
                        "text" => json!({"type": "text", "text": part["text"]}),
                        "refusal" => json!({"type": "text", "text": part["refusal"]}),
                        "file" => json!({"type": "file", "file": part["file"]}),
                        "image_url" => {
                            let mut image = json!({"url": part["image_url"]["url"]});
                            if let Some(detail) = part["image_url"].get("detail") {
                                image["detail"] = detail.clone();
                            }
                            json!({"type": "image_url", "image_url": image})
                        }
                        _ => json!({
                            "type": "text",
                            "text": format!(
                                "[input_audio {}]",
                                part["input_audio"]["format"].as_str().unwrap_or_default()
                            ),
                        }),
                    },
                })
                .collect(),
        ),
        _ => Value::String(String::new()),
    };
    let role = if role == "developer" { "system" } else { role };
    let mut out = json!({"role": role, "content": converted});
    if let Some(Value::Array(calls)) = message.get("tool_calls") {
        out["tool_calls"] = Value::Array(
            calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call["id"],
                        "type": "function",
                        "function": {
                            "name": call["function"]["name"].as_str().unwrap_or_default(),
                            "arguments": call["function"]["arguments"].as_str().unwrap_or_default(),
                        }
                    })
                })
                .collect(),
        );
    }
    out
}

/// The message list of a `get_config` answer: the deployment's system messages, then
/// `prefix_messages`, then the remaining prompt messages, then the request's `messages`.
pub(crate) fn rendered_messages(deployment: &Deployment, request: &DeploymentRequest) -> Vec<Value> {
    let prompt: Vec<Value> = deployment
        .config()
        .messages
        .iter()
        .map(|m| {
            let mut out = json!({
                "role": m.role,
                "content": substitute_content(&m.content, &request.inputs),
            });
            if let Some(calls) = &m.tool_calls {
                out["tool_calls"] = Value::Array(calls.clone());
            }
            out
        })
        .collect();
    let (system, rest): (Vec<Value>, Vec<Value>) = prompt.into_iter().partition(|m| m["role"] == "system");
    system
        .into_iter()
        .chain(request.prefix_messages.iter().map(to_config_message))
        .chain(rest)
        .chain(request.messages.iter().map(to_config_message))
        .collect()
}

/// Plain text of a response-shaped message content (image parts become `[image]`).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|part| match part["type"].as_str() {
                Some("image_url") => "[image]".to_owned(),
                _ => part["text"].as_str().unwrap_or_default().to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

fn tools_of(deployment: &Deployment) -> Vec<Value> {
    deployment
        .config()
        .tools
        .iter()
        .map(|tool| {
            let function = &tool["function"];
            let mut out = json!({
                "type": "function",
                "function": {"name": function["name"], "parameters": function["parameters"]},
            });
            if let Some(description) = function.get("description") {
                out["function"]["description"] = description.clone();
            }
            out
        })
        .collect()
}

/// The body of `POST /v2/deployments/get_config`.
pub(crate) fn get_config_body(deployment: &Deployment, request: &DeploymentRequest) -> Value {
    let config = deployment.config();
    json!({
        "id": deployment.id_or_empty(),
        "provider": config.provider,
        "model": config.model,
        "type": config.model_type,
        "version": deployment.version_str(),
        "messages": rendered_messages(deployment, request),
        "parameters": config.model_parameters,
        "tools": tools_of(deployment),
    })
}

// ---------------------------------------------------------------------------------------
// Completions
// ---------------------------------------------------------------------------------------

/// What the fake model answers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Completion {
    /// A text answer (`type: "content"`).
    Text(String),
    /// A single function call (`type: "tool_calls"`).
    ToolCall { id: String, name: String, arguments: String },
    /// A generated image (`type: "image"`), for `image` deployments.
    Image { url: String },
}

/// Computes the deterministic answer for a request.
pub(crate) fn complete(deployment: &Deployment, request: &DeploymentRequest) -> Completion {
    if let Some(text) = &request.mock_response {
        return Completion::Text(text.clone());
    }
    let messages = rendered_messages(deployment, request);
    let config = deployment.config();
    let last_user = messages.iter().rev().find(|m| m["role"] == "user");
    let user_text = last_user.map(|m| content_text(&m["content"]));

    if config.model_type == "image" {
        let prompt = user_text.unwrap_or_default();
        let hash = util::fnv1a(prompt.as_bytes(), util::fnv1a(deployment.key().as_bytes(), 0));
        return Completion::Image { url: format!("https://mock.orq.invalid/images/{hash:016x}.png") };
    }

    if let Some(last) = messages.last().filter(|m| m["role"] == "user") {
        let text = content_text(&last["content"]);
        if let Some(call) = tool_call_for(deployment, &text) {
            return call;
        }
    }

    let mut answer = format!("Mock reply from {} ({}/{}).", deployment.key(), config.provider, config.model);
    let system: Vec<String> = messages
        .iter()
        .filter(|m| m["role"] == "system")
        .map(|m| content_text(&m["content"]))
        .filter(|s| !s.is_empty())
        .collect();
    if !system.is_empty() {
        answer.push_str(&format!(" Instructions: \"{}\"", system.join(" ")));
    }
    let last_turn = messages.iter().rev().find(|m| m["role"] == "user" || m["role"] == "tool");
    match last_turn {
        Some(m) if m["role"] == "tool" => {
            answer.push_str(&format!(" Tool result: \"{}\"", content_text(&m["content"])));
        }
        Some(m) => answer.push_str(&format!(" You said: \"{}\"", content_text(&m["content"]))),
        None => answer.push_str(" You said nothing."),
    }
    Completion::Text(answer)
}

/// A tool call when the user's text mentions one of the deployment's tools by name.
/// Required string arguments get the text following the tool's name (or the whole text),
/// numbers the first number found there (or 0), booleans `false`, anything else `null`.
fn tool_call_for(deployment: &Deployment, text: &str) -> Option<Completion> {
    deployment.config().tools.iter().find_map(|tool| {
        let function = &tool["function"];
        let name = function["name"].as_str()?;
        let position = text.find(name)?;
        let rest = text[position + name.len()..]
            .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation());
        let rest = if rest.is_empty() { text } else { rest };
        let mut arguments = Map::new();
        for required in
            function["parameters"]["required"].as_array().into_iter().flatten().filter_map(Value::as_str)
        {
            let kind = function["parameters"]["properties"][required]["type"].as_str();
            let value = match kind {
                Some("string") => Value::String(rest.to_owned()),
                Some("integer") | Some("number") => {
                    let digits: String = rest
                        .chars()
                        .skip_while(|c| !c.is_ascii_digit())
                        .take_while(char::is_ascii_digit)
                        .collect();
                    json!(digits.parse::<u64>().unwrap_or(0))
                }
                Some("boolean") => Value::Bool(false),
                _ => Value::Null,
            };
            arguments.insert(required.to_owned(), value);
        }
        let hash = util::fnv1a(text.as_bytes(), util::fnv1a(name.as_bytes(), 7));
        Some(Completion::ToolCall {
            id: format!("call_{hash:016x}"),
            name: name.to_owned(),
            arguments: Value::Object(arguments).to_string(),
        })
    })
}

/// Retrieval results for the request's documents, best match first.
///
/// `search_score` is the fraction of the last user message's words found in the document
/// (rounded to 3 decimals); `file_name` defaults to `document-<n>.txt`, `file_type` to `txt`
/// and `page_number` to `null`.
pub(crate) fn retrievals(deployment: &Deployment, request: &DeploymentRequest) -> Vec<Value> {
    let messages = rendered_messages(deployment, request);
    let query = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default();
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
    };
    let query_words = words(&query);
    let mut scored: Vec<(f64, Value)> = request
        .documents
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let text = doc["text"].as_str().unwrap_or_default();
            let doc_words = words(text);
            let hits = query_words.iter().filter(|w| doc_words.contains(w)).count();
            let score = if query_words.is_empty() {
                0.0
            } else {
                (hits as f64 / query_words.len() as f64 * 1000.0).round() / 1000.0
            };
            let meta = &doc["metadata"];
            let file_name =
                meta["file_name"].as_str().map_or_else(|| format!("document-{}.txt", i + 1), str::to_owned);
            let item = json!({
                "document": text,
                "metadata": {
                    "file_name": file_name,
                    "page_number": meta.get("page_number").cloned().unwrap_or(Value::Null),
                    "file_type": meta["file_type"].as_str().unwrap_or("txt"),
                    "search_score": score,
                }
            });
            (score, item)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, item)| item).collect()
}

/// Where a generation is found in the (fake) traces: ids derived from the
/// generation id, so every answer has its own and every chunk of one stream the same.
pub(crate) fn telemetry(generation_id: &str) -> Value {
    let trace_high = util::fnv1a(generation_id.as_bytes(), 0x7e1e);
    let trace_low = util::splitmix64(trace_high);
    let span = util::splitmix64(trace_low);
    json!({"trace_id": format!("{trace_high:016x}{trace_low:016x}"), "span_id": format!("{span:016x}")})
}

/// Token counts of an answer, one token per word: the prompt's words (the
/// rendered messages) and the answer's (a tool call counts its arguments, an
/// image nothing). Nothing is cached and nothing spent on reasoning.
pub(crate) fn usage(deployment: &Deployment, request: &DeploymentRequest, completion: &Completion) -> Value {
    let words = |text: &str| text.split_whitespace().count();
    let prompt: usize =
        rendered_messages(deployment, request).iter().map(|m| words(&content_text(&m["content"]))).sum();
    let answer = match completion {
        Completion::Text(text) => words(text),
        Completion::ToolCall { name, arguments, .. } => words(name) + words(arguments),
        Completion::Image { .. } => 0,
    };
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": answer,
        "total_tokens": prompt + answer,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    })
}

/// The `object` field for a deployment's model type.
pub(crate) fn object_kind(deployment: &Deployment) -> &'static str {
    match deployment.model_type() {
        "completion" => "completion",
        "vision" => "vision",
        "image" => "image",
        _ => "chat",
    }
}

/// The `message` of an invoke `choices[0]`.
pub(crate) fn invoke_message(completion: &Completion) -> (Value, &'static str) {
    match completion {
        Completion::Text(text) => (json!({"type": "content", "role": "assistant", "content": text}), "stop"),
        Completion::ToolCall { id, name, arguments } => (
            json!({
                "type": "tool_calls",
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": id,
                    "index": 0,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }],
            }),
            "tool_calls",
        ),
        Completion::Image { url } => (json!({"type": "image", "role": "assistant", "url": url}), "stop"),
    }
}

/// The `message` objects of the non-final stream chunks.
pub(crate) fn stream_messages(completion: &Completion) -> Vec<Value> {
    match completion {
        Completion::Text(text) => {
            text.split_inclusive(' ').map(|word| json!({"role": "assistant", "content": word})).collect()
        }
        Completion::ToolCall { id, name, arguments } => vec![json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{
                "id": id,
                "index": 0,
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }],
        })],
        Completion::Image { url } => vec![json!({"role": "assistant", "url": url})],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn substitutes_placeholders() {
        let inputs = inputs(json!({"name": "Ada", "n": 3, "ok": true, "x": 2.5}));
        assert_eq!(
            substitute("Hi {{name}}, {{ n }} {{ok}} {{x}} {{missing}} {{", &inputs),
            "Hi Ada, 3 true 2.5 {{missing}} {{"
        );
    }

    #[test]
    fn finds_placeholder_names() {
        assert_eq!(placeholder_names("Hi {{name}}, {{ n }} {{name}} {{"), ["name", "n", "name"]);
        assert!(placeholder_names("no placeholders }} {").is_empty());
    }

    #[test]
    fn rejects_bad_bodies() {
        assert_eq!(parse_request(b"").unwrap_err().code, "invalid_json");
        assert_eq!(parse_request(b"{").unwrap_err().code, "invalid_json");
        assert_eq!(parse_request(b"[]").unwrap_err().status, 400);
        assert!(parse_request(br#"{"key": 1}"#).is_err());
        assert!(parse_request(br#"{"key": "k", "inputs": {"a": []}}"#).is_err());
        assert!(parse_request(br#"{"key": "k", "messages": [{"role": "robot"}]}"#).is_err());
        assert!(parse_request(br#"{"key": "k", "messages": [{"role": "tool", "content": "x"}]}"#).is_err());
        let ok = parse_request(
            br#"{"key": "k", "unknown": 1, "stream": false, "context": null,
                "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}}]}]}"#,
        )
        .unwrap();
        assert_eq!(ok.key, "k");
        assert_eq!(ok.messages.len(), 1);
    }

    fn request_with(field: &str, value: Value) -> Result<DeploymentRequest, ApiError> {
        let mut body = json!({"key": "k"});
        body[field] = value;
        parse_request(body.to_string().as_bytes())
    }

    #[test]
    fn accepts_every_shape_of_knowledge_filter() {
        for filter in [
            json!({"topic": {"eq": "billing"}, "year": {"gte": 2024}}),
            json!({"and": [{"year": {"gte": 2020}}, {"year": {"lt": 2025.5}}]}),
            json!({"or": [{"lang": {"in": ["en", 1, true]}}, {"x": {"nin": []}}, {"y": {"exists": false}}]}),
            json!({"a": {"ne": false}, "b": {"gt": -1}, "c": {"lte": 0}}),
        ] {
            let request = request_with("knowledge_filter", filter.clone()).unwrap();
            assert_eq!(request.knowledge_filter, Some(filter));
        }
    }

    #[test]
    fn rejects_malformed_knowledge_filters_with_the_path() {
        for (filter, says) in [
            (json!([]), "`knowledge_filter` must be an object"),
            (json!({}), "`knowledge_filter` has no conditions"),
            (json!({"and": []}), "`knowledge_filter.and` must not be empty"),
            (json!({"or": {"a": {"eq": 1}}}), "`knowledge_filter.or` must be an array"),
            (json!({"and": [{}]}), "`knowledge_filter.and[0]` has no conditions"),
            (json!({"and": [{"a": {"eq": 1}}], "or": [{"a": {"eq": 1}}]}), "not a mix"),
            (json!({"and": [{"a": {"eq": 1}}], "b": {"eq": 1}}), "not a mix"),
            (json!({"a": {"in": "x"}}), "`knowledge_filter.a.in` must be an array"),
            (
                json!({"a": {"in": [[1]]}}),
                "`knowledge_filter.a.in[0]` must be a string, a number or a boolean",
            ),
            (json!({"a": {"gt": "5"}}), "`knowledge_filter.a.gt` must be a number"),
            (json!({"a": {"exists": 1}}), "`knowledge_filter.a.exists` must be a boolean"),
            (json!({"a": {"eq": 1, "ne": 2}}), "exactly one operator"),
            (json!({"a": {}}), "exactly one operator"),
            (json!({"a": {"like": "x"}}), "unknown operator \"like\""),
            (json!({"a": 1}), "`knowledge_filter.a` must be an object"),
        ] {
            let error = request_with("knowledge_filter", filter.clone()).unwrap_err();
            assert_eq!((error.status, error.code.as_str()), (400, "invalid_request"), "{filter}");
            assert!(error.message.contains(says), "{filter}: {}", error.message);
        }
    }

    #[test]
    fn identity_thread_and_options_are_checked_and_kept() {
        let identity = json!({"id": "u1", "display_name": "Ada", "email": "a@b.c", "logo_url": "https://x/y.png",
            "metadata": [{"plan": "pro"}], "tags": ["vip"]});
        assert_eq!(request_with("identity", identity.clone()).unwrap().identity, Some(identity));
        let thread = json!({"id": "t1", "tags": ["billing"]});
        assert_eq!(request_with("thread", thread.clone()).unwrap().thread, Some(thread));
        let options =
            request_with("invoke_options", json!({"include_usage": true, "mock_response": "Hi"})).unwrap();
        assert!(options.include_usage);
        assert_eq!(options.mock_response.as_deref(), Some("Hi"));
        for (field, value) in [
            ("identity", json!({"display_name": "no id"})),
            ("identity", json!({"id": "u", "metadata": {"plan": "pro"}})),
            ("identity", json!({"id": "u", "tags": "vip"})),
            ("thread", json!({"tags": []})),
            ("thread", json!({"id": 7})),
            ("invoke_options", json!({"include_usage": "yes"})),
            ("invoke_options", json!({"mock_response": 1})),
        ] {
            assert_eq!(request_with(field, value.clone()).unwrap_err().status, 400, "{field}: {value}");
        }
    }

    #[test]
    fn accepts_todays_message_shapes() {
        let cache = json!({"type": "ephemeral", "ttl": "1h"});
        let messages = json!([
            {"role": "system", "content": [{"type": "text", "text": "Be brief.", "cache_control": cache}]},
            {"role": "user", "content": [
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,AAAA", "filename": "a.pdf"},
                 "cache_control": cache},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}, "cache_control": cache}
            ]},
            {"role": "assistant", "content": [
                {"type": "reasoning", "reasoning": "hmm", "signature": "sig"},
                {"type": "redacted_reasoning", "data": "xxx"},
                {"type": "text", "text": "Hi", "cache_control": cache}
            ], "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f"}, "thought_signature": "t"}]},
            {"role": "tool", "tool_call_id": "c1", "content": ["ok", {"type": "text", "text": "done"}],
             "cache_control": cache}
        ]);
        let request = request_with("messages", messages).unwrap();
        let converted = to_config_message(&request.messages[2]);
        assert_eq!(converted["content"], json!([{"type": "text", "text": "Hi"}]));
        assert!(
            request_with("messages", json!([{"role": "user", "content": "x", "cache_control": 1}])).is_err()
        );
        assert!(
            request_with("messages", json!([{"role": "system", "content": [{"type": "image_url"}]}]))
                .is_err()
        );
    }

    #[test]
    fn accepts_the_newest_message_fields() {
        let messages = json!([
            {"role": "user", "content": [
                {"type": "file", "file": {"file_id": "file-abc123"}},
                {"type": "file", "file": {"uri": "gs://bucket/a.pdf", "mimeType": "application/pdf"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,AAAA", "filename": "a.pdf"}}
            ]},
            {"role": "assistant", "content": "Let me look.", "reasoning_content": "Order lookup first.",
             "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"},
                             "thought_signature": "outer",
                             "extra_content": {"google": {"thought_signature": "inner"}}}]}
        ]);
        for field in ["messages", "prefix_messages"] {
            assert!(request_with(field, messages.clone()).is_ok(), "{field}");
        }
    }

    #[test]
    fn a_file_part_needs_exactly_one_source() {
        for (file, got) in [
            (json!({"filename": "a.pdf"}), "[]"),
            (json!({"file_data": "data:,x", "file_id": "file-1"}), r#"["file_data", "file_id"]"#),
            (json!({"file_id": "file-1", "uri": "gs://b/a"}), r#"["file_id", "uri"]"#),
            (
                json!({"file_data": "data:,x", "file_id": "f", "uri": "u"}),
                r#"["file_data", "file_id", "uri"]"#,
            ),
        ] {
            let messages = json!([{"role": "user", "content": [{"type": "file", "file": file}]}]);
            let error = request_with("prefix_messages", messages).unwrap_err();
            assert_eq!((error.status, error.code.as_str()), (400, "invalid_request"));
            assert!(error.message.contains("`prefix_messages[0].content[0].file` must have exactly one of"));
            assert!(error.message.ends_with(&format!("got {got}")), "{}", error.message);
        }
    }

    #[test]
    fn rejects_malformed_newest_message_fields() {
        let call = |extra: Value| {
            json!([{"role": "assistant", "content": null,
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f"}, "extra_content": extra}]}])
        };
        for (messages, says) in [
            (call(json!("x")), "`messages[0].tool_calls[0].extra_content` must be an object"),
            (
                call(json!({"google": []})),
                "`messages[0].tool_calls[0].extra_content.google` must be an object",
            ),
            (
                call(json!({"google": {"thought_signature": 1}})),
                "`messages[0].tool_calls[0].extra_content.google.thought_signature` must be a string",
            ),
            (
                json!([{"role": "assistant", "content": "x", "reasoning_content": ["x"]}]),
                "`messages[0].reasoning_content` must be a string",
            ),
            (
                json!([{"role": "user", "content": [{"type": "file", "file": {"file_id": 7}}]}]),
                "`messages[0].content[0].file.file_id` must be a string",
            ),
        ] {
            let error = request_with("messages", messages.clone()).unwrap_err();
            assert_eq!(error.status, 400, "{messages}");
            assert!(error.message.contains(says), "{messages}: {}", error.message);
        }
    }

    #[test]
    fn converts_request_messages() {
        let converted = to_config_message(&json!({
            "role": "developer", "content": "Be brief", "name": "dev"
        }));
        assert_eq!(converted, json!({"role": "system", "content": "Be brief"}));
        let converted = to_config_message(&json!({
            "role": "assistant", "content": null,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f"}}]
        }));
        assert_eq!(converted["content"], "");
        assert_eq!(converted["tool_calls"][0]["function"]["arguments"], "");
    }
}
