//! The HTTP side: shared state, request routing, faults and streaming.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::deployment::{self, Deployment};
use crate::recorded::RecordedRequest;
use crate::util;
use crate::versions;
use crate::wire::{self, ApiError, Completion, DeploymentRequest};

/// Largest accepted request body.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Paths under this prefix are the mock's own admin routes.
const ADMIN_PREFIX: &str = "/_mock/";

/// Locks a mutex, ignoring poisoning (a panicking test must not wedge the mock).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Mutable configuration of a running mock.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) api_key: Option<String>,
    pub(crate) event_delay: Duration,
    /// Sorted newest first.
    pub(crate) deployments: Vec<Deployment>,
}

/// A queued "fail the next N requests" fault.
#[derive(Debug, Clone)]
pub(crate) struct FailFault {
    pub(crate) id: u64,
    pub(crate) remaining: u32,
    pub(crate) status: StatusCode,
    pub(crate) retry_after: Option<String>,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) raw_body: Option<(String, String)>,
}

/// How a faulty stream misbehaves after its first `after` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamFault {
    /// Abort the connection (no terminating chunk).
    Cut { after: usize },
    /// End the body cleanly, without the remaining events and `[DONE]`.
    End { after: usize },
    /// Keep the connection open and send nothing more.
    Stall { after: usize },
}

impl StreamFault {
    fn after(self) -> usize {
        match self {
            StreamFault::Cut { after } | StreamFault::End { after } | StreamFault::Stall { after } => after,
        }
    }
}

/// Queued faults, consumed in FIFO order.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub(crate) next_id: u64,
    pub(crate) fail: VecDeque<FailFault>,
    pub(crate) delays: VecDeque<Duration>,
    pub(crate) streams: VecDeque<StreamFault>,
}

/// The last requests received, oldest first, at most `limit` of them.
#[derive(Debug)]
pub(crate) struct Recording {
    pub(crate) requests: VecDeque<RecordedRequest>,
    pub(crate) limit: usize,
}

impl Recording {
    fn push(&mut self, request: RecordedRequest) {
        if self.limit == 0 {
            return;
        }
        if self.requests.len() == self.limit {
            self.requests.pop_front();
        }
        self.requests.push_back(request);
    }
}

/// Connection and request read limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// A request's head must arrive within this, counted from when the
    /// server starts waiting for it (also closes idle connections).
    pub(crate) header_read: Duration,
    /// A request's body must arrive within this once its head has.
    pub(crate) body_read: Duration,
}

/// State shared between the [`MockOrq`](crate::MockOrq) handle and the server task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Mutex<Config>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) recording: Mutex<Recording>,
    /// Requests received so far (recorded or not), for waiting on them.
    pub(crate) received: watch::Sender<u64>,
    pub(crate) counter: AtomicU64,
    pub(crate) timeouts: Timeouts,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn new(
        config: Config,
        record_limit: usize,
        timeouts: Timeouts,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Shared {
            config: Mutex::new(config),
            faults: Mutex::new(Faults::default()),
            recording: Mutex::new(Recording { requests: VecDeque::new(), limit: record_limit }),
            received: watch::Sender::new(0),
            counter: AtomicU64::new(0),
            timeouts,
            shutdown,
        }
    }

    fn next_ulid(&self, millis: u64) -> String {
        util::ulid(millis, self.counter.fetch_add(1, Ordering::Relaxed))
    }
}

/// Sleeps for `duration` unless the server shuts down first; returns `false` on shutdown.
async fn sleep_unless_shutdown(duration: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        _ = shutdown.wait_for(|stop| *stop) => false,
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error_response(error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &error.body())
}

/// gRPC status code `UNAUTHENTICATED`, the numeric `code` of the service's 401 body.
const GRPC_UNAUTHENTICATED: u8 = 16;

/// The service's 401 body: `{"message", "code": <gRPC status>, "details": []}`, unlike
/// the mock's other errors whose `code` is a text reason.
fn unauthorized_response() -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        &json!({
            "message": "missing or invalid API key: send `Authorization: Bearer <key>`",
            "code": GRPC_UNAUTHENTICATED,
            "details": [],
        }),
    )
}

impl FailFault {
    fn response(&self) -> Response {
        let mut response = match &self.raw_body {
            Some((content_type, body)) => {
                let mut response = (self.status, body.clone()).into_response();
                if let Ok(value) = HeaderValue::from_str(content_type) {
                    response.headers_mut().insert(header::CONTENT_TYPE, value);
                }
                response
            }
            None => json_response(self.status, &json!({"message": self.message, "code": self.code})),
        };
        if let Some(retry_after) = &self.retry_after
            && let Ok(value) = HeaderValue::from_str(retry_after)
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Serves `router` on `listener` until `stop` turns true, with a header read
/// timeout on every connection (HTTP/1.1 only, like the service's clients use).
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    timeouts: Timeouts,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of file descriptors, say: back off instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        let mut stop = stop.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(timeouts.header_read);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stopped(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// The single axum handler: records, applies faults, authenticates and routes.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if parts.uri.path().starts_with(ADMIN_PREFIX) {
        return admin(&shared, &parts.method, parts.uri.path());
    }
    let read = tokio::time::timeout(shared.timeouts.body_read, to_bytes(body, MAX_BODY_BYTES)).await;
    let body = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            return error_response(&if too_large {
                ApiError::new(
                    413,
                    "payload_too_large",
                    format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
                )
            } else {
                ApiError::new(400, "invalid_body", format!("the request body could not be read: {error}"))
            });
        }
        Err(_) => {
            return error_response(&ApiError::new(
                408,
                "request_timeout",
                format!("the request body did not arrive within {:?}", shared.timeouts.body_read),
            ));
        }
    };

    // Faults are taken before the request is recorded: once a request shows
    // as received, the faults it consumed are gone from the queue.
    let (delay, fail) = {
        let mut faults = lock(&shared.faults);
        let delay = faults.delays.pop_front();
        let fail = match faults.fail.front_mut() {
            Some(fault) => {
                fault.remaining = fault.remaining.saturating_sub(1);
                let fault = fault.clone();
                if fault.remaining == 0 {
                    faults.fail.pop_front();
                }
                Some(fault)
            }
            None => None,
        };
        (delay, fail)
    };
    lock(&shared.recording).push(RecordedRequest::new(&parts, &body));
    shared.received.send_modify(|received| *received += 1);
    if let Some(delay) = delay {
        let mut shutdown = shared.shutdown.clone();
        if !sleep_unless_shutdown(delay, &mut shutdown).await {
            return error_response(&ApiError::new(503, "shutting_down", "the mock server is shutting down"));
        }
    }
    if let Some(fault) = fail {
        return fault.response();
    }

    let (api_key, event_delay) = {
        let config = lock(&shared.config);
        (config.api_key.clone(), config.event_delay)
    };
    if let Some(expected) = api_key {
        let authorized = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .is_some_and(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && token.trim() == expected);
        if !authorized {
            return unauthorized_response();
        }
    }

    let path = parts.uri.path();
    let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    // `/v2/deployments/{keyOrID}/versions`, with the key or id still percent-encoded.
    let versions_of = path
        .strip_prefix("/v2/deployments/")
        .and_then(|rest| rest.strip_suffix("/versions"))
        .filter(|segment| !segment.contains('/'));
    let allowed = match path {
        _ if versions_of.is_some() => Method::GET,
        "/v2/deployments" => Method::GET,
        "/v2/deployments/get_config" | "/v2/deployments/invoke" | "/v2/deployments/stream" => Method::POST,
        _ => {
            return error_response(&ApiError::new(
                404,
                "not_found",
                format!("no route for {} {path}", parts.method),
            ));
        }
    };
    if parts.method != allowed {
        let mut response = error_response(&ApiError::new(
            405,
            "method_not_allowed",
            format!("{path} only supports {allowed}"),
        ));
        response.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_str(allowed.as_str()).expect("method is a valid header"),
        );
        return response;
    }

    let query = parts.uri.query().unwrap_or_default();
    let result = match (versions_of, path) {
        (Some(key_or_id), _) => list_versions(&shared, key_or_id, query),
        (None, "/v2/deployments") => list(&shared, query),
        (None, "/v2/deployments/get_config") => {
            with_deployment(&shared, &body).map(|(d, r)| wire::get_config_body(&d, &r))
        }
        (None, "/v2/deployments/invoke") => {
            with_deployment(&shared, &body).map(|(d, r)| invoke(&shared, &d, &r))
        }
        _ => {
            return match with_deployment(&shared, &body) {
                Ok((d, r)) => stream(&shared, &d, &r, event_delay),
                Err(error) => error_response(&error),
            };
        }
    };
    match result {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(error) => error_response(&error),
    }
}

/// The admin routes: `GET /_mock/requests` lists the recorded requests,
/// `DELETE /_mock/requests` forgets them. Never recorded, faulted or authenticated.
fn admin(shared: &Shared, method: &Method, path: &str) -> Response {
    let path = path.trim_end_matches('/');
    match (method, path) {
        (&Method::GET, "/_mock/requests") => {
            let recording = lock(&shared.recording);
            let requests: Vec<Value> = recording.requests.iter().map(RecordedRequest::to_json).collect();
            let received = *shared.received.borrow();
            json_response(
                StatusCode::OK,
                &json!({"received": received, "record_limit": recording.limit, "requests": requests}),
            )
        }
        (&Method::DELETE, "/_mock/requests") => {
            let cleared = {
                let mut recording = lock(&shared.recording);
                let cleared = recording.requests.len();
                recording.requests.clear();
                cleared
            };
            json_response(StatusCode::OK, &json!({"cleared": cleared}))
        }
        (_, "/_mock/requests") => {
            let mut response = error_response(&ApiError::new(
                405,
                "method_not_allowed",
                format!("{path} supports GET and DELETE"),
            ));
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, DELETE"));
            response
        }
        _ => error_response(&ApiError::new(404, "not_found", format!("no admin route {method} {path}"))),
    }
}

/// Query parameters by name; the last occurrence wins.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: &str) -> Self {
        Query(util::parse_query(query))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A parameter with a non-empty value (an empty one counts as absent).
    fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|s| !s.is_empty())
    }
}

/// Cursor pagination over `items` (sorted newest first): `limit` (1..=`max_limit`,
/// default 10), `starting_after` / `ending_before` (the id of an item, see `id_of`).
/// Returns the page and whether more items exist in the direction of travel.
fn paginate<'a, T>(
    items: &'a [T],
    id_of: impl Fn(&T) -> &str,
    query: &Query,
    max_limit: usize,
    what: &str,
) -> Result<(&'a [T], bool), ApiError> {
    let limit = match query.get("limit") {
        None => 10,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=max_limit).contains(&n) => n,
            _ => {
                return Err(ApiError::new(
                    400,
                    "invalid_limit",
                    format!("`limit` must be an integer between 1 and {max_limit}, got {raw:?}"),
                ));
            }
        },
    };
    let position = |cursor: &str, name: &str| {
        items.iter().position(|item| id_of(item) == cursor).ok_or_else(|| {
            ApiError::new(
                400,
                "invalid_cursor",
                format!("`{name}` refers to an unknown {what} id {cursor:?}"),
            )
        })
    };
    let (range, has_more) = match (query.non_empty("starting_after"), query.non_empty("ending_before")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                400,
                "invalid_cursor",
                "`starting_after` and `ending_before` cannot be combined",
            ));
        }
        (Some(cursor), None) => {
            let start = position(cursor, "starting_after")? + 1;
            let end = (start + limit).min(items.len());
            (start..end, end < items.len())
        }
        (None, Some(cursor)) => {
            let end = position(cursor, "ending_before")?;
            let start = end.saturating_sub(limit);
            (start..end, start > 0)
        }
        (None, None) => {
            let end = limit.min(items.len());
            (0..end, end < items.len())
        }
    };
    Ok((&items[range], has_more))
}

fn list(shared: &Shared, query: &str) -> Result<Value, ApiError> {
    let query = Query::parse(query);
    let config = lock(&shared.config);
    let (page, has_more) = paginate(&config.deployments, Deployment::id_or_empty, &query, 200, "deployment")?;
    Ok(json!({
        "object": "list",
        "data": page.iter().map(Deployment::to_json).collect::<Vec<_>>(),
        "has_more": has_more,
    }))
}

/// `GET /v2/deployments/{keyOrID}/versions`: the deployment's saved versions, newest
/// first, optionally of one variant only.
fn list_versions(shared: &Shared, key_or_id: &str, query: &str) -> Result<Value, ApiError> {
    let key_or_id = util::percent_decode_path(key_or_id).ok_or_else(|| {
        ApiError::invalid_request(format!(
            "the deployment key or id {key_or_id:?} is not valid percent-encoded UTF-8"
        ))
    })?;
    let query = Query::parse(query);
    let deployment = {
        let config = lock(&shared.config);
        let found = config
            .deployments
            .iter()
            .find(|d| d.key() == key_or_id)
            .or_else(|| config.deployments.iter().find(|d| d.id_or_empty() == key_or_id));
        found.cloned().ok_or_else(|| {
            ApiError::new(404, "deployment_not_found", format!("no deployment with key or id {key_or_id:?}"))
        })?
    };
    let mut saved = versions::saved_versions(&deployment);
    if let Some(variant) = query.non_empty("variant_id") {
        saved.retain(|version| version["variant_id"] == variant);
    }
    let (page, has_more) = paginate(&saved, version_id, &query, 50, "version")?;
    Ok(json!({"object": "list", "data": page, "has_more": has_more}))
}

fn version_id(version: &Value) -> &str {
    version["_id"].as_str().unwrap_or_default()
}

fn with_deployment(shared: &Shared, body: &Bytes) -> Result<(Deployment, DeploymentRequest), ApiError> {
    let request = wire::parse_request(body)?;
    let config = lock(&shared.config);
    let deployment =
        config.deployments.iter().find(|d| d.key() == request.key).cloned().ok_or_else(|| {
            ApiError::new(404, "deployment_not_found", format!("no deployment with key {:?}", request.key))
        })?;
    Ok((deployment, request))
}

fn invoke(shared: &Shared, deployment: &Deployment, request: &DeploymentRequest) -> Value {
    let now = util::now_millis();
    let completion = wire::complete(deployment, request);
    let (message, finish_reason) = wire::invoke_message(&completion);
    let timestamp = util::rfc3339_millis(now);
    let id = shared.next_ulid(now);
    let mut body = json!({
        "telemetry": wire::telemetry(&id),
        "id": id,
        "created": timestamp,
        "object": wire::object_kind(deployment),
        "model": deployment.model_name(),
        "provider": deployment.provider(),
        "is_final": true,
        "finalized": timestamp,
        "system_fingerprint": null,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
    });
    if request.include_retrievals && !request.documents.is_empty() {
        body["retrievals"] = Value::Array(wire::retrievals(deployment, request));
    }
    if request.include_usage {
        body["usage"] = wire::usage(deployment, request, &completion);
    }
    body
}

/// Builds the SSE events of a stream: one per message chunk, a final chunk and `[DONE]`.
fn stream_events(shared: &Shared, deployment: &Deployment, request: &DeploymentRequest) -> Vec<Bytes> {
    let now = util::now_millis();
    let id = shared.next_ulid(now);
    let created = util::rfc3339_millis(now);
    let completion = wire::complete(deployment, request);
    let telemetry = wire::telemetry(&id);
    let finish_reason = match completion {
        Completion::ToolCall { .. } => "tool_calls",
        _ => "stop",
    };
    let chunk = |is_final: bool, message: Value, finish_reason: Value| {
        json!({
            "id": id,
            "created": created,
            "object": wire::object_kind(deployment),
            "model": deployment.model_name(),
            "provider": deployment.provider(),
            "is_final": is_final,
            "system_fingerprint": null,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "telemetry": telemetry,
        })
    };
    let mut events: Vec<Value> = wire::stream_messages(&completion)
        .into_iter()
        .map(|message| chunk(false, message, Value::Null))
        .collect();
    let mut last = chunk(true, json!({"role": "assistant", "content": ""}), json!(finish_reason));
    last["finalized"] = json!(util::rfc3339_millis(util::now_millis()));
    if request.include_retrievals && !request.documents.is_empty() {
        last["retrievals"] = Value::Array(wire::retrievals(deployment, request));
    }
    if request.include_usage {
        last["usage"] = wire::usage(deployment, request, &completion);
    }
    events.push(last);
    events
        .iter()
        .map(|event| Bytes::from(format!("data: {event}\n\n")))
        .chain(std::iter::once(Bytes::from_static(b"data: [DONE]\n\n")))
        .collect()
}

struct StreamState {
    events: VecDeque<Bytes>,
    sent: usize,
    delay: Duration,
    fault: Option<StreamFault>,
    shutdown: watch::Receiver<bool>,
    finished: bool,
}

fn aborted(reason: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionAborted, reason.to_owned())
}

fn stream(
    shared: &Shared,
    deployment: &Deployment,
    request: &DeploymentRequest,
    delay: Duration,
) -> Response {
    let events = stream_events(shared, deployment, request);
    let fault = lock(&shared.faults).streams.pop_front();
    let state = StreamState {
        events: events.into(),
        sent: 0,
        delay,
        fault,
        shutdown: shared.shutdown.clone(),
        finished: false,
    };
    let body = futures::stream::unfold(state, |mut state| async move {
        if state.finished {
            return None;
        }
        let fault_due = state.fault.filter(|fault| state.sent >= fault.after() || state.events.is_empty());
        if let Some(fault) = fault_due {
            state.finished = true;
            return match fault {
                StreamFault::Cut { .. } => {
                    // Returning `Pending` once makes hyper flush what was sent so far;
                    // otherwise the abort would discard the buffered events.
                    tokio::task::yield_now().await;
                    Some((Err(aborted("stream cut by fault injection")), state))
                }
                StreamFault::End { .. } => None,
                StreamFault::Stall { .. } => {
                    let _ = state.shutdown.wait_for(|stop| *stop).await;
                    Some((Err(aborted("mock server shutting down")), state))
                }
            };
        }
        let event = state.events.pop_front()?;
        if state.sent > 0
            && !state.delay.is_zero()
            && !sleep_unless_shutdown(state.delay, &mut state.shutdown).await
        {
            state.finished = true;
            return Some((Err(aborted("mock server shutting down")), state));
        }
        state.sent += 1;
        Some((Ok::<Bytes, std::io::Error>(event), state))
    });
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Replaces the deployments of a running mock, keeping them sorted newest first.
pub(crate) fn install_deployments(config: &mut Config, mut deployments: Vec<Deployment>) {
    deployment::sort_newest_first(&mut deployments);
    config.deployments = deployments;
}
