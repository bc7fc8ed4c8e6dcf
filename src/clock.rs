//! Time as a dependency: the only module that reads the system clock or sleeps.
//!
//! The client reads time and waits through a [`Clock`], so retry backoff, rate-limit pacing and
//! deadlines run on a [`FakeClock`] in tests and take no real time.

use std::fmt::Debug;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of monotonic and wall time that can also wait.
pub trait Clock: Send + Sync + Debug {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Seconds since the Unix epoch, for deadlines handed over from Python.
    fn unix_now(&self) -> f64;
    /// Blocks the calling thread for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Instant {
        Instant::now()
    }

    #[allow(clippy::disallowed_methods)]
    fn unix_now(&self) -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }

    #[allow(clippy::disallowed_methods)]
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A clock that only moves when slept on or advanced, and records every sleep. A test helper: not
/// in the wheel (feature `testing`, which only tests turn on).
#[cfg(any(test, feature = "testing"))]
#[derive(Debug)]
pub struct FakeClock {
    origin: Instant,
    unix_origin: f64,
    state: std::sync::Mutex<FakeState>,
}

#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
struct FakeState {
    elapsed: Duration,
    sleeps: Vec<Duration>,
}

#[cfg(any(test, feature = "testing"))]
impl FakeClock {
    /// A fake clock whose wall time starts at `unix_origin` seconds.
    #[allow(clippy::disallowed_methods)]
    pub fn new(unix_origin: f64) -> Self {
        Self {
            origin: Instant::now(),
            unix_origin,
            state: std::sync::Mutex::new(FakeState::default()),
        }
    }

    /// Moves time forward without recording a sleep.
    pub fn advance(&self, by: Duration) {
        self.lock().elapsed += by;
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    /// Time elapsed since the clock was made.
    pub fn elapsed(&self) -> Duration {
        self.lock().elapsed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        // A poisoned fake clock only happens after a panicking test; its state is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(any(test, feature = "testing"))]
impl Clock for FakeClock {
    fn now(&self) -> Instant {
        self.origin + self.lock().elapsed
    }

    fn unix_now(&self) -> f64 {
        self.unix_origin + self.lock().elapsed.as_secs_f64()
    }

    fn sleep(&self, duration: Duration) {
        let mut state = self.lock();
        state.elapsed += duration;
        state.sleeps.push(duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_moves_only_when_told() {
        let clock = FakeClock::new(1_000.0);
        let t0 = clock.now();
        clock.sleep(Duration::from_millis(400));
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now() - t0, Duration::from_millis(1_400));
        assert!((clock.unix_now() - 1_001.4).abs() < 1e-9);
        assert_eq!(clock.sleeps(), vec![Duration::from_millis(400)]);
    }
}
