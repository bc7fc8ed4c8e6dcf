//! Fault injection: scripted or seeded-random rules per endpoint, set through `/__sandbox/faults`.

use std::sync::Mutex;

use serde::Deserialize;

use crate::rng::Rng;

/// What a rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    /// Answer with `status` (429 carries `Retry-After`).
    Status,
    /// Delay the answer by `delayMs`.
    Slow,
    /// Reset the connection half-way through the body.
    Reset,
    /// Send half the JSON body.
    Truncate,
    /// An empty page with `hasNextPage: true` and the same cursor.
    EmptyPage,
    /// Start the page a little before the cursor, repeating records.
    RepeatRecords,
    /// Revoke the request's token (or `token`) from now (or from `at`, simulated time) on.
    RevokeToken,
    /// Reject the request's `after` cursor as expired (400).
    ExpireCursor,
}

/// One rule.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Rule {
    /// Method to match (any when absent).
    pub(crate) method: Option<String>,
    /// Exact path or endpoint template (any when absent).
    pub(crate) path: Option<String>,
    /// What to do.
    pub(crate) kind: Kind,
    /// For `status`.
    pub(crate) status: Option<u16>,
    /// For `status` 429: the `Retry-After` value.
    pub(crate) retry_after: Option<String>,
    /// For `slow`.
    pub(crate) delay_ms: Option<u64>,
    /// How many times it fires (default 1; unlimited for probabilistic rules without `times`).
    pub(crate) times: Option<u32>,
    /// Fire with this probability (seeded).
    pub(crate) probability: Option<f64>,
    /// For `revoke_token`: the token to revoke (default: the request's).
    pub(crate) token: Option<String>,
    /// For `revoke_token`: simulated time from which it applies (RFC 3339).
    pub(crate) at: Option<String>,
}

/// The active rules.
#[derive(Debug)]
pub(crate) struct Faults {
    rules: Mutex<(Vec<Rule>, Rng)>,
}

impl Faults {
    /// No rules; `seed` drives probabilistic rules.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rules: Mutex::new((Vec::new(), Rng::new(seed, 99))),
        }
    }

    /// Appends rules.
    pub(crate) fn add(&self, rules: Vec<Rule>) {
        if let Ok(mut g) = self.rules.lock() {
            g.0.extend(rules);
        }
    }

    /// The active rules (with their remaining `times`).
    pub(crate) fn list(&self) -> Vec<Rule> {
        self.rules.lock().map(|g| g.0.clone()).unwrap_or_default()
    }

    /// Removes all rules.
    pub(crate) fn clear(&self) {
        if let Ok(mut g) = self.rules.lock() {
            g.0.clear();
        }
    }

    /// The first rule that matches and fires, consuming one of its `times`. `ready` decides time-gated
    /// rules (`revoke_token` with `at`).
    pub(crate) fn fire(
        &self,
        method: &str,
        path: &str,
        template: &str,
        ready: impl Fn(&Rule) -> bool,
    ) -> Option<Rule> {
        let mut g = self.rules.lock().ok()?;
        let (rules, rng) = &mut *g;
        let idx = rules.iter().position(|r| {
            r.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
                && r.path
                    .as_deref()
                    .is_none_or(|p| p == "*" || p.trim_end_matches('/') == path || p == template)
                && r.times != Some(0)
                && ready(r)
        })?;
        if let Some(p) = rules[idx].probability {
            if !rng.chance(p) {
                return None;
            }
        }
        let r = rules[idx].clone();
        if let Some(t) = rules[idx].times.as_mut() {
            *t -= 1;
        } else if r.probability.is_none() {
            rules[idx].times = Some(0);
        }
        if rules[idx].times == Some(0) {
            rules.remove(idx);
        }
        Some(r)
    }
}
