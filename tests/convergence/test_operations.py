"""trips, idling, ifta, forms-issues and messages converge: under seeded faults on both sides, kill -9
with the platform's retry (for the write-back Functions also a kill between a send and its state
write), deadline stops and overlapping runs, what the FMC side holds equals the sandbox's truth (trips,
idling events and the daily KPIs, IFTA lines with the vanished ones withdrawn and the quarter's return
adding up to them and to the truth, submissions, issues, messages), nothing twice, nothing else; every
FMC change and message is applied exactly once with its outcome delivered back. Three schedules per
Function by default (CI; seed 4 delivers to storage); ``--slow`` runs 30 each (the Subjects are in
:mod:`tests.support.subjects_ops`; ``python -m tests.support.convergence --function <name>
--schedules N`` runs more)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.convergence import HEADER, run_schedules, totals

pytestmark = pytest.mark.sandbox

FUNCTIONS = ("trips", "idling", "ifta", "forms-issues", "messages")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_converges(
    function: str, tmp_path: Path, pytestconfig: pytest.Config, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = bool(pytestconfig.getoption("--slow"))
    seeds = range(1, 31) if slow else (1, 2, 4)
    outcomes = run_schedules(seeds, tmp_path, jobs=3, function=function, steps=6 if slow else 4)
    bad = [o for o in outcomes if o.bad]
    with capsys.disabled():
        print(f"\n{function} convergence: {len(seeds)} schedules\n{HEADER}")
        for o in bad if slow else outcomes:
            print(o.row(), *o.unhandled[:1])
        print(f"total {totals(outcomes).row()[5:]}")
    assert not bad, [
        (o.seed, o.lost, o.duplicated, o.unexpected, o.twice, o.unhandled[:2], o.caught_up) for o in bad
    ]
    total = totals(outcomes)
    assert total.truth > 0 and total.kills > 0, "the schedules had something to deliver, and killed runs"
    if function in ("forms-issues", "messages"):
        assert total.writes > 0, "FMC changes were applied"
