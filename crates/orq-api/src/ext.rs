//! Hand-written conveniences on the generated types: constructors for every
//! shape a request can carry, conversions and accessors. Kept beside the
//! generated code, never inside it.
//!
//! # Why constructors
//!
//! Request types are `#[non_exhaustive]` (see `cargo xtask codegen`): a later
//! spec may add a field or a variant to any of them, and code outside this crate
//! that spelled out a struct literal or an exhaustive match would stop compiling.
//! So requests are built with the constructors and `with_*` setters here (or
//! `Default` plus field assignment where a type has a default), and read through
//! their public fields.

use std::collections::BTreeMap;

use crate::types::{
    AssistantAudio, AssistantContent, AssistantContentPart, AssistantFunctionCall, AssistantToolCall,
    AudioFormat, CacheControl, CacheControlType, CacheTtl, ChoiceMessage, DeploymentList, DeploymentRequest,
    DeploymentVersionList, Document, DocumentMetadata, FieldCondition, FieldConditions, FileData,
    FilterValue, GoogleToolCallContent, Identity, ImageDetail, ImageUrl, InputAudio, InputValue,
    InvokeOptions, InvokeResponse, KnowledgeFilter, Message, StreamChoice, StreamChunk, TextContent,
    TextContentPart, TextPartType, Thread, ToolCallExtraContent, ToolContent, ToolContentPart, ToolKind,
    UserContent, UserContentPart,
};

// ------------------------------------------------------------------ messages

impl Message {
    /// A system prompt: plain text, or text parts built with [`TextContentPart::new`].
    pub fn system(content: impl Into<TextContent>) -> Self {
        Message::System { content: content.into(), name: None }
    }

    /// Developer instructions (for models that separate them from system prompts):
    /// plain text, or text parts.
    pub fn developer(content: impl Into<TextContent>) -> Self {
        Message::Developer { content: content.into(), name: None }
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

    /// An earlier answer of the model, replayed as conversation history: plain
    /// text, or parts built with [`AssistantContentPart`] (text, refusal,
    /// reasoning, redacted reasoning). Add tool calls with
    /// [`with_tool_calls`](Message::with_tool_calls).
    ///
    /// ```
    /// use orq_api::types::{AssistantContentPart, AssistantToolCall, Message};
    ///
    /// let history = Message::assistant(vec![
    ///     AssistantContentPart::reasoning("The user wants the order status.", "sig-1"),
    ///     AssistantContentPart::text("Let me look that up."),
    /// ])
    /// .with_tool_calls([AssistantToolCall::function("call_1", "lookup_order", r#"{"id":"A-1"}"#)]);
    /// # let _ = history;
    /// ```
    pub fn assistant(content: impl Into<AssistantContent>) -> Self {
        Self::blank_assistant().with_assistant_content(content)
    }

    /// An earlier answer of the model that only called tools (its content is absent).
    pub fn assistant_tool_calls(calls: impl IntoIterator<Item = AssistantToolCall>) -> Self {
        Self::blank_assistant().with_tool_calls(calls)
    }

    /// An earlier answer in which the model refused, with its refusal message.
    pub fn assistant_refusal(refusal: impl Into<String>) -> Self {
        Self::blank_assistant().with_refusal(refusal)
    }

    /// An earlier audio answer of the model, referred to by its id.
    pub fn assistant_audio(audio_id: impl Into<String>) -> Self {
        Self::blank_assistant().with_audio(audio_id)
    }

    /// An assistant message with nothing set, for the constructors above.
    fn blank_assistant() -> Self {
        Message::Assistant {
            audio: None,
            content: None,
            name: None,
            reasoning_content: None,
            refusal: None,
            tool_calls: Vec::new(),
        }
    }

    /// Sets the content of an assistant message. Other roles are returned unchanged.
    fn with_assistant_content(mut self, text: impl Into<AssistantContent>) -> Self {
        if let Message::Assistant { content, .. } = &mut self {
            *content = Some(text.into());
        }
        self
    }

    /// Sets the provider's reasoning behind an assistant message
    /// (`reasoning_content`), which reasoning models need back to continue
    /// after their tool calls. Other roles have none; they are returned unchanged.
    ///
    /// ```
    /// use orq_api::types::{AssistantToolCall, Message};
    ///
    /// let history = Message::assistant_tool_calls([AssistantToolCall::function("call_1", "track", "{}")])
    ///     .with_reasoning_content("The user asks where parcel A-1 is.");
    /// # let _ = history;
    /// ```
    pub fn with_reasoning_content(mut self, text: impl Into<String>) -> Self {
        if let Message::Assistant { reasoning_content, .. } = &mut self {
            *reasoning_content = Some(text.into());
        }
        self
    }

    /// The result of the tool call `tool_call_id`: plain text, or a list of
    /// [`TextContentPart`]s. (A list of plain strings, `Vec<ToolContentPart>`
    /// built from `&str`, is the 2025-04 API's shape; today's takes text parts.)
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<ToolContent>) -> Self {
        Message::Tool {
            cache_control: None,
            content: content.into(),
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

    /// Adds tool calls to an assistant message. Other roles have no tool calls;
    /// they are returned unchanged.
    pub fn with_tool_calls(mut self, calls: impl IntoIterator<Item = AssistantToolCall>) -> Self {
        if let Message::Assistant { tool_calls, .. } = &mut self {
            tool_calls.extend(calls);
        }
        self
    }

    /// Sets the refusal message of an assistant message. Other roles have none;
    /// they are returned unchanged.
    pub fn with_refusal(mut self, text: impl Into<String>) -> Self {
        if let Message::Assistant { refusal, .. } = &mut self {
            *refusal = Some(text.into());
        }
        self
    }

    /// Sets the audio answer an assistant message refers to. Other roles have
    /// none; they are returned unchanged.
    pub fn with_audio(mut self, audio_id: impl Into<String>) -> Self {
        if let Message::Assistant { audio, .. } = &mut self {
            *audio = Some(AssistantAudio::new(audio_id));
        }
        self
    }

    /// Marks the end of this message as a prompt-cache breakpoint.
    ///
    /// The API carries cache control on tool messages and on content parts, so:
    /// a tool message gets it itself; any other message gets it on the last part
    /// of its content that can carry one (text, image or file), plain text
    /// becoming a single text part. A message with no such part (an assistant
    /// message without content, a user message of audio alone) is returned
    /// unchanged; [`cache_control`](Message::cache_control) tells.
    ///
    /// ```
    /// use orq_api::types::{CacheControl, CacheTtl, Message};
    ///
    /// let cached = Message::system("A long, stable system prompt.").cached();
    /// let for_an_hour = Message::system("Another one.")
    ///     .with_cache_control(CacheControl::ephemeral().with_ttl(CacheTtl::V1h));
    /// assert!(cached.cache_control().is_some() && for_an_hour.cache_control().is_some());
    /// ```
    pub fn with_cache_control(mut self, cache: CacheControl) -> Self {
        match &mut self {
            Message::Developer { content, .. } | Message::System { content, .. } => {
                if let TextContent::String(text) = content {
                    *content = TextContent::Array(vec![TextContentPart::new(std::mem::take(text))]);
                }
                if let TextContent::Array(parts) = content
                    && let Some(last) = parts.last_mut()
                {
                    last.cache_control = Some(cache);
                }
            }
            Message::User { content, .. } => {
                if let UserContent::String(text) = content {
                    *content = UserContent::Array(vec![UserContentPart::text(std::mem::take(text))]);
                }
                if let UserContent::Array(parts) = content
                    && let Some(slot) = parts.iter_mut().rev().find_map(UserContentPart::cache_control_mut)
                {
                    *slot = Some(cache);
                }
            }
            Message::Assistant { content, .. } => {
                if let Some(AssistantContent::String(text)) = content {
                    *content =
                        Some(AssistantContent::Array(vec![AssistantContentPart::text(std::mem::take(text))]));
                }
                if let Some(AssistantContent::Array(parts)) = content
                    && let Some(slot) =
                        parts.iter_mut().rev().find_map(AssistantContentPart::cache_control_mut)
                {
                    *slot = Some(cache);
                }
            }
            Message::Tool { cache_control, .. } => *cache_control = Some(cache),
        }
        self
    }

    /// Marks the end of this message as a prompt-cache breakpoint of the default
    /// lifetime: `with_cache_control(CacheControl::ephemeral())`.
    pub fn cached(self) -> Self {
        self.with_cache_control(CacheControl::ephemeral())
    }

    /// The cache breakpoint of this message: a tool message's own, or the last one
    /// among its content parts.
    pub fn cache_control(&self) -> Option<&CacheControl> {
        match self {
            Message::Developer { content: TextContent::Array(parts), .. }
            | Message::System { content: TextContent::Array(parts), .. } => {
                parts.iter().rev().find_map(|p| p.cache_control.as_ref())
            }
            Message::User { content: UserContent::Array(parts), .. } => {
                parts.iter().rev().find_map(UserContentPart::cache_control)
            }
            Message::Assistant { content: Some(AssistantContent::Array(parts)), .. } => {
                parts.iter().rev().find_map(AssistantContentPart::cache_control)
            }
            Message::Tool { cache_control, .. } => cache_control.as_ref(),
            _ => None,
        }
    }
}

// ------------------------------------------------------------- cache control

impl CacheControl {
    /// An ephemeral cache breakpoint (the only kind), of the service's default
    /// lifetime (`5m`).
    pub fn ephemeral() -> Self {
        CacheControl { ttl: None, type_: CacheControlType::Ephemeral }
    }

    /// Sets how long the cache entry lives (`1h` is Anthropic only).
    pub fn with_ttl(mut self, ttl: CacheTtl) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

// --------------------------------------------------------------------- parts

impl TextContentPart {
    /// A text part (of a system, developer or tool message).
    pub fn new(text: impl Into<String>) -> Self {
        TextContentPart { cache_control: None, text: text.into(), type_: TextPartType::Text }
    }

    /// Marks this part as a prompt-cache breakpoint.
    pub fn with_cache_control(mut self, cache: CacheControl) -> Self {
        self.cache_control = Some(cache);
        self
    }

    /// Marks this part as a prompt-cache breakpoint of the default lifetime.
    pub fn cached(self) -> Self {
        self.with_cache_control(CacheControl::ephemeral())
    }
}

impl UserContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        UserContentPart::Text { cache_control: None, text: text.into() }
    }

    /// An image part from an `https:` URL or a `data:image/...;base64,` URI.
    pub fn image_url(url: impl Into<String>) -> Self {
        UserContentPart::ImageUrl { cache_control: None, image_url: ImageUrl::new(url) }
    }

    /// An image part with an explicit detail level.
    pub fn image_url_with_detail(url: impl Into<String>, detail: ImageDetail) -> Self {
        UserContentPart::ImageUrl { cache_control: None, image_url: ImageUrl::new(url).with_detail(detail) }
    }

    /// An audio part: base64 `data` in the given format.
    pub fn input_audio(data: impl Into<String>, format: AudioFormat) -> Self {
        UserContentPart::InputAudio { input_audio: InputAudio::new(data, format) }
    }

    /// A file part, such as a PDF, given inline or by URL (see [`FileData`]).
    ///
    /// ```
    /// use orq_api::types::{FileData, Message, UserContentPart};
    ///
    /// let message = Message::user(vec![
    ///     UserContentPart::text("Summarise this contract."),
    ///     UserContentPart::file(
    ///         FileData::from_data_uri("data:application/pdf;base64,JVBERi0x")
    ///             .with_filename("contract.pdf"),
    ///     ),
    ///     UserContentPart::file(FileData::from_url("https://example.com/annex.pdf")),
    /// ]);
    /// # let _ = message;
    /// ```
    pub fn file(file: FileData) -> Self {
        UserContentPart::File { cache_control: None, file }
    }

    /// The cache breakpoint of this part, if it has one.
    pub fn cache_control(&self) -> Option<&CacheControl> {
        match self {
            UserContentPart::Text { cache_control, .. }
            | UserContentPart::ImageUrl { cache_control, .. }
            | UserContentPart::File { cache_control, .. } => cache_control.as_ref(),
            UserContentPart::InputAudio { .. } => None,
        }
    }

    /// Where this part keeps its cache breakpoint, when it can carry one.
    fn cache_control_mut(&mut self) -> Option<&mut Option<CacheControl>> {
        match self {
            UserContentPart::Text { cache_control, .. }
            | UserContentPart::ImageUrl { cache_control, .. }
            | UserContentPart::File { cache_control, .. } => Some(cache_control),
            UserContentPart::InputAudio { .. } => None,
        }
    }
}

impl AssistantContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        AssistantContentPart::Text { cache_control: None, text: text.into() }
    }

    /// A refusal part: why the model refused.
    pub fn refusal(refusal: impl Into<String>) -> Self {
        AssistantContentPart::Refusal { refusal: Some(refusal.into()) }
    }

    /// The model's reasoning before it answered, with the provider's signature
    /// (today's API requires it), both sent back exactly as the model gave them.
    pub fn reasoning(reasoning: impl Into<String>, signature: impl Into<String>) -> Self {
        AssistantContentPart::Reasoning { reasoning: reasoning.into(), signature: Some(signature.into()) }
    }

    /// Reasoning the provider withheld, as the encrypted `data` it returned.
    pub fn redacted_reasoning(data: impl Into<String>) -> Self {
        AssistantContentPart::RedactedReasoning { data: data.into() }
    }

    /// The cache breakpoint of this part, if it has one.
    pub fn cache_control(&self) -> Option<&CacheControl> {
        match self {
            AssistantContentPart::Text { cache_control, .. } => cache_control.as_ref(),
            _ => None,
        }
    }

    fn cache_control_mut(&mut self) -> Option<&mut Option<CacheControl>> {
        match self {
            AssistantContentPart::Text { cache_control, .. } => Some(cache_control),
            _ => None,
        }
    }
}

/// `with_cache_control` and `cached` for a content part whose variants may or
/// may not carry a cache breakpoint (`cache_control_mut` says where).
macro_rules! cache_breakpoint_setters {
    ($part:ty, $which:literal) => {
        impl $part {
            #[doc = concat!("Marks this part as a prompt-cache breakpoint. ", $which)]
            pub fn with_cache_control(mut self, cache: CacheControl) -> Self {
                if let Some(slot) = self.cache_control_mut() {
                    *slot = Some(cache);
                }
                self
            }

            /// Marks this part as a prompt-cache breakpoint of the default lifetime.
            pub fn cached(self) -> Self {
                self.with_cache_control(CacheControl::ephemeral())
            }
        }
    };
}

cache_breakpoint_setters!(UserContentPart, "Audio parts cannot carry one; they are returned unchanged.");
cache_breakpoint_setters!(
    AssistantContentPart,
    "Only text parts can carry one; other parts are returned unchanged."
);

impl ImageUrl {
    /// An image from an `https:` URL or a `data:image/...;base64,` URI.
    pub fn new(url: impl Into<String>) -> Self {
        ImageUrl { detail: None, url: url.into() }
    }

    /// Sets how closely the model looks at the image.
    pub fn with_detail(mut self, detail: ImageDetail) -> Self {
        self.detail = Some(detail);
        self
    }
}

impl InputAudio {
    /// Base64-encoded audio in the given format.
    pub fn new(data: impl Into<String>, format: AudioFormat) -> Self {
        InputAudio { data: data.into(), format }
    }
}

impl FileData {
    /// A file given inline, as a `data:<mime type>;base64,...` URI.
    pub fn from_data_uri(data_uri: impl Into<String>) -> Self {
        FileData { file_data: Some(data_uri.into()), ..FileData::default() }
    }

    /// A file the provider already holds: an OpenAI file id (`file-...`), or a
    /// `gs://` Cloud Storage URI for Gemini on Vertex AI.
    pub fn from_file_id(file_id: impl Into<String>) -> Self {
        FileData { file_id: Some(file_id.into()), ..FileData::default() }
    }

    /// How many of `file_data`, `file_id` and `uri` are set: a file part needs
    /// exactly one, which the `orq` crate checks before sending.
    pub fn source_count(&self) -> usize {
        [self.file_data.is_some(), self.file_id.is_some(), self.uri.is_some()]
            .into_iter()
            .filter(|set| *set)
            .count()
    }

    /// A file given by URL: PDFs for Anthropic models, `https://` and `gs://`
    /// URLs for Gemini on Vertex AI.
    pub fn from_url(url: impl Into<String>) -> Self {
        FileData { uri: Some(url.into()), ..FileData::default() }
    }

    /// Sets the file's MIME type, such as `application/pdf`.
    pub fn with_mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Sets the file's name, shown to the model when the file is passed as text.
    pub fn with_filename(mut self, filename: impl Into<String>) -> Self {
        self.filename = Some(filename.into());
        self
    }
}

// ------------------------------------------------------ assistant history

impl AssistantAudio {
    /// A reference to the earlier audio answer `id`.
    pub fn new(id: impl Into<String>) -> Self {
        AssistantAudio { id: id.into() }
    }
}

impl AssistantToolCall {
    /// A call of function `name` with `arguments` (JSON-encoded, as the model
    /// gave them), made earlier by the model under the id `id`.
    pub fn function(id: impl Into<String>, name: impl Into<String>, arguments: impl Into<String>) -> Self {
        AssistantToolCall {
            function: AssistantFunctionCall::new(name, arguments),
            extra_content: None,
            id: id.into(),
            thought_signature: None,
            type_: ToolKind::Function,
        }
    }

    /// Sets the Google-specific signature of the model's reasoning state at
    /// the call (`extra_content.google.thought_signature`), which Gemini 3
    /// needs back to continue after a tool call; it wins over
    /// [`with_thought_signature`](Self::with_thought_signature) when both are set.
    ///
    /// ```
    /// use orq_api::types::AssistantToolCall;
    ///
    /// let call = AssistantToolCall::function("call_1", "track", "{}").with_google_thought_signature("c2ln");
    /// let json = serde_json::to_value(&call).unwrap();
    /// assert_eq!(json["extra_content"]["google"]["thought_signature"], "c2ln");
    /// ```
    pub fn with_google_thought_signature(mut self, signature: impl Into<String>) -> Self {
        let extra = self.extra_content.get_or_insert_with(ToolCallExtraContent::default);
        extra.google.get_or_insert_with(GoogleToolCallContent::default).thought_signature =
            Some(signature.into());
        self
    }

    /// Sets the provider's signature of the reasoning that led to the call,
    /// which Google models need back to continue after a tool call.
    pub fn with_thought_signature(mut self, signature: impl Into<String>) -> Self {
        self.thought_signature = Some(signature.into());
        self
    }
}

impl AssistantFunctionCall {
    /// The function `name` with `arguments` as a JSON-encoded string.
    pub fn new(name: impl Into<String>, arguments: impl Into<String>) -> Self {
        AssistantFunctionCall { arguments: Some(arguments.into()), name: Some(name.into()) }
    }
}

// ----------------------------------------------------------- content unions

macro_rules! content_from_text {
    ($($content:ty),*) => {$(
        impl From<&str> for $content {
            fn from(text: &str) -> Self {
                <$content>::String(text.to_string())
            }
        }

        impl From<String> for $content {
            fn from(text: String) -> Self {
                <$content>::String(text)
            }
        }

        impl From<&String> for $content {
            fn from(text: &String) -> Self {
                <$content>::String(text.clone())
            }
        }
    )*};
}
content_from_text!(TextContent, UserContent, AssistantContent, ToolContent, ToolContentPart);

impl From<TextContentPart> for TextContent {
    fn from(part: TextContentPart) -> Self {
        TextContent::Array(vec![part])
    }
}

impl From<UserContentPart> for UserContent {
    fn from(part: UserContentPart) -> Self {
        UserContent::Array(vec![part])
    }
}

impl From<AssistantContentPart> for AssistantContent {
    fn from(part: AssistantContentPart) -> Self {
        AssistantContent::Array(vec![part])
    }
}

impl From<TextContentPart> for ToolContent {
    fn from(part: TextContentPart) -> Self {
        ToolContent::Array(vec![ToolContentPart::TextContentPart(part)])
    }
}

impl From<Vec<TextContentPart>> for ToolContent {
    fn from(parts: Vec<TextContentPart>) -> Self {
        ToolContent::Array(parts.into_iter().map(ToolContentPart::TextContentPart).collect())
    }
}

// ----------------------------------------------------------------- inputs

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

impl DeploymentVersionList {
    /// The cursor for the next (older) page (`starting_after`), when there is one.
    pub fn next_cursor(&self) -> Option<&str> {
        if self.has_more { self.data.last().map(|v| v.id.as_str()) } else { None }
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

impl Document {
    /// A reference document with no metadata.
    pub fn new(text: impl Into<String>) -> Self {
        Document { metadata: None, text: text.into() }
    }

    /// Sets where the document comes from.
    ///
    /// ```
    /// use orq_api::types::{Document, DocumentMetadata};
    ///
    /// let page = Document::new("Parcels ship within two business days.").with_metadata(
    ///     DocumentMetadata::new().with_file_name("shipping.pdf").with_file_type("pdf").with_page_number(4),
    /// );
    /// # let _ = page;
    /// ```
    pub fn with_metadata(mut self, metadata: DocumentMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }
}

impl DocumentMetadata {
    /// Metadata with nothing set (serialised as `{}`).
    pub fn new() -> Self {
        DocumentMetadata::default()
    }

    /// Sets the file name.
    pub fn with_file_name(mut self, file_name: impl Into<String>) -> Self {
        self.file_name = Some(file_name.into());
        self
    }

    /// Sets the file type, such as `pdf`.
    pub fn with_file_type(mut self, file_type: impl Into<String>) -> Self {
        self.file_type = Some(file_type.into());
        self
    }

    /// Sets the page within the file.
    pub fn with_page_number(mut self, page_number: i64) -> Self {
        self.page_number = Some(page_number);
        self
    }
}

impl From<&str> for Document {
    fn from(text: &str) -> Self {
        Document::new(text)
    }
}

impl From<String> for Document {
    fn from(text: String) -> Self {
        Document::new(text)
    }
}

impl From<&String> for Document {
    fn from(text: &String) -> Self {
        Document::new(text.as_str())
    }
}

// ------------------------------------------------- identity, thread, options

impl Identity {
    /// The identity with the caller's own `id`, nothing else set.
    pub fn new(id: impl Into<String>) -> Self {
        Identity {
            display_name: None,
            email: None,
            id: id.into(),
            logo_url: None,
            metadata: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// Sets the name to show for the identity.
    pub fn with_display_name(mut self, display_name: impl Into<String>) -> Self {
        self.display_name = Some(display_name.into());
        self
    }

    /// Sets the identity's email address.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the URL of the identity's avatar or logo.
    pub fn with_logo_url(mut self, logo_url: impl Into<String>) -> Self {
        self.logo_url = Some(logo_url.into());
        self
    }

    /// Adds labels.
    pub fn with_tags<T: Into<String>>(mut self, tags: impl IntoIterator<Item = T>) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Adds one key/value fact (the API keeps them as a list of one-entry objects).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        let mut entry = serde_json::Map::new();
        entry.insert(key.into(), value.into());
        self.metadata.push(entry);
        self
    }
}

impl Thread {
    /// The thread `id`, with no tags.
    pub fn new(id: impl Into<String>) -> Self {
        Thread { id: id.into(), tags: Vec::new() }
    }

    /// Adds labels.
    pub fn with_tags<T: Into<String>>(mut self, tags: impl IntoIterator<Item = T>) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }
}

impl InvokeOptions {
    /// Sets whether the knowledge-base chunks the generation used are returned.
    pub fn with_include_retrievals(mut self, include: bool) -> Self {
        self.include_retrievals = include;
        self
    }

    /// Sets whether token counts are returned.
    pub fn with_include_usage(mut self, include: bool) -> Self {
        self.include_usage = Some(include);
        self
    }

    /// Answers with `text` instead of calling the model.
    pub fn with_mock_response(mut self, text: impl Into<String>) -> Self {
        self.mock_response = Some(text.into());
        self
    }
}

// --------------------------------------------------------- knowledge filter

impl KnowledgeFilter {
    /// A filter of conditions on metadata fields, all of which must hold:
    /// `{"field": {"eq": ...}, ...}`.
    pub fn fields<K: Into<String>>(conditions: impl IntoIterator<Item = (K, FieldCondition)>) -> Self {
        KnowledgeFilter {
            and: Vec::new(),
            or: Vec::new(),
            extra: conditions.into_iter().map(|(k, c)| (k.into(), c)).collect(),
        }
    }

    /// A filter every one of whose groups must hold: `{"and": [...]}`.
    pub fn and(groups: impl IntoIterator<Item = FieldConditions>) -> Self {
        KnowledgeFilter { and: groups.into_iter().collect(), or: Vec::new(), extra: BTreeMap::new() }
    }

    /// A filter at least one of whose groups must hold: `{"or": [...]}`.
    pub fn or(groups: impl IntoIterator<Item = FieldConditions>) -> Self {
        KnowledgeFilter { and: Vec::new(), or: groups.into_iter().collect(), extra: BTreeMap::new() }
    }
}

impl FieldConditions {
    /// Conditions keyed by the metadata field they test.
    pub fn new<K: Into<String>>(conditions: impl IntoIterator<Item = (K, FieldCondition)>) -> Self {
        FieldConditions(conditions.into_iter().map(|(k, c)| (k.into(), c)).collect())
    }
}

impl FieldCondition {
    /// Equal to `value`.
    pub fn eq(value: impl Into<FilterValue>) -> Self {
        FieldCondition { eq: Some(value.into()), ..FieldCondition::default() }
    }

    /// Not equal to `value`.
    pub fn ne(value: impl Into<FilterValue>) -> Self {
        FieldCondition { ne: Some(value.into()), ..FieldCondition::default() }
    }

    /// Greater than `value`.
    pub fn gt(value: f64) -> Self {
        FieldCondition { gt: Some(value), ..FieldCondition::default() }
    }

    /// Greater than or equal to `value`.
    pub fn gte(value: f64) -> Self {
        FieldCondition { gte: Some(value), ..FieldCondition::default() }
    }

    /// Less than `value`.
    pub fn lt(value: f64) -> Self {
        FieldCondition { lt: Some(value), ..FieldCondition::default() }
    }

    /// Less than or equal to `value`.
    pub fn lte(value: f64) -> Self {
        FieldCondition { lte: Some(value), ..FieldCondition::default() }
    }

    /// Equal to one of `values`.
    pub fn in_<V: Into<FilterValue>>(values: impl IntoIterator<Item = V>) -> Self {
        FieldCondition { in_: values.into_iter().map(Into::into).collect(), ..FieldCondition::default() }
    }

    /// Equal to none of `values`.
    pub fn nin<V: Into<FilterValue>>(values: impl IntoIterator<Item = V>) -> Self {
        FieldCondition { nin: values.into_iter().map(Into::into).collect(), ..FieldCondition::default() }
    }

    /// Present (`true`) or absent (`false`).
    pub fn exists(present: bool) -> Self {
        FieldCondition { exists: Some(present), ..FieldCondition::default() }
    }
}

// `FilterValue` conversions live in `filter_ext.rs`.

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
