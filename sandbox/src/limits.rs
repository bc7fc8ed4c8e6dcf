//! Rate limits as token buckets on real time: per token (150/s), per organisation (200/s) and per
//! endpoint (its documented rate, per organisation). A bucket holds one window's requests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use samsara_fmc::endpoints::{Rate, ORG_RATE, TOKEN_RATE};

use crate::simtime::real_now;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// All buckets.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

fn capacity(rate: Rate) -> f64 {
    f64::from(rate.requests)
}

impl Limiter {
    /// Takes one request from each applicable bucket, or returns the seconds until all allow one.
    pub(crate) fn take(
        &self,
        token_label: &str,
        endpoint: &str,
        endpoint_rate: Option<Rate>,
    ) -> Result<(), f64> {
        let mut keys: Vec<(String, Rate)> = vec![
            (format!("token:{token_label}"), TOKEN_RATE),
            ("org".to_string(), ORG_RATE),
        ];
        if let Some(r) = endpoint_rate {
            keys.push((format!("endpoint:{endpoint}"), r));
        }
        self.take_all(&keys)
    }

    /// Takes one request from each of the named buckets (all or none), or returns the seconds until
    /// all allow one.
    pub(crate) fn take_all(&self, keys: &[(String, Rate)]) -> Result<(), f64> {
        let now = real_now();
        let Ok(mut map) = self.buckets.lock() else {
            return Ok(());
        };
        let mut wait: f64 = 0.0;
        let mut refreshed = Vec::with_capacity(keys.len());
        for (k, rate) in keys {
            let b = map.get(k).copied().unwrap_or(Bucket {
                tokens: capacity(*rate),
                at: now,
            });
            let per_s = rate.per_second_f64();
            let tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * per_s).min(capacity(*rate));
            if tokens < 1.0 {
                wait = wait.max((1.0 - tokens) / per_s);
            }
            refreshed.push((k.clone(), tokens));
        }
        if wait > 0.0 {
            return Err(wait);
        }
        for (k, tokens) in refreshed {
            map.insert(
                k,
                Bucket {
                    tokens: tokens - 1.0,
                    at: now,
                },
            );
        }
        Ok(())
    }
}
