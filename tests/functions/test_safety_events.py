"""safety-events against the sandbox: what is delivered equals a fresh read of the stream, updates are
upserts, faults deliver each version once, speeds are converted, media URLs only when asked for."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from samsara_fmc import records
from samsara_fmc.integrations import safety_events
from tests.functions.safety_rig import MEDIA_HOST, NARROW, Rig, mph, sandbox_args
from tests.support.sandbox import SandboxProcess

STREAM = "safety_events"
QUERY = {"queryByTimeField": "updatedAtTime", "includeAsset": "true", "includeDriver": "true"}


@pytest.fixture
def rig_factory(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Rig]:
    sb = sandbox_factory(*sandbox_args())

    def make(**kw: Any) -> Rig:
        rig = Rig(sb, "safety-events", **kw)
        monkeypatch.setattr(safety_events, "CLOCK", rig.now)
        return rig

    return make


def truth(rig: Rig, stream_name: str, **extra: str) -> dict[str, dict[str, Any]]:
    """Every event's current version, read afresh from the stream's first ``startTime``."""
    start = rig.state(stream_name)["first"]
    return {
        str(e["id"]): e for e in rig.truth("/safety-events/stream", {**QUERY, "startTime": start, **extra})
    }


def test_delivers_the_window_as_a_fresh_read_has_it_then_only_what_changed(
    rig_factory: Callable[..., Rig], capfd: pytest.CaptureFixture[str]
) -> None:
    rig = rig_factory(fmc=True)
    out = rig.invoke(units="imperial")
    assert out["ok"] and out["caughtUp"], out
    assert rig.state("safety-events.imperial")["first"] == rig.start_of(24), "the default lookback, 24 h"
    expected = truth(rig, "safety-events.imperial")
    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert len(expected) > 20 and held.keys() == expected.keys()
    assert out["records"] == len(expected)
    health = json.loads(rig.storage.objects["health/safety-events.json"])
    newest = max(e["updatedAtTime"] for e in expected.values())
    assert health["streams"]["safety-events.imperial"]["newestRecordAt"] == newest
    speeding = [i for i, e in expected.items() if e.get("speedingMetadata")]
    assert speeding, "the window holds speeding events"
    for i in speeding:
        meta, r = expected[i]["speedingMetadata"], held[i]
        assert r["speedUnit"] == "mph"
        assert r["maxSpeed"] == mph(meta["maxSpeedKilometersPerHour"])
        assert r["postedSpeedLimit"] == mph(meta["postedSpeedLimitKilometersPerHour"])
    for i, e in expected.items():
        r = held[i]
        assert r["vehicleExternalIds"] == e["asset"].get("externalIds") and r["vehicleId"] == e["asset"]["id"]
        assert r["driverId"] == e["driver"]["id"] and r["driverExternalIds"] == e["driver"].get("externalIds")
        assert r["behaviorLabels"] == [b["label"] for b in e["behaviorLabels"]]
        assert r["eventState"] == e["eventState"] and r["hasMedia"] == bool(e.get("media"))
        assert r["latitude"] == e["location"]["latitude"]
    assert any(r["vehicleExternalIds"].get("maintenanceId") for r in held.values())
    schema = records.schema(STREAM)
    assert schema is not None and all(records.validate(schema, r) == [] for r in held.values())

    again = rig.invoke(units="imperial")
    assert again["ok"] and again["records"] == 0, "a rerun with nothing new delivers nothing"

    rig.sb.advance(6 * 3600)
    later = rig.invoke(units="imperial")
    assert later["ok"] and later["caughtUp"] and later["records"] > 0
    expected = truth(rig, "safety-events.imperial")
    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert held.keys() == expected.keys()
    assert {i: r["updatedAtTime"] for i, r in held.items()} == {
        i: e["updatedAtTime"] for i, e in expected.items()
    }, "every event's newest version, an update replacing the earlier one (upsert by id)"
    summary = rig.sb.fmc_summary(STREAM)
    assert summary["records"] == len(expected) and summary["duplicates"] == 0
    assert summary["updates"] > 0, "events reviewed or coached since were delivered again as upserts"

    # Media URLs were asked for by nobody: they are nowhere the runs wrote.
    assert any(r["hasMedia"] for r in held.values()) and all("media" not in r for r in held.values())
    everything = [capfd.readouterr().out, rig.written(), json.dumps([out, again, later])]
    everything.append(json.dumps(rig.delivered(STREAM)))
    assert all(MEDIA_HOST not in text for text in everything)
    assert any(MEDIA_HOST in json.dumps(e) for e in expected.values()), "the API does hold media URLs"


def test_media_urls_are_delivered_only_when_asked_for_and_never_logged(
    rig_factory: Callable[..., Rig], capfd: pytest.CaptureFixture[str]
) -> None:
    rig = rig_factory()
    out = rig.invoke(units="metric", includeMediaUrls="true")
    assert MEDIA_HOST not in capfd.readouterr().out + json.dumps(out), "not in the log or the summary"
    assert out["ok"] and out["caughtUp"]
    expected = truth(rig, "safety-events.metric")
    held = {str(r["id"]): r for r in rig.delivered(STREAM)}
    assert held.keys() == expected.keys()
    for i, e in expected.items():
        assert [m["url"] for m in held[i]["media"]] == [m["url"] for m in e.get("media") or []]
    assert any(MEDIA_HOST in m["url"] for r in held.values() for m in r["media"])


@pytest.mark.parametrize("kind", ["expire_cursor", "repeat_records", "status"])
def test_stream_faults_still_deliver_each_version_once(rig_factory: Callable[..., Rig], kind: str) -> None:
    rig = rig_factory()
    rig.invoke(units="metric", maxPages="1")
    rule: dict[str, Any] = {"path": "/safety-events/stream", "kind": kind}
    if kind == "status":
        rule |= {"status": 503, "times": 3}
    rig.sb.faults(rule)
    rig.sb.advance(3 * 3600)
    runs = [rig.run_ok(units="metric", maxPages="1") for _ in range(2)]
    runs += rig.until_caught_up(units="metric")
    if kind == "repeat_records":
        assert sum(r["repeated"] for r in runs) >= 2, "the repeated records were recognised"
    assert not rig.sb.get("/__sandbox/faults")["rules"], "the fault was met"
    versions = Counter((str(r["id"]), str(r["updatedAtTime"])) for r in rig.delivered(STREAM))
    assert all(n == 1 for n in versions.values()), "no version delivered twice"
    expected = truth(rig, "safety-events.metric")
    newest: dict[str, str] = {}
    for i, t in versions:
        newest[i] = max(newest.get(i, t), t)
    assert newest == {i: e["updatedAtTime"] for i, e in expected.items()}


def test_speeds_are_converted_as_computed_by_hand() -> None:
    item = {
        "id": "e1",
        "asset": {"id": "1"},
        "driver": {"id": "2"},
        "behaviorLabels": [{"label": "Speeding", "source": "automated"}],
        "location": {"latitude": 1.0, "longitude": 2.0, "headingDegrees": 3},
        "speedingMetadata": {"maxSpeedKilometersPerHour": 121, "postedSpeedLimitKilometersPerHour": 105},
        "startMs": "2026-11-01T10:57:25Z",
        "updatedAtTime": "2026-11-01T10:59:25Z",
        "eventState": "needsReview",
        "media": [{"input": "dashcamRoadFacing", "url": "https://media.example/x.mp4"}],
    }
    imperial = safety_events.to_record(item, units="imperial")
    assert (imperial["maxSpeed"], imperial["postedSpeedLimit"], imperial["speedUnit"]) == (
        75.19,
        65.24,
        "mph",
    )
    metric = safety_events.to_record(item, units="metric")
    assert (metric["maxSpeed"], metric["postedSpeedLimit"], metric["speedUnit"]) == (121.0, 105.0, "km/h")
    assert "x.mp4" not in json.dumps(imperial) and imperial["mediaInputs"] == ["dashcamRoadFacing"]
    assert safety_events.to_record(item, units="metric", include_media_urls=True)["media"][0]["url"].endswith(
        "x.mp4"
    )


def test_the_behaviour_label_filter_is_sent_and_has_a_stream_of_its_own(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory()
    out = rig.invoke(units="metric", behaviorLabels="Speeding,Braking")
    assert out["ok"] and out["caughtUp"]
    [name] = [s["stream"] for s in out["streams"]]
    assert name.startswith("safety-events.metric.")
    held = rig.delivered(STREAM)
    expected = truth(rig, name, behaviorLabels="Speeding,Braking")
    assert held and {str(r["id"]) for r in held} == expected.keys()
    assert all({"Speeding", "Braking"} & set(r["behaviorLabels"]) for r in held)
    sent = [r["query"] for r in rig.sb.requests() if r["path"] == "/safety-events/stream"]
    assert "behaviorLabels=Braking%2CSpeeding" in sent[0] or "behaviorLabels=Braking,Speeding" in sent[0]
    again = rig.invoke(units="metric", behaviorLabels="Braking,Speeding,Braking")
    assert again["ok"] and again["streams"][0]["stream"] == name, "the same filter, however written"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"units": "si"}, "`units` is `si`: use one of `metric`, `imperial`"),
        ({"behaviorLabels": "Speedin"}, "`Speedin` not allowed"),
        ({"lookbackHours": "0"}, "`lookbackHours` is `0`"),
        ({"includeMediaUrls": "maybe"}, "`includeMediaUrls` is `maybe`: use `true` or `false`"),
    ],
)
def test_bad_parameters_fail_clearly_and_write_nothing(
    rig_factory: Callable[..., Rig], params: dict[str, str], message: str
) -> None:
    rig = rig_factory()
    out = rig.invoke(**params)
    assert out["ok"] is False and message in out["message"], out
    assert not rig.storage.objects and not rig.delivered(STREAM)
    assert not [r for r in rig.sb.requests() if r["path"] == "/safety-events/stream"]


def test_a_token_without_the_scope_fails_preflight_naming_it(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(token=NARROW)
    out = rig.invoke(units="metric")
    assert out["ok"] is False and "`Read Safety Events & Scores`" in out["message"], out
    assert not rig.delivered(STREAM)
    assert not [r for r in rig.sb.requests() if r["path"] == "/safety-events/stream"]
