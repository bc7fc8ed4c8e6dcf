"""Links written back to Samsara as the FMC's external ID: the plan (one ``PATCH`` per link not yet
recorded) and its application.

A ``PATCH`` of ``/fleet/vehicles/{id}`` or ``/fleet/drivers/{id}`` carries only the key the FMC
owns: ``{"externalIds": {"fmcId": "FMC-100042"}}``. Samsara keeps the object's other external IDs
(a ``PATCH`` merges the keys it names into the map) and refuses any body that names an automatic
``samsara.*`` key, so the record's current map is never copied into the body.

Keys and values are checked before any request by :mod:`samsara_fmc.external_ids` (a key is 1-32
ASCII letters and digits; a value 1-128 printable ASCII characters without spaces, ``/`` or ``,``);
a value is unique per key across the organisation's vehicles, drivers, tags and trailers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from samsara_fmc.client import Client, path_id
from samsara_fmc.exceptions import ApiError, AuthenticationError, ConfigurationError, PermissionDeniedError
from samsara_fmc.external_ids import external_id
from samsara_fmc.matching._records import as_mapping, record_id

if TYPE_CHECKING:
    from samsara_fmc.matching._csv import Link


@dataclass(frozen=True)
class Patch:
    """One write of the plan: ``PATCH path`` with ``body``, recording ``fmc_id`` on ``samsara_id``."""

    samsara_id: str
    fmc_id: str
    path: str
    body: dict[str, dict[str, str]]


def plan(kind: str, links: Iterable[Link], key: str) -> list[Patch]:
    """The ``PATCH`` requests that record each link's FMC id under ``key`` on the Samsara record,
    skipping links Samsara already records (``externalIds[key]`` equal to the FMC id).

    Raises:
        ConfigurationError: ``key`` or an FMC id breaks the external-ID rules; nothing is planned.
    """
    collection = {"vehicles": "/fleet/vehicles/", "drivers": "/fleet/drivers/"}[kind]
    external_id(key, "x")
    out: list[Patch] = []
    for ln in links:
        sid, fid = record_id(ln.left, kind), record_id(ln.right, kind)
        if not sid or not fid or _current(as_mapping(ln.left), key) == fid:
            continue
        try:
            external_id(key, fid)
        except ConfigurationError as e:
            raise ConfigurationError(
                f"{e}; it is the FMC id linked to Samsara {kind[:-1]} `{sid}`: fix it at the FMC, or "
                "match on an id column whose values qualify"
            ) from None
        out.append(Patch(sid, fid, collection + path_id(sid), {"externalIds": {key: fid}}))
    return out


def _current(record: Mapping[str, Any], key: str) -> str | None:
    """The record's value for external ID ``key``: from an ``externalIds`` mapping or a flattened
    ``externalIds.<key>`` CSV column."""
    ids = record.get("externalIds")
    if isinstance(ids, Mapping) and ids.get(key) not in (None, ""):
        return str(ids[key])
    flat = record.get(f"externalIds.{key}")
    return str(flat) if flat not in (None, "") else None


@dataclass
class ApplyReport:
    """What :func:`apply` did: patches written (and confirmed in the answer) and those that failed."""

    written: list[Patch] = field(default_factory=list)
    failed: list[tuple[Patch, str]] = field(default_factory=list)


def apply(client: Client, patches: Iterable[Patch], *, deadline: float | None = None) -> ApplyReport:
    """Send each patch (idempotent: setting a key to a value may be repeated after a timeout) and
    check that the answer carries the value. A refused patch (e.g. a value another object holds)
    is reported and the others still go.

    Raises:
        AuthenticationError, PermissionDeniedError: The token is refused or lacks Write Vehicles /
            Write Drivers: no other patch could succeed, so none is tried (those already written
            stay; a new plan leaves them out).
    """
    report = ApplyReport()
    for p in patches:
        try:
            answer = client.patch(p.path, json=p.body, idempotent=True, deadline=deadline)
        except (AuthenticationError, PermissionDeniedError):
            raise
        except ApiError as e:
            report.failed.append((p, str(e)))
            continue
        ((key, value),) = p.body["externalIds"].items()
        data = answer.get("data") if isinstance(answer, Mapping) else None
        got = _current(data, key) if isinstance(data, Mapping) else None
        if got == value:
            report.written.append(p)
        else:
            report.failed.append((p, f"the answer shows externalIds.{key} = `{got}`, not `{value}`"))
    return report
