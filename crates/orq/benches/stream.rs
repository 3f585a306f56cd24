//! What `ChunkStream` costs per event next to a hand-written SSE client.
//!
//! `cargo bench -p orq-ai --bench stream` runs, in one process and in interleaved
//! rounds, four consumers of the same server-sent-event body:
//! - `baseline`: a hand-written line splitter (memchr for `\n`, `data: ` lines
//!   only) with `serde_json::from_str::<StreamChunk>` on each event, the least
//!   any client must do;
//! - `hand-Stream`: the same loop behind `Stream::poll_next`, consumed with
//!   `StreamExt::next` like `ChunkStream`: what handing each chunk out through
//!   a `Stream` costs by itself;
//! - `ChunkStream`: this crate's stream, with the default idle timeout armed;
//! - `sseer`: the `sseer` SSE parser with the same typed decode, the crate
//!   `ChunkStream` would otherwise build on.
//!
//! Bodies: 339-byte and 4 KiB events, read from memory in 16 KiB pieces and
//! from a loopback socket (a server thread writing a prebuilt HTTP/1.1
//! response). Each figure is the CPU time of the consuming thread per event
//! (min / median / max over the rounds), events per second from the median
//! wall time, and the ratio of medians to the baseline.
//!
//! For instruction and cache counts, which stay repeatable on a loaded
//! machine, `-- profile <consumer> <event size> <memory|socket> <rounds>` runs
//! one consumer alone, e.g. under valgrind:
//! `valgrind --tool=callgrind target/release/deps/stream-* profile ChunkStream 339 memory 3`.
//! The difference between two round counts, divided by the events, is the
//! per-event cost without the setup.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use orq::ChunkStream;
use orq::types::StreamChunk;

use common::{Sample, median, thread_cpu};

mod common;

const ROUNDS: usize = 25;
/// Bytes of event data per body: large enough that a round takes tens of milliseconds.
const BODY_BYTES: usize = 8 << 20;
const READ_SIZE: usize = 16 * 1024;

type Pieces = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send + Sync>>;

/// One chunk event's data, padded to `size` bytes of `data: ...\n\n`.
fn event_data(i: usize, size: usize) -> String {
    let chunk = |content: &str| {
        serde_json::json!({
            "id": "01JMXQ6Z5H3A5B7C9D1E2F3G4H",
            "created": "2025-04-01T12:00:00.000Z",
            "object": "chat",
            "model": "gpt-4o",
            "provider": "openai",
            "is_final": false,
            "system_fingerprint": null,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": content },
                "finish_reason": null
            }]
        })
        .to_string()
    };
    let token = format!("token{i} ");
    let overhead = chunk("").len() + "data: \n\n".len();
    let pad = size.saturating_sub(overhead + token.len());
    let data = chunk(&format!("{token}{}", "x".repeat(pad)));
    assert_eq!(data.len() + "data: \n\n".len(), size.max(overhead + token.len()));
    data
}

struct Body {
    bytes: Bytes,
    events: usize,
    event_size: usize,
}

fn body(event_size: usize) -> Body {
    let events = BODY_BYTES / event_size;
    let mut body = String::with_capacity(BODY_BYTES + 64);
    for i in 0..events {
        body.push_str("data: ");
        body.push_str(&event_data(i, event_size));
        body.push_str("\n\n");
    }
    body.push_str("data: [DONE]\n\n");
    Body { bytes: Bytes::from(body), events, event_size }
}

fn in_memory(body: &Bytes) -> Pieces {
    let pieces: Vec<Result<Bytes, std::io::Error>> = (0..body.len())
        .step_by(READ_SIZE)
        .map(|at| Ok(body.slice(at..(at + READ_SIZE).min(body.len()))))
        .collect();
    Box::pin(futures::stream::iter(pieces))
}

/// The hand-written client: split lines, decode `data: ` lines, stop at `[DONE]`.
async fn baseline(mut body: Pieces) -> usize {
    let mut buffer: Vec<u8> = Vec::new();
    let mut count = 0;
    while let Some(piece) = body.next().await {
        buffer.extend_from_slice(&piece.expect("read"));
        let mut start = 0;
        while let Some(newline) = memchr::memchr(b'\n', &buffer[start..]) {
            let line = &buffer[start..start + newline];
            start += newline + 1;
            let Some(data) = line.strip_prefix(b"data: ") else { continue };
            if data == b"[DONE]" {
                return count;
            }
            let data = std::str::from_utf8(data).expect("UTF-8");
            let chunk: StreamChunk = serde_json::from_str(data).expect("valid chunk");
            std::hint::black_box(&chunk);
            count += 1;
        }
        buffer.drain(..start);
    }
    panic!("no [DONE]")
}

/// The baseline's loop behind `Stream::poll_next`, consumed like `ChunkStream`:
/// what handing each chunk out through a `Stream` costs on its own.
struct HandStream {
    body: Pieces,
    buffer: Vec<u8>,
    start: usize,
}

impl Stream for HandStream {
    type Item = Result<StreamChunk, orq::Error>;
    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            while let Some(newline) = memchr::memchr(b'\n', &this.buffer[this.start..]) {
                let line = &this.buffer[this.start..this.start + newline];
                this.start += newline + 1;
                let Some(data) = line.strip_prefix(b"data: ") else { continue };
                if data == b"[DONE]" {
                    return std::task::Poll::Ready(None);
                }
                let data = std::str::from_utf8(data).expect("UTF-8");
                let chunk: StreamChunk = serde_json::from_str(data).expect("valid chunk");
                return std::task::Poll::Ready(Some(Ok(chunk)));
            }
            this.buffer.drain(..this.start);
            this.start = 0;
            match std::task::ready!(this.body.as_mut().poll_next(cx)) {
                Some(piece) => this.buffer.extend_from_slice(&piece.expect("read")),
                None => panic!("no [DONE]"),
            }
        }
    }
}

async fn hand_stream(body: Pieces) -> usize {
    let mut chunks = HandStream { body, buffer: Vec::new(), start: 0 };
    let mut count = 0;
    while let Some(chunk) = chunks.next().await {
        std::hint::black_box(&chunk.expect("valid chunk"));
        count += 1;
    }
    count
}

async fn chunk_stream(body: Pieces) -> usize {
    let mut chunks = ChunkStream::from_body(body, Some(orq::DEFAULT_STREAM_IDLE_TIMEOUT));
    let mut count = 0;
    while let Some(chunk) = chunks.next().await {
        std::hint::black_box(&chunk.expect("valid chunk"));
        count += 1;
    }
    count
}

async fn sseer_typed(body: Pieces) -> usize {
    let mut events = sseer::EventStream::new(body);
    let mut count = 0;
    while let Some(event) = events.next().await {
        let event = event.expect("valid event");
        if &*event.data == "[DONE]" {
            return count;
        }
        let chunk: StreamChunk = serde_json::from_str(&event.data).expect("valid chunk");
        std::hint::black_box(&chunk);
        count += 1;
    }
    panic!("no [DONE]")
}

/// A loopback server that answers every connection with `body` as an SSE response.
fn serve(body: Bytes) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/stream", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            let Ok(mut connection) = connection else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut request = [0u8; 4096];
                let mut read = 0;
                while !request[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match connection.read(&mut request[read..]) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = connection.write_all(head.as_bytes()).and_then(|()| connection.write_all(&body));
            });
        }
    });
    url
}

#[derive(Clone, Copy, PartialEq)]
enum Consumer {
    Baseline,
    HandStream,
    ChunkStream,
    Sseer,
}

const CONSUMERS: [(Consumer, &str); 4] = [
    (Consumer::Baseline, "baseline"),
    (Consumer::HandStream, "hand-Stream"),
    (Consumer::ChunkStream, "ChunkStream"),
    (Consumer::Sseer, "sseer"),
];

async fn consume(consumer: Consumer, body: Pieces) -> usize {
    match consumer {
        Consumer::Baseline => baseline(body).await,
        Consumer::HandStream => hand_stream(body).await,
        Consumer::ChunkStream => chunk_stream(body).await,
        Consumer::Sseer => sseer_typed(body).await,
    }
}

fn report(title: &str, body: &Body, samples: &[Vec<Sample>]) {
    println!("{title}: {} events of {} B, {ROUNDS} interleaved rounds", body.events, body.event_size);
    println!(
        "  {:<12} {:>9} {:>9} {:>9}  {:>12}  {:>9}",
        "", "min ns/ev", "median", "max", "events/s", "CPU ratio"
    );
    let per_event = |d: Duration| d.as_nanos() as f64 / body.events as f64;
    let baseline = median(samples[0].iter().map(|s| per_event(s.cpu)).collect());
    for ((_, name), samples) in CONSUMERS.iter().zip(samples) {
        let cpu: Vec<f64> = samples.iter().map(|s| per_event(s.cpu)).collect();
        let wall = median(samples.iter().map(|s| s.wall.as_secs_f64()).collect());
        let (min, max) = cpu.iter().fold((f64::MAX, 0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let mid = median(cpu);
        println!(
            "  {name:<12} {min:>9.0} {mid:>9.0} {max:>9.0}  {:>12.0}  {:>8.3}x",
            body.events as f64 / wall,
            mid / baseline
        );
    }
}

/// One round of `consumer` on `body`, from memory or from the server at `url`.
fn round(
    runtime: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    consumer: Consumer,
    body: &Body,
    url: Option<&str>,
) {
    let count = runtime.block_on(async {
        let pieces: Pieces = match url {
            Some(url) => {
                let response = http.get(url).send().await.expect("response");
                Box::pin(response.bytes_stream().map(|r| r.map_err(std::io::Error::other)))
            }
            None => in_memory(&body.bytes),
        };
        consume(consumer, pieces).await
    });
    assert_eq!(count, body.events);
}

/// `profile <consumer> <event size> <memory|socket> <rounds>`: one consumer alone.
fn profile(args: &[String]) {
    let usage = "profile <baseline|hand-Stream|ChunkStream|sseer> <event size> <memory|socket> <rounds>";
    let [consumer, size, source, rounds] = args else { panic!("usage: {usage}") };
    let consumer = CONSUMERS.iter().find(|(_, name)| name == consumer).expect(usage).0;
    let body = body(size.parse().expect(usage));
    let url = (source == "socket").then(|| serve(body.bytes.clone()));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let http = reqwest::Client::builder().no_proxy().build().expect("reqwest client");
    for _ in 0..rounds.parse().expect(usage) {
        round(&runtime, &http, consumer, &body, url.as_deref());
    }
    println!("{} rounds of {} events of {} B", rounds, body.events, body.event_size);
}

fn main() {
    let args = common::start();
    if args.first().map(String::as_str) == Some("profile") {
        return profile(&args[1..]);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let http = reqwest::Client::builder().no_proxy().build().expect("reqwest client");
    for event_size in [339, 4096] {
        let body = body(event_size);
        let url = serve(body.bytes.clone());
        for socket in [false, true] {
            let mut samples: Vec<Vec<Sample>> = CONSUMERS.iter().map(|_| Vec::new()).collect();
            for n in 0..ROUNDS {
                // Interleaved, and in a rotating order, so drift hits every consumer alike.
                for i in 0..CONSUMERS.len() {
                    let slot = (i + n) % CONSUMERS.len();
                    let wall = Instant::now();
                    let cpu = thread_cpu();
                    round(&runtime, &http, CONSUMERS[slot].0, &body, socket.then_some(url.as_str()));
                    samples[slot].push(Sample { cpu: thread_cpu() - cpu, wall: wall.elapsed() });
                }
            }
            let title = if socket { "loopback socket" } else { "in memory, 16 KiB reads" };
            report(title, &body, &samples);
        }
    }
}
