"""forms-issues against the sandbox: submissions and issues delivered to the FMC endpoint equal a fresh
read of the window (changes made in the dashboard between runs as upserts), and the FMC's
``issue.created``, ``issue.updated`` and ``form.assigned`` changes applied once each (the request log
and the sandbox's count of what each change produced) across a crash between the send and the state
write, the platform's retry and lost answers, with their outcomes delivered back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from samsara_fmc.integrations import forms_issues
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

NARROW = "T-read-only"
POD = "9b1e6a52-0000-4000-8000-000000000003"
"""The sandbox's proof-of-delivery template."""
MANAGER = "7100"


@pytest.fixture
def sb(sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    box = sandbox_factory(*sandbox_args(f"{NARROW}=Read Org Information,Read Form Submissions,Read Issues"))
    monkeypatch.setattr(forms_issues, "now", sim_clock(box))
    return box


def first(rt: Any, stream: str) -> str:
    [key] = [k for k in rt.storage.objects if k.startswith("state/") and k.endswith(f"/{stream}.json")]
    return str(json.loads(rt.storage.objects[key])["state"]["first"])


def truth(sb: SandboxProcess, path: str, start: str) -> dict[str, dict[str, Any]]:
    """A fresh read of a stream from ``start``, each object's newest version."""
    latest: dict[str, dict[str, Any]] = {}
    for item in client(sb).records(path, params={"startTime": start, "include": "externalIds"}):
        latest[str(item["id"])] = dict(item)
    return latest


def check_against_truth(sb: SandboxProcess, rt: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    forms = truth(sb, forms_issues.FORMS_PATH, first(rt, "form-submissions"))
    issues = truth(sb, forms_issues.ISSUES_PATH, first(rt, "issues"))
    got_forms, got_issues = stored(sb, "form_submissions"), stored(sb, "issues")
    assert got_forms == {i: forms_issues.form_record(f) for i, f in forms.items()}
    assert got_issues == {i: forms_issues.issue_record(x) for i, x in issues.items()}
    return got_forms, got_issues


def got_reason(sb: SandboxProcess, change: str) -> str:
    return str(stored(sb, "write_outcomes")[change]["reason"])


def vehicles(sb: SandboxProcess) -> list[dict[str, Any]]:
    return list(client(sb).records("/fleet/vehicles", params={"limit": 512}))


def drivers(sb: SandboxProcess) -> list[str]:
    return [str(d["id"]) for d in client(sb).records("/fleet/drivers", params={"limit": 512})]


def test_submissions_and_issues_delivered_equal_the_window_and_dashboard_changes_are_upserts(
    sb: SandboxProcess,
) -> None:
    rt = runtime(sb, "forms-issues")
    out = rt.invoke(event(1, lookbackHours="40"), None)
    assert out["ok"] and out["caughtUp"], out
    assert out["writeBack"] == {"ran": True, "why": None}
    forms, issues = check_against_truth(sb, rt)
    assert len(forms) > 50 and issues
    assert {f["status"] for f in forms.values()} >= {"completed", "approved", "needsReview"}
    assert any(f["assignedTo"] and f["status"] in ("notStarted", "inProgress") for f in forms.values())
    assert all(f["asset"]["externalIds"] is not None for f in forms.values() if f["asset"])
    assert any("maintenanceId" in f["asset"]["externalIds"] for f in forms.values() if f["asset"])
    answered = [x for f in forms.values() for x in f["fields"]]
    assert {x["type"] for x in answered} >= {"number", "text", "multiple_choice", "datetime"}
    assert all(x["valueIds"] for x in answered if x["type"] == "multiple_choice")

    # In the dashboard between runs: an issue is raised, another is taken up, forms are reviewed and
    # drivers submit new ones as the day goes on.
    c = client(sb)
    [v] = vehicles(sb)[:1]
    raised = c.request("POST", "/issues", json_body={"title": "Door seal torn", "asset": {"id": v["id"]}})
    target = next(iter(issues))
    sb.advance(60)
    c.request("PATCH", "/issues", json_body={"id": target, "status": "inProgress"})
    sb.advance(8 * 3600)
    before = sb.fmc_summary("issues")
    again = rt.invoke(event(2, lookbackHours="40"), None)
    assert again["ok"] and again["caughtUp"], again
    forms2, issues2 = check_against_truth(sb, rt)
    assert len(forms2) > len(forms), "new submissions arrived"
    assert issues2[raised["data"]["id"]]["title"] == "Door seal torn"
    assert issues2[target]["status"] == "inProgress", "an upsert of the same id"
    summary = sb.fmc_summary("issues")
    assert summary["updates"] == before["updates"] + 1 and summary["duplicates"] == 0
    assert sb.fmc_summary("form_submissions")["duplicates"] == 0
    quiet = rt.invoke(event(3, lookbackHours="40"), None)
    assert quiet["ok"] and quiet["records"] == 0, "a rerun with nothing new delivers nothing"


def test_each_fmc_change_is_applied_once_across_a_crash_lost_answers_and_refusals(
    sb: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = client(sb)
    v1, v2 = (str(v["id"]) for v in vehicles(sb)[:2])
    d1, d2, d3 = drivers(sb)[:3]
    rt = runtime(sb, "forms-issues")
    # A first run without write-back: the submissions and issues, and the preflight's probes, once.
    assert rt.invoke(event(0, lookbackHours="40", writeBack="false"), None)["ok"]
    generated = next(iter(stored(sb, "issues")))
    changes = {
        "lostCreate": script(sb, "issue.created", {"title": "Oil leak", "assetId": v1}),
        "create": script(
            sb,
            "issue.created",
            {
                "title": "Replace wiper blades",
                "assetId": v2,
                "priority": "low",
                "fmcIssueId": "FMC-WO-881",
                "assignedToUserId": MANAGER,
                "dueDate": "2026-11-05T17:00:00Z",
            },
        ),
        "update": script(
            sb, "issue.updated", {"issueId": generated, "status": "inProgress", "assignedToUserId": MANAGER}
        ),
        "same": script(sb, "issue.updated", {"issueId": generated, "status": "inProgress"}),
        "byFmcId": script(sb, "issue.updated", {"issueId": "fmcIssueId:FMC-WO-881", "status": "resolved"}),
        "lostForm": script(sb, "form.assigned", {"formTemplateId": POD, "driverId": d1, "title": "Stop 1"}),
        "form": script(
            sb,
            "form.assigned",
            {"formTemplateId": POD, "driverId": d2, "title": "Stop 2", "dueAtTime": "2026-11-03T12:00:00Z"},
        ),
        "crashForm": script(sb, "form.assigned", {"formTemplateId": POD, "driverId": d3, "title": "Stop 3"}),
        "badPriority": script(sb, "issue.created", {"title": "X", "assetId": v1, "priority": "urgent"}),
        "noTitle": script(sb, "issue.created", {"assetId": v1}),
        "unknownIssue": script(sb, "issue.updated", {"issueId": "nope", "status": "resolved"}),
        "unknownDriver": script(sb, "form.assigned", {"formTemplateId": POD, "driverId": "999999"}),
    }
    sb.faults(
        {"method": "POST", "path": "/issues", "kind": "fail_after_commit", "status": 502},
        {"method": "POST", "path": "/form-submissions", "kind": "reset"},
        {"method": "PATCH", "path": "/issues", "kind": "reset"},
        {"path": "/fmc/v1/changes", "kind": "repeat_records", "times": 2},
    )
    request, crashed = crash_after(
        rt, "POST", "/form-submissions", lambda kw: kw["json_body"].get("title") == "Stop 3"
    )
    monkeypatch.setattr(rt.client(), "request", request)
    since = len(sb.requests())
    with pytest.raises(RuntimeError, match="injected crash"):
        rt.invoke(event(1, lookbackHours="40"), None)
    assert crashed
    out = rt.invoke(event(1, lookbackHours="40"), None)  # the platform's retry
    assert out["ok"] and out["caughtUp"], out
    assert sb.get("/__sandbox/faults")["rules"] == [], "the answers were lost and the feed repeated"

    assert writes(sb, "POST", "/issues", since) == [502, 200], "lost answer read back by external ID"
    assert writes(sb, "PATCH", "/issues", since) == [200, 200, 404], "lost answer read back; `same` not sent"
    assert writes(sb, "POST", "/form-submissions", since) == [200, 200, 200, 400]
    status = change_status(sb)
    for name in ("lostCreate", "create", "lostForm", "form", "crashForm"):
        assert status[changes[name]]["copies"] == 1, name
    for name in ("update", "same", "byFmcId"):
        assert status[changes[name]]["applied"], name
    assert "an earlier attempt was applied" in got_reason(sb, changes["update"])
    got = stored(sb, "write_outcomes")
    assert {n: got[cid]["status"] for n, cid in changes.items()} == {
        "lostCreate": "already",
        "create": "applied",
        "update": "already",
        "same": "already",
        "byFmcId": "applied",
        "lostForm": "already",
        "form": "applied",
        "crashForm": "already",
        "badPriority": "rejected",
        "noTitle": "rejected",
        "unknownIssue": "rejected",
        "unknownDriver": "rejected",
    }
    created = got[changes["create"]]["target"]
    assert created["kind"] == "issue" and created["id"] and ":" not in created["id"], "the new issue's ID"
    assert created["externalIds"] == {"fmcChangeId": changes["create"], "fmcIssueId": "FMC-WO-881"}
    assert f"fmcChangeId:{changes['lostCreate']}" in got[changes["lostCreate"]]["reason"]
    assert "earlier attempt was applied" in got[changes["crashForm"]]["reason"]
    assert f"`{d3}`" in got[changes["crashForm"]]["reason"]
    assert "`urgent`" in got[changes["badPriority"]]["reason"]
    assert got[changes["badPriority"]]["samsaraResponse"] is None
    assert "`data.title` is missing" in got[changes["noTitle"]]["reason"]
    assert got[changes["unknownIssue"]]["samsaraResponse"]["status"] == 404
    assert got[changes["unknownDriver"]]["samsaraResponse"]["status"] == 400
    assert sb.fmc_summary("write_outcomes")["records"] == len(changes)

    issue = c.request("GET", "/issues", params={"ids": "fmcIssueId:FMC-WO-881", "include": "externalIds"})
    [mine] = issue["data"]
    assert mine["status"] == "resolved" and mine["assignedTo"] == {"id": MANAGER, "type": "user"}
    assert mine["priority"] == "low" and mine["id"] == created["id"]
    g = c.request("GET", "/issues", params={"ids": generated})["data"][0]
    assert g["status"] == "inProgress" and g["assignedTo"]["id"] == MANAGER

    # The next run delivers what the FMC changed, with the external IDs it can join on.
    seen = len(sb.requests())
    again = rt.invoke(event(2, lookbackHours="40"), None)
    assert again["ok"] and again["caughtUp"]
    written = [
        r for r in sb.requests(seen) if r["method"] in ("POST", "PATCH") and not r["path"].startswith("/fmc/")
    ]
    assert not written, "nothing written to Samsara again"
    issues = stored(sb, "issues")
    assert issues[created["id"]]["externalIds"]["fmcChangeId"] == changes["create"]
    assert issues[created["id"]]["status"] == "resolved"
    sent = [
        f
        for f in stored(sb, "form_submissions").values()
        if f["formTemplateId"] == POD and f["title"] in ("Stop 1", "Stop 2", "Stop 3")
    ]
    assert sorted((f["title"], f["assignedTo"]["id"], f["status"]) for f in sent) == [
        ("Stop 1", d1, "notStarted"),
        ("Stop 2", d2, "notStarted"),
        ("Stop 3", d3, "notStarted"),
    ]
    check_against_truth(sb, rt)


def test_form_and_issue_records_never_carry_media_urls() -> None:
    url = "https://media.sandbox.invalid/x.jpg?sig=secret"
    media = {"id": "m1", "processingStatus": "finished", "url": url, "urlExpiresAt": "2026-11-03T00:00:00Z"}
    item = {
        "id": "fs-1",
        "formTemplate": {"id": "t1", "revisionId": "r1"},
        "status": "completed",
        "isRequired": True,
        "createdAtTime": "2026-11-02T10:00:00Z",
        "submittedAtTime": "2026-11-02T10:05:00Z",
        "updatedAtTime": "2026-11-02T10:05:00Z",
        "submittedBy": {"id": "52000211", "type": "driver"},
        "fields": [
            {"id": "f1", "type": "signature", "signatureValue": {"media": media}},
            {"id": "f2", "type": "media", "mediaValue": {"mediaList": [media, media]}},
            {
                "id": "f3",
                "type": "check_boxes",
                "checkBoxesValue": {"value": ["A", "B"], "valueIds": ["a", "b"]},
            },
            {"id": "f4", "type": "person", "personValue": {"person": {"id": "1", "photo": media}}},
            {"id": "f5", "type": "barcode", "barcodeValue": {"barcodes": [{"value": "0123"}]}},
            {"id": "f6", "type": "text", "textValue": {"value": "fine"}, "mediaList": [media]},
        ],
    }
    r = forms_issues.form_record(item)
    assert url not in json.dumps(r)
    counts = {f["id"]: f["mediaCount"] for f in r["fields"]}
    assert counts == {"f1": 1, "f2": 2, "f3": 0, "f4": 0, "f5": 0, "f6": 1}
    values = {f["id"]: f["value"] for f in r["fields"]}
    assert values["f3"] == ["A", "B"] and values["f5"] == ["0123"] and values["f6"] == "fine"
    assert r["driverId"] == "52000211"
    issue = {
        "id": "i1",
        "title": "T",
        "status": "open",
        "createdAtTime": "2026-11-02T10:00:00Z",
        "submittedAtTime": "2026-11-02T10:00:00Z",
        "updatedAtTime": "2026-11-02T10:00:00Z",
        "submittedBy": {"id": "1", "type": "user"},
        "issueSource": {"type": "ad-hoc"},
        "mediaList": [media],
    }
    ir = forms_issues.issue_record(issue)
    assert url not in json.dumps(ir) and ir["mediaCount"] == 1 and ir["asset"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lookbackHours": "0"}, "`lookbackHours` is `0`"),
        ({"formTemplateIds": "bad id!"}, "`formTemplateIds` is `bad id!`"),
        ({"writeBack": "maybe"}, "`writeBack` is `maybe`"),
        ({"maxPages": "0"}, "`maxPages` is `0`"),
    ],
)
def test_bad_parameters_fail_clearly_and_nothing_is_requested(
    sb: SandboxProcess, params: dict[str, str], message: str
) -> None:
    script(sb, "issue.created", {"title": "X", "assetId": "1"})
    since = len(sb.requests())
    out = runtime(sb, "forms-issues").invoke(event(1, **params), None)
    assert out["ok"] is False and message in out["message"], out
    assert sb.requests(since) == [] and not sb.fmc_records("issues")


def test_a_token_without_the_write_scopes_fails_preflight_naming_them(sb: SandboxProcess) -> None:
    script(sb, "issue.created", {"title": "X", "assetId": "1"})
    out = runtime(sb, "forms-issues", token=NARROW).invoke(event(1), None)
    assert out["ok"] is False, out
    assert "`Write Issues`" in out["message"] and "`Write Form Submissions`" in out["message"]
    assert "`Read" not in out["message"], "only the missing scopes"
    assert not [r for r in sb.requests() if r["method"] == "POST" and not r["path"].startswith("/fmc/")]
    assert not sb.fmc_records("issues") and not sb.fmc_records("write_outcomes")


def test_without_the_fmc_endpoint_nothing_is_written_and_the_summary_says_why(sb: SandboxProcess) -> None:
    script(sb, "issue.created", {"title": "X", "assetId": "1"})
    out = runtime(sb, "forms-issues", fmc=False).invoke(event(1, lookbackHours="6"), None)
    assert out["ok"] and out["writeBack"]["ran"] is False and "`FMC_URL`" in out["writeBack"]["why"]
    assert [s["stream"] for s in out["streams"]] == ["form-submissions", "issues"]
    assert not [r for r in sb.requests() if r["method"] in ("POST", "PATCH") and r["status"] == 200]
