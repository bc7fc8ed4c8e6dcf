"""The convergence harness's subject for ``assignment-sync`` (kept apart from
:mod:`tests.support.convergence`, whose ``SUBJECTS`` can list it).

Truth, after the schedule: what the FMC side holds for ``driver_vehicle_assignments`` equals a fresh
read of the endpoint over the stream's span (each assignment in its newest version, ends included,
nothing else, nothing delivered twice unchanged); and, with the FMC endpoint as the sink, every FMC
``assignment.created`` made exactly one assignment in Samsara (the sandbox's ``copies``), every
``assignment.ended`` shows in Samsara, and every change's outcome came back. Faults on the writes are
the dangerous kind: a 5xx after the write was applied (``fail_after_commit``) and a reset of the
connection after it, besides 429 and plain 5xx; with kills at random moments in between.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from samsara_fmc.client import Client
from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.integrations.assignment_sync import PATH, SINK_STREAM, to_record
from tests.support.convergence import _ALL, Harness, Subject

__all__ = ["AssignmentSync"]

_WRITES = ("429", "5xx", "fail_after_commit", "reset")


def _client(h: Harness) -> Client:
    return Client(token=h.sandbox.token, base_url=h.sandbox.url, rate_limit=False)


class AssignmentSync(Subject):
    """assignment-sync with write-back: the FMC assigns drivers to vehicles it names by its own IDs and
    ends some of those assignments while the schedule runs."""

    function = "assignment-sync"
    clocked = True
    samsara = (
        (PATH, "GET", _ALL),
        (PATH, "POST", _WRITES),
        (PATH, "PATCH", _WRITES),
        ("/fleet/vehicles/*", "GET", ("429", "5xx", "reset")),
    )
    fmc = (
        *Subject.fmc,
        ("/fmc/v1/changes", None, ("429", "5xx", "reset", "empty_page", "repeat_records")),
    )
    steps = (300, 2400)

    def params(self, h: Harness) -> dict[str, str]:
        return {"lookbackHours": "30", "settleMinutes": "0", "overlapHours": "24", "writeBack": "true"}

    def begin(self, h: Harness) -> None:
        api = _client(h)
        self.vehicles = [str(v["id"]) for v in api.records("/fleet/vehicles", params={"limit": 100})]
        self.drivers = [str(d["id"]) for d in api.records("/fleet/drivers", params={"limit": 100})]
        for i, v in enumerate(self.vehicles):  # as vehicle-sync links them
            api.request("PATCH", f"/fleet/vehicles/{v}", json_body={"externalIds": {"fmcId": f"UNIT-{i}"}})
        self.created: dict[str, dict[str, Any]] = {}  # change id -> data
        self.ended: dict[str, dict[str, Any]] = {}
        self.open: list[dict[str, Any]] = []
        self.n = 0
        if h.sink == "fmc":
            for _ in range(3):
                self._create(h)

    def _now(self, h: Harness) -> dt.datetime:
        return parse_time(h.sandbox.advance(0))

    def _create(self, h: Harness) -> None:
        i = self.n % len(self.vehicles)
        start = self._now(h) - dt.timedelta(minutes=20 + self.n)
        data: dict[str, Any] = {
            "fmcVehicleId": f"UNIT-{i}",
            "driverId": self.drivers[self.n % len(self.drivers)],
            "startTime": iso(start),
        }
        if h.rng.random() < 0.5:
            data["endTime"] = iso(start + dt.timedelta(minutes=10))
        else:
            self.open.append(data)
        change = h.sandbox.admin(
            "POST", "/__sandbox/fmc/changes", {"type": "assignment.created", "data": data}
        )
        self.created[str(change["id"])] = data
        self.n += 1

    def step(self, h: Harness) -> None:
        if h.sink != "fmc" or h.rng.random() < 0.3:
            return
        if self.open and h.rng.random() < 0.4:
            data = {**self.open.pop(0), "endTime": iso(self._now(h))}
            change = h.sandbox.admin(
                "POST", "/__sandbox/fmc/changes", {"type": "assignment.ended", "data": data}
            )
            self.ended[str(change["id"])] = data
        else:
            self._create(h)

    def finished(self, h: Harness, summary: dict[str, Any]) -> bool:
        """A run that wrote to Samsara changed its assignments: the next run reads them back."""
        return not any(
            s["records"] for s in summary.get("streams") or [] if str(s["stream"]).startswith("ledger")
        )

    def check(self, h: Harness) -> None:
        o = h.outcome
        [path] = list((h.storage / "state").glob(f"*/{self.function}/assignments.json"))
        st = json.loads(path.read_text())["state"]
        query = {"filterBy": "vehicles", "startTime": st["first"], "endTime": st["mark"]}
        truth = {r["id"]: r for r in (to_record(x) for x in _client(h).records(PATH, params=query))}
        versions = h.stored(SINK_STREAM)
        held = {i: v[-1] for i, v in versions.items()}
        o.truth += len(truth)
        o.delivered += len(held)
        o.lost += sum(1 for i, r in truth.items() if held.get(i) != r)
        o.unexpected += len(held.keys() - truth.keys())
        o.duplicated += h.identical_again(SINK_STREAM, versions)
        if h.sink != "fmc":
            return
        status = {str(c["id"]): c for c in h.sandbox.get("/__sandbox/fmc/changes")["data"]}
        outcomes = {str(r["id"]): r["record"] for r in h.sandbox.fmc_records("write_outcomes")}
        for change in [*self.created, *self.ended]:
            o.writes += 1
            out, s = outcomes.get(change), status[change]
            if out is None or out["status"] not in ("applied", "already"):
                o.twice += 1  # no outcome back, or refused
                continue
            if change in self.created:
                o.twice += int(s["copies"]) != 1
            else:
                o.twice += not s["applied"]
