//! Requests recorded by the mock for later inspection.

use axum::http::request::Parts;
use serde_json::{Value, json};

use crate::util;

/// One HTTP request received by the mock, recorded before any fault, auth check or
/// validation is applied (so rejected and faulted requests are recorded too).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path without the query, e.g. `/v2/deployments/invoke`.
    pub path: String,
    /// The raw query string without the leading `?`, if any.
    pub query: Option<String>,
    /// Header names (lower-case) and values, in the order received. Non-UTF-8 values are
    /// converted lossily.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON, or `None` when it is empty or not valid JSON.
    pub body: Option<Value>,
    /// The raw body as text (lossy UTF-8).
    pub raw_body: String,
}

impl RecordedRequest {
    pub(crate) fn new(parts: &Parts, body: &[u8]) -> Self {
        RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned())
                })
                .collect(),
            body: serde_json::from_slice(body).ok(),
            raw_body: String::from_utf8_lossy(body).into_owned(),
        }
    }

    /// The request as JSON, as the admin route `GET /_mock/requests` lists it.
    pub fn to_json(&self) -> Value {
        json!({
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers.iter().map(|(name, value)| json!([name, value])).collect::<Vec<_>>(),
            "body": self.body,
            "raw_body": self.raw_body,
        })
    }

    /// The first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The last value of a (percent-decoded) query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        util::parse_query(self.query.as_deref().unwrap_or_default())
            .into_iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}
