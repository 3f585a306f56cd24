//! The per-call pipeline every operation shares. Data flows one way: the
//! request builder's options and the client's settings pick the generated
//! client that sends the call (the `Client`'s own, or one made for a call
//! that overrides its settings); each attempt's answer comes back up once, as
//! the generated code's result, and is turned into our `Result`.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orq_api::ResponseValue;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use tracing::{Instrument, Span};

use crate::body::{self, BodyLimits};
use crate::client::{CONTACT_ID_HEADER, Client, Endpoint, Inner, checked_base_url, header_value};
use crate::error::{self, Error, Transport};
use crate::retry::{self, Failure, Operation, RetryPolicy};
use crate::telemetry;

/// What an operation's successful answer is, and so how the call reads it.
pub(crate) trait Expect {
    /// What the generated operation returns on success.
    type Body;
    /// The `Accept` header the call sends.
    const ACCEPT: &'static str;
    /// An event stream is read event by event: its body is not bounded by
    /// the response body limit, and its timeout covers only the wait for the
    /// response to start.
    const EVENT_STREAM: bool;
    /// The error for a successful answer whose body did not decode.
    fn undecodable(operation: &'static str, body: &[u8], error: serde_json::Error) -> Error;
}

/// A JSON body of type `T`.
pub(crate) struct Json<T>(PhantomData<fn() -> T>);

impl<T> Json<T> {
    pub(crate) const fn new() -> Self {
        Json(PhantomData)
    }
}

impl<T: serde::de::DeserializeOwned> Expect for Json<T> {
    type Body = T;
    const ACCEPT: &'static str = "application/json";
    const EVENT_STREAM: bool = false;

    /// Decodes the body again to name the path where it fails.
    fn undecodable(operation: &'static str, body: &[u8], error: serde_json::Error) -> Error {
        error::decode::<T>(operation, body).err().unwrap_or_else(|| decode_error(operation, body, error))
    }
}

/// A stream of server-sent events.
pub(crate) struct EventStream;

impl Expect for EventStream {
    type Body = orq_api::ByteStream;
    const ACCEPT: &'static str = "text/event-stream";
    const EVENT_STREAM: bool = true;

    fn undecodable(operation: &'static str, body: &[u8], error: serde_json::Error) -> Error {
        decode_error(operation, body, error)
    }
}

/// A decode error with serde's message and no path.
fn decode_error(operation: &'static str, body: &[u8], error: serde_json::Error) -> Error {
    Error::Decode {
        what: operation,
        path: String::new(),
        message: error.to_string(),
        excerpt: error::excerpt(body, 200),
    }
}

impl Inner {
    /// The generated client for calls expecting `X`, with this client's settings.
    fn generated<X: Expect>(&self) -> Arc<orq_api::Client> {
        let slot = if X::EVENT_STREAM { &self.generated.event_stream } else { &self.generated.json };
        let api =
            slot.get_or_init(|| Arc::new(self.generated_client::<X>(&self.base_url, self.headers.clone())));
        api.clone()
    }

    /// A generated client for calls expecting `X` that sends `headers` to
    /// `base_url`. It sets no timeout: `Client::execute` times each attempt.
    fn generated_client<X: Expect>(&self, base_url: &str, mut headers: HeaderMap) -> orq_api::Client {
        headers.insert(header::ACCEPT, HeaderValue::from_static(X::ACCEPT));
        let limits = BodyLimits {
            success: (!X::EVENT_STREAM).then_some(self.max_response_body_size),
            error: self.max_error_body_size,
        };
        let mut options = orq_api::RequestOptions::default();
        options.headers = headers;
        options.map_response = Some(Arc::new(move |response| body::bounded(response, limits)));
        orq_api::Client::new_with_client(base_url, self.http.clone(), options)
    }
}

impl Client {
    /// Runs one operation: sends it with the generated client for its
    /// settings, retries per policy, translates the result and traces each
    /// attempt inside `span` (the call's span, from [`telemetry::call_span`]),
    /// on which it records the server, status, request id, retries and error.
    ///
    /// `send` sends one attempt with the generated client. `Ok(None)` means
    /// the service answered 204 No Content. `kind` says what may be resent
    /// (see [`retry::RETRY_TABLE`]); `expect` what a success carries.
    ///
    /// The answer comes back boxed: about 500 bytes, it would otherwise be
    /// copied at each layer on the way up (timer, retry loop, builder).
    pub(crate) async fn execute<X, F, Fut>(
        &self,
        operation: &'static str,
        kind: Operation,
        options: &CallOptions,
        span: &Span,
        _expect: X,
        send: F,
    ) -> Result<Option<Box<ResponseValue<X::Body>>>, Error>
    where
        X: Expect,
        F: Fn(Arc<orq_api::Client>) -> Fut,
        Fut: Future<Output = Result<ResponseValue<X::Body>, orq_api::Error<()>>>,
    {
        // Without a runtime, reqwest would panic deep inside; say so plainly.
        tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let inner = &*self.inner;
        let host = options.base_url.as_ref().map_or(inner.host.as_str(), |endpoint| endpoint.host.as_str());
        let timeout = options.timeout.unwrap_or(inner.timeout);
        let policy = options.retry.as_ref().unwrap_or(&inner.retry);
        let transport = Transport { operation, host, timeout, connect_timeout: inner.connect_timeout };
        let api = if options.keeps_client_settings() {
            inner.generated::<X>()
        } else {
            let base_url = options.base_url.as_ref().map_or(inner.base_url.as_str(), |e| e.url.as_str());
            Arc::new(inner.generated_client::<X>(base_url, self.call_headers(options)))
        };
        let (send, api) = (&send, &api);
        let attempt = |attempt| async move {
            let started = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
            // The generated call is made inside this future, not moved
            // into it: futures this large cost a copy per move.
            let translated = async {
                match translate::<X>(operation, send(api.clone()).await, transport) {
                    Translated::Done(outcome) => outcome,
                    // Boxed: the error path's future stays out of every call's future.
                    Translated::ErrorAnswer(response) => {
                        Err(Box::pin(error_answer(response, transport)).await)
                    }
                }
            };
            // One timer per attempt. It covers a JSON answer's body too (read
            // inside the generated call), and a stream's start only.
            let outcome = match tokio::time::timeout(timeout, translated).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Error::Timeout { after: Some(timeout) }.into()),
            };
            if let Some(started) = started {
                trace(attempt, started, &outcome);
            }
            outcome
        };
        // No span to enter on every poll when no subscriber wants it. The
        // retry loop is made in place in each branch: a large future made
        // before the `if` would be copied once more.
        if span.is_disabled() {
            retry::run(policy, kind, attempt).await.0
        } else {
            telemetry::record_server(span, host);
            let (outcome, attempts) = retry::run(policy, kind, attempt).instrument(span.clone()).await;
            telemetry::record_outcome(span, attempts, &outcome);
            outcome
        }
    }

    /// The client's headers, then the call's; the contact id as a header.
    fn call_headers(&self, options: &CallOptions) -> HeaderMap {
        let mut headers = self.inner.headers.clone();
        if let Some(contact) = &options.contact_id {
            headers.insert(HeaderName::from_static(CONTACT_ID_HEADER), contact.clone());
        }
        for (name, value) in &options.headers {
            headers.insert(name.clone(), value.clone());
        }
        headers
    }
}

/// Logs one attempt's outcome at debug level, with the status and request id
/// of the answer when there was one.
fn trace<T>(attempt: u32, started: Instant, outcome: &Result<Option<Box<ResponseValue<T>>>, Failure>) {
    let latency_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(value) => {
            let status = value.as_ref().map_or(StatusCode::NO_CONTENT, |value| value.status()).as_u16();
            let request_id = value.as_ref().and_then(|value| error::request_id(value.headers()));
            tracing::debug!(attempt, status, request_id, latency_ms, "orq request succeeded")
        }
        Err(failure) => {
            let (status, request_id) = match &failure.error {
                Error::Api { status, request_id, .. } => (Some(status.as_u16()), request_id.as_deref()),
                _ => (None, None),
            };
            tracing::debug!(
                attempt, status, request_id, latency_ms, error = %failure.error, "orq request failed"
            )
        }
    }
}

/// One attempt's result in our terms, or an error answer whose body is still
/// to be read (the generated code decodes successful answers only: see
/// `xtask`'s codegen).
enum Translated<T> {
    Done(Result<Option<Box<ResponseValue<T>>>, Failure>),
    ErrorAnswer(reqwest::Response),
}

/// One attempt's result in our terms.
fn translate<X: Expect>(
    operation: &'static str,
    result: Result<ResponseValue<X::Body>, orq_api::Error<()>>,
    transport: Transport<'_>,
) -> Translated<X::Body> {
    use orq_api::Error as Gen;
    Translated::Done(match result {
        Ok(value) => Ok(Some(Box::new(value))),
        Err(Gen::UnexpectedResponse(response)) if response.status() == StatusCode::NO_CONTENT => Ok(None),
        Err(Gen::UnexpectedResponse(response)) => return Translated::ErrorAnswer(response),
        // Not generated (no error answer is decoded), kept for completeness.
        Err(Gen::ErrorResponse(value)) => {
            let retry_after = retry::retry_after(value.headers());
            let error = error::api_error(value.status(), error::request_id(value.headers()), b"");
            Err(Failure::answered(error, retry_after))
        }
        // Only successful answers are decoded: report where it failed.
        Err(Gen::InvalidResponsePayload(body, serde_error)) => {
            Err(X::undecodable(operation, &body, serde_error).into())
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
    })
}

/// An error answer: its status, request id, `Retry-After` and (bounded by
/// `body::bounded`, so at most the error body limit) its body.
async fn error_answer(response: reqwest::Response, transport: Transport<'_>) -> Failure {
    let headers = response.headers();
    let (status, request_id) = (response.status(), error::request_id(headers));
    let retry_after = retry::retry_after(headers);
    match response.bytes().await {
        Ok(body) => Failure::answered(error::api_error(status, request_id, &body), retry_after),
        Err(e) => error::from_reqwest(e, transport).into(),
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
    /// The contact id, as the header value it is sent in.
    pub contact_id: Option<HeaderValue>,
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
        match header_value("contact id", &contact_id) {
            Ok(value) => self.contact_id = Some(value),
            Err(problem) => self.problem(problem),
        }
    }

    pub(crate) fn set_base_url(&mut self, url: &str) {
        match checked_base_url(url) {
            Ok(url) => self.base_url = Some(url),
            Err(problem) => self.problem(problem),
        }
    }

    /// Whether the call keeps the client's headers, contact id and URL, and
    /// so can be sent with the client's generated client.
    fn keeps_client_settings(&self) -> bool {
        self.headers.is_empty() && self.contact_id.is_none() && self.base_url.is_none()
    }

    /// Records an invalid argument; `send` reports it with the others.
    pub(crate) fn problem(&mut self, message: String) {
        self.problems.push(message);
    }

    /// Fails with one [`Error::InvalidRequest`] listing every problem the
    /// builder recorded, then those `send` found (`more`).
    pub(crate) fn check(&self, more: impl IntoIterator<Item = String>) -> Result<(), Error> {
        let mut more = more.into_iter().peekable();
        if self.problems.is_empty() && more.peek().is_none() {
            return Ok(());
        }
        let problems: Vec<String> = self.problems.iter().cloned().chain(more).collect();
        Err(Error::InvalidRequest(problems.join("; ")))
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
