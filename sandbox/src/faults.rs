//! Fault injection: scripted or seeded-random rules per endpoint, set through `/__sandbox/faults`.
//! The same rules serve the Samsara routes and the FMC endpoint (`/fmc/v1/`, explicit paths only).

use std::sync::Mutex;

use serde::Deserialize;

use crate::http::Response;
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
    /// Let the request take effect, then answer `status` (default 500) instead of its answer.
    FailAfterCommit,
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
                && r.path.as_deref().is_none_or(|p| path_matches(p, path, template))
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

/// Whether a rule's `path` matches: `*`, the exact path, the endpoint template, or a prefix ending
/// in `/*` (`/fmc/v1/*` is every FMC route).
fn path_matches(pattern: &str, path: &str, template: &str) -> bool {
    pattern == "*"
        || pattern.trim_end_matches('/') == path
        || pattern == template
        || pattern
            .strip_suffix("/*")
            .and_then(|prefix| path.strip_prefix(prefix))
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The answer of a `status` (or `fail_after_commit`) rule: 429 carries `Retry-After`.
pub(crate) fn injected(rule: &Rule) -> Response {
    let status = rule.status.unwrap_or(500);
    let r = Response::error(status, &format!("injected fault: HTTP {status}"));
    if status == 429 {
        r.with_header("Retry-After", rule.retry_after.as_deref().unwrap_or("0.40235"))
    } else {
        r
    }
}

/// How an endpoint applies the page faults (`empty_page`, `repeat_records`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paging {
    /// A finite list with offset cursors: the router answers an empty page itself, the handler
    /// repeats records.
    List,
    /// A stream, feed, history or paged snapshot: the handler applies both.
    Handler,
}

/// The paging of a Samsara endpoint (method and template), or `None` when it does not page.
/// `has_cursor` tells whether the request carries `after`: a stats or locations feed without it
/// answers the latest values, which no page fault can apply to, so the rule waits for the next page.
pub(crate) fn paging(method: &str, template: &str, has_cursor: bool) -> Option<Paging> {
    if method != "GET" {
        return None;
    }
    match template {
        "/fleet/vehicles"
        | "/fleet/drivers"
        | "/tags"
        | "/defect-types"
        | "/fleet/driver-vehicle-assignments"
        | "/fleet/drivers/vehicle-assignments"
        | "/fleet/vehicles/driver-assignments"
        | "/fleet/safety-events"
        | "/safety-events"
        | "/fleet/defects/history"
        | "/fleet/reports/vehicle/idling" => Some(Paging::List),
        "/fleet/vehicles/stats/feed" | "/fleet/vehicles/locations/feed" if !has_cursor => None,
        "/fleet/vehicles/stats"
        | "/fleet/vehicles/locations"
        | "/fleet/vehicles/stats/feed"
        | "/fleet/vehicles/locations/feed"
        | "/fleet/vehicles/stats/history"
        | "/fleet/vehicles/locations/history"
        | "/defects/stream"
        | "/dvirs/stream"
        | "/trips/stream"
        | "/safety-events/stream"
        | "/speeding-intervals/stream"
        | "/idling/events"
        | "/form-submissions/stream"
        | "/issues/stream"
        | "/readings/history" => Some(Paging::Handler),
        _ => None,
    }
}

/// Whether a page fault can apply to this request: `empty_page` to any paged read, `repeat_records`
/// only to one that continues from a cursor (a first page has nothing to repeat).
pub(crate) fn page_fault_ready(kind: Kind, method: &str, template: &str, has_cursor: bool) -> bool {
    paging(method, template, has_cursor).is_some() && (kind != Kind::RepeatRecords || has_cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_patterns_match_whole_segments() {
        assert!(path_matches(
            "/fmc/v1/*",
            "/fmc/v1/streams/a/records",
            "/fmc/v1/streams/{stream}/records"
        ));
        assert!(!path_matches("/fmc/v1/*", "/fmc/v10/x", "/fmc/v10/x"));
        assert!(!path_matches("/fmc/v1/*", "/fmc/v1", "/fmc/v1"));
        assert!(path_matches(
            "/fleet/vehicles/{id}",
            "/fleet/vehicles/12",
            "/fleet/vehicles/{id}"
        ));
    }

    #[test]
    fn feeds_take_page_faults_only_with_a_cursor() {
        assert_eq!(paging("GET", "/fleet/vehicles/stats/feed", false), None);
        assert_eq!(
            paging("GET", "/fleet/vehicles/stats/feed", true),
            Some(Paging::Handler)
        );
        assert_eq!(paging("GET", "/fleet/vehicles/{id}", false), None);
        assert_eq!(paging("POST", "/fleet/drivers", false), None);
        assert!(page_fault_ready(Kind::EmptyPage, "GET", "/trips/stream", false));
        assert!(!page_fault_ready(
            Kind::RepeatRecords,
            "GET",
            "/trips/stream",
            false
        ));
        assert!(page_fault_ready(
            Kind::RepeatRecords,
            "GET",
            "/trips/stream",
            true
        ));
    }
}
