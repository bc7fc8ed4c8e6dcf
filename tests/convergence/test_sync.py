"""vehicle-sync, tag-sync and driver-sync converge (issue 14, §7): under seeded faults on both sides (writes
that take effect and lose their answer, resets, 429s, broken pages), kill -9 with the platform's retry,
deadline stops and overlapping runs, every true pair of the sandbox's truth ends linked on both sides and
no trap pair is; a run after convergence plans and writes nothing; no write is applied twice (the request
log's body digests), no tag created twice, nothing delivered twice; tag members the FMC does not manage
are all still there. Three schedules per Function by default (CI); ``--slow`` runs 30 each (``python -m
tests.support.convergence --function tag-sync --schedules N`` runs more)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.support.convergence import HEADER, Harness, run_schedules, totals
from tests.support.subjects_sync import TagSync, members, records

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize("function", ["vehicle-sync", "tag-sync", "driver-sync"])
def test_converges(
    function: str, tmp_path: Path, pytestconfig: pytest.Config, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = bool(pytestconfig.getoption("--slow"))
    seeds = range(1, 31) if slow else (1, 2, 3)
    outcomes = run_schedules(seeds, tmp_path, jobs=2, function=function, steps=6 if slow else 4)
    bad = [o for o in outcomes if o.bad]
    with capsys.disabled():
        print(f"\n{function} convergence: {len(outcomes)} schedules\n{HEADER}")
        for o in bad if slow else outcomes:
            print(o.row(), *o.unhandled[:1])
        print(f"total {totals(outcomes).row()[5:]}")
    assert not bad, [
        (o.seed, o.lost, o.duplicated, o.unexpected, o.twice, o.unhandled[:1], o.caught_up) for o in bad
    ]
    total = totals(outcomes)
    assert total.truth > 0 and total.writes > 0, "there was something to link, and it was written"
    assert total.kills + total.deadline_stops > 0, "runs were killed or stopped by their deadline"


def test_the_checks_count_a_dropped_member_and_a_write_sent_twice(tmp_path: Path) -> None:
    """The checks can fail: a PATCH (not the harness's own) that drops a driver the FMC does not
    manage from a tag, sent twice, is a member lost and a write applied twice."""
    subject = TagSync()
    h = Harness(5, tmp_path, sink="fmc", subject=subject)
    try:
        subject.prepare(h)
        assert h.invoke().get("ok")
        tid, tag = next(
            (t, x) for t, x in records(h, "/tags").items() if members(x, "drivers") & set(subject.never)
        )
        victim = sorted(members(tag, "drivers") & set(subject.never))[0]
        body = json.dumps({"drivers": sorted(members(tag, "drivers") - {victim})}).encode()
        for _ in range(2):
            req = urllib.request.Request(f"{h.sandbox.url}/tags/{tid}", data=body, method="PATCH")
            req.add_header("Authorization", f"Bearer {h.sandbox.token}")
            req.add_header("Content-Type", "application/json")
            urllib.request.urlopen(req, timeout=30).close()
        subject.check(h)
        o = h.outcome
        assert o.lost == 1 and o.twice == 1 and o.unexpected == 0 and o.duplicated == 0, o
    finally:
        h.close()
