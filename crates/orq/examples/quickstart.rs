//! All four deployment operations: list, get_config, invoke and stream.
//!
//! ```sh
//! cargo run --example quickstart                      # offline, against orq-mock
//! ORQ_API_KEY=... ORQ_DEPLOYMENT=my-key cargo run --example quickstart   # the real service
//! ```

mod common;

use std::io::Write;

use futures::StreamExt;
use orq::types::{Message, PromptContent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let deployments = client.deployments();

    // 1. List: one page of deployments, newest first.
    let page = deployments.list().limit(10).send().await?;
    println!(
        "\n== list: {} deployment(s){}",
        page.data.len(),
        if page.has_more { ", more available" } else { "" }
    );
    for deployment in &page.data {
        let config = &deployment.prompt_config;
        let provider = config.provider.as_ref().map_or("?", |p| p.as_str());
        let model_type = config.model_type.as_ref().map_or("?", |t| t.as_str());
        println!("  {:<14} {provider}/{} ({model_type})", deployment.key, config.model);
    }
    let key = std::env::var("ORQ_DEPLOYMENT")
        .ok()
        .or_else(|| page.data.first().map(|d| d.key.clone()))
        .ok_or("no deployment to call: create one, or set ORQ_DEPLOYMENT")?;

    // 2. get_config: the prompt as the deployment would send it, inputs applied.
    println!("\n== get_config {key:?} with name = \"Ada\"");
    match deployments.get_config(&key).input("name", "Ada").send().await? {
        Some(config) => {
            println!("  model: {}/{}", config.provider, config.model);
            for message in &config.messages {
                let text = match &message.content {
                    Some(PromptContent::Text(text)) => text.clone(),
                    Some(PromptContent::Parts(parts)) => format!("[{} parts]", parts.len()),
                    Some(PromptContent::Other(other)) => other.to_string(),
                    None => String::new(),
                };
                println!("  {:<9} {text}", message.role.as_ref().map_or("?", |r| r.as_str()));
            }
        }
        None => println!("  (no content)"),
    }

    // 3. invoke: the whole answer at once.
    println!("\n== invoke {key:?}");
    let answer = deployments
        .invoke(&key)
        .input("name", "Ada")
        .message(Message::user("Where is my order?"))
        .metadata(serde_json::json!({ "ticket": 123 }))
        .send()
        .await?;
    match answer {
        Some(answer) => println!("  {}", answer.text().unwrap_or("(no text)")),
        None => println!("  (no content)"),
    }

    // 4. stream: the answer chunk by chunk, as it is generated.
    println!("\n== stream {key:?}");
    let mut chunks = deployments
        .stream(&key)
        .input("name", "Ada")
        .message(Message::user("Tell me a short story."))
        .send()
        .await?;
    print!("  ");
    let mut count = 0;
    while let Some(chunk) = chunks.next().await {
        print!("{}", chunk?.text());
        std::io::stdout().flush()?;
        count += 1;
    }
    println!("\n  ({count} chunks)");
    Ok(())
}
