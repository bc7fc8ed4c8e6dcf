"""Vehicle locations: the locations feed, for live maps, delivered to the FMC.

Follows ``GET /fleet/vehicles/locations/feed`` on the ``feed`` driver: its first call returns each
vehicle's latest location, later calls what arrived since. One record per GPS point (record type
``vehicle_location``), speed converted from Samsara's mph to the Function's unit system. Lighter
than the stats feed's ``gps`` (no odometer, no engine data) for an FMC that only draws vehicles on a map.
A new stream can start with history (``backfillDays``, from ``/fleet/vehicles/locations/history``),
and ``follow`` keeps a run polling for its whole budget (see :mod:`samsara_fmc.engine.feed`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Mapping
from typing import Any

from samsara_fmc.engine import FeedDriver, RunContext, Stream
from samsara_fmc.engine._util import Clock, iso, utc_now
from samsara_fmc.engine.feed import feed_options
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint

__all__ = ["SINK_STREAM", "record", "streams"]

SINK_STREAM = "vehicle_locations"
_KMH_PER_MPH = 1.609344
CLOCK: Clock = utc_now
"""The current time, for a backfill's hand-over point (tests set the sandbox's simulated clock)."""


def record(vehicle: Mapping[str, Any], point: Mapping[str, Any], units: str) -> dict[str, Any]:
    """One point of one vehicle as a ``vehicle_location`` record."""
    mph = point.get("speed")
    speed = (
        None if mph is None else (round(float(mph) * _KMH_PER_MPH, 3) if units == "metric" else float(mph))
    )
    geo = point.get("reverseGeo") or {}
    return {
        "id": f"{vehicle['id']}:{point['time']}",
        "schemaVersion": 1,
        "vehicleId": str(vehicle["id"]),
        "vehicleName": vehicle.get("name"),
        "time": point["time"],
        "latitude": point["latitude"],
        "longitude": point["longitude"],
        "headingDegrees": point.get("heading"),
        "speed": speed,
        "speedUnit": "km/h" if units == "metric" else "mph",
        "address": geo.get("formattedLocation") if isinstance(geo, Mapping) else None,
    }


def streams(ctx: RunContext) -> list[Stream]:
    """The one stream a run follows (an alert's vehicle gets a stream of its own)."""
    p = ctx.params
    units: str = p["units"]
    vehicle_ids: list[str] = p.get("vehicleIds", [])
    tag_ids: list[str] = p.get("tagIds", [])
    alert_asset = p.text("assetId") if ctx.trigger == "alert" else None
    if alert_asset:
        vehicle_ids = [alert_asset]
    query = {"vehicleIds": vehicle_ids, "tagIds": tag_ids}
    name = f"locations.{units}"
    if vehicle_ids or tag_ids:
        name += "." + fingerprint(query)[:8]

    def pages(cursor: str | None, deadline: float) -> Iterator[Any]:
        params = {"vehicleIds": vehicle_ids or None, "tagIds": tag_ids or None}
        return ctx.client.pages(
            "/fleet/vehicles/locations/feed", params=params, after=cursor, deadline=deadline
        )

    def to_batch(page: Any) -> tuple[Batch, Batch | None]:
        points = [record(v, pt, units) for v in page.data for pt in v.get("locations") or ()]
        return Batch.of(points), None

    def newest(batch: Batch) -> str | None:
        return max((str(r["time"]) for r in batch.records()), default=None)

    def history(start: _dt.datetime, end: _dt.datetime, deadline: float) -> Iterator[Any]:
        params = {
            "vehicleIds": vehicle_ids or None,
            "tagIds": tag_ids or None,
            "startTime": iso(start),
            "endTime": iso(end),
        }
        return ctx.client.pages("/fleet/vehicles/locations/history", params=params, deadline=deadline)

    hist, follow = feed_options(p, history=history, clock=lambda: CLOCK())
    follow = None if alert_asset else follow  # an alert's run answers the alert, then ends
    driver = FeedDriver(pages=pages, to_batch=to_batch, history=hist, follow=follow)
    return [
        Stream(
            name=name, sink_stream=SINK_STREAM, fingerprint=fingerprint(query), driver=driver, newest=newest
        )
    ]
