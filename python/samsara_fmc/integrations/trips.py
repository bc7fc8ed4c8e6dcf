"""Trips: ``GET /trips/stream`` on the ``stream`` driver, delivered to the FMC.

The stream is read with ``queryBy=updatedAtTime`` and ``completionStatus=completed``, so a trip
appears once it completes and again whenever Samsara changes it afterwards (its purpose set by the
driver): each version is the same record ``id`` (from the vehicle and the trip's start; Samsara gives
a trip no ID), delivered as an upsert. The vehicle is expanded (``includeAsset``) for its name, VIN
and external IDs. The stream names no driver: the driver is the one whose driver-vehicle assignment
(``GET /fleet/driver-vehicle-assignments``, one request per page of trips for its vehicles) covers
most of the trip, passengers aside, with their name and external IDs. The distance (GPS, metres) is
converted to the Function's ``units`` (km or mi), which are part of the stream's name. The stream
returns no odometer, so none is delivered (the legacy ``/v1/fleet/trips`` has one, per vehicle; not
read here).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from samsara_fmc.client import Client
from samsara_fmc.engine import RunContext, Stream
from samsara_fmc.engine._util import Clock, iso, parse_time, utc_now
from samsara_fmc.engine.stream import updated_stream

__all__ = [
    "ASSIGNMENTS",
    "CLOCK",
    "METERS_PER_MILE",
    "PATH",
    "QUERY",
    "SINK_STREAM",
    "AssignedPages",
    "convert_distance",
    "driver_of",
    "streams",
    "to_record",
]

SINK_STREAM = "trips"
PATH = "/trips/stream"
QUERY = {"queryBy": "updatedAtTime", "completionStatus": "completed", "includeAsset": "true"}
"""The stream's query besides ``startTime`` and ``after``."""
METERS_PER_MILE = 1609.344
ASSIGNMENTS = "/fleet/driver-vehicle-assignments"
VEHICLES_PER_REQUEST = 50
CLOCK: Clock = utc_now
"""The current time, for the first run's ``startTime`` (tests set the sandbox's simulated clock)."""


def convert_distance(meters: Any, units: str) -> float | None:
    """A distance in metres as ``units`` has it (``metric`` km, ``imperial`` mi), to 0.001."""
    if meters is None:
        return None
    value = float(meters) / (1000.0 if units == "metric" else METERS_PER_MILE)
    return round(value, 3)


@dataclass(frozen=True)
class _Page:
    data: list[dict[str, Any]]
    cursor: str | None
    has_next_page: bool


@dataclass(frozen=True)
class AssignedPages:
    """A :class:`~samsara_fmc.engine.stream.Pager` over the trips stream whose trips carry
    ``driver``: the assignment :func:`driver_of` picks, or ``None``."""

    client: Client

    def pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        after: str | None = None,
        deadline: float | None = None,
    ) -> Iterator[Any]:
        for page in self.client.pages(path, params=params, after=after, deadline=deadline):
            trips = list(page.data)
            assignments = self._assignments(trips, deadline)
            data = [{**t, "driver": driver_of(t, assignments)} for t in trips]
            yield _Page(data=data, cursor=page.cursor, has_next_page=bool(page.has_next_page))

    def _assignments(
        self, trips: Sequence[Mapping[str, Any]], deadline: float | None
    ) -> list[dict[str, Any]]:
        vehicles = sorted({str((t.get("asset") or {}).get("id")) for t in trips})
        if not trips:
            return []
        start = min(parse_time(str(t["tripStartTime"])) for t in trips)
        end = max(parse_time(str(t.get("tripEndTime") or t["tripStartTime"])) for t in trips)
        out: list[dict[str, Any]] = []
        for i in range(0, len(vehicles), VEHICLES_PER_REQUEST):
            params = {
                "filterBy": "vehicles",
                "vehicleIds": ",".join(vehicles[i : i + VEHICLES_PER_REQUEST]),
                "startTime": iso(start),
                "endTime": iso(end),
            }
            out.extend(self.client.records(ASSIGNMENTS, params=params, deadline=deadline))
        return out


def driver_of(trip: Mapping[str, Any], assignments: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The driver (``id``, ``name``, ``externalIds``) whose assignment to the trip's vehicle covers
    most of the trip, passengers aside (the earliest assigned on a tie); ``None`` when none does."""
    vehicle = str((trip.get("asset") or {}).get("id"))
    start = parse_time(str(trip["tripStartTime"]))
    end = parse_time(str(trip.get("tripEndTime") or trip["tripStartTime"]))
    best: tuple[float, _dt.datetime] | None = None
    found: dict[str, Any] | None = None
    for a in assignments:
        if a.get("isPassenger") or str((a.get("vehicle") or {}).get("id")) != vehicle:
            continue
        a_start = parse_time(str(a["startTime"]))
        a_end = (
            parse_time(str(a["endTime"])) if a.get("endTime") else _dt.datetime.max.replace(tzinfo=_dt.UTC)
        )
        overlap = (min(end, a_end) - max(start, a_start)).total_seconds()
        if overlap < 0 or (overlap == 0 and not a_start <= start < a_end):
            continue
        if best is None or (overlap, -a_start.timestamp()) > (best[0], -best[1].timestamp()):
            best, found = (overlap, a_start), dict(a.get("driver") or {})
    return found


def streams(ctx: RunContext) -> list[Stream]:
    """The one stream a run follows, from its parameters."""
    p = ctx.params
    units: str = p["units"]

    def record(item: Mapping[str, Any]) -> dict[str, Any]:
        return to_record(item, units=units)

    return [
        updated_stream(
            name=f"trips.{units}",
            sink_stream=SINK_STREAM,
            path=PATH,
            query=QUERY,
            pager=AssignedPages(ctx.client),
            to_record=record,
            lookback_hours=int(p["lookbackHours"]),
            clock=lambda: CLOCK(),
            fingerprint_extra={"units": units},
        )
    ]


def _end(location: Mapping[str, Any] | None, prefix: str) -> dict[str, Any]:
    loc = location or {}
    geofence = loc.get("geofence") or {}
    return {
        f"{prefix}Latitude": loc.get("latitude"),
        f"{prefix}Longitude": loc.get("longitude"),
        f"{prefix}Address": loc.get("address"),
        f"{prefix}GeofenceId": None if geofence.get("id") is None else str(geofence["id"]),
    }


def to_record(trip: Mapping[str, Any], *, units: str) -> dict[str, Any]:
    """A trip of the stream (with ``driver``, see :class:`AssignedPages`) as a ``trip`` record."""
    asset = trip.get("asset") or {}
    driver = trip.get("driver") or {}
    start, end = str(trip.get("tripStartTime")), trip.get("tripEndTime")
    meters = trip.get("finalDistanceMeters")
    duration = None if not end else (parse_time(str(end)) - parse_time(start)).total_seconds()
    return {
        "id": f"{asset.get('id')}:{start}",
        "schemaVersion": 1,
        "vehicleId": str(asset.get("id") or ""),
        "vehicleExternalIds": asset.get("externalIds"),
        "vehicleName": asset.get("name"),
        "vin": asset.get("vin"),
        "driverId": None if driver.get("id") in (None, "") else str(driver["id"]),
        "driverName": driver.get("name"),
        "driverExternalIds": driver.get("externalIds"),
        "startTime": start,
        "endTime": end,
        "durationSeconds": duration,
        "distanceUnit": "km" if units == "metric" else "mi",
        "distance": convert_distance(meters, units),
        "distanceMeters": meters,
        **_end(trip.get("startLocation"), "start"),
        **_end(trip.get("endLocation"), "end"),
        "tripPurpose": trip.get("tripPurpose"),
        "createdAtTime": trip.get("createdAtTime"),
        "updatedAtTime": trip.get("updatedAtTime"),
    }
