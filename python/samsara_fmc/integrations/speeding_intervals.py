"""Speeding intervals: ``GET /speeding-intervals/stream`` on the ``stream`` driver, delivered to the FMC.

The stream returns completed trips (ordered by ``updatedAtTime`` with ``queryBy=updatedAtTime``),
each with the full list of its speeding intervals; a trip reappears past the cursor when it changes
(an interval dismissed). Each interval is one record, with a stable ``id`` from the vehicle, the
trip's start and the interval's start (Samsara gives a trip no ID), so a changed trip's intervals are
delivered again as upserts; a trip without intervals delivers nothing. The driver sees the stream
through :class:`IntervalPages`, which turns each page of trips into a page of intervals, so it
recognises what a refused cursor or a repeated page reads again per (interval, trip version).

The vehicle is expanded (``includeAsset``) for its name and VIN; the trip's driver is its Samsara ID
(``includeDriverId``). The stream carries no external IDs for either, so the FMC's IDs come from a
:class:`Directory` of the fleet's vehicles and drivers (``GET /fleet/vehicles``, ``GET /fleet/drivers``
active and deactivated, their ``externalIds``), cached in Function Storage for :data:`DIRECTORY_REFRESH`
and read again when a trip names a vehicle or driver it lacks (at most once a run). Speeds (km/h) are
converted to the Function's ``units``, which are part of the stream's name. Samsara returns no
distance and no average speed for an interval (only the maximum and the posted limit), so neither is
delivered.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from samsara_fmc.engine import RunContext, Stream
from samsara_fmc.engine._util import Clock, parse_time, utc_now
from samsara_fmc.engine.stream import Pager, updated_stream
from samsara_fmc.integrations.safety_events import convert_speed, speed_unit

__all__ = [
    "CLOCK",
    "DIRECTORY_REFRESH",
    "PATH",
    "SINK_STREAM",
    "Directory",
    "IntervalPages",
    "intervals_of",
    "streams",
    "to_record",
]

SINK_STREAM = "speeding_intervals"
PATH = "/speeding-intervals/stream"
CLOCK: Clock = utc_now
"""The current time, for the first run's ``startTime`` (tests set the sandbox's simulated clock)."""
DIRECTORY_REFRESH = _dt.timedelta(hours=24)
"""How long the cached vehicles' and drivers' external IDs are used before they are read again."""


class Directory:
    """The fleet's vehicles and drivers by Samsara ID → their ``externalIds`` (the FMC's IDs), cached
    in Function Storage; an ID the cache lacks reads them again, at most once a run."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self._key = f"cache/{ctx.org_id}/{ctx.function}/directory.json"
        self._doc: dict[str, dict[str, Any]] | None = None
        self._refreshed = False
        self._lock = threading.Lock()

    def vehicle(self, vehicle_id: str | None) -> dict[str, str] | None:
        """The vehicle's external IDs, or ``None``."""
        return self._get("vehicles", vehicle_id)

    def driver(self, driver_id: str | None) -> dict[str, str] | None:
        """The driver's external IDs, or ``None``."""
        return self._get("drivers", driver_id)

    def _get(self, kind: str, key: str | None) -> dict[str, str] | None:
        if not key:
            return None
        with self._lock:
            if self._doc is None:
                self._doc = self._load()
            if key not in self._doc[kind] and not self._refreshed:
                self._doc = self._fetch()
            ext = self._doc[kind].get(key)
            return dict(ext) if ext else None

    def _load(self) -> dict[str, dict[str, Any]]:
        raw = self._ctx.storage.get(self._key)
        if raw:
            doc = json.loads(raw)
            if time.time() - float(doc.get("fetchedAt", 0)) < DIRECTORY_REFRESH.total_seconds():
                return {
                    "vehicles": dict(doc.get("vehicles") or {}),
                    "drivers": dict(doc.get("drivers") or {}),
                }
        return self._fetch()

    def _fetch(self) -> dict[str, dict[str, Any]]:
        self._refreshed = True
        c, deadline = self._ctx.client, self._ctx.deadline
        vehicles = {
            str(v["id"]): v.get("externalIds") or {}
            for v in c.records("/fleet/vehicles", params={"limit": 512}, deadline=deadline)
        }
        drivers = {}
        for status in ("active", "deactivated"):
            params = {"limit": 512, "driverActivationStatus": status}
            for d in c.records("/fleet/drivers", params=params, deadline=deadline):
                drivers[str(d["id"])] = d.get("externalIds") or {}
        doc = {"fetchedAt": time.time(), "vehicles": vehicles, "drivers": drivers}
        self._ctx.storage.put(self._key, json.dumps(doc, sort_keys=True).encode())
        self._ctx.log.info("vehicles and drivers read", vehicles=len(vehicles), drivers=len(drivers))
        return {"vehicles": vehicles, "drivers": drivers}


@dataclass(frozen=True)
class _Page:
    data: list[dict[str, Any]]
    cursor: str | None
    has_next_page: bool


@dataclass(frozen=True)
class IntervalPages:
    """A :class:`~samsara_fmc.engine.stream.Pager` over the trips stream whose pages hold intervals:
    each ``{"id", "updatedAtTime", "trip", "interval"}`` (``updatedAtTime`` is the trip's)."""

    client: Pager

    def pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        after: str | None = None,
        deadline: float | None = None,
    ) -> Iterator[Any]:
        for page in self.client.pages(path, params=params, after=after, deadline=deadline):
            data = [i for trip in page.data for i in intervals_of(trip)]
            yield _Page(data=data, cursor=page.cursor, has_next_page=bool(page.has_next_page))


def intervals_of(trip: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A trip's intervals as stream items, each with its stable ``id``."""
    asset = trip.get("asset") or {}
    out = []
    for interval in trip.get("intervals") or []:
        record_id = f"{asset.get('id')}:{trip.get('tripStartTime')}:{interval.get('startTime')}"
        out.append(
            {"id": record_id, "updatedAtTime": trip.get("updatedAtTime"), "trip": trip, "interval": interval}
        )
    return out


def streams(ctx: RunContext) -> list[Stream]:
    """The one stream a run follows, from its parameters."""
    p = ctx.params
    units: str = p["units"]
    query = {"queryBy": "updatedAtTime", "includeAsset": "true", "includeDriverId": "true"}

    directory = Directory(ctx)

    def record(item: Mapping[str, Any]) -> dict[str, Any]:
        return to_record(item, units=units, directory=directory)

    return [
        updated_stream(
            name=f"speeding.{units}",
            sink_stream=SINK_STREAM,
            path=PATH,
            query=query,
            pager=IntervalPages(ctx.client),
            to_record=record,
            lookback_hours=int(p["lookbackHours"]),
            clock=lambda: CLOCK(),
            fingerprint_extra={"units": units},
        )
    ]


def to_record(item: Mapping[str, Any], *, units: str, directory: Directory | None = None) -> dict[str, Any]:
    """An interval item (see :func:`intervals_of`) as a ``speeding_interval`` record; the vehicle's
    and driver's external IDs from ``directory`` (without one, only what the trip carries)."""
    trip: Mapping[str, Any] = item["trip"]
    interval: Mapping[str, Any] = item["interval"]
    asset = trip.get("asset") or {}
    location = interval.get("location") or {}
    posted = convert_speed(interval.get("postedSpeedLimitKilometersPerHour"), units)
    top = convert_speed(interval.get("maxSpeedKilometersPerHour"), units)
    start, end = str(interval.get("startTime")), str(interval.get("endTime"))
    driver = None if trip.get("driverId") in (None, "", "null") else str(trip["driverId"])
    return {
        "id": str(item["id"]),
        "schemaVersion": 1,
        "vehicleId": str(asset.get("id") or ""),
        "vehicleName": asset.get("name"),
        "vin": asset.get("vin"),
        "vehicleExternalIds": directory.vehicle(str(asset.get("id") or ""))
        if directory
        else asset.get("externalIds"),
        "driverId": driver,
        "driverExternalIds": directory.driver(driver) if directory else None,
        "tripStartTime": trip.get("tripStartTime"),
        "startTime": start,
        "endTime": end,
        "durationSeconds": (parse_time(end) - parse_time(start)).total_seconds(),
        "speedUnit": speed_unit(units),
        "postedSpeedLimit": posted,
        "maxSpeed": top,
        "overLimit": round((top or 0.0) - (posted or 0.0), 2),
        "severityLevel": interval.get("severityLevel"),
        "isDismissed": bool(interval.get("isDismissed")),
        "latitude": location.get("latitude"),
        "longitude": location.get("longitude"),
        "headingDegrees": location.get("headingDegrees"),
        "address": location.get("address"),
        "updatedAtTime": trip.get("updatedAtTime"),
    }
