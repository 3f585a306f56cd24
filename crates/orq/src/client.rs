//! The client, its configuration, and the per-call plumbing every operation
//! shares: headers, timeouts, retries, error translation and tracing.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use tracing::Instrument;

use crate::body::{self, BodyLimits};
use crate::deployments::Deployments;
use crate::error::{self, Error, Transport};
use crate::retry::{self, Failure, Operation, RetryPolicy};

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

const CONTACT_ID_HEADER: &str = "x-orq-contact-id";

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
    http: reqwest::Client,
    base_url: String,
    /// `host:port` of the base URL, for error messages.
    host: String,
    /// `None` with a caller's `http_client`, whose setting is unknown.
    connect_timeout: Option<Duration>,
    max_response_body_size: usize,
    max_error_body_size: usize,
    /// Authorization (marked sensitive), user agent and the caller's extra headers.
    headers: HeaderMap,
    timeout: Duration,
    pub(crate) stream_idle_timeout: Option<Duration>,
    pub(crate) max_event_size: usize,
    pub(crate) stream_deadline: Option<Duration>,
    retry: RetryPolicy,
    environment: Option<String>,
    contact_id: Option<String>,
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
            .field("contact_id", &inner.contact_id)
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

    /// The deployments API: list, get_config, invoke and stream.
    ///
    /// Its request builders hold a clone of the client, so they and their
    /// futures are `'static`: `tokio::spawn(client.deployments().invoke("k").send())` works.
    pub fn deployments(&self) -> Deployments {
        Deployments::new(self.clone())
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

    /// Runs one operation: builds the per-call generated client, bounds the
    /// response bodies, retries per policy, translates errors, and traces each
    /// attempt.
    ///
    /// `call` sends one attempt with the generated client. `Ok(None)` means the
    /// service answered 204 No Content. `decode` re-reads a body the generated
    /// code failed to decode, to report where it went wrong. `kind` says what
    /// may be resent (see [`retry::RETRY_TABLE`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn execute<T, E, F, Fut>(
        &self,
        operation: &'static str,
        kind: Operation,
        options: &CallOptions,
        accept: &'static str,
        decode: Redecode,
        mut call: F,
    ) -> Result<Option<orq_api::ResponseValue<T>>, Error>
    where
        E: serde::Serialize + fmt::Debug,
        F: FnMut(orq_api::Client) -> Fut,
        Fut: Future<Output = Result<orq_api::ResponseValue<T>, orq_api::Error<E>>>,
    {
        // Without a runtime, reqwest would panic deep inside; say so plainly.
        tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let streaming = accept == "text/event-stream";
        let (base_url, host) = match &options.base_url {
            Some(endpoint) => (endpoint.url.as_str(), endpoint.host.as_str()),
            None => (self.inner.base_url.as_str(), self.inner.host.as_str()),
        };
        let timeout = options.timeout.unwrap_or(self.inner.timeout);
        let headers = self.call_headers(options, accept)?;
        let policy = options.retry.as_ref().unwrap_or(&self.inner.retry);
        let transport = Transport { host, timeout, connect_timeout: self.inner.connect_timeout };
        let limits = BodyLimits {
            operation,
            success: (!streaming).then_some(self.inner.max_response_body_size),
            error: self.inner.max_error_body_size,
        };
        let span = tracing::info_span!("orq", operation);
        retry::run(policy, kind, |attempt| {
            let observed = Arc::new(Mutex::new(None::<(StatusCode, HeaderMap)>));
            let sink = observed.clone();
            let api = orq_api::Client::new_with_client(
                base_url,
                self.inner.http.clone(),
                orq_api::RequestOptions {
                    // A stream's body may last far longer than any request timeout:
                    // its headers get `timeout` below, its body the idle timeout.
                    timeout: (!streaming).then_some(timeout),
                    headers: headers.clone(),
                    on_response: Some(Arc::new(move |response: &reqwest::Response| {
                        *sink.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some((response.status(), response.headers().clone()));
                    })),
                    map_response: Some(Arc::new(move |response| body::bounded(response, limits))),
                },
            );
            let sent = call(api);
            async move {
                let started = Instant::now();
                let take_meta = || observed.lock().unwrap_or_else(|e| e.into_inner()).take();
                // The timeout covers reading an error response's body too: a server
                // that sends error headers and then stalls must not hang the call.
                let timed = tokio::time::timeout(timeout, async {
                    let result = sent.await;
                    let meta = take_meta();
                    (translate(operation, result, meta.as_ref(), transport, decode).await, meta)
                });
                let (outcome, meta) = match timed.await {
                    Ok(done) => done,
                    Err(_) => (Err(Error::Timeout { after: Some(timeout) }.into()), take_meta()),
                };
                let status = meta.as_ref().map(|(status, _)| status.as_u16());
                let request_id = meta.as_ref().and_then(|(_, headers)| error::request_id(headers));
                let latency_ms = started.elapsed().as_millis() as u64;
                match &outcome {
                    Ok(_) => {
                        tracing::debug!(attempt, status, request_id, latency_ms, "orq request succeeded")
                    }
                    Err(failure) => tracing::debug!(
                        attempt, status, request_id, latency_ms, error = %failure.error, "orq request failed"
                    ),
                }
                outcome
            }
        })
        .instrument(span)
        .await
    }

    /// Default headers, then the per-call ones; the contact id as a header.
    fn call_headers(&self, options: &CallOptions, accept: &'static str) -> Result<HeaderMap, Error> {
        let mut headers = self.inner.headers.clone();
        headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
        if let Some(contact) = options.contact_id.as_deref().or(self.inner.contact_id.as_deref()) {
            let value = header_value("contact id", contact).map_err(Error::InvalidRequest)?;
            headers.insert(HeaderName::from_static(CONTACT_ID_HEADER), value);
        }
        for (name, value) in &options.headers {
            headers.insert(name.clone(), value.clone());
        }
        Ok(headers)
    }
}

/// Decodes a body again to find the path where it fails (`None` if it does not fail).
pub(crate) type Redecode = fn(&'static str, &[u8]) -> Option<Error>;

/// The [`Redecode`] for responses of type `T`.
pub(crate) fn redecode<T: serde::de::DeserializeOwned>(what: &'static str, body: &[u8]) -> Option<Error> {
    error::decode::<T>(what, body).err()
}

/// One attempt's result in our terms. Reads the body of unexpected responses.
async fn translate<T, E>(
    operation: &'static str,
    result: Result<orq_api::ResponseValue<T>, orq_api::Error<E>>,
    meta: Option<&(StatusCode, HeaderMap)>,
    transport: Transport<'_>,
    decode: Redecode,
) -> Result<Option<orq_api::ResponseValue<T>>, Failure>
where
    E: serde::Serialize + fmt::Debug,
{
    use orq_api::Error as Gen;
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Gen::UnexpectedResponse(response)) if response.status() == StatusCode::NO_CONTENT => Ok(None),
        Err(Gen::UnexpectedResponse(response)) => {
            let status = response.status();
            let headers = response.headers().clone();
            // Bounded by `body::bounded`: at most the error body limit is read.
            let body = response.bytes().await.map_err(|e| error::from_reqwest(e, transport))?;
            Err(Failure::answered(error::api_error(status, &headers, &body), &headers))
        }
        Err(Gen::ErrorResponse(value)) => {
            let status = value.status();
            let headers = value.headers().clone();
            let body = serde_json::to_vec(value.as_ref()).unwrap_or_default();
            Err(Failure::answered(error::api_error(status, &headers, &body), &headers))
        }
        Err(Gen::InvalidResponsePayload(body, serde_error)) => {
            // A documented status whose body did not decode. When that status is an
            // error (a proxy's HTML 500), report the status; else find the failing path.
            if let Some((status, headers)) = meta.filter(|(status, _)| !status.is_success()) {
                return Err(Failure::answered(error::api_error(*status, headers, &body), headers));
            }
            Err(decode(operation, &body)
                .unwrap_or_else(|| Error::Decode {
                    what: operation,
                    path: String::new(),
                    message: serde_error.to_string(),
                    excerpt: error::excerpt(&body, 200),
                })
                .into())
        }
        Err(Gen::CommunicationError(e) | Gen::InvalidUpgrade(e)) => {
            Err(error::from_reqwest(e, transport).into())
        }
        // The service answered and then the body broke (or went over its limit):
        // it has done the work, which the retry table takes into account.
        Err(Gen::ResponseBodyError(e)) => Err(Failure::after_success(error::from_reqwest(e, transport))),
        Err(Gen::InvalidRequest(message) | Gen::Custom(message)) => {
            Err(Error::InvalidRequest(message).into())
        }
    }
}

fn header_value(what: &str, value: &str) -> Result<HeaderValue, String> {
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
fn checked_base_url(url: &str) -> Result<Endpoint, String> {
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

/// Settings of one call that override the client's. Every request builder has
/// the methods that fill it (`retry`, `timeout`, `header`, `contact_id`, ...).
#[derive(Debug, Clone, Default)]
pub(crate) struct CallOptions {
    pub retry: Option<RetryPolicy>,
    pub timeout: Option<Duration>,
    pub headers: HeaderMap,
    pub environment: Option<String>,
    pub contact_id: Option<String>,
    /// Sends this call here instead of to the client's base URL.
    pub base_url: Option<Endpoint>,
    /// Every invalid argument given to a builder method, in order, reported together by `send`.
    pub problems: Vec<String>,
}

impl CallOptions {
    pub(crate) fn add_header(&mut self, name: &str, value: &str) {
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.insert(name, value);
            }
            _ => self.problem(format!("header `{name}` is not a valid HTTP header")),
        }
    }

    pub(crate) fn set_contact_id(&mut self, contact_id: String) {
        if let Err(problem) = header_value("contact id", &contact_id) {
            self.problem(problem);
        }
        self.contact_id = Some(contact_id);
    }

    pub(crate) fn set_base_url(&mut self, url: &str) {
        match checked_base_url(url) {
            Ok(url) => self.base_url = Some(url),
            Err(problem) => self.problem(problem),
        }
    }

    /// Records an invalid argument; `send` reports it with the others.
    pub(crate) fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    /// Fails with one [`Error::InvalidRequest`] listing every problem the
    /// builder recorded, then those `send` found (`more`).
    pub(crate) fn check(&self, more: impl IntoIterator<Item = String>) -> Result<(), Error> {
        let problems: Vec<String> = self.problems.iter().cloned().chain(more).collect();
        if problems.is_empty() { Ok(()) } else { Err(Error::InvalidRequest(problems.join("; "))) }
    }
}

/// Adds the per-call option methods to a request builder with a `options: CallOptions` field.
macro_rules! call_options {
    ($builder:ident <$($param:ident),*>) => {
        impl<$($param),*> $builder<$($param),*> {
            /// Uses this retry policy for this call instead of the client's.
            pub fn retry(mut self, policy: $crate::RetryPolicy) -> Self {
                self.options.retry = Some(policy);
                self
            }

            /// Uses this timeout for this call instead of the client's. For a
            /// stream it limits the wait for the response to start.
            pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
                self.options.timeout = Some(timeout);
                self
            }

            /// Adds a header to this call (an invalid name or value is reported by `send`).
            pub fn header(mut self, name: &str, value: &str) -> Self {
                self.options.add_header(name, value);
                self
            }

            /// Sends this contact id (header `X-ORQ-CONTACT-ID`) instead of the client's.
            pub fn contact_id(mut self, contact_id: impl Into<String>) -> Self {
                self.options.set_contact_id(contact_id.into());
                self
            }

            /// Sends this call to another service URL than the client's, such as
            /// a regional endpoint or a proxy. It must be an http(s) URL (checked
            /// like [`ClientBuilder::base_url`](crate::ClientBuilder::base_url);
            /// a bad one is reported by `send`).
            pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
                self.options.set_base_url(url.as_ref());
                self
            }
        }
    };
}
pub(crate) use call_options;

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
            header_value("contact id", contact_id).map_err(Error::Config)?;
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
                contact_id: self.contact_id,
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
        let client = Client::builder().api_key("secret-key").environment("prod").build().unwrap();
        let printed = format!(
            "{client:?} {:?} {:?}",
            ApiKey::new("secret-key"),
            Client::builder().api_key("secret-key")
        );
        assert!(!printed.contains("secret-key"), "{printed}");
        assert!(printed.contains("prod"));
        let headers = format!("{:?}", client.inner.headers);
        assert!(!headers.contains("secret-key"), "{headers}");
    }
}
