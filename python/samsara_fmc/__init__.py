"""samsara-fmc: connect a fleet management company to Samsara.

A Rust core (``samsara_fmc._core``) does the HTTP, paging, retries, rate limiting, unit conversion and
matching; this package is its typed façade, the Samsara Functions runtime glue and the integrations.
"""

from __future__ import annotations

from samsara_fmc._core import __version__, convert, normalize_rfc3339, rfc3339_to_unix_ms, unix_ms_to_rfc3339
from samsara_fmc.client import Client, RetryPolicy, encode_params, path_id, stat_records
from samsara_fmc.exceptions import (
    ApiError,
    ApiStatusError,
    ApiTimeoutError,
    AuthenticationError,
    BadRequestError,
    CheckpointError,
    ConfigurationError,
    ConnectError,
    DeadlineExceeded,
    DeliveryError,
    InvalidVinError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RecordTypeError,
    ResponseDecodeError,
    SamsaraFmcError,
    ServerError,
    TransportError,
    UnitConversionError,
)
from samsara_fmc.external_ids import external_id, external_ids, writable
from samsara_fmc.matching import MatchResult, extract_one, match_drivers, match_vehicles
from samsara_fmc.vin import decode_vin, is_valid_vin, repair_vin, validate_vin, vin_check_digit

__all__ = [
    "ApiError",
    "ApiStatusError",
    "ApiTimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CheckpointError",
    "Client",
    "ConfigurationError",
    "ConnectError",
    "DeadlineExceeded",
    "DeliveryError",
    "InvalidVinError",
    "MatchResult",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RecordTypeError",
    "ResponseDecodeError",
    "RetryPolicy",
    "SamsaraFmcError",
    "ServerError",
    "TransportError",
    "UnitConversionError",
    "__version__",
    "convert",
    "decode_vin",
    "encode_params",
    "external_id",
    "external_ids",
    "extract_one",
    "is_valid_vin",
    "match_drivers",
    "match_vehicles",
    "normalize_rfc3339",
    "path_id",
    "repair_vin",
    "rfc3339_to_unix_ms",
    "stat_records",
    "unix_ms_to_rfc3339",
    "validate_vin",
    "vin_check_digit",
    "writable",
]
