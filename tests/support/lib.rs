//! Support shared by the test targets of `orq-tests`: the upstream reference
//! schemas, compiled once, and a loopback invoke server that keeps the bodies
//! it receives.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use httpmock::{HttpMockRequest, HttpMockResponse, Method, MockServer};
use serde_json::Value;

/// One upstream OpenAPI reference (`../shared/reference/orq-openapi-{version}.yaml`),
/// with the schemas a test validates against compiled.
pub struct Reference {
    version: &'static str,
    schemas: boon::Schemas,
    compiled: Vec<(&'static str, boon::SchemaIndex)>,
}

impl Reference {
    /// Loads the reference of `version` and compiles each JSON pointer of
    /// `pointers` (such as `/components/schemas/InvokeDeploymentRequest`);
    /// `None`, with a note, when the reference is not beside the repository.
    pub fn load(version: &'static str, pointers: &[&'static str]) -> Option<Reference> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../shared/reference/orq-openapi-{version}.yaml"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("note: {} not found; bodies checked for exact JSON only", path.display());
            return None;
        };
        let document: Value = serde_norway::from_str(&text).expect("the reference is YAML");
        let urn = format!("urn:orq:openapi-{version}");
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler.add_resource(&urn, document).expect("the reference loads");
        let mut schemas = boon::Schemas::new();
        let compiled = pointers
            .iter()
            .map(|pointer| {
                let index = compiler
                    .compile(&format!("{urn}#{pointer}"), &mut schemas)
                    .unwrap_or_else(|e| panic!("{pointer} of {version} does not compile: {e}"));
                (*pointer, index)
            })
            .collect();
        Some(Reference { version, schemas, compiled })
    }

    /// Whether `body` is valid under the schema at `pointer` (one of those
    /// given to [`Reference::load`]); the error says where it is not.
    pub fn validate(&self, pointer: &str, body: &Value) -> Result<(), String> {
        let (_, index) = self
            .compiled
            .iter()
            .find(|(compiled, _)| *compiled == pointer)
            .unwrap_or_else(|| panic!("{pointer} was not compiled"));
        self.schemas.validate(body, *index).map_err(|error| format!("{error:#}"))
    }

    /// Fails unless `body` is valid under the schema at `pointer`.
    #[track_caller]
    pub fn assert_valid(&self, pointer: &str, body: &Value) {
        if let Err(error) = self.validate(pointer, body) {
            panic!("not valid under {pointer} of {}: {error}\n{body:#}", self.version);
        }
    }
}

/// A loopback server that answers every `POST /v2/deployments/invoke` with one
/// JSON answer and keeps the bodies it received.
pub struct Recording {
    server: MockServer,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Recording {
    /// Starts the server, answering `answer` with status 200.
    pub async fn start(answer: Value) -> Recording {
        let server = MockServer::start_async().await;
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        let answer = answer.to_string();
        server
            .mock_async(move |when, then| {
                when.method(Method::POST).path("/v2/deployments/invoke");
                then.respond_with(move |request: &HttpMockRequest| {
                    let body = serde_json::from_slice(request.body_ref()).expect("the body is JSON");
                    seen.lock().unwrap().push(body);
                    HttpMockResponse::builder()
                        .status(200)
                        .header("content-type", "application/json")
                        .body(answer.clone())
                        .build()
                });
            })
            .await;
        Recording { server, bodies }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The bodies received so far, oldest first.
    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// Sends `call` and returns the one body it made arrive.
    pub async fn sent_body(&self, call: orq::deployments::DeploymentCall<orq::deployments::Invoke>) -> Value {
        let before = self.bodies().len();
        call.send().await.expect("invoke succeeds");
        let bodies = self.bodies();
        assert_eq!(bodies.len(), before + 1, "exactly one request");
        bodies.last().cloned().expect("a body")
    }
}

/// Sends the request `call` makes for a server's base URL to a server that
/// must not see it, and returns the message of the `Error::InvalidRequest` it
/// must fail with.
pub async fn rejected_before_sending(
    call: impl FnOnce(String) -> orq::deployments::DeploymentCall<orq::deployments::Invoke>,
) -> String {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|_, then| {
            then.status(200).header("content-type", "application/json").body("{}");
        })
        .await;
    let result = call(server.base_url()).send().await;
    assert_eq!(any.calls_async().await, 0, "an invalid request reached the server");
    match result {
        Err(orq::Error::InvalidRequest(message)) => message,
        other => panic!("expected Error::InvalidRequest, got {other:?}"),
    }
}
