"""Vehicle stats: the stats feed, converted in Rust, delivered to the FMC.

Follows ``GET /fleet/vehicles/stats/feed`` (the ``feed`` driver): its first call returns each
vehicle's latest values, later calls what arrived since. Samsara takes at most three stat types per
request, so the types are followed as streams of up to three, each with its own state, in parallel.
Units are part of a stream's name: switching units starts new streams rather than mixing units.
Records are the converter's (one per data point, stable ``id`` = vehicle, stat and time); points
without their documented shape go to ``vehicle_stats_rejects`` with the reason.

From an alert action, the alert's ``assetId`` narrows the run to that vehicle on streams of its
own, so the fleet-wide streams are untouched.

Tire pressures are not stat types: they come from the Readings API (``readings``, one reading ID
per stream, ``GET /readings/history?feed=true``, same cursor semantics as the stats feed), converted
(kPa, or psi for imperial units) into the same record shape and delivered to the same FMC stream.

The odometer (``odometer``, on by default) is one reading per vehicle and time in
``odometer_readings``, OBD preferred and GPS as the fallback, in miles and km with its source: a stream
of its own follows ``obdOdometerMeters`` and ``gpsOdometerMeters`` with ``obdOdometerMeters`` as a
decoration, so each GPS point says whether the vehicle had an OBD odometer at that time and the choice
needs no state (see :func:`odometer_batch`).

A new stream can start with history (``backfillDays``): ``/fleet/vehicles/stats/history`` is read in
windows into the same records and hands over to the feed with no gap and no overlap; ``follow``
keeps a run polling the feed for its whole budget (see :mod:`samsara_fmc.engine.feed`).
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from samsara_fmc.engine import FeedDriver, RunContext, Stream
from samsara_fmc.engine._util import Clock, iso, utc_now
from samsara_fmc.engine.feed import feed_options
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint
from samsara_fmc.types import StatType

__all__ = ["ODOMETER_STREAM", "SINK_STREAM", "odometer_batch", "streams"]

SINK_STREAM = "vehicle_stats"
ODOMETER_STREAM = "odometer_readings"
_OBD, _GPS = "obdOdometerMeters", "gpsOdometerMeters"
_M_PER_MILE = 1_609.344
_TYPES_PER_REQUEST = 3
_NAME_TYPES_MAX = 100
"""The longest list of types a stream name spells out (state keys take 128 characters a segment)."""
READINGS = "/readings/history"
_PSI_PER_KPA = 0.14503773773
_PRESSURE_UNITS = {"kilopascal"}
_TEMPERATURE_UNITS = {"celsius"}
CLOCK: Clock = utc_now
"""The current time, for a backfill's hand-over point (tests set the sandbox's simulated clock)."""


def streams(ctx: RunContext) -> list[Stream]:
    """The streams a run follows, from its parameters."""
    p = ctx.params
    types: list[StatType] = p["types"]
    units: str = p["units"]
    decorations: list[StatType] = p.get("decorations", [])
    vehicle_ids: list[str] = p.get("vehicleIds", [])
    tag_ids: list[str] = p.get("tagIds", [])
    alert_asset = p.text("assetId") if ctx.trigger == "alert" else None
    if alert_asset:
        vehicle_ids = [alert_asset]
    # auxInput3 to auxInput13 count as one type against Samsara's limit of three, but the client
    # checks three types a request, whatever they are: groups of up to three of each.
    groups: list[list[StatType]] = []
    for t in dict.fromkeys(types):
        if (
            groups
            and len(groups[-1]) < _TYPES_PER_REQUEST
            and len({_limit_class(x) for x in [*groups[-1], t]}) <= _TYPES_PER_REQUEST
        ):
            groups[-1].append(t)
        else:
            groups.append([t])
    out = []
    for group in groups:
        query = {
            "types": group,
            "units": units,
            "decorations": decorations,
            "vehicleIds": vehicle_ids,
            "tagIds": tag_ids,
        }
        joined = "+".join(group)
        if len(joined) > _NAME_TYPES_MAX:  # aux inputs 3 to 13 with two more: too long for a state key
            joined = f"{group[0]}+{len(group) - 1}more.{fingerprint(group)[:8]}"
        name = f"stats.{units}.{joined}"
        if vehicle_ids or tag_ids or decorations:
            name += "." + fingerprint([vehicle_ids, tag_ids, decorations])[:8]

        def pages(cursor: str | None, deadline: float, group: list[StatType] = group) -> Any:
            return ctx.client.stats_pages(
                types=group,
                after=cursor,
                units=units,  # type: ignore[arg-type]
                decorations=decorations,
                vehicle_ids=vehicle_ids,
                tag_ids=tag_ids,
                deadline=deadline,
            )

        def history(
            start: _dt.datetime, end: _dt.datetime, deadline: float, group: list[StatType] = group
        ) -> Any:
            return ctx.client.stats_pages(
                types=group,
                units=units,  # type: ignore[arg-type]
                decorations=decorations,
                vehicle_ids=vehicle_ids,
                tag_ids=tag_ids,
                deadline=deadline,
                path="/fleet/vehicles/stats/history",
                extra_params={"startTime": iso(start), "endTime": iso(end)},
            )

        hist, follow = feed_options(p, history=history, clock=lambda: CLOCK())
        follow = None if alert_asset else follow  # an alert's run answers the alert, then ends
        out.append(
            Stream(
                name=name,
                sink_stream=SINK_STREAM,
                fingerprint=fingerprint(query),
                driver=FeedDriver(pages=pages, to_batch=_to_batch, history=hist, follow=follow),
                newest=_newest,
            )
        )
    if p.get("odometer", True):
        out.append(_odometer_stream(ctx, vehicle_ids=vehicle_ids, tag_ids=tag_ids, follow_ok=not alert_asset))
    out.extend(
        _readings_streams(
            ctx, units=units, vehicle_ids=vehicle_ids, tag_ids=tag_ids, follow_ok=not alert_asset
        )
    )
    return out


def _odometer_stream(
    ctx: RunContext, *, vehicle_ids: list[str], tag_ids: list[str], follow_ok: bool
) -> Stream:
    """The combined odometer: OBD and GPS odometer points, each decorated with the OBD odometer at its
    time, made into ``odometer_reading`` records (:func:`odometer_batch`). Units do not matter here (a
    reading has miles and km): the converter's metric values are read back to metres."""
    types: list[StatType] = ["obdOdometerMeters", "gpsOdometerMeters"]
    decorations: list[StatType] = ["obdOdometerMeters"]
    query = {
        "odometer": 1,
        "types": types,
        "decorations": decorations,
        "vehicleIds": vehicle_ids,
        "tagIds": tag_ids,
    }
    name = "odometer"
    if vehicle_ids or tag_ids:
        name += "." + fingerprint([vehicle_ids, tag_ids])[:8]

    def pages(cursor: str | None, deadline: float) -> Any:
        return ctx.client.stats_pages(
            types=types,
            after=cursor,
            units="metric",
            decorations=decorations,
            vehicle_ids=vehicle_ids,
            tag_ids=tag_ids,
            deadline=deadline,
        )

    def history(start: _dt.datetime, end: _dt.datetime, deadline: float) -> Any:
        return ctx.client.stats_pages(
            types=types,
            units="metric",
            decorations=decorations,
            vehicle_ids=vehicle_ids,
            tag_ids=tag_ids,
            deadline=deadline,
            path="/fleet/vehicles/stats/history",
            extra_params={"startTime": iso(start), "endTime": iso(end)},
        )

    hist, follow = feed_options(ctx.params, history=history, clock=lambda: CLOCK())
    return Stream(
        name=name,
        sink_stream=ODOMETER_STREAM,
        fingerprint=fingerprint(query),
        driver=FeedDriver(
            pages=pages,
            to_batch=lambda page: odometer_batch(page.ndjson, page.rejects if page.rejected else b""),
            history=hist,
            follow=follow if follow_ok else None,
        ),
        newest=_newest,
    )


def odometer_batch(ndjson: bytes, rejects: bytes = b"") -> tuple[Batch, Batch | None]:
    """Converted odometer points (metric ``vehicle_stat`` lines) to ``odometer_reading`` records.

    The rule, point by point: an ``obdOdometerMeters`` point is a reading with ``source`` ``obd``; a
    ``gpsOdometerMeters`` point is a reading with ``source`` ``gps`` only when it has no
    ``obdOdometerMeters`` decoration (Samsara had no OBD odometer for the vehicle at its time),
    otherwise it is left out. Nothing depends on other points or pages, so page boundaries, retries,
    backfill windows and the hand-over to the feed all give the same records.
    """
    good: list[dict[str, Any]] = []
    for line in ndjson.splitlines():
        point = json.loads(line)
        stat = point["stat"]
        if stat == _GPS:
            decoration = (point.get("decorations") or {}).get(_OBD)
            if isinstance(decoration, dict) and isinstance(decoration.get("value"), (int, float)):
                continue
        elif stat != _OBD:
            continue
        meters = round(float(point["value"]) * 1000.0)  # the converter's km, back to Samsara's metres
        record: dict[str, Any] = {
            "id": f"{point['vehicleId']}:odometer:{point['time']}",
            "schemaVersion": 1,
            "vehicleId": point["vehicleId"],
        }
        if "vehicleName" in point:
            record["vehicleName"] = point["vehicleName"]
        record |= {
            "externalIds": point.get("externalIds"),
            "time": point["time"],
            "source": "obd" if stat == _OBD else "gps",
            "meters": meters,
            "miles": round(meters / _M_PER_MILE, 3),
            "km": round(meters / 1000.0, 3),
        }
        good.append(record)
    return Batch.of(good), (Batch(ndjson=rejects) if rejects else None)


def _readings_streams(
    ctx: RunContext, *, units: str, vehicle_ids: list[str], tag_ids: list[str], follow_ok: bool
) -> list[Stream]:
    """One feed stream per reading ID asked for (``readings``); the Readings API has no tag filter,
    so tags are resolved to their vehicles first."""
    readings = [r for r in ctx.params.get("readings", []) if r != "none"]
    if not readings:
        return []
    entities = list(vehicle_ids)
    if tag_ids:
        found = ctx.client.records("/fleet/vehicles", params={"tagIds": tag_ids}, deadline=ctx.deadline)
        entities = sorted({*entities, *(str(v["id"]) for v in found)})
    base: dict[str, Any] = {
        "entityType": "asset",
        "assetTypes": "vehicle",
        "includeExternalIds": "true",
        "entityIds": entities or None,
    }
    out = []
    for rid in readings:
        query = {**base, "readingId": rid}
        name = f"readings.{units}.{rid}"
        if vehicle_ids or tag_ids:
            name += "." + fingerprint([vehicle_ids, tag_ids])[:8]

        def pages(cursor: str | None, deadline: float, query: dict[str, Any] = query) -> Any:
            return ctx.client.pages(
                READINGS, params={**query, "feed": "true"}, after=cursor, deadline=deadline
            )

        def history(
            start: _dt.datetime, end: _dt.datetime, deadline: float, query: dict[str, Any] = query
        ) -> Any:
            params = {**query, "startTime": iso(start), "endTime": iso(end)}
            return ctx.client.pages(READINGS, params=params, deadline=deadline)

        def to_batch(page: Any, rid: str = rid) -> tuple[Batch, Batch | None]:
            good, bad = [], []
            for item in page.data:
                try:
                    good.append(reading_record(item, rid, units))
                except (KeyError, TypeError, ValueError) as e:
                    bad.append(
                        {
                            "id": f"{item.get('entityId')}:{rid}:{item.get('happenedAtTime')}",
                            "reason": str(e),
                            "item": item,
                        }
                    )
            return Batch.of(good), (Batch.of(bad) if bad else None)

        hist, follow = feed_options(ctx.params, history=history, clock=lambda: CLOCK())
        out.append(
            Stream(
                name=name,
                sink_stream=SINK_STREAM,
                fingerprint=fingerprint({"path": READINGS, **query, "units": units}),
                driver=FeedDriver(
                    pages=pages, to_batch=to_batch, history=hist, follow=follow if follow_ok else None
                ),
                newest=_newest,
            )
        )
    return out


def reading_record(item: Any, reading_id: str, units: str) -> dict[str, Any]:
    """A Readings API data point as a ``vehicle_stat`` record: pressures in kPa (metric) or psi,
    temperatures in °C (metric) or °F, in the units ``vehicle_stat`` names (``kPa``, ``C``, …)."""
    value = item["value"]
    if not isinstance(value, dict):
        msg = f"`value` is {value!r}, not the documented object"
        raise TypeError(msg)
    number, unit = value.get("number"), value.get("unit")
    if unit in _PRESSURE_UNITS and number is not None:
        number, unit = (
            (round(float(number) * _PSI_PER_KPA, 3), "psi") if units == "imperial" else (float(number), "kPa")
        )
    elif unit in _TEMPERATURE_UNITS and number is not None:  # engineOilTemperature
        number, unit = (
            (round(float(number) * 1.8 + 32.0, 3), "F") if units == "imperial" else (float(number), "C")
        )
    at = str(item["happenedAtTime"])
    record: dict[str, Any] = {
        "id": f"{item['entityId']}:{reading_id}:{at}",
        "schemaVersion": 1,
        "vehicleId": str(item["entityId"]),
        "externalIds": item.get("externalIds"),
        "stat": reading_id,
        "time": at,
        "value": number if value.get("dataType") != "enum" else value.get("symbol"),
        "unit": unit,
        "source": "readings",
    }
    return record


def _limit_class(stat_type: str) -> str:
    aux = stat_type.removeprefix("auxInput")
    return "auxInput3-13" if aux.isdigit() and 3 <= int(aux) <= 13 else stat_type


def _to_batch(page: Any) -> tuple[Batch, Batch | None]:
    return Batch(ndjson=page.ndjson), (Batch(ndjson=page.rejects) if page.rejected else None)


def _newest(batch: Batch) -> str | None:
    """The newest point time in a batch of converted records (each line carries ``"time":"…"``)."""
    newest = None
    for line in batch.ndjson().splitlines():
        at = line.find(b'"time":"')
        if at >= 0:
            t = line[at + 8 : line.find(b'"', at + 8)].decode()
            newest = t if newest is None or t > newest else newest
    return newest
