//! Retry policies against a fault-injecting orq-mock: failures the policy
//! retries, `Retry-After`, and failures that are returned at once.
//!
//! ```sh
//! cargo run --example retries
//! ```

use std::time::{Duration, Instant};

use orq::RetryPolicy;
use orq_mock::MockOrq;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockOrq::builder().api_key("key").start().await?;
    println!("orq-mock (fault injection) at {}", mock.url());
    let policy = RetryPolicy::default()
        .max_retries(3)
        .initial_interval(Duration::from_millis(100))
        .max_interval(Duration::from_secs(2));
    let client = orq::Client::builder().api_key("key").base_url(mock.url()).retry(policy).build()?;

    // Two 503s, then success: three attempts, one result.
    mock.fail_next(2, 503);
    let started = Instant::now();
    let page = client.deployments().list().send().await?;
    println!(
        "two 503s then success: {} deployments after {} requests in {:?}",
        page.data.len(),
        mock.requests().len(),
        started.elapsed()
    );

    // 429 with Retry-After: the wait the service asks for replaces the backoff.
    mock.clear_requests();
    mock.fail_next(1, 429).retry_after("1");
    let started = Instant::now();
    client.deployments().invoke("support-bot").input("name", "Ada").send().await?;
    println!(
        "429 + Retry-After: 1 → succeeded after {:?} ({} requests)",
        started.elapsed(),
        mock.requests().len()
    );

    // More failures than retries: the last error is returned.
    mock.clear_requests();
    mock.fail_next(10, 502);
    match client.deployments().list().send().await {
        Err(error) => println!("502 every time → {error} (after {} requests)", mock.requests().len()),
        Ok(_) => println!("unexpected success"),
    }
    mock.reset_faults();

    // A 500 to invoke is not resent: the generation may have run already.
    mock.clear_requests();
    mock.fail_next(1, 500);
    match client.deployments().invoke("support-bot").send().await {
        Err(error) => println!("500 to invoke → {error} (after {} request)", mock.requests().len()),
        Ok(_) => println!("unexpected success"),
    }
    mock.reset_faults();

    // 404 is not retried: it will not get better.
    mock.clear_requests();
    match client.deployments().invoke("no-such-deployment").send().await {
        Err(error) => println!("404 → {error} (after {} request)", mock.requests().len()),
        Ok(_) => println!("unexpected success"),
    }

    // Per call: no retries at all.
    mock.clear_requests();
    mock.fail_next(1, 503);
    let result = client.deployments().list().retry(RetryPolicy::none()).send().await;
    println!(
        "503 with RetryPolicy::none() → {} (after {} request)",
        result.unwrap_err(),
        mock.requests().len()
    );
    Ok(())
}
