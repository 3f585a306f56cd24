//! Invokes a deployment with inputs, a conversation, metadata and a document,
//! then prints the answer and what the service reports about it.
//!
//! ```sh
//! cargo run --example invoke
//! ```

mod common;

use orq::types::Message;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let key = std::env::var("ORQ_DEPLOYMENT").unwrap_or_else(|_| "support-bot".into());
    let customer = String::from("Ada");

    let answer = client
        .deployments()
        .invoke(&key)
        .input("name", &customer) // {{name}} in the prompt; numbers and bools work too
        .input("order_count", 3u64)
        .message(Message::user("Where is my order?"))
        .message(Message::assistant("Could you give me the order number?"))
        .message(Message::user("It is 1234."))
        .metadata(serde_json::json!({ "ticket": 123 }))
        .document("Orders ship within two working days.")
        .send()
        .await?;

    // `None` when the service answers 204 No Content.
    match answer {
        Some(answer) => {
            println!(
                "{} via {}:",
                answer.model,
                answer.provider.as_ref().map_or("an unnamed provider", |p| p.as_str())
            );
            println!("{}", answer.text().unwrap_or("(no text)"));
        }
        None => println!("{key} answered with no content"),
    }

    // A request owns its client, so it can run in a task of its own.
    let pending = tokio::spawn(client.deployments().invoke(&key).input("name", "Grace").send());
    let other = pending.await??;
    println!("in a task: {}", other.as_ref().and_then(|a| a.text()).unwrap_or("(no content)"));
    Ok(())
}
