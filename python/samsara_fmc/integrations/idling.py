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
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from samsara_fmc.client import ParamValue
from samsara_fmc.engine import RunContext, Stream, WindowsDriver, run_streams
from samsara_fmc.engine._util import Clock, iso, parse_time, utc_now
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint

__all__ = [
    "CLOCK",
    "ML_PER_GALLON",
    "PAGE_LIMIT",
    "PATH",
    "SINK_STREAM",
    "convert_fuel",
    "convert_temperature",
    "run",
    "streams",
    "to_record",
]

SINK_STREAM = "idling_events"
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

    driver = WindowsDriver(
        fetch=fetch,
        to_record=record,
        window=_dt.timedelta(hours=int(p["windowHours"])),
        settle=_dt.timedelta(minutes=int(p["settleMinutes"])),
        overlap=_dt.timedelta(hours=int(p["overlapHours"])),
        lookback=_dt.timedelta(hours=int(p["lookbackHours"])),
        clock=lambda: CLOCK(),
    )
    return [
        Stream(
            name=f"idling.{units}",
            sink_stream=SINK_STREAM,
            fingerprint=fingerprint({"path": PATH, "includeExternalIds": "true", "units": units}),
            driver=driver,
            newest=newest_start,
        )
    ]


def newest_start(batch: Batch) -> str | None:
    """The newest ``startTime`` in a batch of records (for the stream's lag in health)."""
    times = [str(r["startTime"]) for r in batch.records() if r.get("startTime")]
    return max(times, key=parse_time) if times else None


def run(ctx: RunContext) -> dict[str, Any]:
    """One run: the windows until caught up, the page limit or the deadline."""
    return run_streams(
        ctx, streams(ctx), reset=bool(ctx.params.get("reset")), max_pages=ctx.params.get("maxPages")
    )


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
