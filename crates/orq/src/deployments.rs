//! `client.deployments()`: list, list_all, get_config, invoke and stream.
//!
//! get_config, invoke and stream share one request builder,
//! [`DeploymentCall`]; what differs between them is only `send`.

use std::marker::PhantomData;
use std::num::NonZeroU32;

use futures::Stream;
use orq_api::types::{
    Deployment, DeploymentConfig, DeploymentList, DeploymentRequest, Document, InputValue, InvokeOptions,
    InvokeResponse, Message,
};
use serde_json::{Map, Value};

use crate::client::{CallOptions, Client, call_options, redecode};
use crate::error::Error;
use crate::retry::Operation;
use crate::stream::ChunkStream;
use orq_api::ResponseValue;

/// The context field the service reads the environment from.
const ENVIRONMENTS: &str = "environments";

/// The largest page the service returns.
pub const MAX_PAGE_SIZE: u32 = 200;

/// The deployments API. Get it from [`Client::deployments`].
#[derive(Debug, Clone, Copy)]
pub struct Deployments<'c> {
    client: &'c Client,
}

impl<'c> Deployments<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Deployments { client }
    }

    /// One page of deployments, newest first.
    ///
    /// ```no_run
    /// # async fn run(client: orq::Client) -> Result<(), orq::Error> {
    /// let page = client.deployments().list().limit(20).send().await?;
    /// if let Some(cursor) = page.next_cursor() {
    ///     let next = client.deployments().list().starting_after(cursor).send().await?;
    /// #   let _ = next;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListRequest<'c> {
        ListRequest {
            client: self.client,
            limit: None,
            starting_after: None,
            ending_before: None,
            options: CallOptions::default(),
        }
    }

    /// Every deployment, following the cursors page by page (200 per page).
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn run(client: orq::Client) -> Result<(), orq::Error> {
    /// let all: Vec<_> = client.deployments().list_all().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn list_all(&self) -> impl Stream<Item = Result<Deployment, Error>> + Send + 'static {
        self.list().limit(MAX_PAGE_SIZE).into_stream()
    }

    /// The configuration `key` resolves to: prompt, model, parameters, with the inputs applied.
    pub fn get_config(&self, key: impl Into<String>) -> DeploymentCall<'c, GetConfig> {
        DeploymentCall::new(self.client, key.into())
    }

    /// Runs deployment `key` and returns the whole generation.
    ///
    /// ```no_run
    /// use orq::types::Message;
    /// # async fn run(client: orq::Client) -> Result<(), orq::Error> {
    /// let out = client
    ///     .deployments()
    ///     .invoke("support-bot")
    ///     .input("name", "Ada")
    ///     .message(Message::user("Where is my order?"))
    ///     .metadata(serde_json::json!({ "ticket": 123 }))
    ///     .send()
    ///     .await?;
    /// if let Some(out) = out {
    ///     println!("{}", out.text().unwrap_or_default());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn invoke(&self, key: impl Into<String>) -> DeploymentCall<'c, Invoke> {
        DeploymentCall::new(self.client, key.into())
    }

    /// Runs deployment `key` and streams the generation chunk by chunk.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn run(client: orq::Client) -> Result<(), orq::Error> {
    /// let mut chunks = client.deployments().stream("support-bot").input("name", "Ada").send().await?;
    /// while let Some(chunk) = chunks.next().await {
    ///     print!("{}", chunk?.text());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(&self, key: impl Into<String>) -> DeploymentCall<'c, StreamOp> {
        DeploymentCall::new(self.client, key.into())
    }
}

/// A request for one page of deployments. Send it with [`ListRequest::send`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until sent"]
pub struct ListRequest<'c> {
    client: &'c Client,
    limit: Option<u32>,
    starting_after: Option<String>,
    ending_before: Option<String>,
    options: CallOptions,
}

call_options!(ListRequest<'c>);

impl<'c> ListRequest<'c> {
    /// Page size, 1 to 200 (the service's default is 10). Other values are
    /// rejected by `send` before anything is sent.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Start the page after the deployment with this id (the last id of the previous page).
    pub fn starting_after(mut self, id: impl Into<String>) -> Self {
        self.starting_after = Some(id.into());
        self
    }

    /// End the page before the deployment with this id (the first id of the next page).
    pub fn ending_before(mut self, id: impl Into<String>) -> Self {
        self.ending_before = Some(id.into());
        self
    }

    fn checked_limit(&self) -> Result<Option<NonZeroU32>, Error> {
        match self.limit {
            None => Ok(None),
            Some(limit) if (1..=MAX_PAGE_SIZE).contains(&limit) => Ok(NonZeroU32::new(limit)),
            Some(limit) => Err(Error::InvalidRequest(format!(
                "limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}"
            ))),
        }
    }

    /// Sends the request.
    pub async fn send(self) -> Result<DeploymentList, Error> {
        self.options.check()?;
        let limit = self.checked_limit()?;
        let (after, before) = (self.starting_after.as_deref(), self.ending_before.as_deref());
        self.client
            .execute(
                "list",
                Operation::Read,
                &self.options,
                "application/json",
                redecode::<DeploymentList>,
                |api| async move { api.deployments_list(before, limit, after).await },
            )
            .await?
            .map(ResponseValue::into_inner)
            .ok_or_else(|| no_content("list"))
    }

    /// Every deployment from this request's position on, following
    /// `starting_after` cursors while the service says there are more.
    pub fn into_stream(self) -> impl Stream<Item = Result<Deployment, Error>> + Send + 'static {
        let client = self.client.clone();
        let first = ListState { cursor: self.starting_after, before: self.ending_before, done: false };
        let (limit, options) = (self.limit, self.options);
        let pages = futures::stream::try_unfold(first, move |state| {
            let client = client.clone();
            let options = options.clone();
            async move {
                if state.done {
                    return Ok(None);
                }
                let mut request = client.deployments().list();
                request.limit = limit;
                request.starting_after = state.cursor.clone();
                request.ending_before = state.before.clone();
                request.options = options;
                let page = request.send().await?;
                let next = match page.next_cursor() {
                    // A cursor that does not move would loop forever.
                    Some(cursor) if Some(cursor) != state.cursor.as_deref() => {
                        ListState { cursor: Some(cursor.to_string()), before: None, done: false }
                    }
                    _ => ListState { cursor: None, before: None, done: true },
                };
                Ok::<_, Error>(Some((futures::stream::iter(page.data.into_iter().map(Ok)), next)))
            }
        });
        futures::TryStreamExt::try_flatten(pages)
    }
}

struct ListState {
    cursor: Option<String>,
    before: Option<String>,
    done: bool,
}

fn no_content(operation: &'static str) -> Error {
    Error::Decode {
        what: operation,
        path: String::new(),
        message: format!("{operation} answered 204 No Content where a body is required"),
        excerpt: String::new(),
    }
}

/// Marker: [`DeploymentCall`] for `get_config`.
#[derive(Debug, Clone, Copy)]
pub enum GetConfig {}
/// Marker: [`DeploymentCall`] for `invoke`.
#[derive(Debug, Clone, Copy)]
pub enum Invoke {}
/// Marker: [`DeploymentCall`] for `stream`.
#[derive(Debug, Clone, Copy)]
pub enum StreamOp {}

/// A get_config, invoke or stream request: the deployment key plus optional
/// inputs, messages, documents and options. Send it with `send`.
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until sent"]
pub struct DeploymentCall<'c, Op> {
    client: &'c Client,
    body: DeploymentRequest,
    options: CallOptions,
    op: PhantomData<Op>,
}

call_options!(DeploymentCall<'c, Op>);

impl<'c, Op> DeploymentCall<'c, Op> {
    fn new(client: &'c Client, key: String) -> Self {
        DeploymentCall {
            client,
            body: DeploymentRequest::new(key),
            options: CallOptions::default(),
            op: PhantomData,
        }
    }

    /// Sets prompt variable `name` (`{{name}}` in the prompt) to a string, number or bool.
    pub fn input(mut self, name: impl Into<String>, value: impl Into<InputValue>) -> Self {
        self.body.inputs.insert(name.into(), value.into());
        self
    }

    /// Sets several prompt variables.
    pub fn inputs<K: Into<String>, V: Into<InputValue>>(
        mut self,
        inputs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.body.inputs.extend(inputs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Sets one context field, matched against the deployment's routing rules.
    pub fn context_field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.body.context.insert(name.into(), value.into());
        self
    }

    /// Sets the whole context (a JSON object; anything else is reported by `send`).
    pub fn context(mut self, context: Value) -> Self {
        self.body.context = self.object("context", context);
        self
    }

    /// The environment written into `context.environments`. It overrides both the
    /// client's default and an `environments` field set with [`Self::context`].
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.options.environment = Some(environment.into());
        self
    }

    /// Appends a message to the conversation.
    pub fn message(mut self, message: Message) -> Self {
        self.body.messages.push(message);
        self
    }

    /// Appends several messages to the conversation.
    pub fn messages(mut self, messages: impl IntoIterator<Item = Message>) -> Self {
        self.body.messages.extend(messages);
        self
    }

    /// Appends a message placed after the prompt's system message, before its conversation.
    pub fn prefix_message(mut self, message: Message) -> Self {
        self.body.prefix_messages.push(message);
        self
    }

    /// Appends several prefix messages.
    pub fn prefix_messages(mut self, messages: impl IntoIterator<Item = Message>) -> Self {
        self.body.prefix_messages.extend(messages);
        self
    }

    /// Attaches a file uploaded to orq.ai.
    pub fn file_id(mut self, id: impl Into<String>) -> Self {
        self.body.file_ids.push(id.into());
        self
    }

    /// Data stored with the log of this request (a JSON object).
    pub fn metadata(mut self, metadata: Value) -> Self {
        self.body.metadata = self.object("metadata", metadata);
        self
    }

    /// Parameters passed straight to the model provider (a JSON object); they
    /// override the deployment's own.
    pub fn extra_params(mut self, params: Value) -> Self {
        self.body.extra_params = self.object("extra_params", params);
        self
    }

    /// Adds a reference document for evaluators and guardrails.
    pub fn document(mut self, document: impl Into<Document>) -> Self {
        self.body.documents.push(document.into());
        self
    }

    /// Asks the service to return the knowledge-base chunks it used.
    pub fn include_retrievals(mut self, include: bool) -> Self {
        self.body.invoke_options = Some(InvokeOptions { include_retrievals: include });
        self
    }

    /// Replaces the whole body. The key given to the operation is kept (the
    /// body's own `key` is ignored), and later builder calls still apply.
    pub fn body(mut self, body: DeploymentRequest) -> Self {
        let key = std::mem::take(&mut self.body.key);
        self.body = DeploymentRequest { key, ..body };
        self
    }

    /// The body as it will be sent (before the stream flag and environment are set).
    pub fn body_ref(&self) -> &DeploymentRequest {
        &self.body
    }

    fn object(&mut self, field: &str, value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                self.options.invalid = Some(format!("{field} must be a JSON object, not `{other}`"));
                Map::new()
            }
        }
    }

    /// The body for the wire: the stream flag of the operation, and the environment.
    fn wire_body(&self, stream: bool) -> Result<DeploymentRequest, Error> {
        self.options.check()?;
        if self.body.key.trim().is_empty() {
            return Err(Error::InvalidRequest("the deployment key is empty".into()));
        }
        let mut body = self.body.clone();
        body.stream = Some(stream);
        // A per-call environment wins over everything; the client's default does
        // not replace an `environments` the caller put in the context.
        match (&self.options.environment, self.client.environment()) {
            (Some(environment), _) => {
                body.context.insert(ENVIRONMENTS.into(), Value::String(environment.clone()));
            }
            (None, Some(default)) if !body.context.contains_key(ENVIRONMENTS) => {
                body.context.insert(ENVIRONMENTS.into(), Value::String(default.to_string()));
            }
            _ => {}
        }
        Ok(body)
    }
}

impl DeploymentCall<'_, GetConfig> {
    /// Sends the request. `None` when the service answers 204 No Content.
    pub async fn send(self) -> Result<Option<DeploymentConfig>, Error> {
        let body = self.wire_body(false)?;
        self.client
            .execute(
                "get_config",
                Operation::Read,
                &self.options,
                "application/json",
                redecode::<DeploymentConfig>,
                |api| {
                    let body = &body;
                    async move { api.deployments_get_config(body).await }
                },
            )
            .await
            .map(|value| value.map(ResponseValue::into_inner))
    }
}

impl DeploymentCall<'_, Invoke> {
    /// Sends the request. `None` when the service answers 204 No Content.
    pub async fn send(self) -> Result<Option<InvokeResponse>, Error> {
        let body = self.wire_body(false)?;
        self.client
            .execute(
                "invoke",
                Operation::Generate,
                &self.options,
                "application/json",
                redecode::<InvokeResponse>,
                |api| {
                    let body = &body;
                    async move { api.deployments_invoke(None, None, body).await }
                },
            )
            .await
            .map(|value| value.map(ResponseValue::into_inner))
    }
}

impl DeploymentCall<'_, StreamOp> {
    /// Sends the request and returns the chunks as they arrive.
    ///
    /// Retries (per policy) happen only until the response starts; a stream
    /// that breaks later yields an error item and is never replayed.
    pub async fn send(self) -> Result<ChunkStream, Error> {
        let body = self.wire_body(true)?;
        let response = self
            .client
            .execute(
                "stream",
                Operation::Generate,
                &self.options,
                "text/event-stream",
                |_, _| None,
                |api| {
                    let body = &body;
                    async move { api.deployments_stream(None, None, body).await }
                },
            )
            .await?
            .ok_or_else(|| no_content("stream"))?;
        let request_id = crate::error::request_id(response.headers());
        Ok(ChunkStream::new(response.into_inner_stream(), self.client.inner.stream_idle_timeout, request_id))
    }
}

/// Lets a request be awaited directly: `client.deployments().invoke("key").await`
/// is the same as `.send().await`.
macro_rules! await_sends {
    ($($builder:ty => $output:ty),* $(,)?) => {$(
        impl<'c> std::future::IntoFuture for $builder {
            type Output = Result<$output, Error>;
            type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Self::Output> + Send + 'c>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    )*};
}

await_sends! {
    ListRequest<'c> => DeploymentList,
    DeploymentCall<'c, GetConfig> => Option<DeploymentConfig>,
    DeploymentCall<'c, Invoke> => Option<InvokeResponse>,
    DeploymentCall<'c, StreamOp> => ChunkStream,
}
