//! The October 2026 API through the facade, over real loopback HTTP:
//!
//! 1. `list_versions` against orq-mock: newest first, pages forward with
//!    `starting_after` and back with `ending_before`, `list_versions_all`, the
//!    variant filter, lookup by id, a key that needs escaping, 404, 401 and a
//!    limit out of range (rejected before anything is sent);
//! 2. `list_versions` against httpmock: the exact query string and escaped
//!    path, a 204 as an empty last page, JSON and non-JSON 401 bodies, a 503
//!    retried; version bodies valid under the 2026-10 reference decode;
//! 3. the blocking client's `list_versions` and `list_versions_all`;
//! 4. a 401's JSON body (message, gRPC code, details) on list, invoke and stream;
//! 5. the new request fields (`file_id`, `extra_content.google.thought_signature`,
//!    `reasoning_content`) as exact JSON, each body validated against the
//!    2026-10 reference when `../shared/reference` is there; a file part
//!    without exactly one source is rejected before sending;
//! 6. orq-mock accepts the new request fields;
//! 7. a stream chunk with `"error": null` is a chunk, not an error;
//! 8. fractional token counts arrive and re-serialise as sent, from invoke
//!    and from a stream.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::TryStreamExt;
use httpmock::{HttpMockRequest, HttpMockResponse, Method, MockServer};
use orq::types::{
    AssistantToolCall, CacheKind, Count, DeploymentVersion, DeploymentVersionList, EvaluationTarget,
    FileData, GuardrailBehaviour, ListObject, Message, ModelType, Provider, RetrievalQuery, StatusErrorBody,
    TemplateEngine, UserContentPart, VersionStatus,
};
use orq::{Client, Error, RetryPolicy};
use orq_api::mock::MockServerExt;
use orq_mock::{Deployment, MockOrq};
use orq_tests::{Recording, Reference};
use serde_json::{Value, json};

const KEY: &str = "sk-orq-test-2026-10";
const INVOKE: &str = "/v2/deployments/invoke";

fn client(url: impl Into<String>) -> Client {
    Client::builder().api_key(KEY).base_url(url).no_retries().build().expect("client builds")
}

fn invoke_answer() -> Value {
    json!({
        "id": "01JABCDEF0123456789XYZ",
        "created": "2026-10-01T10:00:00.000Z",
        "object": "chat",
        "model": "gpt-4o",
        "provider": "openai",
        "is_final": true,
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"type": "content", "role": "assistant", "content": "Hi"}}]
    })
}

/// The `_id`s of a page, in order.
fn ids(versions: &[DeploymentVersion]) -> Vec<String> {
    versions.iter().map(|v| v.id.clone()).collect()
}

/// The `version` names of a page, in order.
fn names(versions: &[DeploymentVersion]) -> Vec<String> {
    versions.iter().map(|v| v.version.clone()).collect()
}

/// `v<from>` down to `v<to>`.
fn named(from: u32, to: u32) -> Vec<String> {
    (to..=from).rev().map(|n| format!("v{n}")).collect()
}

// ------------------------------------------------ the 2026-10 reference schema

/// The invoke request body schema of the reference.
const REQUEST: &str = "/components/schemas/InvokeDeploymentRequest";
/// The 200 body of list_versions.
const VERSIONS_PAGE: &str =
    "/paths/~1v2~1deployments~1%7BkeyOrID%7D~1versions/get/responses/200/content/application~1json/schema";

/// The 2026-10 reference, compiled; `None` (with a note) when it is not beside
/// the repository.
fn reference() -> Option<&'static Reference> {
    static REFERENCE: OnceLock<Option<Reference>> = OnceLock::new();
    REFERENCE.get_or_init(|| Reference::load("2026-10", &[REQUEST, VERSIONS_PAGE])).as_ref()
}

/// Fails unless `body` is valid under the 2026-10 invoke request schema (when present).
#[track_caller]
fn assert_valid_request(body: &Value) {
    if let Some(reference) = reference() {
        reference.assert_valid(REQUEST, body);
    }
}

/// Fails unless `body` is a valid 2026-10 list_versions answer (when the reference is present).
#[track_caller]
fn assert_valid_versions_page(body: &Value) {
    if let Some(reference) = reference() {
        reference.assert_valid(VERSIONS_PAGE, body);
    }
}

// --------------------------------------------------- 1. list_versions, orq-mock

async fn mock_with(deployments: impl IntoIterator<Item = Deployment>) -> (MockOrq, Client) {
    let mock = MockOrq::builder().api_key(KEY).deployments(deployments).start().await.expect("mock starts");
    let client = client(mock.url());
    (mock, client)
}

async fn samples() -> (MockOrq, Client) {
    let mock = MockOrq::builder().api_key(KEY).start().await.expect("mock starts");
    let client = client(mock.url());
    (mock, client)
}

#[tokio::test]
async fn a_samples_versions_come_newest_first() {
    let (mock, client) = samples().await;
    let deployment = mock.deployments().into_iter().find(|d| d.key() == "support-bot").expect("a sample");
    let page = client.deployments().list_versions("support-bot").send().await.unwrap();
    assert_eq!(page.object, Some(ListObject::List));
    assert!(!page.has_more);
    assert_eq!(names(&page.data), named(3, 1));
    assert!(page.data.windows(2).all(|w| w[0].timestamp > w[1].timestamp), "newest first: {page:?}");
    let variants = deployment.variant_ids();
    // Three versions spread over two variants: v1 and v3 on the first, v2 on the second.
    let of_variant: Vec<&str> = page.data.iter().map(|v| v.variant_id.as_str()).collect();
    assert_eq!(of_variant, [&variants[0], &variants[1], &variants[0]]);
    let statuses: Vec<_> = page.data.iter().map(|v| v.status.clone()).collect();
    assert_eq!(
        statuses,
        [Some(VersionStatus::Live), Some(VersionStatus::Live), Some(VersionStatus::Published)]
    );
    assert!(page.data.iter().all(|v| Some(v.deployment_id.as_str()) == deployment.assigned_id()));
    assert_eq!(page.data[2].user_id, None, "the first version has user_id null");
    assert!(page.data[0].user_id.is_some());
    assert_eq!(page.next_cursor(), None);
    assert_eq!(mock.requests().len(), 1);
    assert_eq!(mock.requests()[0].query, None, "no limit is sent unless set");
    mock.shutdown().await;
}

#[tokio::test]
async fn pages_go_forward_with_starting_after_and_back_with_ending_before() {
    let (mock, client) = mock_with([Deployment::chat("many").versions(25)]).await;
    let versions = || client.deployments().list_versions("many").limit(10);

    let first = versions().send().await.unwrap();
    let second = versions().starting_after(first.next_cursor().expect("more")).send().await.unwrap();
    let third = versions().starting_after(second.next_cursor().expect("more")).send().await.unwrap();
    let sizes = [first.data.len(), second.data.len(), third.data.len()];
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!((first.has_more, second.has_more, third.has_more), (true, true, false));
    assert_eq!(third.next_cursor(), None);
    let forward: Vec<DeploymentVersion> =
        [&first, &second, &third].into_iter().flat_map(|page| page.data.clone()).collect();
    assert_eq!(names(&forward), named(25, 1));
    let mut distinct = ids(&forward);
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 25, "every id is distinct");
    assert!(forward.windows(2).all(|w| w[0].timestamp > w[1].timestamp), "newest first");

    // Back from the last page: the ten before its first item, then the ten before those.
    let back = versions().ending_before(&third.data[0].id).send().await.unwrap();
    assert_eq!(ids(&back.data), ids(&second.data));
    assert!(back.has_more, "newer versions remain");
    let back_again = versions().ending_before(&back.data[0].id).send().await.unwrap();
    assert_eq!(ids(&back_again.data), ids(&first.data));
    assert!(!back_again.has_more, "nothing is newer than the first page");

    let queries: Vec<Option<String>> = mock.requests().into_iter().map(|r| r.query).collect();
    assert_eq!(queries[0].as_deref(), Some("limit=10"));
    assert_eq!(queries[1], Some(format!("limit=10&starting_after={}", first.data[9].id)));
    assert_eq!(queries[3], Some(format!("ending_before={}&limit=10", third.data[0].id)));
    mock.shutdown().await;
}

#[tokio::test]
async fn list_versions_all_yields_every_version() {
    let (mock, client) = mock_with([Deployment::chat("many").versions(25)]).await;
    let all: Vec<DeploymentVersion> =
        client.deployments().list_versions_all("many").try_collect().await.unwrap();
    assert_eq!(names(&all), named(25, 1));
    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "50 a page: one request");
    assert_eq!(requests[0].query_param("limit").as_deref(), Some("50"));

    // From a request of its own, pages of 10 are followed to the end.
    mock.clear_requests();
    let paged: Vec<DeploymentVersion> =
        client.deployments().list_versions("many").limit(10).into_stream().try_collect().await.unwrap();
    assert_eq!(ids(&paged), ids(&all));
    assert_eq!(mock.requests().len(), 3);
    mock.shutdown().await;
}

#[tokio::test]
async fn the_variant_filter_keeps_only_that_variants_versions() {
    let deployment = Deployment::chat("split").versions(7).variants(["var-a", "var-b", "var-c"]);
    let (mock, client) = mock_with([deployment]).await;
    let page = client.deployments().list_versions("split").variant_id("var-b").send().await.unwrap();
    // Version n belongs to variant (n - 1) % 3: var-b has v5 and v2.
    assert_eq!(names(&page.data), ["v5", "v2"]);
    assert!(page.data.iter().all(|v| v.variant_id == "var-b"), "{page:?}");
    let all: Vec<DeploymentVersion> = client
        .deployments()
        .list_versions("split")
        .variant_id("var-a")
        .limit(1)
        .into_stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names(&all), ["v7", "v4", "v1"]);
    assert!(mock.requests().iter().skip(1).all(|r| r.query_param("variant_id").as_deref() == Some("var-a")));
    let none = client.deployments().list_versions("split").variant_id("var-x").send().await.unwrap();
    assert!(none.data.is_empty() && !none.has_more);
    mock.shutdown().await;
}

#[tokio::test]
async fn a_deployment_is_found_by_its_id_too() {
    let (mock, client) = samples().await;
    let deployment = mock.deployments().into_iter().find(|d| d.key() == "translator").expect("a sample");
    let id = deployment.assigned_id().expect("an id").to_string();
    let by_id = client.deployments().list_versions(&id).send().await.unwrap();
    let by_key = client.deployments().list_versions("translator").send().await.unwrap();
    assert_eq!(by_id, by_key);
    assert_eq!(by_id.data.len(), 3);
    assert!(by_id.data.iter().all(|v| v.deployment_id == id));
    mock.shutdown().await;
}

#[tokio::test]
async fn a_key_that_needs_escaping_reaches_the_service_unchanged() {
    let key = "team a/bot%1 ü";
    let (mock, client) = mock_with([Deployment::chat(key), Deployment::chat("team a")]).await;
    let page = client.deployments().list_versions(key).send().await.unwrap();
    let id = mock
        .deployments()
        .into_iter()
        .find(|d| d.key() == key)
        .and_then(|d| d.assigned_id().map(String::from));
    assert_eq!(page.data.len(), 3);
    assert!(page.data.iter().all(|v| Some(&v.deployment_id) == id.as_ref()), "found the right deployment");
    assert_eq!(mock.requests()[0].path, "/v2/deployments/team%20a%2Fbot%251%20%C3%BC/versions");
    mock.shutdown().await;
}

#[tokio::test]
async fn an_unknown_key_is_not_found() {
    let (mock, client) = samples().await;
    let error = client.deployments().list_versions("no-such-bot").send().await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    match error {
        Error::Api { status, code, message, .. } => {
            assert_eq!(status.as_u16(), 404);
            assert_eq!(code.as_deref(), Some("deployment_not_found"));
            assert!(message.contains("no-such-bot"), "{message}");
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    mock.shutdown().await;
}

#[tokio::test]
async fn a_wrong_api_key_is_a_401_with_the_services_code_and_details() {
    let (mock, _) = samples().await;
    let wrong = Client::builder().api_key("sk-wrong").base_url(mock.url()).no_retries().build().unwrap();
    let error = wrong.deployments().list_versions("support-bot").send().await.unwrap_err();
    assert!(error.is_unauthorized(), "{error:?}");
    match error {
        Error::Api { status, message, code, details, body, .. } => {
            assert_eq!(status.as_u16(), 401);
            assert_eq!(code.as_deref(), Some("16"));
            assert!(details.is_empty(), "{details:?}");
            let sent: Value = serde_json::from_str(&body).expect("the body is kept");
            assert_eq!(sent["message"].as_str(), Some(message.as_str()));
            assert!(message.starts_with("missing or invalid API key"), "{message}");
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    mock.shutdown().await;
}

#[tokio::test]
async fn a_limit_out_of_range_is_rejected_before_sending() {
    let (mock, client) = samples().await;
    for limit in [0, 51, u32::MAX] {
        let error = client.deployments().list_versions("support-bot").limit(limit).send().await.unwrap_err();
        assert!(
            matches!(&error, Error::InvalidRequest(m) if *m == format!("limit must be between 1 and 50, not {limit}")),
            "{error:?}"
        );
        let streamed: Result<Vec<_>, _> =
            client.deployments().list_versions("support-bot").limit(limit).into_stream().try_collect().await;
        assert!(matches!(streamed, Err(Error::InvalidRequest(_))), "{streamed:?}");
    }
    assert_eq!(mock.requests().len(), 0, "nothing was sent");
    for limit in [1, 50] {
        client.deployments().list_versions("support-bot").limit(limit).send().await.expect("in range");
    }
    assert_eq!(mock.requests().len(), 2);
    mock.shutdown().await;
}

#[tokio::test]
async fn an_empty_or_path_step_key_is_rejected_before_sending() {
    let (mock, client) = samples().await;
    for (key, says) in [
        ("", "the deployment key or id is empty"),
        ("  ", "the deployment key or id is empty"),
        (".", "`.` cannot be sent as a deployment key or id"),
        ("..", "`..` cannot be sent as a deployment key or id"),
    ] {
        let error = client.deployments().list_versions(key).send().await.unwrap_err();
        assert!(matches!(&error, Error::InvalidRequest(m) if m.contains(says)), "{key:?}: {error:?}");
    }
    assert_eq!(mock.requests().len(), 0, "nothing was sent");
    // Dots inside a key are fine.
    let (mock2, client2) = mock_with([Deployment::chat("..."), Deployment::chat(".bot")]).await;
    assert_eq!(client2.deployments().list_versions("...").send().await.unwrap().data.len(), 3);
    assert_eq!(client2.deployments().list_versions(".bot").send().await.unwrap().data.len(), 3);
    assert_eq!(mock2.requests()[0].path, "/v2/deployments/.../versions");
    mock.shutdown().await;
    mock2.shutdown().await;
}

#[tokio::test]
async fn the_mocks_version_pages_are_valid_2026_10_answers() {
    let tools = Deployment::chat("with-tools")
        .model("anthropic", "claude-sonnet-4-5")
        .system("You help {{name}} with {{topic}}.")
        .tool(
            "lookup",
            "Looks things up",
            json!({"type": "object", "properties": {"q": {"type": "string"}}}),
        );
    let (mock, _) = mock_with(Deployment::samples().into_iter().chain([tools])).await;
    let http = reqwest::Client::new();
    for key in ["support-bot", "summarizer", "translator", "with-tools"] {
        let body: Value = http
            .get(format!("{}/v2/deployments/{key}/versions?limit=50", mock.url()))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_valid_versions_page(&body);
        let page: DeploymentVersionList = serde_json::from_value(body.clone()).expect("decodes");
        assert_eq!(page.data.len(), 3, "{key}");
    }
    mock.shutdown().await;
}

// ------------------------------------------------- 2. list_versions, httpmock

/// A loopback server that answers every request with `status` and `body` and
/// keeps the raw path and query of each request.
struct UriRecorder {
    server: MockServer,
    uris: Arc<Mutex<Vec<String>>>,
}

impl UriRecorder {
    async fn start(status: u16, body: Value) -> UriRecorder {
        let server = MockServer::start_async().await;
        let uris = Arc::new(Mutex::new(Vec::new()));
        let seen = uris.clone();
        server
            .mock_async(move |when, then| {
                when.any_request();
                then.respond_with(move |request: &HttpMockRequest| {
                    let uri = request.uri();
                    seen.lock()
                        .unwrap()
                        .push(uri.path_and_query().map_or_else(String::new, |p| p.to_string()));
                    HttpMockResponse::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(body.to_string())
                        .build()
                });
            })
            .await;
        UriRecorder { server, uris }
    }

    fn client(&self) -> Client {
        client(self.server.base_url())
    }

    /// The path and query of the last request, as it arrived.
    fn last(&self) -> String {
        self.uris.lock().unwrap().last().cloned().expect("a request")
    }

    fn count(&self) -> usize {
        self.uris.lock().unwrap().len()
    }
}

fn empty_page() -> Value {
    json!({"object": "list", "data": [], "has_more": false})
}

#[tokio::test]
async fn the_query_string_is_exactly_what_was_set() {
    let recorder = UriRecorder::start(200, empty_page()).await;
    let client = recorder.client();
    let versions = || client.deployments().list_versions("bot");
    let cases: Vec<(orq::deployments::ListVersionsRequest, &str)> = vec![
        (versions(), "/v2/deployments/bot/versions"),
        (versions().limit(7), "/v2/deployments/bot/versions?limit=7"),
        (versions().starting_after("01JV9"), "/v2/deployments/bot/versions?starting_after=01JV9"),
        (
            versions().ending_before("01JV1").limit(50),
            "/v2/deployments/bot/versions?ending_before=01JV1&limit=50",
        ),
        (versions().variant_id("var-1"), "/v2/deployments/bot/versions?variant_id=var-1"),
        (
            versions().variant_id("var 1&x=y").starting_after("a/b").limit(1),
            "/v2/deployments/bot/versions?limit=1&starting_after=a%2Fb&variant_id=var+1%26x%3Dy",
        ),
    ];
    for (request, expected) in cases {
        request.send().await.unwrap();
        assert_eq!(recorder.last(), expected);
    }
}

#[tokio::test]
async fn the_typed_mock_helper_matches_the_query_sent() {
    let server = MockServer::start_async().await;
    let page = DeploymentVersionList {
        data: vec![DeploymentVersion { id: "01JV2".into(), version: "v2".into(), ..Default::default() }],
        has_more: true,
        object: Some(ListObject::List),
    };
    let matched = server.deployments_list_versions(|when, then| {
        when.key_or_id("support-bot")
            .limit(NonZeroU32::new(5))
            .starting_after("01JV3")
            .variant_id("var-a")
            .ending_before(None);
        then.ok(&page);
    });
    let got = client(server.base_url())
        .deployments()
        .list_versions("support-bot")
        .limit(5)
        .starting_after("01JV3")
        .variant_id("var-a")
        .send()
        .await
        .unwrap();
    assert_eq!(got, page);
    assert_eq!(got.next_cursor(), Some("01JV2"));
    matched.assert_calls_async(1).await;
}

#[tokio::test]
async fn the_typed_mock_helper_matches_keys_that_need_escaping_and_only_them() {
    let empty: DeploymentVersionList = serde_json::from_value(empty_page()).unwrap();
    for key in ["a/b", "team a/bot%1 ü", "a.b", "(x)[y]*"] {
        let server = MockServer::start_async().await;
        let matched = server.deployments_list_versions(|when, then| {
            when.key_or_id(key);
            then.ok(&empty);
        });
        let got = client(server.base_url()).deployments().list_versions(key).send().await;
        assert!(got.is_ok(), "{key}: {got:?}");
        matched.assert_calls_async(1).await;
    }
    // `.` is a character of the key, not a regex wildcard.
    let server = MockServer::start_async().await;
    let matched = server.deployments_list_versions(|when, then| {
        when.key_or_id("a.b");
        then.ok(&empty);
    });
    let missed = client(server.base_url()).deployments().list_versions("aXb").send().await;
    assert!(matches!(missed, Err(Error::Api { .. })), "{missed:?}");
    matched.assert_calls_async(0).await;
}

#[tokio::test]
async fn the_key_or_id_is_sent_as_one_escaped_path_segment() {
    let recorder = UriRecorder::start(200, empty_page()).await;
    let client = recorder.client();
    for (key, path) in [
        ("a/b", "a%2Fb"),
        ("team a", "team%20a"),
        ("100%", "100%25"),
        ("%2F", "%252F"),
        ("ü-bot", "%C3%BC-bot"),
        ("a?b#c", "a%3Fb%23c"),
        ("../x", "..%2Fx"),
        ("01JQ8B2C4D6E8F0G2H4J6K8M0N", "01JQ8B2C4D6E8F0G2H4J6K8M0N"),
    ] {
        client.deployments().list_versions(key).send().await.unwrap();
        assert_eq!(recorder.last(), format!("/v2/deployments/{path}/versions"), "key {key:?}");
    }
}

#[tokio::test]
async fn a_204_is_an_empty_last_page() {
    let server = MockServer::start_async().await;
    let answered = server
        .mock_async(|when, then| {
            when.method(Method::GET).path("/v2/deployments/bot/versions");
            then.status(204);
        })
        .await;
    let client = client(server.base_url());
    let page = client.deployments().list_versions("bot").limit(3).send().await.unwrap();
    assert!(page.data.is_empty() && !page.has_more, "{page:?}");
    assert_eq!(page.next_cursor(), None);
    let all: Vec<DeploymentVersion> =
        client.deployments().list_versions_all("bot").try_collect().await.unwrap();
    assert!(all.is_empty());
    answered.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_json_401_is_readable_on_error_api() {
    let body = json!({"message": "API key revoked", "code": 16, "details": [{"reason": "x"}]});
    let recorder = UriRecorder::start(401, body.clone()).await;
    let error = recorder.client().deployments().list_versions("bot").send().await.unwrap_err();
    match error {
        Error::Api { status, message, code, details, body: raw, .. } => {
            assert_eq!(status.as_u16(), 401);
            assert_eq!(message, "API key revoked");
            assert_eq!(code.as_deref(), Some("16"));
            assert_eq!(&details[..], [json!({"reason": "x"})]);
            assert_eq!(serde_json::from_str::<Value>(&raw).unwrap(), body);
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    assert_eq!(recorder.count(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn a_401_that_is_not_json_keeps_the_raw_body() {
    let server = MockServer::start_async().await;
    let html = "<html><title>401 Authorization Required</title></html>";
    server
        .mock_async(|_, then| {
            then.status(401).header("content-type", "text/html").body(html);
        })
        .await;
    let error = client(server.base_url()).deployments().list_versions("bot").send().await.unwrap_err();
    assert!(error.is_unauthorized());
    match error {
        Error::Api { status, message, code, details, body, .. } => {
            assert_eq!(status.as_u16(), 401);
            assert_eq!((body.as_str(), message.as_str()), (html, html));
            assert_eq!(code, None);
            assert!(details.is_empty(), "no details: {details:?}");
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

/// A server whose first `failures` answers are 503, then a page with one version.
async fn fails_then_answers(failures: usize) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start_async().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let page = json!({"object": "list", "has_more": false, "data": [{
        "_id": "01JV1", "deployment_id": "d", "variant_id": "v", "version": "v1",
        "timestamp": "2026-10-01T00:00:00Z", "description": "", "status": "live", "user_id": null,
        "prompt_config": {"model": "gpt-4o", "model_db_id": "m", "model_type": "chat",
            "model_parameters": {}, "provider": "openai", "messages": []},
        "fallbacks": [], "tools": [], "variables": []
    }]});
    assert_valid_versions_page(&page);
    server
        .mock_async(move |when, then| {
            when.method(Method::GET).path("/v2/deployments/bot/versions");
            then.respond_with(move |_: &HttpMockRequest| {
                let (status, body) = if counted.fetch_add(1, Ordering::SeqCst) < failures {
                    (503, json!({"message": "busy", "code": "unavailable"}))
                } else {
                    (200, page.clone())
                };
                HttpMockResponse::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .build()
            });
        })
        .await;
    (server, calls)
}

#[tokio::test]
async fn a_503_is_retried_and_the_second_attempt_succeeds() {
    let quick = RetryPolicy::default()
        .max_retries(2)
        .initial_interval(Duration::from_millis(1))
        .max_interval(Duration::from_millis(1));

    let (server, calls) = fails_then_answers(1).await;
    let page = client(server.base_url()).deployments().list_versions("bot").retry(quick.clone()).send().await;
    assert_eq!(names(&page.unwrap().data), ["v1"]);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Without retries the 503 is the answer.
    let (server, calls) = fails_then_answers(1).await;
    let error = client(server.base_url()).deployments().list_versions("bot").send().await.unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A client-wide policy applies to list_versions_all's pages.
    let (server, calls) = fails_then_answers(1).await;
    let patient = Client::builder().api_key(KEY).base_url(server.base_url()).retry(quick).build().unwrap();
    let all: Vec<DeploymentVersion> =
        patient.deployments().list_versions_all("bot").try_collect().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A version with every optional field set, valid under the 2026-10 reference.
fn full_version() -> Value {
    json!({
        "_id": "01JY7K3M5N7P9Q1R3S5T7V9W1X",
        "deployment_id": "3f9a1c2e-5b7d-4e6f-8a0b-1c2d3e4f5a6b",
        "variant_id": "01JY7K0000VARIANT000000001",
        "prompt_config": {
            "model": "claude-sonnet-4-5",
            "model_db_id": "01JY7K00000000MODEL0000001",
            "model_type": "chat",
            "model_parameters": {"temperature": 0.4, "maxTokens": 2048, "reasoningEffort": "low"},
            "provider": "anthropic",
            "messages": [
                {"id": "01JY7K000000000MESSAGE0001", "role": "system", "content": "You review {{kind}} contracts."},
                {"id": "01JY7K000000000MESSAGE0002", "role": "user", "content": [
                    {"type": "text", "text": "Review {{contract}}"},
                    {"type": "file", "file": {"uri": "https://example.com/c.pdf", "mimeType": "application/pdf"}}
                ]},
                {"id": "01JY7K000000000MESSAGE0003", "role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "find_clause", "arguments": "{}"}}
                ]},
                {"id": "01JY7K000000000MESSAGE0004", "role": "tool", "content": "Clause 4", "tool_call_id": "call_1"}
            ],
            "integration_id": "01JY7K00000INTEGRATION0001",
            "version": "v12"
        },
        "fallbacks": [{
            "model": "gpt-4o", "model_db_id": "01JY7K00000000MODEL0000002", "model_type": "chat",
            "model_parameters": {"temperature": 0.2}, "provider": "openai", "integration_id": null, "version": "v3"
        }],
        "tools": [{
            "type": "function", "display_name": "Find clause", "id": 7,
            "function": {"name": "find_clause", "description": "Finds a clause", "strict": true,
                "parameters": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}
        }],
        "variables": [
            {"key": "kind", "value": "lease", "is_pii": false, "description": "Contract kind"},
            {"key": "contract", "value": {"pages": 3, "signed": true}, "is_pii": true}
        ],
        "timestamp": "2026-10-20T09:15:00.000Z",
        "version": "v12",
        "description": "Adds a fallback and a guardrail",
        "status": "pending",
        "user_id": "01JY7K0000000000USER000001",
        "notes": "Waiting for legal.",
        "retry_count": 2,
        "knowledge_bases": [
            {"knowledge_id": "kb-leases", "configuration": {"type": "last_user_message"}, "id": "01JY7K00000000KBLINK00001"},
            {"knowledge_id": "kb-policy", "configuration": {"type": "query", "query": "termination"}}
        ],
        "settings": {
            "guardrails": [{"id": "pii", "execute_on": "input", "sample_rate": 100}],
            "evaluators": [{"id": "tone", "execute_on": "both", "sample_rate": 12.5}, {"id": "length", "execute_on": "output"}],
            "cache": {"enabled": true, "type": "semantic", "ttl": 3600},
            "guardrailBehaviour": "fallback",
            "engine": "jinja",
            "input_masking": true,
            "system_masking": false,
            "output_masking": true
        }
    })
}

#[tokio::test]
async fn a_full_2026_10_version_decodes_through_the_client() {
    let mut other = full_version();
    other["_id"] = json!("01JY7K3M5N7P9Q1R3S5T7V9W0A");
    other["settings"] =
        json!({"cache": {"enabled": false}, "guardrailBehaviour": "none", "engine": "mustache"});
    other["status"] = json!("draft");
    other["user_id"] = Value::Null;
    let body = json!({"object": "list", "data": [full_version(), other], "has_more": false});
    assert_valid_versions_page(&body);
    let recorder = UriRecorder::start(200, body).await;
    let page = recorder.client().deployments().list_versions("contracts").send().await.unwrap();

    let full = &page.data[0];
    assert_eq!(full.status, Some(VersionStatus::Pending));
    assert_eq!(full.notes.as_deref(), Some("Waiting for legal."));
    assert_eq!(full.retry_count, Some(2.0));
    assert_eq!(full.prompt_config.provider, Some(Provider::Anthropic));
    assert_eq!(full.prompt_config.model_db_id.as_deref(), Some("01JY7K00000000MODEL0000001"));
    assert_eq!(full.prompt_config.messages[0].id.as_deref(), Some("01JY7K000000000MESSAGE0001"));
    assert_eq!(full.fallbacks[0].provider, Some(Provider::Openai));
    assert_eq!(full.fallbacks[0].integration_id, None);
    assert_eq!(full.tools[0].function.name, "find_clause");
    assert_eq!(full.variables[1].value, Some(json!({"pages": 3, "signed": true})));
    assert!(full.variables[1].is_pii);
    let queries: Vec<_> = full.knowledge_bases.iter().map(|kb| kb.configuration.clone()).collect();
    assert_eq!(queries[0], Some(RetrievalQuery::LastUserMessage));
    assert!(matches!(&queries[1], Some(RetrievalQuery::Query(q)) if q.query == "termination"));
    let settings = full.settings.as_ref().expect("settings");
    assert_eq!(settings.guardrails[0].execute_on, Some(EvaluationTarget::Input));
    assert_eq!(settings.evaluators[0].sample_rate, Some(12.5));
    assert_eq!(settings.evaluators[1].execute_on, Some(EvaluationTarget::Output));
    let cache = settings.cache.as_ref().expect("cache");
    assert_eq!(
        (cache.enabled, cache.type_.clone(), cache.ttl),
        (true, Some(CacheKind::Semantic), Some(3600.0))
    );
    assert_eq!(settings.guardrail_behaviour, Some(GuardrailBehaviour::Fallback));
    assert_eq!(settings.engine, Some(TemplateEngine::Jinja));
    assert_eq!(
        (settings.input_masking, settings.system_masking, settings.output_masking),
        (true, false, true)
    );

    let other = &page.data[1];
    assert_eq!(other.user_id, None);
    let settings = other.settings.as_ref().expect("settings");
    let cache = settings.cache.as_ref().expect("cache");
    assert_eq!((cache.enabled, cache.type_.clone(), cache.ttl), (false, None, None));
    assert_eq!(settings.guardrail_behaviour, Some(GuardrailBehaviour::None));
    assert_eq!(settings.engine, Some(TemplateEngine::Mustache));
    assert_eq!(other.prompt_config.model_type, Some(ModelType::Chat));
}

// ------------------------------------------------------------------ 3. blocking

mod blocking_client {
    use super::*;
    use orq::blocking;

    /// A running orq-mock and the runtime that serves it (keep both alive).
    struct Served {
        mock: MockOrq,
        _runtime: tokio::runtime::Runtime,
    }

    fn serve(deployments: Vec<Deployment>) -> Served {
        let runtime = tokio::runtime::Runtime::new().expect("runtime for the mock");
        let builder = MockOrq::builder().api_key(KEY).deployments(deployments);
        let mock = runtime.block_on(builder.start()).expect("mock starts");
        Served { mock, _runtime: runtime }
    }

    fn client(url: &str) -> blocking::Client {
        blocking::Client::builder().api_key(KEY).base_url(url).no_retries().build_blocking().expect("client")
    }

    #[test]
    fn list_versions_sends_pages_and_iterates_every_version() {
        let served = serve(vec![Deployment::chat("many").versions(12)]);
        let client = client(&served.mock.url());

        let page = client.deployments().list_versions("many").limit(5).send().unwrap();
        assert_eq!(names(&page.data), named(12, 8));
        let next = client
            .deployments()
            .list_versions("many")
            .limit(5)
            .starting_after(page.next_cursor().expect("more"))
            .send()
            .unwrap();
        assert_eq!(names(&next.data), named(7, 3));

        served.mock.clear_requests();
        let all: Vec<DeploymentVersion> =
            client.deployments().list_versions_all("many").collect::<Result<_, _>>().unwrap();
        assert_eq!(names(&all), named(12, 1));
        assert_eq!(served.mock.requests().len(), 1);

        served.mock.clear_requests();
        let paged: Vec<String> = client
            .deployments()
            .list_versions("many")
            .limit(5)
            .into_iter()
            .map(|v| v.unwrap().version)
            .collect();
        assert_eq!(paged, named(12, 1));
        assert_eq!(served.mock.requests().len(), 3, "pages of 5, fetched as the iterator advances");

        let missing = client.deployments().list_versions("nope").send().unwrap_err();
        assert!(missing.is_not_found(), "{missing:?}");
        let invalid = client.deployments().list_versions("many").limit(51).send().unwrap_err();
        assert!(matches!(invalid, Error::InvalidRequest(_)), "{invalid:?}");
        let mut failing = client.deployments().list_versions_all("nope");
        assert!(failing.next().is_some_and(|item| item.is_err_and(|e| e.is_not_found())));
        assert!(failing.next().is_none(), "the iterator ends after the error");
    }
}

// ----------------------------------------------- 4. 401 bodies on every operation

fn unauthorized() -> StatusErrorBody {
    StatusErrorBody {
        message: "invalid API key".into(),
        code: Some(16),
        details: vec![json!({"reason": "x", "@type": "type.googleapis.com/google.rpc.ErrorInfo"})],
    }
}

#[track_caller]
fn assert_unauthorized(error: Error) {
    match error {
        Error::Api { status, message, code, details, .. } => {
            assert_eq!(status.as_u16(), 401);
            assert_eq!(message, "invalid API key");
            assert_eq!(code.as_deref(), Some("16"));
            assert_eq!(
                &details[..],
                [json!({"reason": "x", "@type": "type.googleapis.com/google.rpc.ErrorInfo"})]
            );
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

#[tokio::test]
async fn a_401_json_body_is_readable_on_list_invoke_and_stream() {
    let server = MockServer::start_async().await;
    let list = server.deployments_list(|_, then| {
        then.unauthorized(&unauthorized());
    });
    let invoke = server.deployments_invoke(|_, then| {
        then.unauthorized(&unauthorized());
    });
    let stream = server.deployments_stream(|_, then| {
        then.unauthorized(&unauthorized());
    });
    let client = client(server.base_url());
    assert_unauthorized(client.deployments().list().send().await.unwrap_err());
    assert_unauthorized(client.deployments().invoke("bot").send().await.unwrap_err());
    match client.deployments().stream("bot").send().await {
        Err(error) => assert_unauthorized(error),
        Ok(_) => panic!("expected a 401"),
    }
    list.assert_calls_async(1).await;
    invoke.assert_calls_async(1).await;
    stream.assert_calls_async(1).await;
}

// -------------------------------------------------- 5. the new request fields

/// A server answering every invoke with [`invoke_answer`], keeping the bodies.
async fn recording() -> Recording {
    Recording::start(invoke_answer()).await
}

/// Sends `call` and returns the body that arrived, after checking it against
/// the 2026-10 schema.
async fn sent_body(
    recording: &Recording,
    call: orq::deployments::DeploymentCall<orq::deployments::Invoke>,
) -> Value {
    let body = recording.sent_body(call).await;
    assert_valid_request(&body);
    body
}

fn file_by_id() -> Message {
    Message::user(vec![
        UserContentPart::text("Summarise it."),
        UserContentPart::file(FileData::from_file_id("file-abc")),
    ])
}

fn signed_tool_call() -> Message {
    Message::assistant_tool_calls([AssistantToolCall::function("call_1", "track", r#"{"id":"A-1"}"#)
        .with_google_thought_signature("sig")])
}

fn reasoned() -> Message {
    Message::assistant("It is in transit.").with_reasoning_content("The tracker says so.")
}

#[tokio::test]
async fn a_file_part_by_file_id_is_sent_exactly() {
    let recording = recording().await;
    let body =
        sent_body(&recording, client(recording.base_url()).deployments().invoke("bot").message(file_by_id()))
            .await;
    assert_eq!(
        body,
        json!({"key": "bot", "stream": false, "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Summarise it."},
            {"type": "file", "file": {"file_id": "file-abc"}}
        ]}]})
    );
    let gs =
        FileData::from_file_id("gs://bucket/a.pdf").with_mime_type("application/pdf").with_filename("a.pdf");
    let body = sent_body(
        &recording,
        client(recording.base_url())
            .deployments()
            .invoke("bot")
            .message(Message::user(vec![UserContentPart::file(gs)])),
    )
    .await;
    assert_eq!(
        body["messages"][0]["content"][0],
        json!({"type": "file", "file": {"file_id": "gs://bucket/a.pdf", "mimeType": "application/pdf", "filename": "a.pdf"}})
    );
}

#[tokio::test]
async fn a_google_thought_signature_is_sent_in_extra_content() {
    let recording = recording().await;
    let call = client(recording.base_url()).deployments().invoke("bot").message(signed_tool_call());
    let body = sent_body(&recording, call).await;
    assert_eq!(
        body,
        json!({"key": "bot", "stream": false, "messages": [{"role": "assistant", "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "track", "arguments": "{\"id\":\"A-1\"}"},
            "extra_content": {"google": {"thought_signature": "sig"}}
        }]}]})
    );
    // Beside the top-level signature, both are sent.
    let both = Message::assistant_tool_calls([AssistantToolCall::function("c2", "f", "{}")
        .with_thought_signature("top")
        .with_google_thought_signature("nested")]);
    let body =
        sent_body(&recording, client(recording.base_url()).deployments().invoke("bot").message(both)).await;
    let call = &body["messages"][0]["tool_calls"][0];
    assert_eq!(
        (call["thought_signature"].clone(), call["extra_content"].clone()),
        (json!("top"), json!({"google": {"thought_signature": "nested"}}))
    );
}

#[tokio::test]
async fn reasoning_content_is_sent_on_assistant_messages() {
    let recording = recording().await;
    let call = client(recording.base_url()).deployments().invoke("bot").message(reasoned());
    let body = sent_body(&recording, call).await;
    assert_eq!(
        body,
        json!({"key": "bot", "stream": false, "messages": [
            {"role": "assistant", "content": "It is in transit.", "reasoning_content": "The tracker says so."}
        ]})
    );
    // On other roles it is not set.
    let user = Message::user("Hi").with_reasoning_content("ignored");
    let body =
        sent_body(&recording, client(recording.base_url()).deployments().invoke("bot").message(user)).await;
    assert_eq!(body["messages"], json!([{"role": "user", "content": "Hi"}]));
}

#[tokio::test]
async fn the_new_fields_are_sent_in_prefix_messages_too() {
    let recording = recording().await;
    let call = client(recording.base_url())
        .deployments()
        .invoke("bot")
        .prefix_messages([file_by_id(), signed_tool_call(), reasoned()])
        .message(Message::user("And now?"));
    let body = sent_body(&recording, call).await;
    assert_eq!(
        body["prefix_messages"],
        json!([
            {"role": "user", "content": [
                {"type": "text", "text": "Summarise it."}, {"type": "file", "file": {"file_id": "file-abc"}}
            ]},
            {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "track", "arguments": "{\"id\":\"A-1\"}"},
                "extra_content": {"google": {"thought_signature": "sig"}}}]},
            {"role": "assistant", "content": "It is in transit.", "reasoning_content": "The tracker says so."}
        ])
    );
    assert_eq!(body["messages"], json!([{"role": "user", "content": "And now?"}]));

    // The schema check bites: bodies the 2026-10 API refuses fail it.
    if let Some(reference) = reference() {
        for bad in [
            json!({"key": "bot", "messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": 7}}]}]}),
            json!({"key": "bot", "prefix_messages": [{"role": "assistant", "reasoning_content": ["x"]}]}),
            json!({"key": "bot", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                "function": {"name": "f", "arguments": "{}"}, "extra_content": {"google": {"thought_signature": 1}}}]}]}),
        ] {
            assert!(reference.validate(REQUEST, &bad).is_err(), "accepted: {bad}");
        }
    }
}

/// Sends `call` to a server that must not see it and returns the InvalidRequest message.
async fn rejected(
    call: impl FnOnce(Client) -> orq::deployments::DeploymentCall<orq::deployments::Invoke>,
) -> String {
    orq_tests::rejected_before_sending(|url| call(client(url))).await
}

#[tokio::test]
async fn a_file_part_without_exactly_one_source_is_rejected_before_sending() {
    let none = || Message::user(vec![UserContentPart::file(FileData::default().with_filename("a.pdf"))]);
    let two = || {
        let mut file = FileData::from_file_id("file-abc");
        file.uri = Some("https://example.com/a.pdf".into());
        Message::user(vec![UserContentPart::text("Read."), UserContentPart::file(file)])
    };
    let three = || {
        let mut file = FileData::from_data_uri("data:application/pdf;base64,JVBERi0=");
        file.file_id = Some("file-abc".into());
        file.uri = Some("gs://b/a.pdf".into());
        Message::user(vec![UserContentPart::file(file)])
    };

    let message = rejected(move |c| c.deployments().invoke("bot").message(none())).await;
    assert_eq!(message, "messages[0].content[0].file needs exactly one of file_data, file_id and uri, not 0");
    let message =
        rejected(move |c| c.deployments().invoke("bot").message(Message::user("hi")).message(two())).await;
    assert_eq!(message, "messages[1].content[1].file needs exactly one of file_data, file_id and uri, not 2");
    let message = rejected(move |c| c.deployments().invoke("bot").prefix_message(three())).await;
    assert_eq!(
        message,
        "prefix_messages[0].content[0].file needs exactly one of file_data, file_id and uri, not 3"
    );

    // Set through the whole body, the parts are checked too; every problem is
    // listed, prefix messages first, as they come in the conversation.
    let mut body = orq::types::DeploymentRequest::new("ignored");
    body.messages = vec![none()];
    body.prefix_messages = vec![Message::system("Be brief."), two()];
    let message = rejected(move |c| c.deployments().invoke("bot").body(body)).await;
    let problems: Vec<&str> = message.split("; ").collect();
    assert_eq!(
        problems,
        [
            "prefix_messages[1].content[1].file needs exactly one of file_data, file_id and uri, not 2",
            "messages[0].content[0].file needs exactly one of file_data, file_id and uri, not 0",
        ],
        "{message}"
    );

    // get_config and stream check the same.
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|_, then| {
            then.status(500);
        })
        .await;
    let client = client(server.base_url());
    let config = client.deployments().get_config("bot").message(none()).send().await;
    assert!(matches!(config, Err(Error::InvalidRequest(m)) if m.contains("messages[0].content[0].file")));
    let stream = client.deployments().stream("bot").message(two()).send().await;
    assert!(matches!(stream, Err(Error::InvalidRequest(m)) if m.contains("messages[0].content[1].file")));
    assert_eq!(any.calls_async().await, 0);
}

// ------------------------------------------------- 6. orq-mock accepts them

#[tokio::test]
async fn the_mock_accepts_the_new_request_fields() {
    let (mock, client) = samples().await;
    let out = client
        .deployments()
        .invoke("support-bot")
        .input("name", "Ada")
        .prefix_message(reasoned())
        .messages([signed_tool_call(), Message::tool("call_1", "in transit"), reasoned(), file_by_id()])
        .send()
        .await
        .expect("the mock accepts them")
        .expect("a body");
    assert!(out.text().is_some_and(|t| t.contains("Summarise it.")), "{out:?}");
    let recorded = mock.requests().pop().expect("recorded").body.expect("JSON body");
    assert_eq!(
        recorded["messages"][3]["content"][1],
        json!({"type": "file", "file": {"file_id": "file-abc"}})
    );
    assert_eq!(
        recorded["messages"][0]["tool_calls"][0]["extra_content"]["google"]["thought_signature"],
        "sig"
    );
    assert_eq!(recorded["prefix_messages"][0]["reasoning_content"], "The tracker says so.");

    let streamed = client
        .deployments()
        .stream("support-bot")
        .input("name", "Ada")
        .messages([signed_tool_call(), Message::tool("call_1", "ok"), reasoned(), file_by_id()])
        .send()
        .await
        .expect("the mock accepts them")
        .collect_text()
        .await
        .unwrap();
    assert!(streamed.contains("Summarise it."), "{streamed}");

    // The mock checks the rule the SDK checks: sent raw, two sources are a 400.
    let response = reqwest::Client::new()
        .post(format!("{}{INVOKE}", mock.url()))
        .bearer_auth(KEY)
        .json(&json!({"key": "support-bot", "messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_id": "file-abc", "uri": "https://example.com/a.pdf"}}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    mock.shutdown().await;
}

// -------------------------------------------------- 7. "error": null in a chunk

/// A server answering stream requests with `body` as server-sent events.
async fn events(body: String) -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path("/v2/deployments/stream");
            then.status(200).header("content-type", "text/event-stream").body(body);
        })
        .await;
    server
}

#[tokio::test]
async fn a_chunk_with_a_null_error_is_a_normal_chunk() {
    let body = [
        json!({"id": "g1", "error": null, "choices": [{"index": 0,
            "message": {"role": "assistant", "content": "Hello "}}]}),
        json!({"id": "g1", "error": null, "choices": []}),
        json!({"id": "g1", "error": null, "is_final": true, "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "there"}}]}),
    ]
    .iter()
    .map(|chunk| format!("data: {chunk}\n\n"))
    .collect::<String>()
        + "data: [DONE]\n\n";
    let server = events(body).await;
    let chunks: Vec<_> = client(server.base_url())
        .deployments()
        .stream("bot")
        .send()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(chunks.len(), 3);
    let text: String = chunks.iter().map(|c| c.text()).collect();
    assert_eq!(text, "Hello there");

    // The same chunk with an error object is the service's error.
    let failing = events(format!(
        "data: {}\n\n",
        json!({"id": "g1", "error": {"message": "quota exceeded", "code": "429"}, "choices": []})
    ))
    .await;
    let error = client(failing.base_url())
        .deployments()
        .stream("bot")
        .send()
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Stream(orq::StreamError::ErrorEvent { message, .. }) if message == "quota exceeded"),
        "{error:?}"
    );
}

// ---------------------------------------------- 8. fractional token counts

#[tokio::test]
async fn fractional_token_counts_arrive_and_are_kept_as_sent() {
    let usage = json!({"prompt_tokens": 2.5, "completion_tokens": 1, "total_tokens": 3.5});
    let mut answer = invoke_answer();
    answer["usage"] = usage.clone();
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(Method::POST).path(INVOKE);
            then.status(200).header("content-type", "application/json").body(answer.to_string());
        })
        .await;
    let out = client(server.base_url()).deployments().invoke("bot").send().await.unwrap().expect("a body");
    let got = out.usage().expect("usage");
    assert_eq!(got.prompt_tokens.unwrap(), 2.5);
    assert_eq!(got.prompt_tokens.unwrap().as_u64(), None);
    assert_eq!(got.completion_tokens, Some(Count::from(1u64)));
    assert_eq!(got.total_tokens.unwrap(), 3.5);
    assert_eq!(serde_json::to_value(got).unwrap(), usage);
    assert_eq!(
        serde_json::to_string(got).unwrap(),
        r#"{"completion_tokens":1,"prompt_tokens":2.5,"total_tokens":3.5}"#,
        "1 stays 1, 2.5 stays 2.5"
    );

    let body = format!(
        "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
        json!({"id": "g1", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}}]}),
        json!({"id": "g1", "is_final": true, "usage": usage,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ""}}]}),
    );
    let server = events(body).await;
    let message = client(server.base_url())
        .deployments()
        .stream("bot")
        .include_usage(true)
        .send()
        .await
        .unwrap()
        .collect_message()
        .await
        .unwrap();
    assert_eq!(message.text, "Hi");
    let got = message.usage.expect("usage of the last chunk");
    assert_eq!(got.prompt_tokens.unwrap(), 2.5);
    assert_eq!(got.total_tokens.unwrap().as_f64(), 3.5);
    assert_eq!(serde_json::to_value(&got).unwrap(), usage);
}
