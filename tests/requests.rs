//! End-to-end tests of the `orq` facade over real loopback HTTP (httpmock):
//! the exact requests each operation sends, how responses and errors decode,
//! cursor pagination, per-call options, and that the API key never leaks.
//!
//! Every test runs against its own `MockServer`; retries are off (or tiny) and
//! nothing sleeps, except the timeout tests, whose short server delay is the
//! thing they measure.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use httpmock::{HttpMockRequest, HttpMockResponse, Method, MockServer};
use orq::types::{DeploymentConfig, DeploymentList, DeploymentRequest, ErrorBody, InvokeResponse, Message};
use orq::types::{ModelType, Provider, StreamChunk};
use orq::{Client, ClientBuilder, Error, RetryPolicy};
use orq_api::mock::MockServerExt;
use serde_json::{Value, json};

// ----------------------------------------------------------------- helpers

/// The API key of every test: distinctive, so a leak is easy to find.
const KEY: &str = "sk-orq-test-7Hq2ZpX9vW4mK1sD";

const INVOKE: &str = "/v2/deployments/invoke";
const STREAM: &str = "/v2/deployments/stream";
const GET_CONFIG: &str = "/v2/deployments/get_config";
const LIST: &str = "/v2/deployments";

/// `Client::builder()`, after installing the test binary's one tracing
/// subscriber (see [`logs`]). Every test builds its clients through this.
fn sdk_builder() -> ClientBuilder {
    logs::init();
    Client::builder()
}

/// A builder with the key, the mock server's URL and no retries.
fn builder(server: &MockServer) -> ClientBuilder {
    sdk_builder().api_key(KEY).base_url(server.base_url()).no_retries()
}

fn client(server: &MockServer) -> Client {
    builder(server).build().expect("client builds")
}

/// The version the workspace publishes (`orq-rs/<version>` is the default user agent).
fn sdk_version() -> &'static str {
    include_str!("../Cargo.toml")
        .lines()
        .find_map(|line| line.trim().strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("workspace version in Cargo.toml")
}

fn deployment(id: &str) -> Value {
    json!({
        "id": id,
        "created": "2025-01-02T03:04:05.000Z",
        "updated": "2025-02-03T04:05:06.000Z",
        "key": format!("key-{id}"),
        "description": format!("deployment {id}"),
        "version": "v3",
        "prompt_config": {
            "tools": [],
            "model": "gpt-4o",
            "model_type": "chat",
            "model_parameters": {"temperature": 0.7, "maxTokens": 256},
            "provider": "openai",
            "messages": [{"role": "system", "content": "You are {{name}}'s assistant."}]
        }
    })
}

fn page(ids: &[&str], has_more: bool) -> Value {
    json!({
        "object": "list",
        "data": ids.iter().map(|id| deployment(id)).collect::<Vec<_>>(),
        "has_more": has_more
    })
}

fn invoke_response(text: &str, provider: &str) -> Value {
    json!({
        "id": "01JABCDEF0123456789XYZ",
        "created": "2025-03-01T10:00:00.000Z",
        "object": "chat",
        "model": "gpt-4o",
        "provider": provider,
        "is_final": true,
        "integration_id": "int_1",
        "finalized": "2025-03-01T10:00:01.000Z",
        "system_fingerprint": null,
        "choices": [{
            "index": 0,
            "message": {"type": "content", "role": "assistant", "content": text},
            "finish_reason": "stop"
        }]
    })
}

fn config_response() -> Value {
    json!({
        "id": "cfg_01",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "type": "chat",
        "version": "v7",
        "messages": [{"role": "system", "content": "You help Ada."}],
        "parameters": {"temperature": 0.2, "maxTokens": 512},
        "tools": [{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}]
    })
}

/// An SSE body of two text chunks and `[DONE]`.
fn sse_body() -> String {
    let first = json!({"id": "gen_1", "provider": "openai", "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hel"}}]});
    let second = json!({"id": "gen_1", "is_final": true,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "lo"}, "finish_reason": "stop"}]});
    format!("data: {first}\n\ndata: {second}\n\ndata: [DONE]\n\n")
}

/// Requests a mock saw, recorded by its responder (which runs once per request).
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<HttpMockRequest>>>);

impl Recorder {
    /// A responder that records the request and answers `status` with `body`.
    fn respond(
        &self,
        status: u16,
        content_type: &'static str,
        body: String,
    ) -> impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static {
        let seen = self.0.clone();
        move |request| {
            seen.lock().unwrap().push(request.clone());
            HttpMockResponse::builder()
                .status(status)
                .header("content-type", content_type)
                .body(body.clone())
                .build()
        }
    }

    fn requests(&self) -> Vec<HttpMockRequest> {
        self.0.lock().unwrap().clone()
    }

    fn only(&self) -> HttpMockRequest {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected exactly one request");
        requests.into_iter().next().unwrap()
    }
}

fn header_of(request: &HttpMockRequest, name: &str) -> Vec<String> {
    request
        .headers_vec()
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect()
}

fn body_json(request: &HttpMockRequest) -> Value {
    serde_json::from_slice(request.body_ref()).expect("request body is JSON")
}

fn expect_api(result: Result<impl std::fmt::Debug, Error>) -> Error {
    match result {
        Err(error @ Error::Api { .. }) => error,
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

fn expect_invalid(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::InvalidRequest(message)) => message,
        other => panic!("expected Error::InvalidRequest, got {other:?}"),
    }
}

// ------------------------------------------------- 1. the exact requests

#[tokio::test]
async fn list_sends_get_with_integer_limit_cursors_and_headers() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::GET)
                .path(LIST)
                .query_param("limit", "20")
                .query_param("starting_after", "dep_b")
                .query_param("ending_before", "dep_z")
                .header("authorization", format!("Bearer {KEY}"))
                .header("accept", "application/json")
                .header("user-agent", format!("orq-rs/{}", sdk_version()))
                .header_missing("content-type")
                .header_missing("x-orq-contact-id");
            then.status(200).header("content-type", "application/json").json_body(page(&["dep_c"], false));
        })
        .await;

    let page = client(&server)
        .deployments()
        .list()
        .limit(20)
        .starting_after("dep_b")
        .ending_before("dep_z")
        .send()
        .await
        .expect("list succeeds");

    assert_eq!(page.data.len(), 1);
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn list_query_is_exactly_what_was_set() {
    let server = MockServer::start_async().await;
    let recorder = Recorder::default();
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST);
            then.respond_with(recorder.respond(200, "application/json", page(&[], false).to_string()));
        })
        .await;
    let client = client(&server);

    client.deployments().list().send().await.expect("list without options");
    client.deployments().list().limit(200).send().await.expect("limit 200 is allowed");
    client.deployments().list().limit(1).starting_after("dep_1").send().await.expect("limit 1 is allowed");

    let queries: Vec<Option<String>> =
        recorder.requests().iter().map(|r| r.uri().query().map(str::to_string)).collect();
    assert_eq!(
        queries,
        vec![None, Some("limit=200".to_string()), Some("limit=1&starting_after=dep_1".to_string())]
    );
    assert_eq!(mock.calls_async().await, 3);
}

#[tokio::test]
async fn get_config_posts_json_with_stream_false() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path(GET_CONFIG)
                .header("authorization", format!("Bearer {KEY}"))
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .json_body(json!({"key": "support-bot", "stream": false, "inputs": {"name": "Ada"}}));
            then.status(200).header("content-type", "application/json").json_body(config_response());
        })
        .await;

    let config = client(&server)
        .deployments()
        .get_config("support-bot")
        .input("name", "Ada")
        .send()
        .await
        .expect("get_config succeeds");

    assert!(config.is_some());
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn invoke_posts_every_field_exactly() {
    let server = MockServer::start_async().await;
    let expected = json!({
        "key": "support-bot",
        "stream": false,
        "inputs": {"big": 9007199254740993i64, "count": 3, "name": "Ada", "ratio": 0.5, "vip": true},
        "context": {"locale": "nl-NL"},
        "prefix_messages": [{"role": "system", "content": "Be brief."}],
        "messages": [
            {"role": "user", "content": "Where is my order?"},
            {"role": "assistant", "content": "Which order?"},
            {"role": "user", "content": "The last one.", "name": "ada"}
        ],
        "file_ids": ["file_1"],
        "metadata": {"ticket": 123},
        "extra_params": {"temperature": 0.5},
        "documents": [{"text": "Orders ship in two days."}],
        "invoke_options": {"include_retrievals": true}
    });
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path(INVOKE)
                .header("authorization", format!("Bearer {KEY}"))
                .header("content-type", "application/json")
                .header("accept", "application/json")
                .json_body(expected)
                // Integers stay integers on the wire, exactly.
                .body_includes("\"big\":9007199254740993")
                .body_includes("\"count\":3,")
                .body_includes("\"metadata\":{\"ticket\":123}")
                .body_excludes("123.0")
                .body_excludes("null");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(invoke_response("Hi", "openai"));
        })
        .await;

    let response = client(&server)
        .deployments()
        .invoke("support-bot")
        .input("name", "Ada")
        .input("count", 3)
        .input("ratio", 0.5)
        .input("vip", true)
        .input("big", 9007199254740993i64)
        .context_field("locale", "nl-NL")
        .prefix_message(Message::system("Be brief."))
        .message(Message::user("Where is my order?"))
        .messages([Message::assistant("Which order?"), Message::user("The last one.").with_name("ada")])
        .file_id("file_1")
        .metadata(json!({"ticket": 123}))
        .extra_params(json!({"temperature": 0.5}))
        .document("Orders ship in two days.")
        .include_retrievals(true)
        .send()
        .await
        .expect("invoke succeeds");

    assert!(response.is_some());
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn big_integer_input_arrives_exactly_in_the_raw_body() {
    let server = MockServer::start_async().await;
    let recorder = Recorder::default();
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.respond_with(recorder.respond(
                200,
                "application/json",
                invoke_response("ok", "openai").to_string(),
            ));
        })
        .await;

    client(&server)
        .deployments()
        .invoke("k")
        .input("big", 9007199254740993i64)
        .input("max", i64::MAX)
        .metadata(json!({"ticket": 123}))
        .send()
        .await
        .expect("invoke succeeds");

    let raw = recorder.only().body_string();
    assert!(raw.contains("\"big\":9007199254740993"), "{raw}");
    assert!(raw.contains(&format!("\"max\":{}", i64::MAX)), "{raw}");
    assert!(raw.contains("\"ticket\":123}"), "{raw}");
    assert!(!raw.contains("9007199254740992"), "rounded through f64: {raw}");
}

#[tokio::test]
async fn unset_optionals_are_omitted_never_null() {
    let server = MockServer::start_async().await;
    let recorder = Recorder::default();
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.respond_with(recorder.respond(
                200,
                "application/json",
                invoke_response("ok", "openai").to_string(),
            ));
        })
        .await;
    let client = client(&server);

    client.deployments().invoke("bare").send().await.expect("bare invoke");
    // Null metadata means "none", not a JSON null.
    client.deployments().invoke("bare").metadata(Value::Null).send().await.expect("null metadata");

    for request in recorder.requests() {
        assert_eq!(body_json(&request), json!({"key": "bare", "stream": false}));
        assert!(!request.body_string().contains("null"), "{}", request.body_string());
    }
    assert_eq!(recorder.requests().len(), 2);
}

#[tokio::test]
async fn stream_posts_stream_true_and_accepts_event_stream() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path(STREAM)
                .header("authorization", format!("Bearer {KEY}"))
                .header("content-type", "application/json")
                .header("accept", "text/event-stream")
                .json_body(json!({"key": "support-bot", "stream": true, "inputs": {"name": "Ada"}}));
            then.status(200)
                .header("content-type", "text/event-stream")
                .header("x-request-id", "req-stream-1")
                .body(sse_body());
        })
        .await;

    let stream = client(&server)
        .deployments()
        .stream("support-bot")
        .input("name", "Ada")
        .send()
        .await
        .expect("stream starts");
    assert_eq!(stream.request_id(), Some("req-stream-1"));
    let message = stream.collect_message().await.expect("stream completes");

    assert_eq!(message.text, "Hello");
    assert_eq!(message.chunks, 2);
    assert_eq!(message.finish_reason.as_deref(), Some("stop"));
    assert_eq!(message.provider, Some(Provider::Openai));
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn custom_user_agent_default_headers_and_per_call_headers_are_sent() {
    let server = MockServer::start_async().await;
    let recorder = Recorder::default();
    server
        .mock_async(|when, then| {
            when.any_request();
            then.respond_with(recorder.respond(
                200,
                "application/json",
                invoke_response("ok", "openai").to_string(),
            ));
        })
        .await;
    let client = builder(&server)
        .user_agent("support-desk/2.1")
        .default_header("x-team", "care")
        .default_header("x-tenant", "acme")
        .build()
        .unwrap();

    client
        .deployments()
        .invoke("k")
        .header("x-trace", "abc-123")
        .header("x-tenant", "globex")
        .send()
        .await
        .expect("invoke succeeds");
    client.deployments().invoke("k").send().await.expect("second invoke succeeds");

    let requests = recorder.requests();
    assert_eq!(requests.len(), 2);
    let (first, second) = (&requests[0], &requests[1]);
    assert_eq!(header_of(first, "user-agent"), ["support-desk/2.1"]);
    assert_eq!(header_of(first, "x-team"), ["care"]);
    assert_eq!(header_of(first, "x-trace"), ["abc-123"]);
    // A per-call header replaces a default header of the same name (one value, not two).
    assert_eq!(header_of(first, "x-tenant"), ["globex"]);
    assert_eq!(header_of(first, "authorization"), [format!("Bearer {KEY}")]);
    // Per-call headers belong to that call only.
    assert!(header_of(second, "x-trace").is_empty());
    assert_eq!(header_of(second, "x-tenant"), ["acme"]);
    assert_eq!(header_of(second, "user-agent"), ["support-desk/2.1"]);
}

#[tokio::test]
async fn default_user_agent_is_orq_rs_and_version() {
    let server = MockServer::start_async().await;
    let recorder = Recorder::default();
    server
        .mock_async(|when, then| {
            when.any_request();
            then.respond_with(recorder.respond(200, "application/json", config_response().to_string()));
        })
        .await;

    client(&server).deployments().get_config("k").send().await.expect("get_config succeeds");

    let request = recorder.only();
    assert_eq!(header_of(&request, "user-agent"), [format!("orq-rs/{}", sdk_version())]);
    assert_eq!(header_of(&request, "accept"), ["application/json"]);
    assert_eq!(header_of(&request, "content-type"), ["application/json"]);
}

// ------------------------------------------- 2. environment and contact id

#[tokio::test]
async fn client_environment_goes_into_the_body_context_not_a_header() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE).header_missing("environment").json_body(json!({
                "key": "k",
                "stream": false,
                "context": {"environments": "production", "locale": "en"}
            }));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(invoke_response("ok", "openai"));
        })
        .await;
    let client = builder(&server).environment("production").build().unwrap();
    assert_eq!(client.environment(), Some("production"));

    let response = client.deployments().invoke("k").context_field("locale", "en").send().await;

    assert!(response.expect("invoke succeeds").is_some());
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn client_environment_does_not_replace_one_set_in_the_context() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path(INVOKE)
                .json_body(json!({"key": "k", "stream": false, "context": {"environments": "canary"}}));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(invoke_response("ok", "openai"));
        })
        .await;
    let client = builder(&server).environment("production").build().unwrap();

    let explicit = client.deployments().invoke("k").context_field("environments", "canary").send().await;

    assert!(explicit.expect("invoke succeeds").is_some());
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn per_call_environment_overrides_the_client_on_every_operation() {
    let server = MockServer::start_async().await;
    let body = |stream: bool| json!({"key": "k", "stream": stream, "context": {"environments": "staging"}});
    let invoke = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE).header_missing("environment").json_body(body(false));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(invoke_response("ok", "openai"));
        })
        .await;
    let get_config = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(GET_CONFIG).header_missing("environment").json_body(body(false));
            then.status(200).header("content-type", "application/json").json_body(config_response());
        })
        .await;
    let stream = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(STREAM).header_missing("environment").json_body(body(true));
            then.status(200).header("content-type", "text/event-stream").body(sse_body());
        })
        .await;
    let client = builder(&server).environment("production").build().unwrap();
    let deployments = client.deployments();

    deployments.invoke("k").environment("staging").send().await.expect("invoke");
    deployments.get_config("k").environment("staging").send().await.expect("get_config");
    let text = deployments.stream("k").environment("staging").send().await.expect("stream");
    assert_eq!(text.collect_text().await.expect("stream completes"), "Hello");

    assert_eq!(invoke.calls_async().await, 1);
    assert_eq!(get_config.calls_async().await, 1);
    assert_eq!(stream.calls_async().await, 1);
}

#[tokio::test]
async fn without_any_environment_there_is_no_context() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(GET_CONFIG).json_body(json!({"key": "k", "stream": false}));
            then.status(200).header("content-type", "application/json").json_body(config_response());
        })
        .await;

    client(&server).deployments().get_config("k").send().await.expect("get_config succeeds");

    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn contact_id_is_a_header_never_in_the_body_and_per_call_overrides() {
    let server = MockServer::start_async().await;
    let recorder = Recorder::default();
    server
        .mock_async(|when, then| {
            when.any_request();
            then.respond_with(recorder.respond(
                200,
                "application/json",
                invoke_response("ok", "openai").to_string(),
            ));
        })
        .await;
    let client = builder(&server).contact_id("contact-default").build().unwrap();

    client.deployments().invoke("k").send().await.expect("invoke with the default contact");
    client.deployments().invoke("k").contact_id("contact-call").send().await.expect("invoke overriding it");

    let requests = recorder.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(header_of(&requests[0], "x-orq-contact-id"), ["contact-default"]);
    assert_eq!(header_of(&requests[1], "x-orq-contact-id"), ["contact-call"]);
    for request in &requests {
        // Not the spec's `contactId` header, and nowhere in the body.
        assert!(header_of(request, "contactid").is_empty());
        assert_eq!(body_json(request), json!({"key": "k", "stream": false}));
        assert!(!request.body_string().contains("contact"), "{}", request.body_string());
    }
}

#[tokio::test]
async fn contact_id_is_sent_by_list_stream_and_get_config_too() {
    let server = MockServer::start_async().await;
    let list = server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST).header("x-orq-contact-id", "contact-default");
            then.status(200).header("content-type", "application/json").json_body(page(&[], false));
        })
        .await;
    let stream = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path(STREAM)
                .header("x-orq-contact-id", "contact-stream")
                .json_body(json!({"key": "k", "stream": true}));
            then.status(200).header("content-type", "text/event-stream").body(sse_body());
        })
        .await;
    let get_config = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path(GET_CONFIG)
                .header("x-orq-contact-id", "contact-default")
                .json_body(json!({"key": "k", "stream": false}));
            then.status(200).header("content-type", "application/json").json_body(config_response());
        })
        .await;
    let client = builder(&server).contact_id("contact-default").build().unwrap();

    client.deployments().list().send().await.expect("list");
    let chunks = client.deployments().stream("k").contact_id("contact-stream").send().await.expect("stream");
    chunks.collect_text().await.expect("stream completes");
    client.deployments().get_config("k").send().await.expect("get_config");

    assert_eq!(list.calls_async().await, 1);
    assert_eq!(stream.calls_async().await, 1);
    assert_eq!(get_config.calls_async().await, 1);
}

#[tokio::test]
async fn contact_id_that_cannot_be_a_header_is_rejected_before_sending() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;

    let message =
        expect_invalid(client(&server).deployments().invoke("k").contact_id("line\nbreak").send().await);

    assert!(message.contains("contact id"), "{message}");
    assert_eq!(mock.calls_async().await, 0);
}

// ------------------------------------------------------- 3. decoding

#[tokio::test]
async fn list_page_decodes_with_next_cursor() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST).query_param_missing("starting_after");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(page(&["dep_a", "dep_b"], true));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST).query_param("starting_after", "dep_b");
            then.status(200).header("content-type", "application/json").json_body(page(&["dep_c"], false));
        })
        .await;
    let client = client(&server);

    let first = client.deployments().list().send().await.expect("first page");
    assert!(first.has_more);
    assert_eq!(first.data.len(), 2);
    assert_eq!(first.next_cursor(), Some("dep_b"));
    let deployment = &first.data[0];
    assert_eq!(deployment.id, "dep_a");
    assert_eq!(deployment.key, "key-dep_a");
    assert_eq!(deployment.description, "deployment dep_a");
    assert_eq!(deployment.version, "v3");
    assert_eq!(deployment.created, "2025-01-02T03:04:05.000Z");
    assert_eq!(deployment.prompt_config.model, "gpt-4o");
    assert_eq!(deployment.prompt_config.provider, Some(Provider::Openai));
    assert_eq!(deployment.prompt_config.model_type, Some(ModelType::Chat));
    assert_eq!(deployment.prompt_config.model_parameters.temperature, Some(0.7));
    assert_eq!(deployment.prompt_config.model_parameters.max_tokens, Some(256.0));
    assert_eq!(deployment.prompt_config.messages.len(), 1);

    let second = client.deployments().list().starting_after("dep_b").send().await.expect("second page");
    assert!(!second.has_more);
    assert_eq!(second.data[0].id, "dep_c");
    assert_eq!(second.next_cursor(), None);
}

#[tokio::test]
async fn get_config_decodes() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(GET_CONFIG);
            then.status(200).header("content-type", "application/json").json_body(config_response());
        })
        .await;

    let config = client(&server)
        .deployments()
        .get_config("support-bot")
        .send()
        .await
        .expect("get_config succeeds")
        .expect("a body, not 204");

    assert_eq!(config.id, "cfg_01");
    assert_eq!(config.provider, "openai");
    assert_eq!(config.model, "gpt-4o-mini");
    assert_eq!(config.version, "v7");
    assert_eq!(config.type_, Some(ModelType::Chat));
    assert_eq!(config.parameters.temperature, Some(0.2));
    assert_eq!(config.parameters.max_tokens, Some(512.0));
    assert_eq!(config.messages.len(), 1);
    assert_eq!(config.tools.len(), 1);
    assert_eq!(config.tools[0].function.name, "lookup_order");
}

#[tokio::test]
async fn invoke_decodes_the_generation() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(invoke_response("Your order ships tomorrow.", "anthropic"));
        })
        .await;

    let response =
        client(&server).deployments().invoke("k").send().await.expect("invoke succeeds").expect("a body");

    assert_eq!(response.text(), Some("Your order ships tomorrow."));
    assert_eq!(response.id, "01JABCDEF0123456789XYZ");
    assert_eq!(response.model, "gpt-4o");
    assert_eq!(response.provider, Some(Provider::Anthropic));
    assert!(response.is_final);
    assert_eq!(response.integration_id.as_deref(), Some("int_1"));
    assert_eq!(response.system_fingerprint, None);
    assert_eq!(response.choices.len(), 1);
    assert_eq!(response.choices[0].finish_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn invoke_and_get_config_answering_204_are_none() {
    let server = MockServer::start_async().await;
    let invoke = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.status(204);
        })
        .await;
    let get_config = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(GET_CONFIG);
            then.status(204);
        })
        .await;
    let client = client(&server);

    let invoked = client.deployments().invoke("k").send().await.expect("204 is not an error");
    let config = client.deployments().get_config("k").send().await.expect("204 is not an error");

    assert!(invoked.is_none(), "{invoked:?}");
    assert!(config.is_none(), "{config:?}");
    assert_eq!(invoke.calls_async().await, 1);
    assert_eq!(get_config.calls_async().await, 1);
}

#[tokio::test]
async fn unknown_provider_decodes_to_other() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(invoke_response("hi", "acme-ai"));
        })
        .await;
    let mut listed = page(&["dep_a"], false);
    listed["data"][0]["prompt_config"]["provider"] = json!("acme-ai");
    listed["data"][0]["prompt_config"]["model_type"] = json!("world-model");
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST);
            then.status(200).header("content-type", "application/json").json_body(listed);
        })
        .await;
    let client = client(&server);

    let response = client.deployments().invoke("k").send().await.expect("invoke succeeds").expect("a body");
    assert_eq!(response.provider, Some(Provider::Other("acme-ai".into())));
    assert_eq!(response.provider.as_ref().map(Provider::as_str), Some("acme-ai"));

    let page = client.deployments().list().send().await.expect("list succeeds");
    assert_eq!(page.data[0].prompt_config.provider, Some(Provider::Other("acme-ai".into())));
    assert_eq!(page.data[0].prompt_config.model_type, Some(ModelType::Other("world-model".into())));
}

// -------------------------------------------------------- 4. list_all

#[tokio::test]
async fn list_all_follows_cursors_across_three_pages() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.method(Method::GET)
                .path(LIST)
                .query_param("limit", "200")
                .query_param_missing("starting_after")
                .query_param_missing("ending_before");
            then.status(200).header("content-type", "application/json").json_body(page(&["d1", "d2"], true));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(Method::GET)
                .path(LIST)
                .query_param("limit", "200")
                .query_param("starting_after", "d2")
                .query_param_missing("ending_before");
            then.status(200).header("content-type", "application/json").json_body(page(&["d3", "d4"], true));
        })
        .await;
    let third = server
        .mock_async(|when, then| {
            when.method(Method::GET)
                .path(LIST)
                .query_param("limit", "200")
                .query_param("starting_after", "d4")
                .query_param_missing("ending_before");
            then.status(200).header("content-type", "application/json").json_body(page(&["d5"], false));
        })
        .await;

    let all: Vec<_> = client(&server).deployments().list_all().try_collect().await.expect("all pages");

    let ids: Vec<&str> = all.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d1", "d2", "d3", "d4", "d5"]);
    assert_eq!(first.calls_async().await, 1);
    assert_eq!(second.calls_async().await, 1);
    assert_eq!(third.calls_async().await, 1);
}

#[tokio::test]
async fn list_all_stops_when_the_cursor_does_not_move() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST).query_param_missing("starting_after");
            then.status(200).header("content-type", "application/json").json_body(page(&["d1", "d2"], true));
        })
        .await;
    // A broken server: after d2 it answers with a page that ends at d2 again.
    let stuck = server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST).query_param("starting_after", "d2");
            then.status(200).header("content-type", "application/json").json_body(page(&["d2"], true));
        })
        .await;

    let all: Vec<_> = tokio::time::timeout(
        Duration::from_secs(10),
        client(&server).deployments().list_all().try_collect::<Vec<_>>(),
    )
    .await
    .expect("list_all terminates")
    .expect("no error");

    let ids: Vec<&str> = all.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["d1", "d2", "d2"]);
    assert_eq!(first.calls_async().await, 1);
    assert_eq!(stuck.calls_async().await, 1);
}

#[tokio::test]
async fn list_all_stops_on_an_empty_page_that_claims_more() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST);
            then.status(200).header("content-type", "application/json").json_body(page(&[], true));
        })
        .await;

    let all: Vec<_> = client(&server).deployments().list_all().try_collect().await.expect("no error");

    assert!(all.is_empty());
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn list_all_yields_the_items_it_got_then_the_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST).query_param_missing("starting_after");
            then.status(200).header("content-type", "application/json").json_body(page(&["d1", "d2"], true));
        })
        .await;
    let failing = server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST).query_param("starting_after", "d2");
            then.status(500)
                .header("content-type", "application/json")
                .json_body(json!({"message": "database unavailable"}));
        })
        .await;

    let items: Vec<Result<_, Error>> = client(&server).deployments().list_all().collect().await;

    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().id, "d1");
    assert_eq!(items[1].as_ref().unwrap().id, "d2");
    let error = items[2].as_ref().expect_err("the second page failed");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(failing.calls_async().await, 1);
}

#[tokio::test]
async fn list_all_keeps_per_call_options_on_every_page() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.method(Method::GET)
                .path(LIST)
                .query_param("limit", "2")
                .query_param_missing("starting_after")
                .header("x-trace", "t-1");
            then.status(200).header("content-type", "application/json").json_body(page(&["d1", "d2"], true));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(Method::GET)
                .path(LIST)
                .query_param("limit", "2")
                .query_param("starting_after", "d2")
                .header("x-trace", "t-1");
            then.status(200).header("content-type", "application/json").json_body(page(&["d3"], false));
        })
        .await;
    let client = client(&server);

    let all: Vec<_> = client
        .deployments()
        .list()
        .limit(2)
        .header("x-trace", "t-1")
        .into_stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(all.len(), 3);
    assert_eq!(first.calls_async().await, 1);
    assert_eq!(second.calls_async().await, 1);
}

// ---------------------------------------------------------- 5. errors

#[tokio::test]
async fn json_client_errors_become_api_errors_with_all_details() {
    let cases = [
        (400, "bad_request", "Invalid inputs: `name` is required"),
        (401, "unauthorized", "Invalid API key"),
        (404, "not_found", "Deployment `k` not found"),
        (422, "unprocessable_entity", "messages[0].role is invalid"),
    ];
    for (status, code, message) in cases {
        let server = MockServer::start_async().await;
        let body = json!({"message": message, "code": code}).to_string();
        server
            .mock_async(|when, then| {
                when.method(Method::POST).path(INVOKE);
                then.status(status)
                    .header("content-type", "application/json")
                    .header("x-request-id", format!("req-{status}"))
                    .body(&body);
            })
            .await;

        let error = expect_api(client(&server).deployments().invoke("k").send().await);

        let Error::Api {
            status: got,
            message: got_message,
            code: got_code,
            details,
            body: got_body,
            request_id,
        } = &error
        else {
            unreachable!()
        };
        assert_eq!(*details, None);
        assert_eq!(got.as_u16(), status);
        assert_eq!(got_message, message);
        assert_eq!(got_code.as_deref(), Some(code));
        assert_eq!(got_body, &body);
        assert_eq!(request_id.as_deref(), Some(format!("req-{status}").as_str()));
        assert_eq!(error.is_unauthorized(), status == 401);
        assert_eq!(error.is_not_found(), status == 404);
        let display = error.to_string();
        assert!(display.contains(&status.to_string()), "{display}");
        assert!(display.contains(message), "{display}");
        assert!(display.contains(code), "{display}");
    }
}

#[tokio::test]
async fn html_502_keeps_the_raw_text_truncated() {
    let server = MockServer::start_async().await;
    let html = format!(
        "<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "upstream unavailable. ".repeat(5_000)
    );
    assert!(html.len() > 100_000);
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.status(502).header("content-type", "text/html").header("cf-ray", "8a1b2c3d-AMS").body(&html);
        })
        .await;

    let error = expect_api(client(&server).deployments().invoke("k").send().await);

    let Error::Api { status, message, code, details, body, request_id } = &error else { unreachable!() };
    assert_eq!(*details, None);
    assert_eq!(status.as_u16(), 502);
    assert!(message.starts_with("<html><head><title>502 Bad Gateway</title>"), "{message}");
    assert!(message.len() <= 2_100, "message of {} bytes", message.len());
    assert_eq!(*code, None);
    assert!(body.starts_with("<html><head><title>502 Bad Gateway</title>"), "{body}");
    assert!(body.len() <= 2_100, "body of {} bytes", body.len());
    assert!(body.len() >= 1_000, "body of {} bytes keeps enough to read", body.len());
    assert_eq!(request_id.as_deref(), Some("8a1b2c3d-AMS"));
    let display = error.to_string();
    assert!(display.contains("502"), "{display}");
    assert!(display.contains("502 Bad Gateway"), "{display}");
    assert!(display.len() < 3_000, "display of {} bytes", display.len());
}

#[tokio::test]
async fn list_500_with_a_json_error_is_an_api_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST);
            then.status(500)
                .header("content-type", "application/json")
                .header("x-request-id", "req-500")
                .json_body(json!({"message": "database unavailable", "code": "internal"}));
        })
        .await;

    let error = expect_api(client(&server).deployments().list().send().await);

    let Error::Api { status, message, code, request_id, .. } = &error else { unreachable!() };
    assert_eq!(status.as_u16(), 500);
    assert_eq!(message, "database unavailable");
    assert_eq!(code.as_deref(), Some("internal"));
    assert_eq!(request_id.as_deref(), Some("req-500"));
    assert!(error.to_string().contains("500") && error.to_string().contains("database unavailable"));
}

#[tokio::test]
async fn list_500_json_error_body_keeps_every_field() {
    let server = MockServer::start_async().await;
    let raw = r#"{"message":"database unavailable","code":"internal","details":{"shard":7}}"#;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST);
            then.status(500).header("content-type", "application/json").body(raw);
        })
        .await;

    let error = expect_api(client(&server).deployments().list().send().await);

    let Error::Api { body, .. } = &error else { unreachable!() };
    let kept: serde_json::Value = serde_json::from_str(body).expect("the body is JSON");
    assert_eq!(kept, serde_json::from_str::<serde_json::Value>(raw).unwrap());
}

#[tokio::test]
async fn list_500_with_an_html_body_is_still_an_api_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST);
            then.status(500)
                .header("content-type", "text/html")
                .body("<html><body><h1>500 Internal Server Error</h1></body></html>");
        })
        .await;

    let error = client(&server).deployments().list().send().await.expect_err("500 fails");

    let Error::Api { status, message, body, code, .. } = &error else {
        panic!("expected Error::Api, not a decode error: {error:?}")
    };
    assert_eq!(status.as_u16(), 500);
    assert!(message.contains("500 Internal Server Error"), "{message}");
    assert!(body.contains("<h1>500 Internal Server Error</h1>"), "{body}");
    assert_eq!(*code, None);
}

#[tokio::test]
async fn malformed_200_is_a_decode_error_naming_the_field() {
    let server = MockServer::start_async().await;
    let mut bad_invoke = invoke_response("hi", "openai");
    // A union variant it does not know is kept; a wrong type in a plain field is an error.
    bad_invoke["choices"][0]["finish_reason"] = json!(7);
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.status(200).header("content-type", "application/json").json_body(bad_invoke);
        })
        .await;
    let mut bad_page = page(&["d1", "d2"], false);
    bad_page["data"][1]["key"] = json!(42);
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST);
            then.status(200).header("content-type", "application/json").json_body(bad_page);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(GET_CONFIG);
            then.status(200)
                .header("content-type", "application/json")
                .body("{\"id\": \"cfg\", \"messages\": [");
        })
        .await;
    let client = client(&server);

    let error = client.deployments().invoke("k").send().await.expect_err("bad body");
    let Error::Decode { what, path, excerpt, .. } = &error else {
        panic!("expected Error::Decode: {error:?}")
    };
    assert_eq!(*what, "invoke");
    assert!(path.contains("choices[0]"), "{path}");
    assert!(path.contains("finish_reason"), "{path}");
    assert!(excerpt.contains("01JABCDEF"), "{excerpt}");
    let display = error.to_string();
    assert!(display.contains("invoke") && display.contains("choices[0]"), "{display}");

    let error = client.deployments().list().send().await.expect_err("bad page");
    let Error::Decode { what, path, .. } = &error else { panic!("expected Error::Decode: {error:?}") };
    assert_eq!(*what, "list");
    assert_eq!(path, "data[1].key");

    let error = client.deployments().get_config("k").send().await.expect_err("truncated JSON");
    assert!(matches!(&error, Error::Decode { what: "get_config", .. }), "{error:?}");
}

#[tokio::test]
async fn out_of_range_limits_are_rejected_without_a_request() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200).header("content-type", "application/json").json_body(page(&[], false));
        })
        .await;
    let client = client(&server);

    for limit in [0, 201, u32::MAX] {
        let message = expect_invalid(client.deployments().list().limit(limit).send().await);
        assert!(message.contains(&limit.to_string()), "{message}");
        let streamed: Vec<_> = client.deployments().list().limit(limit).into_stream().collect().await;
        assert!(matches!(&streamed[..], [Err(Error::InvalidRequest(_))]), "{streamed:?}");
    }

    assert_eq!(mock.calls_async().await, 0);
}

#[tokio::test]
async fn empty_deployment_key_is_rejected_without_a_request() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let client = client(&server);

    for key in ["", "   "] {
        expect_invalid(client.deployments().invoke(key).send().await);
        expect_invalid(client.deployments().get_config(key).send().await);
        expect_invalid(client.deployments().stream(key).send().await);
    }

    assert_eq!(mock.calls_async().await, 0);
}

#[tokio::test]
async fn invalid_per_call_headers_are_rejected_without_a_request() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let client = client(&server);

    let message = expect_invalid(client.deployments().invoke("k").header("bad header", "v").send().await);
    assert!(message.contains("bad header"), "{message}");
    expect_invalid(client.deployments().invoke("k").header("x-ok", "line\nbreak").send().await);
    expect_invalid(client.deployments().list().header("bad:name", "v").send().await);
    // A later valid header does not hide an earlier invalid one.
    expect_invalid(
        client.deployments().get_config("k").header("bad header", "v").header("x-ok", "v").send().await,
    );

    assert_eq!(mock.calls_async().await, 0);
}

#[tokio::test]
async fn non_object_metadata_context_and_extra_params_are_rejected_without_a_request() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(200);
        })
        .await;
    let client = client(&server);

    let message = expect_invalid(client.deployments().invoke("k").metadata(json!(5)).send().await);
    assert!(message.contains("metadata"), "{message}");
    let message = expect_invalid(client.deployments().invoke("k").context(json!("prod")).send().await);
    assert!(message.contains("context"), "{message}");
    let message = expect_invalid(client.deployments().stream("k").extra_params(json!([1, 2])).send().await);
    assert!(message.contains("extra_params"), "{message}");

    assert_eq!(mock.calls_async().await, 0);
}

fn expect_config(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Config(message)) => message,
        other => panic!("expected Error::Config, got {other:?}"),
    }
}

#[test]
fn building_without_a_key_or_with_a_bad_url_fails() {
    expect_config(sdk_builder().build());
    expect_config(sdk_builder().api_key("   ").build());
    for url in ["not a url", "ftp://example.com", "", "http://", "localhost:8080"] {
        let message = expect_config(sdk_builder().api_key(KEY).base_url(url).build());
        assert!(message.contains("base URL"), "{url}: {message}");
    }
    // Paths are appended to the base URL: a query or fragment would swallow them.
    for url in ["https://my.orq.ai?region=eu", "https://my.orq.ai/#top", "http://proxy/orq?", "http://h/#"] {
        let message = expect_config(sdk_builder().api_key(KEY).base_url(url).build());
        assert!(message.contains("query or fragment"), "{url}: {message}");
    }
    expect_config(sdk_builder().api_key(KEY).default_header("bad header", "v").build());
    expect_config(sdk_builder().api_key(KEY).user_agent("line\nbreak").build());
    expect_config(sdk_builder().api_key(KEY).contact_id("line\nbreak").build());
    // A trailing slash is fine and does not double up in paths.
    let client = sdk_builder().api_key(KEY).base_url("http://127.0.0.1:9/").build().unwrap();
    assert_eq!(client.base_url(), "http://127.0.0.1:9");
}

#[tokio::test]
async fn base_url_with_a_trailing_slash_hits_the_right_path() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST);
            then.status(200).header("content-type", "application/json").json_body(page(&[], false));
        })
        .await;
    let client =
        sdk_builder().api_key(KEY).base_url(format!("{}/", server.base_url())).no_retries().build().unwrap();

    client.deployments().list().send().await.expect("list succeeds");

    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn base_url_with_a_path_prefix_keeps_the_prefix() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/gateway/orq/v2/deployments/invoke");
            then.status(200)
                .header("content-type", "application/json")
                .json_body(invoke_response("ok", "openai"));
        })
        .await;
    let client =
        sdk_builder().api_key(KEY).base_url(server.url("/gateway/orq/")).no_retries().build().unwrap();

    client.deployments().invoke("k").send().await.expect("invoke succeeds");

    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn a_whole_body_keeps_the_operation_stream_flag_and_later_settings() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE).json_body(json!({
                "key": "support-bot",
                "stream": false,
                "inputs": {"name": "Ada", "tier": "gold"},
                "context": {"environments": "staging"}
            }));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(invoke_response("ok", "openai"));
        })
        .await;
    let mut body = DeploymentRequest::new("support-bot");
    body.inputs.insert("name".into(), "Ada".into());
    body.stream = Some(true);

    let result = client(&server)
        .deployments()
        .invoke("support-bot")
        .input("dropped", "replaced by the body")
        .body(body)
        .input("tier", "gold")
        .environment("staging")
        .send()
        .await;

    assert!(result.expect("invoke succeeds").is_some());
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn a_whole_body_keeps_the_key_given_to_the_operation() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path(INVOKE)
                .json_body(json!({"key": "support-bot", "stream": false, "inputs": {"name": "Ada"}}));
            then.status(200)
                .header("content-type", "application/json")
                .json_body(invoke_response("ok", "openai"));
        })
        .await;
    // A body built without a key of its own (the key is the operation's argument).
    let mut body = DeploymentRequest::new("");
    body.inputs.insert("name".into(), "Ada".into());

    let result = client(&server).deployments().invoke("support-bot").body(body).send().await;

    assert!(result.expect("invoke succeeds").is_some());
    assert_eq!(mock.calls_async().await, 1);
}

// ---------------------------------------------------------- 6. secrets

#[tokio::test]
async fn debug_output_of_client_builder_and_requests_hides_the_key() {
    let server = MockServer::start_async().await;
    let builder = builder(&server).contact_id("c-1").environment("production");
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();
    let client_debug = format!("{client:?}");
    let request_debug = format!("{:?}", client.deployments().invoke("k").header("x-trace", "t"));
    let list_debug = format!("{:?}", client.deployments().list().limit(5));

    for text in [&builder_debug, &client_debug, &request_debug, &list_debug] {
        assert!(!text.contains(KEY), "{text}");
        assert!(!text.contains("7Hq2ZpX9"), "{text}");
    }
    assert!(client_debug.contains("redacted"), "{client_debug}");
    assert!(builder_debug.contains("redacted"), "{builder_debug}");
    assert_eq!(format!("{:?}", orq::ApiKey::new(KEY)), "ApiKey(<redacted>)");
    assert_eq!(orq::ApiKey::new(KEY).to_string(), "<redacted>");
}

#[tokio::test]
async fn errors_never_show_the_key() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.status(401)
                .header("content-type", "application/json")
                .json_body(json!({"message": "Invalid API key", "code": "unauthorized"}));
        })
        .await;
    let unauthorized = client(&server).deployments().invoke("k").send().await.expect_err("401");
    assert!(unauthorized.is_unauthorized());

    // A connection refused: a port that was just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let closed = sdk_builder().api_key(KEY).base_url(format!("http://127.0.0.1:{port}")).no_retries().build();
    let refused = closed.unwrap().deployments().list().send().await.expect_err("nothing listens");
    assert!(matches!(refused, Error::Connect { .. }), "{refused:?}");

    // A key that cannot be a header value.
    let bad_key = sdk_builder().api_key(format!("{KEY}\n")).build().expect_err("invalid key");
    assert!(matches!(bad_key, Error::Config(_)), "{bad_key:?}");

    for error in [&unauthorized, &refused, &bad_key] {
        let shown = format!("{error} / {error:?} / {error:#?}");
        assert!(!shown.contains(KEY), "{shown}");
        assert!(!shown.contains("7Hq2ZpX9"), "{shown}");
        assert!(!shown.contains("Bearer"), "{shown}");
    }
    assert!(unauthorized.to_string().contains("401"), "{unauthorized}");
    assert!(unauthorized.to_string().contains("Invalid API key"), "{unauthorized}");
}

// Current-thread runtime: every future of the SDK (and of hyper) runs on this
// thread, so the thread's log buffer receives all of the SDK's events.
#[tokio::test(flavor = "current_thread")]
async fn trace_logs_name_the_operation_but_never_the_key() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.status(200)
                .header("content-type", "application/json")
                .header("x-request-id", "req-ok-1")
                .json_body(invoke_response("hi", "openai"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(Method::GET).path(LIST);
            then.status(401)
                .header("content-type", "application/json")
                .header("x-request-id", "req-401")
                .json_body(json!({"message": "Invalid API key", "code": "unauthorized"}));
        })
        .await;
    let retried = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(GET_CONFIG);
            then.status(503).header("content-type", "application/json").json_body(json!({"message": "busy"}));
        })
        .await;
    let client = builder(&server).contact_id("contact-9").build().unwrap();

    let logs = {
        let capture = logs::capture();
        client.deployments().invoke("k").send().await.expect("invoke succeeds");
        client.deployments().list().send().await.expect_err("list is unauthorized");
        let policy = RetryPolicy::default()
            .max_retries(1)
            .initial_interval(Duration::from_millis(1))
            .max_interval(Duration::from_millis(1))
            .jitter(false);
        client.deployments().get_config("k").retry(policy).send().await.expect_err("503 twice");
        capture.finish()
    };

    let text = logs;
    // Each attempt is inside a span naming its operation, and says how it ended.
    assert!(text.contains("operation=\"invoke\""), "{text}");
    assert!(text.contains("operation=\"list\""), "{text}");
    assert!(text.contains("operation=\"get_config\""), "{text}");
    assert!(text.contains("orq request succeeded"), "{text}");
    assert!(text.contains("orq request failed"), "{text}");
    assert!(text.contains("retrying"), "{text}");
    assert!(text.contains("req-ok-1"), "the request id is logged: {text}");
    assert!(text.contains("req-401"), "the request id is logged: {text}");
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains(KEY), "{text}");
    assert!(!text.contains("7Hq2ZpX9"), "{text}");
    assert_eq!(retried.calls_async().await, 2);
}

// ---------------------------------------------------------- 7. timeouts

// The server's delay is far above the call's timeout, and the bound on the
// elapsed time far above the timeout too: only a call that waited for the
// server (or hung) fails, however loaded the machine is.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);
const SERVER_DELAY: Duration = Duration::from_secs(30);
const UPPER_BOUND: Duration = Duration::from_secs(20);

#[tokio::test]
async fn per_call_timeout_is_a_timeout_error() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(invoke_response("late", "openai"))
                .delay(SERVER_DELAY);
        })
        .await;
    let client = client(&server);
    let started = Instant::now();

    let error = client.deployments().invoke("k").timeout(CALL_TIMEOUT).send().await.expect_err("too slow");

    assert!(matches!(error, Error::Timeout { after: Some(after) } if after == CALL_TIMEOUT), "{error:?}");
    assert!(started.elapsed() < UPPER_BOUND, "took {:?}", started.elapsed());
    assert!(error.to_string().contains("timed out"), "{error}");
    assert_eq!(mock.calls_async().await, 1);
}

#[tokio::test]
async fn per_call_timeout_limits_the_wait_for_a_stream_to_start() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(STREAM);
            then.status(200).header("content-type", "text/event-stream").body(sse_body()).delay(SERVER_DELAY);
        })
        .await;
    let client = client(&server);
    let started = Instant::now();

    let error = client.deployments().stream("k").timeout(CALL_TIMEOUT).send().await.expect_err("too slow");

    assert!(matches!(error, Error::Timeout { after: Some(after) } if after == CALL_TIMEOUT), "{error:?}");
    assert!(started.elapsed() < UPPER_BOUND, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn per_call_timeout_overrides_a_short_client_timeout() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.status(200)
                .header("content-type", "application/json")
                .json_body(invoke_response("worth the wait", "openai"))
                .delay(Duration::from_secs(2));
        })
        .await;
    // Wide margins both ways: 40 times the client's timeout, a fifteenth of the call's.
    let client = builder(&server).timeout(Duration::from_millis(50)).build().unwrap();

    let short = client.deployments().invoke("k").send().await.expect_err("client timeout applies");
    assert!(matches!(short, Error::Timeout { after: Some(after) } if after == Duration::from_millis(50)));
    let long = client.deployments().invoke("k").timeout(Duration::from_secs(30)).send().await;
    assert_eq!(long.expect("per-call timeout applies").unwrap().text(), Some("worth the wait"));
}

// ------------------------------------------------- 8. typed httpmock helpers

#[tokio::test]
async fn typed_mock_helpers_match_what_the_facade_sends() {
    let server = MockServer::start_async().await;
    let mut expected_request = DeploymentRequest::new("support-bot");
    expected_request.inputs.insert("name".into(), "Ada".into());
    expected_request.inputs.insert("big".into(), 9007199254740993i64.into());
    expected_request.messages.push(Message::user("Hello"));
    expected_request.context.insert("environments".into(), json!("production"));
    expected_request.stream = Some(false);
    let answer: InvokeResponse = serde_json::from_value(invoke_response("Hi Ada", "acme-ai")).unwrap();
    let invoke = server.deployments_invoke(|when, then| {
        // The facade sends neither of the spec's header parameters.
        when.body(&expected_request).contact_id(None).environment(None);
        then.ok(&answer);
    });
    let listed: DeploymentList = serde_json::from_value(page(&["d1"], false)).unwrap();
    let list = server.deployments_list(|when, then| {
        when.limit(NonZeroU32::new(20)).starting_after(None).ending_before(None);
        then.ok(&listed);
    });
    let failing_list = server.deployments_list(|when, then| {
        when.limit(NonZeroU32::new(3));
        then.internal_server_error(&ErrorBody {
            message: "overloaded".into(),
            code: Some("busy".into()),
            extra: Default::default(),
        });
    });
    let config: DeploymentConfig = serde_json::from_value(config_response()).unwrap();
    let mut config_request = DeploymentRequest::new("support-bot");
    config_request.stream = Some(false);
    config_request.context.insert("environments".into(), json!("production"));
    let get_config = server.deployments_get_config(|when, then| {
        when.body(&config_request);
        then.ok(&config);
    });
    let mut stream_request = DeploymentRequest::new("support-bot");
    stream_request.stream = Some(true);
    stream_request.context.insert("environments".into(), json!("production"));
    let stream = server.deployments_stream(|when, then| {
        when.body(&stream_request).contact_id(None).environment(None);
        let chunks: Vec<StreamChunk> =
            sse_body().lines().filter_map(|l| serde_json::from_str(l.strip_prefix("data: ")?).ok()).collect();
        assert_eq!(chunks.len(), 2);
        then.events(&chunks);
    });
    let client = builder(&server).environment("production").build().unwrap();

    let got = client
        .deployments()
        .invoke("support-bot")
        .input("name", "Ada")
        .input("big", 9007199254740993i64)
        .message(Message::user("Hello"))
        .send()
        .await
        .expect("invoke succeeds");
    assert_eq!(got, Some(answer));
    assert_eq!(client.deployments().list().limit(20).send().await.expect("list succeeds"), listed);
    let error = expect_api(client.deployments().list().limit(3).send().await);
    assert!(
        matches!(&error, Error::Api { status, message, code: Some(code), .. }
            if status.as_u16() == 500 && message == "overloaded" && code == "busy"),
        "{error:?}"
    );
    assert_eq!(client.deployments().get_config("support-bot").send().await.unwrap(), Some(config));
    let text = client.deployments().stream("support-bot").send().await.unwrap().collect_text().await.unwrap();
    assert_eq!(text, "Hello");

    invoke.assert_calls_async(1).await;
    list.assert_calls_async(1).await;
    failing_list.assert_calls_async(1).await;
    get_config.assert_calls_async(1).await;
    stream.assert_calls_async(1).await;
}

// ------------------------------------------------------------ log capture

/// The test binary's one tracing subscriber, installed once and for good, and
/// per-thread buffers it writes into.
///
/// A subscriber set per test (`set_default`) is not enough: tracing caches
/// each callsite's interest process-wide, and a callsite first reached by a
/// test thread while no subscriber wanted it stays disabled for everyone.
/// With one global subscriber installed before any test touches the SDK,
/// every callsite is enabled, and each test reads only its own thread's events.
mod logs {
    use std::cell::RefCell;
    use std::io::Write;
    use std::sync::Once;

    use tracing_subscriber::fmt::MakeWriter;

    thread_local! {
        static BUFFER: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
    }

    /// Writes into the buffer of the thread the event was emitted on, if it has one.
    struct ThreadBuffer;

    impl Write for ThreadBuffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            BUFFER.with(|buffer| {
                if let Some(buffer) = buffer.borrow_mut().as_mut() {
                    buffer.extend_from_slice(bytes);
                }
            });
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for ThreadBuffer {
        type Writer = ThreadBuffer;

        fn make_writer(&'a self) -> Self::Writer {
            ThreadBuffer
        }
    }

    /// Installs the global subscriber (once per test binary).
    pub fn init() {
        static INIT: Once = Once::new();
        INIT.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(ThreadBuffer)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in this test binary");
        });
    }

    /// Collects the events emitted on this thread until [`Capture::finish`].
    pub struct Capture(());

    pub fn capture() -> Capture {
        init();
        BUFFER.with(|buffer| *buffer.borrow_mut() = Some(Vec::new()));
        Capture(())
    }

    impl Capture {
        /// Stops collecting and returns the text collected.
        pub fn finish(self) -> String {
            let bytes = BUFFER.with(|buffer| buffer.borrow_mut().take()).unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    impl Drop for Capture {
        fn drop(&mut self) {
            BUFFER.with(|buffer| buffer.borrow_mut().take());
        }
    }
}

// ------------------------------------------------------------ runtimes

#[test]
fn a_call_outside_tokio_is_a_clear_error() {
    let client = sdk_builder().api_key(KEY).base_url("http://127.0.0.1:9").build().unwrap();
    let result = futures::executor::block_on(client.deployments().invoke("k").send());
    match result {
        Err(error @ Error::NoRuntime) => assert!(error.to_string().contains("Tokio runtime"), "{error}"),
        other => panic!("{other:?}"),
    }
}

#[test]
#[should_panic(expected = "timers are disabled")]
fn a_call_on_a_runtime_without_timers_panics_as_documented() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
    let client = sdk_builder().api_key(KEY).base_url("http://127.0.0.1:9").build().unwrap();
    let _ = runtime.block_on(client.deployments().list().send());
}
