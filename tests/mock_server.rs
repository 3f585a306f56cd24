//! The SDK against orq-mock: a fake that behaves like the service (cursors,
//! streaming, substitution, errors, faults) rather than per-request stubs.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use orq::types::{ChoiceMessage, Message, PromptContent};
use orq::{Error, RetryPolicy, StreamError};
use orq_mock::{Deployment, MockOrq};

const KEY: &str = "mock-test-key";

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().initial_interval(Duration::from_millis(1)).max_interval(Duration::from_millis(5))
}

async fn start(builder: orq_mock::MockOrqBuilder) -> (MockOrq, orq::Client) {
    let mock = builder.api_key(KEY).start().await.expect("mock starts");
    let client = orq::Client::builder()
        .api_key(KEY)
        .base_url(mock.url())
        .retry(fast_retries())
        .build()
        .expect("client builds");
    (mock, client)
}

async fn samples() -> (MockOrq, orq::Client) {
    start(MockOrq::builder()).await
}

fn many(count: usize) -> Vec<Deployment> {
    (0..count)
        .map(|i| {
            Deployment::chat(format!("bot-{i:02}"))
                .model("openai", "gpt-4o")
                .created(format!("2025-02-01T{:02}:00:00.000Z", i))
                .system("You are bot {{n}}.")
        })
        .collect()
}

#[tokio::test]
async fn list_all_walks_every_page_newest_first() {
    let (mock, client) = start(MockOrq::builder().deployments(many(7))).await;
    let keys: Vec<String> =
        client.deployments().list().limit(2).into_stream().map_ok(|d| d.key).try_collect().await.unwrap();
    let expected: Vec<String> = (0..7).rev().map(|i| format!("bot-{i:02}")).collect();
    assert_eq!(keys, expected);

    let lists: Vec<_> = mock.requests().into_iter().filter(|r| r.path == "/v2/deployments").collect();
    assert_eq!(lists.len(), 4, "7 items in pages of 2");
    assert_eq!(lists[0].query_param("starting_after"), None);
    assert!(lists.iter().all(|r| r.query_param("limit").as_deref() == Some("2")));
    for pair in lists.windows(2) {
        assert!(pair[1].query_param("starting_after").is_some());
    }

    // A request can also be awaited directly, without `send`.
    mock.clear_requests();
    let page = client.deployments().list().limit(3).await.unwrap();
    assert_eq!(page.data.len(), 3);
    assert_eq!(mock.requests()[0].query_param("limit").as_deref(), Some("3"));

    // list_all uses the largest page: one request.
    mock.clear_requests();
    let all: Vec<_> = client.deployments().list_all().try_collect().await.unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(mock.requests().len(), 1);
    assert_eq!(mock.requests()[0].query_param("limit").as_deref(), Some("200"));
}

#[tokio::test]
async fn pages_go_back_with_ending_before() {
    let (_mock, client) = start(MockOrq::builder().deployments(many(5))).await;
    let last = client
        .deployments()
        .list()
        .limit(2)
        .starting_after(client.deployments().list().limit(3).send().await.unwrap().data[2].id.clone());
    let last = last.send().await.unwrap();
    assert_eq!(last.data.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), ["bot-01", "bot-00"]);
    assert!(!last.has_more);
    let before =
        client.deployments().list().limit(2).ending_before(last.data[0].id.clone()).send().await.unwrap();
    assert_eq!(before.data.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), ["bot-03", "bot-02"]);
}

#[tokio::test]
async fn invoke_and_stream_agree_for_every_sample_deployment() {
    let (mock, client) = samples().await;
    let keys: Vec<String> = mock.deployments().iter().map(|d| d.key().to_string()).collect();
    assert_eq!(keys.len(), 3);
    for key in keys {
        let invoked = client
            .deployments()
            .invoke(&key)
            .inputs([
                ("name", "Ada"),
                ("text", "a long text"),
                ("source_language", "en"),
                ("target_language", "nl"),
            ])
            .message(Message::user("Hello there"))
            .send()
            .await
            .unwrap()
            .expect("a body");
        let text = invoked.text().expect("text").to_string();
        assert!(text.contains("Hello there"), "{key}: {text}");
        assert!(!text.contains("{{"), "inputs substituted for {key}: {text}");

        let streamed = client
            .deployments()
            .stream(&key)
            .inputs([
                ("name", "Ada"),
                ("text", "a long text"),
                ("source_language", "en"),
                ("target_language", "nl"),
            ])
            .message(Message::user("Hello there"))
            .send()
            .await
            .unwrap()
            .collect_message()
            .await
            .unwrap();
        assert_eq!(streamed.text, text, "{key}");
        assert_eq!(streamed.finish_reason.as_deref(), Some("stop"));
        assert!(streamed.chunks > 3, "word by word: {}", streamed.chunks);
    }
}

#[tokio::test]
async fn get_config_substitutes_inputs_and_appends_messages() {
    let (_mock, client) = samples().await;
    let config = client
        .deployments()
        .get_config("support-bot")
        .input("name", "Ada")
        .message(Message::user("Where is my order?"))
        .send()
        .await
        .unwrap()
        .expect("a body");
    assert_eq!(config.provider, "openai");
    let texts: Vec<String> = config
        .messages
        .iter()
        .map(|m| match &m.content {
            Some(PromptContent::Text(text)) => text.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    assert!(texts[0].contains("Ada") && !texts[0].contains("{{name}}"), "{texts:?}");
    assert_eq!(texts.last().map(String::as_str), Some("Where is my order?"));
}

#[tokio::test]
async fn wire_contract_seen_by_the_mock() {
    let (mock, _) = samples().await;
    let client = orq::Client::builder()
        .api_key(KEY)
        .base_url(mock.url())
        .environment("production")
        .contact_id("contact-7")
        .build()
        .unwrap();
    client.deployments().invoke("support-bot").input("n", 9_007_199_254_740_993_i64).send().await.unwrap();
    client
        .deployments()
        .stream("support-bot")
        .environment("staging")
        .send()
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap();

    let requests = mock.requests();
    let (invoke, stream) = (&requests[0], &requests[1]);
    assert_eq!(invoke.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(invoke.header("x-orq-contact-id"), Some("contact-7"));
    assert_eq!(invoke.header("environment"), None);
    let body = invoke.body.as_ref().unwrap();
    assert_eq!(body["stream"], false);
    assert_eq!(body["context"]["environments"], "production");
    assert!(invoke.raw_body.contains("9007199254740993"), "{}", invoke.raw_body);
    assert_eq!(stream.header("accept"), Some("text/event-stream"));
    let body = stream.body.as_ref().unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(body["context"]["environments"], "staging");
}

#[tokio::test]
async fn unknown_deployment_and_wrong_key_are_api_errors() {
    let (mock, client) = samples().await;
    let error = client.deployments().invoke("nope").send().await.unwrap_err();
    assert!(error.is_not_found(), "{error}");
    assert!(matches!(&error, Error::Api { code: Some(code), .. } if code == "deployment_not_found"));

    let stranger = orq::Client::builder().api_key("wrong").base_url(mock.url()).build().unwrap();
    let error = stranger.deployments().list().send().await.unwrap_err();
    assert!(error.is_unauthorized(), "{error}");
    assert!(!error.to_string().contains("wrong"), "{error}");
    assert_eq!(mock.requests().len(), 2, "neither is retried");
}

#[tokio::test]
async fn injected_failures_are_retried_then_succeed() {
    let (mock, client) = samples().await;
    mock.fail_next(2, 503);
    let page = client.deployments().list().send().await.unwrap();
    assert_eq!(page.data.len(), 3);
    assert_eq!(mock.requests().len(), 3);

    mock.clear_requests();
    mock.fail_next(1, 429).retry_after("0");
    let streamed =
        client.deployments().stream("support-bot").send().await.unwrap().collect_text().await.unwrap();
    assert!(!streamed.is_empty());
    assert_eq!(mock.requests().len(), 2);

    mock.clear_requests();
    mock.fail_next(5, 500).raw_body("text/html", "<html><h1>500 Internal Server Error</h1></html>");
    let error = client.deployments().list().send().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    assert!(matches!(&error, Error::Api { body, .. } if body.contains("<h1>")), "{error:?}");
    assert_eq!(mock.requests().len(), 3, "3 attempts in all");
}

#[tokio::test]
async fn a_cut_stream_ends_with_an_error_item() {
    let (mock, client) = samples().await;
    mock.cut_stream_after(3);
    let items: Vec<_> = client.deployments().stream("support-bot").send().await.unwrap().collect().await;
    assert_eq!(items.len(), 4, "3 chunks then the error: {items:?}");
    assert!(items[..3].iter().all(Result::is_ok));
    assert!(matches!(
        items[3],
        Err(Error::Stream(StreamError::Transport(_) | StreamError::Truncated { .. }))
    ));
    assert_eq!(mock.requests().len(), 1, "never retried once started");

    mock.end_stream_after(2);
    let error =
        client.deployments().stream("support-bot").send().await.unwrap().collect_text().await.unwrap_err();
    assert!(matches!(error, Error::Stream(StreamError::Truncated { events: 2 })), "{error:?}");
}

#[tokio::test]
async fn a_stalled_stream_hits_the_idle_timeout() {
    let mock = MockOrq::builder().api_key(KEY).start().await.unwrap();
    let client = orq::Client::builder()
        .api_key(KEY)
        .base_url(mock.url())
        .stream_idle_timeout(Some(Duration::from_millis(200)))
        .build()
        .unwrap();
    mock.stall_stream_after(2);
    let items: Vec<_> = client.deployments().stream("support-bot").send().await.unwrap().collect().await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(matches!(items[2], Err(Error::Stream(StreamError::Idle(_)))));
}

#[tokio::test]
async fn a_slow_response_hits_the_call_timeout() {
    let (mock, client) = samples().await;
    mock.delay_next(Duration::from_secs(30));
    let error = client
        .deployments()
        .invoke("support-bot")
        .timeout(Duration::from_millis(100))
        .retry(RetryPolicy::none())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
}

#[tokio::test]
async fn tool_calls_come_back_typed() {
    let (_mock, client) = samples().await;
    let out = client
        .deployments()
        .invoke("support-bot")
        .message(Message::user("Please get_order_status for order 42"))
        .send()
        .await
        .unwrap()
        .expect("a body");
    match &out.choices[0].message {
        Some(ChoiceMessage::ToolCalls(message)) => {
            assert_eq!(message.tool_calls[0].function.name, "get_order_status")
        }
        other => panic!("expected tool calls, got {other:?}"),
    }
}
