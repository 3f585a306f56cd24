//! `client.deployments()`: list, list_all, list_versions, get_config, invoke
//! and stream.
//!
//! get_config, invoke and stream share one request builder,
//! [`DeploymentCall`]; what differs between them is only `send`.
//!
//! Request builders own a clone of the client (an `Arc`), so a request and the
//! future of its `send` borrow nothing: they can be moved to another task or
//! thread. The type parameter `C` is the client that sends them: [`Client`]
//! (async, the default) or, with the `blocking` feature, `orq::blocking::Client`.
//!
//! # 204 No Content
//!
//! One rule for all five operations: a 204 answer is a success with nothing in
//! it. `get_config` and `invoke` return `Ok(None)`; `list` and `list_versions`
//! return an empty last page (so `list_all` ends); `stream` returns a stream
//! that ends without chunks.

use std::future::Future;
use std::marker::PhantomData;
use std::num::NonZeroU32;
use std::time::Instant;

use futures::Stream;
use orq_api::types::{
    Deployment, DeploymentConfig, DeploymentList, DeploymentRequest, DeploymentVersion,
    DeploymentVersionList, Document, InputValue, InvokeOptions, InvokeResponse, ListObject, Message,
    UserContent, UserContentPart,
};
use serde_json::{Map, Value};

use crate::call::{CallOptions, EventStream, Json, call_options};
use crate::client::Client;
use crate::error::Error;
use crate::request::{Identity, KnowledgeFilter, Thread};
use crate::retry::Operation;
use crate::stream::ChunkStream;
use crate::telemetry::{self, Op, StreamTelemetry};

/// The context field the service reads the environment from.
const ENVIRONMENTS: &str = "environments";

/// The largest page of deployments the service returns.
pub const MAX_PAGE_SIZE: u32 = 200;

/// The largest page of versions the service returns.
pub const MAX_VERSIONS_PAGE_SIZE: u32 = 50;

/// The deployments API. Get it from [`Client::deployments`]. It borrows the
/// client; each request builder takes a clone of it.
#[derive(Debug, Clone, Copy)]
pub struct Deployments<'c, C = Client> {
    client: &'c C,
}

impl Client {
    /// The deployments API: list, list_versions, get_config, invoke and stream.
    ///
    /// Its request builders hold a clone of the client, so they and their
    /// futures are `'static`: `tokio::spawn(client.deployments().invoke("k").send())` works.
    pub fn deployments(&self) -> Deployments<'_> {
        Deployments::new(self)
    }
}

impl<'c, C: Clone> Deployments<'c, C> {
    pub(crate) fn new(client: &'c C) -> Self {
        Deployments { client }
    }

    /// One page of deployments, newest first. A 204 answer is an empty last page.
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
    pub fn list(&self) -> ListRequest<C> {
        ListRequest {
            client: self.client.clone(),
            paging: Paging::default(),
            options: CallOptions::default(),
        }
    }

    /// One page of the saved versions of deployment `key_or_id` (its key or
    /// its id), of all its variants, drafts included, newest first. A 204
    /// answer is an empty last page.
    ///
    /// ```no_run
    /// # async fn run(client: orq::Client) -> Result<(), orq::Error> {
    /// let page = client.deployments().list_versions("support-bot").limit(20).send().await?;
    /// for version in &page.data {
    ///     println!("{} {:?} {}", version.version, version.status, version.timestamp);
    /// }
    /// if let Some(cursor) = page.next_cursor() {
    ///     let older = client.deployments().list_versions("support-bot").starting_after(cursor).send().await?;
    /// #   let _ = older;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_versions(&self, key_or_id: impl Into<String>) -> ListVersionsRequest<C> {
        ListVersionsRequest {
            client: self.client.clone(),
            key_or_id: key_or_id.into(),
            paging: Paging::default(),
            variant_id: None,
            options: CallOptions::default(),
        }
    }

    /// The configuration `key` resolves to: prompt, model, parameters, with the
    /// inputs applied. `None` when the service answers 204 No Content.
    pub fn get_config(&self, key: impl Into<String>) -> DeploymentCall<GetConfig, C> {
        DeploymentCall::new(self.client.clone(), key.into())
    }

    /// Runs deployment `key` and returns the whole generation (`None` when the
    /// service answers 204 No Content).
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
    pub fn invoke(&self, key: impl Into<String>) -> DeploymentCall<Invoke, C> {
        DeploymentCall::new(self.client.clone(), key.into())
    }

    /// Runs deployment `key` and streams the generation chunk by chunk (no
    /// chunks at all when the service answers 204 No Content).
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
    pub fn stream(&self, key: impl Into<String>) -> DeploymentCall<StreamOp, C> {
        DeploymentCall::new(self.client.clone(), key.into())
    }
}

impl Deployments<'_, Client> {
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

    /// Every saved version of deployment `key_or_id`, newest first, following
    /// the cursors page by page (50 per page).
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn run(client: orq::Client) -> Result<(), orq::Error> {
    /// let history: Vec<_> = client.deployments().list_versions_all("support-bot").try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn list_versions_all(
        &self,
        key_or_id: impl Into<String>,
    ) -> impl Stream<Item = Result<DeploymentVersion, Error>> + Send + 'static {
        self.list_versions(key_or_id).limit(MAX_VERSIONS_PAGE_SIZE).into_stream()
    }
}

/// The page size and cursor setters of a list request (a struct with
/// `client` and `paging` fields) listing `$item`s, at most `$max` a page.
macro_rules! paging_options {
    ($builder:ident <$param:ident>, $item:literal, $max:literal) => {
        impl<$param> $builder<$param> {
            #[doc = concat!("Page size, 1 to ", $max, " (the service's default is 10). Other values are")]
            /// rejected by `send` before anything is sent.
            pub fn limit(mut self, limit: u32) -> Self {
                self.paging.limit = Some(limit);
                self
            }

            #[doc = concat!("Start the page after the ", $item, " with this id (the last id of the previous")]
            #[doc = concat!("page): older ", $item, "s.")]
            pub fn starting_after(mut self, id: impl Into<String>) -> Self {
                self.paging.starting_after = Some(id.into());
                self
            }

            #[doc = concat!("End the page before the ", $item, " with this id (the first id of the next")]
            #[doc = concat!("page): newer ", $item, "s.")]
            pub fn ending_before(mut self, id: impl Into<String>) -> Self {
                self.paging.ending_before = Some(id.into());
                self
            }

            /// The client that will send the request.
            #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
            pub(crate) fn sender(&self) -> &$param {
                &self.client
            }
        }
    };
}

/// A page size and the cursors of a list request.
#[derive(Debug, Clone, Default)]
struct Paging {
    limit: Option<u32>,
    starting_after: Option<String>,
    ending_before: Option<String>,
}

impl Paging {
    /// The limit to send, when it is within 1..=`max`, or the problem with it.
    fn checked_limit(&self, max: u32) -> Result<Option<NonZeroU32>, String> {
        match self.limit {
            None => Ok(None),
            Some(limit) => NonZeroU32::new(limit)
                .filter(|l| l.get() <= max)
                .map(Some)
                .ok_or_else(|| format!("limit must be between 1 and {max}, not {limit}")),
        }
    }
}

/// Every item from the page `first` asks for on: `fetch` gets one page, and
/// its items and the next page's `starting_after` cursor come back, while
/// the service says there are more.
fn follow_cursors<T, F, Fut>(first: Paging, fetch: F) -> impl Stream<Item = Result<T, Error>> + Send + 'static
where
    T: Send + 'static,
    F: Fn(Paging) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), Error>> + Send + 'static,
{
    let pages = futures::stream::try_unfold(Some(first), move |paging: Option<Paging>| {
        // The request is made here, so `fetch` is not borrowed by the future.
        let request = paging.map(|paging| {
            let (limit, previous) = (paging.limit, paging.starting_after.clone());
            (fetch(paging), limit, previous)
        });
        async move {
            let Some((page, limit, previous)) = request else { return Ok(None) };
            let (items, cursor) = page.await?;
            let next = match cursor {
                // A cursor that does not move would loop forever.
                Some(cursor) if Some(&cursor) != previous.as_ref() => {
                    Some(Paging { limit, starting_after: Some(cursor), ending_before: None })
                }
                _ => None,
            };
            Ok::<_, Error>(Some((futures::stream::iter(items.into_iter().map(Ok)), next)))
        }
    });
    futures::TryStreamExt::try_flatten(pages)
}

/// A request for one page of deployments. Send it with [`ListRequest::send`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until sent"]
pub struct ListRequest<C = Client> {
    client: C,
    paging: Paging,
    options: CallOptions,
}

call_options!(ListRequest<C>);
paging_options!(ListRequest<C>, "deployment", "200");

impl<C> ListRequest<C> {
    /// The same request, sent by another client.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn with_client<D>(self, client: D) -> ListRequest<D> {
        let ListRequest { client: _, paging, options } = self;
        ListRequest { client, paging, options }
    }

    /// The limit to send, after every problem of the request is reported.
    fn checked_limit(&self) -> Result<Option<NonZeroU32>, Error> {
        let limit = self.paging.checked_limit(MAX_PAGE_SIZE);
        self.options.check(limit.as_ref().err().cloned())?;
        Ok(limit.unwrap_or_default())
    }
}

impl ListRequest<Client> {
    /// Sends the request. A 204 answer is an empty last page.
    pub async fn send(self) -> Result<DeploymentList, Error> {
        let limit = self.checked_limit()?;
        let paging = &self.paging;
        let (after, before) = (paging.starting_after.as_deref(), paging.ending_before.as_deref());
        let span = telemetry::call_span(Op::List, None);
        self.client
            .execute(Op::List.name(), Operation::Read, &self.options, &span, Json::new(), |api| async move {
                api.deployments_list(before, limit, after).await
            })
            .await
            .map(|page| page.map_or_else(empty_last_page, |page| page.into_inner()))
    }

    /// Every deployment from this request's position on, following
    /// `starting_after` cursors (older deployments) while the service says
    /// there are more. With [`ending_before`](Self::ending_before) the first
    /// page is the one before that cursor, and the stream goes on from it to
    /// older pages, not towards newer ones.
    pub fn into_stream(self) -> impl Stream<Item = Result<Deployment, Error>> + Send + 'static {
        let ListRequest { client, paging, options } = self;
        follow_cursors(paging, move |paging| {
            let request = ListRequest { client: client.clone(), paging, options: options.clone() };
            async move {
                let page = request.send().await?;
                let cursor = page.next_cursor().map(str::to_string);
                Ok((page.data, cursor))
            }
        })
    }
}

/// A request for one page of a deployment's saved versions. Send it with
/// [`ListVersionsRequest::send`].
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until sent"]
pub struct ListVersionsRequest<C = Client> {
    client: C,
    key_or_id: String,
    paging: Paging,
    variant_id: Option<String>,
    options: CallOptions,
}

call_options!(ListVersionsRequest<C>);
paging_options!(ListVersionsRequest<C>, "version", "50");

impl<C> ListVersionsRequest<C> {
    /// Only the versions of this variant.
    pub fn variant_id(mut self, id: impl Into<String>) -> Self {
        self.variant_id = Some(id.into());
        self
    }

    /// The same request, sent by another client.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn with_client<D>(self, client: D) -> ListVersionsRequest<D> {
        let ListVersionsRequest { client: _, key_or_id, paging, variant_id, options } = self;
        ListVersionsRequest { client, key_or_id, paging, variant_id, options }
    }

    /// The limit to send, after every problem of the request is reported.
    fn checked_limit(&self) -> Result<Option<NonZeroU32>, Error> {
        let key = self.key_or_id.trim();
        let empty_key = key.is_empty().then(|| "the deployment key or id is empty".to_string());
        // A URL parser resolves `.` and `..` (escaped or not) as path steps: the
        // request would reach another endpoint.
        let dot_key = matches!(key, "." | "..")
            .then(|| format!("`{key}` cannot be sent as a deployment key or id (it is a path step)"));
        let limit = self.paging.checked_limit(MAX_VERSIONS_PAGE_SIZE);
        self.options.check(empty_key.into_iter().chain(dot_key).chain(limit.as_ref().err().cloned()))?;
        Ok(limit.unwrap_or_default())
    }
}

impl ListVersionsRequest<Client> {
    /// Sends the request. A 204 answer is an empty last page.
    pub async fn send(self) -> Result<DeploymentVersionList, Error> {
        let limit = self.checked_limit()?;
        let paging = &self.paging;
        let (after, before) = (paging.starting_after.as_deref(), paging.ending_before.as_deref());
        let (key, variant) = (self.key_or_id.as_str(), self.variant_id.as_deref());
        let span = telemetry::call_span(Op::ListVersions, Some(key));
        self.client
            .execute(
                Op::ListVersions.name(),
                Operation::Read,
                &self.options,
                &span,
                Json::new(),
                |api| async move { api.deployments_list_versions(key, before, limit, after, variant).await },
            )
            .await
            .map(|page| page.map_or_else(empty_versions_page, |page| page.into_inner()))
    }

    /// Every version from this request's position on, following
    /// `starting_after` cursors (older versions) while the service says there
    /// are more. With [`ending_before`](Self::ending_before) the first page is
    /// the one before that cursor, and the stream goes on from it to older
    /// pages, not towards newer ones.
    pub fn into_stream(self) -> impl Stream<Item = Result<DeploymentVersion, Error>> + Send + 'static {
        let ListVersionsRequest { client, key_or_id, paging, variant_id, options } = self;
        follow_cursors(paging, move |paging| {
            let request = ListVersionsRequest {
                client: client.clone(),
                key_or_id: key_or_id.clone(),
                paging,
                variant_id: variant_id.clone(),
                options: options.clone(),
            };
            async move {
                let page = request.send().await?;
                let cursor = page.next_cursor().map(str::to_string);
                Ok((page.data, cursor))
            }
        })
    }
}

/// Each file part of `messages` (the field `field`) that does not name
/// exactly one of `file_data`, `file_id` and `uri`, which the service requires.
fn file_problems<'a>(field: &'a str, messages: &'a [Message]) -> impl Iterator<Item = String> + 'a {
    let parts = messages.iter().enumerate().flat_map(|(m, message)| {
        let parts: &[UserContentPart] = match message {
            Message::User { content: UserContent::Array(parts), .. } => parts,
            _ => &[],
        };
        parts.iter().enumerate().map(move |(p, part)| (m, p, part))
    });
    parts.filter_map(move |(m, p, part)| match part {
        UserContentPart::File { file, .. } if file.source_count() != 1 => Some(format!(
            "{field}[{m}].content[{p}].file needs exactly one of file_data, file_id and uri, not {}",
            file.source_count()
        )),
        _ => None,
    })
}

/// What a list answered with 204 No Content means: no deployments, and no more pages.
fn empty_last_page() -> DeploymentList {
    DeploymentList { data: Vec::new(), has_more: false, object: Some(ListObject::List) }
}

/// What list_versions answered with 204 No Content means: no versions, and no more pages.
fn empty_versions_page() -> DeploymentVersionList {
    DeploymentVersionList { data: Vec::new(), has_more: false, object: Some(ListObject::List) }
}

/// What a stream answered with 204 No Content means: a generation with no chunks.
fn empty_stream(idle: Option<std::time::Duration>) -> ChunkStream {
    let done = futures::stream::iter([Ok::<_, std::convert::Infallible>(bytes::Bytes::from_static(
        b"data: [DONE]\n\n",
    ))]);
    ChunkStream::from_body(done, idle)
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
pub struct DeploymentCall<Op, C = Client> {
    client: C,
    body: DeploymentRequest,
    options: CallOptions,
    op: PhantomData<Op>,
}

call_options!(DeploymentCall<Op, C>);

impl<Op, C> DeploymentCall<Op, C> {
    fn new(client: C, key: String) -> Self {
        DeploymentCall {
            client,
            body: DeploymentRequest::new(key),
            options: CallOptions::default(),
            op: PhantomData,
        }
    }

    /// Sets prompt variable `name` (`{{name}}` in the prompt) to a string, number
    /// or bool: `&str`, `String`, any integer (sent exactly), `f32`, `f64`, `bool`.
    /// A `serde_json::Value` converts with `InputValue::try_from`.
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
        self.body.invoke_options.get_or_insert_with(InvokeOptions::default).include_retrievals = include;
        self
    }

    /// Asks the service to return token counts: [`InvokeResponse::usage`] for
    /// invoke, the last chunk's `usage` (kept by
    /// [`StreamedMessage`](crate::StreamedMessage)) for a stream.
    pub fn include_usage(mut self, include: bool) -> Self {
        self.body.invoke_options.get_or_insert_with(InvokeOptions::default).include_usage = Some(include);
        self
    }

    /// Answers with `text` instead of calling the model, streamed or not: for
    /// tests and demos. The service does not log, trace or bill such requests.
    pub fn mock_response(mut self, text: impl Into<String>) -> Self {
        self.body.invoke_options.get_or_insert_with(InvokeOptions::default).mock_response = Some(text.into());
        self
    }

    /// Who the request is for; see [`Identity`]. orq.ai creates the identity on
    /// first use and attributes the request to it.
    pub fn identity(mut self, identity: impl Into<Identity>) -> Self {
        let (identity, problems) = identity.into().into_parts();
        problems.into_iter().for_each(|problem| self.options.problem(problem));
        self.body.identity = Some(identity);
        self
    }

    /// The conversation the request belongs to; see [`Thread`].
    pub fn thread(mut self, thread: impl Into<Thread>) -> Self {
        self.body.thread = Some(thread.into().into_inner());
        self
    }

    /// Restricts the knowledge-base chunks the deployment may retrieve, by their
    /// metadata; see [`KnowledgeFilter`]. A structurally invalid filter is
    /// reported by `send`, before anything is sent.
    ///
    /// ```no_run
    /// use orq::request::{Conditions, KnowledgeFilter};
    /// # async fn run(client: orq::Client) -> Result<(), orq::Error> {
    /// let answer = client
    ///     .deployments()
    ///     .invoke("support-bot")
    ///     .knowledge_filter(Conditions::new().eq("topic", "billing").gte("year", 2024))
    ///     .send()
    ///     .await?;
    /// # let _ = answer;
    /// # Ok(()) }
    /// ```
    pub fn knowledge_filter(mut self, filter: impl Into<KnowledgeFilter>) -> Self {
        match filter.into().into_wire() {
            Ok(filter) => self.body.knowledge_filter = Some(filter),
            Err(problems) => {
                // Reported once, by `send`: the body keeps no half-valid filter.
                self.body.knowledge_filter = None;
                problems.into_iter().for_each(|problem| self.options.problem(problem));
            }
        }
        self
    }

    /// Replaces the whole body. The key given to the operation is kept (the
    /// body's own `key` is ignored), and later builder calls still apply.
    pub fn body(mut self, mut body: DeploymentRequest) -> Self {
        body.key = std::mem::take(&mut self.body.key);
        self.body = body;
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
                self.options.problem(format!("{field} must be a JSON object, not `{other}`"));
                Map::new()
            }
        }
    }

    /// The client that will send the request.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn sender(&self) -> &C {
        &self.client
    }

    /// The same request, sent by another client.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn with_client<D>(self, client: D) -> DeploymentCall<Op, D> {
        let DeploymentCall { client: _, body, options, op } = self;
        DeploymentCall { client, body, options, op }
    }

    /// Every problem of the request: those the builder methods recorded, then
    /// an empty key, inputs that JSON cannot carry, identity and thread without
    /// an id, file parts without exactly one source, and a knowledge filter of
    /// the wrong shape (also when set through [`Self::body`]).
    fn check(&self) -> Result<(), Error> {
        let body = &self.body;
        let empty_key = body.key.trim().is_empty().then(|| "the deployment key is empty".to_string());
        let not_finite = body.inputs.iter().filter_map(|(name, value)| match value {
            InputValue::Double(x) if !x.is_finite() => {
                Some(format!("input `{name}` is {x}, which JSON cannot carry"))
            }
            _ => None,
        });
        let no_identity_id = body
            .identity
            .as_ref()
            .filter(|identity| identity.id.trim().is_empty())
            .map(|_| "the identity id is empty".to_string());
        let no_thread_id = body
            .thread
            .as_ref()
            .filter(|thread| thread.id.trim().is_empty())
            .map(|_| "the thread id is empty".to_string());
        let filter = body
            .knowledge_filter
            .as_ref()
            .map(|filter| {
                crate::request::filter_problems(&serde_json::to_value(filter).unwrap_or(Value::Null))
            })
            .unwrap_or_default();
        let files = file_problems("prefix_messages", &body.prefix_messages)
            .chain(file_problems("messages", &body.messages));
        self.options.check(
            empty_key
                .into_iter()
                .chain(not_finite)
                .chain(no_identity_id)
                .chain(no_thread_id)
                .chain(files)
                .chain(filter),
        )
    }
}

impl<Op> DeploymentCall<Op, Client> {
    /// Readies the body for the wire, in place (so that `send`'s future holds
    /// the request once): checks the request, then sets the operation's
    /// stream flag and the environment.
    fn prepare(&mut self, stream: bool) -> Result<(), Error> {
        self.check()?;
        let (client, body, options) = (&self.client, &mut self.body, &self.options);
        body.stream = Some(stream);
        // A per-call environment wins over everything; the client's default does
        // not replace an `environments` the caller put in the context.
        match (&options.environment, client.environment()) {
            (Some(environment), _) => {
                body.context.insert(ENVIRONMENTS.into(), Value::String(environment.clone()));
            }
            (None, Some(default)) if !body.context.contains_key(ENVIRONMENTS) => {
                body.context.insert(ENVIRONMENTS.into(), Value::String(default.to_string()));
            }
            _ => {}
        }
        Ok(())
    }
}

impl DeploymentCall<GetConfig> {
    /// Sends the request. `None` when the service answers 204 No Content.
    pub fn send(mut self) -> impl Future<Output = Result<Option<DeploymentConfig>, Error>> + Send + 'static {
        let prepared = self.prepare(false);
        // Not an `async fn`: that would hold the request twice (argument and local).
        async move {
            prepared?;
            let body = &self.body;
            let span = telemetry::call_span(Op::GetConfig, Some(&body.key));
            let config = self
                .client
                .execute(
                    Op::GetConfig.name(),
                    Operation::Read,
                    &self.options,
                    &span,
                    Json::new(),
                    |api| async move { api.deployments_get_config(body).await },
                )
                .await
                .map(|value| value.map(|value| value.into_inner()));
            if let Ok(Some(config)) = &config
                && !span.is_disabled()
            {
                telemetry::record_config(&span, config);
            }
            config
        }
    }
}

impl DeploymentCall<Invoke> {
    /// Sends the request. `None` when the service answers 204 No Content.
    pub fn send(mut self) -> impl Future<Output = Result<Option<InvokeResponse>, Error>> + Send + 'static {
        let prepared = self.prepare(false);
        // Not an `async fn`: that would hold the request twice (argument and local).
        async move {
            prepared?;
            let body = &self.body;
            let span = telemetry::call_span(Op::Invoke, Some(&body.key));
            let content = !span.is_disabled() && self.client.inner.record_content;
            if content {
                telemetry::record_input(&span, body);
            }
            let response = self
                .client
                .execute(
                    Op::Invoke.name(),
                    Operation::Generate,
                    &self.options,
                    &span,
                    Json::new(),
                    |api| async move { api.deployments_invoke(None, None, body).await },
                )
                .await
                .map(|value| value.map(|value| value.into_inner()));
            if let Ok(Some(response)) = &response
                && !span.is_disabled()
            {
                telemetry::record_invoke(&span, response, content);
            }
            response
        }
    }
}

impl DeploymentCall<StreamOp> {
    /// Sends the request and returns the chunks as they arrive (none when the
    /// service answers 204 No Content).
    ///
    /// Retries (per policy) happen only until the response starts; a stream
    /// that breaks later yields an error item and is never replayed.
    pub fn send(mut self) -> impl Future<Output = Result<ChunkStream, Error>> + Send + 'static {
        let prepared = self.prepare(true);
        // Not an `async fn`: that would hold the request twice (argument and local).
        async move {
            prepared?;
            let body = &self.body;
            let client = &self.client;
            let idle = client.inner.stream_idle_timeout;
            let span = telemetry::call_span(Op::Stream, Some(&body.key));
            // Time to first chunk counts from here; read only when the span is recorded.
            let started = (!span.is_disabled()).then(Instant::now);
            let content = !span.is_disabled() && client.inner.record_content;
            if content {
                telemetry::record_input(&span, body);
            }
            let response = client
                .execute(
                    Op::Stream.name(),
                    Operation::Generate,
                    &self.options,
                    &span,
                    EventStream,
                    |api| async move { api.deployments_stream(None, None, body).await },
                )
                .await?;
            // The span lives on in the stream, until it ends or is dropped.
            let telemetry = started.and_then(|started| StreamTelemetry::new(span, started, content));
            let Some(response) = response else {
                return Ok(empty_stream(idle).with_telemetry(telemetry));
            };
            let request_id = crate::error::request_id(response.headers());
            let inner = &client.inner;
            Ok(ChunkStream::new(
                response.into_inner_stream(),
                inner.stream_idle_timeout,
                inner.max_event_size,
                inner.stream_deadline,
                request_id,
            )
            .with_telemetry(telemetry))
        }
    }
}

/// Lets a request be awaited directly: `client.deployments().invoke("key").await`
/// is the same as `.send().await`.
macro_rules! await_sends {
    ($($builder:ty => $output:ty),* $(,)?) => {$(
        impl std::future::IntoFuture for $builder {
            type Output = Result<$output, Error>;
            type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Self::Output> + Send + 'static>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    )*};
}

await_sends! {
    ListRequest => DeploymentList,
    ListVersionsRequest => DeploymentVersionList,
    DeploymentCall<GetConfig> => Option<DeploymentConfig>,
    DeploymentCall<Invoke> => Option<InvokeResponse>,
    DeploymentCall<StreamOp> => ChunkStream,
}
