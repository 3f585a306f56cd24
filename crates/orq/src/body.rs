//! Bounded response bodies: a hostile or broken server cannot make the client
//! buffer more than a configured number of bytes.
//!
//! Every response passes through [`bounded`] as soon as its headers arrive,
//! before the generated code reads it. A successful body over its limit
//! fails with [`BodyTooLarge`](crate::error::BodyTooLarge); an error body is
//! cut at its limit (its start is all an error message needs), and the rest
//! is never read: the connection is dropped instead.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

use crate::error::BodyTooLarge;

/// How much of a response body is read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// Limit of a successful body; `None` for a stream, whose body is read
    /// event by event.
    pub success: Option<usize>,
    /// Bytes kept of an error body.
    pub error: usize,
}

/// `response` with its body bounded per `limits`.
pub(crate) fn bounded(mut response: reqwest::Response, limits: BodyLimits) -> reqwest::Response {
    let over = if response.status().is_success() {
        match limits.success {
            Some(limit) => Over::Fail(BodyTooLarge { limit }),
            None => return response,
        }
    } else {
        Over::Cut(limits.error)
    };
    let limit = match &over {
        Over::Fail(error) => error.limit,
        Over::Cut(limit) => *limit,
    };
    // The length is exact only for a body not decompressed, and the transport
    // never yields more than it: within the limit, there is nothing to bound.
    let length = response.content_length();
    if length.is_some_and(|length| length <= limit as u64) {
        return response;
    }
    // A declared length over the limit fails before any of the body is read.
    let declared_over = length.is_some();
    let (status, version) = (response.status(), response.version());
    let headers = std::mem::take(response.headers_mut());
    let body = Bounded { body: Some(Box::pin(response.bytes_stream())), left: limit, over, declared_over };
    let mut bounded = http::Response::new(reqwest::Body::wrap_stream(body));
    *bounded.status_mut() = status;
    *bounded.version_mut() = version;
    *bounded.headers_mut() = headers;
    reqwest::Response::from(bounded)
}

/// What happens at the limit.
#[derive(Debug)]
enum Over {
    /// The body fails with this error.
    Fail(BodyTooLarge),
    /// The body ends at this many bytes.
    Cut(usize),
}

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A body that yields at most `left` more bytes.
struct Bounded {
    /// `None` once finished: dropping the inner body closes the connection
    /// rather than reading the rest of it.
    body: Option<Body>,
    left: usize,
    over: Over,
    declared_over: bool,
}

impl Bounded {
    /// Ends the body at the limit: an error, or the end of a cut body.
    fn at_limit(&mut self) -> Option<Result<Bytes, Box<dyn std::error::Error + Send + Sync>>> {
        self.body = None;
        match std::mem::replace(&mut self.over, Over::Cut(0)) {
            Over::Fail(error) => Some(Err(Box::new(error))),
            Over::Cut(_) => None,
        }
    }
}

impl Stream for Bounded {
    type Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.declared_over && matches!(this.over, Over::Fail(_)) {
            return Poll::Ready(this.at_limit());
        }
        let Some(body) = this.body.as_mut() else { return Poll::Ready(None) };
        match body.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                this.body = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(error))) => {
                this.body = None;
                Poll::Ready(Some(Err(Box::new(error))))
            }
            Poll::Ready(Some(Ok(bytes))) if bytes.len() <= this.left => {
                this.left -= bytes.len();
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(Ok(bytes))) => match this.over {
                Over::Cut(_) => {
                    let kept = bytes.slice(..this.left);
                    this.left = 0;
                    this.body = None;
                    Poll::Ready(Some(Ok(kept)))
                }
                Over::Fail(_) => Poll::Ready(this.at_limit()),
            },
        }
    }
}
