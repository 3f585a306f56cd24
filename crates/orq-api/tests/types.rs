//! Wire-format tests of the generated types: realistic responses decode into the
//! expected values, open enums keep values they do not know, unknown fields are
//! ignored, discriminator tags stay exact, and requests serialize to exactly the
//! JSON the service expects.
//!
//! The fixtures are written for these tests; their shapes follow the upstream
//! orq.ai spec (2025-04) field by field.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::num::NonZeroU32;

use orq_api::types::{
    AssistantContentPart, AssistantToolCall, AudioFormat, Choice, ChoiceMessage, ConfigFunction, ConfigTool,
    ContentMessage, Count, DeploymentConfig, DeploymentList, DeploymentRequest, DeploymentTool, Document,
    DocumentMetadata, EncodingFormat, ErrorBody, FunctionCall, FunctionDefinition, FunctionParameters,
    GenerationObject, ImageDetail, ImageMessage, ImageQuality, InputValue, InvokeOptions, InvokeResponse,
    JsonSchemaFormat, JsonSchemaSpec, ListObject, Message, ModelParameters, ModelType, OutputFormat,
    ParametersType, PhotoRealVersion, PromptConfig, PromptContent, PromptContentPart, PromptImage,
    PromptImagePart, PromptMessage, PromptTextPart, Provider, ReasoningEffort, ResponseFormat, Retrieval,
    RetrievalMetadata, Role, StreamChoice, StreamChunk, StreamEvent, StreamMessage, ToolCall,
    ToolCallsMessage, ToolContentPart, ToolType, UserContentPart,
};
use orq_api::{Client, RequestOptions};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

// ------------------------------------------------------------------ helpers

/// Decodes `json` the way the client does: from its text.
#[track_caller]
fn decode<T: DeserializeOwned>(json: &Value) -> T {
    let text = json.to_string();
    match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(err) => panic!("{} failed to decode: {err}\n{text}", std::any::type_name::<T>()),
    }
}

/// Decodes `json`, which must fail, and returns the error message.
#[track_caller]
fn decode_err<T: DeserializeOwned + Debug>(json: &Value) -> String {
    match serde_json::from_str::<T>(&json.to_string()) {
        Ok(value) => panic!("{} decoded but should not have: {value:?}", std::any::type_name::<T>()),
        Err(err) => err.to_string(),
    }
}

#[track_caller]
fn encode<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("serializes")
}

/// Decodes `json` and checks that serializing the result gives `json` back.
#[track_caller]
fn assert_round_trip<T: DeserializeOwned + Serialize>(json: &Value) -> T {
    let decoded: T = decode(json);
    assert_eq!(encode(&decoded), *json, "{} did not round-trip", std::any::type_name::<T>());
    decoded
}

/// A JSON object literal as the `Map` that free-form fields hold.
#[track_caller]
fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Removes every key starting with `future_`, at any depth.
fn strip_future_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.starts_with("future_"));
            map.values_mut().for_each(strip_future_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_future_fields),
        _ => {}
    }
}

/// Counts the keys starting with `future_`, at any depth.
fn count_future_fields(value: &Value) -> usize {
    match value {
        Value::Object(map) => {
            map.keys().filter(|key| key.starts_with("future_")).count()
                + map.values().map(count_future_fields).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(count_future_fields).sum(),
        _ => 0,
    }
}

// ----------------------------------------------------------------- fixtures

fn order_parameters_schema() -> Value {
    json!({
        "order_number": {"type": "string", "description": "Order number, such as A-1001"},
        "include_items": {"type": "boolean"}
    })
}

fn triage_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "queue": {"type": "string", "enum": ["billing", "shipping", "other"]},
            "urgent": {"type": "boolean"}
        },
        "required": ["queue", "urgent"],
        "additionalProperties": false
    })
}

fn deployment_list_json() -> Value {
    json!({
        "object": "list",
        "data": [
            {
                "id": "0b6f4a8e-3c2d-4e71-9a5b-2f1d8c7e6a90",
                "created": "2025-03-14T09:21:07.512Z",
                "updated": "2025-04-02T16:45:33.004Z",
                "key": "support-triage",
                "description": "Sorts incoming support tickets into queues",
                "prompt_config": {
                    "tools": [
                        {
                            "id": 1,
                            "type": "function",
                            "function": {
                                "name": "lookup_order",
                                "description": "Find an order by its number",
                                "strict": true,
                                "parameters": {
                                    "type": "object",
                                    "properties": order_parameters_schema(),
                                    "required": ["order_number"],
                                    "additionalProperties": false
                                }
                            }
                        },
                        {
                            "type": "function",
                            "function": {
                                "name": "escalate",
                                "parameters": {"type": "object", "properties": {}}
                            }
                        }
                    ],
                    "model": "gpt-4o",
                    "model_type": "chat",
                    "model_parameters": {
                        "temperature": 0.2,
                        "maxTokens": 1024,
                        "topP": 1,
                        "frequencyPenalty": 0,
                        "presencePenalty": 0.5,
                        "seed": 42,
                        "responseFormat": {
                            "type": "json_schema",
                            "json_schema": {"name": "triage", "strict": true, "schema": triage_schema()}
                        }
                    },
                    "provider": "openai",
                    "messages": [
                        {"role": "system", "content": "You sort support tickets for {{company}}."},
                        {
                            "role": "user",
                            "content": [
                                {"type": "text", "text": "Ticket: {{ticket}}"},
                                {
                                    "type": "image_url",
                                    "image_url": {
                                        "id": "01JQ8Z6M2Y3TQ4J7R8V9W0X1Y2",
                                        "url": "https://cdn.example.com/tickets/4821.png",
                                        "detail": "high"
                                    }
                                }
                            ]
                        },
                        {
                            "role": "assistant",
                            "content": "",
                            "tool_calls": [
                                {
                                    "id": "call_7QhR2xK",
                                    "index": 0,
                                    "type": "function",
                                    "function": {
                                        "name": "lookup_order",
                                        "arguments": "{\"order_number\":\"A-1001\"}"
                                    }
                                }
                            ]
                        }
                    ]
                },
                "version": "v3"
            },
            {
                "id": "5d2c9e17-8a44-4b0f-b3e6-71f0a2c4d8b5",
                "created": "2025-02-01T08:00:00.000Z",
                "updated": "2025-02-01T08:00:00.000Z",
                "key": "release-notes-summary",
                "description": "",
                "prompt_config": {
                    "tools": [],
                    "model": "claude-3-5-sonnet-20241022",
                    "model_type": "chat",
                    "model_parameters": {
                        "temperature": 1,
                        "maxTokens": 4096,
                        "topK": 40,
                        "budgetTokens": 0,
                        "reasoningEffort": "medium",
                        "responseFormat": null
                    },
                    "provider": "anthropic",
                    "messages": [
                        {"role": "system", "content": "Summarize release notes in three bullet points."},
                        {"role": "user", "content": "{{notes}}"}
                    ]
                },
                "version": "1.0.2"
            }
        ],
        "has_more": true
    })
}

fn deployment_config_json() -> Value {
    json!({
        "id": "01JR3V2Q8K5N7P9S1T3W5Y7Z9B",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "type": "chat",
        "version": "v3",
        "messages": [
            {"role": "system", "content": "You sort support tickets for Acme."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Ticket: my parcel is late"},
                    {
                        "type": "image_url",
                        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}
                    }
                ]
            }
        ],
        "parameters": {"temperature": 0.2, "maxTokens": 512, "responseFormat": {"type": "json_object"}},
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "lookup_order",
                    "description": "Find an order by its number",
                    "parameters": {
                        "type": "object",
                        "properties": order_parameters_schema(),
                        "required": ["order_number"]
                    }
                }
            },
            {"type": "function", "function": {"name": "escalate"}}
        ]
    })
}

/// `deployment_config_json()` with its integer-valued `number` field written as a
/// float, so that it round-trips exactly: such fields decode into `f64` and are
/// written back as `512.0` (see `number_fields_are_written_back_as_floats`).
fn deployment_config_json_with_float_counts() -> Value {
    let mut json = deployment_config_json();
    json["parameters"]["maxTokens"] = json!(512.0);
    json
}

fn invoke_content_json() -> Value {
    json!({
        "id": "01JR3W8D4F6H8J0K2M4N6P8R0T",
        "created": "2025-04-10T12:00:01.123Z",
        "object": "chat",
        "model": "gpt-4o",
        "provider": "openai",
        "is_final": true,
        "integration_id": "01HZX4T6V8W0Y2A4C6E8G0J2L4",
        "finalized": "2025-04-10T12:00:02.456Z",
        "system_fingerprint": "fp_6b68a8204b",
        "provider_response": {
            "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            "object": "chat.completion",
            "usage": {"prompt_tokens": 52, "completion_tokens": 9, "total_tokens": 61}
        },
        "choices": [
            {
                "index": 0,
                "message": {"type": "content", "role": "assistant", "content": "Your parcel ships tomorrow."},
                "finish_reason": "stop"
            }
        ]
    })
}

fn invoke_tool_calls_json() -> Value {
    json!({
        "id": "01JR3WA1B3C5D7E9F1G3H5J7K9",
        "created": "2025-04-10T12:05:00.000Z",
        "object": "chat",
        "model": "gpt-4o",
        "provider": "azure",
        "is_final": true,
        "choices": [
            {
                "index": 0,
                "message": {
                    "type": "tool_calls",
                    "role": "assistant",
                    "content": null,
                    "tool_calls": [
                        {
                            "id": "call_7QhR2xK",
                            "index": 0,
                            "type": "function",
                            "function": {"name": "lookup_order", "arguments": "{\"order_number\":\"A-1001\"}"}
                        },
                        {
                            "id": "call_9TzP4aM",
                            "index": 1,
                            "type": "function",
                            "function": {"name": "escalate", "arguments": "{}"}
                        }
                    ]
                },
                "finish_reason": "tool_calls"
            }
        ]
    })
}

fn invoke_retrievals_json() -> Value {
    json!({
        "id": "01JR3WC0D2E4F6G8H0J2K4M6N8",
        "created": "2025-04-10T12:10:00.000Z",
        "object": "chat",
        "model": "command-r-plus",
        "provider": "cohere",
        "is_final": true,
        "finalized": "2025-04-10T12:10:03.210Z",
        "system_fingerprint": null,
        "retrievals": [
            {
                "document": "Parcels ship within two business days.",
                "metadata": {
                    "file_name": "shipping-policy.pdf",
                    "page_number": 4,
                    "file_type": "pdf",
                    "rerank_score": 0.91,
                    "search_score": 0.83
                }
            },
            {
                "document": "Returns are free for 30 days.",
                "metadata": {
                    "file_name": "faq.md",
                    "page_number": null,
                    "file_type": "md",
                    "search_score": 0.64
                }
            }
        ],
        "provider_response": {
            "response_id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
            "text": "Parcels ship within two business days.",
            "citations": [{"start": 0, "end": 7, "document_ids": ["doc_0"]}],
            "meta": {"billed_units": {"input_tokens": 310, "output_tokens": 9}, "warnings": null}
        },
        "choices": [
            {
                "index": 0,
                "message": {
                    "type": "content",
                    "role": "assistant",
                    "content": "Parcels ship within two business days."
                },
                "finish_reason": "stop"
            }
        ]
    })
}

fn stream_chunk_json() -> Value {
    json!({
        "id": "01JR3WE5F7G9H1J3K5M7N9P1Q3",
        "created": "2025-04-10T12:15:00.000Z",
        "object": "chat",
        "model": "gpt-4o",
        "provider": "openai",
        "is_final": false,
        "integration_id": "01HZX4T6V8W0Y2A4C6E8G0J2L4",
        "system_fingerprint": "fp_6b68a8204b",
        "provider_response": null,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "Your parcel"}, "finish_reason": null}
        ]
    })
}

// ------------------------------------------------ 1. decoding real responses

#[test]
fn deployment_list_page_decodes_with_full_prompt_config() {
    let page: DeploymentList = decode(&deployment_list_json());

    assert_eq!(page.object, Some(ListObject::List));
    assert!(page.has_more);
    assert_eq!(page.data.len(), 2);
    assert_eq!(page.next_cursor(), Some("5d2c9e17-8a44-4b0f-b3e6-71f0a2c4d8b5"));

    let first = &page.data[0];
    assert_eq!(first.id, "0b6f4a8e-3c2d-4e71-9a5b-2f1d8c7e6a90");
    assert_eq!(first.created, "2025-03-14T09:21:07.512Z");
    assert_eq!(first.updated, "2025-04-02T16:45:33.004Z");
    assert_eq!(first.key, "support-triage");
    assert_eq!(first.description, "Sorts incoming support tickets into queues");
    assert_eq!(first.version, "v3");
    let expected = PromptConfig {
        tools: vec![
            DeploymentTool {
                id: Some(1.0),
                type_: Some(ToolType::Function),
                function: FunctionDefinition {
                    name: "lookup_order".into(),
                    description: Some("Find an order by its number".into()),
                    strict: Some(true),
                    parameters: Some(FunctionParameters {
                        type_: Some(ParametersType::Object),
                        properties: obj(order_parameters_schema()),
                        required: vec!["order_number".into()],
                        additional_properties: Some(false),
                        extra: Map::new(),
                    }),
                },
                display_name: None,
            },
            DeploymentTool {
                id: None,
                type_: Some(ToolType::Function),
                function: FunctionDefinition {
                    name: "escalate".into(),
                    description: None,
                    strict: None,
                    parameters: Some(FunctionParameters {
                        type_: Some(ParametersType::Object),
                        properties: Map::new(),
                        required: vec![],
                        additional_properties: None,
                        extra: Map::new(),
                    }),
                },
                display_name: None,
            },
        ],
        model: "gpt-4o".into(),
        model_type: Some(ModelType::Chat),
        model_parameters: ModelParameters {
            temperature: Some(0.2),
            max_tokens: Some(1024.0),
            top_p: Some(1.0),
            frequency_penalty: Some(0.0),
            presence_penalty: Some(0.5),
            seed: Some(42.0),
            response_format: Some(ResponseFormat::JsonSchema(JsonSchemaFormat {
                display_name: None,
                json_schema: JsonSchemaSpec {
                    name: "triage".into(),
                    description: None,
                    strict: Some(true),
                    schema: obj(triage_schema()),
                },
            })),
            ..ModelParameters::default()
        },
        provider: Some(Provider::Openai),
        model_db_id: None,
        integration_id: None,
        version: None,
        messages: vec![
            PromptMessage {
                role: Some(Role::System),
                content: Some(PromptContent::Text("You sort support tickets for {{company}}.".into())),
                tool_calls: vec![],
                tool_call_id: None,
                id: None,
            },
            PromptMessage {
                role: Some(Role::User),
                content: Some(PromptContent::Parts(vec![
                    PromptContentPart::Text(PromptTextPart { text: "Ticket: {{ticket}}".into() }),
                    PromptContentPart::ImageUrl(PromptImagePart {
                        image_url: PromptImage {
                            id: Some("01JQ8Z6M2Y3TQ4J7R8V9W0X1Y2".into()),
                            url: "https://cdn.example.com/tickets/4821.png".into(),
                            detail: Some("high".into()),
                        },
                    }),
                ])),
                tool_calls: vec![],
                tool_call_id: None,
                id: None,
            },
            PromptMessage {
                role: Some(Role::Assistant),
                content: Some(PromptContent::Text(String::new())),
                tool_calls: vec![ToolCall {
                    id: Some("call_7QhR2xK".into()),
                    index: Some(Count::from(0u64)),
                    type_: Some(ToolType::Function),
                    function: FunctionCall {
                        name: "lookup_order".into(),
                        arguments: "{\"order_number\":\"A-1001\"}".into(),
                    },
                }],
                tool_call_id: None,
                id: None,
            },
        ],
    };
    assert_eq!(first.prompt_config, expected);

    let second = &page.data[1];
    assert_eq!(second.key, "release-notes-summary");
    assert_eq!(second.description, "");
    assert_eq!(second.version, "1.0.2");
    let config = &second.prompt_config;
    assert!(config.tools.is_empty());
    assert_eq!(config.model, "claude-3-5-sonnet-20241022");
    assert_eq!(config.provider, Some(Provider::Anthropic));
    assert_eq!(
        config.model_parameters,
        ModelParameters {
            temperature: Some(1.0),
            max_tokens: Some(4096.0),
            top_k: Some(40.0),
            budget_tokens: Some(0.0),
            reasoning_effort: Some(ReasoningEffort::Medium),
            response_format: None,
            ..ModelParameters::default()
        }
    );
    assert_eq!(config.messages.len(), 2);
    assert_eq!(config.messages[1].role, Some(Role::User));
    assert_eq!(config.messages[1].content, Some(PromptContent::Text("{{notes}}".into())));
}

#[test]
fn last_deployment_page_has_no_next_cursor() {
    let mut json = deployment_list_json();
    json["has_more"] = json!(false);
    let page: DeploymentList = decode(&json);
    assert!(!page.has_more);
    assert_eq!(page.next_cursor(), None);

    let empty: DeploymentList = decode(&json!({"object": "list", "data": [], "has_more": false}));
    assert!(empty.data.is_empty());
    assert_eq!(empty.next_cursor(), None);
}

#[test]
fn deployment_list_missing_a_required_field_still_decodes() {
    // Both upstream revisions require `prompt_config`; a page without it is not lost.
    let mut json = deployment_list_json();
    json["data"][0].as_object_mut().unwrap().remove("prompt_config");
    let page: DeploymentList = decode(&json);
    assert_eq!(page.data[0].prompt_config, PromptConfig::default());
    assert_eq!(page.data[0].key, "support-triage");
    assert_eq!(page.data[1], decode::<DeploymentList>(&deployment_list_json()).data[1]);
}

#[test]
fn model_parameters_of_image_and_embedding_models_decode() {
    let image: ModelParameters = decode(&json!({
        "numImages": 2,
        "format": "b64_json",
        "dimensions": "1024x1024",
        "quality": "hd",
        "style": "vivid",
        "photoRealVersion": "v2",
        "seed": 7
    }));
    assert_eq!(
        image,
        ModelParameters {
            num_images: Some(2.0),
            format: Some(OutputFormat::B64Json),
            dimensions: Some("1024x1024".into()),
            quality: Some(ImageQuality::Hd),
            style: Some("vivid".into()),
            photo_real_version: Some(PhotoRealVersion::V2),
            seed: Some(7.0),
            ..ModelParameters::default()
        }
    );

    let embedding: ModelParameters = decode(&json!({"encoding_format": "base64"}));
    assert_eq!(embedding.encoding_format, Some(EncodingFormat::Base64));
    assert_eq!(embedding.response_format, None);

    let empty: ModelParameters = decode(&json!({}));
    assert_eq!(empty, ModelParameters::default());
    assert_eq!(encode(&empty), json!({}), "unset parameters are omitted, never null");
}

#[test]
fn number_fields_are_written_back_as_floats() {
    // Upstream declares the model parameters `number`, so they are `f64`: the
    // value is kept, but an integer comes back in float notation.
    let parameters: ModelParameters = decode(&json!({"maxTokens": 512, "seed": 42, "topK": 40}));
    assert_eq!(parameters.max_tokens, Some(512.0));
    assert_eq!(serde_json::to_string(&parameters).unwrap(), r#"{"maxTokens":512.0,"seed":42.0,"topK":40.0}"#);
}

#[test]
fn response_format_variants_round_trip() {
    let schema = json!({
        "type": "json_schema",
        "json_schema": {"name": "triage", "strict": false, "schema": triage_schema()}
    });
    let decoded: ResponseFormat = assert_round_trip(&schema);
    assert_eq!(
        decoded,
        ResponseFormat::JsonSchema(JsonSchemaFormat {
            display_name: None,
            json_schema: JsonSchemaSpec {
                name: "triage".into(),
                description: None,
                strict: Some(false),
                schema: obj(triage_schema())
            }
        })
    );

    let object: ResponseFormat = assert_round_trip(&json!({"type": "json_object"}));
    assert_eq!(object, ResponseFormat::JsonObject);

    let null: ModelParameters = decode(&json!({"responseFormat": null, "temperature": 0.7}));
    assert_eq!(null.response_format, None);
    assert_eq!(null.temperature, Some(0.7));
}

#[test]
fn deployment_config_decodes() {
    let config: DeploymentConfig = decode(&deployment_config_json());

    let expected = DeploymentConfig {
        id: "01JR3V2Q8K5N7P9S1T3W5Y7Z9B".into(),
        provider: "openai".into(),
        model: "gpt-4o-mini".into(),
        type_: Some(ModelType::Chat),
        version: "v3".into(),
        messages: vec![
            PromptMessage {
                role: Some(Role::System),
                content: Some(PromptContent::Text("You sort support tickets for Acme.".into())),
                tool_calls: vec![],
                tool_call_id: None,
                id: None,
            },
            PromptMessage {
                role: Some(Role::User),
                content: Some(PromptContent::Parts(vec![
                    PromptContentPart::Text(PromptTextPart { text: "Ticket: my parcel is late".into() }),
                    PromptContentPart::ImageUrl(PromptImagePart {
                        image_url: PromptImage {
                            id: None,
                            url: "data:image/png;base64,iVBORw0KGgo=".into(),
                            detail: Some("low".into()),
                        },
                    }),
                ])),
                tool_calls: vec![],
                tool_call_id: None,
                id: None,
            },
        ],
        parameters: ModelParameters {
            temperature: Some(0.2),
            max_tokens: Some(512.0),
            response_format: Some(ResponseFormat::JsonObject),
            ..ModelParameters::default()
        },
        tools: vec![
            ConfigTool {
                type_: Some(ToolType::Function),
                function: ConfigFunction {
                    name: "lookup_order".into(),
                    description: Some("Find an order by its number".into()),
                    parameters: obj(json!({
                        "type": "object",
                        "properties": order_parameters_schema(),
                        "required": ["order_number"]
                    })),
                },
            },
            ConfigTool {
                type_: Some(ToolType::Function),
                function: ConfigFunction {
                    name: "escalate".into(),
                    description: None,
                    parameters: Map::new(),
                },
            },
        ],
    };
    assert_eq!(config, expected);

    // `type` and `tools` are optional upstream.
    let mut minimal = deployment_config_json();
    minimal.as_object_mut().unwrap().remove("type");
    minimal.as_object_mut().unwrap().remove("tools");
    let minimal: DeploymentConfig = decode(&minimal);
    assert_eq!(minimal.type_, None);
    assert!(minimal.tools.is_empty());
}

#[test]
fn invoke_response_with_content_message_decodes() {
    let response: InvokeResponse = decode(&invoke_content_json());

    assert_eq!(response.id, "01JR3W8D4F6H8J0K2M4N6P8R0T");
    assert_eq!(response.created, "2025-04-10T12:00:01.123Z");
    assert_eq!(response.object, Some(GenerationObject::Chat));
    assert_eq!(response.model, "gpt-4o");
    assert_eq!(response.provider, Some(Provider::Openai));
    assert!(response.is_final);
    assert_eq!(response.integration_id.as_deref(), Some("01HZX4T6V8W0Y2A4C6E8G0J2L4"));
    assert_eq!(response.finalized.as_deref(), Some("2025-04-10T12:00:02.456Z"));
    assert_eq!(response.system_fingerprint.as_deref(), Some("fp_6b68a8204b"));
    assert!(response.retrievals.is_empty());
    assert_eq!(response.provider_response.as_ref().unwrap()["usage"]["total_tokens"], json!(61));
    assert_eq!(
        response.choices,
        vec![Choice {
            index: Count::from(0u64),
            message: Some(ChoiceMessage::Content(ContentMessage {
                role: Role::Assistant,
                content: Some("Your parcel ships tomorrow.".into()),
                reasoning: None,
                reasoning_signature: None,
                redacted_reasoning: None,
            })),
            finish_reason: Some("stop".into()),
        }]
    );
    assert_eq!(response.text(), Some("Your parcel ships tomorrow."));
}

#[test]
fn invoke_response_with_tool_calls_message_decodes() {
    let response: InvokeResponse = decode(&invoke_tool_calls_json());

    assert_eq!(response.provider, Some(Provider::Azure));
    assert_eq!(response.integration_id, None);
    assert_eq!(response.finalized, None);
    assert_eq!(response.system_fingerprint, None);
    assert_eq!(response.provider_response, None);
    assert_eq!(response.choices.len(), 1);
    let choice = &response.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(
        choice.message,
        Some(ChoiceMessage::ToolCalls(ToolCallsMessage {
            role: Role::Assistant,
            content: None,
            reasoning: None,
            reasoning_signature: None,
            redacted_reasoning: None,
            tool_calls: vec![
                ToolCall {
                    id: Some("call_7QhR2xK".into()),
                    index: Some(Count::from(0u64)),
                    type_: Some(ToolType::Function),
                    function: FunctionCall {
                        name: "lookup_order".into(),
                        arguments: "{\"order_number\":\"A-1001\"}".into(),
                    },
                },
                ToolCall {
                    id: Some("call_9TzP4aM".into()),
                    index: Some(Count::from(1u64)),
                    type_: Some(ToolType::Function),
                    function: FunctionCall { name: "escalate".into(), arguments: "{}".into() },
                },
            ],
        }))
    );
    assert_eq!(response.text(), None);

    // `content` is optional on a tool_calls message: absent works as well as null.
    let mut json = invoke_tool_calls_json();
    json["choices"][0]["message"].as_object_mut().unwrap().remove("content");
    let without: InvokeResponse = decode(&json);
    assert_eq!(without, response);

    // Text sent along with the calls is kept.
    json["choices"][0]["message"]["content"] = json!("Let me look that up.");
    let with_text: InvokeResponse = decode(&json);
    assert_eq!(with_text.text(), Some("Let me look that up."));
}

#[test]
fn invoke_response_with_retrievals_and_nulls_decodes() {
    let json = invoke_retrievals_json();
    let response: InvokeResponse = decode(&json);

    assert_eq!(response.provider, Some(Provider::Cohere));
    assert_eq!(response.system_fingerprint, None);
    assert_eq!(
        response.retrievals,
        vec![
            Retrieval {
                document: "Parcels ship within two business days.".into(),
                metadata: RetrievalMetadata {
                    file_name: "shipping-policy.pdf".into(),
                    page_number: Some(4.0),
                    file_type: "pdf".into(),
                    rerank_score: Some(0.91),
                    search_score: Some(0.83),
                },
            },
            Retrieval {
                document: "Returns are free for 30 days.".into(),
                metadata: RetrievalMetadata {
                    file_name: "faq.md".into(),
                    page_number: None,
                    file_type: "md".into(),
                    rerank_score: None,
                    search_score: Some(0.64),
                },
            },
        ]
    );
    // The provider's raw response is kept exactly, whatever its shape.
    assert_eq!(response.provider_response.as_ref(), Some(&json["provider_response"]));
    assert_eq!(response.text(), Some("Parcels ship within two business days."));

    // `page_number` is required (nullable) upstream: leaving it out still decodes.
    let mut missing = json.clone();
    missing["retrievals"][1]["metadata"].as_object_mut().unwrap().remove("page_number");
    let decoded: InvokeResponse = decode(&missing);
    assert_eq!(decoded.retrievals[1].metadata.page_number, None);
}

#[test]
fn invoke_response_provider_response_may_be_any_json() {
    for raw in [json!([1, "two", {"three": 3}]), json!("plain text"), json!(12.5), json!(false)] {
        let mut json = invoke_content_json();
        json["provider_response"] = raw.clone();
        let response: InvokeResponse = decode(&json);
        assert_eq!(response.provider_response, Some(raw));
    }
    let mut json = invoke_content_json();
    json["provider_response"] = Value::Null;
    let response: InvokeResponse = decode(&json);
    assert_eq!(response.provider_response, None);
}

#[test]
fn invoke_response_with_image_and_null_content_messages_decodes() {
    let response: InvokeResponse = decode(&json!({
        "id": "01JR3WG2H4J6K8M0N2P4Q6R8S0",
        "created": "2025-04-10T12:20:00.000Z",
        "object": "image",
        "model": "leonardo-phoenix",
        "provider": "leonardoai",
        "is_final": true,
        "choices": [
            {
                "index": 0,
                "message": {"type": "image", "role": "assistant", "url": "https://cdn.example.com/gen/1.png"},
                "finish_reason": null
            },
            {"index": 1, "message": {"type": "content", "role": "assistant", "content": null}}
        ]
    }));
    assert_eq!(response.object, Some(GenerationObject::Image));
    assert_eq!(response.provider, Some(Provider::Leonardoai));
    assert_eq!(
        response.choices[0].message,
        Some(ChoiceMessage::Image(ImageMessage {
            role: Role::Assistant,
            url: "https://cdn.example.com/gen/1.png".into()
        }))
    );
    assert_eq!(response.choices[0].finish_reason, None);
    assert_eq!(response.choices[1].index, 1);
    assert_eq!(
        response.choices[1].message,
        Some(ChoiceMessage::Content(ContentMessage {
            role: Role::Assistant,
            content: None,
            reasoning: None,
            reasoning_signature: None,
            redacted_reasoning: None,
        }))
    );
    assert_eq!(response.text(), None);
}

#[test]
fn choice_content_message_without_content_key_decodes() {
    // 2025-04 requires `content` (nullable) on a content message; a body without it still decodes.
    let choice: Choice = decode(&json!({"index": 0, "message": {"type": "content", "role": "assistant"}}));
    assert_eq!(choice.message.as_ref().and_then(ChoiceMessage::text), None);
    assert!(matches!(choice.message, Some(ChoiceMessage::Content(_))), "{choice:?}");
}

#[test]
fn stream_chunk_decodes() {
    let chunk: StreamChunk = decode(&stream_chunk_json());
    assert_eq!(chunk.id.as_deref(), Some("01JR3WE5F7G9H1J3K5M7N9P1Q3"));
    assert_eq!(chunk.created.as_deref(), Some("2025-04-10T12:15:00.000Z"));
    assert_eq!(chunk.object, Some(GenerationObject::Chat));
    assert_eq!(chunk.model.as_deref(), Some("gpt-4o"));
    assert_eq!(chunk.provider, Some(Provider::Openai));
    assert_eq!(chunk.is_final, Some(false));
    assert_eq!(chunk.integration_id.as_deref(), Some("01HZX4T6V8W0Y2A4C6E8G0J2L4"));
    assert_eq!(chunk.finalized, None);
    assert_eq!(chunk.system_fingerprint.as_deref(), Some("fp_6b68a8204b"));
    assert_eq!(chunk.provider_response, None);
    assert_eq!(
        chunk.choices,
        vec![StreamChoice {
            index: Count::from(0u64),
            message: Some(StreamMessage {
                role: Some(Role::Assistant),
                content: Some("Your parcel".into()),
                tool_calls: vec![],
                url: None,
                type_: None,
                reasoning: None,
                reasoning_signature: None,
                redacted_reasoning: None,
            }),
            finish_reason: None,
        }]
    );
    assert_eq!(chunk.text(), "Your parcel");
    assert_eq!(chunk.finish_reason(), None);
}

#[test]
fn final_and_tool_call_stream_chunks_decode() {
    let last: StreamChunk = decode(&json!({
        "id": "01JR3WE5F7G9H1J3K5M7N9P1Q3",
        "object": "chat",
        "provider": "openai",
        "is_final": true,
        "finalized": "2025-04-10T12:15:01.900Z",
        "system_fingerprint": null,
        "retrievals": [
            {
                "document": "Parcels ship within two business days.",
                "metadata": {"file_name": "policy.pdf", "page_number": 2, "file_type": "pdf", "search_score": 0.7}
            }
        ],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null}, "finish_reason": "stop"}]
    }));
    assert_eq!(last.is_final, Some(true));
    assert_eq!(last.finalized.as_deref(), Some("2025-04-10T12:15:01.900Z"));
    assert_eq!(last.system_fingerprint, None);
    assert_eq!(last.retrievals.len(), 1);
    assert_eq!(last.retrievals[0].metadata.page_number, Some(2.0));
    assert_eq!(last.text(), "");
    assert_eq!(last.finish_reason(), Some("stop"));

    let tools: StreamChunk = decode(&json!({
        "is_final": false,
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "tool_calls": [{
                    "id": "call_7QhR2xK",
                    "index": 0,
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": "{\"order_"}
                }]
            }
        }]
    }));
    let message = tools.choices[0].message.as_ref().unwrap();
    assert_eq!(message.content, None);
    assert_eq!(message.tool_calls[0].function.name, "lookup_order");
    assert_eq!(message.tool_calls[0].function.arguments, "{\"order_");
    assert_eq!(tools.text(), "");

    let image: StreamChunk = decode(
        &json!({"choices": [{"index": 0, "message": {"role": "assistant", "url": "https://x.test/a.png"}}]}),
    );
    assert_eq!(image.choices[0].message.as_ref().unwrap().url.as_deref(), Some("https://x.test/a.png"));

    // Every chunk field is optional; a choice without a message is a valid piece.
    let bare: StreamChunk = decode(&json!({"choices": [{"index": 2}]}));
    assert_eq!(
        bare.choices[0],
        StreamChoice { index: Count::from(2u64), message: None, finish_reason: None }
    );
    assert_eq!(decode::<StreamChunk>(&json!({})), StreamChunk::default());
}

#[test]
fn stream_event_wraps_a_chunk() {
    let event: StreamEvent = decode(&json!({"data": stream_chunk_json()}));
    let expected: StreamChunk = decode(&stream_chunk_json());
    assert_eq!(event.data, Some(expected));
    assert_eq!(event.data.as_ref().unwrap().text(), "Your parcel");

    let empty: StreamEvent = decode(&json!({}));
    assert_eq!(empty.data, None);
    assert_eq!(encode(&empty), json!({}));
}

#[test]
fn error_body_decodes() {
    let full: ErrorBody = decode(&json!({"code": "500", "message": "Internal server error"}));
    assert_eq!(
        full,
        ErrorBody {
            code: Some("500".into()),
            message: "Internal server error".into(),
            extra: Default::default()
        }
    );

    let bare: ErrorBody = decode(&json!({"message": "Deployment not found"}));
    assert_eq!(bare.code, None);
    assert_eq!(bare.message, "Deployment not found");
    assert_eq!(encode(&bare), json!({"message": "Deployment not found"}));

    let err = decode_err::<ErrorBody>(&json!({"code": "500"}));
    assert!(err.contains("missing field `message`"), "{err}");
}

// ---------------------------------------------- 2. unknown enum values (open)

#[test]
fn open_enums_read_the_same_from_every_kind_of_input() {
    // Escaped text (decoded through serde_json's scratch buffer), a `Value`
    // (borrowed or owned), and bytes all give the same variant.
    assert_eq!(serde_json::from_str::<Role>(r#""assist\u0061nt""#).unwrap(), Role::Assistant);
    assert_eq!(serde_json::from_str::<Role>(r#""new\u0020role""#).unwrap(), Role::Other("new role".into()));
    assert_eq!(serde_json::from_slice::<Provider>(br#""openai""#).unwrap(), Provider::Openai);
    assert_eq!(Role::deserialize(&json!("system")).unwrap(), Role::System);
    assert_eq!(serde_json::from_value::<Role>(json!("critic")).unwrap(), Role::Other("critic".into()));
    let err = decode_err::<Role>(&json!(7));
    assert!(err.contains("invalid type: integer `7`, expected a string"), "{err}");
}

#[test]
fn open_enums_decode_unknown_values_into_other() {
    assert_eq!(decode::<Provider>(&json!("acme-ai")), Provider::Other("acme-ai".into()));
    assert_eq!(decode::<Provider>(&json!("google-ai")), Provider::GoogleAi);
    assert_eq!(decode::<Role>(&json!("reviewer")), Role::Other("reviewer".into()));
    assert_eq!(decode::<Role>(&json!("expected_output")), Role::ExpectedOutput);
    assert_eq!(decode::<ModelType>(&json!("video")), ModelType::Other("video".into()));
    assert_eq!(decode::<GenerationObject>(&json!("audio")), GenerationObject::Other("audio".into()));
    assert_eq!(decode::<OutputFormat>(&json!("webp")), OutputFormat::Other("webp".into()));
    assert_eq!(decode::<ImageQuality>(&json!("ultra")), ImageQuality::Other("ultra".into()));
    assert_eq!(decode::<EncodingFormat>(&json!("binary")), EncodingFormat::Other("binary".into()));
    assert_eq!(decode::<PhotoRealVersion>(&json!("v3")), PhotoRealVersion::Other("v3".into()));
    assert_eq!(decode::<ReasoningEffort>(&json!("extreme")), ReasoningEffort::Other("extreme".into()));
    assert_eq!(decode::<ListObject>(&json!("page")), ListObject::Other("page".into()));
    assert_eq!(decode::<ToolType>(&json!("web_search")), ToolType::Other("web_search".into()));
    assert_eq!(decode::<ParametersType>(&json!("array")), ParametersType::Other("array".into()));

    // Values are case-sensitive: a known word in another case is unknown, and kept as sent.
    assert_eq!(decode::<Provider>(&json!("OpenAI")), Provider::Other("OpenAI".into()));

    // Other(..) serializes back to the very string it came from.
    assert_eq!(encode(&Provider::Other("acme-ai".into())), json!("acme-ai"));
    assert_eq!(encode(&Role::Other("reviewer".into())), json!("reviewer"));
    assert_eq!(encode(&Provider::GoogleAi), json!("google-ai"));

    // Open enums still only accept strings.
    let err = decode_err::<Provider>(&json!(3));
    assert!(err.contains("invalid type"), "{err}");
}

#[test]
fn unknown_enum_values_at_top_level_round_trip() {
    let mut json = invoke_content_json();
    json["provider"] = json!("acme-ai");
    json["object"] = json!("audio");
    let response: InvokeResponse = assert_round_trip(&json);
    let provider = response.provider.as_ref().unwrap();
    assert_eq!(*provider, Provider::Other("acme-ai".into()));
    assert!(!provider.is_known());
    assert_eq!(provider.as_str(), "acme-ai");
    assert_eq!(response.object, Some(GenerationObject::Other("audio".into())));
    assert_eq!(response.text(), Some("Your parcel ships tomorrow."));

    let page: DeploymentList = decode(&json!({"object": "cursor_page", "data": [], "has_more": false}));
    assert_eq!(encode(&page)["object"], json!("cursor_page"));
    assert_eq!(page.object, Some(ListObject::Other("cursor_page".into())));

    let mut config = deployment_config_json_with_float_counts();
    config["type"] = json!("video");
    let config: DeploymentConfig = assert_round_trip(&config);
    assert_eq!(config.type_, Some(ModelType::Other("video".into())));

    let mut chunk = stream_chunk_json();
    // Nulls are omitted on the way back; drop them so the round trip is exact.
    chunk.as_object_mut().unwrap().remove("provider_response");
    chunk["choices"][0].as_object_mut().unwrap().remove("finish_reason");
    chunk["provider"] = json!("acme-ai");
    chunk["object"] = json!("audio");
    let chunk: StreamChunk = assert_round_trip(&chunk);
    assert_eq!(chunk.provider, Some(Provider::Other("acme-ai".into())));
    assert_eq!(chunk.object, Some(GenerationObject::Other("audio".into())));
}

#[test]
fn unknown_enum_values_inside_prompt_config_round_trip() {
    let json = json!({
        "object": "list",
        "data": [{
            "id": "7a1e0c55-2b9d-4f63-8e07-c4d2b1a09f38",
            "created": "2025-04-01T00:00:00.000Z",
            "updated": "2025-04-01T00:00:00.000Z",
            "key": "clip-maker",
            "description": "Makes short clips",
            "prompt_config": {
                "tools": [{
                    "type": "web_search",
                    "function": {"name": "search", "parameters": {"type": "array", "properties": {"q": {"type": "string"}}}}
                }],
                "model": "acme-chat",
                "model_type": "video",
                "model_parameters": {
                    "temperature": 0.5,
                    "format": "webp",
                    "quality": "ultra",
                    "encoding_format": "binary",
                    "photoRealVersion": "v3",
                    "reasoningEffort": "extreme"
                },
                "provider": "acme-ai",
                "messages": [{"role": "system", "content": "Be concise."}]
            },
            "version": "v1"
        }],
        "has_more": false
    });
    let page: DeploymentList = assert_round_trip(&json);
    let config = &page.data[0].prompt_config;
    assert_eq!(config.provider, Some(Provider::Other("acme-ai".into())));
    assert_eq!(config.model_type, Some(ModelType::Other("video".into())));
    assert_eq!(config.tools[0].type_, Some(ToolType::Other("web_search".into())));
    let parameters = config.tools[0].function.parameters.as_ref().unwrap();
    assert_eq!(parameters.type_, Some(ParametersType::Other("array".into())));
    let parameters = &config.model_parameters;
    assert_eq!(parameters.format, Some(OutputFormat::Other("webp".into())));
    assert_eq!(parameters.quality, Some(ImageQuality::Other("ultra".into())));
    assert_eq!(parameters.encoding_format, Some(EncodingFormat::Other("binary".into())));
    assert_eq!(parameters.photo_real_version, Some(PhotoRealVersion::Other("v3".into())));
    assert_eq!(parameters.reasoning_effort, Some(ReasoningEffort::Other("extreme".into())));
    assert_eq!(config.messages[0].role, Some(Role::System));
}

#[test]
fn unknown_enum_values_inside_messages_round_trip() {
    let message: PromptMessage = assert_round_trip(&json!({
        "role": "reviewer",
        "content": [{"type": "text", "text": "Looks right."}],
        "tool_calls": [{"id": "call_1", "index": 0, "type": "custom", "function": {"name": "n", "arguments": "{}"}}]
    }));
    assert_eq!(message.role, Some(Role::Other("reviewer".into())));
    assert_eq!(message.tool_calls[0].type_, Some(ToolType::Other("custom".into())));

    let mut config = deployment_config_json_with_float_counts();
    config["messages"][1]["role"] = json!("reviewer");
    config["tools"][1]["type"] = json!("custom");
    let config: DeploymentConfig = assert_round_trip(&config);
    assert_eq!(config.messages[0].role, Some(Role::System));
    assert_eq!(config.messages[1].role, Some(Role::Other("reviewer".into())));
    assert_eq!(config.tools[1].type_, Some(ToolType::Other("custom".into())));
}

#[test]
fn unknown_enum_values_inside_choices_round_trip() {
    let mut json = invoke_tool_calls_json();
    json["choices"][0]["message"]["role"] = json!("reviewer");
    json["choices"][0]["message"]["tool_calls"][1]["type"] = json!("custom");
    // A null `content` is omitted on the way back; drop it so the round trip is exact.
    json["choices"][0]["message"].as_object_mut().unwrap().remove("content");
    let response: InvokeResponse = assert_round_trip(&json);
    let Some(ChoiceMessage::ToolCalls(message)) = &response.choices[0].message else {
        panic!("expected a tool_calls message: {:?}", response.choices[0].message);
    };
    assert_eq!(message.role, Role::Other("reviewer".into()));
    assert_eq!(message.tool_calls[0].type_, Some(ToolType::Function));
    assert_eq!(message.tool_calls[1].type_, Some(ToolType::Other("custom".into())));

    let mut json = invoke_content_json();
    json["choices"][0]["message"]["role"] = json!("expected_output");
    json["choices"].as_array_mut().unwrap().push(json!({
        "index": 1,
        "message": {"type": "image", "role": "reviewer", "url": "https://cdn.example.com/gen/2.png"}
    }));
    let response: InvokeResponse = assert_round_trip(&json);
    assert_eq!(
        response.choices[0].message,
        Some(ChoiceMessage::Content(ContentMessage {
            role: Role::ExpectedOutput,
            content: Some("Your parcel ships tomorrow.".into()),
            reasoning: None,
            reasoning_signature: None,
            redacted_reasoning: None,
        }))
    );
    assert_eq!(
        response.choices[1].message,
        Some(ChoiceMessage::Image(ImageMessage {
            role: Role::Other("reviewer".into()),
            url: "https://cdn.example.com/gen/2.png".into()
        }))
    );

    let chunk: StreamChunk = assert_round_trip(&json!({
        "choices": [{"index": 0, "message": {"role": "reviewer", "content": "ok"}}]
    }));
    assert_eq!(chunk.choices[0].message.as_ref().unwrap().role, Some(Role::Other("reviewer".into())));
}

// ------------------------------------------------- 3. unknown fields ignored

#[test]
fn unknown_fields_in_deployment_list_are_ignored() {
    let mut json = deployment_list_json();
    json["future_total"] = json!(42);
    let deployment = &mut json["data"][0];
    deployment["future_owner"] = json!({"id": "u_1", "email": "ops@example.com"});
    let config = &mut deployment["prompt_config"];
    config["future_fallbacks"] = json!([{"model": "gpt-4o-mini"}]);
    config["model_parameters"]["future_logprobs"] = json!(true);
    config["model_parameters"]["responseFormat"]["future_flag"] = json!(1);
    config["model_parameters"]["responseFormat"]["json_schema"]["future_description"] = json!("d");
    config["tools"][0]["future_created"] = json!("2025-01-01");
    config["tools"][0]["function"]["future_version"] = json!(2);
    config["messages"][0]["future_cache_control"] = json!({"type": "ephemeral"});
    config["messages"][1]["content"][0]["future_annotations"] = json!([]);
    config["messages"][1]["content"][1]["image_url"]["future_width"] = json!(640);
    config["messages"][2]["tool_calls"][0]["future_status"] = json!("done");
    config["messages"][2]["tool_calls"][0]["function"]["future_parsed"] = json!({"a": 1});
    assert_eq!(count_future_fields(&json), 13);

    let with_extras: DeploymentList = decode(&json);
    let mut stripped = json.clone();
    strip_future_fields(&mut stripped);
    assert_eq!(count_future_fields(&stripped), 0);
    assert_eq!(with_extras, decode::<DeploymentList>(&stripped));
    assert_eq!(with_extras, decode::<DeploymentList>(&deployment_list_json()));
    assert_eq!(count_future_fields(&encode(&with_extras)), 0, "unknown fields are dropped, not kept");
}

#[test]
fn unknown_fields_in_invoke_response_are_ignored() {
    let mut json = invoke_retrievals_json();
    json["future_usage"] = json!({"total_tokens": 61});
    json["choices"][0]["future_logprobs"] = Value::Null;
    json["choices"][0]["message"]["future_annotations"] = json!([{"type": "url_citation"}]);
    json["retrievals"][0]["future_chunk_id"] = json!("ch_1");
    json["retrievals"][0]["metadata"]["future_knowledge_id"] = json!("kb_1");
    assert_eq!(count_future_fields(&json), 5);
    let with_extras: InvokeResponse = decode(&json);
    assert_eq!(with_extras, decode::<InvokeResponse>(&invoke_retrievals_json()));

    let mut json = invoke_tool_calls_json();
    json["choices"][0]["message"]["future_reasoning"] = json!("thought about it");
    json["choices"][0]["message"]["tool_calls"][0]["future_status"] = json!("pending");
    let with_extras: InvokeResponse = decode(&json);
    assert_eq!(with_extras, decode::<InvokeResponse>(&invoke_tool_calls_json()));

    let mut json = deployment_config_json();
    json["future_routing_rule"] = json!("default");
    json["messages"][1]["future_name"] = json!("customer");
    json["parameters"]["future_stop"] = json!(["\n"]);
    json["tools"][0]["future_id"] = json!(3);
    json["tools"][0]["function"]["future_strict"] = json!(true);
    let with_extras: DeploymentConfig = decode(&json);
    assert_eq!(with_extras, decode::<DeploymentConfig>(&deployment_config_json()));
}

#[test]
fn unknown_fields_in_stream_chunks_are_ignored_and_in_errors_kept() {
    let mut chunk = stream_chunk_json();
    chunk["future_usage"] = Value::Null;
    chunk["choices"][0]["future_delta"] = json!({});
    chunk["choices"][0]["message"]["future_refusal"] = Value::Null;
    let event = json!({"data": chunk, "future_event": "message", "future_retry": 3000});
    let decoded: StreamEvent = decode(&event);
    assert_eq!(decoded.data, Some(decode::<StreamChunk>(&stream_chunk_json())));

    // An error body keeps what it does not know: it is shown to the user as is.
    let raw = json!({"message": "Bad request", "future_details": [{"path": "key"}]});
    let error: ErrorBody = decode(&raw);
    assert_eq!(error.message, "Bad request");
    assert_eq!(error.extra.get("future_details"), Some(&json!([{"path": "key"}])));
    assert_eq!(encode(&error), raw);
}

// ------------------------------------------------ 4. discriminator tags exact

#[test]
fn unknown_choice_message_type_is_kept_as_other() {
    let mut json = invoke_content_json();
    let audio = json!({"type": "audio", "role": "assistant", "audio": {"id": "au_1"}});
    json["choices"][0]["message"] = audio.clone();
    let response: InvokeResponse = assert_round_trip(&json);
    assert_eq!(response.choices[0].message, Some(ChoiceMessage::Other(audio)));
    assert!(!response.choices[0].message.as_ref().unwrap().is_known());
    assert_eq!(response.text(), None);

    // Tags are exact: a known tag in another case is a variant we do not know.
    let shouting = json!({"type": "Content", "role": "assistant", "content": "hi"});
    json["choices"][0]["message"] = shouting.clone();
    let response: InvokeResponse = assert_round_trip(&json);
    assert_eq!(response.choices[0].message, Some(ChoiceMessage::Other(shouting)));

    // No tag at all, and a known tag whose fields do not fit, are kept the same way.
    for odd in [
        json!({"role": "assistant", "content": "hi"}),
        json!({"type": "image", "role": "assistant"}),
        json!("just text"),
    ] {
        json["choices"][0]["message"] = odd.clone();
        let response: InvokeResponse = assert_round_trip(&json);
        assert_eq!(response.choices[0].message, Some(ChoiceMessage::Other(odd)));
    }
}

#[test]
fn unknown_tags_of_request_side_unions_fail_with_the_variant_named() {
    let err = decode_err::<Message>(&json!({"role": "reviewer", "content": "hi"}));
    assert!(err.contains("unknown variant `reviewer`"), "{err}");
    assert!(err.contains("`developer`, `system`, `user`, `assistant`, `tool`"), "{err}");

    let err = decode_err::<UserContentPart>(&json!({"type": "video_url", "video_url": {"url": "x"}}));
    assert!(err.contains("unknown variant `video_url`"), "{err}");

    let err = decode_err::<AssistantContentPart>(&json!({"type": "audio", "audio": "x"}));
    assert!(err.contains("unknown variant `audio`"), "{err}");

    // Closed request-side enums stay closed too.
    let err = decode_err::<ImageDetail>(&json!("medium"));
    assert!(err.contains("unknown variant `medium`"), "{err}");
    let err = decode_err::<AudioFormat>(&json!("ogg"));
    assert!(err.contains("unknown variant `ogg`"), "{err}");
}

#[test]
fn unknown_tags_of_response_unions_are_kept_as_other() {
    let part = json!({"type": "input_audio", "input_audio": {}});
    let decoded: PromptContentPart = assert_round_trip(&part);
    assert_eq!(decoded, PromptContentPart::Other(part));

    let format = json!({"type": "xml", "root": "answer"});
    let decoded: ResponseFormat = assert_round_trip(&format);
    assert_eq!(decoded, ResponseFormat::Other(format));

    // PromptContent is told apart by JSON type; a type it does not know is kept.
    let content = json!({"markdown": "*hi*"});
    let decoded: PromptContent = assert_round_trip(&content);
    assert_eq!(decoded, PromptContent::Other(content));
}

#[test]
fn unknown_prompt_content_part_type_is_kept_inside_its_message() {
    let json = json!({
        "role": "user",
        "content": [{"type": "text", "text": "a"}, {"type": "video_url", "video_url": {"url": "https://x.test"}}]
    });
    let message: PromptMessage = assert_round_trip(&json);
    assert_eq!(
        message.content,
        Some(PromptContent::Parts(vec![
            PromptContentPart::Text(PromptTextPart { text: "a".into() }),
            PromptContentPart::Other(json!({"type": "video_url", "video_url": {"url": "https://x.test"}})),
        ]))
    );
}

// --------------------------------------------------- 5. request serialization

fn full_request() -> DeploymentRequest {
    let mut request = DeploymentRequest::new("support-triage");
    request.stream = Some(false);
    request.inputs = BTreeMap::from([
        ("customer_name".to_string(), InputValue::from("Ada")),
        ("order_count".to_string(), InputValue::from(3)),
        ("discount".to_string(), InputValue::from(0.15)),
        ("weight_kg".to_string(), InputValue::from(2.0)),
        ("vip".to_string(), InputValue::from(true)),
        ("account_id".to_string(), InputValue::from(9_007_199_254_740_993_i64)),
        ("balance".to_string(), InputValue::from(-42)),
    ]);
    request.context = obj(json!({"environment": "production", "locale": ["en-GB"], "tier": 2}));
    request.prefix_messages = vec![
        Message::developer("Answer in British English.").with_name("style-guide"),
        Message::system("Be brief."),
    ];
    request.messages = vec![
        Message::user(vec![
            UserContentPart::text("What is wrong with this parcel?"),
            UserContentPart::image_url_with_detail("https://cdn.example.com/parcel.jpg", ImageDetail::High),
            UserContentPart::image_url("data:image/png;base64,iVBORw0KGgo="),
            UserContentPart::input_audio("SUQzBAAAAAAAI1RTU0U=", AudioFormat::Mp3),
        ])
        .with_name("ada"),
        Message::assistant_tool_calls([AssistantToolCall::function(
            "call_7QhR2xK",
            "lookup_order",
            "{\"order_number\":\"A-1001\"}",
        )]),
        Message::tool("call_7QhR2xK", "{\"status\":\"in_transit\"}"),
        Message::assistant(vec![
            AssistantContentPart::text("It is in transit."),
            AssistantContentPart::refusal("I cannot change the address."),
        ])
        .with_audio("audio_abc123")
        .with_name("agent")
        .with_refusal("I cannot change the address."),
        Message::tool("call_9TzP4aM", vec![ToolContentPart::from("line 1"), ToolContentPart::from("line 2")]),
        Message::assistant("Anything else?"),
        Message::user("Thanks!"),
    ];
    request.file_ids = vec!["file_01JQ9A2B3C4D5E6F7G8H9J0K1M".into()];
    request.metadata = obj(json!({"ticket_id": "T-4821", "channel": "email"}));
    request.extra_params = obj(json!({"temperature": 0.1, "max_tokens": 300}));
    request.documents = vec![
        Document::new("Parcels ship within two business days.").with_metadata(
            DocumentMetadata::new()
                .with_file_name("shipping-policy.pdf")
                .with_file_type("pdf")
                .with_page_number(4),
        ),
        Document::new("Returns are free for 30 days."),
        Document::new("Only the type is known.").with_metadata(DocumentMetadata::new()),
    ];
    request.invoke_options = Some(InvokeOptions::default().with_include_retrievals(true));
    request
}

fn full_request_json() -> Value {
    json!({
        "key": "support-triage",
        "stream": false,
        "inputs": {
            "account_id": 9_007_199_254_740_993_i64,
            "balance": -42,
            "customer_name": "Ada",
            "discount": 0.15,
            "order_count": 3,
            "vip": true,
            "weight_kg": 2.0
        },
        "context": {"environment": "production", "locale": ["en-GB"], "tier": 2},
        "prefix_messages": [
            {"role": "developer", "content": "Answer in British English.", "name": "style-guide"},
            {"role": "system", "content": "Be brief."}
        ],
        "messages": [
            {
                "role": "user",
                "name": "ada",
                "content": [
                    {"type": "text", "text": "What is wrong with this parcel?"},
                    {"type": "image_url", "image_url": {"url": "https://cdn.example.com/parcel.jpg", "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "input_audio", "input_audio": {"data": "SUQzBAAAAAAAI1RTU0U=", "format": "mp3"}}
                ]
            },
            {
                "role": "assistant",
                "tool_calls": [{
                    "id": "call_7QhR2xK",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": "{\"order_number\":\"A-1001\"}"}
                }]
            },
            {"role": "tool", "content": "{\"status\":\"in_transit\"}", "tool_call_id": "call_7QhR2xK"},
            {
                "role": "assistant",
                "audio": {"id": "audio_abc123"},
                "content": [
                    {"type": "text", "text": "It is in transit."},
                    {"type": "refusal", "refusal": "I cannot change the address."}
                ],
                "name": "agent",
                "refusal": "I cannot change the address."
            },
            {"role": "tool", "content": ["line 1", "line 2"], "tool_call_id": "call_9TzP4aM"},
            {"role": "assistant", "content": "Anything else?"},
            {"role": "user", "content": "Thanks!"}
        ],
        "file_ids": ["file_01JQ9A2B3C4D5E6F7G8H9J0K1M"],
        "metadata": {"ticket_id": "T-4821", "channel": "email"},
        "extra_params": {"temperature": 0.1, "max_tokens": 300},
        "documents": [
            {
                "text": "Parcels ship within two business days.",
                "metadata": {"file_name": "shipping-policy.pdf", "file_type": "pdf", "page_number": 4}
            },
            {"text": "Returns are free for 30 days."},
            {"text": "Only the type is known.", "metadata": {}}
        ],
        "invoke_options": {"include_retrievals": true}
    })
}

#[test]
fn full_request_serializes_to_exact_json() {
    let request = full_request();
    assert_eq!(encode(&request), full_request_json());

    let text = serde_json::to_string(&request).unwrap();
    assert!(!text.contains("null"), "unset optionals are omitted, never null: {text}");
    // Integers go out as integers, floats as floats.
    assert!(text.contains("\"order_count\":3,"), "{text}");
    assert!(text.contains("\"weight_kg\":2.0"), "{text}");
    assert!(text.contains("\"page_number\":4}"), "{text}");
}

#[test]
fn integer_inputs_above_2_pow_53_stay_exact() {
    let big = 9_007_199_254_740_993_i64; // 2^53 + 1: not representable as f64
    assert_ne!(big as f64 as i64, big);
    let mut request = DeploymentRequest::new("k");
    request.inputs = BTreeMap::from([("account_id".to_string(), InputValue::from(big))]);
    let text = serde_json::to_string(&request).unwrap();
    assert_eq!(text, r#"{"inputs":{"account_id":9007199254740993},"key":"k"}"#);

    // Decoding keeps it exact as well, and picks the right arm for each kind of value.
    assert_eq!(decode::<InputValue>(&json!(big)), InputValue::Int64(big));
    assert_eq!(
        serde_json::from_str::<InputValue>("9007199254740993").unwrap(),
        InputValue::Int64(9_007_199_254_740_993)
    );
    assert_eq!(serde_json::from_str::<InputValue>("-7").unwrap(), InputValue::Int64(-7));
    assert_eq!(serde_json::from_str::<InputValue>("2.0").unwrap(), InputValue::Double(2.0));
    assert_eq!(serde_json::from_str::<InputValue>("0.15").unwrap(), InputValue::Double(0.15));
    assert_eq!(serde_json::from_str::<InputValue>("true").unwrap(), InputValue::Boolean(true));
    assert_eq!(serde_json::from_str::<InputValue>("\"42\"").unwrap(), InputValue::String("42".into()));
}

#[test]
fn input_value_conversions_pick_the_right_arm() {
    assert_eq!(InputValue::from("a"), InputValue::String("a".into()));
    assert_eq!(InputValue::from(String::from("b")), InputValue::String("b".into()));
    assert_eq!(InputValue::from(&String::from("c")), InputValue::String("c".into()));
    assert_eq!(InputValue::from(7u8), InputValue::Int64(7));
    assert_eq!(InputValue::from(u32::MAX), InputValue::Int64(4_294_967_295));
    assert_eq!(InputValue::from(-3i16), InputValue::Int64(-3));
    assert_eq!(InputValue::from(i64::MIN), InputValue::Int64(i64::MIN));
    assert_eq!(InputValue::from(0.5f32), InputValue::Double(0.5));
    assert_eq!(InputValue::from(false), InputValue::Boolean(false));
    assert_eq!(encode(&InputValue::from(u32::MAX)), json!(4_294_967_295_u32));
    assert_eq!(encode(&InputValue::from(i64::MIN)), json!(i64::MIN));
}

#[test]
fn full_request_json_decodes_back_to_the_same_request() {
    assert_eq!(decode::<DeploymentRequest>(&full_request_json()), full_request());
}

#[test]
fn minimal_request_serializes_to_key_only() {
    let request = DeploymentRequest::new("support-triage");
    assert_eq!(encode(&request), json!({"key": "support-triage"}));
    assert_eq!(serde_json::to_string(&request).unwrap(), r#"{"key":"support-triage"}"#);
    assert!(request.messages.is_empty() && request.inputs.is_empty() && request.identity.is_none());
    assert_eq!(
        Document::from("Returns are free for 30 days."),
        Document::new("Returns are free for 30 days.")
    );

    // And `{"key": ...}` alone decodes into that request.
    assert_eq!(decode::<DeploymentRequest>(&json!({"key": "support-triage"})), request);
    let err = decode_err::<DeploymentRequest>(&json!({"stream": true}));
    assert!(err.contains("missing field `key`"), "{err}");
}

#[test]
fn stream_flag_and_invoke_options_serialize_when_set() {
    let mut request = DeploymentRequest::new("k");
    request.stream = Some(true);
    request.invoke_options = Some(InvokeOptions::default());
    assert_eq!(
        encode(&request),
        json!({"key": "k", "stream": true, "invoke_options": {"include_retrievals": false}})
    );
    let decoded = decode::<InvokeOptions>(&json!({}));
    assert_eq!(decoded, InvokeOptions::default());
    assert!(
        !decoded.include_retrievals && decoded.include_usage.is_none() && decoded.mock_response.is_none()
    );
}

// ---------------------------------------------------------- 6. Message shapes

#[test]
fn messages_decode_into_their_role_and_round_trip() {
    let cases: Vec<(Value, Message)> = vec![
        (json!({"role": "user", "content": "hi"}), Message::user("hi")),
        (json!({"role": "system", "content": "Be brief."}), Message::system("Be brief.")),
        (
            json!({"role": "developer", "content": "No emojis.", "name": "lead"}),
            Message::developer("No emojis.").with_name("lead"),
        ),
        (json!({"role": "assistant", "content": "Hello!"}), Message::assistant("Hello!")),
        (json!({"role": "tool", "content": "42", "tool_call_id": "call_1"}), Message::tool("call_1", "42")),
        (
            json!({"role": "user", "name": "ada", "content": [
                {"type": "text", "text": "And this?"},
                {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "auto"}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
            ]}),
            Message::user(vec![
                UserContentPart::text("And this?"),
                UserContentPart::image_url_with_detail("https://x.test/a.png", ImageDetail::Auto),
                UserContentPart::input_audio("UklGRg==", AudioFormat::Wav),
            ])
            .with_name("ada"),
        ),
        (
            json!({"role": "assistant", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]}),
            Message::assistant_tool_calls([AssistantToolCall::function("call_1", "f", "{}")]),
        ),
        (
            json!({"role": "tool", "content": ["a", "b"], "tool_call_id": "call_2"}),
            Message::tool("call_2", vec![ToolContentPart::from("a"), ToolContentPart::from("b")]),
        ),
    ];
    for (json, expected) in cases {
        let decoded: Message = assert_round_trip(&json);
        assert_eq!(decoded, expected, "{json}");
    }
}

#[test]
fn assistant_message_accepts_nulls_for_nullable_fields() {
    let decoded: Message = decode(&json!({
        "role": "assistant",
        "content": null,
        "refusal": null,
        "audio": null,
        "tool_calls": []
    }));
    assert_eq!(decoded, Message::assistant_tool_calls([]));
    assert_eq!(encode(&decoded), json!({"role": "assistant"}));
}

#[test]
fn message_constructors_build_the_documented_json() {
    assert_eq!(
        encode(&Message::user("hi").with_name("ada")),
        json!({"role": "user", "content": "hi", "name": "ada"})
    );
    assert_eq!(
        encode(&Message::tool("call_1", "ok").with_name("ignored")),
        json!({
            "role": "tool", "content": "ok", "tool_call_id": "call_1"
        })
    );
    assert_eq!(
        encode(&Message::user(vec![
            UserContentPart::text("What is this?"),
            UserContentPart::image_url("https://x.test/cat.png"),
        ])),
        json!({"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://x.test/cat.png"}}
        ]})
    );
    assert_eq!(
        encode(&Message::assistant("Sure.").with_name("bot")),
        json!({"role": "assistant", "content": "Sure.", "name": "bot"})
    );
}

#[test]
fn message_missing_required_fields_fails() {
    let err = decode_err::<Message>(&json!({"role": "tool", "content": "42"}));
    assert!(err.contains("missing field `tool_call_id`"), "{err}");
    let err = decode_err::<Message>(&json!({"role": "user"}));
    assert!(err.contains("missing field `content`"), "{err}");
    let err = decode_err::<Message>(&json!({"content": "hi"}));
    assert!(err.contains("missing field `role`"), "{err}");
}

// -------------------------------------------------------- 7. the limit param

#[test]
fn deployments_list_takes_an_optional_non_zero_limit() {
    let client = Client::new("http://127.0.0.1:9", RequestOptions::default());
    let limit: Option<NonZeroU32> = NonZeroU32::new(200);
    // Building the request future is enough to pin the signature; it is never polled.
    let _page = client.deployments_list(None, limit, Some("0b6f4a8e-3c2d-4e71-9a5b-2f1d8c7e6a90"));
    let _default_page = client.deployments_list(Some("5d2c9e17-8a44-4b0f-b3e6-71f0a2c4d8b5"), None, None);
    assert_eq!(NonZeroU32::new(0), None, "a zero limit cannot be expressed");
}

#[test]
fn function_parameters_keep_json_schema_keywords_beyond_the_listed_ones() {
    let raw = json!({
        "type": "object",
        "properties": {"city": {"$ref": "#/$defs/city"}},
        "required": ["city"],
        "$defs": {"city": {"type": "string"}},
        "description": "Where to look"
    });
    let parameters: FunctionParameters = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(parameters.extra.get("description"), Some(&json!("Where to look")));
    assert_eq!(serde_json::to_value(&parameters).unwrap(), raw);
}

#[test]
fn request_types_describe_themselves_as_json_schema() {
    // What README promises structured-output users: the schema of a request type.
    let schema = serde_json::to_value(schemars::schema_for!(orq_api::types::DeploymentRequest)).unwrap();
    let required = schema["required"].as_array().expect("required fields");
    assert!(required.contains(&json!("key")), "{schema}");
    assert!(schema["properties"]["messages"].is_object(), "{schema}");
}
