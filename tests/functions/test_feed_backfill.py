"""A feed Function's backfill and follow mode against the sandbox with late uploads (``--gaps on``):
history read in windows over several runs, crashes and repeated pages, then the hand-over to the feed;
what the FMC holds equals every point since the backfill's start, none twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from samsara_fmc.engine import feed
from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.exceptions import ServerError
from samsara_fmc.integrations import vehicle_locations, vehicle_stats
from samsara_fmc.runtime import FunctionRuntime, Manifest
from samsara_fmc.state import StateStore
from samsara_fmc.storage import MemoryStorage
from scripts.demo import api_get
from tests.support.sandbox import SandboxProcess
from tests.test_runtime import ROOT, FakeSecrets

pytestmark = pytest.mark.sandbox
FMC = "fmc-backfill-token"
ARGS = (
    "--seed",
    "5",
    "--vehicles",
    "12",
    "--days",
    "3",
    "--gaps",
    "on",
    "--start",
    "2026-11-02T15:00:00Z",
    "--rate-limits",
    "off",  # the truth is read around the runs without retries
    "--fmc-token",
    FMC,
)
TYPES = ["gps", "engineStates", "obdOdometerMeters"]
TIRE = "tirePressuresFrontLeft"
READING = {"readingId": TIRE, "entityType": "asset", "assetTypes": "vehicle"}


def runtime(sb: SandboxProcess, name: str) -> FunctionRuntime:
    manifest = Manifest.load(ROOT / "functions" / name / "function.json")
    secrets = {"SAMSARA_API_TOKEN": sb.token, "SAMSARA_BASE_URL": sb.url, "FMC_URL": sb.url, "FMC_TOKEN": FMC}
    return FunctionRuntime(manifest, storage=MemoryStorage(), secret_source=FakeSecrets(secrets))


def storage(rt: FunctionRuntime) -> MemoryStorage:
    store = rt.storage
    assert isinstance(store, MemoryStorage)
    return store


def walk(sb: SandboxProcess, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
    after = ""
    while True:
        body = api_get(sb.url, sb.token, path, {**params, **({"after": after} if after else {})})
        yield from body["data"]
        after = body["pagination"]["endCursor"]
        if not body["pagination"]["hasNextPage"]:
            return


def location_truth(sb: SandboxProcess, start: str, end: str, latest: dict[str, str]) -> set[str]:
    """Every point from ``start`` to ``end`` uploaded by now, and each latest value before ``start``."""
    s = parse_time(start)
    out = {f"{v['id']}:{t}" for v, t in ((v, latest[v]) for v in latest) if parse_time(t) < s}
    for v in walk(sb, "/fleet/vehicles/locations/history", {"startTime": start, "endTime": end}):
        out.update(f"{v['id']}:{p['time']}" for p in v["locations"] if parse_time(p["time"]) >= s)
    return out


def stats_truth(sb: SandboxProcess, start: str, end: str, latest: set[tuple[str, str, str]]) -> set[str]:
    """Every stat and tire-pressure point from ``start`` to ``end`` uploaded by now, and each latest
    value before ``start``."""
    s = parse_time(start)
    out = {f"{v}:{t}:{at}" for v, t, at in latest if parse_time(at) < s}
    params = {"types": ",".join(TYPES), "startTime": start, "endTime": end}
    for v in walk(sb, "/fleet/vehicles/stats/history", params):
        for t in TYPES:
            out.update(f"{v['id']}:{t}:{p['time']}" for p in v.get(t, []) if parse_time(p["time"]) >= s)
    after_end = iso(parse_time(end) + dt.timedelta(seconds=1))  # readings history ends before endTime
    params = {**READING, "startTime": start, "endTime": after_end}
    out.update(f"{r['entityId']}:{TIRE}:{r['happenedAtTime']}" for r in walk(sb, "/readings/history", params))
    return out


SLOW = {"on": False}
"""Time passes during history reads only after the first run: in the first, streams start one after
another (four at a time), and one starting after another's read would count its backfill from later."""


def slow_history(monkeypatch: pytest.MonkeyPatch, module: Any, sb: SandboxProcess) -> None:
    """Time passes while history is read (the simulated clock stands still otherwise): uploads
    arrive between the feed's last read and the window's, the case the hand-over must not send twice."""
    real = feed.feed_options
    SLOW["on"] = False

    def options(params: Any, *, history: feed.HistoryPages, clock: Any) -> Any:
        def late(start: dt.datetime, end: dt.datetime, deadline: float) -> Any:
            if SLOW["on"]:
                sb.advance(900)
            return history(start, end, deadline)

        return real(params, history=late, clock=clock)

    monkeypatch.setattr(module, "feed_options", options)


def crash_on_save(monkeypatch: pytest.MonkeyPatch, n: int) -> Callable[[], None]:
    """State saves fail from the ``n``-th on (a run killed after a delivery); returns the undo."""
    real = StateStore.save
    calls = {"n": 0}

    def save(self: StateStore, st: Any) -> None:
        calls["n"] += 1
        if calls["n"] >= n:
            raise ServerError("killed", "PUT", "state", 1, 0.0, 503, None, "")
        real(self, st)

    monkeypatch.setattr(StateStore, "save", save)
    return lambda: monkeypatch.setattr(StateStore, "save", real)


def converge(
    sb: SandboxProcess, rt: FunctionRuntime, event: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """Runs every 10 simulated minutes, with repeated pages, a 503 and a crash after a delivery,
    until a run is caught up with the backfill done; then once more after more driving."""
    outs = []
    for i in range(40):
        if i == 1:
            sb.faults({"path": "/fleet/vehicles/*/history", "kind": "repeat_records", "times": 2})
            sb.faults({"path": "/fleet/vehicles/*/feed", "kind": "status", "status": 503, "times": 1})
        if i == 2:
            undo = crash_on_save(monkeypatch, 3)
            with pytest.raises(ServerError):
                rt.invoke({**event, "SamsaraFunctionCorrelationId": f"r{i}"}, None)
            undo()  # the platform retries the run with the same correlation id
        out = rt.invoke({**event, "SamsaraFunctionCorrelationId": f"r{i}"}, None)
        assert out["ok"], out
        SLOW["on"] = True
        outs.append(out)
        states = [v for k, v in storage(rt).objects.items() if k.startswith("state/") and b'"backfill"' in v]
        if out["caughtUp"] and not states:
            break
        sb.advance(600)
    else:
        pytest.fail("the backfill did not finish in 40 runs")
    sb.advance(1800)
    for i in range(20):
        outs.append(rt.invoke({**event, "SamsaraFunctionCorrelationId": f"last{i}"}, None))
        if outs[-1]["caughtUp"]:
            return outs
    pytest.fail("the feed did not catch up")


def test_locations_backfill_hands_over_to_the_feed_without_gap_or_overlap(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = sandbox_factory(*ARGS)
    monkeypatch.setattr(vehicle_locations, "CLOCK", lambda: parse_time(sb.advance(0)))
    slow_history(monkeypatch, vehicle_locations, sb)
    rt = runtime(sb, "vehicle-locations")
    now = sb.advance(0)
    start = iso(parse_time(now) - dt.timedelta(days=2))
    latest = {str(v["id"]): str(v["location"]["time"]) for v in walk(sb, "/fleet/vehicles/locations", {})}
    event = {
        "backfillDays": "2",
        "backfillWindowMinutes": "240",
        "maxPages": "3",
        "SamsaraFunctionTriggerSource": "schedule",
    }
    converge(sb, rt, event, monkeypatch)
    truth = location_truth(sb, start, sb.advance(0), latest)
    held = {str(r["id"]) for r in sb.fmc_records("vehicle_locations")}
    summary = sb.fmc_summary("vehicle_locations")
    assert not truth - held, (
        f"lost {len(truth - held)} {sorted(truth - held)[:3]} {sorted(truth - held)[-3:]}"
    )
    assert not held - truth, f"unexpected {sorted(held - truth)[:5]}"
    assert summary["duplicates"] == summary["updates"] == 0, summary
    assert len(truth) > 1000


def test_stats_backfill_with_late_uploads_delivers_each_point_once(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = sandbox_factory(*ARGS)
    monkeypatch.setattr(vehicle_stats, "CLOCK", lambda: parse_time(sb.advance(0)))
    slow_history(monkeypatch, vehicle_stats, sb)
    rt = runtime(sb, "vehicle-stats")
    now = sb.advance(0)
    start = iso(parse_time(now) - dt.timedelta(days=1))
    latest = set()
    for v in walk(sb, "/fleet/vehicles/stats", {"types": ",".join(TYPES)}):
        for t, key in (
            ("gps", "gps"),
            ("engineStates", "engineState"),
            ("obdOdometerMeters", "obdOdometerMeters"),
        ):
            if v.get(key):
                latest.add((str(v["id"]), t, str(v[key]["time"])))
    for r in walk(sb, "/readings/history", {**READING, "feed": "true"}):
        latest.add((str(r["entityId"]), TIRE, str(r["happenedAtTime"])))  # the first page: latest values
    event = {
        "types": ",".join(TYPES),
        "readings": TIRE,
        "units": "imperial",
        "backfillDays": "1",
        "backfillWindowMinutes": "360",
        "maxPages": "4",
        "SamsaraFunctionTriggerSource": "schedule",
    }
    converge(sb, rt, event, monkeypatch)
    truth = stats_truth(sb, start, sb.advance(0), latest)
    held = {str(r["id"]) for r in sb.fmc_records("vehicle_stats")}
    summary = sb.fmc_summary("vehicle_stats")
    assert not truth - held, (
        f"lost {len(truth - held)} {sorted(truth - held)[:3]} {sorted(truth - held)[-3:]}"
    )
    assert not held - truth, f"unexpected {sorted(held - truth)[:5]}"
    assert summary["duplicates"] == summary["updates"] == 0, summary
    tires = [r["record"] for r in sb.fmc_records("vehicle_stats") if r["record"]["stat"] == TIRE]
    assert tires and all(t["unit"] == "psi" and 20 < t["value"] < 150 for t in tires), tires[:2]
    # The combined odometer (on by default) rode the same backfill and hand-over: one OBD reading per
    # OBD point (every sandbox vehicle has an OBD odometer), none twice.
    odometer = {i.replace(":obdOdometerMeters:", ":odometer:") for i in truth if ":obdOdometerMeters:" in i}
    readings = {str(r["id"]): r["record"] for r in sb.fmc_records("odometer_readings")}
    assert set(readings) == odometer and {r["source"] for r in readings.values()} == {"obd"}
    odo_summary = sb.fmc_summary("odometer_readings")
    assert odo_summary["duplicates"] == odo_summary["updates"] == 0, odo_summary


def test_follow_mode_polls_until_the_budget_is_used(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run with ``follow`` keeps polling every ``pollSeconds`` (simulated here) until its deadline
    is near, delivering what arrives, and the next run takes over where it stopped."""
    sb = sandbox_factory(*ARGS)
    rt = runtime(sb, "vehicle-locations")
    fake = {"now": 0.0}
    real_now = feed.NOW

    def sleep(seconds: float) -> None:
        fake["now"] += seconds
        sb.advance(seconds)

    monkeypatch.setattr(feed, "SLEEP", sleep)
    monkeypatch.setattr(feed, "NOW", lambda: real_now() + fake["now"])

    class Context:
        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 300_000

    event = {"follow": "true", "pollSeconds": "30", "SamsaraFunctionTriggerSource": "schedule"}
    first = rt.invoke({**event, "SamsaraFunctionCorrelationId": "f1"}, Context())
    # 300 s less the margin (30 s) and the stop (10 s): about eight polls of 30 s.
    assert first["ok"] and first["caughtUp"] and 7 <= fake["now"] / 30 <= 9, fake
    assert first["streams"][0]["pages"] >= 8
    start = iso(parse_time(sb.advance(0)) - dt.timedelta(seconds=fake["now"]))
    sb.advance(120)
    second = rt.invoke({**event, "follow": "false", "SamsaraFunctionCorrelationId": "f2"}, Context())
    held = {str(r["id"]) for r in sb.fmc_records("vehicle_locations")}
    summary = sb.fmc_summary("vehicle_locations")
    since = location_truth(sb, start, sb.advance(0), {})
    assert second["ok"] and since and not since - held, "every point since the first poll was delivered"
    assert summary["duplicates"] == summary["updates"] == 0


def test_bad_backfill_parameters_write_nothing(sandbox_factory: Callable[..., SandboxProcess]) -> None:
    sb = sandbox_factory(*ARGS)
    rt = runtime(sb, "vehicle-stats")
    for params, word in (({"backfillDays": "400"}, "backfillDays"), ({"pollSeconds": "1"}, "pollSeconds")):
        out = rt.invoke({**params, "SamsaraFunctionTriggerSource": "manual"}, None)
        assert not out["ok"] and word in out["message"], out
    assert not [k for k in storage(rt).objects if k.startswith("state/")]
    assert not sb.fmc_records("vehicle_stats")
