"""idling against the sandbox: each idling event of the windows delivered once, equal to a fresh read,
in either API version's shape; events known only after their window was read (they end later) caught
by the overlap; fuel and temperature converted; faults delivering each once."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from samsara_fmc import records
from samsara_fmc.client import Client
from samsara_fmc.engine._util import parse_time
from samsara_fmc.integrations import idling
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.sinks.memory import MemorySink
from tests.functions.safety_rig import NARROW, ROOT, Rig, sandbox_args
from tests.support.sandbox import SandboxProcess
from tests.test_runtime import FakeSecrets

STREAM = "idling_events"
DAYS = "idling_days"
DRIVER_DAYS = "idling_driver_days"
PATH = "/idling/events"
NESTED = "2025-10-23"
"""The API version of the nested shape (`asset`/`operator` with external IDs, `latitude`)."""


@pytest.fixture
def rig_factory(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Rig]:
    sb = sandbox_factory(*sandbox_args())

    def make(**kw: Any) -> Rig:
        rig = Rig(sb, "idling", **kw)
        monkeypatch.setattr(idling, "CLOCK", rig.now)
        return rig

    return make


def at_version(rig: Rig, version: str) -> Rig:
    """The rig's Function pinned to API ``version`` (``X-Samsara-Version``)."""
    rig.rt = FunctionRuntime(
        Manifest.load(ROOT / "functions" / "idling" / "function.json"),
        storage=rig.storage,
        secret_source=FakeSecrets({"SAMSARA_API_TOKEN": rig.token, "SAMSARA_BASE_URL": rig.sb.url}),
        sink=MemorySink(),
        client_options={"api_version": version},
    )
    return rig


def truth(rig: Rig, stream_name: str, version: str | None = None) -> dict[str, dict[str, Any]]:
    """The events from the first run's start to the mark, read afresh: id → event."""
    st = rig.state(stream_name)
    client = (
        rig.client
        if version is None
        else Client(token=rig.token, base_url=rig.sb.url, rate_limit=False, api_version=version)
    )
    params = {"startTime": st["first"], "endTime": st["mark"], "limit": "200", "includeExternalIds": "true"}
    return {str(e["eventUuid"]): e for e in client.records(PATH, params=params)}


def test_delivers_each_event_of_the_windows_converted(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(fmc=True)
    out = rig.invoke(units="imperial", lookbackHours="36", windowHours="6")
    assert out["ok"] and out["caughtUp"], out
    st = rig.state("idling.imperial")
    assert st["first"] == rig.start_of(36) and st["open"] is None
    assert parse_time(st["mark"]) == rig.now() - dt.timedelta(minutes=10), "up to now less the settle time"
    expected = truth(rig, "idling.imperial")
    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert len(expected) > 20 and held.keys() == expected.keys()
    [events] = [x for x in out["streams"] if x["sinkStream"] == STREAM]
    assert events["records"] == len(expected)
    for i, e in expected.items():
        r = held[i]
        assert "asset" not in e and r["vehicleId"] == str(e["assetId"]), "the 2025-06-11 shape: flat ids"
        assert r["driverId"] == (None if e.get("operatorId") is None else str(e["operatorId"]))
        assert r["fuelUnit"] == "gal" and r["fuelConsumed"] == round(
            e["fuelConsumedMilliliters"] / 3785.411784, 3
        )
        assert r["temperatureUnit"] == "F"
        assert r["airTemperature"] == round(e["airTemperatureMillicelsius"] / 1000 * 9 / 5 + 32, 2)
        assert r["durationSeconds"] == e["durationMilliseconds"] / 1000 and r["ptoState"] == e["ptoState"]
    assert {r["ptoState"] for r in held.values()} == {"active", "inactive"}
    schema = records.schema(STREAM)
    assert schema is not None and all(records.validate(schema, r) == [] for r in held.values())

    again = rig.invoke(units="imperial", lookbackHours="36", windowHours="6")
    assert again["ok"] and again["records"] == 0, "a rerun with nothing new delivers nothing"
    assert again["repeated"] > 0, "it read the overlap again"
    summary = rig.sb.fmc_summary(STREAM)
    assert summary["records"] == len(expected) and summary["duplicates"] == 0


def test_the_2025_10_23_shape_gives_external_ids_and_the_location(rig_factory: Callable[..., Rig]) -> None:
    rig = at_version(rig_factory(), NESTED)
    out = rig.invoke(units="metric", lookbackHours="24")
    assert out["streams"][0]["error"] is None
    assert out["ok"] and out["caughtUp"], out
    expected = truth(rig, "idling.metric", version=NESTED)
    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert len(expected) > 10 and held.keys() == expected.keys()
    for i, e in expected.items():
        r = held[i]
        assert r["vehicleId"] == str(e["asset"]["id"]) and r["vehicleExternalIds"] == e["asset"].get(
            "externalIds"
        )
        operator = e.get("operator") or {}
        assert r["driverId"] == (None if not operator else str(operator["id"]))
        assert r["driverExternalIds"] == operator.get("externalIds")
        assert (r["latitude"], r["longitude"]) == (e["latitude"], e["longitude"])
        assert r["fuelUnit"] == "L" and r["fuelConsumed"] == round(e["fuelConsumedMilliliters"] / 1000, 3)
        assert r["airTemperature"] == e["airTemperatureMillicelsius"] / 1000
    assert any(r["vehicleExternalIds"] for r in held.values()) and any(
        r["driverExternalIds"] for r in held.values()
    )
    schema = records.schema(STREAM)
    assert schema is not None and all(records.validate(schema, r) == [] for r in held.values())


@pytest.mark.parametrize("overlap_h", ["6", "0"])
def test_events_known_after_their_window_was_read_are_caught_by_the_overlap(
    rig_factory: Callable[..., Rig], overlap_h: str
) -> None:
    """An event is selected by its start but exists only once it has ended: read with no settle time,
    a window misses the events still going on at its end, and a later run finds them."""
    rig = rig_factory()
    params = {"units": "metric", "lookbackHours": "12", "windowHours": "1", "settleMinutes": "0"}
    params["overlapHours"] = overlap_h
    late = 0
    for step in range(12):
        if step:
            rig.sb.advance(20 * 60)
        before = len(rig.delivered(STREAM))
        mark = rig.state("idling.metric")["mark"] if step else None
        out = rig.run_ok(**params)
        assert out["caughtUp"]
        new = rig.delivered(STREAM)[before:]
        if mark is not None:
            late += sum(1 for r in new if parse_time(str(r["startTime"])) < parse_time(mark))
    counts = Counter(str(r["id"]) for r in rig.delivered(STREAM))
    assert all(n == 1 for n in counts.values()), "no event delivered twice"
    expected = truth(rig, "idling.metric")
    if overlap_h != "0":
        assert late > 0, "events of windows already read were found by re-reading the overlap"
        assert set(counts) == expected.keys(), "nothing lost"
    else:
        assert late == 0 and expected.keys() - set(counts), "without the overlap, those events are lost"


def test_events_are_converted_as_computed_by_hand() -> None:
    flat = {
        "airTemperatureMillicelsius": -3500,
        "assetId": 281474977001676,
        "durationMilliseconds": 540000,
        "eventUuid": "87545522-3497-4fab-ab10-fcfca61b597a",
        "fuelConsumedMilliliters": 480.0,
        "fuelCost": {"amount": "0.50", "currency": "usd"},
        "gaseousFuelConsumedGrams": 0.0,
        "operatorId": 52000588,
        "addressId": "9001",
        "addressType": "yard",
        "ptoState": "inactive",
        "startTime": "2026-10-31T20:25:05Z",
    }
    r = idling.to_record(flat, units="imperial")
    # 480 mL / 3785.411784 mL/gal = 0.12680… gal; -3.5 °C * 9/5 + 32 = 25.7 °F; 540 s after 20:25:05.
    assert (r["fuelConsumed"], r["fuelUnit"], r["airTemperature"], r["temperatureUnit"]) == (
        0.127,
        "gal",
        25.7,
        "F",
    )
    assert (r["durationSeconds"], r["endTime"]) == (540.0, "2026-10-31T20:34:05.000Z")
    assert (r["vehicleId"], r["driverId"], r["addressId"], r["addressTypes"]) == (
        "281474977001676",
        "52000588",
        "9001",
        ["yard"],
    )
    nested = {k: v for k, v in flat.items() if k not in ("assetId", "operatorId", "addressId", "addressType")}
    nested |= {
        "asset": {"id": 281474977001676, "externalIds": {"maintenanceId": "M250145"}},
        "operator": {"id": 52000588, "externalIds": {"payrollId": "PR01041"}},
        "address": {"id": "9001", "addressTypes": ["yard", "customerSite"]},
        "latitude": 32.324242,
        "longitude": -97.26348,
        "airTemperatureMillicelsius": None,
    }
    m = idling.to_record(nested, units="metric")
    assert (m["fuelConsumed"], m["fuelUnit"], m["airTemperature"], m["temperatureUnit"]) == (
        0.48,
        "L",
        None,
        "C",
    )
    assert (m["vehicleId"], m["driverId"], m["addressId"]) == (r["vehicleId"], r["driverId"], "9001")
    assert m["vehicleExternalIds"] == {"maintenanceId": "M250145"} and m["addressTypes"] == [
        "yard",
        "customerSite",
    ]
    assert m["driverExternalIds"] == {"payrollId": "PR01041"} and m["latitude"] == 32.324242
    no_driver = idling.to_record({**flat, "operatorId": None}, units="metric")
    assert no_driver["driverId"] is None and no_driver["airTemperature"] == -3.5
    schema = records.schema(STREAM)
    assert schema is not None and all(records.validate(schema, x) == [] for x in (r, m, no_driver))


@pytest.mark.parametrize("kind", ["repeat_records", "expire_cursor", "status", "empty_page"])
def test_faults_still_deliver_each_event_once(
    rig_factory: Callable[..., Rig], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    rig = rig_factory()
    monkeypatch.setattr(idling, "PAGE_LIMIT", 5)  # so a window pages: cursors to repeat and expire
    params = {"units": "metric", "lookbackHours": "12", "windowHours": "4", "overlapHours": "2"}
    params["kpiTimeZone"] = "America/Chicago"  # a local midnight inside the windows: a day of KPIs
    rig.invoke(**params, maxPages="1")
    rule: dict[str, Any] = {"path": PATH, "kind": kind}
    if kind == "status":
        rule |= {"status": 503, "times": 3}
    rig.sb.faults(rule)
    rig.sb.advance(6 * 3600)
    runs = [rig.run_ok(**params, maxPages="1") for _ in range(2)]
    runs += rig.until_caught_up(**params)
    assert not rig.sb.get("/__sandbox/faults")["rules"], "the fault was met"
    if kind == "repeat_records":
        assert sum(r["repeated"] for r in runs) > 0
    counts = Counter(str(r["id"]) for r in rig.delivered(STREAM))
    assert all(n == 1 for n in counts.values()), "no event delivered twice"
    assert set(counts) == truth(rig, "idling.metric").keys()
    days = Counter(json.dumps(r, sort_keys=True) for r in rig.delivered(DAYS))
    assert days and all(n == 1 for n in days.values()), "no version of a vehicle's day delivered twice"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"units": "si"}, "`units` is `si`: use one of `metric`, `imperial`"),
        ({"lookbackHours": "9999"}, "`lookbackHours` is `9999`"),
        ({"windowHours": "0"}, "`windowHours` is `0`"),
        ({"overlapHours": "-1"}, "`overlapHours` is `-1`"),
        ({"kpiTimeZone": "Central Time"}, "`kpiTimeZone` is `Central Time`"),
        ({"longIdleMinutes": "1"}, "`longIdleMinutes` is `1`"),
        ({"maxPages": "0"}, "`maxPages` is `0`"),
    ],
)
def test_bad_parameters_fail_clearly_and_write_nothing(
    rig_factory: Callable[..., Rig], params: dict[str, str], message: str
) -> None:
    rig = rig_factory()
    out = rig.invoke(**params)
    assert out["ok"] is False and message in out["message"], out
    assert not rig.storage.objects and not rig.delivered(STREAM)
    assert not [r for r in rig.sb.requests() if r["path"] == PATH]


def test_a_token_without_the_scope_fails_preflight_naming_it(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(token=NARROW)
    out = rig.invoke(units="metric")
    assert out["ok"] is False and "`Read Idling`" in out["message"], out
    assert "Org Information" not in out["message"], "only the scope the token lacks"
    assert not rig.delivered(STREAM)
    assert [r["status"] for r in rig.sb.requests() if r["path"] == PATH] == [403], "only the probe"


def test_an_unknown_time_zone_fails_clearly_before_reading(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory()
    out = rig.invoke(kpiTimeZone="Mars/Olympus_Mons")
    assert out["ok"] is False, out
    assert (
        "`kpiTimeZone` is `Mars/Olympus_Mons`: use an IANA time zone such as `America/Chicago`"
        in out["message"]
    )
    assert not rig.delivered(STREAM) and not rig.delivered(DAYS)
    assert [r["status"] for r in rig.sb.requests() if r["path"] == PATH] == [200], "only the scope probe"


def day_bounds(date: str, zone: str) -> tuple[dt.datetime, dt.datetime]:
    day = dt.date.fromisoformat(date)
    tz = ZoneInfo(zone)
    lo = dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    hi = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
    return lo, hi


def engine_by_hand(rig: Rig, vehicle: str, date: str, zone: str) -> float | None:
    """A vehicle's engine-on seconds on a local day (up to now), from its `obdEngineSeconds` history:
    the last value at or before the day's end (or now) less the last at or before its start."""
    lo, hi = day_bounds(date, zone)
    hi = min(hi, rig.now())
    params = {
        "types": "obdEngineSeconds",
        "vehicleIds": vehicle,
        "startTime": (lo - dt.timedelta(hours=3)).isoformat(),
        "endTime": hi.isoformat(),
    }
    points = [
        (parse_time(p["time"]), float(p["value"]))
        for v in rig.client.records("/fleet/vehicles/stats/history", params=params)
        for p in v.get("obdEngineSeconds", [])
    ]
    before = [x for t, x in sorted(points) if t <= lo]
    until = [x for t, x in sorted(points) if t <= hi]
    return until[-1] - before[-1] if before and until else None


def day_events(rig: Rig, date: str, zone: str, **filters: str) -> list[dict[str, Any]]:
    lo, hi = day_bounds(date, zone)
    params = {"startTime": lo.isoformat(), "endTime": hi.isoformat(), "limit": "200", **filters}
    return list(rig.client.records(PATH, params=params))


def sums_by_hand(evs: list[dict[str, Any]], long_min: int) -> dict[str, Any]:
    seconds = [e["durationMilliseconds"] / 1000 for e in evs]
    return {
        "events": len(evs),
        "idleSeconds": sum(seconds),
        "ptoIdleSeconds": sum(e["durationMilliseconds"] / 1000 for e in evs if e["ptoState"] == "active"),
        "idleFuel": round(sum(e["fuelConsumedMilliliters"] for e in evs) / 1000, 3),
        "longIdleEvents": sum(1 for x in seconds if x >= long_min * 60),
    }


def kpis_by_hand(rig: Rig, vehicle: str, date: str, zone: str, long_min: int) -> dict[str, Any]:
    """A vehicle's local day summed from a fresh read of that day's events (flat 2025-06-11 shape)."""
    evs = day_events(rig, date, zone, assetIds=vehicle)
    out = sums_by_hand(evs, long_min)
    out["driverIds"] = sorted({str(e["operatorId"]) for e in evs if e.get("operatorId") is not None})
    engine = engine_by_hand(rig, vehicle, date, zone)
    out["engineSeconds"] = engine
    out["idleMinutesPerEngineHour"] = round(out["idleSeconds"] / engine * 60, 2) if engine else None
    return out


def test_daily_kpis_per_vehicle_equal_the_days_summed_by_hand(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(fmc=True)
    params = {
        "units": "metric",
        "lookbackHours": "48",  # from 13:00 CDT on 31 October: 1 November (25 hours long) and 2 November
        "overlapHours": "6",
        "settleMinutes": "0",
        "kpiTimeZone": "America/Chicago",
        "longIdleMinutes": "5",
    }
    assert rig.invoke(**params)["ok"]
    rig.sb.advance(3 * 3600)
    out = rig.invoke(**params)
    assert out["ok"] and out["caughtUp"], out
    delivered = rig.delivered(DAYS)
    held = {str(r["id"]): r for r in delivered}
    dates = {r["date"] for r in held.values()}
    assert len(dates) >= 2 and len(held) > 20, "several vehicles on several local days"
    for r in held.values():
        assert r["id"] == f"{r['vehicleId']}:{r['date']}" and r["timeZone"] == "America/Chicago"
        want = kpis_by_hand(rig, r["vehicleId"], r["date"], "America/Chicago", 5)
        got = {k: r[k] for k in want}
        assert got == want, (r["id"], got, want)
    assert any(r["longIdleEvents"] for r in held.values()) and any(
        r["longIdleEvents"] < r["events"] for r in held.values()
    ), "the threshold splits events"
    assert all(r["engineSeconds"] for r in held.values()), "every vehicle that idled ran its engine"
    assert all(0 < r["idleMinutesPerEngineHour"] <= 60 for r in held.values())
    summary = rig.sb.fmc_summary(DAYS)
    assert summary["records"] == len(held) and summary["duplicates"] == 0
    assert summary["updates"] > 0, "a day that gained events was delivered again, same id"
    schema = records.schema(DAYS)
    assert schema is not None and all(records.validate(schema, r) == [] for r in held.values())
    assert rig.invoke(**params)["records"] == 0, "a rerun with nothing new delivers nothing"

    # Per driver: the same sums over the driver's events; the engine time of the vehicles they alone
    # idled that day.
    drivers = {str(r["id"]): r for r in rig.delivered(DRIVER_DAYS)}
    assert len(drivers) > 20 and {r["date"] for r in drivers.values()} == dates
    for r in drivers.values():
        assert r["id"] == f"{r['driverId']}:{r['date']}"
        evs = day_events(rig, r["date"], "America/Chicago", operatorIds=r["driverId"])
        assert {k: r[k] for k in sums_by_hand(evs, 5)} == sums_by_hand(evs, 5), r["id"]
        assert r["vehicleIds"] == sorted({str(e["assetId"]) for e in evs})
        alone = [v for v in r["vehicleIds"] if v not in r["sharedVehicleIds"]]
        for v in r["sharedVehicleIds"]:
            assert held[f"{v}:{r['date']}"]["driverIds"] != [r["driverId"]]
        engine = [held[f"{v}:{r['date']}"]["engineSeconds"] for v in alone]
        assert r["engineSeconds"] == (sum(engine) if alone else None)
        if alone:
            idle = sum(e["durationMilliseconds"] / 1000 for e in evs if str(e["assetId"]) in alone)
            assert r["idleMinutesPerEngineHour"] == round(idle / sum(engine) * 60, 2)
    summary = rig.sb.fmc_summary(DRIVER_DAYS)
    assert summary["records"] == len(drivers) and summary["duplicates"] == 0
    schema = records.schema(DRIVER_DAYS)
    assert schema is not None and all(records.validate(schema, r) == [] for r in drivers.values())


def test_local_days_follow_the_time_zone_across_a_dst_change() -> None:
    chicago = ZoneInfo("America/Chicago")
    start = dt.datetime(2026, 11, 1, 4, 0, tzinfo=dt.UTC)  # 23:00 CDT on 31 October
    assert idling.local_days(start, start + dt.timedelta(hours=2), chicago) == [
        dt.date(2026, 10, 31),
        dt.date(2026, 11, 1),
    ]
    assert idling.local_days(start, start + dt.timedelta(hours=1), chicago) == [dt.date(2026, 10, 31)]
    events = [
        idling.to_record(
            {
                "eventUuid": f"u{i}",
                "assetId": 7,
                "operatorId": 9 if i else None,
                "durationMilliseconds": ms,
                "fuelConsumedMilliliters": 1000.0,
                "ptoState": "active" if i == 2 else "inactive",
                "startTime": "2026-11-01T12:00:00Z",
            },
            units="imperial",
        )
        for i, ms in enumerate([120_000, 600_000, 900_000])
    ]
    [day] = idling.day_records(
        events, dt.date(2026, 11, 1), "America/Chicago", units="imperial", long_idle_minutes=10
    )
    # 3000 mL / 3785.411784 mL/gal = 0.79252… gal; 2 + 10 + 15 minutes; 10 and 15 are long.
    assert (day["idleFuel"], day["fuelUnit"], day["idleSeconds"], day["ptoIdleSeconds"]) == (
        0.793,
        "gal",
        1620.0,
        900.0,
    )
    assert (day["events"], day["longIdleEvents"], day["longIdleSeconds"], day["driverIds"]) == (
        3,
        2,
        1500.0,
        ["9"],
    )
    assert day["id"] == "7:2026-11-01"


def test_driver_days_and_idle_per_engine_hour_computed_by_hand() -> None:
    def event(uuid: str, vehicle: int, driver: int | None, minutes: int) -> dict[str, Any]:
        raw = {
            "eventUuid": uuid,
            "assetId": vehicle,
            "operatorId": driver,
            "durationMilliseconds": minutes * 60_000,
            "fuelConsumedMilliliters": 500.0,
            "ptoState": "inactive",
            "startTime": "2026-11-02T15:00:00Z",
        }
        return idling.to_record(raw, units="metric")

    # Vehicle 1: driver 9 alone (12 + 3 min); vehicle 2: drivers 9 (20 min) and 8 (5 min), and an
    # event without a driver (6 min).
    events = [
        event("a", 1, 9, 12),
        event("b", 1, 9, 3),
        event("c", 2, 9, 20),
        event("d", 2, 8, 5),
        event("e", 2, None, 6),
    ]
    day = dt.date(2026, 11, 2)
    engine = {"1": 7200.0, "2": 5400.0}
    kw: dict[str, Any] = {"units": "metric", "long_idle_minutes": 10, "engine": engine}
    v1, v2 = idling.day_records(events, day, "UTC", **kw)
    # Vehicle 1: 15 idle minutes over 2 engine hours = 7.5 min/h; vehicle 2: 31 minutes over 1.5 h.
    assert (v1["engineSeconds"], v1["engineHours"], v1["idleMinutesPerEngineHour"]) == (7200.0, 2.0, 7.5)
    assert (v2["idleMinutesPerEngineHour"], v2["longIdleEvents"]) == (20.67, 1)
    d8, d9 = idling.driver_day_records(events, day, "UTC", **kw)
    assert (d9["driverId"], d9["events"], d9["idleSeconds"], d9["idleFuel"]) == ("9", 3, 2100.0, 1.5)
    assert (d9["vehicleIds"], d9["sharedVehicleIds"], d9["longIdleEvents"]) == (["1", "2"], ["2"], 2)
    # Only vehicle 1 counts for driver 9's ratio: 15 minutes over 2 engine hours.
    assert (d9["engineSeconds"], d9["idleMinutesPerEngineHour"]) == (7200.0, 7.5)
    assert (d8["vehicleIds"], d8["sharedVehicleIds"]) == (["2"], ["2"])
    assert (d8["engineSeconds"], d8["engineHours"], d8["idleMinutesPerEngineHour"]) == (None, None, None)
    no_engine = idling.day_records(events, day, "UTC", units="metric", long_idle_minutes=10)
    assert no_engine[0]["engineSeconds"] is None and no_engine[0]["idleMinutesPerEngineHour"] is None
    schema = records.schema(DRIVER_DAYS)
    assert schema is not None and all(records.validate(schema, r) == [] for r in (d8, d9))
