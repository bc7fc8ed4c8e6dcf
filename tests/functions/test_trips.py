"""trips against the sandbox: each completed trip of the window delivered once, equal to a fresh read
of the stream, distances converted, faults delivering each once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from samsara_fmc import records
from samsara_fmc.integrations import trips
from tests.functions.safety_rig import NARROW, Rig, sandbox_args
from tests.support.sandbox import SandboxProcess

STREAM = "trips"
PATH = "/trips/stream"


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
