//! A blocking client, for programs without an async runtime (feature `blocking`).
//!
//! The same operations and request builders as the async [`crate::Client`];
//! `send` returns the result instead of a future, and `list_all`,
//! `list_versions_all` and `stream` return iterators.
//!
//! ```no_run
//! use orq::types::Message;
//!
//! fn main() -> Result<(), orq::Error> {
//!     let client = orq::blocking::Client::from_env()?; // ORQ_API_KEY
//!
//!     let page = client.deployments().list().limit(20).send()?;
//!     for deployment in client.deployments().list_all() {
//!         println!("{}", deployment?.key);
//!     }
//!     let config = client.deployments().get_config("support-bot").input("name", "Ada").send()?;
//!     let out = client
//!         .deployments()
//!         .invoke("support-bot")
//!         .input("name", "Ada")
//!         .message(Message::user("Where is my order?"))
//!         .send()?;
//!     for chunk in client.deployments().stream("support-bot").input("name", "Ada").send()? {
//!         print!("{}", chunk?.text());
//!     }
//! #   let _ = (page, config, out);
//!     Ok(())
//! }
//! ```
//!
//! # How it works
//!
//! The client wraps an async client and a private tokio runtime with one
//! worker thread, which keeps connections alive between calls. Each call runs
//! on the calling thread until it completes; clones share the runtime, and
//! several threads may call at once. Dropping the last clone stops the worker
//! without waiting.
//!
//! Inside an async runtime (a tokio task, `spawn_blocking`, or a thread that
//! entered a runtime), blocking would stall that runtime's thread: every call
//! there fails with [`Error::Config`] instead. Use [`crate::Client`] there.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use orq_api::types::{
    Deployment, DeploymentConfig, DeploymentList, DeploymentVersion, DeploymentVersionList, InvokeResponse,
    StreamChunk,
};

use crate::client::ApiKey;
use crate::deployments::{self, GetConfig, Invoke, MAX_PAGE_SIZE, MAX_VERSIONS_PAGE_SIZE, StreamOp};
use crate::{ClientBuilder, Error, StreamedMessage};

/// The deployments API of a blocking client.
pub type Deployments<'c> = deployments::Deployments<'c, Client>;
/// A blocking request for one page of deployments.
pub type ListRequest = deployments::ListRequest<Client>;
/// A blocking request for one page of a deployment's versions.
pub type ListVersionsRequest = deployments::ListVersionsRequest<Client>;
/// A blocking get_config, invoke or stream request.
pub type DeploymentCall<Op> = deployments::DeploymentCall<Op, Client>;

/// A blocking client for the orq.ai API. Cheap to clone; `Send + Sync`.
///
/// Build it like the async one, ending with
/// [`build_blocking`](ClientBuilder::build_blocking):
///
/// ```
/// let client = orq::blocking::Client::builder().api_key("my-key").environment("production").build_blocking()?;
/// # Ok::<(), orq::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: crate::Client,
    runtime: Arc<Runtime>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("blocking::Client").field(&self.inner).finish()
    }
}

impl Client {
    /// A client with the given API key and default settings.
    pub fn new(api_key: impl Into<ApiKey>) -> Result<Client, Error> {
        Client::builder().api_key(api_key).build_blocking()
    }

    /// A client configured from the environment, as [`crate::Client::from_env`].
    pub fn from_env() -> Result<Client, Error> {
        Client::builder().from_env().build_blocking()
    }

    /// The builder of every setting; finish with [`ClientBuilder::build_blocking`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The deployments API: list, list_all, list_versions, get_config, invoke and stream.
    pub fn deployments(&self) -> Deployments<'_> {
        Deployments::new(self)
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.base_url()
    }

    /// The async client inside, sharing configuration and connection pool.
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// Runs a future of the async client to completion on this thread.
    fn wait<T>(&self, future: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        self.runtime.block_on(future)?
    }
}

impl ClientBuilder {
    /// Checks the settings and builds a blocking client (feature `blocking`).
    /// A bad setting, or a runtime that cannot start, is an [`Error::Config`].
    pub fn build_blocking(self) -> Result<Client, Error> {
        let inner = self.build()?;
        Ok(Client { inner, runtime: Arc::new(Runtime::start()?) })
    }
}

/// The private runtime; shut down without waiting when the last user drops it,
/// which is allowed anywhere, even inside another runtime.
struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    fn start() -> Result<Runtime, Error> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("orq-blocking")
            .enable_all()
            .build()
            .map(|runtime| Runtime(Some(runtime)))
            .map_err(|e| Error::Config(format!("could not start the blocking client's runtime: {e}")))
    }

    fn block_on<F: Future>(&self, future: F) -> Result<F::Output, Error> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::Config(
                "orq::blocking::Client was called inside an async runtime, where blocking would stall \
                 it; use orq::Client there"
                    .into(),
            ));
        }
        match &self.0 {
            Some(runtime) => Ok(runtime.block_on(future)),
            None => Err(Error::Config("the blocking client's runtime has shut down".into())),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Deployments<'_> {
    /// Every deployment, following the cursors page by page (200 per page) as
    /// the iterator advances.
    pub fn list_all(&self) -> DeploymentIter {
        self.list().limit(MAX_PAGE_SIZE).into_iter()
    }

    /// Every saved version of deployment `key_or_id`, newest first, following
    /// the cursors page by page (50 per page) as the iterator advances.
    pub fn list_versions_all(&self, key_or_id: impl Into<String>) -> VersionIter {
        self.list_versions(key_or_id).limit(MAX_VERSIONS_PAGE_SIZE).into_iter()
    }
}

impl ListVersionsRequest {
    /// Sends the request. A 204 answer is an empty last page.
    pub fn send(self) -> Result<DeploymentVersionList, Error> {
        let client = self.sender().clone();
        client.wait(self.with_client(client.inner.clone()).send())
    }
}

impl IntoIterator for ListVersionsRequest {
    type Item = Result<DeploymentVersion, Error>;
    type IntoIter = VersionIter;

    /// Every version from this request's position on, following the cursors.
    fn into_iter(self) -> VersionIter {
        let client = self.sender().clone();
        let versions = self.with_client(client.inner.clone()).into_stream().boxed();
        VersionIter(BlockingIter::new(versions, client.runtime))
    }
}

impl ListRequest {
    /// Sends the request. A 204 answer is an empty last page.
    pub fn send(self) -> Result<DeploymentList, Error> {
        let client = self.sender().clone();
        client.wait(self.with_client(client.inner.clone()).send())
    }
}

impl IntoIterator for ListRequest {
    type Item = Result<Deployment, Error>;
    type IntoIter = DeploymentIter;

    /// Every deployment from this request's position on, following the cursors.
    fn into_iter(self) -> DeploymentIter {
        let client = self.sender().clone();
        let deployments = self.with_client(client.inner.clone()).into_stream().boxed();
        DeploymentIter(BlockingIter::new(deployments, client.runtime))
    }
}

impl DeploymentCall<GetConfig> {
    /// Sends the request. `None` when the service answers 204 No Content.
    pub fn send(self) -> Result<Option<DeploymentConfig>, Error> {
        let client = self.sender().clone();
        client.wait(self.with_client(client.inner.clone()).send())
    }
}

impl DeploymentCall<Invoke> {
    /// Sends the request. `None` when the service answers 204 No Content.
    pub fn send(self) -> Result<Option<InvokeResponse>, Error> {
        let client = self.sender().clone();
        client.wait(self.with_client(client.inner.clone()).send())
    }
}

impl DeploymentCall<StreamOp> {
    /// Sends the request and returns the chunks as they arrive (none when the
    /// service answers 204 No Content). Retries happen only until the response
    /// starts.
    pub fn send(self) -> Result<ChunkIter, Error> {
        let client = self.sender().clone();
        let chunks = client.wait(self.with_client(client.inner.clone()).send())?;
        Ok(ChunkIter(BlockingIter::new(chunks, client.runtime)))
    }
}

/// Items of an async stream, each waited for on the calling thread. After an
/// error, it ends.
struct BlockingIter<S> {
    stream: S,
    runtime: Arc<Runtime>,
    finished: bool,
}

impl<S, T> BlockingIter<S>
where
    S: Stream<Item = Result<T, Error>> + Unpin,
{
    fn new(stream: S, runtime: Arc<Runtime>) -> Self {
        BlockingIter { stream, runtime, finished: false }
    }

    fn next_item(&mut self) -> Option<Result<T, Error>> {
        if self.finished {
            return None;
        }
        let item = match self.runtime.block_on(self.stream.next()) {
            Ok(item) => item,
            Err(error) => Some(Err(error)),
        };
        self.finished = !matches!(item, Some(Ok(_)));
        item
    }
}

/// The deployments of a blocking `list_all` (or a [`ListRequest`] iterated):
/// each page is fetched when the iterator reaches it. An error ends it.
pub struct DeploymentIter(BlockingIter<DeploymentStream>);

/// The async `list_all` stream a [`DeploymentIter`] advances.
type DeploymentStream = Pin<Box<dyn Stream<Item = Result<Deployment, Error>> + Send>>;

impl fmt::Debug for DeploymentIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeploymentIter").field("finished", &self.0.finished).finish_non_exhaustive()
    }
}

impl Iterator for DeploymentIter {
    type Item = Result<Deployment, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_item()
    }
}

/// The versions of a blocking `list_versions_all` (or a
/// [`ListVersionsRequest`] iterated): each page is fetched when the iterator
/// reaches it. An error ends it.
pub struct VersionIter(BlockingIter<Pin<Box<dyn Stream<Item = Result<DeploymentVersion, Error>> + Send>>>);

impl fmt::Debug for VersionIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionIter").field("finished", &self.0.finished).finish_non_exhaustive()
    }
}

impl Iterator for VersionIter {
    type Item = Result<DeploymentVersion, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_item()
    }
}

/// The chunks of a blocking stream, as they arrive.
///
/// It ends (`None`) after the service's `[DONE]`; if the connection ends
/// before that, or sends an error, the last item is an `Err`. Dropping it
/// closes the connection.
#[must_use = "an iterator does nothing unless advanced"]
pub struct ChunkIter(BlockingIter<crate::ChunkStream>);

impl fmt::Debug for ChunkIter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkIter").field("stream", &self.0.stream).finish_non_exhaustive()
    }
}

impl ChunkIter {
    /// The request id the service sent with the response headers, if any.
    pub fn request_id(&self) -> Option<&str> {
        self.0.stream.request_id()
    }

    /// Reads the whole stream and joins the text of the first choice.
    pub fn collect_text(self) -> Result<String, Error> {
        Ok(self.collect_message()?.text)
    }

    /// Reads the whole stream and folds the chunks into the final message.
    pub fn collect_message(self) -> Result<StreamedMessage, Error> {
        let mut message = StreamedMessage::default();
        for chunk in self {
            message.push(chunk?);
        }
        Ok(message)
    }
}

impl Iterator for ChunkIter {
    type Item = Result<StreamChunk, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_item()
    }
}
