//! Hand-written conveniences on the generated types: message constructors,
//! conversions and accessors. Kept beside the generated code, never inside it.

use crate::types::{
    AudioFormat, ChoiceMessage, DeploymentList, DeploymentRequest, Document, ImageDetail, ImageUrl,
    InputAudio, InputValue, InvokeResponse, Message, StreamChoice, StreamChunk, TextContent, ToolContent,
    ToolContentPart, UserContent, UserContentPart,
};

impl Message {
    /// A system prompt.
    pub fn system(content: impl Into<String>) -> Self {
        Message::System { content: TextContent::String(content.into()), name: None }
    }

    /// Developer instructions (for models that separate them from system prompts).
    pub fn developer(content: impl Into<String>) -> Self {
        Message::Developer { content: TextContent::String(content.into()), name: None }
    }

    /// A user message: plain text, or parts built with [`UserContentPart`].
    ///
    /// ```
    /// use orq_api::types::{Message, UserContentPart};
    ///
    /// let text = Message::user("Where is my order?");
    /// let with_image = Message::user(vec![
    ///     UserContentPart::text("What is in this picture?"),
    ///     UserContentPart::image_url("https://example.com/cat.png"),
    /// ]);
    /// # let _ = (text, with_image);
    /// ```
    pub fn user(content: impl Into<UserContent>) -> Self {
        Message::User { content: content.into(), name: None }
    }

    /// An earlier answer of the model, replayed as conversation history.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message::Assistant {
            audio: None,
            content: Some(crate::types::AssistantContent::String(content.into())),
            name: None,
            refusal: None,
            tool_calls: Vec::new(),
        }
    }

    /// The result of the tool call `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message::Tool {
            cache_control: None,
            content: ToolContent::String(content.into()),
            tool_call_id: Some(tool_call_id.into()),
        }
    }

    /// Sets the author name of a developer, system, user or assistant message.
    /// Tool messages have no name; they are returned unchanged.
    pub fn with_name(mut self, author: impl Into<String>) -> Self {
        match &mut self {
            Message::Developer { name, .. }
            | Message::System { name, .. }
            | Message::User { name, .. }
            | Message::Assistant { name, .. } => *name = Some(author.into()),
            Message::Tool { .. } => {}
        }
        self
    }
}

impl UserContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        UserContentPart::Text { cache_control: None, text: text.into() }
    }

    /// An image part from an `https:` URL or a `data:image/...;base64,` URI.
    pub fn image_url(url: impl Into<String>) -> Self {
        UserContentPart::ImageUrl {
            cache_control: None,
            image_url: ImageUrl { url: url.into(), detail: None },
        }
    }

    /// An image part with an explicit detail level.
    pub fn image_url_with_detail(url: impl Into<String>, detail: ImageDetail) -> Self {
        UserContentPart::ImageUrl {
            cache_control: None,
            image_url: ImageUrl { url: url.into(), detail: Some(detail) },
        }
    }

    /// An audio part: base64 `data` in the given format.
    pub fn input_audio(data: impl Into<String>, format: AudioFormat) -> Self {
        UserContentPart::InputAudio { input_audio: InputAudio { data: data.into(), format } }
    }
}

impl From<&str> for UserContent {
    fn from(text: &str) -> Self {
        UserContent::String(text.to_string())
    }
}

impl From<String> for UserContent {
    fn from(text: String) -> Self {
        UserContent::String(text)
    }
}

impl From<&String> for UserContent {
    fn from(text: &String) -> Self {
        UserContent::String(text.clone())
    }
}

impl From<&str> for ToolContentPart {
    fn from(text: &str) -> Self {
        ToolContentPart::String(text.to_string())
    }
}

impl From<String> for ToolContentPart {
    fn from(text: String) -> Self {
        ToolContentPart::String(text)
    }
}

impl From<&str> for InputValue {
    fn from(value: &str) -> Self {
        InputValue::String(value.to_string())
    }
}

impl From<String> for InputValue {
    fn from(value: String) -> Self {
        InputValue::String(value)
    }
}

impl From<&String> for InputValue {
    fn from(value: &String) -> Self {
        InputValue::String(value.clone())
    }
}

impl From<u64> for InputValue {
    /// Exact: an integer the API's `int64` cannot carry (above `i64::MAX`) is
    /// sent as its decimal digits in a string, which reads the same in a prompt.
    fn from(value: u64) -> Self {
        match i64::try_from(value) {
            Ok(value) => InputValue::Int64(value),
            Err(_) => InputValue::String(value.to_string()),
        }
    }
}

impl From<i128> for InputValue {
    /// Exact, as for `u64`: outside `i64`'s range the digits go in a string.
    fn from(value: i128) -> Self {
        match i64::try_from(value) {
            Ok(value) => InputValue::Int64(value),
            Err(_) => InputValue::String(value.to_string()),
        }
    }
}

impl From<u128> for InputValue {
    /// Exact, as for `u64`: above `i64::MAX` the digits go in a string.
    fn from(value: u128) -> Self {
        match i64::try_from(value) {
            Ok(value) => InputValue::Int64(value),
            Err(_) => InputValue::String(value.to_string()),
        }
    }
}

macro_rules! input_from_integer {
    ($($int:ty => $wide:ty),*) => {$(
        impl From<$int> for InputValue {
            fn from(value: $int) -> Self {
                InputValue::from(<$wide>::from(value))
            }
        }
    )*};
}
input_from_integer!(i8 => i64, i16 => i64, i32 => i64, u8 => i64, u16 => i64, u32 => i64);

impl From<usize> for InputValue {
    fn from(value: usize) -> Self {
        // usize is at most 64 bits on every target Rust supports.
        InputValue::from(value as u64)
    }
}

impl From<isize> for InputValue {
    fn from(value: isize) -> Self {
        InputValue::from(value as i64)
    }
}

impl From<f32> for InputValue {
    /// The shortest decimal that reads back as the same `f32`: `0.1f32` is sent
    /// as `0.1`, not `0.10000000149011612`.
    fn from(value: f32) -> Self {
        InputValue::Double(value.to_string().parse().unwrap_or(f64::from(value)))
    }
}

/// A JSON value that cannot be a prompt input: an array, an object or null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedInput {
    kind: &'static str,
}

impl std::fmt::Display for UnsupportedInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a prompt input must be a string, number or boolean, not {}", self.kind)
    }
}

impl std::error::Error for UnsupportedInput {}

impl TryFrom<&serde_json::Value> for InputValue {
    type Error = UnsupportedInput;

    /// Strings, numbers (integers exactly, as for `u64`) and booleans; arrays,
    /// objects and null are refused.
    fn try_from(value: &serde_json::Value) -> Result<Self, Self::Error> {
        use serde_json::Value;
        match value {
            Value::String(text) => Ok(InputValue::String(text.clone())),
            Value::Bool(flag) => Ok(InputValue::Boolean(*flag)),
            Value::Number(number) => Ok(match (number.as_i64(), number.as_u64()) {
                (Some(int), _) => InputValue::Int64(int),
                (None, Some(uint)) => InputValue::from(uint),
                (None, None) => InputValue::Double(number.as_f64().unwrap_or(f64::NAN)),
            }),
            Value::Null => Err(UnsupportedInput { kind: "null" }),
            Value::Array(_) => Err(UnsupportedInput { kind: "an array" }),
            Value::Object(_) => Err(UnsupportedInput { kind: "an object" }),
        }
    }
}

impl TryFrom<serde_json::Value> for InputValue {
    type Error = UnsupportedInput;

    /// As for `&Value`.
    fn try_from(value: serde_json::Value) -> Result<Self, Self::Error> {
        InputValue::try_from(&value)
    }
}

impl StreamChoice {
    /// The text this piece adds (empty when it carries none).
    pub fn text(&self) -> &str {
        self.message.as_ref().and_then(|m| m.content.as_deref()).unwrap_or("")
    }
}

impl StreamChunk {
    /// The text the first choice adds in this chunk (empty when none).
    pub fn text(&self) -> &str {
        self.choices.first().map(StreamChoice::text).unwrap_or("")
    }

    /// Why the first choice stopped, when this chunk ends it.
    pub fn finish_reason(&self) -> Option<&str> {
        self.choices.first().and_then(|c| c.finish_reason.as_deref())
    }
}

impl ChoiceMessage {
    /// The text of the message, if it has any.
    pub fn text(&self) -> Option<&str> {
        match self {
            ChoiceMessage::Content(message) => message.content.as_deref(),
            ChoiceMessage::ToolCalls(message) => message.content.as_deref(),
            ChoiceMessage::Image(_) | ChoiceMessage::Other(_) => None,
        }
    }
}

impl InvokeResponse {
    /// The text of the first choice, if it has any.
    pub fn text(&self) -> Option<&str> {
        self.choices.first().and_then(|c| c.message.as_ref()?.text())
    }
}

impl DeploymentList {
    /// The cursor for the next page (`starting_after`), when there is one.
    pub fn next_cursor(&self) -> Option<&str> {
        if self.has_more { self.data.last().map(|d| d.id.as_str()) } else { None }
    }
}

impl DeploymentRequest {
    /// A request for deployment `key` with nothing else set.
    pub fn new(key: impl Into<String>) -> Self {
        DeploymentRequest {
            context: Default::default(),
            documents: Vec::new(),
            extra_params: Default::default(),
            file_ids: Vec::new(),
            identity: None,
            inputs: Default::default(),
            invoke_options: None,
            key: key.into(),
            knowledge_filter: None,
            messages: Vec::new(),
            metadata: Default::default(),
            prefix_messages: Vec::new(),
            stream: None,
            thread: None,
        }
    }
}

impl From<&str> for Document {
    fn from(text: &str) -> Self {
        Document { metadata: None, text: text.to_string() }
    }
}

impl From<String> for Document {
    fn from(text: String) -> Self {
        Document { metadata: None, text }
    }
}

impl From<&String> for Document {
    fn from(text: &String) -> Self {
        Document { metadata: None, text: text.clone() }
    }
}

#[cfg(feature = "httpmock")]
impl crate::mock::operations::DeploymentsStreamThen {
    /// Answers 200 with a server-sent event stream: one `data:` event per chunk,
    /// then `data: [DONE]`. (The generated `ok` answers JSON, which a stream is not.)
    pub fn events(self, chunks: &[StreamChunk]) -> Self {
        let mut body = String::new();
        for chunk in chunks {
            body.push_str("data: ");
            body.push_str(&serde_json::to_string(chunk).unwrap_or_default());
            body.push_str("\n\n");
        }
        body.push_str("data: [DONE]\n\n");
        Self::new(self.into_inner().status(200u16).header("content-type", "text/event-stream").body(body))
    }
}
