"""speeding-intervals against the sandbox: one record per interval of each completed trip, equal to a
fresh read of the stream, trips without intervals delivering nothing, faults delivering each once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from samsara_fmc import records
from samsara_fmc.integrations import speeding_intervals
from tests.functions.safety_rig import NARROW, Rig, mph, sandbox_args
from tests.support.sandbox import SandboxProcess

STREAM = "speeding_intervals"
PATH = "/speeding-intervals/stream"
QUERY = {"queryBy": "updatedAtTime", "includeAsset": "true", "includeDriverId": "true"}


@pytest.fixture
def rig_factory(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Rig]:
    sb = sandbox_factory(*sandbox_args())

    def make(**kw: Any) -> Rig:
        rig = Rig(sb, "speeding-intervals", **kw)
        monkeypatch.setattr(speeding_intervals, "CLOCK", rig.now)
        return rig

    return make


def trips(rig: Rig, stream_name: str) -> list[dict[str, Any]]:
    start = rig.state(stream_name)["first"]
    return list(rig.truth(PATH, {**QUERY, "startTime": start}))


def truth(rig: Rig, stream_name: str) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Every interval of the window's trips, read afresh: id → (trip, interval)."""
    return {
        f"{t['asset']['id']}:{t['tripStartTime']}:{i['startTime']}": (t, i)
        for t in trips(rig, stream_name)
        for i in t["intervals"]
    }


def test_delivers_each_interval_of_the_window_and_nothing_for_trips_without(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(fmc=True)
    out = rig.invoke(units="imperial", lookbackHours="36")
    assert out["ok"] and out["caughtUp"], out
    assert rig.state("speeding.imperial")["first"] == rig.start_of(36)
    window = trips(rig, "speeding.imperial")
    expected = truth(rig, "speeding.imperial")
    assert any(not t["intervals"] for t in window), "the window holds trips without intervals"
    assert any(len(t["intervals"]) > 1 for t in window), "and trips with several"
    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert len(expected) > 10 and held.keys() == expected.keys()
    assert out["records"] == len(expected)
    vehicles = {str(v["id"]): v.get("externalIds") for v in rig.truth("/fleet/vehicles", {"limit": "512"})}
    drivers = {
        str(d["id"]): d.get("externalIds")
        for status in ("active", "deactivated")
        for d in rig.truth("/fleet/drivers", {"limit": "512", "driverActivationStatus": status})
    }
    assert not any("externalIds" in t["asset"] for t in window), "the stream carries no external IDs"
    for i, (t, iv) in expected.items():
        r = held[i]
        assert r["vehicleId"] == t["asset"]["id"] and r["vehicleExternalIds"] == vehicles[r["vehicleId"]]
        assert r["vehicleExternalIds"], "the FMC's IDs, from the fleet's vehicles"
        assert r["driverId"] == t.get("driverId")
        assert r["driverExternalIds"] == (drivers[r["driverId"]] or None if r["driverId"] else None)
        assert r["speedUnit"] == "mph" and r["maxSpeed"] == mph(iv["maxSpeedKilometersPerHour"])
        assert r["postedSpeedLimit"] == mph(iv["postedSpeedLimitKilometersPerHour"])
        assert r["severityLevel"] == iv["severityLevel"] and r["latitude"] == iv["location"]["latitude"]
        assert r["durationSeconds"] > 0
    schema = records.schema(STREAM)
    assert schema is not None and all(records.validate(schema, r) == [] for r in held.values())

    again = rig.invoke(units="imperial", lookbackHours="36")
    assert again["ok"] and again["records"] == 0, "a rerun with nothing new delivers nothing"

    rig.sb.advance(6 * 3600)
    later = rig.invoke(units="imperial", lookbackHours="36")
    assert later["ok"] and later["caughtUp"] and later["records"] > 0
    expected = truth(rig, "speeding.imperial")
    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert held.keys() == expected.keys()
    summary = rig.sb.fmc_summary(STREAM)
    assert summary["records"] == len(expected) and summary["duplicates"] == 0


def test_intervals_are_converted_as_computed_by_hand() -> None:
    trip = {
        "asset": {"id": "281474977001713", "externalIds": {"maintenanceId": "M250146"}},
        "driverId": "52000601",
        "tripStartTime": "2026-11-01T11:00:30Z",
        "updatedAtTime": "2026-11-01T11:52:30Z",
        "intervals": [
            {
                "startTime": "2026-11-01T11:23:55Z",
                "endTime": "2026-11-01T11:29:20Z",
                "isDismissed": False,
                "location": {"latitude": 32.8, "longitude": -96.7, "headingDegrees": 221, "address": {}},
                "maxSpeedKilometersPerHour": 78.2,
                "postedSpeedLimitKilometersPerHour": 72.4,
                "severityLevel": "light",
            }
        ],
    }
    [item] = speeding_intervals.intervals_of(trip)
    r = speeding_intervals.to_record(item, units="imperial")
    assert r["id"] == "281474977001713:2026-11-01T11:00:30Z:2026-11-01T11:23:55Z"
    assert (r["maxSpeed"], r["postedSpeedLimit"], r["overLimit"]) == (48.59, 44.99, 3.6)
    assert r["durationSeconds"] == 325.0 and r["vehicleExternalIds"] == {"maintenanceId": "M250146"}
    m = speeding_intervals.to_record(item, units="metric")
    assert (m["maxSpeed"], m["postedSpeedLimit"], m["overLimit"], m["speedUnit"]) == (78.2, 72.4, 5.8, "km/h")
    assert speeding_intervals.intervals_of({**trip, "intervals": []}) == []


@pytest.mark.parametrize("kind", ["expire_cursor", "repeat_records", "status"])
def test_stream_faults_still_deliver_each_interval_once(rig_factory: Callable[..., Rig], kind: str) -> None:
    rig = rig_factory()
    rig.invoke(units="metric", maxPages="1")
    rule: dict[str, Any] = {"path": PATH, "kind": kind}
    if kind == "status":
        rule |= {"status": 503, "times": 3}
    rig.sb.faults(rule)
    rig.sb.advance(4 * 3600)
    runs = [rig.run_ok(units="metric", maxPages="1") for _ in range(2)]
    runs += rig.until_caught_up(units="metric")
    assert not rig.sb.get("/__sandbox/faults")["rules"], "the fault was met"
    # (Whether a repeated page's trips had intervals, and so counted as `repeated`, is the data's.)
    versions = Counter((str(r["id"]), str(r["updatedAtTime"])) for r in rig.delivered(STREAM))
    assert all(n == 1 for n in versions.values()), "no interval version delivered twice"
    assert {i for i, _ in versions} == truth(rig, "speeding.metric").keys()


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
    assert out["ok"] is False and "`Read Speeding Intervals`" in out["message"], out
    assert "Safety" not in out["message"], "only the scope this Function needs"
    assert not rig.delivered(STREAM)
    assert [r["status"] for r in rig.sb.requests() if r["path"] == PATH] == [403], "only the probe"
