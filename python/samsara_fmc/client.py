"""The Samsara API client.

A thin, typed façade over the Rust core: paging, retries with backoff, rate limiting, deadlines and
JSON decoding all happen in Rust with the GIL released. ::

    with Client(token=secrets["SAMSARA_API_TOKEN"], region="eu") as client:
        org = client.get("/me")["data"]
        for page in client.pages("/fleet/vehicles", params={"limit": 512}):
            upsert(page.data)
            store(page.cursor)

Writes (``post``, ``patch``, ``put``, ``delete``) take ``idempotent=`` explicitly: ``True`` lets the
client repeat the request after a 5xx, a timeout or a cut connection, which is only right when doing
it twice does no harm (setting fields to values, resolving a defect). Samsara's API has no
idempotency keys; :meth:`Client.create_once` makes a create safe to repeat through an external ID.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from samsara_fmc import _core
from samsara_fmc.exceptions import ConfigurationError, NotFoundError, ServerError, TransportError
from samsara_fmc.external_ids import external_id
from samsara_fmc.types import Defect, Driver, SafetyEvent, StatRecord, StatType, Tag, Vehicle

__all__ = [
    "DEFAULT_API_VERSION",
    "Client",
    "Page",
    "RetryPolicy",
    "StatsPage",
    "encode_params",
    "path_id",
    "stat_records",
]

DEFAULT_API_VERSION: str = _core.DEFAULT_API_VERSION
"""The ``X-Samsara-Version`` sent unless another is configured (defined once, in the Rust core)."""

Page = _core.Page
StatsPage = _core.StatsPage

ParamValue = str | int | float | bool | _dt.datetime | Sequence[str | int] | None

Method = Literal["GET", "POST", "PATCH", "PUT", "DELETE"]


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


def counts_of(raw: tuple[int, int, int, int, int]) -> dict[str, int]:
    """A core client's counters as the summary and health name them: ``attempts``, ``retries``,
    ``rateLimited`` (429 answers), ``pacedMs`` (waiting on the client's own rate limits before sending)
    and ``backoffMs`` (waiting between a failed attempt and its retry, ``Retry-After`` included)."""
    attempts, retries, limited, paced_ms, backoff_ms = raw
    return {
        "attempts": attempts,
        "retries": retries,
        "rateLimited": limited,
        "pacedMs": paced_ms,
        "backoffMs": backoff_ms,
    }


def stat_records(ndjson: bytes) -> list[StatRecord]:
    """The records of a :class:`StatsPage`'s ``ndjson`` (or ``rejects``) as typed dicts.

    Decoding builds a Python object per record, which ``stats_pages`` exists to avoid; use it where
    the records are read in Python, deliver ``page.ndjson`` as it is where they are only passed on.
    """
    return [json.loads(line) for line in ndjson.splitlines() if line]


def _check_stat_types(name: str, types: object) -> list[str]:
    """``types`` as a list; a bare string (``types="gps"``) would otherwise be sent letter by letter.

    Names are not checked against :data:`~samsara_fmc.types.STAT_TYPES` at run time: Samsara adds stat
    types without a new API version, and refuses an unknown one with a 400 naming the parameter.
    """
    if isinstance(types, str | bytes):
        msg = f"`{name}` takes a list of stat types, not the string `{types!r}`: write {name}=[{types!r}]"
        raise ConfigurationError(msg)
    if not isinstance(types, Sequence) or not all(isinstance(t, str) for t in types):
        msg = (
            f"`{name}` takes a list of stat type names, got `{types!r}`: e.g. {name}=['gps', 'engineStates']"
        )
        raise ConfigurationError(msg)
    return list(types)


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

    @classmethod
    def from_env(cls, *, environ: Mapping[str, str] | None = None, **options: Any) -> Client:
        """A client from the environment, as the examples and the README's snippets build it.

        ``SAMSARA_API_TOKEN`` (required), ``SAMSARA_BASE_URL`` (optional: another API URL, e.g. the
        local sandbox's ``http://127.0.0.1:PORT``) and ``SAMSARA_REGION`` (optional: ``us``, ``eu`` or
        ``ca``; ignored with a base URL), the names the Functions' secrets use. ``options`` are the
        constructor's other keyword arguments.

        Raises:
            ConfigurationError: ``SAMSARA_API_TOKEN`` is not set.
        """
        env = os.environ if environ is None else environ
        token = env.get("SAMSARA_API_TOKEN", "").strip()
        if not token:
            msg = (
                "`SAMSARA_API_TOKEN` is not set: export an API token (Settings → API Tokens), and"
                " `SAMSARA_BASE_URL` for anything but the region's API (e.g. the local sandbox)"
            )
            raise ConfigurationError(msg)
        options.setdefault("base_url", env.get("SAMSARA_BASE_URL") or None)
        options.setdefault("region", env.get("SAMSARA_REGION") or "us")
        return cls(token=token, **options)

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
        """What the client has done since it was built: ``attempts`` (requests sent), ``retries``,
        ``rateLimited`` (429 answers), and the milliseconds spent waiting on its own pacing
        (``pacedMs``) and between retries (``backoffMs``): the share of a run lost to rate limits."""
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
        method: Method,
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

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        idempotent: bool,
        params: Mapping[str, ParamValue] | None = None,
        deadline: float | None = None,
    ) -> Any:
        """POST ``json`` to ``path`` and return the decoded body.

        ``idempotent`` must be given: ``True`` only when sending the request twice does no harm, as it
        lets the client repeat it after a 5xx, a timeout or a cut connection. A create is not: use
        :meth:`create_once`. A 429 and a refused connection are retried either way (nothing was done).
        """
        return self.request(
            "POST", path, params=params, json_body=json, idempotent=idempotent, deadline=deadline
        )

    def patch(
        self,
        path: str,
        *,
        json: Any,
        idempotent: bool,
        params: Mapping[str, ParamValue] | None = None,
        deadline: float | None = None,
    ) -> Any:
        """PATCH ``path`` with ``json`` and return the decoded body.

        A PATCH that sets fields to values (``{"isResolved": true}``, ``{"notes": "…"}``) is idempotent;
        one whose effect depends on what is there (a tag's member list built from a read) may not be.
        """
        return self.request(
            "PATCH", path, params=params, json_body=json, idempotent=idempotent, deadline=deadline
        )

    def put(
        self,
        path: str,
        *,
        json: Any,
        idempotent: bool,
        params: Mapping[str, ParamValue] | None = None,
        deadline: float | None = None,
    ) -> Any:
        """PUT ``json`` to ``path`` (a full replacement) and return the decoded body."""
        return self.request(
            "PUT", path, params=params, json_body=json, idempotent=idempotent, deadline=deadline
        )

    def delete(
        self,
        path: str,
        *,
        idempotent: bool,
        params: Mapping[str, ParamValue] | None = None,
        deadline: float | None = None,
    ) -> Any:
        """DELETE ``path``; ``None`` for Samsara's usual ``204 No Content``.

        With ``idempotent=True`` a repeat after a lost answer may meet a 404 (the first one deleted it):
        catch :class:`NotFoundError` where that counts as done.
        """
        return self.request("DELETE", path, params=params, idempotent=idempotent, deadline=deadline)

    def find(self, path: str, *, deadline: float | None = None) -> Any | None:
        """GET ``path``'s ``data``, or ``None`` on a 404: a lookup, e.g. by external ID
        (``client.find("/fleet/drivers/" + path_id("payrollId:ABFS18600"))``)."""
        try:
            body = self.get(path, deadline=deadline)
        except NotFoundError:
            return None
        return body.get("data") if isinstance(body, dict) else body

    def create_once(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        key: str,
        attempts: int = 3,
        deadline: float | None = None,
    ) -> tuple[Any, bool]:
        """Creates the object ``body`` describes at ``path`` unless it exists; ``(object, created)``.

        ``body["externalIds"][key]`` is what makes this safe: the object is first looked up as
        ``path/key:value``; after an answer that may hide a create that happened (a 5xx, a timeout, a
        cut connection) it is looked up again before any resend, so running this twice, or retrying
        it, never creates two. Other errors (a 400 naming the field, a 403) are raised at once.

        Raises:
            ConfigurationError: ``body`` has no ``externalIds[key]``, or the external ID breaks the
                character rules (see :mod:`samsara_fmc.external_ids`).
            ApiError: The create failed, after ``attempts`` tries with a look-up between them.
        """
        ext = body.get("externalIds")
        value = ext.get(key) if isinstance(ext, Mapping) else None
        if not isinstance(value, str | int) or value == "":
            msg = f"`body` has no `externalIds.{key}`: a create is made safe to repeat by that external ID"
            raise ConfigurationError(msg)
        if attempts < 1:
            raise ConfigurationError(f"`attempts` `{attempts}` must be ≥ 1")
        lookup = f"{path.rstrip('/')}/{path_id(external_id(key, value))}"
        existing = self.find(lookup, deadline=deadline)
        if existing is not None:
            return existing, False
        for attempt in range(1, attempts + 1):
            try:
                created = self.post(path, json=dict(body), idempotent=False, deadline=deadline)
            except (ServerError, TransportError):
                existing = self.find(lookup, deadline=deadline)
                if existing is not None:
                    return existing, True
                if attempt == attempts:
                    raise
                continue
            return (created.get("data") if isinstance(created, dict) else created), True
        raise AssertionError("unreachable")  # pragma: no cover

    def vehicles(
        self, *, params: Mapping[str, ParamValue] | None = None, deadline: float | None = None
    ) -> Iterator[Vehicle]:
        """Every vehicle (``GET /fleet/vehicles``, 512 a page); ``params`` filters (``tagIds``, …)."""
        yield from self.records("/fleet/vehicles", params={"limit": 512, **(params or {})}, deadline=deadline)

    def vehicle(self, vehicle_id: str, *, deadline: float | None = None) -> Vehicle:
        """One vehicle by Samsara ID or external ID (``maintenanceId:250020``, ``samsara.vin:…``).

        Raises:
            NotFoundError: No such vehicle.
        """
        body: dict[str, Vehicle] = self.get("/fleet/vehicles/" + path_id(vehicle_id), deadline=deadline)
        return body["data"]

    def drivers(
        self,
        *,
        status: Literal["active", "deactivated"] = "active",
        params: Mapping[str, ParamValue] | None = None,
        deadline: float | None = None,
    ) -> Iterator[Driver]:
        """Every driver of ``status`` (``GET /fleet/drivers``; Samsara lists active ones unless asked)."""
        query: dict[str, ParamValue] = {"limit": 512, "driverActivationStatus": status, **(params or {})}
        yield from self.records("/fleet/drivers", params=query, deadline=deadline)

    def driver(self, driver_id: str, *, deadline: float | None = None) -> Driver:
        """One driver by Samsara ID or external ID (``payrollId:ABFS18600``).

        Raises:
            NotFoundError: No such driver.
        """
        body: dict[str, Driver] = self.get("/fleet/drivers/" + path_id(driver_id), deadline=deadline)
        return body["data"]

    def tags(self, *, deadline: float | None = None) -> Iterator[Tag]:
        """Every tag (``GET /tags``)."""
        yield from self.records("/tags", params={"limit": 512}, deadline=deadline)

    def defects(
        self,
        *,
        start_time: _dt.datetime,
        end_time: _dt.datetime | None = None,
        is_resolved: bool | None = None,
        deadline: float | None = None,
    ) -> Iterator[Defect]:
        """DVIR defects updated from ``start_time`` (``GET /defects/stream``), with external IDs.

        Without ``end_time`` the stream ends where Samsara has nothing newer; to follow it for good,
        keep the last page's cursor (``pages("/defects/stream", …)``) as the ``dvir-defects`` Function does.
        """
        params: dict[str, ParamValue] = {
            "startTime": start_time,
            "endTime": end_time,
            "isResolved": is_resolved,
            "includeExternalIds": True,
            "limit": 200,
        }
        yield from self.records("/defects/stream", params=params, deadline=deadline)

    def safety_events(
        self,
        *,
        start_time: _dt.datetime,
        end_time: _dt.datetime | None = None,
        behavior_labels: Sequence[str] | None = None,
        deadline: float | None = None,
    ) -> Iterator[SafetyEvent]:
        """Safety events updated from ``start_time`` (``GET /safety-events/stream``)."""
        params: dict[str, ParamValue] = {
            "startTime": start_time,
            "endTime": end_time,
            "behaviorLabels": list(behavior_labels) if behavior_labels else None,
        }
        yield from self.records("/safety-events/stream", params=params, deadline=deadline)

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
        types: Sequence[StatType],
        after: str | None = None,
        units: Literal["metric", "imperial"] = "metric",
        decorations: Sequence[StatType] | None = None,
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
        type_list = _check_stat_types("types", types)
        decoration_list = _check_stat_types("decorations", decorations) if decorations is not None else []
        if not 1 <= len(type_list) <= 3:
            msg = f"`types` takes 1 to 3 stat types (Samsara's limit), got {len(type_list)}: {type_list}"
            raise ConfigurationError(msg)
        if len(decoration_list) > 2:
            msg = f"`decorations` takes at most 2 stat types (Samsara's limit), got {decoration_list}"
            raise ConfigurationError(msg)
        params: dict[str, ParamValue] = {
            "types": type_list,
            "decorations": decoration_list or None,
            "vehicleIds": list(vehicle_ids) if vehicle_ids else None,
            "tagIds": list(tag_ids) if tag_ids else None,
            "parentTagIds": list(parent_tag_ids) if parent_tag_ids else None,
            **(extra_params or {}),
        }
        return self._api.stats_pages(
            path, query=encode_params(params), after=after, units=units, deadline=deadline
        )
