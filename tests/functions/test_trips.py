"""trips against the sandbox: each completed trip of the window delivered once, equal to a fresh read
of the stream, distances converted, the odometers equal to the sandbox's; the legacy source delivering
the same drives as the stream, each once under faults and reruns."""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc import records
from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.exceptions import ResponseDecodeError
from samsara_fmc.integrations import trips
from scripts import demo
from tests.functions.safety_rig import NARROW, Rig, sandbox_args
from tests.support.sandbox import SandboxProcess, sandbox_binary

ROOT = Path(__file__).resolve().parents[2]
STREAM = "trips"
PATH = "/trips/stream"
LEGACY = "/v1/fleet/trips"
LEGACY_LACKS = {
    "source",
    "tripPurpose",
    "createdAtTime",
    "updatedAtTime",
    "startAddress",
    "endAddress",
    "startGeofenceId",
    "endGeofenceId",
}
"""What a legacy trip's record does not share with the stream's record of the same drive."""


@pytest.fixture
def rig_factory(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Rig]:
    sb = sandbox_factory(*sandbox_args())

    def make(**kw: Any) -> Rig:
        rig = Rig(sb, "trips", **kw)
        monkeypatch.setattr(trips, "CLOCK", rig.now)
        return rig

    return make


def truth(rig: Rig, stream_name: str) -> dict[str, dict[str, Any]]:
    """The window's completed trips, read afresh: id → trip."""
    start = rig.state(stream_name)["first"]
    return {
        f"{t['asset']['id']}:{t['tripStartTime']}": t
        for t in rig.truth(PATH, {**trips.QUERY, "startTime": start})
    }


def drives(sb: SandboxProcess, start: str, end: str) -> dict[str, dict[str, Any]]:
    """The sandbox's drives starting in ``[start, end)``, straight from its model: id → drive."""
    q = urllib.parse.urlencode({"startTime": start, "endTime": end})
    return {f"{d['vehicleId']}:{d['startTime']}": d for d in sb.get(f"/__sandbox/truth/trips?{q}")["data"]}


def assert_odometers(
    held: dict[str, dict[str, Any]], truth: dict[str, dict[str, Any]], *, jumps: bool = False
) -> None:
    """Every record's odometers are the sandbox's OBD odometer at its start and end, converted (and
    differ by the distance driven, unless the odometer may roll back or jump: ``jumps``)."""
    for i, r in held.items():
        d = truth[i]
        assert r["odometerSource"] == "obd", r
        assert (r["startOdometerMeters"], r["endOdometerMeters"]) == (
            d["startOdometerMeters"],
            d["endOdometerMeters"],
        ), (r, d)
        per = 1000.0 if r["distanceUnit"] == "km" else trips.METERS_PER_MILE
        assert r["startOdometer"] == round(d["startOdometerMeters"] / per, 3)
        assert r["endOdometer"] == round(d["endOdometerMeters"] / per, 3)
        if not jumps:
            moved = r["endOdometerMeters"] - r["startOdometerMeters"]
            assert moved == pytest.approx(d["distanceMeters"], abs=1)


def test_delivers_each_completed_trip_of_the_window(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(fmc=True)
    out = rig.invoke(units="imperial", lookbackHours="36")
    assert out["ok"] and out["caughtUp"], out
    assert rig.state("trips.imperial")["first"] == rig.start_of(36)
    expected = truth(rig, "trips.imperial")
    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert len(expected) > 20 and held.keys() == expected.keys()
    assert out["records"] == len(expected)
    for i, t in expected.items():
        r = held[i]
        assert t["completionStatus"] == "completed"
        assert r["vehicleId"] == t["asset"]["id"] and r["vehicleExternalIds"] == t["asset"]["externalIds"]
        assert r["vehicleName"] == t["asset"]["name"] and r["vin"] == t["asset"]["vin"]
        assert r["distanceUnit"] == "mi"
        assert r["distance"] == round(t["finalDistanceMeters"] / 1609.344, 3)
        assert r["distanceMeters"] == t["finalDistanceMeters"]
        assert r["startTime"] == t["tripStartTime"] and r["endTime"] == t["tripEndTime"]
        assert r["durationSeconds"] is not None and r["durationSeconds"] > 0
        assert (r["startLatitude"], r["startLongitude"]) == (
            t["startLocation"]["latitude"],
            t["startLocation"]["longitude"],
        )
        assert r["endAddress"] == t["endLocation"]["address"] and r["startAddress"]
        assert r["source"] == "stream"
    # The odometers, from the vehicles' OBD odometer history, are the sandbox's at start and end.
    assert_odometers(held, drives(rig.sb, min(r["startTime"] for r in held.values()), rig.start_of(0)))
    history = [r for r in rig.sb.requests() if r["path"] == trips.STATS_HISTORY]
    pages = [r for r in rig.sb.requests() if r["path"] == PATH]
    assert history and all(r["status"] == 200 for r in history)
    assert len({r["query"] for r in history if "after=" not in r["query"]}) <= len(pages), "one per page"
    assignments = list(
        rig.truth(
            trips.ASSIGNMENTS,
            {"filterBy": "vehicles", "startTime": rig.start_of(40), "endTime": rig.start_of(0)},
        )
    )
    with_driver = [r for r in held.values() if r["driverId"]]
    assert len(with_driver) > len(held) * 0.8, "most trips have a driver assigned"
    for r in with_driver:
        # The driver's assignment to the vehicle overlaps the trip.
        assert any(
            a["driver"]["id"] == r["driverId"]
            and a["vehicle"]["id"] == r["vehicleId"]
            and not a["isPassenger"]
            and a["startTime"] < r["endTime"]
            and (a.get("endTime") is None or a["endTime"] > r["startTime"])
            and r["driverName"] == a["driver"]["name"]
            and r["driverExternalIds"] == a["driver"]["externalIds"]
            for a in assignments
        ), r
    schema = records.schema(STREAM)
    assert schema is not None and all(records.validate(schema, r) == [] for r in held.values())

    again = rig.invoke(units="imperial", lookbackHours="36")
    assert again["ok"] and again["records"] == 0, "a rerun with nothing new delivers nothing"

    rig.sb.advance(12 * 3600)
    later = rig.invoke(units="imperial", lookbackHours="36")
    assert later["ok"] and later["caughtUp"] and later["records"] > 0
    expected = truth(rig, "trips.imperial")
    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert held.keys() == expected.keys()
    summary = rig.sb.fmc_summary(STREAM)
    assert summary["records"] == len(expected) and summary["duplicates"] == 0


def test_trips_are_converted_as_computed_by_hand() -> None:
    trip = {
        "asset": {"id": "281474977000122", "externalIds": {"maintenanceId": "M250103"}, "name": "Van 0103"},
        "completionStatus": "completed",
        "createdAtTime": "2026-10-31T10:21:30Z",
        "startLocation": {"headingDegrees": 108, "latitude": 33.987218, "longitude": -84.520055},
        "endLocation": {
            "headingDegrees": 212,
            "latitude": 33.724185,
            "longitude": -84.403492,
            "address": {"city": "Atlanta", "state": "GA"},
            "geofence": {"id": 7701},
        },
        "finalDistanceMeters": 35975,
        "tripEndTime": "2026-10-31T11:57:20Z",
        "tripPurpose": "business",
        "tripStartTime": "2026-10-31T10:20:30Z",
        "updatedAtTime": "2026-10-31T11:58:20Z",
    }
    r = trips.to_record(trip, units="imperial")
    # 35975 m / 1609.344 m/mi = 22.3538… mi; 10:20:30 → 11:57:20 is 1 h 36 min 50 s.
    assert (r["distance"], r["distanceUnit"], r["durationSeconds"]) == (22.354, "mi", 5810.0)
    assert r["id"] == "281474977000122:2026-10-31T10:20:30Z" and r["endGeofenceId"] == "7701"
    assert r["startGeofenceId"] is None and r["startAddress"] is None
    m = trips.to_record(trip, units="metric")
    assert (m["distance"], m["distanceUnit"]) == (35.975, "km")
    # The same trip before completion (as `completionStatus=all` shows it) has the same id, so its
    # completed version is an upsert of it.
    ongoing = {**trip, "completionStatus": "inProgress", "tripEndTime": None, "finalDistanceMeters": None}
    o = trips.to_record(ongoing, units="metric")
    assert o["id"] == m["id"] and (o["distance"], o["durationSeconds"], o["endTime"]) == (None, None, None)
    schema = records.schema(STREAM)
    assert schema is not None and records.validate(schema, r) == [] and records.validate(schema, o) == []


def test_the_driver_is_the_assignment_covering_most_of_the_trip() -> None:
    trip = {
        "asset": {"id": "7"},
        "tripStartTime": "2026-11-01T10:00:00Z",
        "tripEndTime": "2026-11-01T11:00:00Z",
    }

    def a(
        driver: str, start: str, end: str | None, *, vehicle: str = "7", passenger: bool = False
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "driver": {"id": driver, "name": f"D{driver}", "externalIds": {"payrollId": f"P{driver}"}},
            "vehicle": {"id": vehicle},
            "isPassenger": passenger,
            "startTime": f"2026-11-01T{start}:00Z",
        }
        if end is not None:
            out["endTime"] = f"2026-11-01T{end}:00Z"
        return out

    # 10:00 to 10:20 is 20 minutes of driver 1, 10:20 to open is 40 minutes of driver 2.
    assert trips.driver_of(trip, [a("1", "09:00", "10:20"), a("2", "10:20", None)]) == {
        "id": "2",
        "name": "D2",
        "externalIds": {"payrollId": "P2"},
    }
    # Passengers, other vehicles and assignments outside the trip do not count.
    others = [
        a("3", "09:00", "12:00", passenger=True),
        a("4", "09:00", "12:00", vehicle="8"),
        a("5", "11:00", "12:00"),
    ]
    assert trips.driver_of(trip, others) is None
    # On a tie, the earlier assignment.
    tie = trips.driver_of(trip, [a("7", "10:30", "11:30"), a("6", "09:30", "10:30")])
    assert tie is not None and tie["id"] == "6"
    r = trips.to_record({**trip, "driver": tie}, units="metric")
    assert (r["driverId"], r["driverName"], r["driverExternalIds"]) == ("6", "D6", {"payrollId": "P6"})
    assert trips.to_record({**trip, "driver": None}, units="metric")["driverId"] is None


@pytest.mark.parametrize("kind", ["expire_cursor", "repeat_records", "status"])
def test_stream_faults_still_deliver_each_trip_once(rig_factory: Callable[..., Rig], kind: str) -> None:
    rig = rig_factory()
    rig.invoke(units="metric", maxPages="1")
    rule: dict[str, Any] = {"path": PATH, "kind": kind}
    if kind == "status":
        rule |= {"status": 503, "times": 3}
    rig.sb.faults(rule)
    rig.sb.advance(12 * 3600)
    runs = [rig.run_ok(units="metric", maxPages="1") for _ in range(2)]
    runs += rig.until_caught_up(units="metric")
    assert not rig.sb.get("/__sandbox/faults")["rules"], "the fault was met"
    if kind == "repeat_records":
        assert sum(r["repeated"] for r in runs) > 0, "the repeated records were recognised"
    versions = Counter((str(r["id"]), str(r["updatedAtTime"])) for r in rig.delivered(STREAM))
    assert all(n == 1 for n in versions.values()), "no trip version delivered twice"
    assert {i for i, _ in versions} == truth(rig, "trips.metric").keys()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"units": "si"}, "`units` is `si`: use one of `metric`, `imperial`"),
        ({"lookbackHours": "9999"}, "`lookbackHours` is `9999`"),
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
    assert out["ok"] is False and "`Read Trips`" in out["message"], out
    assert "`Read Assignments`" in out["message"], out
    assert "Org Information" not in out["message"], "only the scope the token lacks"
    assert not rig.delivered(STREAM)
    assert [r["status"] for r in rig.sb.requests() if r["path"] == PATH] == [403], "only the probe"


def legacy_ids(rig: Rig, name: str) -> tuple[str, str]:
    """The legacy stream's ``first`` and ``mark``."""
    st = rig.state(name)
    return str(st["first"]), str(st["mark"])


def test_legacy_trips_are_the_drives_of_the_stream(rig_factory: Callable[..., Rig]) -> None:
    """The legacy source delivers every completed drive of the window once, with the sandbox's
    distance, odometers and driver, and the same record as the stream's for the same drive but for what
    legacy trips lack."""
    rig = rig_factory(fmc=True)
    since = len(rig.sb.requests())
    out = rig.invoke(source="legacy", units="imperial", lookbackHours="36", windowHours="12")
    assert out["ok"] and out["caughtUp"], out
    first, mark = legacy_ids(rig, "trips-legacy.imperial")
    assert first == rig.start_of(36) and mark == rig.start_of(0)
    truth = {i: d for i, d in drives(rig.sb, first, mark).items() if d["endTime"]}
    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert len(truth) > 20 and held.keys() == truth.keys()
    assert out["records"] == len(truth)
    for i, d in truth.items():
        r = held[i]
        assert r["source"] == "legacy" and (r["startTime"], r["endTime"]) == (d["startTime"], d["endTime"])
        assert r["distanceMeters"] == d["distanceMeters"] and r["driverId"] == d["driverId"]
        assert r["distance"] == round(d["distanceMeters"] / trips.METERS_PER_MILE, 3)
        assert r["updatedAtTime"] is None and r["tripPurpose"] is None
    assert_odometers(held, truth)
    schema = records.schema(STREAM)
    assert schema is not None and all(records.validate(schema, r) == [] for r in held.values())
    # The vehicles are listed once; each window (three of 12 h) is one request per vehicle.
    log = [r for r in rig.sb.requests(since) if "limit=1&" not in r["query"] + "&"]  # not the probes
    vehicles = {v["id"] for v in rig.client.vehicles()}
    assert [r["path"] for r in log].count("/fleet/vehicles") == 1
    assert len([r for r in log if r["path"] == LEGACY and "vehicleId=0&" not in r["query"]]) == 3 * len(
        vehicles
    )
    assert not [r for r in log if r["path"] == trips.STATS_HISTORY], "legacy trips carry their odometers"

    # The stream path over the same window tells the same drives, field for field.
    stream_rig = rig_factory()
    assert stream_rig.invoke(source="stream", units="imperial", lookbackHours="36")["ok"]
    streamed = {
        str(r["id"]): r
        for r in stream_rig.delivered(STREAM)
        if parse_time(first) <= parse_time(r["startTime"]) < parse_time(mark)
    }
    now = parse_time(rig.start_of(0))
    # The stream shows a trip a minute after it ends (Samsara's processing), legacy at once.
    recent = {i for i, r in held.items() if parse_time(str(r["endTime"])) > now - dt.timedelta(seconds=60)}
    assert streamed.keys() == held.keys() - recent and len(streamed) > 20
    for i, s in streamed.items():
        r = held[i]
        same = {
            k: v for k, v in r.items() if k not in LEGACY_LACKS and not k.endswith(("Latitude", "Longitude"))
        }
        assert same == {k: s[k] for k in same}, i
        for k in ("startLatitude", "startLongitude", "endLatitude", "endLongitude"):
            assert r[k] == pytest.approx(s[k], abs=1e-5), (i, k)
        assert s["source"] == "stream" and r["endAddress"]

    assert rig.invoke(source="legacy", units="imperial", lookbackHours="36")["records"] == 0


def test_odometers_that_roll_back_or_jump_are_what_the_obd_odometer_reads(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the sandbox's odometer rollbacks and jumps, both sources deliver the OBD odometer as Samsara
    reads it at each trip's start and end: the stream's from the odometer history, legacy's its own."""
    sb = sandbox_factory(*sandbox_args(), "--episodes", "on")
    held: dict[str, dict[str, dict[str, Any]]] = {}
    for source in ("stream", "legacy"):
        rig = Rig(sb, "trips")
        monkeypatch.setattr(trips, "CLOCK", rig.now)
        assert rig.invoke(source=source, units="metric", lookbackHours="30")["ok"]
        held[source] = {str(r["id"]): r for r in rig.delivered(STREAM)}
    truth = drives(sb, min(r["startTime"] for r in held["stream"].values()), iso(rig.now()))
    assert_odometers(held["stream"], truth, jumps=True)
    assert_odometers(held["legacy"], truth, jumps=True)
    both = held["stream"].keys() & held["legacy"].keys()
    assert len(both) > 20
    moved = [
        i
        for i in both
        if held["stream"][i]["endOdometerMeters"] - held["stream"][i]["startOdometerMeters"]
        != truth[i]["distanceMeters"]
    ]
    assert moved, "an odometer rolled back or jumped during a trip of the window"
    for i in both:
        keys = ("startOdometerMeters", "endOdometerMeters", "odometerSource")
        assert [held["stream"][i][k] for k in keys] == [held["legacy"][i][k] for k in keys]


def test_legacy_trips_in_progress_are_delivered_once_they_complete(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(fmc=True)
    params = {"source": "legacy", "units": "metric", "lookbackHours": "24", "windowHours": "6"}
    assert rig.invoke(**params)["ok"]
    first, mark = legacy_ids(rig, "trips-legacy.metric")
    ongoing = {i for i, d in drives(rig.sb, first, mark).items() if not d["endTime"]}
    held = {str(r["id"]) for r in rig.delivered(STREAM)}
    assert ongoing and not ongoing & held, "a trip in progress is not delivered yet"
    rig.sb.advance(6 * 3600)
    later = rig.invoke(**params)
    assert later["ok"] and later["caughtUp"]
    _, mark = legacy_ids(rig, "trips-legacy.metric")
    truth = {i for i, d in drives(rig.sb, first, mark).items() if d["endTime"]}
    held = {str(r["id"]) for r in rig.delivered(STREAM)}
    assert ongoing <= truth and held == truth, "completed in the overlap, then delivered"
    summary = rig.sb.fmc_summary(STREAM)
    assert summary["records"] == len(truth) and summary["duplicates"] == 0


@pytest.mark.parametrize(
    "rule",
    [
        {"path": LEGACY, "kind": "status", "status": 503, "probability": 0.08},
        {"path": LEGACY, "kind": "truncate", "probability": 0.05},
        {"path": "/fleet/driver-vehicle-assignments", "kind": "status", "status": 500, "times": 4},
    ],
)
def test_legacy_runs_that_fail_midway_lose_and_repeat_nothing(
    rig_factory: Callable[..., Rig], rule: dict[str, Any]
) -> None:
    """Runs failing part-way through a window (the platform retries them) and runs stopped by the page
    limit resume at the window they were reading: each drive delivered once."""
    rig = rig_factory(fmc=True)
    params = {"source": "legacy", "units": "metric", "lookbackHours": "30", "windowHours": "6"}
    rig.sb.faults(rule)
    runs = [rig.run_ok(5, **params, maxPages="1") for _ in range(2)]
    rig.sb.advance(3 * 3600)
    runs += rig.until_caught_up(30, **params, maxPages="1")
    assert len(runs) > 3 and not runs[0]["caughtUp"], "the page limit stopped runs between windows"
    first, mark = legacy_ids(rig, "trips-legacy.metric")
    truth = {i for i, d in drives(rig.sb, first, mark).items() if d["endTime"]}
    delivered = Counter(str(r["id"]) for r in rig.delivered(STREAM))
    assert set(delivered) == truth and all(n == 1 for n in delivered.values())
    assert rig.sb.fmc_summary(STREAM)["duplicates"] == 0
    if rule["kind"] == "status":
        assert [r for r in rig.sb.requests() if r["status"] == rule["status"]], "the fault fired"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"source": "v1"}, "`source` is `v1`: use one of `stream`, `legacy`"),
        ({"source": "legacy", "windowHours": "0"}, "`windowHours` is `0`"),
        ({"source": "legacy", "windowHours": "2161"}, "`windowHours` is `2161`"),
        ({"source": "legacy", "overlapHours": "169"}, "`overlapHours` is `169`"),
    ],
)
def test_bad_legacy_parameters_fail_clearly_and_read_nothing(
    rig_factory: Callable[..., Rig], params: dict[str, str], message: str
) -> None:
    rig = rig_factory()
    out = rig.invoke(**params)
    assert out["ok"] is False and message in out["message"], out
    assert not rig.storage.objects and not rig.delivered(STREAM)
    assert not [r for r in rig.sb.requests() if r["path"] in (LEGACY, PATH)]


@pytest.mark.parametrize(
    "body", [{"data": []}, {"trips": {"startMs": 1}}, {"trips": [{"startMs": "1"}]}, [{"trips": []}]]
)
def test_a_legacy_answer_of_another_shape_is_a_clear_error(body: Any) -> None:
    with pytest.raises(ResponseDecodeError, match=r"vehicle `7` did not answer `\{\"trips\": \[\.\.\.\]\}`"):
        trips._legacy_trips(body, "7", 0, 10)


def test_legacy_trips_are_converted_as_computed_by_hand() -> None:
    vehicle = {"id": "281474977000122", "name": "Van 0103", "vin": "1FTBW3XM5LKA12345"}
    start_ms = 1_793_442_030_000  # 2026-10-31T10:20:30Z
    legacy: dict[str, Any] = {
        "startMs": start_ms,
        "endMs": 1_793_447_840_000,  # 2026-10-31T11:57:20Z
        "distanceMeters": 35975,
        "startOdometer": 14_010_293,
        "endOdometer": 14_046_268,
        "driverId": 5512,
        "startCoordinates": {"latitude": 33.987218, "longitude": -84.520055},
        "endCoordinates": {"latitude": 33.724185, "longitude": -84.403492},
        "startAddress": {"address": "1 Main St, Marietta, GA", "id": 3, "name": "Depot"},
        "endLocation": "Atlanta, GA",
    }
    assert trips._legacy_trips({"trips": [legacy]}, "7", start_ms, start_ms + 1) == [legacy]
    ongoing = {**legacy, "endMs": trips.ONGOING_MS}
    assert trips._legacy_trips({"trips": [ongoing]}, "7", 0, 2**62) == [], "in progress: not yet"
    assert trips._legacy_trips({"trips": [legacy]}, "7", 0, start_ms) == [], "starts after"
    item = {**trips.from_legacy(legacy, vehicle), "driver": {"id": "5512", "name": "Ana"}}
    r = trips.to_record(item, units="imperial")
    assert r["id"] == "281474977000122:2026-10-31T10:20:30Z" and r["endTime"] == "2026-10-31T11:57:20Z"
    # 35975 m / 1609.344 = 22.354 mi; 14010293 m = 8705.592 mi; 1 h 36 min 50 s.
    assert (r["distance"], r["durationSeconds"], r["startOdometer"]) == (22.354, 5810.0, 8705.592)
    assert (r["startOdometerMeters"], r["endOdometerMeters"], r["odometerSource"]) == (
        14_010_293,
        14_046_268,
        "obd",
    )
    assert r["startAddress"] == legacy["startAddress"] and r["endAddress"] == {"address": "Atlanta, GA"}
    assert (r["source"], r["driverId"], r["vin"], r["updatedAtTime"]) == (
        "legacy",
        "5512",
        vehicle["vin"],
        None,
    )
    schema = records.schema(STREAM)
    assert schema is not None and records.validate(schema, r) == []


def test_the_odometer_prefers_obd_and_says_which() -> None:
    def at(hm: str) -> dt.datetime:
        return parse_time(f"2026-11-01T{hm}:00Z")

    obd = [(at("09:00"), 1000), (at("10:00"), 1000), (at("10:30"), 1500), (at("11:01"), 2000)]
    gps = [(at("09:59"), 990), (at("11:00"), 1995)]
    start, end = at("10:00"), at("11:00")
    both = {"obdOdometerMeters": obd, "gpsOdometerMeters": gps}
    # Start: the last point at or before it; end: the first at or after it.
    assert trips.trip_odometer(both, start, end) == (1000, 2000, "obd")
    # Without an OBD point after the end, the last during the trip is OBD's... only when GPS has no
    # complete pair: GPS has both ends, so it is taken.
    assert trips.trip_odometer({**both, "obdOdometerMeters": obd[:1]}, start, end) == (990, 1995, "gps")
    assert trips.trip_odometer({"obdOdometerMeters": obd[:3]}, start, end) == (1000, 1500, "obd")
    assert trips.trip_odometer({"obdOdometerMeters": obd[2:3]}, start, end) == (1500, 1500, "obd")
    assert trips.trip_odometer({"gpsOdometerMeters": gps[:1]}, start, end) == (990, None, "gps")
    assert trips.trip_odometer({}, start, end) == (None, None, None)
    assert trips.trip_odometer({"obdOdometerMeters": obd}, start, None) == (1000, None, "obd")


def test_legacy_trips_under_samsara_fn(tmp_path: Path) -> None:
    """The legacy source under samsara-fn (Python 3.12, the wall clock) over the sandbox's whole
    history, delivering to the FMC endpoint, then a rerun: every completed drive once, with its
    odometers; the rerun delivers nothing."""
    if not os.environ.get("SAMSARA_FN"):
        pytest.skip("`SAMSARA_FN` is not set: `make test` points it at .venv-runtime")
    zip_path = ROOT / "dist" / "trips.zip"
    assert zip_path.exists(), f"{zip_path} is missing: run `make bundle` (make test does)"
    sandbox = demo.Sandbox.start(vehicles=12, binary=str(sandbox_binary()))
    try:
        d = demo.Demo(tmp_path / "fn", sandbox.url, name="trips")
        params = {"source": "legacy", "units": "metric", "lookbackHours": demo.lookback_hours(sandbox)}
        d.init(
            zip_path, {**params, "windowHours": "24"}, {"FMC_URL": sandbox.url, "FMC_TOKEN": demo.FMC_TOKEN}
        )
        first = d.run("manual")
        again = d.run("schedule")
        [path] = d.storage().glob("state/*/trips/trips-legacy.metric.json")
        state = json.loads(path.read_text())["state"]
        window = {"startTime": state["first"], "endTime": state["mark"]}
        truth = {
            f"{x['vehicleId']}:{x['startTime']}": x
            for x in demo.api_get(sandbox.url, demo.TOKEN, "/__sandbox/truth/trips", window)["data"]
            if x["endTime"]
        }
        held = {str(r["id"]): r["record"] for r in sandbox.fmc_records("trips")}
        summary = sandbox.fmc_summary("trips")
    finally:
        sandbox.stop()
    assert first["ok"] and first["caughtUp"] and again["records"] == 0
    assert len(truth) >= 5 and held.keys() == truth.keys() and summary["duplicates"] == 0
    assert_odometers(held, truth)
