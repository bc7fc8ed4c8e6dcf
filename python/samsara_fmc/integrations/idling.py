"""Idling: ``GET /idling/events`` on the ``windows`` driver, delivered to the FMC.

The endpoint selects events by start time (``startTime <= event.startTime < endTime``), and an event
is known only once the vehicle has uploaded it, so a window read once may gain events later: each run
reads windows of ``windowHours`` up to now less ``settleMinutes`` and first reads the trailing
``overlapHours`` again; an event is delivered when its (id, content) is new, so an event read again
unchanged is not delivered twice and a changed one is an upsert of its ``eventUuid``.

Either API version's shape is read: 2025-06-11 has flat ``assetId``/``operatorId``/``addressId``
(``addressType``), 2025-10-23 nests ``asset``/``operator``/``address`` with external IDs and adds
``latitude``/``longitude``. Fuel (mL) is converted to L (metric) or US gal (imperial), the air
temperature (millicelsius) to °C or °F; the ``units`` are part of the stream's name.

A second stream delivers per-vehicle, per-local-day KPIs (``idling_day``): each local day (in
``kpiTimeZone``) whose midnight a window holds is read whole, and each vehicle's day is summed
(events, idle time, idle fuel, PTO idle time, events of at least ``longIdleMinutes``); the day is read
again by each run until ``overlapHours`` after it ends, so a day gaining events (the current day, late
uploads) is delivered again, same ``id``, with the new sums, and an unchanged day is not delivered
twice. The first run's partial first day (before its midnight) is not summed. The time zone and
threshold are part of the stream's name.
"""

from __future__ import annotations

import datetime as _dt
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from samsara_fmc.client import ParamValue
from samsara_fmc.engine import RunContext, Stream, WindowsDriver
from samsara_fmc.engine._util import Clock, iso, parse_time, utc_now
from samsara_fmc.engine.windows import Fetch
from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint

__all__ = [
    "CLOCK",
    "DAYS_STREAM",
    "ML_PER_GALLON",
    "PAGE_LIMIT",
    "PATH",
    "SINK_STREAM",
    "convert_fuel",
    "convert_temperature",
    "day_records",
    "local_days",
    "streams",
    "to_record",
]

SINK_STREAM = "idling_events"
DAYS_STREAM = "idling_days"
PATH = "/idling/events"
ML_PER_GALLON = 3785.411784
"""Millilitres in a US gallon."""
PAGE_LIMIT = 200
"""Events per page (the API's maximum)."""
CLOCK: Clock = utc_now
"""The current time, for the windows (tests set the sandbox's simulated clock)."""


def convert_fuel(milliliters: Any, units: str) -> float:
    """Fuel in mL as ``units`` has it (``metric`` L, ``imperial`` US gal), to 0.001."""
    value = float(milliliters or 0.0)
    return round(value / (1000.0 if units == "metric" else ML_PER_GALLON), 3)


def convert_temperature(millicelsius: Any, units: str) -> float | None:
    """A temperature in m°C as ``units`` has it (``metric`` °C, ``imperial`` °F), to 0.01."""
    if millicelsius is None:
        return None
    celsius = float(millicelsius) / 1000.0
    return round(celsius if units == "metric" else celsius * 9.0 / 5.0 + 32.0, 2)


def streams(ctx: RunContext) -> list[Stream]:
    """The one stream a run follows, from its parameters."""
    p = ctx.params
    units: str = p["units"]
    client = ctx.client

    def fetch(
        start: _dt.datetime, end: _dt.datetime, deadline: float
    ) -> Iterator[Sequence[Mapping[str, Any]]]:
        params: dict[str, ParamValue] = {
            "startTime": iso(start),
            "endTime": iso(end),
            "limit": PAGE_LIMIT,
            "includeExternalIds": "true",
        }
        for page in client.pages(PATH, params=params, deadline=deadline):
            yield list(page.data)

    def record(item: Mapping[str, Any]) -> dict[str, Any]:
        return to_record(item, units=units)

    zone_name: str = p["kpiTimeZone"]
    try:
        zone = zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        msg = (
            f"event parameter `kpiTimeZone` is `{zone_name}`: use an IANA time zone such as `America/Chicago`"
        )
        raise ConfigurationError(msg) from None
    long_idle = int(p["longIdleMinutes"])
    days_read: dict[_dt.date, list[dict[str, Any]]] = {}  # this run's reads of whole days

    def fetch_days(
        start: _dt.datetime, end: _dt.datetime, deadline: float
    ) -> Iterator[Sequence[Mapping[str, Any]]]:
        # A day is delivered by the read that holds its local midnight (and by the re-reads of the
        # overlap that start before it), so the digests of its deliveries are those of windows the
        # driver still keeps while it re-reads the day: an unchanged day is not delivered again.
        for day in local_days(start, end, zone):
            lo, hi = _day_bounds(day, zone)
            if lo < start:
                continue
            if day not in days_read:
                events = [to_record(e, units=units) for page in fetch(lo, hi, deadline) for e in page]
                days_read[day] = day_records(events, day, zone_name, units=units, long_idle_minutes=long_idle)
            yield days_read[day]

    def windows(
        fetch_: Fetch, to_record_: Callable[[Mapping[str, Any]], dict[str, Any]], more_overlap: _dt.timedelta
    ) -> WindowsDriver:
        return WindowsDriver(
            fetch=fetch_,
            to_record=to_record_,
            window=_dt.timedelta(hours=int(p["windowHours"])),
            settle=_dt.timedelta(minutes=int(p["settleMinutes"])),
            overlap=_dt.timedelta(hours=int(p["overlapHours"])) + more_overlap,
            lookback=_dt.timedelta(hours=int(p["lookbackHours"])),
            clock=lambda: CLOCK(),
        )

    # A day is re-read until `overlapHours` after it ends (25 hours: the longest local day).
    driver, days = (
        windows(fetch, record, _dt.timedelta(0)),
        windows(fetch_days, dict, _dt.timedelta(hours=25)),
    )
    kpi = {"timeZone": zone_name, "longIdleMinutes": long_idle, "units": units}
    return [
        Stream(
            name=f"idling.{units}",
            sink_stream=SINK_STREAM,
            fingerprint=fingerprint({"path": PATH, "includeExternalIds": "true", "units": units}),
            driver=driver,
            newest=newest_start,
        ),
        Stream(
            name=f"idling-days.{units}.{zone_name.replace('/', '+')}.{long_idle}",
            sink_stream=DAYS_STREAM,
            fingerprint=fingerprint({"path": PATH, "days": 1, **kpi}),
            driver=days,
        ),
    ]


def local_days(start: _dt.datetime, end: _dt.datetime, zone: _dt.tzinfo) -> list[_dt.date]:
    """The local dates (in ``zone``) that ``[start, end)`` touches."""
    first = start.astimezone(zone).date()
    last = (end - _dt.timedelta(microseconds=1)).astimezone(zone).date()
    return [first + _dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _day_bounds(day: _dt.date, zone: _dt.tzinfo) -> tuple[_dt.datetime, _dt.datetime]:
    """A local day as ``[start, end)`` in UTC (23 or 25 hours across a DST change)."""
    lo = _dt.datetime.combine(day, _dt.time(), tzinfo=zone).astimezone(_dt.UTC)
    hi = _dt.datetime.combine(day + _dt.timedelta(days=1), _dt.time(), tzinfo=zone).astimezone(_dt.UTC)
    return lo, hi


def day_records(
    events: Sequence[Mapping[str, Any]], day: _dt.date, zone: str, *, units: str, long_idle_minutes: int
) -> list[dict[str, Any]]:
    """``idling_day`` records: per vehicle, the sums of its ``idling_event`` records that started on
    the local ``day`` (the caller reads exactly those)."""
    by_vehicle: dict[str, list[Mapping[str, Any]]] = {}
    for e in events:
        by_vehicle.setdefault(str(e["vehicleId"]), []).append(e)
    out = []
    for vehicle, evs in sorted(by_vehicle.items()):
        long = [e for e in evs if float(e["durationSeconds"]) >= long_idle_minutes * 60]
        ml = sum(float(e["fuelConsumedMilliliters"]) for e in evs)
        ext = next((e["vehicleExternalIds"] for e in evs if e.get("vehicleExternalIds")), None)
        out.append(
            {
                "id": f"{vehicle}:{day.isoformat()}",
                "schemaVersion": 1,
                "vehicleId": vehicle,
                "vehicleExternalIds": ext,
                "date": day.isoformat(),
                "timeZone": zone,
                "events": len(evs),
                "idleSeconds": round(sum(float(e["durationSeconds"]) for e in evs), 3),
                "ptoIdleSeconds": round(
                    sum(float(e["durationSeconds"]) for e in evs if e.get("ptoState") == "active"), 3
                ),
                "fuelUnit": "L" if units == "metric" else "gal",
                "idleFuel": convert_fuel(ml, units),
                "idleFuelMilliliters": round(ml, 3),
                "longIdleMinutes": long_idle_minutes,
                "longIdleEvents": len(long),
                "longIdleSeconds": round(sum(float(e["durationSeconds"]) for e in long), 3),
                "driverIds": sorted({str(e["driverId"]) for e in evs if e.get("driverId")}),
            }
        )
    return out


def newest_start(batch: Batch) -> str | None:
    """The newest ``startTime`` in a batch of records (for the stream's lag in health)."""
    times = [str(r["startTime"]) for r in batch.records() if r.get("startTime")]
    return max(times, key=parse_time) if times else None


def _id(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def to_record(event: Mapping[str, Any], *, units: str) -> dict[str, Any]:
    """An idling event of either API version as an ``idling_event`` record."""
    asset = event.get("asset") or {}
    operator = event.get("operator") or {}
    address = event.get("address") or {}
    types = address.get("addressTypes")
    if types is None:
        types = [event["addressType"]] if event.get("addressType") else []
    start = str(event.get("startTime"))
    millis = int(event.get("durationMilliseconds") or 0)
    ml = float(event.get("fuelConsumedMilliliters") or 0.0)
    return {
        "id": str(event["eventUuid"]),
        "schemaVersion": 1,
        "vehicleId": _id(asset.get("id", event.get("assetId"))) or "",
        "vehicleExternalIds": asset.get("externalIds"),
        "driverId": _id(operator.get("id", event.get("operatorId"))),
        "driverExternalIds": operator.get("externalIds"),
        "startTime": start,
        "endTime": iso(parse_time(start) + _dt.timedelta(milliseconds=millis)),
        "durationSeconds": millis / 1000.0,
        "units": units,
        "fuelUnit": "L" if units == "metric" else "gal",
        "fuelConsumed": convert_fuel(ml, units),
        "fuelConsumedMilliliters": ml,
        "gaseousFuelConsumedGrams": event.get("gaseousFuelConsumedGrams"),
        "fuelCost": event.get("fuelCost"),
        "ptoState": event.get("ptoState"),
        "temperatureUnit": "C" if units == "metric" else "F",
        "airTemperature": convert_temperature(event.get("airTemperatureMillicelsius"), units),
        "latitude": event.get("latitude"),
        "longitude": event.get("longitude"),
        "addressId": _id(address.get("id", event.get("addressId"))),
        "addressTypes": list(types),
    }
