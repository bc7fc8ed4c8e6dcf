"""driver-sync against the sandbox: both sides linked against the sandbox's truth (no namesake linked to
another person's driver), unmatched FMC drivers created once each, a second run that plans nothing,
``driver.updated`` applied once to the fields the FMC owns, the FMC's terminations deactivating under
the safety brake, drivers created in the Samsara dashboard reaching the FMC, a create applied once
under a crash between the write and the state's save, a lost answer and the platform's retry, a 400
for an external ID already in use adopting the driver, a dry run writing nothing, and no password
anywhere the FMC or the logs can see."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc import records
from samsara_fmc.client import Client, RetryPolicy
from samsara_fmc.exceptions import BadRequestError
from samsara_fmc.integrations import driver_sync
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.storage import MemoryStorage
from tests.support.sandbox import DEFAULT_ARGS, TOKEN, SandboxProcess
from tests.test_runtime import FakeSecrets

pytestmark = pytest.mark.sandbox

MANIFEST = Manifest.load(Path(__file__).resolve().parents[2] / "functions/driver-sync/function.json")
FMC_TOKEN = "fmc-sync-token"
PROBE = "/fleet/drivers/0"
EVENT = {"SamsaraFunctionCorrelationId": "corr-1", "SamsaraFunctionTriggerSource": "manual"}


@pytest.fixture
def sb(sandbox_factory: Callable[..., SandboxProcess]) -> SandboxProcess:
    return sandbox_factory(*DEFAULT_ARGS, "--fmc-token", FMC_TOKEN)


def runtime(
    sb: SandboxProcess, *, token: str = TOKEN, fmc: bool = True, storage: MemoryStorage | None = None
) -> FunctionRuntime:
    secrets = {"SAMSARA_API_TOKEN": token, "SAMSARA_BASE_URL": sb.url}
    if fmc:
        secrets |= {"FMC_URL": sb.url, "FMC_TOKEN": FMC_TOKEN}
    return FunctionRuntime(
        MANIFEST,
        storage=storage or MemoryStorage(),
        secret_source=FakeSecrets(secrets),
        sink=None if fmc else MemorySink(),
        client_options={
            "retry": RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.1),
            "rate_limit": False,
        },
    )


def run(rt: FunctionRuntime, corr: str, **params: str) -> dict[str, Any]:
    return rt.invoke({**EVENT, "SamsaraFunctionCorrelationId": corr, **params}, None)


def drivers(sb: SandboxProcess) -> dict[str, dict[str, Any]]:
    """Every Samsara driver, active and deactivated."""
    c = Client(token=sb.token, base_url=sb.url, rate_limit=False)
    out = {str(d["id"]): dict(d) for d in c.records("/fleet/drivers")}
    deactivated = c.records("/fleet/drivers", params={"driverActivationStatus": "deactivated"})
    return out | {str(d["id"]): dict(d) for d in deactivated}


def stored(sb: SandboxProcess, stream: str) -> dict[str, dict[str, Any]]:
    """What the FMC endpoint holds for ``stream``, by record id, each valid against its schema."""
    schema = records.schema(stream)
    assert schema is not None
    out = {}
    for row in sb.fmc_records(stream):
        assert records.validate(schema, row["record"]) == [], row["record"]
        out[str(row["id"])] = dict(row["record"])
    return out


def writes(sb: SandboxProcess, since: int = 0) -> dict[str, list[int]]:
    """Driver writes (``POST /fleet/drivers``, ``PATCH /fleet/drivers/{id}``) as ``"METHOD path"`` →
    statuses, less the preflight's probe of `Write Drivers`."""
    out: dict[str, list[int]] = {}
    for r in sb.requests(since):
        path = str(r["path"])
        if r["method"] in ("POST", "PATCH") and path.startswith("/fleet/drivers") and path != PROBE:
            out.setdefault(f"{r['method']} {path}", []).append(int(r["status"]))
    return out


def posts(sb: SandboxProcess, since: int = 0) -> list[int]:
    return writes(sb, since).get("POST /fleet/drivers", [])


def truth(sb: SandboxProcess) -> tuple[dict[str, str], set[str]]:
    """FMC id → Samsara id of the true pairs, and the FMC ids with no Samsara driver (namesakes, new
    hires, …) that the sync should create."""
    pairs = sb.get("/__sandbox/truth/drivers")["data"]["pairs"]
    true = {str(p["fmcId"]): str(p["samsaraId"]) for p in pairs if p["expect"] == "link"}
    return true, {str(p["fmcId"]) for p in pairs if p["expect"] != "link"}


def by_fmc(sb: SandboxProcess) -> dict[str, str]:
    """FMC id → the Samsara driver carrying it."""
    return {d["externalIds"]["fmcId"]: sid for sid, d in drivers(sb).items() if "fmcId" in d["externalIds"]}


def roster(sb: SandboxProcess) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): r for r in sb.get("/fmc/v1/drivers")["data"]}


def script(sb: SandboxProcess, kind: str, data: dict[str, Any]) -> str:
    sb.advance(1)
    return str(sb.admin("POST", "/__sandbox/fmc/changes", {"type": kind, "data": data})["id"])


def applied(sb: SandboxProcess) -> dict[str, bool]:
    return {c["id"]: c["applied"] for c in sb.get("/__sandbox/fmc/changes")["data"]}


def test_links_and_creates_converge_on_both_sides_and_a_second_run_plans_nothing(sb: SandboxProcess) -> None:
    before = drivers(sb)
    rt = runtime(sb)
    out = run(rt, "corr-1")
    assert out["ok"] and out["caughtUp"], out
    true, fmc_only = truth(sb)
    now, linked = drivers(sb), by_fmc(sb)
    reports = stored(sb, "sync_reports")
    reviewed = {r["recordId"] for r in reports.values() if r["status"] == "review"}

    # Every true pair is linked (or both its records wait in review); no FMC driver is linked to
    # another person's driver: an FMC id on a driver that existed before is a true pair's.
    active = {f for f, r in roster(sb).items() if r["status"] == "active"}
    missed = {f for f, s in true.items() if linked.get(f) != s and f not in reviewed and s not in reviewed}
    assert not missed, f"true pairs neither linked nor in review: {missed}"
    wrong = {f: s for f, s in linked.items() if s in before and true.get(f) != s}
    assert not wrong, f"false links: {wrong}"
    assert len([f for f in true if linked.get(f) == true[f]]) >= 0.9 * len(true)

    # The FMC drivers nothing matches are created, once each: new hires, namesakes (another person).
    made = {f: s for f, s in linked.items() if s not in before}
    assert set(made) == (fmc_only & active) - reviewed
    hires = [f for f in fmc_only if f.startswith("FMC-D9")]
    assert hires and all(f in made for f in hires), "the feed's new hires are in Samsara"
    assert posts(sb) == [200] * len(made), "one POST per created driver"
    assert len(now) == len(before) + len(made)
    for fid, sid in made.items():
        rec = roster(sb)[fid]
        assert now[sid]["name"] == rec["name"] and now[sid]["externalIds"] == {"fmcId": fid}
        assert now[sid]["username"] == driver_sync.username_for(rec)
    created_changes = [c for c in sb.get("/__sandbox/fmc/changes")["data"] if c["type"] == "driver.created"]
    assert created_changes and all(c["applied"] for c in created_changes)

    # Only the key this sync owns was written: the payroll ids and the rest are still there.
    for fid, sid in linked.items():
        if sid in before:
            assert now[sid]["externalIds"] == {**before[sid]["externalIds"], "fmcId": fid}

    # The FMC holds every Samsara driver, by Samsara id, with both ids once linked.
    links = stored(sb, "driver_links")
    assert set(links) == set(now)
    assert {r["fmcId"]: s for s, r in links.items() if r["status"] == "linked"} == linked
    only = {s for s, r in links.items() if r["status"] == "samsaraOnly"}
    assert only == set(now) - set(linked.values())
    assert all(links[s]["method"] == "created" for s in made.values())
    # The roster's leavers (the feed's terminations) were matched too, so no namesake took their
    # driver; their drivers are linked and deactivated.
    left = {f for f in linked if roster(sb)[f]["status"] == "terminated"}
    terminations = [c for c in sb.get("/__sandbox/fmc/changes")["data"] if c["type"] == "driver.deactivated"]
    assert (
        left
        and {c["data"]["fmcId"] for c in terminations} == left
        and all(c["applied"] for c in terminations)
    )
    assert all(now[linked[f]]["driverActivationStatus"] == "deactivated" for f in left)
    assert all(links[linked[f]]["driverActivationStatus"] == "deactivated" for f in left)
    fresh = sum(1 for f in left if before[linked[f]]["driverActivationStatus"] == "active")
    expected = {"link": len(linked) - len(made), "create": len(made), "deactivate": fresh}
    assert out["sync"]["planned"] == {k: v for k, v in expected.items() if v}

    # No password anywhere the FMC sees (plans, outcomes, links) or in the run's summary.
    for stream in ("driver_links", "write_outcomes", "sync_reports"):
        assert all("password" not in str(r).lower() for r in stored(sb, stream).values()), stream
    assert "password" not in str(out).lower()

    seen = len(sb.requests())
    second = run(rt, "corr-2")
    assert second["ok"] and second["sync"]["planned"] == {} and second["sync"]["delivered"] == {}, second
    assert writes(sb, seen) == {} and second["sync"]["rematched"] is False


def test_driver_updated_reaches_samsara_once_and_the_username_stays_samsaras(sb: SandboxProcess) -> None:
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    fid, sid = sorted(by_fmc(sb).items())[0]
    username = drivers(sb)[sid]["username"]
    change = script(
        sb,
        "driver.updated",
        {"fmcId": fid, "name": "Robin Q. Newname", "phone": "(214) 555-0100", "username": "someone.else"},
    )
    seen = len(sb.requests())
    out = run(rt, "corr-2")
    assert out["ok"] and out["sync"]["planned"] == {"update": 1}, out
    d = drivers(sb)[sid]
    assert (d["name"], d["phone"], d["username"]) == ("Robin Q. Newname", "(214) 555-0100", username)
    assert writes(sb, seen) == {f"PATCH /fleet/drivers/{sid}": [200]}
    assert applied(sb)[change]
    link = stored(sb, "driver_links")[sid]
    assert (link["name"], link["phone"], link["fmcId"]) == ("Robin Q. Newname", "(214) 555-0100", fid)
    outcome = stored(sb, "write_outcomes")[f"change:{change}"]
    assert outcome["status"] == "applied" and outcome["type"] == "driver.update"

    # Owned by Samsara when configured so: the same kind of change is not written.
    script(sb, "driver.updated", {"fmcId": fid, "phone": "(214) 555-0199"})
    seen = len(sb.requests())
    out = run(rt, "corr-3", ownership="phone:samsara")
    assert out["ok"] and out["sync"]["planned"] == {} and writes(sb, seen) == {}
    assert run(rt, "corr-4")["sync"]["planned"] == {}, "the change was consumed; nothing again"


def test_terminations_deactivate_under_the_brake_and_a_rehire_is_reactivated(sb: SandboxProcess) -> None:
    rt = runtime(sb)
    dry = run(rt, "corr-0", dryRun="true")
    assert dry["ok"] and dry["sync"]["dryRun"] and dry["sync"]["planned"]["create"] >= 1, dry
    assert writes(sb) == {} and not sb.fmc_records("driver_links") and not sb.fmc_records("sync_reports")
    plan = stored(sb, "sync_plans")
    assert sum(1 for r in plan.values() if r["action"] == "create") == dry["sync"]["planned"]["create"]
    assert all("password" not in r["fields"] for r in plan.values())

    first = run(rt, "corr-1")
    assert first["ok"] and first["sync"]["applied"] == sum(dry["sync"]["planned"].values()), (
        "the dry run saved nothing"
    )
    linked = sorted(by_fmc(sb).items())
    status = {sid: d["driverActivationStatus"] for sid, d in drivers(sb).items()}
    gone = [(f, s) for f, s in linked if status[s] == "active"][: len(linked) * 3 // 10]
    changes = [script(sb, "driver.deactivated", {"fmcId": fid}) for fid, _ in gone]
    already = sum(1 for s in status.values() if s == "deactivated")
    seen = len(sb.requests())
    refused = run(rt, "corr-2")
    assert refused["ok"] is False and "safety brake" in refused["message"], refused
    assert f"deactivate {len(gone)} of {len(linked)}" in refused["message"]
    assert "`maxDeactivatePercent`" in refused["message"]
    assert writes(sb, seen) == {}, "nothing written"

    dry = run(rt, "corr-3", dryRun="true")
    assert dry["ok"] and dry["sync"]["planned"] == {"deactivate": len(gone)} and dry["sync"]["brake"]
    assert writes(sb, seen) == {}

    out = run(rt, "corr-4", maxDeactivatePercent="50")
    assert out["ok"] and out["sync"]["applied"] == len(gone), out
    now = drivers(sb)
    assert all(now[sid]["driverActivationStatus"] == "deactivated" for _, sid in gone)
    assert sum(1 for d in now.values() if d["driverActivationStatus"] == "deactivated") == len(gone) + already
    assert all(applied(sb)[c] for c in changes)
    links = stored(sb, "driver_links")
    assert all(links[sid]["driverActivationStatus"] == "deactivated" for _, sid in gone)
    assert run(rt, "corr-5")["sync"]["planned"] == {}

    # Rehired: the FMC lists one active again; the driver the sync deactivated is reactivated, once.
    fid, sid = gone[0]
    script(sb, "driver.updated", {"fmcId": fid, "status": "active"})
    seen = len(sb.requests())
    out = run(rt, "corr-6")
    assert out["ok"] and out["sync"]["planned"] == {"update": 1}, out
    assert drivers(sb)[sid]["driverActivationStatus"] == "active"
    assert writes(sb, seen) == {f"PATCH /fleet/drivers/{sid}": [200]}
    assert run(rt, "corr-7")["sync"]["planned"] == {}


def test_a_create_is_applied_once_under_a_crash_a_lost_answer_and_the_platforms_retry(
    sb: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = drivers(sb)
    rt = runtime(sb)
    sb.faults(
        # The first create's answer is lost after Samsara stored the driver; a driver read fails once.
        {"method": "POST", "path": "/fleet/drivers", "kind": "fail_after_commit", "status": 502, "times": 1},
        {"method": "GET", "path": "/fleet/drivers/{id}", "kind": "status", "status": 503, "times": 1},
        {"path": "/fmc/v1/changes", "kind": "repeat_records", "times": 2},
    )
    api = rt.client()
    real = api.request
    crashed: list[str] = []

    def request(method: str, path: str, **kw: Any) -> Any:
        answer = real(method, path, **kw)  # type: ignore[arg-type]
        if method == "POST" and path == "/fleet/drivers" and len(posts(sb)) == 3 and not crashed:
            crashed.append(path)
            raise RuntimeError("injected crash between the create and the state's save")
        return answer

    monkeypatch.setattr(api, "request", request)
    with pytest.raises(RuntimeError, match="injected crash"):
        rt.invoke(EVENT, None)
    out = rt.invoke(EVENT, None)  # the platform's retry of the same invocation
    assert out["ok"], out
    now, linked = drivers(sb), by_fmc(sb)
    made = {f: s for f, s in linked.items() if s not in before}
    statuses = posts(sb)
    assert statuses.count(502) == 1 and statuses.count(200) == len(made) - 1, statuses
    assert len(statuses) == len(made), "one POST per created driver: none sent twice"
    assert len(now) == len(before) + len(made), "no second driver"
    names = [(d["name"], d.get("licenseNumber")) for s, d in now.items() if s in made.values()]
    assert len(names) == len(set(names))
    outcomes = stored(sb, "write_outcomes")
    assert {r["status"] for r in outcomes.values()} <= {"applied", "already"}
    assert sum(1 for r in outcomes.values() if r["status"] == "already") >= 1, "the lost answer read back"
    links = stored(sb, "driver_links")
    assert {r["fmcId"]: s for s, r in links.items() if r["status"] == "linked"} == linked
    seen = len(sb.requests())
    again = run(rt, "corr-2")
    assert again["ok"] and again["sync"]["planned"] == {} and writes(sb, seen) == {}


def test_a_400_for_an_external_id_in_use_adopts_the_driver(sb: SandboxProcess) -> None:
    """The create itself, sent twice (as a run that lost its state would): the second POST is refused
    (400) and the driver carrying the id is adopted; the sandbox refuses a second driver with the id."""
    client = Client(token=sb.token, base_url=sb.url, rate_limit=False)
    rec = {"id": "FMC-D77001", "name": "Dana Whitfield", "licenseNumber": "D7700123", "licenseState": "TX"}
    made: dict[str, dict[str, Any]] = {}
    action = driver_sync._create(client, "fmcId", rec, made)
    deadline = time.time() + 60
    assert action.verify(deadline) is None
    action.apply(deadline)
    first = made["FMC-D77001"]["id"]
    made.clear()
    action.apply(deadline)
    assert made["FMC-D77001"]["id"] == first, "adopted"
    assert posts(sb) == [200, 400]
    assert by_fmc(sb)["FMC-D77001"] == first
    assert sum(1 for d in drivers(sb).values() if d["name"] == "Dana Whitfield") == 1
    # The sandbox answers a duplicate external ID with a 400 naming it (another username, same id).
    body = {
        "name": "X",
        "username": "other-user",
        "password": "pw-123456",
        "externalIds": {"fmcId": "FMC-D77001"},
    }
    with pytest.raises(BadRequestError, match="fmcId:FMC-D77001"):
        client.request("POST", "/fleet/drivers", json_body=body)


def test_drivers_created_in_the_dashboard_reach_the_fmc_and_a_new_hire_there_is_matched_not_created(
    sb: SandboxProcess,
) -> None:
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    client = Client(token=sb.token, base_url=sb.url, rate_limit=False)
    # Between runs, an administrator adds a driver in Samsara the FMC does not know …
    extra = client.request(
        "POST",
        "/fleet/drivers",
        json_body={
            "name": "Morgan Ashby",
            "username": "mashby",
            "password": "dash-pw-1",
            "phone": "5551230000",
        },
    )["data"]
    # … and the FMC hires someone the administrator also added in Samsara (same person, same licence).
    hire = {
        "fmcId": "FMC-D88001",
        "name": "PRESCOTT, JORDAN",
        "licenseNumber": "P 8800 1234",
        "licenseState": "TX",
        "employeeId": "E88001",
    }
    script(sb, "driver.created", hire)
    same = client.request(
        "POST",
        "/fleet/drivers",
        json_body={
            "name": "Jordan Prescott",
            "username": "jprescott",
            "password": "dash-pw-2",
            "licenseNumber": "P88001234",
            "licenseState": "TX",
        },
    )["data"]
    seen = len(sb.requests())
    out = run(rt, "corr-2")
    assert out["ok"] and out["sync"]["planned"] == {"link": 1}, out
    assert writes(sb, seen) == {f"PATCH /fleet/drivers/{same['id']}": [200]}, "matched, not created"
    links = stored(sb, "driver_links")
    assert links[str(same["id"])]["fmcId"] == "FMC-D88001" and links[str(same["id"])]["status"] == "linked"
    only = links[str(extra["id"])]
    assert only["status"] == "samsaraOnly" and only["fmcId"] is None and only["username"] == "mashby"
    assert run(rt, "corr-3")["sync"]["planned"] == {}


def test_bad_parameters_and_a_missing_fmc_endpoint_are_named_and_nothing_is_requested(
    sb: SandboxProcess,
) -> None:
    rt = runtime(sb)
    for params, words in (
        ({"externalIdKey": "fmc id"}, "`externalIdKey`"),
        ({"externalIdKey": "samsaraId"}, "`externalIdKey` is `samsaraId`"),
        ({"ownership": "username:fmc"}, "always owned by `samsara`"),
        ({"ownership": "colour:fmc"}, "`ownership`"),
        ({"deactivateWhen": "sometimes"}, "`deactivateWhen`"),
        ({"maxDeactivatePercent": "101"}, "`maxDeactivatePercent` is `101`"),
        ({"dryRun": "perhaps"}, "`dryRun` is `perhaps`"),
    ):
        out = run(rt, "corr-1", **params)
        assert out["ok"] is False and words in out["message"], (params, out)
    listed = [r for r in sb.requests() if r["path"] == "/fleet/drivers" and "limit=512" in str(r["query"])]
    assert writes(sb) == {} and not listed, "the drivers were not read"
    out = run(runtime(sb, fmc=False), "corr-2")
    assert out["ok"] is False and "`FMC_URL`" in out["message"], out
    assert writes(sb) == {}


@pytest.mark.slow
def test_the_zip_under_samsara_fn_links_creates_updates_and_then_plans_nothing(tmp_path: Path) -> None:
    """The demo's scenario: the bundled zip under samsara-fn (Python 3.12, its own lib/), a dry run,
    the run that links and creates, an FMC change and a termination, a quiet run; nothing lost or
    written twice."""
    from scripts import demo

    zip_path = Path(__file__).resolve().parents[2] / "dist" / "driver-sync.zip"
    assert zip_path.exists(), f"{zip_path} is missing: run `make bundle` (make test does)"
    box = demo.Sandbox.start(vehicles=25)
    try:
        report = demo.driver_sync(tmp_path / "fn", box, zip_path)
    finally:
        box.stop()
        if box.process.stdout is not None:
            box.process.stdout.close()
    assert report.runs == 4 and report.delivered >= 25
    assert report.lost == 0 and report.duplicated == 0


def test_a_near_miss_waits_in_review_uncreated_until_the_fmc_names_the_driver(sb: SandboxProcess) -> None:
    """A new hire who looks like a Samsara driver the FMC lacked (same name and phone, a licence from
    another state): not linked, not created (it may be the same person), both records in review; the
    FMC settles it by naming the Samsara driver, and the next run links them and resolves the reports."""
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    sid = str(sb.get("/__sandbox/truth/drivers")["data"]["samsaraOnly"][0])
    s = drivers(sb)[sid]
    hire = {"fmcId": "FMC-D66001", "name": s["name"], "licenseNumber": "Z9999999", "licenseState": "NM"}
    script(sb, "driver.created", {**hire, "phone": s["phone"]})
    seen = len(sb.requests())
    out = run(rt, "corr-2")
    assert out["ok"] and out["sync"]["planned"] == {} and out["sync"]["reports"] == {"review": 2}, out
    assert writes(sb, seen) == {}, "neither linked nor created"
    reports = stored(sb, "sync_reports")
    fmc_side, samsara_side = reports["drivers:fmc:FMC-D66001"], reports[f"drivers:samsara:{sid}"]
    assert fmc_side["status"] == samsara_side["status"] == "review"
    assert (
        fmc_side["candidates"][0]["samsaraId"] == sid
        and "license_reissued" in fmc_side["candidates"][0]["reasons"]
    )
    assert run(rt, "corr-3")["sync"]["planned"] == {}, "still waiting: nothing planned again"

    script(sb, "driver.updated", {"fmcId": "FMC-D66001", "samsaraId": sid})
    seen = len(sb.requests())
    out = run(rt, "corr-4")
    assert out["ok"] and out["sync"]["planned"] == {"link": 1}, out
    assert writes(sb, seen) == {f"PATCH /fleet/drivers/{sid}": [200]}
    assert by_fmc(sb)["FMC-D66001"] == sid
    link = stored(sb, "driver_links")[sid]
    assert (link["status"], link["fmcId"], link["method"]) == ("linked", "FMC-D66001", "fmc")
    reports = stored(sb, "sync_reports")
    assert (
        reports["drivers:fmc:FMC-D66001"]["status"]
        == reports[f"drivers:samsara:{sid}"]["status"]
        == "resolved"
    )
    assert run(rt, "corr-5")["sync"]["planned"] == {}


def test_a_driver_whose_fmc_id_left_the_roster_is_deactivated_only_by_the_missing_rule(
    sb: SandboxProcess,
) -> None:
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    client = Client(token=sb.token, base_url=sb.url, rate_limit=False)
    sid = next(
        s for s, d in drivers(sb).items() if not d["externalIds"] and d["driverActivationStatus"] == "active"
    )
    # Someone wrote an FMC id the roster does not have (a leaver deleted from the FMC).
    client.request("PATCH", f"/fleet/drivers/{sid}", json_body={"externalIds": {"fmcId": "FMC-D55555"}})
    seen = len(sb.requests())
    out = run(rt, "corr-2")
    assert out["ok"] and out["sync"]["planned"] == {} and writes(sb, seen) == {}, out
    link = stored(sb, "driver_links")[sid]
    assert (link["status"], link["fmcId"]) == ("unlisted", "FMC-D55555")
    assert drivers(sb)[sid]["driverActivationStatus"] == "active", "`terminated` leaves it alone"
    out = run(rt, "corr-3", deactivateWhen="missing")
    assert out["ok"] and out["sync"]["planned"] == {"deactivate": 1}, out
    assert writes(sb, seen) == {f"PATCH /fleet/drivers/{sid}": [200]}
    assert drivers(sb)[sid]["driverActivationStatus"] == "deactivated"
    assert stored(sb, "driver_links")[sid]["driverActivationStatus"] == "deactivated"
    assert run(rt, "corr-4", deactivateWhen="missing")["sync"]["planned"] == {}


def test_roster_records_that_cannot_become_drivers_are_reported_not_sent(sb: SandboxProcess) -> None:
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    script(sb, "driver.created", {"fmcId": "FMC-D44001", "licenseNumber": "Q4400100", "licenseState": "TX"})
    script(sb, "driver.created", {"fmcId": "FMC D44002", "name": "Avery Stone", "licenseState": "TX"})
    seen = len(sb.requests())
    out = run(rt, "corr-2")
    assert out["ok"] and out["sync"]["planned"] == {} and out["sync"]["reports"] == {"invalid": 2}, out
    assert writes(sb, seen) == {}
    reports = stored(sb, "sync_reports")
    assert "has no `name`" in reports["drivers:fmc:FMC-D44001"]["reason"]
    assert "contains ` `" in reports["drivers:fmc:FMC D44002"]["reason"]


def test_an_fmc_driver_nothing_matches_but_sharing_a_name_and_phone_waits_in_review_not_created(
    sb: SandboxProcess,
) -> None:
    """The matching leaves this pair unmatched (the licences are wholly different numbers in the same
    state, as after a replacement the other system never heard of): a create would make a second
    driver for one person, so the record waits in review with the Samsara driver that has its name
    and phone."""
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    client = Client(token=sb.token, base_url=sb.url, rate_limit=False)
    person = {"name": "Robert Miller", "licenseState": "OH", "phone": "(493) 555-3984"}
    body = {**person, "licenseNumber": "RT310577", "username": "rmiller77", "password": "dash-pw-3"}
    sid = str(client.request("POST", "/fleet/drivers", json_body=body)["data"]["id"])
    script(sb, "driver.created", {**person, "fmcId": "FMC-D33001", "licenseNumber": "WY948723"})
    seen = len(sb.requests())
    out = run(rt, "corr-2")
    assert out["ok"] and out["sync"]["planned"] == {} and out["sync"]["reports"] == {"review": 2}, out
    assert writes(sb, seen) == {}, "not created"
    report = stored(sb, "sync_reports")["drivers:fmc:FMC-D33001"]
    assert report["status"] == "review" and report["candidates"][0]["samsaraId"] == sid
    assert "second driver" in report["reason"]
    assert run(rt, "corr-3")["sync"]["planned"] == {}


def test_a_change_applied_by_a_crashed_run_still_gets_its_outcome(
    sb: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The harness found it: a run killed right after the PATCH of a `driver.updated` change left the
    change without an outcome (the retry found nothing to write for it)."""
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    fid, sid = sorted(by_fmc(sb).items())[0]
    change = script(sb, "driver.updated", {"fmcId": fid, "phone": "(214) 555-0142"})
    api = rt.client()
    real = api.request
    crashed: list[str] = []

    def request(method: str, path: str, **kw: Any) -> Any:
        answer = real(method, path, **kw)  # type: ignore[arg-type]
        if method == "PATCH" and path.endswith(f"/{sid}") and not crashed:
            crashed.append(path)
            raise RuntimeError("injected crash between the update and its outcome")
        return answer

    monkeypatch.setattr(api, "request", request)
    seen = len(sb.requests())
    with pytest.raises(RuntimeError, match="injected crash"):
        run(rt, "corr-2")
    assert drivers(sb)[sid]["phone"] == "(214) 555-0142", "the update was applied"
    out = run(rt, "corr-2")  # the platform's retry
    assert out["ok"] and out["sync"]["planned"] == {}, out
    outcome = stored(sb, "write_outcomes")[f"change:{change}"]
    assert outcome["status"] == "already" and "`phone`" in outcome["reason"], outcome
    assert writes(sb, seen) == {f"PATCH /fleet/drivers/{sid}": [200]}, "updated once"
    again = run(rt, "corr-3")
    assert again["sync"]["planned"] == {} and again["sync"]["delivered"] == {}, again
