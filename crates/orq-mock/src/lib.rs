//! A local, offline fake of the [orq.ai](https://orq.ai) Deployments API.
//!
//! `orq-mock` serves the five deployment endpoints over real HTTP on `127.0.0.1`:
//!
//! | Endpoint | Answer |
//! |---|---|
//! | `GET /v2/deployments?limit=&starting_after=&ending_before=` | a cursor-paginated list, newest first |
//! | `GET /v2/deployments/{keyOrID}/versions?limit=&starting_after=&ending_before=&variant_id=` | the deployment's saved versions, cursor-paginated, newest first |
//! | `POST /v2/deployments/get_config` | the prompt with `{{variables}}` substituted from `inputs` |
//! | `POST /v2/deployments/invoke` | a deterministic "echo" completion |
//! | `POST /v2/deployments/stream` | the same completion as Server-Sent Events, word by word |
//!
//! It is meant for running the SDK's examples offline, for end-to-end tests and for
//! testing your own code. It shares no code with the SDK: responses are built from plain
//! JSON following the upstream OpenAPI description, so it checks the SDK independently.
//!
//! # Example
//!
//! ```
//! use orq_mock::{Deployment, MockOrq};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mock = MockOrq::builder()
//!     .api_key("test-key")
//!     .deployment(
//!         Deployment::chat("support-bot")
//!             .model("openai", "gpt-4o")
//!             .system("You help {{name}}."),
//!     )
//!     .start()
//!     .await?;
//!
//! let answer: serde_json::Value = reqwest::Client::new()
//!     .post(format!("{}/v2/deployments/invoke", mock.url()))
//!     .bearer_auth("test-key")
//!     .json(&serde_json::json!({
//!         "key": "support-bot",
//!         "inputs": {"name": "Ada"},
//!         "messages": [{"role": "user", "content": "Hello!"}],
//!     }))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(
//!     answer["choices"][0]["message"]["content"],
//!     "Mock reply from support-bot (openai/gpt-4o). Instructions: \"You help Ada.\" You said: \"Hello!\""
//! );
//! assert_eq!(mock.requests().len(), 1);
//! mock.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! * **Deployments.** Configure them with [`Deployment`] builders or a JSON file in the list
//!   item shape ([`MockOrqBuilder::deployments_from_file`]). With none configured, the three
//!   [`Deployment::samples`] (`support-bot`, `summarizer`, `translator`) are served.
//! * **Listing.** Sorted newest first by `created`. `limit` must be an integer in 1..=200
//!   (default 10), otherwise `400 invalid_limit`. `starting_after=<id>` returns the items
//!   after that deployment, `ending_before=<id>` the items before it; `has_more` tells
//!   whether more items exist *in the direction of travel*. An unknown cursor id, or both
//!   cursors at once, is rejected with `400 invalid_cursor`.
//! * **Versions.** `{keyOrID}` is one percent-encoded path segment (`a%2Fb` for the key
//!   `a/b`; a malformed escape or non-UTF-8 bytes are `400 invalid_request`), matched
//!   against the keys first, then the ids; no match is `404 deployment_not_found`. Each
//!   deployment has [`Deployment::versions`] saved versions (default
//!   [`DEFAULT_VERSION_COUNT`]) spread in turn over its [`Deployment::variant_ids`]
//!   (default two): version `n` is `"v<n>"`, saved `n` hours after the deployment's
//!   `created`, with the deployment's current prompt, tools and `{{placeholders}}` as
//!   `variables`. The newest version of each variant is `live`, older ones `published`;
//!   the first has `user_id: null`. Ids and timestamps depend only on the deployment's
//!   key and `created`, so they are the same on every run. In a deployments file,
//!   `"mock_versions": n` and `"mock_variants": ["id", ...]` set them. `variant_id=` keeps one variant's versions (an
//!   unknown one gives an empty list). Pagination works as for the list, by version
//!   `_id`, with `limit` in 1..=50 (default 10).
//! * **get_config.** `messages` are the deployment's system messages, then the request's
//!   `prefix_messages`, then the remaining prompt messages, then the request's `messages`.
//!   Placeholders `{{name}}` / `{{ name }}` in the prompt are replaced by `inputs` values
//!   (strings verbatim, numbers and booleans as JSON text); unknown placeholders stay as they
//!   are. Request messages are converted to the response shape: `developer` becomes
//!   `system`, `input_audio` and `refusal` parts become text parts, `name`/`tool_call_id` are
//!   dropped.
//! * **invoke.** The answer is deterministic:
//!   `Mock reply from <key> (<provider>/<model>). Instructions: "<system prompts>" You said: "<last user message>"`
//!   (the `Instructions` sentence only when there is a system prompt; `Tool result: "..."`
//!   when the last turn is a tool message; `You said nothing.` without user messages).
//!   If the deployment has tools and the last message is a user message mentioning a
//!   tool's name, the answer is a `tool_calls` message instead (`finish_reason`
//!   `tool_calls`). `image` deployments answer with a `type: "image"` message carrying a
//!   URL. With `invoke_options.include_retrievals: true` and `documents`, `retrievals` are
//!   returned, ranked by word overlap with the last user message.
//! * **stream.** `text/event-stream`, chunked: one `data: {chunk}` event per word
//!   (`content` is the word plus its following space, so concatenating gives exactly the
//!   invoke text), then a final chunk with `is_final: true`, empty content and
//!   `finish_reason` (and `retrievals`, when requested), then `data: [DONE]`. Set a pause
//!   between events with [`MockOrqBuilder::event_delay`].
//! * **Today's API (2026-08).** `invoke_options.mock_response` is the answer text, for
//!   invoke and stream alike. `invoke_options.include_usage: true` adds `usage` (one token
//!   per word) to the invoke answer and to the final stream chunk. Every answer, and every
//!   chunk, has `telemetry` with a `trace_id` and a `span_id`. `identity`, `thread` and
//!   `knowledge_filter` are validated and recorded; a malformed filter (not field
//!   conditions, one `and` or one `or`; an empty `and`/`or`; a condition without exactly
//!   one known operator; an operand of the wrong type) is `400 invalid_request`.
//! * **Request messages (2026-10).** In `messages` and `prefix_messages`, a user `file`
//!   part's `file` needs exactly one of `file_data`, `file_id` and `uri`, else `400
//!   invalid_request` naming the part. Assistant messages may carry `reasoning_content`
//!   (a string) and their `tool_calls` items
//!   `extra_content: {"google": {"thought_signature": "..."}}`.
//! * **`stream` flag.** `stream` must be a boolean when present but is otherwise ignored:
//!   `/invoke` always answers JSON and `/stream` always answers SSE.
//! * **Auth.** With an API key configured, every request needs `Authorization: Bearer <key>`,
//!   else `401` with the service's JSON error body
//!   `{"message": "missing or invalid API key: ...", "code": 16, "details": []}` (16 is the
//!   gRPC status `UNAUTHENTICATED`), on every route alike. Without a configured key, any
//!   or no `Authorization` header is accepted.
//! * **Errors.** Other errors are JSON `{"message": "...", "code": "..."}` (except what the HTTP
//!   layer answers to requests it cannot parse at all): `404 deployment_not_found`
//!   for an unknown key; `400 invalid_json` for an empty or unparsable body; `400
//!   invalid_request` for a missing `key`, wrong types or invalid messages (unknown extra
//!   fields are ignored, `null` counts as absent); `404 not_found` / `405
//!   method_not_allowed` for other routes and methods.
//! * **Recording.** Every request is recorded, faulted and rejected ones too, see
//!   [`MockOrq::requests`]. Only the last [`MockOrqBuilder::record_limit`] requests are
//!   kept (default [`DEFAULT_RECORD_LIMIT`]), so a long-running mock stays small.
//! * **Admin routes.** `GET /_mock/requests` answers the recorded requests as JSON
//!   (`{"received", "record_limit", "requests"}`), `DELETE /_mock/requests` forgets them
//!   (`{"cleared": n}`). They are never recorded, faulted or authenticated.
//! * **Slow clients.** A connection must send a whole request head within
//!   [`MockOrqBuilder::header_read_timeout`] of the server starting to wait for one (so
//!   idle connections are closed after it too), and a request body within
//!   [`MockOrqBuilder::body_read_timeout`] (else `408 request_timeout`).
//!
//! # Faults
//!
//! Faults are queued and consumed in order; see [`MockOrq::fail_next`],
//! [`MockOrq::delay_next`], [`MockOrq::cut_stream_after`], [`MockOrq::end_stream_after`]
//! and [`MockOrq::stall_stream_after`].
//!
//! # Binary
//!
//! `cargo run -p orq-ai-mock -- --port 8080 [--deployments file.json] [--api-key K] [--event-delay-ms N] [--record-limit N]`
//! serves until Ctrl-C. `deployments.example.json` in this crate is a starting point for a
//! deployments file (it holds the built-in samples).

#![warn(missing_docs)]
// docs.rs: mark what a cargo feature gates ("Available on crate feature ... only").
#![cfg_attr(docsrs, feature(doc_cfg))]

mod deployment;
mod error;
mod recorded;
mod server;
mod util;
mod versions;
mod wire;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::deployment::{DEFAULT_VERSION_COUNT, Deployment, MODEL_TYPES, PROMPT_ROLES, PROVIDERS};
pub use crate::error::Error;
pub use crate::recorded::RecordedRequest;

use crate::server::{Config, FailFault, Shared, StreamFault, Timeouts, lock};

/// How many requests a mock keeps by default (the most recent ones).
pub const DEFAULT_RECORD_LIMIT: usize = 100;
/// How long a connection may take to send a request head (or stay idle) by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request body may take to arrive by default.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Configures and starts a [`MockOrq`]. Create it with [`MockOrq::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MockOrqBuilder {
    api_key: Option<String>,
    deployments: Vec<Deployment>,
    event_delay: Duration,
    port: u16,
    record_limit: usize,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
}

impl Default for MockOrqBuilder {
    fn default() -> Self {
        MockOrqBuilder {
            api_key: None,
            deployments: Vec::new(),
            event_delay: Duration::ZERO,
            port: 0,
            record_limit: DEFAULT_RECORD_LIMIT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
        }
    }
}

impl MockOrqBuilder {
    /// How many requests are kept for [`MockOrq::requests`]: the most recent ones
    /// (default [`DEFAULT_RECORD_LIMIT`]; 0 records nothing).
    pub fn record_limit(mut self, limit: usize) -> Self {
        self.record_limit = limit;
        self
    }

    /// Closes a connection that does not send a whole request head within this time of
    /// the server starting to wait for one: a half-sent head, or an idle connection, new
    /// or kept alive (default [`DEFAULT_HEADER_READ_TIMEOUT`]).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Answers `408 request_timeout` to a request whose body does not arrive within this
    /// time of its head (default [`DEFAULT_BODY_READ_TIMEOUT`]).
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Requires `Authorization: Bearer <key>` on every request.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Adds a deployment. Adding any deployment replaces the built-in samples (add them
    /// back with [`MockOrqBuilder::sample_deployments`]).
    pub fn deployment(mut self, deployment: Deployment) -> Self {
        self.deployments.push(deployment);
        self
    }

    /// Adds several deployments.
    pub fn deployments(mut self, deployments: impl IntoIterator<Item = Deployment>) -> Self {
        self.deployments.extend(deployments);
        self
    }

    /// Adds the built-in [`Deployment::samples`].
    pub fn sample_deployments(self) -> Self {
        self.deployments(Deployment::samples())
    }

    /// Adds deployments from a JSON file holding an array of items in the
    /// `GET /v2/deployments` list shape (a whole list response is accepted too).
    pub fn deployments_from_file(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        Ok(self.deployments(Deployment::list_from_file(path)?))
    }

    /// Adds deployments from JSON text (see [`MockOrqBuilder::deployments_from_file`]).
    pub fn deployments_from_json(self, json: &str) -> Result<Self, Error> {
        Ok(self.deployments(Deployment::list_from_json(json)?))
    }

    /// Pause between two stream events (default: none).
    pub fn event_delay(mut self, delay: Duration) -> Self {
        self.event_delay = delay;
        self
    }

    /// Port to listen on (default 0: an ephemeral port chosen by the OS).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Validates the deployments, binds `127.0.0.1:<port>` and starts serving on the current
    /// Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDeployment`] or [`Error::Duplicate`] for bad deployments,
    /// [`Error::Io`] when the port cannot be bound.
    pub async fn start(self) -> Result<MockOrq, Error> {
        let mut deployments =
            if self.deployments.is_empty() { Deployment::samples() } else { self.deployments };
        deployment::normalize(&mut deployments)?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, self.port)).await?;
        let addr = listener.local_addr()?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut config =
            Config { api_key: self.api_key, event_delay: self.event_delay, deployments: Vec::new() };
        server::install_deployments(&mut config, deployments);
        let timeouts = Timeouts { header_read: self.header_read_timeout, body_read: self.body_read_timeout };
        let shared = Arc::new(Shared::new(config, self.record_limit, timeouts, shutdown_rx.clone()));
        let router = Router::new().fallback(server::handle).with_state(Arc::clone(&shared));
        let task = tokio::spawn(server::serve(listener, router, timeouts, shutdown_rx));
        Ok(MockOrq { addr, shared, shutdown: shutdown_tx, task: Some(task) })
    }
}

/// A running mock orq.ai server. Dropping it (or calling [`MockOrq::shutdown`]) stops it.
#[derive(Debug)]
pub struct MockOrq {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl MockOrq {
    /// Starts configuring a mock.
    pub fn builder() -> MockOrqBuilder {
        MockOrqBuilder::default()
    }

    /// Starts a mock with the sample deployments, no API key, on an ephemeral port.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when no port can be bound.
    pub async fn start_default() -> Result<MockOrq, Error> {
        Self::builder().start().await
    }

    /// The base URL to give a client, e.g. `http://127.0.0.1:49152` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address the mock listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the mock listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The recorded requests, oldest first: the last [`MockOrqBuilder::record_limit`]
    /// received.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.recording).requests.iter().cloned().collect()
    }

    /// Forgets the recorded requests (over HTTP: `DELETE /_mock/requests`).
    pub fn clear_requests(&self) {
        lock(&self.shared.recording).requests.clear();
    }

    /// How many requests were received so far, recorded or not (clearing does not reset it).
    pub fn requests_received(&self) -> u64 {
        *self.shared.received.borrow()
    }

    /// Waits until `count` requests in all have been received. A request counts once its
    /// body is read and the faults it takes are taken, before it is answered. Bound the
    /// wait with `tokio::time::timeout`.
    pub async fn wait_for_requests(&self, count: u64) {
        let mut received = self.shared.received.subscribe();
        // The sender lives in `self.shared`, so the channel cannot close here.
        let _ = received.wait_for(|received| *received >= count).await;
    }

    /// The deployments being served, newest first, with ids and timestamps filled in.
    pub fn deployments(&self) -> Vec<Deployment> {
        lock(&self.shared.config).deployments.clone()
    }

    /// Adds a deployment to the running mock. Without an explicit `created` it gets the
    /// current time (bumped past an existing deployment created in the same millisecond),
    /// so it lists first unless others carry future timestamps.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDeployment`] or [`Error::Duplicate`].
    pub fn add_deployment(&self, deployment: Deployment) -> Result<(), Error> {
        let mut config = lock(&self.shared.config);
        let mut deployment = deployment;
        if deployment.created_at().is_none() {
            let now = util::now_millis();
            let newest = config.deployments.first().and_then(|d| d.created_at()).map(str::to_owned);
            let mut created = util::rfc3339_millis(now);
            let mut bump = now;
            while newest.as_deref().is_some_and(|n| n >= created.as_str()) && bump < now + 1000 {
                bump += 1;
                created = util::rfc3339_millis(bump);
            }
            deployment = deployment.created(created);
        }
        let mut all = config.deployments.clone();
        all.push(deployment);
        deployment::normalize(&mut all)?;
        server::install_deployments(&mut config, all);
        Ok(())
    }

    /// Removes the deployment with this key; returns whether it existed.
    pub fn remove_deployment(&self, key: &str) -> bool {
        let mut config = lock(&self.shared.config);
        let before = config.deployments.len();
        config.deployments.retain(|d| d.key() != key);
        config.deployments.len() != before
    }

    /// Changes (or with `None` removes) the required API key.
    pub fn set_api_key(&self, key: Option<String>) {
        lock(&self.shared.config).api_key = key;
    }

    /// Changes the pause between stream events for streams started from now on.
    pub fn set_event_delay(&self, delay: Duration) {
        lock(&self.shared.config).event_delay = delay;
    }

    /// Makes the next `count` requests (to any route, before authentication) fail with
    /// `status` and a JSON body `{"message": "Injected fault: ...", "code": "<reason>"}`,
    /// where the code is the status' reason phrase in snake case (e.g. `service_unavailable`).
    ///
    /// The fault is queued immediately; the returned handle adjusts it (Retry-After header,
    /// message, code, raw body). Several calls queue up: `fail_next(2, 503)` then
    /// `fail_next(1, 429)` fails two requests with 503, then one with 429. Faulted requests
    /// are still recorded.
    ///
    /// # Panics
    ///
    /// If `status` is not a valid HTTP status code (100..=999).
    pub fn fail_next(&self, count: u32, status: u16) -> FailNext<'_> {
        let status = StatusCode::from_u16(status)
            .unwrap_or_else(|_| panic!("{status} is not a valid HTTP status code"));
        let reason = status.canonical_reason().unwrap_or("Error");
        let code = reason.to_ascii_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        let mut faults = lock(&self.shared.faults);
        faults.next_id += 1;
        let id = faults.next_id;
        if count > 0 {
            faults.fail.push_back(FailFault {
                id,
                remaining: count,
                status,
                retry_after: None,
                code,
                message: format!("Injected fault: {} {reason}", status.as_u16()),
                raw_body: None,
            });
        }
        FailNext { mock: self, id }
    }

    /// Delays the response to the next request (any route) by `delay`. Queued: calling it
    /// twice delays the next two requests. Combined with [`MockOrq::fail_next`], the failure
    /// is delayed.
    pub fn delay_next(&self, delay: Duration) {
        lock(&self.shared.faults).delays.push_back(delay);
    }

    /// The next successful `/stream` response sends its first `events` SSE events and then
    /// aborts the connection (no terminating chunk, no `[DONE]`): clients see a body error.
    /// Events are counted across word chunks, the final chunk and `[DONE]`.
    pub fn cut_stream_after(&self, events: usize) {
        self.push_stream_fault(StreamFault::Cut { after: events });
    }

    /// The next successful `/stream` response sends its first `events` SSE events and then
    /// ends the body cleanly without the rest and without `[DONE]` (a premature but orderly
    /// end of stream).
    pub fn end_stream_after(&self, events: usize) {
        self.push_stream_fault(StreamFault::End { after: events });
    }

    /// The next successful `/stream` response sends its first `events` SSE events and then
    /// keeps the connection open without sending anything, until the client gives up or the
    /// mock shuts down.
    pub fn stall_stream_after(&self, events: usize) {
        self.push_stream_fault(StreamFault::Stall { after: events });
    }

    fn push_stream_fault(&self, fault: StreamFault) {
        lock(&self.shared.faults).streams.push_back(fault);
    }

    /// Drops all queued faults and delays.
    pub fn reset_faults(&self) {
        let mut faults = lock(&self.shared.faults);
        faults.fail.clear();
        faults.delays.clear();
        faults.streams.clear();
    }

    /// Number of completion ids handed out so far (each successful invoke or stream takes one).
    pub fn responses_served(&self) -> u64 {
        self.shared.counter.load(Ordering::Relaxed)
    }

    /// Stops accepting connections, ends stalled streams and waits (up to 5 seconds) for
    /// in-flight requests to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err()
        {
            task.abort();
        }
    }
}

impl Drop for MockOrq {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Handle returned by [`MockOrq::fail_next`] to refine the queued fault. The fault is
/// already active; dropping the handle changes nothing.
#[derive(Debug)]
pub struct FailNext<'a> {
    mock: &'a MockOrq,
    id: u64,
}

impl FailNext<'_> {
    fn update(self, change: impl FnOnce(&mut FailFault)) -> Self {
        {
            let mut faults = lock(&self.mock.shared.faults);
            if let Some(fault) = faults.fail.iter_mut().find(|f| f.id == self.id) {
                change(fault);
            }
        }
        self
    }

    /// Adds a `Retry-After` header with this value (e.g. `"1"` or an HTTP date).
    pub fn retry_after(self, value: impl Into<String>) -> Self {
        let value = value.into();
        self.update(|fault| fault.retry_after = Some(value))
    }

    /// Replaces the `message` of the JSON error body.
    pub fn message(self, message: impl Into<String>) -> Self {
        let message = message.into();
        self.update(|fault| fault.message = message)
    }

    /// Replaces the `code` of the JSON error body.
    pub fn code(self, code: impl Into<String>) -> Self {
        let code = code.into();
        self.update(|fault| fault.code = code)
    }

    /// Sends this body with this `Content-Type` instead of the JSON error, e.g. an HTML
    /// page from a misbehaving proxy.
    pub fn raw_body(self, content_type: impl Into<String>, body: impl Into<String>) -> Self {
        let raw = (content_type.into(), body.into());
        self.update(|fault| fault.raw_body = Some(raw))
    }
}

/// Compiles the example of the crate's README (the one crates.io shows).
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
