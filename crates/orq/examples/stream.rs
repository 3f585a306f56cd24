//! Streams a deployment's answer and prints tokens as they arrive.
//!
//! ```sh
//! cargo run --example stream
//! ```

mod common;

use std::io::Write;

use futures::StreamExt;
use orq::types::Message;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, mock) = common::client().await?;
    if let Some(mock) = &mock {
        // Pace the fake like a model, so the tokens visibly trickle in.
        mock.set_event_delay(std::time::Duration::from_millis(40));
    }
    let key = std::env::var("ORQ_DEPLOYMENT").unwrap_or_else(|_| "support-bot".into());

    let mut chunks = client
        .deployments()
        .stream(&key)
        .input("name", "Ada")
        .message(Message::user("Explain server-sent events in one paragraph."))
        .send()
        .await?;
    if let Some(id) = chunks.request_id() {
        println!("request id: {id}");
    }
    while let Some(chunk) = chunks.next().await {
        // A connection that breaks before the end is an error here, never a
        // silently shorter answer.
        let chunk = chunk?;
        print!("{}", chunk.text());
        std::io::stdout().flush()?;
        if let Some(reason) = chunk.finish_reason() {
            print!("  [{reason}]");
        }
    }
    println!();
    Ok(())
}
