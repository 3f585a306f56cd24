//! The blocking client, from a plain `fn main` without async: list every
//! deployment, fetch a config, invoke, and stream with an iterator.
//!
//! ```sh
//! cargo run -p orq-ai --example blocking --features blocking
//! ```
//!
//! Without `ORQ_API_KEY` it talks to an in-process orq-mock; with it, to orq.ai.

use std::io::Write;

use orq::types::Message;
use orq_mock::MockOrq;

/// The API key the in-process mock expects.
const MOCK_KEY: &str = "orq-mock-example-key";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // orq-mock is an async server: it gets a runtime of its own. This program
    // itself never touches async; keep `_fake` alive while the client is used.
    let (client, _fake) = if std::env::var("ORQ_API_KEY").is_ok_and(|key| !key.trim().is_empty()) {
        let client = orq::blocking::Client::from_env()?;
        println!("Using the orq.ai API at {} (ORQ_API_KEY is set).", client.base_url());
        (client, None)
    } else {
        let runtime = tokio::runtime::Runtime::new()?;
        let mock = runtime.block_on(MockOrq::builder().api_key(MOCK_KEY).start())?;
        println!("ORQ_API_KEY is not set: using orq-mock, a local fake of orq.ai, at {}.", mock.url());
        let client =
            orq::blocking::Client::builder().api_key(MOCK_KEY).base_url(mock.url()).build_blocking()?;
        (client, Some((mock, runtime)))
    };
    let key = std::env::var("ORQ_DEPLOYMENT").unwrap_or_else(|_| "support-bot".into());

    // Every deployment: the iterator fetches the next page when it gets there.
    for deployment in client.deployments().list_all() {
        let deployment = deployment?;
        println!("  {}  {}", deployment.key, deployment.prompt_config.model);
    }

    let config = client.deployments().get_config(&key).input("name", "Ada").send()?;
    if let Some(config) = config {
        println!("{key} runs {} with {} message(s)", config.model, config.messages.len());
    }

    let answer = client
        .deployments()
        .invoke(&key)
        .input("name", "Ada")
        .message(Message::user("Where is my order?"))
        .send()?;
    println!("invoke: {}", answer.as_ref().and_then(|a| a.text()).unwrap_or("(no content)"));

    print!("stream: ");
    let chunks = client
        .deployments()
        .stream(&key)
        .input("name", "Ada")
        .message(Message::user("Explain server-sent events in one sentence."))
        .send()?;
    for chunk in chunks {
        // A stream cut short ends with an Err here, never a silently shorter answer.
        print!("{}", chunk?.text());
        std::io::stdout().flush()?;
    }
    println!();
    Ok(())
}
