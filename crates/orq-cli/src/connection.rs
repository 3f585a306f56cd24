//! The `orq::Client` the commands call through, built from the global flags:
//! to orq.ai (or `--base-url`), or to an in-process orq-mock with `--mock`.

use orq::{Client, RetryPolicy};
use orq_mock::MockOrq;

use crate::args::ConnectionArgs;
use crate::exit::Failure;

/// Sent as `User-Agent`, so the service can tell the CLI's calls apart.
const USER_AGENT: &str = concat!("orq-cli/", env!("CARGO_PKG_VERSION"));

/// A client, and the fake server it talks to with `--mock` (which serves as
/// long as this lives).
pub struct Connection {
    /// The client to call with.
    pub client: Client,
    _mock: Option<MockOrq>,
}

/// Builds the client the flags describe; with `--mock`, starts orq-mock first.
pub async fn connect(args: &ConnectionArgs) -> Result<Connection, Failure> {
    let mut builder = Client::builder().user_agent(USER_AGENT);
    let mock = if args.mock {
        let mock = MockOrq::builder()
            .start()
            .await
            .map_err(|e| Failure::Input(format!("could not start the built-in mock: {e}")))?;
        tracing::info!(url = %mock.url(), "running against the built-in orq-mock");
        // Loopback, plain HTTP: no proxy, and no time spent loading TLS roots.
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only([])
            .build()
            .map_err(|e| Failure::Input(format!("could not build the HTTP client: {e}")))?;
        builder = builder.base_url(mock.url()).api_key("mock").http_client(http);
        Some(mock)
    } else {
        let key = non_empty(args.api_key.as_ref().map(|key| key.expose())).ok_or_else(|| {
            Failure::Usage(
                "no API key: pass --api-key or set ORQ_API_KEY (or try it offline with --mock)".into(),
            )
        })?;
        builder = builder.api_key(key);
        if let Some(url) = non_empty(args.base_url.as_deref()) {
            builder = builder.base_url(url);
        }
        None
    };
    if let Some(timeout) = args.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(retries) = args.retries {
        builder = builder.retry(RetryPolicy::default().max_retries(retries));
    }
    if let Some(environment) = non_empty(args.environment.as_deref()) {
        builder = builder.environment(environment);
    }
    if let Some(contact_id) = non_empty(args.contact_id.as_deref()) {
        builder = builder.contact_id(contact_id);
    }
    let client = builder.build()?;
    tracing::debug!(base_url = client.base_url(), "client ready");
    Ok(Connection { client, _mock: mock })
}

/// Empty values count as unset, as `Client::from_env` has it for the same variables.
fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|value| !value.trim().is_empty())
}
