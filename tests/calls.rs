//! How a call is written and what it sends: requests that own their client (so
//! they can be spawned), inputs of every Rust type, a per-call base URL, every
//! problem of a request reported at once, and the one rule for 204 No Content.

use std::future::IntoFuture;

use futures::{StreamExt, TryStreamExt};
use httpmock::MockServer;
use orq::types::{InputValue, Message};
use orq::{Client, Error};
use orq_mock::MockOrq;
use serde_json::json;

const KEY: &str = "calls-test-key";

async fn mock_and_client() -> (MockOrq, Client) {
    let mock = MockOrq::builder().api_key(KEY).start().await.expect("mock starts");
    let client = Client::builder().api_key(KEY).base_url(mock.url()).no_retries().build().expect("client");
    (mock, client)
}

fn expect_invalid(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::InvalidRequest(message)) => message,
        other => panic!("expected Error::InvalidRequest, got {other:?}"),
    }
}

#[tokio::test]
async fn requests_and_their_futures_can_be_spawned() {
    let (mock, client) = mock_and_client().await;

    // The request outlives the scope that built it: nothing borrows `client`.
    let invoked = {
        let deployments = client.deployments();
        tokio::spawn(
            deployments.invoke("support-bot").input("name", "Ada").message(Message::user("Hi")).send(),
        )
    };
    let awaited = tokio::spawn(client.deployments().get_config("support-bot").into_future());
    let listed = tokio::spawn(client.deployments().list().limit(2).into_future());
    let streamed = tokio::spawn(
        client.deployments().stream("support-bot").input("name", "Ada").message(Message::user("Hi")).send(),
    );
    let everything = tokio::spawn(client.deployments().list_all().try_collect::<Vec<_>>());
    drop(client);

    let invoked = invoked.await.unwrap().unwrap().expect("a body");
    assert!(invoked.text().unwrap().contains("Hi"), "{invoked:?}");
    assert!(awaited.await.unwrap().unwrap().is_some());
    assert_eq!(listed.await.unwrap().unwrap().data.len(), 2);
    // The stream, too, is independent of the task that opened it.
    let text = tokio::spawn(streamed.await.unwrap().unwrap().collect_text()).await.unwrap().unwrap();
    assert_eq!(text, invoked.text().unwrap());
    assert_eq!(everything.await.unwrap().unwrap().len(), 3);
    assert_eq!(mock.requests().len(), 5);
}

#[tokio::test]
async fn inputs_of_every_rust_type_arrive_exactly() {
    let (mock, client) = mock_and_client().await;
    let name = String::from("Ada");
    let items: Vec<u8> = "abc".bytes().collect();
    let from_json = InputValue::try_from(json!(12.5)).expect("a number is an input");
    client
        .deployments()
        .get_config("support-bot")
        .input("name", &name)
        .input("big", u64::MAX)
        .input("count", items.len())
        .input("small", -3i8)
        .input("ratio", 0.25f32)
        .input("flag", true)
        .input("price", from_json)
        .send()
        .await
        .unwrap();

    let body = mock.requests()[0].body.clone().expect("a JSON body");
    assert_eq!(
        body["inputs"],
        json!({
            "name": "Ada",
            "big": "18446744073709551615",
            "count": 3,
            "small": -3,
            "ratio": 0.25,
            "flag": true,
            "price": 12.5
        })
    );
    let raw = &mock.requests()[0].raw_body;
    assert!(raw.contains("\"count\":3,") || raw.contains("\"count\":3}"), "an integer, not 3.0: {raw}");
}

#[tokio::test]
async fn a_json_value_that_cannot_be_an_input_is_an_invalid_request() {
    fn input(value: serde_json::Value) -> Result<InputValue, Error> {
        Ok(InputValue::try_from(value)?)
    }
    let message = expect_invalid(input(json!(["a", "b"])));
    assert!(message.contains("an array"), "{message}");

    // Numbers JSON cannot carry are refused too, with the input's name.
    let (mock, client) = mock_and_client().await;
    let message =
        expect_invalid(client.deployments().invoke("support-bot").input("t", f64::NAN).send().await);
    assert!(message.contains("input `t`"), "{message}");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn a_per_call_base_url_replaces_the_clients() {
    let (mock, _) = mock_and_client().await;
    // The client points where nothing listens: a port that was just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .no_retries()
        .build()
        .unwrap();
    let here = format!("{}/", mock.url());

    let page = client.deployments().list().base_url(&here).send().await.unwrap();
    assert_eq!(page.data.len(), 3);
    client.deployments().get_config("support-bot").base_url(&here).send().await.unwrap();
    client.deployments().invoke("support-bot").base_url(&here).send().await.unwrap();
    let text = client.deployments().stream("support-bot").base_url(&here).await.unwrap().collect_text().await;
    assert!(!text.unwrap().is_empty());
    let all: Vec<_> = client.deployments().list().base_url(&here).into_stream().try_collect().await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(mock.requests().len(), 5);
    assert!(mock.requests().iter().all(|r| !r.path.contains("//")), "no doubled slash");

    // Without it the client's own URL is used.
    let refused = client.deployments().list().send().await.expect_err("nothing listens");
    assert!(matches!(refused, Error::Connect { .. }), "{refused:?}");
    assert!(refused.to_string().contains(&format!("127.0.0.1:{port}")), "names the client's host: {refused}");

    // A per-call URL where nothing listens names that host, not the client's.
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let refused = client
        .deployments()
        .list()
        .base_url(format!("http://127.0.0.1:{elsewhere}"))
        .send()
        .await
        .expect_err("nothing listens there either");
    assert!(
        refused.to_string().contains(&format!("127.0.0.1:{elsewhere}")),
        "names the call's host: {refused}"
    );

    // A bad one is caught before sending, as the client builder would.
    for url in ["not a url", "ftp://example.com", "http://"] {
        let message = expect_invalid(client.deployments().invoke("k").base_url(url).send().await);
        assert!(message.contains("base URL") && message.contains(url.trim_end_matches('/')), "{message}");
    }
}

#[tokio::test]
async fn every_problem_of_a_request_is_reported_at_once() {
    let (mock, client) = mock_and_client().await;

    let message = expect_invalid(
        client
            .deployments()
            .invoke(" ")
            .header("bad header", "v")
            .metadata(json!(5))
            .base_url("nowhere")
            .context(json!("prod"))
            .contact_id("line\nbreak")
            .input("x", f64::INFINITY)
            .send()
            .await,
    );
    let expected = [
        "header `bad header`",
        "metadata",
        "base URL `nowhere`",
        "context",
        "contact id",
        "key is empty",
        "input `x`",
    ];
    let mut at = 0;
    for part in expected {
        let found = message[at..].find(part).unwrap_or_else(|| panic!("`{part}` in order in: {message}"));
        at += found;
    }

    let message = expect_invalid(client.deployments().list().limit(0).header("bad:name", "v").send().await);
    assert!(message.contains("bad:name") && message.contains("limit"), "{message}");
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn a_204_is_an_empty_success_for_every_operation() {
    let server = MockServer::start_async().await;
    let answered = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(204);
        })
        .await;
    let client = Client::builder().api_key(KEY).base_url(server.base_url()).no_retries().build().unwrap();

    let page = client.deployments().list().send().await.expect("204 is not an error");
    assert!(page.data.is_empty() && !page.has_more, "{page:?}");
    let all: Vec<_> = client.deployments().list_all().try_collect().await.unwrap();
    assert!(all.is_empty());
    assert!(client.deployments().get_config("k").send().await.unwrap().is_none());
    assert!(client.deployments().invoke("k").send().await.unwrap().is_none());
    let mut chunks = client.deployments().stream("k").send().await.expect("204 is not an error");
    assert!(chunks.next().await.is_none(), "no chunks, and no error");
    assert_eq!(answered.calls_async().await, 5);
}
