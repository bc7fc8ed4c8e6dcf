"""The FMC HTTP sink against the sandbox's reference FMC endpoint (``docs/fmc-api.yaml``).

Each test starts its own sandbox with ``--fmc-token``, so the FMC's records and counters are its own.
``fmc_summary(stream)`` tells what the deliveries left behind: ``records`` (distinct ids),
``deliveries`` (record writes), ``batches`` (distinct keys applied) and ``replays``.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from samsara_fmc import _core
from samsara_fmc.client import RetryPolicy
from samsara_fmc.exceptions import ConfigurationError, DeadlineExceeded, DeliveryError, SamsaraFmcError
from samsara_fmc.sinks import Batch, Sink
from samsara_fmc.sinks.fmc_http import MAX_BATCH, FmcHttpSink
from tests.support.sandbox import DEFAULT_ARGS, SandboxProcess, start_sandbox

pytestmark = pytest.mark.sandbox

FMC_TOKEN = "fmc_SECRET_token_4711"
FAST = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.5)
STREAM = "vehicle_stats"
RECORDS = "/fmc/v1/streams/{stream}/records"
"""The fault rules' path for every stream's batch upserts."""


@pytest.fixture
def fmc() -> Iterator[SandboxProcess]:
    sb = start_sandbox((*DEFAULT_ARGS, "--fmc-token", FMC_TOKEN))
    try:
        yield sb
    finally:
        sb.stop()


def sink(sb: SandboxProcess, **kw: Any) -> FmcHttpSink:
    kw.setdefault("retry", FAST)
    return FmcHttpSink(sb.url, FMC_TOKEN, **kw)


def records(n: int, start: int = 0, value: int = 1) -> Batch:
    """``n`` converter-style records (``{"id":…}`` first), as NDJSON bytes."""
    lines = (
        json.dumps({"id": f"r{i:06d}", "vehicleId": str(i % 50), "value": value}, separators=(",", ":"))
        for i in range(start, start + n)
    )
    return Batch(ndjson="\n".join(lines).encode())


def key(seq: int) -> str:
    return f"5005/vehicle-stats/vehicle_stats-metric/e0001/{seq:08d}"


def test_is_a_sink_and_delivers_a_batch(fmc: SandboxProcess) -> None:
    s: Sink = sink(fmc)
    s.check()
    got = s.deliver(STREAM, key(1), records(10))
    assert (got.records, got.inserted, got.updated, got.replayed) == (10, 10, 0, False)
    assert got.location == f"/fmc/v1/streams/{STREAM}/records"
    stored = fmc.fmc_records(STREAM)
    assert [r["id"] for r in stored] == [f"r{i:06d}" for i in range(10)]
    assert stored[0]["record"] == {"id": "r000000", "vehicleId": "0", "value": 1}
    dicts = s.deliver("trips", key(2), Batch.of([{"id": "t1", "miles": 3.5}]))
    assert (dicts.records, dicts.inserted) == (1, 1)


def test_a_batch_delivered_twice_under_one_key_is_applied_once(fmc: SandboxProcess) -> None:
    s = sink(fmc)
    first = s.deliver(STREAM, key(1), records(100))
    again = s.deliver(STREAM, key(1), records(100))
    assert (first.replayed, again.replayed) == (False, True)
    assert (again.inserted, again.updated) == (100, 0), "the first answer, replayed"
    summary = fmc.fmc_summary(STREAM)
    assert (summary["records"], summary["deliveries"], summary["batches"], summary["replays"]) == (
        100,
        100,
        1,
        1,
    )


def test_a_changed_redelivery_under_one_key_is_upserted_not_refused(fmc: SandboxProcess) -> None:
    s = sink(fmc)
    s.deliver(STREAM, key(1), records(20, value=1))
    changed = s.deliver(STREAM, key(1), records(20, value=2))
    assert (changed.inserted, changed.updated, changed.replayed) == (0, 20, False)
    assert {r["record"]["value"] for r in fmc.fmc_records(STREAM)} == {2}
    summary = fmc.fmc_summary(STREAM)
    assert (summary["records"], summary["updates"], summary["batches"]) == (20, 20, 2)


# Each schedule fails the first POSTs in its own way; the batch must land exactly once.
FAULTS = {
    "503": ({"kind": "status", "status": 503, "times": 2}, 0),
    "fail_after_commit": ({"kind": "fail_after_commit", "status": 502, "times": 2}, 2),
    "429 fractional Retry-After": ({"kind": "status", "status": 429, "retryAfter": "0.03981", "times": 3}, 0),
    "truncated answer": ({"kind": "truncate", "times": 1}, 1),
    "reset after commit": ({"kind": "reset", "times": 1}, 1),
}


@pytest.mark.parametrize(("rule", "replays"), FAULTS.values(), ids=FAULTS.keys())
def test_faults_deliver_everything_exactly_once(
    fmc: SandboxProcess, rule: dict[str, Any], replays: int
) -> None:
    fmc.faults({"method": "POST", "path": RECORDS, **rule})
    s = sink(fmc)
    for seq in range(3):
        got = s.deliver(STREAM, key(seq), records(50, start=50 * seq))
        assert got.records == 50
    summary = fmc.fmc_summary(STREAM)
    assert summary["records"] == summary["deliveries"] == 150
    assert (summary["batches"], summary["replays"]) == (3, replays)
    posts = [r for r in fmc.requests() if r["method"] == "POST"]
    assert len(posts) == 3 + rule["times"], "each fault cost one retried request"


def test_a_batch_larger_than_the_contract_is_split_and_all_land(fmc: SandboxProcess) -> None:
    s = sink(fmc)
    big = records(12_000)
    got = s.deliver(STREAM, key(1), big)
    assert MAX_BATCH == 5_000
    assert got.details["parts"] == 3 and (got.records, got.inserted) == (12_000, 12_000)
    keys = got.details["idempotencyKeys"]
    assert len(set(keys)) == 3 and all(k.startswith(key(1) + "/p") and len(k) <= 255 for k in keys)
    summary = fmc.fmc_summary(STREAM)
    assert (summary["records"], summary["deliveries"], summary["batches"]) == (12_000, 12_000, 3)
    # A re-delivery after a crash repeats every part's key: nothing is applied twice.
    again = s.deliver(STREAM, key(1), big)
    assert again.replayed and again.details["idempotencyKeys"] == keys
    assert fmc.fmc_summary(STREAM)["deliveries"] == 12_000
    posts = [r for r in fmc.requests() if r["method"] == "POST"]
    assert len(posts) == 6


def test_max_batch_sets_the_part_size(fmc: SandboxProcess) -> None:
    got = sink(fmc, max_batch=7).deliver(STREAM, key(1), records(20))
    assert got.details["parts"] == 3 and got.inserted == 20
    with pytest.raises(ConfigurationError, match="max_batch"):
        sink(fmc, max_batch=MAX_BATCH + 1)


def test_a_wrong_token_is_a_configuration_error_naming_fmc_token(fmc: SandboxProcess) -> None:
    wrong = FmcHttpSink(fmc.url, "fmc_WRONG_token_0815", retry=FAST)
    with pytest.raises(ConfigurationError, match="`FMC_TOKEN`") as info:
        wrong.check()
    assert "fmc_WRONG_token_0815" not in str(info.value)
    with pytest.raises(ConfigurationError, match="`FMC_TOKEN`"):
        wrong.deliver(STREAM, key(1), records(1))
    assert "WRONG" not in repr(wrong)
    assert fmc.fmc_summary(STREAM)["records"] == 0


def test_a_url_that_does_not_serve_the_contract_names_fmc_url(fmc: SandboxProcess) -> None:
    with pytest.raises(ConfigurationError, match="`FMC_URL`") as info:
        FmcHttpSink(fmc.url + "/elsewhere", FMC_TOKEN, retry=FAST).check()
    assert FMC_TOKEN not in str(info.value)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    down = FmcHttpSink(f"http://127.0.0.1:{port}", FMC_TOKEN, retry=FAST)
    with pytest.raises(ConfigurationError, match="`FMC_URL`"):
        down.check()
    # Past the preflight, an endpoint that is down is a delivery error: a later run delivers again.
    with pytest.raises(DeliveryError, match="could not connect"):
        down.deliver(STREAM, key(1), records(1))
    # A trailing `/fmc/v1` is the same endpoint.
    FmcHttpSink(fmc.url + "/fmc/v1/", FMC_TOKEN, retry=FAST).check()


def test_failures_after_the_retries_are_delivery_errors_without_the_token(fmc: SandboxProcess) -> None:
    fmc.faults({"method": "POST", "path": RECORDS, "kind": "status", "status": 500, "times": 10})
    s = sink(fmc, retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01))
    with pytest.raises(DeliveryError) as info:
        s.deliver(STREAM, key(1), records(3))
    text = str(info.value)
    assert "HTTP 500" in text and "after 2 attempts" in text and f"`{key(1)}`" in text
    assert FMC_TOKEN not in text and FMC_TOKEN not in repr(info.value.__cause__)
    assert FMC_TOKEN not in repr(s) and repr(s) == f"FmcHttpSink(url={fmc.url + '/'!r})"


def test_configuration_is_checked_before_any_request() -> None:
    for url in ("http://fmc.example.com", f"http://fmc.example.com?token={FMC_TOKEN}", "ftp://x", FMC_TOKEN):
        with pytest.raises(ConfigurationError, match="`FMC_URL`") as info:
            FmcHttpSink(url, FMC_TOKEN)
        assert FMC_TOKEN not in str(info.value)
    FmcHttpSink("https://fmc.example.com", FMC_TOKEN)
    FmcHttpSink("http://localhost:8080", FMC_TOKEN)
    with pytest.raises(ConfigurationError, match="`FMC_TOKEN`"):
        FmcHttpSink("https://fmc.example.com", " ")
    with pytest.raises(ConfigurationError, match="`FMC_URL` and `FMC_TOKEN` secrets"):
        FmcHttpSink.from_secrets({})
    with pytest.raises(ConfigurationError, match="invalid stream name"):
        FmcHttpSink("https://fmc.example.com", FMC_TOKEN).deliver("a/b", key(1), records(1))
    assert issubclass(DeliveryError, SamsaraFmcError)


def test_a_timed_out_batch_is_sent_again_and_applied_once(fmc: SandboxProcess) -> None:
    # The first attempt is answered after 1.5 s, long after the client gave up on it at 0.3 s.
    fmc.faults({"method": "POST", "path": RECORDS, "kind": "slow", "delayMs": 1500, "times": 1})
    s = sink(fmc, request_timeout=0.3)
    got = s.deliver(STREAM, key(1), records(30))
    assert got.records == 30
    s.deliver(STREAM, key(1), records(30))  # the same key again: answered, not applied
    summary = fmc.fmc_summary(STREAM)
    assert (summary["records"], summary["deliveries"], summary["batches"]) == (30, 30, 1)


def test_a_deadline_that_has_passed_sends_nothing(fmc: SandboxProcess) -> None:
    with pytest.raises(DeadlineExceeded):
        sink(fmc).deliver(STREAM, key(1), records(3), deadline=time.time() - 1)
    assert fmc.fmc_summary(STREAM)["records"] == 0


def test_blank_ndjson_lines_are_not_records(fmc: SandboxProcess) -> None:
    batch = Batch(ndjson=b'\n{"id":"a","v":1}\n\n{"id":"b","v":2}\n\n')
    assert len(batch) == 2 and json.loads(batch.json_array()) == [{"id": "a", "v": 1}, {"id": "b", "v": 2}]
    got = sink(fmc).deliver(STREAM, key(1), batch)
    assert (got.records, got.inserted) == (2, 2)


def test_empty_batches_send_nothing(fmc: SandboxProcess) -> None:
    got = sink(fmc).deliver(STREAM, key(1), Batch(ndjson=b""))
    assert (got.records, got.inserted) == (0, 0)
    assert not [r for r in fmc.requests() if r["method"] == "POST"]


def test_requests_are_paced_under_the_contracts_rate_limit() -> None:
    args = [a for a in DEFAULT_ARGS if a not in ("--rate-limits", "off")]
    sb = start_sandbox((*args, "--fmc-token", FMC_TOKEN))
    try:
        s = sink(sb, retry=RetryPolicy(max_attempts=1))
        for seq in range(40):
            s.deliver(STREAM, key(seq), records(1, start=seq))
        statuses = [r["status"] for r in sb.requests() if r["method"] == "POST"]
        assert statuses == [200] * 40, "no request bounced off the FMC's 25/s limit"
        counts = s.counts()
        assert counts["pacedMs"] > 0, "40 posts outrun a 25/s bucket: the wait is counted"
        assert (counts["rateLimited"], counts["backoffMs"]) == (0, 0)
    finally:
        sb.stop()


def test_the_changes_feed_pages_through_the_fmc_client(fmc: SandboxProcess) -> None:
    for n in range(3):
        fmc.admin("POST", "/__sandbox/fmc/changes", {"type": "tag.created", "data": {"name": f"Depot {n}"}})
    client = _core.FmcClient(fmc.url, FMC_TOKEN)
    sink = FmcHttpSink(fmc.url, FMC_TOKEN)
    pages = list(sink.changes(None, limit=2))
    assert len(pages) >= 2, "the ledger's page source pages"
    changes = [c for p in pages for c in p.data]
    scripted = [c for c in changes if c["type"] == "tag.created" and c["data"]["name"].startswith("Depot ")]
    assert [c["data"]["name"] for c in scripted] == ["Depot 0", "Depot 1", "Depot 2"]
    assert not pages[-1].has_next_page
    resumed = list(sink.changes(pages[-1].cursor))
    assert all(c["id"] not in {x["id"] for x in changes} for p in resumed for c in p.data)
    assert "fmc_SECRET" not in repr(client)


# ---- files (deliver_file: PUT /fmc/v1/streams/{stream}/files/{name}) ------------------------------

FILES = "/fmc/v1/streams/{stream}/files/{name}"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


def test_a_file_is_uploaded_once_under_its_key_and_replaced_by_other_bytes(fmc: SandboxProcess) -> None:
    s = sink(fmc)
    first = s.deliver_file("camera_media", "r-1/dashcamRoadFacing.jpeg", JPEG, content_type="image/jpeg")
    assert first.location == "/fmc/v1/streams/camera_media/files/r-1.dashcamRoadFacing.jpeg"
    assert (first.inserted, first.replayed) == (1, False)
    again = s.deliver_file("camera_media", "r-1/dashcamRoadFacing.jpeg", JPEG, content_type="image/jpeg")
    assert again.replayed, "the same bytes under the same key: answered from the first upload"
    [f] = fmc.fmc_files("camera_media")
    assert f["name"] == "r-1.dashcamRoadFacing.jpeg" and f["contentType"] == "image/jpeg"
    assert (f["size"], f["deliveries"], f["duplicates"]) == (len(JPEG), 1, 0)
    assert fmc.fmc_file("camera_media", f["name"]) == JPEG
    other = JPEG[:-1] + b"\x00"
    changed = s.deliver_file("camera_media", "r-1/dashcamRoadFacing.jpeg", other, content_type="image/jpeg")
    assert (changed.inserted, changed.updated, changed.replayed) == (0, 1, False)
    [f] = fmc.fmc_files("camera_media")
    assert f["deliveries"] == 2 and f["duplicates"] == 0 and fmc.fmc_file("camera_media", f["name"]) == other


@pytest.mark.parametrize("kind", ["fail_after_commit", "reset", "status"])
def test_a_file_whose_answer_is_lost_is_sent_again_and_stored_once(fmc: SandboxProcess, kind: str) -> None:
    fmc.faults({"path": FILES, "kind": kind, "status": 503, "times": 2})
    s = sink(fmc)
    out = s.deliver_file("camera_media", "r-2/analog1.jpeg", JPEG, content_type="image/jpeg")
    assert out.location.endswith("/r-2.analog1.jpeg") and s.counts()["retries"] == 2
    [f] = fmc.fmc_files("camera_media")
    assert (f["deliveries"], f["duplicates"]) == (1, 0), "stored once, whatever became of the answers"
    assert fmc.fmc_file("camera_media", f["name"]) == JPEG


def test_the_contract_refuses_a_reused_key_with_other_bytes_and_a_file_without_a_key(
    fmc: SandboxProcess,
) -> None:
    import urllib.error
    import urllib.request

    def put(name: str, data: bytes, key: str | None) -> int:
        headers = {"Authorization": f"Bearer {FMC_TOKEN}", "Content-Type": "image/jpeg"}
        if key:
            headers["Idempotency-Key"] = key
        req = urllib.request.Request(
            f"{fmc.url}/fmc/v1/streams/camera_media/files/{name}", data=data, method="PUT", headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as e:
            e.close()
            return int(e.code)

    assert put("a.jpeg", JPEG, "k1") == 200
    assert put("a.jpeg", JPEG + b"x", "k1") == 422
    assert put("a.jpeg", JPEG, None) == 400
    assert put(".hidden", JPEG, "k2") == 400
    assert put("b.jpeg", b"", "k3") == 400


def test_a_file_key_the_contract_cannot_name_is_a_configuration_error(fmc: SandboxProcess) -> None:
    with pytest.raises(ConfigurationError, match=r"invalid file key `r\+1/x\.jpeg`"):
        sink(fmc).deliver_file("camera_media", "r+1/x.jpeg", JPEG, content_type="image/jpeg")
    assert fmc.fmc_files("camera_media") == []
