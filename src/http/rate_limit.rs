//! Client-side pacing, so a healthy run stays under Samsara's limits instead of bouncing off 429s.
//!
//! Two token buckets gate every request: one for the token's global limit (150/s for Samsara, 25/s
//! for an FMC endpoint; see [`Profile`](super::Profile)) and one per Samsara endpoint with a
//! documented limit (5/s, 10/s, 25/s, 100/min; they apply per endpoint, so two 5/s
//! endpoints may each run at 5/s). The client's buckets refill at 90 % of the documented rate and
//! hold half a window's burst, so they admit a subset of what a server bucket of the documented size
//! admits, even when requests arrive a little bunched.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::endpoints::{Endpoint, Rate, TOKEN_RATE};

/// The share of a documented rate the client uses.
const RATE_MARGIN: f64 = 0.9;

#[derive(Debug, Clone)]
struct Bucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl Bucket {
    fn for_rate(rate: Rate) -> Self {
        let per_second = rate.per_second_f64() * RATE_MARGIN;
        let capacity = (f64::from(rate.requests) / 2.0).floor().max(1.0);
        Self {
            capacity,
            per_second,
            tokens: capacity,
            last: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        if let Some(last) = self.last {
            let gained = now.saturating_duration_since(last).as_secs_f64() * self.per_second;
            self.tokens = (self.tokens + gained).min(self.capacity);
        }
        self.last = Some(now);
    }

    /// How long until one token is available.
    fn wait(&self) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / self.per_second)
        }
    }
}

/// The limiter shared by every request of one client (one token).
#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    token: Bucket,
    endpoints: HashMap<&'static str, Bucket>,
}

/// Waiting for a slot would overrun the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WouldOverrun {
    /// How long the wait would have been.
    pub wait: Duration,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(TOKEN_RATE)
    }
}

impl RateLimiter {
    /// A limiter with full buckets, every request sharing `client_rate`.
    pub fn new(client_rate: Rate) -> Self {
        Self {
            state: Mutex::new(State {
                token: Bucket::for_rate(client_rate),
                endpoints: HashMap::new(),
            }),
        }
    }

    /// Blocks until a request to `endpoint` may go out, and takes its slot. Returns the time waited.
    ///
    /// Fails without waiting when the wait would pass `deadline`.
    pub fn acquire(
        &self,
        clock: &dyn Clock,
        endpoint: Option<&'static Endpoint>,
        deadline: Option<Instant>,
    ) -> Result<Duration, WouldOverrun> {
        let mut waited = Duration::ZERO;
        loop {
            let now = clock.now();
            let wait = {
                let mut state = self
                    .state
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let State { token, endpoints } = &mut *state;
                token.refill(now);
                let mut wait = token.wait();
                let ep_bucket = endpoint
                    .and_then(|e| e.rate.map(|r| (e.path, r)))
                    .map(|(path, rate)| endpoints.entry(path).or_insert_with(|| Bucket::for_rate(rate)));
                if let Some(b) = ep_bucket {
                    b.refill(now);
                    wait = wait.max(b.wait());
                    if wait.is_zero() {
                        b.tokens -= 1.0;
                    }
                }
                if wait.is_zero() {
                    token.tokens -= 1.0;
                    return Ok(waited);
                }
                wait
            };
            if deadline.is_some_and(|d| now + wait > d) {
                return Err(WouldOverrun { wait });
            }
            clock.sleep(wait);
            waited += wait;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::endpoints::lookup;

    #[test]
    fn five_per_second_endpoint_is_paced_below_the_limit() {
        let clock = FakeClock::new(0.0);
        let limiter = RateLimiter::default();
        let ep = lookup("GET", "/defects/stream");
        let start = clock.now();
        let mut sent = Vec::new();
        for _ in 0..50 {
            limiter.acquire(&clock, ep, None).unwrap();
            sent.push(clock.now() - start);
        }
        // A server bucket of 5 per second (capacity 5) would admit every one of these.
        let mut server = Bucket::for_rate(Rate::per_second(5));
        server.per_second = 5.0;
        server.capacity = 5.0;
        server.tokens = 5.0;
        for at in &sent {
            server.refill(start + *at);
            assert!(server.tokens >= 1.0, "request at {at:?} would get a 429");
            server.tokens -= 1.0;
        }
        let rate = 40.0 / sent[49].saturating_sub(sent[9]).as_secs_f64();
        assert!((rate - 4.5).abs() < 1e-6, "steady rate {rate}");
    }

    #[test]
    fn unlimited_endpoints_only_pay_the_token_bucket() {
        let clock = FakeClock::new(0.0);
        let limiter = RateLimiter::default();
        let ep = lookup("GET", "/fleet/vehicles/stats/feed");
        for _ in 0..75 {
            assert_eq!(limiter.acquire(&clock, ep, None).unwrap(), Duration::ZERO);
        }
        assert!(limiter.acquire(&clock, ep, None).unwrap() > Duration::ZERO);
    }

    #[test]
    fn an_fmc_client_is_paced_below_the_contracts_25_per_second() {
        let clock = FakeClock::new(0.0);
        let limiter = RateLimiter::new(crate::http::profile::FMC_RATE);
        let start = clock.now();
        let mut sent = Vec::new();
        for _ in 0..200 {
            limiter.acquire(&clock, None, None).unwrap();
            sent.push(clock.now() - start);
        }
        // The contract's bucket: 25 per second, holding one second's requests.
        let mut server = Bucket::for_rate(crate::http::profile::FMC_RATE);
        server.per_second = 25.0;
        server.capacity = 25.0;
        server.tokens = 25.0;
        for at in &sent {
            server.refill(start + *at);
            assert!(server.tokens >= 1.0, "request at {at:?} would get a 429");
            server.tokens -= 1.0;
        }
        let rate = 100.0 / sent[199].saturating_sub(sent[99]).as_secs_f64();
        assert!((rate - 22.5).abs() < 1e-6, "steady rate {rate}");
    }

    #[test]
    fn a_wait_past_the_deadline_fails_without_sleeping() {
        let clock = FakeClock::new(0.0);
        let limiter = RateLimiter::default();
        let ep = lookup("POST", "/issues"); // 100 per minute: burst 50
        let deadline = clock.now() + Duration::from_millis(100);
        for _ in 0..50 {
            limiter.acquire(&clock, ep, Some(deadline)).unwrap();
        }
        let err = limiter.acquire(&clock, ep, Some(deadline)).unwrap_err();
        assert!(err.wait > Duration::from_millis(100));
        assert!(clock.sleeps().is_empty());
    }
}
