"""Contract: both SDKs parse what the sandbox sends with ``--episodes on`` (fault codes every five
minutes, with the engine state as a decoration; low battery, low oil pressure, odometer steps; leaking
tires in the readings feed), the requests vehicle-maintenance makes. Re-run under 14.x like the rest."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

samsara = pytest.importorskip("samsara", reason="samsara-api is not installed")
from samsara import Samsara  # noqa: E402

from tests.contract._sdk14 import rerun_under_sdk14  # noqa: E402
from tests.contract.conftest import SDK_API_VERSIONS, sdk_token  # noqa: E402
from tests.support.sandbox import DEFAULT_ARGS, SandboxProcess, start_sandbox  # noqa: E402

pytestmark = pytest.mark.sandbox

SDK_MAJOR = int(importlib.metadata.version("samsara-api").split(".")[0])
WINDOW = {"start_time": "2026-11-01T00:00:00Z", "end_time": "2026-11-02T18:00:00Z"}


@pytest.fixture(scope="module")
def episodes() -> Iterator[SandboxProcess]:
    tokens = [a for m, v in SDK_API_VERSIONS.items() for a in ("--token", f"{sdk_token(m)}@{v}")]
    sb = start_sandbox([*DEFAULT_ARGS, *tokens, "--episodes", "on"])
    sb.token = sdk_token(14 if SDK_MAJOR >= 14 else 4)
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture(scope="module")
def client(episodes: SandboxProcess) -> Iterator[Samsara]:
    with httpx.Client(timeout=30) as http:
        yield Samsara(token=episodes.token, base_url=episodes.url, httpx_client=http)


def test_fault_codes_with_the_engine_state_parse(client: Samsara, episodes: SandboxProcess) -> None:
    truth = episodes.get(
        "/__sandbox/truth/episodes?startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T18:00:00Z"
    )["data"]
    fault = next(e for e in truth if e["kind"] == "fault" and e["firstSample"])
    hist = client.vehicle_stats.get_vehicle_stats_history(
        types=["engineStates", "faultCodes", "batteryMilliVolts"],
        decorations=["engineStates"],
        vehicle_ids=[fault["vehicleId"]],
        **WINDOW,
    )
    [vehicle] = hist.data
    points = {p.time: p for p in vehicle.fault_codes or ()}
    shown = points[fault["firstSample"]]
    codes = shown.j_1939.diagnostic_trouble_codes if shown.j_1939 else shown.obdii.diagnostic_trouble_codes
    assert codes, shown
    assert shown.decorations is not None and shown.decorations.engine_states is not None
    feed = client.vehicle_stats.get_vehicle_stats_feed(
        types=["engineOilPressureKPa", "fuelPercents", "ecuSpeedMph"], decorations=["engineStates"]
    )
    assert feed.data and feed.pagination.end_cursor


def test_low_voltage_and_odometer_steps_parse(client: Samsara, episodes: SandboxProcess) -> None:
    truth = episodes.get(
        "/__sandbox/truth/episodes?startTime=2026-11-01T00:00:00Z&endTime=2026-11-02T18:00:00Z"
    )["data"]
    low = next(e for e in truth if e["kind"].startswith("lowVoltage") and e["firstSample"])
    hist = client.vehicle_stats.get_vehicle_stats_history(
        types=["batteryMilliVolts", "obdOdometerMeters"], vehicle_ids=[low["vehicleId"]], **WINDOW
    )
    [vehicle] = hist.data
    by_time = {p.time: p.value for p in vehicle.battery_milli_volts or ()}
    assert by_time[low["firstSample"]] < 13_000
    assert vehicle.obd_odometer_meters


def test_tire_readings_feed_parses(client: Samsara) -> None:
    api = client.readings if SDK_MAJOR >= 14 else client.beta_ap_is  # type: ignore[attr-defined]
    # 14.x has `assetTypes` on the history (vehicle-maintenance sends it); the 4.1 beta client has not.
    extra = {"asset_types": "vehicle"} if SDK_MAJOR >= 14 else {}
    feed = api.get_readings_history(
        reading_id="tirePressuresFrontLeft", entity_type="asset", feed=True, **extra
    )
    assert feed.data and feed.pagination.end_cursor
    assert all(r.value is not None and r.value["unit"] == "kilopascal" for r in feed.data)


def test_sdk14_suite() -> None:
    """Re-runs this module under samsara-api 14.x when such an interpreter exists."""
    rerun_under_sdk14(Path(__file__))
