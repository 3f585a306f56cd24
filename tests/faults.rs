//! Fault injection over real loopback HTTP: retries, `Retry-After`, connection
//! failures, timeouts and streaming, against a small scripted HTTP/1.1 server
//! defined at the bottom of this file.
//!
//! Nothing here synchronizes with sleeps: the server reports what it saw through
//! a `watch` channel (requests recorded) and an `mpsc` channel (connections the
//! client closed); `tokio::time::timeout` is only a safety bound (5 s). The only
//! timers are the faults themselves (client timeouts of 100 ms, a stream read
//! after its header timeout has passed, one scripted slow answer in an ignored
//! test).

use std::time::{Duration, Instant};

use futures::StreamExt;
use orq::types::StreamChunk;
use orq::{ChunkStream, Client, ClientBuilder, ConnectionCause, Error, RetryPolicy, StreamError};
use serde_json::{Value, json};

use capture::capture;
use scripted::{End, Framing, Reply, Server};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The policy most tests use: the default rules with 1–5 ms waits.
fn fast() -> RetryPolicy {
    RetryPolicy::default().initial_interval(ms(1)).max_interval(ms(5))
}

/// A policy whose computed backoff is far longer than any test waits: a quick
/// retry under it can only come from `Retry-After`.
fn slow() -> RetryPolicy {
    RetryPolicy::default().initial_interval(Duration::from_secs(10)).max_interval(Duration::from_secs(10))
}

/// The transport for every test client: no system proxy (the servers are on
/// loopback) and no root certificates (plain HTTP only). Loading the platform
/// roots costs ~50 ms per client in a debug build, which would dominate the
/// run time; nothing else differs from the SDK's own `reqwest::Client`.
fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().tls_certs_only([]).build().expect("reqwest client")
}

fn builder(server: &Server) -> ClientBuilder {
    Client::builder().api_key("test-key").base_url(server.url()).retry(fast()).http_client(http())
}

fn client(server: &Server) -> Client {
    builder(server).build().expect("client builds")
}

/// A client for a base URL with no server behind it.
fn client_for(url: &str, policy: RetryPolicy) -> Client {
    capture::init();
    let builder = Client::builder().api_key("test-key").base_url(url).retry(policy);
    builder.http_client(http()).build().expect("client builds")
}

/// Bounds a future that must finish; a hang fails the test instead of blocking it.
async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(5), future)
        .await
        .unwrap_or_else(|_| panic!("{what}: did not finish within 5 s"))
}

// ---------------------------------------------------------------------------
// Response bodies
// ---------------------------------------------------------------------------

fn list_body() -> String {
    json!({"object": "list", "data": [], "has_more": false}).to_string()
}

fn config_body() -> String {
    json!({
        "id": "cfg-1",
        "messages": [],
        "model": "gpt-4o",
        "parameters": {},
        "provider": "openai",
        "type": "chat",
        "version": "v1",
    })
    .to_string()
}

fn invoke_body() -> String {
    json!({
        "id": "gen-1",
        "created": "2024-01-01T00:00:00Z",
        "is_final": true,
        "model": "gpt-4o",
        "object": "chat",
        "provider": "openai",
        "choices": [{
            "index": 0,
            "finish_reason": "stop",
            "message": {"type": "content", "role": "assistant", "content": "Hello"},
        }],
    })
    .to_string()
}

fn chunk(text: &str) -> String {
    json!({"id": "gen-1", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]})
        .to_string()
}

fn chunk_with_finish(text: &str) -> String {
    json!({
        "id": "gen-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    })
    .to_string()
}

const TEXTS: [&str; 4] = ["Hel", "lo, ", "wor", "ld!"];

/// `data:` events for `texts`, the last with a finish reason, then `[DONE]`.
fn sse_body(texts: &[&str]) -> String {
    let mut body = sse_events(texts);
    body.push_str("data: [DONE]\n\n");
    body
}

/// The chunk events of [`sse_body`] without `[DONE]`.
fn sse_events(texts: &[&str]) -> String {
    let mut body = String::new();
    for (i, text) in texts.iter().enumerate() {
        let data = if i + 1 == texts.len() { chunk_with_finish(text) } else { chunk(text) };
        body.push_str(&format!("data: {data}\n\n"));
    }
    body
}

/// Everything the SSE format allows besides plain `data:` lines, in one body:
/// comments, `event`/`id`/`retry` fields, unknown fields, multi-line data,
/// CRLF, LF and lone-CR line ends, a leading UTF-8 BOM, a field without a value.
fn tricky_sse_body() -> String {
    // Split the JSON between two tokens: data lines are joined with '\n'.
    let first = chunk("Hel");
    let (a, b) = first.split_at(first.find("\"id\"").unwrap());
    [
        "\u{feff}: ping\r\n".to_string(),
        format!("id: 1\r\nevent: message\r\nretry: 5\r\ndata: {a}\r\ndata: {b}\r\n\r\n"),
        ": keep-alive\n\n".to_string(),
        "foo: ignored field\n".to_string(),
        format!("data:{}\n\n", chunk("lo, ")),
        format!("id: 2\rdata: {}\r\r", chunk("wor")),
        "data\n\n".to_string(),
        format!("data: {}\r\n\r\n", chunk_with_finish("ld!")),
        ": bye\n".to_string(),
        "data: [DONE]\r\n\r\n".to_string(),
    ]
    .concat()
}

fn sse(body: impl Into<Vec<u8>>) -> Reply {
    Reply::sse(vec![body.into()])
}

fn status(code: u16) -> Reply {
    Reply::status(code).body(format!("{{\"message\":\"status {code}\",\"code\":\"e{code}\"}}"))
}

/// All items of a stream (bounded).
async fn items(stream: ChunkStream) -> Vec<Result<StreamChunk, Error>> {
    bounded("collecting the stream", stream.collect::<Vec<_>>()).await
}

fn texts(items: &[Result<StreamChunk, Error>]) -> Vec<String> {
    items.iter().filter_map(|item| item.as_ref().ok()).map(|c| c.text().to_string()).collect()
}

fn assert_api(result: Result<impl std::fmt::Debug, Error>, expected: u16) {
    match result {
        Err(Error::Api { status, .. }) if status.as_u16() == expected => {}
        other => panic!("expected Error::Api {{ status: {expected} }}, got {other:?}"),
    }
}

fn assert_same_bodies(server: &Server) {
    let bodies = server.bodies();
    assert!(!bodies.is_empty());
    for (i, body) in bodies.iter().enumerate() {
        assert_eq!(body, &bodies[0], "body of attempt {} differs from the first", i + 1);
    }
}

// ---------------------------------------------------------------------------
// Sanity: the fixtures decode, so a failure below is about faults, not fixtures
// ---------------------------------------------------------------------------

#[tokio::test]
async fn fixtures_decode_into_the_api_types() {
    serde_json::from_str::<orq::types::DeploymentList>(&list_body()).unwrap();
    serde_json::from_str::<orq::types::DeploymentConfig>(&config_body()).unwrap();
    let out = serde_json::from_str::<orq::types::InvokeResponse>(&invoke_body()).unwrap();
    assert_eq!(out.text(), Some("Hello"));
    let chunk = serde_json::from_str::<StreamChunk>(&chunk("x")).unwrap();
    assert_eq!(chunk.text(), "x");
}

// ---------------------------------------------------------------------------
// 1. Retries
// ---------------------------------------------------------------------------

#[tokio::test]
async fn retry_503_503_200_succeeds_after_exactly_three_requests() {
    let server = Server::start(vec![status(503), status(503), Reply::json(200, invoke_body())]).await;
    let out = client(&server).deployments().invoke("bot").input("name", "Ada").send().await;
    assert_eq!(out.unwrap().unwrap().text(), Some("Hello"));
    assert_eq!(server.count(), 3);
    assert_same_bodies(&server);
}

#[tokio::test]
async fn retry_gives_up_after_three_503s_with_the_last_error() {
    let attempt = |n: u32| Reply::status(503).body(format!(r#"{{"message":"attempt {n}","code":"busy"}}"#));
    let server =
        Server::start(vec![attempt(1), attempt(2), attempt(3), Reply::json(200, invoke_body())]).await;
    let result = client(&server).deployments().invoke("bot").send().await;
    match &result {
        Err(Error::Api { status, message, code, .. }) => {
            assert_eq!(status.as_u16(), 503);
            assert_eq!(message, "attempt 3");
            assert_eq!(code.as_deref(), Some("busy"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn retry_each_default_retryable_status() {
    const CODES: [u16; 6] = [408, 429, 500, 502, 503, 504];
    let script = CODES.iter().flat_map(|&code| [status(code), Reply::json(200, config_body())]).collect();
    let server = Server::start(script).await;
    let client = client(&server);
    for (i, code) in CODES.into_iter().enumerate() {
        let out = client.deployments().get_config("bot").send().await;
        assert!(matches!(out, Ok(Some(_))), "{code}: {out:?}");
        assert_eq!(server.count(), 2 * (i + 1), "status {code} should be retried once");
    }
}

#[tokio::test]
async fn retry_never_on_client_errors() {
    const CODES: [u16; 6] = [400, 401, 403, 404, 409, 422];
    let server = Server::start(CODES.iter().map(|&code| status(code)).collect()).await;
    let client = client(&server);
    for (i, code) in CODES.into_iter().enumerate() {
        assert_api(client.deployments().invoke("bot").send().await, code);
        assert_eq!(server.count(), i + 1, "status {code} must not be retried");
    }
}

#[tokio::test]
async fn retry_policy_none_makes_one_request() {
    let server = Server::start(vec![status(503), Reply::json(200, invoke_body())]).await;
    let client = builder(&server).retry(RetryPolicy::none()).build().unwrap();
    assert_api(client.deployments().invoke("bot").send().await, 503);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn retry_no_retries_builder_makes_one_request() {
    let server = Server::start(vec![status(503), Reply::json(200, invoke_body())]).await;
    let client = builder(&server).no_retries().build().unwrap();
    assert_eq!(client.retry_policy(), &RetryPolicy::none());
    assert_api(client.deployments().invoke("bot").send().await, 503);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn retry_per_call_policy_overrides_the_clients() {
    // The client never retries; the call does.
    let server = Server::start(vec![status(503), status(503), Reply::json(200, invoke_body())]).await;
    let quiet = builder(&server).no_retries().build().unwrap();
    let out = quiet.deployments().invoke("bot").retry(fast()).send().await;
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
    assert_eq!(server.count(), 3);

    // The client retries; the call does not.
    let server = Server::start(vec![status(503), Reply::json(200, invoke_body())]).await;
    let client = client(&server);
    assert_api(client.deployments().invoke("bot").retry(RetryPolicy::none()).send().await, 503);
    assert_eq!(server.count(), 1);

    // The override is per call: the next call uses the client's policy again.
    let out = client.deployments().invoke("bot").send().await;
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn retry_custom_status_list_replaces_the_default() {
    let policy = fast().retry_on_status([418]);
    let server = Server::start(vec![status(418), Reply::json(200, config_body())]).await;
    let out = client(&server).deployments().get_config("bot").retry(policy.clone()).send().await;
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
    assert_eq!(server.count(), 2);

    // 503 is no longer in the list.
    let server = Server::start(vec![status(503), Reply::json(200, config_body())]).await;
    assert_api(client(&server).deployments().get_config("bot").retry(policy.clone()).send().await, 503);
    assert_eq!(server.count(), 1);

    // A listed status other than 408, 429 and 503 may mean the generation
    // started: invoke resends it only when duplicates are allowed.
    let server = Server::start(vec![status(418), Reply::json(200, invoke_body())]).await;
    assert_api(client(&server).deployments().invoke("bot").retry(policy.clone()).send().await, 418);
    assert_eq!(server.count(), 1);
    let server = Server::start(vec![status(418), Reply::json(200, invoke_body())]).await;
    let policy = policy.allow_duplicate_generations(true);
    let out = client(&server).deployments().invoke("bot").retry(policy).send().await;
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn retry_max_retries_4_makes_five_requests() {
    let server = Server::start(vec![status(503); 6]).await;
    let result = client(&server).deployments().invoke("bot").retry(fast().max_retries(4)).send().await;
    assert_api(result, 503);
    assert_eq!(server.count(), 5);
}

#[tokio::test]
async fn retry_works_for_list() {
    let server = Server::start(vec![status(503), status(429), Reply::json(200, list_body())]).await;
    let page = client(&server).deployments().list().limit(5).send().await.unwrap();
    assert!(page.data.is_empty());
    assert_eq!(server.count(), 3);
    for request in server.requests() {
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/v2/deployments?limit=5");
    }
}

#[tokio::test]
async fn retry_works_for_list_with_a_documented_500_and_an_html_body() {
    // list documents 500, so the generated code tries to decode its body: an
    // HTML page from a proxy must still be a retryable Api error, not Decode.
    let html = Reply::status(500).header("content-type", "text/html").body("<html>Bad gateway</html>");
    let json = Reply::status(500).header("content-type", "application/json").body(r#"{"message":"boom"}"#);
    let server = Server::start(vec![html, json, Reply::json(200, list_body())]).await;
    let page = client(&server).deployments().list().send().await;
    assert!(page.is_ok(), "{page:?}");
    assert_eq!(server.count(), 3);

    let html = Reply::status(500).header("content-type", "text/html").body("<html>Bad gateway</html>");
    let server = Server::start(vec![html]).await;
    let result = client(&server).deployments().list().retry(RetryPolicy::none()).send().await;
    match result {
        Err(Error::Api { status, body, .. }) => {
            assert_eq!(status.as_u16(), 500);
            assert!(body.contains("Bad gateway"), "{body}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn retry_works_for_get_config_with_identical_bodies() {
    let server = Server::start(vec![status(502), status(504), Reply::json(200, config_body())]).await;
    let config = client(&server)
        .deployments()
        .get_config("bot")
        .input("name", "Ada")
        .context_field("tier", "gold")
        .send()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(config.model, "gpt-4o");
    assert_eq!(server.count(), 3);
    assert_same_bodies(&server);
    let request = &server.requests()[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v2/deployments/get_config"));
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["key"], "bot");
    assert_eq!(body["inputs"]["name"], "Ada");
}

#[tokio::test]
async fn retry_works_for_invoke_with_identical_bodies() {
    let server = Server::start(vec![status(429), status(503), Reply::json(200, invoke_body())]).await;
    let out = client(&server)
        .deployments()
        .invoke("bot")
        .input("name", "Ada")
        .message(orq::types::Message::user("Where is my order?"))
        .metadata(json!({"ticket": 123}))
        .send()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.text(), Some("Hello"));
    assert_eq!(server.count(), 3);
    assert_same_bodies(&server);
    let request = &server.requests()[2];
    assert_eq!(request.path, "/v2/deployments/invoke");
    assert_eq!(request.header("accept"), Some("application/json"));
    // No spec declares an `api-version` header; none is sent.
    assert_eq!(request.header("api-version"), None);
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["key"], "bot");
    assert_eq!(body["metadata"]["ticket"], 123);
    assert_eq!(body["stream"], false);
}

#[tokio::test]
async fn retry_works_for_stream_with_identical_bodies() {
    let server = Server::start(vec![status(503), status(429), sse(sse_body(&TEXTS))]).await;
    let stream = client(&server).deployments().stream("bot").input("name", "Ada").send().await.unwrap();
    assert_eq!(bounded("stream", stream.collect_text()).await.unwrap(), "Hello, world!");
    assert_eq!(server.count(), 3);
    assert_same_bodies(&server);
    let request = &server.requests()[0];
    assert_eq!(request.path, "/v2/deployments/stream");
    assert_eq!(request.header("accept"), Some("text/event-stream"));
    assert_eq!(request.header("api-version"), None);
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["stream"], true);
}

// ---------------------------------------------------------------------------
// 2. Retry-After
// ---------------------------------------------------------------------------

#[tokio::test]
async fn retry_after_zero_is_honoured_over_a_long_backoff() {
    let server =
        Server::start(vec![status(503).header("retry-after", "0"), Reply::json(200, invoke_body())]).await;
    let started = Instant::now();
    let out = client(&server).deployments().invoke("bot").retry(slow()).send().await;
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
    assert_eq!(server.count(), 2);
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn retry_after_fraction_of_a_second_is_honoured() {
    let server =
        Server::start(vec![status(429).header("retry-after", "0.125"), Reply::json(200, invoke_body())])
            .await;
    let (log, _guard) = capture();
    let started = Instant::now();
    let out = client(&server).deployments().invoke("bot").retry(slow()).send().await;
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(log.field_values("retrying", "wait_ms"), vec!["125"]);
}

#[tokio::test]
async fn retry_after_larger_than_the_cap_is_cut_to_max_retry_after() {
    let server =
        Server::start(vec![status(503).header("retry-after", "3600"), Reply::json(200, invoke_body())]).await;
    let (log, _guard) = capture();
    let policy = slow().max_retry_after(ms(20));
    let started = Instant::now();
    let out = client(&server).deployments().invoke("bot").retry(policy).send().await;
    let elapsed = started.elapsed();
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
    assert_eq!(server.count(), 2);
    assert!(elapsed >= ms(20), "the capped wait was not waited: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_eq!(log.field_values("retrying", "wait_ms"), vec!["20"]);
}

#[tokio::test]
async fn retry_after_http_date_in_the_past_retries_at_once() {
    let past = Reply::status(503).header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT");
    let server = Server::start(vec![past, Reply::json(200, invoke_body())]).await;
    let (log, _guard) = capture();
    let started = Instant::now();
    let out = client(&server).deployments().invoke("bot").retry(slow()).send().await;
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
    assert_eq!(server.count(), 2);
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(log.field_values("retrying", "wait_ms"), vec!["0"]);
}

#[tokio::test]
async fn retry_after_garbage_falls_back_to_the_backoff() {
    let server =
        Server::start(vec![status(503).header("retry-after", "soon"), Reply::json(200, invoke_body())]).await;
    let (log, _guard) = capture();
    let policy = fast().jitter(false).initial_interval(ms(3));
    let out = client(&server).deployments().invoke("bot").retry(policy).send().await;
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
    assert_eq!(log.field_values("retrying", "wait_ms"), vec!["3"]);
}

#[tokio::test]
async fn retry_after_beyond_max_elapsed_gives_up_at_once() {
    // The service asks for an hour and the policy would honour it, but the
    // overall budget is 10 s: waiting is pointless, the error comes back now.
    let server =
        Server::start(vec![status(503).header("retry-after", "3600"), Reply::json(200, invoke_body())]).await;
    let policy =
        fast().max_retry_after(Duration::from_secs(7200)).max_elapsed_time(Some(Duration::from_secs(10)));
    let started = Instant::now();
    let result = client(&server).deployments().invoke("bot").retry(policy).send().await;
    assert_api(result, 503);
    assert_eq!(server.count(), 1);
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn retry_after_of_u64_max_seconds_gives_up_within_max_elapsed() {
    let huge = status(503).header("retry-after", "18446744073709551615");
    let server = Server::start(vec![huge, Reply::json(200, invoke_body())]).await;
    let policy = fast().max_retry_after(Duration::MAX).max_elapsed_time(Some(Duration::from_secs(10)));
    let call = tokio::spawn({
        let client = client(&server);
        async move { client.deployments().invoke("bot").retry(policy).send().await.map(|_| ()) }
    });
    let result = bounded("the call", call).await.expect("the call must not panic");
    assert_api(result, 503);
    assert_eq!(server.count(), 1);
}

#[tokio::test]

async fn retry_after_of_u64_max_seconds_after_a_slow_attempt_does_not_panic() {
    // The first answer takes just over a second, so `elapsed` has whole seconds
    // to carry into u64::MAX seconds of wait.
    let huge = status(503).header("retry-after", "18446744073709551615").delay(ms(1100));
    let server = Server::start(vec![huge, Reply::json(200, invoke_body())]).await;
    let policy = fast().max_retry_after(Duration::MAX).max_elapsed_time(Some(Duration::from_secs(10)));
    let call = tokio::spawn({
        let client = client(&server);
        async move { client.deployments().invoke("bot").retry(policy).send().await.map(|_| ()) }
    });
    let result = bounded("the call", call).await.expect("the call must not panic");
    assert_api(result, 503);
    assert_eq!(server.count(), 1);
}

// ---------------------------------------------------------------------------
// 3. Connection errors
// ---------------------------------------------------------------------------

/// A base URL whose port is bound but not listening: connecting is refused.
/// The socket stays bound for the test, so no other test can take the port.
fn refusing_port() -> (tokio::net::TcpSocket, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}", socket.local_addr().unwrap());
    (socket, url)
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let (_socket, url) = refusing_port();
    let (log, _guard) = capture();
    let started = Instant::now();
    let result = client_for(&url, fast()).deployments().invoke("bot").send().await;
    assert!(matches!(&result, Err(Error::Connect { cause: ConnectionCause::Refused, .. })), "{result:?}");
    let error = result.as_ref().unwrap_err();
    assert!(error.is_connect() && error.is_connection() && !error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(log.count("orq request failed"), 3, "{:?}", log.messages());
    assert_eq!(log.count("retrying"), 2);
    // The error names neither the key nor (since `without_url`) the URL.
    let text = format!("{}", result.unwrap_err());
    assert!(!text.contains("test-key"), "{text}");
    // It names the host and the root cause.
    assert!(text.contains(url.trim_start_matches("http://")), "{text}");
    assert!(text.contains("connection refused"), "{text}");
}

#[tokio::test]
async fn connection_refused_not_retried_when_disabled() {
    let (_socket, url) = refusing_port();
    let (log, _guard) = capture();
    let policy = slow().retry_connection_errors(false);
    let started = Instant::now();
    let result = client_for(&url, policy).deployments().list().send().await;
    assert!(matches!(result, Err(Error::Connect { .. })), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(log.count("orq request failed"), 1, "{:?}", log.messages());
    assert_eq!(log.count("retrying"), 0);
}

#[tokio::test]
async fn connection_refused_on_every_operation() {
    let (_socket, url) = refusing_port();
    let client = client_for(&url, RetryPolicy::none());
    let d = client.deployments();
    assert!(matches!(d.list().send().await, Err(Error::Connect { .. })));
    assert!(matches!(d.get_config("bot").send().await, Err(Error::Connect { .. })));
    assert!(matches!(d.invoke("bot").send().await, Err(Error::Connect { .. })));
    assert!(matches!(d.stream("bot").send().await, Err(Error::Connect { .. })));
}

#[tokio::test]
async fn connection_closed_without_an_answer_is_retried_for_get_config() {
    let server = Server::start(vec![Reply::Hangup, Reply::Hangup, Reply::json(200, config_body())]).await;
    let out = client(&server).deployments().get_config("bot").send().await;
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
    assert_eq!(server.count(), 3);
    assert_same_bodies(&server);
}

#[tokio::test]
async fn connection_closed_every_time_is_a_connection_error() {
    let server = Server::start(vec![Reply::Hangup; 4]).await;
    let result = client(&server).deployments().list().send().await;
    assert!(matches!(&result, Err(Error::Connection { cause: ConnectionCause::Closed, .. })), "{result:?}");
    let error = result.unwrap_err();
    // Something may have been sent: a connection error, not a connect error.
    assert!(error.is_connection() && !error.is_connect() && !error.is_timeout(), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("closed before the response"), "{text}");
    assert!(text.contains(server.url().trim_start_matches("http://")), "{text}");
    assert_eq!(server.count(), 3);

    let server = Server::start(vec![Reply::Hangup; 4]).await;
    let policy = fast().retry_connection_errors(false);
    let result = client(&server).deployments().list().retry(policy).send().await;
    assert!(matches!(result, Err(Error::Connection { .. })), "{result:?}");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn connection_closed_right_after_accept_is_retried() {
    // The first two connections are closed before a byte is read.
    let server = Server::start_closing_first(2, vec![Reply::json(200, list_body())]).await;
    let page = client(&server).deployments().list().send().await;
    assert!(page.is_ok(), "{page:?}");
    assert_eq!(server.connections(), 3);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn connection_closed_mid_body_of_a_200_is_not_replayed() {
    // The service answered 200: it ran the generation. Sending it again could
    // run (and bill) it twice, so the broken body is reported instead.
    let cut = Reply::json(200, invoke_body()).end(End::Abort);
    let server = Server::start(vec![cut, Reply::json(200, invoke_body())]).await;
    let out = client(&server).deployments().invoke("bot").send().await;
    assert!(matches!(out, Err(Error::Connection { .. })), "{out:?}");
    assert_eq!(server.count(), 1);
}

// ---------------------------------------------------------------------------
// 3b. The retry table (`orq::retry::RETRY_TABLE`): one test per row, each for
//     an operation that reads and one that starts a generation
// ---------------------------------------------------------------------------

/// A server whose every connection gets a plain-HTTP answer and is closed:
/// a TLS client fails its handshake. Returns the URL and the count of
/// connections accepted.
async fn plain_server_for_tls() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    capture::init();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let mut hello = [0u8; 512];
            let _ = socket.read(&mut hello).await;
            let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
        }
    });
    (url, accepted)
}

/// A listening port whose accept queue is full: a new connection is never
/// completed, so connecting times out. The returned values keep it so.
async fn full_backlog() -> (String, tokio::net::TcpListener, Vec<tokio::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let listener = socket.listen(1).unwrap();
    let mut held = Vec::new();
    // Fill the queue; the connect that finds it full does not complete.
    loop {
        match tokio::time::timeout(ms(500), tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => held.push(stream),
            _ => break,
        }
        assert!(held.len() < 64, "the accept queue never filled");
    }
    (format!("http://{addr}"), listener, held)
}

#[tokio::test]
async fn table_not_connected_refused_is_retried_for_every_operation() {
    let (_socket, url) = refusing_port();
    for operation in ["list", "invoke"] {
        let (log, _guard) = capture();
        let d = client_for(&url, fast());
        let result = match operation {
            "list" => d.deployments().list().send().await.map(|_| ()),
            _ => d.deployments().invoke("bot").send().await.map(|_| ()),
        };
        assert!(matches!(result, Err(Error::Connect { cause: ConnectionCause::Refused, .. })), "{result:?}");
        assert_eq!(log.count("orq request failed"), 3, "{operation}: {:?}", log.messages());
    }
}

#[tokio::test]
async fn table_not_connected_tls_failure_is_retried_for_every_operation() {
    let (url, accepted) = plain_server_for_tls().await;
    let client = client_for(&url, fast());
    let result = client.deployments().invoke("bot").send().await;
    assert!(matches!(&result, Err(Error::Connect { cause: ConnectionCause::Tls, .. })), "{result:?}");
    let text = result.unwrap_err().to_string();
    assert!(text.contains("TLS handshake failed"), "{text}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    let result = client.deployments().list().send().await;
    assert!(matches!(&result, Err(Error::Connect { cause: ConnectionCause::Tls, .. })), "{result:?}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 6);
}

#[tokio::test]
async fn table_not_connected_connect_timeout_is_its_own_error_and_retried() {
    let (url, _listener, _held) = full_backlog().await;
    let (log, _guard) = capture();
    let http =
        reqwest::Client::builder().no_proxy().tls_certs_only([]).connect_timeout(ms(100)).build().unwrap();
    let client = Client::builder().api_key("test-key").base_url(&url).retry(fast()).http_client(http);
    let client = client.timeout(Duration::from_secs(60)).build().unwrap();
    let result = bounded("invoke", client.deployments().invoke("bot").send()).await;
    assert!(matches!(result, Err(Error::ConnectTimeout { .. })), "{result:?}");
    assert_eq!(log.count("orq request failed"), 3, "{:?}", log.messages());
    let text = result.unwrap_err().to_string();
    assert!(text.contains("connecting to 127.0.0.1:") && text.contains("timed out"), "{text}");

    // The SDK's own transport reports the connect timeout it was given.
    let client = Client::builder().api_key("test-key").base_url(&url).no_retries();
    let client = client.connect_timeout(ms(100)).build().unwrap();
    let result = bounded("list", client.deployments().list().send()).await;
    assert!(matches!(result, Err(Error::ConnectTimeout { after: Some(after), .. }) if after == ms(100)));
}

#[tokio::test]
async fn table_declined_408_429_503_are_retried_for_every_operation() {
    for code in [408, 429, 503] {
        let server = Server::start(vec![
            status(code),
            Reply::json(200, invoke_body()),
            status(code),
            sse(sse_body(&TEXTS)),
            status(code),
            Reply::json(200, list_body()),
        ])
        .await;
        let d = client(&server);
        assert!(matches!(d.deployments().invoke("bot").send().await, Ok(Some(_))), "{code}");
        assert_eq!(server.count(), 2, "{code}");
        let stream = d.deployments().stream("bot").send().await.unwrap();
        assert_eq!(bounded("stream", stream.collect_text()).await.unwrap(), TEXTS.concat());
        assert_eq!(server.count(), 4, "{code}");
        assert!(d.deployments().list().send().await.is_ok(), "{code}");
        assert_eq!(server.count(), 6, "{code}");
    }
}

#[tokio::test]
async fn table_server_error_500_502_504_resends_reads_but_never_a_generation() {
    for code in [500, 502, 504] {
        let server = Server::start(vec![
            status(code),
            Reply::json(200, list_body()),
            status(code),
            Reply::json(200, config_body()),
            status(code),
            status(code),
        ])
        .await;
        let d = client(&server);
        assert!(d.deployments().list().send().await.is_ok(), "{code}");
        assert_eq!(server.count(), 2, "{code}");
        assert!(matches!(d.deployments().get_config("bot").send().await, Ok(Some(_))), "{code}");
        assert_eq!(server.count(), 4, "{code}");
        assert_api(d.deployments().invoke("bot").send().await, code);
        assert_eq!(server.count(), 5, "{code}: invoke is not resent");
        assert_api(d.deployments().stream("bot").send().await.map(|_| ()), code);
        assert_eq!(server.count(), 6, "{code}: stream is not resent");
    }
}

#[tokio::test]
async fn table_server_error_resends_a_generation_when_duplicates_are_allowed() {
    let server =
        Server::start(vec![status(500), Reply::json(200, invoke_body()), status(502), sse(sse_body(&TEXTS))])
            .await;
    let policy = fast().allow_duplicate_generations(true);
    let d = builder(&server).retry(policy).build().unwrap();
    assert!(matches!(d.deployments().invoke("bot").send().await, Ok(Some(_))));
    assert_eq!(server.count(), 2);
    let stream = d.deployments().stream("bot").send().await.unwrap();
    assert_eq!(bounded("stream", stream.collect_text()).await.unwrap(), TEXTS.concat());
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn table_broken_after_sending_resends_reads_but_never_a_generation() {
    // The server reads the whole request, then closes without answering.
    let server =
        Server::start(vec![Reply::Hangup, Reply::json(200, list_body()), Reply::Hangup, Reply::Hangup]).await;
    let d = client(&server);
    assert!(d.deployments().list().send().await.is_ok());
    assert_eq!(server.count(), 2);
    let result = d.deployments().invoke("bot").send().await;
    assert!(matches!(&result, Err(Error::Connection { cause: ConnectionCause::Closed, .. })), "{result:?}");
    assert_eq!(server.count(), 3, "a sent invoke is not resent");
    let result = d.deployments().stream("bot").send().await;
    assert!(matches!(&result, Err(Error::Connection { .. })), "{result:?}");
    assert_eq!(server.count(), 4, "a sent stream is not resent");
}

#[tokio::test]
async fn table_broken_after_sending_resends_a_generation_when_duplicates_are_allowed() {
    let server = Server::start(vec![Reply::Hangup, Reply::json(200, invoke_body())]).await;
    let policy = fast().allow_duplicate_generations(true);
    let out = client(&server).deployments().invoke("bot").retry(policy).send().await;
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
    assert_eq!(server.count(), 2);
    assert_same_bodies(&server);
}

#[tokio::test]
async fn table_body_broke_after_a_2xx_resends_reads_but_never_a_generation() {
    let cut_list = Reply::json(200, list_body()).end(End::Abort);
    let cut_invoke = Reply::json(200, invoke_body()).end(End::Abort);
    let server =
        Server::start(vec![cut_list, Reply::json(200, list_body()), cut_invoke.clone(), cut_invoke]).await;
    let d = client(&server);
    assert!(d.deployments().list().send().await.is_ok());
    assert_eq!(server.count(), 2);
    // Even with duplicates allowed: the answer started, so the generation ran.
    let policy = fast().allow_duplicate_generations(true);
    let result = d.deployments().invoke("bot").retry(policy).send().await;
    assert!(matches!(result, Err(Error::Connection { .. })), "{result:?}");
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn table_timed_out_is_never_resent() {
    let server = Server::start(vec![Reply::Hang, Reply::json(200, list_body())]).await;
    let result = bounded("list", client(&server).deployments().list().timeout(ms(200)).send()).await;
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    server.wait_for_requests(1).await;
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn table_final_statuses_are_never_resent() {
    let server = Server::start(vec![status(400), status(404), status(409), status(422)]).await;
    let d = client(&server);
    assert_api(d.deployments().list().send().await, 400);
    assert_api(d.deployments().get_config("bot").send().await.map(|_| ()), 404);
    assert_api(d.deployments().invoke("bot").send().await.map(|_| ()), 409);
    assert_api(d.deployments().stream("bot").send().await.map(|_| ()), 422);
    assert_eq!(server.count(), 4);
}

// ---------------------------------------------------------------------------
// 3c. Bounded memory: body limits against hostile sizes
// ---------------------------------------------------------------------------

const GIB: u64 = 1 << 30;
const MIB: usize = 1 << 20;

/// What a client could have buffered besides the limit: the socket buffers
/// between the two ends. A client that read the whole body would have let the
/// server write all of it.
const IN_FLIGHT: u64 = 32 << 20;

#[tokio::test]
async fn a_1_gib_invoke_body_fails_with_the_limit_error_after_reading_the_limit() {
    let flood = Reply::Flood { status: 200, bytes: GIB, declare_length: false };
    let server = Server::start(vec![flood.clone(), flood]).await;
    let result = bounded("invoke", client(&server).deployments().invoke("bot").send()).await;
    match &result {
        Err(Error::BodyTooLarge { what: "invoke", limit }) => {
            assert_eq!(*limit, orq::DEFAULT_MAX_RESPONSE_BODY_SIZE)
        }
        other => panic!("{other:?}"),
    }
    let text = result.unwrap_err().to_string();
    assert!(text.contains("max_response_body_size") && text.contains("33554432"), "{text}");
    assert_eq!(server.count(), 1, "a body over the limit is not retried");
    let written = server.flooded();
    assert!(written < orq::DEFAULT_MAX_RESPONSE_BODY_SIZE as u64 + IN_FLIGHT, "{written} bytes written");
}

#[tokio::test]
async fn a_declared_length_over_the_limit_fails_before_the_body_is_read() {
    let flood = Reply::Flood { status: 200, bytes: GIB, declare_length: true };
    let server = Server::start(vec![flood]).await;
    let client = builder(&server).max_response_body_size(MIB).build().unwrap();
    let result = bounded("list", client.deployments().list().send()).await;
    assert!(matches!(result, Err(Error::BodyTooLarge { what: "list", limit: MIB })), "{result:?}");
    assert!(server.flooded() < MIB as u64 + IN_FLIGHT, "{} bytes written", server.flooded());
}

#[tokio::test]
async fn the_body_limit_is_configurable_and_exact() {
    let body = config_body();
    let server = Server::start(vec![Reply::json(200, body.clone()), Reply::json(200, body.clone())]).await;
    let fits = builder(&server).max_response_body_size(body.len()).build().unwrap();
    assert!(matches!(fits.deployments().get_config("bot").send().await, Ok(Some(_))));
    let small = builder(&server).max_response_body_size(body.len() - 1).build().unwrap();
    let result = small.deployments().get_config("bot").send().await;
    assert!(matches!(result, Err(Error::BodyTooLarge { what: "get_config", .. })), "{result:?}");
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn a_1_gib_error_body_is_cut_and_its_start_kept() {
    for (status, declare_length) in [(400, false), (503, true)] {
        let flood = Reply::Flood { status, bytes: GIB, declare_length };
        let server = Server::start(vec![flood]).await;
        let client = builder(&server).retry(RetryPolicy::none()).build().unwrap();
        let result = bounded("invoke", client.deployments().invoke("bot").send()).await;
        match result {
            Err(Error::Api { status: got, body, .. }) => {
                assert_eq!(got.as_u16(), status);
                assert!(body.starts_with("7777") && body.ends_with('…'), "{}", &body[..40]);
            }
            other => panic!("{other:?}"),
        }
        let written = server.flooded();
        assert!(written < orq::DEFAULT_MAX_ERROR_BODY_SIZE as u64 + IN_FLIGHT, "{written} bytes written");
    }
}

#[tokio::test]
async fn a_1_gib_error_body_of_a_stream_is_cut_too() {
    let flood = Reply::Flood { status: 500, bytes: GIB, declare_length: false };
    let server = Server::start(vec![flood]).await;
    let client = builder(&server).max_error_body_size(1024).build().unwrap();
    let result = bounded("stream", client.deployments().stream("bot").send()).await;
    assert_api(result.map(|_| ()), 500);
    assert!(server.flooded() < 1024 + IN_FLIGHT, "{} bytes written", server.flooded());
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn gzip_responses_are_decoded_and_accept_encoding_is_sent() {
    let compressed =
        Reply::json(200, String::new()).header("content-encoding", "gzip").body(gzip(&invoke_body()));
    let server = Server::start(vec![compressed]).await;
    let out = client(&server).deployments().invoke("bot").send().await;
    assert_eq!(out.unwrap().unwrap().text(), Some("Hello"));
    let accepted = server.requests()[0].header("accept-encoding").unwrap_or_default().to_string();
    for encoding in ["gzip", "br", "zstd"] {
        assert!(accepted.contains(encoding), "{accepted}");
    }
}

#[tokio::test]
async fn the_body_limit_applies_to_the_decompressed_size() {
    // 64 MiB of JSON whitespace compresses to about 64 KiB.
    let bomb = format!("{}{}", " ".repeat(64 * MIB), invoke_body());
    let compressed = gzip(&bomb);
    assert!(compressed.len() < MIB);
    let reply = Reply::json(200, String::new()).header("content-encoding", "gzip").body(compressed);
    let server = Server::start(vec![reply]).await;
    let result = bounded("invoke", client(&server).deployments().invoke("bot").send()).await;
    assert!(matches!(result, Err(Error::BodyTooLarge { what: "invoke", .. })), "{result:?}");
}

// ---------------------------------------------------------------------------
// 4. max_elapsed_time
// ---------------------------------------------------------------------------

#[tokio::test]
async fn max_elapsed_time_smaller_than_one_wait_stops_after_the_first_attempt() {
    let server = Server::start(vec![status(503); 12]).await;
    let policy = RetryPolicy::default()
        .max_retries(10)
        .jitter(false)
        .initial_interval(ms(50))
        .max_elapsed_time(Some(ms(1)));
    let result = client(&server).deployments().invoke("bot").retry(policy).send().await;
    assert_api(result, 503);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn max_elapsed_time_cuts_a_long_retry_budget_short() {
    let server = Server::start(vec![status(503); 1002]).await;
    let policy = RetryPolicy::default()
        .max_retries(1000)
        .jitter(false)
        .exponent(1.0)
        .initial_interval(ms(10))
        .max_interval(ms(10))
        .max_elapsed_time(Some(ms(100)));
    let started = Instant::now();
    let result = client(&server).deployments().invoke("bot").retry(policy).send().await;
    let elapsed = started.elapsed();
    assert_api(result, 503);
    let count = server.count();
    // At most 100 ms / 10 ms of waits fit, plus the first attempt.
    assert!((1..=11).contains(&count), "{count} requests");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

// ---------------------------------------------------------------------------
// 5. Streaming
// ---------------------------------------------------------------------------

#[tokio::test]
async fn stream_yields_every_chunk_and_collect_text_joins_them() {
    let server = Server::start(vec![sse(sse_body(&TEXTS)), sse(sse_body(&TEXTS))]).await;
    let client = client(&server);
    let got = items(client.deployments().stream("bot").send().await.unwrap()).await;
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(texts(&got), TEXTS);
    assert_eq!(got[3].as_ref().unwrap().finish_reason(), Some("stop"));

    let stream = client.deployments().stream("bot").send().await.unwrap();
    let message = bounded("collect", stream.collect_message()).await.unwrap();
    assert_eq!(message.text, TEXTS.concat());
    assert_eq!(message.chunks, 4);
    assert_eq!(message.finish_reason.as_deref(), Some("stop"));
    assert_eq!(message.id.as_deref(), Some("gen-1"));
}

#[tokio::test]
async fn stream_request_id_comes_from_the_response_headers() {
    let server = Server::start(vec![sse(sse_body(&TEXTS)).header("x-request-id", "req-42")]).await;
    let stream = client(&server).deployments().stream("bot").send().await.unwrap();
    assert_eq!(stream.request_id(), Some("req-42"));
    assert_eq!(bounded("collect", stream.collect_text()).await.unwrap(), TEXTS.concat());
}

/// Streams `body` split at every byte position (two chunked-encoding pieces,
/// which hyper hands over as separate frames), one request per split, and
/// checks each parses to `expected`.
async fn assert_every_split_parses(body: &[u8], expected: &str, chunks: usize) {
    let replies = (0..=body.len())
        .map(|at| {
            let (a, b) = body.split_at(at);
            Reply::sse(vec![a.to_vec(), b.to_vec()])
        })
        .collect();
    let server = Server::start(replies).await;
    let client = client(&server);
    for at in 0..=body.len() {
        let stream = client.deployments().stream("bot").send().await.unwrap();
        let message = bounded("collect", stream.collect_message())
            .await
            .unwrap_or_else(|e| panic!("split at {at}: {e}"));
        assert_eq!(message.text, expected, "split at {at}");
        assert_eq!(message.chunks, chunks, "split at {at}");
    }
    assert_eq!(server.count(), body.len() + 1);
}

#[tokio::test]
async fn stream_parses_identically_split_at_every_byte() {
    let body = sse_body(&TEXTS);
    assert_every_split_parses(body.as_bytes(), &TEXTS.concat(), 4).await;
}

#[tokio::test]
async fn stream_with_every_sse_feature_parses_identically_split_at_every_byte() {
    let body = tricky_sse_body();
    assert_every_split_parses(body.as_bytes(), &TEXTS.concat(), 4).await;
}

#[tokio::test]
async fn stream_parses_one_byte_per_piece() {
    for body in [sse_body(&TEXTS), tricky_sse_body()] {
        let pieces = body.bytes().map(|b| vec![b]).collect();
        let server = Server::start(vec![Reply::sse(pieces)]).await;
        let stream = client(&server).deployments().stream("bot").send().await.unwrap();
        assert_eq!(bounded("collect", stream.collect_text()).await.unwrap(), TEXTS.concat());
    }
}

#[tokio::test]
async fn stream_crlf_line_ends() {
    let body = sse_body(&TEXTS).replace('\n', "\r\n");
    let server = Server::start(vec![sse(body)]).await;
    let stream = client(&server).deployments().stream("bot").send().await.unwrap();
    assert_eq!(bounded("collect", stream.collect_text()).await.unwrap(), TEXTS.concat());
}

#[tokio::test]
async fn stream_lone_cr_line_ends() {
    let body = sse_body(&TEXTS).replace('\n', "\r");
    let server = Server::start(vec![sse(body)]).await;
    let stream = client(&server).deployments().stream("bot").send().await.unwrap();
    assert_eq!(bounded("collect", stream.collect_text()).await.unwrap(), TEXTS.concat());
}

#[tokio::test]

async fn stream_lone_cr_done_ends_the_stream_while_the_connection_stays_open() {
    let body = sse_body(&TEXTS).replace('\n', "\r");
    let server = Server::start(vec![sse(body).end(End::Stall)]).await;
    let client = builder(&server).stream_idle_timeout(Some(ms(500))).build().unwrap();
    let got = items(client.deployments().stream("bot").send().await.unwrap()).await;
    assert!(got.iter().all(Result::is_ok), "{got:?}");
    assert_eq!(texts(&got), TEXTS);
}

#[tokio::test]
async fn stream_ignores_comments_and_other_fields() {
    let body = [
        ": ping\n\n",
        "event: message\nid: 1\nretry: 1000\n",
        &format!("data: {}\n\n", chunk("a")),
        ": another comment\n",
        "id: 2\n\n",
        "retry: 5\n\n",
        "event: message\n\n",
        "unknown: x\n\n",
        &format!("id: 3\ndata: {}\n\n", chunk_with_finish("b")),
        ": ping\n\n",
        "data: [DONE]\n\n",
    ]
    .concat();
    let server = Server::start(vec![sse(body)]).await;
    let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
    assert!(got.iter().all(Result::is_ok), "{got:?}");
    assert_eq!(texts(&got), ["a", "b"]);
}

#[tokio::test]
async fn stream_multi_line_data_is_joined_with_newlines() {
    // A JSON chunk spread over three data lines, and a [DONE] given as "data:"
    // with surrounding whitespace.
    let first = chunk("multi");
    assert!(first.starts_with("{\"choices\":[{\"index\""), "{first}");
    let (a, rest) = first.split_at("{\"choices\"".len());
    let (b, c) = rest.split_at(":[{\"index\"".len());
    let body = format!("data: {a}\ndata: {b}\ndata: {c}\n\ndata: {}\n\ndata:  [DONE] \n\n", chunk("line"));
    let server = Server::start(vec![sse(body)]).await;
    let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
    assert!(got.iter().all(Result::is_ok), "{got:?}");
    assert_eq!(texts(&got), ["multi", "line"]);
}

#[tokio::test]
async fn stream_nothing_after_done_is_read() {
    let body = format!("{}data: {{\"choices\": 5}}\n\nevent: error\ndata: boom\n\n", sse_body(&["a"]));
    let server = Server::start(vec![sse(body)]).await;
    let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
    assert!(got.iter().all(Result::is_ok), "{got:?}");
    assert_eq!(texts(&got), ["a"]);
}

fn assert_truncated(got: &[Result<StreamChunk, Error>], events: usize) {
    match got.last() {
        Some(Err(Error::Stream(StreamError::Truncated { events: n }))) => assert_eq!(*n, events, "{got:?}"),
        other => panic!("expected a Truncated last item, got {other:?} in {got:?}"),
    }
    let errors = got.iter().filter(|item| item.is_err()).count();
    assert_eq!(errors, 1, "only the last item is an error: {got:?}");
}

#[tokio::test]
async fn stream_clean_close_before_done_is_truncated() {
    // Connection-delimited body: the server closes after two whole events.
    let body = sse_events(&["a", "b"]);
    let server = Server::start(vec![sse(body).framing(Framing::Close)]).await;
    let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
    assert_eq!(texts(&got), ["a", "b"]);
    assert_truncated(&got, 2);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn stream_complete_chunked_body_without_done_is_truncated() {
    let server = Server::start(vec![sse(sse_events(&["a", "b"]))]).await;
    let stream = client(&server).deployments().stream("bot").send().await.unwrap();
    let result = bounded("collect", stream.collect_text()).await;
    assert!(matches!(result, Err(Error::Stream(StreamError::Truncated { events: 2 }))), "{result:?}");
}

#[tokio::test]
async fn stream_close_mid_event_is_truncated() {
    let whole = sse_body(&["a", "b"]);
    let second = whole[1..].find("data: ").unwrap() + 1;
    // Cut: inside the second event's JSON, right after its data line, and
    // between the [DONE] line and its blank line.
    let done = whole.rfind("data: [DONE]").unwrap();
    let cuts = [
        (second + 20, 1),
        (whole[second..].find('\n').unwrap() + second + 1, 1),
        (done + "data: [DONE]\n".len(), 2),
        (done + 3, 2),
    ];
    for (cut, events) in cuts {
        let server = Server::start(vec![sse(&whole.as_bytes()[..cut]).framing(Framing::Close)]).await;
        let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
        assert_truncated(&got, events);
    }
}

#[tokio::test]
async fn stream_empty_body_is_truncated() {
    let server = Server::start(vec![sse("").framing(Framing::Close), sse("")]).await;
    let client = client(&server);
    let got = items(client.deployments().stream("bot").send().await.unwrap()).await;
    assert_truncated(&got, 0);
    let got = items(client.deployments().stream("bot").send().await.unwrap()).await;
    assert_truncated(&got, 0);
}

#[tokio::test]
async fn stream_aborted_chunked_body_is_an_error_item() {
    // Chunked framing cut before the terminating chunk: the transport reports it.
    let body = sse_events(&["a", "b"]);
    let server = Server::start(vec![Reply::sse(vec![body.into_bytes()]).end(End::Abort)]).await;
    let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
    assert_eq!(texts(&got), ["a", "b"]);
    assert!(
        matches!(
            got.last(),
            Some(Err(Error::Stream(StreamError::Transport(_) | StreamError::Truncated { .. })))
        ),
        "{got:?}"
    );
    assert_eq!(got.iter().filter(|item| item.is_err()).count(), 1);
}

#[tokio::test]
async fn stream_error_event_is_an_error_item() {
    let body = format!(
        "{}event: error\ndata: {{\"error\":{{\"message\":\"quota exceeded\",\"code\":\"429\"}}}}\n\n{}",
        sse_events(&["a"]),
        sse_body(&["never"])
    );
    let server = Server::start(vec![sse(body)]).await;
    let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
    assert_eq!(got.len(), 2, "nothing after the error: {got:?}");
    assert_eq!(got[0].as_ref().unwrap().text(), "a");
    match &got[1] {
        Err(Error::Stream(StreamError::ErrorEvent { message, code })) => {
            assert_eq!(message, "quota exceeded");
            assert_eq!(code.as_deref(), Some("429"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn stream_error_event_with_plain_text_data() {
    let server = Server::start(vec![sse("event: error\ndata: upstream exploded\n\n")]).await;
    let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
    assert!(
        matches!(&got[..], [Err(Error::Stream(StreamError::ErrorEvent { message, code: None }))] if message == "upstream exploded"),
        "{got:?}"
    );
}

#[tokio::test]
async fn stream_error_object_in_a_data_event_is_an_error_item() {
    let body = format!("{}data: {{\"error\":{{\"message\":\"boom\"}}}}\n\n", sse_events(&["a"]));
    let server = Server::start(vec![sse(body)]).await;
    let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
    assert!(
        matches!(&got[..], [Ok(_), Err(Error::Stream(StreamError::ErrorEvent { message, .. }))] if message == "boom"),
        "{got:?}"
    );
}

#[tokio::test]
async fn stream_malformed_chunk_is_an_error_item() {
    let body = format!(
        "{}data: {{\"choices\": [{{\"index\": \"zero\"}}]}}\n\n{}",
        sse_events(&["a"]),
        sse_body(&["never"])
    );
    let server = Server::start(vec![sse(body)]).await;
    let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
    assert_eq!(got.len(), 2, "nothing after the error: {got:?}");
    match &got[1] {
        Err(Error::Stream(StreamError::Malformed { index, path, excerpt, .. })) => {
            assert_eq!(*index, 1);
            assert_eq!(path, "choices[0].index");
            assert!(excerpt.contains("zero"), "{excerpt}");
        }
        other => panic!("{other:?}"),
    }

    let server = Server::start(vec![sse("data: not json\n\n")]).await;
    let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
    assert!(matches!(&got[..], [Err(Error::Stream(StreamError::Malformed { index: 0, .. }))]), "{got:?}");
}

#[tokio::test]
async fn stream_invalid_utf8_is_an_error_item() {
    let mut body = sse_events(&["a"]).into_bytes();
    body.extend_from_slice(b"data: \xff\xfe\n\n");
    let server = Server::start(vec![Reply::sse(vec![body])]).await;
    let got = items(client(&server).deployments().stream("bot").send().await.unwrap()).await;
    assert_eq!(texts(&got), ["a"]);
    assert!(matches!(got.last(), Some(Err(Error::Stream(StreamError::Utf8(_))))), "{got:?}");
}

#[tokio::test]
async fn stream_idle_timeout_after_the_first_event() {
    let mut server = Server::start(vec![sse(sse_events(&["a"])).end(End::Stall)]).await;
    let client = builder(&server).stream_idle_timeout(Some(ms(100))).build().unwrap();
    // Before the request: the idle timer counts from the last byte received,
    // which may arrive before the first chunk is taken.
    let started = Instant::now();
    let mut stream = client.deployments().stream("bot").send().await.unwrap();
    let first = bounded("first chunk", stream.next()).await.unwrap().unwrap();
    assert_eq!(first.text(), "a");
    let next = bounded("idle", stream.next()).await;
    assert!(started.elapsed() >= ms(100), "{:?}", started.elapsed());
    match next {
        Some(Err(error @ Error::Stream(StreamError::Idle(_)))) => {
            assert!(matches!(error, Error::Stream(StreamError::Idle(after)) if after == ms(100)));
            assert!(error.is_timeout() && !error.is_connection(), "{error:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(bounded("after the error", stream.next()).await.is_none(), "the stream ends after an error");
    drop(stream);
    assert_eq!(server.client_closed().await, 0);
    assert_eq!(server.count(), 1, "an idle stream is never retried");
}

#[tokio::test]
async fn stream_idle_timeout_before_any_event() {
    // Headers arrive, then nothing: the first item is the idle error.
    let server = Server::start(vec![Reply::sse(vec![]).end(End::Stall)]).await;
    let client = builder(&server).stream_idle_timeout(Some(ms(100))).build().unwrap();
    let got = items(client.deployments().stream("bot").send().await.unwrap()).await;
    assert!(matches!(&got[..], [Err(Error::Stream(StreamError::Idle(_)))]), "{got:?}");
}

#[tokio::test]
async fn stream_dropped_after_the_first_chunk_closes_the_connection() {
    let mut server = Server::start(vec![sse(sse_events(&["a"])).end(End::Stall)]).await;
    let client = builder(&server).stream_idle_timeout(None).build().unwrap();
    let mut stream = client.deployments().stream("bot").send().await.unwrap();
    let first = bounded("first chunk", stream.next()).await.unwrap().unwrap();
    assert_eq!(first.text(), "a");
    drop(stream);
    // The server's read on the stalled connection returns 0 or fails.
    assert_eq!(server.client_closed().await, 0);
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn stream_dropped_before_reading_closes_the_connection() {
    let mut server = Server::start(vec![Reply::sse(vec![]).end(End::Stall)]).await;
    let client = builder(&server).stream_idle_timeout(None).build().unwrap();
    let stream = client.deployments().stream("bot").send().await.unwrap();
    drop(stream);
    assert_eq!(server.client_closed().await, 0);
}

#[tokio::test]
async fn stream_connection_is_reused_after_a_complete_stream() {
    // After [DONE] the stream stops reading; the next call must still work
    // (on the same connection or a new one).
    let server = Server::start(vec![sse(sse_body(&TEXTS)), Reply::json(200, invoke_body())]).await;
    let client = client(&server);
    let stream = client.deployments().stream("bot").send().await.unwrap();
    assert_eq!(bounded("collect", stream.collect_text()).await.unwrap(), TEXTS.concat());
    let out = bounded("invoke", client.deployments().invoke("bot").send()).await;
    assert!(matches!(out, Ok(Some(_))), "{out:?}");
}

// ---------------------------------------------------------------------------
// 6. A stream is retried only before its first byte
// ---------------------------------------------------------------------------

#[tokio::test]
async fn stream_503_then_200_is_retried_once() {
    let server = Server::start(vec![status(503), sse(sse_body(&TEXTS))]).await;
    let stream = client(&server).deployments().stream("bot").send().await.unwrap();
    assert_eq!(bounded("collect", stream.collect_text()).await.unwrap(), TEXTS.concat());
    assert_eq!(server.count(), 2);
    assert_same_bodies(&server);
}

#[tokio::test]
async fn stream_hangup_before_headers_is_not_resent() {
    // The server read the request: the generation may have started.
    let server = Server::start(vec![Reply::Hangup, sse(sse_body(&TEXTS))]).await;
    let result = client(&server).deployments().stream("bot").send().await;
    assert!(matches!(result, Err(Error::Connection { .. })), "{result:?}");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn stream_broken_mid_body_is_not_replayed() {
    for framing in [Framing::Chunked, Framing::Close] {
        let broken = Reply::sse(vec![sse_events(&["a"]).into_bytes(), b"data: {\"cho".to_vec()])
            .framing(framing)
            .end(End::Abort);
        let server = Server::start(vec![broken, sse(sse_body(&TEXTS))]).await;
        let stream = client(&server).deployments().stream("bot").send().await.unwrap();
        let got = items(stream).await;
        assert_eq!(texts(&got), ["a"], "{framing:?}");
        assert!(got.last().unwrap().is_err(), "{framing:?}: {got:?}");
        assert_eq!(server.count(), 1, "{framing:?}: a started stream must not be replayed");
    }
}

#[tokio::test]
async fn stream_error_event_is_not_retried() {
    let server =
        Server::start(vec![sse("event: error\ndata: {\"message\":\"overloaded\",\"code\":\"503\"}\n\n")])
            .await;
    let stream = client(&server).deployments().stream("bot").send().await.unwrap();
    let result = bounded("collect", stream.collect_text()).await;
    assert!(matches!(result, Err(Error::Stream(StreamError::ErrorEvent { .. }))), "{result:?}");
    assert_eq!(server.count(), 1);
}

// ---------------------------------------------------------------------------
// 7. Whole-request timeouts
// ---------------------------------------------------------------------------

#[tokio::test]
async fn timeout_per_call_is_a_timeout_error_and_not_retried() {
    let mut server = Server::start(vec![Reply::Hang, Reply::json(200, invoke_body())]).await;
    let started = Instant::now();
    let result = bounded("invoke", client(&server).deployments().invoke("bot").timeout(ms(100)).send()).await;
    let elapsed = started.elapsed();
    match &result {
        Err(Error::Timeout { after }) => assert_eq!(*after, Some(ms(100))),
        other => panic!("{other:?}"),
    }
    let error = result.unwrap_err();
    assert!(error.is_timeout() && !error.is_connect() && !error.is_connection(), "{error:?}");
    assert!(elapsed >= ms(100) && elapsed < Duration::from_secs(2), "{elapsed:?}");
    server.wait_for_requests(1).await;
    assert_eq!(server.count(), 1, "Error::Timeout is not retryable");
    // The abandoned attempt's connection is closed.
    assert_eq!(server.client_closed().await, 0);
}

#[tokio::test]
async fn timeout_from_the_client_builder_applies_to_every_operation() {
    let server = Server::start(vec![Reply::Hang; 4]).await;
    let client = builder(&server).timeout(ms(100)).build().unwrap();
    let d = client.deployments();
    // Concurrently: each call holds its own connection while the server hangs.
    let (list, config, invoke, stream) = bounded("the calls", async {
        tokio::join!(
            d.list().send(),
            d.get_config("bot").send(),
            d.invoke("bot").send(),
            d.stream("bot").send()
        )
    })
    .await;
    assert!(matches!(list, Err(Error::Timeout { .. })), "{list:?}");
    assert!(matches!(config, Err(Error::Timeout { .. })), "{config:?}");
    assert!(matches!(invoke, Err(Error::Timeout { .. })), "{invoke:?}");
    assert!(matches!(stream, Err(Error::Timeout { .. })), "{stream:?}");
    server.wait_for_requests(4).await;
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn timeout_covers_a_response_whose_body_stalls() {
    // Headers of a success arrive, then the JSON body never completes.
    let stalled = Reply::json(200, invoke_body()).end(End::Stall);
    let server = Server::start(vec![stalled]).await;
    let result = bounded("invoke", client(&server).deployments().invoke("bot").timeout(ms(100)).send()).await;
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");

    // Same for an error status whose body stalls.
    let stalled = status(503).end(End::Stall);
    let server = Server::start(vec![stalled]).await;
    let result = bounded("invoke", client(&server).deployments().invoke("bot").timeout(ms(100)).send()).await;
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
    assert_eq!(server.count(), 1);
}

#[tokio::test]

async fn timeout_covers_a_stream_error_response_whose_body_stalls() {
    let stalled = status(503).end(End::Stall);
    let server = Server::start(vec![stalled]).await;
    let client = builder(&server).stream_idle_timeout(Some(ms(100))).build().unwrap();
    let result = bounded(
        "stream",
        client.deployments().stream("bot").timeout(ms(100)).retry(RetryPolicy::none()).send(),
    )
    .await;
    assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}");
}

#[tokio::test]
async fn timeout_of_a_stream_limits_only_the_wait_for_headers() {
    // The per-call timeout (100 ms) must not cut a stream whose events keep
    // coming: here the whole body is sent at once, and the stream is read
    // after the timeout has passed.
    let server = Server::start(vec![sse(sse_body(&TEXTS)).end(End::Complete)]).await;
    let stream = client(&server).deployments().stream("bot").timeout(ms(100)).send().await.unwrap();
    // Let the per-call timeout elapse (a timer, not a synchronization).
    tokio::time::sleep(ms(150)).await;
    assert_eq!(bounded("collect", stream.collect_text()).await.unwrap(), TEXTS.concat());
}

// ---------------------------------------------------------------------------
// Tracing capture: counts attempts and reads waits from the SDK's own events
// ---------------------------------------------------------------------------

mod capture {
    use std::cell::RefCell;
    use std::fmt;
    use std::sync::{Arc, Mutex, Once};

    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

    #[derive(Debug, Clone, Default)]
    pub struct Record {
        pub message: String,
        pub fields: Vec<(String, String)>,
    }

    impl Visit for Record {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            if field.name() == "message" {
                self.message = format!("{value:?}");
            } else {
                self.fields.push((field.name().to_string(), format!("{value:?}")));
            }
        }
    }

    /// The SDK's events emitted on one test's thread.
    #[derive(Clone, Default)]
    pub struct Log(Arc<Mutex<Vec<Record>>>);

    impl Log {
        pub fn messages(&self) -> Vec<String> {
            self.0.lock().unwrap().iter().map(|r| r.message.clone()).collect()
        }

        pub fn count(&self, message: &str) -> usize {
            self.0.lock().unwrap().iter().filter(|r| r.message == message).count()
        }

        pub fn field_values(&self, message: &str, field: &str) -> Vec<String> {
            let records = self.0.lock().unwrap();
            records
                .iter()
                .filter(|r| r.message == message)
                .filter_map(|r| r.fields.iter().find(|(name, _)| name == field).map(|(_, v)| v.clone()))
                .collect()
        }
    }

    thread_local! {
        static CURRENT: RefCell<Option<Log>> = const { RefCell::new(None) };
    }

    /// One global subscriber that hands each `orq` event to the log of the
    /// thread that emitted it. (Per-thread `set_default` subscribers lose
    /// events when tests on other threads register callsites concurrently.)
    struct Router;

    impl<S: tracing::Subscriber> Layer<S> for Router {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            let target = event.metadata().target();
            if target != "orq" && !target.starts_with("orq::") {
                return;
            }
            CURRENT.with(|current| {
                if let Some(log) = &*current.borrow() {
                    let mut record = Record::default();
                    event.record(&mut record);
                    log.0.lock().unwrap().push(record);
                }
            });
        }
    }

    /// Installs the global subscriber. Every test calls this (through
    /// `Server::start` or `client_for`) before its first SDK call, so every
    /// callsite of the SDK registers after the subscriber exists.
    pub fn init() {
        static INIT: Once = Once::new();
        INIT.call_once(|| {
            tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Router))
                .expect("no other global subscriber in this test binary");
        });
    }

    /// Stops capturing for this thread when dropped.
    pub struct Guard(());

    impl Drop for Guard {
        fn drop(&mut self) {
            CURRENT.with(|current| current.borrow_mut().take());
        }
    }

    /// Captures the SDK's events on the current thread (the tests run on a
    /// current-thread runtime, so the SDK's futures are polled here).
    pub fn capture() -> (Log, Guard) {
        init();
        let log = Log::default();
        CURRENT.with(|current| *current.borrow_mut() = Some(log.clone()));
        (log, Guard(()))
    }
}

// ---------------------------------------------------------------------------
// The scripted HTTP/1.1 server
// ---------------------------------------------------------------------------

mod scripted {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::{mpsc, watch};
    use tokio::task::JoinHandle;

    /// How a response body is delimited.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Framing {
        /// `Content-Length` (declared longer than written unless the reply completes).
        Length,
        /// `Transfer-Encoding: chunked`, one encoding chunk per piece.
        Chunked,
        /// `Connection: close`: the body ends when the connection does.
        Close,
    }

    /// What happens after the pieces are written.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum End {
        /// The body is finished properly (keep-alive, unless close-delimited).
        Complete,
        /// The connection is closed, leaving the body unfinished.
        Abort,
        /// Nothing more is written; the connection stays open until the client closes it.
        Stall,
    }

    #[derive(Debug, Clone)]
    pub struct Response {
        status: u16,
        headers: Vec<(String, String)>,
        pieces: Vec<Vec<u8>>,
        framing: Framing,
        end: End,
        delay: Option<Duration>,
    }

    /// The server's answer to one request.
    #[derive(Debug, Clone)]
    pub enum Reply {
        Respond(Response),
        /// Read the request, answer nothing, wait until the client closes.
        Hang,
        /// Read the request and close the connection without answering.
        Hangup,
        /// Answer `status` with a body of `bytes` bytes, generated as the
        /// client reads it (never held in memory), chunked or with its length
        /// declared. The bytes written are counted in [`Server::flooded`].
        Flood {
            status: u16,
            bytes: u64,
            declare_length: bool,
        },
    }

    impl Reply {
        /// A status with an empty, length-delimited body.
        pub fn status(status: u16) -> Reply {
            Reply::Respond(Response {
                status,
                headers: Vec::new(),
                pieces: Vec::new(),
                framing: Framing::Length,
                end: End::Complete,
                delay: None,
            })
        }

        /// A JSON body.
        pub fn json(status: u16, body: String) -> Reply {
            Reply::status(status).header("content-type", "application/json").body(body)
        }

        /// A 200 event stream, chunked, written piece by piece.
        pub fn sse(pieces: Vec<Vec<u8>>) -> Reply {
            let mut reply =
                Reply::status(200).header("content-type", "text/event-stream").framing(Framing::Chunked);
            reply.response().pieces = pieces;
            reply
        }

        fn response(&mut self) -> &mut Response {
            match self {
                Reply::Respond(response) => response,
                other => panic!("{other:?} has no response to configure"),
            }
        }

        pub fn header(mut self, name: &str, value: &str) -> Reply {
            self.response().headers.push((name.to_string(), value.to_string()));
            self
        }

        pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
            self.response().pieces = vec![body.into()];
            self
        }

        pub fn framing(mut self, framing: Framing) -> Reply {
            self.response().framing = framing;
            self
        }

        pub fn end(mut self, end: End) -> Reply {
            self.response().end = end;
            self
        }

        /// Waits this long before answering (a scripted slow server, not a synchronization).
        pub fn delay(mut self, delay: Duration) -> Reply {
            self.response().delay = Some(delay);
            self
        }
    }

    /// A request as the server read it.
    #[derive(Debug, Clone)]
    pub struct Recorded {
        pub method: String,
        pub path: String,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Recorded {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        }
    }

    struct Shared {
        script: Vec<Reply>,
        requests: Mutex<Vec<Recorded>>,
        seen: watch::Sender<usize>,
        connections: AtomicUsize,
        close_first: usize,
        closed: mpsc::UnboundedSender<usize>,
        flooded: std::sync::atomic::AtomicU64,
    }

    impl Shared {
        /// Records a request and picks its reply (by arrival order).
        fn record(&self, request: Recorded) -> (usize, Reply) {
            let index = {
                let mut requests = self.requests.lock().unwrap();
                requests.push(request);
                requests.len() - 1
            };
            self.seen.send_replace(index + 1);
            let reply = self.script.get(index).cloned().unwrap_or_else(|| {
                Reply::json(400, format!("{{\"message\":\"script exhausted at request {}\"}}", index + 1))
            });
            (index, reply)
        }
    }

    /// Answers the requests it receives, in order, from a script.
    pub struct Server {
        addr: SocketAddr,
        shared: Arc<Shared>,
        closed: mpsc::UnboundedReceiver<usize>,
        accept: JoinHandle<()>,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.accept.abort();
        }
    }

    impl Server {
        pub async fn start(script: Vec<Reply>) -> Server {
            Server::start_closing_first(0, script).await
        }

        /// Closes the first `connections` connections as soon as they are
        /// accepted, before reading anything; then follows the script.
        pub async fn start_closing_first(connections: usize, script: Vec<Reply>) -> Server {
            crate::capture::init();
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().unwrap();
            let (closed_tx, closed) = mpsc::unbounded_channel();
            let shared = Arc::new(Shared {
                script,
                requests: Mutex::new(Vec::new()),
                seen: watch::Sender::new(0),
                connections: AtomicUsize::new(0),
                close_first: connections,
                closed: closed_tx,
                flooded: std::sync::atomic::AtomicU64::new(0),
            });
            let accept = tokio::spawn({
                let shared = shared.clone();
                async move {
                    while let Ok((socket, _)) = listener.accept().await {
                        let number = shared.connections.fetch_add(1, Ordering::SeqCst);
                        if number < shared.close_first {
                            drop(socket);
                            continue;
                        }
                        tokio::spawn(serve(socket, shared.clone()));
                    }
                }
            });
            Server { addr, shared, closed, accept }
        }

        pub fn url(&self) -> String {
            format!("http://{}", self.addr)
        }

        /// Requests read so far.
        pub fn count(&self) -> usize {
            self.shared.requests.lock().unwrap().len()
        }

        pub fn requests(&self) -> Vec<Recorded> {
            self.shared.requests.lock().unwrap().clone()
        }

        pub fn bodies(&self) -> Vec<Vec<u8>> {
            self.requests().into_iter().map(|r| r.body).collect()
        }

        /// Connections accepted so far.
        /// Body bytes written by [`Reply::Flood`] answers before the client
        /// stopped reading (and closed the connection) or the body ended.
        pub fn flooded(&self) -> u64 {
            self.shared.flooded.load(Ordering::SeqCst)
        }

        pub fn connections(&self) -> usize {
            self.shared.connections.load(Ordering::SeqCst)
        }

        /// Waits (at most 5 s) until `n` requests have been read.
        pub async fn wait_for_requests(&self, n: usize) {
            let mut seen = self.shared.seen.subscribe();
            tokio::time::timeout(Duration::from_secs(5), seen.wait_for(|count| *count >= n))
                .await
                .unwrap_or_else(|_| panic!("the server did not see {n} requests within 5 s"))
                .expect("server alive");
        }

        /// Waits (at most 5 s) until the client closes a connection the server
        /// was holding open (a stall or a hang); returns that request's index.
        pub async fn client_closed(&mut self) -> usize {
            tokio::time::timeout(Duration::from_secs(5), self.closed.recv())
                .await
                .expect("the client did not close the connection within 5 s")
                .expect("server alive")
        }
    }

    async fn serve(socket: TcpStream, shared: Arc<Shared>) {
        let _ = socket.set_nodelay(true);
        let (read, mut write) = socket.into_split();
        let mut read = BufReader::new(read);
        while let Some(request) = read_request(&mut read).await {
            let (index, reply) = shared.record(request);
            let response = match reply {
                Reply::Hangup => return,
                Reply::Flood { status, bytes, declare_length } => {
                    flood(&mut write, &shared, status, bytes, declare_length).await;
                    return;
                }
                Reply::Hang => {
                    wait_closed(&mut read).await;
                    let _ = shared.closed.send(index);
                    return;
                }
                Reply::Respond(response) => response,
            };
            if let Some(delay) = response.delay {
                tokio::time::sleep(delay).await;
            }
            if write_response(&mut write, &response).await.is_err() {
                return;
            }
            match (response.end, response.framing) {
                (End::Complete, Framing::Length | Framing::Chunked) => continue,
                (End::Complete | End::Abort, _) => {
                    let _ = write.shutdown().await;
                    return;
                }
                (End::Stall, _) => {
                    wait_closed(&mut read).await;
                    let _ = shared.closed.send(index);
                    return;
                }
            }
        }
    }

    /// Writes a `bytes`-long body piece by piece, counting what was written,
    /// until it is all written or the client goes away.
    async fn flood(
        write: &mut OwnedWriteHalf,
        shared: &Shared,
        status: u16,
        bytes: u64,
        declare_length: bool,
    ) {
        let framing = if declare_length {
            format!("content-length: {bytes}")
        } else {
            "transfer-encoding: chunked".to_string()
        };
        let head = format!("HTTP/1.1 {status} Flood\r\ncontent-type: application/json\r\n{framing}\r\n\r\n");
        if write.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let piece = vec![b'7'; 64 * 1024];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(piece.len() as u64) as usize;
            let sent = if declare_length {
                write.write_all(&piece[..n]).await
            } else {
                let mut framed = format!("{n:x}\r\n").into_bytes();
                framed.extend_from_slice(&piece[..n]);
                framed.extend_from_slice(b"\r\n");
                write.write_all(&framed).await
            };
            if sent.is_err() {
                return;
            }
            shared.flooded.fetch_add(n as u64, Ordering::SeqCst);
            left -= n as u64;
        }
        if !declare_length {
            let _ = write.write_all(b"0\r\n\r\n").await;
        }
    }

    /// Reads until the client closes its side (or the connection fails).
    async fn wait_closed(read: &mut BufReader<OwnedReadHalf>) {
        let mut buffer = [0u8; 1024];
        while let Ok(n) = read.read(&mut buffer).await {
            if n == 0 {
                break;
            }
        }
    }

    async fn read_request(read: &mut BufReader<OwnedReadHalf>) -> Option<Recorded> {
        let mut line = String::new();
        if read.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next()?.to_string();
        let path = parts.next()?.to_string();
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            line.clear();
            if read.read_line(&mut line).await.ok()? == 0 {
                return None;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':')?;
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_string());
            if name == "content-length" {
                length = value.parse().ok()?;
            }
            assert!(name != "transfer-encoding", "chunked request bodies are not supported here");
            headers.push((name, value));
        }
        let mut body = vec![0; length];
        read.read_exact(&mut body).await.ok()?;
        Some(Recorded { method, path, headers, body })
    }

    async fn write_response(write: &mut OwnedWriteHalf, response: &Response) -> std::io::Result<()> {
        let reason = reqwest::StatusCode::from_u16(response.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unknown");
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", response.status);
        for (name, value) in &response.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let written: usize = response.pieces.iter().map(Vec::len).sum();
        match response.framing {
            Framing::Length => {
                // An unfinished body promises more than it sends.
                let declared = if response.end == End::Complete { written } else { written + 100 };
                head.push_str(&format!("content-length: {declared}\r\n"));
            }
            Framing::Chunked => head.push_str("transfer-encoding: chunked\r\n"),
            Framing::Close => head.push_str("connection: close\r\n"),
        }
        head.push_str("\r\n");
        write.write_all(head.as_bytes()).await?;
        write.flush().await?;
        for piece in response.pieces.iter().filter(|p| !p.is_empty()) {
            if response.framing == Framing::Chunked {
                let mut framed = format!("{:x}\r\n", piece.len()).into_bytes();
                framed.extend_from_slice(piece);
                framed.extend_from_slice(b"\r\n");
                write.write_all(&framed).await?;
            } else {
                write.write_all(piece).await?;
            }
            write.flush().await?;
        }
        if response.framing == Framing::Chunked && response.end == End::Complete {
            write.write_all(b"0\r\n\r\n").await?;
            write.flush().await?;
        }
        Ok(())
    }
}
