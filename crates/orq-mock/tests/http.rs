//! End-to-end tests of the mock over real loopback HTTP.

use std::time::{Duration, Instant};

use futures::StreamExt;
use orq_mock::{Deployment, MockOrq};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Generous upper bound for things that should happen "immediately".
const PATIENCE: Duration = Duration::from_secs(10);

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(PATIENCE).build().expect("client builds")
}

async fn get(mock: &MockOrq, path_and_query: &str) -> (StatusCode, Value) {
    let response =
        client().get(format!("{}{path_and_query}", mock.url())).send().await.expect("request succeeds");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

async fn post(mock: &MockOrq, path: &str, body: &Value) -> (StatusCode, Value) {
    let response =
        client().post(format!("{}{path}", mock.url())).json(body).send().await.expect("request succeeds");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

/// Splits an SSE body into the payloads of its `data:` events.
fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter(|event| !event.is_empty())
        .map(|event| {
            event.strip_prefix("data: ").unwrap_or_else(|| panic!("not a data event: {event:?}")).to_owned()
        })
        .collect()
}

fn keys(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|d| d["key"].as_str().expect("key").to_owned())
        .collect()
}

fn five_deployments() -> Vec<Deployment> {
    ["d1", "d2", "d3", "d4", "d5"].into_iter().map(Deployment::chat).collect()
}

fn invoke_body() -> Value {
    json!({
        "key": "support-bot",
        "inputs": {"name": "Ada"},
        "messages": [{"role": "user", "content": "Where is my parcel?"}],
    })
}

const SUPPORT_TEXT: &str = "Mock reply from support-bot (openai/gpt-4o). Instructions: \"You are a friendly support agent. Address the customer as Ada.\" You said: \"Where is my parcel?\"";

#[tokio::test]
async fn lists_sample_deployments_newest_first() {
    let mock = MockOrq::start_default().await.unwrap();
    let (status, page) = get(&mock, "/v2/deployments").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["object"], "list");
    assert_eq!(page["has_more"], false);
    assert_eq!(keys(&page), ["support-bot", "summarizer", "translator"]);
    let data = page["data"].as_array().unwrap();
    let created: Vec<&str> = data.iter().map(|d| d["created"].as_str().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] > w[1]), "{created:?}");
    let bot = &data[0];
    for field in ["id", "created", "updated", "key", "description", "version"] {
        assert!(bot[field].is_string(), "{field} in {bot}");
    }
    assert_eq!(bot["id"].as_str().unwrap().len(), 36);
    let config = &bot["prompt_config"];
    assert_eq!(config["provider"], "openai");
    assert_eq!(config["model"], "gpt-4o");
    assert_eq!(config["model_type"], "chat");
    assert_eq!(config["model_parameters"]["temperature"], 0.7);
    assert_eq!(config["model_parameters"]["maxTokens"], 512);
    assert_eq!(config["messages"][0]["role"], "system");
    assert_eq!(config["tools"][0]["function"]["name"], "get_order_status");
    assert_eq!(data[1]["prompt_config"]["model_type"], "completion");
    assert_eq!(data[2]["prompt_config"]["provider"], "anthropic");
}

#[tokio::test]
async fn paginates_forward_and_backward() {
    let mock = MockOrq::builder().deployments(five_deployments()).start().await.unwrap();

    // Forward, one at a time.
    let mut seen = Vec::new();
    let mut ids = Vec::new();
    let mut query = "/v2/deployments?limit=1".to_owned();
    loop {
        let (status, page) = get(&mock, &query).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["data"].as_array().unwrap().len(), 1);
        seen.extend(keys(&page));
        let id = page["data"][0]["id"].as_str().unwrap().to_owned();
        ids.push(id.clone());
        if page["has_more"] == false {
            break;
        }
        assert!(seen.len() < 5, "has_more must turn false");
        query = format!("/v2/deployments?limit=1&starting_after={id}");
    }
    assert_eq!(seen, ["d1", "d2", "d3", "d4", "d5"]);

    // After the last item: an empty page.
    let (_, page) = get(&mock, &format!("/v2/deployments?starting_after={}", ids[4])).await;
    assert_eq!(keys(&page), Vec::<String>::new());
    assert_eq!(page["has_more"], false);

    // Backward from the last item, one at a time.
    let mut back = Vec::new();
    let mut cursor = ids[4].clone();
    loop {
        let (status, page) = get(&mock, &format!("/v2/deployments?limit=1&ending_before={cursor}")).await;
        assert_eq!(status, StatusCode::OK);
        back.extend(keys(&page));
        cursor = page["data"][0]["id"].as_str().unwrap().to_owned();
        if page["has_more"] == false {
            break;
        }
        assert!(back.len() < 4, "has_more must turn false");
    }
    assert_eq!(back, ["d4", "d3", "d2", "d1"]);

    // Larger pages.
    let (_, page) = get(&mock, "/v2/deployments?limit=2").await;
    assert_eq!((keys(&page), page["has_more"].clone()), (vec!["d1".into(), "d2".into()], json!(true)));
    let (_, page) = get(&mock, &format!("/v2/deployments?limit=2&starting_after={}", ids[1])).await;
    assert_eq!(keys(&page), ["d3", "d4"]);
    assert_eq!(page["has_more"], true);
    let (_, page) = get(&mock, &format!("/v2/deployments?limit=3&ending_before={}", ids[2])).await;
    assert_eq!(keys(&page), ["d1", "d2"]);
    assert_eq!(page["has_more"], false);
    let (_, page) = get(&mock, "/v2/deployments").await;
    assert_eq!(keys(&page).len(), 5);
    assert_eq!(page["has_more"], false);
}

#[tokio::test]
async fn validates_limit_and_cursors() {
    let mock = MockOrq::start_default().await.unwrap();
    for bad in ["0", "201", "abc", "1.5", "-1", ""] {
        let (status, body) = get(&mock, &format!("/v2/deployments?limit={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "limit={bad}");
        assert_eq!(body["code"], "invalid_limit");
        assert!(body["message"].as_str().unwrap().contains("limit"));
    }
    for good in ["1", "200"] {
        let (status, _) = get(&mock, &format!("/v2/deployments?limit={good}")).await;
        assert_eq!(status, StatusCode::OK, "limit={good}");
    }
    let (status, body) = get(&mock, "/v2/deployments?starting_after=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_cursor");
    let id = &mock.deployments()[0].assigned_id().unwrap().to_owned();
    let (status, body) = get(&mock, &format!("/v2/deployments?starting_after={id}&ending_before={id}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_cursor");
}

#[tokio::test]
async fn requires_the_configured_api_key() {
    let mock = MockOrq::builder().api_key("test-key").start().await.unwrap();
    let url = format!("{}/v2/deployments", mock.url());
    let response = client().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 16, "gRPC UNAUTHENTICATED");
    assert_eq!(body["details"], json!([]));
    assert!(body["message"].as_str().unwrap().contains("API key"), "{body}");

    let response = client().get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = client().get(&url).header("authorization", "Basic test-key").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = client().get(&url).bearer_auth("test-key").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = client()
        .post(format!("{}/v2/deployments/invoke", mock.url()))
        .bearer_auth("test-key")
        .json(&invoke_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Without a configured key anything goes.
    mock.set_api_key(None);
    assert_eq!(get(&mock, "/v2/deployments").await.0, StatusCode::OK);
}

#[tokio::test]
async fn unknown_deployment_key_is_404() {
    let mock = MockOrq::start_default().await.unwrap();
    for path in ["get_config", "invoke", "stream"] {
        let (status, body) =
            post(&mock, &format!("/v2/deployments/{path}"), &json!({"key": "does-not-exist"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["code"], "deployment_not_found");
        assert!(body["message"].as_str().unwrap().contains("does-not-exist"));
    }
}

#[tokio::test]
async fn malformed_bodies_are_400() {
    let mock = MockOrq::start_default().await.unwrap();
    let url = format!("{}/v2/deployments/invoke", mock.url());
    for raw in ["", "{not json", "[1, 2]", "\"support-bot\""] {
        let response =
            client().post(&url).header("content-type", "application/json").body(raw).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{raw:?}");
        let body: Value = response.json().await.unwrap();
        assert!(body["code"] == "invalid_json" || body["code"] == "invalid_request");
    }
    let bad_bodies = [
        json!({}),
        json!({"key": 42}),
        json!({"key": "support-bot", "stream": "yes"}),
        json!({"key": "support-bot", "inputs": {"name": ["Ada"]}}),
        json!({"key": "support-bot", "inputs": "name=Ada"}),
        json!({"key": "support-bot", "messages": {"role": "user"}}),
        json!({"key": "support-bot", "messages": [{"role": "robot", "content": "hi"}]}),
        json!({"key": "support-bot", "messages": [{"role": "user"}]}),
        json!({"key": "support-bot", "messages": [{"role": "user", "content": [{"type": "video"}]}]}),
        json!({"key": "support-bot", "messages": [{"role": "tool", "content": "42"}]}),
        json!({"key": "support-bot", "prefix_messages": [{"role": "system", "content": 1}]}),
        json!({"key": "support-bot", "documents": [{"metadata": {}}]}),
        json!({"key": "support-bot", "invoke_options": {"include_retrievals": "true"}}),
        json!({"key": "support-bot", "file_ids": [1]}),
    ];
    for body in bad_bodies {
        let (status, answer) = post(&mock, "/v2/deployments/invoke", &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["code"], "invalid_request", "{body}");
        assert!(answer["message"].is_string());
    }
    // Unknown fields and nulls are fine.
    let (status, _) = post(
        &mock,
        "/v2/deployments/invoke",
        &json!({"key": "support-bot", "surprise": {"x": 1}, "context": null, "metadata": {"a": 1}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn get_config_substitutes_and_orders_messages() {
    let mock = MockOrq::builder()
        .deployment(
            Deployment::chat("greeter")
                .model("anthropic", "claude-3-5-haiku-20241022")
                .user("Say hi to {{name}} ({{age}}, vip={{vip}}) about {{topic}}.")
                .system("You greet {{ name }}."),
        )
        .start()
        .await
        .unwrap();
    let (status, config) = post(
        &mock,
        "/v2/deployments/get_config",
        &json!({
            "key": "greeter",
            "inputs": {"name": "Ada", "age": 36, "vip": true},
            "prefix_messages": [{"role": "developer", "content": "Be brief."}],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Look"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ]},
                {"role": "tool", "content": "42", "tool_call_id": "call_1"}
            ],
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let deployment = &mock.deployments()[0];
    assert_eq!(config["id"], deployment.assigned_id().unwrap());
    assert_eq!(config["provider"], "anthropic");
    assert_eq!(config["model"], "claude-3-5-haiku-20241022");
    assert_eq!(config["type"], "chat");
    assert_eq!(config["version"], "v1");
    assert_eq!(config["parameters"], json!({"temperature": 0.7, "maxTokens": 256}));
    assert_eq!(config["tools"], json!([]));
    assert_eq!(
        config["messages"],
        json!([
            {"role": "system", "content": "You greet Ada."},
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hi to Ada (36, vip=true) about {{topic}}."},
            {"role": "user", "content": [
                {"type": "text", "text": "Look"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}}
            ]},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]},
            {"role": "tool", "content": "42"}
        ])
    );

    // The sample support bot exposes its tool.
    let mock = MockOrq::start_default().await.unwrap();
    let (_, config) = post(&mock, "/v2/deployments/get_config", &invoke_body()).await;
    assert_eq!(config["tools"][0]["type"], "function");
    assert_eq!(config["tools"][0]["function"]["name"], "get_order_status");
    assert_eq!(config["parameters"]["maxTokens"], 512);
}

#[tokio::test]
async fn invoke_is_deterministic_and_well_shaped() {
    let mock = MockOrq::start_default().await.unwrap();
    let (status, first) = post(&mock, "/v2/deployments/invoke", &invoke_body()).await;
    assert_eq!(status, StatusCode::OK);
    let (_, second) = post(&mock, "/v2/deployments/invoke", &invoke_body()).await;

    let id = first["id"].as_str().unwrap();
    assert_eq!(id.len(), 26);
    assert!(id.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
    assert_ne!(first["id"], second["id"]);
    assert_eq!(first["object"], "chat");
    assert_eq!(first["model"], "gpt-4o");
    assert_eq!(first["provider"], "openai");
    assert_eq!(first["is_final"], true);
    assert_eq!(first["system_fingerprint"], Value::Null);
    let created = first["created"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.contains('T'), "{created}");
    assert!(first["finalized"].is_string());
    assert!(first.get("retrievals").is_none());
    assert_eq!(
        first["choices"],
        json!([{
            "index": 0,
            "message": {"type": "content", "role": "assistant", "content": SUPPORT_TEXT},
            "finish_reason": "stop",
        }])
    );
    assert_eq!(first["choices"], second["choices"]);

    // A completion deployment, no system prompt.
    let (_, summary) = post(
        &mock,
        "/v2/deployments/invoke",
        &json!({"key": "summarizer", "inputs": {"text": "Rust is fast."}}),
    )
    .await;
    assert_eq!(summary["object"], "completion");
    assert_eq!(
        summary["choices"][0]["message"]["content"],
        "Mock reply from summarizer (openai/gpt-3.5-turbo-instruct). You said: \"Summarize the following text in one paragraph: Rust is fast.\""
    );
}

#[tokio::test]
async fn invoke_returns_retrievals_and_tool_calls() {
    let mock = MockOrq::start_default().await.unwrap();
    let mut body = invoke_body();
    body["messages"][0]["content"] = json!("parcel delivery time");
    body["documents"] = json!([
        {"text": "Our office hours are 9 to 5."},
        {"text": "Parcel delivery takes two days.", "metadata": {"file_name": "faq.pdf", "file_type": "pdf", "page_number": 3}}
    ]);
    let (_, plain) = post(&mock, "/v2/deployments/invoke", &body).await;
    assert!(plain.get("retrievals").is_none());

    body["invoke_options"] = json!({"include_retrievals": true});
    let (status, answer) = post(&mock, "/v2/deployments/invoke", &body).await;
    assert_eq!(status, StatusCode::OK);
    let retrievals = answer["retrievals"].as_array().unwrap();
    assert_eq!(retrievals.len(), 2);
    assert_eq!(retrievals[0]["document"], "Parcel delivery takes two days.");
    assert_eq!(
        retrievals[0]["metadata"],
        json!({"file_name": "faq.pdf", "file_type": "pdf", "page_number": 3, "search_score": 0.667})
    );
    assert_eq!(retrievals[1]["metadata"]["file_name"], "document-1.txt");
    assert_eq!(retrievals[1]["metadata"]["page_number"], Value::Null);
    assert_eq!(retrievals[1]["metadata"]["search_score"], 0.0);

    let (_, call) = post(
        &mock,
        "/v2/deployments/invoke",
        &json!({"key": "support-bot", "messages": [{"role": "user", "content": "please get_order_status #A-17"}]}),
    )
    .await;
    let choice = &call["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["type"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let tool_call = &choice["message"]["tool_calls"][0];
    assert_eq!(tool_call["type"], "function");
    assert_eq!(tool_call["function"]["name"], "get_order_status");
    assert_eq!(tool_call["function"]["arguments"], r#"{"order_id":"A-17"}"#);
    assert!(tool_call["id"].as_str().unwrap().starts_with("call_"));

    // Feeding the tool result back produces text again.
    let (_, answer) = post(
        &mock,
        "/v2/deployments/invoke",
        &json!({"key": "support-bot", "messages": [
            {"role": "user", "content": "please get_order_status #A-17"},
            {"role": "assistant", "tool_calls": [tool_call]},
            {"role": "tool", "content": "shipped", "tool_call_id": tool_call["id"]}
        ]}),
    )
    .await;
    let text = answer["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.ends_with("Tool result: \"shipped\""), "{text}");
}

#[tokio::test]
async fn stream_words_concatenate_to_the_invoke_text() {
    let mock =
        MockOrq::builder().sample_deployments().event_delay(Duration::from_millis(2)).start().await.unwrap();
    let (_, invoked) = post(&mock, "/v2/deployments/invoke", &invoke_body()).await;
    let text = invoked["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(text, SUPPORT_TEXT);

    let response = client()
        .post(format!("{}/v2/deployments/stream", mock.url()))
        .json(&invoke_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    let body = response.text().await.unwrap();
    assert!(body.ends_with("data: [DONE]\n\n"));
    let events = sse_data(&body);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> =
        events[..events.len() - 1].iter().map(|e| serde_json::from_str(e).unwrap()).collect();
    let words = text.split(' ').count();
    assert_eq!(chunks.len(), words + 1);
    let (last, words) = chunks.split_last().unwrap();
    let mut joined = String::new();
    for chunk in words {
        assert_eq!(chunk["is_final"], false);
        assert_eq!(chunk["object"], "chat");
        assert_eq!(chunk["model"], "gpt-4o");
        assert_eq!(chunk["provider"], "openai");
        assert_eq!(chunk["id"], chunks[0]["id"]);
        assert_eq!(chunk["choices"][0]["index"], 0);
        assert_eq!(chunk["choices"][0]["finish_reason"], Value::Null);
        assert_eq!(chunk["choices"][0]["message"]["role"], "assistant");
        joined.push_str(chunk["choices"][0]["message"]["content"].as_str().unwrap());
    }
    assert_eq!(joined, text);
    assert_eq!(words[0]["choices"][0]["message"]["content"], "Mock ");
    assert_eq!(last["is_final"], true);
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(last["choices"][0]["message"]["content"], "");
}

#[tokio::test]
async fn stream_flag_is_ignored() {
    let mock = MockOrq::start_default().await.unwrap();
    let mut body = invoke_body();
    body["stream"] = json!(true);
    let (status, answer) = post(&mock, "/v2/deployments/invoke", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["choices"][0]["message"]["content"], SUPPORT_TEXT);

    body["stream"] = json!(false);
    let response =
        client().post(format!("{}/v2/deployments/stream", mock.url())).json(&body).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert!(response.text().await.unwrap().ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn fail_next_with_retry_after() {
    let mock = MockOrq::start_default().await.unwrap();
    mock.fail_next(2, 503).retry_after("1");
    for _ in 0..2 {
        let response = client()
            .post(format!("{}/v2/deployments/invoke", mock.url()))
            .json(&invoke_body())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "service_unavailable");
        assert!(body["message"].as_str().unwrap().contains("503"));
    }
    let (status, _) = post(&mock, "/v2/deployments/invoke", &invoke_body()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mock.requests().len(), 3, "faulted requests are recorded too");
}

#[tokio::test]
async fn faults_queue_up_and_can_be_customised() {
    let mock = MockOrq::builder().api_key("k").start().await.unwrap();
    mock.fail_next(1, 429).code("rate_limited").message("slow down");
    mock.fail_next(1, 502).raw_body("text/html", "<h1>Bad Gateway</h1>");
    mock.fail_next(1, 500);

    // Faults apply before authentication.
    let (status, body) = get(&mock, "/v2/deployments").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body, json!({"message": "slow down", "code": "rate_limited"}));
    let response = client().get(format!("{}/v2/deployments", mock.url())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert!(response.headers().get("retry-after").is_none());
    assert_eq!(response.text().await.unwrap(), "<h1>Bad Gateway</h1>");
    let (status, body) = get(&mock, "/v2/deployments").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["code"], "internal_server_error");
    assert_eq!(get(&mock, "/v2/deployments").await.0, StatusCode::UNAUTHORIZED);

    mock.fail_next(3, 503);
    mock.delay_next(Duration::from_secs(60));
    mock.cut_stream_after(1);
    mock.reset_faults();
    assert_eq!(get(&mock, "/v2/deployments").await.0, StatusCode::UNAUTHORIZED);
}

/// Reads a streaming response until it ends or fails; returns the text and whether it failed.
async fn read_stream(response: reqwest::Response) -> (String, bool) {
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => text.push_str(std::str::from_utf8(&bytes).unwrap()),
            Err(_) => return (text, true),
        }
    }
    (text, false)
}

async fn start_stream(mock: &MockOrq) -> reqwest::Response {
    let response = client()
        .post(format!("{}/v2/deployments/stream", mock.url()))
        .json(&invoke_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response
}

#[tokio::test]
async fn cut_stream_aborts_the_connection() {
    let mock = MockOrq::start_default().await.unwrap();
    mock.cut_stream_after(3);
    let (text, failed) = read_stream(start_stream(&mock).await).await;
    assert!(failed, "the body must end with an error, got {text:?}");
    let events = sse_data(&text);
    assert_eq!(events.len(), 3);
    assert!(!text.contains("[DONE]"));

    // Only the next stream is affected.
    let (text, failed) = read_stream(start_stream(&mock).await).await;
    assert!(!failed);
    assert!(text.ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn end_stream_finishes_early_without_done() {
    let mock = MockOrq::start_default().await.unwrap();
    // A failing request does not consume the stream fault.
    mock.end_stream_after(2);
    let (status, _) = post(&mock, "/v2/deployments/stream", &json!({"key": "nope"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (text, failed) = read_stream(start_stream(&mock).await).await;
    assert!(!failed, "the body must end cleanly");
    assert_eq!(sse_data(&text).len(), 2);
    assert!(!text.contains("[DONE]"));
}

#[tokio::test]
async fn stalled_stream_sends_nothing_more() {
    let mock = MockOrq::start_default().await.unwrap();
    mock.stall_stream_after(2);
    let mut stream = start_stream(&mock).await.bytes_stream();
    let mut text = String::new();
    while sse_data(&text).len() < 2 {
        let chunk = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("the first events arrive")
            .expect("the body continues")
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert_eq!(sse_data(&text).len(), 2);
    let next = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
    assert!(next.is_err(), "no bytes may arrive after the stall, got {next:?}");

    // Shutting down releases the stalled connection.
    mock.shutdown().await;
    let end = tokio::time::timeout(PATIENCE, stream.next()).await.expect("the stream ends after shutdown");
    assert!(!matches!(end, Some(Ok(_))), "{end:?}");
}

#[tokio::test]
async fn delay_next_delays_one_response() {
    let mock = MockOrq::start_default().await.unwrap();
    let delay = Duration::from_millis(200);
    mock.delay_next(delay);
    let started = Instant::now();
    let (status, _) = get(&mock, "/v2/deployments").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());

    // A long delay trips a client timeout.
    mock.delay_next(Duration::from_secs(60));
    let error = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap()
        .get(format!("{}/v2/deployments", mock.url()))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    // The client gave up, maybe before the mock read the request: wait until
    // it has, so the long delay is consumed and cannot leak into the next one.
    tokio::time::timeout(PATIENCE, mock.wait_for_requests(2)).await.expect("the mock reads the request");

    // Delays combine with failures.
    mock.delay_next(delay);
    mock.fail_next(1, 504);
    let started = Instant::now();
    let (status, _) = get(&mock, "/v2/deployments").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() >= delay);
}

#[tokio::test]
async fn records_requests() {
    let mock = MockOrq::start_default().await.unwrap();
    client()
        .get(format!("{}/v2/deployments?limit=2&starting_after=x%20y", mock.url()))
        .header("x-trace", "abc")
        .send()
        .await
        .unwrap();
    post(&mock, "/v2/deployments/invoke", &invoke_body()).await;
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/v2/deployments");
    assert_eq!(requests[0].query.as_deref(), Some("limit=2&starting_after=x%20y"));
    assert_eq!(requests[0].query_param("starting_after").as_deref(), Some("x y"));
    assert_eq!(requests[0].header("X-Trace"), Some("abc"));
    assert_eq!(requests[0].body, None);
    assert_eq!(requests[1].method, "POST");
    assert_eq!(requests[1].path, "/v2/deployments/invoke");
    assert_eq!(requests[1].header("content-type"), Some("application/json"));
    assert_eq!(requests[1].body.as_ref(), Some(&invoke_body()));
    mock.clear_requests();
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let mock = MockOrq::start_default().await.unwrap();
    let (status, body) = get(&mock, "/v1/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    let response = client().post(format!("{}/v2/deployments", mock.url())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET");
    let (status, body) = get(&mock, "/v2/deployments/invoke").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["code"], "method_not_allowed");
}

#[tokio::test]
async fn loads_deployments_from_a_file_and_at_runtime() {
    let path = std::env::temp_dir().join(format!("orq-mock-test-{}.json", std::process::id()));
    let file = json!([
        {
            "key": "from-file",
            "description": "Loaded from JSON",
            "created": "2024-03-01T10:00:00.000Z",
            "prompt_config": {
                "model": "mistral-large",
                "model_type": "chat",
                "provider": "togetherai",
                "model_parameters": {"temperature": 0.1},
                "messages": [{"role": "system", "content": "Hi {{who}}"}],
                "tools": []
            }
        },
        {
            "id": "0b0a7f52-5a9d-4f0e-9d7e-7f1f2e9e0c11",
            "created": "2024-01-01T00:00:00.000Z",
            "updated": "2024-02-01T00:00:00.000Z",
            "key": "older",
            "description": "",
            "version": "v3",
            "prompt_config": {"model": "gpt-4o", "model_type": "chat", "provider": "openai",
                              "model_parameters": {}, "messages": [], "tools": []}
        }
    ]);
    std::fs::write(&path, file.to_string()).unwrap();
    let mock = MockOrq::builder().deployments_from_file(&path).unwrap().start().await.unwrap();
    std::fs::remove_file(&path).ok();
    let (_, page) = get(&mock, "/v2/deployments").await;
    assert_eq!(keys(&page), ["from-file", "older"]);
    assert_eq!(page["data"][1]["id"], "0b0a7f52-5a9d-4f0e-9d7e-7f1f2e9e0c11");
    assert_eq!(page["data"][1]["version"], "v3");
    assert_eq!(page["data"][0]["updated"], "2024-03-01T10:00:00.000Z");
    let (_, config) =
        post(&mock, "/v2/deployments/get_config", &json!({"key": "from-file", "inputs": {"who": "there"}}))
            .await;
    assert_eq!(config["messages"][0]["content"], "Hi there");

    mock.add_deployment(Deployment::chat("fresh")).unwrap();
    let (_, page) = get(&mock, "/v2/deployments").await;
    assert_eq!(keys(&page), ["fresh", "from-file", "older"]);
    assert!(mock.add_deployment(Deployment::chat("fresh")).is_err());
    assert!(mock.remove_deployment("fresh"));
    assert!(!mock.remove_deployment("fresh"));

    let bad = MockOrq::builder().deployment(Deployment::chat("x").model("acme", "m")).start().await;
    assert!(matches!(bad, Err(orq_mock::Error::InvalidDeployment { .. })));
    assert!(MockOrq::builder().deployments_from_file("/nonexistent/orq.json").is_err());
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let mock = MockOrq::start_default().await.unwrap();
    let url = format!("{}/v2/deployments", mock.url());
    assert!(client().get(&url).send().await.is_ok());
    mock.shutdown().await;
    assert!(client().get(&url).send().await.is_err());
}

#[tokio::test]
async fn stream_carries_tool_calls_and_retrievals() {
    let mock = MockOrq::start_default().await.unwrap();
    let response = client()
        .post(format!("{}/v2/deployments/stream", mock.url()))
        .json(&json!({
            "key": "support-bot",
            "messages": [{"role": "user", "content": "get_order_status 981"}],
            "documents": [{"text": "Order 981 shipped."}],
            "invoke_options": {"include_retrievals": true},
        }))
        .send()
        .await
        .unwrap();
    let events = sse_data(&response.text().await.unwrap());
    assert_eq!(events.len(), 3, "{events:?}");
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    let message = &first["choices"][0]["message"];
    assert_eq!(message["content"], Value::Null);
    assert_eq!(message["tool_calls"][0]["function"]["name"], "get_order_status");
    assert_eq!(message["tool_calls"][0]["function"]["arguments"], r#"{"order_id":"981"}"#);
    let last: Value = serde_json::from_str(&events[1]).unwrap();
    assert_eq!(last["is_final"], true);
    assert_eq!(last["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(last["retrievals"][0]["document"], "Order 981 shipped.");
    assert_eq!(events[2], "[DONE]");
}

#[tokio::test]
async fn image_deployments_answer_with_a_url() {
    let mock = MockOrq::builder()
        .deployment(Deployment::new("painter", "image").model("openai", "dall-e-3"))
        .start()
        .await
        .unwrap();
    let body = json!({"key": "painter", "messages": [{"role": "user", "content": "a red fox"}]});
    let (_, answer) = post(&mock, "/v2/deployments/invoke", &body).await;
    assert_eq!(answer["object"], "image");
    let message = &answer["choices"][0]["message"];
    assert_eq!(message["type"], "image");
    let url = message["url"].as_str().unwrap();
    assert!(url.starts_with("https://") && url.ends_with(".png"), "{url}");
    let (_, again) = post(&mock, "/v2/deployments/invoke", &body).await;
    assert_eq!(again["choices"][0]["message"]["url"], url);
}

#[test]
fn example_deployments_file_matches_the_samples() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deployments.example.json");
    let loaded = Deployment::list_from_file(path).unwrap();
    let keys: Vec<&str> = loaded.iter().map(Deployment::key).collect();
    assert_eq!(keys, ["support-bot", "summarizer", "translator"]);
    let samples = Deployment::samples();
    for (file, sample) in loaded.iter().zip(&samples) {
        let mut file = file.to_json();
        let sample = sample.to_json();
        for generated in ["id", "created", "updated"] {
            file.as_object_mut().unwrap().remove(generated);
        }
        assert_eq!(file, sample);
    }
}

#[test]
fn mock_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MockOrq>();
    assert_send_sync::<orq_mock::MockOrqBuilder>();
    assert_send_sync::<orq_mock::RecordedRequest>();
}

#[tokio::test]
async fn recording_keeps_only_the_last_requests() {
    let mock = MockOrq::builder().record_limit(3).start().await.unwrap();
    for limit in 1..=5 {
        get(&mock, &format!("/v2/deployments?limit={limit}")).await;
    }
    let kept: Vec<_> = mock.requests().iter().map(|r| r.query.clone().unwrap_or_default()).collect();
    assert_eq!(kept, ["limit=3", "limit=4", "limit=5"]);
    assert_eq!(mock.requests_received(), 5);

    let mock = MockOrq::builder().record_limit(0).start().await.unwrap();
    get(&mock, "/v2/deployments").await;
    assert!(mock.requests().is_empty());
    assert_eq!(mock.requests_received(), 1);
    assert_eq!(orq_mock::DEFAULT_RECORD_LIMIT, 100);
}

#[tokio::test]
async fn admin_route_lists_and_clears_the_recording() {
    let mock = MockOrq::builder().api_key("secret").start().await.unwrap();
    post(&mock, "/v2/deployments/invoke", &invoke_body()).await;
    // Faults and the API key do not apply to the admin routes.
    mock.fail_next(1, 503);
    let (status, listed) = get(&mock, "/_mock/requests").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["received"], 1);
    assert_eq!(listed["record_limit"], 100);
    assert_eq!(listed["requests"][0]["path"], "/v2/deployments/invoke");
    assert_eq!(listed["requests"][0]["body"]["key"], "support-bot");

    let response = client().delete(format!("{}/_mock/requests", mock.url())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"cleared": 1}));
    assert!(mock.requests().is_empty());
    let (_, listed) = get(&mock, "/_mock/requests").await;
    assert_eq!(listed["requests"], json!([]));

    let (status, error) = post(&mock, "/_mock/requests", &json!({})).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error["code"], "method_not_allowed");
    let (status, error) = get(&mock, "/_mock/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["code"], "not_found");

    // The queued fault is still there for the next API request.
    let (status, _) = get(&mock, "/v2/deployments").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

/// Reads from a raw connection until the mock closes it (or `PATIENCE` passes).
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the mock kept the connection open; received {received:?}");
    received
}

#[tokio::test]
async fn idle_and_half_sent_heads_are_closed_after_the_header_read_timeout() {
    use tokio::io::AsyncWriteExt;
    let mock = MockOrq::builder().header_read_timeout(Duration::from_millis(200)).start().await.unwrap();

    // A connection that sends nothing.
    let mut idle = tokio::net::TcpStream::connect(mock.addr()).await.unwrap();
    read_until_closed(&mut idle).await;

    // A connection that sends half a request head.
    let mut half = tokio::net::TcpStream::connect(mock.addr()).await.unwrap();
    half.write_all(b"GET /v2/deployments HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    read_until_closed(&mut half).await;

    // A connection kept alive after a request is closed once idle.
    let mut kept = tokio::net::TcpStream::connect(mock.addr()).await.unwrap();
    kept.write_all(b"GET /v2/deployments HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let answer = String::from_utf8(read_until_closed(&mut kept).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_half_sent_body_is_answered_408_in_json() {
    use tokio::io::AsyncWriteExt;
    let mock = MockOrq::builder().body_read_timeout(Duration::from_millis(200)).start().await.unwrap();
    let mut stream = tokio::net::TcpStream::connect(mock.addr()).await.unwrap();
    let head = "POST /v2/deployments/invoke HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                content-length: 100\r\nconnection: close\r\n\r\n{\"key\":";
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = String::from_utf8(read_until_closed(&mut stream).await).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("application/json") && answer.contains("\"code\":\"request_timeout\""),
        "{answer}"
    );
    assert_eq!(mock.requests_received(), 0, "an unread request is not recorded");
}

fn versions_of(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|v| v["version"].as_str().expect("version").to_owned())
        .collect()
}

fn version_ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|v| v["_id"].as_str().expect("_id").to_owned())
        .collect()
}

#[tokio::test]
async fn lists_the_saved_versions_of_a_sample_newest_first() {
    let mock = MockOrq::start_default().await.unwrap();
    let bot = mock.deployments().into_iter().find(|d| d.key() == "support-bot").unwrap();
    let variants = bot.variant_ids();
    assert_eq!(variants.len(), 2);
    assert_ne!(variants[0], variants[1]);

    let (status, page) = get(&mock, "/v2/deployments/support-bot/versions").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["object"], "list");
    assert_eq!(page["has_more"], false);
    assert_eq!(versions_of(&page), ["v3", "v2", "v1"]);
    let data = page["data"].as_array().unwrap();
    let timestamps: Vec<&str> = data.iter().map(|v| v["timestamp"].as_str().unwrap()).collect();
    // Saved an hour apart, starting an hour after the deployment was created.
    assert_eq!(bot.created_at(), Some("2025-01-15T11:00:00.000Z"));
    assert_eq!(
        timestamps,
        ["2025-01-15T14:00:00.000Z", "2025-01-15T13:00:00.000Z", "2025-01-15T12:00:00.000Z"]
    );
    let statuses: Vec<&str> = data.iter().map(|v| v["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["live", "live", "published"], "the newest of each variant is live");
    let variant_of: Vec<&str> = data.iter().map(|v| v["variant_id"].as_str().unwrap()).collect();
    assert_eq!(variant_of, [&variants[0], &variants[1], &variants[0]]);
    assert_eq!(data[2]["user_id"], Value::Null);
    assert!(data[0]["user_id"].is_string());
    // Every id is its own, down to the random part after the 10 time characters.
    let mut random_parts: Vec<String> = version_ids(&page).into_iter().chain(variants.clone()).collect();
    random_parts.push(data[0]["user_id"].as_str().unwrap().to_owned());
    random_parts.push(data[0]["prompt_config"]["model_db_id"].as_str().unwrap().to_owned());
    let mut random_parts: Vec<String> = random_parts.iter().map(|id| id[10..].to_owned()).collect();
    random_parts.sort();
    random_parts.dedup();
    assert_eq!(random_parts.len(), 7);

    let newest = &data[0];
    assert_eq!(newest["_id"].as_str().unwrap().len(), 26);
    assert_eq!(newest["deployment_id"], bot.assigned_id().unwrap());
    assert_eq!(newest["description"], "Version 3 of support-bot");
    assert_eq!(newest["fallbacks"], json!([]));
    assert_eq!(newest["variables"], json!([{"key": "name", "is_pii": false}]));
    assert_eq!(newest["tools"][0]["function"]["name"], "get_order_status");
    let config = &newest["prompt_config"];
    assert_eq!((config["provider"].as_str(), config["model"].as_str()), (Some("openai"), Some("gpt-4o")));
    assert_eq!(config["model_type"], "chat");
    assert_eq!(config["model_parameters"], json!({"temperature": 0.7, "maxTokens": 512}));
    assert_eq!(config["integration_id"], Value::Null);
    assert_eq!(config["version"], "v3");
    assert_eq!(config["model_db_id"].as_str().unwrap().len(), 26);
    assert_eq!(config["messages"][0]["role"], "system");
    assert!(config["messages"][0]["content"].as_str().unwrap().contains("{{name}}"));
    assert!(config["messages"][0]["id"].is_string());
    assert!(config.get("tools").is_none(), "tools sit on the version");

    // The same deployment by its id, and the same answer from another mock.
    let id = bot.assigned_id().unwrap();
    let (status, by_id) = get(&mock, &format!("/v2/deployments/{id}/versions")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id, page);
    let other = MockOrq::start_default().await.unwrap();
    assert_eq!(get(&other, "/v2/deployments/support-bot/versions/").await.1, page);

    let (_, translator) = get(&mock, "/v2/deployments/translator/versions").await;
    assert_eq!(
        translator["data"][0]["variables"],
        json!([{"key": "source_language", "is_pii": false}, {"key": "target_language", "is_pii": false}])
    );
    assert_eq!(translator["data"][0]["tools"], json!([]));
}

#[tokio::test]
async fn pages_through_versions_both_ways() {
    let mock = MockOrq::builder().deployment(Deployment::chat("busy").versions(25)).start().await.unwrap();
    let (_, everything) = get(&mock, "/v2/deployments/busy/versions?limit=50").await;
    let all = version_ids(&everything);
    assert_eq!(all.len(), 25);
    assert_eq!(everything["has_more"], false);
    let expected: Vec<String> = (1..=25).rev().map(|n| format!("v{n}")).collect();
    assert_eq!(versions_of(&everything), expected);

    // Forward with the default limit of 10.
    let mut pages = Vec::new();
    let mut query = "/v2/deployments/busy/versions".to_owned();
    loop {
        let (status, page) = get(&mock, &query).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let ids = version_ids(&page);
        pages.push((ids.clone(), page["has_more"].as_bool().unwrap()));
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
        assert!(pages.len() < 3, "has_more must turn false");
        query = format!("/v2/deployments/busy/versions?starting_after={}", ids.last().unwrap());
    }
    let sizes: Vec<(usize, bool)> = pages.iter().map(|(ids, more)| (ids.len(), *more)).collect();
    assert_eq!(sizes, [(10, true), (10, true), (5, false)]);
    assert_eq!(pages.iter().flat_map(|(ids, _)| ids.clone()).collect::<Vec<_>>(), all);

    // After the oldest: an empty page.
    let (_, page) = get(&mock, &format!("/v2/deployments/busy/versions?starting_after={}", all[24])).await;
    assert_eq!((version_ids(&page).len(), page["has_more"].clone()), (0, json!(false)));

    // Backward from the first item of the last page.
    let (_, page) = get(&mock, &format!("/v2/deployments/busy/versions?ending_before={}", all[20])).await;
    assert_eq!(version_ids(&page), all[10..20]);
    assert_eq!(page["has_more"], true);
    let (_, page) = get(&mock, &format!("/v2/deployments/busy/versions?ending_before={}", all[10])).await;
    assert_eq!(version_ids(&page), all[..10]);
    assert_eq!(page["has_more"], false);
    let (_, page) =
        get(&mock, &format!("/v2/deployments/busy/versions?ending_before={}&limit=3", all[2])).await;
    assert_eq!((version_ids(&page), page["has_more"].clone()), (all[..2].to_vec(), json!(false)));

    // Without versions: an empty list.
    mock.add_deployment(Deployment::chat("fresh").versions(0)).unwrap();
    let (status, page) = get(&mock, "/v2/deployments/fresh/versions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page, json!({"object": "list", "data": [], "has_more": false}));
}

#[tokio::test]
async fn validates_the_version_limit_and_cursors() {
    let mock = MockOrq::builder().deployment(Deployment::chat("busy").versions(60)).start().await.unwrap();
    for bad in ["0", "51", "abc", "1.5", "-1", ""] {
        let (status, body) = get(&mock, &format!("/v2/deployments/busy/versions?limit={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "limit={bad}");
        assert_eq!(body["code"], "invalid_limit");
        assert!(body["message"].as_str().unwrap().contains("between 1 and 50"), "{body}");
    }
    for (good, len) in [("1", 1), ("50", 50)] {
        let (status, page) = get(&mock, &format!("/v2/deployments/busy/versions?limit={good}")).await;
        assert_eq!(status, StatusCode::OK, "limit={good}");
        assert_eq!(version_ids(&page).len(), len);
        assert_eq!(page["has_more"], true);
    }
    let (_, page) = get(&mock, "/v2/deployments/busy/versions?limit=1").await;
    let id = version_ids(&page).remove(0);
    let deployment_id = mock.deployments()[0].assigned_id().unwrap().to_owned();
    for query in [
        "starting_after=nope".to_owned(),
        format!("ending_before={deployment_id}"),
        format!("starting_after={id}&ending_before={id}"),
    ] {
        let (status, body) = get(&mock, &format!("/v2/deployments/busy/versions?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["code"], "invalid_cursor", "{query}");
    }
}

#[tokio::test]
async fn filters_versions_by_variant() {
    let mock = MockOrq::builder()
        .deployment(Deployment::chat("split").versions(5).variants(["var_a", "var_b"]))
        .start()
        .await
        .unwrap();
    assert_eq!(mock.deployments()[0].variant_ids(), ["var_a", "var_b"]);
    let (_, a) = get(&mock, "/v2/deployments/split/versions?variant_id=var_a").await;
    assert_eq!(versions_of(&a), ["v5", "v3", "v1"]);
    let statuses: Vec<&str> =
        a["data"].as_array().unwrap().iter().map(|v| v["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["live", "published", "published"]);
    let (_, b) = get(&mock, "/v2/deployments/split/versions?variant_id=var_b").await;
    assert_eq!(versions_of(&b), ["v4", "v2"]);
    assert!(b["data"].as_array().unwrap().iter().all(|v| v["variant_id"] == "var_b"));

    // Pages within a variant; a cursor of another variant is unknown there.
    let a_ids = version_ids(&a);
    let (_, page) = get(
        &mock,
        &format!("/v2/deployments/split/versions?variant_id=var_a&limit=1&starting_after={}", a_ids[0]),
    )
    .await;
    assert_eq!((versions_of(&page), page["has_more"].clone()), (vec!["v3".to_owned()], json!(true)));
    let b_id = &version_ids(&b)[0];
    let (status, body) =
        get(&mock, &format!("/v2/deployments/split/versions?variant_id=var_a&starting_after={b_id}")).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_cursor")));

    let (status, none) = get(&mock, "/v2/deployments/split/versions?variant_id=var_z").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none, json!({"object": "list", "data": [], "has_more": false}));

    let bad =
        MockOrq::builder().deployment(Deployment::chat("x").variants(Vec::<String>::new())).start().await;
    assert!(matches!(bad, Err(orq_mock::Error::InvalidDeployment { .. })));
    let bad = MockOrq::builder().deployment(Deployment::chat("x").variants(["v", "v"])).start().await;
    assert!(matches!(bad, Err(orq_mock::Error::InvalidDeployment { .. })));
}

#[tokio::test]
async fn version_lookup_decodes_the_key_and_knows_unknown_ones() {
    let key = "team a/bot%1 ü";
    let mock = MockOrq::builder().deployment(Deployment::chat(key).system("Hi")).start().await.unwrap();
    let (status, page) = get(&mock, "/v2/deployments/team%20a%2Fbot%251%20%C3%BC/versions").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["data"][0]["description"], format!("Version 3 of {key}"));
    assert_eq!(page["data"][0]["deployment_id"], mock.deployments()[0].assigned_id().unwrap());

    let (status, body) = get(&mock, "/v2/deployments/nobody%20here/versions").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "deployment_not_found");
    assert!(body["message"].as_str().unwrap().contains("\"nobody here\""), "{body}");
    // Unescaped, the slash splits the path: no such route.
    let (status, body) = get(&mock, "/v2/deployments/team%20a/bot%251%20%C3%BC/versions").await;
    assert_eq!((status, body["code"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
    let (status, body) = get(&mock, "/v2/deployments/bad%zz/versions").await;
    assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_request")));
    let (status, body) = get(&mock, "/v2/deployments/%FF/versions").await;
    assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_request")));

    let response = client().post(format!("{}/v2/deployments/x/versions", mock.url())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET");
}

#[tokio::test]
async fn every_route_answers_401_with_the_grpc_code() {
    let mock = MockOrq::builder().api_key("test-key").start().await.unwrap();
    let expected_message = "missing or invalid API key: send `Authorization: Bearer <key>`";
    let requests = [
        client().get(format!("{}/v2/deployments", mock.url())),
        client().get(format!("{}/v2/deployments/support-bot/versions", mock.url())),
        client().post(format!("{}/v2/deployments/get_config", mock.url())).json(&invoke_body()),
        client().post(format!("{}/v2/deployments/invoke", mock.url())).json(&invoke_body()),
        client()
            .post(format!("{}/v2/deployments/stream", mock.url()))
            .bearer_auth("wrong")
            .json(&invoke_body()),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let url = response.url().clone();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{url}");
        assert_eq!(response.headers()["content-type"], "application/json", "{url}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"message": expected_message, "code": 16, "details": []}), "{url}");
    }
    let response = client()
        .get(format!("{}/v2/deployments/support-bot/versions", mock.url()))
        .bearer_auth("test-key")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn accepts_the_newest_request_fields_and_checks_file_sources() {
    let mock = MockOrq::start_default().await.unwrap();
    let messages = json!([
        {"role": "user", "content": [
            {"type": "text", "text": "Read these."},
            {"type": "file", "file": {"file_id": "file-abc123", "filename": "a.pdf"}},
            {"type": "file", "file": {"uri": "gs://bucket/b.pdf", "mimeType": "application/pdf"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}}
        ]},
        {"role": "assistant", "content": "Looking.", "reasoning_content": "Check the order first.",
         "tool_calls": [{"id": "call_1", "type": "function",
                         "function": {"name": "get_order_status", "arguments": "{\"order_id\":\"1\"}"},
                         "extra_content": {"google": {"thought_signature": "c2ln"}}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "shipped"}
    ]);
    for path in ["get_config", "invoke", "stream"] {
        let body = json!({"key": "support-bot", "inputs": {"name": "Ada"},
                          "prefix_messages": messages, "messages": messages});
        let response =
            client().post(format!("{}/v2/deployments/{path}", mock.url())).json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}: {}", response.text().await.unwrap());
    }

    for (file, names) in [
        (json!({"filename": "a.pdf"}), "[]"),
        (json!({"file_data": "data:,x", "uri": "https://x/a.pdf"}), r#"["file_data", "uri"]"#),
        (json!({"file_id": "file-1", "uri": "gs://b/a"}), r#"["file_id", "uri"]"#),
    ] {
        for field in ["messages", "prefix_messages"] {
            let body = json!({"key": "support-bot", field: [{"role": "user", "content": [{"type": "file", "file": file}]}]});
            let (status, answer) = post(&mock, "/v2/deployments/invoke", &body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(answer["code"], "invalid_request");
            let message = answer["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("`{field}[0].content[0].file` must have exactly one of")),
                "{message}"
            );
            assert!(message.ends_with(&format!("got {names}")), "{message}");
        }
    }
}

#[tokio::test]
async fn a_deployments_file_may_set_the_saved_versions() {
    let json = json!([{
        "key": "from-file",
        "prompt_config": {"model": "gpt-4o", "model_type": "chat", "provider": "openai"},
        "mock_versions": 4,
        "mock_variants": ["var_1"]
    }]);
    let mock = MockOrq::builder().deployments_from_json(&json.to_string()).unwrap().start().await.unwrap();
    let (_, page) = get(&mock, "/v2/deployments/from-file/versions").await;
    assert_eq!(versions_of(&page), ["v4", "v3", "v2", "v1"]);
    assert!(page["data"].as_array().unwrap().iter().all(|v| v["variant_id"] == "var_1"));
    let (_, list) = get(&mock, "/v2/deployments").await;
    assert!(list["data"][0].get("mock_versions").is_none(), "not part of the list item");
}
