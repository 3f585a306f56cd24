//! What the SSE layer costs on top of decoding the chunks themselves.
//!
//! `cargo bench -p orq --bench stream` prints, for one body of many chunk
//! events, the time per event of:
//! - baseline: `serde_json::from_str::<StreamChunk>` on each event's data,
//!   the decoding no stream parser can avoid;
//! - `ChunkStream` over the whole body in 16 KiB reads (a typical network read)
//!   and in 64-byte reads (a worst case of tiny TCP segments),
//!
//! and the ratio of each to the baseline, all measured in the same run.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use orq::ChunkStream;
use orq::types::StreamChunk;

const EVENTS: usize = 20_000;
const ROUNDS: usize = 5;

fn event_data(i: usize) -> String {
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
            "message": { "role": "assistant", "content": format!("token{i} ") },
            "finish_reason": null
        }]
    })
    .to_string()
}

fn best_of(mut run: impl FnMut() -> Duration) -> Duration {
    (0..ROUNDS).map(|_| run()).min().expect("ROUNDS > 0")
}

fn main() {
    let datas: Vec<String> = (0..EVENTS).map(event_data).collect();
    let mut body = String::new();
    for data in &datas {
        body.push_str("data: ");
        body.push_str(data);
        body.push_str("\n\n");
    }
    body.push_str("data: [DONE]\n\n");
    let body = Bytes::from(body);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");

    let baseline = best_of(|| {
        let started = Instant::now();
        let mut text = 0;
        for data in &datas {
            let chunk: StreamChunk = serde_json::from_str(data).expect("valid chunk");
            text += chunk.text().len();
        }
        assert!(text > 0);
        started.elapsed()
    });

    let stream_in = |piece: usize| {
        best_of(|| {
            let pieces: Vec<Result<Bytes, std::io::Error>> = (0..body.len())
                .step_by(piece)
                .map(|at| Ok(body.slice(at..(at + piece).min(body.len()))))
                .collect();
            let started = Instant::now();
            let count = runtime.block_on(async {
                let mut chunks = ChunkStream::from_body(futures::stream::iter(pieces), None);
                let mut count = 0;
                while let Some(chunk) = chunks.next().await {
                    chunk.expect("valid chunk");
                    count += 1;
                }
                count
            });
            assert_eq!(count, EVENTS);
            started.elapsed()
        })
    };
    let large = stream_in(16 * 1024);
    let small = stream_in(64);

    let per_event = |d: Duration| d.as_nanos() as f64 / EVENTS as f64;
    println!("{EVENTS} events of ~{} bytes, best of {ROUNDS} rounds", datas[0].len());
    println!("  baseline: serde_json per event      {:>8.0} ns/event  1.00x", per_event(baseline));
    for (name, took) in [("ChunkStream, 16 KiB reads", large), ("ChunkStream, 64 B reads", small)] {
        println!(
            "  {name:<33} {:>8.0} ns/event  {:.2}x",
            per_event(took),
            took.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}
