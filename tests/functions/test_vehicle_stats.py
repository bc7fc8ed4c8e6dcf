"""vehicle-stats on the engine against a scripted feed: delivery, state, resume, and the defects of
issue 11 §7 (each test here failed on the cursor-only engine it replaces)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from samsara_fmc.exceptions import ServerError
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.state import StateStore
from samsara_fmc.storage import MemoryStorage
from tests.conftest import MiniFeed, Reply, ScriptedServer
from tests.test_runtime import make_runtime

STATE = "state/5005/vehicle-stats/stats.metric.obdOdometerMeters.json"
EVENT = {
    "types": "obdOdometerMeters",
    "readings": "none",
    "odometer": "false",  # the combined odometer has tests of its own (test_vehicle_stats_odometer.py)
    "units": "metric",
    "SamsaraFunctionCorrelationId": "corr",
    "SamsaraFunctionTriggerSource": "manual",
}


def runtime(server: ScriptedServer, storage: MemoryStorage | None = None, **secrets: str) -> FunctionRuntime:
    return make_runtime(
        {"SAMSARA_API_TOKEN": "tok-123456", "SAMSARA_BASE_URL": server.url, **secrets}, storage=storage
    )


def sink_of(rt: FunctionRuntime) -> MemorySink:
    sink = rt.sink()
    assert isinstance(sink, MemorySink)
    return sink


def ids(rt: FunctionRuntime) -> list[str]:
    return [str(r["id"]) for r in sink_of(rt).records("vehicle_stats")]


def state(rt: FunctionRuntime) -> dict[str, Any]:
    return dict(json.loads(rt.storage.get(STATE) or b"{}"))


def camel_only(value: Any) -> bool:
    if isinstance(value, dict):
        return all("_" not in k and camel_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(camel_only(v) for v in value)
    return True


def test_delivers_every_page_then_saves_state(server: ScriptedServer, feed: MiniFeed) -> None:
    rt = runtime(server)
    out = rt.invoke(EVENT, None)
    assert out["ok"] and out["caughtUp"] and out["records"] == feed.pages * feed.vehicles
    assert len(set(ids(rt))) == len(ids(rt)) == feed.pages * feed.vehicles
    st = state(rt)
    assert st["state"]["cursor"] == f"p{feed.pages}" and st["seq"] == feed.pages and st["epoch"] == 1
    first = sink_of(rt).records("vehicle_stats")[0]
    assert first["unit"] == "km" and first["value"] == pytest.approx(1000.0)
    assert "tok-123456" not in json.dumps(out) and camel_only(out), "one key style in the summary"
    again = rt.invoke(EVENT, None)
    assert again["ok"] and again["records"] == 0 and sink_of(rt).calls == feed.pages + 2, "only health again"


def test_a_failed_run_resumes_without_gaps_or_duplicates(server: ScriptedServer, feed: MiniFeed) -> None:
    feed.fail_on[2] = [Reply(503, "unavailable")] * 2
    rt = runtime(server)
    with pytest.raises(ServerError):
        rt.invoke(EVENT, None)
    assert state(rt)["state"]["cursor"] == "p2" and len(ids(rt)) == 2 * feed.vehicles
    out = rt.invoke(EVENT, None)  # the platform's retry
    assert out["ok"] and out["caughtUp"]
    assert sorted(ids(rt)) == sorted(set(ids(rt))) and len(ids(rt)) == feed.pages * feed.vehicles


def test_records_the_feed_repeats_are_not_delivered_again(server: ScriptedServer, feed: MiniFeed) -> None:
    """§7.1: the feed may start a page with points it already sent."""
    feed.repeat_on = {1, 2, 4}
    rt = runtime(server)
    out = rt.invoke(EVENT, None)
    assert out["ok"] and out["repeated"] == 3 * feed.vehicles
    assert len(ids(rt)) == len(set(ids(rt))) == feed.pages * feed.vehicles


def test_crash_after_delivery_then_empty_refetch_does_not_duplicate(
    server: ScriptedServer, feed: MiniFeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§7.2: page n delivered, state not saved (crash), the re-fetch answers empty first."""
    rt = runtime(server)
    real_save = StateStore.save
    calls = {"n": 0}

    def crashing_save(self: StateStore, st: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # after page 2 (index 2) is delivered
            raise ServerError("killed", "PUT", "state", 1, 0.0, 503, None, "")
        real_save(self, st)

    monkeypatch.setattr(StateStore, "save", crashing_save)
    with pytest.raises(ServerError):
        rt.invoke(EVENT, None)
    monkeypatch.setattr(StateStore, "save", real_save)
    assert len(ids(rt)) == 3 * feed.vehicles, "page 2 was delivered before the crash"
    feed.empty_once = {2}
    out = rt.invoke(EVENT, None)
    assert out["ok"] and out["caughtUp"]
    assert len(ids(rt)) == len(set(ids(rt))) == feed.pages * feed.vehicles
    keys = sorted(k for s, k in sink_of(rt).deliveries if s == "vehicle_stats")
    assert [k.rsplit("/", 1)[1] for k in keys] == [f"{i:08d}" for i in range(feed.pages)]


def test_reset_starts_a_new_epoch_and_overwrites_nothing(server: ScriptedServer, feed: MiniFeed) -> None:
    """§7.3: a reset used to restart page numbers in the same place, overwriting deliveries."""
    rt = runtime(server)
    rt.invoke(EVENT, None)
    before = {k: v for k, v in sink_of(rt).deliveries.items() if k[0] == "vehicle_stats"}
    out = rt.invoke({**EVENT, "reset": "true", "SamsaraFunctionCorrelationId": "corr-2"}, None)
    assert out["ok"] and out["streams"][0]["epoch"] == 2
    after = sink_of(rt).deliveries
    assert all(after[k] == v for k, v in before.items()), "nothing of epoch 1 was overwritten"
    assert any("/e0002/" in k for _, k in after)
    retried = rt.invoke({**EVENT, "reset": "true", "SamsaraFunctionCorrelationId": "corr-2"}, None)
    assert retried["streams"][0]["epoch"] == 2, "a retry of the resetting run does not reset again"
    scheduled = rt.invoke({**EVENT, "reset": "true", "SamsaraFunctionTriggerSource": "schedule"}, None)
    assert scheduled["streams"][0]["epoch"] == 2, "a schedule never resets"


def test_errors_no_retry_can_fix_fail_once_before_any_work(server: ScriptedServer, feed: MiniFeed) -> None:
    """§7.4: bad parameters and a refused cursor were raised as retryable, forever."""
    rt = runtime(server)
    for event, message in (
        ({"types": "gps,bogusStat"}, "`bogusStat` not allowed"),
        ({"vehicleIds": "12;DROP"}, "`12;DROP` not allowed"),
        ({"tagIds": "abc"}, "`abc` not allowed"),
        ({"decorations": "gps,engineStates,fuelPercents"}, "at most 2 items"),
        ({"maxPages": "0"}, "whole number from 1"),
    ):
        out = rt.invoke({**EVENT, **event}, None)
        assert out["ok"] is False and message in out["message"], out
    assert server.seen == [], "nothing was requested"
    assert not sink_of(rt).deliveries
    # A refused cursor is now recovered through the stats history (tests/engine/test_feed.py).


def test_a_short_budget_returns_cleanly(server: ScriptedServer, feed: MiniFeed) -> None:
    """§7.5: a budget of 30 s or less, or `GET /me` overrunning it, raised DeadlineExceeded."""

    class Ctx:
        def __init__(self, ms: int) -> None:
            self.ms = ms

        def get_remaining_time_in_millis(self) -> int:
            return self.ms

    rt = runtime(server)
    out = rt.invoke(EVENT, Ctx(20_000))
    assert out["ok"] and out["caughtUp"]
    out = runtime(server).invoke(EVENT, Ctx(1))
    assert out["ok"] and out["stoppedByDeadline"] and out["records"] == 0


def test_streams_progress_in_parallel_under_one_deadline(server: ScriptedServer, feed: MiniFeed) -> None:
    """§7.6: streams ran in order, so a later one starved while the first had data to follow."""
    feed.pages, feed.delay_all = 40, 0.05

    class Ctx:
        def get_remaining_time_in_millis(self) -> int:
            return 1_200

    rt = runtime(server)
    out = rt.invoke({**EVENT, "types": "obdOdometerMeters,gps,fuelPercents,engineStates"}, Ctx())
    assert out["ok"] and out["stoppedByDeadline"] and len(out["streams"]) == 2
    assert all(s["records"] > 0 for s in out["streams"]), out["streams"]


def test_secrets_pasted_where_they_do_not_belong_never_surface(
    server: ScriptedServer, feed: MiniFeed
) -> None:
    """§7.7: a token in SAMSARA_BASE_URL's query, or pasted as SAMSARA_REGION."""
    secret = "samsara_api_Z9y8X7w6"
    rt = runtime(server, SAMSARA_BASE_URL=f"{server.url}/?access_token={secret}")
    out = rt.invoke(EVENT, None)
    assert secret not in json.dumps(out)
    out = runtime(server, SAMSARA_REGION=secret.upper()).invoke(EVENT, None)
    assert out["ok"] is False and secret.lower() not in json.dumps(out).lower()


def test_an_alert_for_an_unknown_asset_is_not_retried(server: ScriptedServer, feed: MiniFeed) -> None:
    """§7.10: a 400 for an asset the API does not know was re-raised as retryable."""
    rt = runtime(server)
    out = rt.invoke({**EVENT, "SamsaraFunctionTriggerSource": "alert", "assetId": "281474979000001"}, None)
    assert out["ok"] is False and out["error"] == "BadRequestError" and out["fix"]
    ok = rt.invoke({**EVENT, "SamsaraFunctionTriggerSource": "alert", "assetId": "101"}, None)
    assert (
        ok["ok"]
        and ok["records"] == feed.pages
        and all(r["vehicleId"] == "101" for r in sink_of(rt).records("vehicle_stats"))
    )
    assert ok["streams"][0]["stream"] != "stats.metric.obdOdometerMeters", "the alert has a stream of its own"


def test_an_overlapping_run_leaves_a_busy_stream_alone(server: ScriptedServer, feed: MiniFeed) -> None:
    storage = MemoryStorage()
    rt = runtime(server, storage)
    lease = StateStore(storage, org_id="5005", function="vehicle-stats").lease(
        "stats.metric.obdOdometerMeters", owner="scheduled-run", until=time.time() + 60
    )
    assert lease.acquire()
    out = rt.invoke(EVENT, None)
    assert out["ok"] and out["busy"] == ["stats.metric.obdOdometerMeters"] and out["records"] == 0
    lease.release()
    out = rt.invoke(EVENT, None)
    assert out["ok"] and out["records"] == feed.pages * feed.vehicles


def test_health_is_written_delivered_and_valid(server: ScriptedServer, feed: MiniFeed) -> None:
    from samsara_fmc import records

    rt = runtime(server)
    rt.invoke(EVENT, None)
    feed.fail_on[5] = [Reply(503, "unavailable")] * 2
    feed.pages += 1
    with pytest.raises(ServerError):
        rt.invoke(EVENT, None)
    stored = json.loads(rt.storage.get("health/vehicle-stats.json") or b"{}")
    delivered = sink_of(rt).records("_health")
    assert len(delivered) == 1 and delivered[0]["id"] == "5005:vehicle-stats"
    assert stored["ok"] is False and "ServerError" in stored["lastError"] and stored["lastErrorFix"]
    assert stored["counts"]["runs"] == 2 and stored["counts"]["failures"] == 1
    assert stored["streams"]["stats.metric.obdOdometerMeters"]["newestRecordAt"] == "2026-11-01T00:04:00Z"
    schema = records.schema("_health")
    assert records.validate(schema, delivered[0]) == []
    ok = rt.invoke(EVENT, None)
    assert ok["ok"] and records.validate(schema, sink_of(rt).records("_health")[0]) == []
    assert json.loads(rt.storage.get("health/vehicle-stats.json") or b"{}")["lastError"] is None


def test_privacy_rules_apply_before_delivery(server: ScriptedServer, feed: MiniFeed) -> None:
    from samsara_fmc.runtime import FunctionRuntime
    from tests.test_runtime import VEHICLE_STATS, FakeSecrets

    def rt_with(rules: str) -> FunctionRuntime:
        secrets = {"SAMSARA_API_TOKEN": "tok-1", "SAMSARA_BASE_URL": server.url, "PRIVACY_RULES": rules}
        return FunctionRuntime(VEHICLE_STATS, storage=MemoryStorage(), secret_source=FakeSecrets(secrets))

    rt = rt_with("vehicle_stats:-vehicleName,-externalIds")
    assert rt.invoke(EVENT, None)["ok"]
    store = rt.storage
    assert isinstance(store, MemoryStorage)
    lines = [
        json.loads(line)
        for k, v in store.objects.items()
        if k.startswith("deliveries/vehicle_stats/")
        for line in v.splitlines()
    ]
    assert len(lines) == feed.pages * feed.vehicles
    assert all("vehicleName" not in r and "vehicleId" in r for r in lines)
    seen = len(server.seen)
    out = rt_with("vehicle_stats:-vehicleNmae").invoke(EVENT, None)
    assert out["ok"] is False and "vehicleNmae" in out["message"] and len(server.seen) == seen


class UpsertSink(MemorySink):
    """Like the FMC endpoint: upserts records, so a changed re-delivery of a key would add copies;
    the first delivery of key 00000002 is stored but its answer is lost."""

    replaces_by_key = False

    def __init__(self) -> None:
        super().__init__()
        self.bodies: dict[str, list[bytes]] = {}

    def deliver(self, stream: str, key: str, batch: Any, *, deadline: float | None = None) -> Any:
        result = super().deliver(stream, key, batch, deadline=deadline)
        self.bodies.setdefault(key, []).append(batch.ndjson())
        if key.endswith("/00000002") and len(self.bodies[key]) == 1:
            raise ServerError(
                "answer lost", "POST", "/fmc/v1/streams/vehicle_stats/records", 5, 1.0, 503, None, ""
            )
        return result


def test_an_upserting_sink_gets_the_same_bytes_again_after_a_lost_answer(
    server: ScriptedServer, feed: MiniFeed
) -> None:
    from samsara_fmc.runtime import FunctionRuntime
    from tests.test_runtime import VEHICLE_STATS, FakeSecrets

    sink = UpsertSink()
    storage = MemoryStorage()
    secrets = {"SAMSARA_API_TOKEN": "tok-1", "SAMSARA_BASE_URL": server.url}
    rt = FunctionRuntime(VEHICLE_STATS, storage=storage, secret_source=FakeSecrets(secrets), sink=sink)
    with pytest.raises(ServerError):
        rt.invoke(EVENT, None)
    assert any(k.startswith("outbox/") for k in storage.objects), "the exact bytes wait in the outbox"
    feed.vehicles = 4  # a vehicle joins: the re-read page now differs from what was sent
    out = rt.invoke(EVENT, None)
    assert out["ok"] and out["caughtUp"]
    stats_keys = [k for k in sink.bodies if "/stats." in k]
    again = [k for k in stats_keys if len(sink.bodies[k]) > 1]
    assert again == [stats_keys[2]] and len(set(sink.bodies[again[0]])) == 1, "same key, same bytes"
    ids = [r["id"] for (s, _), rs in sorted(sink.deliveries.items()) if s == "vehicle_stats" for r in rs]
    assert len(ids) == len(set(ids)) == 2 * 3 + 3 * 4
    assert not any(k.startswith("outbox/") for k in storage.objects), "the outbox is emptied once committed"


def test_retries_and_429s_reach_the_summary_and_health(server: ScriptedServer, feed: MiniFeed) -> None:
    feed.fail_on[1] = [Reply(429, {"message": "slow down"}, headers={"Retry-After": "0.01"})]
    rt = runtime(server)
    out = rt.invoke(EVENT, None)
    assert out["ok"] and out["requests"]["samsara"]["retries"] == 1
    assert out["requests"]["samsara"]["rateLimited"] == 1
    assert out["requests"]["samsara"]["backoffMs"] > 0, "the Retry-After wait is counted"
    health = json.loads(rt.storage.get("health/vehicle-stats.json") or b"{}")
    assert (health["retries"], health["rateLimited"]) == (1, 1)
    assert health["waitedMs"] > 0
