//! The simulated clock and RFC 3339 formatting: the one module of the sandbox that reads real time.
//!
//! Simulated time is `start + advanced + scale × real elapsed`. With `--time-scale 0` it moves only
//! through `POST /__sandbox/clock/advance`.

// The physical model mixes f64 and i64 at magnitudes far below 2^52 (metres, seconds, milli-units),
// and short names (t, v, k, d) follow the maths; casts and names are deliberate here.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::similar_names,
    clippy::many_single_char_names
)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Real monotonic now (rate limits and slow-response faults run on real time).
#[allow(clippy::disallowed_methods)]
pub(crate) fn real_now() -> Instant {
    Instant::now()
}

/// Blocks the calling thread (slow-response faults).
#[allow(clippy::disallowed_methods)]
pub(crate) fn real_sleep(d: Duration) {
    std::thread::sleep(d);
}

/// The simulated clock, in milliseconds since the Unix epoch.
#[derive(Debug)]
pub(crate) struct SimClock {
    scale: f64,
    state: Mutex<(i64, Instant)>,
}

impl SimClock {
    /// A clock that reads `start_ms` now and then moves at `scale` × real time.
    pub(crate) fn new(start_ms: i64, scale: f64) -> Self {
        Self {
            scale,
            state: Mutex::new((start_ms, real_now())),
        }
    }

    /// Simulated now in milliseconds.
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn now_ms(&self) -> i64 {
        let st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.scale == 0.0 {
            return st.0;
        }
        st.0 + (st.1.elapsed().as_secs_f64() * self.scale * 1000.0) as i64
    }

    /// Simulated now in whole seconds.
    pub(crate) fn now_s(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves simulated time forward by `ms`.
    pub(crate) fn advance_ms(&self, ms: i64) {
        let now = self.now_ms();
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *st = (now + ms, real_now());
    }
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
const fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn push2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + u8::try_from(v / 10 % 10).unwrap_or(0));
    out.push(b'0' + u8::try_from(v % 10).unwrap_or(0));
}

/// Appends `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds `t`.
pub(crate) fn write_rfc3339(out: &mut Vec<u8>, t: i64) {
    let (y, m, d) = civil(t.div_euclid(86_400));
    let sod = u32::try_from(t.rem_euclid(86_400)).unwrap_or(0);
    let y = u32::try_from(y.clamp(0, 9999)).unwrap_or(0);
    push2(out, y / 100);
    push2(out, y % 100);
    out.push(b'-');
    push2(out, m);
    out.push(b'-');
    push2(out, d);
    out.push(b'T');
    push2(out, sod / 3600);
    out.push(b':');
    push2(out, sod / 60 % 60);
    out.push(b':');
    push2(out, sod % 60);
    out.push(b'Z');
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds `t`.
pub(crate) fn rfc3339(t: i64) -> String {
    let mut v = Vec::with_capacity(20);
    write_rfc3339(&mut v, t);
    String::from_utf8(v).unwrap_or_default()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for Unix milliseconds.
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    let mut s = rfc3339(ms.div_euclid(1000));
    s.pop();
    format!("{s}.{:03}Z", ms.rem_euclid(1000))
}

/// Parses an RFC 3339 timestamp (any offset, optional fraction) to Unix milliseconds.
pub(crate) fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_793_491_200), "2026-11-01T00:00:00Z");
        assert_eq!(parse_rfc3339_ms("2026-11-01T00:00:00Z"), Some(1_793_491_200_000));
        assert_eq!(
            parse_rfc3339_ms("2026-10-31T20:00:00-04:00"),
            Some(1_793_491_200_000)
        );
        assert_eq!(rfc3339_ms(1_793_491_200_123), "2026-11-01T00:00:00.123Z");
    }
}
