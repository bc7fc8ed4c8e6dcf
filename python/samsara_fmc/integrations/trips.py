"""Trips: ``GET /trips/stream`` on the ``stream`` driver, delivered to the FMC.

The stream is read with ``queryBy=updatedAtTime`` and ``completionStatus=completed``, so a trip
appears once it completes and again whenever Samsara changes it afterwards (its purpose set by the
driver): each version is the same record ``id`` (from the vehicle and the trip's start; Samsara gives
a trip no ID), delivered as an upsert. The vehicle is expanded (``includeAsset``) for its name, VIN
and external IDs. The distance (GPS, metres) is converted to the Function's ``units`` (km or mi),
which are part of the stream's name. The stream returns no odometer and no driver, so neither is
delivered (the legacy ``/v1/fleet/trips`` has both, per vehicle; not read here).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from samsara_fmc.engine import RunContext, Stream, StreamDriver, run_streams
from samsara_fmc.engine._util import Clock, parse_time, utc_now
from samsara_fmc.integrations.safety_events import newest_update
from samsara_fmc.state import fingerprint

__all__ = [
    "CLOCK",
    "METERS_PER_MILE",
    "PATH",
    "QUERY",
    "SINK_STREAM",
    "convert_distance",
    "run",
    "streams",
    "to_record",
]

SINK_STREAM = "trips"
PATH = "/trips/stream"
QUERY = {"queryBy": "updatedAtTime", "completionStatus": "completed", "includeAsset": "true"}
"""The stream's query besides ``startTime`` and ``after``."""
METERS_PER_MILE = 1609.344
CLOCK: Clock = utc_now
"""The current time, for the first run's ``startTime`` (tests set the sandbox's simulated clock)."""


def convert_distance(meters: Any, units: str) -> float | None:
    """A distance in metres as ``units`` has it (``metric`` km, ``imperial`` mi), to 0.001."""
    if meters is None:
        return None
    value = float(meters) / (1000.0 if units == "metric" else METERS_PER_MILE)
    return round(value, 3)


def streams(ctx: RunContext) -> list[Stream]:
    """The one stream a run follows, from its parameters."""
    p = ctx.params
    units: str = p["units"]

    def record(item: Mapping[str, Any]) -> dict[str, Any]:
        return to_record(item, units=units)

    driver = StreamDriver(
        client=ctx.client,
        path=PATH,
        to_record=record,
        params=QUERY,
        changed_at="updatedAtTime",
        lookback=_dt.timedelta(hours=int(p["lookbackHours"])),
        clock=lambda: CLOCK(),
    )
    return [
        Stream(
            name=f"trips.{units}",
            sink_stream=SINK_STREAM,
            fingerprint=fingerprint({"path": PATH, **QUERY, "units": units}),
            driver=driver,
            newest=newest_update,
        )
    ]


def run(ctx: RunContext) -> dict[str, Any]:
    """One run: the stream until caught up, the page limit or the deadline."""
    return run_streams(
        ctx, streams(ctx), reset=bool(ctx.params.get("reset")), max_pages=ctx.params.get("maxPages")
    )


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
    """A trip of the stream as a ``trip`` record."""
    asset = trip.get("asset") or {}
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
