"""The pure trackers of samsara_fmc.telemetry: seeded sequences, fixed times, state kept as JSON."""

from __future__ import annotations

import datetime as dt
import json
import random
from typing import Any

import pytest

from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.telemetry import (
    AlertTracker,
    DayTracker,
    EngineStateTracker,
    FaultTracker,
    OdometerSanity,
    Thresholds,
    decode,
)
from samsara_fmc.telemetry._time import text
from samsara_fmc.telemetry.faults import fmi_meaning

T0 = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC).timestamp()


def at(seconds: float) -> str:
    return text(T0 + seconds)


def j1939(*codes: tuple[int, int, int], warning: bool = True) -> dict[str, Any]:
    """A faultCodes point of a J1939 vehicle with (spn, fmi, occurrences) codes."""
    return {
        "canBusType": "J1939",
        "j1939": {
            "checkEngineLights": {
                "emissionsIsOn": False,
                "protectIsOn": False,
                "stopIsOn": False,
                "warningIsOn": warning,
            },
            "diagnosticTroubleCodes": [
                {
                    "spnId": s,
                    "fmiId": f,
                    "occurrenceCount": n,
                    "milStatus": 0,
                    "txId": 0,
                    "sourceAddressName": "Engine #1",
                    "spnDescription": "Engine Oil Pressure",
                }
                for s, f, n in codes
            ],
        },
    }


def roundtrip(state: dict[str, Any]) -> dict[str, Any]:
    """The state as the stream's state document stores it."""
    return dict(json.loads(json.dumps(state)))


def test_decode_gives_one_shape_for_j1939_obdii_and_oem() -> None:
    point = {
        **j1939((100, 1, 3)),
        "obdii": {
            "checkEngineLightIsOn": True,
            "diagnosticTroubleCodes": [
                {
                    "txId": 2024,
                    "milStatus": True,
                    "confirmedDtcs": [{"dtcId": 1056, "dtcShortCode": "P0420", "dtcDescription": "Catalyst"}],
                    "pendingDtcs": [{"dtcId": 369, "dtcShortCode": "P0171"}],
                }
            ],
        },
        "oem": {
            "diagnosticTroubleCodes": [{"codeIdentifier": "X12", "codeSeverity": "high", "codeSource": "BMS"}]
        },
    }
    codes = {c.key: c for c in decode(point)}
    assert set(codes) == {
        "j1939:0:100:1",
        "obdii:2024:1056:confirmed",
        "obdii:2024:369:pending",
        "oem:BMS:X12",
    }
    j = codes["j1939:0:100:1"].fields()
    assert j["code"] == "SPN 100 FMI 1" and j["fmiMeaning"] == fmi_meaning(1)
    assert j["fmiMeaning"] == "Data valid but below normal operational range - most severe level"
    assert j["occurrenceCount"] == 3 and j["lamps"]["warningIsOn"] is True and j["mil"] is False
    assert j["spnDescription"] == "Engine Oil Pressure" and j["sourceAddressName"] == "Engine #1"
    o = codes["obdii:2024:1056:confirmed"].fields()
    assert (o["code"], o["dtcStatus"], o["mil"], o["description"]) == ("P0420", "confirmed", True, "Catalyst")
    assert codes["obdii:2024:369:pending"].fields()["dtcStatus"] == "pending"
    assert codes["oem:BMS:X12"].fields()["severity"] == "high"
    assert decode({"canBusType": "J1939", "j1939": {"diagnosticTroubleCodes": []}}) == []
    assert fmi_meaning(25) == "Reserved for SAE assignment" and fmi_meaning(40) is None


def test_a_fault_opens_after_the_debounce_updates_and_closes_with_one_id() -> None:
    state: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    steps = [(0, [(100, 1, 1)]), (120, [(100, 1, 1)]), (300, [(100, 1, 1)]), (600, [(100, 1, 2)]), (900, [])]
    for s, codes in steps:
        tracker = FaultTracker(state, debounce_s=300)
        out += tracker.observe("v1", at(s), decode(j1939(*codes)), engine_state="On")
        state = roundtrip(state)
    assert [r["event"] for r in out] == ["opened", "updated", "closed"]
    assert len({r["id"] for r in out}) == 1
    opened, updated, closed = out
    assert opened["firstSeen"] == at(0) and opened["openedAt"] == at(300) and opened["occurrences"] == 3
    assert updated["occurrenceCount"] == 2 and updated["updatedAt"] == at(600)
    assert closed["status"] == "closed" and closed["closedAt"] == at(900) and closed["lastSeen"] == at(600)
    assert closed["engineState"] == "On" and closed["occurrences"] == 4


def test_a_code_flapping_inside_the_debounce_opens_nothing_seeded() -> None:
    """Random presence sequences: a fault opens exactly for the runs of readings that span the debounce."""
    rng = random.Random(12)
    for _ in range(50):
        debounce = rng.choice([0, 60, 300, 900])
        state: dict[str, Any] = {}
        tracker = FaultTracker(state, debounce_s=debounce)
        t, last_present = 0, 0
        runs: list[tuple[int, int]] = []
        run_start: int | None = None
        opened = closed = 0
        for _ in range(rng.randint(5, 60)):
            t += rng.choice([30, 60, 120, 300])
            present = rng.random() < 0.6
            recs = tracker.observe("v", at(t), decode(j1939((110, 16, 1))) if present else [])
            opened += sum(r["event"] == "opened" for r in recs)
            closed += sum(r["event"] == "closed" for r in recs)
            if present:
                run_start = t if run_start is None else run_start
                last_present = t
            elif run_start is not None:
                runs.append((run_start, last_present))
                run_start = None
        expected_closed = sum(1 for a, b in runs if b - a >= debounce)
        tail = int(run_start is not None and last_present - run_start >= debounce)
        assert opened == expected_closed + tail, (debounce, runs)
        assert closed == expected_closed
        assert state["flaps"] == len(runs) - expected_closed


def test_late_fault_points_are_counted_not_applied() -> None:
    state: dict[str, Any] = {}
    tracker = FaultTracker(state, debounce_s=0)
    assert [r["event"] for r in tracker.observe("v", at(100), decode(j1939((100, 1, 1))))] == ["opened"]
    assert tracker.observe("v", at(50), []) == [] and state["late"] == 1
    assert len(tracker.open_faults("v")) == 1


def test_alerts_one_per_episode_with_hysteresis_and_a_clear() -> None:
    limits = Thresholds(battery_off_mv=12_000, battery_on_mv=13_000, battery_hysteresis_mv=200)
    state: dict[str, Any] = {}
    out = []
    readings = [
        (12_400, "Off"),
        (11_900, "Off"),
        (12_050, "Off"),
        (11_950, "Off"),
        (12_150, "Off"),
        (12_250, "Off"),
    ]
    for i, (mv, eng) in enumerate(readings):
        out += AlertTracker(state, limits).observe("v", "lowBattery", at(i * 60), mv, engine_state=eng)
        state = roundtrip(state)
    assert [r["status"] for r in out] == ["active", "cleared"]
    active, cleared = out
    assert active["id"] == cleared["id"] and active["value"] == 11_900 and active["threshold"] == 12_000
    assert (
        cleared["worstValue"] == 11_900
        and cleared["endedAt"] == at(300)
        and cleared["endReason"] == "recovered"
    )
    # Engine on: the higher threshold applies; a healthy charging voltage ends the episode.
    tracker = AlertTracker({}, limits)
    assert tracker.observe("v", "lowBattery", at(0), 12_600, engine_state="On")[0]["threshold"] == 13_000
    assert tracker.observe("v", "lowBattery", at(60), 12_700, engine_state="On") == [], "still low while on"
    assert tracker.observe("v", "lowBattery", at(120), 14_000, engine_state="On")[0]["status"] == "cleared"
    assert tracker.observe("v", "lowBattery", at(180), 12_500, engine_state="Off") == [], "healthy at rest"


def test_oil_pressure_counts_only_while_the_engine_runs() -> None:
    tracker = AlertTracker({}, Thresholds())
    assert tracker.observe("v", "lowOilPressure", at(0), 0, engine_state="Off") == []
    [raised] = tracker.observe("v", "lowOilPressure", at(60), 80, engine_state="On")
    assert raised["status"] == "active" and raised["engineState"] == "On"
    [ended] = tracker.observe("v", "lowOilPressure", at(120), 0, engine_state="Off")
    assert ended["status"] == "cleared" and ended["endReason"] == "engineStopped"


def test_new_fault_alerts_follow_the_fault_and_disabled_kinds_stay_quiet() -> None:
    faults = FaultTracker({}, debounce_s=0)
    alerts = AlertTracker({}, Thresholds())
    [opened] = faults.observe("v", at(0), decode(j1939((100, 1, 1))))
    [closed] = faults.observe("v", at(60), [])
    assert [a["status"] for a in alerts.fault(opened) + alerts.fault(closed)] == ["active", "cleared"]
    quiet = AlertTracker({}, Thresholds(), kinds=("lowFuel",))
    assert quiet.fault(opened) == [] and quiet.observe("v", "lowBattery", at(0), 1_000) == []


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"battery_off_mv": 100}, "batteryOffMilliVolts"),
        ({"fuel_percent": 0}, "fuelPercent"),
        ({"battery_on_mv": 11_000}, "batteryOnMilliVolts"),
        ({"tire_kpa": 10}, "tirePressureKPa"),
    ],
)
def test_bad_thresholds_name_the_parameter(kw: dict[str, int], name: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Thresholds(**kw)


def test_odometer_rollback_and_jump_are_flagged_not_fixed() -> None:
    state: dict[str, Any] = {}
    odo = OdometerSanity(state, max_speed_kph=250)
    assert odo.observe("v", at(0), 1_000_000) is None
    assert odo.observe("v", at(60), 1_001_500) is None  # 90 km/h
    rollback = odo.observe("v", at(120), 400_000)
    assert rollback is not None and rollback["kind"] == "rollback" and rollback["previousMeters"] == 1_001_500
    assert odo.observe("v", at(180), 401_000) is None, "the new reading is the reference from now on"
    jump = odo.observe("v", at(240), 901_000)
    assert jump is not None and jump["kind"] == "jump" and jump["impliedSpeedKph"] == 30_000.0
    assert state["counts"] == {"rollback": 1, "jump": 1, "late": 0}


def test_engine_transitions_carry_the_previous_state_and_its_duration() -> None:
    state: dict[str, Any] = {}
    out = []
    for s, v in [
        (0, "Off"),
        (100, "Off"),
        (200, "Idle"),
        (260, "On"),
        (4000, "Idle"),
        (4100, "Off"),
        (3000, "On"),
    ]:
        out += EngineStateTracker(state).observe("v", at(s), v)
        state = roundtrip(state)
    assert [(r["previousState"], r["state"], r["previousDurationSeconds"]) for r in out] == [
        ("Off", "Idle", 200.0),
        ("Idle", "On", 60.0),
        ("On", "Idle", 3740.0),
        ("Idle", "Off", 100.0),
    ]
    assert state["late"] == 1


def test_a_day_closes_once_and_is_amended_by_late_data_under_the_same_id() -> None:
    state: dict[str, Any] = {}
    days = DayTracker(state, time_zone="America/Chicago", close_after_s=3600)
    lo, hi = days.bounds("2026-11-02")
    assert hi - lo == 86_400
    for i, (odo, eng) in enumerate([(10_000, 3600), (25_000, 7200), (40_000, 9000)]):
        t = text(lo + 3600 * (8 + i))
        days.counter("v", "obdOdometerMeters", t, odo)
        days.counter("v", "gpsOdometerMeters", t, odo * 1.003)
        days.counter("v", "obdEngineSeconds", t, eng)
        days.speed("v", t, 50 + i)
    assert days.due(hi, lambda v: 0) == [], "not closed before its close time"
    [day] = days.due(hi + 3600, lambda v: 2)
    assert day["id"] == "v:2026-11-02" and day["distanceMeters"] == 30_000 and day["odometerSource"] == "obd"
    assert day["engineHours"] == 1.5 and day["maxSpeedMph"] == 52 and day["faultsOpen"] == 2
    assert day["odometerFlags"] == []
    assert days.due(hi + 7200, lambda v: 0) == [], "unchanged: not delivered again"
    days.counter("v", "obdOdometerMeters", text(lo + 3600 * 20), 60_000)  # uploaded late
    [again] = DayTracker(roundtrip(state), time_zone="America/Chicago").due(hi + 9000, lambda v: 0)
    assert again["id"] == day["id"] and again["distanceMeters"] == 50_000 and again["faultsOpen"] == 2
    assert "divergence" in again["odometerFlags"], "OBD gained 20 km the GPS odometer did not"


def test_days_follow_the_local_calendar_and_forget_after_the_keep_time() -> None:
    state: dict[str, Any] = {}
    days = DayTracker(state, time_zone="America/Chicago", close_after_s=0, keep_s=3600)
    lo, hi = days.bounds("2026-11-01")  # DST ends: a 25-hour day
    assert hi - lo == 25 * 3600
    days.seen("v", text(lo + 10))
    assert [d["date"] for d in days.due(hi, lambda v: 0)] == ["2026-11-01"]
    days.due(hi + 3600, lambda v: 0)
    days.seen("v", text(lo + 20))
    assert state["tooLate"] == 1 and state["days"] == {}
    with pytest.raises(ConfigurationError, match="Mars/Olympus"):
        DayTracker({}, time_zone="Mars/Olympus")


def test_a_day_begun_before_the_tracker_is_not_delivered() -> None:
    state: dict[str, Any] = {}
    days = DayTracker(state, time_zone="UTC", close_after_s=0)
    lo, hi = days.bounds("2026-11-02")
    state["since"] = lo + 3600  # the first run came at 01:00: the day's start was never seen
    days.counter("v", "obdOdometerMeters", text(lo + 7200), 1_000)
    days.counter("v", "obdOdometerMeters", text(hi + 7200), 5_000)
    days.counter("v", "obdOdometerMeters", text(hi + 9000), 6_000)
    out = days.due(hi + 86_400, lambda v: 0)
    assert [r["date"] for r in out] == ["2026-11-03"] and out[0]["distanceMeters"] == 1_000
