"""Links written back to Samsara as the FMC's external ID: the plan (one ``PATCH`` per link not yet
recorded) and its application.

A ``PATCH`` of ``/fleet/vehicles/{id}`` or ``/fleet/drivers/{id}`` carries only the key the FMC
owns: ``{"externalIds": {"fmcId": "FMC-100042"}}``. Samsara keeps the object's other external IDs
(a ``PATCH`` merges the keys it names into the map) and refuses any body that names an automatic
``samsara.*`` key, so the record's current map is never copied into the body.

Key and value rules checked before any request: Samsara documents letters-and-digits keys as the
safe choice, and a value is used in paths (``fmcId:FMC-100042``) and in comma-separated ID filters,
so it must be printable ASCII without spaces, ``/`` or ``,``, at most 128 characters; a value is
unique per key across the organisation's vehicles, drivers, tags and trailers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from samsara_fmc.client import Client, path_id
from samsara_fmc.exceptions import ApiError, ConfigurationError
from samsara_fmc.matching._records import as_mapping, record_id

if TYPE_CHECKING:
    from samsara_fmc.matching._csv import Link

_KEY = re.compile(r"[A-Za-z0-9]{1,32}")
_VALUE = re.compile(r"[!-~]{1,128}")


def check_external_id(key: str, value: str) -> None:
    """Raise :class:`~samsara_fmc.exceptions.ConfigurationError` unless ``key: value`` is an external
    ID the write-back may send (see the module notes)."""
    if key.startswith("samsara."):
        raise ConfigurationError(
            f"external ID key `{key}` is one of Samsara's automatic keys, which cannot be written: "
            "choose a key of your own, e.g. `fmcId`"
        )
    if not _KEY.fullmatch(key):
        raise ConfigurationError(
            f"external ID key `{key}` must be 1-32 ASCII letters and digits (e.g. `fmcId`)"
        )
    if not _VALUE.fullmatch(value) or "/" in value or "," in value:
        raise ConfigurationError(
            f"`{value}` cannot be the value of external ID `{key}`: it must be 1-128 printable ASCII "
            "characters without spaces, `/` or `,`; fix the id at the FMC or match on another id column"
        )


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
    check_external_id(key, "x")
    out: list[Patch] = []
    for ln in links:
        sid, fid = record_id(ln.left, kind), record_id(ln.right, kind)
        if not sid or not fid or _current(as_mapping(ln.left), key) == fid:
            continue
        check_external_id(key, fid)
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
    is reported and the others still go."""
    report = ApplyReport()
    for p in patches:
        try:
            answer = client.request("PATCH", p.path, json_body=p.body, idempotent=True, deadline=deadline)
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
