//! API versions (`shared/samsara-api.md` §1.3): every token has one, `X-Samsara-Version` overrides it
//! for one request. Versions are dates `YYYY-MM-DD`, so they order as strings.

use crate::http::{Request, Response};

/// The version of a `--token` given without one: `2025-06-11`, the one the vendor's Java SDK pins
/// and the last known version before the idling-event reshape, i.e. an older dashboard token.
pub(crate) const DEFAULT: &str = samsara_fmc::DEFAULT_API_VERSION;

/// The latest version known (the 2025-10-23 vendor spec); OAuth access tokens get it.
pub(crate) const LATEST: &str = "2025-10-23";

/// From this version on, idling events nest `asset`/`operator` and carry `latitude`/`longitude`.
pub(crate) const IDLING_NESTED: &str = "2025-10-23";

/// Whether `v` is a version date: exactly `YYYY-MM-DD`, a real calendar day.
pub(crate) fn is_valid(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok()
}

/// The version a request runs at: its `X-Samsara-Version` header if sent, else the token's.
/// A header that is not a version date is a 400 naming the value.
pub(crate) fn effective<'a>(req: &'a Request, token_version: &'a str) -> Result<&'a str, Response> {
    match req.header("x-samsara-version").map(str::trim) {
        None => Ok(token_version),
        Some(v) if is_valid(v) => Ok(v),
        Some(v) => {
            let shown: String = v.chars().take(40).collect();
            Err(Response::error(
                400,
                &format!(
                    "Invalid `X-Samsara-Version` header `{shown}`: expected an API version date YYYY-MM-DD"
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_dates() {
        for ok in [DEFAULT, LATEST, "2018-01-01", "2024-02-29"] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "latest",
            "2025-6-11",
            "2025-06-1",
            "2025/06/11",
            "2025-13-01",
            "2023-02-29",
            "2025-06-11T00",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
