//! The span of each call, named and filled after the OpenTelemetry semantic
//! conventions for generative AI, so that `tracing-opentelemetry` exports it
//! as a GenAI client span.
//!
//! Every field is declared `Empty` when the span is made and recorded once,
//! when its value is known, from values the call already has: the key and
//! host when the call starts, the status, request id and retries when the
//! answer comes back, the model, id, finish reasons and usage from the
//! answer. Without a subscriber that wants the span, it is disabled and
//! nothing below runs.
//!
//! Prompt and completion text is recorded only when the client was built with
//! [`ClientBuilder::record_content`](crate::ClientBuilder::record_content);
//! headers (and so the API key) never are.

use std::time::Instant;

use orq_api::ResponseValue;
use orq_api::types::{Count, DeploymentConfig, DeploymentRequest, InvokeResponse, StreamChunk, Usage};
use reqwest::StatusCode;
use tracing::Span;
use tracing::field::Empty;

use crate::error::{self, Error, StreamError};

/// `gen_ai.provider.name` of every span.
pub(crate) const PROVIDER_NAME: &str = "orq.ai";

/// The operation a span describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    List,
    ListVersions,
    GetConfig,
    Invoke,
    Stream,
}

impl Op {
    /// The operation's name in errors and in the span's `operation` field.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::ListVersions => "list_versions",
            Op::GetConfig => "get_config",
            Op::Invoke => "invoke",
            Op::Stream => "stream",
        }
    }

    /// `gen_ai.operation.name`: `chat` for a generation, our own names for
    /// the rest (the conventions name no operation that reads deployments).
    fn gen_ai_name(self) -> &'static str {
        match self {
            Op::List => "list_deployments",
            Op::ListVersions => "list_deployment_versions",
            Op::GetConfig => "get_deployment_config",
            Op::Invoke | Op::Stream => "chat",
        }
    }

    /// The span name of an operation that generates nothing.
    fn span_name(self) -> &'static str {
        match self {
            Op::List => "orq.deployments.list",
            Op::ListVersions => "orq.deployments.list_versions",
            Op::GetConfig => "orq.deployments.get_config",
            Op::Invoke | Op::Stream => "chat",
        }
    }
}

/// The span of one call of `op` on deployment `key` (none for `list`).
///
/// The tracing name is `orq` for every operation; `otel.name` gives the
/// OpenTelemetry name: `chat {key}` for invoke and stream,
/// `orq.deployments.{operation}` for the others.
pub(crate) fn call_span(op: Op, key: Option<&str>) -> Span {
    let span = tracing::info_span!(
        "orq",
        operation = op.name(),
        otel.name = Empty,
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = op.gen_ai_name(),
        gen_ai.provider.name = PROVIDER_NAME,
        gen_ai.request.model = Empty,
        gen_ai.response.model = Empty,
        gen_ai.response.id = Empty,
        gen_ai.response.finish_reasons = Empty,
        gen_ai.response.time_to_first_chunk = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.input.messages = Empty,
        gen_ai.output.messages = Empty,
        server.address = Empty,
        server.port = Empty,
        http.response.status_code = Empty,
        error.type = Empty,
        orq.deployment.key = Empty,
        orq.request_id = Empty,
        orq.retry_count = Empty,
        orq.stream.chunks = Empty,
        orq.stream.outcome = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    match (op, key) {
        // Formatted by the subscriber that wants it: nothing is allocated here.
        (Op::Invoke | Op::Stream, Some(key)) => span.record("otel.name", format_args!("chat {key}")),
        _ => span.record("otel.name", op.span_name()),
    };
    if let Some(key) = key {
        span.record("orq.deployment.key", key);
    }
    span
}

/// `server.address` and `server.port` from a `host:port` (IPv6 hosts in brackets).
pub(crate) fn record_server(span: &Span, host_port: &str) {
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') => (host, port.parse::<u16>().ok()),
        _ => (host_port, None),
    };
    span.record("server.address", host.trim_start_matches('[').trim_end_matches(']'));
    if let Some(port) = port {
        span.record("server.port", i64::from(port));
    }
}

/// What the call's answer says on the span: status, request id, retries, and
/// on failure `error.type` and an error status.
pub(crate) fn record_outcome<T>(
    span: &Span,
    attempts: u32,
    outcome: &Result<Option<Box<ResponseValue<T>>>, Error>,
) {
    span.record("orq.retry_count", i64::from(attempts.saturating_sub(1)));
    let (status, request_id) = match outcome {
        Ok(Some(value)) => (Some(value.status()), error::request_id(value.headers())),
        Ok(None) => (Some(StatusCode::NO_CONTENT), None),
        Err(Error::Api { status, request_id, .. }) => (Some(*status), request_id.clone()),
        Err(_) => (None, None),
    };
    if let Some(status) = status {
        span.record("http.response.status_code", i64::from(status.as_u16()));
    }
    if let Some(request_id) = request_id {
        span.record("orq.request_id", request_id);
    }
    if let Err(error) = outcome {
        record_error(span, error);
    }
}

/// `error.type` and an error status.
fn record_error(span: &Span, error: &Error) {
    span.record("error.type", error_type(error));
    span.record("otel.status_code", "ERROR");
}

/// A short, stable name for each kind of error: the status code of an error
/// answer (as the conventions ask), a name for the others.
pub(crate) fn error_type(error: &Error) -> &str {
    match error {
        Error::Api { status, .. } => status.as_str(),
        Error::Timeout { .. } => "timeout",
        Error::Connect { .. } => "connect",
        Error::ConnectTimeout { .. } => "connect_timeout",
        Error::Connection { .. } => "connection",
        Error::BodyTooLarge { .. } => "body_too_large",
        Error::NoRuntime => "no_runtime",
        Error::Decode { .. } => "decode",
        Error::Stream(error) => match error {
            StreamError::Truncated { .. } => "stream.truncated",
            StreamError::Malformed { .. } => "stream.malformed",
            StreamError::Utf8(_) => "stream.utf8",
            StreamError::Idle(_) => "stream.idle",
            StreamError::ErrorEvent { .. } => "stream.error_event",
            StreamError::Transport(_) => "stream.transport",
            StreamError::EventTooLarge { .. } => "stream.event_too_large",
            StreamError::Deadline(_) => "stream.deadline",
        },
        Error::InvalidRequest(_) => "invalid_request",
        Error::Config(_) => "config",
    }
}

/// `gen_ai.input.messages`: the request's messages (prefix messages first) as
/// a JSON array, in the API's own shape. Only with `record_content`.
pub(crate) fn record_input(span: &Span, body: &DeploymentRequest) {
    let messages: Vec<_> = body.prefix_messages.iter().chain(&body.messages).collect();
    if let Ok(json) = serde_json::to_string(&messages) {
        span.record("gen_ai.input.messages", json);
    }
}

/// What an `invoke` answer says on the span; its choices' messages too with `content`.
pub(crate) fn record_invoke(span: &Span, response: &InvokeResponse, content: bool) {
    if !response.model.is_empty() {
        span.record("gen_ai.response.model", response.model.as_str());
    }
    if !response.id.is_empty() {
        span.record("gen_ai.response.id", response.id.as_str());
    }
    let reasons: Vec<&str> = response.choices.iter().filter_map(|c| c.finish_reason.as_deref()).collect();
    record_finish_reasons(span, &reasons);
    if let Some(usage) = &response.usage {
        record_usage(span, usage);
    }
    if content {
        let messages: Vec<_> = response.choices.iter().filter_map(|c| c.message.as_ref()).collect();
        if let Ok(json) = serde_json::to_string(&messages) {
            span.record("gen_ai.output.messages", json);
        }
    }
}

/// What a `get_config` answer says on the span: the model a call would use.
pub(crate) fn record_config(span: &Span, config: &DeploymentConfig) {
    if !config.model.is_empty() {
        span.record("gen_ai.request.model", config.model.as_str());
    }
}

/// `gen_ai.response.finish_reasons`, a JSON array of strings (a span field
/// holds no arrays).
fn record_finish_reasons(span: &Span, reasons: &[&str]) {
    if !reasons.is_empty()
        && let Ok(json) = serde_json::to_string(reasons)
    {
        span.record("gen_ai.response.finish_reasons", json);
    }
}

/// Input and output token counts, as integers when they are whole.
fn record_usage(span: &Span, usage: &Usage) {
    let record = |field: &str, count: &Option<Count>| match count {
        Some(count) => match count.as_u64() {
            Some(whole) => span.record(field, whole_number(whole)),
            None => span.record(field, count.as_f64()),
        },
        None => span,
    };
    record("gen_ai.usage.input_tokens", &usage.prompt_tokens);
    record("gen_ai.usage.output_tokens", &usage.completion_tokens);
}

/// A count as an `i64`: `tracing-opentelemetry` exports `u64` values as text,
/// `i64` values as integers.
fn whole_number(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// How a stream ended, in `orq.stream.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamOutcome {
    /// `[DONE]` (or a 204 answer): the generation arrived whole.
    Completed,
    /// The last item was an error.
    Error,
    /// The stream was dropped before its end.
    Dropped,
}

/// A stream's span and what it has seen, recorded when the stream ends or is
/// dropped. A [`ChunkStream`](crate::ChunkStream) holds one only when a
/// subscriber wants its span.
pub(crate) struct StreamTelemetry {
    span: Span,
    /// When the call started.
    started: Instant,
    /// Seconds from the start of the call to the first chunk.
    first_chunk: Option<f64>,
    chunks: u64,
    id: Option<String>,
    model: Option<String>,
    /// The last finish reason of each choice, by index.
    finish_reasons: Vec<(u64, String)>,
    usage: Option<Usage>,
    /// The first choice's text, with `record_content` only.
    text: Option<String>,
    outcome: StreamOutcome,
    /// `error.type` of the error that ended the stream.
    error_type: Option<String>,
}

impl StreamTelemetry {
    /// Telemetry for the stream of a call that started at `started`, when
    /// `span` is enabled; `content` records the streamed text too.
    pub(crate) fn new(span: Span, started: Instant, content: bool) -> Option<Self> {
        (!span.is_disabled()).then(|| StreamTelemetry {
            span,
            started,
            first_chunk: None,
            chunks: 0,
            id: None,
            model: None,
            finish_reasons: Vec::new(),
            usage: None,
            text: content.then(String::new),
            outcome: StreamOutcome::Dropped,
            error_type: None,
        })
    }

    /// Notes one chunk handed to the caller.
    pub(crate) fn on_chunk(&mut self, chunk: &StreamChunk) {
        if self.chunks == 0 {
            self.first_chunk = Some(self.started.elapsed().as_secs_f64());
        }
        self.chunks += 1;
        if self.id.is_none() {
            self.id.clone_from(&chunk.id);
        }
        if self.model.is_none() {
            self.model.clone_from(&chunk.model);
        }
        if chunk.usage.is_some() {
            self.usage.clone_from(&chunk.usage);
        }
        for choice in &chunk.choices {
            let Some(reason) = &choice.finish_reason else { continue };
            let index = choice.index.as_u64().unwrap_or(0);
            match self.finish_reasons.iter_mut().find(|(i, _)| *i == index) {
                Some((_, known)) => known.clone_from(reason),
                None => self.finish_reasons.push((index, reason.clone())),
            }
        }
        if let Some(text) = &mut self.text
            && let Some(content) = chunk.choices.first().and_then(|c| c.message.as_ref()?.content.as_deref())
        {
            text.push_str(content);
        }
    }

    /// The stream ended: with `error`, or whole. Recorded when `self` is dropped.
    pub(crate) fn end(&mut self, error: Option<&Error>) {
        match error {
            Some(error) => {
                self.outcome = StreamOutcome::Error;
                self.error_type = Some(error_type(error).to_string());
            }
            None => self.outcome = StreamOutcome::Completed,
        }
    }
}

impl Drop for StreamTelemetry {
    /// Records what the stream saw; the span ends when this handle goes.
    fn drop(&mut self) {
        let span = &self.span;
        if let Some(seconds) = self.first_chunk {
            span.record("gen_ai.response.time_to_first_chunk", seconds);
        }
        span.record("orq.stream.chunks", whole_number(self.chunks));
        if let Some(id) = &self.id {
            span.record("gen_ai.response.id", id.as_str());
        }
        if let Some(model) = &self.model {
            span.record("gen_ai.response.model", model.as_str());
        }
        self.finish_reasons.sort_by_key(|(index, _)| *index);
        let reasons: Vec<&str> = self.finish_reasons.iter().map(|(_, reason)| reason.as_str()).collect();
        record_finish_reasons(span, &reasons);
        if let Some(usage) = &self.usage {
            record_usage(span, usage);
        }
        if let Some(text) = &self.text {
            let reason = reasons.first().copied();
            let message =
                serde_json::json!([{ "role": "assistant", "content": text, "finish_reason": reason }]);
            span.record("gen_ai.output.messages", message.to_string());
        }
        let outcome = match self.outcome {
            StreamOutcome::Completed => "completed",
            StreamOutcome::Error => "error",
            StreamOutcome::Dropped => "dropped",
        };
        span.record("orq.stream.outcome", outcome);
        if let Some(error_type) = &self.error_type {
            span.record("error.type", error_type.as_str());
            span.record("otel.status_code", "ERROR");
        }
    }
}
