//! Request fields of the 2026-08 API: who a request is for (identity), the conversation it
//! belongs to (thread), which knowledge-base chunks it may use (a knowledge
//! filter), and what it cost (usage) and where to find it in traces (telemetry).
//!
//! ```sh
//! cargo run --example identity_and_usage
//! ```

mod common;

use orq::request::{Conditions, Identity, KnowledgeFilter, Thread};
use orq::types::Message;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let key = std::env::var("ORQ_DEPLOYMENT").unwrap_or_else(|_| "support-bot".into());

    let customer = Identity::new("customer-42")
        .display_name("Ada Lovelace")
        .email("ada@example.com")
        .metadata(serde_json::json!({ "plan": "pro" }))
        .tag("vip");
    // Chunks about shipping from 2024 on, or any chunk in English or Dutch.
    let filter = KnowledgeFilter::or([
        Conditions::new().eq("topic", "shipping").gte("year", 2024),
        Conditions::new().one_of("lang", ["en", "nl"]),
    ]);

    let answer = client
        .deployments()
        .invoke(&key)
        .input("name", "Ada")
        .message(Message::user("Where is my order?"))
        .identity(customer.clone())
        .thread(Thread::new("ticket-1234").tag("shipping"))
        .knowledge_filter(filter.clone())
        .include_usage(true)
        .send()
        .await?;
    if let Some(answer) = answer {
        println!("{}", answer.text().unwrap_or("(no text)"));
        if let Some(usage) = answer.usage() {
            println!(
                "tokens: {} prompt + {} completion = {} (cached: {})",
                usage.prompt_tokens.unwrap_or_default(),
                usage.completion_tokens.unwrap_or_default(),
                usage.total_tokens.unwrap_or_default(),
                usage.cached_tokens().unwrap_or_default(),
            );
        }
        if let Some(telemetry) = answer.telemetry() {
            println!("trace {} span {}", telemetry.trace_id, telemetry.span_id);
        }
    }

    // A stream carries usage on its last chunk; collect_message keeps it.
    let streamed = client
        .deployments()
        .stream(&key)
        .input("name", "Ada")
        .identity(customer)
        .thread(Thread::new("ticket-1234"))
        .knowledge_filter(filter)
        .include_usage(true)
        // The service answers with this text instead of calling the model (not billed).
        .mock_response("Your order ships tomorrow.")
        .send()
        .await?
        .collect_message()
        .await?;
    println!(
        "streamed: {} ({} tokens)",
        streamed.text,
        streamed.usage.and_then(|usage| usage.total_tokens).unwrap_or_default()
    );

    // A filter of the wrong shape is refused before anything is sent.
    let refused = client
        .deployments()
        .invoke(&key)
        .knowledge_filter(Conditions::new().gte("year", 2020).lt("year", 2025))
        .send()
        .await;
    match refused {
        Err(orq::Error::InvalidRequest(why)) => println!("refused: {why}"),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
