"""dvir-defects, safety-events, speeding-intervals and camera-media converge: under seeded faults on
both sides, kill -9 with the platform's retry, deadline stops and overlapping runs, what the FMC side
holds equals the sandbox's truth (each object's newest version, nothing twice, nothing else); every
``defect.resolved`` change is PATCHed once and its outcome delivered back; every retrieval requested
ends in its record (the files with the record's SHA-256, or an explicit failure); and no media URL is
anywhere the runs wrote. Three schedules per Function by default (CI); ``--slow`` runs 40 each
(``python -m tests.support.convergence --function <name> --schedules N`` runs more)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.convergence import HEADER, MEDIA_MARK, Harness, SafetyEvents, run_schedules, totals

pytestmark = pytest.mark.sandbox

FUNCTIONS = ("dvir-defects", "safety-events", "speeding-intervals", "camera-media")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_converges(
    function: str, tmp_path: Path, pytestconfig: pytest.Config, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = bool(pytestconfig.getoption("--slow"))
    # Seed 4 delivers to storage, the others to the FMC endpoint; the runs mostly wait (kills, sleeps).
    seeds = range(1, 41) if slow else (1, 2, 4)
    schedules = len(seeds)
    outcomes = run_schedules(seeds, tmp_path, jobs=3, function=function, steps=6 if slow else 4)
    bad = [o for o in outcomes if o.bad]
    with capsys.disabled():
        print(f"\n{function} convergence: {schedules} schedules\n{HEADER}")
        for o in bad if slow else outcomes:
            print(o.row(), *o.unhandled[:1])
        print(f"total {totals(outcomes).row()[5:]}")
    assert not bad, [
        (o.seed, o.lost, o.duplicated, o.unexpected, o.twice, o.leaks, o.unhandled[:1], o.caught_up)
        for o in bad
    ]
    total = totals(outcomes)
    assert total.truth > 0 and total.kills > 0, "the schedules had something to deliver, and killed runs"
    if function in ("dvir-defects", "camera-media"):
        assert total.writes > 0, "changes were applied / retrievals requested"


def test_the_media_url_grep_finds_a_url_a_run_wrote(tmp_path: Path) -> None:
    """The leak check can fail: a media URL the API returns, written to a run's log, is found."""
    h = Harness(3, tmp_path, subject=SafetyEvents())
    try:
        assert h.invoke().get("ok")
        assert h.leaks() == 0
        from tests.support.convergence import stream_latest

        events = stream_latest(h, "/safety-events/stream", {"startTime": "2026-11-01T00:00:00Z"})
        urls = [m["url"] for e in events.values() for m in e.get("media") or []]
        assert urls and MEDIA_MARK in urls[0], "the API hands out media URLs"
        (h.logs / "run-999.out").write_text(f'{{"msg": "oops", "url": "{urls[0]}"}}\n')
        assert h.leaks() == 1
    finally:
        h.close()
