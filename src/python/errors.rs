//! Core errors to the Python hierarchy in `samsara_fmc/exceptions.py`: one exhaustive mapping per
//! core error enum, attributes passed as constructor arguments. Every error a binding raises is
//! made here, so each is a `SamsaraFmcError`.
//!
//! | core | Python |
//! |---|---|
//! | `ApiErrorKind::Status` 401/403/404/429/5xx/4xx/other | `AuthenticationError` / `PermissionDeniedError` / `NotFoundError` / `RateLimitError` / `ServerError` / `BadRequestError` / `ApiStatusError` |
//! | `ApiErrorKind::Connect`, `Tls` | `ConnectError` (a `TransportError`: nothing was sent) |
//! | `ApiErrorKind::Transport` | `TransportError` |
//! | `ApiErrorKind::Timeout` | `ApiTimeoutError` |
//! | `ApiErrorKind::Decode`, `Incomplete` | `ResponseDecodeError` |
//! | `ApiErrorKind::Deadline` | `DeadlineExceeded` |
//! | `ApiErrorKind::Invalid`, every `ConfigError`, `TimeError`, a bad argument | `ConfigurationError` |
//! | a record of the wrong type | `RecordTypeError` |
//! | `UnitError` | `UnitConversionError` |
//! | `VinError` | `InvalidVinError` (`reason` as a lowercase code) |

use pyo3::prelude::*;

use crate::http::{ApiError, ApiErrorKind, ConfigError};
use crate::stats::PageError;
use crate::time::TimeError;
use crate::units::UnitError;
use crate::vin::VinError;

mod exc {
    pyo3::import_exception!(samsara_fmc.exceptions, ApiStatusError);
    pyo3::import_exception!(samsara_fmc.exceptions, ApiTimeoutError);
    pyo3::import_exception!(samsara_fmc.exceptions, AuthenticationError);
    pyo3::import_exception!(samsara_fmc.exceptions, BadRequestError);
    pyo3::import_exception!(samsara_fmc.exceptions, ConfigurationError);
    pyo3::import_exception!(samsara_fmc.exceptions, ConnectError);
    pyo3::import_exception!(samsara_fmc.exceptions, DeadlineExceeded);
    pyo3::import_exception!(samsara_fmc.exceptions, InvalidVinError);
    pyo3::import_exception!(samsara_fmc.exceptions, NotFoundError);
    pyo3::import_exception!(samsara_fmc.exceptions, PermissionDeniedError);
    pyo3::import_exception!(samsara_fmc.exceptions, RateLimitError);
    pyo3::import_exception!(samsara_fmc.exceptions, RecordTypeError);
    pyo3::import_exception!(samsara_fmc.exceptions, ResponseDecodeError);
    pyo3::import_exception!(samsara_fmc.exceptions, ServerError);
    pyo3::import_exception!(samsara_fmc.exceptions, TransportError);
    pyo3::import_exception!(samsara_fmc.exceptions, UnitConversionError);
}

/// Wraps core errors so `?` works in binding functions.
pub(crate) struct CoreErr(pub(crate) PyErr);

impl From<CoreErr> for PyErr {
    fn from(e: CoreErr) -> Self {
        e.0
    }
}

impl From<ApiError> for CoreErr {
    fn from(e: ApiError) -> Self {
        let msg = e.to_string();
        let (method, path, attempts) = (e.method().to_owned(), e.path().to_owned(), e.attempts());
        let elapsed = e.elapsed().as_secs_f64();
        let base = (msg.clone(), method.clone(), path.clone(), attempts, elapsed);
        CoreErr(match e.kind() {
            ApiErrorKind::Deadline(_) => exc::DeadlineExceeded::new_err((msg, method, path, attempts)),
            ApiErrorKind::Invalid(_) => exc::ConfigurationError::new_err(msg),
            ApiErrorKind::Connect(_) | ApiErrorKind::Tls(_) => exc::ConnectError::new_err(base),
            ApiErrorKind::Transport(_) => exc::TransportError::new_err(base),
            ApiErrorKind::Timeout(_) => exc::ApiTimeoutError::new_err(base),
            ApiErrorKind::Decode(_) | ApiErrorKind::Incomplete(_) => exc::ResponseDecodeError::new_err(base),
            ApiErrorKind::Status {
                status,
                request_id,
                body_excerpt,
                retry_after,
                required_scope,
                ..
            } => {
                let (rid, body) = (request_id.clone(), body_excerpt.clone());
                let args = (msg, method, path, attempts, elapsed, *status, rid, body);
                match status {
                    401 => exc::AuthenticationError::new_err(args),
                    403 => exc::PermissionDeniedError::new_err(with_extra(args, *required_scope)),
                    404 => exc::NotFoundError::new_err(args),
                    429 => {
                        exc::RateLimitError::new_err(with_extra(args, retry_after.map(|r| r.as_secs_f64())))
                    }
                    500..=599 => exc::ServerError::new_err(args),
                    400..=499 => exc::BadRequestError::new_err(args),
                    _ => exc::ApiStatusError::new_err(args),
                }
            }
        })
    }
}

type StatusArgs = (String, String, String, u32, f64, u16, Option<String>, String);

/// The `ApiStatusError` arguments plus a subclass's extra one.
fn with_extra<T>(
    (message, method, path, attempts, elapsed, status, request_id, body): StatusArgs,
    extra: T,
) -> (String, String, String, u32, f64, u16, Option<String>, String, T) {
    (
        message, method, path, attempts, elapsed, status, request_id, body, extra,
    )
}

impl From<ConfigError> for CoreErr {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::NotAUrl(..)
            | ConfigError::InvalidUrl(..)
            | ConfigError::InsecureUrl(..)
            | ConfigError::UnknownRegion(_)
            | ConfigError::BadToken(..)
            | ConfigError::BadApiVersion(_)
            | ConfigError::BadRetryPolicy(_)
            | ConfigError::Http(_)
            | ConfigError::BadPath(_)
            | ConfigError::BadIdempotencyKey(_) => CoreErr(exc::ConfigurationError::new_err(e.to_string())),
        }
    }
}

impl From<UnitError> for CoreErr {
    fn from(e: UnitError) -> Self {
        match e {
            UnitError::Unknown(_) | UnitError::Mismatch { .. } | UnitError::NonFinite(_) => {
                CoreErr(exc::UnitConversionError::new_err(e.to_string()))
            }
        }
    }
}

impl From<TimeError> for CoreErr {
    fn from(e: TimeError) -> Self {
        CoreErr(exc::ConfigurationError::new_err(e.to_string()))
    }
}

/// A stats page that cannot be read, with the request it came from.
pub(crate) fn page_error(e: &PageError, method: &str, path: &str, attempts: u32) -> PyErr {
    exc::ResponseDecodeError::new_err((
        format!("`{method} {path}`: {e}"),
        method.to_owned(),
        path.to_owned(),
        attempts,
        0.0,
    ))
}

/// A page whose pagination cannot be followed.
pub(crate) fn decode_error(msg: &str, path: &str, attempts: u32) -> PyErr {
    exc::ResponseDecodeError::new_err((
        format!("`GET {path}`: {msg}"),
        "GET".to_owned(),
        path.to_owned(),
        attempts,
        0.0,
    ))
}

/// A bad argument from Python.
pub(crate) fn config_error(msg: String) -> PyErr {
    exc::ConfigurationError::new_err(msg)
}

/// A record (or list item) of the wrong type: a `TypeError` that is also a `SamsaraFmcError`.
pub(crate) fn record_type_error(msg: String) -> PyErr {
    exc::RecordTypeError::new_err(msg)
}

/// A body handed in from Python (not fetched) that cannot be read.
pub(crate) fn body_error(msg: String) -> PyErr {
    exc::ResponseDecodeError::new_err((msg, String::new(), String::new(), 0u32, 0.0))
}

/// An `InvalidVinError` for an argument that is not a VIN string at all (`reason` as given).
pub(crate) fn invalid_vin_error(msg: String, reason: &'static str) -> PyErr {
    exc::InvalidVinError::new_err((msg, String::new(), reason))
}

impl From<VinError> for PyErr {
    fn from(e: VinError) -> Self {
        exc::InvalidVinError::new_err((e.to_string(), e.vin().to_owned(), e.reason()))
    }
}

#[cfg(test)]
mod tests {
    //! One case per row of the mapping, against the Python classes in `python/samsara_fmc/`. Run
    //! with `cargo test --features python` (libpython on the loader's path).
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use pyo3::types::PyAnyMethods;

    use super::*;
    use crate::http::Profile;

    fn status(code: u16) -> ApiErrorKind {
        ApiErrorKind::Status {
            status: code,
            request_id: Some("r-1".into()),
            message: "nope".into(),
            body_excerpt: "{}".into(),
            retry_after: Some(Duration::from_millis(250)),
            required_scope: Some("Read Defects"),
        }
    }

    /// An interpreter that imports `samsara_fmc` from `python/` with this build as its `_core`.
    fn python() {
        static READY: std::sync::Once = std::sync::Once::new();
        Python::initialize();
        READY.call_once(|| {
            Python::attach(|py| {
                let core = pyo3::wrap_pymodule!(crate::python::_core)(py);
                let sys = py.import("sys").unwrap();
                let path = concat!(env!("CARGO_MANIFEST_DIR"), "/python");
                sys.getattr("path")
                    .unwrap()
                    .call_method1("insert", (0, path))
                    .unwrap();
                sys.getattr("modules")
                    .unwrap()
                    .set_item("samsara_fmc._core", core)
                    .unwrap();
            });
        });
    }

    /// The Python class name of `err`, after checking it is a `SamsaraFmcError`.
    #[allow(clippy::needless_pass_by_value)] // Called with freshly made errors.
    fn class_of(err: PyErr) -> String {
        python();
        Python::attach(|py| {
            let base = py
                .import("samsara_fmc.exceptions")
                .and_then(|m| m.getattr("SamsaraFmcError"))
                .unwrap();
            let value = err.value(py);
            assert!(
                value.is_instance(&base).unwrap(),
                "{value:?} is not a SamsaraFmcError"
            );
            value.get_type().name().unwrap().to_string()
        })
    }

    fn api(kind: ApiErrorKind) -> String {
        let e = ApiError::new(kind, "GET", "/defects/stream", 2, Duration::from_millis(5));
        class_of(CoreErr::from(e).into())
    }

    #[test]
    fn every_api_error_kind_has_its_class() {
        let cases = [
            (status(400), "BadRequestError"),
            (status(401), "AuthenticationError"),
            (status(403), "PermissionDeniedError"),
            (status(404), "NotFoundError"),
            (status(409), "BadRequestError"),
            (status(429), "RateLimitError"),
            (status(500), "ServerError"),
            (status(503), "ServerError"),
            (status(302), "ApiStatusError"),
            (ApiErrorKind::Connect("refused".into()), "ConnectError"),
            (ApiErrorKind::Tls("plain HTTP".into()), "ConnectError"),
            (ApiErrorKind::Transport("reset".into()), "TransportError"),
            (ApiErrorKind::Timeout("read".into()), "ApiTimeoutError"),
            (ApiErrorKind::Decode("x".into()), "ResponseDecodeError"),
            (ApiErrorKind::Incomplete("eof".into()), "ResponseDecodeError"),
            (ApiErrorKind::Deadline("x".into()), "DeadlineExceeded"),
            (
                ApiErrorKind::Invalid(ConfigError::BadPath("x".into())),
                "ConfigurationError",
            ),
        ];
        for (kind, want) in cases {
            assert_eq!(api(kind.clone()), want, "{kind:?}");
        }
    }

    #[test]
    fn status_attributes_cross_as_constructor_arguments() {
        let e = ApiError::new(status(429), "GET", "/me", 3, Duration::ZERO).context(Profile::Fmc, None);
        python();
        let err: PyErr = CoreErr::from(e).into();
        Python::attach(|py| {
            let v = err.value(py);
            assert_eq!(v.getattr("status_code").unwrap().extract::<u16>().unwrap(), 429);
            assert_eq!(v.getattr("attempts").unwrap().extract::<u32>().unwrap(), 3);
            let ra: f64 = v.getattr("retry_after_s").unwrap().extract().unwrap();
            assert!((ra - 0.25).abs() < 1e-9);
        });
    }

    #[test]
    fn every_config_error_is_a_configuration_error() {
        let p = Profile::Fmc;
        let cases = [
            ConfigError::NotAUrl("base URL", "x".into()),
            ConfigError::InvalidUrl("base URL", "x".into(), "y".into()),
            ConfigError::InsecureUrl("base URL", "http://x".into()),
            ConfigError::UnknownRegion("mars".into()),
            ConfigError::BadToken("empty", p),
            ConfigError::BadApiVersion("latest".into()),
            ConfigError::BadRetryPolicy("x".into()),
            ConfigError::Http("x".into()),
            ConfigError::BadPath("x".into()),
            ConfigError::BadIdempotencyKey(String::new()),
        ];
        for e in cases {
            assert_eq!(
                class_of(CoreErr::from(e.clone()).into()),
                "ConfigurationError",
                "{e:?}"
            );
        }
        let time = crate::time::parse_rfc3339("yesterday").unwrap_err();
        assert_eq!(class_of(CoreErr::from(time).into()), "ConfigurationError");
        assert_eq!(class_of(config_error("x".into())), "ConfigurationError");
    }

    #[test]
    fn domain_errors_have_their_classes() {
        for e in [
            UnitError::Unknown("furlong".into()),
            UnitError::NonFinite(f64::NAN),
        ] {
            assert_eq!(class_of(CoreErr::from(e).into()), "UnitConversionError");
        }
        let mismatch = crate::units::convert(1.0, "km".parse().unwrap(), "h".parse().unwrap()).unwrap_err();
        assert_eq!(class_of(CoreErr::from(mismatch).into()), "UnitConversionError");
        for vin in ["", "1M8GDM9A", "1M8GDM9AXKP04278O", "1M8GDM9AXKP042789"] {
            let e = crate::vin::validate(vin).unwrap_err();
            assert_eq!(class_of(e.into()), "InvalidVinError", "{vin}");
        }
        assert_eq!(class_of(record_type_error("record 0".into())), "RecordTypeError");
        assert_eq!(class_of(body_error("bad".into())), "ResponseDecodeError");
        let page = PageError("bad".into());
        assert_eq!(class_of(page_error(&page, "GET", "/x", 1)), "ResponseDecodeError");
        assert_eq!(class_of(decode_error("bad", "/x", 1)), "ResponseDecodeError");
    }
}
