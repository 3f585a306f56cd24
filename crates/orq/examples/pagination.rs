//! Walks every deployment with `list_all`, which follows the cursors, and
//! then the first pages by hand.
//!
//! ```sh
//! cargo run --example pagination
//! ```

mod common;

use futures::TryStreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (client, _mock) = common::client().await?;

    let all: Vec<_> = client.deployments().list_all().try_collect().await?;
    println!("{} deployment(s) in all:", all.len());
    for deployment in &all {
        println!("  {}  {}  {}", deployment.created, deployment.id, deployment.key);
    }

    // The same, one small page at a time.
    let mut cursor: Option<String> = None;
    let mut page_number = 1;
    loop {
        let mut request = client.deployments().list().limit(1);
        if let Some(after) = &cursor {
            request = request.starting_after(after);
        }
        let page = request.send().await?;
        let keys: Vec<_> = page.data.iter().map(|d| d.key.as_str()).collect();
        println!("page {page_number}: {keys:?}");
        match page.next_cursor() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        page_number += 1;
    }
    Ok(())
}
