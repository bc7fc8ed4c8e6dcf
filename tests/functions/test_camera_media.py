"""camera-media against the sandbox: a retrieval per safety event (or alert), requested once across
crashes and reruns, polled in later runs, downloaded before its URL expires; every retrieval ends
delivered (bytes in Function Storage, metadata to the FMC) or with an explicit failure record, and no
media URL appears in anything a run wrote."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc import records
from samsara_fmc.client import RetryPolicy
from samsara_fmc.integrations import camera_media
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.sinks.fmc_http import file_name
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.storage import MemoryStorage
from tests.conftest import Reply, ScriptedServer, Seen
from tests.engine.test_jobs import SANDBOX_MEDIA, MediaHost, media_bytes
from tests.functions.safety_rig import MEDIA_HOST, ROOT, Rig, sandbox_args
from tests.support.sandbox import SandboxProcess
from tests.test_runtime import FakeSecrets

STREAM = "camera_media"
LABELS = "Braking,Speeding"
NO_WRITE = "no-write-media"
"""A token with every scope of the Function but `Write Media Retrieval`."""
NO_READ = "no-read-media"
"""A token with every scope of the Function but `Read Media Retrieval`."""


@pytest.fixture
def rig_factory(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch, server: ScriptedServer
) -> Callable[..., tuple[Rig, MediaHost]]:
    sb = sandbox_factory(
        *sandbox_args(),
        "--token",
        f"{NO_WRITE}=Read Org Information,Read Safety Events & Scores,Read Media Retrieval",
        "--token",
        f"{NO_READ}=Read Org Information,Read Safety Events & Scores,Write Media Retrieval",
    )

    def make(**kw: Any) -> tuple[Rig, MediaHost]:
        rig = Rig(sb, "camera-media", **kw)
        host = MediaHost(server)
        monkeypatch.setattr(camera_media, "CLOCK", rig.now)
        monkeypatch.setattr(camera_media, "DOWNLOAD", host.download)
        return rig, host

    return make


def events(rig: Rig, hours: int, labels: str = LABELS) -> dict[str, dict[str, Any]]:
    """The safety events a first run `hours` back reads (with the label filter), read afresh."""
    query = {"queryByTimeField": "updatedAtTime", "startTime": rig.start_of(hours), "behaviorLabels": labels}
    return {str(e["id"]): e for e in rig.truth("/safety-events/stream", query)}


def posts(rig: Rig) -> list[dict[str, Any]]:
    """Retrievals the sandbox accepted (the preflight's probe is a refused empty POST)."""
    return [
        r
        for r in rig.sb.requests()
        if r["path"] == "/cameras/media/retrieval" and r["method"] == "POST" and r["status"] == 200
    ]


def pending(rig: Rig) -> dict[str, Any]:
    [name] = {
        k.rsplit("/", 1)[1].removesuffix(".json")
        for k in rig.storage.objects
        if k.startswith("state/") and "/camera-media." in k
    }
    return dict(rig.state(name)["pending"])


def until_done(rig: Rig, runs: int = 6, **params: str) -> list[dict[str, Any]]:
    """Runs two simulated minutes apart until nothing is pending; their summaries."""
    out = []
    for _ in range(runs):
        rig.sb.advance(150)
        out.append(rig.run_ok(**params))
        if not pending(rig):
            return out
    pytest.fail(f"still pending after {runs} runs: {sorted(pending(rig))}")


def assert_ends_as_the_sandbox_says(rig: Rig, held: Iterable[dict[str, Any]]) -> None:
    """Each record's status is how the sandbox ended its retrieval (`available` when any input is)."""
    by_vehicle_time: dict[tuple[str, str], set[str]] = {}
    for t in rig.sb.retrievals():
        by_vehicle_time[(str(t["vehicleId"]), str(t["startTime"]))] = {i["status"] for i in t["inputs"]}
    for r in held:
        if r["status"] == "rejected":
            continue
        end = by_vehicle_time[(str(r["vehicleId"]), str(r["startTime"]))]
        assert r["status"] == ("available" if "available" in end else min(end)), r
        if r["status"] != "available":
            assert r["files"] == [] and r["retrievalId"] is None and "failed" in str(r["reason"])


def no_media_url(rig: Rig, host: MediaHost, texts: list[str]) -> None:
    written = "\n".join([rig.written(), *texts, json.dumps(rig.delivered(STREAM))])
    assert MEDIA_HOST not in written, "no media URL anywhere a run wrote"
    assert host.urls, "media URLs were fetched"
    for url in host.urls:
        assert url.removeprefix(SANDBOX_MEDIA + "/") not in written


def test_each_event_gets_one_retrieval_that_ends_delivered_with_its_bytes_stored(
    rig_factory: Callable[..., tuple[Rig, MediaHost]], capfd: pytest.CaptureFixture[str]
) -> None:
    rig, host = rig_factory(fmc=True)
    first = rig.run_ok(
        behaviorLabels=LABELS, lookbackHours="6", inputs="dashcamRoadFacing,dashcamDriverFacing"
    )
    expected = events(rig, 6)
    assert 3 <= len(expected) <= 60, len(expected)
    assert first["records"] == 0 and sorted(pending(rig)) == sorted(expected), "all requested, none ready"
    assert first["quotaStatus"] == "Under quota"
    summaries = [
        first,
        *until_done(
            rig, behaviorLabels=LABELS, lookbackHours="6", inputs="dashcamRoadFacing,dashcamDriverFacing"
        ),
    ]

    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert set(expected) <= held.keys(), "every event of the window has its record"
    assert_ends_as_the_sandbox_says(rig, held.values())
    assert {r["status"] for r in held.values()} == {"available", "failed"}, "both kinds in this window"
    accepted = posts(rig)
    assert len(accepted) == len(held), "one POST per item"
    assert len({r["retrievalId"] for r in held.values()}) == len(held)
    summary = rig.sb.fmc_summary(STREAM)
    assert summary["records"] == len(held) and summary["duplicates"] == 0 and summary["updates"] == 0
    schema = records.schema(STREAM)
    assert schema is not None and all(records.validate(schema, r) == [] for r in held.values())
    for i, e in expected.items():
        r = held[i]
        assert r["source"] == "safetyEvent" and r["safetyEventId"] == i
        assert r["vehicleId"] == e["asset"]["id"] and r["startTime"] == r["endTime"]
        inputs = [f["input"] for f in r["files"]]
        assert inputs == (["dashcamDriverFacing", "dashcamRoadFacing"] if r["status"] == "available" else [])
    served = {hashlib.sha256(media_bytes(urllib.parse.urlsplit(u).path)).hexdigest() for u in host.urls}
    files = {f["name"]: f for f in rig.sb.fmc_files(STREAM)}
    delivered_files = [f for r in held.values() for f in r["files"]]
    assert len(files) == len(delivered_files), "one FMC file per file of a record, none twice"
    assert all(f["deliveries"] == 1 and f["duplicates"] == 0 for f in files.values())
    for r in held.values():
        for f in r["files"]:
            name = file_name(f["fileKey"])
            data = rig.sb.fmc_file(STREAM, name)
            assert f["fileKey"].startswith(f"{r['retrievalId']}/") and f["location"].endswith("/" + name)
            assert hashlib.sha256(data).hexdigest() == f["sha256"] and f["sha256"] in served
            assert f["sizeBytes"] == len(data) == files[name]["size"] and f["contentType"] == "image/jpeg"
            assert files[name]["contentType"] == "image/jpeg"
    assert all(s["quotaStatus"] == "Under quota" for s in summaries)
    health = json.loads(rig.storage.objects["health/camera-media.json"])
    assert health["quotaStatus"] == "Under quota", "the quota is reported in health"

    rig.sb.advance(150)
    again = rig.run_ok(
        behaviorLabels=LABELS, lookbackHours="6", inputs="dashcamRoadFacing,dashcamDriverFacing"
    )
    assert len(posts(rig)) == len(rig.delivered(STREAM)) + len(pending(rig)), (
        "a rerun requests only events new since"
    )
    no_media_url(rig, host, [capfd.readouterr().out, json.dumps([*summaries, again])])


def test_one_post_per_item_across_crashes_and_reruns(
    rig_factory: Callable[..., tuple[Rig, MediaHost]],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    rig, host = rig_factory()
    params = {"behaviorLabels": LABELS, "lookbackHours": "6"}
    real_item = camera_media.event_item
    calls = {"n": 0}

    def crashing_item(*a: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return real_item(*a, **kw)

    monkeypatch.setattr(camera_media, "event_item", crashing_item)
    with pytest.raises(RuntimeError, match="killed"):
        rig.invoke(**params)
    assert len(posts(rig)) == 2 and len(pending(rig)) == 2, "two requested before the crash"
    rig.run_ok(**params)  # the platform's retry: the rest requested, the two not again
    expected = events(rig, 6)
    assert sorted(pending(rig)) == sorted(expected) and len(posts(rig)) == len(expected)

    real_download = host.download
    downloads = {"n": 0}

    def crashing_download(url: str, deadline: float) -> bytes:
        downloads["n"] += 1
        if downloads["n"] == 2:
            raise RuntimeError("killed while downloading")
        return real_download(url, deadline)

    monkeypatch.setattr(camera_media, "DOWNLOAD", crashing_download)
    rig.sb.advance(150)
    with pytest.raises(RuntimeError, match="killed while downloading"):
        rig.invoke(**params)
    until_done(rig, **params)

    held = Counter(str(r["id"]) for r in rig.delivered(STREAM))
    assert set(expected) <= set(held) and all(n == 1 for n in held.values()), held
    assert len(posts(rig)) == len(held), "one POST per item across the crashes and reruns"
    assert_ends_as_the_sandbox_says(rig, rig.delivered(STREAM))
    sink = rig.rt.sink()
    assert isinstance(sink, MemorySink)
    files = [f for r in rig.delivered(STREAM) for f in r["files"]]
    assert files and sorted(sink.files) == sorted((STREAM, f["fileKey"]) for f in files)
    for f in files:  # the bytes, delivered to the sink beside the records
        data, kind = sink.files[(STREAM, f["fileKey"])]
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and kind == f["contentType"]
    no_media_url(rig, host, [capfd.readouterr().out])


def kill_after_a_post(monkeypatch: pytest.MonkeyPatch, rig: Rig, ends: str) -> dict[str, str]:
    """Kills the run right after Samsara accepted the first retrieval whose media ends `ends`
    (`available` or not), before its ID is saved: what a SIGKILL in that window leaves. Returns
    `{"retrievalId", "item"}` of the orphaned retrieval once it happened."""
    from samsara_fmc.client import Client

    real = Client.request
    orphan: dict[str, str] = {}

    def request(self: Client, method: str, path: str, **kw: Any) -> Any:
        answer = real(self, method, path, **kw)  # type: ignore[arg-type]
        if method == "POST" and path == "/cameras/media/retrieval" and not orphan:
            rid = str(answer["data"]["retrievalId"])
            [t] = [t for t in rig.sb.retrievals() if str(t["retrievalId"]) == rid]
            if ("available" in {i["status"] for i in t["inputs"]}) == (ends == "available"):
                orphan.update(retrievalId=rid, vehicleId=str(t["vehicleId"]), startTime=str(t["startTime"]))
                raise RuntimeError("killed after the POST")
        return answer

    monkeypatch.setattr(Client, "request", request)
    return orphan


def test_a_retrieval_a_killed_run_never_saved_is_found_in_the_uploaded_media_not_requested_again(
    rig_factory: Callable[..., tuple[Rig, MediaHost]], monkeypatch: pytest.MonkeyPatch
) -> None:
    rig, host = rig_factory(fmc=True)
    params = {"behaviorLabels": LABELS, "lookbackHours": "6"}
    params["inputs"] = "dashcamRoadFacing,dashcamDriverFacing"
    orphan = kill_after_a_post(monkeypatch, rig, "available")
    with pytest.raises(RuntimeError, match="killed after the POST"):
        rig.invoke(**params)
    [item] = [k for k, v in pending(rig).items() if not v.get("job")]
    assert pending(rig)[item]["sentAt"], "the request was marked before it went out"
    rig.run_ok(**params)  # the platform's retry: the rest requested, the orphan's item looked for
    assert not pending(rig)[item].get("job") and len(posts(rig)) == len(events(rig, 6))
    until_done(rig, **params)

    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert len(posts(rig)) == len(held) == len(events(rig, 6)), "one POST per item, the orphan's too"
    r = held[item]
    assert (r["vehicleId"], r["startTime"]) == (orphan["vehicleId"], orphan["startTime"])
    assert r["status"] == "available" and r["retrievalId"] is None, r
    assert [f["input"] for f in r["files"]] == ["dashcamDriverFacing", "dashcamRoadFacing"]
    assert r["missing"] == []
    for f in r["files"]:  # the orphan's own media, as its poll would have served it
        assert f["fileKey"].startswith(f"item-{item}/")
        data = rig.sb.fmc_file(STREAM, file_name(f["fileKey"]))
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
    polls = [q for q in rig.sb.requests() if q["path"] == "/cameras/media/retrieval" and q["method"] == "GET"]
    assert not [q for q in polls if f"retrievalId={orphan['retrievalId']}" in str(q["query"])]
    lists = [q for q in rig.sb.requests() if q["path"] == "/cameras/media"]
    assert lists and all("triggerReasons=api" in str(q["query"]) for q in lists)
    assert host.urls


def test_an_unsaved_retrieval_that_uploads_nothing_is_requested_again_after_the_wait(
    rig_factory: Callable[..., tuple[Rig, MediaHost]], monkeypatch: pytest.MonkeyPatch
) -> None:
    rig, _ = rig_factory()
    params = {"behaviorLabels": LABELS, "lookbackHours": "6"}
    orphan = kill_after_a_post(monkeypatch, rig, "failed")
    with pytest.raises(RuntimeError, match="killed after the POST"):
        rig.invoke(**params)
    [item] = [k for k, v in pending(rig).items() if not v.get("job")]
    for _ in range(3):  # within the wait: looked for, not requested again
        rig.sb.advance(150)
        rig.run_ok(**params)
    assert item in pending(rig) and not pending(rig)[item].get("job")
    by_item = Counter((str(t["vehicleId"]), str(t["startTime"])) for t in rig.sb.retrievals())
    assert by_item[(orphan["vehicleId"], orphan["startTime"])] == 1
    rig.sb.advance(int(camera_media.RECOVER_WAIT.total_seconds()))
    until_done(rig, **params)
    by_item = Counter((str(t["vehicleId"]), str(t["startTime"])) for t in rig.sb.retrievals())
    assert by_item[(orphan["vehicleId"], orphan["startTime"])] == 2, "requested again once, after the wait"
    held = Counter(str(r["id"]) for r in rig.delivered(STREAM))
    assert held[item] == 1 and all(n == 1 for n in held.values())
    assert_ends_as_the_sandbox_says(rig, rig.delivered(STREAM))  # as the second retrieval ended


def test_an_alert_requests_its_vehicle_at_its_time_and_a_refused_one_ends_in_a_record(
    rig_factory: Callable[..., tuple[Rig, MediaHost]], capfd: pytest.CaptureFixture[str]
) -> None:
    rig, host = rig_factory()
    vehicle = str(next(iter(rig.truth("/fleet/vehicles", {"limit": "1"})))["id"])
    at = rig.start_of(1)
    base = {"SamsaraFunctionTriggerSource": "alert", "mediaType": "videoHighRes"}
    ok = rig.rt.invoke({**base, "assetId": vehicle, "alertIncidentTime": at}, None)
    assert ok["ok"] and ok["quotaStatus"] == "Under quota", ok
    bad = rig.rt.invoke({**base, "assetId": "999999", "alertIncidentTime": at}, None)
    assert bad["ok"], bad
    [refused] = rig.delivered(STREAM)
    assert refused["id"] == f"alert:999999:{at}" and refused["status"] == "rejected"
    assert "vehicleId" in str(refused["reason"]) and refused["files"] == []
    assert not [r for r in rig.sb.requests() if r["path"] == "/safety-events/stream"], (
        "an alert reads no events"
    )

    # Scheduled runs of the same configuration poll it to its end (and request the last hour's events).
    until_done(rig, mediaType="videoHighRes", lookbackHours="1")
    done = {str(r["id"]): r for r in rig.delivered(STREAM)}
    r = done[f"alert:{vehicle}:{at}"]
    assert_ends_as_the_sandbox_says(rig, [r])
    assert r["source"] == "alert" and r["vehicleId"] == vehicle
    assert r["endTime"] == at and r["mediaType"] == "videoHighRes"
    assert [f["input"] for f in r["files"]] == (["dashcamRoadFacing"] if r["status"] == "available" else [])
    no_media_url(rig, host, [capfd.readouterr().out, json.dumps([ok, bad])])


def test_media_that_cannot_be_downloaded_past_the_deadline_ends_timed_out(
    rig_factory: Callable[..., tuple[Rig, MediaHost]], capfd: pytest.CaptureFixture[str]
) -> None:
    rig, host = rig_factory()
    host.fail = 10_000  # the media host answers 503 to every download
    params = {"behaviorLabels": LABELS, "lookbackHours": "6", "maxWaitHours": "1"}
    rig.run_ok(**params)
    requested = sorted(pending(rig))
    assert requested
    rig.sb.advance(150)
    rig.run_ok(**params)
    failed = {str(r["id"]) for r in rig.delivered(STREAM)}
    assert {r["status"] for r in rig.delivered(STREAM)} == {"failed"}, "only those the sandbox failed ended"
    assert sorted(pending(rig)) == sorted(set(requested) - failed), "failing downloads are retried"
    assert "a job's poll failed" in capfd.readouterr().out
    rig.sb.advance(3600)
    rig.run_ok(**params)
    got = {str(r["id"]): r for r in rig.delivered(STREAM) if str(r["id"]) in set(requested) - failed}
    assert sorted(got) == sorted(set(requested) - failed) and not set(requested) & set(pending(rig))
    assert {r["status"] for r in got.values()} == {"timedOut"}
    assert {r["reason"] for r in got.values()} == {"polls still failing after 62 min (TransportError)"}
    no_media_url(rig, host, [capfd.readouterr().out])


def test_a_token_without_write_media_retrieval_fails_preflight_naming_it(
    rig_factory: Callable[..., tuple[Rig, MediaHost]],
) -> None:
    rig, _ = rig_factory(token=NO_WRITE)
    out = rig.invoke(behaviorLabels=LABELS)
    assert out["ok"] is False and "`Write Media Retrieval`" in out["message"], out
    assert "`Read Media Retrieval`" not in out["message"]
    assert not rig.delivered(STREAM) and not posts(rig)
    assert not [r for r in rig.sb.requests() if r["path"] == "/safety-events/stream"]


def test_a_token_without_read_media_retrieval_fails_preflight_naming_it(
    rig_factory: Callable[..., tuple[Rig, MediaHost]],
) -> None:
    rig, _ = rig_factory(token=NO_READ)
    out = rig.invoke(behaviorLabels=LABELS)
    assert out["ok"] is False and "`Read Media Retrieval`" in out["message"], out
    assert "`Write Media Retrieval`" not in out["message"]
    assert not rig.delivered(STREAM) and not posts(rig)
    assert not [r for r in rig.sb.requests() if r["path"] == "/safety-events/stream"]


def test_failed_invalid_unavailable_and_overdue_retrievals_end_in_failure_records(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`invalid`, a retrieval pending forever, the quota and a 404 poll come from a scripted Samsara
    (real wire shapes); the sandbox's own end `available`, `failed` or `unavailable` (tests above)."""
    now = [dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC)]
    statuses = {
        "1": ["failed"],
        "2": ["invalid"],
        "3": ["unavailable", "unavailable"],
        "4": ["pending"],
        "5": ["failed"],
    }
    visible = ["1", "2", "3", "4"]
    posted: list[dict[str, Any]] = []

    def samsara(seen: Seen) -> Reply:
        page = {"endCursor": "c1", "hasNextPage": False}
        if seen.path == "/me":
            return Reply(body={"data": {"id": "42", "name": "Org"}})
        if seen.path == "/safety-events":
            return Reply(body={"data": [], "pagination": page})
        if seen.path == "/safety-events/stream":
            data = [
                {
                    "id": f"evt-{v}",
                    "asset": {"id": v},
                    "startMs": "2026-11-02T10:00:00Z",
                    "endMs": "2026-11-02T10:00:09Z",
                    "createdAtTime": "2026-11-02T10:01:00Z",
                    "updatedAtTime": "2026-11-02T10:01:00Z",
                    "behaviorLabels": [{"label": "Braking", "source": "automated"}],
                }
                for v in visible
            ]
            return Reply(body={"data": data, "pagination": page})
        if seen.method == "POST":
            body = json.loads(seen.body)
            if not body:
                return Reply(400, {"message": "vehicleId is required"})
            posted.append(body)
            quota = "Over quota" if len(posted) == 4 else "Under quota"
            return Reply(body={"data": {"retrievalId": f"r-{body['vehicleId']}", "quotaStatus": quota}})
        rid = seen.query["retrievalId"][0]
        if rid == "0":
            return Reply(404, {"message": "retrieval 0 not found"})
        media = [
            {
                "vehicleId": rid[2:],
                "input": ["dashcamRoadFacing", "dashcamDriverFacing"][i],
                "mediaType": "videoHighRes",
                "startTime": "2026-11-02T10:00:00Z",
                "endTime": "2026-11-02T10:00:09Z",
                "status": status,
            }
            for i, status in enumerate(statuses[rid[2:]])
        ]
        return Reply(body={"data": {"media": media}})

    server.handler = samsara
    monkeypatch.setattr(camera_media, "CLOCK", lambda: now[0])
    sink = MemorySink()
    rt = FunctionRuntime(
        Manifest.load(ROOT / "functions" / "camera-media" / "function.json"),
        storage=MemoryStorage(),
        secret_source=FakeSecrets({"SAMSARA_API_TOKEN": "tok-media-1234", "SAMSARA_BASE_URL": server.url}),
        sink=sink,
        client_options={"retry": RetryPolicy(max_attempts=1)},
    )
    params = {"behaviorLabels": "Braking", "mediaType": "videoHighRes", "maxWaitHours": "1"}

    def run(n: int) -> dict[str, Any]:
        out = rt.invoke({"SamsaraFunctionCorrelationId": f"run-{n}", **params}, None)
        assert out["ok"], out
        return dict(out)

    first = run(1)
    assert first["quotaStatus"] == "Over quota" and first["records"] == 0
    assert [(b["vehicleId"], b["startTime"], b["endTime"]) for b in posted] == [
        (v, "2026-11-02T10:00:00.000Z", "2026-11-02T10:00:09.000Z") for v in visible
    ]
    visible.append("5")  # a new event, once the quota is used up
    now[0] += dt.timedelta(minutes=5)
    second = run(2)
    assert second["quotaStatus"] == "Over quota", "the last quota seen, kept in state"
    assert len(posted) == 4, "no retrieval requested over quota"
    got = {r["id"]: r for r in sink.records(STREAM)}
    assert {i: r["status"] for i, r in got.items()} == {
        "evt-1": "failed",
        "evt-2": "invalid",
        "evt-3": "unavailable",
    }
    assert (
        got["evt-3"]["reason"]
        == "retrieval `r-3`: `dashcamRoadFacing` unavailable, `dashcamDriverFacing` unavailable"
    )
    now[0] += dt.timedelta(minutes=50)
    run(3)
    assert len(sink.records(STREAM)) == 3, "not overdue yet (55 min after its request)"
    now[0] += dt.timedelta(minutes=6)
    run(4)
    got = {r["id"]: r for r in sink.records(STREAM)}
    assert got["evt-4"]["status"] == "timedOut" and got["evt-4"]["reason"] == "still pending after 61 min"
    schema = records.schema(STREAM)
    assert schema is not None and all(records.validate(schema, r) == [] for r in got.values())
    assert all(r["files"] == [] and r["safetyEventId"] == r["id"] for r in got.values())
    run(5)
    assert len(posted) == 4 and len(sink.records(STREAM)) == 4, "each ended once, none requested again"
    now[0] = dt.datetime(2026, 12, 1, 0, 5, tzinfo=dt.UTC)  # a new month: the quota is new too
    six = run(6)
    assert six["quotaStatus"] == "Under quota" and [b["vehicleId"] for b in posted[4:]] == ["5"], (
        six,
        posted,
    )
    run(7)
    assert len(posted) == 5 and [r["id"] for r in sink.records(STREAM)][4:] == ["evt-5"]


@pytest.mark.slow
def test_the_zip_under_samsara_fn_downloads_and_delivers_the_media(tmp_path: Path) -> None:
    """``dist/camera-media.zip`` (``make bundle``) under the real ``samsara-fn``: the demo's scenario,
    every retrieval ended in its record, each file at the FMC endpoint with the record's SHA-256, no
    media URL written (the sandbox's loopback media URLs are downloadable under samsara-fn)."""
    from scripts import demo

    zip_path = ROOT / "dist" / "camera-media.zip"
    assert zip_path.exists(), f"{zip_path} is missing: run `make bundle` (make test does)"
    sandbox = demo.Sandbox.start(vehicles=25)
    try:
        report = demo.camera_media(tmp_path / "camera-media", sandbox, zip_path)
        files = sandbox.fmc("/fmc/v1/streams/camera_media/files")["data"]
    finally:
        sandbox.stop()
    assert report.delivered > 0 and report.writes == report.delivered, report
    assert report.lost == 0 and report.duplicated == 0, report
    assert files, "media delivered as files"
