"""Vehicle maintenance: fault codes, alerts, odometer sanity, engine-state transitions and daily
summaries from the stats feed, as events a maintenance or leasing system acts on.

Follows ``GET /fleet/vehicles/stats/feed`` for the stat types it needs, in groups of at most three
(Samsara's limit), and, for tire pressure, ``GET /readings/history?feed=true`` per tire (the stats API
has no tire pressure), all on one ``tracked`` driver: every round reads a page of each feed, runs the
trackers of :mod:`samsara_fmc.telemetry` over the readings in time order, and delivers

- ``vehicle_faults``: a fault's lifecycle (opened after ``faultDebounceMinutes``, updated, closed);
- ``vehicle_alerts``: threshold alerts with hysteresis and odometer flags;
- ``engine_state_transitions``: Off/On/Idle changes with the previous state's duration;
- ``vehicle_days``: each vehicle's local day (``timeZone``) once closed, again if late data changes it;

then commits the cursors and the trackers' state together: each vehicle's part of it (compact, see
:class:`VehicleParts`) in a shard chosen by a hash of its id (one per ~1,000 vehicles), of which a
round writes only those it changed (:mod:`samsara_fmc.engine.shards`). Battery and oil-pressure readings carry
the engine state as a decoration (so the engine state at the reading is Samsara's, not a guess from
another feed's pace).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from samsara_fmc.engine import RunContext, Stream
from samsara_fmc.engine._util import Clock, utc_now
from samsara_fmc.engine.runner import run_declared
from samsara_fmc.engine.tracked import Feed, TrackedDriver
from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint
from samsara_fmc.telemetry import (
    ALERT_KINDS,
    AlertTracker,
    DayTracker,
    EngineStateTracker,
    FaultTracker,
    OdometerSanity,
    Thresholds,
    decode,
)
from samsara_fmc.telemetry._time import epoch, text
from samsara_fmc.telemetry.days import COUNTERS, zone
from samsara_fmc.telemetry.faults import FaultCode

__all__ = [
    "ALERTS",
    "CLOCK",
    "DAYS",
    "FAULTS",
    "FEEDS",
    "TIRES",
    "TRANSITIONS",
    "VehicleParts",
    "run",
    "streams",
    "thresholds",
]

FAULTS = "vehicle_faults"
ALERTS = "vehicle_alerts"
TRANSITIONS = "engine_state_transitions"
DAYS = "vehicle_days"
CLOCK: Clock = utc_now
"""The current time, for closing days (tests set the sandbox's simulated clock)."""
VEHICLES_PER_SHARD = 1000
"""Vehicles per state shard, on average, before the shards double (~150 kB compressed each)."""

FEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "engine": (("engineStates", "faultCodes", "batteryMilliVolts"), ("engineStates",)),
    "levels": (("engineOilPressureKPa", "fuelPercents", "ecuSpeedMph"), ("engineStates",)),
    "odometer": (("obdOdometerMeters", "gpsOdometerMeters", "obdEngineSeconds"), ()),
    "usage": (("idlingDurationMilliseconds", "fuelConsumedMilliliters"), ()),
}
"""Feed name → (stat types, decorations)."""
TIRES = {
    "tirePressuresFrontLeft": "frontLeft",
    "tirePressuresFrontRight": "frontRight",
    "tirePressuresBackLeft": "backLeft",
    "tirePressuresBackRight": "backRight",
}
"""Readings API tire reading → the tire it names (as seen standing behind the vehicle)."""


def thresholds(p: Any) -> Thresholds:
    """The alert thresholds from the event parameters (a :class:`ConfigurationError` if unusable)."""
    return Thresholds(
        battery_off_mv=int(p["batteryOffMilliVolts"]),
        battery_on_mv=int(p["batteryOnMilliVolts"]),
        oil_kpa=int(p["oilPressureKPa"]),
        fuel_percent=int(p["fuelPercent"]),
        tire_kpa=int(p["tirePressureKPa"]),
    )


def streams(ctx: RunContext) -> list[Stream]:
    """The one stream a run follows, from its parameters (checked before anything is read)."""
    p = ctx.params
    limits = thresholds(p)
    tz: str = p["timeZone"]
    zone(tz)
    kinds = tuple(p.get("alerts", list(ALERT_KINDS)))
    unknown = [k for k in kinds if k not in ALERT_KINDS]
    if unknown:
        msg = f"event parameter `alerts` names unknown alert kinds {unknown}: use {', '.join(ALERT_KINDS)}"
        raise ConfigurationError(msg)
    debounce_s = int(p["faultDebounceMinutes"]) * 60
    close_s = int(p["dayCloseMinutes"]) * 60
    vehicle_ids: list[str] = p.get("vehicleIds", [])
    tag_ids: list[str] = p.get("tagIds", [])
    client = ctx.client

    feeds = []
    for name, (types, decorations) in FEEDS.items():

        def pages(
            cursor: str | None,
            deadline: float,
            types: tuple[str, ...] = types,
            decs: tuple[str, ...] = decorations,
        ) -> Iterator[Any]:
            params = {
                "types": list(types),
                "decorations": list(decs) or None,
                "vehicleIds": vehicle_ids or None,
                "tagIds": tag_ids or None,
            }
            return client.pages("/fleet/vehicles/stats/feed", params=params, after=cursor, deadline=deadline)

        feeds.append(Feed(name=name, pages=pages))
    if "lowTirePressure" in kinds:
        for reading in TIRES:

            def tire_pages(cursor: str | None, deadline: float, reading: str = reading) -> Iterator[Any]:
                params = {
                    "readingId": reading,
                    "entityType": "asset",
                    "assetTypes": "vehicle",
                    "feed": "true",
                    "entityIds": vehicle_ids or None,
                }
                return client.pages("/readings/history", params=params, after=cursor, deadline=deadline)

            feeds.append(Feed(name=reading, pages=tire_pages))

    config = {
        "debounceS": debounce_s,
        "thresholds": limits,
        "kinds": kinds,
        "timeZone": tz,
        "closeS": close_s,
        "keepS": int(p["dayKeepHours"]) * 3600,
        "maxSpeedKph": int(p["odometerMaxSpeedKph"]),
        "divergencePercent": int(p["odometerDivergencePercent"]),
        # The readings API filters by vehicle, not by tag (and not every version by asset type): tires
        # of the vehicles the stats feeds returned only.
        "tiresOfKnownOnly": True,
    }

    def transform(
        state: dict[str, Any], pages: Mapping[str, Sequence[Any]]
    ) -> dict[str, list[dict[str, Any]]]:
        return apply(state, pages, config, now=CLOCK().timestamp())

    query = {
        "feeds": FEEDS,
        "tires": "lowTirePressure" in kinds,
        "vehicleIds": vehicle_ids,
        "tagIds": tag_ids,
        "timeZone": tz,
    }
    name = f"maintenance.{tz.replace('/', '+')}"
    if vehicle_ids or tag_ids:
        name += "." + fingerprint([vehicle_ids, tag_ids])[:8]
    driver = TrackedDriver(
        feeds=feeds,
        transform=transform,
        sinks=(FAULTS, ALERTS, TRANSITIONS, DAYS),
        partition=VehicleParts(),
        per_shard=VEHICLES_PER_SHARD,
    )
    return [
        Stream(name=name, sink_stream=FAULTS, fingerprint=fingerprint(query), driver=driver, newest=_newest)
    ]


def run(ctx: RunContext) -> dict[str, Any]:
    """Runs the stream, then adds what the trackers counted this run (odometer anomalies, fault flaps,
    late points) as ``counters``, which the health document adds to its ``counts``."""
    declared = streams(ctx)
    before = _counters(ctx, declared[0])
    result = run_declared(ctx, declared)
    after = _counters(ctx, declared[0])
    result["counters"] = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return result


def _counters(ctx: RunContext, stream: Stream) -> dict[str, int]:
    try:
        trackers = ctx.states.load(stream.name, fingerprint=stream.fingerprint).state.get("trackers", {})
    except Exception:  # a state for another query: the run itself reports it
        return {}
    odo = (trackers.get("odometer") or {}).get("counts", {})
    return {
        "odometerRollbacks": int(odo.get("rollback", 0)),
        "odometerJumps": int(odo.get("jump", 0)),
        "faultFlaps": int((trackers.get("faults") or {}).get("flaps", 0)),
        "latePoints": int(odo.get("late", 0))
        + int((trackers.get("faults") or {}).get("late", 0))
        + int((trackers.get("engine") or {}).get("late", 0))
        + int((trackers.get("alerts") or {}).get("late", 0)),
        "tooLateForDays": int((trackers.get("days") or {}).get("tooLate", 0)),
    }


def _newest(batch: Batch) -> str | None:
    times = [str(r.get("lastSeen") or r.get("time") or r.get("startedAt") or "") for r in batch.records()]
    return max((t for t in times if t), default=None)


def _readings(
    rounds: Mapping[str, Sequence[Any]],
) -> list[tuple[float, int, str, str, str, Any, Mapping[str, Any]]]:
    """Every reading of a round as (time, order, vehicle, type, time text, value, decorations)."""
    order = {t: i for i, t in enumerate(["engineStates", "faultCodes"])}
    out: list[tuple[float, int, str, str, str, Any, Mapping[str, Any]]] = []
    for feed, pages in rounds.items():
        data = [item for page in pages for item in page.data or ()]
        if feed in TIRES:
            for r in data:
                value = (r.get("value") or {}).get("number")
                at = r.get("happenedAtTime")
                if value is None or not at:
                    continue
                t = epoch(at)
                out.append((t, 9, str(r["entityId"]), feed, text(t), float(value), {}))
            continue
        for v in data:
            vid = str(v.get("id"))
            for stat in FEEDS[feed][0]:
                for pt in v.get(stat) or ():
                    t = epoch(str(pt["time"]))
                    value = pt if stat == "faultCodes" else pt.get("value")
                    out.append(
                        (t, order.get(stat, 5), vid, stat, text(t), value, pt.get("decorations") or {})
                    )
            if v.get("name"):
                out.append((0.0, -1, vid, "_name", "", v["name"], v.get("externalIds") or {}))
    out.sort(key=lambda x: (x[0], x[1]))
    return out


def apply(
    state: dict[str, Any], pages: Mapping[str, Sequence[Any]], config: Mapping[str, Any], *, now: float
) -> dict[str, list[dict[str, Any]]]:
    """Runs the trackers over one round of pages; the records per sink stream. ``state`` changes in place."""
    faults = FaultTracker(state.setdefault("faults", {}), debounce_s=config["debounceS"])
    alerts = AlertTracker(state.setdefault("alerts", {}), config["thresholds"], kinds=tuple(config["kinds"]))
    engine = EngineStateTracker(state.setdefault("engine", {}))
    odometer = OdometerSanity(state.setdefault("odometer", {}), max_speed_kph=config["maxSpeedKph"])
    days = DayTracker(
        state.setdefault("days", {}),
        time_zone=config["timeZone"],
        close_after_s=config["closeS"],
        keep_s=config["keepS"],
        divergence_percent=config["divergencePercent"],
    )
    names: dict[str, str] = state.setdefault("names", {})
    external: dict[str, dict[str, str]] = state.setdefault("externalIds", {})
    touched: set[str] = state.setdefault(TOUCHED, set())
    out: dict[str, list[dict[str, Any]]] = {FAULTS: [], ALERTS: [], TRANSITIONS: [], DAYS: []}

    def alert(records: list[dict[str, Any]]) -> None:
        for r in records:
            if r["status"] in ("active", "flagged"):
                days.count(r["vehicleId"], r["startedAt"], "alerts")
        out[ALERTS].extend(records)

    for _, _, vid, stat, t, value, decs in _readings(pages):
        touched.add(vid)
        if stat == "_name":
            names[vid] = str(value)
            if decs:
                external[vid] = dict(decs)
            continue
        if stat in TIRES and config.get("tiresOfKnownOnly") and vid not in names:
            continue
        days.seen(vid, t)
        dec_state = (decs.get("engineStates") or {}).get("value") if isinstance(decs, Mapping) else None
        running = dec_state or engine.at(vid, t)
        if stat == "engineStates":
            out[TRANSITIONS].extend(engine.observe(vid, t, str(value)))
        elif stat == "faultCodes":
            for rec in faults.observe(vid, t, decode(value), engine_state=running):
                out[FAULTS].append(rec)
                if rec["event"] == "opened":
                    days.count(vid, str(rec["openedAt"]), "faultsOpened")
                alert(alerts.fault(rec))
        elif stat == "batteryMilliVolts":
            alert(alerts.observe(vid, "lowBattery", t, float(value), engine_state=running))
        elif stat == "engineOilPressureKPa":
            alert(alerts.observe(vid, "lowOilPressure", t, float(value), engine_state=running))
        elif stat == "fuelPercents":
            alert(alerts.observe(vid, "lowFuel", t, float(value), engine_state=running))
        elif stat == "ecuSpeedMph":
            days.speed(vid, t, float(value))
        elif stat in TIRES:
            alert(alerts.observe(vid, "lowTirePressure", t, float(value), subject=TIRES[stat]))
        else:
            days.counter(vid, stat, t, float(value))
            if stat == "obdOdometerMeters":
                flag = odometer.observe(vid, t, float(value))
                if flag is not None:
                    kind = "odometerRollback" if flag["kind"] == "rollback" else "odometerJump"
                    days.count(vid, t, flag["kind"])
                    alert([alerts.flag(vid, kind, t, float(value), flag)])
    days.state.setdefault("since", now)  # the first run: days begun before it are partial
    out[DAYS] = days.due(now, lambda v: len(faults.open_faults(v)))
    touched |= days.touched
    for records in out.values():
        for r in records:
            r["vehicleName"] = names.get(str(r["vehicleId"]))
            r["vehicleExternalIds"] = external.get(str(r["vehicleId"]))
    return out


TOUCHED = "_touched"
"""The in-memory trackers' set of vehicles a round changed (never stored)."""
_TRACKERS = ("faults", "alerts", "engine", "odometer", "days")
_PER_VEHICLE = {"faults": "vehicles", "alerts": "vehicles", "engine": "vehicles", "odometer": "vehicles"}
_FAULT_ENTRY = ("first", "count", "engine", "record", "lastSeen")
_DAY = ("counters", "maxSpeed", "counts", "first", "last", "sent", "faultsOpen", "dirty")
_ENGINE = ("state", "since", "last", "previous")


def _schema(record: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(record)


_FAULT_RECORD = _schema(
    FaultTracker({}, debounce_s=0)._record(
        "v",
        "k",
        {"first": 0.0, "count": 0},
        FaultCode(key="k", protocol="p", code="c").fields(),
        "opened",
        "",
    )
)
_ALERT_RECORD = _schema(
    AlertTracker({}, Thresholds()).observe("v", "lowFuel", "2026-01-01T00:00:00Z", 1.0)[0]
)


def _pack(record: Mapping[str, Any] | None, schema: tuple[str, ...]) -> Any:
    """A record as the list of its values when its keys are ``schema`` (in order), else as it is."""
    if record is None:
        return None
    return list(record.values()) if tuple(record) == schema else dict(record)


def _unpack(packed: Any, schema: tuple[str, ...]) -> dict[str, Any] | None:
    if packed is None:
        return None
    return dict(zip(schema, packed, strict=True)) if isinstance(packed, list) else dict(packed)


_ALERT_LAST = (
    "lowBattery|",
    "lowOilPressure|",
    "lowFuel|",
    "lowTirePressure|frontLeft",
    "lowTirePressure|frontRight",
    "lowTirePressure|backLeft",
    "lowTirePressure|backRight",
)
"""The alert tracker's ``kind|subject`` keys of last reading times, in the order a part keeps them."""


def _pack_last(last: Mapping[str, float]) -> Any:
    """Last reading times per ``kind|subject``: one number when all seven are the same instant (the
    usual case: one reading time for every stat), a list by :data:`_ALERT_LAST`, else as they are."""
    if not set(last) <= set(_ALERT_LAST):
        return dict(last)
    values = [last.get(k) for k in _ALERT_LAST]
    if values[0] is not None and all(v == values[0] for v in values):
        return values[0]
    return values


def _unpack_last(packed: Any) -> dict[str, float]:
    if isinstance(packed, dict):
        return dict(packed)
    if isinstance(packed, list):
        return {k: v for k, v in zip(_ALERT_LAST, packed, strict=True) if v is not None}
    return dict.fromkeys(_ALERT_LAST, packed)


class VehicleParts:
    """The trackers' state per vehicle, compact, for :mod:`samsara_fmc.engine.shards`.

    A vehicle's part: ``n`` name, ``x`` external IDs, ``e`` engine state (state, since, last,
    previous), ``o`` last odometer reading (time, meters), ``f`` faults (last point time, and per
    code: first seen, count, engine state, open record, last seen), ``a`` alerts (last reading times
    per ``kind|subject``, one number when they are all the same, and open episodes), ``d`` days (per
    local date: counters by :data:`COUNTERS` position, max speed, counts, first and last reading,
    delivered digest, faults open, changed). Records are kept as their values in their fields' order
    (every open fault and threshold alert has the same fields); times stay Unix seconds as floats, so
    a record rebuilt from a loaded part is byte for byte the one a run that never stopped would make.
    Closed faults and episodes are not kept (the trackers drop them once delivered), nor partial days
    (begun before the first run: never delivered); days are kept ``dayKeepHours`` after closing, for
    late data, then dropped.
    """

    def keys(self, trackers: dict[str, Any]) -> set[str]:
        out: set[str] = set(trackers.get("names") or ())
        for name, sub in _PER_VEHICLE.items():
            out.update((trackers.get(name) or {}).get(sub) or ())
        out.update((trackers.get("days") or {}).get("days") or ())
        return out

    def touched(self, trackers: dict[str, Any]) -> set[str]:
        out: set[str] = trackers.pop(TOUCHED, set())
        return out

    def shared(self, trackers: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in _TRACKERS:
            mine = trackers.get(name)
            if isinstance(mine, dict):
                out[name] = {k: v for k, v in mine.items() if k not in ("vehicles", "days")}
        return out

    def dump(self, trackers: dict[str, Any], key: str) -> Any:
        part: dict[str, Any] = {}
        name = (trackers.get("names") or {}).get(key)
        if name is not None:
            part["n"] = name
        ext = (trackers.get("externalIds") or {}).get(key)
        if ext:
            part["x"] = ext
        eng = ((trackers.get("engine") or {}).get("vehicles") or {}).get(key)
        if eng is not None:
            part["e"] = [eng.get(k) for k in _ENGINE]
        odo = ((trackers.get("odometer") or {}).get("vehicles") or {}).get(key)
        if odo is not None:
            part["o"] = odo
        faults = ((trackers.get("faults") or {}).get("vehicles") or {}).get(key)
        if faults is not None:
            codes = {
                code: [e.get(k) if k != "record" else _pack(e.get(k), _FAULT_RECORD) for k in _FAULT_ENTRY]
                for code, e in faults["codes"].items()
            }
            part["f"] = [faults["last"], codes]
        alerts = ((trackers.get("alerts") or {}).get("vehicles") or {}).get(key)
        if alerts is not None and (alerts["last"] or alerts["open"]):
            part["a"] = [
                _pack_last(alerts["last"]),
                {k: _pack(r, _ALERT_RECORD) for k, r in alerts["open"].items()},
            ]
        days = ((trackers.get("days") or {}).get("days") or {}).get(key)
        if days:
            part["d"] = {
                date: [
                    self._counters(d["counters"]),
                    *(d.get(k, True if k == "dirty" else None) for k in _DAY[1:]),
                ]
                for date, d in days.items()
            }
        return part or None

    def load(self, trackers: dict[str, Any], key: str, part: Any) -> None:
        if "n" in part:
            trackers.setdefault("names", {})[key] = part["n"]
        if "x" in part:
            trackers.setdefault("externalIds", {})[key] = part["x"]
        if "e" in part:
            trackers.setdefault("engine", {}).setdefault("vehicles", {})[key] = dict(
                zip(_ENGINE, part["e"], strict=True)
            )
        if "o" in part:
            trackers.setdefault("odometer", {}).setdefault("vehicles", {})[key] = part["o"]
        if "f" in part:
            last, codes = part["f"]
            entries = {}
            for code, values in codes.items():
                e = dict(zip(_FAULT_ENTRY, values, strict=True))
                e["record"] = _unpack(e["record"], _FAULT_RECORD)
                if e["lastSeen"] is None:
                    del e["lastSeen"]
                entries[code] = e
            trackers.setdefault("faults", {}).setdefault("vehicles", {})[key] = {
                "last": last,
                "codes": entries,
            }
        if "a" in part:
            last, open_ = part["a"]
            trackers.setdefault("alerts", {}).setdefault("vehicles", {})[key] = {
                "open": {k: _unpack(r, _ALERT_RECORD) for k, r in open_.items()},
                "last": _unpack_last(last),
            }
        if "d" in part:
            days = trackers.setdefault("days", {}).setdefault("days", {})
            days[key] = {
                date: {
                    "vehicle": key,
                    "date": date,
                    "counters": self._uncounters(values[0]),
                    **dict(zip(_DAY[1:], values[1:], strict=True)),
                }
                for date, values in part["d"].items()
            }

    @staticmethod
    def _counters(counters: dict[str, Any]) -> Any:
        if not set(counters) <= set(COUNTERS):
            return counters
        return [counters.get(name) for name in COUNTERS]

    @staticmethod
    def _uncounters(packed: Any) -> dict[str, Any]:
        if isinstance(packed, dict):
            return packed
        return {name: c for name, c in zip(COUNTERS, packed, strict=True) if c is not None}
