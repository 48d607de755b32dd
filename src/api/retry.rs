//! When and how long to wait: the one backoff every wait of evalctl grows by (retried
//! requests, look-ups after a lost answer, uploads being processed, runs being graded), and
//! when to try a request again: with jitter, honouring the service's `retry-after-ms` /
//! `Retry-After` (capped), and never retrying what retrying cannot fix. Pure but for the clock
//! an HTTP-date `Retry-After` needs, so the policy is tested without a network.

use std::time::{Duration, SystemTime};

/// Waits that grow: `first`, then `factor` times longer each attempt, never above `cap`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub first: Duration,
    pub factor: f64,
    pub cap: Duration,
}

impl Backoff {
    /// Between attempts of a failed request (before jitter).
    pub const RETRY: Backoff = Backoff {
        first: Duration::from_millis(500),
        factor: 2.0,
        cap: Duration::from_secs(8),
    };
    /// Between polls of something the service is working on: a run, an upload.
    pub const POLL: Backoff = Backoff {
        first: Duration::from_millis(250),
        factor: 1.5,
        cap: Duration::from_secs(5),
    };

    /// The wait before attempt `attempt + 1` (`attempt` counts from 0).
    pub fn delay(&self, attempt: u32) -> Duration {
        let grown = self.first.as_secs_f64() * self.factor.powi(attempt.min(64) as i32);
        // `min` also turns an infinite growth into the cap.
        Duration::from_secs_f64(grown.min(self.cap.as_secs_f64()))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts after the first, for failures other than a rate limit.
    pub max_retries: u32,
    /// How long one request waits in all for 429s that name their wait: a limited service is
    /// waited for as long as it paces, not given up on after a count, since a request may
    /// be refused many times while the others of a large apply take their turns.
    pub max_rate_limited_wait: Duration,
    pub backoff: Backoff,
    /// The longest server-requested wait evalctl honours.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            max_rate_limited_wait: Duration::from_secs(15 * 60),
            backoff: Backoff::RETRY,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Whether sending a request twice is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Reads, updates, deletes: retried on every failure that can pass.
    Safe,
    /// Creates: retried only when the service cannot have acted on the request (a 429, a
    /// refused connection). Other failures are returned to the caller, which looks the
    /// object up before trying again, so a lost response never leaves a duplicate.
    CreatesObject,
}

/// What a failed attempt looked like, as far as the retry decision goes.
#[derive(Debug, Clone, Default)]
pub struct Failure<'a> {
    /// `None` for transport failures (connect errors, timeouts, dropped connections).
    pub status: Option<u16>,
    /// For transport failures: the connection was never made, so nothing was sent.
    pub not_sent: bool,
    pub retry_after_ms: Option<&'a str>,
    pub retry_after: Option<&'a str>,
    pub should_retry: Option<&'a str>,
    /// The service's error code, e.g. `insufficient_quota`.
    pub code: Option<&'a str>,
}

/// Whether the failure is worth another attempt.
pub fn is_retryable(failure: &Failure<'_>, repeat: Repeat) -> bool {
    if failure.should_retry == Some("false") {
        return false;
    }
    if repeat == Repeat::CreatesObject {
        let rate_limited =
            failure.status == Some(429) && failure.code != Some("insufficient_quota");
        return rate_limited || (failure.status.is_none() && failure.not_sent);
    }
    match failure.status {
        None => true,
        Some(429) => failure.code != Some("insufficient_quota"),
        Some(408 | 409) => true,
        Some(status) => status >= 500,
    }
}

/// How long to wait before attempt `attempt + 1` (`attempt` counts from 0). `jitter` is a
/// number in [0, 1) supplied by the caller, so tests are deterministic.
pub fn delay(policy: &RetryPolicy, attempt: u32, failure: &Failure<'_>, jitter: f64) -> Duration {
    if let Some(requested) = requested_delay(failure) {
        return requested.min(policy.max_retry_after);
    }
    // Jitter spreads the retries of many concurrent requests (AWS architecture blog).
    policy.backoff.delay(attempt).mul_f64(0.5 + jitter / 2.0)
}

pub(crate) fn requested_delay(failure: &Failure<'_>) -> Option<Duration> {
    if let Some(ms) = failure
        .retry_after_ms
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0));
    }
    let value = failure.retry_after?.trim();
    match value.parse::<f64>() {
        Ok(seconds) => {
            (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
        }
        // RFC 9110 also allows an HTTP-date; one already past means "now".
        Err(_) => httpdate::parse_http_date(value).ok().map(|at| {
            at.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Failure<'static> {
        Failure {
            status: Some(code),
            ..Failure::default()
        }
    }

    #[test]
    fn retries_what_can_pass_later_only() {
        for code in [408, 409, 429, 500, 502, 503, 504] {
            assert!(is_retryable(&status(code), Repeat::Safe), "{code}");
        }
        for code in [400, 401, 403, 404, 422] {
            assert!(!is_retryable(&status(code), Repeat::Safe), "{code}");
        }
        assert!(
            is_retryable(&Failure::default(), Repeat::Safe),
            "transport failures are retried"
        );
        let quota = Failure {
            code: Some("insufficient_quota"),
            ..status(429)
        };
        assert!(!is_retryable(&quota, Repeat::Safe));
        let told_not_to = Failure {
            should_retry: Some("false"),
            ..status(503)
        };
        assert!(!is_retryable(&told_not_to, Repeat::Safe));
    }

    #[test]
    fn creates_are_retried_only_when_nothing_can_have_happened() {
        assert!(is_retryable(&status(429), Repeat::CreatesObject));
        let refused = Failure {
            not_sent: true,
            ..Failure::default()
        };
        assert!(is_retryable(&refused, Repeat::CreatesObject));
        for failure in [status(500), status(503), status(408), Failure::default()] {
            assert!(
                !is_retryable(&failure, Repeat::CreatesObject),
                "{failure:?}"
            );
        }
    }

    #[test]
    fn honours_the_service_and_caps_it() {
        let policy = RetryPolicy::default();
        let ms = Failure {
            retry_after_ms: Some("250"),
            retry_after: Some("3"),
            ..status(429)
        };
        assert_eq!(delay(&policy, 0, &ms, 0.0), Duration::from_millis(250));
        let seconds = Failure {
            retry_after: Some("2"),
            ..status(429)
        };
        assert_eq!(delay(&policy, 0, &seconds, 0.9), Duration::from_secs(2));
        let huge = Failure {
            retry_after: Some("86400"),
            ..status(429)
        };
        assert_eq!(delay(&policy, 0, &huge, 0.0), policy.max_retry_after);
    }

    #[test]
    fn honours_an_http_date() {
        let policy = RetryPolicy::default();
        let in_20s = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(20));
        let soon = Failure {
            retry_after: Some(&in_20s),
            ..status(503)
        };
        let waited = delay(&policy, 0, &soon, 0.0);
        assert!(
            waited > Duration::from_secs(17) && waited <= Duration::from_secs(20),
            "{waited:?}"
        );
        let past = Failure {
            retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT"),
            ..status(503)
        };
        assert_eq!(delay(&policy, 0, &past, 0.9), Duration::ZERO);
        let far = Failure {
            retry_after: Some("Fri, 31 Dec 9999 23:59:59 GMT"),
            ..status(503)
        };
        assert_eq!(delay(&policy, 0, &far, 0.0), policy.max_retry_after);
        let garbage = Failure {
            retry_after: Some("soon"),
            ..status(503)
        };
        assert_eq!(delay(&policy, 0, &garbage, 1.0), Duration::from_millis(500));
    }

    #[test]
    fn waits_grow_by_their_factor_up_to_the_cap() {
        let poll = Backoff::POLL;
        assert_eq!(poll.delay(0), Duration::from_millis(250));
        assert_eq!(poll.delay(1), Duration::from_millis(375));
        assert_eq!(poll.delay(30), Duration::from_secs(5));
        assert_eq!(poll.delay(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn backs_off_exponentially_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let plain = status(503);
        assert_eq!(delay(&policy, 0, &plain, 1.0), Duration::from_millis(500));
        assert_eq!(delay(&policy, 2, &plain, 1.0), Duration::from_secs(2));
        assert_eq!(delay(&policy, 10, &plain, 1.0), Duration::from_secs(8));
        assert_eq!(delay(&policy, 10, &plain, 0.0), Duration::from_secs(4));
    }
}
