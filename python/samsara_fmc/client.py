"""The Samsara API client.

A thin, typed façade over the Rust core: paging, retries with backoff, rate limiting, deadlines and
JSON decoding all happen in Rust with the GIL released. ::

    with Client(token=secrets["SAMSARA_API_TOKEN"], region="eu") as client:
        org = client.get("/me")["data"]
        for page in client.pages("/fleet/vehicles", params={"limit": 512}):
            upsert(page.data)
            store(page.cursor)
"""

from __future__ import annotations

import datetime as _dt
import json
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from samsara_fmc import _core
from samsara_fmc.exceptions import ConfigurationError

__all__ = ["DEFAULT_API_VERSION", "Client", "Page", "RetryPolicy", "StatsPage", "encode_params", "path_id"]

DEFAULT_API_VERSION: str = _core.DEFAULT_API_VERSION
"""The ``X-Samsara-Version`` sent unless another is configured (defined once, in the Rust core)."""

Page = _core.Page
StatsPage = _core.StatsPage

ParamValue = str | int | float | bool | _dt.datetime | Sequence[str | int] | None


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How patiently the client retries transient failures (connection errors, timeouts, 408, 429, 5xx).

    The defaults are the core's (``_core.DEFAULT_MAX_ATTEMPTS`` and so on), defined once in Rust.

    Attributes:
        max_attempts: Attempts in all, the first included.
        base_delay: Upper bound of the first backoff in seconds; it doubles per retry (full jitter).
        max_delay: The largest single wait, ``Retry-After`` included.
        max_elapsed: No retry starts after this many seconds from the first attempt.
    """

    max_attempts: int = _core.DEFAULT_MAX_ATTEMPTS
    base_delay: float = _core.DEFAULT_BASE_DELAY
    max_delay: float = _core.DEFAULT_MAX_DELAY
    max_elapsed: float = _core.DEFAULT_MAX_ELAPSED


def encode_params(params: Mapping[str, ParamValue] | None) -> list[tuple[str, str]]:
    """Query parameters as Samsara expects them.

    Lists are comma-joined (``types=gps,engineStates``), booleans are ``true``/``false``, datetimes
    become RFC 3339 UTC, and ``None`` values are dropped.
    """
    out: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out.append((key, "true" if value else "false"))
        elif isinstance(value, _dt.datetime):
            if value.tzinfo is None:
                msg = f"parameter `{key}` is a naive datetime `{value}`: give it a timezone (e.g. UTC)"
                raise ConfigurationError(msg)
            out.append((key, _core.normalize_rfc3339(value.isoformat())))
        elif isinstance(value, str | int | float):
            out.append((key, str(value)))
        else:
            out.append((key, ",".join(str(v) for v in value)))
    return out


def counts_of(raw: tuple[int, int, int]) -> dict[str, int]:
    """A core client's ``(attempts, retries, rate_limited)`` as the summary and health name them."""
    attempts, retries, limited = raw
    return {"attempts": attempts, "retries": retries, "rateLimited": limited}


def path_id(value: str) -> str:
    """Quotes an ID for a path segment: a Samsara ID, or an external ID as ``key:value``.

    >>> path_id("maintenanceId:25/0 20")
    'maintenanceId:25%2F0%2020'
    """
    key, sep, rest = value.partition(":")
    if not sep:
        return urllib.parse.quote(value, safe="")
    return f"{urllib.parse.quote(key, safe='.')}:{urllib.parse.quote(rest, safe='')}"


class Client:
    """A Samsara API client for one token. Build it once (at import in a Function) and reuse it.

    Args:
        token: A Samsara API token or OAuth access token. Never logged.
        region: ``"us"``, ``"eu"`` or ``"ca"``; ignored when ``base_url`` is given.
        base_url: An explicit API URL (https, or http to loopback only, e.g. the local sandbox).
        api_version: The ``X-Samsara-Version`` to pin.
        user_agent: A product token appended to the ``User-Agent``, e.g. ``"acme-sync/1.2"``.
        connect_timeout: Seconds to establish a connection.
        request_timeout: Seconds for one request, body included.
        retry: The retry policy.
        rate_limit: Pace requests to Samsara's documented limits on the client side.
    """

    def __init__(
        self,
        *,
        token: str,
        region: Literal["us", "eu", "ca"] = "us",
        base_url: str | None = None,
        api_version: str = DEFAULT_API_VERSION,
        user_agent: str | None = None,
        connect_timeout: float = _core.DEFAULT_CONNECT_TIMEOUT,
        request_timeout: float = _core.DEFAULT_REQUEST_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_limit: bool = True,
    ) -> None:
        retry = retry or RetryPolicy()
        self._api = _core.ApiClient(
            token,
            base_url=base_url,
            region=region,
            api_version=api_version,
            user_agent_suffix=user_agent,
            connect_timeout=connect_timeout,
            request_timeout=request_timeout,
            max_attempts=retry.max_attempts,
            base_delay=retry.base_delay,
            max_delay=retry.max_delay,
            max_elapsed=retry.max_elapsed,
            rate_limit=rate_limit,
        )

    @property
    def base_url(self) -> str:
        """The API base URL."""
        return self._api.base_url

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` sent."""
        return self._api.user_agent

    @property
    def api_version(self) -> str:
        """The ``X-Samsara-Version`` sent."""
        return self._api.api_version

    def counts(self) -> dict[str, int]:
        """What the client has done since it was built: ``attempts`` (requests sent), ``retries``
        and ``rateLimited`` (429 answers)."""
        return counts_of(self._api.counts())

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases nothing today (connections close with the object); kept for ``with`` blocks."""

    def request(
        self,
        method: Literal["GET", "POST", "PATCH", "PUT", "DELETE"],
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        json_body: Any = None,
        idempotent: bool = False,
        deadline: float | None = None,
    ) -> Any:
        """Sends one request and returns the decoded JSON body (``None`` when empty).

        Args:
            method: The HTTP method.
            path: The path, e.g. ``"/fleet/vehicles/" + path_id(vehicle_id)``.
            params: Query parameters (see :func:`encode_params`).
            json_body: A JSON-serialisable body.
            idempotent: The write is safe to repeat, so it may be retried after a 5xx or timeout.
            deadline: Unix time (as ``time.time()``) after which no request or wait may run.

        Raises:
            ApiError: The request failed (after retries); see the exception tree.
            DeadlineExceeded: The deadline would be overrun.
        """
        body = None if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
        return self._api.request(
            method, path, query=encode_params(params), body=body, idempotent=idempotent, deadline=deadline
        )

    def get(
        self, path: str, *, params: Mapping[str, ParamValue] | None = None, deadline: float | None = None
    ) -> Any:
        """GET ``path`` and return the decoded body."""
        return self.request("GET", path, params=params, deadline=deadline)

    def pages(
        self,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        after: str | None = None,
        deadline: float | None = None,
    ) -> Iterator[Page]:
        """Pages of a list, stream or feed, from ``after`` until ``hasNextPage`` is false.

        Each :class:`Page` has ``data`` (Python objects decoded in Rust), ``cursor`` (what to store
        once the page is delivered; start a later walk with ``after=cursor``) and ``has_next_page``.
        Empty pages with ``hasNextPage: true`` are followed, not taken as the end.
        """
        return self._api.pages(path, query=encode_params(params), after=after, deadline=deadline)

    def records(
        self,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        deadline: float | None = None,
    ) -> Iterator[Any]:
        """Every record of a paged list, for when no checkpoint is needed."""
        for page in self.pages(path, params=params, deadline=deadline):
            yield from page.data

    def stats_pages(
        self,
        *,
        types: Sequence[str],
        after: str | None = None,
        units: Literal["metric", "imperial"] = "metric",
        decorations: Sequence[str] | None = None,
        vehicle_ids: Sequence[str] | None = None,
        tag_ids: Sequence[str] | None = None,
        parent_tag_ids: Sequence[str] | None = None,
        deadline: float | None = None,
        path: str = "/fleet/vehicles/stats/feed",
        extra_params: Mapping[str, ParamValue] | None = None,
    ) -> Iterator[StatsPage]:
        """Follows the vehicle stats feed (or history, via ``path``) as converted NDJSON pages.

        Each :class:`StatsPage` carries ``ndjson`` (one converted record per data point), ``rejects``
        (points without their documented shape, with the reason), their counts, ``cursor`` and
        ``has_next_page``. No Python object is built per record.
        """
        if not 1 <= len(types) <= 3:
            msg = f"`types` takes 1 to 3 stat types (Samsara's limit), got {len(types)}: {list(types)}"
            raise ConfigurationError(msg)
        if decorations and len(decorations) > 2:
            msg = f"`decorations` takes at most 2 stat types (Samsara's limit), got {list(decorations)}"
            raise ConfigurationError(msg)
        params: dict[str, ParamValue] = {
            "types": list(types),
            "decorations": list(decorations) if decorations else None,
            "vehicleIds": list(vehicle_ids) if vehicle_ids else None,
            "tagIds": list(tag_ids) if tag_ids else None,
            "parentTagIds": list(parent_tag_ids) if parent_tag_ids else None,
            **(extra_params or {}),
        }
        return self._api.stats_pages(
            path, query=encode_params(params), after=after, units=units, deadline=deadline
        )
