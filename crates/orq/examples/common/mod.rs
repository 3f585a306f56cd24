//! Shared by the examples: a client for the real service when `ORQ_API_KEY` is
//! set, otherwise one for an in-process orq-mock.

use orq_mock::MockOrq;

/// The API key the in-process mock expects.
const MOCK_KEY: &str = "orq-mock-example-key";

/// A client, plus the mock it talks to when there is no `ORQ_API_KEY`
/// (keep it alive as long as the client is used).
pub async fn client() -> Result<(orq::Client, Option<MockOrq>), Box<dyn std::error::Error>> {
    if std::env::var("ORQ_API_KEY").is_ok_and(|key| !key.trim().is_empty()) {
        let client = orq::Client::from_env()?;
        println!("Using the orq.ai API at {} (ORQ_API_KEY is set).", client.base_url());
        return Ok((client, None));
    }
    let mock = MockOrq::builder().api_key(MOCK_KEY).start().await?;
    println!("ORQ_API_KEY is not set: using orq-mock, a local fake of orq.ai, at {}.", mock.url());
    let client = orq::Client::builder().api_key(MOCK_KEY).base_url(mock.url()).build()?;
    Ok((client, Some(mock)))
}
