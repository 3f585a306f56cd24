//! Hand-written accessors on response types: token usage, telemetry and the
//! model's reasoning. Kept beside the generated code, never inside it.

use crate::types::{ChoiceMessage, Count, InvokeResponse, Telemetry, Usage};

impl ChoiceMessage {
    /// The model's reasoning before it answered, when the provider returns it.
    pub fn reasoning(&self) -> Option<&str> {
        match self {
            ChoiceMessage::Content(message) => message.reasoning.as_deref(),
            ChoiceMessage::ToolCalls(message) => message.reasoning.as_deref(),
            ChoiceMessage::Image(_) | ChoiceMessage::Other(_) => None,
        }
    }

    /// The provider's signature of [`Self::reasoning`], needed to send the
    /// reasoning back as history (Anthropic).
    pub fn reasoning_signature(&self) -> Option<&str> {
        match self {
            ChoiceMessage::Content(message) => message.reasoning_signature.as_deref(),
            ChoiceMessage::ToolCalls(message) => message.reasoning_signature.as_deref(),
            ChoiceMessage::Image(_) | ChoiceMessage::Other(_) => None,
        }
    }

    /// Reasoning the provider withheld, in encrypted form.
    pub fn redacted_reasoning(&self) -> Option<&str> {
        match self {
            ChoiceMessage::Content(message) => message.redacted_reasoning.as_deref(),
            ChoiceMessage::ToolCalls(message) => message.redacted_reasoning.as_deref(),
            ChoiceMessage::Image(_) | ChoiceMessage::Other(_) => None,
        }
    }
}

impl InvokeResponse {
    /// Token counts; present when the request asked for them (`include_usage`).
    pub fn usage(&self) -> Option<&Usage> {
        self.usage.as_ref()
    }

    /// Where the generation is found in orq.ai's traces.
    pub fn telemetry(&self) -> Option<&Telemetry> {
        self.telemetry.as_ref()
    }

    /// The reasoning of the first choice, when the provider returns it.
    pub fn reasoning(&self) -> Option<&str> {
        self.first_message()?.reasoning()
    }

    /// The signature of the first choice's reasoning.
    pub fn reasoning_signature(&self) -> Option<&str> {
        self.first_message()?.reasoning_signature()
    }

    /// The first choice's reasoning that the provider withheld, encrypted.
    pub fn redacted_reasoning(&self) -> Option<&str> {
        self.first_message()?.redacted_reasoning()
    }

    fn first_message(&self) -> Option<&ChoiceMessage> {
        self.choices.first()?.message.as_ref()
    }
}

/// Token counts are [`Count`]s: the service declares them as numbers, so a
/// fractional count is kept rather than refused.
impl Usage {
    /// Prompt tokens read from the provider's cache, when it says.
    pub fn cached_tokens(&self) -> Option<Count> {
        self.prompt_tokens_details.as_ref()?.cached_tokens
    }

    /// Completion tokens spent on reasoning, when the provider says.
    pub fn reasoning_tokens(&self) -> Option<Count> {
        self.completion_tokens_details.as_ref()?.reasoning_tokens
    }
}
