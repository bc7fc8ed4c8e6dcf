"""The errors samsara-fmc raises.

Every error is a :class:`SamsaraFmcError`; validation errors are also :class:`ValueError` and timeouts
also :class:`TimeoutError`, so either vocabulary works in an ``except``::

    SamsaraFmcError
    ├── ConfigurationError (ValueError)        bad client config, missing secrets, bad event parameters
    ├── DeadlineExceeded (TimeoutError)        the run's time budget would be overrun; checkpoint and stop
    ├── ApiError                               anything from the API; method, path, attempts, elapsed_s
    │   ├── TransportError                     connection refused or reset, DNS, TLS
    │   │   ├── ConnectError                   no connection: refused, DNS, TLS; the request was not sent
    │   │   └── ApiTimeoutError (TimeoutError) a request timed out
    │   ├── ApiStatusError                     an HTTP error status; status_code, request_id, body_excerpt
    │   │   ├── BadRequestError                400, and other 4xx without a class of their own
    │   │   ├── AuthenticationError            401: the token is wrong, expired or revoked
    │   │   ├── PermissionDeniedError          403: the token lacks the endpoint's scope; required_scope
    │   │   ├── NotFoundError                  404
    │   │   ├── RateLimitError                 429 after the retries; retry_after_s
    │   │   └── ServerError                    5xx after the retries
    │   └── ResponseDecodeError (ValueError)   a body that is not the JSON the endpoint documents
    ├── RecordTypeError (TypeError)            a record (or list item) of the wrong type, e.g. not a dict
    ├── UnitConversionError (ValueError)       unknown unit, mixed quantities, non-finite value
    ├── InvalidVinError (ValueError)           reason: "length", "character", "check_digit", …; vin
    ├── CheckpointError                        corrupt, foreign or newer-version checkpoint
    └── DeliveryError                          a sink (FMC endpoint, storage, SFTP) refused or failed a batch

The compiled core raises these classes directly (they are imported into Rust), with the attributes
passed as constructor arguments; the ``__init__`` signatures are therefore part of the boundary.
``ApiError`` and its subclasses come from either API the transport speaks (Samsara, or the FMC
endpoint through ``_core.FmcClient``); the FMC HTTP sink turns the latter into ``DeliveryError`` or
``ConfigurationError``. Messages never contain a token or media URLs.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "ApiStatusError",
    "ApiTimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CheckpointError",
    "ConfigurationError",
    "ConnectError",
    "DeadlineExceeded",
    "DeliveryError",
    "InvalidVinError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RecordTypeError",
    "ResponseDecodeError",
    "SamsaraFmcError",
    "ServerError",
    "TransportError",
    "UnitConversionError",
]


class SamsaraFmcError(Exception):
    """Base class of every error raised by samsara-fmc."""


class ConfigurationError(SamsaraFmcError, ValueError):
    """The client, a secret or an event parameter is missing or wrong; the message says how to fix it."""


class DeadlineExceeded(SamsaraFmcError, TimeoutError):
    """The run's deadline would pass before the call could finish.

    Raised before the request, backoff or rate-limit wait that would overrun it, so the caller can
    checkpoint what it has delivered and return cleanly.
    """

    def __init__(self, message: str, method: str = "", path: str = "", attempts: int = 0) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.attempts = attempts


class ApiError(SamsaraFmcError):
    """An error talking to the Samsara API.

    Attributes:
        method: The HTTP method.
        path: The request path (no query string, so no cursor or filter values).
        attempts: How many requests were made, retries included.
        elapsed_s: Seconds from the first attempt to the error.
    """

    def __init__(self, message: str, method: str, path: str, attempts: int, elapsed_s: float) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.attempts = attempts
        self.elapsed_s = elapsed_s


class TransportError(ApiError):
    """The request did not get an HTTP response: connection refused or reset, DNS or TLS failure."""


class ConnectError(TransportError):
    """No connection could be made (refused, DNS, a TLS handshake that failed); nothing was sent.

    A TLS failure is not retried: a certificate the client does not trust, or a plain-HTTP server
    behind an ``https://`` URL, stays so.
    """


class ApiTimeoutError(TransportError, TimeoutError):
    """A request timed out (connect or read)."""


class ResponseDecodeError(ApiError, ValueError):
    """The response body is not the JSON shape the endpoint documents."""


class ApiStatusError(ApiError):
    """The API answered with an error status.

    Attributes:
        status_code: The HTTP status.
        request_id: Samsara's ``requestId`` from the error body, when it sent one.
        body_excerpt: The start of the response body (at most 2 KiB).
    """

    def __init__(
        self,
        message: str,
        method: str,
        path: str,
        attempts: int,
        elapsed_s: float,
        status_code: int,
        request_id: str | None,
        body_excerpt: str,
    ) -> None:
        super().__init__(message, method, path, attempts, elapsed_s)
        self.status_code = status_code
        self.request_id = request_id
        self.body_excerpt = body_excerpt


class BadRequestError(ApiStatusError):
    """400, or another 4xx without a class of its own (405, 409, 413, …)."""


class AuthenticationError(ApiStatusError):
    """401: the token is unknown, expired or revoked."""


class PermissionDeniedError(ApiStatusError):
    """403: the token lacks the scope the endpoint needs.

    Attributes:
        required_scope: The scope to grant the token in the Samsara dashboard, when known.
    """

    def __init__(
        self,
        message: str,
        method: str,
        path: str,
        attempts: int,
        elapsed_s: float,
        status_code: int,
        request_id: str | None,
        body_excerpt: str,
        required_scope: str | None = None,
    ) -> None:
        super().__init__(message, method, path, attempts, elapsed_s, status_code, request_id, body_excerpt)
        self.required_scope = required_scope


class NotFoundError(ApiStatusError):
    """404: no such object (or no such route)."""


class RateLimitError(ApiStatusError):
    """429 on the last attempt.

    Attributes:
        retry_after_s: The server's ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(
        self,
        message: str,
        method: str,
        path: str,
        attempts: int,
        elapsed_s: float,
        status_code: int,
        request_id: str | None,
        body_excerpt: str,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, method, path, attempts, elapsed_s, status_code, request_id, body_excerpt)
        self.retry_after_s = retry_after_s


class ServerError(ApiStatusError):
    """5xx on the last attempt."""


class RecordTypeError(SamsaraFmcError, TypeError):
    """A record (or another list item) is not of the type the function takes, e.g. not a dict."""


class UnitConversionError(SamsaraFmcError, ValueError):
    """An unknown unit, units of different quantities, or a non-finite value."""


class InvalidVinError(SamsaraFmcError, ValueError):
    """A VIN failed validation.

    Attributes:
        vin: The VIN as given.
        reason: A stable code: ``"empty"``, ``"length"``, ``"character"``, ``"check_digit"``,
            ``"model_year"``, ….
    """

    def __init__(self, message: str, vin: str, reason: str) -> None:
        super().__init__(message)
        self.vin = vin
        self.reason = reason


class CheckpointError(SamsaraFmcError):
    """A stored checkpoint is corrupt, belongs to another org or function, or has a newer version."""


class DeliveryError(SamsaraFmcError):
    """A record sink (Function Storage, a file, an FMC endpoint) refused a batch or failed to take it.

    Raised after the sink's own retries; the batch may be delivered again under the same key.
    """
