"""vehicle-stats' combined odometer (``odometer_readings``): the OBD-else-GPS rule on the converter's real
output, its independence from page boundaries (what makes runs, backfill windows and the hand-over
converge), and the records against the sandbox's raw odometer points, with some vehicles that have no
OBD odometer (the sandbox's ``--no-obd-odometer``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from samsara_fmc import records
from samsara_fmc._core import convert_stats
from samsara_fmc.integrations.vehicle_stats import odometer_batch
from samsara_fmc.runtime import FunctionRuntime, Manifest
from samsara_fmc.storage import MemoryStorage
from scripts.demo import api_get
from tests.support.sandbox import SandboxProcess
from tests.test_runtime import ROOT, FakeSecrets

FMC = "fmc-odometer-token"


def point(t: str, meters: int, obd_decoration: int | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"time": t, "value": meters}
    if obd_decoration is not None:
        p["decorations"] = {"obdOdometerMeters": {"value": obd_decoration}}
    return p


def page(vehicles: list[dict[str, Any]]) -> bytes:
    return json.dumps({"data": vehicles, "pagination": {"endCursor": "c", "hasNextPage": False}}).encode()


def readings_of(body: bytes) -> list[dict[str, Any]]:
    ndjson, rejects, _, _, _, _ = convert_stats(body, "metric")
    batch, bad = odometer_batch(ndjson, rejects)
    return [dict(r) for r in batch.records()] + ([{"rejected": bad.ndjson().decode()}] if bad else [])


T1, T2, T3 = "2026-11-02T15:00:00Z", "2026-11-02T15:01:00Z", "2026-11-02T15:02:00Z"
VEHICLES: list[dict[str, Any]] = [
    # OBD and GPS odometer at the same times: the OBD points only.
    {
        "id": "1",
        "name": "Truck 1",
        "externalIds": {"maintenanceId": "M1"},
        "obdOdometerMeters": [point(T1, 100_000_000, 100_000_000), point(T2, 100_001_609, 100_001_609)],
        "gpsOdometerMeters": [point(T1, 100_310_000, 100_000_000), point(T2, 100_311_614, 100_001_609)],
    },
    # No OBD odometer at all (a manual odometer set in Samsara): the GPS points.
    {"id": "2", "name": "Trailer 2", "gpsOdometerMeters": [point(T1, 5_000_000), point(T3, 5_000_500)]},
    # OBD at T1 only, then coverage lost: OBD at T1, GPS at T3, not the decorated GPS point at T1.
    {
        "id": "3",
        "obdOdometerMeters": [point(T1, 42_000)],
        "gpsOdometerMeters": [point(T1, 41_900, 42_000), point(T3, 43_000)],
    },
]


def test_obd_is_preferred_and_gps_fills_in_where_the_vehicle_has_no_obd_odometer() -> None:
    got = readings_of(page(VEHICLES))
    assert [(r["id"], r["source"], r["meters"]) for r in got] == [
        (f"1:odometer:{T1}", "obd", 100_000_000),
        (f"1:odometer:{T2}", "obd", 100_001_609),
        (f"2:odometer:{T1}", "gps", 5_000_000),
        (f"2:odometer:{T3}", "gps", 5_000_500),
        (f"3:odometer:{T1}", "obd", 42_000),
        (f"3:odometer:{T3}", "gps", 43_000),
    ]
    first = got[0]
    assert first["vehicleName"] == "Truck 1" and first["externalIds"] == {"maintenanceId": "M1"}
    assert first["km"] == 100_000.0 and first["miles"] == pytest.approx(62_137.119, abs=0.0005)
    assert got[1]["miles"] - got[0]["miles"] == pytest.approx(1.0, abs=0.001), "1,609 m is a mile"
    assert "vehicleName" not in got[4], "a vehicle without a name has none"
    schema = records.schema("odometer_readings")
    assert schema is not None and all(records.validate(schema, r) == [] for r in got)
    assert len({r["id"] for r in got}) == len(got), "one reading per vehicle and time"


def test_the_readings_do_not_depend_on_page_boundaries() -> None:
    """Each point decides alone, so however a run, a retry or a backfill window splits the points into
    pages (OBD here, its GPS twin on the next page), the readings are the same."""
    whole = readings_of(page(VEHICLES))
    split: list[dict[str, Any]] = []
    for v in VEHICLES:
        for key in ("gpsOdometerMeters", "obdOdometerMeters"):  # GPS first: the worst order
            for p in v.get(key, []):
                one = {k: x for k, x in v.items() if not k.endswith("OdometerMeters")} | {key: [p]}
                split += readings_of(page([one]))
    assert sorted(split, key=lambda r: r["id"]) == sorted(whole, key=lambda r: r["id"])


def test_a_malformed_point_is_rejected_with_its_reason_not_dropped() -> None:
    bad = [{"id": "9", "obdOdometerMeters": [{"time": T1, "value": "lots"}, point(T2, 7_000)]}]
    got = readings_of(page(bad))
    assert [r.get("id") for r in got[:-1]] == [f"9:odometer:{T2}"]
    assert "not a finite number" in got[-1]["rejected"]


def odometer_truth(sb: SandboxProcess, start: str, end: str | None) -> dict[str, tuple[str, int]]:
    """The rule applied to the raw API: {reading id: (source, metres)} for the latest values (no
    ``end``: what the feed's first call delivers, read at that time) or every point in (start, end]."""
    out: dict[str, tuple[str, int]] = {}

    def add(vid: str, obd: list[dict[str, Any]], gps: list[dict[str, Any]]) -> None:
        for p in obd:
            out[f"{vid}:odometer:{p['time']}"] = ("obd", int(p["value"]))
        for p in gps:
            if "obdOdometerMeters" not in (p.get("decorations") or {}):
                out.setdefault(f"{vid}:odometer:{p['time']}", ("gps", int(p["value"])))

    types = {"types": "obdOdometerMeters,gpsOdometerMeters", "decorations": "obdOdometerMeters"}
    if end is None:
        for v in api_get(sb.url, sb.token, "/fleet/vehicles/stats", {"types": types["types"]})["data"]:
            # The snapshot has no decorations: a vehicle with an OBD odometer has its latest OBD point.
            obd = [v["obdOdometerMeters"]] if v.get("obdOdometerMeters") else []
            gps = [v["gpsOdometerMeters"]] if v.get("gpsOdometerMeters") and not obd else []
            add(str(v["id"]), obd, gps)
        return out
    after = ""
    while True:
        params = {**types, "startTime": start, "endTime": end, **({"after": after} if after else {})}
        body = api_get(sb.url, sb.token, "/fleet/vehicles/stats/history", params)
        for v in body["data"]:
            keep = [p for p in v.get("obdOdometerMeters", []) if p["time"] > start]
            gps = [p for p in v.get("gpsOdometerMeters", []) if p["time"] > start]
            add(str(v["id"]), keep, gps)
        after = body["pagination"]["endCursor"]
        if not body["pagination"]["hasNextPage"]:
            return out


@pytest.mark.sandbox
def test_the_fmc_gets_one_reading_per_vehicle_and_time_with_miles_and_km(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    sb = sandbox_factory(
        "--seed", "11", "--vehicles", "8", "--days", "1", "--start", "2026-11-02T15:00:00Z",
        "--rate-limits", "off", "--fmc-token", FMC, "--no-obd-odometer", "30",
    )  # fmt: skip
    manifest = Manifest.load(ROOT / "functions" / "vehicle-stats" / "function.json")
    secrets = {"SAMSARA_API_TOKEN": sb.token, "SAMSARA_BASE_URL": sb.url, "FMC_URL": sb.url, "FMC_TOKEN": FMC}
    rt = FunctionRuntime(manifest, storage=MemoryStorage(), secret_source=FakeSecrets(secrets))
    event = {"units": "imperial", "readings": "none", "SamsaraFunctionTriggerSource": "schedule"}
    assert rt.invoke({**event, "SamsaraFunctionCorrelationId": "r1"}, None)["ok"]
    start = sb.advance(0)
    latest = odometer_truth(sb, start, None)
    sb.advance(2 * 3600)
    out = rt.invoke({**event, "SamsaraFunctionCorrelationId": "r2"}, None)
    again = rt.invoke({**event, "SamsaraFunctionCorrelationId": "r3"}, None)
    assert out["ok"] and again["ok"] and again["caughtUp"]
    truth = latest | odometer_truth(sb, start, sb.advance(0))
    held = {str(r["id"]): r["record"] for r in sb.fmc_records("odometer_readings")}
    assert set(held) == set(truth) and len(truth) > 100, (
        sorted(set(held) - set(truth)),
        sorted(set(truth) - set(held)),
    )
    summary = sb.fmc_summary("odometer_readings")
    assert summary["duplicates"] == summary["updates"] == 0, summary
    schema = records.schema("odometer_readings")
    assert schema is not None
    for rid, (source, meters) in truth.items():
        r = held[rid]
        assert (r["source"], r["meters"]) == (source, meters), rid
        assert r["km"] == pytest.approx(meters / 1000, abs=0.0005)
        assert r["miles"] == pytest.approx(meters / 1609.344, abs=0.0005)
        assert records.validate(schema, r) == []
    assert not [s for s in out["streams"] if s["sinkStream"] == "vehicle_stats" and "Odometer" in s["stream"]]
    # Vehicles without OBD odometer coverage (`--no-obd-odometer`) have GPS readings, the others OBD ones.
    sources: dict[str, set[str]] = {}
    for r in held.values():
        sources.setdefault(str(r["vehicleId"]), set()).add(str(r["source"]))
    assert {"obd"} in sources.values() and {"gps"} in sources.values(), sources
    assert all(len(s) == 1 for s in sources.values()), "a vehicle has an OBD odometer or it has not"
