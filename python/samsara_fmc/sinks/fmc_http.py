"""The FMC HTTP sink: batches to an endpoint speaking the reference contract (``docs/fmc-api.yaml``).

::

    sink = FmcHttpSink(secrets["FMC_URL"], secrets["FMC_TOKEN"])
    sink.check()                                   # preflight: reachable and authorised
    sink.deliver("vehicle_stats", key, Batch(ndjson=page.ndjson))

Each delivery is ``POST /fmc/v1/streams/{stream}/records`` with ``{"records": [...]}``, at most
``max_batch`` records (the contract's 5,000) per request; a larger :class:`~samsara_fmc.sinks.Batch`
goes in parts. Every part carries its own ``Idempotency-Key``, made of the delivery key, the part
number and a hash of the stream and the part's body, so:

* a part whose answer was lost (a 5xx, a timeout, a cut connection) is sent again under the same key
  and the FMC answers from the first delivery instead of applying it twice;
* a re-delivery of the same key after a crash repeats the keys of the parts that were delivered;
* a re-delivery whose records changed gets new keys (the contract answers 422 to a reused key with
  another body) and upserts them by record id.

HTTP, retries (429 with a fractional ``Retry-After``, 5xx, timeouts), pacing at the contract's 25
requests per second and the deadline run in the Rust core (``_core.FmcClient``), with the GIL released.
The token is handed to the core and not kept here; it appears in no message or ``repr``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from samsara_fmc import _core
from samsara_fmc.client import RetryPolicy, counts_of
from samsara_fmc.exceptions import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    DeliveryError,
    NotFoundError,
    PermissionDeniedError,
)
from samsara_fmc.sinks import Batch, DeliveryResult, check_key, check_stream

__all__ = ["MAX_BATCH", "FmcHttpSink", "file_name"]

MAX_BATCH: int = _core.FMC_MAX_BATCH
"""The most records the reference contract takes in one request."""

_CONTRACT_PREFIX = "/fmc/v1"


class FmcHttpSink:
    """Delivers batches to an FMC endpoint speaking the reference contract.

    Args:
        url: The FMC's base URL (the ``FMC_URL`` secret), e.g. ``https://fmc.example.com``; a
            trailing ``/fmc/v1`` is accepted too. https only, except for loopback hosts.
        token: The FMC's bearer token (the ``FMC_TOKEN`` secret). Never logged or shown.
        max_batch: Records per request, 1 to 5,000.
        user_agent: A product token appended to the ``User-Agent``.
        connect_timeout: Seconds to establish a connection.
        request_timeout: Seconds for one request, body included.
        retry: The retry policy for 429, 5xx, timeouts and lost answers.
        rate_limit: Pace requests to the contract's 25 per second on the client side.

    Raises:
        ConfigurationError: The URL or token cannot be used; the message names the secret.
    """

    name = "fmc-http"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        max_batch: int = MAX_BATCH,
        user_agent: str | None = None,
        connect_timeout: float = _core.DEFAULT_CONNECT_TIMEOUT,
        request_timeout: float = _core.DEFAULT_REQUEST_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_limit: bool = True,
    ) -> None:
        if not 1 <= max_batch <= MAX_BATCH:
            msg = f"`max_batch` must be 1 to {MAX_BATCH} (the contract's limit), got `{max_batch}`"
            raise ConfigurationError(msg)
        retry = retry or RetryPolicy()
        base = url.strip().rstrip("/")
        base = base.removesuffix(_CONTRACT_PREFIX)
        self._max_batch = max_batch
        self._client = _core.FmcClient(
            base,
            token,
            user_agent_suffix=user_agent,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            max_attempts=retry.max_attempts,
            base_delay=retry.base_delay,
            max_delay=retry.max_delay,
            max_elapsed=retry.max_elapsed,
            rate_limit=rate_limit,
        )

    @classmethod
    def from_secrets(cls, secrets: Mapping[str, str], **options: Any) -> FmcHttpSink:
        """A sink from a Function's ``FMC_URL`` and ``FMC_TOKEN`` secrets.

        Raises:
            ConfigurationError: A secret is missing or empty, or cannot be used.
        """
        missing = [name for name in ("FMC_URL", "FMC_TOKEN") if not secrets.get(name, "").strip()]
        if missing:
            names = " and ".join(f"`{n}`" for n in missing)
            which = "secrets: add them" if len(missing) > 1 else "secret: add it"
            msg = f"the FMC HTTP sink needs the {names} {which} to the Function"
            raise ConfigurationError(msg)
        return cls(secrets["FMC_URL"], secrets["FMC_TOKEN"], **options)

    @property
    def url(self) -> str:
        """The FMC's base URL (it carries no secret)."""
        return self._client.base_url

    def changes(self, cursor: str | None, deadline: float | None = None, *, limit: int = 100) -> Any:
        """Pages of the FMC's changes feed (``GET /fmc/v1/changes``) from ``cursor`` until caught up:
        the page source of the engine's ``ledger`` driver. Each page has ``data`` (changes ``{id,
        type, at, data}``), ``cursor`` and ``has_next_page``."""
        return self._client.pages(
            f"{_CONTRACT_PREFIX}/changes", query=[("limit", str(limit))], after=cursor, deadline=deadline
        )

    def master_list(self, kind: str, deadline: float | None = None) -> list[dict[str, Any]]:
        """The FMC's master list of ``kind`` (``vehicles``: ``GET /fmc/v1/vehicles``), as it is now.

        Raises:
            DeliveryError: The endpoint failed or its answer is not ``{"data": [objects]}``.
            ConfigurationError: The token is refused or nothing serves the contract at the URL.
        """
        try:
            doc = self._client.get(f"{_CONTRACT_PREFIX}/{kind}", deadline=deadline)
        except ApiError as e:
            raise self._error(e, f"reading the FMC's `{kind}` master list") from e
        data = doc.get("data") if isinstance(doc, Mapping) else None
        if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
            msg = f'the FMC\'s `{kind}` master list is not `{{"data": [objects]}}`: check the endpoint'
            raise DeliveryError(msg)
        return [dict(r) for r in data]

    def counts(self) -> dict[str, int]:
        """Requests sent to the FMC since the sink was built: ``attempts``, ``retries``, ``rateLimited``,
        ``pacedMs`` and ``backoffMs`` (see :func:`samsara_fmc.client.counts_of`)."""
        return counts_of(self._client.counts())

    def __repr__(self) -> str:
        return f"FmcHttpSink(url={self.url!r})"

    def __enter__(self) -> FmcHttpSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases nothing today (connections close with the object); kept for the protocol."""

    def check(self, *, deadline: float | None = None) -> None:
        """Preflight: ``GET /fmc/v1/streams``, a cheap authorised read.

        Raises:
            ConfigurationError: The token is refused (names ``FMC_TOKEN``), or nothing serves the
                contract at the URL or it cannot be reached (names ``FMC_URL``).
            DeliveryError: The endpoint failed in a way a later run may not see (5xx, 429, timeouts).
            DeadlineExceeded: The deadline would pass first.
        """
        try:
            self._client.get(f"{_CONTRACT_PREFIX}/streams", deadline=deadline)
        except ApiError as e:
            raise self._error(e, "check", preflight=True) from e

    def deliver(
        self, stream: str, key: str, batch: Batch, *, deadline: float | None = None
    ) -> DeliveryResult:
        """Upserts ``batch`` into ``stream``, in parts of at most ``max_batch`` records.

        Delivering the same ``(stream, key)`` with the same records again changes nothing on the FMC
        side (each part is answered from its first delivery); with other records, they are upserted.

        Raises:
            ConfigurationError: The token is refused or the URL does not serve the contract.
            DeliveryError: The FMC refused a part, or failed after the retries. Parts before it are
                delivered; delivering the key again resumes safely.
            DeadlineExceeded: The deadline would pass before a part could be delivered.
        """
        check_stream(stream)
        check_key(key)
        location = f"{_CONTRACT_PREFIX}/streams/{stream}/records"
        if not batch:
            return DeliveryResult(records=0, location=location, inserted=0, updated=0)
        parts = _parts(batch, self._max_batch)
        inserted = updated = replayed = 0
        keys: list[str] = []
        for number, (count, body) in enumerate(parts, start=1):
            idempotency_key = _idempotency_key(stream, key, number, body)
            try:
                answer, was_replayed = self._client.post_batch(
                    stream, idempotency_key, body, deadline=deadline
                )
            except ApiError as e:
                raise self._error(
                    e, f"delivering part {number} of {len(parts)} ({count} records) of `{key}` to `{stream}`"
                ) from e
            keys.append(idempotency_key)
            inserted += int(answer.get("inserted", 0))
            updated += int(answer.get("updated", 0))
            replayed += was_replayed
        return DeliveryResult(
            records=len(batch),
            location=location,
            inserted=inserted,
            updated=updated,
            replayed=replayed == len(parts),
            details={"parts": len(parts), "replayedParts": replayed, "idempotencyKeys": keys},
        )

    def deliver_file(
        self, stream: str, key: str, data: bytes, *, content_type: str, deadline: float | None = None
    ) -> DeliveryResult:
        """Uploads ``data`` as file :func:`file_name` of ``key`` in ``stream``
        (``PUT /fmc/v1/streams/{stream}/files/{name}``), replacing an earlier file of the name.

        The ``Idempotency-Key`` is made of the key and a hash of the stream and the bytes: a retry
        whose answer was lost, or a re-delivery after a crash, is answered from the first upload;
        other bytes under the same key get a new key and replace the file.

        Raises:
            As :meth:`deliver`.
        """
        check_stream(stream)
        name = file_name(key)
        location = f"{_CONTRACT_PREFIX}/streams/{stream}/files/{name}"
        digest = hashlib.sha256(stream.encode() + b"\0" + data).hexdigest()[:20]
        idempotency_key = f"file/{key}/{digest}"
        try:
            answer, replayed = self._client.put_file(
                stream, name, idempotency_key, content_type, data, deadline=deadline
            )
        except ApiError as e:
            raise self._error(e, f"uploading file `{name}` ({len(data)} bytes) to `{stream}`") from e
        return DeliveryResult(
            records=0,
            location=location,
            inserted=int(bool(answer.get("inserted"))),
            updated=int(not answer.get("inserted")),
            replayed=bool(replayed),
            details={"bytes": len(data), "idempotencyKey": idempotency_key},
        )

    def _error(self, e: ApiError, doing: str, *, preflight: bool = False) -> Exception:
        """What the caller of the sink should see for ``e``: configuration (no retry helps) or delivery.

        An endpoint that cannot be reached is a configuration error in the preflight, and a delivery
        error (the FMC may be down for a while; a later run delivers the key again) afterwards.
        """
        if isinstance(e, AuthenticationError | PermissionDeniedError):
            msg = f"the FMC endpoint refused the token while {doing}: {e}"
            if "`FMC_TOKEN`" not in msg:
                msg += "; check the `FMC_TOKEN` secret"
            return ConfigurationError(msg)
        if isinstance(e, NotFoundError):
            msg = (
                f"no reference FMC endpoint at `{self.url}` ({doing}: {e}): "
                "check the `FMC_URL` secret (the contract's paths start with `/fmc/v1/`)"
            )
            return ConfigurationError(msg)
        if isinstance(e, ConnectError) and preflight:
            msg = f"cannot reach the FMC endpoint at `{self.url}` ({doing}: {e}): check the `FMC_URL` secret"
            return ConfigurationError(msg)
        return DeliveryError(f"the FMC endpoint failed while {doing}: {e}")


def file_name(key: str) -> str:
    """The contract's file name for a delivery key: its segments joined with ``.`` (the contract's
    names are one path segment of letters, digits, ``.``, ``_`` and ``-``)."""
    name = check_key(key).replace("/", ".")
    if "+" in name or len(name) > 200:
        msg = f"invalid file key `{key}`: use at most 200 of letters, digits, `.`, `_`, `-` and `/`"
        raise ConfigurationError(msg)
    return name


def _parts(batch: Batch, size: int) -> list[tuple[int, bytes]]:
    """``(records, body)`` per request: ``{"records": [...]}`` from the NDJSON lines, unparsed."""
    if len(batch) <= size:
        return [(len(batch), b'{"records":' + batch.json_array() + b"}")]
    lines = [line for line in batch.ndjson().splitlines() if line.strip()]
    out = []
    for start in range(0, len(lines), size):
        chunk = lines[start : start + size]
        out.append((len(chunk), b'{"records":[' + b",".join(chunk) + b"]}"))
    return out


def _idempotency_key(stream: str, key: str, part: int, body: bytes) -> str:
    """``<key>/p<part>-<hash>`` (at most 227 characters): the hash covers the stream and the part's
    body, so another stream or other records never reuse a key (409 or 422 under the contract)."""
    digest = hashlib.sha256(stream.encode() + b"\0" + body).hexdigest()[:20]
    return f"{key}/p{part}-{digest}"
