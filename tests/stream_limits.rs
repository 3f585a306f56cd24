//! Stream limits against hostile loopback servers: an endless SSE line must
//! fail at the event size limit without being buffered whole, and a server
//! that only sends keep-alive comments must hit the stream deadline.
//!
//! The server is a plain tokio socket writing a connection-delimited HTTP/1.1
//! response; it reports how many body bytes it managed to write before the
//! client went away.

use std::time::{Duration, Instant};

use futures::StreamExt;
use orq::{Client, ClientBuilder, Error, StreamError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Far more than any limit: a client that buffered it whole would need a GiB.
const HOSTILE_BYTES: u64 = 1 << 30;

/// Serves one SSE response whose body is `next_piece()` repeated until
/// `total` bytes are written, `pause` apart, or the client closes. Returns the
/// base URL and the number of body bytes written.
async fn serve(
    mut next_piece: impl FnMut() -> Vec<u8> + Send + 'static,
    total: u64,
    pause: Duration,
) -> (String, JoinHandle<u64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let written = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return 0,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return 0;
        }
        let mut written = 0u64;
        while written < total {
            let piece = next_piece();
            if socket.write_all(&piece).await.is_err() {
                break;
            }
            written += piece.len() as u64;
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
        written
    });
    (url, written)
}

fn builder(url: &str) -> ClientBuilder {
    let http = reqwest::Client::builder().no_proxy().tls_certs_only([]).build().expect("reqwest client");
    Client::builder().api_key("test-key").base_url(url).no_retries().http_client(http)
}

async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .unwrap_or_else(|_| panic!("{what}: did not finish within 60 s"))
}

#[tokio::test]
async fn an_endless_line_fails_at_the_default_event_size_limit() {
    let mut first = true;
    let line = move || {
        let mut piece = if std::mem::take(&mut first) { b"data: ".to_vec() } else { Vec::new() };
        piece.resize(piece.len() + 64 * 1024, b'a');
        piece
    };
    let (url, written) = serve(line, HOSTILE_BYTES, Duration::ZERO).await;
    let client = builder(&url).build().unwrap();
    let stream = client.deployments().stream("bot").send().await.unwrap();
    let items: Vec<_> = bounded("reading the line", stream.collect()).await;
    match &items[..] {
        [Err(error @ Error::Stream(StreamError::EventTooLarge { limit }))] => {
            assert_eq!(*limit, orq::DEFAULT_MAX_EVENT_SIZE);
            let text = error.to_string();
            assert!(text.contains("16777216 bytes") && text.contains("max_event_size"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    drop(client);
    // The stream let go of the connection at the limit: the server could not
    // write much beyond it (the rest sat in socket buffers).
    let written = bounded("the server noticing", written).await.unwrap();
    assert!(written < HOSTILE_BYTES / 4, "{written} bytes written");
    assert!(written >= orq::DEFAULT_MAX_EVENT_SIZE as u64, "{written} bytes written");
}

#[tokio::test]
async fn a_smaller_limit_applies_to_every_stream_of_the_client() {
    let line = || vec![b':'; 4096];
    let (url, written) = serve(line, HOSTILE_BYTES, Duration::ZERO).await;
    let client = builder(&url).max_event_size(64 * 1024).build().unwrap();
    let stream = client.deployments().stream("bot").send().await.unwrap();
    let items: Vec<_> = bounded("reading the comment", stream.collect()).await;
    assert!(
        matches!(&items[..], [Err(Error::Stream(StreamError::EventTooLarge { limit: 65536 }))]),
        "{items:?}"
    );
    drop(client);
    assert!(bounded("the server noticing", written).await.unwrap() < HOSTILE_BYTES / 4);
}

#[tokio::test]
async fn keep_alives_alone_end_at_the_stream_deadline() {
    let ping = || b": keep-alive\n\n".to_vec();
    let (url, written) = serve(ping, u64::MAX, Duration::from_millis(10)).await;
    let deadline = Duration::from_millis(300);
    let client = builder(&url).stream_deadline(Some(deadline)).build().unwrap();
    let stream = client.deployments().stream("bot").send().await.unwrap();
    let started = Instant::now();
    let items: Vec<_> = bounded("the deadline", stream.collect()).await;
    assert!(started.elapsed() >= deadline, "{:?}", started.elapsed());
    match &items[..] {
        [Err(error @ Error::Stream(StreamError::Deadline(after)))] => {
            assert_eq!(*after, deadline);
            assert!(error.to_string().contains("stream_deadline"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    drop(client);
    assert!(bounded("the server noticing", written).await.unwrap() > 0);
}
