//! Resolves a deployment's configuration (prompt, model, parameters) with
//! inputs applied, without calling the model.
//!
//! ```sh
//! cargo run --example config
//! ```

mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let key = std::env::var("ORQ_DEPLOYMENT").unwrap_or_else(|_| "support-bot".into());

    let Some(config) = client.deployments().get_config(&key).input("name", "Ada").send().await? else {
        println!("{key} answered with no content");
        return Ok(());
    };
    println!("{key}: {} / {} (version {})", config.provider, config.model, config.version);
    println!("parameters: {}", serde_json::to_string(&config.parameters)?);
    for message in &config.messages {
        // Content is text or parts (text, images): shown here as its JSON.
        println!(
            "{}: {}",
            message.role.as_ref().map_or("?", |r| r.as_str()),
            serde_json::to_string(&message.content)?
        );
    }
    for tool in &config.tools {
        println!("tool: {}", serde_json::to_string(tool)?);
    }
    Ok(())
}
