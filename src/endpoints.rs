//! The catalogue of Samsara endpoints this project speaks: method, path template, the token scope a
//! request needs, and the documented rate limit.
//!
//! One table serves both sides: the client's limiter paces requests by it and names the missing scope in
//! a 403, and the sandbox enforces the same limits and scopes. The values come from
//! `shared/samsara-api.md` §1.8 (itself from the vendor's per-endpoint docstrings and
//! `docs:/docs/rate-limits`).

use std::time::Duration;

/// A documented request rate: `requests` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// How many requests the window allows.
    pub requests: u32,
    /// The window.
    pub per: Duration,
}

impl Rate {
    /// `n` requests per second.
    pub const fn per_second(n: u32) -> Self {
        Self {
            requests: n,
            per: Duration::from_secs(1),
        }
    }

    /// `n` requests per minute.
    pub const fn per_minute(n: u32) -> Self {
        Self {
            requests: n,
            per: Duration::from_secs(60),
        }
    }

    /// Steady-state requests per second.
    pub fn per_second_f64(self) -> f64 {
        f64::from(self.requests) / self.per.as_secs_f64()
    }
}

/// Samsara's global limit for one API token, over all endpoints.
pub const TOKEN_RATE: Rate = Rate::per_second(150);
/// Samsara's global limit for one organisation, over all its tokens.
pub const ORG_RATE: Rate = Rate::per_second(200);

/// "Level One": 100 requests per minute (most writes).
const L1: Option<Rate> = Some(Rate::per_minute(100));
/// "Level Two": 5 requests per second (streams).
const L2: Option<Rate> = Some(Rate::per_second(5));
/// "Level Three": 10 requests per second.
const L3: Option<Rate> = Some(Rate::per_second(10));
/// "(Legacy) Tier 1": 25 requests per second.
const T1: Option<Rate> = Some(Rate::per_second(25));

/// One endpoint of the Samsara API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template; `{name}` matches one path segment.
    pub path: &'static str,
    /// The token scope, as the Samsara dashboard names it.
    pub scope: &'static str,
    /// The endpoint-specific limit, per organisation; `None` when only the global limits apply.
    pub rate: Option<Rate>,
}

const fn ep(method: &'static str, path: &'static str, scope: &'static str, rate: Option<Rate>) -> Endpoint {
    Endpoint {
        method,
        path,
        scope,
        rate,
    }
}

/// Every endpoint in `shared/samsara-api.md` §3, in its order.
pub const ENDPOINTS: &[Endpoint] = &[
    ep("GET", "/fleet/vehicles", "Read Vehicles", T1),
    ep("GET", "/fleet/vehicles/{id}", "Read Vehicles", None),
    ep("PATCH", "/fleet/vehicles/{id}", "Write Vehicles", None),
    ep("GET", "/fleet/vehicles/stats", "Read Vehicle Statistics", None),
    ep(
        "GET",
        "/fleet/vehicles/stats/feed",
        "Read Vehicle Statistics",
        None,
    ),
    ep(
        "GET",
        "/fleet/vehicles/stats/history",
        "Read Vehicle Statistics",
        None,
    ),
    ep(
        "GET",
        "/fleet/vehicles/locations",
        "Read Vehicle Statistics",
        None,
    ),
    ep(
        "GET",
        "/fleet/vehicles/locations/feed",
        "Read Vehicle Statistics",
        None,
    ),
    ep(
        "GET",
        "/fleet/vehicles/locations/history",
        "Read Vehicle Statistics",
        None,
    ),
    ep("GET", "/defects/stream", "Read Defects", L2),
    ep("GET", "/defects/{id}", "Read Defects", L3),
    ep("GET", "/defect-types", "Read Defect Types", L2),
    ep("PATCH", "/fleet/defects/{id}", "Write Defects", None),
    ep("GET", "/fleet/defects/history", "Read Defects", None),
    ep("GET", "/dvirs/stream", "Read DVIRs", L2),
    ep("GET", "/fleet/safety-events", "Read Safety Events & Scores", None),
    ep("GET", "/safety-events/stream", "Read Safety Events & Scores", L2),
    ep("GET", "/safety-events", "Read Safety Events & Scores", L2),
    ep("GET", "/speeding-intervals/stream", "Read Speeding Intervals", L2),
    ep("GET", "/fleet/drivers", "Read Drivers", None),
    ep("POST", "/fleet/drivers", "Write Drivers", None),
    ep("GET", "/fleet/drivers/{id}", "Read Drivers", None),
    ep("PATCH", "/fleet/drivers/{id}", "Write Drivers", None),
    ep("DELETE", "/fleet/drivers/{id}", "Write Drivers", None),
    ep("GET", "/tags", "Read Tags", None),
    ep("POST", "/tags", "Write Tags", None),
    ep("GET", "/tags/{id}", "Read Tags", None),
    ep("PATCH", "/tags/{id}", "Write Tags", None),
    ep("PUT", "/tags/{id}", "Write Tags", None),
    ep("DELETE", "/tags/{id}", "Write Tags", None),
    ep("GET", "/fleet/driver-vehicle-assignments", "Read Assignments", L2),
    ep(
        "POST",
        "/fleet/driver-vehicle-assignments",
        "Write Assignments",
        L1,
    ),
    ep(
        "PATCH",
        "/fleet/driver-vehicle-assignments",
        "Write Assignments",
        L1,
    ),
    ep(
        "DELETE",
        "/fleet/driver-vehicle-assignments",
        "Write Assignments",
        L1,
    ),
    ep(
        "GET",
        "/fleet/drivers/vehicle-assignments",
        "Read Assignments",
        T1,
    ),
    ep(
        "GET",
        "/fleet/vehicles/driver-assignments",
        "Read Assignments",
        L2,
    ),
    ep("GET", "/trips/stream", "Read Trips", L2),
    ep("GET", "/v1/fleet/trips", "Read Vehicle Trips", None),
    ep("GET", "/idling/events", "Read Idling", L2),
    ep("GET", "/fleet/reports/vehicle/idling", "Read Fuel & Energy", T1),
    ep("GET", "/fleet/reports/ifta/jurisdiction", "Read IFTA (US)", L2),
    ep("GET", "/fleet/reports/ifta/vehicle", "Read IFTA (US)", T1),
    ep("GET", "/form-submissions", "Read Form Submissions", L2),
    ep("GET", "/form-submissions/stream", "Read Form Submissions", L2),
    ep("POST", "/form-submissions", "Write Form Submissions", L1),
    ep("PATCH", "/form-submissions", "Write Form Submissions", L1),
    ep("GET", "/form-templates", "Read Form Submissions", L2),
    ep("GET", "/issues", "Read Issues", L2),
    ep("GET", "/issues/stream", "Read Issues", L2),
    ep("PATCH", "/issues", "Write Issues", L1),
    ep("POST", "/issues", "Write Issues", L1),
    ep("GET", "/cameras/media", "Read Media Retrieval", L2),
    ep("POST", "/cameras/media/retrieval", "Write Media Retrieval", L1),
    ep("GET", "/cameras/media/retrieval", "Read Media Retrieval", L2),
    ep("GET", "/v1/fleet/messages", "Read Messages", L1),
    ep("POST", "/v1/fleet/messages", "Write Messages", None),
    ep("GET", "/me", "Read Org Information", None),
    ep("GET", "/readings/latest", "Read Readings", L3),
    ep("GET", "/readings/history", "Read Readings", L3),
    ep("GET", "/readings/definitions", "Read Readings", L3),
];

/// The catalogue entry for `method` and a concrete `path` (no query string).
///
/// Literal segments beat `{placeholders}`, so `/fleet/vehicles/stats` is the stats endpoint and not
/// vehicle `stats`.
pub fn lookup(method: &str, path: &str) -> Option<&'static Endpoint> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    ENDPOINTS
        .iter()
        .filter(|e| e.method.eq_ignore_ascii_case(method))
        .filter_map(|e| template_score(e.path, &segments).map(|score| (score, e)))
        .max_by_key(|(score, _)| *score)
        .map(|(_, e)| e)
}

/// How many literal segments of `template` match `segments`, or `None` when it does not match.
fn template_score(template: &str, segments: &[&str]) -> Option<usize> {
    let parts: Vec<&str> = template.split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut literal = 0;
    for (part, seg) in parts.iter().zip(segments) {
        if part.starts_with('{') {
            if seg.is_empty() {
                return None;
            }
        } else if part == seg {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_win_over_placeholders() {
        let cases = [
            ("GET", "/fleet/vehicles/stats/feed", "/fleet/vehicles/stats/feed"),
            ("GET", "/fleet/vehicles/stats", "/fleet/vehicles/stats"),
            ("GET", "/fleet/vehicles/281474", "/fleet/vehicles/{id}"),
            (
                "GET",
                "/fleet/vehicles/maintenanceId:250020",
                "/fleet/vehicles/{id}",
            ),
            ("PATCH", "/fleet/defects/17", "/fleet/defects/{id}"),
            (
                "GET",
                "/fleet/drivers/vehicle-assignments",
                "/fleet/drivers/vehicle-assignments",
            ),
            ("GET", "/fleet/drivers/payrollId:ABF", "/fleet/drivers/{id}"),
            ("get", "/me/", "/me"),
        ];
        for (method, path, template) in cases {
            assert_eq!(
                lookup(method, path).map(|e| e.path),
                Some(template),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn unknown_routes_are_none() {
        assert_eq!(lookup("GET", "/fleet/trips"), None);
        assert_eq!(lookup("POST", "/fleet/vehicles"), None);
        assert_eq!(lookup("GET", "/fleet/vehicles//x"), None);
    }

    #[test]
    fn rates_match_the_documented_classes() {
        assert_eq!(
            lookup("GET", "/defects/stream").and_then(|e| e.rate),
            Some(Rate::per_second(5))
        );
        assert_eq!(
            lookup("POST", "/issues").and_then(|e| e.rate),
            Some(Rate::per_minute(100))
        );
        assert_eq!(
            lookup("GET", "/fleet/vehicles").and_then(|e| e.rate),
            Some(Rate::per_second(25))
        );
        assert_eq!(
            lookup("GET", "/fleet/vehicles/stats/feed").and_then(|e| e.rate),
            None
        );
        assert!((Rate::per_minute(100).per_second_f64() - 100.0 / 60.0).abs() < 1e-12);
    }
}
