"""The vehicle-stats integration end to end against a scripted feed: delivery, checkpoints, resume."""

from __future__ import annotations

import json
from typing import Any

import pytest

from samsara_fmc.exceptions import ServerError
from samsara_fmc.integrations import vehicle_stats
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.storage import MemoryStorage
from tests.conftest import MiniFeed, Reply, ScriptedServer
from tests.test_runtime import FakeSecrets


def make_runtime(server: ScriptedServer, storage: MemoryStorage) -> FunctionRuntime:
    secrets = {"SAMSARA_API_TOKEN": "tok-123456", "SAMSARA_BASE_URL": server.url}
    rt = FunctionRuntime(
        function="vehicle-stats",
        storage=storage,
        secret_source=FakeSecrets(secrets),
        required_secrets=["SAMSARA_API_TOKEN"],
        optional_secrets=["SAMSARA_BASE_URL", "SAMSARA_REGION"],
    )
    rt.client(retry=__import__("samsara_fmc").RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002))
    return rt


def delivered(storage: MemoryStorage) -> list[dict[str, Any]]:
    keys = sorted(k for k in storage.objects if k.endswith(".ndjson") and not k.endswith(".rejects.ndjson"))
    return [json.loads(line) for k in keys for line in storage.objects[k].splitlines()]


EVENT = {"types": "obdOdometerMeters", "units": "metric", "SamsaraFunctionCorrelationId": "corr"}


def test_delivers_every_page_then_checkpoints(server: ScriptedServer, feed: MiniFeed) -> None:
    storage = MemoryStorage()
    out = make_runtime(server, storage).invoke(EVENT, None, vehicle_stats.run)
    assert out["ok"] and out["caughtUp"] and out["records"] == feed.pages * feed.vehicles
    records = delivered(storage)
    assert len({r["id"] for r in records}) == len(records) == feed.pages * feed.vehicles
    cp = json.loads(storage.objects["checkpoints/5005/vehicle-stats/vehicle-stats.obdOdometerMeters.json"])
    assert cp["cursor"] == f"p{feed.pages}" and cp["pages"] == feed.pages
    assert records[0]["unit"] == "km" and records[0]["value"] == pytest.approx(1000.0)
    assert "tok-123456" not in json.dumps(out)


def test_a_failed_run_resumes_without_gaps_or_duplicates(server: ScriptedServer, feed: MiniFeed) -> None:
    storage = MemoryStorage()
    feed.fail_on[2] = [Reply(503, "unavailable")] * 2
    rt = make_runtime(server, storage)
    with pytest.raises(ServerError):
        rt.invoke(EVENT, None, vehicle_stats.run)
    cp = json.loads(storage.objects["checkpoints/5005/vehicle-stats/vehicle-stats.obdOdometerMeters.json"])
    assert (cp["cursor"], cp["pages"]) == ("p2", 2), "checkpoint stays at the last delivered page"
    assert len(delivered(storage)) == 2 * feed.vehicles
    # The platform retries the run: it resumes at page 2.
    out = rt.invoke(EVENT, None, vehicle_stats.run)
    assert out["ok"] and out["records"] == (feed.pages - 2) * feed.vehicles
    feed_requests = [s for s in server.seen if s.path.endswith("/feed")]
    assert feed_requests[-(feed.pages - 2)].query["after"] == ["p2"]
    records = delivered(storage)
    assert len(records) == len({r["id"] for r in records}) == feed.pages * feed.vehicles


def test_redelivery_after_a_crash_between_delivery_and_checkpoint_overwrites(
    server: ScriptedServer, feed: MiniFeed
) -> None:
    storage = MemoryStorage()
    rt = make_runtime(server, storage)
    real_put = storage.put
    calls = {"n": 0}

    def crash_on_second_checkpoint(key: str, data: bytes, **kw: Any) -> None:
        if key.startswith("checkpoints/"):
            calls["n"] += 1
            if calls["n"] == 2:
                raise ServerError("storage blip", "PUT", key, 1, 0.0, 503, None, "")
        real_put(key, data, **kw)

    storage.put = crash_on_second_checkpoint  # type: ignore[method-assign]
    with pytest.raises(ServerError):
        rt.invoke(EVENT, None, vehicle_stats.run)
    storage.put = real_put  # type: ignore[method-assign]
    rt.invoke(EVENT, None, vehicle_stats.run)
    records = delivered(storage)
    assert len(records) == len({r["id"] for r in records}) == feed.pages * feed.vehicles


def test_max_pages_and_caught_up_runs(server: ScriptedServer, feed: MiniFeed) -> None:
    storage = MemoryStorage()
    rt = make_runtime(server, storage)
    first = rt.invoke({**EVENT, "maxPages": "2"}, None, vehicle_stats.run)
    assert first["records"] == 2 * feed.vehicles and not first["caughtUp"]
    rest = rt.invoke(EVENT, None, vehicle_stats.run)
    assert rest["records"] == (feed.pages - 2) * feed.vehicles and rest["caughtUp"]


def test_bad_parameters_change_nothing(server: ScriptedServer, feed: MiniFeed) -> None:
    storage = MemoryStorage()
    rt = make_runtime(server, storage)
    for event, match in [
        ({"types": "gps;drop"}, "invalid stat types"),
        ({"units": "furlongs"}, "`units` is `furlongs`"),
        ({"maxPages": "0"}, "`maxPages` is `0`"),
        ({"resetCheckpoint": "perhaps"}, "`resetCheckpoint` is `perhaps`"),
    ]:
        out = rt.invoke(event, None, vehicle_stats.run)
        assert out["ok"] is False and match in out["message"], out
    assert storage.objects == {}


def test_changed_types_refuse_the_old_checkpoint_until_reset(server: ScriptedServer, feed: MiniFeed) -> None:
    storage = MemoryStorage()
    rt = make_runtime(server, storage)
    rt.invoke(EVENT, None, vehicle_stats.run)
    out = rt.invoke({**EVENT, "units": "imperial"}, None, vehicle_stats.run)
    assert (
        out["ok"] is False and out["error"] == "CheckpointError" and "resetCheckpoint=true" in out["message"]
    )
    out = rt.invoke({**EVENT, "units": "imperial", "resetCheckpoint": "true"}, None, vehicle_stats.run)
    assert out["ok"] and out["records"] == feed.pages * feed.vehicles


def test_a_run_stopped_at_its_deadline_returns_cleanly_and_resumes(
    server: ScriptedServer, feed: MiniFeed
) -> None:
    storage = MemoryStorage()
    rt = make_runtime(server, storage)
    feed.delay_on[3] = 2.0  # page 3 answers after the deadline
    out = rt.invoke(EVENT, None, vehicle_stats.run, margin_s=900 - 1.0)  # a one-second budget
    assert out["ok"] and not out["caughtUp"] and out["streams"][0]["stopped_by_deadline"]
    assert out["records"] == 3 * feed.vehicles
    feed.delay_on.clear()
    out = rt.invoke(EVENT, None, vehicle_stats.run)
    assert out["caughtUp"] and out["records"] == (feed.pages - 3) * feed.vehicles
    records = delivered(storage)
    assert len(records) == len({r["id"] for r in records}) == feed.pages * feed.vehicles
