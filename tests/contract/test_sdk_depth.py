"""Contract tests for the fleet's depth (issue 16 §2), under both SDKs: what a real fleet shows parses,
and is there (post-trip and mechanic DVIRs, defect photos, safety-event clips, PTO idling, skewed
speeding, driver replies)."""

from __future__ import annotations

import importlib.metadata
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

samsara = pytest.importorskip("samsara", reason="samsara-api is not installed")
from samsara import Samsara  # noqa: E402

from tests.contract._sdk14 import rerun_under_sdk14  # noqa: E402
from tests.support.sandbox import SandboxProcess  # noqa: E402

pytestmark = pytest.mark.sandbox

SDK_MAJOR = int(importlib.metadata.version("samsara-api").split(".")[0])
START = "2026-10-25T00:00:00Z"


@pytest.fixture(scope="module")
def client(sandbox: SandboxProcess) -> Iterator[Samsara]:
    with httpx.Client(timeout=30) as http:
        yield Samsara(token=sandbox.token, base_url=sandbox.url, httpx_client=http)


def test_sdk14_suite() -> None:
    """Re-runs this module under samsara-api 14.x when such an interpreter exists."""
    rerun_under_sdk14(Path(__file__))


def walk(call: Any, **kwargs: Any) -> list[Any]:
    """Every record of a stream, page after page, parsed by the SDK."""
    out: list[Any] = []
    after = None
    while True:
        page = call(**kwargs, after=after) if after else call(**kwargs)
        out += page.data
        if not page.pagination.has_next_page:
            return out
        after = page.pagination.end_cursor


def test_dvirs_of_three_kinds_with_defect_photos_and_mechanic_resolutions(client: Samsara) -> None:
    dvirs = walk(client.maintenance.get_dvirs, start_time=START)
    kinds = Counter(d.type for d in dvirs)
    assert kinds["preTrip"] > kinds["postTrip"] > kinds["mechanic"] > 0, kinds
    assert {d.safety_status for d in dvirs} >= {"safe", "resolved"}
    defects = walk(client.maintenance.stream_defects, start_time=START)
    assert 0.05 < len(defects) / len(dvirs) < 0.5, (len(defects), len(dvirs))
    assert any(d.defect_photos for d in defects)
    # Signed loopback URLs of the sandbox, so a Function can download them (https but for loopback).
    assert all(
        p.url.startswith("http://127.0.0.1:") and "/__sandbox/media/" in p.url
        for d in defects
        for p in d.defect_photos or []
    )
    resolved = [d for d in defects if d.is_resolved]
    assert resolved
    assert len(resolved) < len(defects), "some defects stay open"
    assert {d.resolved_by.type for d in resolved if d.resolved_by} == {"mechanic"}
    assert len({d.resolved_by.name for d in resolved if d.resolved_by}) > 1


def test_safety_event_clips_are_in_camera_media(client: Samsara) -> None:
    api = client.safety if SDK_MAJOR >= 14 else client.beta_ap_is
    events = api.get_safety_events_v_2_stream(
        start_time="2026-11-02T00:00:00Z", end_time="2026-11-02T16:00:00Z", include_asset=True
    ).data
    assert events and any(not e.media for e in events), "some events have no clip"
    ev = next(e for e in events if e.media)
    at = datetime.fromisoformat(str(ev.start_ms).replace("Z", "+00:00"))
    start, end = ((at + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ") for h in (-1, 1))
    media = client.media.list_uploaded_media(
        vehicle_ids=ev.asset.id, start_time=start, end_time=end, trigger_reasons="safetyEvent"
    ).data.media
    assert media
    assert {m.media_type for m in media} == {"videoHighRes"}
    urls = {m.url_info.url for m in media if m.url_info}
    assert ev.media
    clips = {m["url"] if isinstance(m, dict) else m.url for m in ev.media}  # 14.x types media as dicts
    assert clips <= urls


def test_idling_has_long_idles_and_pto(sandbox: SandboxProcess) -> None:
    """Raw, because SDK 4.1 cannot parse any `ptoState` (a known SDK bug, see test_sdk_contract)."""
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    events: list[dict[str, Any]] = []
    after = ""
    while True:
        url = f"{sandbox.url}/idling/events?startTime={START}&endTime=2026-11-02T18:00:00Z&limit=200{after}"
        page = httpx.get(url, headers=auth, timeout=30).json()
        events += page["data"]
        if not page["pagination"]["hasNextPage"]:
            break
        after = f"&after={page['pagination']['endCursor']}"
    minutes = sorted(e["durationMilliseconds"] / 60_000 for e in events)
    assert minutes[-1] > 30
    assert Counter(e["ptoState"] for e in events)["active"] > 0


def test_speeding_is_skewed(client: Samsara) -> None:
    trips = walk(client.speeding_intervals.get_speeding_intervals, start_time=START)
    with_intervals = [t for t in trips if t.intervals]
    assert 0.15 < len(with_intervals) / len(trips) < 0.6
    levels = Counter(i.severity_level for t in trips for i in t.intervals)
    assert levels["light"] > levels["moderate"] > levels["severe"], levels


def test_messages_carry_driver_replies(client: Samsara) -> None:
    got = client.messages.v_1_get_messages(duration_ms=2 * 86_400_000).data
    senders = Counter(m.sender.type for m in got if m.sender)
    assert senders["dispatch"] > 0
    assert senders["driver"] > 0
    assert len({m.text for m in got if m.sender and m.sender.type == "driver"}) >= 4


def snake(name: str) -> str:
    """The SDK attribute of a stat type (`auxInput1` -> `aux_input_1`)."""
    return re.sub(r"(?<!^)(?=[A-Z0-9])", "_", name).lower()


@pytest.mark.parametrize(
    "types",
    [
        ["auxInput1", "auxInput2", "auxInput3"],
        ["auxInput4", "idlingDurationMilliseconds", "intakeManifoldTemperatureMilliC"],
        ["barometricPressurePa", "seatbeltDriver", "ecuDoorStatus"],
        ["nfcCardScans", "engineImmobilizer", "spreaderOnState"],
        ["spreaderActive", "spreaderPlowStatus", "spreaderGranularRate"],
        ["spreaderAirTemp", "spreaderRoadTemp", "spreaderLiquidName"],
        ["spreaderLiquidRate", "spreaderPrewetRate", "spreaderBlastState"],
        ["spreaderGranularName", "spreaderPrewetName", "engineStates"],
    ],
)
def test_equipment_stat_types_return_data(client: Samsara, types: list[str]) -> None:
    """Types that need equipment (PTO, plow, door sensor, NFC reader, immobiliser) have vehicles with it."""
    found: Counter[str] = Counter()
    after = None
    while True:
        page = client.vehicle_stats.get_vehicle_stats_history(
            start_time="2026-11-02T00:00:00Z", end_time="2026-11-02T18:00:00Z", types=types, after=after
        )
        for v in page.data:
            found.update({t: len(getattr(v, snake(t)) or []) for t in types})
        if not page.pagination.has_next_page:
            break
        after = page.pagination.end_cursor
    assert all(found[t] > 0 for t in types), found
