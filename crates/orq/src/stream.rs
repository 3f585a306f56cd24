//! Server-sent events to chunks: the stream returned by
//! `client.deployments().stream(..).send()`.
//!
//! Layers, bottom up: the response body (bytes) with an idle timeout, sseer's
//! SSE parser (line ends, multi-line data, comments, `event`/`id`/`retry`),
//! then our rules: `[DONE]` ends the stream, an error event is an error item,
//! and a body that ends before `[DONE]` is an error item, never a short success.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use orq_api::types::{Provider, Retrieval, StreamChunk, ToolCall};

use crate::error::{Error, StreamError, excerpt};

/// The end-of-stream marker the service sends as the last event's data.
const DONE: &str = "[DONE]";

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send + Sync>>;
type Body = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send + Sync>>;

/// The chunks of a streamed generation, as they arrive.
///
/// A `Stream` of `Result<StreamChunk, Error>`. It ends (`None`) after the
/// service's `[DONE]`; if the connection ends before that, or sends an error,
/// the last item is an `Err`. Dropping it closes the connection.
#[must_use = "a stream does nothing unless polled"]
pub struct ChunkStream {
    inner: Pin<Box<dyn Stream<Item = Result<StreamChunk, Error>> + Send>>,
    request_id: Option<String>,
}

impl std::fmt::Debug for ChunkStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkStream").field("request_id", &self.request_id).finish_non_exhaustive()
    }
}

/// An error of the transport under a stream.
pub type TransportError = Box<dyn std::error::Error + Send + Sync>;

/// Why the byte layer ended: the transport failed or went quiet.
#[derive(Debug)]
enum BodyError {
    Transport(TransportError),
    Idle(Duration),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Transport(e) => e.fmt(f),
            BodyError::Idle(after) => write!(f, "no data for {after:?}"),
        }
    }
}

/// Where the chunk layer is.
struct State<S> {
    events: S,
    index: usize,
    finished: bool,
}

impl ChunkStream {
    pub(crate) fn new(body: ByteStream, idle: Option<Duration>, request_id: Option<String>) -> Self {
        let body = body.map(|item| item.map_err(|e| TransportError::from(e.without_url())));
        ChunkStream::from_events(
            sseer::EventStream::new(lines_end_in_lf(with_idle_timeout(Box::pin(body), idle))),
            request_id,
        )
    }

    /// Chunks from any server-sent-event body: a recorded stream, a proxy's,
    /// a test fixture. The same rules apply as to a live stream: `[DONE]` ends
    /// it, and a body that ends before `[DONE]` ends with an error item.
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let body = "data: {\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n";
    /// let pieces = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(body))]);
    /// let text = orq::ChunkStream::from_body(pieces, None).collect_text().await.unwrap();
    /// assert_eq!(text, "Hi");
    /// # }
    /// ```
    pub fn from_body<S, B, E>(body: S, idle: Option<Duration>) -> ChunkStream
    where
        S: Stream<Item = Result<B, E>> + Send + Sync + 'static,
        B: Into<Bytes>,
        E: Into<TransportError>,
    {
        let body = body.map(|item| item.map(Into::into).map_err(Into::into));
        ChunkStream::from_events(
            sseer::EventStream::new(lines_end_in_lf(with_idle_timeout(Box::pin(body), idle))),
            None,
        )
    }

    fn from_events<S>(events: S, request_id: Option<String>) -> Self
    where
        S: Stream<Item = Result<sseer::event::Event, sseer::errors::EventStreamError<BodyError>>>
            + Send
            + Unpin
            + 'static,
    {
        let state = State { events, index: 0, finished: false };
        let inner = futures::stream::unfold(state, |mut state| async move {
            if state.finished {
                return None;
            }
            loop {
                let item = match state.events.next().await {
                    None => Err(StreamError::Truncated { events: state.index }.into()),
                    Some(Err(sseer::errors::EventStreamError::Transport(BodyError::Transport(e)))) => {
                        Err(StreamError::Transport(e).into())
                    }
                    Some(Err(sseer::errors::EventStreamError::Transport(BodyError::Idle(after)))) => {
                        Err(StreamError::Idle(after).into())
                    }
                    Some(Err(sseer::errors::EventStreamError::Utf8Error(e))) => {
                        Err(StreamError::Utf8(e).into())
                    }
                    Some(Ok(event)) => {
                        let index = state.index;
                        state.index += 1;
                        match interpret(&event, index) {
                            Event::Done => return None,
                            Event::Skip => continue,
                            Event::Item(item) => item,
                        }
                    }
                };
                // After an error there is nothing trustworthy left to read.
                state.finished = item.is_err();
                return Some((item, state));
            }
        });
        ChunkStream { inner: Box::pin(inner), request_id }
    }

    /// The request id the service sent with the response headers, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Reads the whole stream and joins the text of the first choice.
    ///
    /// ```no_run
    /// # async fn run(client: orq::Client) -> Result<(), orq::Error> {
    /// let text = client.deployments().stream("support-bot").send().await?.collect_text().await?;
    /// # let _ = text;
    /// # Ok(()) }
    /// ```
    pub async fn collect_text(self) -> Result<String, Error> {
        Ok(self.collect_message().await?.text)
    }

    /// Reads the whole stream and folds the chunks into the final message.
    pub async fn collect_message(mut self) -> Result<StreamedMessage, Error> {
        let mut message = StreamedMessage::default();
        while let Some(chunk) = self.next().await {
            message.push(chunk?);
        }
        Ok(message)
    }
}

impl Stream for ChunkStream {
    type Item = Result<StreamChunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// A streamed generation folded into one message (first choice).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct StreamedMessage {
    /// The generation id.
    pub id: Option<String>,
    /// The model that answered.
    pub model: Option<String>,
    /// The provider that served it.
    pub provider: Option<Provider>,
    /// All text, joined.
    pub text: String,
    /// Tool calls, in the order they arrived.
    pub tool_calls: Vec<ToolCall>,
    /// Why generation stopped, from the last chunk that said.
    pub finish_reason: Option<String>,
    /// Knowledge-base chunks the service reported.
    pub retrievals: Vec<Retrieval>,
    /// How many chunks arrived.
    pub chunks: usize,
}

impl StreamedMessage {
    /// Adds one chunk.
    pub fn push(&mut self, chunk: StreamChunk) {
        self.chunks += 1;
        if chunk.id.is_some() {
            self.id = chunk.id;
        }
        if chunk.model.is_some() {
            self.model = chunk.model;
        }
        if chunk.provider.is_some() {
            self.provider = chunk.provider;
        }
        self.retrievals.extend(chunk.retrievals);
        if let Some(choice) = chunk.choices.into_iter().next() {
            if let Some(message) = choice.message {
                if let Some(text) = message.content {
                    self.text.push_str(&text);
                }
                self.tool_calls.extend(message.tool_calls);
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
    }
}

/// What one SSE event means. Returned by value and consumed at once: boxing
/// the chunk would cost an allocation per event on the hot path.
#[allow(clippy::large_enum_variant)]
enum Event {
    Done,
    Skip,
    Item(Result<StreamChunk, Error>),
}

/// What one SSE event means.
fn interpret(event: &sseer::event::Event, index: usize) -> Event {
    let data: &str = &event.data;
    if &*event.event == "error" {
        return Event::Item(Err(error_event(data)));
    }
    let trimmed = data.trim();
    if trimmed == DONE {
        return Event::Done;
    }
    if trimmed.is_empty() {
        return Event::Skip;
    }
    // Errors sent as plain data events look like {"error": ...}; checking for the
    // word first keeps the normal path to a single parse.
    if trimmed.contains("\"error\"")
        && let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(trimmed)
        && object.contains_key("error")
        && !object.contains_key("choices")
    {
        return Event::Item(Err(error_event(trimmed)));
    }
    // The plain parse is the hot path; only a failure pays for tracking the path.
    if let Ok(chunk) = serde_json::from_str::<StreamChunk>(trimmed) {
        return Event::Item(Ok(chunk));
    }
    let mut deserializer = serde_json::Deserializer::from_str(trimmed);
    match serde_path_to_error::deserialize::<_, StreamChunk>(&mut deserializer) {
        Ok(chunk) => Event::Item(Ok(chunk)),
        Err(e) => Event::Item(Err(StreamError::Malformed {
            index,
            path: e.path().to_string(),
            message: e.inner().to_string(),
            excerpt: excerpt(trimmed.as_bytes(), 200),
        }
        .into())),
    }
}

/// An error event's data: `{"error": {"message", "code"}}`, `{"message", "code"}` or text.
fn error_event(data: &str) -> Error {
    let value: serde_json::Value = serde_json::from_str(data).unwrap_or(serde_json::Value::Null);
    let object = value.get("error").filter(|e| e.is_object()).unwrap_or(&value);
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    };
    let message = object
        .get("message")
        .and_then(text)
        .or_else(|| value.get("error").and_then(text))
        .unwrap_or_else(|| excerpt(data.trim().as_bytes(), 200));
    let code = object.get("code").and_then(text);
    StreamError::ErrorEvent { message, code }.into()
}

/// Turns CRLF and lone CR line ends into LF before the SSE parser sees them.
///
/// A parser that meets a CR at the end of a read must wait for the next byte to
/// tell CR from CRLF; a server that ends with `data: [DONE]\r\r` and keeps the
/// connection open would leave `[DONE]` unseen. Rewriting here settles each
/// line at its CR. Reads without a CR (the usual LF streams) pass through
/// without a copy.
fn lines_end_in_lf<S>(body: S) -> impl Stream<Item = Result<Bytes, BodyError>> + Send + Unpin + 'static
where
    S: Stream<Item = Result<Bytes, BodyError>> + Send + Unpin + 'static,
{
    body.scan(false, |after_cr, item| futures::future::ready(Some(item.map(|bytes| to_lf(after_cr, bytes)))))
}

/// One read of [`lines_end_in_lf`]; `after_cr` says the previous read ended in CR.
fn to_lf(after_cr: &mut bool, bytes: Bytes) -> Bytes {
    if !*after_cr && !bytes.contains(&b'\r') {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    for &byte in bytes.iter() {
        let skip = *after_cr && byte == b'\n';
        *after_cr = byte == b'\r';
        if skip {
            continue;
        }
        out.push(if byte == b'\r' { b'\n' } else { byte });
    }
    Bytes::from(out)
}

/// Fails the body with [`BodyError::Idle`] when no bytes arrive for `idle`.
fn with_idle_timeout(
    body: Body,
    idle: Option<Duration>,
) -> impl Stream<Item = Result<Bytes, BodyError>> + Send + Unpin + 'static {
    Box::pin(futures::stream::unfold(Some(body), move |body| async move {
        let mut body = body?;
        let next = match idle {
            Some(limit) => match tokio::time::timeout(limit, body.next()).await {
                Ok(next) => next,
                Err(_) => return Some((Err(BodyError::Idle(limit)), None)),
            },
            None => body.next().await,
        };
        match next? {
            Ok(bytes) => Some((Ok(bytes), Some(body))),
            Err(e) => Some((Err(BodyError::Transport(e)), None)),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(parts: Vec<&'static [u8]>) -> ChunkStream {
        let body: ByteStream =
            Box::pin(futures::stream::iter(parts.into_iter().map(|p| Ok(Bytes::from_static(p)))));
        ChunkStream::new(body, None, None)
    }

    async fn items(stream: ChunkStream) -> Vec<Result<StreamChunk, Error>> {
        stream.collect().await
    }

    const BODY: &[u8] = b": keep-alive\r\n\
        data: {\"id\":\"a\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\r\n\r\n\
        event: message\nid: 7\nretry: 10\n\
        data: {\"choices\":[{\"index\":0,\n\
        data: \"message\":{\"role\":\"assistant\",\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n\
        data: [DONE]\r\r";

    #[tokio::test]
    async fn parses_every_split_of_the_body() {
        for split in 0..=BODY.len() {
            let (a, b) = BODY.split_at(split);
            let stream = stream_of(vec![a, b]);
            let message = stream.collect_message().await.unwrap_or_else(|e| panic!("split {split}: {e}"));
            assert_eq!(message.text, "Hello", "split {split}");
            assert_eq!(message.finish_reason.as_deref(), Some("stop"));
            assert_eq!(message.chunks, 2);
        }
    }

    #[tokio::test]
    async fn a_body_without_done_is_an_error() {
        for end in [BODY.len() - 12, BODY.len() - 3, 40, 0] {
            let got = items(stream_of(vec![&BODY[..end]])).await;
            let last = got.last().expect("at least the error item");
            assert!(
                matches!(last, Err(Error::Stream(StreamError::Truncated { .. }))),
                "cut at {end}: {last:?}"
            );
        }
    }

    #[tokio::test]
    async fn error_events_and_bad_data_are_error_items() {
        let got =
            items(stream_of(vec![b"event: error\ndata: {\"message\":\"quota\",\"code\":\"429\"}\n\n"])).await;
        assert!(
            matches!(&got[..], [Err(Error::Stream(StreamError::ErrorEvent { message, code: Some(code) }))]
            if message == "quota" && code == "429")
        );

        let got = items(stream_of(vec![b"data: {\"error\":{\"message\":\"boom\"}}\n\n"])).await;
        assert!(
            matches!(&got[..], [Err(Error::Stream(StreamError::ErrorEvent { message, .. }))] if message == "boom")
        );

        let got = items(stream_of(vec![b"data: {\"choices\": 5}\n\n"])).await;
        assert!(
            matches!(&got[..], [Err(Error::Stream(StreamError::Malformed { index: 0, path, .. }))] if path == "choices")
        );
    }

    #[test]
    fn line_ends_become_lf_across_reads() {
        let mut after_cr = false;
        let reads: Vec<&[u8]> = vec![b"a\r", b"\nb\r\r", b"c\r", b"d\n"];
        let joined: Vec<u8> =
            reads.into_iter().flat_map(|r| to_lf(&mut after_cr, Bytes::from_static(r))).collect();
        assert_eq!(joined, b"a\nb\n\nc\nd\n");
        let plain = Bytes::from_static(b"data: x\n\n");
        assert_eq!(to_lf(&mut false, plain.clone()).as_ptr(), plain.as_ptr(), "no copy without CR");
    }

    #[tokio::test]
    async fn nothing_is_read_after_done() {
        let got = items(stream_of(vec![b"data: [DONE]\n\ndata: {\"choices\": 5}\n\n"])).await;
        assert!(got.is_empty(), "{got:?}");
    }
}
