"""assignment-sync converges: under seeded faults on both sides (writes answered with a 5xx or a reset
after they were applied, among others), kill -9 with the platform's retry, deadline stops and
overlapping runs, what the FMC side holds equals a fresh read of the assignments (newest versions,
nothing twice, nothing else), every FMC ``assignment.created`` made exactly one assignment, every
``assignment.ended`` shows in Samsara, and each change's outcome came back. Three schedules by default;
``--slow`` runs 20."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.convergence import HEADER, Harness, Outcome, totals
from tests.support.subjects_assignments import AssignmentSync

pytestmark = pytest.mark.sandbox


def schedule(seed: int, workdir: Path, steps: int) -> Outcome:
    # Seed 4 (and every fourth) delivers to storage, the others to the FMC endpoint (with write-back).
    sink = "storage" if seed % 4 == 0 else "fmc"
    h = Harness(seed, workdir / f"assignment-sync-s{seed}", sink=sink, subject=AssignmentSync())
    try:
        return h.run(steps)
    except Exception as e:  # a harness failure is this schedule's, reported with the others
        h.outcome.unhandled.append(f"harness: {type(e).__name__}: {e}")
        return h.outcome
    finally:
        h.close()


def test_converges(tmp_path: Path, pytestconfig: pytest.Config, capsys: pytest.CaptureFixture[str]) -> None:
    slow = bool(pytestconfig.getoption("--slow"))
    seeds = range(1, 21) if slow else (1, 2, 4)
    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(lambda s: schedule(s, tmp_path, 6 if slow else 4), seeds))
    bad = [o for o in outcomes if o.bad]
    with capsys.disabled():
        print(f"\nassignment-sync convergence: {len(outcomes)} schedules\n{HEADER}")
        for o in bad if slow else outcomes:
            print(o.row(), *o.unhandled[:1])
        print(f"total {totals(outcomes).row()[5:]}")
    assert not bad, [
        (o.seed, o.lost, o.duplicated, o.unexpected, o.twice, o.unhandled[:1], o.caught_up) for o in bad
    ]
    total = totals(outcomes)
    assert total.truth > 0 and total.kills > 0 and total.writes > 0
