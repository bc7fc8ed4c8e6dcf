"""samsara-fmc: connect a fleet management company to Samsara.

A Rust core (``samsara_fmc._core``) does the HTTP, paging, retries, rate limiting, unit conversion and
matching; this package is its typed façade, the Samsara Functions runtime glue and the integrations.
"""

from __future__ import annotations

from samsara_fmc._core import __version__, convert, normalize_rfc3339, rfc3339_to_unix_ms, unix_ms_to_rfc3339
from samsara_fmc.client import Client, RetryPolicy, encode_params, path_id
from samsara_fmc.exceptions import (
    ApiError,
    ApiStatusError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    CheckpointError,
    ConfigurationError,
    DeadlineExceeded,
    DeliveryError,
    InvalidVinError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    SamsaraFmcError,
    ServerError,
    TransportError,
    UnitConversionError,
)

__all__ = [
    "ApiError",
    "ApiStatusError",
    "ApiTimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CheckpointError",
    "Client",
    "ConfigurationError",
    "DeadlineExceeded",
    "DeliveryError",
    "InvalidVinError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseDecodeError",
    "RetryPolicy",
    "SamsaraFmcError",
    "ServerError",
    "TransportError",
    "UnitConversionError",
    "__version__",
    "convert",
    "encode_params",
    "normalize_rfc3339",
    "path_id",
    "rfc3339_to_unix_ms",
    "unix_ms_to_rfc3339",
]
