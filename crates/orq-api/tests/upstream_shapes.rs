//! Response bodies shaped after both upstream revisions (2025-04 and 2026-08) decode:
//! one sample of every union variant, each also with a variant we do not know (kept as
//! `Other`, re-serialised unchanged) and with fields we do not know (ignored); integer
//! fields accept integral floats; fields upstream marks required may be missing.
//!
//! The bodies are written for these tests; their shapes follow the upstream specs.

use orq_api::types::{
    CacheControlType, CacheTtl, ChoiceMessage, Count, DeploymentConfig, DeploymentList, InvokeResponse,
    MessageKind, PromptContent, PromptContentPart, Provider, ReasoningEffort, ResponseFormat,
    ResponseFormatName, Role, StreamChunk, ThinkingLevel, Verbosity,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Decodes `json` the way the client does: from its text.
#[track_caller]
fn decode<T: DeserializeOwned>(json: &Value) -> T {
    let text = json.to_string();
    match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(err) => panic!("{} failed to decode: {err}\n{text}", std::any::type_name::<T>()),
    }
}

#[track_caller]
fn encode<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("serializes")
}

/// Objects that are free-form JSON (schemas), where every key is kept by design.
const FREE_FORM: &[&str] = &["schema", "parameters", "provider_response"];

/// Adds a `future_` field to every object of `value` outside free-form ones, at any depth.
fn add_future_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.iter_mut()
                .filter(|(key, _)| !FREE_FORM.contains(&key.as_str()))
                .for_each(|(_, v)| add_future_fields(v));
            map.insert("future_field".into(), json!({"nested": [1, 2.5, "x"]}));
        }
        Value::Array(items) => items.iter_mut().for_each(add_future_fields),
        _ => {}
    }
}

/// Decodes `json`, then the same body with unknown fields everywhere, and checks both
/// give the same value.
#[track_caller]
fn decodes_ignoring_unknown_fields<T: DeserializeOwned + PartialEq + std::fmt::Debug>(json: &Value) -> T {
    let plain: T = decode(json);
    let mut noisy = json.clone();
    add_future_fields(&mut noisy);
    // Unknown fields inside a union variant we know must not turn it into `Other`.
    assert_eq!(decode::<T>(&noisy), plain, "unknown fields changed the decoded value");
    plain
}

// ----------------------------------------------------------------- 2026-08 bodies

fn list_2026() -> Value {
    json!({
        "object": "list",
        "has_more": false,
        "data": [{
            "id": "6f1c2a9e-0d4b-4c83-9e5f-1a2b3c4d5e6f",
            "created": "2026-08-01T10:00:00.000Z",
            "updated": "2026-08-02T11:30:00.000Z",
            "key": "contract-review",
            "description": "Reviews contracts",
            "version": "v7",
            "prompt_config": {
                "tools": [{
                    "display_name": "Clause lookup",
                    "type": "function",
                    "id": 3,
                    "function": {
                        "name": "lookup_clause",
                        "parameters": {"type": "object", "properties": {"clause": {"type": "string"}}}
                    }
                }],
                "model": "claude-sonnet-4",
                "model_type": "chat",
                "provider": "anthropic",
                "model_parameters": {
                    "temperature": 0.3,
                    "maxTokens": 2048,
                    "responseFormat": {"type": "text"},
                    "cacheControl": {"type": "ephemeral", "ttl": "1h"},
                    "reasoningEffort": "xhigh",
                    "verbosity": "low",
                    "thinkingLevel": "medium",
                    "budgetTokens": 1024
                },
                "messages": [
                    {"role": "developer", "content": "Cite clause numbers.", "tool_call_id": null},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "Review this contract."},
                            {"type": "image_url", "image_url": {"url": "https://cdn.example.com/p1.png", "detail": "high"}},
                            {
                                "type": "file",
                                "file": {
                                    "file_data": "data:application/pdf;base64,JVBERi0=",
                                    "mimeType": "application/pdf",
                                    "filename": "contract.pdf"
                                }
                            }
                        ]
                    },
                    {"role": "assistant", "content": null, "tool_calls": [{
                        "id": "call_1", "index": 0, "type": "function",
                        "function": {"name": "lookup_clause", "arguments": "{\"clause\":\"4.2\"}"}
                    }]},
                    {"role": "tool", "content": "Clause 4.2: ...", "tool_call_id": "call_1"}
                ]
            }
        }]
    })
}

fn config_2026() -> Value {
    json!({
        "id": "01K2ZQ4W6Y8A0C2E4G6J8M0P2R",
        "provider": "openai",
        "model": "gpt-5",
        "type": "ocr",
        "version": "v2",
        "messages": [{"role": "user", "content": [{"type": "file", "file": {"uri": "https://x.test/a.pdf"}}]}],
        "parameters": {"responseFormat": "url", "quality": "medium"},
        "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {}}}]
    })
}

fn invoke_2026() -> Value {
    json!({
        "id": "01K2ZQ7B9D1F3H5K7M9P1R3T5V",
        "created": "2026-08-03T09:00:00.000Z",
        "object": "chat",
        "model": "claude-sonnet-4",
        "provider": "anthropic",
        "is_final": true,
        "integration_id": "01HZX4T6V8W0Y2A4C6E8G0J2L4",
        "telemetry": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"},
        "finalized": "2026-08-03T09:00:02.000Z",
        "system_fingerprint": null,
        "usage": {
            "total_tokens": 150,
            "prompt_tokens": 100,
            "completion_tokens": 50,
            "prompt_tokens_details": {"cached_tokens": 80},
            "completion_tokens_details": {"reasoning_tokens": 20}
        },
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "type": "content",
                    "role": "assistant",
                    "content": "The contract is sound.",
                    "reasoning": "Clause 4.2 limits liability.",
                    "reasoning_signature": "sig_abc",
                    "redacted_reasoning": "enc_xyz"
                }
            },
            {
                "index": 1,
                "finish_reason": "tool_calls",
                "message": {
                    "type": "tool_calls",
                    "role": "assistant",
                    "content": null,
                    "reasoning": "Need the clause text.",
                    "tool_calls": [{
                        "id": "call_2", "index": 0, "type": "function",
                        "function": {"name": "lookup_clause", "arguments": "{}"}
                    }]
                }
            },
            {
                "index": 2,
                "finish_reason": null,
                "message": {"type": "image", "role": "assistant", "url": "https://cdn.example.com/gen/3.png"}
            }
        ]
    })
}

fn stream_chunks_2026() -> Vec<Value> {
    let base = json!({
        "id": "01K2ZQ9C1E3G5J7L9N1Q3S5U7W",
        "created": "2026-08-03T09:05:00.000Z",
        "object": "chat",
        "model": "gpt-5",
        "provider": "openai",
        "telemetry": {"trace_id": "t1", "span_id": "s1"}
    });
    let chunk = |is_final: bool, choice: Value, extra: Value| {
        let mut chunk = base.clone();
        chunk["is_final"] = json!(is_final);
        chunk["choices"] = json!([choice]);
        for (key, value) in extra.as_object().unwrap() {
            chunk[key] = value.clone();
        }
        chunk
    };
    vec![
        chunk(
            false,
            json!({"index": 0, "message": {"type": "content", "role": "assistant", "content": "Hel", "reasoning": "r"}}),
            json!({}),
        ),
        chunk(
            false,
            json!({"index": 0, "message": {"type": "tool_calls", "role": "assistant", "tool_calls": [
                {"id": "c1", "index": 0, "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]}}),
            json!({}),
        ),
        chunk(
            false,
            json!({"index": 0, "message": {"type": "image", "role": "assistant", "url": "https://x.test/i.png"}}),
            json!({}),
        ),
        chunk(
            true,
            json!({"index": 0, "finish_reason": "stop", "message": {"type": "content", "role": "assistant", "content": null}}),
            json!({
                "finalized": "2026-08-03T09:05:01.000Z",
                "usage": {"total_tokens": 9, "prompt_tokens": 5, "completion_tokens": 4,
                          "prompt_tokens_details": {"cached_tokens": null}, "completion_tokens_details": null}
            }),
        ),
    ]
}

// ------------------------------------------------------------- valid bodies decode

#[test]
fn list_page_of_2026_08_decodes_with_file_parts_and_new_parameters() {
    let page: DeploymentList = decodes_ignoring_unknown_fields(&list_2026());
    let config = &page.data[0].prompt_config;
    assert_eq!(config.tools[0].display_name.as_deref(), Some("Clause lookup"));
    let parameters = &config.model_parameters;
    assert_eq!(parameters.response_format, Some(ResponseFormat::Text));
    let cache = parameters.cache_control.as_ref().unwrap();
    assert_eq!((cache.type_.clone(), cache.ttl.clone()), (CacheControlType::Ephemeral, Some(CacheTtl::V1h)));
    assert_eq!(parameters.reasoning_effort, Some(ReasoningEffort::Xhigh));
    assert_eq!(parameters.verbosity, Some(Verbosity::Low));
    assert_eq!(parameters.thinking_level, Some(ThinkingLevel::Medium));

    let messages = &config.messages;
    assert_eq!(messages[0].role, Some(Role::Developer));
    let Some(PromptContent::Parts(parts)) = &messages[1].content else { panic!("{:?}", messages[1]) };
    assert!(matches!(&parts[0], PromptContentPart::Text(part) if part.text == "Review this contract."));
    assert!(
        matches!(&parts[1], PromptContentPart::ImageUrl(part) if part.image_url.detail.as_deref() == Some("high"))
    );
    let PromptContentPart::File(file) = &parts[2] else { panic!("{:?}", parts[2]) };
    assert_eq!(file.file.filename.as_deref(), Some("contract.pdf"));
    assert_eq!(file.file.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(messages[2].content, None);
    assert_eq!(messages[2].tool_calls[0].function.name, "lookup_clause");
    assert_eq!(messages[3].tool_call_id.as_deref(), Some("call_1"));
}

#[test]
fn config_of_2026_08_decodes_with_named_response_format_and_new_model_type() {
    let config: DeploymentConfig = decodes_ignoring_unknown_fields(&config_2026());
    assert_eq!(config.parameters.response_format, Some(ResponseFormat::Named(ResponseFormatName::Url)));
    assert_eq!(config.type_.as_ref().map(|t| t.as_str()), Some("ocr"));
    assert!(config.type_.as_ref().unwrap().is_known());
    let Some(PromptContent::Parts(parts)) = &config.messages[0].content else { panic!() };
    assert!(
        matches!(&parts[0], PromptContentPart::File(part) if part.file.uri.as_deref() == Some("https://x.test/a.pdf"))
    );
}

#[test]
fn every_response_format_of_both_revisions_decodes_to_its_variant() {
    let schema = json!({"name": "out", "schema": {"type": "object"}});
    let cases = [
        // 2025-04 requires `strict`; 2026-08 makes it optional and adds `display_name` and `description`.
        (
            json!({"type": "json_schema", "json_schema": {"name": "out", "strict": true, "schema": {}}}),
            "JsonSchema",
        ),
        (json!({"type": "json_schema", "display_name": "Out", "json_schema": schema}), "JsonSchema"),
        (
            json!({"type": "json_schema", "json_schema": {"name": "o", "description": "Verdict", "schema": {}}}),
            "JsonSchema",
        ),
        (json!({"type": "json_object"}), "JsonObject"),
        (json!({"type": "text"}), "Text"),
    ];
    for (json, variant) in cases {
        let decoded: ResponseFormat = decodes_ignoring_unknown_fields(&json);
        assert!(format!("{decoded:?}").starts_with(variant), "{json} decoded as {decoded:?}");
        assert_eq!(encode(&decoded), json, "a known variant re-serialises as sent");
    }
    // A null description (2026-08 allows it) is no description.
    let null: ResponseFormat = decode(
        &json!({"type": "json_schema", "json_schema": {"name": "o", "description": null, "schema": {}}}),
    );
    let ResponseFormat::JsonSchema(format) = null else { panic!("{null:?}") };
    assert_eq!(format.json_schema.description, None);

    for name in [
        "mp3",
        "opus",
        "aac",
        "flac",
        "wav",
        "pcm",
        "url",
        "base64_json",
        "json",
        "text",
        "srt",
        "verbose_json",
        "vtt",
    ] {
        let decoded: ResponseFormat = decode(&json!(name));
        let ResponseFormat::Named(format) = &decoded else { panic!("{name}: {decoded:?}") };
        assert!(format.is_known() && format.as_str() == name, "{name}: {format:?}");
        assert_eq!(encode(&decoded), json!(name));
    }
    // A format name this version does not know is still a name.
    let decoded: ResponseFormat = decode(&json!("ogg"));
    assert_eq!(decoded, ResponseFormat::Named(ResponseFormatName::Other("ogg".into())));
}

#[test]
fn invoke_response_of_2026_08_decodes_usage_telemetry_and_reasoning() {
    let response: InvokeResponse = decodes_ignoring_unknown_fields(&invoke_2026());
    let telemetry = response.telemetry.as_ref().unwrap();
    assert_eq!(telemetry.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(telemetry.span_id, "00f067aa0ba902b7");
    let usage = response.usage.as_ref().unwrap();
    assert_eq!(
        (usage.total_tokens, usage.prompt_tokens, usage.completion_tokens),
        (Some(Count::from(150u64)), Some(Count::from(100u64)), Some(Count::from(50u64)))
    );
    assert_eq!(usage.prompt_tokens_details.as_ref().unwrap().cached_tokens, Some(Count::from(80u64)));
    assert_eq!(usage.completion_tokens_details.as_ref().unwrap().reasoning_tokens, Some(Count::from(20u64)));

    let Some(ChoiceMessage::Content(content)) = &response.choices[0].message else { panic!() };
    assert_eq!(content.content.as_deref(), Some("The contract is sound."));
    assert_eq!(content.reasoning.as_deref(), Some("Clause 4.2 limits liability."));
    assert_eq!(content.reasoning_signature.as_deref(), Some("sig_abc"));
    assert_eq!(content.redacted_reasoning.as_deref(), Some("enc_xyz"));
    let Some(ChoiceMessage::ToolCalls(calls)) = &response.choices[1].message else { panic!() };
    assert_eq!(calls.reasoning.as_deref(), Some("Need the clause text."));
    assert_eq!(calls.tool_calls[0].id.as_deref(), Some("call_2"));
    let Some(ChoiceMessage::Image(image)) = &response.choices[2].message else { panic!() };
    assert_eq!(image.url, "https://cdn.example.com/gen/3.png");
    assert_eq!(response.text(), Some("The contract is sound."));

    // `usage` may be null, and so may the completion details inside it.
    let mut json = invoke_2026();
    json["usage"]["completion_tokens_details"] = Value::Null;
    let response: InvokeResponse = decode(&json);
    assert_eq!(response.usage.unwrap().completion_tokens_details, None);
    json["usage"] = Value::Null;
    assert_eq!(decode::<InvokeResponse>(&json).usage, None);
}

#[test]
fn stream_chunks_of_2026_08_decode_with_their_message_type() {
    let chunks: Vec<StreamChunk> = stream_chunks_2026().iter().map(decodes_ignoring_unknown_fields).collect();
    let message = |i: usize| chunks[i].choices[0].message.clone().unwrap();
    assert_eq!(message(0).type_, Some(MessageKind::Content));
    assert_eq!(message(0).content.as_deref(), Some("Hel"));
    assert_eq!(message(0).reasoning.as_deref(), Some("r"));
    assert_eq!(message(1).type_, Some(MessageKind::ToolCalls));
    assert_eq!(message(1).tool_calls[0].function.name, "f");
    assert_eq!(message(2).type_, Some(MessageKind::Image));
    assert_eq!(message(2).url.as_deref(), Some("https://x.test/i.png"));
    let last = &chunks[3];
    assert_eq!(last.telemetry.as_ref().unwrap().trace_id, "t1");
    let usage = last.usage.as_ref().unwrap();
    assert_eq!(usage.total_tokens, Some(Count::from(9u64)));
    assert_eq!(usage.prompt_tokens_details.as_ref().unwrap().cached_tokens, None);

    // A message type this version does not know is kept as a value, the rest decodes.
    let mut json = stream_chunks_2026().remove(0);
    json["choices"][0]["message"]["type"] = json!("audio");
    let chunk: StreamChunk = decode(&json);
    assert_eq!(chunk.choices[0].message.as_ref().unwrap().type_, Some(MessageKind::Other("audio".into())));
    assert_eq!(chunk.text(), "Hel");
}

#[test]
fn new_providers_are_known() {
    for name in ["deepseek", "mistral", "xai", "cerebras", "orq", "google-ai"] {
        let provider: Provider = decode(&json!(name));
        assert!(provider.is_known(), "{name}");
        assert_eq!(provider.as_str(), name);
    }
}

// -------------------------------------------- unknown union variants are kept as sent

/// Replaces the value at `pointer` with `unknown`, decodes, and checks `unknown` comes back
/// unchanged at the same place when the whole body is re-serialised.
#[track_caller]
fn unknown_variant_is_kept<T: DeserializeOwned + Serialize + std::fmt::Debug>(
    body: &Value,
    pointer: &str,
    unknown: Value,
) {
    let mut json = body.clone();
    *json.pointer_mut(pointer).unwrap_or_else(|| panic!("no {pointer} in {body}")) = unknown.clone();
    let decoded: T = decode(&json);
    let debug = format!("{decoded:?}");
    assert!(debug.contains("Other("), "{pointer}: {unknown} not kept as Other: {debug}");
    assert_eq!(encode(&decoded).pointer(pointer), Some(&unknown), "{pointer} did not re-serialise unchanged");
}

#[test]
fn unknown_variants_of_every_response_union_are_kept_and_re_serialise_unchanged() {
    let video_part = json!({"type": "video_url", "video_url": {"url": "https://x.test/v.mp4", "fps": 24.5}});
    let xml_format = json!({"type": "xml", "xml": {"root": "answer", "strict": false}});
    let audio_message =
        json!({"type": "audio", "role": "assistant", "audio": {"id": "au_1", "data": [1, 2]}});

    let list = list_2026();
    let part = "/data/0/prompt_config/messages/1/content/2";
    unknown_variant_is_kept::<DeploymentList>(&list, part, video_part.clone());
    unknown_variant_is_kept::<DeploymentList>(
        &list,
        "/data/0/prompt_config/messages/0/content",
        json!({"blocks": []}),
    );
    unknown_variant_is_kept::<DeploymentList>(
        &list,
        "/data/0/prompt_config/model_parameters/responseFormat",
        xml_format.clone(),
    );

    let config = config_2026();
    unknown_variant_is_kept::<DeploymentConfig>(&config, "/messages/0/content/0", video_part);
    unknown_variant_is_kept::<DeploymentConfig>(&config, "/parameters/responseFormat", xml_format);
    unknown_variant_is_kept::<DeploymentConfig>(&config, "/messages/0/content", json!(42));

    let invoke = invoke_2026();
    for i in 0..3 {
        unknown_variant_is_kept::<InvokeResponse>(
            &invoke,
            &format!("/choices/{i}/message"),
            audio_message.clone(),
        );
    }
    // The rest of a body with an unknown variant is decoded as usual.
    let mut json = invoke.clone();
    json["choices"][1]["message"] = audio_message.clone();
    let response: InvokeResponse = decode(&json);
    assert_eq!(response.choices[1].message, Some(ChoiceMessage::Other(audio_message)));
    assert_eq!(response.text(), Some("The contract is sound."));
    assert_eq!(response.usage.unwrap().total_tokens, Some(Count::from(150u64)));
}

#[test]
fn samples_of_the_2025_04_revision_still_decode() {
    // Shapes only the older revision has: a required `strict`, content messages that always
    // carry `content`, stream messages without `type`, no telemetry or usage.
    let page: DeploymentList = decodes_ignoring_unknown_fields(&json!({
        "object": "list",
        "has_more": true,
        "data": [{
            "id": "d1", "created": "2025-04-01", "updated": "2025-04-02", "key": "k", "description": "",
            "version": "v1",
            "prompt_config": {
                "tools": [], "model": "gpt-4o", "model_type": "moderations", "provider": "anyscale",
                "model_parameters": {"responseFormat": {"type": "json_schema", "json_schema": {"name": "n", "strict": false, "schema": {}}}},
                "messages": [{"role": "prompt", "content": [{"type": "image_url", "image_url": {"id": "01J", "url": "https://x.test/a.png"}}]}]
            }
        }]
    }));
    assert_eq!(page.next_cursor(), Some("d1"));
    let response: InvokeResponse = decodes_ignoring_unknown_fields(&json!({
        "id": "01JR", "created": "2025-04-10", "object": "completion", "model": "m", "provider": "replicate",
        "is_final": true,
        "choices": [{"index": 0, "message": {"type": "content", "role": "assistant", "content": "hi"}, "finish_reason": "stop"}]
    }));
    assert_eq!(response.telemetry, None);
    assert_eq!(response.usage, None);
    assert_eq!(response.text(), Some("hi"));
    let chunk: StreamChunk = decodes_ignoring_unknown_fields(&json!({
        "id": "01JR", "is_final": false, "choices": [{"index": 0, "message": {"role": "assistant", "content": "h"}}]
    }));
    assert_eq!(chunk.choices[0].message.as_ref().unwrap().type_, None);
    assert_eq!(chunk.text(), "h");
}

// ----------------------------------------------- counts are numbers, kept as sent

#[test]
fn counts_accept_integral_floats_and_write_them_back_as_sent() {
    let mut json = invoke_2026();
    json["choices"][1]["index"] = json!(1.0);
    json["choices"][1]["message"]["tool_calls"][0]["index"] = json!(0.0);
    json["usage"]["total_tokens"] = json!(150.0);
    json["usage"]["prompt_tokens_details"]["cached_tokens"] = json!(80.0);
    let response: InvokeResponse = decode(&json);
    assert_eq!(response.choices[1].index, 1);
    let Some(ChoiceMessage::ToolCalls(calls)) = &response.choices[1].message else { panic!() };
    assert_eq!(calls.tool_calls[0].index.map(|i| i.as_u64()), Some(Some(0)));
    let usage = response.usage.as_ref().unwrap();
    assert_eq!(usage.total_tokens.unwrap(), 150);
    assert_eq!(usage.cached_tokens().unwrap(), 80);
    // Nothing is rewritten: what came as `1.0` goes back as `1.0`, `100` as `100`.
    let encoded = encode(&response);
    assert_eq!(encoded["usage"], json["usage"]);
    assert_eq!(encoded["choices"][1]["index"], json!(1.0));
    assert_eq!(encoded["choices"][1]["message"]["tool_calls"][0]["index"], json!(0.0));
    assert_eq!(encoded["choices"][0]["index"], json!(0));

    let chunk: StreamChunk =
        decode(&json!({"choices": [{"index": 3.0, "message": {"tool_calls": [{"index": 2.0}]}}]}));
    assert_eq!(chunk.choices[0].index, 3);
    assert_eq!(chunk.choices[0].message.as_ref().unwrap().tool_calls[0].index, Some(Count::from(2u64)));
}

#[test]
fn fractional_token_counts_and_indices_decode_and_are_kept() {
    // Valid under every reference: token counts and indices are `number` upstream.
    let mut json = invoke_2026();
    json["usage"]["prompt_tokens"] = json!(2.5);
    json["usage"]["completion_tokens"] = json!(0.25);
    json["usage"]["completion_tokens_details"]["reasoning_tokens"] = json!(1.5);
    json["choices"][0]["index"] = json!(0.5);
    let response: InvokeResponse = decode(&json);
    let usage = response.usage().unwrap();
    assert_eq!(usage.prompt_tokens.unwrap(), 2.5);
    assert_eq!(usage.prompt_tokens.unwrap().as_u64(), None);
    assert_eq!(usage.completion_tokens.unwrap().to_string(), "0.25");
    assert_eq!(usage.reasoning_tokens().unwrap().as_f64(), 1.5);
    assert_eq!(response.choices[0].index, 0.5);
    let encoded = encode(&response);
    assert_eq!((&encoded["usage"], &encoded["choices"][0]["index"]), (&json["usage"], &json!(0.5)));

    let chunk: StreamChunk = decode(&json!({
        "id": "01JR", "choices": [{"index": 0, "message": {"role": "assistant", "content": "h"}}],
        "usage": {"prompt_tokens": 2.5, "completion_tokens": 1, "total_tokens": 3.5,
                  "prompt_tokens_details": {"cached_tokens": 0.5}}
    }));
    let usage = chunk.usage.as_ref().unwrap();
    assert_eq!(
        (usage.prompt_tokens.unwrap(), usage.total_tokens.unwrap()),
        (2.5.try_into().unwrap(), 3.5.try_into().unwrap())
    );
    assert_eq!(usage.cached_tokens().unwrap(), 0.5);
}

#[test]
fn a_count_that_is_not_a_number_is_a_clear_error() {
    for bad in [json!("1"), json!(true), json!([1])] {
        let body = json!({"choices": [{"index": bad}]});
        let err = serde_json::from_str::<StreamChunk>(&body.to_string()).unwrap_err().to_string();
        assert!(err.contains("invalid type") && err.contains("number"), "{bad}: {err}");
    }
}

// ------------------------------------------- fields upstream requires may be missing

#[test]
fn bodies_missing_fields_upstream_requires_still_decode() {
    let mut json = invoke_2026();
    for key in ["id", "created", "object", "model", "provider", "is_final", "telemetry"] {
        json.as_object_mut().unwrap().remove(key);
    }
    json["choices"][0].as_object_mut().unwrap().remove("index");
    json["choices"][2].as_object_mut().unwrap().remove("message");
    let response: InvokeResponse = decode(&json);
    assert_eq!((response.id.as_str(), response.is_final, response.provider.clone()), ("", false, None));
    assert_eq!(response.choices[0].index, 0);
    assert_eq!(response.choices[2].message, None);
    assert_eq!(response.text(), Some("The contract is sound."));

    let mut json = list_2026();
    let deployment = json["data"][0].as_object_mut().unwrap();
    deployment.remove("key");
    deployment.remove("version");
    let config = deployment["prompt_config"].as_object_mut().unwrap();
    config.remove("model");
    config.remove("provider");
    config.remove("model_parameters");
    config["tools"][0].as_object_mut().unwrap().remove("function");
    config["messages"][3].as_object_mut().unwrap().remove("role");
    let page: DeploymentList = decode(&json);
    let deployment = &page.data[0];
    assert_eq!((deployment.key.as_str(), deployment.version.as_str()), ("", ""));
    assert_eq!(deployment.prompt_config.provider, None);
    assert_eq!(deployment.prompt_config.tools[0].function.name, "");
    assert_eq!(deployment.prompt_config.messages[3].role, None);

    let mut json = invoke_2026();
    json["retrievals"] = json!([{"document": "d", "metadata": {"file_name": "a.pdf"}}, {}]);
    json["telemetry"] = json!({});
    let response: InvokeResponse = decode(&json);
    assert_eq!(response.retrievals[0].metadata.search_score, None);
    assert_eq!(response.retrievals[1].document, "");
    assert_eq!(response.telemetry.unwrap().trace_id, "");
}

// ------------------------------------------------------------ 2026-10: list_versions

/// The smallest page of versions the 2026-10 API sends: only required fields.
fn versions_minimal_2026_10() -> Value {
    json!({
        "object": "list",
        "data": [{
            "_id": "01JZ4A6C8E0G2J4L6N8Q0S2U4W",
            "deployment_id": "01JR7C9E1G3J5L7N9Q1S3U5W7Y",
            "variant_id": "01JR7C9E1G3J5L7N9Q1S3U5W7Z",
            "prompt_config": {
                "model": "mistral-large-latest",
                "model_db_id": "01HZ2Y4X6W8V0T2S4R6Q8P0N2M",
                "model_type": "chat",
                "model_parameters": {"temperature": 0.7, "maxTokens": 256},
                "provider": "mistral",
                "messages": [
                    {"role": "system", "content": "You book meeting rooms."},
                    {"role": "user", "content": "{{request}}"}
                ]
            },
            "fallbacks": [],
            "tools": [],
            "variables": [{"key": "request", "is_pii": true}],
            "timestamp": "2026-10-14T16:40:00Z",
            "version": "v5",
            "description": "Friendlier tone",
            "status": "published",
            "user_id": null
        }],
        "has_more": false
    })
}

/// A version with every optional field: notes, retry_count, knowledge bases of both
/// query kinds, settings (guardrails, evaluators, cache, behaviour, engine, masking),
/// fallbacks, tools and variables with values.
fn version_full_2026_10() -> Value {
    json!({
        "_id": "01JZ4B0000000000000000FULL",
        "deployment_id": "5e1d2c3b-4a59-4687-9a0b-c1d2e3f4a5b6",
        "variant_id": "01JZ4B00000000000000VARNT1",
        "prompt_config": {
            "model": "gemini-2.5-pro",
            "model_db_id": "01JZ4B000000000000000MODL1",
            "model_type": "chat",
            "model_parameters": {"temperature": 0.1, "topP": 0.9, "thinkingLevel": "high"},
            "provider": "google",
            "messages": [
                {"id": "01JZ4B0000000000000000MSG1", "role": "system", "content": "Answer about {{product}}."},
                {"id": "01JZ4B0000000000000000MSG2", "role": "user", "content": [
                    {"type": "text", "text": "{{question}}"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/p.png", "detail": "high"}}
                ]}
            ],
            "integration_id": null,
            "version": "v9"
        },
        "fallbacks": [{
            "model": "gpt-4.1", "model_db_id": "01JZ4B000000000000000MODL2", "model_type": "chat",
            "model_parameters": {"maxTokens": 1000}, "provider": "azure",
            "integration_id": "01JZ4B00000000000000INTEG1", "version": "v2"
        }],
        "tools": [{
            "type": "function", "display_name": "Stock level", "id": 11,
            "function": {"name": "stock_level", "description": "Units in stock",
                "parameters": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]}}
        }],
        "variables": [
            {"key": "product", "value": "Desk lamp", "is_pii": false, "description": "Product name"},
            {"key": "question", "value": 42, "is_pii": true}
        ],
        "timestamp": "2026-10-21T08:00:00.000Z",
        "version": "v9",
        "description": "Grounded in the catalogue",
        "status": "live",
        "user_id": "01JZ4B0000000000000000USR1",
        "notes": "Reviewed by support.",
        "retry_count": 3,
        "knowledge_bases": [
            {"knowledge_id": "catalogue", "configuration": {"type": "last_user_message"}, "id": "01JZ4B000000000000000KBL1"},
            {"knowledge_id": "manuals", "configuration": {"type": "query", "query": "lamp wattage"}}
        ],
        "settings": {
            "guardrails": [{"id": "toxicity", "execute_on": "output", "sample_rate": 100}],
            "evaluators": [
                {"id": "helpfulness", "execute_on": "both", "sample_rate": 33.3},
                {"id": "length", "execute_on": "input"}
            ],
            "cache": {"enabled": true, "type": "exact", "ttl": 600},
            "guardrailBehaviour": "retry",
            "engine": "text",
            "input_masking": false,
            "system_masking": true,
            "output_masking": false
        }
    })
}

#[test]
fn minimal_version_page_of_2026_10_decodes() {
    use orq_api::types::{DeploymentVersionList, ListObject, ModelType, VersionStatus};
    let page: DeploymentVersionList = decodes_ignoring_unknown_fields(&versions_minimal_2026_10());
    assert_eq!(page.object, Some(ListObject::List));
    assert!(!page.has_more);
    assert_eq!(page.next_cursor(), None);
    let version = &page.data[0];
    assert_eq!(version.id, "01JZ4A6C8E0G2J4L6N8Q0S2U4W");
    assert_eq!(version.variant_id, "01JR7C9E1G3J5L7N9Q1S3U5W7Z");
    assert_eq!((version.version.as_str(), version.description.as_str()), ("v5", "Friendlier tone"));
    assert_eq!(version.status, Some(VersionStatus::Published));
    assert_eq!(version.user_id, None);
    assert_eq!(version.timestamp, "2026-10-14T16:40:00Z");
    let config = &version.prompt_config;
    assert_eq!(config.provider, Some(Provider::Mistral));
    assert_eq!(config.model_type, Some(ModelType::Chat));
    assert_eq!(config.model_db_id.as_deref(), Some("01HZ2Y4X6W8V0T2S4R6Q8P0N2M"));
    assert_eq!(config.model_parameters.max_tokens, Some(256.0));
    assert_eq!(config.messages[1].content, Some(PromptContent::Text("{{request}}".into())));
    assert!(version.fallbacks.is_empty() && version.tools.is_empty() && version.knowledge_bases.is_empty());
    assert_eq!((version.variables[0].key.as_str(), version.variables[0].is_pii), ("request", true));
    assert_eq!((version.notes.as_ref(), version.retry_count, version.settings.as_ref()), (None, None, None));
}

#[test]
fn full_version_of_2026_10_decodes_every_optional_field() {
    use orq_api::types::{
        CacheKind, DeploymentVersionList, EvaluationTarget, GuardrailBehaviour, RetrievalQuery,
        TemplateEngine, VersionStatus,
    };
    let mut disabled = version_full_2026_10();
    disabled["_id"] = json!("01JZ4B00000000000000FULL0");
    disabled["status"] = json!("draft");
    disabled["settings"] =
        json!({"cache": {"enabled": false}, "guardrailBehaviour": "none", "engine": "mustache"});
    let body = json!({"object": "list", "data": [version_full_2026_10(), disabled], "has_more": true});
    let page: DeploymentVersionList = decodes_ignoring_unknown_fields(&body);
    assert_eq!(page.next_cursor(), Some("01JZ4B00000000000000FULL0"));

    let full = &page.data[0];
    assert_eq!(full.status, Some(VersionStatus::Live));
    assert_eq!(full.user_id.as_deref(), Some("01JZ4B0000000000000000USR1"));
    assert_eq!((full.notes.as_deref(), full.retry_count), (Some("Reviewed by support."), Some(3.0)));
    assert_eq!(full.prompt_config.provider, Some(Provider::Google));
    assert_eq!(full.prompt_config.integration_id, None);
    assert_eq!(full.prompt_config.version.as_deref(), Some("v9"));
    assert_eq!(full.prompt_config.messages[1].id.as_deref(), Some("01JZ4B0000000000000000MSG2"));
    assert_eq!(full.prompt_config.model_parameters.thinking_level, Some(ThinkingLevel::High));
    let fallback = &full.fallbacks[0];
    assert_eq!((fallback.model.as_str(), fallback.provider.clone()), ("gpt-4.1", Some(Provider::Azure)));
    assert_eq!(fallback.integration_id.as_deref(), Some("01JZ4B00000000000000INTEG1"));
    assert_eq!(fallback.model_parameters.max_tokens, Some(1000.0));
    assert_eq!((full.tools[0].function.name.as_str(), full.tools[0].id), ("stock_level", Some(11.0)));
    assert_eq!(full.variables[0].value, Some(json!("Desk lamp")));
    assert_eq!(full.variables[0].description.as_deref(), Some("Product name"));
    assert_eq!(full.variables[1].value, Some(json!(42)));
    let kb = &full.knowledge_bases;
    assert_eq!(kb[0].configuration, Some(RetrievalQuery::LastUserMessage));
    assert_eq!(kb[0].id.as_deref(), Some("01JZ4B000000000000000KBL1"));
    assert!(matches!(&kb[1].configuration, Some(RetrievalQuery::Query(q)) if q.query == "lamp wattage"));
    assert_eq!((kb[1].knowledge_id.as_str(), kb[1].id.as_ref()), ("manuals", None));
    let settings = full.settings.as_ref().expect("settings");
    assert_eq!(settings.guardrails[0].id, "toxicity");
    assert_eq!(settings.guardrails[0].execute_on, Some(EvaluationTarget::Output));
    assert_eq!(settings.evaluators[0].execute_on, Some(EvaluationTarget::Both));
    assert_eq!(settings.evaluators[0].sample_rate, Some(33.3));
    assert_eq!(
        (settings.evaluators[1].execute_on.clone(), settings.evaluators[1].sample_rate),
        (Some(EvaluationTarget::Input), None)
    );
    let cache = settings.cache.as_ref().expect("cache");
    assert_eq!((cache.enabled, cache.type_.clone(), cache.ttl), (true, Some(CacheKind::Exact), Some(600.0)));
    assert_eq!(settings.guardrail_behaviour, Some(GuardrailBehaviour::Retry));
    assert_eq!(settings.engine, Some(TemplateEngine::Text));
    assert_eq!(
        (settings.input_masking, settings.system_masking, settings.output_masking),
        (false, true, false)
    );

    let disabled = &page.data[1];
    assert_eq!(disabled.status, Some(VersionStatus::Draft));
    let settings = disabled.settings.as_ref().expect("settings");
    let cache = settings.cache.as_ref().expect("cache");
    assert_eq!((cache.enabled, cache.type_.clone(), cache.ttl), (false, None, None));
    assert_eq!(settings.guardrail_behaviour, Some(GuardrailBehaviour::None));
    assert_eq!(settings.engine, Some(TemplateEngine::Mustache));
    assert!(settings.guardrails.is_empty() && settings.evaluators.is_empty());
    assert!(!settings.input_masking && !settings.system_masking && !settings.output_masking);
}

#[test]
fn unknown_values_in_a_version_are_kept_and_the_2026_10_ones_known() {
    use orq_api::types::{DeploymentVersionList, ModelType, RetrievalQuery, VersionStatus};
    let mut body = versions_minimal_2026_10();
    let version = &mut body["data"][0];
    version["status"] = json!("archived");
    version["prompt_config"]["provider"] = json!("meta");
    version["prompt_config"]["model_type"] = json!("classify");
    version["fallbacks"] = json!([{"model": "m", "model_db_id": "d", "model_type": "rank-v2",
        "model_parameters": {}, "provider": "cloudflare"}]);
    let page: DeploymentVersionList = decode(&body);
    let version = &page.data[0];
    assert_eq!(version.status, Some(VersionStatus::Other("archived".into())));
    assert_eq!(version.prompt_config.provider, Some(Provider::Meta));
    assert_eq!(version.prompt_config.model_type, Some(ModelType::Classify));
    assert_eq!(version.fallbacks[0].model_type, Some(ModelType::Other("rank-v2".into())));
    assert_eq!(version.fallbacks[0].provider.as_ref().map(Provider::is_known), Some(true));
    let again = encode(&page);
    assert_eq!(again["data"][0]["status"], "archived");
    assert_eq!(again["data"][0]["fallbacks"][0]["model_type"], "rank-v2");

    for name in ["inception", "meta", "greenpt", "liquid", "typesafe", "berget", "cloudflare"] {
        let provider: Provider = decode(&json!(name));
        assert!(provider.is_known(), "{name}");
        assert_eq!(provider.as_str(), name);
    }

    // A retrieval query of a kind this version does not know is kept as sent.
    let hybrid = json!({"type": "hybrid", "query": "lamps", "weights": {"dense": 0.7, "sparse": 0.3}});
    let mut body = versions_minimal_2026_10();
    body["data"][0]["knowledge_bases"] =
        json!([{"knowledge_id": "kb", "configuration": {"type": "query", "query": "q"}}]);
    unknown_variant_is_kept::<DeploymentVersionList>(
        &body,
        "/data/0/knowledge_bases/0/configuration",
        hybrid.clone(),
    );
    *body.pointer_mut("/data/0/knowledge_bases/0/configuration").unwrap() = hybrid.clone();
    let page: DeploymentVersionList = decode(&body);
    assert_eq!(page.data[0].knowledge_bases[0].configuration, Some(RetrievalQuery::Other(hybrid)));
    let query: RetrievalQuery = decode(&json!({"type": "query"}));
    assert!(!query.is_known(), "a query without its text is not a known variant: {query:?}");
}

#[test]
fn a_version_with_user_id_null_decodes_as_none() {
    use orq_api::types::DeploymentVersion;
    let mut json = version_full_2026_10();
    json["user_id"] = Value::Null;
    let version: DeploymentVersion = decode(&json);
    assert_eq!(version.user_id, None);
    json.as_object_mut().unwrap().remove("user_id");
    let absent: DeploymentVersion = decode(&json);
    assert_eq!(absent, version, "null and absent mean the same");
}
