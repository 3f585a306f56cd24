//! Every request constructor and setter of `orq_api::types` builds exactly the JSON
//! the 2026-08 Deployments API describes for that shape (the expected bodies below
//! are written after its request schema; the one 2025-04-only shape is marked), and
//! decodes back to the same value.
//!
//! These tests live outside the crate, like user code: the request types are
//! `#[non_exhaustive]`, so nothing here could be written with a struct literal.

use orq_api::types::{
    AssistantContentPart, AssistantToolCall, AudioFormat, CacheControl, CacheTtl, DeploymentRequest,
    Document, DocumentMetadata, FieldCondition, FieldConditions, FileData, Identity, ImageDetail,
    InvokeOptions, KnowledgeFilter, Message, TextContentPart, Thread, ToolContentPart, UserContentPart,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Serialises `value`, checks it is `expected`, and that `expected` decodes back to `value`.
#[track_caller]
fn assert_wire<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T, expected: Value) {
    let encoded = serde_json::to_value(value).expect("serialises");
    assert_eq!(encoded, expected);
    let text = serde_json::to_string(value).unwrap();
    assert!(!text.contains("null"), "unset optionals are omitted, never null: {text}");
    let decoded: T = serde_json::from_value(expected).expect("decodes");
    assert_eq!(&decoded, value);
}

// ------------------------------------------------------------------ messages

#[test]
fn text_messages_of_every_role() {
    assert_wire(&Message::system("Be brief."), json!({"role": "system", "content": "Be brief."}));
    assert_wire(
        &Message::developer("No emojis.").with_name("lead"),
        json!({"role": "developer", "content": "No emojis.", "name": "lead"}),
    );
    assert_wire(
        &Message::user("Where is my order?").with_name("ada"),
        json!({"role": "user", "content": "Where is my order?", "name": "ada"}),
    );
    assert_wire(
        &Message::assistant("It ships tomorrow.").with_name("agent"),
        json!({"role": "assistant", "content": "It ships tomorrow.", "name": "agent"}),
    );
    assert_wire(
        &Message::tool("call_1", "{\"status\":\"shipped\"}"),
        json!({"role": "tool", "content": "{\"status\":\"shipped\"}", "tool_call_id": "call_1"}),
    );
}

#[test]
fn constructors_take_str_string_and_borrowed_string() {
    let owned = String::from("hello");
    assert_eq!(Message::user(&owned), Message::user("hello"));
    assert_eq!(Message::user(owned.clone()), Message::user("hello"));
    assert_eq!(Message::system(&owned), Message::system("hello"));
    assert_eq!(Message::developer(owned.clone()), Message::developer("hello"));
    assert_eq!(Message::assistant(&owned), Message::assistant("hello"));
    assert_eq!(Message::tool(&owned, &owned), Message::tool("hello", "hello"));
    assert_eq!(Document::from(&owned), Document::new("hello"));
    assert_eq!(UserContentPart::text(&owned), UserContentPart::text("hello"));
    assert_eq!(
        AssistantToolCall::function(&owned, &owned, &owned),
        AssistantToolCall::function("hello", "hello", "hello")
    );
}

#[test]
fn system_and_developer_messages_of_text_parts() {
    assert_wire(
        &Message::system(vec![TextContentPart::new("Rules."), TextContentPart::new("More rules.").cached()]),
        json!({"role": "system", "content": [
            {"type": "text", "text": "Rules."},
            {"type": "text", "text": "More rules.", "cache_control": {"type": "ephemeral"}}
        ]}),
    );
    assert_wire(
        &Message::developer(TextContentPart::new("One part.")),
        json!({"role": "developer", "content": [{"type": "text", "text": "One part."}]}),
    );
}

#[test]
fn user_message_with_every_content_part() {
    let message = Message::user(vec![
        UserContentPart::text("What is in these?"),
        UserContentPart::image_url("https://cdn.example.com/a.png"),
        UserContentPart::image_url_with_detail("data:image/png;base64,iVBORw0KGgo=", ImageDetail::Low),
        UserContentPart::input_audio("UklGRg==", AudioFormat::Wav),
        UserContentPart::file(FileData::from_data_uri("data:application/pdf;base64,JVBERi0x")),
        UserContentPart::file(
            FileData::from_data_uri("data:text/plain;base64,aGk=")
                .with_mime_type("text/plain")
                .with_filename("hi.txt"),
        ),
        UserContentPart::file(
            FileData::from_url("https://example.com/annex.pdf").with_mime_type("application/pdf"),
        ),
    ]);
    assert_wire(
        &message,
        json!({"role": "user", "content": [
            {"type": "text", "text": "What is in these?"},
            {"type": "image_url", "image_url": {"url": "https://cdn.example.com/a.png"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0x"}},
            {"type": "file", "file": {
                "file_data": "data:text/plain;base64,aGk=", "mimeType": "text/plain", "filename": "hi.txt"
            }},
            {"type": "file", "file": {"uri": "https://example.com/annex.pdf", "mimeType": "application/pdf"}}
        ]}),
    );
    assert_wire(
        &Message::user(UserContentPart::image_url_with_detail("https://x.test/b.png", ImageDetail::High)),
        json!({"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://x.test/b.png", "detail": "high"}}
        ]}),
    );
}

#[test]
fn assistant_messages_of_every_shape() {
    assert_wire(
        &Message::assistant(vec![
            AssistantContentPart::reasoning("Check the order first.", "EqQBCkYIBxgCKkA="),
            AssistantContentPart::redacted_reasoning("ErUBCkYIBxgCIkB="),
            AssistantContentPart::text("It ships tomorrow."),
        ]),
        json!({"role": "assistant", "content": [
            {"type": "reasoning", "reasoning": "Check the order first.", "signature": "EqQBCkYIBxgCKkA="},
            {"type": "redacted_reasoning", "data": "ErUBCkYIBxgCIkB="},
            {"type": "text", "text": "It ships tomorrow."}
        ]}),
    );
    assert_wire(
        &Message::assistant(AssistantContentPart::refusal("I cannot share that.")),
        json!({"role": "assistant", "content": [{"type": "refusal", "refusal": "I cannot share that."}]}),
    );
    assert_wire(
        &Message::assistant_refusal("I cannot share that."),
        json!({"role": "assistant", "refusal": "I cannot share that."}),
    );
    assert_wire(
        &Message::assistant_audio("audio_abc123"),
        json!({"role": "assistant", "audio": {"id": "audio_abc123"}}),
    );
    assert_wire(
        &Message::assistant("Here it is.").with_audio("audio_abc123").with_refusal("Not the address."),
        json!({"role": "assistant", "content": "Here it is.", "audio": {"id": "audio_abc123"}, "refusal": "Not the address."}),
    );
}

#[test]
fn assistant_tool_calls_with_and_without_thought_signature() {
    let calls = [
        AssistantToolCall::function("call_1", "lookup_order", r#"{"id":"A-1"}"#),
        AssistantToolCall::function("call_2", "refund", "{}").with_thought_signature("CiQBjz1rX0p="),
    ];
    let expected_calls = json!([
        {"id": "call_1", "type": "function", "function": {"name": "lookup_order", "arguments": "{\"id\":\"A-1\"}"}},
        {"id": "call_2", "type": "function", "function": {"name": "refund", "arguments": "{}"},
         "thought_signature": "CiQBjz1rX0p="}
    ]);
    assert_wire(
        &Message::assistant_tool_calls(calls.clone()),
        json!({"role": "assistant", "tool_calls": expected_calls}),
    );
    assert_wire(
        &Message::assistant("Let me check.").with_tool_calls(calls),
        json!({"role": "assistant", "content": "Let me check.", "tool_calls": expected_calls}),
    );
}

#[test]
fn tool_messages_of_text_or_parts() {
    // The 2025-04 shape, a list of plain strings, can still be sent.
    assert_wire(
        &Message::tool(
            "call_1",
            vec![ToolContentPart::from("line 1"), ToolContentPart::from(String::from("line 2"))],
        ),
        json!({"role": "tool", "content": ["line 1", "line 2"], "tool_call_id": "call_1"}),
    );
    assert_wire(
        &Message::tool(
            "call_2",
            vec![TextContentPart::new("part one"), TextContentPart::new("part two").cached()],
        ),
        json!({"role": "tool", "tool_call_id": "call_2", "content": [
            {"type": "text", "text": "part one"},
            {"type": "text", "text": "part two", "cache_control": {"type": "ephemeral"}}
        ]}),
    );
    assert_wire(
        &Message::tool("call_3", TextContentPart::new("only")),
        json!({"role": "tool", "tool_call_id": "call_3", "content": [{"type": "text", "text": "only"}]}),
    );
}

// ------------------------------------------------------------- cache control

#[test]
fn cache_control_values() {
    assert_wire(&CacheControl::ephemeral(), json!({"type": "ephemeral"}));
    assert_wire(
        &CacheControl::ephemeral().with_ttl(CacheTtl::V1h),
        json!({"type": "ephemeral", "ttl": "1h"}),
    );
    assert_wire(
        &CacheControl::ephemeral().with_ttl(CacheTtl::V5m),
        json!({"type": "ephemeral", "ttl": "5m"}),
    );
}

#[test]
fn cache_control_on_parts() {
    let hour = CacheControl::ephemeral().with_ttl(CacheTtl::V1h);
    assert_wire(
        &UserContentPart::text("Long context.").cached(),
        json!({"type": "text", "text": "Long context.", "cache_control": {"type": "ephemeral"}}),
    );
    assert_wire(
        &UserContentPart::image_url("https://x.test/a.png").with_cache_control(hour.clone()),
        json!({"type": "image_url", "image_url": {"url": "https://x.test/a.png"},
               "cache_control": {"type": "ephemeral", "ttl": "1h"}}),
    );
    assert_wire(
        &UserContentPart::file(FileData::from_url("https://x.test/a.pdf")).cached(),
        json!({"type": "file", "file": {"uri": "https://x.test/a.pdf"}, "cache_control": {"type": "ephemeral"}}),
    );
    assert_wire(
        &AssistantContentPart::text("Earlier answer.").with_cache_control(hour.clone()),
        json!({"type": "text", "text": "Earlier answer.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}),
    );
    assert_wire(
        &TextContentPart::new("Rules.").with_cache_control(hour),
        json!({"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}),
    );

    // The schema has no cache control on these parts: they stay as they were.
    let audio = UserContentPart::input_audio("UklGRg==", AudioFormat::Mp3);
    assert_eq!(audio.clone().cached(), audio);
    assert_eq!(audio.cache_control(), None);
    let reasoning = AssistantContentPart::reasoning("Hmm.", "sig");
    assert_eq!(reasoning.clone().cached(), reasoning);
}

#[test]
fn cache_control_on_messages_goes_where_the_schema_carries_it() {
    // Text content becomes one text part carrying the breakpoint.
    assert_wire(
        &Message::system("A long, stable prompt.").cached(),
        json!({"role": "system", "content": [
            {"type": "text", "text": "A long, stable prompt.", "cache_control": {"type": "ephemeral"}}
        ]}),
    );
    assert_wire(
        &Message::developer("Style guide.").with_name("lead").cached(),
        json!({"role": "developer", "name": "lead", "content": [
            {"type": "text", "text": "Style guide.", "cache_control": {"type": "ephemeral"}}
        ]}),
    );
    assert_wire(
        &Message::user("Question.").with_cache_control(CacheControl::ephemeral().with_ttl(CacheTtl::V1h)),
        json!({"role": "user", "content": [
            {"type": "text", "text": "Question.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
        ]}),
    );
    assert_wire(
        &Message::assistant("Answer.").cached(),
        json!({"role": "assistant", "content": [
            {"type": "text", "text": "Answer.", "cache_control": {"type": "ephemeral"}}
        ]}),
    );
    // Tool messages carry it themselves.
    assert_wire(
        &Message::tool("call_1", "42").cached(),
        json!({"role": "tool", "content": "42", "tool_call_id": "call_1", "cache_control": {"type": "ephemeral"}}),
    );

    // Parts: the last one that can carry it does; audio cannot.
    let message = Message::user(vec![
        UserContentPart::text("Listen to this."),
        UserContentPart::image_url("https://x.test/a.png"),
        UserContentPart::input_audio("UklGRg==", AudioFormat::Wav),
    ])
    .cached();
    assert_wire(
        &message,
        json!({"role": "user", "content": [
            {"type": "text", "text": "Listen to this."},
            {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}, "cache_control": {"type": "ephemeral"}},
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
        ]}),
    );
    assert_eq!(message.cache_control(), Some(&CacheControl::ephemeral()));
    let message = Message::assistant(vec![
        AssistantContentPart::text("Done."),
        AssistantContentPart::reasoning("Why.", "sig"),
    ])
    .cached();
    assert_wire(
        &message,
        json!({"role": "assistant", "content": [
            {"type": "text", "text": "Done.", "cache_control": {"type": "ephemeral"}},
            {"type": "reasoning", "reasoning": "Why.", "signature": "sig"}
        ]}),
    );

    // Nowhere to put it: unchanged, and `cache_control()` says so.
    for message in [
        Message::assistant_tool_calls([AssistantToolCall::function("c", "f", "{}")]),
        Message::user(vec![UserContentPart::input_audio("UklGRg==", AudioFormat::Mp3)]),
        Message::assistant(AssistantContentPart::redacted_reasoning("x")),
    ] {
        assert_eq!(message.clone().cached(), message);
        assert_eq!(message.cache_control(), None);
    }
}

#[test]
fn role_specific_setters_leave_other_roles_unchanged() {
    let user = Message::user("hi");
    assert_eq!(user.clone().with_tool_calls([AssistantToolCall::function("c", "f", "{}")]), user);
    assert_eq!(user.clone().with_refusal("no"), user);
    assert_eq!(user.clone().with_audio("a"), user);
    let tool = Message::tool("c", "ok");
    assert_eq!(tool.clone().with_name("n"), tool);
}

// ------------------------------------------------------------------- the rest

#[test]
fn documents_with_and_without_metadata() {
    assert_wire(&Document::new("Returns are free."), json!({"text": "Returns are free."}));
    assert_wire(
        &Document::new("Parcels ship in two days.").with_metadata(
            DocumentMetadata::new().with_file_name("shipping.pdf").with_file_type("pdf").with_page_number(4),
        ),
        json!({"text": "Parcels ship in two days.",
               "metadata": {"file_name": "shipping.pdf", "file_type": "pdf", "page_number": 4}}),
    );
    assert_wire(
        &Document::new("Page only.").with_metadata(DocumentMetadata::new().with_page_number(2)),
        json!({"text": "Page only.", "metadata": {"page_number": 2}}),
    );
    assert_wire(
        &Document::new("Empty.").with_metadata(DocumentMetadata::new()),
        json!({"text": "Empty.", "metadata": {}}),
    );
}

#[test]
fn identity_thread_and_invoke_options() {
    assert_wire(&Identity::new("user-42"), json!({"id": "user-42"}));
    assert_wire(
        &Identity::new("user-42")
            .with_display_name("Ada Lovelace")
            .with_email("ada@example.com")
            .with_logo_url("https://example.com/ada.png")
            .with_tags(["vip", "beta"])
            .with_metadata("plan", "pro")
            .with_metadata("seats", 3),
        json!({
            "id": "user-42", "display_name": "Ada Lovelace", "email": "ada@example.com",
            "logo_url": "https://example.com/ada.png", "tags": ["vip", "beta"],
            "metadata": [{"plan": "pro"}, {"seats": 3}]
        }),
    );
    assert_wire(&Thread::new("thread-7"), json!({"id": "thread-7"}));
    assert_wire(
        &Thread::new("thread-7").with_tags(vec![String::from("support")]),
        json!({"id": "thread-7", "tags": ["support"]}),
    );
    assert_wire(
        &InvokeOptions::default().with_include_usage(true).with_mock_response("Canned answer."),
        json!({"include_retrievals": false, "include_usage": true, "mock_response": "Canned answer."}),
    );
    assert_wire(&InvokeOptions::default().with_include_retrievals(true), json!({"include_retrievals": true}));
}

#[test]
fn knowledge_filters_of_every_operator() {
    assert_wire(
        &KnowledgeFilter::fields([
            ("region", FieldCondition::eq("eu")),
            ("draft", FieldCondition::ne(true)),
            ("year", FieldCondition::gte(2024.0)),
            ("score", FieldCondition::lt(0.5)),
        ]),
        json!({"region": {"eq": "eu"}, "draft": {"ne": true}, "year": {"gte": 2024.0}, "score": {"lt": 0.5}}),
    );
    assert_wire(
        &KnowledgeFilter::and([
            FieldConditions::new([("page", FieldCondition::gt(1.0))]),
            FieldConditions::new([("page", FieldCondition::lte(10.0))]),
            FieldConditions::new([("lang", FieldCondition::in_(["en", "nl"]))]),
        ]),
        json!({"and": [{"page": {"gt": 1.0}}, {"page": {"lte": 10.0}}, {"lang": {"in": ["en", "nl"]}}]}),
    );
    assert_wire(
        &KnowledgeFilter::or([
            FieldConditions::new([("tier", FieldCondition::nin([1, 2]))]),
            FieldConditions::new([("archived", FieldCondition::exists(false))]),
        ]),
        json!({"or": [{"tier": {"nin": [1.0, 2.0]}}, {"archived": {"exists": false}}]}),
    );
}

#[test]
fn a_whole_request_built_from_constructors() {
    let mut request = DeploymentRequest::new("support-triage");
    request.identity = Some(Identity::new("user-42"));
    request.thread = Some(Thread::new("thread-7"));
    request.messages = vec![Message::system("Be brief.").cached(), Message::user("Hi")];
    request.documents = vec![Document::new("Policy.")];
    request.invoke_options = Some(InvokeOptions::default().with_include_usage(true));
    request.knowledge_filter = Some(KnowledgeFilter::fields([("region", FieldCondition::eq("eu"))]));
    assert_wire(
        &request,
        json!({
            "key": "support-triage",
            "identity": {"id": "user-42"},
            "thread": {"id": "thread-7"},
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]},
                {"role": "user", "content": "Hi"}
            ],
            "documents": [{"text": "Policy."}],
            "invoke_options": {"include_retrievals": false, "include_usage": true},
            "knowledge_filter": {"region": {"eq": "eu"}}
        }),
    );
}
