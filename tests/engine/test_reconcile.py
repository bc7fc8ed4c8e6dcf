"""The reconcile driver on a small in-memory domain: plans computed from both sides, each write applied
once (a crash between the write and the state's save, a lost answer), the safety brake refusing before
any write, a dry run writing nothing, a second run planning nothing; and field ownership parsing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from samsara_fmc.client import Client
from samsara_fmc.engine import Stream, StreamContext
from samsara_fmc.engine.reconcile import (
    Action,
    Brake,
    Ownership,
    Plan,
    PlanReport,
    ReconcileDriver,
    SafetyBrakeError,
)
from samsara_fmc.exceptions import BadRequestError, ConfigurationError, ServerError
from tests.engine.rig import Rig


@dataclass
class Domain:
    """Samsara holds ``have`` (id → value); the FMC wants ``want``; ids missing from ``want`` are
    unlinked (a destructive action). Writes are logged, and can crash or lose their answer."""

    have: dict[str, str]
    want: dict[str, str]
    writes: list[str] = field(default_factory=list)
    crash_on: str | None = None
    lose_answer_on: str | None = None
    refuse: str | None = None

    def plan(self, ctx: StreamContext) -> Plan:
        p = Plan(domain="things", size=len(self.have))
        for i, value in sorted(self.want.items()):
            if self.have.get(i) != value:
                p.actions.append(self._action("update", i, value))
        for i in sorted(set(self.have) - set(self.want)):
            p.actions.append(self._action("unlink", i, None))
        p.records["vehicle_links"] = [
            {"id": i, "schemaVersion": 1, "value": v} for i, v in sorted(self.want.items())
        ]

        def commit(state: dict[str, Any], rejected: set[str]) -> None:
            state["committed"] = int(state.get("committed", 0)) + 1

        p.commit = commit
        return p

    def _action(self, kind: str, i: str, value: str | None) -> Action:
        def verify(deadline: float) -> str | None:
            return "held" if self.have.get(i) == value else None

        def apply(deadline: float) -> Any:
            if i == self.refuse:
                raise BadRequestError(
                    "400 `value` is not allowed", "PATCH", "/things", 1, 0.0, 400, "r-1", ""
                )
            self.writes.append(i)
            if value is None:
                self.have.pop(i, None)
            else:
                self.have[i] = value
            if i == self.crash_on:
                self.crash_on = None
                raise RuntimeError("killed between the write and the state's save")
            if i == self.lose_answer_on:
                self.lose_answer_on = None
                raise ServerError("502 (the answer was lost)", "PATCH", "/things", 3, 0.1, 502, None, "")
            return {"id": i}

        return Action(
            kind=kind,
            key=f"{kind}:{i}:{value}",
            target={"kind": "thing", "samsaraId": i, "fmcId": f"F{i}"},
            fields={"value": value},
            reason="test",
            apply=apply,
            verify=verify,
        )


@pytest.fixture
def rig() -> Rig:
    return Rig(sb=None, client=Client(token="unused-token", base_url="http://127.0.0.1:9", rate_limit=False))


def stream(domain: Domain, **kw: Any) -> tuple[Stream, PlanReport]:
    report = PlanReport()
    driver = ReconcileDriver(plan=domain.plan, report=report, **kw)
    return Stream(name="things", sink_stream="vehicle_links", fingerprint="f1", driver=driver), report


def runner(rig: Rig, domain: Domain, **kw: Any) -> Callable[[str], tuple[dict[str, Any], PlanReport]]:
    def go(correlation: str) -> tuple[dict[str, Any], PlanReport]:
        s, report = stream(domain, **kw)
        return rig.run([s], correlation=correlation), report

    return go


def test_a_plan_is_applied_once_and_a_second_run_plans_nothing(rig: Rig) -> None:
    d = Domain(have={"1": "a", "2": "x"}, want={"1": "a", "2": "b", "3": "c"})
    go = runner(rig, d)
    _, first = go("r1")
    assert first.actions == {"update": 2} and first.applied == 2
    assert sorted(d.writes) == ["2", "3"] and d.have == {"1": "a", "2": "b", "3": "c"}
    assert [r["id"] for r in rig.delivered("vehicle_links")] == ["1", "2", "3"]
    outcomes = {r["changeId"]: r["status"] for r in rig.delivered("write_outcomes")}
    assert outcomes == {"update:2:b": "applied", "update:3:c": "applied"}
    assert rig.state("things")["state"]["committed"] == 1

    _, second = go("r2")
    assert second.actions == {} and second.delivered == {}, "unchanged data plans nothing"
    assert sorted(d.writes) == ["2", "3"] and len(rig.delivered("vehicle_links")) == 3

    d.want["2"] = "z"  # one record changes: one write, one record delivered again
    _, third = go("r3")
    assert third.actions == {"update": 1} and third.delivered == {"vehicle_links": 1, "write_outcomes": 1}
    assert sorted(d.writes) == ["2", "2", "3"]


def test_a_crash_between_the_write_and_the_save_never_repeats_the_write(rig: Rig) -> None:
    d = Domain(have={}, want={"1": "a", "2": "b", "3": "c"}, crash_on="2")
    go = runner(rig, d)
    with pytest.raises(RuntimeError, match="killed"):
        go("r1")
    assert "update:2:b" in rig.state("things")["state"]["intents"], "the intent was saved before the write"
    _, retry = go("r1")  # the platform's retry of the same run
    assert sorted(d.writes) == ["1", "2", "3"], "each write applied once"
    assert retry.actions == {}, "the crashed write was applied: the fresh read does not plan it"
    assert rig.state("things")["state"]["intents"] == {}
    assert {r["changeId"] for r in rig.delivered("write_outcomes")} == {"update:1:a", "update:3:c"}


def test_an_intent_left_by_a_crash_is_read_back_when_the_read_still_plans_it(rig: Rig) -> None:
    """A list read that lags behind a write (eventual consistency) plans it again: the saved intent
    makes the driver read the object back before sending, so it is not written twice."""
    d = Domain(have={}, want={"1": "a", "2": "b"}, crash_on="2")
    go = runner(rig, d, chunk=1, parallel=1)
    with pytest.raises(RuntimeError, match="killed"):
        go("r1")
    lagging = d.plan

    def stale(ctx: StreamContext) -> Plan:
        held, d.have = d.have, {k: v for k, v in d.have.items() if k != "2"}  # the list lags
        try:
            return lagging(ctx)
        finally:
            d.have = held

    d.plan = stale  # type: ignore[method-assign]
    _, retry = go("r1")
    assert d.writes == ["1", "2"] and retry.already == 1 and retry.applied == 0
    outcome = {r["changeId"]: r for r in rig.delivered("write_outcomes")}["update:2:b"]
    assert outcome["status"] == "already" and "earlier attempt was applied" in outcome["reason"]


def test_a_lost_answer_is_read_back_not_sent_again(rig: Rig) -> None:
    d = Domain(have={}, want={"1": "a"}, lose_answer_on="1")
    _, report = runner(rig, d)("r1")
    assert d.writes == ["1"] and report.already == 1
    (outcome,) = rig.delivered("write_outcomes")
    assert outcome["status"] == "already" and "earlier attempt was applied" in outcome["reason"]


def test_a_refused_write_is_rejected_and_its_record_kept_back(rig: Rig) -> None:
    d = Domain(have={}, want={"1": "a", "2": "b"}, refuse="2")
    d_plan = d.plan

    def plan(ctx: StreamContext) -> Plan:
        p = d_plan(ctx)
        p.after = {"vehicle_links\x002": "update:2:b"}
        return p

    d.plan = plan  # type: ignore[method-assign]
    _, report = runner(rig, d)("r1")
    assert report.rejected == 1 and d.writes == ["1"]
    assert [r["id"] for r in rig.delivered("vehicle_links")] == ["1"], "no record for a write refused"
    outcome = {r["changeId"]: r for r in rig.delivered("write_outcomes")}["update:2:b"]
    assert outcome["status"] == "rejected" and outcome["samsaraResponse"]["status"] == 400


def test_the_brake_refuses_a_plan_over_the_share_before_any_write(rig: Rig) -> None:
    have = {str(i): "v" for i in range(10)}
    d = Domain(have=dict(have), want={str(i): "v" for i in range(7)} | {"new": "n"})
    s, _ = stream(d, brake=Brake(max_share=0.2, param="maxUnlinkPercent"))
    with pytest.raises(SafetyBrakeError) as e:
        rig.run([s])
    msg = str(e.value)
    assert "would unlink 3 of 10 (30%)" in msg and "`maxUnlinkPercent`" in msg and "dryRun" in msg
    assert d.writes == [] and d.have == have, "nothing written, not even the harmless update"
    assert rig.delivered("vehicle_links") == [] and rig.delivered("write_outcomes") == []
    assert isinstance(e.value, ConfigurationError), "not retried by the platform"

    s, report = stream(d, brake=Brake(max_share=0.3))
    rig.run([s], correlation="r2")
    assert report.actions == {"update": 1, "unlink": 3} and len(d.writes) == 4


def test_a_dry_run_delivers_the_plan_and_writes_nothing(rig: Rig) -> None:
    have = {str(i): "v" for i in range(4)}
    d = Domain(have=dict(have), want={"0": "v", "1": "w"})
    s, report = stream(d, dry_run=True, brake=Brake(max_share=0.1))
    rig.run([s])
    assert d.writes == [] and d.have == have
    plan = {r["id"]: r for r in rig.delivered("sync_plans")}
    assert {r["action"] for r in plan.values()} == {"update", "unlink", "deliver"}
    assert plan["things:update:1:w"]["fields"] == {"value": "w"}
    assert report.dry_run and report.actions == {"update": 1, "unlink": 2}
    assert report.details["brake"] == {"destructive": 2, "allowed": pytest.approx(0.4)}, "shown, not refused"
    assert rig.delivered("vehicle_links") == [] and rig.delivered("write_outcomes") == []
    assert (
        rig.storage.get(rig.states().key("things")) is None or "committed" not in rig.state("things")["state"]
    )


def test_ownership_defaults_overrides_and_errors() -> None:
    defaults = {"name": "fmc", "licensePlate": "fmc", "vin": "samsara", "gateway": "samsara"}
    o = Ownership.parse(None, defaults, fixed=("gateway",))
    assert o.owned_by("fmc") == ["name", "licensePlate"] and o.owner("gateway") == "samsara"
    o = Ownership.parse("licensePlate:samsara, vin:fmc", defaults, fixed=("gateway",))
    assert o.owned_by("fmc") == ["name", "vin"]
    for text, words in (
        ("colour:fmc", "`colour:fmc`"),
        ("name=fmc", "`field:owner`"),
        ("name:lessor", "`fmc` or `samsara`"),
        ("gateway:fmc", "always owned by `samsara`"),
    ):
        with pytest.raises(ConfigurationError, match="`ownership`") as e:
            Ownership.parse(text, defaults, fixed=("gateway",))
        assert words in str(e.value)
