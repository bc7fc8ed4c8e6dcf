"""assignment-sync: driver-vehicle assignments, both ways.

Two streams:

* ``assignments`` reads ``GET /fleet/driver-vehicle-assignments`` (``filterBy=vehicles``, a time
  window; the endpoint has no ``limit`` and is paged by ``after``) on the ``windows`` driver: windows of
  ``windowHours`` up to now less ``settleMinutes``, the trailing ``overlapHours`` read again each run.
  The endpoint returns every assignment that overlaps the window, so an ongoing one comes back in each
  window while it lasts: the driver keeps its digest with every window that returns it
  (``keep_repeats``), and it is delivered once, then again under the same ``id`` when it changes (it
  ends, its end moves, the FMC's ID of its driver or vehicle appears). The record carries the driver's
  and the vehicle's Samsara IDs and the FMC's (their external IDs under ``driverIdKey`` and
  ``vehicleIdKey``, as vehicle-sync and driver-sync write them). An ongoing assignment that began before
  the first run's ``lookbackHours`` is delivered too (it overlaps the first window). Its limit: an end
  set afterwards more than ``overlapHours`` before the mark (a window ended long ago, after the fact)
  is not read again. Samsara returns assignments outside the vehicles' trips only for a named
  ``assignmentType``: ``assignmentTypes`` reads each named type apart.
* ``ledger.assignments`` (the ``ledger`` driver, when ``writeBack`` is on: the FMC is the source of
  truth) applies the FMC's ``assignment.created``, ``assignment.changed`` and ``assignment.ended``
  changes, each exactly once, and delivers a ``write_outcome`` per change. All writes go to the
  collection path, the assignment named in the body by its vehicle, driver and ``startTime``; the
  client paces them to Samsara's 100 writes per minute (the endpoint table).

  - ``assignment.created`` (data: the vehicle as ``vehicleId`` (Samsara) or ``fmcVehicleId``, the
    driver as ``driverId`` or ``fmcDriverId``, ``startTime``, optional ``endTime`` and
    ``isPassenger``) → ``POST`` with ``metadata.sourceName`` (``sourceName``). The API has no
    idempotency key, but vehicle, driver and start are what Samsara identifies an assignment by: before
    every send (the first one, and after a crash or a lost answer, once the intent is saved) the
    vehicle's assignments at that start are read back (``assignmentType=external``, so ones outside its
    trips are listed), and one with that driver and start means the create happened: ``already``.
  - ``assignment.changed`` (the same names, ``startTime``, and ``endTime`` (``null``: ongoing again)
    and/or ``isPassenger``) and ``assignment.ended`` (``endTime``, else the change's time) → ``PATCH``.
    An assignment that already shows the values is ``already`` and nothing is sent; one Samsara does not
    have (or did not make through the API) is ``rejected`` (404).

  The FMC's IDs are looked up first (``GET /fleet/vehicles/{key:value}``, ``/fleet/drivers/…``): an
  unlinked vehicle or driver is ``rejected``, naming the Function that links it. ``reset`` never resets
  the ledger (see :mod:`._writeback`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from samsara_fmc.client import Client, ParamValue, path_id
from samsara_fmc.engine import LedgerDriver, RunContext, Stream, WindowsDriver, Write
from samsara_fmc.engine._util import Clock, iso, parse_time, utc_now
from samsara_fmc.engine.ledger import Change
from samsara_fmc.exceptions import ConfigurationError, NotFoundError, ResponseDecodeError
from samsara_fmc.integrations._writeback import changes_feed, external_id_problem, run_both
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint

__all__ = [
    "CHANGE_TYPES",
    "OUTCOMES_STREAM",
    "PATH",
    "SINK_STREAM",
    "Assignment",
    "assignment_id",
    "create_assignment",
    "now",
    "patch_assignment",
    "run",
    "streams",
    "to_record",
]

SINK_STREAM = "driver_vehicle_assignments"
OUTCOMES_STREAM = "write_outcomes"
PATH = "/fleet/driver-vehicle-assignments"
CHANGE_TYPES = ("assignment.created", "assignment.changed", "assignment.ended")
KIND = "driverVehicleAssignment"

now: Clock = utc_now
"""The current time (tests set the sandbox's simulated clock)."""


def _ms(text: str) -> int:
    return int(parse_time(text).timestamp() * 1000)


def assignment_id(vehicle_id: str, driver_id: str, start: str) -> str:
    """An assignment's stable id: vehicle, driver and start (Unix ms), what Samsara identifies it by."""
    return f"{vehicle_id}:{driver_id}:{_ms(start)}"


def _ext(obj: Mapping[str, Any]) -> dict[str, str] | None:
    ext = obj.get("externalIds")
    return {str(k): str(v) for k, v in ext.items()} if isinstance(ext, Mapping) else None


def to_record(
    item: Mapping[str, Any], *, driver_key: str = "fmcId", vehicle_key: str = "fmcId"
) -> dict[str, Any]:
    """A ``/fleet/driver-vehicle-assignments`` item as a ``driver_vehicle_assignment`` record."""
    driver, vehicle = item.get("driver") or {}, item.get("vehicle") or {}
    d_ext, v_ext = _ext(driver), _ext(vehicle)
    start = iso(parse_time(str(item["startTime"])))
    end = iso(parse_time(str(item["endTime"]))) if item.get("endTime") else None
    assigned = item.get("assignedAtTime")
    return {
        "id": assignment_id(str(vehicle.get("id")), str(driver.get("id")), start),
        "schemaVersion": 1,
        "driverId": str(driver.get("id")),
        "driverName": driver.get("name"),
        "fmcDriverId": (d_ext or {}).get(driver_key),
        "driverExternalIds": d_ext,
        "vehicleId": str(vehicle.get("id")),
        "vehicleName": vehicle.get("name"),
        "fmcVehicleId": (v_ext or {}).get(vehicle_key),
        "vehicleExternalIds": v_ext,
        "startTime": start,
        "endTime": end,
        "ongoing": end is None,
        "assignedAtTime": iso(parse_time(str(assigned))) if assigned else None,
        "assignmentType": item.get("assignmentType"),
        "isPassenger": bool(item.get("isPassenger")),
        "sourceName": (item.get("metadata") or {}).get("sourceName"),
    }


def _window_params(start: dt.datetime, end: dt.datetime, kind: str | None) -> dict[str, ParamValue]:
    params: dict[str, ParamValue] = {"filterBy": "vehicles", "startTime": iso(start), "endTime": iso(end)}
    if kind:
        params["assignmentType"] = kind
    return params


def streams(ctx: RunContext) -> tuple[list[Stream], list[Stream], dict[str, Any]]:
    """The inbound stream, the ledger stream (if it runs) and the summary's ``writeBack``."""
    p = ctx.params
    client = ctx.client
    driver_key, vehicle_key = str(p.get("driverIdKey") or "fmcId"), str(p.get("vehicleIdKey") or "fmcId")
    for name, key in (("driverIdKey", driver_key), ("vehicleIdKey", vehicle_key)):
        if not key.isascii() or not key.isalnum() or len(key) > 32 or key.startswith("samsara"):
            msg = f"parameter `{name}` is `{key}`: use 1 to 32 ASCII letters and digits, not `samsara…`"
            raise ConfigurationError(msg)
    kinds: list[str | None] = [str(k) for k in p.get("assignmentTypes") or []] or [None]

    def fetch(start: dt.datetime, end: dt.datetime, deadline: float) -> Iterator[Sequence[Mapping[str, Any]]]:
        # The endpoint's range includes both ends; `[start, end)` is what the window asks for, and a
        # window touching an assignment only at its end repeats a record the previous one returned.
        for kind in kinds:
            for page in client.pages(PATH, params=_window_params(start, end, kind), deadline=deadline):
                yield list(page.data)

    def record(item: Mapping[str, Any]) -> dict[str, Any]:
        return to_record(item, driver_key=driver_key, vehicle_key=vehicle_key)

    inbound = [
        Stream(
            name="assignments",
            sink_stream=SINK_STREAM,
            fingerprint=fingerprint(
                {"path": PATH, "types": [k for k in kinds if k], "keys": [driver_key, vehicle_key], "v": 1}
            ),
            driver=WindowsDriver(
                fetch=fetch,
                to_record=record,
                window=dt.timedelta(hours=int(p.get("windowHours") or 6)),
                settle=dt.timedelta(minutes=int(p.get("settleMinutes") or 0)),
                overlap=dt.timedelta(hours=int(p.get("overlapHours") or 0)),
                lookback=dt.timedelta(hours=int(p.get("lookbackHours") or 24)),
                clock=lambda: now(),
                keep_repeats=True,
            ),
            newest=_newest,
        )
    ]
    feed, write_back = changes_feed(ctx, "writeBack")
    if feed is None:
        return inbound, [], write_back
    keys = {"vehicle": vehicle_key, "driver": driver_key}
    source = str(p.get("sourceName") or "samsara-fmc")
    ledger = Stream(
        name="ledger.assignments",
        sink_stream=OUTCOMES_STREAM,
        fingerprint=fingerprint({"changes": list(CHANGE_TYPES), "v": 1}),
        driver=LedgerDriver(
            changes=feed.changes,
            writes={
                "assignment.created": create_assignment(client, keys, source),
                "assignment.changed": patch_assignment(client, keys, ended=False),
                "assignment.ended": patch_assignment(client, keys, ended=True),
            },
            clock=lambda: now(),
        ),
    )
    return inbound, [ledger], write_back


def run(ctx: RunContext) -> dict[str, Any]:
    """One run: Samsara's assignment windows to the FMC, then the FMC's assignment changes to Samsara."""
    inbound, ledgers, write_back = streams(ctx)
    return run_both(ctx, inbound, ledgers, write_back)


# --- FMC → Samsara -------------------------------------------------------------------------------


class Assignment:
    """An FMC assignment change's data, checked, with its vehicle and driver resolved to Samsara IDs
    (once per change and run: :meth:`resolve`)."""

    def __init__(self, change: Change, keys: Mapping[str, str], *, ended: bool = False) -> None:
        data = change.get("data")
        self.change = change
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        self.keys = keys
        self.ended = ended
        self.ids: dict[str, str] = {}

    def ref(self, party: str) -> str | None:
        """The vehicle's or driver's reference: its Samsara ID, or ``key:value`` of the FMC's ID."""
        samsara, fmc = self.data.get(f"{party}Id"), self.data.get(f"fmc{party.title()}Id")
        if samsara not in (None, ""):
            return str(samsara)
        return None if fmc in (None, "") else f"{self.keys[party]}:{fmc}"

    def problem(self) -> str | None:
        """Why the change cannot be applied (a sentence naming the value and the fix), or ``None``."""
        for party in ("vehicle", "driver"):
            samsara, fmc = self.data.get(f"{party}Id"), self.data.get(f"fmc{party.title()}Id")
            if samsara in (None, "") and fmc in (None, ""):
                return (
                    f"`data.{party}Id` and `data.fmc{party.title()}Id` are both missing: name the {party}"
                    f" by its Samsara ID or the FMC's ID"
                )
            if samsara not in (None, "") and not (isinstance(samsara, str | int) and str(samsara).isdigit()):
                return f"`data.{party}Id` is `{samsara}`: use the Samsara ID (digits) of the {party}"
            if samsara in (None, ""):
                if not isinstance(fmc, str | int):
                    return f"`data.fmc{party.title()}Id` is `{fmc}`: use the FMC's ID of the {party} (a text)"
                bad = external_id_problem(self.keys[party], str(fmc))
                if bad is not None:
                    return f"`data.fmc{party.title()}Id`: {bad}"
        start = self._time("startTime", required=True)
        if isinstance(start, str):
            return start
        end = self._time("endTime", required=False)
        if isinstance(end, str):
            return end
        if start is not None and end is not None and end < start:
            d = self.data
            return f"`data.endTime` `{d['endTime']}` is before `data.startTime` `{d['startTime']}`"
        passenger = self.data.get("isPassenger")
        if passenger is not None and not isinstance(passenger, bool):
            return f"`data.isPassenger` is `{passenger}`: use true or false"
        return None

    def _time(self, key: str, *, required: bool) -> dt.datetime | str | None:
        """``data[key]`` as a time, or a sentence saying what is wrong with it."""
        value = self.data.get(key)
        if value is None:
            return f"`data.{key}` is missing: {_TIME_FIX}" if required else None
        if isinstance(value, str):
            try:
                return parse_time(value)
            except ValueError:
                pass
        return f"`data.{key}` is `{value}`: {_TIME_FIX}"

    def start(self) -> str:
        return iso(parse_time(str(self.data["startTime"])))

    def end(self) -> str | None:
        """The end the change sets: ``endTime`` (``None``: ongoing), or for ``ended`` without one the
        change's time."""
        value = self.data.get("endTime")
        if value is None and self.ended:
            value = self.change.get("at")
        return None if value is None else iso(parse_time(str(value)))

    def resolve(self, client: Client, deadline: float) -> tuple[str, str]:
        """The Samsara IDs of the vehicle and the driver (the FMC's IDs looked up; a 404 rejects)."""
        if not self.ids:
            ids = {}
            for party, path in (("vehicle", "/fleet/vehicles"), ("driver", "/fleet/drivers")):
                ref = str(self.ref(party))
                if ref.isdigit():
                    ids[party] = ref
                    continue
                try:
                    body = client.request("GET", f"{path}/{path_id(ref)}", deadline=deadline)
                except NotFoundError as e:
                    sync = "vehicle-sync" if party == "vehicle" else "driver-sync"
                    msg = f"no Samsara {party} has the external ID `{ref}`: link it first ({sync} does)"
                    raise NotFoundError(
                        msg, e.method, e.path, e.attempts, e.elapsed_s, 404, e.request_id, e.body_excerpt
                    ) from e
                found = ((body or {}).get("data") or {}).get("id")
                if not found:
                    msg = f"`GET {path}/{ref}` answered without `data.id`"
                    raise ResponseDecodeError(msg, "GET", path, 1, 0.0)
                ids[party] = str(found)
            self.ids = ids
        return self.ids["vehicle"], self.ids["driver"]

    def target(self) -> str | None:
        """The outcome's ``target.id``: the assignment's record id once the IDs are resolved."""
        if not self.ids or "startTime" not in self.data:
            return None
        try:
            return assignment_id(self.ids["vehicle"], self.ids["driver"], self.start())
        except (KeyError, ValueError):
            return None

    def external_ids(self) -> dict[str, str]:
        """The FMC's IDs the change names, for the outcome: ``fmcVehicleId``, ``fmcDriverId``."""
        names = (f"fmc{party.title()}Id" for party in ("vehicle", "driver"))
        return {n: str(self.data[n]) for n in names if self.data.get(n) not in (None, "")}

    def find(self, client: Client, deadline: float) -> dict[str, Any] | None:
        """Samsara's assignment of this vehicle, driver and start (read back), or ``None``."""
        vehicle, driver = self.resolve(client, deadline)
        start = self.start()
        params: dict[str, ParamValue] = {
            "filterBy": "vehicles",
            "vehicleIds": vehicle,
            "startTime": start,
            "endTime": start,
            "assignmentType": "external",  # else Samsara lists only assignments within the vehicle's trips
        }
        for item in client.records(PATH, params=params, deadline=deadline):
            if (
                str((item.get("driver") or {}).get("id")) == driver
                and str((item.get("vehicle") or {}).get("id")) == vehicle
                and parse_time(str(item["startTime"])) == parse_time(start)
            ):
                return dict(item)
        return None


_TIME_FIX = "use an RFC 3339 time such as `2026-11-05T17:00:00Z`"


class _Changes:
    """The :class:`Assignment` of each change, kept for the run (its resolved IDs are reused)."""

    def __init__(self, keys: Mapping[str, str], *, ended: bool = False) -> None:
        self.keys, self.ended = keys, ended
        self.seen: dict[str, Assignment] = {}

    def __call__(self, change: Change) -> Assignment:
        cid = str(change.get("id"))
        a = self.seen.get(cid)
        if a is None:
            a = self.seen[cid] = Assignment(change, self.keys, ended=self.ended)
        return a


def create_assignment(client: Client, keys: Mapping[str, str], source: str) -> Write:
    """``assignment.created`` → ``POST /fleet/driver-vehicle-assignments``, once: the read-back by
    vehicle, driver and start (the module docstring) runs before every send."""
    of = _Changes(keys)

    def check(change: Change) -> str | None:
        return of(change).problem()

    def verify(change: Change, deadline: float) -> str | None:
        a = of(change)
        found = a.find(client, deadline)
        if found is None:
            return None
        v, d = a.ids["vehicle"], a.ids["driver"]
        return f"assignment `{a.target()}` (vehicle `{v}`, driver `{d}`, start {a.start()}) exists"

    def apply(change: Change, deadline: float) -> Any:
        a = of(change)
        vehicle, driver = a.resolve(client, deadline)
        body: dict[str, Any] = {
            "vehicleId": vehicle,
            "driverId": driver,
            "startTime": a.start(),
            "metadata": {"sourceName": source},
        }
        if a.end() is not None:
            body["endTime"] = a.end()
        if a.data.get("isPassenger") is not None:
            body["isPassenger"] = bool(a.data["isPassenger"])
        return client.request("POST", PATH, json_body=body, deadline=deadline)

    return Write(
        kind=KIND,
        target=lambda c: of(c).target(),
        apply=apply,
        verify=verify,
        external_ids=lambda c: of(c).external_ids(),
        check=check,
    )


def patch_assignment(client: Client, keys: Mapping[str, str], *, ended: bool) -> Write:
    """``assignment.changed`` (``endTime``, ``null`` for ongoing, and/or ``isPassenger``) or
    ``assignment.ended`` (``endTime``, else the change's time) → ``PATCH`` with the assignment named by
    vehicle, driver and ``startTime`` in the body; ``already`` when Samsara shows the values."""
    of = _Changes(keys, ended=ended)

    def check(change: Change) -> str | None:
        a = of(change)
        if not ended and "endTime" not in a.data and a.data.get("isPassenger") is None:
            return "`data` changes nothing: give `endTime` (null for ongoing) or `isPassenger`"
        return a.problem()

    def verify(change: Change, deadline: float) -> str | None:
        a = of(change)
        found = a.find(client, deadline)
        if found is None:
            return None  # the PATCH answers 404 and the change is rejected
        held_end = found.get("endTime")
        want_end = a.end()
        if ended or "endTime" in a.data:
            same = (held_end is None and want_end is None) or (
                held_end is not None
                and want_end is not None
                and parse_time(str(held_end)) == parse_time(want_end)
            )
            if not same:
                return None
        passenger = a.data.get("isPassenger")
        if passenger is not None and bool(found.get("isPassenger")) != passenger:
            return None
        shown = f"ends {want_end}" if want_end else "is ongoing"
        if not ended and "endTime" not in a.data:
            shown = f"has isPassenger {str(passenger).lower()}"
        return f"assignment `{a.target()}` already {shown}"

    def apply(change: Change, deadline: float) -> Any:
        a = of(change)
        vehicle, driver = a.resolve(client, deadline)
        body: dict[str, Any] = {"vehicleId": vehicle, "driverId": driver, "startTime": a.start()}
        if ended or "endTime" in a.data:
            body["endTime"] = a.end()  # None is sent as null: ongoing again
        if a.data.get("isPassenger") is not None:
            body["isPassenger"] = bool(a.data["isPassenger"])
        return client.request("PATCH", PATH, json_body=body, deadline=deadline)

    return Write(
        kind=KIND,
        target=lambda c: of(c).target(),
        apply=apply,
        verify=verify,
        external_ids=lambda c: of(c).external_ids(),
        check=check,
    )


def _newest(batch: Batch) -> str | None:
    """The newest ``startTime`` in a delivered batch."""
    times = [str(json.loads(line).get("startTime") or "") for line in batch.ndjson().splitlines() if line]
    return max((t for t in times if t), default=None)
