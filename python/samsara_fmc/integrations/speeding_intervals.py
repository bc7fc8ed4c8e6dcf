"""Speeding intervals: ``GET /speeding-intervals/stream`` on the ``stream`` driver, delivered to the FMC.

The stream returns completed trips (ordered by ``updatedAtTime`` with ``queryBy=updatedAtTime``),
each with the full list of its speeding intervals; a trip reappears past the cursor when it changes
(an interval dismissed). Each interval is one record, with a stable ``id`` from the vehicle, the
trip's start and the interval's start (Samsara gives a trip no ID), so a changed trip's intervals are
delivered again as upserts; a trip without intervals delivers nothing. The driver sees the stream
through :class:`IntervalPages`, which turns each page of trips into a page of intervals, so it
recognises what a refused cursor or a repeated page reads again per (interval, trip version).

The vehicle is expanded (``includeAsset``) for its name, VIN and external IDs; the trip's driver is
its Samsara ID (``includeDriverId``: the stream gives no driver external IDs). Speeds (km/h) are
converted to the Function's ``units``, which are part of the stream's name. Samsara returns no
distance and no average speed for an interval, so neither is delivered.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from samsara_fmc.engine import RunContext, Stream, StreamDriver
from samsara_fmc.engine._util import Clock, parse_time, utc_now
from samsara_fmc.engine.stream import Pager
from samsara_fmc.integrations.safety_events import convert_speed, newest_update, speed_unit
from samsara_fmc.state import fingerprint

__all__ = ["CLOCK", "PATH", "SINK_STREAM", "IntervalPages", "intervals_of", "streams", "to_record"]

SINK_STREAM = "speeding_intervals"
PATH = "/speeding-intervals/stream"
CLOCK: Clock = utc_now
"""The current time, for the first run's ``startTime`` (tests set the sandbox's simulated clock)."""


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

    def record(item: Mapping[str, Any]) -> dict[str, Any]:
        return to_record(item, units=units)

    driver = StreamDriver(
        client=IntervalPages(ctx.client),
        path=PATH,
        to_record=record,
        params=query,
        changed_at="updatedAtTime",
        lookback=_dt.timedelta(hours=int(p["lookbackHours"])),
        clock=lambda: CLOCK(),
    )
    return [
        Stream(
            name=f"speeding.{units}",
            sink_stream=SINK_STREAM,
            fingerprint=fingerprint({"path": PATH, **query, "units": units}),
            driver=driver,
            newest=newest_update,
        )
    ]


def to_record(item: Mapping[str, Any], *, units: str) -> dict[str, Any]:
    """An interval item (see :func:`intervals_of`) as a ``speeding_interval`` record."""
    trip: Mapping[str, Any] = item["trip"]
    interval: Mapping[str, Any] = item["interval"]
    asset = trip.get("asset") or {}
    location = interval.get("location") or {}
    posted = convert_speed(interval.get("postedSpeedLimitKilometersPerHour"), units)
    top = convert_speed(interval.get("maxSpeedKilometersPerHour"), units)
    start, end = str(interval.get("startTime")), str(interval.get("endTime"))
    return {
        "id": str(item["id"]),
        "schemaVersion": 1,
        "vehicleId": str(asset.get("id") or ""),
        "vehicleName": asset.get("name"),
        "vin": asset.get("vin"),
        "vehicleExternalIds": asset.get("externalIds"),
        "driverId": None if trip.get("driverId") in (None, "", "null") else str(trip["driverId"]),
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
