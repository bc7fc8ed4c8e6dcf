"""dvir-defects against the sandbox: defects and inspections delivered to the FMC endpoint equal a fresh
read of the window, a later resolution is an upsert of the same record, and the FMC's
``defect.resolved`` changes are applied once each (one PATCH per change in the request log), across a
crash between the write and the outcome's save and the platform's retry."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc import records
from samsara_fmc.client import Client, RetryPolicy
from samsara_fmc.engine._util import iso
from samsara_fmc.integrations import dvir_defects
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.storage import MemoryStorage
from tests.engine.rig import sim_clock
from tests.support.sandbox import DEFAULT_ARGS, TOKEN, SandboxProcess
from tests.test_runtime import FakeSecrets

MANIFEST = Manifest.load(Path(__file__).resolve().parents[2] / "functions/dvir-defects/function.json")
FMC_TOKEN = "fmc-dvir-token"
MECHANIC = "7100"
PROBE = "/fleet/defects/0"
EVENT = {
    "lookbackHours": "72",
    "mechanicUserId": MECHANIC,
    "SamsaraFunctionCorrelationId": "corr-1",
    "SamsaraFunctionTriggerSource": "manual",
}


@pytest.fixture
def sb(sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    """A private sandbox whose FMC endpoint needs a token; the integration runs on its clock."""
    box = sandbox_factory(*DEFAULT_ARGS, "--fmc-token", FMC_TOKEN)
    monkeypatch.setattr(dvir_defects, "now", sim_clock(box))
    return box


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


def client(sb: SandboxProcess) -> Client:
    return Client(token=sb.token, base_url=sb.url, rate_limit=False)


def truth(sb: SandboxProcess, path: str, start: str) -> list[dict[str, Any]]:
    """A fresh read of a stream from ``start``, each object's latest version."""
    latest: dict[str, dict[str, Any]] = {}
    for item in client(sb).records(path, params={"startTime": start, "includeExternalIds": True}):
        latest[str(item["id"])] = dict(item)
    return list(latest.values())


def stored(sb: SandboxProcess, stream: str) -> dict[str, dict[str, Any]]:
    """What the FMC endpoint holds for ``stream``, by record id, each checked against its schema."""
    schema = records.schema(stream)
    assert schema is not None
    out = {}
    for row in sb.fmc_records(stream):
        assert records.validate(schema, row["record"]) == [], row["record"]
        out[str(row["id"])] = dict(row["record"])
    return out


def patches(sb: SandboxProcess, since: int = 0) -> dict[str, list[int]]:
    """PATCHes of defects by defect ID, less the preflight's probe of `Write Defects` (defect `0`)."""
    out: dict[str, list[int]] = {}
    for r in sb.requests(since):
        if r["method"] == "PATCH" and str(r["path"]).startswith("/fleet/defects/") and r["path"] != PROBE:
            out.setdefault(str(r["path"]).rsplit("/", 1)[1], []).append(int(r["status"]))
    return out


def streamed(sb: SandboxProcess) -> list[dict[str, Any]]:
    """The integration's stream reads (the preflight probes `Read DVIRs` without external IDs)."""
    return [
        r for r in sb.requests() if "/stream" in str(r["path"]) and "includeExternalIds" in str(r["query"])
    ]


def start_of(sb: SandboxProcess, hours: int = 72) -> str:
    return iso(sim_clock(sb)() - dt.timedelta(hours=hours))


def script(sb: SandboxProcess, data: dict[str, Any]) -> str:
    sb.advance(1)
    return str(sb.admin("POST", "/__sandbox/fmc/changes", {"type": "defect.resolved", "data": data})["id"])


def test_defects_and_dvirs_delivered_equal_the_window_and_a_later_resolution_is_an_upsert(
    sb: SandboxProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    start = start_of(sb)
    rt = runtime(sb)
    out = rt.invoke(EVENT, None)
    assert out["ok"] and out["caughtUp"], out
    assert out["writeBack"] == {"ran": True, "why": None}

    types = {
        str(t["id"]): t for t in client(sb).records("/defect-types")
    }  # no `limit`: not the integration's
    defects = truth(sb, "/defects/stream", start)
    dvirs = truth(sb, "/dvirs/stream", start)
    assert len(defects) > 10, "the window holds defects to compare"
    signed = {str(d["id"]): dvir_defects.dvir_record(d)["driverId"] for d in dvirs}
    got = stored(sb, "dvir_defects")
    want = {
        str(d["id"]): dvir_defects.defect_record(
            d, types.get(str(d["defectTypeId"])), signed.get(d["dvirId"])
        )
        for d in defects
    }
    assert got == want
    assert sum(1 for r in got.values() if r["driverId"]) > len(got) // 2, "defects carry their DVIR's driver"
    assert all(r["defectType"] for r in got.values()), "every defect carries its type's label"
    assert any(r["isResolved"] and r["resolvedBy"] for r in got.values())
    assert any(r["vehicle"] and r["vehicle"]["externalIds"].get("maintenanceId") for r in got.values())
    kept = [v.decode() for v in rt.storage.objects.values()]  # type: ignore[attr-defined]
    logged = capsys.readouterr().out
    assert "defect types read" in logged, "the run's log was captured"
    assert any("/__sandbox/media/" in p["url"] for d in defects for p in d.get("defectPhotos") or [])
    assert "/__sandbox/media/" not in json.dumps([got, out, kept, logged]), (
        "no photo URL kept, logged or sent"
    )

    assert stored(sb, "dvirs") == {str(d["id"]): dvir_defects.dvir_record(d) for d in dvirs}
    found = {d for r in stored(sb, "dvirs").values() for d in r["defectIds"]}
    assert found and found <= set(got), "the defects the inspections found were delivered"

    # Resolved in Samsara (the dashboard) after the first run: delivered again, the same record id.
    target = next(i for i, r in got.items() if not r["isResolved"])
    sb.advance(600)
    body = {
        "isResolved": True,
        "mechanicNotes": "Replaced in the yard",
        "resolvedBy": {"type": "mechanic", "id": "7003"},
    }
    client(sb).request("PATCH", f"/fleet/defects/{target}", json_body=body)
    before = sb.fmc_summary("dvir_defects")
    again = rt.invoke({**EVENT, "SamsaraFunctionCorrelationId": "corr-2"}, None)
    assert again["ok"] and again["caughtUp"]
    after = stored(sb, "dvir_defects")
    assert set(after) == set(got), "no new record: the same id was upserted"
    assert after[target]["isResolved"] and after[target]["mechanicNotes"] == "Replaced in the yard"
    assert after[target]["resolvedBy"]["id"] == "7003"
    assert after[target]["driverId"] == got[target]["driverId"], "the upsert keeps the driver"
    summary = sb.fmc_summary("dvir_defects")
    assert summary["records"] == before["records"] and summary["updates"] == before["updates"] + 1
    quiet = rt.invoke({**EVENT, "SamsaraFunctionCorrelationId": "corr-3"}, None)
    assert quiet["ok"] and sb.fmc_summary("dvir_defects")["deliveries"] == summary["deliveries"]

    # The defect types were read once (the cache served the later runs) until the cache is a day old.
    assert type_reads(sb) == 1
    key = next(k for k in rt.storage.objects if k.endswith("/defect-types.json"))  # type: ignore[attr-defined]
    cached = json.loads(rt.storage.get(key) or b"{}")
    rt.storage.put(key, json.dumps({**cached, "fetchedAt": cached["fetchedAt"] - 25 * 3600}).encode())
    other = next(i for i, r in after.items() if not r["isResolved"])
    sb.advance(600)
    client(sb).request("PATCH", f"/fleet/defects/{other}", json_body={"mechanicNotes": "Parts ordered"})
    assert rt.invoke({**EVENT, "SamsaraFunctionCorrelationId": "corr-4"}, None)["ok"]
    assert type_reads(sb) == 2
    assert stored(sb, "dvir_defects")[other]["mechanicNotes"] == "Parts ordered"


def type_reads(sb: SandboxProcess) -> int:
    """``GET /defect-types`` reads of the integration (the preflight's probe asks for one type)."""
    return sum(1 for r in sb.requests() if r["path"] == "/defect-types" and "limit=512" in str(r["query"]))


def test_each_resolution_from_the_fmc_is_applied_once_across_a_crash_and_the_retry(
    sb: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = client(sb)
    open_ids = [
        str(d["id"])
        for d in c.records("/defects/stream", params={"startTime": start_of(sb), "isResolved": False})
    ]
    done_id = next(
        str(d["id"])
        for d in c.records("/defects/stream", params={"startTime": start_of(sb), "isResolved": True})
    )
    plain, crash, bad, lost = open_ids[:4]
    changes = {
        "plain": script(sb, {"defectId": plain, "mechanicNotes": "Pads replaced"}),
        "crash": script(sb, {"defectId": crash, "mechanicId": "7200"}),
        "already": script(sb, {"defectId": done_id}),
        "unknown": script(sb, {"defectId": "9999"}),
        "bad": script(sb, {"defectId": bad, "resolvedAtTime": "last Tuesday"}),
        "lost": script(sb, {"defectId": lost}),
    }
    sb.faults(
        {"method": "PATCH", "path": f"/fleet/defects/{lost}", "kind": "fail_after_commit", "status": 502},
        {"path": "/fmc/v1/changes", "kind": "repeat_records", "times": 2},
    )
    rt = runtime(sb)
    api = rt.client()
    real = api.request
    crashed: list[str] = []

    def request(method: str, path: str, **kw: Any) -> Any:
        answer = real(method, path, **kw)  # type: ignore[arg-type]
        if method == "PATCH" and path == f"/fleet/defects/{crash}" and not crashed:
            crashed.append(path)
            raise RuntimeError("injected crash between the write and the outcome's save")
        return answer

    monkeypatch.setattr(api, "request", request)
    with pytest.raises(RuntimeError, match="injected crash"):
        rt.invoke(EVENT, None)
    out = rt.invoke(EVENT, None)  # the platform's retry of the same invocation
    assert out["ok"] and out["caughtUp"], out

    assert patches(sb) == {plain: [200], crash: [200], bad: [400], lost: [502]}, "one PATCH per change"
    assert sb.get("/__sandbox/faults")["rules"] == [], "the answer was lost and the feed repeated changes"
    got = {cid: r for cid, r in stored(sb, "write_outcomes").items()}
    status = {name: got[cid]["status"] for name, cid in changes.items()}
    assert status == {
        "plain": "applied",
        "crash": "already",
        "already": "already",
        "unknown": "rejected",
        "bad": "rejected",
        "lost": "already",
    }
    assert "earlier attempt was applied" in got[changes["crash"]]["reason"]
    assert got[changes["unknown"]]["samsaraResponse"]["status"] == 404
    assert "resolvedAtTime" in got[changes["bad"]]["reason"]
    assert sb.fmc_summary("write_outcomes")["records"] == len(changes)

    resolved = c.request("GET", f"/defects/{plain}")
    assert resolved["isResolved"] and resolved["mechanicNotes"] == "Pads replaced"
    assert resolved["resolvedBy"]["type"] == "mechanic" and resolved["resolvedBy"]["id"] == MECHANIC
    assert c.request("GET", f"/defects/{crash}")["resolvedBy"]["id"] == "7200", "the change's mechanic"
    applied = {ch["id"]: ch["applied"] for ch in sb.get("/__sandbox/fmc/changes")["data"]}
    assert applied[changes["plain"]] and applied[changes["crash"]] and not applied[changes["bad"]]

    seen = len(sb.requests())
    again = rt.invoke({**EVENT, "SamsaraFunctionCorrelationId": "corr-2"}, None)
    assert again["ok"] and patches(sb, seen) == {}, "a later run writes nothing again"
    delivered = stored(sb, "dvir_defects")
    assert delivered[plain]["isResolved"] and delivered[plain]["mechanicNotes"] == "Pads replaced"


def test_without_the_fmc_endpoint_the_write_back_is_not_run_and_the_summary_says_why(
    sb: SandboxProcess,
) -> None:
    script(sb, {"defectId": "9999"})
    rt = runtime(sb, fmc=False)
    out = rt.invoke({**EVENT, "startTime": "2026-11-01T06:00:00Z"}, None)
    assert out["ok"] and out["writeBack"]["ran"] is False and "`FMC_URL`" in out["writeBack"]["why"]
    assert [s["stream"] for s in out["streams"]] == ["defects", "dvirs"]
    starts = {r["path"]: r["query"] for r in streamed(sb)}
    assert all("startTime=2026-11-01T06%3A00%3A00.000Z" in q for q in starts.values()), starts
    sink = rt.sink()
    assert (
        isinstance(sink, MemorySink) and sink.records("dvir_defects") and not sink.records("write_outcomes")
    )
    assert patches(sb) == {}
    off = runtime(sb).invoke({**EVENT, "resolveWriteBack": "false"}, None)
    assert off["ok"] and off["writeBack"] == {"ran": False, "why": "`resolveWriteBack` is `false`"}
    assert patches(sb) == {} and not sb.fmc_records("write_outcomes")


def test_a_token_without_write_defects_fails_preflight_and_nothing_is_written(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    scopes = "Read Org Information,Read Defects,Read Defect Types,Read DVIRs"
    sb = sandbox_factory(*DEFAULT_ARGS, "--fmc-token", FMC_TOKEN, "--token", f"T-read={scopes}")
    script(sb, {"defectId": "9999"})
    out = runtime(sb, token="T-read").invoke(EVENT, None)
    assert out["ok"] is False and "`Write Defects`" in out["message"], out
    assert "`Read" not in out["message"], "only the missing scope is named"
    assert patches(sb) == {}
    assert not sb.fmc_records("dvir_defects") and not sb.fmc_records("write_outcomes")
    assert not streamed(sb), "no stream was read"


def test_bad_parameters_are_named_and_nothing_is_requested_or_written(sb: SandboxProcess) -> None:
    rt = runtime(sb)
    for event, message in (
        ({"lookbackHours": "0"}, "`lookbackHours` is `0`"),
        ({"maxPages": "0"}, "`maxPages` is `0`"),
        ({"mechanicUserId": "7100; DROP"}, "`mechanicUserId`"),
        ({"resolveWriteBack": "maybe"}, "`resolveWriteBack` is `maybe`"),
    ):
        out = rt.invoke({**EVENT, **event}, None)
        assert out["ok"] is False and message in out["message"], out
    assert sb.requests() == [], "nothing was requested"
    out = rt.invoke({k: v for k, v in EVENT.items() if k != "mechanicUserId"}, None)
    assert (
        out["ok"] is False and "`mechanicUserId`" in out["message"] and "`resolveWriteBack`" in out["message"]
    )
    out = rt.invoke({**EVENT, "startTime": "2026-13-45T00:00:00Z"}, None)
    assert out["ok"] is False and "`startTime` is `2026-13-45T00:00:00Z`" in out["message"], out
    assert not streamed(sb) and patches(sb) == {}
    assert not sb.fmc_records("dvir_defects")


def test_each_defect_carries_its_vmrs_system_from_the_project_table_or_the_fmcs_own(
    sb: SandboxProcess,
) -> None:
    rt = runtime(sb, fmc=False)
    out = rt.invoke({**EVENT, "startTime": "2026-10-25T00:00:00Z"}, None)
    assert out["ok"], out
    sink = rt.sink()
    assert isinstance(sink, MemorySink)
    schema = records.schema("dvir_defects")
    assert schema is not None
    by_label: dict[str, dict[str, Any]] = {}
    for r in sink.records("dvir_defects"):
        assert records.validate(schema, r) == [], r
        by_label[str(r["defectType"])] = dict(r["vmrs"])
    assert by_label["Brakes"] == {
        "codeKey": 31,
        "systemCode": "013",
        "system": "Brakes",
        "table": "builtin",
        "unmapped": False,
    }
    assert by_label["Tires"]["systemCode"] == "017"
    assert by_label["Lights - Head/Stop/Turn"]["systemCode"] == "034"
    unmapped = {"Coupling Devices", "Fluid Leaks"} & by_label.keys()
    assert unmapped, sorted(by_label)
    for label in unmapped:  # not in the project's table: said so
        assert by_label[label] == {
            "codeKey": 31,
            "systemCode": None,
            "system": None,
            "table": "builtin",
            "unmapped": True,
        }

    # The FMC's own table, as a CSV in the Function's storage: by label or by defect type ID.
    storage = MemoryStorage()
    storage.put(
        "config/vmrs.csv",
        b"defectType,systemCode,system\n# ours\nbrakes,013,Brakes - Air\n108,044,Fuel System\n",
    )
    own = runtime(sb, fmc=False, storage=storage)
    out = own.invoke(
        {**EVENT, "startTime": "2026-10-25T00:00:00Z", "vmrsTable": "storage:config/vmrs.csv"}, None
    )
    assert out["ok"], out
    sink = own.sink()
    assert isinstance(sink, MemorySink)
    got = {str(r["defectType"]): r["vmrs"] for r in sink.records("dvir_defects")}
    assert got["Brakes"] == {
        "codeKey": 31,
        "systemCode": "013",
        "system": "Brakes - Air",
        "table": "fmc",
        "unmapped": False,
    }
    assert got["Fluid Leaks"]["systemCode"] == "044" and got["Fluid Leaks"]["table"] == "fmc", "by type ID"
    assert got["Tires"]["unmapped"] is True, "the FMC's table is the whole table"

    inline = runtime(sb, fmc=False)
    out = inline.invoke(
        {**EVENT, "startTime": "2026-10-25T00:00:00Z", "vmrsTable": "Tires,017;Horn,002,Cab"}, None
    )
    assert out["ok"], out
    sink = inline.sink()
    assert isinstance(sink, MemorySink)
    got = {str(r["defectType"]): r["vmrs"] for r in sink.records("dvir_defects")}
    assert got["Tires"]["systemCode"] == "017" and got["Tires"]["system"] is None
    assert got["Brakes"]["unmapped"] is True


def test_a_bad_vmrs_table_is_named_with_its_row_and_nothing_runs(sb: SandboxProcess) -> None:
    storage = MemoryStorage()
    storage.put("config/vmrs.csv", b"defectType,systemCode\nBrakes,013\nTires,17\n")
    for table, message in (
        ("storage:config/vmrs.csv", "VMRS table `config/vmrs.csv`, row 3 (`Tires,17`): system code `17`"),
        ("storage:config/none.csv", "`config/none.csv`, which is not in the Function's storage"),
        ("Brakes", "row 1 (`Brakes`): use `defectType,systemCode[,system]`"),
        ("Brakes,013;brakes,014", "row 2 (`brakes,014`): defect type `brakes` is already mapped to `013`"),
    ):
        out = runtime(sb, storage=storage).invoke({**EVENT, "vmrsTable": table}, None)
        assert out["ok"] is False and message in out["message"], (table, out)
    assert not streamed(sb) and patches(sb) == {}
    assert not sb.fmc_records("dvir_defects")
