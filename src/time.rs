//! RFC 3339 timestamps as Samsara writes and reads them.
//!
//! Samsara accepts offsets and milliseconds (`2019-06-13T19:08:25.455Z`, `2015-09-15T14:00:12-04:00`)
//! and answers in UTC with `Z`. We always send UTC with milliseconds.

use chrono::{DateTime, SecondsFormat, Utc};

/// A timestamp that is not RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp `{value}`: {reason}; expected RFC 3339 such as `2026-11-23T15:04:05.123Z` or `2026-11-23T10:04:05-05:00`")]
pub struct TimeError {
    /// The text given.
    pub value: String,
    /// Why it failed.
    pub reason: String,
}

/// Parses an RFC 3339 timestamp with any offset into UTC.
pub fn parse_rfc3339(value: &str) -> Result<DateTime<Utc>, TimeError> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| TimeError {
            value: value.to_owned(),
            reason: e.to_string(),
        })
}

/// Formats `t` in UTC with milliseconds: `2026-11-23T15:04:05.123Z`.
pub fn format_rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Milliseconds since the Unix epoch, as v1 endpoints take them.
pub fn unix_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The UTC time `ms` milliseconds after the Unix epoch.
pub fn from_unix_millis(ms: i64) -> Result<DateTime<Utc>, TimeError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| TimeError {
        value: ms.to_string(),
        reason: "out of range".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_fractions() {
        let cases = [
            (
                "2019-06-13T19:08:25Z",
                "2019-06-13T19:08:25.000Z",
                1_560_452_905_000,
            ),
            (
                "2019-06-13T19:08:25.455Z",
                "2019-06-13T19:08:25.455Z",
                1_560_452_905_455,
            ),
            (
                "2015-09-15T14:00:12-04:00",
                "2015-09-15T18:00:12.000Z",
                1_442_340_012_000,
            ),
            (
                "2024-02-29T23:59:59.999+05:30",
                "2024-02-29T18:29:59.999Z",
                1_709_231_399_999,
            ),
            (
                "2024-05-01t12:00:00z",
                "2024-05-01T12:00:00.000Z",
                1_714_564_800_000,
            ),
        ];
        for (input, formatted, ms) in cases {
            let t = parse_rfc3339(input).unwrap();
            assert_eq!(format_rfc3339(t), formatted, "{input}");
            assert_eq!(unix_millis(t), ms, "{input}");
            assert_eq!(from_unix_millis(ms).unwrap(), t);
        }
    }

    #[test]
    fn rejects_with_the_value_named() {
        for bad in [
            "2019-06-13",
            "2019-06-13 19:08:25",
            "13/06/2019",
            "2019-02-30T00:00:00Z",
            "",
        ] {
            let e = parse_rfc3339(bad).unwrap_err();
            assert!(
                e.to_string().starts_with(&format!("invalid timestamp `{bad}`")),
                "{e}"
            );
        }
        assert!(from_unix_millis(i64::MAX).is_err());
    }
}
