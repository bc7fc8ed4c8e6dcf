"""Every stat vehicle-stats offers, converted, field by field against the sandbox's raw values (issue 12
§6): each delivered ``vehicle_stat`` record is looked up in the raw API (the stats snapshot the feed's
first call equals, the stats history after it, the Readings API) and its converted fields are compared
with values computed here from the raw ones, with this file's own unit factors, in metric and imperial.

The check is a function (:func:`mismatches`) so the tests can show it fails: with one wrong factor in
its table, or with a wrong factor in the Function, it reports the records that disagree.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.integrations import vehicle_stats
from samsara_fmc.runtime import FunctionRuntime, Manifest
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.storage import MemoryStorage
from scripts.demo import api_get
from tests.support.sandbox import SandboxProcess, start_sandbox
from tests.test_runtime import ROOT, FakeSecrets

pytestmark = pytest.mark.sandbox
MANIFEST = Manifest.load(ROOT / "functions" / "vehicle-stats" / "function.json")

# Exact definitions, written out here rather than taken from the converter.
MILE_M = 1609.344
PSI_KPA = 6.894757293168361  # 1 lbf/in² in kPa
GALLON_L = 3.785411784
FACTORS: dict[str, float] = {"mi": MILE_M, "psi": PSI_KPA, "gal": GALLON_L}
"""The factors the expectations use (a test swaps one for a wrong value)."""


def _temp(milli_c: float, units: str) -> tuple[float, str]:
    c = milli_c / 1000.0
    return (c * 9.0 / 5.0 + 32.0, "F") if units == "imperial" else (c, "C")


def expected_scalar(stat: str, raw: float, units: str, f: dict[str, float]) -> tuple[float, str] | None:
    """The converted value and unit of a numeric stat, or ``None`` for a stat that is not numeric."""
    imperial = units == "imperial"
    if stat in ("obdOdometerMeters", "gpsOdometerMeters", "gpsDistanceMeters", "evDistanceDrivenMeters"):
        return (raw / f["mi"], "mi") if imperial else (raw / 1000.0, "km")
    if stat in ("obdEngineSeconds", "syntheticEngineSeconds"):
        return raw / 3600.0, "h"
    if stat == "idlingDurationMilliseconds":
        return raw / 3_600_000.0, "h"
    if stat in (
        "ambientAirTemperatureMilliC",
        "engineCoolantTemperatureMilliC",
        "intakeManifoldTemperatureMilliC",
        "evAverageBatteryTemperatureMilliCelsius",
    ):
        return _temp(raw, units)
    if stat == "engineOilPressureKPa":
        return (raw / f["psi"], "psi") if imperial else (raw, "kPa")
    if stat == "barometricPressurePa":
        return (raw / 1000.0 / f["psi"], "psi") if imperial else (raw / 1000.0, "kPa")
    if stat in ("batteryMilliVolts", "evChargingVoltageMilliVolt", "evBatteryVoltageMilliVolt"):
        return raw / 1000.0, "V"
    if stat in ("evChargingCurrentMilliAmp", "evBatteryCurrentMilliAmp"):
        return raw / 1000.0, "A"
    if stat in ("defLevelMilliPercent", "evStateOfChargeMilliPercent", "evBatteryStateOfHealthMilliPercent"):
        return raw / 1000.0, "%"
    if stat in ("evChargingEnergyMicroWh", "evConsumedEnergyMicroWh", "evRegeneratedEnergyMicroWh"):
        return raw / 1e9, "kWh"
    if stat == "fuelConsumedMilliliters":
        return (raw / 1000.0 / f["gal"], "gal") if imperial else (raw / 1000.0, "L")
    if stat == "ecuSpeedMph":
        return (raw, "mph") if imperial else (raw * MILE_M / 1000.0, "km/h")
    if stat in ("fuelPercents", "engineLoadPercent"):
        return raw, "%"
    if stat == "engineRpm":
        return raw, "rpm"
    return None


TEXT = {
    "engineStates",
    "seatbeltDriver",
    "ecuDoorStatus",
    "spreaderOnState",
    "spreaderActive",
    "spreaderBlastState",
    "spreaderPlowStatus",
    "spreaderGranularName",
    "spreaderPrewetName",
    "spreaderLiquidName",
}
CHARGING = {0: "unknown", 1: "notCharging", 2: "charging"}
SNAPSHOT_KEY = {"engineStates": "engineState", "fuelPercents": "fuelPercent", "nfcCardScans": "nfcCardScan"}


def close(a: Any, b: float, tol: float = 1e-9) -> bool:
    return isinstance(a, (int, float)) and math.isclose(float(a), b, rel_tol=tol, abs_tol=tol)


def check_stat(r: dict[str, Any], raw: dict[str, Any], units: str, f: dict[str, float]) -> list[str]:
    """What differs between one delivered stat record and its raw point."""
    stat, bad = r["stat"], []
    if stat == "gps":
        speed = raw.get("speedMilesPerHour")
        want_speed = None if speed is None else (speed if units == "imperial" else speed * MILE_M / 1000.0)
        want = {
            "latitude": raw["latitude"],
            "longitude": raw["longitude"],
            "headingDegrees": raw.get("headingDegrees"),
            "isEcuSpeed": raw.get("isEcuSpeed"),
            "location": (raw.get("reverseGeo") or {}).get("formattedLocation"),
            "address": raw.get("address"),
            "unit": "mph" if units == "imperial" else "km/h",
        }
        bad += [f"{k} {r.get(k)!r} != {v!r}" for k, v in want.items() if v is not None and r.get(k) != v]
        if want_speed is not None and not close(r.get("speed"), want_speed):
            bad.append(f"speed {r.get('speed')!r} != {want_speed!r}")
        return bad
    scalar = expected_scalar(stat, raw.get("value", math.nan), units, f) if "value" in raw else None
    if stat in TEXT:
        if r.get("value") != raw["value"] or "unit" in r:
            bad.append(f"value {r.get('value')!r} != {raw['value']!r}")
    elif stat == "evChargingStatus":
        if r.get("value") != CHARGING[raw["value"]]:
            bad.append(f"value {r.get('value')!r} != {CHARGING[raw['value']]!r}")
    elif scalar is not None and isinstance(raw["value"], (int, float)):
        value, unit = scalar
        if r.get("unit") != unit or not close(r.get("value"), value):
            bad.append(f"{r.get('value')!r} {r.get('unit')} != {value!r} {unit}")
    else:  # kept as it is: the point object (fault codes, aux inputs, NFC scans, spreader rates, …)
        point = {k: v for k, v in raw.items() if k not in ("time", "decorations")}
        got = {k: v for k, v in (r.get("value") or {}).items() if k not in ("time", "decorations")}
        if got != point:
            bad.append(f"value {got!r} != {point!r}")
    return bad


def check_reading(r: dict[str, Any], raw: dict[str, Any], units: str, f: dict[str, float]) -> list[str]:
    """What differs between one delivered reading record and its Readings API point."""
    number, unit = raw["value"]["number"], raw["value"]["unit"]
    imperial = units == "imperial"
    if unit == "kilopascal":
        want = (number / f["psi"], "psi") if imperial else (number, "kPa")
    elif unit == "celsius":
        want = (number * 9.0 / 5.0 + 32.0, "F") if imperial else (number, "C")
    else:
        want = (number, unit)
    # Readings are written to 0.001 (their sensors give 0.1).
    if r.get("unit") != want[1] or not close(r.get("value"), want[0], tol=0.0006):
        return [f"{r.get('value')!r} {r.get('unit')} != {want[0]!r} {want[1]}"]
    return []


def mismatches(
    delivered: list[dict[str, Any]],
    truth: dict[str, dict[str, Any]],
    units: str,
    factors: dict[str, float] | None = None,
) -> list[str]:
    """Every delivered record that has no raw point or whose converted fields differ from it."""
    f = factors or FACTORS
    out = []
    for r in delivered:
        raw = truth.get(str(r["id"]))
        if raw is None:
            out.append(f"{r['id']}: no such raw point")
            continue
        check = check_reading if r.get("source") == "readings" else check_stat
        out += [f"{r['id']}: {m}" for m in check(r, raw, units, f)]
    return out


def walk(sb: SandboxProcess, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    out, after = [], ""
    while True:
        body = api_get(sb.url, sb.token, path, {**params, **({"after": after} if after else {})})
        out += body["data"]
        after = body["pagination"]["endCursor"]
        if not body["pagination"]["hasNextPage"]:
            return out


def raw_latest(sb: SandboxProcess, types: list[str], readings: list[str]) -> dict[str, dict[str, Any]]:
    """Raw points by record id: each vehicle's latest values now (what a feed's first call delivers)."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(types), 3):
        group = types[i : i + 3]
        for v in walk(sb, "/fleet/vehicles/stats", {"types": ",".join(group)}):
            for t in group:
                p = v.get(SNAPSHOT_KEY.get(t, t))
                if p:
                    out[f"{v['id']}:{t}:{p['time']}"] = p
    for rid in readings:
        params = {"readingId": rid, "entityType": "asset", "assetTypes": "vehicle", "feed": "true"}
        body = api_get(sb.url, sb.token, "/readings/history", params)  # the first page: latest values
        out.update({f"{r['entityId']}:{rid}:{r['happenedAtTime']}": r for r in body["data"]})
    return out


def raw_since(
    sb: SandboxProcess, types: list[str], readings: list[str], start: str, end: str
) -> dict[str, dict[str, Any]]:
    """Raw points by record id in (start, end]: what the feeds deliver after their first call."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(types), 3):
        group = types[i : i + 3]
        params = {"types": ",".join(group), "startTime": start, "endTime": end}
        for v in walk(sb, "/fleet/vehicles/stats/history", params):
            for t in group:
                out.update({f"{v['id']}:{t}:{p['time']}": p for p in v.get(t, []) if p["time"] > start})
    for rid in readings:
        # The Readings API's end is exclusive: a second more.
        params = {"readingId": rid, "entityType": "asset", "assetTypes": "vehicle", "startTime": start}
        params["endTime"] = iso(parse_time(end) + dt.timedelta(seconds=1))
        for r in walk(sb, "/readings/history", params):
            if r["happenedAtTime"] > start:
                out[f"{r['entityId']}:{rid}:{r['happenedAtTime']}"] = r
    return out


def choices(name: str) -> list[str]:
    param = next(p for p in MANIFEST.parameters if p.name == name)
    return [c for c in param.choices if c != "none"]


def runtime(sb: SandboxProcess, sink: MemorySink) -> FunctionRuntime:
    secrets = {"SAMSARA_API_TOKEN": sb.token, "SAMSARA_BASE_URL": sb.url}
    return FunctionRuntime(MANIFEST, storage=MemoryStorage(), secret_source=FakeSecrets(secrets), sink=sink)


def deliver(rt: FunctionRuntime, units: str, correlation: str) -> dict[str, Any]:
    event = {
        "types": ",".join(choices("types")),
        "readings": ",".join(choices("readings")),
        "units": units,
        "odometer": "false",
        "SamsaraFunctionTriggerSource": "schedule",
        "SamsaraFunctionCorrelationId": correlation,
    }
    out = rt.invoke(event, None)
    assert out["ok"] and out["caughtUp"] and out["rejected"] == 0, out
    return out


Delivered = dict[str, tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]]


@pytest.fixture(scope="module")
def delivered() -> Iterator[Delivered]:
    """Both unit systems over the same points: the latest values, then an hour of driving."""
    sb = start_sandbox(
        ("--seed", "3", "--vehicles", "16", "--days", "1", "--start", "2026-11-02T16:00:00Z",
         "--rate-limits", "off")
    )  # fmt: skip
    try:
        yield _deliver_both(sb)
    finally:
        sb.stop()


def _deliver_both(sb: SandboxProcess) -> Delivered:
    types, readings = choices("types"), choices("readings")
    sinks = {"metric": MemorySink(), "imperial": MemorySink()}
    runtimes = {units: runtime(sb, sink) for units, sink in sinks.items()}
    for units, rt in runtimes.items():
        deliver(rt, units, f"{units}-1")
    start = sb.advance(0)
    truth = raw_latest(sb, types, readings)
    sb.advance(3600)
    for units, rt in runtimes.items():
        deliver(rt, units, f"{units}-2")
    truth |= raw_since(sb, types, readings, start, sb.advance(0))
    return {u: (s.records("vehicle_stats"), truth) for u, s in sinks.items()}


@pytest.mark.parametrize("units", ["metric", "imperial"])
def test_every_stat_and_reading_is_converted_as_the_raw_value_says(delivered: Delivered, units: str) -> None:
    records, truth = delivered[units]
    assert len(records) == len({r["id"] for r in records}) > 1000
    bad = mismatches(records, truth, units)
    assert not bad, f"{len(bad)} of {len(records)} records differ from the raw values: {bad[:5]}"
    # Every stat the sandbox reports was delivered and checked, numeric ones with their unit.
    seen = {r["stat"] for r in records}
    reported = {k.split(":")[1] for k in truth}
    assert seen == reported, sorted(reported ^ seen)
    assert len(seen) >= 45, sorted(set(choices("types")) - seen)
    numeric = {s for s in seen if expected_scalar(s, 1.0, units, FACTORS)}
    assert len(numeric) >= 25, sorted(numeric)
    assert {"tirePressuresFrontLeft", "engineOilTemperature", "oilPressure", "gps"} <= seen


@pytest.mark.parametrize(
    ("units", "wrong", "stat"),
    [
        ("imperial", {"mi": 1600.0}, "obdOdometerMeters"),
        ("imperial", {"psi": 6.9}, "tirePressuresBackLeft"),
        ("imperial", {"gal": 3.8}, "fuelConsumedMilliliters"),
    ],
)
def test_the_check_fails_with_a_wrong_factor(
    delivered: Delivered,
    units: str,
    wrong: dict[str, float],
    stat: str,
) -> None:
    records, truth = delivered[units]
    bad = mismatches(records, truth, units, {**FACTORS, **wrong})
    assert any(f":{stat}:" in m for m in bad), bad[:3]


def test_the_check_catches_a_wrong_factor_in_the_function(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Function's own psi factor (Readings API pressures) made 1 % wrong: the check names them."""
    monkeypatch.setattr(vehicle_stats, "_PSI_PER_KPA", 0.14503773773 * 1.01)
    sb = sandbox_factory("--seed", "3", "--vehicles", "4", "--days", "1", "--rate-limits", "off")
    sink = MemorySink()
    rt = runtime(sb, sink)
    event = {"types": "engineOilPressureKPa", "units": "imperial", "odometer": "false"}
    assert rt.invoke({**event, "SamsaraFunctionTriggerSource": "manual"}, None)["ok"]
    records = sink.records("vehicle_stats")
    truth = raw_latest(sb, ["engineOilPressureKPa"], choices("readings"))
    bad = mismatches(records, truth, "imperial")
    tires = [r for r in records if str(r["stat"]).startswith("tirePressures")]
    assert tires and len([m for m in bad if ":tirePressures" in m]) == len(tires)
    assert not [m for m in bad if ":engineOilPressureKPa:" in m], "the Rust-converted stat still agrees"
