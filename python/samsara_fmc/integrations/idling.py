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

Two more streams deliver KPIs per local day (in ``kpiTimeZone``): per vehicle (``idling_day``) and
per driver (``idling_driver_day``). Each local day whose midnight a window holds is read whole, and
each vehicle's and each driver's day is summed (events, idle time, idle fuel, PTO idle time, events of
at least ``longIdleMinutes``), with the idle time per engine hour: a vehicle's engine time that day is
its ``obdEngineSeconds`` counter at the day's end less at its start (``GET /fleet/vehicles/stats`` at
those two instants: the last value known at each). A driver's engine time is that of the vehicles they
alone idled that day (a vehicle that several drivers idled that day is left out of their ratios, as
Samsara's idling events do not say who ran the engine when). The day is read again by each run until
``overlapHours`` after it ends, so a day gaining events (the current day, late uploads) is delivered
again, same ``id``, with the new sums, and an unchanged day is not delivered twice. The first run's
partial first day (before its midnight) is not summed. The time zone and threshold are part of the
streams' names.
"""

from __future__ import annotations

import datetime as _dt
import threading
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from samsara_fmc.client import Client, ParamValue
from samsara_fmc.engine import RunContext, Stream, WindowsDriver
from samsara_fmc.engine._util import Clock, iso, parse_time, utc_now
from samsara_fmc.engine.windows import Fetch
from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint

__all__ = [
    "CLOCK",
    "DAYS_STREAM",
    "DRIVER_DAYS_STREAM",
    "ENGINE_STAT",
    "ML_PER_GALLON",
    "PAGE_LIMIT",
    "PATH",
    "SINK_STREAM",
    "convert_fuel",
    "convert_temperature",
    "day_records",
    "driver_day_records",
    "engine_seconds",
    "local_days",
    "streams",
    "to_record",
]

SINK_STREAM = "idling_events"
DAYS_STREAM = "idling_days"
DRIVER_DAYS_STREAM = "idling_driver_days"
ENGINE_STAT = "obdEngineSeconds"
"""The cumulative engine-on counter (an ignition-based proxy where the vehicle has no OBD)."""
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
    # This run's reads of whole days (vehicle days, driver days), shared by the two KPI streams.
    days_read: dict[_dt.date, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    days_lock = threading.Lock()

    def read_day(day: _dt.date, deadline: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with days_lock:
            if day not in days_read:
                lo, hi = _day_bounds(day, zone)
                events = [to_record(e, units=units) for page in fetch(lo, hi, deadline) for e in page]
                engine = engine_seconds(client, lo, min(hi, CLOCK()), deadline) if events else {}
                kw: dict[str, Any] = {"units": units, "long_idle_minutes": long_idle, "engine": engine}
                days_read[day] = (
                    day_records(events, day, zone_name, **kw),
                    driver_day_records(events, day, zone_name, **kw),
                )
            return days_read[day]

    def fetch_days(which: int) -> Fetch:
        def fetch_(
            start: _dt.datetime, end: _dt.datetime, deadline: float
        ) -> Iterator[Sequence[Mapping[str, Any]]]:
            # A day is delivered by the read that holds its local midnight (and by the re-reads of the
            # overlap that start before it), so the digests of its deliveries are those of windows the
            # driver still keeps while it re-reads the day: an unchanged day is not delivered again.
            for day in local_days(start, end, zone):
                if _day_bounds(day, zone)[0] >= start:
                    yield read_day(day, deadline)[which]

        return fetch_

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
    driver, days, driver_days = (
        windows(fetch, record, _dt.timedelta(0)),
        windows(fetch_days(0), dict, _dt.timedelta(hours=25)),
        windows(fetch_days(1), dict, _dt.timedelta(hours=25)),
    )
    kpi = {"timeZone": zone_name, "longIdleMinutes": long_idle, "units": units}
    suffix = f"{units}.{zone_name.replace('/', '+')}.{long_idle}"
    return [
        Stream(
            name=f"idling.{units}",
            sink_stream=SINK_STREAM,
            fingerprint=fingerprint({"path": PATH, "includeExternalIds": "true", "units": units}),
            driver=driver,
            newest=newest_start,
        ),
        Stream(
            name=f"idling-days.{suffix}",
            sink_stream=DAYS_STREAM,
            fingerprint=fingerprint({"path": PATH, "days": 1, **kpi}),
            driver=days,
        ),
        Stream(
            name=f"idling-driver-days.{suffix}",
            sink_stream=DRIVER_DAYS_STREAM,
            fingerprint=fingerprint({"path": PATH, "driverDays": 1, **kpi}),
            driver=driver_days,
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


def engine_seconds(
    client: Client, start: _dt.datetime, end: _dt.datetime, deadline: float
) -> dict[str, float | None]:
    """Per vehicle, its engine-on seconds in ``[start, end]``: its ``obdEngineSeconds`` counter last
    known at ``end`` less last known at ``start`` (``None`` for a vehicle with no value before
    ``start``)."""

    def counters(at: _dt.datetime) -> dict[str, float]:
        out: dict[str, float] = {}
        params: dict[str, ParamValue] = {"types": ENGINE_STAT, "time": iso(at)}
        for page in client.pages("/fleet/vehicles/stats", params=params, deadline=deadline):
            for v in page.data:
                point = v.get(ENGINE_STAT)
                if point and point.get("value") is not None:
                    out[str(v["id"])] = float(point["value"])
        return out

    first, last = counters(start), counters(end)
    return {v: (x - first[v] if v in first else None) for v, x in last.items()}


def _sums(evs: Sequence[Mapping[str, Any]], *, units: str, long_idle_minutes: int) -> dict[str, Any]:
    """The KPIs of a set of ``idling_event`` records."""
    long = [e for e in evs if float(e["durationSeconds"]) >= long_idle_minutes * 60]
    ml = sum(float(e["fuelConsumedMilliliters"]) for e in evs)
    return {
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
    }


def _per_engine_hour(idle: float, engine: float | None) -> dict[str, Any]:
    """Engine time and idle minutes per engine hour (null without engine time)."""
    if engine is None:
        return {"engineSeconds": None, "engineHours": None, "idleMinutesPerEngineHour": None}
    ratio = round(idle / engine * 60.0, 2) if engine > 0 else None
    return {
        "engineSeconds": engine,
        "engineHours": round(engine / 3600.0, 2),
        "idleMinutesPerEngineHour": ratio,
    }


def day_records(
    events: Sequence[Mapping[str, Any]],
    day: _dt.date,
    zone: str,
    *,
    units: str,
    long_idle_minutes: int,
    engine: Mapping[str, float | None] | None = None,
) -> list[dict[str, Any]]:
    """``idling_day`` records: per vehicle, the sums of its ``idling_event`` records that started on
    the local ``day`` (the caller reads exactly those), and its idle minutes per engine hour from
    ``engine`` (vehicle → engine seconds that day)."""
    by_vehicle: dict[str, list[Mapping[str, Any]]] = {}
    for e in events:
        by_vehicle.setdefault(str(e["vehicleId"]), []).append(e)
    out = []
    for vehicle, evs in sorted(by_vehicle.items()):
        ext = next((e["vehicleExternalIds"] for e in evs if e.get("vehicleExternalIds")), None)
        sums = _sums(evs, units=units, long_idle_minutes=long_idle_minutes)
        out.append(
            {
                "id": f"{vehicle}:{day.isoformat()}",
                "schemaVersion": 1,
                "vehicleId": vehicle,
                "vehicleExternalIds": ext,
                "date": day.isoformat(),
                "timeZone": zone,
                **sums,
                "driverIds": sorted({str(e["driverId"]) for e in evs if e.get("driverId")}),
                **_per_engine_hour(sums["idleSeconds"], (engine or {}).get(vehicle)),
            }
        )
    return out


def driver_day_records(
    events: Sequence[Mapping[str, Any]],
    day: _dt.date,
    zone: str,
    *,
    units: str,
    long_idle_minutes: int,
    engine: Mapping[str, float | None] | None = None,
) -> list[dict[str, Any]]:
    """``idling_driver_day`` records: per driver, the sums of their ``idling_event`` records that
    started on the local ``day``; the idle minutes per engine hour over the vehicles they alone idled
    that day (a vehicle several drivers idled is left out: whose engine time it was is unknown)."""
    drivers_of: dict[str, set[str]] = {}
    for e in events:
        drivers_of.setdefault(str(e["vehicleId"]), set()).add(str(e.get("driverId") or ""))
    by_driver: dict[str, list[Mapping[str, Any]]] = {}
    for e in events:
        if e.get("driverId"):
            by_driver.setdefault(str(e["driverId"]), []).append(e)
    out = []
    for driver, evs in sorted(by_driver.items()):
        ext = next((e["driverExternalIds"] for e in evs if e.get("driverExternalIds")), None)
        vehicles = sorted({str(e["vehicleId"]) for e in evs})
        alone = [v for v in vehicles if drivers_of[v] == {driver}]
        times = [(engine or {}).get(v) for v in alone]
        known = [v for v, t in zip(alone, times, strict=True) if t is not None]
        idle_alone = sum(float(e["durationSeconds"]) for e in evs if str(e["vehicleId"]) in known)
        engine_s = sum(float((engine or {})[v] or 0.0) for v in known) if known else None
        out.append(
            {
                "id": f"{driver}:{day.isoformat()}",
                "schemaVersion": 1,
                "driverId": driver,
                "driverExternalIds": ext,
                "date": day.isoformat(),
                "timeZone": zone,
                **_sums(evs, units=units, long_idle_minutes=long_idle_minutes),
                "vehicleIds": vehicles,
                "sharedVehicleIds": [v for v in vehicles if v not in alone],
                **_per_engine_hour(round(idle_alone, 3), engine_s),
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
