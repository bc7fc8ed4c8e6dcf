"""Trips delivered to the FMC, from either of Samsara's trip APIs (the ``source`` parameter).

``source: stream`` (the default): ``GET /trips/stream`` on the ``stream`` driver, read with
``queryBy=updatedAtTime`` and ``completionStatus=completed``, so a trip appears once it completes and
again whenever Samsara changes it afterwards (its purpose set by the driver): each version is the same
record ``id`` (from the vehicle and the trip's start; Samsara gives a trip no ID), delivered as an
upsert. The vehicle is expanded (``includeAsset``) for its name, VIN and external IDs.

``source: legacy``: ``GET /v1/fleet/trips`` (one request per vehicle and window, epoch ms, no
paging), for orgs that only have the legacy trips, on the ``windows`` driver: the vehicles are listed
once per run (``GET /fleet/vehicles``), windows of ``windowHours`` are read up to now (each window's
end is a checkpoint, so a run cut short resumes at the window it was reading), and each run first reads
the trailing ``overlapHours`` again, so a trip still in progress when its window was read (``endMs`` is
the largest 64-bit integer) is delivered once it has completed. A trip belongs to the window holding its
``startMs``, and its record ``id`` is the stream's (``<vehicleId>:<start, RFC 3339>``), so a drive read
twice, or by both sources, is one record. The client paces these requests to the token's global rate
limit (the endpoint documents none of its own).

Both sources give the same record shape. The driver: the stream names none, so it is the one whose
driver-vehicle assignment (``GET /fleet/driver-vehicle-assignments``, one request per page of trips for
its vehicles) covers most of the trip, passengers aside; a legacy trip names its ``driverId`` (the
assignment fallback when it does not), and the same assignments give the driver's name and external
IDs. The odometer at the trip's start and end: a legacy trip carries it (``startOdometer``,
``endOdometer``, from the vehicle's diagnostics: ``odometerSource: obd``); the stream has none, so it is
read from the vehicles' odometer history (``GET /fleet/vehicles/stats/history`` with
``obdOdometerMeters`` and ``gpsOdometerMeters``, one paged request per page of trips for its vehicles),
the OBD odometer preferred and the GPS one (which Samsara reports only once a manual odometer was set)
otherwise, the source on the record; a legacy trip without odometers gets them the same way. Distances
and odometers (metres) are converted to the Function's ``units`` (km or mi), which are part of the
stream's name, as the source is.

What legacy trips lack, left null on their records: ``createdAtTime``, ``updatedAtTime``,
``tripPurpose`` and geofences; their addresses are Samsara's formatted address (``address``,
``name``, ``id``) rather than the stream's parts (``street``, ``city``, …).
"""

from __future__ import annotations

import bisect
import datetime as _dt
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from samsara_fmc.client import Client, ParamValue
from samsara_fmc.engine import RunContext, Stream, WindowsDriver
from samsara_fmc.engine._util import Clock, iso, parse_time, utc_now
from samsara_fmc.engine.stream import updated_stream
from samsara_fmc.engine.windows import Fetch
from samsara_fmc.exceptions import ResponseDecodeError
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint

__all__ = [
    "ASSIGNMENTS",
    "CLOCK",
    "LEGACY_PATH",
    "METERS_PER_MILE",
    "ODOMETER_STATS",
    "ONGOING_MS",
    "PATH",
    "QUERY",
    "SINK_STREAM",
    "STATS_HISTORY",
    "AssignedPages",
    "assignments_for",
    "convert_distance",
    "driver_of",
    "from_legacy",
    "legacy_fetch",
    "newest_end",
    "odometer_readings",
    "streams",
    "to_record",
    "trip_odometer",
]

SINK_STREAM = "trips"
PATH = "/trips/stream"
QUERY = {"queryBy": "updatedAtTime", "completionStatus": "completed", "includeAsset": "true"}
"""The stream's query besides ``startTime`` and ``after``."""
LEGACY_PATH = "/v1/fleet/trips"
ONGOING_MS = 9223372036854775807
"""The ``endMs`` of a legacy trip still in progress."""
METERS_PER_MILE = 1609.344
ASSIGNMENTS = "/fleet/driver-vehicle-assignments"
STATS_HISTORY = "/fleet/vehicles/stats/history"
ODOMETER_STATS = (("obdOdometerMeters", "obd"), ("gpsOdometerMeters", "gps"))
"""The odometer stat types, preferred first, with the ``odometerSource`` each gives."""
ODOMETER_MARGIN = _dt.timedelta(minutes=15)
"""How far before the first start and after the last end of a page of trips the odometer history is
read (a vehicle parked before or after a trip reports its odometer unchanged, but not every second)."""
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


def _span(trip: Mapping[str, Any]) -> tuple[_dt.datetime, _dt.datetime]:
    start = parse_time(str(trip["tripStartTime"]))
    return start, parse_time(str(trip.get("tripEndTime") or trip["tripStartTime"]))


def _vehicle(trip: Mapping[str, Any]) -> str:
    return str((trip.get("asset") or {}).get("id"))


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for i in range(0, len(ids), VEHICLES_PER_REQUEST):
        yield list(ids[i : i + VEHICLES_PER_REQUEST])


def assignments_for(
    client: Client, trips: Sequence[Mapping[str, Any]], deadline: float | None
) -> list[dict[str, Any]]:
    """The driver-vehicle assignments of the trips' vehicles over their span (a request per 50)."""
    if not trips:
        return []
    vehicles = sorted({_vehicle(t) for t in trips})
    start = min(_span(t)[0] for t in trips)
    end = max(_span(t)[1] for t in trips)
    out: list[dict[str, Any]] = []
    for ids in _chunks(vehicles):
        params: dict[str, ParamValue] = {
            "filterBy": "vehicles",
            "vehicleIds": ",".join(ids),
            "startTime": iso(start),
            "endTime": iso(end),
        }
        out.extend(client.records(ASSIGNMENTS, params=params, deadline=deadline))
    return out


Readings = dict[str, dict[str, list[tuple[_dt.datetime, int | float]]]]
"""Per vehicle, per odometer stat type, its (time, metres) points in time order."""


def odometer_readings(client: Client, trips: Sequence[Mapping[str, Any]], deadline: float | None) -> Readings:
    """The trips' vehicles' odometer points (both types) from ``ODOMETER_MARGIN`` before the first
    trip's start to as long after the last one's end: one paged history request per 50 vehicles."""
    out: Readings = {}
    if not trips:
        return out
    vehicles = sorted({_vehicle(t) for t in trips})
    start = min(_span(t)[0] for t in trips) - ODOMETER_MARGIN
    end = max(_span(t)[1] for t in trips) + ODOMETER_MARGIN
    types = [stat for stat, _ in ODOMETER_STATS]
    for ids in _chunks(vehicles):
        params: dict[str, ParamValue] = {
            "vehicleIds": ",".join(ids),
            "types": ",".join(types),
            "startTime": iso(start),
            "endTime": iso(end),
        }
        for page in client.pages(STATS_HISTORY, params=params, deadline=deadline):
            for v in page.data:
                per = out.setdefault(str(v.get("id")), {})
                for stat in types:
                    points = per.setdefault(stat, [])
                    for p in v.get(stat) or []:
                        if p.get("value") is not None and p.get("time"):
                            points.append((parse_time(str(p["time"])), p["value"]))
    for per in out.values():
        for points in per.values():
            points.sort(key=lambda p: p[0])
    return out


def trip_odometer(
    readings: Mapping[str, Sequence[tuple[_dt.datetime, int | float]]],
    start: _dt.datetime,
    end: _dt.datetime | None,
) -> tuple[int | float | None, int | float | None, str | None]:
    """The odometer (m) at a trip's start and end, and its source (``obd`` or ``gps``).

    At the start: the last point at or before it (a parked vehicle's odometer does not move), else the
    first during the trip. At the end: the first point at or after it, else the last during the trip.
    The OBD odometer is taken when it has both ends, else the GPS one when it has both, else whichever
    has one end (OBD first); ``(None, None, None)`` when neither has a point.
    """
    partial: tuple[int | float | None, int | float | None, str | None] = (None, None, None)
    for stat, source in ODOMETER_STATS:
        points = list(readings.get(stat) or [])
        times = [t for t, _ in points]
        hi = end or start
        at_start: int | float | None = None
        i = bisect.bisect_right(times, start)
        if i > 0:
            at_start = points[i - 1][1]
        elif i < len(points) and times[i] <= hi:
            at_start = points[i][1]
        at_end: int | float | None = None
        if end is not None:
            j = bisect.bisect_left(times, end)
            if j < len(points):
                at_end = points[j][1]
            elif j > 0 and times[j - 1] >= start:
                at_end = points[j - 1][1]
        if at_start is not None and (at_end is not None or end is None):
            return at_start, at_end, source
        if partial[2] is None and (at_start is not None or at_end is not None):
            partial = (at_start, at_end, source)
    return partial


def _with_odometer(
    trips: Sequence[dict[str, Any]], client: Client, deadline: float | None
) -> list[dict[str, Any]]:
    """The trips, each with ``odometer`` (``start``, ``end``, ``source``): its own where it has one
    (legacy), else from the odometer history of the trips' vehicles (one read for them all)."""
    lacking = [t for t in trips if not t.get("odometer")]
    readings = odometer_readings(client, lacking, deadline) if lacking else {}
    out = []
    for t in trips:
        if t.get("odometer"):
            out.append(t)
            continue
        start, end = _span(t)
        lo, hi, source = trip_odometer(
            readings.get(_vehicle(t), {}), start, end if t.get("tripEndTime") else None
        )
        out.append({**t, "odometer": {"start": lo, "end": hi, "source": source}})
    return out


@dataclass(frozen=True)
class AssignedPages:
    """A :class:`~samsara_fmc.engine.stream.Pager` over the trips stream whose trips carry
    ``driver`` (the assignment :func:`driver_of` picks, or ``None``) and ``odometer``."""

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
            assignments = assignments_for(self.client, trips, deadline)
            data = [{**t, "driver": driver_of(t, assignments)} for t in trips]
            data = _with_odometer(data, self.client, deadline)
            yield _Page(data=data, cursor=page.cursor, has_next_page=bool(page.has_next_page))


def driver_of(trip: Mapping[str, Any], assignments: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The driver (``id``, ``name``, ``externalIds``) whose assignment to the trip's vehicle covers
    most of the trip, passengers aside (the earliest assigned on a tie); ``None`` when none does."""
    vehicle = _vehicle(trip)
    start, end = _span(trip)
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


def _named_driver(
    driver_id: str, trip: Mapping[str, Any], assignments: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The legacy trip's driver with the name and external IDs an assignment of theirs gives."""
    chosen = driver_of(trip, assignments)
    if chosen is not None and str(chosen.get("id")) == driver_id:
        return chosen
    for a in assignments:
        d = a.get("driver") or {}
        if str(d.get("id")) == driver_id:
            return dict(d)
    return {"id": driver_id}


def _ms_time(ms: int) -> str:
    """Epoch milliseconds as RFC 3339 UTC, as the stream writes its times (seconds unless ms)."""
    t = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.UTC)
    spec = "seconds" if ms % 1000 == 0 else "milliseconds"
    return t.isoformat(timespec=spec).replace("+00:00", "Z")


def from_legacy(trip: Mapping[str, Any], vehicle: Mapping[str, Any]) -> dict[str, Any]:
    """A completed ``/v1/fleet/trips`` trip of ``vehicle`` (a ``/fleet/vehicles`` vehicle) in the
    stream's shape (what :func:`to_record` reads), with ``legacyDriverId`` and its ``odometer``."""

    def location(prefix: str) -> dict[str, Any] | None:
        coords = trip.get(f"{prefix}Coordinates") or {}
        address = trip.get(f"{prefix}Address")
        if address is None and trip.get(f"{prefix}Location"):
            address = {"address": trip[f"{prefix}Location"]}
        if not coords and address is None:
            return None
        return {"latitude": coords.get("latitude"), "longitude": coords.get("longitude"), "address": address}

    lo, hi = trip.get("startOdometer"), trip.get("endOdometer")
    odometer = None if lo is None and hi is None else {"start": lo, "end": hi, "source": "obd"}
    return {
        "source": "legacy",
        "asset": {
            "id": str(vehicle["id"]),
            "name": vehicle.get("name"),
            "vin": vehicle.get("vin"),
            "externalIds": vehicle.get("externalIds"),
        },
        "tripStartTime": _ms_time(int(trip["startMs"])),
        "tripEndTime": _ms_time(int(trip["endMs"])),
        "finalDistanceMeters": trip.get("distanceMeters"),
        "startLocation": location("start"),
        "endLocation": location("end"),
        "legacyDriverId": None if trip.get("driverId") in (None, "", 0) else str(trip["driverId"]),
        "odometer": odometer,
    }


def _legacy_trips(body: Any, vehicle_id: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """The completed trips of a ``/v1/fleet/trips`` answer that start in ``[start_ms, end_ms)``.

    Raises:
        ResponseDecodeError: The answer is not ``{"trips": [...]}`` of trips with ``startMs``.
    """
    trips = body.get("trips") if isinstance(body, dict) else None
    if not isinstance(trips, list) or not all(
        isinstance(t, dict) and isinstance(t.get("startMs"), int) for t in trips
    ):
        msg = (
            f'`GET {LEGACY_PATH}` for vehicle `{vehicle_id}` did not answer `{{"trips": [...]}}` of trips'
            " with an integer `startMs`; check `SAMSARA_BASE_URL` points at the Samsara API"
        )
        raise ResponseDecodeError(msg, "GET", LEGACY_PATH, 1, 0.0)
    return [
        t
        for t in trips
        if start_ms <= t["startMs"] < end_ms and isinstance(t.get("endMs"), int) and t["endMs"] != ONGOING_MS
    ]


def legacy_fetch(client: Client, vehicles: Callable[[float], list[dict[str, Any]]]) -> Fetch:
    """The ``windows`` driver's ``fetch`` over ``/v1/fleet/trips``: per 50 vehicles, their
    completed trips starting in the window, with driver and odometer, as one page."""

    def fetch(start: _dt.datetime, end: _dt.datetime, deadline: float) -> Iterator[list[dict[str, Any]]]:
        start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        fleet = vehicles(deadline)
        for i in range(0, len(fleet), VEHICLES_PER_REQUEST):
            trips: list[dict[str, Any]] = []
            for v in fleet[i : i + VEHICLES_PER_REQUEST]:
                vid = str(v["id"])
                params: dict[str, ParamValue] = {"vehicleId": vid, "startMs": start_ms, "endMs": end_ms}
                body = client.get(LEGACY_PATH, params=params, deadline=deadline)
                trips.extend(from_legacy(t, v) for t in _legacy_trips(body, vid, start_ms, end_ms))
            assignments = assignments_for(client, trips, deadline)
            named = []
            for t in trips:
                did = t.get("legacyDriverId")
                driver = driver_of(t, assignments) if did is None else _named_driver(did, t, assignments)
                named.append({**t, "driver": driver})
            yield _with_odometer(named, client, deadline)

    return fetch


def newest_end(batch: Batch) -> str | None:
    """The newest ``endTime`` in a batch of records (for the legacy stream's lag in health)."""
    times = [str(r["endTime"]) for r in batch.records() if r.get("endTime")]
    return max(times, key=parse_time) if times else None


def streams(ctx: RunContext) -> list[Stream]:
    """The one stream a run follows, from its parameters."""
    p = ctx.params
    units: str = p["units"]

    def record(item: Mapping[str, Any]) -> dict[str, Any]:
        return to_record(item, units=units)

    if p["source"] == "legacy":
        return [_legacy_stream(ctx, units, record)]
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


def _legacy_stream(
    ctx: RunContext, units: str, record: Callable[[Mapping[str, Any]], dict[str, Any]]
) -> Stream:
    p = ctx.params
    client = ctx.client
    listed: list[list[dict[str, Any]]] = []
    lock = threading.Lock()

    def vehicles(deadline: float) -> list[dict[str, Any]]:
        # Listed once per run: the windows of the run (and its re-read of the overlap) share it.
        with lock:
            if not listed:
                listed.append([dict(v) for v in client.vehicles(deadline=deadline)])
            return listed[0]

    driver = WindowsDriver(
        fetch=legacy_fetch(client, vehicles),
        to_record=record,
        window=_dt.timedelta(hours=int(p["windowHours"])),
        settle=_dt.timedelta(0),
        overlap=_dt.timedelta(hours=int(p["overlapHours"])),
        lookback=_dt.timedelta(hours=int(p["lookbackHours"])),
        clock=lambda: CLOCK(),
    )
    return Stream(
        name=f"trips-legacy.{units}",
        sink_stream=SINK_STREAM,
        fingerprint=fingerprint({"path": LEGACY_PATH, "units": units}),
        driver=driver,
        newest=newest_end,
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
    """A trip of the stream (with ``driver`` and ``odometer``, see :class:`AssignedPages`), or a
    legacy one in its shape (:func:`from_legacy`), as a ``trip`` record."""
    asset = trip.get("asset") or {}
    driver = trip.get("driver") or {}
    odometer = trip.get("odometer") or {}
    start, end = str(trip.get("tripStartTime")), trip.get("tripEndTime")
    meters = trip.get("finalDistanceMeters")
    duration = None if not end else (parse_time(str(end)) - parse_time(start)).total_seconds()
    return {
        "id": f"{asset.get('id')}:{start}",
        "schemaVersion": 1,
        "source": trip.get("source") or "stream",
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
        "startOdometer": convert_distance(odometer.get("start"), units),
        "endOdometer": convert_distance(odometer.get("end"), units),
        "startOdometerMeters": odometer.get("start"),
        "endOdometerMeters": odometer.get("end"),
        "odometerSource": odometer.get("source"),
        **_end(trip.get("startLocation"), "start"),
        **_end(trip.get("endLocation"), "end"),
        "tripPurpose": trip.get("tripPurpose"),
        "createdAtTime": trip.get("createdAtTime"),
        "updatedAtTime": trip.get("updatedAtTime"),
    }
