//! The request fields the 2026-08 API added, through the facade, over real loopback HTTP:
//!
//! 1. the exact request JSON of every builder method the 2026-08 API added
//!    (identity, thread, knowledge filter, include_usage, mock_response, and
//!    messages with the 2026-08 parts and cache control), each body also validated
//!    against the 2026-08 reference schema when `../shared/reference` is there;
//! 2. structurally invalid filters and identities are `Error::InvalidRequest`
//!    and nothing is sent;
//! 3. usage, telemetry and reasoning come back from invoke and from a stream;
//! 4. orq-mock speaks the 2026-08 API: mock_response, include_usage, telemetry,
//!    identity / thread / filter recorded, a malformed filter answered 400.

use std::sync::OnceLock;

use httpmock::{Method, MockServer};
use orq::Client;
use orq::request::{Condition, Conditions, Identity, KnowledgeFilter, Thread};
use orq::types::{Count, DeploymentRequest, Message, StreamChunk};
use orq_api::mock::MockServerExt;
use orq_mock::MockOrq;
use orq_tests::{Recording, Reference};
use serde_json::{Value, json};

const KEY: &str = "sk-orq-test-2026-08";
const INVOKE: &str = "/v2/deployments/invoke";

fn client(url: impl Into<String>) -> Client {
    Client::builder().api_key(KEY).base_url(url).no_retries().build().expect("client builds")
}

fn invoke_answer() -> Value {
    json!({
        "id": "01JABCDEF0123456789XYZ",
        "created": "2026-08-01T10:00:00.000Z",
        "object": "chat",
        "model": "gpt-4o",
        "provider": "openai",
        "is_final": true,
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"type": "content", "role": "assistant", "content": "Hi"}}]
    })
}

// ------------------------------------------------ the 2026-08 reference schema

/// The invoke request body schema of the references.
const REQUEST: &str = "/components/schemas/InvokeDeploymentRequest";

/// The 2026-08 reference, compiled; `None` (with a note) when it is not beside
/// the repository.
fn reference() -> Option<&'static Reference> {
    static REFERENCE: OnceLock<Option<Reference>> = OnceLock::new();
    REFERENCE.get_or_init(|| Reference::load("2026-08", &[REQUEST])).as_ref()
}

/// Fails unless `body` is valid under the 2026-08 invoke request schema (when present).
#[track_caller]
fn assert_valid_2026_08(body: &Value) {
    if let Some(reference) = reference() {
        reference.assert_valid(REQUEST, body);
    }
}

/// A server answering every invoke with [`invoke_answer`], keeping the bodies.
async fn recording() -> Recording {
    Recording::start(invoke_answer()).await
}

/// Sends `call` and returns the body that arrived, after checking it against the
/// 2026-08 schema.
async fn sent_body(
    recording: &Recording,
    call: orq::deployments::DeploymentCall<orq::deployments::Invoke>,
) -> Value {
    let body = recording.sent_body(call).await;
    assert_valid_2026_08(&body);
    body
}

// ------------------------------------------------------- 1. exact request JSON

#[tokio::test]
async fn identity_is_sent_exactly() {
    let recording = recording().await;
    let client = client(recording.base_url());
    let full = Identity::new("contact-42")
        .display_name("Ada Lovelace")
        .email("ada@example.com")
        .logo_url("https://example.com/ada.png")
        .metadata(json!({"department": "Engineering", "seniority": 3}))
        .metadata(json!({"plan": "pro"}))
        .metadata(Value::Null)
        .tag("vip")
        .tags(["beta", "nl"]);
    let body = sent_body(&recording, client.deployments().invoke("bot").identity(full)).await;
    assert_eq!(
        body,
        json!({
            "key": "bot",
            "stream": false,
            "identity": {
                "id": "contact-42",
                "display_name": "Ada Lovelace",
                "email": "ada@example.com",
                "logo_url": "https://example.com/ada.png",
                "metadata": [{"department": "Engineering", "seniority": 3}, {"plan": "pro"}],
                "tags": ["vip", "beta", "nl"]
            }
        })
    );

    let body = sent_body(&recording, client.deployments().invoke("bot").identity(Identity::new("u1"))).await;
    assert_eq!(body, json!({"key": "bot", "stream": false, "identity": {"id": "u1"}}));
}

#[tokio::test]
async fn thread_is_sent_exactly() {
    let recording = recording().await;
    let client = client(recording.base_url());
    let body = sent_body(
        &recording,
        client.deployments().invoke("bot").thread(Thread::new("ticket-1").tag("billing").tags(["urgent"])),
    )
    .await;
    assert_eq!(
        body,
        json!({"key": "bot", "stream": false, "thread": {"id": "ticket-1", "tags": ["billing", "urgent"]}})
    );
    let body = sent_body(&recording, client.deployments().invoke("bot").thread(Thread::new("t2"))).await;
    assert_eq!(body, json!({"key": "bot", "stream": false, "thread": {"id": "t2"}}));
}

#[tokio::test]
async fn include_usage_and_mock_response_are_invoke_options() {
    let recording = recording().await;
    let client = client(recording.base_url());
    let body = sent_body(&recording, client.deployments().invoke("bot").include_usage(true)).await;
    assert_eq!(
        body,
        json!({"key": "bot", "stream": false,
               "invoke_options": {"include_retrievals": false, "include_usage": true}})
    );
    let body = sent_body(&recording, client.deployments().invoke("bot").mock_response("Canned.")).await;
    assert_eq!(
        body,
        json!({"key": "bot", "stream": false,
               "invoke_options": {"include_retrievals": false, "mock_response": "Canned."}})
    );
    let body = sent_body(
        &recording,
        client.deployments().invoke("bot").include_retrievals(true).include_usage(false).mock_response("x"),
    )
    .await;
    assert_eq!(
        body["invoke_options"],
        json!({"include_retrievals": true, "include_usage": false, "mock_response": "x"})
    );
}

#[tokio::test]
async fn every_filter_operator_is_sent_exactly() {
    let recording = recording().await;
    let client = client(recording.base_url());
    let cases: Vec<(KnowledgeFilter, Value)> = vec![
        (
            Conditions::new()
                .eq("topic", "billing")
                .ne("status", false)
                .gt("score", 0.5)
                .gte("year", 2024)
                .lt("pages", 100u8)
                .lte("rank", 3.5f32)
                .one_of("lang", ["en", "nl"])
                .none_of("region", [1, 2])
                .exists("reviewed", true)
                .into(),
            json!({
                "topic": {"eq": "billing"},
                "status": {"ne": false},
                "score": {"gt": 0.5},
                "year": {"gte": 2024.0},
                "pages": {"lt": 100.0},
                "rank": {"lte": 3.5},
                "lang": {"in": ["en", "nl"]},
                "region": {"nin": [1.0, 2.0]},
                "reviewed": {"exists": true}
            }),
        ),
        (
            KnowledgeFilter::and([
                Conditions::new().gte("year", 2020),
                Conditions::new().field("year", Condition::lt(2025)),
            ]),
            json!({"and": [{"year": {"gte": 2020.0}}, {"year": {"lt": 2025.0}}]}),
        ),
        (
            KnowledgeFilter::or([
                Conditions::new().field("lang", Condition::one_of(["en"])).eq("kind", "faq"),
                Conditions::new().field("draft", Condition::exists(false)),
                Conditions::new().field("owner", Condition::none_of([String::from("bot")])),
            ]),
            json!({"or": [
                {"kind": {"eq": "faq"}, "lang": {"in": ["en"]}},
                {"draft": {"exists": false}},
                {"owner": {"nin": ["bot"]}}
            ]}),
        ),
        (
            KnowledgeFilter::from_json(json!({"or": [{"topic": {"eq": "a"}}, {"n": {"lte": 7}}]})),
            json!({"or": [{"topic": {"eq": "a"}}, {"n": {"lte": 7.0}}]}),
        ),
    ];
    for (filter, expected) in cases {
        let body = sent_body(&recording, client.deployments().invoke("bot").knowledge_filter(filter)).await;
        assert_eq!(body, json!({"key": "bot", "stream": false, "knowledge_filter": expected}));
    }
}

#[tokio::test]
async fn the_2026_08_parts_and_cache_control_are_sent_as_built() {
    let recording = recording().await;
    let client = client(recording.base_url());
    let cache = json!({"type": "ephemeral", "ttl": "1h"});
    let messages = json!([
        {"role": "system", "content": [{"type": "text", "text": "Be brief.", "cache_control": cache}]},
        {"role": "user", "content": [
            {"type": "text", "text": "Read this.", "cache_control": {"type": "ephemeral"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf",
                "mimeType": "application/pdf"}, "cache_control": cache},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"},
                "cache_control": cache}
        ]},
        {"role": "assistant", "content": [
            {"type": "reasoning", "reasoning": "The user wants a summary.", "signature": "sig-1"},
            {"type": "redacted_reasoning", "data": "ZW5jcnlwdGVk"},
            {"type": "text", "text": "Summary.", "cache_control": cache}
        ], "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "lookup", "arguments": "{}"}, "thought_signature": "ts-1"}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "found", "cache_control": cache}
    ]);
    let parsed: Vec<Message> = serde_json::from_value(messages.clone()).expect("the 2026-08 messages decode");
    let body = sent_body(&recording, client.deployments().invoke("bot").messages(parsed)).await;
    assert_eq!(body, json!({"key": "bot", "stream": false, "messages": messages}));
}

#[tokio::test]
async fn everything_at_once_is_valid_under_the_2026_08_schema() {
    let recording = recording().await;
    let call = client(recording.base_url())
        .deployments()
        .invoke("bot")
        .input("name", "Ada")
        .context_field("locale", "nl-NL")
        .message(Message::user("Where is my order?"))
        .metadata(json!({"ticket": 1}))
        .document("Orders ship in two days.")
        .identity(Identity::new("u1").email("a@b.example").metadata(json!({"tier": "gold"})))
        .thread(Thread::new("t1").tag("support"))
        .knowledge_filter(KnowledgeFilter::and([Conditions::new().eq("topic", "orders")]))
        .include_retrievals(true)
        .include_usage(true)
        .mock_response("Tomorrow.");
    let body = sent_body(&recording, call).await;
    assert_eq!(body["identity"], json!({"id": "u1", "email": "a@b.example", "metadata": [{"tier": "gold"}]}));
    assert_eq!(body["knowledge_filter"], json!({"and": [{"topic": {"eq": "orders"}}]}));

    // The schema check bites: bodies the 2026-08 API refuses fail it.
    if let Some(reference) = reference() {
        for bad in [
            json!({"key": "bot", "identity": {"display_name": "no id"}}),
            json!({"key": "bot", "thread": {"id": 1}}),
            json!({"key": "bot", "knowledge_filter": {"a": {"in": "x"}}}),
            json!({"key": "bot", "invoke_options": {"include_usage": "yes"}}),
        ] {
            assert!(reference.validate(REQUEST, &bad).is_err(), "accepted: {bad}");
        }
    }
}

// ------------------------------------ 2. invalid requests are never sent

/// Sends `call` to a server that must not see it and returns the InvalidRequest message.
async fn rejected(
    call: impl FnOnce(Client) -> orq::deployments::DeploymentCall<orq::deployments::Invoke>,
) -> String {
    orq_tests::rejected_before_sending(|url| call(client(url))).await
}

#[tokio::test]
async fn structurally_invalid_filters_are_rejected_before_sending() {
    let no_values: [&str; 0] = [];
    let cases: Vec<(KnowledgeFilter, &str)> = vec![
        (KnowledgeFilter::and([]), "knowledge_filter.and is empty"),
        (KnowledgeFilter::or([]), "knowledge_filter.or is empty"),
        (Conditions::new().into(), "knowledge_filter has no conditions"),
        (KnowledgeFilter::and([Conditions::new()]), "knowledge_filter.and[0] has no conditions"),
        (Conditions::new().one_of("lang", no_values).into(), "knowledge_filter.lang.in has no values"),
        (
            KnowledgeFilter::or([Conditions::new().eq("a", 1), Conditions::new().none_of("b", no_values)]),
            "knowledge_filter.or[1].b.nin has no values",
        ),
        (
            Conditions::new().gte("year", 2020).lt("year", 2025).into(),
            "knowledge_filter.year has more than one condition",
        ),
        (Conditions::new().gt("score", f64::NAN).into(), "knowledge_filter.score.gt is NaN"),
        (Conditions::new().eq("", "x").into(), "tests a field with an empty name"),
        (
            KnowledgeFilter::from_json(json!({"lang": {"in": "en"}})),
            "knowledge_filter.lang.in must be an array",
        ),
        (KnowledgeFilter::from_json(json!({"a": {"eq": 1, "ne": 2}})), "knowledge_filter.a has 2 operators"),
        (KnowledgeFilter::from_json(json!({"a": {"like": "x%"}})), "unknown operator `like`"),
        (
            KnowledgeFilter::from_json(json!({"a": {"gt": "5"}})),
            "knowledge_filter.a.gt must be a finite number",
        ),
        (
            KnowledgeFilter::from_json(json!({"a": {"exists": "yes"}})),
            "knowledge_filter.a.exists must be a boolean",
        ),
        (KnowledgeFilter::from_json(json!({"a": {"eq": [1]}})), "must be a string, number or boolean"),
        (
            KnowledgeFilter::from_json(json!({"a": "b"})),
            "knowledge_filter.a must be an object with one operator",
        ),
        (
            KnowledgeFilter::from_json(json!({"and": {"a": {"eq": 1}}})),
            "knowledge_filter.and must be an array",
        ),
        (KnowledgeFilter::from_json(json!({"or": [1]})), "knowledge_filter.or[0] must be an object"),
        (
            KnowledgeFilter::from_json(json!({"and": [{"a": {"eq": 1}}], "or": [{"b": {"eq": 2}}]})),
            "a filter is exactly one of",
        ),
        (
            KnowledgeFilter::from_json(json!({"and": [{"a": {"eq": 1}}], "b": {"eq": 2}})),
            "a filter is exactly one of",
        ),
        (KnowledgeFilter::from_json(json!(["a"])), "knowledge_filter must be a JSON object, not an array"),
    ];
    for (filter, says) in cases {
        let message =
            rejected(move |client| client.deployments().invoke("bot").knowledge_filter(filter)).await;
        assert!(message.contains(says), "expected {says:?} in {message:?}");
    }
}

#[tokio::test]
async fn a_filter_set_through_the_whole_body_is_checked_too() {
    let filter: orq::types::KnowledgeFilter =
        serde_json::from_value(json!({"topic": {"eq": "a", "ne": "b"}}))
            .expect("the generated type holds it");
    let mut body = DeploymentRequest::new("ignored");
    body.knowledge_filter = Some(filter);
    let message = rejected(move |client| client.deployments().invoke("bot").body(body)).await;
    assert!(message.contains("knowledge_filter.topic has 2 operators"), "{message}");
}

#[tokio::test]
async fn every_problem_is_listed_once() {
    let message = rejected(|client| {
        client
            .deployments()
            .invoke("bot")
            .identity(Identity::new(" ").metadata(json!(["not", "an", "object"])))
            .thread(Thread::new(""))
            .knowledge_filter(KnowledgeFilter::and([]))
    })
    .await;
    let problems: Vec<&str> = message.split("; ").collect();
    assert_eq!(
        problems,
        [
            "identity.metadata must be a JSON object, not `[\"not\",\"an\",\"object\"]`",
            "knowledge_filter.and is empty: it needs at least one map of conditions",
            "the identity id is empty",
            "the thread id is empty",
        ],
        "{message}"
    );
}

// --------------------------------------- 3. usage, telemetry and reasoning

#[tokio::test]
async fn invoke_answers_carry_usage_telemetry_and_reasoning() {
    let server = MockServer::start_async().await;
    let mut answer = invoke_answer();
    answer["choices"][0]["message"] = json!({
        "type": "content", "role": "assistant", "content": "42",
        "reasoning": "Six times seven.", "reasoning_signature": "sig", "redacted_reasoning": "c2VjcmV0"
    });
    answer["usage"] = json!({
        "prompt_tokens": 10, "completion_tokens": 5.0, "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 3}
    });
    answer["telemetry"] =
        json!({"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"});
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.status(200).header("content-type", "application/json").body(answer.to_string());
        })
        .await;
    let out = client(server.base_url()).deployments().invoke("bot").send().await.unwrap().expect("a body");
    let usage = out.usage().expect("usage");
    assert_eq!(
        (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        (Some(Count::from(10u64)), Some(Count::from(5u64)), Some(Count::from(15u64)))
    );
    assert_eq!(
        (usage.cached_tokens(), usage.reasoning_tokens()),
        (Some(Count::from(4u64)), Some(Count::from(3u64)))
    );
    let telemetry = out.telemetry().expect("telemetry");
    assert_eq!(telemetry.trace_id, "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(telemetry.span_id, "b7ad6b7169203331");
    assert_eq!(out.reasoning(), Some("Six times seven."));
    assert_eq!(out.reasoning_signature(), Some("sig"));
    assert_eq!(out.redacted_reasoning(), Some("c2VjcmV0"));
    assert_eq!(out.text(), Some("42"));
}

#[tokio::test]
async fn a_streams_reasoning_usage_and_telemetry_reach_the_collected_message() {
    let server = MockServer::start_async().await;
    let telemetry = json!({"trace_id": "t".repeat(32), "span_id": "s".repeat(16)});
    let chunks: Vec<StreamChunk> = [
        json!({"id": "g1", "telemetry": telemetry, "choices": [{"index": 0,
            "message": {"role": "assistant", "reasoning": "Six ", "reasoning_signature": "sig-a"}}]}),
        json!({"id": "g1", "telemetry": telemetry, "choices": [{"index": 0,
            "message": {"role": "assistant", "reasoning": "times seven.", "reasoning_signature": "sig-b",
                        "redacted_reasoning": "c2Vj"}}]}),
        json!({"id": "g1", "telemetry": telemetry, "choices": [{"index": 0,
            "message": {"role": "assistant", "content": "42", "redacted_reasoning": "cmV0"}}]}),
        json!({"id": "g1", "telemetry": telemetry, "is_final": true,
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ""}}]}),
    ]
    .into_iter()
    .map(|chunk| serde_json::from_value(chunk).expect("chunk decodes"))
    .collect();
    let stream = server.deployments_stream(|_, then| {
        then.events(&chunks);
    });
    let message = client(server.base_url())
        .deployments()
        .stream("bot")
        .include_usage(true)
        .send()
        .await
        .unwrap()
        .collect_message()
        .await
        .unwrap();
    assert_eq!(message.text, "42");
    assert_eq!(message.reasoning, "Six times seven.");
    assert_eq!(message.reasoning_signature.as_deref(), Some("sig-b"));
    assert_eq!(message.redacted_reasoning, "c2VjcmV0");
    let usage = message.usage.expect("usage of the final chunk");
    assert_eq!(
        (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        (Some(Count::from(10u64)), Some(Count::from(5u64)), Some(Count::from(15u64)))
    );
    assert_eq!(message.telemetry.expect("telemetry").span_id, "s".repeat(16));
    stream.assert_calls_async(1).await;
}

// ------------------------------------------ 4. orq-mock speaks the 2026-08 API

async fn mock() -> (MockOrq, Client) {
    let mock = MockOrq::builder().api_key(KEY).start().await.expect("mock starts");
    let client = client(mock.url());
    (mock, client)
}

#[tokio::test]
async fn the_mock_answers_mock_response_with_usage_and_telemetry() {
    let (mock, client) = mock().await;
    let call = || {
        client
            .deployments()
            .invoke("support-bot")
            .input("name", "Ada")
            .message(Message::user("Where is my order?"))
            .identity(Identity::new("contact-42").display_name("Ada").tags(["vip"]))
            .thread(Thread::new("ticket-1"))
            .knowledge_filter(KnowledgeFilter::or([
                Conditions::new().eq("topic", "orders"),
                Conditions::new().one_of("lang", ["en", "nl"]),
            ]))
            .include_usage(true)
            .mock_response("Your order ships tomorrow.")
    };
    let out = call().send().await.unwrap().expect("a body");
    assert_eq!(out.text(), Some("Your order ships tomorrow."));
    let usage = out.usage().expect("usage when asked");
    assert_eq!(usage.completion_tokens, Some(Count::from(4u64)));
    let prompt = usage.prompt_tokens.and_then(|n| n.as_u64()).expect("whole prompt tokens");
    assert!(prompt > 0, "{usage:?}");
    assert_eq!(usage.total_tokens, Some(Count::from(prompt + 4)));
    let telemetry = out.telemetry().expect("telemetry");
    assert_eq!((telemetry.trace_id.len(), telemetry.span_id.len()), (32, 16));

    let recorded = mock.requests().pop().expect("recorded").body.expect("JSON body");
    assert_eq!(recorded["identity"], json!({"id": "contact-42", "display_name": "Ada", "tags": ["vip"]}));
    assert_eq!(recorded["thread"], json!({"id": "ticket-1"}));
    assert_eq!(
        recorded["knowledge_filter"],
        json!({"or": [{"topic": {"eq": "orders"}}, {"lang": {"in": ["en", "nl"]}}]})
    );

    // Without include_usage there is no usage; telemetry is always there, per answer.
    let plain = client.deployments().invoke("support-bot").send().await.unwrap().expect("a body");
    assert!(plain.usage().is_none());
    assert_ne!(plain.telemetry().expect("telemetry").trace_id, telemetry.trace_id);
    mock.shutdown().await;
}

#[tokio::test]
async fn the_mock_streams_mock_response_with_usage_on_the_final_chunk() {
    let (mock, client) = mock().await;
    let mut chunks = Vec::new();
    let mut stream = client
        .deployments()
        .stream("support-bot")
        .include_usage(true)
        .mock_response("Streamed canned answer.")
        .send()
        .await
        .unwrap();
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        chunks.push(chunk.unwrap());
    }
    let (last, rest) = chunks.split_last().expect("chunks");
    assert!(rest.iter().all(|c| c.usage.is_none()), "usage only on the final chunk");
    assert_eq!(last.is_final, Some(true));
    assert_eq!(last.usage.as_ref().and_then(|u| u.completion_tokens), Some(Count::from(3u64)));
    let trace = last.telemetry.as_ref().expect("telemetry").trace_id.clone();
    assert!(chunks.iter().all(|c| c.telemetry.as_ref().is_some_and(|t| t.trace_id == trace)));

    let mut collected = orq::StreamedMessage::default();
    chunks.into_iter().for_each(|chunk| collected.push(chunk));
    assert_eq!(collected.text, "Streamed canned answer.");
    assert_eq!(collected.usage.and_then(|u| u.total_tokens?.as_u64()).map(|n| n >= 3), Some(true));
    mock.shutdown().await;
}

#[tokio::test]
async fn the_mock_answers_a_malformed_filter_with_a_400_json_error() {
    let (mock, _client) = mock().await;
    let response = reqwest::Client::new()
        .post(format!("{}{INVOKE}", mock.url()))
        .bearer_auth(KEY)
        .json(&json!({"key": "support-bot", "knowledge_filter": {"and": [{"topic": {"in": "orders"}}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("a JSON error");
    assert_eq!(body["code"], "invalid_request");
    assert_eq!(body["message"], "`knowledge_filter.and[0].topic.in` must be an array, got a string");
    mock.shutdown().await;
}
