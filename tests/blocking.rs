//! `orq::blocking::Client` from plain threads over loopback: the same
//! operations and cases as the async client, iterators for `list_all` and
//! streams, and a clear error (not a deadlock) inside an async runtime.
//!
//! The fake servers run on a runtime of their own; the tests themselves are
//! plain `#[test]` functions, as a program without async would be.

use std::time::Duration;

use httpmock::MockServer;
use orq::types::Message;
use orq::{Error, RetryPolicy, StreamError, blocking};
use orq_mock::{Deployment, MockOrq};

const KEY: &str = "blocking-test-key";

/// A running orq-mock and the runtime that serves it (keep both alive).
struct Served {
    mock: MockOrq,
    _runtime: tokio::runtime::Runtime,
}

fn serve(builder: orq_mock::MockOrqBuilder) -> Served {
    let runtime = tokio::runtime::Runtime::new().expect("runtime for the mock");
    let mock = runtime.block_on(builder.api_key(KEY).start()).expect("mock starts");
    Served { mock, _runtime: runtime }
}

fn client(url: &str) -> blocking::Client {
    blocking::Client::builder().api_key(KEY).base_url(url).no_retries().build_blocking().expect("client")
}

fn many(count: usize) -> Vec<Deployment> {
    (0..count)
        .map(|i| {
            Deployment::chat(format!("bot-{i:02}"))
                .model("openai", "gpt-4o")
                .created(format!("2025-02-01T{i:02}:00:00.000Z"))
                .system("You are bot {{n}}.")
        })
        .collect()
}

#[test]
fn lists_one_page_and_iterates_every_page() {
    let served = serve(MockOrq::builder().deployments(many(5)));
    let client = client(&served.mock.url());

    let page = client.deployments().list().limit(2).send().unwrap();
    assert_eq!(page.data.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), ["bot-04", "bot-03"]);
    let next =
        client.deployments().list().limit(2).starting_after(page.next_cursor().unwrap()).send().unwrap();
    assert_eq!(next.data[0].key, "bot-02");

    served.mock.clear_requests();
    let keys: Vec<String> =
        client.deployments().list().limit(2).into_iter().map(|d| d.unwrap().key).collect();
    assert_eq!(keys, ["bot-04", "bot-03", "bot-02", "bot-01", "bot-00"]);
    assert_eq!(served.mock.requests().len(), 3, "pages of 2, fetched as the iterator advances");

    let all: Result<Vec<_>, Error> = client.deployments().list_all().collect();
    assert_eq!(all.unwrap().len(), 5);
}

#[test]
fn get_config_invoke_and_stream_agree_with_the_service() {
    let served = serve(MockOrq::builder());
    let client = client(&served.mock.url());

    let config = client.deployments().get_config("support-bot").input("name", "Ada").send().unwrap();
    assert!(format!("{config:?}").contains("Address the customer as Ada"), "{config:?}");

    let invoked = client
        .deployments()
        .invoke("support-bot")
        .input("name", "Ada")
        .message(Message::user("Hello there"))
        .send()
        .unwrap()
        .expect("a body");
    let text = invoked.text().unwrap();
    assert!(text.contains("Hello there"), "{text}");

    let chunks = client
        .deployments()
        .stream("support-bot")
        .input("name", "Ada")
        .message(Message::user("Hello there"))
        .send()
        .unwrap();
    let pieces: Vec<_> = chunks.collect::<Result<_, _>>().unwrap();
    assert!(pieces.len() > 3, "word by word: {}", pieces.len());
    let streamed: String = pieces.iter().map(|c| c.text()).collect();
    assert_eq!(streamed, text);

    let message = client.deployments().stream("support-bot").input("name", "Ada").send().unwrap();
    assert_eq!(message.collect_message().unwrap().finish_reason.as_deref(), Some("stop"));
}

#[test]
fn a_stream_cut_short_ends_with_an_error() {
    let served = serve(MockOrq::builder());
    let client = client(&served.mock.url());

    served.mock.cut_stream_after(3);
    let items: Vec<_> = client.deployments().stream("support-bot").send().unwrap().collect();
    assert_eq!(items.len(), 4, "3 chunks then the error: {items:?}");
    assert!(items[..3].iter().all(Result::is_ok));
    assert!(matches!(
        items[3],
        Err(Error::Stream(StreamError::Transport(_) | StreamError::Truncated { .. }))
    ));

    served.mock.end_stream_after(2);
    let error = client.deployments().stream("support-bot").send().unwrap().collect_text().unwrap_err();
    assert!(matches!(error, Error::Stream(StreamError::Truncated { .. })), "{error:?}");
}

#[test]
fn errors_retries_and_per_call_options_work_as_in_async() {
    let served = serve(MockOrq::builder());
    let client = client(&served.mock.url());

    let missing = client.deployments().invoke("no-such-bot").send().unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");

    served.mock.fail_next(2, 503);
    let policy = RetryPolicy::default()
        .max_retries(2)
        .initial_interval(Duration::from_millis(1))
        .max_interval(Duration::from_millis(1));
    client.deployments().get_config("support-bot").retry(policy).send().expect("third attempt succeeds");

    let elsewhere = blocking::Client::builder().api_key(KEY).base_url("http://127.0.0.1:9").build_blocking();
    served.mock.clear_requests();
    let page =
        elsewhere.unwrap().deployments().list().base_url(served.mock.url()).header("x-trace", "t1").send();
    assert_eq!(page.unwrap().data.len(), 3);
    assert_eq!(served.mock.requests()[0].header("x-trace"), Some("t1"));

    let invalid = client.deployments().list().limit(0).header("bad header", "v").send().unwrap_err();
    assert!(matches!(&invalid, Error::InvalidRequest(m) if m.contains("limit") && m.contains("bad header")));

    let config = blocking::Client::builder().base_url("ftp://x").api_key(KEY).build_blocking().unwrap_err();
    assert!(matches!(config, Error::Config(_)), "{config:?}");
}

#[test]
fn a_204_is_an_empty_success_as_in_async() {
    let server = MockServer::start();
    let answered = server.mock(|when, then| {
        when.any_request();
        then.status(204);
    });
    let client = client(&server.base_url());

    let page = client.deployments().list().send().unwrap();
    assert!(page.data.is_empty() && !page.has_more);
    assert_eq!(client.deployments().list_all().count(), 0);
    assert!(client.deployments().get_config("k").send().unwrap().is_none());
    assert!(client.deployments().invoke("k").send().unwrap().is_none());
    assert_eq!(client.deployments().stream("k").send().unwrap().count(), 0);
    assert_eq!(answered.calls(), 5);
}

#[test]
fn clones_and_requests_move_to_other_threads() {
    let served = serve(MockOrq::builder());
    let client = client(&served.mock.url());

    let request = client.deployments().invoke("support-bot").input("name", "Ada");
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let client = client.clone();
            std::thread::spawn(move || client.deployments().invoke("translator").input("text", i).send())
        })
        .chain([std::thread::spawn(move || request.send())])
        .collect();
    drop(client);
    for thread in threads {
        assert!(thread.join().unwrap().unwrap().is_some());
    }
    assert_eq!(served.mock.requests().len(), 5);
}

#[test]
fn inside_an_async_runtime_it_fails_clearly_instead_of_blocking() {
    let served = serve(MockOrq::builder());
    let client = client(&served.mock.url());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

    let error = runtime.block_on(async { client.deployments().list().send() }).unwrap_err();
    assert!(matches!(&error, Error::Config(m) if m.contains("async runtime")), "{error:?}");
    assert!(error.to_string().contains("orq::Client"), "says what to use instead: {error}");

    // An iterator made outside reports it too, then ends.
    let mut chunks = client.deployments().stream("support-bot").send().unwrap();
    let (first, second) = runtime.block_on(async { (chunks.next(), chunks.next()) });
    assert!(matches!(first, Some(Err(Error::Config(_)))), "{first:?}");
    assert!(second.is_none());

    // Dropping the last clone inside a runtime is fine.
    runtime.block_on(async move { drop(client) });
    assert!(served.mock.requests().iter().all(|r| r.path != "/v2/deployments"));
}
