"""The feed driver's backfill hand-over against a model source with random late uploads: every point
from the backfill's start is delivered exactly once, whatever arrives between the feed's read and a
window's, across page limits and crashes. (The sandbox tests in tests/functions/test_feed_backfill.py
cover the real endpoints; the sandbox's clock stands still during a run, so the race between a
window's read and the feed is exercised here.)"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from samsara_fmc.engine import FeedDriver, Stream
from samsara_fmc.engine.feed import History
from samsara_fmc.exceptions import BadRequestError, ServerError
from samsara_fmc.sinks import Batch
from samsara_fmc.state import StateStore
from tests.engine.rig import Rig

T0 = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    cursor: str | None


@dataclass
class Source:
    """Points (vehicle, time) that arrive at their time plus a delay; some uploads come hours late.
    The feed pages by arrival; history answers by point time with what has arrived; each history
    read lets ``read_takes`` pass, so uploads land between the feed's read and the window's."""

    rng: random.Random
    now: dt.datetime = T0
    points: list[tuple[dt.datetime, dt.datetime, str]] = field(default_factory=list)  # (arrival, time, id)
    read_takes: dt.timedelta = dt.timedelta(minutes=7)
    page_size: int = 40
    refuse_next: bool = False

    def make(self, start: dt.datetime, end: dt.datetime, vehicles: int = 6) -> None:
        t = start
        while t < end:
            for v in range(vehicles):
                if self.rng.random() < 0.5:
                    late = self.rng.random() < 0.15
                    delay = (
                        dt.timedelta(minutes=self.rng.randint(20, 300)) if late else dt.timedelta(seconds=5)
                    )
                    at = t + dt.timedelta(seconds=self.rng.randint(0, 59))
                    self.points.append((at + delay, at, f"v{v}:{at.isoformat()}"))
            t += dt.timedelta(minutes=1)
        self.points.sort()

    def arrived(self) -> list[tuple[dt.datetime, dt.datetime, str]]:
        return [p for p in self.points if p[0] <= self.now]

    @staticmethod
    def record(p: tuple[dt.datetime, dt.datetime, str]) -> dict[str, Any]:
        return {"id": p[2], "time": p[1].isoformat().replace("+00:00", "Z")}

    def feed(self, cursor: str | None, deadline: float) -> Iterator[Page]:
        if cursor is not None and self.refuse_next:
            self.refuse_next = False
            raise BadRequestError("the `after` cursor expired", "GET", "/feed", 1, 0.0, 400, None, "")
        if cursor is None:  # the latest value of each vehicle, then everything after now
            latest: dict[str, tuple[dt.datetime, dt.datetime, str]] = {}
            for p in self.arrived():
                v = p[2].split(":")[0]
                if v not in latest or p[1] > latest[v][1]:
                    latest[v] = p
            yield Page([self.record(p) for p in latest.values()], str(len(self.arrived())))
            return
        # The cursor is a position in arrival order (points are sorted by arrival).
        at, arrived = int(cursor), len(self.arrived())
        for i in range(at, max(arrived, at + 1), self.page_size):
            chunk = self.points[i : min(i + self.page_size, arrived)]
            yield Page([self.record(p) for p in chunk], str(i + len(chunk)))

    def history(self, start: dt.datetime, end: dt.datetime, deadline: float) -> Iterator[Page]:
        self.now += self.read_takes
        hits = [p for p in self.arrived() if start <= p[1] <= end]
        for i in range(0, max(len(hits), 1), self.page_size):
            yield Page([self.record(p) for p in hits[i : i + self.page_size]], None)


def to_batch(page: Page) -> tuple[Batch, Batch | None]:
    return Batch.of(page.data), None


def stream(src: Source, days: float, window_min: int, *, history: bool = True) -> Stream:
    hist = (
        History(pages=src.history, days=days, window=dt.timedelta(minutes=window_min), clock=lambda: src.now)
        if history
        else None
    )
    driver = FeedDriver(pages=src.feed, to_batch=to_batch, history=hist)
    return Stream(name="feed", sink_stream="points", fingerprint="f", driver=driver)


def newest(batch: Batch) -> str | None:
    return max((str(r["time"]) for r in batch.records()), default=None)


@pytest.mark.parametrize("seed", range(12))
def test_backfill_hands_over_exactly_once_under_late_uploads_limits_and_crashes(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    src = Source(rng)
    src.make(T0 - dt.timedelta(days=1, hours=2), T0 + dt.timedelta(hours=10))
    st = stream(src, days=1, window_min=rng.choice([30, 90, 240]))
    st = Stream(name=st.name, sink_stream=st.sink_stream, fingerprint="f", driver=st.driver, newest=newest)
    rig = Rig(sb=None, client=None)  # type: ignore[arg-type]
    start = None
    real_save = StateStore.save
    for run in range(200):
        if rng.random() < 0.2:  # killed after a delivery: the save after it fails
            calls = {"n": 0}
            fail_at = rng.randint(1, 4)

            def save(
                self: StateStore, state: Any, fail_at: int = fail_at, calls: dict[str, int] = calls
            ) -> None:
                calls["n"] += 1
                if calls["n"] == fail_at:
                    raise ServerError("killed", "PUT", "state", 1, 0.0, 503, None, "")
                real_save(self, state)

            monkeypatch.setattr(StateStore, "save", save)
        try:
            out = rig.run([st], correlation=f"r{run}", max_pages=rng.randint(1, 4))
        except ServerError:
            out = {"caughtUp": False}
        monkeypatch.setattr(StateStore, "save", real_save)
        if start is None and rig.storage.get(rig.states().key("feed")):
            # A run killed before its first save starts the backfill again, from its own now.
            start = dt.datetime.fromisoformat(rig.state("feed")["state"]["backfill"]["start"])
            first = src.now
        if (
            out["caughtUp"]
            and "backfill" not in rig.state("feed")["state"]
            and src.now > T0 + dt.timedelta(hours=9)
        ):
            break
        src.now += dt.timedelta(minutes=rng.randint(1, 20))
    else:
        pytest.fail("did not converge")
    src.now = T0 + dt.timedelta(hours=16)  # every late upload is in
    rig.run([st], correlation="last")
    ids = Counter(str(r["id"]) for r in rig.delivered("points"))
    latest_before = {}
    assert start is not None
    for p in [p for p in src.points if p[0] <= first]:
        v = p[2].split(":")[0]
        if v not in latest_before or p[1] > latest_before[v][1]:
            latest_before[v] = p
    truth = {p[2] for p in src.points if p[1] >= start} | {
        p[2] for p in latest_before.values() if p[1] < start
    }
    assert not truth - set(ids), f"lost {sorted(truth - set(ids))[:3]}"
    assert not set(ids) - truth, f"unexpected {sorted(set(ids) - truth)[:3]}"
    assert [i for i, n in ids.items() if n > 1] == []


def test_a_refused_cursor_is_recovered_through_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """An expired cursor: the feed starts afresh and history from before the newest delivered point
    fills what lay between; nothing is lost (points in the overlap may come again, as upserts)."""
    src = Source(random.Random(3))
    src.make(T0 - dt.timedelta(hours=3), T0 + dt.timedelta(hours=8))
    st = stream(src, days=0, window_min=60)
    st = Stream(name="feed", sink_stream="points", fingerprint="f", driver=st.driver, newest=newest)
    rig = Rig(sb=None, client=None)  # type: ignore[arg-type]
    rig.run([st], correlation="r0")
    src.now += dt.timedelta(hours=2)
    rig.run([st], correlation="r1")
    src.now += dt.timedelta(hours=3)
    src.refuse_next = True
    last = dt.datetime.fromisoformat(str(rig.state("feed")["newest"]))
    out = rig.run([st], correlation="r2")
    assert out["caughtUp"] and "recovering through history" in rig.log.getvalue()
    src.now = T0 + dt.timedelta(hours=14)
    rig.run([st], correlation="r3")
    ids = {str(r["id"]) for r in rig.delivered("points")}
    # Uploads later than the hour before the newest point are what history recovers; an upload
    # later than that (here: 20 to 300 minutes) which the refused cursor would have brought is lost.
    since = {p[2] for p in src.points if p[1] >= last - dt.timedelta(hours=1)}
    assert not since - ids, sorted(since - ids)[:5]
    assert len(ids) > len(since), "and what was delivered before the refusal stays"


def test_without_history_a_refused_cursor_names_the_fix() -> None:
    src = Source(random.Random(4))
    src.make(T0 - dt.timedelta(hours=1), T0 + dt.timedelta(hours=2))
    st = stream(src, days=0, window_min=60, history=False)
    rig = Rig(sb=None, client=None)  # type: ignore[arg-type]
    rig.run([st], correlation="r0")
    src.now += dt.timedelta(minutes=30)
    src.refuse_next = True
    with pytest.raises(Exception, match="reset=true"):
        rig.run([st], correlation="r1")
