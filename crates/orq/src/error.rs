//! The one error type of the SDK, and the translation of transport and
//! progenitor errors into it.

use std::time::Duration;

/// How much of a response body an error keeps: enough to read an HTML error
/// page's title or a JSON error, small enough to log.
pub(crate) const BODY_EXCERPT_LIMIT: usize = 2048;

/// Everything that can go wrong when calling orq.ai.
///
/// Errors never contain the API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error status.
    #[error("orq.ai returned {status}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Api {
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// The error message: the `message` of a JSON error body, or the start of the raw body.
        message: String,
        /// The `code` of a JSON error body, when there is one, as text: a
        /// string code as sent, a number (such as a 401's gRPC status `16`) written out.
        code: Option<String>,
        /// The `details` of a JSON error body (a 401 may carry a list of them),
        /// each as the service gave it; empty when there are none. A `details`
        /// that is not a list is its one item.
        // Boxed slice, not `Vec`: it keeps `Error` under clippy's size limit.
        details: Box<[serde_json::Value]>,
        /// The response body as received (its first couple of kilobytes).
        body: String,
        /// The request id the service or a proxy sent back, for support tickets.
        request_id: Option<String>,
    },

    /// The request took longer than its timeout (for a stream: until the
    /// response started; silence later in a stream is [`StreamError::Idle`]).
    #[error("request timed out{}", after.map(|d| format!(" after {d:?}")).unwrap_or_default())]
    Timeout {
        /// The limit that was exceeded, when known.
        after: Option<Duration>,
    },

    /// No connection could be opened (refused, DNS, TLS): nothing was sent.
    #[error("could not connect to {host}: {cause} ({detail})")]
    Connect {
        /// The host and port connected to.
        host: String,
        /// Why, as far as the transport tells.
        cause: ConnectionCause,
        /// The innermost error's own words.
        detail: String,
        /// The transport's error.
        #[source]
        source: reqwest::Error,
    },

    /// Opening a connection took longer than the connect timeout: nothing was
    /// sent. Distinct from [`Error::Timeout`], the limit on the whole request.
    #[error("connecting to {host} timed out{}", after.map(|d| format!(" after {d:?}")).unwrap_or_default())]
    ConnectTimeout {
        /// The host and port connected to.
        host: String,
        /// The connect timeout, when known (not with a custom `http_client`).
        after: Option<Duration>,
    },

    /// The connection broke after the request was sent (or while it was being
    /// sent): the service may have received it.
    #[error("the connection to {host} broke: {cause} ({detail})")]
    Connection {
        /// The host and port connected to.
        host: String,
        /// Why, as far as the transport tells.
        cause: ConnectionCause,
        /// The innermost error's own words.
        detail: String,
        /// The transport's error.
        #[source]
        source: reqwest::Error,
    },

    /// A response body is larger than the client accepts; nothing of it is kept.
    #[error(
        "the {what} response body is larger than the limit of {limit} bytes; \
         raise it with ClientBuilder::max_response_body_size"
    )]
    BodyTooLarge {
        /// The operation, such as `invoke`.
        what: &'static str,
        /// The limit in bytes.
        limit: usize,
    },

    /// The call was not made inside a Tokio runtime.
    #[error(
        "orq needs a Tokio runtime with I/O and timers enabled (such as #[tokio::main]); \
         this call was made outside of one"
    )]
    NoRuntime,

    /// A response arrived but its body is not what the API describes.
    #[error("could not decode the {what} response at `{path}`: {message} (body starts with: {excerpt})")]
    Decode {
        /// What was being decoded, such as `invoke`.
        what: &'static str,
        /// JSON path of the value that failed, such as `choices[0].message`.
        path: String,
        /// What serde found wrong there.
        message: String,
        /// The start of the body.
        excerpt: String,
    },

    /// A stream ended early, sent something unreadable, went quiet or reported an error.
    #[error("stream failed: {0}")]
    Stream(#[from] StreamError),

    /// The request was rejected before sending: fix the arguments. Every
    /// problem the request builder saw is listed, separated by `; `.
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The client cannot work as configured: a bad setting given to
    /// [`ClientBuilder`](crate::ClientBuilder) (missing key, base URL that is not
    /// http(s), invalid header), or a blocking client called inside an async runtime.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

/// What went wrong in a stream that had started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The body ended before `[DONE]`: the generation is incomplete.
    #[error("the stream ended before [DONE] after {events} events; the generation is incomplete")]
    Truncated {
        /// Events received before the end.
        events: usize,
    },
    /// An event's data is neither a chunk nor `[DONE]`.
    #[error("event {index} is not a valid chunk at `{path}`: {message} (data starts with: {excerpt})")]
    Malformed {
        /// Position of the event in the stream (from 0).
        index: usize,
        /// JSON path of the value that failed.
        path: String,
        /// What was wrong.
        message: String,
        /// The start of the event's data.
        excerpt: String,
    },
    /// No bytes arrived for longer than the stream idle timeout.
    #[error("no data for {0:?}")]
    Idle(Duration),
    /// The service sent an error in the middle of the stream.
    #[error("the service reported an error: {message}")]
    ErrorEvent {
        /// The error message.
        message: String,
        /// The error code, when given.
        code: Option<String>,
    },
    /// The connection broke while reading the stream.
    #[error("reading the stream failed: {0}")]
    Transport(#[source] TransportError),
    /// The stream is not valid UTF-8.
    #[error("the stream is not valid UTF-8: {0}")]
    Utf8(#[source] std::str::Utf8Error),
    /// An event, or one line still without its end, is larger than the limit.
    #[error(
        "an event is larger than the limit of {limit} bytes; raise it with \
         ClientBuilder::max_event_size or ChunkStream::max_event_size"
    )]
    EventTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The stream did not finish within its deadline.
    #[error(
        "the stream did not finish within its deadline of {0:?}; raise it with \
         ClientBuilder::stream_deadline or ChunkStream::deadline"
    )]
    Deadline(Duration),
}

/// An error of the transport under a stream.
pub type TransportError = Box<dyn std::error::Error + Send + Sync>;

/// Why a connection failed, as far as the transport tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionCause {
    /// Nothing accepts connections on that port.
    Refused,
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed (or the server does not speak TLS).
    Tls,
    /// The peer reset or aborted the connection.
    Reset,
    /// The connection was closed before a whole response arrived.
    Closed,
    /// Something else; the detail says what.
    Other,
}

impl std::fmt::Display for ConnectionCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConnectionCause::Refused => "connection refused",
            ConnectionCause::Dns => "DNS lookup failed",
            ConnectionCause::Tls => "TLS handshake failed",
            ConnectionCause::Reset => "connection reset",
            ConnectionCause::Closed => "connection closed before the response arrived",
            ConnectionCause::Other => "connection failed",
        })
    }
}

impl Error {
    /// The HTTP status, for [`Error::Api`].
    pub fn status(&self) -> Option<reqwest::StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether a time limit ended the call: the request timeout, the connect
    /// timeout, or a stream's idle timeout or deadline.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Timeout { .. }
                | Error::ConnectTimeout { .. }
                | Error::Stream(StreamError::Idle(_) | StreamError::Deadline(_))
        )
    }

    /// Whether no connection could be opened (refused, DNS, TLS, connect
    /// timeout): nothing was sent. A connection that broke after sending is
    /// [`Error::Connection`] instead, see [`is_connection`](Self::is_connection).
    pub fn is_connect(&self) -> bool {
        matches!(self, Error::Connect { .. } | Error::ConnectTimeout { .. })
    }

    /// Whether the network failed: no connection could be opened, or one broke
    /// (before the answer, or while a stream was read).
    pub fn is_connection(&self) -> bool {
        self.is_connect()
            || matches!(self, Error::Connection { .. } | Error::Stream(StreamError::Transport(_)))
    }

    /// Whether the service rejected the API key (401 or 403).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.status().map(|s| s.as_u16()), Some(401 | 403))
    }

    /// Whether the deployment (or another resource) was not found (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(reqwest::StatusCode::NOT_FOUND)
    }
}

/// A JSON value that cannot be a prompt input is an invalid request, so `?`
/// works on `InputValue::try_from(value)`.
impl From<orq_api::types::UnsupportedInput> for Error {
    fn from(error: orq_api::types::UnsupportedInput) -> Self {
        Error::InvalidRequest(error.to_string())
    }
}

/// What a transport error is translated with: where the call went and the
/// limits that applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Transport<'a> {
    /// The operation, such as `invoke`.
    pub operation: &'static str,
    pub host: &'a str,
    pub timeout: Duration,
    pub connect_timeout: Option<Duration>,
}

/// A `reqwest::Error` turned into ours: connect failures (nothing sent),
/// connect and request timeouts, broken connections and bodies over a limit
/// each get their own variant.
pub(crate) fn from_reqwest(error: reqwest::Error, transport: Transport<'_>) -> Error {
    if let Some(over) = find_source::<BodyTooLarge>(&error) {
        return Error::BodyTooLarge { what: transport.operation, limit: over.limit };
    }
    let host = transport.host.to_string();
    if error.is_connect() && error.is_timeout() {
        return Error::ConnectTimeout { host, after: transport.connect_timeout };
    }
    if error.is_timeout() {
        return Error::Timeout { after: Some(transport.timeout) };
    }
    let source = error.without_url();
    let (cause, detail) = connection_cause(&source);
    if source.is_connect() {
        Error::Connect { host, cause, detail, source }
    } else {
        Error::Connection { host, cause, detail, source }
    }
}

/// A response body went over its limit (carried through the transport's
/// errors; [`from_reqwest`] names the operation).
#[derive(Debug)]
pub(crate) struct BodyTooLarge {
    pub limit: usize,
}

impl std::fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the response body is larger than {} bytes", self.limit)
    }
}

impl std::error::Error for BodyTooLarge {}

/// The first error of type `T` in `error`'s source chain (itself included).
fn find_source<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// Why a connection failed, read from the source chain, with the innermost
/// error's text. reqwest's own message ("error sending request") says nothing.
fn connection_cause(error: &reqwest::Error) -> (ConnectionCause, String) {
    use std::io::ErrorKind;
    let mut cause = None;
    let (mut dns, mut tcp) = (false, false);
    let mut innermost: &(dyn std::error::Error + 'static) = error;
    let mut current = std::error::Error::source(error);
    while let Some(layer) = current {
        innermost = layer;
        if let Some(io) = layer.downcast_ref::<std::io::Error>() {
            cause = cause.or(match io.kind() {
                ErrorKind::ConnectionRefused => Some(ConnectionCause::Refused),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                    Some(ConnectionCause::Reset)
                }
                ErrorKind::UnexpectedEof => Some(ConnectionCause::Closed),
                _ => None,
            });
        }
        if let Some(hyper) = layer.downcast_ref::<hyper::Error>()
            && hyper.is_incomplete_message()
        {
            cause = cause.or(Some(ConnectionCause::Closed));
        }
        // hyper-util names the connect step that failed; its types are private.
        let text = layer.to_string();
        dns |= text == "dns error" || text.starts_with("error resolving DNS");
        tcp |= text == "tcp connect error";
        current = layer.source();
    }
    let cause = cause.unwrap_or(if dns {
        ConnectionCause::Dns
    } else if error.is_connect() && !tcp {
        // Connected over TCP, then failed before HTTP: the TLS handshake.
        ConnectionCause::Tls
    } else {
        ConnectionCause::Other
    });
    (cause, innermost.to_string())
}

/// Builds [`Error::Api`] from a status, the response's request id and its raw body.
pub(crate) fn api_error(status: reqwest::StatusCode, request_id: Option<String>, body: &[u8]) -> Error {
    #[derive(serde::Deserialize)]
    struct Body {
        message: Option<serde_json::Value>,
        error: Option<serde_json::Value>,
        code: Option<serde_json::Value>,
        details: Option<serde_json::Value>,
    }
    let text = excerpt(body, BODY_EXCERPT_LIMIT);
    let parsed = serde_json::from_slice::<Body>(body).ok();
    let as_text = |v: serde_json::Value| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let (message, code, details) = match parsed {
        Some(Body { message, error, code, details }) => (
            message.or(error).map(as_text),
            code.filter(|c| !c.is_null()).map(as_text),
            match details {
                None | Some(serde_json::Value::Null) => Box::default(),
                Some(serde_json::Value::Array(details)) => details.into_boxed_slice(),
                Some(detail) => Box::new([detail]),
            },
        ),
        None => (None, None, Box::default()),
    };
    let message = message.unwrap_or_else(|| {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            status.canonical_reason().unwrap_or("no message").to_string()
        } else {
            excerpt(trimmed.as_bytes(), 200)
        }
    });
    Error::Api { status, message, code, details, body: text, request_id }
}

/// The request id a response carries, under the names services and proxies use.
pub(crate) fn request_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    use reqwest::header::HeaderName;
    // Parsed once, at compile time, rather than on every lookup.
    const NAMES: [HeaderName; 5] = [
        HeaderName::from_static("x-request-id"),
        HeaderName::from_static("x-orq-request-id"),
        HeaderName::from_static("request-id"),
        HeaderName::from_static("x-amzn-requestid"),
        HeaderName::from_static("cf-ray"),
    ];
    NAMES.iter().find_map(|name| headers.get(name)).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Decodes a JSON body, reporting the path that failed or where data follows the value.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(what: &'static str, body: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let failed =
        |path: String, message: String| Error::Decode { what, path, message, excerpt: excerpt(body, 200) };
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|e| failed(e.path().to_string(), e.inner().to_string()))?;
    deserializer.end().map_err(|e| failed(".".to_string(), e.to_string()))?;
    Ok(value)
}

/// The first `limit` bytes of `body` as text, cut at a character boundary.
pub(crate) fn excerpt(body: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(limit)]).into_owned();
    if body.len() > limit { format!("{text}…") } else { text }
}
