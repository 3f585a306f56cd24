//! Retries: which failures are retried, how long to wait, and the loop that
//! runs an operation's attempts.
//!
//! Whether a failure may be retried at all is decided by one table,
//! [`RETRY_TABLE`]: `list` and `get_config` generate nothing and are safe to
//! send again; `invoke` and `stream` start a generation, which runs (and is
//! billed) again with every resend, so by default they are sent again only
//! where the service cannot have started it.
//!
//! The wait schedule is backon's exponential backoff with jitter; a
//! `Retry-After` header from the service replaces the computed wait.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use backon::BackoffBuilder;

use crate::error::Error;

/// When and how often failed requests are retried.
///
/// The default retries twice (three attempts in all), waiting 500 ms, then
/// 1 s (each with jitter), at most 60 s per wait and 5 minutes in all, and
/// honours `Retry-After`. What is retried depends on the operation:
///
/// | Failure | `list`, `get_config` | `invoke`, `stream` |
/// |---|---|---|
/// | no connection opened (refused, DNS, TLS, connect timeout): nothing was sent | retried | retried |
/// | 408, 429, 503: the service did not start the work | retried | retried |
/// | 500, 502, 504: the work may have started | retried | only with [`allow_duplicate_generations`](Self::allow_duplicate_generations) |
/// | the connection broke after the request was sent | retried | only with [`allow_duplicate_generations`](Self::allow_duplicate_generations) |
/// | a 2xx answer whose body broke off: the work was done | retried | never |
/// | the request timeout passed | never | never |
/// | any other status, an undecodable answer, a body over its limit | never | never |
///
/// ```
/// use std::time::Duration;
/// use orq::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_retries(5)
///     .initial_interval(Duration::from_secs(1))
///     .retry_on_status([429, 503]);
/// let never = RetryPolicy::none();
/// # let _ = (patient, never);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub(crate) max_retries: usize,
    pub(crate) initial_interval: Duration,
    pub(crate) max_interval: Duration,
    pub(crate) exponent: f32,
    pub(crate) max_elapsed: Option<Duration>,
    pub(crate) retry_connection_errors: bool,
    pub(crate) statuses: Vec<u16>,
    pub(crate) jitter: bool,
    pub(crate) max_retry_after: Duration,
    pub(crate) allow_duplicate_generations: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(60),
            exponent: 2.0,
            max_elapsed: Some(Duration::from_secs(300)),
            retry_connection_errors: true,
            statuses: vec![408, 429, 500, 502, 503, 504],
            jitter: true,
            max_retry_after: Duration::from_secs(60),
            allow_duplicate_generations: false,
        }
    }
}

impl RetryPolicy {
    /// No retries: every failure is returned at once.
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..RetryPolicy::default() }
    }

    /// Retries after the first attempt (0 turns retries off).
    pub fn max_retries(mut self, retries: usize) -> Self {
        self.max_retries = retries;
        self
    }

    /// The wait before the first retry.
    pub fn initial_interval(mut self, interval: Duration) -> Self {
        self.initial_interval = interval;
        self
    }

    /// The longest single wait.
    pub fn max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval;
        self
    }

    /// The factor each wait grows by.
    pub fn exponent(mut self, exponent: f32) -> Self {
        self.exponent = exponent;
        self
    }

    /// Stop retrying once this much time has passed since the first attempt
    /// (`None`: no limit besides `max_retries`).
    pub fn max_elapsed_time(mut self, limit: Option<Duration>) -> Self {
        self.max_elapsed = limit;
        self
    }

    /// Whether connection failures (refused, DNS, TLS, connect timeout, a
    /// connection broken before the answer) are retried at all (default: yes,
    /// as the table in [`RetryPolicy`] says).
    pub fn retry_connection_errors(mut self, retry: bool) -> Self {
        self.retry_connection_errors = retry;
        self
    }

    /// The HTTP statuses that are retried, replacing the default list
    /// (408, 429, 500, 502, 503, 504). For `invoke` and `stream`, statuses
    /// other than 408, 429 and 503 are retried only with
    /// [`Self::allow_duplicate_generations`].
    pub fn retry_on_status(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.statuses = statuses.into_iter().collect();
        self
    }

    /// Whether waits are randomized (on by default, so clients do not retry in step).
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The longest `Retry-After` honoured; longer values are cut to this.
    pub fn max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// Also resend `invoke` and `stream` where the service may already have
    /// started the generation: after a 500, 502 or 504 (or another listed
    /// status besides 408, 429 and 503), and after the connection broke once
    /// the request was sent. Off by default.
    ///
    /// **Risk:** each resend can run the generation again, and be billed
    /// again, while the first run's result is lost. Turn this on only for
    /// deployments where a duplicate generation is harmless. A 2xx answer
    /// whose body broke off is never resent: that generation surely ran.
    pub fn allow_duplicate_generations(mut self, allow: bool) -> Self {
        self.allow_duplicate_generations = allow;
        self
    }

    /// Whether `failure` of an `operation` may be sent again, per [`RETRY_TABLE`]
    /// and this policy's switches.
    fn allows_retry(&self, operation: Operation, failure: &Failure) -> bool {
        let failed = failure.classify(&self.statuses);
        let connection = matches!(failed, Failed::NotConnected | Failed::Broken | Failed::BodyBroke);
        if connection && !self.retry_connection_errors {
            return false;
        }
        let (_, reads, generations) =
            RETRY_TABLE.iter().find(|(row, _, _)| *row == failed).copied().unwrap_or(NEVER_ROW);
        let verdict = match operation {
            Operation::Read => reads,
            Operation::Generate => generations,
        };
        match verdict {
            Verdict::Retry => true,
            Verdict::IfDuplicatesAllowed => self.allow_duplicate_generations,
            Verdict::Never => false,
        }
    }

    fn schedule(&self) -> impl Iterator<Item = Duration> + use<> {
        let mut builder = backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_interval)
            .with_max_delay(self.max_interval)
            .with_factor(self.exponent)
            .with_max_times(self.max_retries);
        if self.jitter {
            builder = builder.with_jitter();
        }
        builder.build()
    }
}

/// What an operation does at the service, which decides what may be resent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// Reads only (`list`, `get_config`): sending it twice does no harm.
    Read,
    /// Starts a generation (`invoke`, `stream`): each send may run and bill it.
    Generate,
}

/// A failed attempt, by what it tells about the request reaching the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failed {
    /// No connection was opened (refused, DNS, TLS, connect timeout): nothing was sent.
    NotConnected,
    /// A listed status saying the work was not started: 408, 429, 503.
    Declined,
    /// Another listed status (by default 500, 502, 504): the work may have started.
    ServerError,
    /// The connection broke after the request was sent, before an answer.
    Broken,
    /// A 2xx answer whose body broke off: the work was done.
    BodyBroke,
    /// The request timeout passed: the work may be running.
    TimedOut,
    /// Anything else: an unlisted status, an undecodable answer, a body over
    /// its limit, an invalid request.
    Final,
}

/// Whether one kind of failure is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Retry,
    IfDuplicatesAllowed,
    Never,
}

use Verdict::{IfDuplicatesAllowed, Never, Retry};

/// The retry table: may a failed attempt be sent again? One row per kind of
/// failure; the columns are the operations that read (`list`, `get_config`)
/// and those that start a generation (`invoke`, `stream`). `Retry` still
/// obeys the policy's limits (`max_retries`, `max_elapsed_time`, the status
/// list, `retry_connection_errors`); `IfDuplicatesAllowed` needs
/// [`RetryPolicy::allow_duplicate_generations`].
#[rustfmt::skip]
pub(crate) const RETRY_TABLE: [(Failed, Verdict, Verdict); 7] = [
    // failure               list, get_config  invoke, stream
    (Failed::NotConnected,   Retry,            Retry),
    (Failed::Declined,       Retry,            Retry),
    (Failed::ServerError,    Retry,            IfDuplicatesAllowed),
    (Failed::Broken,         Retry,            IfDuplicatesAllowed),
    (Failed::BodyBroke,      Retry,            Never),
    (Failed::TimedOut,       Never,            Never),
    (Failed::Final,          Never,            Never),
];

const NEVER_ROW: (Failed, Verdict, Verdict) = (Failed::Final, Never, Never);

/// Statuses that say the service did not start the work.
const DECLINED: [u16; 3] = [408, 429, 503];

/// One failed attempt: the error, the wait the service asked for, and
/// whether a successful answer had already started.
pub(crate) struct Failure {
    pub error: Error,
    pub retry_after: Option<Duration>,
    pub after_success: bool,
}

impl Failure {
    /// The body of a 2xx answer broke off: the service did the work.
    pub fn after_success(error: Error) -> Self {
        Failure { error, retry_after: None, after_success: true }
    }

    /// A failure the service answered with, honouring its `Retry-After`.
    pub fn answered(error: Error, retry_after: Option<Duration>) -> Self {
        Failure { error, retry_after, after_success: false }
    }

    /// Which row of [`RETRY_TABLE`] this failure falls under.
    fn classify(&self, statuses: &[u16]) -> Failed {
        if self.after_success {
            let broke = matches!(self.error, Error::Connection { .. });
            return if broke { Failed::BodyBroke } else { Failed::Final };
        }
        match &self.error {
            Error::Connect { .. } | Error::ConnectTimeout { .. } => Failed::NotConnected,
            Error::Connection { .. } => Failed::Broken,
            Error::Timeout { .. } => Failed::TimedOut,
            Error::Api { status, .. } if statuses.contains(&status.as_u16()) => {
                if DECLINED.contains(&status.as_u16()) { Failed::Declined } else { Failed::ServerError }
            }
            _ => Failed::Final,
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, retry_after: None, after_success: false }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the policy gives up.
/// `attempt` gets the attempt number, starting at 1. Returns the last
/// attempt's result and the number of attempts made.
pub(crate) async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    operation: Operation,
    mut attempt: F,
) -> (Result<T, Error>, u32)
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let started = Instant::now();
    // Made at the first failure: most calls never need it.
    let mut schedule = None;
    let mut number = 1;
    loop {
        let failure = match attempt(number).await {
            Ok(value) => return (Ok(value), number),
            Err(failure) => failure,
        };
        if !policy.allows_retry(operation, &failure) {
            return (Err(failure.error), number);
        }
        let Some(backoff) = schedule.get_or_insert_with(|| policy.schedule()).next() else {
            return (Err(failure.error), number);
        };
        let wait = failure.retry_after.map(|asked| asked.min(policy.max_retry_after)).unwrap_or(backoff);
        let too_late = |limit| started.elapsed().checked_add(wait).is_none_or(|total| total > limit);
        if policy.max_elapsed.is_some_and(too_late) {
            return (Err(failure.error), number);
        }
        tracing::debug!(attempt = number, wait_ms = wait.as_millis() as u64, error = %failure.error, "retrying");
        tokio::time::sleep(wait).await;
        number += 1;
    }
}

/// Parses `Retry-After`: delay seconds or an HTTP date.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(1e9)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    fn headers(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        map
    }

    #[test]
    fn retry_after_accepts_seconds_fractions_and_dates() {
        assert_eq!(retry_after(&headers("3")), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(&headers("0.25")), Some(Duration::from_millis(250)));
        let future = SystemTime::now() + Duration::from_secs(30);
        let parsed = retry_after(&headers(&httpdate::fmt_http_date(future))).unwrap();
        assert!(parsed > Duration::from_secs(25) && parsed <= Duration::from_secs(30), "{parsed:?}");
        assert_eq!(retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&headers("-1")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn schedule_grows_and_is_capped() {
        let policy = RetryPolicy::default()
            .jitter(false)
            .max_retries(5)
            .initial_interval(Duration::from_millis(100))
            .max_interval(Duration::from_millis(500));
        let waits: Vec<_> = policy.schedule().collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![100, 200, 400, 500, 500]);
        assert_eq!(RetryPolicy::none().schedule().count(), 0);
    }
}
