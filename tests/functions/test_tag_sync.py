"""tag-sync against the sandbox: the FMC's organisation matched to Samsara's tag tree (by name under the
same parent, by a shared external ID), the missing tags created once, renames and moves applied,
vehicle and driver membership kept without dropping members the FMC does not manage (dashboard
vehicles, trailers, drivers not linked yet, deactivated, or carrying an id the FMC does not list), a
second run that plans nothing, no duplicate tag under a crash and the platform's retry, the brake."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc.client import Client, RetryPolicy
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.storage import MemoryStorage
from tests.functions.test_vehicle_sync import FMC_TOKEN, script, stored
from tests.functions.test_vehicle_sync import runtime as vehicle_runtime
from tests.support.sandbox import DEFAULT_ARGS, TOKEN, SandboxProcess
from tests.test_runtime import FakeSecrets

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = Manifest.load(ROOT / "functions/tag-sync/function.json")
EVENT = {"SamsaraFunctionCorrelationId": "corr-1", "SamsaraFunctionTriggerSource": "manual"}


@pytest.fixture
def sb(sandbox_factory: Callable[..., SandboxProcess]) -> SandboxProcess:
    box = sandbox_factory(*DEFAULT_ARGS, "--fmc-token", FMC_TOKEN)
    out = vehicle_runtime(box).invoke(EVENT, None)  # the vehicles are linked first
    assert out["ok"], out
    return box


def runtime(sb: SandboxProcess, *, token: str = TOKEN) -> FunctionRuntime:
    secrets = {
        "SAMSARA_API_TOKEN": token,
        "SAMSARA_BASE_URL": sb.url,
        "FMC_URL": sb.url,
        "FMC_TOKEN": FMC_TOKEN,
    }
    return FunctionRuntime(
        MANIFEST,
        storage=MemoryStorage(),
        secret_source=FakeSecrets(secrets),
        client_options={
            "retry": RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.1),
            "rate_limit": False,
        },
    )


def run(rt: FunctionRuntime, corr: str, **params: str) -> dict[str, Any]:
    return rt.invoke({**EVENT, "SamsaraFunctionCorrelationId": corr, **params}, None)


def client(sb: SandboxProcess) -> Client:
    return Client(token=sb.token, base_url=sb.url, rate_limit=False)


def tags(sb: SandboxProcess) -> dict[str, dict[str, Any]]:
    return {str(t["id"]): dict(t) for t in client(sb).records("/tags")}


def members(tag: dict[str, Any], kind: str = "vehicles") -> set[str]:
    return {str(m["id"]) for m in tag.get(kind) or []}


def writes(sb: SandboxProcess, since: int = 0) -> list[tuple[str, str, int]]:
    probes = {"/tags/0"}
    return [
        (r["method"], r["path"], int(r["status"]))
        for r in sb.requests(since)
        if r["method"] in ("POST", "PATCH", "PUT", "DELETE")
        and r["path"].startswith("/tags")
        and r["path"] not in probes
    ]


def test_the_organisation_converges_without_duplicates_and_a_second_run_plans_nothing(
    sb: SandboxProcess,
) -> None:
    before = tags(sb)
    fmc = {t["id"]: t for t in sb.get("/fmc/v1/tags")["data"]}
    rt = runtime(sb)
    out = run(rt, "corr-1")
    assert out["ok"], out
    after = tags(sb)
    by_fmc = {
        t["externalIds"]["fmcTagId"]: t for t in after.values() if "fmcTagId" in t.get("externalIds", {})
    }
    assert set(by_fmc) == set(fmc), "every FMC tag is linked"
    names = [t["name"] for t in after.values()]
    assert len(names) == len(set(names)), "no duplicate tag"
    created = set(after) - set(before)
    assert {by_fmc[f]["id"] for f, t in fmc.items() if t["kind"] == "businessUnit"} == created
    for fid, t in fmc.items():
        tag = by_fmc[fid]
        assert tag["name"] == t["name"]
        parent = by_fmc[t["parentId"]]["id"] if t["parentId"] else None
        assert tag.get("parentTagId") == parent, "under the FMC's parent"
    for fid, t in fmc.items():  # branches matched by name, cost centres by their `costCentre` external ID
        if t["kind"] != "businessUnit":
            assert by_fmc[fid]["id"] in before and by_fmc[fid]["externalIds"] == {
                **before[by_fmc[fid]["id"]].get("externalIds", {}),
                "fmcTagId": fid,
            }
            assert members(by_fmc[fid], "assets") == members(before[by_fmc[fid]["id"]], "assets")
    vehicles = {v["externalIds"].get("fmcId"): str(v["id"]) for v in client(sb).records("/fleet/vehicles")}
    for fid, t in fmc.items():
        if t["kind"] == "businessUnit":
            want = {vehicles[v] for v in t["vehicles"] if v in vehicles}
            assert want and members(by_fmc[fid]) == want
    links = stored(sb, "tag_links")
    assert {fid: r["samsaraId"] for fid, r in links.items()} == {f: t["id"] for f, t in by_fmc.items()}

    seen = len(sb.requests())
    again = run(rt, "corr-2")
    assert again["ok"] and again["sync"]["planned"] == {} and again["sync"]["delivered"] == {}, again
    assert writes(sb, seen) == []


def test_renames_moves_and_membership_follow_the_fmc_and_keep_what_it_does_not_manage(
    sb: SandboxProcess,
) -> None:
    rt = runtime(sb)
    assert run(rt, "corr-1")["ok"]
    fmc = {t["id"]: t for t in sb.get("/fmc/v1/tags")["data"]}
    by_fmc = {
        t["externalIds"]["fmcTagId"]: t for t in tags(sb).values() if "fmcTagId" in t.get("externalIds", {})
    }
    bu = next(f for f, t in fmc.items() if t["kind"] == "businessUnit")
    other_branch = next(f for f, t in fmc.items() if t["kind"] == "branch" and f != fmc[bu]["parentId"])
    cc = next(f for f, t in fmc.items() if t["kind"] == "costCentre" and members(by_fmc[f], "assets"))
    # A vehicle the FMC does not manage (no FMC id) added to the business unit in the dashboard.
    unmanaged = next(
        str(v["id"]) for v in client(sb).records("/fleet/vehicles") if "fmcId" not in v["externalIds"]
    )
    bu_sid = by_fmc[bu]["id"]
    body = {"vehicles": sorted(members(by_fmc[bu]) | {unmanaged})}
    client(sb).request("PATCH", f"/tags/{bu_sid}", json_body=body)
    dropped, *kept = fmc[bu]["vehicles"]
    linked = [
        v["externalIds"]["fmcId"]
        for v in client(sb).records("/fleet/vehicles")
        if "fmcId" in v["externalIds"]
    ]
    added = next(f for f in linked if f not in fmc[bu]["vehicles"])
    script(sb, "tag.updated", {"fmcId": bu, "parentId": other_branch, "vehicles": [*kept, added]})
    script(sb, "tag.updated", {"fmcId": cc, "name": "CC-9999 Renamed"})
    assets = members(by_fmc[cc], "assets")

    seen = len(sb.requests())
    out = run(rt, "corr-2")
    assert out["ok"], out
    now = tags(sb)
    vehicles = {v["externalIds"].get("fmcId"): str(v["id"]) for v in client(sb).records("/fleet/vehicles")}
    assert now[bu_sid]["parentTagId"] == by_fmc[other_branch]["id"], "moved"
    assert members(now[bu_sid]) == {vehicles[v] for v in [*kept, added] if v in vehicles} | {unmanaged}
    assert vehicles[dropped] not in members(now[bu_sid]), "the FMC's removal applied"
    assert (
        now[by_fmc[cc]["id"]]["name"] == "CC-9999 Renamed"
        and members(now[by_fmc[cc]["id"]], "assets") == assets
    )
    assert len(writes(sb, seen)) == 2 and all(s == 200 for *_, s in writes(sb, seen))
    assert run(rt, "corr-3")["sync"]["planned"] == {}


def test_a_crash_after_a_create_never_makes_a_second_tag(
    sb: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime(sb)
    api = rt.client()
    real = api.request
    crashed: list[str] = []

    def request(method: str, path: str, **kw: Any) -> Any:
        answer = real(method, path, **kw)  # type: ignore[arg-type]
        if method == "POST" and path == "/tags" and not crashed:
            crashed.append(path)
            raise RuntimeError("injected crash between the create and the state's save")
        return answer

    monkeypatch.setattr(api, "request", request)
    with pytest.raises(RuntimeError, match="injected crash"):
        rt.invoke(EVENT, None)
    out = rt.invoke(EVENT, None)  # the platform's retry
    assert out["ok"], out
    creates = [w for w in writes(sb) if w[0] == "POST"]
    units = [t for t in sb.get("/fmc/v1/tags")["data"] if t["kind"] == "businessUnit"]
    assert len(creates) == len(units) and all(s == 200 for *_, s in creates), "one create per missing tag"
    names = [t["name"] for t in tags(sb).values()]
    assert len(names) == len(set(names))


def test_the_brake_refuses_mass_unassignment_and_a_dry_run_writes_nothing(sb: SandboxProcess) -> None:
    rt = runtime(sb)
    dry = run(rt, "corr-0", dryRun="true")
    assert dry["ok"] and dry["sync"]["planned"].get("create") and writes(sb) == [], dry
    assert not sb.fmc_records("tag_links")
    assert run(rt, "corr-1")["ok"]
    units = [t for t in sb.get("/fmc/v1/tags")["data"] if t["kind"] == "businessUnit"]
    for t in units:  # an export that lost every membership
        script(sb, "tag.updated", {"fmcId": t["id"], "vehicles": []})
    seen = len(sb.requests())
    out = run(rt, "corr-2")
    assert (
        out["ok"] is False and "safety brake" in out["message"] and "`maxUnassignPercent`" in out["message"]
    )
    assert writes(sb, seen) == []


def test_a_token_without_write_tags_fails_preflight_naming_it(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    sb = sandbox_factory(
        *DEFAULT_ARGS,
        "--fmc-token",
        FMC_TOKEN,
        "--token",
        "T-read=Read Org Information,Read Vehicles,Read Tags",
    )
    out = run(runtime(sb, token="T-read"), "corr-1")
    assert out["ok"] is False and "`Write Tags`" in out["message"], out
    assert writes(sb) == []


@pytest.mark.slow
def test_the_zip_under_samsara_fn_converges_after_vehicle_sync(tmp_path: Path) -> None:
    """The demo's scenarios: vehicle-sync's zip, then tag-sync's, under samsara-fn."""
    from scripts import demo

    zips = {n: ROOT / "dist" / f"{n}.zip" for n in ("vehicle-sync", "tag-sync")}
    assert all(z.exists() for z in zips.values()), f"{zips} missing: run `make bundle` (make test does)"
    box = demo.Sandbox.start(vehicles=25)
    try:
        demo.vehicle_sync(tmp_path / "vehicle-sync", box, zips["vehicle-sync"])
        report = demo.tag_sync(tmp_path / "tag-sync", box, zips["tag-sync"])
    finally:
        box.stop()
        if box.process.stdout is not None:
            box.process.stdout.close()
    assert report.runs == 3 and report.delivered > 0 and report.lost == 0 and report.duplicated == 0


def link_drivers(sb: SandboxProcess, skip: int = 3) -> dict[str, str]:
    """Writes the FMC's driver id to the Samsara drivers of the true pairs, as driver-sync would (all
    but every ``skip``-th: those are not linked yet); returns FMC id → Samsara id of those linked."""
    pairs = sb.get("/__sandbox/truth/drivers")["data"]["pairs"]
    true = sorted((str(p["fmcId"]), str(p["samsaraId"])) for p in pairs if p["expect"] == "link")
    linked = {}
    for i, (fid, sid) in enumerate(true):
        if i % skip != skip - 1:
            client(sb).request("PATCH", f"/fleet/drivers/{sid}", json_body={"externalIds": {"fmcId": fid}})
            linked[fid] = sid
    return linked


def test_driver_membership_follows_the_fmc_and_keeps_every_driver_it_does_not_manage(
    sb: SandboxProcess,
) -> None:
    linked = link_drivers(sb)
    active = {str(d["id"]) for d in client(sb).records("/fleet/drivers")}
    fmc = {t["id"]: t for t in sb.get("/fmc/v1/tags")["data"]}
    initial = tags(sb)
    rt = runtime(sb)
    out = run(rt, "corr-1")
    assert out["ok"], out
    now = tags(sb)
    by_fmc = {t["externalIds"]["fmcTagId"]: t for t in now.values() if "fmcTagId" in t.get("externalIds", {})}
    # A new business unit gets the FMC's drivers that are linked and active; nothing else.
    for fid, t in fmc.items():
        if t["kind"] == "businessUnit":
            want = {linked[d] for d in t["drivers"] if d in linked and linked[d] in active}
            assert want and members(by_fmc[fid], "drivers") == want, fid
    # The cost centres already held the FMC's drivers (and others): nothing written to their members.
    cc = max(
        (
            f
            for f, t in fmc.items()
            if t["kind"] == "costCentre"
            and sum(1 for d in t["drivers"] if d in linked and linked[d] in active) >= 2
            and members(by_fmc[f], "drivers") - set(linked.values())
        ),
        key=lambda f: sum(1 for d in fmc[f]["drivers"] if d in linked and linked[d] not in active),
    )
    cc_sid = by_fmc[cc]["id"]
    before = now[cc_sid]
    assert {linked[d] for d in fmc[cc]["drivers"] if d in linked} <= members(before, "drivers")
    assert members(before, "drivers") == members(initial[cc_sid], "drivers")

    # A driver carrying an FMC id the roster does not have (another system's, or gone from the FMC)
    # is added to the cost centre in the dashboard; so is a linked driver of another cost centre.
    stray = next(iter(active - set(linked.values()) - members(before, "drivers")))
    client(sb).request("PATCH", f"/fleet/drivers/{stray}", json_body={"externalIds": {"fmcId": "FMCD99999"}})
    body = {"drivers": sorted(members(before, "drivers") | {stray})}
    client(sb).request("PATCH", f"/tags/{cc_sid}", json_body=body)
    unmanaged = members(tags(sb)[cc_sid], "drivers") - {
        s for f, s in linked.items() if s in active
    }  # not linked yet, deactivated, the stray
    assert stray in unmanaged and unmanaged - {stray}
    mine = [d for d in fmc[cc]["drivers"] if d in linked and linked[d] in active]
    dropped = mine[0]
    other = next(
        f
        for f, t in fmc.items()
        if t["kind"] == "costCentre" and f != cc
        for d in t["drivers"]
        if d in linked and linked[d] in active and linked[d] not in members(before, "drivers")
    )
    added = next(
        d
        for d in fmc[other]["drivers"]
        if d in linked and linked[d] in active and linked[d] not in members(before, "drivers")
    )
    inactive = [d for d in fmc[cc]["drivers"] if d in linked and linked[d] not in active]
    assert inactive, "a linked driver of the cost centre is deactivated"
    keep = [d for d in fmc[cc]["drivers"] if d != dropped and d not in inactive]
    script(sb, "tag.updated", {"fmcId": cc, "drivers": [*keep, added]})
    seen = len(sb.requests())
    out = run(rt, "corr-2")
    assert out["ok"] and out["sync"]["planned"] == {"unassign": 1}, out
    after = tags(sb)[cc_sid]
    assert members(after, "drivers") == (members(before, "drivers") | {stray, linked[added]}) - {
        linked[dropped]
    }
    assert unmanaged <= members(after, "drivers"), "nothing the FMC does not manage was dropped"
    assert {linked[d] for d in inactive} <= members(after, "drivers"), "deactivated drivers stay"
    assert members(after, "vehicles") == members(before, "vehicles")
    assert members(after, "assets") == members(before, "assets")
    assert writes(sb, seen) == [("PATCH", f"/tags/{cc_sid}", 200)]
    link = stored(sb, "tag_links")[cc]
    assert link["driverCount"] == len(members(after, "drivers"))
    assert run(rt, "corr-3")["sync"]["planned"] == {}

    # An export that lost the cost centre's drivers is over the brake; nothing is written.
    script(sb, "tag.updated", {"fmcId": cc, "drivers": []})
    seen = len(sb.requests())
    refused = run(rt, "corr-4", maxUnassignPercent="1")
    assert refused["ok"] is False and "safety brake" in refused["message"], refused
    assert writes(sb, seen) == []


@pytest.mark.slow
def test_the_zip_under_samsara_fn_keeps_driver_membership_in_step(
    tmp_path: Path, sandbox_factory: Callable[..., SandboxProcess]
) -> None:
    """tag-sync's zip under samsara-fn, vehicles and drivers linked first (as vehicle-sync and
    driver-sync link them): the business units get the FMC's linked drivers, the cost centres keep every
    driver they had, a removal reaches Samsara once, then a run that plans nothing."""
    from scripts import demo

    zip_path = ROOT / "dist" / "tag-sync.zip"
    assert zip_path.exists(), f"{zip_path} is missing: run `make bundle` (make test does)"
    box = sandbox_factory(
        *("--seed", "7", "--vehicles", "25", "--drivers", "25", "--days", "1"),
        *("--start", "2026-11-02T15:00:00Z", "--rate-limits", "off"),
        *("--token", f"{demo.TOKEN}={demo.SCOPES},Write Drivers", "--fmc-token", demo.FMC_TOKEN),
    )
    api = Client(token=demo.TOKEN, base_url=box.url, rate_limit=False)
    linked: dict[str, str] = {}
    for kind, path in (("drivers", "/fleet/drivers"), ("vehicles", "/fleet/vehicles")):
        for p in box.get(f"/__sandbox/truth/{kind}")["data"]["pairs"]:
            if p["expect"] == "link":
                body = {"externalIds": {"fmcId": p["fmcId"]}}
                api.request("PATCH", f"{path}/{p['samsaraId']}", json_body=body)
                linked[str(p["fmcId"])] = str(p["samsaraId"])
    before = {str(t["id"]): dict(t) for t in api.records("/tags")}
    run = demo.Demo(tmp_path / "tag-sync", box.url, name="tag-sync")
    run.init(zip_path, {}, {"FMC_URL": box.url, "FMC_TOKEN": demo.FMC_TOKEN})
    run.run("manual")
    fmc = {str(t["id"]): t for t in box.get("/fmc/v1/tags")["data"]}
    active = {str(d["id"]) for d in api.records("/fleet/drivers")}
    now = {str(t["id"]): dict(t) for t in api.records("/tags")}
    by_fmc = {t["externalIds"]["fmcTagId"]: t for t in now.values() if "fmcTagId" in t["externalIds"]}
    bu = next(f for f, t in fmc.items() if t["kind"] == "businessUnit")
    want = {linked[d] for d in fmc[bu]["drivers"] if linked.get(d) in active}
    assert want and members(by_fmc[bu], "drivers") == want
    for fid, t in fmc.items():
        if t["kind"] == "costCentre":
            sid = str(by_fmc[fid]["id"])
            assert members(now[sid], "drivers") == members(before[sid], "drivers"), fid
    dropped = sorted(want)[0]
    rest = [d for d in fmc[bu]["drivers"] if linked.get(d) != dropped]
    box.advance(60)
    box.admin(
        "POST", "/__sandbox/fmc/changes", {"type": "tag.updated", "data": {"fmcId": bu, "drivers": rest}}
    )
    second = run.run("schedule")
    assert second["sync"]["planned"] == {"unassign": 1} and second["sync"]["applied"] == 1, second
    tag = {str(t["id"]): dict(t) for t in api.records("/tags")}[str(by_fmc[bu]["id"])]
    assert members(tag, "drivers") == want - {dropped}
    quiet = run.run("api")
    assert quiet["sync"]["planned"] == {} and quiet["sync"]["delivered"] == {}, quiet


def test_an_organisation_without_driver_members_reads_no_drivers(sb: SandboxProcess) -> None:
    """An FMC whose tags say nothing of drivers (absent or null) has no roster read and no driver
    membership touched."""
    link_drivers(sb)
    fmc = sb.get("/fmc/v1/tags")["data"]
    for t in fmc:
        script(sb, "tag.updated", {"fmcId": t["id"], "drivers": None})
    before = tags(sb)
    seen = len(sb.requests())
    out = run(runtime(sb), "corr-1")
    assert out["ok"] and out["sync"]["driversNotLinkedYet"] == 0, out
    read = {r["path"] for r in sb.requests(seen) if "limit=1&" not in f"{r['query']}&"}  # not the preflight
    assert "/fleet/drivers" not in read and "/fmc/v1/drivers" not in read, read
    assert "/fleet/vehicles" in read, "the vehicles the FMC lists are read"
    now = tags(sb)
    assert all(members(now[i], "drivers") == members(t, "drivers") for i, t in before.items())
