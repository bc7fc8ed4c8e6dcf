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

then commits the cursors and the trackers' state together. Battery and oil-pressure readings carry
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
from samsara_fmc.telemetry.days import zone

__all__ = [
    "ALERTS",
    "CLOCK",
    "DAYS",
    "FAULTS",
    "FEEDS",
    "TIRES",
    "TRANSITIONS",
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
    driver = TrackedDriver(feeds=feeds, transform=transform, sinks=(FAULTS, ALERTS, TRANSITIONS, DAYS))
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
    out: dict[str, list[dict[str, Any]]] = {FAULTS: [], ALERTS: [], TRANSITIONS: [], DAYS: []}

    def alert(records: list[dict[str, Any]]) -> None:
        for r in records:
            if r["status"] in ("active", "flagged"):
                days.count(r["vehicleId"], r["startedAt"], "alerts")
        out[ALERTS].extend(records)

    for _, _, vid, stat, t, value, decs in _readings(pages):
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
    for records in out.values():
        for r in records:
            r["vehicleName"] = names.get(str(r["vehicleId"]))
            r["vehicleExternalIds"] = external.get(str(r["vehicleId"]))
    return out
