//! Server-sent events to chunks: the stream returned by
//! `client.deployments().stream(..).send()`.
//!
//! One hand-written `Stream` reads the body, splits it into SSE lines (LF,
//! CRLF or lone CR; comments, `data`, `event`, `id`, `retry`), and applies our
//! rules: `[DONE]` ends the stream, an error event is an error item, and a body
//! that ends before `[DONE]` is an error item, never a short success.
//!
//! Why not an SSE crate: every line must settle at its line end (a lone CR
//! before an open connection's silence must not wait for the next byte), an
//! event's size must be capped while it is still arriving, and the event's data
//! is decoded straight from the read it arrived in. The `stream` bench compares
//! this parser with `sseer` and with a hand-written minimal client.
//!
//! Limits, each with a typed error: an event (or one unfinished line) may hold
//! at most [`DEFAULT_MAX_EVENT_SIZE`] bytes unless configured otherwise, the
//! body may stay silent for the idle timeout, and an optional deadline bounds
//! the whole stream (a server that only sends keep-alive comments never ends
//! on its own).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::FusedStream;
use futures::{Stream, StreamExt};
use orq_api::types::{Provider, Retrieval, StreamChunk, Telemetry, ToolCall, Usage};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::{Instant, Sleep};

use crate::error::{Error, StreamError, TransportError, excerpt};
use crate::telemetry::StreamTelemetry;

/// The largest event (the bytes of its lines) a stream accepts by default: 16 MiB.
///
/// A chunk is a few hundred bytes to a few kilobytes; the limit only stops a
/// broken or hostile server from filling memory with one endless line.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 << 20;

/// The end-of-stream marker the service sends as the last event's data.
const DONE: &str = "[DONE]";
/// A UTF-8 byte-order mark, which may open the stream and is dropped.
const BOM: &[u8] = "\u{feff}".as_bytes();
/// Buffers that grew past this for one large event are given back afterwards.
const KEEP_CAPACITY: usize = 64 * 1024;

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send + Sync>>;
type Body = Pin<Box<dyn Stream<Item = Result<Bytes, TransportError>> + Send>>;

/// The chunks of a streamed generation, as they arrive.
///
/// A `Stream` of `Result<StreamChunk, Error>`. It ends (`None`) after the
/// service's `[DONE]`; if the connection ends before that, or sends an error,
/// the last item is an `Err`. After its end it returns `None` forever
/// ([`FusedStream`]). Dropping it closes the connection.
///
/// Its timers (idle timeout, deadline) need a Tokio runtime with the time
/// driver enabled; polling a stream that has one outside such a runtime panics.
#[must_use = "a stream does nothing unless polled"]
pub struct ChunkStream {
    body: Body,
    /// The current read of the body, parsed up to `pos`.
    read: Bytes,
    pos: usize,
    parser: Parser,
    idle: Option<Timer>,
    deadline: Option<Timer>,
    request_id: Option<String>,
    finished: bool,
    /// The call's span and what it records, when a subscriber wants it:
    /// `None` costs the hot path one check per item.
    telemetry: Option<StreamTelemetry>,
}

impl std::fmt::Debug for ChunkStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkStream")
            .field("request_id", &self.request_id)
            .field("events", &self.parser.events)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl ChunkStream {
    pub(crate) fn new(
        body: ByteStream,
        idle: Option<Duration>,
        max_event_size: usize,
        deadline: Option<Duration>,
        request_id: Option<String>,
    ) -> Self {
        let body = body.map(|item| item.map_err(|e| TransportError::from(e.without_url())));
        let mut stream =
            ChunkStream::from_parts(Box::pin(body), idle, request_id).max_event_size(max_event_size);
        stream.deadline = deadline.and_then(Timer::new);
        stream
    }

    /// Chunks from any server-sent-event body: a recorded stream, a proxy's,
    /// a test fixture. The same rules apply as to a live stream: `[DONE]` ends
    /// it, and a body that ends before `[DONE]` ends with an error item.
    /// `idle` fails the stream when the body yields nothing for that long.
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
        ChunkStream::from_parts(Box::pin(body), idle, None)
    }

    fn from_parts(body: Body, idle: Option<Duration>, request_id: Option<String>) -> Self {
        ChunkStream {
            body,
            read: Bytes::new(),
            pos: 0,
            parser: Parser::new(DEFAULT_MAX_EVENT_SIZE),
            idle: idle.and_then(Timer::new),
            deadline: None,
            request_id,
            finished: false,
            telemetry: None,
        }
    }

    /// Hands the call's span to the stream, which records on it and ends it.
    pub(crate) fn with_telemetry(mut self, telemetry: Option<StreamTelemetry>) -> Self {
        self.telemetry = telemetry;
        self
    }

    /// Sets the largest event this stream accepts, in bytes of its lines
    /// (default [`DEFAULT_MAX_EVENT_SIZE`]; the client's setting is
    /// [`ClientBuilder::max_event_size`](crate::ClientBuilder::max_event_size)).
    /// A larger event, or a longer unfinished line, ends the stream with
    /// [`StreamError::EventTooLarge`] before more than this is buffered.
    pub fn max_event_size(mut self, bytes: usize) -> Self {
        self.parser.max_event_size = bytes;
        self
    }

    /// Ends the stream with [`StreamError::Deadline`] if it has not finished
    /// `after` from now, whatever the server keeps sending (the client's
    /// setting is [`ClientBuilder::stream_deadline`](crate::ClientBuilder::stream_deadline)).
    pub fn deadline(mut self, after: Duration) -> Self {
        self.deadline = Timer::new(after);
        self
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

    /// The next read of the body, or why there is none.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, StreamError>> {
        match self.body.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(read))) => {
                if self.idle.is_some() || self.deadline.is_some() {
                    let now = Instant::now();
                    if let Some(idle) = &mut self.idle {
                        idle.at = now.checked_add(idle.limit).unwrap_or(idle.at);
                    }
                    // A body that is never pending never polls the timer.
                    if let Some(deadline) = &self.deadline
                        && now >= deadline.at
                    {
                        return Poll::Ready(Err(StreamError::Deadline(deadline.limit)));
                    }
                }
                Poll::Ready(Ok(Some(read)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Err(StreamError::Transport(e))),
            Poll::Ready(None) => Poll::Ready(Ok(None)),
            Poll::Pending => {
                if let Some(deadline) = &mut self.deadline
                    && deadline.poll_expired(cx)
                {
                    return Poll::Ready(Err(StreamError::Deadline(deadline.limit)));
                }
                if let Some(idle) = &mut self.idle
                    && idle.poll_expired(cx)
                {
                    return Poll::Ready(Err(StreamError::Idle(idle.limit)));
                }
                Poll::Pending
            }
        }
    }

    /// Ends the stream and lets go of the connection, buffers and timers.
    fn finish(&mut self) {
        self.finished = true;
        self.body = Box::pin(futures::stream::empty());
        self.read = Bytes::new();
        self.parser = Parser::new(self.parser.max_event_size);
        self.idle = None;
        self.deadline = None;
    }
}

impl Stream for ChunkStream {
    type Item = Result<StreamChunk, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = this.poll_item(cx);
        if let Some(telemetry) = &mut this.telemetry {
            match &item {
                Poll::Ready(Some(Ok(chunk))) => telemetry.on_chunk(chunk),
                Poll::Ready(Some(Err(error))) => {
                    telemetry.end(Some(error));
                    this.telemetry = None;
                }
                Poll::Ready(None) => {
                    telemetry.end(None);
                    this.telemetry = None;
                }
                Poll::Pending => {}
            }
        }
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.finished { (0, Some(0)) } else { (0, None) }
    }
}

impl ChunkStream {
    /// The next item: [`Stream::poll_next`] without the telemetry. Inlined,
    /// so the chunk is built where `poll_next` returns it.
    #[inline(always)]
    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<StreamChunk, Error>>> {
        let this = self;
        if this.finished {
            return Poll::Ready(None);
        }
        loop {
            match this.parser.next_event(&this.read, &mut this.pos) {
                Ok(true) => {
                    let event = interpret(this.parser.error_event, this.parser.data(&this.read));
                    // The usual event, a chunk with choices, is decoded straight into the
                    // item returned: through `serde_json::from_str` and `decode` the
                    // 400-byte chunk would be copied twice more.
                    if let Event::Chunk(data) = event {
                        let mut json = serde_json::Deserializer::from_str(data);
                        if let Ok(chunk) = StreamChunk::deserialize(&mut json)
                            && !chunk.choices.is_empty()
                            && json.end().is_ok()
                        {
                            this.parser.clear_event();
                            return Poll::Ready(Some(Ok(chunk)));
                        }
                    }
                    let item = match event {
                        Event::Chunk(data) => decode(data, this.parser.events),
                        Event::ServiceError(data) => Err(service_error(data)),
                        Event::Utf8(e) => Err(StreamError::Utf8(e).into()),
                        Event::Skip => {
                            this.parser.clear_event();
                            continue;
                        }
                        Event::Done => {
                            this.finish();
                            return Poll::Ready(None);
                        }
                    };
                    this.parser.clear_event();
                    // After an error there is nothing trustworthy left to read.
                    if item.is_err() {
                        this.finish();
                    }
                    return Poll::Ready(Some(item));
                }
                Ok(false) => {}
                Err(error) => {
                    this.finish();
                    return Poll::Ready(Some(Err(error.into())));
                }
            }
            this.parser.end_of_read(&this.read);
            match ready!(this.poll_read(cx)) {
                Ok(Some(read)) => {
                    this.read = read;
                    this.pos = 0;
                }
                Ok(None) => {
                    let events = this.parser.events;
                    this.finish();
                    return Poll::Ready(Some(Err(StreamError::Truncated { events }.into())));
                }
                Err(error) => {
                    this.finish();
                    return Poll::Ready(Some(Err(error.into())));
                }
            }
        }
    }
}

impl FusedStream for ChunkStream {
    fn is_terminated(&self) -> bool {
        self.finished
    }
}

/// A limit on time: fires once `at` has passed. Its `Sleep` is made on the
/// first wait and re-armed only when it fires before a moved `at`, so a busy
/// stream touches no timer per read.
struct Timer {
    limit: Duration,
    at: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Timer {
    /// A timer `limit` from now; `None` when that is beyond what time can say (no limit).
    fn new(limit: Duration) -> Option<Timer> {
        Some(Timer { limit, at: Instant::now().checked_add(limit)?, sleep: None })
    }

    /// Whether `at` has passed; if not, the task is woken when it may have.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let at = self.at;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        loop {
            if sleep.as_mut().poll(cx).is_pending() {
                return false;
            }
            if sleep.deadline() >= at {
                return true;
            }
            sleep.as_mut().reset(at);
        }
    }
}

/// SSE lines to events. Of the fields only `data` and `event` matter here;
/// `id`, `retry`, unknown fields and comments are read and dropped.
struct Parser {
    /// The start of a line whose end has not arrived yet.
    line: Vec<u8>,
    /// The last read ended in CR: an LF at the start of the next one ends nothing.
    after_cr: bool,
    /// No line has ended yet: a byte-order mark there is dropped.
    at_start: bool,
    /// Bytes of the current event's complete lines.
    event_bytes: usize,
    max_event_size: usize,
    /// Where the current event's data is.
    data: Data,
    /// The data, when it is not a slice of the current read.
    owned: Vec<u8>,
    /// The current event is named `error`.
    error_event: bool,
    /// Events completed so far.
    events: usize,
}

/// Where an event's data is: usually one `data` line inside the current read,
/// decoded from there without a copy.
#[derive(Clone, Copy)]
enum Data {
    None,
    InRead(usize, usize),
    Owned,
}

impl Parser {
    fn new(max_event_size: usize) -> Self {
        Parser {
            line: Vec::new(),
            after_cr: false,
            at_start: true,
            event_bytes: 0,
            max_event_size,
            data: Data::None,
            owned: Vec::new(),
            error_event: false,
            events: 0,
        }
    }

    /// Reads lines of `read` from `*pos` until an event with data is complete
    /// (`true`) or the read is used up (`false`).
    fn next_event(&mut self, read: &[u8], pos: &mut usize) -> Result<bool, StreamError> {
        if let Some((data, end)) = self.whole_data_event(read, *pos) {
            self.check_size(data.end - *pos)?;
            self.at_start = false;
            self.data = Data::InRead(data.start, data.end);
            *pos = end;
            return Ok(true);
        }
        while *pos < read.len() {
            if self.after_cr {
                self.after_cr = false;
                if read[*pos] == b'\n' {
                    *pos += 1;
                    continue;
                }
            }
            let start = *pos;
            // The blank line that ends an event needs no scan.
            let found = match read[start] {
                b'\n' | b'\r' => Some(0),
                _ => memchr::memchr2(b'\n', b'\r', &read[start..]),
            };
            let Some(found) = found else {
                self.check_size(self.line.len() + read.len() - start)?;
                self.line.extend_from_slice(&read[start..]);
                *pos = read.len();
                return Ok(false);
            };
            let end = start + found;
            *pos = end + 1;
            // A CR ends its line at once; an LF right after it is part of the same line end.
            if read[end] == b'\r' {
                match read.get(end + 1) {
                    Some(b'\n') => *pos += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let complete = if self.line.is_empty() {
                self.check_size(end - start)?;
                self.on_line(read, &read[start..end], Some(start))
            } else {
                self.check_size(self.line.len() + end - start)?;
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&read[start..end]);
                let complete = self.on_line(read, &line, None);
                recycle(&mut line);
                self.line = line;
                complete
            };
            if complete {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The usual event, `data: ...` and a blank line, when it lies whole in
    /// `read` from `pos` and nothing of an event came before it: where its
    /// data is and where the event ends, found with one scan. Anything else
    /// goes line by line.
    fn whole_data_event(&self, read: &[u8], pos: usize) -> Option<(std::ops::Range<usize>, usize)> {
        if self.after_cr || self.event_bytes != 0 || !self.line.is_empty() || !matches!(self.data, Data::None)
        {
            return None;
        }
        let rest = read.get(pos..)?.strip_prefix(b"data:")?;
        let start = pos + 5 + usize::from(rest.first() == Some(&b' '));
        let end = start + memchr::memchr2(b'\n', b'\r', &read[start..])?;
        (read[end] == b'\n' && read.get(end + 1) == Some(&b'\n')).then_some((start..end, end + 2))
    }

    /// Fails when the current event plus a line of `line` bytes exceeds the limit.
    fn check_size(&self, line: usize) -> Result<(), StreamError> {
        if self.event_bytes.saturating_add(line) > self.max_event_size {
            return Err(StreamError::EventTooLarge { limit: self.max_event_size });
        }
        Ok(())
    }

    /// One complete line; `at` is its offset in `read` when it lies there
    /// whole. Returns whether it completes an event with data.
    fn on_line(&mut self, read: &[u8], mut line: &[u8], mut at: Option<usize>) -> bool {
        if self.at_start {
            self.at_start = false;
            if let Some(rest) = line.strip_prefix(BOM) {
                line = rest;
                at = at.map(|at| at + BOM.len());
            }
        }
        if line.is_empty() {
            self.event_bytes = 0;
            if matches!(self.data, Data::None) {
                // No data: nothing to dispatch, and the event name is forgotten.
                self.error_event = false;
                return false;
            }
            return true;
        }
        self.event_bytes += line.len();
        // Most lines are data lines: no scan for their colon.
        let colon = if line.starts_with(b"data:") { Some(4) } else { memchr::memchr(b':', line) };
        let (name, value_from) = match colon {
            Some(0) => return false,
            Some(colon) => (&line[..colon], colon + 1 + usize::from(line.get(colon + 1) == Some(&b' '))),
            None => (line, line.len()),
        };
        let value = &line[value_from..];
        match name {
            b"data" => self.push_data(read, value, at.map(|at| at + value_from)),
            b"event" => self.error_event = value == b"error",
            _ => {}
        }
        false
    }

    /// Adds a `data` line; lines of one event are joined with LF.
    fn push_data(&mut self, read: &[u8], value: &[u8], at: Option<usize>) {
        match (self.data, at) {
            (Data::None, Some(at)) => self.data = Data::InRead(at, at + value.len()),
            (Data::None, None) => {
                self.owned.clear();
                self.owned.extend_from_slice(value);
                self.data = Data::Owned;
            }
            (Data::InRead(start, end), _) => {
                self.owned.clear();
                self.owned.extend_from_slice(&read[start..end]);
                self.owned.push(b'\n');
                self.owned.extend_from_slice(value);
                self.data = Data::Owned;
            }
            (Data::Owned, _) => {
                self.owned.push(b'\n');
                self.owned.extend_from_slice(value);
            }
        }
    }

    /// Copies data that still points into `read`, before the next read replaces it.
    fn end_of_read(&mut self, read: &[u8]) {
        if let Data::InRead(start, end) = self.data {
            self.owned.clear();
            self.owned.extend_from_slice(&read[start..end]);
            self.data = Data::Owned;
        }
    }

    /// The completed event's data.
    fn data<'a>(&'a self, read: &'a [u8]) -> &'a [u8] {
        match self.data {
            Data::None => &[],
            Data::InRead(start, end) => &read[start..end],
            Data::Owned => &self.owned,
        }
    }

    /// Starts the next event.
    fn clear_event(&mut self) {
        self.events += 1;
        self.data = Data::None;
        self.error_event = false;
        recycle(&mut self.owned);
    }
}

/// Empties a buffer, giving back the memory one large event made it take.
fn recycle(buffer: &mut Vec<u8>) {
    buffer.clear();
    buffer.shrink_to(KEEP_CAPACITY);
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
    /// The model's reasoning, joined.
    pub reasoning: String,
    /// The provider's signature of the reasoning, from the last chunk that had one.
    pub reasoning_signature: Option<String>,
    /// Reasoning the provider withheld, encrypted, joined.
    pub redacted_reasoning: String,
    /// Token counts, from the last chunk that had them (the final one, when
    /// the request asked with `include_usage`).
    pub usage: Option<Usage>,
    /// Where the generation is found in orq.ai's traces.
    pub telemetry: Option<Telemetry>,
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
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        if chunk.telemetry.is_some() {
            self.telemetry = chunk.telemetry;
        }
        self.retrievals.extend(chunk.retrievals);
        if let Some(choice) = chunk.choices.into_iter().next() {
            if let Some(message) = choice.message {
                if let Some(text) = message.content {
                    self.text.push_str(&text);
                }
                if let Some(reasoning) = message.reasoning {
                    self.reasoning.push_str(&reasoning);
                }
                if message.reasoning_signature.is_some() {
                    self.reasoning_signature = message.reasoning_signature;
                }
                if let Some(redacted) = message.redacted_reasoning {
                    self.redacted_reasoning.push_str(&redacted);
                }
                self.tool_calls.extend(message.tool_calls);
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
    }
}

/// What one SSE event means. It only points into the data, so the parser can
/// move on as soon as the chunk is decoded.
#[derive(Clone, Copy)]
enum Event<'a> {
    Done,
    Skip,
    /// Data to decode as a chunk.
    Chunk(&'a str),
    /// The data of an event named `error`.
    ServiceError(&'a str),
    Utf8(std::str::Utf8Error),
}

/// What one SSE event means, from whether it is named `error` and its data.
fn interpret(named_error: bool, data: &[u8]) -> Event<'_> {
    // SIMD validation: half the work of `std`'s on a 339-byte chunk, far
    // less on larger ones. `std` again only to say where invalid data is invalid.
    let data = match simdutf8::basic::from_utf8(data) {
        Ok(data) => data,
        Err(_) => match std::str::from_utf8(data) {
            Ok(data) => data,
            Err(e) => return Event::Utf8(e),
        },
    };
    if named_error {
        return Event::ServiceError(data);
    }
    // A chunk starts with `{`; only other data pays for trimming.
    if !data.starts_with('{') {
        let trimmed = data.trim();
        if trimmed == DONE {
            return Event::Done;
        }
        if trimmed.is_empty() {
            return Event::Skip;
        }
    }
    Event::Chunk(data)
}

/// An event's data as a chunk, or as the error it carries or is. `poll_next`
/// takes the usual chunk itself; this reads the rest (a chunk without choices,
/// an error object, malformed data).
fn decode(data: &str, index: usize) -> Result<StreamChunk, Error> {
    match serde_json::from_str::<StreamChunk>(data) {
        // A chunk with choices is a chunk, whatever else it carries.
        Ok(chunk) if !chunk.choices.is_empty() => Ok(chunk),
        // Without choices, an error object decodes as an empty chunk too: look at its keys.
        Ok(chunk) => error_object(data).map_or(Ok(chunk), Err),
        Err(fast) => Err(error_object(data).unwrap_or_else(|| malformed(data, index, fast))),
    }
}

/// `data` as the service's error when it is a JSON object with a non-null
/// `error` and no choices (`"error": null` says there is none). Keys are
/// compared after JSON unescaping (`"\u0065rror"` is `error`).
fn error_object(data: &str) -> Option<Error> {
    let value: Value = serde_json::from_str(data).ok()?;
    let object = value.as_object()?;
    let no_choices = object.get("choices").is_none_or(|c| c.as_array().is_some_and(Vec::is_empty));
    let error = object.get("error").is_some_and(|error| !error.is_null());
    (error && no_choices).then(|| service_error_from(data, &value))
}

/// Why `data` is not a chunk: the path that failed, or the trailing data after it.
fn malformed(data: &str, index: usize, fast: serde_json::Error) -> Error {
    let mut deserializer = serde_json::Deserializer::from_str(data);
    let (path, message) = match serde_path_to_error::deserialize::<_, StreamChunk>(&mut deserializer) {
        Err(e) => (e.path().to_string(), e.inner().to_string()),
        Ok(_) => (".".to_string(), deserializer.end().err().unwrap_or(fast).to_string()),
    };
    StreamError::Malformed { index, path, message, excerpt: excerpt(data.as_bytes(), 200) }.into()
}

/// An error event's data: `{"error": {"message", "code"}}`, `{"message", "code"}` or text.
fn service_error(data: &str) -> Error {
    service_error_from(data, &serde_json::from_str(data).unwrap_or(Value::Null))
}

/// [`service_error`] for data already parsed into `value`.
fn service_error_from(data: &str, value: &Value) -> Error {
    let object = value.get("error").filter(|e| e.is_object()).unwrap_or(value);
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    fn stream_of(parts: Vec<&'static [u8]>) -> ChunkStream {
        ChunkStream::from_body(futures::stream::iter(parts.into_iter().map(Ok::<_, std::io::Error>)), None)
    }

    async fn items(stream: ChunkStream) -> Vec<Result<StreamChunk, Error>> {
        stream.collect().await
    }

    fn chunk(text: &str) -> String {
        format!(
            r#"{{"id":"g","choices":[{{"index":0,"message":{{"role":"assistant","content":"{text}"}}}}]}}"#
        )
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

    #[tokio::test]
    async fn invalid_utf8_inside_a_chunk_is_an_error_that_says_where() {
        let body: &[u8] =
            b"data: {\"choices\":[{\"index\":0,\"message\":{\"content\":\"ok \xc3\x28\"}}]}\n\n";
        let got = items(stream_of(vec![body])).await;
        let [Err(Error::Stream(StreamError::Utf8(e)))] = &got[..] else { panic!("{got:?}") };
        assert_eq!(e.valid_up_to(), body.iter().position(|&b| b == 0xc3).unwrap() - "data: ".len());
    }

    #[tokio::test]
    async fn a_lone_cr_ends_its_line_without_waiting_for_the_next_byte() {
        // The connection stays open after `[DONE]\r\r`: the stream must end now.
        let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(format!(
            "data: {}\r\rdata: [DONE]\r\r",
            chunk("a")
        )))])
        .chain(futures::stream::pending());
        let mut stream = ChunkStream::from_body(body, None);
        assert_eq!(stream.next().now_or_never().flatten().unwrap().unwrap().text(), "a");
        assert!(matches!(stream.next().now_or_never(), Some(None)), "[DONE] is seen at its CR");
    }

    #[tokio::test]
    async fn nothing_is_read_after_done() {
        let got = items(stream_of(vec![b"data: [DONE]\n\ndata: {\"choices\": 5}\n\n"])).await;
        assert!(got.is_empty(), "{got:?}");
    }

    #[tokio::test]
    async fn data_after_the_json_value_is_an_error_that_names_its_position() {
        let first = chunk("a");
        for data in [format!("{first}{first}"), format!("{first} x"), format!("{first}}}")] {
            let got = items(ChunkStream::from_body(
                futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(format!("data: {data}\n\n")))]),
                None,
            ))
            .await;
            match &got[..] {
                [Err(Error::Stream(StreamError::Malformed { index: 0, message, .. }))] => {
                    let column = format!("column {}", first.len() + 1 + usize::from(data.contains(" x")));
                    assert!(
                        message.contains("trailing characters") && message.contains(&column),
                        "{message}"
                    );
                }
                other => panic!("{data}: {other:?}"),
            }
        }
        // Trailing whitespace is not data.
        let got = items(ChunkStream::from_body(
            futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(format!(
                "data: {} \t\n\ndata: [DONE]\n\n",
                chunk("a")
            )))]),
            None,
        ))
        .await;
        assert!(matches!(&got[..], [Ok(chunk)] if chunk.text() == "a"), "{got:?}");
    }

    #[test]
    fn decoding_a_response_rejects_data_after_the_value() {
        let e = crate::error::decode::<serde_json::Map<String, Value>>("invoke", b"{}}").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("trailing characters at line 1 column 3"), "{text}");
        assert!(crate::error::decode::<serde_json::Map<String, Value>>("invoke", b" {} \n").is_ok());
    }

    #[tokio::test]
    async fn a_null_error_key_is_no_error() {
        // A chunk without choices whose `error` is null: an empty chunk, then the end.
        let got = items(stream_of(vec![b"data: {\"id\":\"g\",\"error\":null}\n\ndata: [DONE]\n\n"])).await;
        assert!(
            matches!(&got[..], [Ok(chunk)] if chunk.id.as_deref() == Some("g") && chunk.choices.is_empty()),
            "{got:?}"
        );
        // With choices too.
        let body = format!("data: {}\n\ndata: [DONE]\n\n", chunk("hi").replacen('{', "{\"error\":null,", 1));
        let got = items(stream_of(vec![Box::leak(body.into_bytes().into_boxed_slice())])).await;
        assert!(matches!(&got[..], [Ok(chunk)] if chunk.text() == "hi"), "{got:?}");
    }

    #[tokio::test]
    async fn an_error_object_is_recognised_by_its_key_however_it_is_written() {
        for data in [
            r#"{"\u0065rror":{"message":"boom"}}"#,
            r#"{"err\u006fr":{"message":"boom"},"choices":[]}"#,
            r#"{"error":{"message":"boom"},"id":5}"#,
        ] {
            let body = Bytes::from(format!("data: {data}\n\n"));
            let got =
                items(ChunkStream::from_body(futures::stream::iter([Ok::<_, std::io::Error>(body)]), None))
                    .await;
            assert!(
                matches!(&got[..], [Err(Error::Stream(StreamError::ErrorEvent { message, .. }))] if message == "boom"),
                "{data}: {got:?}"
            );
        }
        // An "error" inside a chunk's text is text.
        let body = Bytes::from(format!("data: {}\n\ndata: [DONE]\n\n", chunk(r#"\"error\""#)));
        let got =
            items(ChunkStream::from_body(futures::stream::iter([Ok::<_, std::io::Error>(body)]), None)).await;
        assert!(matches!(&got[..], [Ok(chunk)] if chunk.text() == "\"error\""), "{got:?}");
    }

    #[tokio::test]
    async fn a_finished_stream_returns_none_forever() {
        for body in [&b"data: [DONE]\n\n"[..], b"data: {\"choices\": 5}\n\n", b"data: {}\n\n", b""] {
            let mut stream = stream_of(vec![body]);
            assert!(!stream.is_terminated());
            while stream.next().await.is_some() {}
            assert!(stream.is_terminated());
            for _ in 0..3 {
                assert!(stream.next().await.is_none());
            }
            assert_eq!(stream.size_hint(), (0, Some(0)));
        }
    }

    #[tokio::test]
    async fn an_endless_line_fails_at_the_limit_without_buffering_it() {
        // An infinite body: only a bounded buffer lets this test end.
        let piece = Bytes::from(vec![b'a'; 64 * 1024]);
        let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"data: "))])
            .chain(futures::stream::repeat_with(move || Ok(piece.clone())));
        let got = items(ChunkStream::from_body(body, None).max_event_size(1 << 20)).await;
        assert!(
            matches!(&got[..], [Err(Error::Stream(StreamError::EventTooLarge { limit: 1048576 }))]),
            "{got:?}"
        );
        let text = got[0].as_ref().unwrap_err().to_string();
        assert!(text.contains("1048576 bytes") && text.contains("max_event_size"), "{text}");
    }

    #[tokio::test]
    async fn a_one_line_event_read_whole_is_held_to_the_limit_too() {
        // 100 bytes of line, whole in one read with its blank line.
        let event = format!("data: {}\n\n", chunk(&"x".repeat(100 - 6 - chunk("").len())));
        assert_eq!(event.len(), 102);
        let body = |limit| {
            let pieces = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(event.clone()))]);
            ChunkStream::from_body(pieces, None).max_event_size(limit)
        };
        let got = items(body(99)).await;
        assert!(
            matches!(&got[..], [Err(Error::Stream(StreamError::EventTooLarge { limit: 99 }))]),
            "{got:?}"
        );
        let got = items(body(100)).await;
        assert!(
            matches!(&got[..], [Ok(_), Err(Error::Stream(StreamError::Truncated { events: 1 }))]),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn an_event_of_many_lines_counts_them_all() {
        let line = format!("data: {}\n", "x".repeat(94));
        let event = |lines: usize| Bytes::from(format!("{}\n", line.repeat(lines)));
        // 10 lines of 100 bytes: over a 999-byte limit, within a 1000-byte one.
        let over = futures::stream::iter([Ok::<_, std::io::Error>(event(10))]);
        let got = items(ChunkStream::from_body(over, None).max_event_size(999)).await;
        assert!(
            matches!(&got[..], [Err(Error::Stream(StreamError::EventTooLarge { limit: 999 }))]),
            "{got:?}"
        );
        let within = futures::stream::iter([event(10), event(10)].map(Ok::<_, std::io::Error>));
        let got = items(ChunkStream::from_body(within, None).max_event_size(1000)).await;
        assert!(matches!(&got[..], [Err(Error::Stream(StreamError::Malformed { index: 0, .. }))]), "{got:?}");
    }

    #[tokio::test]
    async fn the_deadline_ends_a_stream_of_keep_alives() {
        let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(format!(
            "data: {}\n\n",
            chunk("a")
        )))])
        .chain(futures::stream::pending());
        let started = Instant::now();
        let stream = ChunkStream::from_body(body, None).deadline(Duration::from_millis(50));
        let got =
            tokio::time::timeout(Duration::from_secs(30), items(stream)).await.expect("the deadline fires");
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert!(matches!(&got[..], [Ok(_), Err(Error::Stream(StreamError::Deadline(_)))]), "{got:?}");

        // A body that is never pending is checked at each read.
        let keep_alives =
            futures::stream::repeat_with(|| Ok::<_, std::io::Error>(Bytes::from_static(b": ping\n\n")));
        let stream = ChunkStream::from_body(keep_alives, None).deadline(Duration::from_millis(20));
        let got =
            tokio::time::timeout(Duration::from_secs(30), items(stream)).await.expect("the deadline fires");
        assert!(matches!(&got[..], [Err(Error::Stream(StreamError::Deadline(_)))]), "{got:?}");
    }

    /// A small deterministic generator (SplitMix64), so a failure names its seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// A generated body and, when it is valid, the text it must yield.
    fn generated_body(rng: &mut Rng) -> (Vec<u8>, Option<String>) {
        let eol: &[u8] = [&b"\n"[..], b"\r\n", b"\r"][rng.below(3)];
        let mut body = Vec::new();
        let mut text = String::new();
        let mut valid = true;
        if rng.below(4) == 0 {
            body.extend_from_slice(BOM);
        }
        let line = |body: &mut Vec<u8>, content: &[u8]| {
            body.extend_from_slice(content);
            body.extend_from_slice(eol);
        };
        for i in 0..1 + rng.below(5) {
            let token = format!("t{i}");
            match rng.below(12) {
                0 => line(&mut body, b": keep-alive"),
                1 => line(&mut body, b"id: 7"),
                2 => line(&mut body, b"retry: 10"),
                3 => line(&mut body, b"event: message"),
                4 => {
                    // One chunk over two data lines.
                    let data = chunk(&token);
                    let (a, b) = data.split_at(data.find("\"choices\"").unwrap());
                    line(&mut body, format!("data: {a}").as_bytes());
                    line(&mut body, format!("data:{b}").as_bytes());
                    line(&mut body, b"");
                    text.push_str(&token);
                }
                5 => {
                    valid = false;
                    match rng.below(6) {
                        0 => line(&mut body, format!("data: {}{}", chunk("x"), chunk("y")).as_bytes()),
                        1 => line(&mut body, br#"data: {"\u0065rror":{"message":"m"}}"#),
                        2 => line(&mut body, b"event: error\ndata: boom"),
                        3 => line(&mut body, b"data: {\"choices\": 5}"),
                        4 => line(&mut body, b"data: \xff\xfe"),
                        _ => line(&mut body, b"data: {\"choices\":["),
                    }
                    line(&mut body, b"");
                }
                _ => {
                    line(&mut body, format!("data: {}", chunk(&token)).as_bytes());
                    line(&mut body, b"");
                    text.push_str(&token);
                }
            }
        }
        match rng.below(6) {
            0 => {
                valid = false;
                let cut = rng.below(body.len() + 1);
                body.truncate(cut);
            }
            1 => valid = false,
            _ => {
                line(&mut body, b"data: [DONE]");
                line(&mut body, b"");
            }
        }
        (body, valid.then_some(text))
    }

    /// Every item of a stream over `pieces`, printed, and the text of its chunks;
    /// checks that the stream stays ended.
    fn outcome(pieces: Vec<Vec<u8>>) -> (Vec<String>, String) {
        let body = futures::stream::iter(pieces.into_iter().map(|p| Ok::<_, std::io::Error>(Bytes::from(p))));
        let mut stream = ChunkStream::from_body(body, None);
        let items: Vec<_> = futures::executor::block_on_stream(&mut stream).collect();
        assert!(stream.is_terminated() && stream.next().now_or_never().is_some_and(|next| next.is_none()));
        let text = items.iter().filter_map(|item| item.as_ref().ok()).map(StreamChunk::text).collect();
        (items.iter().map(|item| format!("{item:?}")).collect(), text)
    }

    #[test]
    fn every_split_of_generated_bodies_parses_like_the_whole() {
        for seed in 0..150 {
            let mut rng = Rng(seed);
            let (body, valid_text) = generated_body(&mut rng);
            let whole = outcome(vec![body.clone()]);
            if let Some(text) = &valid_text {
                assert_eq!(&whole.1, text, "seed {seed}: {}", String::from_utf8_lossy(&body));
                assert!(whole.0.iter().all(|item| item.starts_with("Ok(")), "seed {seed}: {whole:?}");
            }
            for at in 0..=body.len() {
                let (a, b) = body.split_at(at);
                assert_eq!(outcome(vec![a.to_vec(), b.to_vec()]), whole, "seed {seed}, split at {at}");
            }
            let bytes = body.iter().map(|b| vec![*b]).collect();
            assert_eq!(outcome(bytes), whole, "seed {seed}, one byte per read");
            let mut pieces = Vec::new();
            let mut rest = &body[..];
            while !rest.is_empty() {
                let (piece, tail) = rest.split_at(1 + rng.below(rest.len().min(40)));
                pieces.push(piece.to_vec());
                rest = tail;
            }
            assert_eq!(outcome(pieces), whole, "seed {seed}, random pieces");
        }
    }
}
