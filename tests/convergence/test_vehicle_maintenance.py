"""vehicle-maintenance converges: under seeded faults (both sides), kill -9, deadline stops and
overlapping runs, the engine-state transitions and faults the FMC holds are exactly those the stats
history shows for the window, and no record is delivered twice with the same content (a fault or a
day delivered again with new content is an upsert, not a duplicate)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc.client import Client
from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.integrations import vehicle_maintenance as vm
from tests.functions.test_vehicle_maintenance import expected_faults
from tests.support.convergence import _ALL as ALL_FAULTS
from tests.support.convergence import HEADER, Harness, Outcome, Subject, totals

pytestmark = pytest.mark.sandbox

STREAMS = (vm.FAULTS, vm.ALERTS, vm.TRANSITIONS, vm.DAYS)


class Maintenance(Subject):
    """vehicle-maintenance under the harness's schedule (the vehicle-stats faults on its feeds), with
    the stats history's transitions and faults as its truth."""

    function = "vehicle-maintenance"
    samsara = (
        ("/fleet/vehicles/stats/feed", None, ALL_FAULTS),
        ("/me", None, ("5xx",)),
    )
    t0: Any = None

    def params(self, h: Harness) -> dict[str, str]:
        return {"timeZone": "America/Chicago", "faultDebounceMinutes": "0"}

    def begin(self, h: Harness) -> None:
        self.t0 = parse_time(h.sandbox.advance(0))

    def truth(self, h: Harness, end: str) -> set[str]:
        """Transitions after the first run and faults (each run of a code) from the history."""
        params = {
            "types": "engineStates,faultCodes",
            "startTime": iso(self.t0.replace(hour=0)),
            "endTime": end,
        }
        points: dict[str, dict[str, list[Any]]] = {}
        client = Client(token=h.sandbox.token, base_url=h.sandbox.url, rate_limit=False)
        for v in client.records("/fleet/vehicles/stats/history", params=params):
            mine = points.setdefault(str(v["id"]), {"engineStates": [], "faultCodes": []})
            for k in mine:
                mine[k].extend(v.get(k) or ())
        ids = set()
        for vid, stats in points.items():
            states = sorted(stats["engineStates"], key=lambda p: parse_time(p["time"]))
            for a, b in itertools.pairwise(states):
                if a["value"] != b["value"] and parse_time(b["time"]) > self.t0:
                    ids.add(f"t:{vid}:{iso(parse_time(b['time']))}")
            codes = sorted(stats["faultCodes"], key=lambda p: parse_time(p["time"]))
            for key, first in expected_faults(codes, self.t0):
                ids.add(f"f:{vid}:{key}:{first}")
        return ids

    def check(self, h: Harness) -> None:
        truth = self.truth(h, h.sandbox.advance(0))
        held = {f"t:{r['id']}" for r in h.sandbox.fmc_records(vm.TRANSITIONS)}
        held |= {f"f:{r['id']}" for r in h.sandbox.fmc_records(vm.FAULTS)}
        o = h.outcome
        o.truth, o.delivered = len(truth), len(held)
        o.lost, o.unexpected = len(truth - held), len(held - truth)
        o.duplicated = sum(int(h.sandbox.fmc_summary(s)["duplicates"]) for s in STREAMS)


def test_vehicle_maintenance_converges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outcomes: list[Outcome] = []
    for seed in range(1, 9):
        h = Harness(seed, tmp_path / f"s{seed}", sink="fmc", subject=Maintenance())
        try:
            outcomes.append(h.run())
        finally:
            h.close()
    bad = [o for o in outcomes if o.lost or o.duplicated or o.unexpected or o.unhandled or not o.caught_up]
    with capsys.disabled():
        print(f"\nvehicle-maintenance convergence: {len(outcomes)} schedules\n{HEADER}")
        for o in outcomes:
            print(o.row())
        print(f"total {totals(outcomes).row()[5:]}")
    assert not bad, [(o.seed, o.lost, o.duplicated, o.unexpected, o.unhandled[:1], o.caught_up) for o in bad]
    assert sum(o.kills for o in outcomes) > 0 and all(o.truth > 0 for o in outcomes)
