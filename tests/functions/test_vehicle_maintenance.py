"""vehicle-maintenance against the sandbox: faults, engine-state transitions and vehicle days equal what
a fresh read of the stats history says happened in the window; late data (``--gaps on``) amends days
without duplicating them; a run dying between its deliveries and its commit duplicates nothing; bad
parameters and a missing scope fail before anything is read or written."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from samsara_fmc import records
from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.engine.core import StreamContext
from samsara_fmc.integrations import vehicle_maintenance as vm
from samsara_fmc.telemetry import decode
from scripts.demo import Demo
from tests.functions.safety_rig import NARROW, ROOT, Rig, sandbox_args
from tests.support.sandbox import DEFAULT_ARGS, SandboxProcess

FEED = "/fleet/vehicles/stats/feed"
ZIP = ROOT / "dist" / "vehicle-maintenance.zip"
TZ = "America/Chicago"


@pytest.fixture
def rig_factory(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Rig]:
    def make(*extra: str, **kw: Any) -> Rig:
        rig = Rig(sandbox_factory(*sandbox_args(), *extra), "vehicle-maintenance", **kw)
        monkeypatch.setattr(vm, "CLOCK", rig.now)
        return rig

    return make


def history(
    rig: Rig, types: list[str], start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, list[Any]]]:
    """vehicle → stat → points, read afresh from ``/fleet/vehicles/stats/history``."""
    out: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    params = {"types": ",".join(types), "startTime": iso(start), "endTime": iso(end)}
    for v in rig.client.records("/fleet/vehicles/stats/history", params=params):
        for t in types:
            out[str(v["id"])][t].extend(v.get(t) or ())
    for stats in out.values():
        for pts in stats.values():
            pts.sort(key=lambda p: parse_time(p["time"]))
    return out


def final(recs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The last version of each record id."""
    return {str(r["id"]): r for r in recs}


def follow(rig: Rig, hours: float, step_h: float, **params: str) -> list[dict[str, Any]]:
    """Runs now and every ``step_h`` simulated hours for ``hours``."""
    out = [rig.run_ok(5, **params)]
    for _ in range(round(hours / step_h)):
        rig.sb.advance(step_h * 3600)
        out.append(rig.run_ok(5, **params))
    return out


def episodes_by_rule(
    points: list[tuple[str, float]], t0: dt.datetime, threshold: float, hysteresis: float
) -> list[tuple[str, str | None]]:
    """(start, end) of the documented alert rule over readings in time order, from the last reading at
    or before ``t0``: below ``threshold`` starts an episode, at ``threshold + hysteresis`` ends it."""
    first = max((i for i, (t, _) in enumerate(points) if parse_time(t) <= t0), default=0)
    out: list[tuple[str, str | None]] = []
    start: str | None = None
    for t, value in points[first:]:
        if start is None and value < threshold:
            start = iso(parse_time(t))
        elif start is not None and value >= threshold + hysteresis:
            out.append((start, iso(parse_time(t))))
            start = None
    if start is not None:
        out.append((start, None))
    return out


def expected_faults(points: list[dict[str, Any]], t0: dt.datetime) -> dict[tuple[str, str], dict[str, Any]]:
    """Faults by (key, first seen) from a vehicle's faultCodes history, starting at its last point at or
    before ``t0`` (what the feed's first call gives), with a debounce of 0: each run of readings reporting
    a code is one fault, closed by the first reading without it."""
    first = max((i for i, p in enumerate(points) if parse_time(p["time"]) <= t0), default=0)
    open_: dict[str, dict[str, Any]] = {}
    done = {}
    for p in points[first:]:
        keys = {c.key for c in decode(p)}
        for k in keys:
            open_.setdefault(k, {"firstSeen": parse_time(p["time"]), "closedAt": None})
        for k in [k for k in open_ if k not in keys]:
            f = open_.pop(k)
            f["closedAt"] = parse_time(p["time"])
            done[(k, iso(f["firstSeen"]))] = f
    done.update({(k, iso(f["firstSeen"])): f for k, f in open_.items()})
    return done


def test_faults_transitions_and_days_equal_the_history(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(fmc=True)
    t0 = rig.now()
    params = {"timeZone": TZ, "faultDebounceMinutes": "0", "fuelPercent": "35"}
    follow(rig, 42, 6, **params)
    t1 = rig.now()
    hist = history(rig, ["faultCodes", "engineStates", "fuelPercents"], t0 - dt.timedelta(hours=30), t1)
    odo = history(rig, ["obdOdometerMeters", "obdEngineSeconds", "ecuSpeedMph"], t0, t1)

    # Faults: each run of a code in the history is one fault, opened and (if it cleared) closed.
    faults = final(rig.delivered(vm.FAULTS))
    got = {(r["vehicleId"], r["faultKey"], r["firstSeen"]): r for r in faults.values()}
    want = {
        (v, k, first): f
        for v, stats in hist.items()
        for (k, first), f in expected_faults(stats["faultCodes"], t0).items()
    }
    assert len(want) > 5 and got.keys() == want.keys()
    for key, r in got.items():
        closed = want[key]["closedAt"]
        assert r["status"] == ("open" if closed is None else "closed")
        assert r["closedAt"] == (None if closed is None else iso(closed))
    assert any(r["protocol"] == "j1939" for r in got.values()) and any(
        r["protocol"] == "obdii" for r in got.values()
    )

    # Transitions: every change of engine state after the first run's start.
    trans = final(rig.delivered(vm.TRANSITIONS))
    want_t = set()
    for v, stats in hist.items():
        pts = stats["engineStates"]
        for a, b in itertools.pairwise(pts):
            if a["value"] != b["value"] and parse_time(b["time"]) > t0:
                want_t.add((v, iso(parse_time(b["time"])), a["value"], b["value"]))
    got_t = {(r["vehicleId"], r["time"], r["previousState"], r["state"]) for r in trans.values()}
    assert len(want_t) > 50 and got_t == want_t
    assert all(r["vehicleName"] for r in trans.values()), "the vehicle's name from the feed"
    assert any((r["vehicleExternalIds"] or {}).get("maintenanceId") for r in trans.values())

    # Days: the local days wholly inside the window, from their first and last readings.
    zone = ZoneInfo(TZ)
    days = final(rig.delivered(vm.DAYS))
    checked = 0
    for r in days.values():
        lo = dt.datetime.combine(dt.date.fromisoformat(r["date"]), dt.time(), tzinfo=zone)
        hi = lo + dt.timedelta(days=1)
        if lo < t0 or hi > t1:
            continue
        stats = odo.get(r["vehicleId"], {})
        inday = {k: [p for p in pts if lo <= parse_time(p["time"]) < hi] for k, pts in stats.items()}
        o, e, s = inday["obdOdometerMeters"], inday["obdEngineSeconds"], inday["ecuSpeedMph"]
        assert r["startOdometerMeters"] == o[0]["value"] and r["endOdometerMeters"] == o[-1]["value"]
        assert r["distanceMeters"] == o[-1]["value"] - o[0]["value"]
        assert r["engineHours"] == round((e[-1]["value"] - e[0]["value"]) / 3600, 3)
        assert r["maxSpeedMph"] == max(p["value"] for p in s)
        checked += 1
    assert checked >= 40, checked
    # Low fuel (below 35 %, cleared at 40 %): the rule over each vehicle's fuel readings.
    fuel = {
        (r["vehicleId"], r["startedAt"]): r["endedAt"]
        for r in final(rig.delivered(vm.ALERTS)).values()
        if r["kind"] == "lowFuel"
    }
    want_fuel = {
        (v, start): end
        for v, stats in hist.items()
        for start, end in episodes_by_rule(
            [(p["time"], p["value"]) for p in stats["fuelPercents"]], t0, 35, 5
        )
    }
    assert len(want_fuel) >= 3 and fuel == want_fuel
    assert any(end is not None for end in fuel.values()), "a refuelled vehicle's alert cleared"
    for stream in (vm.FAULTS, vm.ALERTS, vm.TRANSITIONS, vm.DAYS):
        schema = records.schema(stream)
        assert schema is not None
        assert all(records.validate(schema, r) == [] for r in rig.delivered(stream)), stream
        assert rig.sb.fmc_summary(stream)["duplicates"] == 0, stream


def test_late_data_amends_days_without_duplicating_them(rig_factory: Callable[..., Rig]) -> None:
    """Local midnight in Tokyo is mid-morning in the Americas: days close while vehicles drive, and
    the points of a dead zone uploaded after it amend the day already delivered."""
    rig = rig_factory("--gaps", "on", fmc=True)
    params = {"timeZone": "Asia/Tokyo", "dayCloseMinutes": "0", "alerts": "lowFuel"}
    runs = follow(rig, 48, 2, **params)
    days = rig.delivered(vm.DAYS)
    summary = rig.sb.fmc_summary(vm.DAYS)
    assert summary["duplicates"] == 0 and summary["updates"] > 0, summary
    amended = [r for r in rig.sb.fmc_records(vm.DAYS) if r["deliveries"] > 1]
    assert amended and len(days) == summary["records"], "days amended under their id, never a second record"
    assert all(r["ok"] for r in runs)
    # The final version of each day equals the history read now.
    zone = ZoneInfo("Asia/Tokyo")
    odo = history(rig, ["obdOdometerMeters"], rig.now() - dt.timedelta(hours=49), rig.now())
    t0 = rig.now() - dt.timedelta(hours=48)
    checked = 0
    for r in final(days).values():
        lo = dt.datetime.combine(dt.date.fromisoformat(r["date"]), dt.time(), tzinfo=zone)
        if lo < t0 or r["startOdometerMeters"] is None:
            continue
        pts = [
            p
            for p in odo[r["vehicleId"]]["obdOdometerMeters"]
            if lo <= parse_time(p["time"]) < lo + dt.timedelta(days=1)
        ]
        assert (r["startOdometerMeters"], r["endOdometerMeters"]) == (pts[0]["value"], pts[-1]["value"]), r[
            "id"
        ]
        checked += 1
    assert checked > 20


def test_a_run_dying_before_its_commit_duplicates_nothing(
    rig_factory: Callable[..., Rig], monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = rig_factory(fmc=True)
    params = {"timeZone": TZ, "faultDebounceMinutes": "0"}
    rig.run_ok(5, **params)
    rig.sb.advance(8 * 3600)
    real = StreamContext.commit
    died: list[int] = []

    def dying(self: StreamContext) -> None:
        if self.stream.name == "maintenance.America+Chicago" and not died:  # the stream, not a sink
            died.append(1)
            raise OSError("killed before the commit")
        real(self)

    monkeypatch.setattr(StreamContext, "commit", dying)
    with pytest.raises(OSError, match="killed before the commit"):
        rig.invoke(**params)
    assert died
    monkeypatch.setattr(StreamContext, "commit", real)
    after = rig.run_ok(5, **params)
    assert after["repeated"] > 0, "the pages read again gave the records already delivered: left out"
    for stream in (vm.FAULTS, vm.ALERTS, vm.TRANSITIONS, vm.DAYS):
        assert rig.sb.fmc_summary(stream)["duplicates"] == 0, stream
    assert rig.delivered(vm.TRANSITIONS), "the run after delivered what the dead one had read"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"timeZone": "Mars/Olympus_Mons"}, "`timeZone` is `Mars/Olympus_Mons`"),
        ({"batteryOnMilliVolts": "11000"}, "`batteryOnMilliVolts` (11000) is below `batteryOffMilliVolts`"),
        ({"fuelPercent": "0"}, "`fuelPercent` is `0`"),
        ({"oilPressureKPa": "low"}, "`oilPressureKPa` is `low`"),
        ({"alerts": "lowBattery,lowCoffee"}, "lowCoffee"),
        ({"faultDebounceMinutes": "-1"}, "`faultDebounceMinutes` is `-1`"),
    ],
)
def test_bad_parameters_fail_clearly_and_write_nothing(
    rig_factory: Callable[..., Rig], params: dict[str, str], message: str
) -> None:
    rig = rig_factory()
    out = rig.invoke(**params)
    assert out["ok"] is False and message in out["message"], out
    assert not [k for k in rig.storage.objects if k.startswith("state/")]
    assert not any(rig.delivered(s) for s in (vm.FAULTS, vm.ALERTS, vm.TRANSITIONS, vm.DAYS))
    assert not [r for r in rig.sb.requests() if r["path"] == FEED]


def test_a_token_without_the_readings_scope_fails_preflight_naming_it(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(token=NARROW)
    out = rig.invoke(timeZone=TZ)
    assert out["ok"] is False and "`Read Readings`" in out["message"], out
    assert "Vehicle Statistics" not in out["message"]
    assert not [r for r in rig.sb.requests() if r["path"] == FEED]


def test_episodes_equal_the_sandbox_truth(rig_factory: Callable[..., Rig]) -> None:
    """With ``--episodes on`` the sandbox plants faults that open and clear, flaps, low voltage with the
    engine off and on, low oil pressure, tire leaks, odometer rollbacks and jumps: what was delivered
    equals its ground truth for the window (episodes that began after the first run)."""
    rig = rig_factory("--episodes", "on", fmc=True)
    t0 = rig.now()
    runs = follow(rig, 30, 3, timeZone="UTC", faultDebounceMinutes="15", dayCloseMinutes="0")
    t1 = rig.now()
    truth = rig.sb.get(f"/__sandbox/truth/episodes?startTime={iso(t0)}&endTime={iso(t1)}")["data"]
    after_t0 = [e for e in truth if e["firstSample"] and t0 < parse_time(e["firstSample"]) <= t1]
    kinds = {e["kind"] for e in after_t0}
    assert {"fault", "flap", "lowVoltageEngineOff", "lowVoltageEngineOn", "lowOilPressure"} <= kinds, kinds

    def when(text: str | None) -> str | None:
        return None if text is None or parse_time(text) > t1 else iso(parse_time(text))

    # Faults: each planted fault opened (seen 15 minutes on) with its code, closed at the first reading
    # without it; no flap opened anything.
    faults = {(r["vehicleId"], r["firstSeen"]): r for r in final(rig.delivered(vm.FAULTS)).values()}
    want = {}
    for e in after_t0:
        if e["kind"] != "fault":
            continue
        span = parse_time(e["lastSample"]) - parse_time(e["firstSample"])
        if span >= dt.timedelta(minutes=15):
            want[(e["vehicleId"], iso(parse_time(e["firstSample"])))] = e
    got = {k: r for k, r in faults.items() if parse_time(k[1]) > t0}
    assert len(want) >= 5 and got.keys() == want.keys()
    for k, r in got.items():
        code = want[k]["code"]
        assert r["protocol"] == code["protocol"] and r["sourceAddress"] == code["txId"]
        if code["protocol"] == "j1939":
            assert (r["spn"], r["fmi"]) == (code["spn"], code["fmi"]) and r["fmiMeaning"]
        else:
            assert r["dtcShortCode"] == code["dtcShortCode"] and r["dtcStatus"] == "confirmed"
        assert r["closedAt"] == when(want[k]["sampleAfter"])
        assert r["status"] == ("open" if r["closedAt"] is None else "closed")
    flaps = [e for e in after_t0 if e["kind"] == "flap"]
    assert flaps and not [e for e in flaps if (e["vehicleId"], iso(parse_time(e["firstSample"]))) in faults]
    assert sum(r["counters"]["faultFlaps"] for r in runs) >= len(flaps)

    # Alerts: one per planted episode, raised at its first reading and cleared at the first after it.
    alerts = final(rig.delivered(vm.ALERTS))
    by_start = {(r["vehicleId"], r["kind"], r["startedAt"]): r for r in alerts.values()}
    kind_of = {
        "lowVoltageEngineOff": "lowBattery",
        "lowVoltageEngineOn": "lowBattery",
        "lowOilPressure": "lowOilPressure",
        "odometerRollback": "odometerRollback",
        "odometerJump": "odometerJump",
    }
    planted = set()
    for e in after_t0:
        if e["kind"] not in kind_of:
            continue
        key = (e["vehicleId"], kind_of[e["kind"]], iso(parse_time(e["firstSample"])))
        planted.add(key)
        assert key in by_start, (e, sorted(k for k in by_start if k[0] == e["vehicleId"]))
        r = by_start[key]
        if e["kind"].startswith("odometer"):
            assert r["status"] == "flagged" and (r["deltaMeters"] < 0) == (e["kind"] == "odometerRollback")
        else:
            assert r["endedAt"] == when(e["sampleAfter"]), (e, r)
    threshold_kinds = ("lowBattery", "lowOilPressure", "odometerRollback", "odometerJump")
    unplanted = [
        k for k in by_start if k[1] in threshold_kinds and parse_time(k[2]) > t0 and k not in planted
    ]
    assert not unplanted, "no alert without an episode"
    # Low tire pressure (below 200 kPa, cleared at 215): the rule over each tire's readings.
    want_tires = {}
    vehicles = {str(v["id"]) for v in rig.client.records("/fleet/vehicles", params={"limit": "512"})}
    for reading, tire in vm.TIRES.items():
        params = {"readingId": reading, "entityType": "asset", "startTime": iso(t0 - dt.timedelta(hours=2))}
        params["endTime"] = iso(t1 + dt.timedelta(seconds=1))
        by_vehicle: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for r in rig.client.records("/readings/history", params=params):
            by_vehicle[str(r["entityId"])].append((r["happenedAtTime"], float(r["value"]["number"])))
        for v, pts in by_vehicle.items():
            if v not in vehicles:  # a trailer's tires
                continue
            pts.sort(key=lambda p: parse_time(p[0]))
            for start, end in episodes_by_rule(pts, t0, 200, 15):
                want_tires[(v, tire, start)] = end
    got_tires = {
        (r["vehicleId"], r["subject"], r["startedAt"]): r["endedAt"]
        for r in alerts.values()
        if r["kind"] == "lowTirePressure"
    }
    assert want_tires and got_tires == want_tires
    leaks = [e for e in after_t0 if e["kind"] == "tireLeak"]
    tires = [r for r in alerts.values() if r["kind"] == "lowTirePressure"]
    for r in tires:
        assert (
            any(
                e["vehicleId"] == r["vehicleId"]
                and e["tire"] == r["subject"]
                and parse_time(e["start"]) <= parse_time(r["startedAt"]) < parse_time(e["end"])
                for e in truth
                if e["kind"] == "tireLeak"
            )
            or parse_time(r["startedAt"]) <= t0
        ), r
    if leaks:
        assert tires, "a planted leak shows as a low-tire alert"
    days = final(rig.delivered(vm.DAYS))
    flags = {(r["vehicleId"], r["date"], f) for r in days.values() for f in r["odometerFlags"]}
    odometer = [e for e in after_t0 if e["kind"].startswith("odometer")]
    for e in odometer:
        flag = "rollback" if e["kind"] == "odometerRollback" else "jump"
        if parse_time(e["firstSample"]).date() < t1.date():  # the day has closed
            assert (e["vehicleId"], e["firstSample"][:10], flag) in flags, e
    counts = rig.sb.fmc_records("_health")[0]["record"]["counts"]
    flagged = [r for r in alerts.values() if r["status"] == "flagged"]
    assert odometer and counts["odometerRollbacks"] + counts["odometerJumps"] == len(flagged), counts
    closed = [r for r in days.values() if r["date"] < iso(t1)[:10]]
    assert closed and all(r["id"] == f"{r['vehicleId']}:{r['date']}" for r in closed)


@pytest.mark.slow
def test_the_zip_under_samsara_fn_opens_exactly_the_planted_faults(
    tmp_path: Path, sandbox_factory: Callable[..., SandboxProcess]
) -> None:
    """The shipped zip under samsara-fn (the Functions runtime's Python and packages), against the
    sandbox with episodes: a manual run, then a scheduled one 20 hours on; the faults opened are the
    planted ones, nothing is delivered twice, and health is delivered."""
    assert ZIP.exists(), f"{ZIP} is missing: run `make bundle` (make test does)"
    sb = sandbox_factory(*DEFAULT_ARGS, "--fmc-token", "fmc-token-9", "--episodes", "on")
    d = Demo(tmp_path / "fn", sb.url, name="vehicle-maintenance")
    secrets = {"SAMSARA_API_TOKEN": sb.token, "FMC_URL": sb.url, "FMC_TOKEN": "fmc-token-9"}
    d.init(ZIP, {"timeZone": TZ, "faultDebounceMinutes": "15"}, secrets=secrets)
    t0 = parse_time(sb.advance(0))
    assert d.run("manual")["ok"]
    t1 = parse_time(sb.advance(20 * 3600))
    assert d.run("schedule")["records"] > 0
    truth = sb.get(f"/__sandbox/truth/episodes?startTime={iso(t0)}&endTime={iso(t1)}")["data"]
    want = {
        (e["vehicleId"], iso(parse_time(e["firstSample"])))
        for e in truth
        if e["kind"] == "fault"
        and e["firstSample"]
        and e["lastSample"]
        and t0 < parse_time(e["firstSample"])
        and parse_time(e["lastSample"]) - parse_time(e["firstSample"]) >= dt.timedelta(minutes=15)
    }
    held = {(r["record"]["vehicleId"], r["record"]["firstSeen"]) for r in sb.fmc_records(vm.FAULTS)}
    assert want and {k for k in held if parse_time(k[1]) > t0} == want
    for stream in (vm.FAULTS, vm.ALERTS, vm.TRANSITIONS, vm.DAYS):
        assert sb.fmc_summary(stream)["duplicates"] == 0, stream
    [health] = sb.fmc_records("_health")
    assert health["record"]["ok"] is True and health["record"]["function"] == "vehicle-maintenance"
