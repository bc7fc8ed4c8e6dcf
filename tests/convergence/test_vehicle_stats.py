"""vehicle-stats converges: under seeded faults, kill -9, deadline stops and overlapping runs, what
the FMC side holds equals the sandbox's truth, nothing twice. ``--slow`` runs 500 schedules and prints
the table the README quotes; the default is 20."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.convergence import HEADER, Harness, Outcome

pytestmark = pytest.mark.sandbox


def test_vehicle_stats_converges(
    tmp_path: Path, pytestconfig: pytest.Config, capsys: pytest.CaptureFixture[str]
) -> None:
    schedules = 500 if pytestconfig.getoption("--slow") else 20
    outcomes: list[Outcome] = []
    for seed in range(1, schedules + 1):
        h = Harness(seed, tmp_path / f"s{seed}", sink="storage" if seed % 4 == 0 else "fmc")
        try:
            outcomes.append(h.run())
        finally:
            h.close()
        if schedules > 20:  # a long run shows its progress, one row per schedule
            with capsys.disabled():
                print(outcomes[-1].row(), flush=True)
    with capsys.disabled():
        print(f"\nvehicle-stats convergence: {schedules} schedules\n{HEADER}")
        for o in outcomes:
            if o.lost or o.duplicated or o.unexpected or o.unhandled or not o.caught_up:
                print(o.row())
        total = Outcome(seed=0)
        for o in outcomes:
            total.truth += o.truth
            total.lost += o.lost
            total.duplicated += o.duplicated
            total.unexpected += o.unexpected
            total.invocations += o.invocations
            total.kills += o.kills
            total.deadline_stops += o.deadline_stops
            total.busy += o.busy
            total.unhandled += o.unhandled
        print(f"total {total.row()[5:]}")
    bad = [o for o in outcomes if o.lost or o.duplicated or o.unexpected or o.unhandled or not o.caught_up]
    assert not bad, [(o.seed, o.lost, o.duplicated, o.unexpected, o.unhandled[:1], o.caught_up) for o in bad]
    assert sum(o.kills for o in outcomes) > 0 and sum(o.deadline_stops for o in outcomes) > 0
    assert all(o.truth > 0 for o in outcomes)
