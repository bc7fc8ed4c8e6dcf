"""vehicle-sync against the sandbox: links on both sides against the sandbox's truth (no trap linked), a
second run that plans nothing, the FMC's ``vehicle.updated`` changes applied to the fields it owns,
each write applied once under faults, a crash and the platform's retry (the request log), the safety
brake refusing before any write, a dry run writing nothing, and bad parameters and a missing scope
refused before any work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc import records
from samsara_fmc.client import Client, RetryPolicy
from samsara_fmc.exceptions import SamsaraFmcError
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.storage import MemoryStorage
from tests.support.sandbox import DEFAULT_ARGS, TOKEN, SandboxProcess
from tests.test_runtime import FakeSecrets

pytestmark = pytest.mark.sandbox

MANIFEST = Manifest.load(Path(__file__).resolve().parents[2] / "functions/vehicle-sync/function.json")
FMC_TOKEN = "fmc-sync-token"
PROBE = "/fleet/vehicles/0"
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


def vehicles(sb: SandboxProcess) -> dict[str, dict[str, Any]]:
    c = Client(token=sb.token, base_url=sb.url, rate_limit=False)
    return {str(v["id"]): dict(v) for v in c.records("/fleet/vehicles")}


def stored(sb: SandboxProcess, stream: str) -> dict[str, dict[str, Any]]:
    """What the FMC endpoint holds for ``stream``, by record id, each valid against its schema."""
    schema = records.schema(stream)
    assert schema is not None
    out = {}
    for row in sb.fmc_records(stream):
        assert records.validate(schema, row["record"]) == [], row["record"]
        out[str(row["id"])] = dict(row["record"])
    return out


def patches(sb: SandboxProcess, since: int = 0) -> dict[str, list[int]]:
    """PATCHes of vehicles by vehicle ID (statuses), less the preflight's probe of `Write Vehicles`."""
    out: dict[str, list[int]] = {}
    for r in sb.requests(since):
        if r["method"] == "PATCH" and str(r["path"]).startswith("/fleet/vehicles/") and r["path"] != PROBE:
            out.setdefault(str(r["path"]).rsplit("/", 1)[1], []).append(int(r["status"]))
    return out


def truth(sb: SandboxProcess) -> tuple[set[tuple[str, str]], set[str], set[tuple[str, str]]]:
    """The true pairs (samsara id, fmc id), the FMC ids of the traps, and the acceptable review pairs
    (a re-registered vehicle's stale record)."""
    pairs = sb.get("/__sandbox/truth/vehicles")["data"]["pairs"]
    true = {(str(p["samsaraId"]), str(p["fmcId"])) for p in pairs if p["expect"] == "link"}
    traps = {str(p["fmcId"]) for p in pairs if p["expect"] != "link"}
    review = {(str(p["sameVehicleAs"]), str(p["fmcId"])) for p in pairs if p["expect"] == "review"}
    return true, traps, review


def linked_in_samsara(sb: SandboxProcess) -> set[tuple[str, str]]:
    return {
        (sid, v["externalIds"]["fmcId"]) for sid, v in vehicles(sb).items() if "fmcId" in v["externalIds"]
    }


def linked_at_fmc(sb: SandboxProcess) -> set[tuple[str, str]]:
    return {
        (r["samsaraId"], fid) for fid, r in stored(sb, "vehicle_links").items() if r["status"] == "linked"
    }


def script(sb: SandboxProcess, kind: str, data: dict[str, Any]) -> str:
    sb.advance(1)
    return str(sb.admin("POST", "/__sandbox/fmc/changes", {"type": kind, "data": data})["id"])


def test_links_converge_on_both_sides_and_a_second_run_plans_nothing(sb: SandboxProcess) -> None:
    before = vehicles(sb)
    rt = runtime(sb)
    out = run(rt, "corr-1")
    assert out["ok"] and out["caughtUp"], out
    true, traps, _ = truth(sb)
    samsara, fmc = linked_in_samsara(sb), linked_at_fmc(sb)
    assert samsara == fmc, "every link is on both sides"
    assert not {f for _, f in samsara} & traps, "no trap pair linked"
    assert samsara <= true, f"false links: {samsara - true}"
    reports = stored(sb, "sync_reports")
    reported = {r["recordId"] for r in reports.values() if r["status"] == "review"}
    missed = {(s, f) for s, f in true - samsara if s not in reported and f not in reported}
    assert not missed, f"true pairs neither linked nor in review: {missed}"
    assert len(samsara) >= 0.9 * len(true)
    assert out["sync"]["planned"] == {"link": len(samsara)} and out["sync"]["applied"] == len(samsara)

    # Only the key this sync owns was sent; the other keys (maintenanceId, samsara.*) are all still there.
    bodies = [r for r in sb.requests() if r["method"] == "PATCH" and r["path"] != PROBE]
    assert bodies and all(int(r["status"]) == 200 for r in bodies)
    after = vehicles(sb)
    for sid, fid in samsara:
        assert after[sid]["externalIds"] == {**before[sid]["externalIds"], "fmcId": fid}
    assert all(n == [200] for n in patches(sb).values()), "one PATCH per linked vehicle"

    # What the FMC holds: the Samsara id, VIN and gateway of each link; awaiting installation reported.
    links = stored(sb, "vehicle_links")
    for sid, fid in samsara:
        v = after[sid]
        assert links[fid]["vin"] == v["vin"] and links[fid]["gatewaySerial"] == v["gateway"]["serial"]
    statuses = {r["status"] for r in reports.values()}
    assert "awaitingInstallation" in statuses and "samsaraOnly" in statuses
    awaiting = {r["recordId"] for r in reports.values() if r["status"] == "awaitingInstallation"}
    assert awaiting & traps, "FMC-only vehicles (later serials of a fleet order, …) await installation"
    assert out["sync"]["reports"]["awaitingInstallation"] == len(awaiting)

    seen = len(sb.requests())
    second = run(rt, "corr-2")
    assert second["ok"] and second["sync"]["planned"] == {} and second["sync"]["delivered"] == {}, second
    assert patches(sb, seen) == {} and second["sync"]["rematched"] is False


def test_fmc_changes_to_owned_fields_reach_samsara_once_and_samsara_owned_fields_do_not(
    sb: SandboxProcess,
) -> None:
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    sid, fid = sorted(linked_in_samsara(sb))[0]
    vin = vehicles(sb)[sid]["vin"]
    change = script(
        sb,
        "vehicle.updated",
        {"fmcId": fid, "unitNumber": "UNIT 7777", "licensePlate": "NEW-0001", "vin": "1" * 17},
    )
    seen = len(sb.requests())
    out = run(rt, "corr-2")
    assert out["ok"] and out["sync"]["planned"] == {"update": 1}, out
    v = vehicles(sb)[sid]
    assert (v["name"], v["licensePlate"], v["vin"]) == ("UNIT 7777", "NEW-0001", vin), "the VIN is Samsara's"
    assert patches(sb, seen) == {sid: [200]}
    assert {c["id"]: c["applied"] for c in sb.get("/__sandbox/fmc/changes")["data"]}[change]
    link = stored(sb, "vehicle_links")[fid]
    assert (link["samsaraName"], link["licensePlate"]) == ("UNIT 7777", "NEW-0001")
    outcome = stored(sb, "write_outcomes")[f"change:{change}"]
    assert outcome["status"] == "applied" and outcome["type"] == "vehicle.update"

    # Owned by Samsara when configured so: the same kind of change is not written.
    script(sb, "vehicle.updated", {"fmcId": fid, "licensePlate": "NEW-0002"})
    seen = len(sb.requests())
    out = run(rt, "corr-3", ownership="licensePlate:samsara")
    assert out["ok"] and out["sync"]["planned"] == {} and patches(sb, seen) == {}
    assert run(rt, "corr-4")["sync"]["planned"] == {}, "the change was consumed; nothing again"


def test_each_write_is_applied_once_under_faults_a_crash_and_the_retry(
    sb: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime(sb)
    assert run(rt, "corr-0", dryRun="true")["ok"]
    ids = sorted(str(r["samsaraId"]) for r in stored(sb, "sync_plans").values() if r["action"] == "link")
    lost, failing = ids[3], ids[5]
    sb.faults(
        {"method": "PATCH", "path": f"/fleet/vehicles/{lost}", "kind": "fail_after_commit", "status": 502},
        {
            "method": "PATCH",
            "path": f"/fleet/vehicles/{failing}",
            "kind": "status",
            "status": 503,
            "times": 1,
        },
        {"path": "/fmc/v1/changes", "kind": "repeat_records", "times": 2},
    )
    api = rt.client()
    real = api.request
    crashed: list[str] = []

    def request(method: str, path: str, **kw: Any) -> Any:
        answer = real(method, path, **kw)  # type: ignore[arg-type]
        if method == "PATCH" and path.endswith(f"/{ids[8]}") and not crashed:
            crashed.append(path)
            raise RuntimeError("injected crash between the write and the state's save")
        return answer

    monkeypatch.setattr(api, "request", request)
    with pytest.raises(RuntimeError, match="injected crash"):
        rt.invoke(EVENT, None)
    out = rt.invoke(EVENT, None)  # the platform's retry of the same invocation
    assert out["ok"], out
    counts = patches(sb)
    applied = {v: [s for s in st if s == 200] for v, st in counts.items()}
    assert all(len(s) <= 1 for s in applied.values()), f"a write applied twice: {counts}"
    assert counts[lost] == [502], "the lost answer was read back, not sent again"
    assert counts[failing] == [503, 200]
    samsara = linked_in_samsara(sb)
    assert samsara == linked_at_fmc(sb)
    assert any(s == crashed[0].rsplit("/", 1)[1] for s, _ in samsara), "the crashed write stands"
    outcomes = stored(sb, "write_outcomes")
    assert {r["status"] for r in outcomes.values()} <= {"applied", "already"}
    seen = len(sb.requests())
    again = run(rt, "corr-2")
    assert again["ok"] and again["sync"]["planned"] == {} and patches(sb, seen) == {}


def test_the_brake_refuses_before_any_write_and_a_dry_run_writes_nothing(sb: SandboxProcess) -> None:
    rt = runtime(sb)
    dry = run(rt, "corr-0", dryRun="true")
    assert dry["ok"] and dry["sync"]["dryRun"] and dry["sync"]["planned"]["link"] > 10, dry
    assert patches(sb) == {} and not sb.fmc_records("vehicle_links") and not sb.fmc_records("sync_reports")
    plan = stored(sb, "sync_plans")
    assert sum(1 for r in plan.values() if r["action"] == "link") == dry["sync"]["planned"]["link"]

    first = run(rt, "corr-1")
    assert first["ok"] and first["sync"]["applied"] == dry["sync"]["planned"]["link"], (
        "the dry run saved nothing"
    )
    linked = sorted(linked_in_samsara(sb))
    gone = linked[: len(linked) * 3 // 10]
    for _, fid in gone:
        script(sb, "vehicle.removed", {"fmcId": fid})
    seen = len(sb.requests())
    refused = run(rt, "corr-2")
    assert refused["ok"] is False and "safety brake" in refused["message"], refused
    assert f"unlink {len(gone)} of {len(linked)}" in refused["message"]
    assert "`maxUnlinkPercent`" in refused["message"]
    assert patches(sb, seen) == {}, "nothing written"

    dry = run(rt, "corr-3", dryRun="true")
    assert dry["ok"] and dry["sync"]["planned"] == {"unlink": len(gone)} and dry["sync"]["brake"]
    assert patches(sb, seen) == {}

    out = run(rt, "corr-4", maxUnlinkPercent="50")
    assert out["ok"] and out["sync"]["applied"] == len(gone), out
    now = linked_in_samsara(sb)
    assert now == set(linked) - set(gone) and now == linked_at_fmc(sb)
    links = stored(sb, "vehicle_links")
    assert all(links[fid]["status"] == "unlinked" for _, fid in gone)
    assert run(rt, "corr-5")["sync"]["planned"] == {}


def test_bad_parameters_and_a_missing_fmc_endpoint_are_named_and_nothing_is_requested(
    sb: SandboxProcess,
) -> None:
    rt = runtime(sb)
    for params, words in (
        ({"externalIdKey": "fmc id"}, "`externalIdKey`"),
        ({"externalIdKey": "samsaraVin"}, "`externalIdKey` is `samsaraVin`"),
        ({"ownership": "gateway:fmc"}, "always owned by `samsara`"),
        ({"ownership": "colour:fmc"}, "`ownership`"),
        ({"maxUnlinkPercent": "101"}, "`maxUnlinkPercent` is `101`"),
        ({"dryRun": "perhaps"}, "`dryRun` is `perhaps`"),
    ):
        out = run(rt, "corr-1", **params)
        assert out["ok"] is False and words in out["message"], (params, out)
    listed = [r for r in sb.requests() if r["path"] == "/fleet/vehicles" and "limit=512" in str(r["query"])]
    assert patches(sb) == {} and not listed, "the vehicles were not read"
    out = run(runtime(sb, fmc=False), "corr-2")
    assert out["ok"] is False and "`FMC_URL`" in out["message"], out
    assert patches(sb) == {}


def test_a_token_without_write_vehicles_fails_preflight_naming_it(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    sb = sandbox_factory(
        *DEFAULT_ARGS, "--fmc-token", FMC_TOKEN, "--token", "T-read=Read Org Information,Read Vehicles"
    )
    out = run(runtime(sb, token="T-read"), "corr-1")
    assert out["ok"] is False and "`Write Vehicles`" in out["message"], out
    assert "`Read" not in out["message"]
    assert patches(sb) == {} and not sb.fmc_records("vehicle_links")
    assert not any(r["path"] == "/fleet/vehicles" and "limit=512" in str(r["query"]) for r in sb.requests())


@pytest.mark.slow
def test_the_zip_under_samsara_fn_links_updates_and_then_plans_nothing(tmp_path: Path) -> None:
    """The demo's scenario: the bundled zip under samsara-fn (Python 3.12, its own lib/), a dry run,
    the linking run, an FMC change, a quiet run; nothing lost or written twice."""
    from scripts import demo

    zip_path = Path(__file__).resolve().parents[2] / "dist" / "vehicle-sync.zip"
    assert zip_path.exists(), f"{zip_path} is missing: run `make bundle` (make test does)"
    box = demo.Sandbox.start(vehicles=25)
    try:
        report = demo.vehicle_sync(tmp_path / "fn", box, zip_path)
    finally:
        box.stop()
        if box.process.stdout is not None:
            box.process.stdout.close()
    assert report.runs == 4 and report.delivered >= 20 and report.writes == report.delivered + 1
    assert report.lost == 0 and report.duplicated == 0


def test_a_review_settled_at_the_fmc_is_matched_again_and_linked(sb: SandboxProcess) -> None:
    """Only changed records are matched again: the FMC deletes the stale record of a re-registered
    vehicle that was in review, and the next run links the current record and resolves the reports."""
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    pairs = sb.get("/__sandbox/truth/vehicles")["data"]["pairs"]
    reports = stored(sb, "sync_reports")
    stale = [
        (str(p["sameVehicleAs"]), str(p["duplicateOf"]), str(p["fmcId"]))
        for p in pairs
        if p["expect"] == "review" and reports.get(f"vehicles:fmc:{p['fmcId']}", {}).get("status") == "review"
    ]
    assert stale, "a re-registered vehicle sits in review"
    sid, current, old = stale[0]
    assert (sid, current) not in linked_in_samsara(sb)
    script(sb, "vehicle.removed", {"fmcId": old})
    out = run(rt, "corr-2")
    assert out["ok"] and out["sync"]["rematched"] is True and out["sync"]["planned"] == {"link": 1}, out
    assert (sid, current) in linked_in_samsara(sb) and (sid, current) in linked_at_fmc(sb)
    reports = stored(sb, "sync_reports")
    assert reports[f"vehicles:fmc:{old}"]["status"] == "resolved"
    assert reports[f"vehicles:samsara:{sid}"]["status"] == "resolved"
    assert run(rt, "corr-3")["sync"]["planned"] == {}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_converges_under_seeded_faults_crashes_and_retries_with_no_write_applied_twice(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Samsara and FMC faults (lost answers, 5xx, 429) and crashes after writes, runs retried until the
    sync is quiet: every vehicle written at most once (request log), both sides agree, no false link."""
    import random

    sb = sandbox_factory(*DEFAULT_ARGS[:1], str(seed), *DEFAULT_ARGS[2:], "--fmc-token", FMC_TOKEN)
    sb.faults(
        {
            "method": "PATCH",
            "path": "/fleet/vehicles/{id}",
            "kind": "fail_after_commit",
            "status": 502,
            "probability": 0.15,
        },
        {
            "method": "GET",
            "path": "/fleet/vehicles/{id}",
            "kind": "status",
            "status": 500,
            "probability": 0.2,
        },
        {
            "method": "GET",
            "path": "/fleet/vehicles",
            "kind": "status",
            "status": 429,
            "retryAfter": "0.05",
            "probability": 0.3,
        },
        {
            "method": "POST",
            "path": "/fmc/v1/streams/vehicle_links/records",
            "kind": "fail_after_commit",
            "status": 502,
            "probability": 0.3,
        },
    )
    rt = runtime(sb)
    api = rt.client()
    real = api.request
    rng = random.Random(seed)
    crashes: list[str] = []

    def request(method: str, path: str, **kw: Any) -> Any:
        answer = real(method, path, **kw)  # type: ignore[arg-type]
        if method == "PATCH" and rng.random() < 0.05:
            crashes.append(path)
            raise RuntimeError("injected crash after a write")
        return answer

    monkeypatch.setattr(api, "request", request)
    quiet, runs = False, 0
    while not quiet and runs < 40:
        runs += 1
        if runs == 25:
            sb.clear_faults()
        try:
            out = run(rt, f"corr-{runs // 2}")  # every other run is the platform's retry of the last
        except (RuntimeError, SamsaraFmcError):  # raised: the platform retries the run
            continue
        quiet = bool(out.get("ok")) and out["sync"]["planned"] == {} and out["sync"]["delivered"] == {}
    assert quiet, f"not quiet after {runs} runs"
    sb.clear_faults()
    applied: dict[str, int] = {}
    for v, statuses in patches(sb).items():
        applied[v] = sum(1 for s in statuses if s in (200, 502))  # 502: applied, its answer lost
    assert applied and max(applied.values()) == 1, f"a vehicle written twice: {applied}"
    statuses = [s for st in patches(sb).values() for s in st]
    assert crashes and 502 in statuses, "the crashes and lost answers happened"
    true, traps, _ = truth(sb)
    samsara = linked_in_samsara(sb)
    assert samsara == linked_at_fmc(sb) and samsara <= true and not {f for _, f in samsara} & traps
    assert sb.fmc_summary("vehicle_links")["duplicates"] == 0


def test_an_unlink_applied_by_a_crashed_run_still_reaches_the_fmc(
    sb: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The harness found it: a run killed right after its unlink PATCH left the FMC's link record
    `linked` for good (the retry saw nothing to unlink, so it had no record to deliver)."""
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    sid, fid = sorted(linked_in_samsara(sb))[0]
    script(sb, "vehicle.removed", {"fmcId": fid})
    api = rt.client()
    real = api.request
    crashed: list[str] = []

    def request(method: str, path: str, **kw: Any) -> Any:
        answer = real(method, path, **kw)  # type: ignore[arg-type]
        if method == "PATCH" and path.endswith(f"/{sid}") and not crashed:
            crashed.append(path)
            raise RuntimeError("injected crash between the unlink and its record")
        return answer

    monkeypatch.setattr(api, "request", request)
    with pytest.raises(RuntimeError, match="injected crash"):
        run(rt, "corr-2")
    assert "fmcId" not in vehicles(sb)[sid]["externalIds"], "the unlink was applied"
    out = run(rt, "corr-2")  # the platform's retry
    assert out["ok"] and out["sync"]["planned"] == {}, out
    assert stored(sb, "vehicle_links")[fid]["status"] == "unlinked"
    assert patches(sb)[sid] == [200, 200], "linked once, unlinked once"
    again = run(rt, "corr-3")
    assert again["sync"]["planned"] == {} and again["sync"]["delivered"] == {}, again


def test_a_change_applied_by_a_crashed_run_still_gets_its_outcome(
    sb: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The harness found it: a run killed right after the PATCH of a `vehicle.updated` change left the
    change without an outcome (the retry found nothing to write for it)."""
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    sid, fid = sorted(linked_in_samsara(sb))[0]
    change = script(sb, "vehicle.updated", {"fmcId": fid, "unitNumber": "UNIT 4242"})
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
    with pytest.raises(RuntimeError, match="injected crash"):
        run(rt, "corr-2")
    assert vehicles(sb)[sid]["name"] == "UNIT 4242", "the update was applied"
    out = run(rt, "corr-2")  # the platform's retry
    assert out["ok"] and out["sync"]["planned"] == {}, out
    outcome = stored(sb, "write_outcomes")[f"change:{change}"]
    assert outcome["status"] == "already" and "`name`" in outcome["reason"], outcome
    assert patches(sb)[sid] == [200, 200], "linked once, updated once"
    again = run(rt, "corr-3")
    assert again["sync"]["planned"] == {} and again["sync"]["delivered"] == {}, again
