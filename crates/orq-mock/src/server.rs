//! The HTTP side: shared state, request routing, faults and streaming.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::deployment::{self, Deployment};
use crate::recorded::RecordedRequest;
use crate::util;
use crate::wire::{self, ApiError, Completion, DeploymentRequest};

/// Largest accepted request body.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

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

/// State shared between the [`MockOrq`](crate::MockOrq) handle and the server task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Mutex<Config>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    pub(crate) counter: AtomicU64,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn new(config: Config, shutdown: watch::Receiver<bool>) -> Self {
        Shared {
            config: Mutex::new(config),
            faults: Mutex::new(Faults::default()),
            requests: Mutex::new(Vec::new()),
            counter: AtomicU64::new(0),
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

/// The single axum handler: records, applies faults, authenticates and routes.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return error_response(&ApiError::new(
                413,
                "payload_too_large",
                format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
            ));
        }
    };
    lock(&shared.requests).push(RecordedRequest::new(&parts, &body));

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
            return error_response(&ApiError::new(
                401,
                "unauthorized",
                "missing or invalid API key: send `Authorization: Bearer <key>`",
            ));
        }
    }

    let path = parts.uri.path();
    let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    let allowed = match path {
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

    let result = match path {
        "/v2/deployments" => list(&shared, parts.uri.query().unwrap_or_default()),
        "/v2/deployments/get_config" => {
            with_deployment(&shared, &body).map(|(d, r)| wire::get_config_body(&d, &r))
        }
        "/v2/deployments/invoke" => with_deployment(&shared, &body).map(|(d, r)| invoke(&shared, &d, &r)),
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

fn list(shared: &Shared, query: &str) -> Result<Value, ApiError> {
    let params = util::parse_query(query);
    let param = |name: &str| params.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let limit = match param("limit") {
        None => 10,
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => {
                return Err(ApiError::new(
                    400,
                    "invalid_limit",
                    format!("`limit` must be an integer between 1 and 200, got {raw:?}"),
                ));
            }
        },
    };
    let starting_after = param("starting_after").filter(|s| !s.is_empty());
    let ending_before = param("ending_before").filter(|s| !s.is_empty());
    let config = lock(&shared.config);
    let all = &config.deployments;
    let position = |cursor: &str, name: &str| {
        all.iter().position(|d| d.id_or_empty() == cursor).ok_or_else(|| {
            ApiError::new(
                400,
                "invalid_cursor",
                format!("`{name}` refers to an unknown deployment id {cursor:?}"),
            )
        })
    };
    let (range, has_more) = match (starting_after, ending_before) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                400,
                "invalid_cursor",
                "`starting_after` and `ending_before` cannot be combined",
            ));
        }
        (Some(cursor), None) => {
            let start = position(cursor, "starting_after")? + 1;
            let end = (start + limit).min(all.len());
            (start..end, end < all.len())
        }
        (None, Some(cursor)) => {
            let end = position(cursor, "ending_before")?;
            let start = end.saturating_sub(limit);
            (start..end, start > 0)
        }
        (None, None) => {
            let end = limit.min(all.len());
            (0..end, end < all.len())
        }
    };
    Ok(json!({
        "object": "list",
        "data": all[range].iter().map(Deployment::to_json).collect::<Vec<_>>(),
        "has_more": has_more,
    }))
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
