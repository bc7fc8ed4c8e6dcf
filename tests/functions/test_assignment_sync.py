"""assignment-sync against the sandbox: every assignment window delivered with both sides' IDs, equal to a
fresh read, ongoing ones delivered again under the same id when they end (upserts, no duplicates);
and the FMC's ``assignment.created/changed/ended`` applied to Samsara exactly once each (the sandbox
counts the copies and the request log the writes) across a crash between the write and the state
write, the platform's retry, lost answers and a repeating feed; refusals are outcomes with nothing
written; bad parameters fail before any work."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from samsara_fmc.client import Client, RetryPolicy
from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.integrations import assignment_sync
from tests.engine.rig import sim_clock
from tests.functions.workflows_rig import (
    change_status,
    client,
    crash_after,
    event,
    runtime,
    sandbox_args,
    script,
    stored,
    writes,
)
from tests.support.sandbox import SandboxProcess

PATH = "/fleet/driver-vehicle-assignments"
STREAM = "driver_vehicle_assignments"


@pytest.fixture
def sb(sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    box = sandbox_factory(*sandbox_args())
    monkeypatch.setattr(assignment_sync, "now", sim_clock(box))
    return box


def link(sb: SandboxProcess, n: int) -> tuple[list[str], list[str]]:
    """Gives the first ``n`` vehicles and drivers the FMC's IDs (``fmcId``: ``V-i``, ``D-i``), as
    vehicle-sync and driver-sync would; their Samsara IDs."""
    api = client(sb)
    vehicles = [str(v["id"]) for v in api.records("/fleet/vehicles", params={"limit": 512})][:n]
    drivers = [str(d["id"]) for d in api.records("/fleet/drivers", params={"limit": 512})][:n]
    for i, (v, d) in enumerate(zip(vehicles, drivers, strict=True)):
        api.request("PATCH", f"/fleet/vehicles/{v}", json_body={"externalIds": {"fmcId": f"V-{i}"}})
        api.request("PATCH", f"/fleet/drivers/{d}", json_body={"externalIds": {"fmcId": f"D-{i}"}})
    return vehicles, drivers


def state(rt: Any, stream: str) -> dict[str, Any]:
    [key] = [k for k in rt.storage.objects if k.endswith(f"/{stream}.json") and k.startswith("state/")]
    return dict(json.loads(rt.storage.objects[key])["state"])


def truth(api: Client, start: str, end: str) -> dict[str, dict[str, Any]]:
    """Every assignment overlapping ``[start, end]``, read afresh: record id → record."""
    params = {"filterBy": "vehicles", "startTime": start, "endTime": end}
    out = {}
    for item in api.records(PATH, params=params):
        r = assignment_sync.to_record(item)
        out[r["id"]] = r
    return out


def sim_now(sb: SandboxProcess) -> dt.datetime:
    return parse_time(str(sb.get("/__sandbox/clock")["now"]))


def test_every_window_is_delivered_with_both_ids_and_again_under_its_id_when_it_ends(
    sb: SandboxProcess,
) -> None:
    vehicles, drivers = link(sb, 10)
    rt = runtime(sb, "assignment-sync")
    params = {"lookbackHours": "30", "settleMinutes": "0", "windowHours": "6"}
    out = rt.invoke(event(1, **params), None)
    assert out["ok"] and out["caughtUp"], out
    assert out["writeBack"]["ran"] is False and "`writeBack` is `false`" in out["writeBack"]["why"]
    st = state(rt, "assignments")
    first, mark = st["first"], st["mark"]
    api = client(sb)
    want = truth(api, first, mark)
    got = stored(sb, STREAM)
    assert len(want) > 30 and got == want
    ongoing = {k for k, r in got.items() if r["ongoing"]}
    assert ongoing and all(got[k]["endTime"] is None for k in ongoing)
    assert any(r["startTime"] < first for r in got.values()), "ongoing windows begun before the lookback"
    linked = [r for r in got.values() if r["vehicleId"] in vehicles and r["driverId"] in drivers]
    assert linked, "the linked vehicles and drivers had assignments"
    for r in linked:
        assert r["fmcVehicleId"] == f"V-{vehicles.index(r['vehicleId'])}"
        assert r["fmcDriverId"] == f"D-{drivers.index(r['driverId'])}"
    assert all(r["fmcVehicleId"] is None for r in got.values() if r["vehicleId"] not in vehicles)

    # Six hours later the ongoing windows have ended: each is delivered again under its id.
    sb.advance(6 * 3600)
    again = rt.invoke(event(2, **params), None)
    assert again["ok"] and again["caughtUp"], again
    mark2 = state(rt, "assignments")["mark"]
    want2 = truth(api, first, mark2)
    got2 = stored(sb, STREAM)
    assert got2 == want2
    ended = {k for k in ongoing if not got2[k]["ongoing"]}
    assert ended, "an ongoing window that ended was delivered again, with its end"
    assert all(parse_time(str(got2[k]["endTime"])) > parse_time(got2[k]["startTime"]) for k in ended)
    summary = sb.fmc_summary(STREAM)
    assert summary["duplicates"] == 0, "nothing delivered twice unchanged"
    assert summary["records"] == len(want2) and summary["updates"] >= len(ended)

    # The windows keep the digests of what every window returns: later runs deliver nothing unchanged.
    for n in range(3, 7):
        sb.advance(3 * 3600)
        rt.invoke(event(n, **params), None)
    assert sb.fmc_summary(STREAM)["duplicates"] == 0
    quiet = rt.invoke(event(7, **params), None)
    assert quiet["ok"] and quiet["records"] == 0, "a rerun with nothing new delivers nothing"
    assert stored(sb, STREAM) == truth(api, first, state(rt, "assignments")["mark"])


def test_fmc_assignment_changes_are_written_once_across_a_crash_lost_answers_and_refusals(
    sb: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    vehicles, drivers = link(sb, 6)
    now = sim_now(sb)
    t = {h: iso(now - dt.timedelta(hours=h)) for h in (1, 2, 3, 4)}
    lost = {"fmcVehicleId": "V-0", "fmcDriverId": "D-0", "startTime": t[2]}
    crash = {"vehicleId": vehicles[1], "driverId": drivers[1], "startTime": t[3], "endTime": t[1]}
    plain = {"fmcVehicleId": "V-2", "fmcDriverId": "D-2", "startTime": t[1], "isPassenger": True}
    changes = {
        "lost": script(sb, "assignment.created", lost),
        "crash": script(sb, "assignment.created", crash),
        "plain": script(sb, "assignment.created", plain),
        "end": script(sb, "assignment.ended", {**lost, "endTime": t[1]}),
        "change": script(sb, "assignment.changed", {**plain, "isPassenger": False}),
        "unknown": script(sb, "assignment.changed", {**plain, "startTime": t[4], "endTime": t[1]}),
        "unlinked": script(sb, "assignment.created", {**lost, "fmcVehicleId": "V-404"}),
        "badTime": script(sb, "assignment.created", {**lost, "startTime": "yesterday"}),
        "noDriver": script(sb, "assignment.created", {"vehicleId": vehicles[3], "startTime": t[1]}),
        "backwards": script(sb, "assignment.created", {**lost, "startTime": t[1], "endTime": t[2]}),
        "nothing": script(sb, "assignment.changed", lost),
    }
    rt = runtime(sb, "assignment-sync")
    # A first run that writes nothing: the preflight probes the scopes (a PATCH answered 400) once.
    assert rt.invoke(event(0, lookbackHours="2"), None)["ok"]
    sb.faults(
        {"method": "POST", "path": PATH, "kind": "fail_after_commit", "status": 502},
        {"method": "PATCH", "path": PATH, "kind": "reset"},
        {"path": "/fmc/v1/changes", "kind": "repeat_records", "times": 2},
    )
    request, crashed = crash_after(
        rt, "POST", PATH, lambda kw: kw.get("json_body", {}).get("startTime") == crash["startTime"]
    )
    monkeypatch.setattr(rt.client(), "request", request)
    since = len(sb.requests())
    go = {"lookbackHours": "2", "writeBack": "true"}
    with pytest.raises(RuntimeError, match="injected crash"):
        rt.invoke(event(1, **go), None)
    assert crashed
    out = rt.invoke(event(1, **go), None)  # the platform's retry of the same invocation
    assert out["ok"] and out["caughtUp"], out
    assert out["writeBack"] == {"ran": True, "why": None}
    assert sb.get("/__sandbox/faults")["rules"] == [], "both answers were lost and the feed repeated"

    # One write per applicable change: the lost answers (a 502 and a reset, logged as 200) and the
    # crash were read back, not sent again; the unknown assignment was refused (404).
    assert writes(sb, "POST", PATH, since) == [502, 200, 200]
    assert writes(sb, "PATCH", PATH, since) == [200, 200, 404]
    status = change_status(sb)
    for name in ("lost", "crash", "plain"):
        assert status[changes[name]]["copies"] == 1, name
    for name in ("end", "change"):
        assert status[changes[name]]["applied"] is True, name
    got = stored(sb, "write_outcomes")
    assert {n: got[cid]["status"] for n, cid in changes.items()} == {
        "lost": "already",
        "crash": "already",
        "plain": "applied",
        "end": "already",
        "change": "applied",
        "unknown": "rejected",
        "unlinked": "rejected",
        "badTime": "rejected",
        "noDriver": "rejected",
        "backwards": "rejected",
        "nothing": "rejected",
    }
    assert "earlier attempt was applied" in got[changes["crash"]]["reason"]
    lost_id = assignment_sync.assignment_id(vehicles[0], drivers[0], t[2])
    assert got[changes["lost"]]["target"] == {
        "kind": "driverVehicleAssignment",
        "id": lost_id,
        "externalIds": {"fmcVehicleId": "V-0", "fmcDriverId": "D-0"},
    }
    assert "`fmcId:V-404`" in got[changes["unlinked"]]["reason"]
    assert "vehicle-sync" in got[changes["unlinked"]]["reason"]
    assert "`yesterday`" in got[changes["badTime"]]["reason"]
    assert "`data.driverId`" in got[changes["noDriver"]]["reason"]
    assert "before `data.startTime`" in got[changes["backwards"]]["reason"]
    assert "changes nothing" in got[changes["nothing"]]["reason"]
    assert got[changes["unknown"]]["samsaraResponse"]["status"] == 404
    for name in ("badTime", "noDriver", "backwards", "nothing"):
        assert got[changes[name]]["samsaraResponse"] is None, f"{name}: refused before any request"
    assert got[changes["unlinked"]]["samsaraResponse"]["status"] == 404
    assert sb.fmc_summary("write_outcomes")["records"] == len(changes)

    # Samsara -> FMC: the FMC's assignments come back with both sides' IDs and the source name.
    rt.invoke(event(2, **go, settleMinutes="0"), None)
    records = stored(sb, STREAM)
    mine = records[lost_id]
    assert (mine["fmcVehicleId"], mine["fmcDriverId"]) == ("V-0", "D-0")
    assert mine["endTime"] == t[1] and mine["sourceName"] == "samsara-fmc"
    assert mine["assignmentType"] == "external"
    passenger = records[assignment_sync.assignment_id(vehicles[2], drivers[2], t[1])]
    assert passenger["isPassenger"] is False and passenger["ongoing"] is True

    before = len(sb.requests())
    assert rt.invoke(event(3, **go), None)["ok"]
    assert writes(sb, "POST", PATH, before) == writes(sb, "PATCH", PATH, before) == []


def test_an_fmc_change_samsara_already_shows_is_not_written(sb: SandboxProcess) -> None:
    vehicles, drivers = link(sb, 2)
    start = iso(sim_now(sb) - dt.timedelta(hours=1))
    api = client(sb)
    body = {"vehicleId": vehicles[0], "driverId": drivers[0], "startTime": start}
    api.request("POST", PATH, json_body=body)  # made in the dashboard (or by an earlier tool)
    created = script(
        sb, "assignment.created", {"fmcVehicleId": "V-0", "fmcDriverId": "D-0", "startTime": start}
    )
    reopened = script(sb, "assignment.changed", {**body, "endTime": None})
    rt = runtime(sb, "assignment-sync")
    assert rt.invoke(event(0, lookbackHours="2"), None)["ok"]  # the preflight's probes
    since = len(sb.requests())
    assert rt.invoke(event(1, lookbackHours="2", writeBack="true"), None)["ok"]
    assert writes(sb, "POST", PATH, since) == writes(sb, "PATCH", PATH, since) == []
    got = stored(sb, "write_outcomes")
    assert got[created]["status"] == got[reopened]["status"] == "already"
    assert "Samsara already had it" in got[created]["reason"]
    assert "is ongoing" in got[reopened]["reason"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"driverIdKey": "fmc id"}, "driverIdKey"),
        ({"vehicleIdKey": "x" * 33}, "vehicleIdKey"),
        ({"windowHours": "0"}, "windowHours"),
        ({"assignmentTypes": "HOS,bogus"}, "assignmentTypes"),
        ({"writeBack": "maybe"}, "writeBack"),
    ],
)
def test_bad_parameters_fail_before_any_work_naming_the_parameter(
    sb: SandboxProcess, params: dict[str, str], named: str
) -> None:
    rt = runtime(sb, "assignment-sync")
    since = len(sb.requests())
    out = rt.invoke(event(1, **params), None)
    assert out["ok"] is False and out["error"] == "ConfigurationError", out
    assert f"`{named}`" in out["message"]
    assert [r for r in sb.requests(since) if r["path"] == PATH] == [], "nothing read or written"
    assert sb.fmc_records(STREAM) == []


def test_write_back_needs_the_fmc_endpoint_and_says_so(sb: SandboxProcess) -> None:
    rt = runtime(sb, "assignment-sync", fmc=False)
    out = rt.invoke(event(1, lookbackHours="6", writeBack="true"), None)
    assert out["ok"] and out["records"] > 0
    assert out["writeBack"]["ran"] is False and "`FMC_URL`" in out["writeBack"]["why"]


def test_assignment_types_are_read_each_apart(sb: SandboxProcess) -> None:
    vehicles, drivers = link(sb, 1)
    start = iso(sim_now(sb) - dt.timedelta(hours=2))
    client(sb).request(
        "POST", PATH, json_body={"vehicleId": vehicles[0], "driverId": drivers[0], "startTime": start}
    )
    rt = runtime(sb, "assignment-sync")
    out = rt.invoke(event(1, lookbackHours="6", assignmentTypes="external"), None)
    assert out["ok"], out
    got = stored(sb, STREAM)
    assert [r["assignmentType"] for r in got.values()] == ["external"]
    assert next(iter(got.values()))["fmcVehicleId"] == "V-0"


def test_assignment_writes_are_paced_to_100_per_minute_by_the_client(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    """The client the Function writes with (rate limiting on, as in Functions) against a sandbox that
    enforces Samsara's limits: 60 creates back to back, the first 50 at once (the client's bucket holds
    half of Samsara's 100, so it never meets a server bucket drained by someone else's burst), then one
    per 0.6 s (100 a minute); Samsara refuses none (no 429)."""
    args = [a for a in sandbox_args() if a not in ("--rate-limits", "off")]
    sb = sandbox_factory(*args, "--rate-limits", "on")
    api = client(sb)
    vehicles = [str(v["id"]) for v in api.records("/fleet/vehicles", params={"limit": 512})][:12]
    drivers = [str(d["id"]) for d in api.records("/fleet/drivers", params={"limit": 512})][:5]
    base = sim_now(sb) - dt.timedelta(days=1)
    paced = Client(token=sb.token, base_url=sb.url, retry=RetryPolicy(max_attempts=1))
    since = len(sb.requests())
    sent = []
    for v in vehicles:
        for j, d in enumerate(drivers):
            start = iso(base + dt.timedelta(minutes=10 * j))
            paced.request("POST", PATH, json_body={"vehicleId": v, "driverId": d, "startTime": start})
            sent.append(time.monotonic())
    assert writes(sb, "POST", PATH, since) == [200] * 60, "none refused by Samsara's limit"
    assert sent[49] - sent[0] < 3, "the first 50 went at once"
    assert sent[59] - sent[49] >= 10 * 0.6 * 0.9, "then one per 0.6 s: 100 a minute"
