//! The span each call leaves, as an OpenTelemetry exporter receives it through
//! `tracing-opentelemetry`: names and attributes after the GenAI semantic
//! conventions, a stream's span living until the stream ends, errors, and no
//! prompt, completion or key unless content recording is turned on.
//!
//! Each test installs its own subscriber for its thread only (`set_default`),
//! rebuilds tracing's process-wide callsite interest after installing it,
//! and runs on a current-thread runtime, so every span of the test is made on
//! the thread whose subscriber records it.

use futures::StreamExt;
use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use orq::types::Message;
use orq::{Client, Error};
use orq_mock::MockOrq;
use tracing_subscriber::layer::SubscriberExt;

const KEY: &str = "observability-test-key";
const QUESTION: &str = "Where is my order 4711?";

/// The spans this test's subscriber exported. Dropping it uninstalls the subscriber.
struct Spans {
    exporter: InMemorySpanExporter,
    _provider: SdkTracerProvider,
    _guard: tracing::subscriber::DefaultGuard,
}

/// Installs, for this thread, a subscriber exporting spans to memory.
fn capture() -> Spans {
    let exporter = InMemorySpanExporter::default();
    // The simple processor exports each span as it ends: nothing to wait for.
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("orq-tests"));
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
    // A callsite first reached while no subscriber wanted it caches "never";
    // ask again now that this one exists.
    tracing::callsite::rebuild_interest_cache();
    Spans { exporter, _provider: provider, _guard: guard }
}

impl Spans {
    /// Every finished span so far.
    fn finished(&self) -> Vec<SpanData> {
        self.exporter.get_finished_spans().expect("the exporter answers")
    }

    /// The one finished span named `name`.
    fn one(&self, name: &str) -> SpanData {
        let spans = self.finished();
        let mut named = spans.iter().filter(|span| span.name == name);
        let span = named.next().unwrap_or_else(|| panic!("no span `{name}` in {:?}", names(&spans)));
        assert!(named.next().is_none(), "two spans `{name}`");
        span.clone()
    }
}

fn names(spans: &[SpanData]) -> Vec<String> {
    spans.iter().map(|span| span.name.to_string()).collect()
}

/// The attribute `key` of `span`, checking that it was recorded once.
fn attr(span: &SpanData, key: &str) -> Option<Value> {
    let mut found = span.attributes.iter().filter(|kv: &&KeyValue| kv.key.as_str() == key);
    let value = found.next().map(|kv| kv.value.clone());
    assert!(found.next().is_none(), "`{key}` recorded twice on `{}`: {:?}", span.name, span.attributes);
    value
}

fn text(span: &SpanData, key: &str) -> String {
    match attr(span, key) {
        Some(Value::String(s)) => s.to_string(),
        other => panic!("`{key}` of `{}` is {other:?}, not text", span.name),
    }
}

fn int(span: &SpanData, key: &str) -> i64 {
    match attr(span, key) {
        Some(Value::I64(n)) => n,
        other => panic!("`{key}` of `{}` is {other:?}, not an integer", span.name),
    }
}

/// Fails when any attribute of `span` or of its events holds `secret`.
fn assert_nothing_holds(span: &SpanData, secret: &str) {
    for kv in &span.attributes {
        assert!(!kv.value.as_str().contains(secret), "`{}` holds `{secret}`: {}", kv.key, kv.value);
    }
    for event in span.events.iter() {
        for kv in &event.attributes {
            assert!(!kv.value.as_str().contains(secret), "event `{}` holds `{secret}`", event.name);
        }
    }
}

/// The attributes every call's span has.
fn assert_common(span: &SpanData, mock: &MockOrq, operation: &str) {
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(text(span, "gen_ai.operation.name"), operation);
    assert_eq!(text(span, "gen_ai.provider.name"), "orq.ai");
    assert_eq!(text(span, "server.address"), "127.0.0.1");
    assert_eq!(int(span, "server.port"), i64::from(mock.port()));
    assert_eq!(int(span, "orq.retry_count"), 0);
    assert_nothing_holds(span, KEY);
}

async fn mock() -> MockOrq {
    MockOrq::builder().api_key(KEY).start().await.expect("mock starts")
}

fn client(mock: &MockOrq) -> orq::ClientBuilder {
    Client::builder().api_key(KEY).base_url(mock.url()).no_retries()
}

#[tokio::test(flavor = "current_thread")]
async fn an_invoke_span_follows_the_genai_conventions() {
    let spans = capture();
    let mock = mock().await;
    let client = client(&mock).build().unwrap();
    let answer = client
        .deployments()
        .invoke("support-bot")
        .input("name", "Ada")
        .message(Message::user(QUESTION))
        .include_usage(true)
        .send()
        .await
        .unwrap()
        .expect("an answer");

    let span = spans.one("chat support-bot");
    assert_common(&span, &mock, "chat");
    assert_eq!(span.status, Status::Unset);
    assert_eq!(text(&span, "operation"), "invoke");
    assert_eq!(text(&span, "orq.deployment.key"), "support-bot");
    assert_eq!(int(&span, "http.response.status_code"), 200);
    assert_eq!(text(&span, "gen_ai.response.model"), answer.model);
    assert_eq!(text(&span, "gen_ai.response.id"), answer.id);
    let reason = answer.choices[0].finish_reason.clone().expect("a finish reason");
    assert_eq!(text(&span, "gen_ai.response.finish_reasons"), format!("[\"{reason}\"]"));
    let usage = answer.usage.as_ref().expect("usage");
    assert_eq!(
        int(&span, "gen_ai.usage.input_tokens") as u64,
        usage.prompt_tokens.unwrap().as_u64().unwrap()
    );
    assert_eq!(
        int(&span, "gen_ai.usage.output_tokens") as u64,
        usage.completion_tokens.unwrap().as_u64().unwrap()
    );
    assert_eq!(attr(&span, "error.type"), None);
    // The attempt is an event of the call's span.
    assert!(span.events.iter().any(|event| event.name == "orq request succeeded"), "{:?}", span.events);

    // Content is not recorded by default.
    assert_eq!(attr(&span, "gen_ai.input.messages"), None);
    assert_eq!(attr(&span, "gen_ai.output.messages"), None);
    assert_nothing_holds(&span, QUESTION);
    assert_nothing_holds(&span, "Ada");
    assert_nothing_holds(&span, answer.text().expect("text"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_stream_span_lasts_until_the_stream_ends_and_says_what_it_saw() {
    let spans = capture();
    let mock = mock().await;
    let client = client(&mock).build().unwrap();
    let mut stream = client
        .deployments()
        .stream("support-bot")
        .message(Message::user(QUESTION))
        .include_usage(true)
        .send()
        .await
        .unwrap();
    assert!(spans.finished().is_empty(), "the span ends with the stream, not before");

    let mut message = orq::StreamedMessage::default();
    while let Some(chunk) = stream.next().await {
        message.push(chunk.unwrap());
    }
    let span = spans.one("chat support-bot");
    assert_common(&span, &mock, "chat");
    assert_eq!(span.status, Status::Unset);
    assert_eq!(text(&span, "operation"), "stream");
    assert_eq!(int(&span, "http.response.status_code"), 200);
    assert_eq!(text(&span, "orq.stream.outcome"), "completed");
    assert_eq!(int(&span, "orq.stream.chunks") as usize, message.chunks);
    match attr(&span, "gen_ai.response.time_to_first_chunk") {
        Some(Value::F64(seconds)) => assert!(seconds > 0.0 && seconds < 60.0, "{seconds}"),
        other => panic!("time to first chunk: {other:?}"),
    }
    assert_eq!(Some(text(&span, "gen_ai.response.id")), message.id);
    assert_eq!(Some(text(&span, "gen_ai.response.model")), message.model);
    let reason = message.finish_reason.clone().expect("a finish reason");
    assert_eq!(text(&span, "gen_ai.response.finish_reasons"), format!("[\"{reason}\"]"));
    let usage = message.usage.as_ref().expect("usage");
    assert_eq!(
        int(&span, "gen_ai.usage.input_tokens") as u64,
        usage.prompt_tokens.unwrap().as_u64().unwrap()
    );
    assert_eq!(
        int(&span, "gen_ai.usage.output_tokens") as u64,
        usage.completion_tokens.unwrap().as_u64().unwrap()
    );
    assert_eq!(attr(&span, "gen_ai.output.messages"), None);
    assert_nothing_holds(&span, QUESTION);
    assert_nothing_holds(&span, &message.text);
}

#[tokio::test(flavor = "current_thread")]
async fn a_stream_dropped_early_ends_its_span_as_dropped() {
    let spans = capture();
    let mock = mock().await;
    let client = client(&mock).build().unwrap();
    let mut stream = client.deployments().stream("support-bot").send().await.unwrap();
    stream.next().await.expect("a first chunk").unwrap();
    drop(stream);

    let span = spans.one("chat support-bot");
    assert_eq!(text(&span, "orq.stream.outcome"), "dropped");
    assert_eq!(int(&span, "orq.stream.chunks"), 1);
    assert!(matches!(attr(&span, "gen_ai.response.time_to_first_chunk"), Some(Value::F64(_))));
    assert_eq!(attr(&span, "error.type"), None);
    assert_eq!(span.status, Status::Unset);
}

#[tokio::test(flavor = "current_thread")]
async fn a_stream_cut_midway_ends_its_span_with_an_error() {
    let spans = capture();
    let mock = mock().await;
    mock.cut_stream_after(2);
    let client = client(&mock).build().unwrap();
    let mut stream = client.deployments().stream("support-bot").send().await.unwrap();
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item);
    }
    drop(stream);
    assert!(matches!(items.last(), Some(Err(Error::Stream(_)))), "{items:?}");
    let chunks = items.iter().filter(|item| item.is_ok()).count();

    let span = spans.one("chat support-bot");
    assert_eq!(text(&span, "orq.stream.outcome"), "error");
    assert_eq!(int(&span, "orq.stream.chunks"), i64::try_from(chunks).unwrap());
    assert!(text(&span, "error.type").starts_with("stream."), "{:?}", span.attributes);
    assert!(matches!(span.status, Status::Error { .. }), "{:?}", span.status);
    // The answer had started: its status was a success.
    assert_eq!(int(&span, "http.response.status_code"), 200);
}

#[tokio::test(flavor = "current_thread")]
async fn a_retried_call_counts_its_retries_on_one_span() {
    let spans = capture();
    let mock = mock().await;
    mock.fail_next(2, 503).retry_after("0");
    let client = Client::builder()
        .api_key(KEY)
        .base_url(mock.url())
        .retry(orq::RetryPolicy::default().max_retries(2))
        .build()
        .unwrap();
    client.deployments().list().send().await.unwrap();

    // One span for the call, however many attempts it took.
    let span = spans.one("orq.deployments.list");
    assert_eq!(int(&span, "orq.retry_count"), 2);
    assert_eq!(int(&span, "http.response.status_code"), 200);
    assert_eq!(attr(&span, "error.type"), None);
    let failed = span.events.iter().filter(|event| event.name == "orq request failed").count();
    assert_eq!(failed, 2, "{:?}", span.events.iter().map(|e| e.name.to_string()).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn list_get_config_and_list_versions_spans_are_named_after_the_operation() {
    let spans = capture();
    let mock = mock().await;
    let client = client(&mock).build().unwrap();
    client.deployments().list().limit(2).send().await.unwrap();
    let config = client.deployments().get_config("support-bot").send().await.unwrap().expect("a config");
    client.deployments().list_versions("support-bot").send().await.unwrap();

    let list = spans.one("orq.deployments.list");
    assert_common(&list, &mock, "list_deployments");
    assert_eq!(int(&list, "http.response.status_code"), 200);
    assert_eq!(attr(&list, "orq.deployment.key"), None);

    let get_config = spans.one("orq.deployments.get_config");
    assert_common(&get_config, &mock, "get_deployment_config");
    assert_eq!(text(&get_config, "orq.deployment.key"), "support-bot");
    assert_eq!(text(&get_config, "gen_ai.request.model"), config.model);
    assert_eq!(int(&get_config, "http.response.status_code"), 200);

    let versions = spans.one("orq.deployments.list_versions");
    assert_common(&versions, &mock, "list_deployment_versions");
    assert_eq!(text(&versions, "orq.deployment.key"), "support-bot");
    assert_eq!(int(&versions, "http.response.status_code"), 200);

    assert_eq!(spans.finished().len(), 3, "{:?}", names(&spans.finished()));
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_call_says_why_in_error_type() {
    let spans = capture();
    let mock = mock().await;
    let client = client(&mock).build().unwrap();
    let error = client.deployments().invoke("no-such-deployment").send().await.unwrap_err();
    let Error::Api { status, .. } = &error else { panic!("{error:?}") };

    let span = spans.one("chat no-such-deployment");
    assert_eq!(text(&span, "error.type"), status.as_u16().to_string());
    assert_eq!(int(&span, "http.response.status_code"), i64::from(status.as_u16()));
    assert!(matches!(span.status, Status::Error { .. }), "{:?}", span.status);
    assert!(span.events.iter().any(|event| event.name == "orq request failed"), "{:?}", span.events);

    // Nothing listens on port 9 of the loopback address: no connection.
    let unreachable =
        Client::builder().api_key(KEY).base_url("http://127.0.0.1:9").no_retries().build().unwrap();
    let error = unreachable.deployments().list().send().await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    let span = spans.one("orq.deployments.list");
    assert_eq!(text(&span, "error.type"), "connect");
    assert_eq!(int(&span, "server.port"), 9);
    assert_eq!(attr(&span, "http.response.status_code"), None);
    assert!(matches!(span.status, Status::Error { .. }), "{:?}", span.status);
}

#[tokio::test(flavor = "current_thread")]
async fn content_is_recorded_only_when_asked_and_the_key_never() {
    let spans = capture();
    let mock = mock().await;
    let client = client(&mock).record_content(true).build().unwrap();
    let answer = client
        .deployments()
        .invoke("support-bot")
        .message(Message::user(QUESTION))
        .send()
        .await
        .unwrap()
        .expect("an answer");
    let span = spans.one("chat support-bot");
    let input: serde_json::Value = serde_json::from_str(&text(&span, "gen_ai.input.messages")).unwrap();
    assert_eq!(input[0]["role"], "user");
    assert_eq!(input[0]["content"], QUESTION);
    let output: serde_json::Value = serde_json::from_str(&text(&span, "gen_ai.output.messages")).unwrap();
    assert_eq!(output[0]["content"], answer.text().expect("text"));
    assert_nothing_holds(&span, KEY);

    let streamed = client
        .deployments()
        .stream("translator")
        .message(Message::user(QUESTION))
        .send()
        .await
        .unwrap()
        .collect_message()
        .await
        .unwrap();
    let span = spans.one("chat translator");
    assert!(text(&span, "gen_ai.input.messages").contains(QUESTION));
    let output: serde_json::Value = serde_json::from_str(&text(&span, "gen_ai.output.messages")).unwrap();
    assert_eq!(output[0]["role"], "assistant");
    assert_eq!(output[0]["content"], streamed.text.as_str());
    assert_eq!(output[0]["finish_reason"].as_str(), streamed.finish_reason.as_deref());
    assert_nothing_holds(&span, KEY);
}
