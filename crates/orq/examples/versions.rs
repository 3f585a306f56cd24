//! A deployment's saved versions with `list_versions`: newest first, page by
//! page, one variant only, and the whole history with `list_versions_all`.
//!
//! ```sh
//! cargo run --example versions
//! ```

mod common;

use futures::TryStreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;
    let key = std::env::var("ORQ_DEPLOYMENT").unwrap_or_else(|_| "support-bot".into());

    // The newest versions, two at a time, following the cursor to older ones.
    let mut page = client.deployments().list_versions(&key).limit(2).send().await?;
    let mut page_number = 1;
    loop {
        println!("page {page_number}:");
        for version in &page.data {
            let status = version.status.as_ref().map_or("?", |status| status.as_str());
            println!(
                "  {}  {:<4} {:<9} variant {}",
                version.timestamp, version.version, status, version.variant_id
            );
        }
        let Some(cursor) = page.next_cursor().map(str::to_string) else { break };
        page = client.deployments().list_versions(&key).limit(2).starting_after(cursor).send().await?;
        page_number += 1;
    }

    // Every version, cursors followed for you; then those of one variant.
    let history: Vec<_> = client.deployments().list_versions_all(&key).try_collect().await?;
    println!("{} version(s) in all", history.len());
    if let Some(newest) = history.first() {
        let variant = client.deployments().list_versions(&key).variant_id(&newest.variant_id).send().await?;
        println!("{} of them in variant {}", variant.data.len(), newest.variant_id);
    }
    Ok(())
}
