//! Core errors to the Python hierarchy in `samsara_fmc/exceptions.py`: one exhaustive mapping per
//! core error enum, attributes passed as constructor arguments.

use pyo3::prelude::*;

use crate::http::{ApiError, ApiErrorKind, ConfigError};
use crate::stats::PageError;
use crate::time::TimeError;
use crate::units::UnitError;

mod exc {
    pyo3::import_exception!(samsara_fmc.exceptions, ApiStatusError);
    pyo3::import_exception!(samsara_fmc.exceptions, ApiTimeoutError);
    pyo3::import_exception!(samsara_fmc.exceptions, AuthenticationError);
    pyo3::import_exception!(samsara_fmc.exceptions, BadRequestError);
    pyo3::import_exception!(samsara_fmc.exceptions, ConfigurationError);
    pyo3::import_exception!(samsara_fmc.exceptions, DeadlineExceeded);
    pyo3::import_exception!(samsara_fmc.exceptions, NotFoundError);
    pyo3::import_exception!(samsara_fmc.exceptions, PermissionDeniedError);
    pyo3::import_exception!(samsara_fmc.exceptions, RateLimitError);
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
            ApiErrorKind::Connect(_) | ApiErrorKind::Transport(_) => exc::TransportError::new_err(base),
            ApiErrorKind::Timeout(_) => exc::ApiTimeoutError::new_err(base),
            ApiErrorKind::Decode(_) => exc::ResponseDecodeError::new_err(base),
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
            ConfigError::InvalidUrl(..)
            | ConfigError::InsecureUrl(_)
            | ConfigError::UnknownRegion(_)
            | ConfigError::BadToken(_)
            | ConfigError::BadApiVersion(_)
            | ConfigError::BadRetryPolicy(_)
            | ConfigError::Http(_)
            | ConfigError::BadPath(_) => CoreErr(exc::ConfigurationError::new_err(e.to_string())),
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
