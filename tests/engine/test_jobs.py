"""The ``jobs`` driver on camera media retrieval: started in one run, polled in later ones, the media
downloaded before its URL expires and handed to ``complete``; failures and jobs past their deadline
end in explicit failure records; media URLs appear nowhere the runs wrote."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

from samsara_fmc.client import Client, RetryPolicy
from samsara_fmc.engine import JobsDriver, MediaResult, MediaRetrieval, Stream
from samsara_fmc.engine._util import iso
from samsara_fmc.engine.jobs import https_download
from samsara_fmc.exceptions import ApiError
from tests.conftest import Reply, ScriptedServer, Seen
from tests.engine.rig import Rig, sim_clock
from tests.support.sandbox import SandboxProcess

SANDBOX_MEDIA = "/__sandbox/media"
"""The path of every sandbox media URL (signed loopback URLs of the sandbox)."""


def media_bytes(path: str) -> bytes:
    """What the stand-in media host serves for ``path`` (deterministic, not JSON)."""
    return b"\xff\xd8\xff\xe0JFIF" + hashlib.sha256(path.encode()).digest() * 64


class MediaHost:
    """Serves the sandbox's media URLs from a scripted server instead (so a test can fail downloads),
    failing the first ``fail`` downloads with a 503; remembers every URL asked for."""

    def __init__(self, server: ScriptedServer, fail: int = 0) -> None:
        self.server = server
        self.fail = fail
        self.urls: list[str] = []
        server.handler = self._serve

    def _serve(self, seen: Seen) -> Reply:
        if self.fail:
            self.fail -= 1
            return Reply(503, b"busy")
        return Reply(200, media_bytes(seen.path))

    def download(self, url: str, deadline: float) -> bytes:
        self.urls.append(url)
        parts = urllib.parse.urlsplit(url)
        assert parts.scheme == "http" and parts.hostname == "127.0.0.1", "a loopback URL"
        assert parts.path.startswith(SANDBOX_MEDIA + "/") and "signature=" in parts.query
        return https_download(f"{self.server.url}{parts.path}?{parts.query}", deadline)


class Store:
    """The integration's ``complete``: keeps the bytes (as Function Storage would) and returns a record."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def complete(self, item: Mapping[str, Any], result: MediaResult) -> dict[str, Any]:
        files = []
        for f in result.files:
            key = f"media/{item['id']}/{f.metadata['input']}.jpeg"
            self.files[key] = f.data
            files.append({"key": key, "sha256": hashlib.sha256(f.data).hexdigest(), **f.metadata})
        return {
            "id": str(item["id"]),
            "status": "available",
            "retrievalId": result.retrieval_id,
            "files": files,
        }


def vehicles(rig: Rig, n: int) -> list[str]:
    return [str(v["id"]) for v in rig.client.records("/fleet/vehicles", params={"limit": n})][:n]


def retrievals(sb: SandboxProcess) -> list[dict[str, Any]]:
    return [r for r in sb.requests() if r["path"] == "/cameras/media/retrieval"]


def test_media_is_requested_once_polled_and_downloaded_and_its_urls_are_kept_out(
    sandbox_factory: Callable[..., SandboxProcess], server: ScriptedServer
) -> None:
    sb = sandbox_factory()
    rig = Rig.of(sb)
    host = MediaHost(server, fail=1)
    store = Store()
    clock = sim_clock(sb)
    at = iso(clock() - dt.timedelta(hours=3))
    v1, v2 = vehicles(rig, 2)
    wanted = [
        {
            "id": "evt-1",
            "vehicleId": v1,
            "mediaType": "image",
            "startTime": at,
            "endTime": at,
            "inputs": ["dashcamRoadFacing"],
        },
        {
            "id": "evt-2",
            "vehicleId": v2,
            "mediaType": "image",
            "startTime": at,
            "endTime": at,
            "inputs": ["dashcamRoadFacing", "dashcamDriverFacing"],
        },
        {
            "id": "evt-3",
            "vehicleId": "999999",
            "mediaType": "image",
            "startTime": at,
            "endTime": at,
            "inputs": ["dashcamRoadFacing"],
        },
    ]

    def items(deadline: float) -> Iterable[Mapping[str, Any]]:
        return wanted

    media = MediaRetrieval(client=rig.client, download=host.download, clock=clock)
    driver = JobsDriver(
        items=items,
        start=media.start,
        poll=media.poll,
        complete=store.complete,
        clock=clock,
        max_wait=dt.timedelta(hours=1),
    )
    stream = Stream(name="media", sink_stream="camera_media", fingerprint="media-v1", driver=driver)

    rig.run([stream], correlation="run-1")
    pending = rig.state("media")["state"]["pending"]
    assert sorted(pending) == ["evt-1", "evt-2"] and all(p["job"] for p in pending.values())
    assert [r["status"] for r in rig.delivered("camera_media")] == ["rejected"], (
        "an unknown vehicle: refused at once"
    )
    assert "vehicleId" in str(rig.delivered("camera_media")[0]["reason"])

    sb.advance(60)
    out = rig.run([stream], correlation="run-2")
    assert out["records"] == 0, "still pending after a minute"
    sb.advance(90)
    out = rig.run([stream], correlation="run-3")
    assert out["records"] == 1, "evt-2 finished; evt-1's download failed (503)"
    assert list(rig.state("media")["state"]["pending"]) == ["evt-1"], "so it is polled again next run"
    out = rig.run([stream], correlation="run-4")
    assert out["records"] == 1 and rig.state("media")["state"]["pending"] == {}
    done = {r["id"]: r for r in rig.delivered("camera_media")}
    assert done["evt-1"]["status"] == done["evt-2"]["status"] == "available"
    assert [f["input"] for f in done["evt-2"]["files"]] == ["dashcamRoadFacing", "dashcamDriverFacing"]
    for url in set(host.urls):
        path = urllib.parse.urlsplit(url).path
        assert media_bytes(path) in store.files.values(), "the bytes handed to complete are the file's"
    assert all(
        f["status"] == "available" and "urlInfo" not in f for r in done.values() for f in r.get("files", [])
    )

    posts = [r for r in retrievals(sb) if r["method"] == "POST"]
    assert [r["status"] for r in posts] == [200, 200, 400], "each item requested once"
    out = rig.run([stream], correlation="run-5")
    assert out["records"] == 0 and len([r for r in retrievals(sb) if r["method"] == "POST"]) == 3

    written = rig.written()
    assert host.urls and SANDBOX_MEDIA not in written
    assert not [u for u in host.urls if u in written or u.rsplit("/", 1)[1] in written], (
        "no media URL anywhere"
    )
    assert "a job's poll failed" in rig.log.getvalue()


def test_a_job_pending_past_its_deadline_ends_in_a_failure_record(
    sandbox_factory: Callable[..., SandboxProcess], server: ScriptedServer
) -> None:
    sb = sandbox_factory()
    rig = Rig.of(sb)
    clock = sim_clock(sb)
    at = iso(clock() - dt.timedelta(hours=1))
    item: dict[str, Any] = {
        "id": "evt-9",
        "vehicleId": vehicles(rig, 1)[0],
        "mediaType": "videoHighRes",
        "startTime": at,
        "endTime": iso(clock() - dt.timedelta(minutes=59)),
        "inputs": ["dashcamDriverFacing"],
    }
    media = MediaRetrieval(client=rig.client, download=MediaHost(server).download, clock=clock)
    driver = JobsDriver(
        items=lambda deadline: [item],
        start=media.start,
        poll=media.poll,
        complete=Store().complete,
        clock=clock,
        max_wait=dt.timedelta(seconds=90),
    )
    stream = Stream(name="media", sink_stream="camera_media", fingerprint="media-v1", driver=driver)
    rig.run([stream])
    sb.advance(60)
    assert rig.run([stream], correlation="run-2")["records"] == 0
    sb.advance(45)  # 105 s: past the 90 s deadline, and the sandbox needs 120 s
    rig.run([stream], correlation="run-3")
    [record] = rig.delivered("camera_media")
    assert record == {"id": "evt-9", "status": "timedOut", "reason": "still pending after 2 min"}
    polls = len(retrievals(sb))
    sb.advance(600)
    rig.run([stream], correlation="run-4")
    assert len(retrievals(sb)) == polls, "a finished item is neither polled nor requested again"


def test_failed_invalid_and_unavailable_media_end_in_failure_records(server: ScriptedServer) -> None:
    """The sandbox's retrievals always succeed, so these statuses come from a scripted Samsara."""
    statuses = {"r-failed": ["failed"], "r-invalid": ["invalid"], "r-unavail": ["unavailable", "unavailable"]}
    started: list[str] = []

    def samsara(seen: Seen) -> Reply:
        if seen.method == "POST":
            rid = list(statuses)[len(started)]
            started.append(rid)
            return Reply(body={"data": {"retrievalId": rid, "quotaStatus": "Under quota"}})
        rid = seen.query["retrievalId"][0]
        media = [
            {
                "vehicleId": "1",
                "input": f"analog{i + 1}",
                "mediaType": "image",
                "startTime": "2026-11-02T10:00:00Z",
                "endTime": "2026-11-02T10:00:00Z",
                "status": s,
            }
            for i, s in enumerate(statuses[rid])
        ]
        return Reply(body={"data": {"media": media}})

    server.handler = samsara
    client = Client(
        token="tok-jobs-1234", base_url=server.url, retry=RetryPolicy(max_attempts=1), rate_limit=False
    )
    now = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC)
    media = MediaRetrieval(client=client, download=lambda url, deadline: b"", clock=lambda: now)
    items = [
        {
            "id": f"e{i}",
            "vehicleId": "1",
            "mediaType": "image",
            "startTime": "2026-11-02T10:00:00Z",
            "endTime": "2026-11-02T10:00:00Z",
            "inputs": ["analog1"],
        }
        for i in range(3)
    ]
    driver = JobsDriver(
        items=lambda d: items,
        start=media.start,
        poll=media.poll,
        complete=Store().complete,
        clock=lambda: now,
    )
    rig = Rig(sb=None, client=client)
    stream = Stream(name="media", sink_stream="camera_media", fingerprint="media-v1", driver=driver)
    rig.run([stream])
    rig.run([stream], correlation="run-2")
    got = {r["id"]: (r["status"], r["reason"]) for r in rig.delivered("camera_media")}
    assert got == {
        "e0": ("failed", "retrieval `r-failed`: `analog1` failed"),
        "e1": ("invalid", "retrieval `r-invalid`: `analog1` invalid"),
        "e2": ("unavailable", "retrieval `r-unavail`: `analog1` unavailable, `analog2` unavailable"),
    }
    assert rig.state("media")["state"]["pending"] == {}


def test_a_url_about_to_expire_is_not_used_the_next_poll_gets_a_fresh_one(
    sandbox_factory: Callable[..., SandboxProcess], server: ScriptedServer
) -> None:
    sb = sandbox_factory()
    rig = Rig.of(sb)
    host = MediaHost(server)
    sim = sim_clock(sb)
    at = iso(sim() - dt.timedelta(hours=2))
    item: dict[str, Any] = {
        "id": "evt-5",
        "vehicleId": vehicles(rig, 1)[0],
        "mediaType": "image",
        "startTime": at,
        "endTime": at,
    }
    item["inputs"] = ["dashcamRoadFacing"]
    skew = {"by": dt.timedelta(hours=8) - dt.timedelta(minutes=2)}  # 2 min before the URL's expiry

    def clock() -> dt.datetime:
        return sim() + skew["by"]

    media = MediaRetrieval(client=rig.client, download=host.download, clock=clock)
    driver = JobsDriver(
        items=lambda d: [item], start=media.start, poll=media.poll, complete=Store().complete, clock=sim
    )
    stream = Stream(name="media", sink_stream="camera_media", fingerprint="media-v1", driver=driver)
    rig.run([stream])
    sb.advance(180)
    assert rig.run([stream], correlation="run-2")["records"] == 0
    assert host.urls == [], "a URL within 5 minutes of its expiry is not downloaded"
    skew["by"] = dt.timedelta(0)
    assert rig.run([stream], correlation="run-3")["records"] == 1 and len(host.urls) == 1


@pytest.mark.parametrize("seed", range(41, 46))
def test_seeded_fault_schedules_finish_every_job_once(
    sandbox_factory: Callable[..., SandboxProcess], server: ScriptedServer, seed: int
) -> None:
    """Random 5xx and 429 on the retrieval request, 5xx, resets and truncated bodies on the polls,
    failing downloads, random steps of simulated time; runs retried when they fail. Every item is
    requested once (none of these faults lets a request take effect), ends in one record, and no
    media URL is written anywhere."""
    rng = random.Random(seed)
    sb = sandbox_factory()
    rig = Rig.of(sb)
    host = MediaHost(server, fail=rng.randint(0, 3))
    store = Store()
    clock = sim_clock(sb)
    at = iso(clock() - dt.timedelta(hours=5))
    wanted = [
        {
            "id": f"evt-{i}",
            "vehicleId": v,
            "mediaType": "image",
            "startTime": at,
            "endTime": at,
            "inputs": ["dashcamRoadFacing"],
        }
        for i, v in enumerate(vehicles(rig, 6))
    ]
    media = MediaRetrieval(client=rig.client, download=host.download, clock=clock)
    phase = {"n": 0}
    driver = JobsDriver(
        items=lambda d: wanted[: len(wanted) * phase["n"] // 3],
        start=media.start,
        poll=media.poll,
        complete=store.complete,
        clock=clock,
        max_starts=rng.choice([1, 2, 10]),
    )
    stream = Stream(name="media", sink_stream="camera_media", fingerprint="media-v1", driver=driver)
    kinds: list[dict[str, Any]] = [
        {"method": "POST", "kind": "status", "status": 500},
        {"method": "POST", "kind": "status", "status": 429, "retryAfter": "0.01"},
        {"method": "GET", "kind": "status", "status": 503, "times": 2},
        {"method": "GET", "kind": "reset"},
        {"method": "GET", "kind": "truncate"},
    ]
    for step in range(3):
        phase["n"] = step + 1  # more items are wanted as time goes on
        sb.faults(*({"path": "/cameras/media/retrieval", **k} for k in rng.sample(kinds, rng.randint(1, 3))))
        for attempt in range(4):
            sb.advance(rng.choice([10, 60, 150]))
            try:
                rig.run([stream], correlation=f"run-{step}-{attempt}")
            except ApiError:
                continue
    sb.clear_faults()
    for attempt in range(20):
        sb.advance(150)
        rig.run([stream], correlation=f"final-{attempt}")
        if (
            not rig.state("media")["state"]["pending"]
            and len({r["id"] for r in rig.delivered("camera_media")}) == 6
        ):
            break
    got = Counter(str(r["id"]) for r in rig.delivered("camera_media"))
    assert got == Counter({w["id"]: 1 for w in wanted}), f"seed {seed}"
    ends = {str(t["vehicleId"]): {i["status"] for i in t["inputs"]} for t in sb.retrievals()}
    vehicle_of = {str(w["id"]): str(w["vehicleId"]) for w in wanted}
    for r in rig.delivered("camera_media"):
        end = ends[vehicle_of[str(r["id"])]]
        assert r["status"] == ("available" if "available" in end else min(end)), f"seed {seed}: {r}"
    posts = [r["status"] for r in retrievals(sb) if r["method"] == "POST"]
    assert posts.count(200) == len(wanted), f"seed {seed}: {posts}"
    written = rig.written()
    assert not [u for u in host.urls if u.rsplit("/", 1)[1] in written], (
        f"seed {seed}: a media URL was written"
    )
