//! The per-call pipeline every operation shares. Data flows one way: the
//! request builder's options and the client's settings go down into one
//! generated client for the call; each attempt's answer comes back up once,
//! as the generated code's result plus the [`ResponseHead`] recorded when
//! the response arrived, and is turned into our `Result`.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orq_api::ResponseValue;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use tracing::Instrument;

use crate::body::{self, BodyLimits};
use crate::client::{Client, Endpoint, checked_base_url, header_value};
use crate::error::{self, Error, Transport};
use crate::retry::{self, Failure, Operation, RetryPolicy};

const CONTACT_ID_HEADER: &str = "x-orq-contact-id";

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

/// An error body the spec documents, already decoded by the generated code.
pub(crate) trait DocumentedError: fmt::Debug {
    /// [`Error::Api`] from the decoded body, without reading it again.
    fn into_api_error(self, status: StatusCode, request_id: Option<String>) -> Error;
}

/// Operations that document no error body.
impl DocumentedError for () {
    fn into_api_error(self, status: StatusCode, request_id: Option<String>) -> Error {
        error::api_error(status, request_id, b"")
    }
}

impl DocumentedError for orq_api::types::ErrorBody {
    fn into_api_error(self, status: StatusCode, request_id: Option<String>) -> Error {
        // Every field is kept in `body`, as the service sent them.
        let body = serde_json::to_string(&self).unwrap_or_default();
        let orq_api::types::ErrorBody { code, message, .. } = self;
        Error::Api {
            status,
            message,
            code,
            body: error::excerpt(body.as_bytes(), error::BODY_EXCERPT_LIMIT),
            request_id,
        }
    }
}

/// What one response said before its body was read: recorded where the
/// response arrives, since the generated code's errors do not all keep it.
#[derive(Debug, Clone)]
pub(crate) struct ResponseHead {
    pub status: StatusCode,
    pub request_id: Option<String>,
    pub retry_after: Option<Duration>,
}

impl ResponseHead {
    fn of(response: &reqwest::Response) -> Self {
        let headers = response.headers();
        ResponseHead {
            status: response.status(),
            request_id: error::request_id(headers),
            retry_after: retry::retry_after(headers),
        }
    }
}

/// Holds the head of the latest attempt's response until the attempt is translated.
#[derive(Debug, Default)]
struct ResponseRecorder(Mutex<Option<ResponseHead>>);

impl ResponseRecorder {
    fn record(&self, response: &reqwest::Response) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(ResponseHead::of(response));
    }

    fn latest(&self) -> Option<ResponseHead> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn take(&self) -> Option<ResponseHead> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Client {
    /// Runs one operation: sends it with a generated client made for this
    /// call, bounds the response bodies, retries per policy, translates the
    /// result and traces each attempt.
    ///
    /// `send` sends one attempt with the generated client. `Ok(None)` means
    /// the service answered 204 No Content. `kind` says what may be resent
    /// (see [`retry::RETRY_TABLE`]); `expect` what a success carries.
    pub(crate) async fn execute<X, E, F, Fut>(
        &self,
        operation: &'static str,
        kind: Operation,
        options: &CallOptions,
        _expect: X,
        send: F,
    ) -> Result<Option<ResponseValue<X::Body>>, Error>
    where
        X: Expect,
        E: DocumentedError,
        F: Fn(Arc<orq_api::Client>) -> Fut,
        Fut: Future<Output = Result<ResponseValue<X::Body>, orq_api::Error<E>>>,
    {
        // Without a runtime, reqwest would panic deep inside; say so plainly.
        tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let inner = &self.inner;
        let (base_url, host) = match &options.base_url {
            Some(endpoint) => (endpoint.url.as_str(), endpoint.host.as_str()),
            None => (inner.base_url.as_str(), inner.host.as_str()),
        };
        let timeout = options.timeout.unwrap_or(inner.timeout);
        let policy = options.retry.as_ref().unwrap_or(&inner.retry);
        let transport = Transport { host, timeout, connect_timeout: inner.connect_timeout };
        let limits = BodyLimits {
            operation,
            success: (!X::EVENT_STREAM).then_some(inner.max_response_body_size),
            error: inner.max_error_body_size,
        };
        let recorder = Arc::new(ResponseRecorder::default());
        let api = Arc::new(orq_api::Client::new_with_client(
            base_url,
            inner.http.clone(),
            orq_api::RequestOptions {
                // reqwest's timeout also covers reading the body. A stream's
                // body may last far longer: its wait for the response is timed
                // below, its body by the idle timeout.
                timeout: (!X::EVENT_STREAM).then_some(timeout),
                headers: self.call_headers(options, X::ACCEPT)?,
                map_response: Some(Arc::new({
                    let recorder = recorder.clone();
                    move |response| {
                        recorder.record(&response);
                        body::bounded(response, limits)
                    }
                })),
            },
        ));
        let span = tracing::info_span!("orq", operation);
        let (send, recorder, api) = (&send, &recorder, &api);
        retry::run(policy, kind, |attempt| async move {
            let started = Instant::now();
            // The generated call is made inside this future, not moved
            // into it: futures this large cost a copy per move.
            let translated = async {
                let result = send(api.clone()).await;
                translate::<X, E>(operation, result, recorder, transport).await
            };
            // One timer per attempt: reqwest's for JSON, this one for a
            // stream's start (an error answer's body included). Boxed so
            // that a JSON call's future holds the attempt only once.
            let outcome = if X::EVENT_STREAM {
                match tokio::time::timeout(timeout, Box::pin(translated)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(Error::Timeout { after: Some(timeout) }.into()),
                }
            } else {
                translated.await
            };
            let head = recorder.take();
            let status = head.as_ref().map(|head| head.status.as_u16());
            let request_id = head.as_ref().and_then(|head| head.request_id.as_deref());
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
        })
        .instrument(span)
        .await
    }

    /// The client's headers, then the call's; the contact id as a header.
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

/// One attempt's result in our terms. Reads the body of unexpected responses.
/// `recorder` holds the attempt's response head, if a response arrived.
async fn translate<X: Expect, E: DocumentedError>(
    operation: &'static str,
    result: Result<ResponseValue<X::Body>, orq_api::Error<E>>,
    recorder: &ResponseRecorder,
    transport: Transport<'_>,
) -> Result<Option<ResponseValue<X::Body>>, Failure> {
    use orq_api::Error as Gen;
    match result {
        Ok(value) => Ok(Some(value)),
        Err(Gen::UnexpectedResponse(response)) if response.status() == StatusCode::NO_CONTENT => Ok(None),
        Err(Gen::UnexpectedResponse(response)) => {
            let head = ResponseHead::of(&response);
            // Bounded by `body::bounded`: at most the error body limit is read.
            let body = response.bytes().await.map_err(|e| error::from_reqwest(e, transport))?;
            Err(Failure::answered(error::api_error(head.status, head.request_id, &body), head.retry_after))
        }
        Err(Gen::ErrorResponse(value)) => {
            let (status, headers) = (value.status(), value.headers());
            let (retry_after, request_id) = (retry::retry_after(headers), error::request_id(headers));
            let error = value.into_inner().into_api_error(status, request_id);
            Err(Failure::answered(error, retry_after))
        }
        // A documented status whose body did not decode. When that status is an
        // error (a proxy's HTML 500), report the status; else where it failed.
        Err(Gen::InvalidResponsePayload(body, serde_error)) => match recorder.latest() {
            Some(head) if !head.status.is_success() => Err(Failure::answered(
                error::api_error(head.status, head.request_id, &body),
                head.retry_after,
            )),
            _ => Err(X::undecodable(operation, &body, serde_error).into()),
        },
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
