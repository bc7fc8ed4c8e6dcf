"""The ``periods`` driver against the sandbox's IFTA jurisdiction report: each period delivered once,
only the changed records of a period whose figures change delivered again (same ids), and a crash
between a delivery and its state write mended without a second copy, for a sink that replaces by key
and for one that upserts (the engine's outbox)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from samsara_fmc.client import ParamValue
from samsara_fmc.engine import PeriodsDriver, Stream
from samsara_fmc.engine._util import parse_time
from samsara_fmc.exceptions import ServerError
from samsara_fmc.sinks import Batch, DeliveryResult
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.state import StateStore
from tests.engine.rig import Rig, sim_clock
from tests.support.sandbox import SandboxProcess

ARGS = (
    *("--seed", "7", "--vehicles", "20", "--drivers", "20", "--days", "100"),
    *("--start", "2027-01-03T12:00:00Z", "--rate-limits", "off"),
)
MONTHS = {"2026-10": "October", "2026-11": "November", "2026-12": "December"}


class UpsertingSink(MemorySink):
    """A sink that upserts records (as the FMC endpoint does): the engine stages each delivery in
    its outbox first. Keeps every delivery call."""

    replaces_by_key = False

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, int]] = []

    def deliver(
        self, stream: str, key: str, batch: Batch, *, deadline: float | None = None
    ) -> DeliveryResult:
        self.log.append((key, len(batch)))
        return super().deliver(stream, key, batch, deadline=deadline)


def months(rig: Rig) -> Stream:
    def fetch(period: str, deadline: float) -> Sequence[Mapping[str, Any]]:
        params: dict[str, ParamValue] = {"year": 2026, "month": MONTHS[period]}
        data = rig.client.get("/fleet/reports/ifta/jurisdiction", params=params, deadline=deadline)["data"]
        return [
            {"id": f"{period}:{j['jurisdiction']}", "schemaVersion": 1, **j}
            for j in data["jurisdictionReports"]
        ]

    driver = PeriodsDriver(due=lambda now: list(MONTHS), fetch=fetch, clock=sim_clock(rig.sb))
    return Stream(name="months", sink_stream="ifta_jurisdictions", fingerprint="months-v1", driver=driver)


def versions(rig: Rig) -> Counter[str]:
    return Counter(f"{r['id']}|{r['taxPaidLiters']}" for r in rig.delivered("ifta_jurisdictions"))


def test_a_changed_period_delivers_only_its_changed_records_again(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    sb = sandbox_factory(*ARGS)
    rig = Rig.of(sb)
    stream = months(rig)
    first = rig.run([stream])
    assert first["caughtUp"] and first["records"] > 0
    assert rig.run([stream])["records"] == 0, "nothing changed, nothing delivered"
    late = sb.get("/__sandbox/truth/ifta?year=2026&month=November")["data"]["latePurchase"]
    now = parse_time(str(sb.get("/__sandbox/clock")["now"]))
    sb.advance((parse_time(late["knownFrom"]) - now).total_seconds() + 1)
    again = rig.run([stream])
    held = rig.delivered("ifta_jurisdictions")
    assert again["records"] == 1 and held[-1]["id"] == f"2026-11:{late['jurisdiction']}"
    assert held[-1]["taxPaidLiters"] > next(r for r in held if r["id"] == held[-1]["id"])["taxPaidLiters"]
    assert all(n == 1 for n in versions(rig).values()), "no version delivered twice"
    state = rig.state("months")["state"]["periods"]
    assert sorted(state) == sorted(MONTHS), "a fingerprint per period"


@pytest.mark.parametrize("upserting", [False, True])
def test_a_crash_before_the_state_write_leaves_no_second_copy(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch, upserting: bool
) -> None:
    sb = sandbox_factory(*ARGS)
    rig = Rig.of(sb)
    sink = UpsertingSink() if upserting else MemorySink()
    rig.sink = sink
    stream = months(rig)
    real_save = StateStore.save
    saves = {"n": 0}
    crash_at = 2 if upserting else 1  # the commit after the first period's delivery (after its outbox)

    def crashing_save(self: StateStore, st: Any) -> None:
        saves["n"] += 1
        if saves["n"] == crash_at:
            raise ServerError("killed", "PUT", "state", 1, 0.0, 503, None, "")
        real_save(self, st)

    monkeypatch.setattr(StateStore, "save", crashing_save)
    with pytest.raises(ServerError):
        rig.run([stream])
    monkeypatch.setattr(StateStore, "save", real_save)
    assert len(sink.deliveries) == 1, "the first period was delivered, its state not saved"
    out = rig.run([stream])  # the platform's retry
    assert out["caughtUp"]
    keys = [k.rsplit("/", 1)[1] for _, k in sink.deliveries]
    assert keys == ["00000000", "00000001", "00000002"], "one delivery per period, the first mended in place"
    assert all(n == 1 for n in versions(rig).values())
    if isinstance(sink, UpsertingSink):
        first_key = sink.log[0][0]
        assert [k for k, _ in sink.log].count(first_key) == 2, "the outbox re-sent the same delivery"
        assert len(sink.log) == 4, "and nothing else twice"


FUELS = ("Unspecified", "Diesel", "Gasoline")


def withdrawn(period: str, record_id: str) -> dict[str, Any]:
    return {"id": record_id, "schemaVersion": 1, "status": "withdrawn", "period": period}


def by_fuel(rig: Rig) -> Stream:
    """The months' jurisdiction reports per fuel type, withdrawing the lines that vanish."""

    def fetch(period: str, deadline: float) -> Sequence[Mapping[str, Any]]:
        out = []
        for fuel in FUELS:
            params: dict[str, ParamValue] = {"year": 2026, "month": MONTHS[period], "fuelType": fuel}
            data = rig.client.get("/fleet/reports/ifta/jurisdiction", params=params, deadline=deadline)[
                "data"
            ]
            out += [
                {"id": f"{period}:{fuel}:{j['jurisdiction']}", "status": "reported", **j}
                for j in data["jurisdictionReports"]
                if j["totalMeters"]
            ]
        return out

    driver = PeriodsDriver(
        due=lambda now: list(MONTHS), fetch=fetch, clock=sim_clock(rig.sb), withdraw=withdrawn
    )
    return Stream(name="by-fuel", sink_stream="ifta_jurisdictions", fingerprint="by-fuel-v1", driver=driver)


def test_a_line_gone_from_a_changed_period_is_withdrawn_once_under_its_id(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    sb = sandbox_factory(*ARGS)
    rig = Rig.of(sb)
    stream = by_fuel(rig)
    assert rig.run([stream])["caughtUp"]
    held = {r["id"]: r for r in rig.delivered("ifta_jurisdictions")}
    untyped_lines = {i for i in held if ":Unspecified:" in i}
    assert untyped_lines, "vehicles without a fuel type drove in the closed months"
    # The fleet manager gives every vehicle without a fuel type one: their lines leave every month.
    t = sb.get("/__sandbox/truth/ifta?year=2026&month=November")["data"]
    for v in t["vehiclesWithoutFuelType"]:
        sb.admin("POST", "/__sandbox/ifta/fuel-types", {"vehicleId": v, "fuelType": "Diesel"})
    out = rig.run([stream])
    assert out["caughtUp"]
    latest = {r["id"]: r for r in rig.delivered("ifta_jurisdictions")}
    gone = {i for i, r in latest.items() if r["status"] == "withdrawn"}
    assert gone == untyped_lines, "each vanished line withdrawn under its own id, nothing else"
    assert all(latest[i]["period"] == i.split(":")[0] for i in gone)
    again = rig.delivered("ifta_jurisdictions")[len(held) :]
    assert Counter(r["id"] for r in again if r["status"] == "withdrawn") == Counter(gone), "once each"
    assert any(r["status"] == "reported" and ":Diesel:" in r["id"] for r in again), "Diesel grew"
    assert rig.run([stream])["records"] == 0, "nothing changed since: nothing withdrawn again"


def test_withdrawals_come_back_and_a_state_without_ids_is_tracked_from_its_next_read(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    sb = sandbox_factory(*ARGS)
    rig = Rig.of(sb)
    figures: dict[str, list[dict[str, Any]]] = {
        "2026-10": [{"id": "2026-10:a", "v": 1}, {"id": "2026-10:b", "v": 1}],
        "2026-11": [{"id": "2026-11:a", "v": 1}],
    }

    def stream() -> Stream:
        driver = PeriodsDriver(
            due=lambda now: sorted(figures),
            fetch=lambda p, d: [dict(r) for r in figures[p]],
            clock=sim_clock(sb),
            withdraw=withdrawn,
        )
        return Stream(name="fake", sink_stream="fake", fingerprint="fake-v1", driver=driver)

    def ids() -> list[tuple[str, str]]:
        return [(r["id"], str(r.get("status", r.get("v")))) for r in rig.delivered("fake")]

    # A state written before withdrawals existed: fingerprints, no ids.
    assert rig.run([stream()])["records"] == 3
    st = rig.states()
    saved = st.load("fake", fingerprint="fake-v1")
    del saved.state["ids"]
    st.save(saved)
    assert rig.run([stream()])["records"] == 0, "the ids are recorded, nothing delivered"
    assert sorted(rig.state("fake")["state"]["ids"]) == ["2026-10", "2026-11"]
    figures["2026-10"] = [{"id": "2026-10:a", "v": 1}]
    assert rig.run([stream()])["records"] == 1
    assert ids()[-1] == ("2026-10:b", "withdrawn")
    figures["2026-10"] = [{"id": "2026-10:a", "v": 1}, {"id": "2026-10:b", "v": 1}]
    assert rig.run([stream()])["records"] == 1, "back: delivered again like a new record"
    assert ids()[-1] == ("2026-10:b", "1")
    assert rig.run([stream()])["records"] == 0
