"""Safety events: ``GET /safety-events/stream`` on the ``stream`` driver, delivered to the FMC.

The stream is read by ``updatedAtTime`` (``queryByTimeField=updatedAtTime``): an event reappears past
the cursor each time it changes (coached, relabelled, dismissed) and is delivered again under the
same ``id`` (an upsert). Asset and driver are expanded (``includeAsset``, ``includeDriver``) for
their names and external IDs, the FMC's own keys. Speeds (Samsara's km/h) are converted to the
Function's ``units``; units and the behaviour-label filter are part of the stream's name, so
changing either starts a stream of its own rather than mixing records.

Media URLs are personal data and expire: a record says whether media exists (``hasMedia``,
``mediaInputs``) and carries the URLs only when ``includeMediaUrls`` is ``true``. They are never
logged; with the parameter off they are not read out of Samsara's answer at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from samsara_fmc.engine import RunContext, Stream
from samsara_fmc.engine._util import Clock, utc_now
from samsara_fmc.engine.stream import newest_update, updated_stream
from samsara_fmc.state import fingerprint

__all__ = [
    "CLOCK",
    "PATH",
    "SINK_STREAM",
    "convert_speed",
    "newest_update",
    "speed_unit",
    "streams",
    "to_record",
]

SINK_STREAM = "safety_events"
PATH = "/safety-events/stream"
KMH_PER_MPH = 1.609344
CLOCK: Clock = utc_now
"""The current time, for the first run's ``startTime`` (tests set the sandbox's simulated clock)."""


def convert_speed(kmh: Any, units: str) -> float | None:
    """A speed in km/h as ``units`` has it (``metric`` km/h, ``imperial`` mph), to 0.01."""
    if kmh is None:
        return None
    value = float(kmh) if units == "metric" else float(kmh) / KMH_PER_MPH
    return round(value, 2)


def speed_unit(units: str) -> str:
    """The unit of converted speeds."""
    return "km/h" if units == "metric" else "mph"


def streams(ctx: RunContext) -> list[Stream]:
    """The one stream a run follows, from its parameters."""
    p = ctx.params
    units: str = p["units"]
    labels: list[str] = sorted(set(p.get("behaviorLabels", [])))
    media: bool = bool(p.get("includeMediaUrls"))
    query: dict[str, Any] = {
        "queryByTimeField": "updatedAtTime",
        "includeAsset": "true",
        "includeDriver": "true",
    }
    if labels:
        query["behaviorLabels"] = labels
    name = f"safety-events.{units}"
    if labels:
        name += "." + fingerprint(labels)[:8]

    def record(item: Mapping[str, Any]) -> dict[str, Any]:
        return to_record(item, units=units, include_media_urls=media)

    return [
        updated_stream(
            name=name,
            sink_stream=SINK_STREAM,
            path=PATH,
            query=query,
            pager=ctx.client,
            to_record=record,
            lookback_hours=int(p["lookbackHours"]),
            clock=lambda: CLOCK(),
            fingerprint_extra={"units": units},
        )
    ]


def to_record(item: Mapping[str, Any], *, units: str, include_media_urls: bool = False) -> dict[str, Any]:
    """A ``SafetyEventV2`` as a ``safety_event`` record (fields chosen one by one: nothing else of the
    item, such as a media URL, is carried along)."""
    asset = _obj(item.get("asset"))
    driver = _obj(item.get("driver"))
    location = _obj(item.get("location"))
    speeding = _obj(item.get("speedingMetadata"))
    media = [_obj(m) for m in item.get("media") or []]
    dismissal = _obj(item.get("dismissalReason"))
    record: dict[str, Any] = {
        "id": str(item["id"]),
        "schemaVersion": 1,
        "vehicleId": str(asset.get("id") or ""),
        "vehicleName": asset.get("name"),
        "vin": asset.get("vin"),
        "vehicleExternalIds": asset.get("externalIds"),
        "driverId": _text(driver.get("id")),
        "driverName": driver.get("name"),
        "driverExternalIds": driver.get("externalIds"),
        "behaviorLabels": [
            str(b["label"]) for b in map(_obj, item.get("behaviorLabels") or []) if b.get("label")
        ],
        "contextLabels": [
            str(c["name"]) for c in map(_obj, item.get("contextLabels") or []) if c.get("name")
        ],
        "startTime": item.get("startMs"),
        "endTime": item.get("endMs"),
        "createdAtTime": item.get("createdAtTime"),
        "updatedAtTime": item.get("updatedAtTime"),
        "eventState": item.get("eventState"),
        "assignedCoachId": _text(item.get("assignedCoach")),
        "dismissalReason": (
            {"code": dismissal.get("code"), "comment": dismissal.get("comment")} if dismissal else None
        ),
        "latitude": location.get("latitude"),
        "longitude": location.get("longitude"),
        "headingDegrees": location.get("headingDegrees"),
        "address": location.get("address"),
        "speedUnit": speed_unit(units),
        "maxSpeed": convert_speed(speeding.get("maxSpeedKilometersPerHour"), units),
        "postedSpeedLimit": convert_speed(speeding.get("postedSpeedLimitKilometersPerHour"), units),
        "maxAccelerationGForce": item.get("maxAccelerationGForce"),
        "tripStartTime": item.get("tripStartTime"),
        "tripEndTime": item.get("tripEndTime"),
        "hasMedia": bool(media),
        "mediaInputs": sorted({str(m["input"]) for m in media if m.get("input")}),
        "inboxEventUrl": item.get("inboxEventUrl"),
    }
    if include_media_urls:
        record["media"] = [
            {"input": m.get("input"), "cameraRole": m.get("cameraRole"), "url": m.get("url")} for m in media
        ]
    return record


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
