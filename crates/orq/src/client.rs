//! The client and its configuration, shared by all calls. What one call
//! does with it is in `call.rs`.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::error::Error;
use crate::retry::RetryPolicy;

/// Where the official service lives.
pub const DEFAULT_BASE_URL: &str = "https://my.orq.ai";
/// The request timeout the upstream spec declares: generations can be slow.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// How long to wait for a TCP/TLS connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stream may stay silent before it is considered dead.
pub const DEFAULT_STREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// The largest response body read by `invoke`, `get_config` and `list`: 32 MiB.
pub const DEFAULT_MAX_RESPONSE_BODY_SIZE: usize = 32 * 1024 * 1024;
/// How much of an error response's body is read: 64 KiB.
pub const DEFAULT_MAX_ERROR_BODY_SIZE: usize = 64 * 1024;

/// An orq.ai API key. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    /// The key itself, for when you really need it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<S: Into<String>> From<S> for ApiKey {
    fn from(key: S) -> Self {
        ApiKey::new(key)
    }
}

/// A client for the orq.ai API.
///
/// Cheap to clone (an `Arc` inside): clones share one connection pool and
/// configuration. `Send + Sync`, so one client can serve a whole program.
///
/// Calls run on a Tokio 1.x runtime with its I/O and time drivers enabled
/// (`#[tokio::main]` enables both). A call made outside any Tokio runtime
/// fails with [`Error::NoRuntime`].
///
/// # Panics
///
/// A call on a Tokio runtime built without the time driver (no
/// `enable_time`/`enable_all`) panics with Tokio's "timers are disabled"
/// message; one without the I/O driver with "IO is disabled". Both are
/// configuration mistakes that show on the first call.
///
/// ```no_run
/// # async fn run() -> Result<(), orq::Error> {
/// let client = orq::Client::from_env()?; // reads ORQ_API_KEY
/// let page = client.deployments().list().limit(20).send().await?;
/// for deployment in &page.data {
///     println!("{} ({})", deployment.key, deployment.prompt_config.model);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    /// `host:port` of the base URL, for error messages.
    pub(crate) host: String,
    /// `None` with a caller's `http_client`, whose setting is unknown.
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) max_response_body_size: usize,
    pub(crate) max_error_body_size: usize,
    /// Authorization (marked sensitive), user agent, the caller's extra
    /// headers and the contact id.
    pub(crate) headers: HeaderMap,
    pub(crate) timeout: Duration,
    pub(crate) stream_idle_timeout: Option<Duration>,
    pub(crate) max_event_size: usize,
    pub(crate) stream_deadline: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) environment: Option<String>,
    /// Whether call spans carry prompt and completion text.
    pub(crate) record_content: bool,
    /// The generated clients calls are sent with, made from the settings above.
    pub(crate) generated: GeneratedClients,
}

/// The header the contact id travels in.
pub(crate) const CONTACT_ID_HEADER: &str = "x-orq-contact-id";

/// The generated clients a [`Client`] sends its calls with, made on first use
/// (by `call.rs`) from the settings above: one for JSON answers, one for event
/// streams. A call that overrides the client's headers, contact id or URL gets
/// its own instead.
#[derive(Debug, Default)]
pub(crate) struct GeneratedClients {
    pub(crate) json: OnceLock<Arc<orq_api::Client>>,
    pub(crate) event_stream: OnceLock<Arc<orq_api::Client>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("base_url", &inner.base_url)
            .field("api_key", &"<redacted>")
            .field("timeout", &inner.timeout)
            .field("stream_idle_timeout", &inner.stream_idle_timeout)
            .field("max_response_body_size", &inner.max_response_body_size)
            .field("max_error_body_size", &inner.max_error_body_size)
            .field("retry", &inner.retry)
            .field("environment", &inner.environment)
            .field("record_content", &inner.record_content)
            .field("contact_id", &inner.headers.get(CONTACT_ID_HEADER).and_then(|v| v.to_str().ok()))
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the given API key and default settings.
    pub fn new(api_key: impl Into<ApiKey>) -> Result<Client, Error> {
        Client::builder().api_key(api_key).build()
    }

    /// A client configured from the environment: `ORQ_API_KEY` (required),
    /// `ORQ_BASE_URL`, `ORQ_ENVIRONMENT` and `ORQ_CONTACT_ID` (optional).
    pub fn from_env() -> Result<Client, Error> {
        Client::builder().from_env().build()
    }

    /// A builder to configure every setting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The client's default retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The environment written into request contexts by default.
    pub fn environment(&self) -> Option<&str> {
        self.inner.environment.as_deref()
    }
}

pub(crate) fn header_value(what: &str, value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value)
        .map_err(|_| format!("the {what} contains characters not allowed in an HTTP header"))
}

/// Where calls go: a checked base URL and its `host:port` for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// The base URL without a trailing slash.
    pub url: String,
    /// `host:port` of the URL.
    pub host: String,
}

/// `url` without a trailing slash, if it is an absolute http(s) URL with a host
/// and neither a query nor a fragment.
pub(crate) fn checked_base_url(url: &str) -> Result<Endpoint, String> {
    let base_url = url.trim_end_matches('/');
    match reqwest::Url::parse(base_url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {
            // Paths are appended to the base URL as text: a query or fragment
            // would swallow them.
            if parsed.query().is_some() || parsed.fragment().is_some() || base_url.contains(['?', '#']) {
                return Err(format!(
                    "base URL `{base_url}` has a query or fragment; give the service's root URL"
                ));
            }
            let host = parsed.host_str().unwrap_or_default();
            let host = match parsed.port_or_known_default() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            };
            Ok(Endpoint { url: base_url.to_string(), host })
        }
        _ => Err(format!("base URL `{base_url}` is not an http(s) URL")),
    }
}

/// Builds a [`Client`]. Every setting has a default that suits most programs;
/// only the API key is required.
///
/// ```
/// use std::time::Duration;
///
/// let client = orq::Client::builder()
///     .api_key("my-key")
///     .timeout(Duration::from_secs(120))
///     .environment("production")
///     .retry(orq::RetryPolicy::default().max_retries(4))
///     .build()?;
/// # Ok::<(), orq::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    base_url: String,
    api_key: Option<ApiKey>,
    timeout: Duration,
    connect_timeout: Duration,
    stream_idle_timeout: Option<Duration>,
    max_event_size: usize,
    stream_deadline: Option<Duration>,
    max_response_body_size: usize,
    max_error_body_size: usize,
    retry: RetryPolicy,
    http: Option<reqwest::Client>,
    user_agent: String,
    headers: Vec<(String, String)>,
    environment: Option<String>,
    contact_id: Option<String>,
    record_content: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: DEFAULT_BASE_URL.to_string(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            stream_idle_timeout: Some(DEFAULT_STREAM_IDLE_TIMEOUT),
            max_event_size: crate::stream::DEFAULT_MAX_EVENT_SIZE,
            stream_deadline: None,
            max_response_body_size: DEFAULT_MAX_RESPONSE_BODY_SIZE,
            max_error_body_size: DEFAULT_MAX_ERROR_BODY_SIZE,
            retry: RetryPolicy::default(),
            http: None,
            user_agent: concat!("orq-rs/", env!("CARGO_PKG_VERSION")).to_string(),
            headers: Vec::new(),
            environment: None,
            contact_id: None,
            record_content: false,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Reads `ORQ_API_KEY`, `ORQ_BASE_URL`, `ORQ_ENVIRONMENT` and `ORQ_CONTACT_ID`,
    /// where set and not empty.
    pub fn from_env(mut self) -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.trim().is_empty());
        if let Some(key) = var("ORQ_API_KEY") {
            self.api_key = Some(ApiKey::new(key));
        }
        if let Some(url) = var("ORQ_BASE_URL") {
            self.base_url = url;
        }
        if let Some(environment) = var("ORQ_ENVIRONMENT") {
            self.environment = Some(environment);
        }
        if let Some(contact_id) = var("ORQ_CONTACT_ID") {
            self.contact_id = Some(contact_id);
        }
        self
    }

    /// The API key (required).
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The service URL (default `https://my.orq.ai`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Total time allowed for a request, retries not included (default 600 s).
    /// For a stream it limits the wait for the response to start.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time allowed to open a connection (default 30 s). Ignored with [`Self::http_client`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a stream may send nothing before it fails (default 120 s; `None`: forever).
    pub fn stream_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.stream_idle_timeout = timeout;
        self
    }

    /// The largest server-sent event a stream accepts, in bytes of its lines
    /// (default [`DEFAULT_MAX_EVENT_SIZE`](crate::DEFAULT_MAX_EVENT_SIZE), 16 MiB).
    /// A larger event, or a longer line without its end, fails the stream with
    /// [`StreamError::EventTooLarge`](crate::StreamError::EventTooLarge) before
    /// more than this is buffered.
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// The longest a stream may last, counted from when its response starts
    /// (default `None`: no limit; the wait for the response start is bounded by
    /// [`Self::timeout`]). A stream still running then fails with
    /// [`StreamError::Deadline`](crate::StreamError::Deadline), even if the server
    /// keeps sending keep-alive comments. Per stream: [`ChunkStream::deadline`](crate::ChunkStream::deadline).
    pub fn stream_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.stream_deadline = deadline;
        self
    }

    /// The largest response body `invoke`, `get_config` and `list` read, in
    /// bytes (default [`DEFAULT_MAX_RESPONSE_BODY_SIZE`], 32 MiB). A larger
    /// body fails with [`Error::BodyTooLarge`] after reading at most this
    /// much (at once when its declared length is larger), and is not retried.
    /// The body is decompressed first: the limit applies to the decoded size.
    pub fn max_response_body_size(mut self, bytes: usize) -> Self {
        self.max_response_body_size = bytes;
        self
    }

    /// How much of an error response's body is read, in bytes (default
    /// [`DEFAULT_MAX_ERROR_BODY_SIZE`], 64 KiB). The rest is never read: the
    /// connection is closed instead. [`Error::Api`] keeps the start of what was read.
    pub fn max_error_body_size(mut self, bytes: usize) -> Self {
        self.max_error_body_size = bytes;
        self
    }

    /// The default retry policy (see [`RetryPolicy`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Turns retries off.
    pub fn no_retries(self) -> Self {
        self.retry(RetryPolicy::none())
    }

    /// Sends requests with this `reqwest::Client` (proxies, TLS settings, a
    /// shared pool). Its own timeouts and default headers still apply.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The `User-Agent` header (default `orq-rs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// A header sent with every request.
    pub fn default_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The environment written into every request's `context.environments`.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The contact id sent with every request (header `X-ORQ-CONTACT-ID`).
    pub fn contact_id(mut self, contact_id: impl Into<String>) -> Self {
        self.contact_id = Some(contact_id.into());
        self
    }

    /// Records prompt and completion text on each call's span (default
    /// `false`): `gen_ai.input.messages` (the request's messages) and
    /// `gen_ai.output.messages` (the answer's), as JSON text. Turn it on only
    /// where traces may hold what users and models write; the API key is
    /// never recorded either way. See the crate's README, "Observability".
    pub fn record_content(mut self, record: bool) -> Self {
        self.record_content = record;
        self
    }

    /// Checks the settings and builds the client. A bad setting is an [`Error::Config`].
    pub fn build(self) -> Result<Client, Error> {
        let key = self.api_key.ok_or_else(|| {
            Error::Config("no API key: set ORQ_API_KEY or call ClientBuilder::api_key".into())
        })?;
        if key.expose().trim().is_empty() {
            return Err(Error::Config("the API key is empty".into()));
        }
        let Endpoint { url: base_url, host } = checked_base_url(&self.base_url).map_err(Error::Config)?;

        let mut headers = HeaderMap::new();
        let mut auth = header_value("API key", &format!("Bearer {}", key.expose())).map_err(Error::Config)?;
        auth.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, auth);
        headers
            .insert(header::USER_AGENT, header_value("user agent", &self.user_agent).map_err(Error::Config)?);
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::Config(format!("`{name}` is not a valid header name")))?;
            headers.insert(name, header_value("default header", value).map_err(Error::Config)?);
        }
        if let Some(contact_id) = &self.contact_id {
            let value = header_value("contact id", contact_id).map_err(Error::Config)?;
            headers.insert(HeaderName::from_static(CONTACT_ID_HEADER), value);
        }

        let (http, connect_timeout) = match self.http {
            Some(http) => (http, None),
            None => {
                let http = reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    .build()
                    .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?;
                (http, Some(self.connect_timeout))
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                host,
                connect_timeout,
                max_response_body_size: self.max_response_body_size,
                max_error_body_size: self.max_error_body_size,
                headers,
                timeout: self.timeout,
                stream_idle_timeout: self.stream_idle_timeout,
                max_event_size: self.max_event_size,
                stream_deadline: self.stream_deadline,
                retry: self.retry,
                environment: self.environment,
                record_content: self.record_content,
                generated: Default::default(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_and_streams_can_cross_threads() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        fn sendable<T: Send + 'static>() {}
        shareable::<Client>();
        sendable::<crate::ChunkStream>();
        sendable::<Error>();
    }

    #[test]
    fn clones_share_one_configuration_and_pool() {
        let client = Client::new("secret-key").unwrap();
        let clone = client.clone();
        assert!(Arc::ptr_eq(&client.inner, &clone.inner));
    }

    #[test]
    fn the_key_is_never_printed() {
        let client =
            Client::builder().api_key("secret-key").environment("prod").contact_id("c-7").build().unwrap();
        let printed = format!(
            "{client:?} {:?} {:?}",
            ApiKey::new("secret-key"),
            Client::builder().api_key("secret-key")
        );
        assert!(!printed.contains("secret-key"), "{printed}");
        assert!(printed.contains("prod") && printed.contains(r#"contact_id: Some("c-7")"#), "{printed}");
        let headers = format!("{:?}", client.inner.headers);
        assert!(!headers.contains("secret-key"), "{headers}");
    }
}
