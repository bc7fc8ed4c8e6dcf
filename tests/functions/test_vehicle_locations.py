"""vehicle-locations against the sandbox, delivering to its FMC endpoint: the latest points first, then
every point since, speeds converted, nothing twice under repeated records."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from samsara_fmc.runtime import FunctionRuntime, Manifest
from samsara_fmc.storage import MemoryStorage
from scripts.demo import api_get
from tests.support.sandbox import DEFAULT_ARGS, SandboxProcess
from tests.test_runtime import ROOT, FakeSecrets

pytestmark = pytest.mark.sandbox
MANIFEST = Manifest.load(ROOT / "functions" / "vehicle-locations" / "function.json")
FMC = "fmc-loc-token"


def runtime(sb: SandboxProcess) -> FunctionRuntime:
    secrets = {"SAMSARA_API_TOKEN": sb.token, "SAMSARA_BASE_URL": sb.url, "FMC_URL": sb.url, "FMC_TOKEN": FMC}
    return FunctionRuntime(MANIFEST, storage=MemoryStorage(), secret_source=FakeSecrets(secrets))


def points(body: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    out = {}
    for v in body["data"]:
        for p in v[key] if isinstance(v[key], list) else [v[key]]:
            out[f"{v['id']}:{p['time']}"] = p
    return out


def history(sb: SandboxProcess, start: str, end: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    after = ""
    while True:
        params = {"startTime": start, "endTime": end, **({"after": after} if after else {})}
        body = api_get(sb.url, sb.token, "/fleet/vehicles/locations/history", params)
        out.update({k: p for k, p in points(body, "locations").items() if p["time"] > start})
        after = body["pagination"]["endCursor"]
        if not body["pagination"]["hasNextPage"]:
            return out


def test_latest_then_every_point_since_converted_and_once(
    sandbox_factory: Callable[..., SandboxProcess], capsys: pytest.CaptureFixture[str]
) -> None:
    sb = sandbox_factory(*DEFAULT_ARGS, "--fmc-token", FMC)
    rt = runtime(sb)
    event = {
        "units": "metric",
        "SamsaraFunctionTriggerSource": "schedule",
        "SamsaraFunctionCorrelationId": "c1",
    }
    first = rt.invoke(event, None)
    latest = points(api_get(sb.url, sb.token, "/fleet/vehicles/locations", {}), "location")
    assert first["ok"] and first["records"] == len(latest) > 0
    start = sb.advance(0)
    sb.advance(1800)
    sb.faults({"path": "/fleet/vehicles/locations/feed", "kind": "repeat_records", "times": 3})
    second = rt.invoke({**event, "SamsaraFunctionCorrelationId": "c2"}, None)
    end = sb.advance(0)
    truth = {**latest, **history(sb, start, end)}
    held = {str(r["id"]): r["record"] for r in sb.fmc_records("vehicle_locations")}
    summary = sb.fmc_summary("vehicle_locations")
    assert second["ok"] and set(held) == set(truth)
    assert summary["duplicates"] == summary["updates"] == 0, "repeated records were left out"
    moving = next(k for k, p in truth.items() if p.get("speed"))
    assert held[moving]["speed"] == pytest.approx(truth[moving]["speed"] * 1.609344, abs=1e-3)
    assert held[moving]["speedUnit"] == "km/h" and held[moving]["latitude"] == truth[moving]["latitude"]
    again = rt.invoke({**event, "SamsaraFunctionCorrelationId": "c3"}, None)
    assert again["ok"] and again["records"] == 0, "a rerun with nothing new delivers nothing"
    assert FMC not in capsys.readouterr().out + json.dumps([first, second, again])


def test_bad_parameters_write_nothing(sandbox: SandboxProcess) -> None:
    rt = runtime(sandbox)
    out = rt.invoke({"units": "furlongs", "vehicleIds": "1;2"}, None)
    assert out["ok"] is False and "`units` is `furlongs`" in out["message"] and "`1;2`" in out["message"]
    assert not rt.storage.objects  # type: ignore[attr-defined]
