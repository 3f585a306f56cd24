//! Rust SDK for the [orq.ai](https://orq.ai) Deployments API.
//!
//! ```no_run
//! use futures::{StreamExt, TryStreamExt};
//! use orq::types::Message;
//!
//! # async fn run() -> Result<(), orq::Error> {
//! let client = orq::Client::from_env()?; // ORQ_API_KEY
//!
//! // List (one page, or every deployment following the cursors).
//! let page = client.deployments().list().limit(20).send().await?;
//! let every: Vec<_> = client.deployments().list_all().try_collect().await?;
//!
//! // Resolve a deployment's configuration without calling the model.
//! let config = client.deployments().get_config("support-bot").input("name", "Ada").send().await?;
//!
//! // Invoke: the whole generation at once (`None` if the service answers 204).
//! let out = client
//!     .deployments()
//!     .invoke("support-bot")
//!     .input("name", "Ada")
//!     .message(Message::user("Where is my order?"))
//!     .metadata(serde_json::json!({ "ticket": 123 }))
//!     .send()
//!     .await?;
//!
//! // Stream: chunks as they are generated.
//! let mut chunks = client.deployments().stream("support-bot").input("name", "Ada").send().await?;
//! while let Some(chunk) = chunks.next().await {
//!     print!("{}", chunk?.text());
//! }
//! # let _ = (page, every, config, out);
//! # Ok(()) }
//! ```
//!
//! Every request builder can also be awaited directly: `client.deployments().list().await`
//! is `client.deployments().list().send().await`. Requests own a clone of the client,
//! so they can be spawned: `tokio::spawn(client.deployments().invoke("k").send())`.
//!
//! Where things live:
//! - [`Client`], [`ClientBuilder`]: configuration, shared by all calls (`client.rs`).
//! - The per-call pipeline: headers, timeout, retries, error translation and
//!   tracing, the same for every operation (`call.rs`).
//! - [`deployments`]: the operations and their request builders (`deployments.rs`).
//! - [`request`]: builders for a request's identity, thread and knowledge filter (`request.rs`).
//! - [`RetryPolicy`]: which failures are retried and how long to wait (`retry.rs`).
//! - [`ChunkStream`]: server-sent events to chunks (`stream.rs`).
//! - [`Error`]: the one error type (`error.rs`).
//! - [`types`]: request and response types, generated from the OpenAPI spec in `orq-api`.
//! - `blocking` (feature `blocking`): the same operations without async (`blocking.rs`).

#![warn(missing_docs)]
// docs.rs: mark what a cargo feature gates ("Available on crate feature ... only").
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "blocking")]
pub mod blocking;
mod body;
mod call;
mod client;
pub mod deployments;
mod error;
pub mod request;
mod retry;
mod stream;
mod telemetry;

pub use client::{
    ApiKey, Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_ERROR_BODY_SIZE,
    DEFAULT_MAX_RESPONSE_BODY_SIZE, DEFAULT_STREAM_IDLE_TIMEOUT, DEFAULT_TIMEOUT,
};
pub use error::{ConnectionCause, Error, StreamError, TransportError};
pub use retry::RetryPolicy;
pub use stream::{ChunkStream, DEFAULT_MAX_EVENT_SIZE, StreamedMessage};

/// Request and response types of the API (generated from the spec by `orq-api`).
///
/// Response enums are open: values added by the service after this release
/// arrive as `Other(String)` instead of failing to decode.
pub mod types {
    pub use orq_api::types::*;
}

/// The lower-level generated client, for what the facade does not cover.
pub use orq_api;

/// Compiles the README's example as a doctest.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// Compiles the example of the crate's own README (the one crates.io shows).
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct CrateReadmeDoctests;
