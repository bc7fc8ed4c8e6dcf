"""vehicle-stats converges: under seeded faults, kill -9, deadline stops and overlapping runs, what
the FMC side holds equals the sandbox's truth, nothing twice. ``--slow`` runs 500 schedules and prints
the table the README quotes (also ``python -m tests.support.convergence --schedules 500``); the
default is 20."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.convergence import HEADER, run_schedules, totals

pytestmark = pytest.mark.sandbox


def test_vehicle_stats_converges(
    tmp_path: Path, pytestconfig: pytest.Config, capsys: pytest.CaptureFixture[str]
) -> None:
    schedules = 500 if pytestconfig.getoption("--slow") else 20
    outcomes = run_schedules(range(1, schedules + 1), tmp_path, jobs=2)
    bad = [o for o in outcomes if o.lost or o.duplicated or o.unexpected or o.unhandled or not o.caught_up]
    with capsys.disabled():
        print(f"\nvehicle-stats convergence: {schedules} schedules\n{HEADER}")
        for o in bad:
            print(o.row())
        print(f"total {totals(outcomes).row()[5:]}")
    assert not bad, [(o.seed, o.lost, o.duplicated, o.unexpected, o.unhandled[:1], o.caught_up) for o in bad]
    assert sum(o.kills for o in outcomes) > 0 and sum(o.deadline_stops for o in outcomes) > 0
    assert all(o.truth > 0 for o in outcomes)
