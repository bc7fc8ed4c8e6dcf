"""DVIR defects, both ways: defects and inspections to the FMC, resolutions from the FMC to Samsara.

Three streams:

* ``defects`` follows ``GET /defects/stream`` (``includeExternalIds=true``) on the ``stream``
  driver and delivers each defect as a ``dvir_defect`` record (a work-order candidate) to
  ``dvir_defects``, joined with its defect type from ``GET /defect-types``. The types are cached in
  Function Storage (``cache/<org>/<function>/defect-types.json``) and read again after
  :data:`TYPES_REFRESH` or when a defect names a type the cache lacks (at most once a run). A defect
  that changes (resolved, mechanic notes) is delivered again under the same ``id``: an upsert.
  Its driver comes from its inspection: before each run of the stream, a small index of the DVIRs
  that found defects (``cache/<org>/<function>/dvir-index.json``: DVIR ID → driver and submission
  time, kept :data:`INDEX_KEEP`) is brought up to date from ``GET /dvirs/stream`` by its own cursor.
* ``dvirs`` follows ``GET /dvirs/stream`` and delivers each inspection as a ``dvir`` record.
* ``ledger.defects`` (the ``ledger`` driver) applies the FMC's ``defect.resolved`` changes
  (``GET /fmc/v1/changes``) as ``PATCH /fleet/defects/{id}`` with ``isResolved: true``,
  ``mechanicNotes``, ``resolvedAtTime`` and ``resolvedBy`` (``type: mechanic``), each exactly once,
  and delivers a ``write_outcome`` per change to ``write_outcomes``. It runs only when the run's sink
  is the FMC endpoint (the feed is the FMC's) and ``resolveWriteBack`` is on; the summary's
  ``writeBack`` says whether it ran and why not.

Each defect carries its type's VMRS system code (Code Key 31) from :mod:`~samsara_fmc.integrations.vmrs`:
the project's small table for Samsara's standard defect types, or the FMC's own (parameter
``vmrsTable``); a type the table lacks is delivered with ``vmrs.unmapped: true``.

Defect photo URLs are never delivered or logged (they expire and may show people): only their count.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from samsara_fmc.client import Client, path_id
from samsara_fmc.engine import (
    LedgerDriver,
    RunContext,
    Stream,
    StreamContext,
    StreamDriver,
    Write,
    run_streams,
)
from samsara_fmc.engine._util import Clock, iso, parse_time, utc_now
from samsara_fmc.engine.ledger import Change
from samsara_fmc.engine.stream import refused_cursor
from samsara_fmc.exceptions import BadRequestError, ConfigurationError
from samsara_fmc.integrations import vmrs
from samsara_fmc.sinks import Batch
from samsara_fmc.sinks.fmc_http import FmcHttpSink
from samsara_fmc.state import fingerprint

__all__ = [
    "DEFECTS_STREAM",
    "DVIRS_STREAM",
    "INDEX_KEEP",
    "OUTCOMES_STREAM",
    "TYPES_REFRESH",
    "defect_record",
    "dvir_record",
    "now",
    "resolve_defect",
    "run",
    "streams",
]

DEFECTS_STREAM = "dvir_defects"
DVIRS_STREAM = "dvirs"
OUTCOMES_STREAM = "write_outcomes"
TYPES_REFRESH = dt.timedelta(hours=24)
"""How long the cached defect types are used before ``GET /defect-types`` is read again."""
INDEX_KEEP = dt.timedelta(days=180)
"""How long a DVIR stays in the index that gives a defect its driver (by the DVIR's submission time);
a defect whose inspection is older, or before the first run's start, is delivered without a driver."""

now = utc_now
"""The current time the streams start from (tests replace it with the sandbox's clock)."""


def streams(ctx: RunContext) -> tuple[list[Stream], dict[str, Any]]:
    """The streams a run follows, and the summary's ``writeBack`` (whether the ledger runs, and why not)."""
    p = ctx.params
    lookback = dt.timedelta(hours=int(p.get("lookbackHours") or 24))
    start: Clock = lambda: now()  # noqa: E731
    if p.get("startTime"):  # the first run starts there: the driver's first startTime is clock() - lookback
        try:
            fixed = parse_time(str(p["startTime"]))
        except ValueError:
            msg = f"parameter `startTime` is `{p['startTime']}`: use a real UTC time, `2026-11-01T00:00:00Z`"
            raise ConfigurationError(msg) from None
        start, lookback = (lambda: fixed), dt.timedelta(0)
    table = vmrs.from_parameter(p.get("vmrsTable"), ctx.storage)  # a bad table stops the run here
    types = DefectTypes(ctx)
    index = DvirIndex(ctx, lambda: iso(start() - lookback))
    query = {"includeExternalIds": True}
    out = [
        Stream(
            name="defects",
            sink_stream=DEFECTS_STREAM,
            fingerprint=fingerprint({"path": "/defects/stream", **query}),
            driver=_Indexed(
                index,
                StreamDriver(
                    client=ctx.client,
                    path="/defects/stream",
                    to_record=lambda item: defect_record(
                        item,
                        types.get(str(item.get("defectTypeId") or "")),
                        index.driver(str(item.get("dvirId") or "")),
                        table,
                    ),
                    params=query,
                    lookback=lookback,
                    clock=start,
                ),
            ),
            newest=_newest,
        ),
        Stream(
            name="dvirs",
            sink_stream=DVIRS_STREAM,
            fingerprint=fingerprint({"path": "/dvirs/stream", **query}),
            driver=StreamDriver(
                client=ctx.client,
                path="/dvirs/stream",
                to_record=dvir_record,
                params=query,
                lookback=lookback,
                clock=start,
            ),
            newest=_newest,
        ),
    ]
    sink = getattr(ctx.sink, "inner", ctx.sink)
    if not p.get("resolveWriteBack", True):
        return out, {"ran": False, "why": "`resolveWriteBack` is `false`"}
    if not isinstance(sink, FmcHttpSink):
        name = getattr(sink, "name", type(sink).__name__)
        why = (
            f"the sink is `{name}`, not the FMC endpoint, so there is no "
            "changes feed: set the `FMC_URL` and `FMC_TOKEN` secrets to resolve defects from the FMC"
        )
        return out, {"ran": False, "why": why}
    mechanic = p.get("mechanicUserId")
    if not mechanic:
        msg = (
            "parameter `mechanicUserId` is not set: set it to the Samsara user ID that resolves defects "
            "for the FMC, or set `resolveWriteBack` to `false`"
        )
        raise ConfigurationError(msg)
    out.append(
        Stream(
            name="ledger.defects",
            sink_stream=OUTCOMES_STREAM,
            fingerprint=fingerprint({"changes": "defect.resolved", "v": 1}),
            driver=LedgerDriver(
                changes=sink.changes,
                writes={"defect.resolved": resolve_defect(ctx.client, str(mechanic))},
                clock=lambda: now(),
            ),
        )
    )
    return out, {"ran": True, "why": None}


def run(ctx: RunContext) -> dict[str, Any]:
    """One run: every stream until caught up, the page limit or the deadline."""
    declared, write_back = streams(ctx)
    if not write_back["ran"]:
        ctx.log.info("defect write-back not run", why=write_back["why"])
    out = run_streams(
        ctx, declared, reset=bool(ctx.params.get("reset")), max_pages=ctx.params.get("maxPages")
    )
    return {**out, "writeBack": write_back}


def resolve_defect(client: Client, mechanic_user_id: str) -> Write:
    """``defect.resolved`` (data: ``defectId``, optional ``mechanicNotes``, ``resolvedAtTime``,
    ``mechanicId``) → ``PATCH /fleet/defects/{id}``. A defect Samsara already shows resolved is
    ``already``; an unknown defect (404) or a refused body (400) is ``rejected``."""

    def target(change: Change) -> str:
        defect = (change.get("data") or {}).get("defectId")
        return str(defect) if defect not in (None, "") else ""

    def verify(change: Change, deadline: float) -> str | None:
        defect = client.request("GET", f"/defects/{path_id(_checked(target(change)))}", deadline=deadline)
        if not isinstance(defect, Mapping) or not defect.get("isResolved"):
            return None
        by = defect.get("resolvedBy") or {}
        return f"resolved at {defect.get('resolvedAtTime')} by {by.get('type')} `{by.get('id')}`"

    def apply(change: Change, deadline: float) -> Any:
        data = change.get("data") or {}
        body = {
            "isResolved": True,
            "mechanicNotes": str(data.get("mechanicNotes") or f"Resolved in the FMC (change {change['id']})"),
            "resolvedAtTime": str(data.get("resolvedAtTime") or change["at"]),
            "resolvedBy": {"type": "mechanic", "id": str(data.get("mechanicId") or mechanic_user_id)},
        }
        return client.request(
            "PATCH", f"/fleet/defects/{path_id(_checked(target(change)))}", json_body=body, deadline=deadline
        )

    return Write(kind="defect", target=lambda c: target(c) or None, apply=apply, verify=verify)


def _checked(defect_id: str) -> str:
    """A change without a ``defectId`` names no defect: ``0`` (no Samsara ID) makes Samsara answer 404,
    so the change is ``rejected`` like any unknown defect."""
    return defect_id or "0"


def _asset(obj: Any) -> dict[str, Any] | None:
    if not isinstance(obj, Mapping) or not obj.get("id"):
        return None
    ext = obj.get("externalIds")
    return {"id": str(obj["id"]), "externalIds": dict(ext) if isinstance(ext, Mapping) else None}


def defect_record(
    item: Mapping[str, Any],
    kind: Mapping[str, Any] | None,
    driver_id: str | None = None,
    table: vmrs.VmrsTable | None = None,
) -> dict[str, Any]:
    """A ``/defects/stream`` item as a ``dvir_defect`` record: ``kind`` is its defect type (or
    ``None``), ``driver_id`` the driver who signed its DVIR (or ``None``), ``table`` the VMRS table
    (the project's when ``None``)."""
    by = item.get("resolvedBy")
    resolved_by = None
    if isinstance(by, Mapping) and by.get("id"):
        resolved_by = {"id": str(by["id"]), "name": by.get("name"), "type": str(by.get("type") or "")}
    type_id = item.get("defectTypeId")
    return {
        "id": str(item["id"]),
        "schemaVersion": 1,
        "defectId": str(item["id"]),
        "dvirId": str(item.get("dvirId") or ""),
        "defectTypeId": None if type_id is None else str(type_id),
        "defectType": (kind or {}).get("label"),
        "section": (kind or {}).get("sectionType"),
        "severity": (kind or {}).get("severity"),
        "safetyStatus": item.get("defectSafetyStatus"),
        "vehicle": _asset(item.get("vehicle")),
        "trailer": _asset(item.get("trailer")),
        "driverId": driver_id,
        "comment": str(item.get("comment") or ""),
        "inspectedAtTime": item.get("createdAtTime"),
        "photoCount": len(item.get("defectPhotos") or []),
        "isResolved": bool(item.get("isResolved")),
        "resolvedAtTime": item.get("resolvedAtTime"),
        "resolvedBy": resolved_by,
        "mechanicNotes": item.get("mechanicNotes"),
        "vmrs": (table or _builtin_vmrs()).lookup(
            None if type_id is None else str(type_id), (kind or {}).get("label")
        ),
        "updatedAtTime": str(item.get("updatedAtTime") or ""),
    }


@functools.cache
def _builtin_vmrs() -> vmrs.VmrsTable:
    return vmrs.builtin()


def dvir_record(item: Mapping[str, Any]) -> dict[str, Any]:
    """A ``/dvirs/stream`` item as a ``dvir`` record."""
    sig = item.get("authorSignature")
    author = None
    if isinstance(sig, Mapping):
        user = sig.get("signatoryUser") or {}
        author = {
            "id": None if not user.get("id") else str(user["id"]),
            "type": sig.get("type"),
            "signedAtTime": sig.get("signedAtTime"),
        }
    odometer = item.get("odometerMeters")
    return {
        "id": str(item["id"]),
        "schemaVersion": 1,
        "dvirId": str(item["id"]),
        "type": item.get("type"),
        "startTime": item.get("dvirSubmissionBeginTime"),
        "endTime": item.get("dvirSubmissionTime"),
        "vehicle": _asset(item.get("vehicle")),
        "trailer": _asset(item.get("trailer")),
        "author": author,
        "driverId": author["id"] if author and author["type"] == "driver" else None,
        "safetyStatus": item.get("safetyStatus"),
        "defectIds": [str(d) for d in item.get("defectIds") or []],
        "odometerMeters": int(odometer) if isinstance(odometer, int | float) else None,
        "location": item.get("formattedAddress"),
        "mechanicNotes": item.get("mechanicNotes"),
        "updatedAtTime": str(item.get("updatedAtTime") or ""),
    }


class DefectTypes:
    """``GET /defect-types`` by ID, cached in Function Storage for :data:`TYPES_REFRESH`; a type the
    cache lacks reads them again, at most once a run."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self._key = f"cache/{ctx.org_id}/{ctx.function}/defect-types.json"
        self._types: dict[str, dict[str, Any]] | None = None
        self._refreshed = False
        self._lock = threading.Lock()

    def get(self, type_id: str) -> dict[str, Any] | None:
        """The defect type ``type_id`` (``label``, ``sectionType``, ``severity``), or ``None``."""
        if not type_id:
            return None
        with self._lock:
            if self._types is None:
                self._types = self._load()
            if type_id not in self._types and not self._refreshed:
                self._types = self._fetch()
            return self._types.get(type_id)

    def _load(self) -> dict[str, dict[str, Any]]:
        raw = self._ctx.storage.get(self._key)
        if raw:
            doc = json.loads(raw)
            if time.time() - float(doc.get("fetchedAt", 0)) < TYPES_REFRESH.total_seconds():
                return dict(doc.get("types") or {})
        return self._fetch()

    def _fetch(self) -> dict[str, dict[str, Any]]:
        self._refreshed = True
        types = {}
        for t in self._ctx.client.records(
            "/defect-types", params={"limit": 512}, deadline=self._ctx.deadline
        ):
            types[str(t["id"])] = {k: t.get(k) for k in ("label", "sectionType", "severity")}
        doc = {"fetchedAt": time.time(), "types": types}
        self._ctx.storage.put(self._key, json.dumps(doc, sort_keys=True).encode())
        self._ctx.log.info("defect types read", count=len(types))
        return types


class DvirIndex:
    """DVIR ID → the driver who signed it, for the DVIRs that found defects; followed from
    ``GET /dvirs/stream`` by a cursor of its own and kept in Function Storage."""

    def __init__(self, ctx: RunContext, first: Callable[[], str]) -> None:
        self._ctx = ctx
        self._first = first
        self._key = f"cache/{ctx.org_id}/{ctx.function}/dvir-index.json"
        self._dvirs: dict[str, list[Any]] = {}

    def follow(self, deadline: float) -> None:
        """Reads the DVIRs changed since the last follow, then saves the index (also when stopped)."""
        raw = self._ctx.storage.get(self._key)
        doc: dict[str, Any] = (
            json.loads(raw) if raw else {"startTime": self._first(), "cursor": None, "dvirs": {}}
        )
        self._dvirs = doc["dvirs"]
        try:
            try:
                self._read(doc, deadline)
            except BadRequestError as e:
                if not doc.get("cursor") or not refused_cursor(e):
                    raise
                doc["cursor"] = None  # a refused cursor: read again from the start (the index is a map)
                self._read(doc, deadline)
        finally:
            cut = iso(now() - INDEX_KEEP)
            self._dvirs = {k: v for k, v in self._dvirs.items() if str(v[1] or "") >= cut}
            doc["dvirs"] = self._dvirs
            self._ctx.storage.put(self._key, json.dumps(doc, sort_keys=True).encode())

    def _read(self, doc: dict[str, Any], deadline: float) -> None:
        params = {"startTime": doc["startTime"], "limit": 200}
        for page in self._ctx.client.pages(
            "/dvirs/stream", params=params, after=doc["cursor"], deadline=deadline
        ):
            for item in page.data:
                record = dvir_record(item)
                if record["defectIds"]:
                    self._dvirs[record["dvirId"]] = [record["driverId"], record["endTime"]]
            doc["cursor"] = page.cursor or doc["cursor"]

    def driver(self, dvir_id: str) -> str | None:
        """The driver who signed DVIR ``dvir_id``; ``None`` for a mechanic's DVIR or one not indexed."""
        entry = self._dvirs.get(dvir_id)
        return None if entry is None or entry[0] is None else str(entry[0])


@dataclass(frozen=True)
class _Indexed:
    """A stream driver run after the DVIR index is brought up to date."""

    index: DvirIndex
    inner: StreamDriver

    def run(self, ctx: StreamContext) -> bool:
        self.index.follow(ctx.deadline)
        return self.inner.run(ctx)


def _newest(batch: Batch) -> str | None:
    """The newest ``updatedAtTime`` in a delivered batch."""
    times = [str(json.loads(line).get("updatedAtTime") or "") for line in batch.ndjson().splitlines() if line]
    return max((t for t in times if t), default=None)
