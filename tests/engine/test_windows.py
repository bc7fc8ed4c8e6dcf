"""The ``windows`` driver against the sandbox: stats history with connectivity gaps (late uploads
caught by the trailing overlap, each point delivered once) and idling events (a window a page limit
stopped is finished by the next run, from the same window)."""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from samsara_fmc.engine import Stream, WindowsDriver
from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.exceptions import ApiError
from tests.engine.rig import Rig, sim_clock
from tests.support.sandbox import SandboxProcess

STAT = "obdOdometerMeters"
GAPS = (
    "--seed",
    "7",
    "--vehicles",
    "20",
    "--days",
    "2",
    "--start",
    "2026-11-02T12:00:00Z",
    "--rate-limits",
    "off",
    "--gaps",
    "on",
)


def stat_points(rig: Rig) -> Callable[[dt.datetime, dt.datetime, float], Iterator[list[dict[str, Any]]]]:
    def fetch(start: dt.datetime, end: dt.datetime, deadline: float) -> Iterator[list[dict[str, Any]]]:
        params = {"types": STAT, "startTime": iso(start), "endTime": iso(end)}
        for page in rig.client.pages("/fleet/vehicles/stats/history", params=params, deadline=deadline):
            yield [
                {"vehicleId": v["id"], "time": p["time"], "value": p["value"]}
                for v in page.data
                for p in v.get(STAT, [])
                if start <= parse_time(p["time"]) < end
            ]

    return fetch


def point_record(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": f"{item['vehicleId']}:{STAT}:{item['time']}", "schemaVersion": 1, **item}


def idling(rig: Rig) -> Callable[[dt.datetime, dt.datetime, float], Iterator[list[dict[str, Any]]]]:
    def fetch(start: dt.datetime, end: dt.datetime, deadline: float) -> Iterator[list[dict[str, Any]]]:
        params: dict[str, Any] = {"startTime": iso(start), "endTime": iso(end), "limit": 3}
        for page in rig.client.pages("/idling/events", params=params, deadline=deadline):
            yield list(page.data)

    return fetch


def idling_record(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": item["eventUuid"], "schemaVersion": 1, **item}


@pytest.mark.parametrize("overlap_h", [2, 0])
def test_late_uploads_are_caught_by_the_overlap_and_delivered_once(
    sandbox_factory: Callable[..., SandboxProcess], overlap_h: int
) -> None:
    sb = sandbox_factory(*GAPS)
    rig = Rig.of(sb)
    driver = WindowsDriver(
        fetch=stat_points(rig),
        to_record=point_record,
        window=dt.timedelta(minutes=45),
        settle=dt.timedelta(minutes=1),
        overlap=dt.timedelta(hours=overlap_h),
        lookback=dt.timedelta(hours=4),
        clock=sim_clock(sb),
    )
    stream = Stream(name="odometer", sink_stream="vehicle_stats", fingerprint="odo-v1", driver=driver)
    late = 0
    for run in range(8):
        if run:
            sb.advance(1800)
        mark = rig.state("odometer")["state"]["mark"] if run else None
        before = len(rig.delivered("vehicle_stats"))
        out = rig.run([stream], correlation=f"run-{run}")
        assert out["caughtUp"]
        fresh = rig.delivered("vehicle_stats")[before:]
        late += sum(1 for r in fresh if mark and parse_time(r["time"]) < parse_time(mark))
    state = rig.state("odometer")["state"]
    truth = {
        point_record(p)["id"]
        for page in stat_points(rig)(parse_time(state["first"]), parse_time(state["mark"]), 1e12)
        for p in page
    }
    counts = Counter(str(r["id"]) for r in rig.delivered("vehicle_stats"))
    assert all(n == 1 for n in counts.values()), "no point delivered twice"
    if overlap_h:
        assert late > 0, "points uploaded late were found by re-reading the overlap"
        assert set(counts) == truth, "nothing lost"
        assert state["open"] is None and all(
            parse_time(k.split("/")[1]) > parse_time(state["mark"]) - dt.timedelta(hours=overlap_h)
            for k in state["seen"]
        ), "only windows within the overlap keep their digests"
    else:
        assert late == 0 and truth - set(counts), "without the overlap, late points are lost"

    calls = rig.sink.calls
    rig.run([stream], correlation="again")
    assert rig.sink.calls == calls, "a rerun with nothing new delivers nothing"


def test_a_window_stopped_midway_is_finished_from_the_same_window(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    sb = sandbox_factory()
    rig = Rig.of(sb)

    driver = WindowsDriver(
        fetch=idling(rig),
        to_record=idling_record,
        window=dt.timedelta(hours=12),
        settle=dt.timedelta(minutes=10),
        overlap=dt.timedelta(hours=6),
        lookback=dt.timedelta(days=2),
        clock=sim_clock(sb),
    )
    stream = Stream(name="idling", sink_stream="idling_events", fingerprint="idling-v1", driver=driver)
    out = rig.run([stream], max_pages=2)
    assert not out["caughtUp"]
    state = rig.state("idling")["state"]
    opened = state["open"]
    assert opened is not None and opened["start"] == state["mark"], "the mark moves only when a window closes"
    assert opened["end"] == iso(parse_time(opened["start"]) + dt.timedelta(hours=12))
    in_open = [
        r
        for r in rig.delivered("idling_events")
        if opened["start"] <= iso(parse_time(str(r["startTime"]))) < opened["end"]
    ]
    assert in_open, "the run stopped inside the open window, after delivering some of it"
    out = rig.run([stream], correlation="run-2")
    assert out["caughtUp"] and out["repeated"] >= len(in_open), (
        "the open window was read again from its start"
    )
    state = rig.state("idling")["state"]
    horizon = sim_clock(sb)() - dt.timedelta(minutes=10)
    assert state["open"] is None and parse_time(state["mark"]) == horizon
    truth = {
        str(e["eventUuid"])
        for e in rig.client.records(
            "/idling/events", params={"startTime": state["first"], "endTime": state["mark"], "limit": 200}
        )
    }
    counts = Counter(str(r["id"]) for r in rig.delivered("idling_events"))
    assert set(counts) == truth and len(truth) > 10 and all(n == 1 for n in counts.values())


def test_a_page_limit_of_one_moves_on_window_by_window(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    """Windows of one page each under ``max_pages=1``: each run closes one window (the limit met by a
    window's last page closes it) and the overlap, read whole first, does not use the limit up."""
    sb = sandbox_factory()
    rig = Rig.of(sb)

    def one_page(start: dt.datetime, end: dt.datetime, deadline: float) -> Iterator[list[dict[str, Any]]]:
        yield [e for page in idling(rig)(start, end, deadline) for e in page]

    driver = WindowsDriver(
        fetch=one_page,
        to_record=idling_record,
        window=dt.timedelta(hours=8),
        settle=dt.timedelta(minutes=10),
        overlap=dt.timedelta(hours=6),
        lookback=dt.timedelta(hours=40),
        clock=sim_clock(sb),
    )
    stream = Stream(name="idling", sink_stream="idling_events", fingerprint="idling-v1", driver=driver)
    marks = []
    for run in range(8):
        out = rig.run([stream], correlation=f"run-{run}", max_pages=1)
        marks.append(rig.state("idling")["state"]["mark"])
        if out["caughtUp"]:
            break
    # 40 h less the 10 min settle: four windows of 8 h and one of 7 h 50 min, one a run.
    assert len(set(marks)) == len(marks) == 5 and out["caughtUp"], marks
    state = rig.state("idling")["state"]
    truth = {
        str(e["eventUuid"])
        for e in rig.client.records(
            "/idling/events", params={"startTime": state["first"], "endTime": state["mark"], "limit": 200}
        )
    }
    counts = Counter(str(r["id"]) for r in rig.delivered("idling_events"))
    assert set(counts) == truth and len(truth) > 10 and all(n == 1 for n in counts.values())


@pytest.mark.parametrize("seed", [31, 32, 33, 34, 35, 52])
def test_seeded_fault_schedules_deliver_every_point_once(
    sandbox_factory: Callable[..., SandboxProcess], seed: int
) -> None:
    """Half-hour steps of simulated time with late uploads; on the history endpoint random 5xx,
    429, resets, truncated bodies, empty pages, repeated points and expired cursors; runs with a
    random page limit, retried when they fail; then runs until caught up. Every point up to the
    mark is delivered, none twice."""
    rng = random.Random(seed)
    sb = sandbox_factory(*GAPS)
    rig = Rig.of(sb)
    driver = WindowsDriver(
        fetch=stat_points(rig),
        to_record=point_record,
        window=rng.choice([dt.timedelta(minutes=20), dt.timedelta(minutes=45), dt.timedelta(hours=2)]),
        settle=dt.timedelta(minutes=1),
        overlap=dt.timedelta(hours=2),
        lookback=dt.timedelta(hours=4),
        clock=sim_clock(sb),
    )
    stream = Stream(name="odometer", sink_stream="vehicle_stats", fingerprint="odo-v1", driver=driver)
    kinds: list[dict[str, Any]] = [
        {"kind": "status", "status": 503, "times": 2},
        {"kind": "status", "status": 429, "retryAfter": "0.01"},
        {"kind": "reset"},
        {"kind": "truncate"},
        {"kind": "empty_page", "times": 2},
        {"kind": "repeat_records", "times": 2},
        {"kind": "expire_cursor"},
    ]
    for step in range(6):
        if step:
            sb.advance(1800)
        rules = rng.sample(kinds, rng.randint(1, 3))
        sb.faults(*({"path": "/fleet/vehicles/stats/history", **k} for k in rules))
        for retry in range(3):
            try:
                rig.run([stream], correlation=f"run-{step}-{retry}", max_pages=rng.choice([None, 2, 5]))
                break
            except ApiError:
                continue
    sb.clear_faults()
    for attempt in range(40):
        if rig.run([stream], correlation=f"final-{attempt}")["caughtUp"]:
            break
    state = rig.state("odometer")["state"]
    truth = {
        point_record(p)["id"]
        for page in stat_points(rig)(parse_time(state["first"]), parse_time(state["mark"]), 1e12)
        for p in page
    }
    counts = Counter(str(r["id"]) for r in rig.delivered("vehicle_stats"))
    assert all(n == 1 for n in counts.values()), f"seed {seed}: a point delivered twice"
    assert set(counts) == truth, f"seed {seed}: lost {len(truth - set(counts))}"


def test_the_digests_kept_are_bounded(sandbox_factory: Callable[..., SandboxProcess]) -> None:
    sb = sandbox_factory()
    rig = Rig.of(sb)
    window = dt.timedelta(hours=6)
    driver = WindowsDriver(
        fetch=idling(rig),
        to_record=idling_record,
        window=window,
        overlap=dt.timedelta(days=2),
        lookback=dt.timedelta(days=2),
        clock=sim_clock(sb),
        max_seen=5,
    )
    stream = Stream(name="idling", sink_stream="idling_events", fingerprint="idling-v1", driver=driver)
    assert rig.run([stream])["records"] > 10
    seen = rig.state("idling")["state"]["seen"]
    sizes = [len(base64.b64decode(v)) // 8 for v in seen.values()]
    assert sum(sizes) <= 5, f"{sum(sizes)} digests kept after delivering more than 10 records"


@pytest.mark.parametrize("keep", [True, False])
def test_a_record_every_window_returns_is_delivered_again_only_when_it_changes_with_keep_repeats(
    sandbox_factory: Callable[..., SandboxProcess], keep: bool
) -> None:
    """An ongoing record (a driver-vehicle assignment still in progress) overlaps every window; it ends
    later. With ``keep_repeats`` it is delivered twice (as it was, as it ended); without, again each
    time its first window leaves the overlap."""
    sb = sandbox_factory()
    rig = Rig.of(sb)
    t0 = parse_time("2026-11-02T00:00:00Z")
    now = [t0]
    ends: list[str | None] = [None]

    def fetch(start: dt.datetime, end: dt.datetime, deadline: float) -> Iterator[list[dict[str, Any]]]:
        e = ends[0]
        yield [{"id": "lasting", "end": e}] if e is None or parse_time(e) >= start else []

    driver = WindowsDriver(
        fetch=fetch,
        to_record=lambda item: {"schemaVersion": 1, **item},
        window=dt.timedelta(hours=1),
        settle=dt.timedelta(0),
        overlap=dt.timedelta(hours=2),
        lookback=dt.timedelta(hours=1),
        clock=lambda: now[0],
        keep_repeats=keep,
    )
    stream = Stream(name="lasting", sink_stream="trips", fingerprint="lasting-v1", driver=driver)
    for run in range(12):
        now[0] = t0 + dt.timedelta(hours=run)
        if run == 9:
            ends[0] = iso(now[0] - dt.timedelta(minutes=30))
        rig.run([stream], correlation=f"run-{run}")
    versions = [r["end"] for r in rig.delivered("trips")]
    if keep:
        assert versions == [None, ends[0]], "once as it was, once as it ended"
        seen = rig.state("lasting")["state"]["seen"]
        assert all(parse_time(k.split("/")[1]) > now[0] - dt.timedelta(hours=2) for k in seen), (
            "only windows within the overlap keep digests"
        )
    else:
        assert versions.count(None) > 1, "delivered again unchanged once its first window was dropped"
