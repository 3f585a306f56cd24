//! Prints the span each call leaves, as a subscriber sees it when the span
//! closes: its OpenTelemetry name (`otel.name`) and its GenAI attributes
//! (`gen_ai.*`, `server.*`, `orq.*`). A stream's span closes when the stream
//! ends, with its time to first chunk.
//!
//! ```sh
//! cargo run --example tracing
//! ```
//!
//! The spans are printed by `tracing-subscriber`'s formatter here; the
//! README's "Observability" shows how to send them to an OpenTelemetry
//! collector instead.

mod common;

use futures::StreamExt;
use orq::types::Message;
use tracing_subscriber::fmt::format::FmtSpan;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One line per closed span, with every field it recorded.
    tracing_subscriber::fmt()
        .with_span_events(FmtSpan::CLOSE)
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .init();
    let (client, _mock) = common::client().await?;
    let key = std::env::var("ORQ_DEPLOYMENT").unwrap_or_else(|_| "support-bot".into());

    client.deployments().list().limit(5).send().await?;
    client.deployments().get_config(&key).input("name", "Ada").send().await?;
    client
        .deployments()
        .invoke(&key)
        .input("name", "Ada")
        .message(Message::user("Where is my order?"))
        .include_usage(true)
        .send()
        .await?;
    let mut chunks = client
        .deployments()
        .stream(&key)
        .input("name", "Ada")
        .message(Message::user("When will it arrive?"))
        .include_usage(true)
        .send()
        .await?;
    while let Some(chunk) = chunks.next().await {
        chunk?;
    }
    Ok(())
}
