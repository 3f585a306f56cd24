//! Peak memory against hostile response sizes: a loopback server sends a
//! 1 GiB body (generated as it is read) to `invoke`, as a success and as an
//! error, and the process's peak resident set size is reported next to the
//! limits in force.
//!
//! `cargo bench -p orq-ai --bench hostile_body` (Linux: reads `VmHWM` from
//! `/proc/self/status`).

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::proc_status_mib;

mod common;

const GIB: u64 = 1 << 30;

/// Serves every connection one `status` answer with a chunked 1 GiB body.
async fn flood_server(status: u16) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 {status} Flood\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                );
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut piece = format!("{:x}\r\n", 64 * 1024).into_bytes();
                piece.extend(std::iter::repeat_n(b'7', 64 * 1024));
                piece.extend_from_slice(b"\r\n");
                for _ in 0..GIB / (64 * 1024) {
                    if socket.write_all(&piece).await.is_err() {
                        return;
                    }
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    url
}

fn show(mib: Option<f64>) -> String {
    mib.map(|m| format!("{m:.1} MiB")).unwrap_or_else(|| "unknown".into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let before = proc_status_mib("VmHWM:");
    println!("peak RSS before: {}", show(before));
    for status in [200, 400] {
        let url = flood_server(status).await;
        let client =
            orq::Client::builder().api_key("bench-key").base_url(url).no_retries().build().expect("client");
        let started = Instant::now();
        let result = client.deployments().invoke("bot").send().await;
        let error = result.err().map(|e| e.to_string()).unwrap_or_else(|| "no error".into());
        let shown: String = error.chars().take(120).collect();
        println!(
            "1 GiB body with status {status}: {shown} ({:?}); peak RSS now {}",
            started.elapsed(),
            show(proc_status_mib("VmHWM:"))
        );
    }
    println!(
        "limits: response body {} MiB, error body {} KiB",
        orq::DEFAULT_MAX_RESPONSE_BODY_SIZE >> 20,
        orq::DEFAULT_MAX_ERROR_BODY_SIZE >> 10
    );
}
