//! What a call through `orq::Client` costs next to hand-written `reqwest` +
//! `serde_json`, and how the client holds up under load.
//!
//! `cargo bench -p orq-ai --bench client` runs, in one process against an
//! in-process loopback HTTP/1.1 server (its own thread):
//! - peak RSS growth while one `stream` call consumes a 1 GiB event stream;
//! - `invoke` client CPU per call and calls per second, at concurrency 1 and
//!   32, in interleaved rounds against `raw`: the same request sent with the
//!   same `reqwest::Client` and the answer decoded with
//!   `serde_json::from_slice::<InvokeResponse>` (the least any client must
//!   do; every caller sends the same request, headers and body, checked
//!   before measuring), and against the generated `orq_api::Client` alone (`orq-api`) and
//!   with the request timeout `orq` always sets (`+timeout`). The CPU is the
//!   client thread's (the runtime is current-thread; the server runs
//!   elsewhere); figures are min / median / max over the rounds and the
//!   ratio of medians to `raw`;
//! - 1,000 concurrent streams on one client: errors and events received;
//! - TCP connections the server accepted for 1,000 sequential calls.
//!
//! See BENCHMARKS.md for the latest figures.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use orq::types::{DeploymentRequest, InvokeResponse};

use common::{Sample, median, proc_status_mib, thread_cpu};

mod common;

const ROUNDS: usize = 25;
const CALLS_PER_ROUND: usize = 2_000;
const STREAM_GIB: usize = 1 << 30;
const STREAM_EVENT: usize = 4096;
const CONCURRENT_STREAMS: usize = 1_000;
const EVENTS_PER_STREAM: usize = 20;
const SEQUENTIAL_CALLS: usize = 1_000;
/// The user agent every caller sends, so that all send the same request.
const USER_AGENT: &str = "bench-agent/1";

const INVOKE_BODY: &str = r#"{"id":"01JABCDEF0123456789XYZ","created":"2025-03-01T10:00:00.000Z","object":"chat","model":"gpt-4o","provider":"openai","is_final":true,"integration_id":"int_1","finalized":"2025-03-01T10:00:01.000Z","system_fingerprint":null,"choices":[{"index":0,"message":{"type":"content","role":"assistant","content":"Your order #4411 left our warehouse yesterday and should arrive within two working days. You can follow it with the tracking link in your confirmation email."},"finish_reason":"stop"}]}"#;

/// One stream event's data line, padded to about `size` bytes.
fn event(i: usize, size: usize) -> String {
    let head = format!(
        r#"data: {{"id":"gen_1","model":"gpt-4o","provider":"openai","is_final":false,"choices":[{{"index":0,"message":{{"role":"assistant","content":"token{i} "#
    );
    let tail = "\"}}]}\n\n";
    let pad = size.saturating_sub(head.len() + tail.len());
    format!("{head}{}{tail}", "x".repeat(pad))
}

// ------------------------------------------------------------------ server

/// A keep-alive HTTP/1.1 server on its own thread: `invoke` gets
/// [`INVOKE_BODY`], `stream` a short event stream, `/gib/...stream` 1 GiB of
/// events. Counts the connections it accepts.
struct Server {
    url: String,
    connections: Arc<AtomicUsize>,
    /// Requests to `/capture/...`: head lines sorted, then the body.
    captured: Arc<Mutex<Vec<String>>>,
}

fn serve() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let connections = Arc::new(AtomicUsize::new(0));
    let captured = Arc::new(Mutex::new(Vec::new()));
    let (counter, capture) = (connections.clone(), captured.clone());
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            let Ok(connection) = connection else { continue };
            counter.fetch_add(1, Ordering::Relaxed);
            let capture = capture.clone();
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || answer(connection, &capture))
                .expect("server thread");
        }
    });
    Server { url, connections, captured }
}

/// Answers the requests of one connection until the client closes it.
fn answer(mut connection: TcpStream, captured: &Mutex<Vec<String>>) {
    let _ = connection.set_nodelay(true);
    let invoke = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-request-id: req-1\r\ncontent-length: {}\r\n\r\n{INVOKE_BODY}",
        INVOKE_BODY.len()
    );
    let mut short_stream = String::new();
    for i in 0..EVENTS_PER_STREAM {
        short_stream.push_str(&event(i, 339));
    }
    short_stream.push_str("data: [DONE]\n\n");
    let stream = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{short_stream}",
        short_stream.len()
    );
    let mut buffer = vec![0u8; 64 * 1024];
    let mut filled = 0;
    loop {
        // One request: its head, then `content-length` bytes of body.
        let head_end = loop {
            if let Some(at) = memchr::memmem::find(&buffer[..filled], b"\r\n\r\n") {
                break at + 4;
            }
            if filled == buffer.len() {
                return;
            }
            match connection.read(&mut buffer[filled..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => filled += n,
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while filled < head_end + length {
            match connection.read(&mut buffer[filled..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => filled += n,
            }
        }
        if head.starts_with("post /capture/") {
            let mut lines: Vec<&str> = head.lines().filter(|line| !line.is_empty()).collect();
            lines.sort_unstable();
            let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]);
            captured.lock().expect("capture").push(format!("{}\n\n{body}", lines.join("\n")));
        }
        let written = if head.starts_with("post /gib/v2/deployments/stream") {
            flood(&mut connection)
        } else if head.contains("/v2/deployments/stream") {
            connection.write_all(stream.as_bytes())
        } else {
            connection.write_all(invoke.as_bytes())
        };
        if written.is_err() {
            return;
        }
        buffer.copy_within(head_end + length..filled, 0);
        filled -= head_end + length;
    }
}

/// 1 GiB of chunk events, then `[DONE]`, chunked.
fn flood(connection: &mut TcpStream) -> std::io::Result<()> {
    connection.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
    )?;
    let events: String = (0..16).map(|i| event(i, STREAM_EVENT)).collect();
    let piece = format!("{:x}\r\n{events}\r\n", events.len());
    for _ in 0..STREAM_GIB / events.len() {
        connection.write_all(piece.as_bytes())?;
    }
    let done = "data: [DONE]\n\n";
    connection.write_all(format!("{:x}\r\n{done}\r\n0\r\n\r\n", done.len()).as_bytes())
}

// ------------------------------------------------------------------ clients

#[derive(Clone, Copy, PartialEq)]
enum Caller {
    Raw,
    RawParsedUrl,
    OrqApi,
    OrqApiTimed,
    Orq,
}

const CALLERS: [(Caller, &str); 5] = [
    (Caller::Raw, "raw"),
    (Caller::RawParsedUrl, "raw+url"),
    (Caller::OrqApi, "orq-api"),
    (Caller::OrqApiTimed, "+timeout"),
    (Caller::Orq, "orq"),
];

struct Clients {
    http: reqwest::Client,
    url: String,
    /// The invoke URL, parsed once.
    invoke_url: reqwest::Url,
    request: DeploymentRequest,
    api: orq::orq_api::Client,
    /// The generated client with a request timeout, as `orq` always sets one.
    api_timed: orq::orq_api::Client,
    orq: orq::Client,
}

/// The hand-written call to `$url`: reqwest and serde_json, nothing else.
/// A macro rather than a function so that it adds no future of its own.
macro_rules! raw_call {
    ($clients:expr, $url:expr) => {{
        let response = $clients
            .http
            .post($url)
            .header(reqwest::header::AUTHORIZATION, "Bearer bench-key")
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&$clients.request)
            .send()
            .await
            .expect("raw send");
        assert!(response.status().is_success());
        let body = response.bytes().await.expect("raw body");
        serde_json::from_slice(&body).expect("raw decode")
    }};
}

impl Clients {
    async fn call(&self, caller: Caller) -> InvokeResponse {
        match caller {
            Caller::Raw => raw_call!(self, format!("{}/v2/deployments/invoke", self.url)),
            Caller::RawParsedUrl => raw_call!(self, self.invoke_url.clone()),
            Caller::OrqApi => {
                self.api.deployments_invoke(None, None, &self.request).await.expect("orq-api").into_inner()
            }
            Caller::OrqApiTimed => self
                .api_timed
                .deployments_invoke(None, None, &self.request)
                .await
                .expect("orq-api")
                .into_inner(),
            Caller::Orq => self.orq.deployments().invoke("bot").send().await.expect("orq").expect("content"),
        }
    }

    /// `calls` calls, `concurrency` at a time.
    async fn run(&self, caller: Caller, calls: usize, concurrency: usize) {
        futures::stream::iter(0..calls)
            .map(|_| self.call(caller))
            .buffer_unordered(concurrency)
            .for_each(|response| {
                std::hint::black_box(&response);
                async {}
            })
            .await;
    }
}

fn invoke_table(runtime: &tokio::runtime::Runtime, clients: &Clients, concurrency: usize) {
    // Warm the pools: every caller holds `concurrency` open connections.
    for (caller, _) in CALLERS {
        runtime.block_on(clients.run(caller, concurrency * 4, concurrency));
    }
    let mut samples: Vec<Vec<Sample>> = CALLERS.iter().map(|_| Vec::new()).collect();
    for round in 0..ROUNDS {
        // Interleaved, and in a rotating order, so drift hits every caller alike.
        for i in 0..CALLERS.len() {
            let slot = (i + round) % CALLERS.len();
            let wall = Instant::now();
            let cpu = thread_cpu();
            runtime.block_on(clients.run(CALLERS[slot].0, CALLS_PER_ROUND, concurrency));
            samples[slot].push(Sample { cpu: thread_cpu() - cpu, wall: wall.elapsed() });
        }
    }
    println!(
        "invoke, concurrency {concurrency}: {CALLS_PER_ROUND} calls per round, {ROUNDS} interleaved rounds"
    );
    println!(
        "  {:<8} {:>10} {:>10} {:>10}  {:>9}  {:>9}  {:>9}",
        "", "min µs/call", "median", "max", "CPU ratio", "calls/s", "ratio"
    );
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / CALLS_PER_ROUND as f64;
    let rate =
        |s: &[Sample]| CALLS_PER_ROUND as f64 / median(s.iter().map(|s| s.wall.as_secs_f64()).collect());
    let raw_cpu = median(samples[0].iter().map(|s| per_call(s.cpu)).collect());
    let raw_rate = rate(&samples[0]);
    for ((_, name), samples) in CALLERS.iter().zip(&samples) {
        let cpu: Vec<f64> = samples.iter().map(|s| per_call(s.cpu)).collect();
        let (min, max) = cpu.iter().fold((f64::MAX, 0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let mid = median(cpu);
        let calls = rate(samples);
        println!(
            "  {name:<8} {min:>11.2} {mid:>10.2} {max:>10.2}  {:>8.3}x  {calls:>9.0}  {:>8.3}x",
            mid / raw_cpu,
            calls / raw_rate
        );
    }
}

/// `profile <raw|raw+url|orq-api|+timeout|orq> <calls> <concurrency>`: one caller
/// alone, for a profiler such as
/// `valgrind --tool=callgrind target/release/deps/client-* profile orq 2000 32`.
fn profile(args: &[String]) {
    let usage = "profile <raw|raw+url|orq-api|+timeout|orq> <calls> <concurrency>";
    let [caller, calls, concurrency] = args else { panic!("usage: {usage}") };
    let caller = CALLERS.iter().find(|(_, name)| name == caller).expect(usage).0;
    let (calls, concurrency) = (calls.parse().expect(usage), concurrency.parse().expect(usage));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let server = serve();
    let clients = clients(&server.url);
    runtime.block_on(clients.run(caller, concurrency * 4, concurrency));
    runtime.block_on(clients.run(caller, calls, concurrency));
    eprintln!(
        "sizes: response {} B, error {} B, builder {} B, request {} B, orq send {} B, orq-api invoke {} B",
        std::mem::size_of::<InvokeResponse>(),
        std::mem::size_of::<orq::Error>(),
        std::mem::size_of_val(&clients.orq.deployments().invoke("bot")),
        std::mem::size_of::<DeploymentRequest>(),
        std::mem::size_of_val(&clients.orq.deployments().invoke("bot").send()),
        std::mem::size_of_val(&clients.api.deployments_invoke(None, None, &clients.request)),
    );
    println!("{calls} calls at concurrency {concurrency}");
}

/// Every caller, sharing one `reqwest::Client` with no proxy from the
/// environment, and sending the same request as `orq`.
fn clients(url: &str) -> Clients {
    let http = reqwest::Client::builder().no_proxy().build().expect("reqwest client");
    let orq = orq::Client::builder()
        .api_key("bench-key")
        .user_agent(USER_AGENT)
        .base_url(url)
        .http_client(http.clone())
        .build()
        .expect("orq client");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, "Bearer bench-key".parse().expect("header"));
    headers.insert(reqwest::header::USER_AGENT, USER_AGENT.parse().expect("header"));
    let mut plain = orq::orq_api::RequestOptions::default();
    plain.headers = headers;
    let mut timed = plain.clone();
    timed.timeout = Some(orq::DEFAULT_TIMEOUT);
    let api = orq::orq_api::Client::new_with_client(url, http.clone(), plain);
    let api_timed = orq::orq_api::Client::new_with_client(url, http.clone(), timed);
    let mut request = DeploymentRequest::new("bot");
    // `orq` sends the operation's stream flag.
    request.stream = Some(false);
    let invoke_url = reqwest::Url::parse(&format!("{url}/v2/deployments/invoke")).expect("invoke URL");
    Clients { http, url: url.to_string(), invoke_url, request, api, api_timed, orq }
}

/// Sends one call with each caller to `/capture` and checks that the server
/// received the same request (head lines and body) from all of them.
fn check_same_request(runtime: &tokio::runtime::Runtime, server: &Server) {
    let clients = clients(&format!("{}/capture", server.url));
    for (caller, _) in CALLERS {
        runtime.block_on(clients.call(caller));
    }
    let captured = server.captured.lock().expect("capture");
    for ((_, name), request) in CALLERS.iter().zip(captured.iter()) {
        assert_eq!(request, &captured[0], "{name} sent another request than {}", CALLERS[0].1);
    }
    let (head, body) = captured[0].split_once("\n\n").expect("head and body");
    println!(
        "every caller sends the same request: {} head lines, {} body bytes\n",
        head.lines().count(),
        body.len()
    );
}

fn main() {
    let args = common::start();
    if args.first().map(String::as_str) == Some("profile") {
        return profile(&args[1..]);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let server = serve();
    let clients = clients(&server.url);
    let orq = &clients.orq;

    // 1. Peak RSS while consuming 1 GiB of events, first, before anything else grows the heap.
    let rss_before = proc_status_mib("VmRSS:");
    let started = Instant::now();
    let events = runtime.block_on(async {
        let chunks = orq.deployments().stream("bot").base_url(format!("{}/gib", server.url));
        chunks.send().await.expect("stream starts").try_fold(0usize, |n, _| async move { Ok(n + 1) }).await
    });
    let events = events.expect("the 1 GiB stream completes");
    let growth = proc_status_mib("VmHWM:").zip(rss_before).map(|(peak, before)| peak - before);
    println!(
        "1 GiB stream: {events} events of {STREAM_EVENT} B in {:.1?}; peak RSS growth {} (RSS before {})\n",
        started.elapsed(),
        growth.map(|m| format!("{m:.1} MiB")).unwrap_or_else(|| "unknown".into()),
        rss_before.map(|m| format!("{m:.1} MiB")).unwrap_or_else(|| "unknown".into()),
    );

    // 2. Invoke against the raw baseline.
    check_same_request(&runtime, &server);
    for concurrency in [1, 32] {
        invoke_table(&runtime, &clients, concurrency);
        println!();
    }

    // 3. Many concurrent streams on one client.
    let started = Instant::now();
    let (errors, events) = runtime.block_on(async {
        let streams = (0..CONCURRENT_STREAMS).map(|_| {
            let client = clients.orq.clone();
            tokio::spawn(async move {
                let chunks = client.deployments().stream("bot").send().await?;
                chunks.try_fold(0usize, |n, _| async move { Ok(n + 1) }).await
            })
        });
        let results = futures::future::join_all(streams).await;
        let errors = results.iter().filter(|r| !matches!(r, Ok(Ok(_)))).count();
        let events: usize = results.iter().filter_map(|r| r.as_ref().ok()?.as_ref().ok()).sum();
        (errors, events)
    });
    println!(
        "{CONCURRENT_STREAMS} concurrent streams on one client: {errors} errors, {events} events \
         (expected {}), {:.1?}\n",
        CONCURRENT_STREAMS * EVENTS_PER_STREAM,
        started.elapsed()
    );

    // 4. Connections for sequential calls: a fresh client, so none are pooled yet.
    let fresh = orq::Client::builder()
        .api_key("bench-key")
        .base_url(&server.url)
        .http_client(reqwest::Client::builder().no_proxy().build().expect("reqwest client"))
        .build()
        .expect("client");
    let before = server.connections.load(Ordering::Relaxed);
    runtime.block_on(async {
        for _ in 0..SEQUENTIAL_CALLS {
            fresh.deployments().invoke("bot").send().await.expect("invoke");
        }
    });
    let used = server.connections.load(Ordering::Relaxed) - before;
    println!("{SEQUENTIAL_CALLS} sequential calls on a fresh client: {used} TCP connection(s)");
}
