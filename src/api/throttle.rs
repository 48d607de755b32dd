//! How many requests are in flight at once, adapted to the service's rate limit: up to
//! `--parallelism`, halved when the service answers 429 (once per episode: the answers to
//! requests already on their way are the same signal), grown by one after a window's worth
//! of successes (additive increase, multiplicative decrease, as TCP does). A 429's
//! `retry-after-ms` / `Retry-After` pauses every request of the client until then, not just
//! the one that was refused, so a limited service is not sent requests it will refuse.

use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{AcquireError, Semaphore, SemaphorePermit};
use tokio::time::Instant;

pub(crate) struct Throttle {
    permits: Semaphore,
    /// `--parallelism`: the window never grows past it.
    max: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests allowed in flight now.
    window: usize,
    /// Permits to take out of circulation as requests in flight finish (a shrink larger than
    /// the permits free at the time).
    debt: usize,
    /// Successes since the window last grew.
    successes: usize,
    /// No request is sent before this.
    paused_until: Option<Instant>,
}

/// A slot to send one request in; given back (or retired, after a shrink) when dropped.
pub(crate) struct Slot<'a> {
    permit: Option<SemaphorePermit<'a>>,
    throttle: &'a Throttle,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = self.throttle.state.lock();
        if state.debt > 0 {
            state.debt -= 1;
            if let Some(permit) = self.permit.take() {
                permit.forget();
            }
        }
    }
}

impl Throttle {
    pub(crate) fn new(parallelism: usize) -> Throttle {
        let max = parallelism.max(1);
        Throttle {
            permits: Semaphore::new(max),
            max,
            state: Mutex::new(State {
                window: max,
                debt: 0,
                successes: 0,
                paused_until: None,
            }),
        }
    }

    /// Waits for a slot, and for any pause the service asked for.
    pub(crate) async fn slot(&self) -> Result<Slot<'_>, AcquireError> {
        self.pause().await;
        let permit = self.permits.acquire().await?;
        // A pause may have begun while this request was queued.
        self.pause().await;
        Ok(Slot {
            permit: Some(permit),
            throttle: self,
        })
    }

    async fn pause(&self) {
        loop {
            let until = self.state.lock().paused_until;
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => return,
            }
        }
    }

    /// The service refused a request for its rate: every request waits `wait`, and the
    /// window halves unless this is an answer to a request sent before the last pause began.
    pub(crate) fn rate_limited(&self, wait: Duration) {
        let now = Instant::now();
        let mut state = self.state.lock();
        let episode_goes_on = state.paused_until.is_some_and(|until| until > now);
        let until = now + wait;
        state.paused_until = Some(state.paused_until.map_or(until, |t| t.max(until)));
        if episode_goes_on {
            return;
        }
        let smaller = (state.window / 2).max(1);
        let cut = state.window - smaller;
        state.window = smaller;
        state.successes = 0;
        state.debt += cut;
        let retired = self.permits.forget_permits(state.debt);
        state.debt -= retired;
    }

    /// A request succeeded: after a window's worth of them, one more may be in flight.
    pub(crate) fn succeeded(&self) {
        let mut state = self.state.lock();
        if state.window >= self.max {
            return;
        }
        state.successes += 1;
        if state.successes < state.window {
            return;
        }
        state.successes = 0;
        state.window += 1;
        if state.debt > 0 {
            state.debt -= 1;
        } else {
            self.permits.add_permits(1);
        }
    }

    #[cfg(test)]
    fn window(&self) -> usize {
        self.state.lock().window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_window_halves_once_per_episode_and_grows_back_by_one() {
        let throttle = Throttle::new(8);
        let held: Vec<Slot> = futures_util::future::join_all((0..8).map(|_| throttle.slot()))
            .await
            .into_iter()
            .map(|slot| slot.unwrap_or_else(|e| panic!("{e}")))
            .collect();
        throttle.rate_limited(Duration::from_millis(30));
        // The other answers of the same burst: no further halving.
        throttle.rate_limited(Duration::from_millis(30));
        assert_eq!(throttle.window(), 4);
        drop(held);
        assert_eq!(throttle.permits.available_permits(), 4, "four retired");
        let start = Instant::now();
        let slot = throttle.slot().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            Instant::now() - start >= Duration::from_millis(30),
            "paused"
        );
        drop(slot);
        for _ in 0..4 {
            throttle.succeeded();
        }
        assert_eq!(throttle.window(), 5);
        assert_eq!(throttle.permits.available_permits(), 5);
        // The pause is over: a new episode halves again, never below one.
        for _ in 0..5 {
            throttle.rate_limited(Duration::ZERO);
        }
        assert_eq!(throttle.window(), 1);
        assert_eq!(throttle.permits.available_permits(), 1);
    }
}
