//! Retries: which failures are retried, how long to wait, and the loop that
//! runs an operation's attempts.
//!
//! The wait schedule is backon's exponential backoff with jitter; a
//! `Retry-After` header from the service replaces the computed wait.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use backon::BackoffBuilder;

use crate::error::Error;

/// When and how often failed requests are retried.
///
/// The default retries twice (three attempts in all) on connection errors and
/// on 408, 429, 500, 502, 503 and 504, waiting 500 ms, then 1 s (each with
/// jitter), at most 60 s per wait and 5 minutes in all, and honours
/// `Retry-After`.
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

    /// Whether connection failures (refused, reset, DNS) are retried.
    pub fn retry_connection_errors(mut self, retry: bool) -> Self {
        self.retry_connection_errors = retry;
        self
    }

    /// The HTTP statuses that are retried, replacing the default list.
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

    fn is_retryable(&self, error: &Error) -> bool {
        match error {
            Error::Api { status, .. } => self.statuses.contains(&status.as_u16()),
            Error::Connection(_) => self.retry_connection_errors,
            _ => false,
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

/// One failed attempt: the error, the wait the service asked for, and whether
/// sending the request again is safe at all.
pub(crate) struct Failure {
    pub error: Error,
    pub retry_after: Option<Duration>,
    pub replayable: bool,
}

impl Failure {
    /// A failure after the service accepted the request: never retried.
    pub fn final_(error: Error) -> Self {
        Failure { error, retry_after: None, replayable: false }
    }

    /// A failure the service answered with, honouring its `Retry-After`.
    pub fn answered(error: Error, headers: &reqwest::header::HeaderMap) -> Self {
        Failure { error, retry_after: retry_after(headers), replayable: true }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, retry_after: None, replayable: true }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the policy gives up.
/// `attempt` gets the attempt number, starting at 1.
pub(crate) async fn run<T, F, Fut>(policy: &RetryPolicy, mut attempt: F) -> Result<T, Error>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let started = Instant::now();
    let mut schedule = policy.schedule();
    let mut number = 1;
    loop {
        let failure = match attempt(number).await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        if !failure.replayable || !policy.is_retryable(&failure.error) {
            return Err(failure.error);
        }
        let Some(backoff) = schedule.next() else {
            return Err(failure.error);
        };
        let wait = failure.retry_after.map(|asked| asked.min(policy.max_retry_after)).unwrap_or(backoff);
        let too_late = |limit| started.elapsed().checked_add(wait).is_none_or(|total| total > limit);
        if policy.max_elapsed.is_some_and(too_late) {
            return Err(failure.error);
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
