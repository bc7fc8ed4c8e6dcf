"""Links written back to Samsara as the FMC's external ID, against the sandbox: the PATCH bodies
carry only the caller's key, the vehicle read back has it and its other external IDs (the automatic
``samsara.*`` ones, ``maintenanceId``) unchanged, a second plan is empty; and the matching CLI's
``--apply`` does the same from two CSV exports (a dry run printing the plan without it).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc import Client
from samsara_fmc.exceptions import BadRequestError, ConfigurationError
from samsara_fmc.matching import apply_links, match_drivers, match_vehicles
from tests.support.sandbox import SandboxProcess

pytestmark = pytest.mark.sandbox


@pytest.fixture
def sb(sandbox_factory: Callable[..., SandboxProcess]) -> SandboxProcess:
    """A private sandbox (the tests write to it)."""
    return sandbox_factory()


def _client(sb: SandboxProcess) -> Client:
    return Client(token=sb.token, base_url=sb.url)


def _by_id(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): dict(r) for r in records}


def test_vehicle_write_back_sends_only_the_owned_key(sb: SandboxProcess) -> None:
    client = _client(sb)
    before = _by_id(list(client.records("/fleet/vehicles")))
    assert any("samsara.serial" in v["externalIds"] for v in before.values())
    assert any("maintenanceId" in v["externalIds"] for v in before.values())
    result = match_vehicles(list(before.values()), sb.get("/fmc/v1/vehicles")["data"])
    plan = result.write_plan("fmcId")
    assert len(plan) == len(result.links) > 20
    assert all(p.body == {"externalIds": {"fmcId": p.fmc_id}} for p in plan)
    assert result.external_id_patches("fmcId") == {p.samsara_id: p.body for p in plan}
    report = apply_links(client, plan)
    assert not report.failed and len(report.written) == len(plan)
    after = _by_id(list(client.records("/fleet/vehicles")))
    for p in plan:
        ext_before, ext_after = before[p.samsara_id]["externalIds"], after[p.samsara_id]["externalIds"]
        # Merged, not replaced: the new key is there and every other key is as it was.
        assert ext_after == {**ext_before, "fmcId": p.fmc_id}
        got = client.get(f"/fleet/vehicles/fmcId:{p.fmc_id}")["data"]
        assert got["id"] == p.samsara_id
    # A second run over the written records plans nothing.
    again = match_vehicles(list(after.values()), sb.get("/fmc/v1/vehicles")["data"])
    assert again.write_plan("fmcId") == []
    assert {(ln.left["id"], ln.right["id"]) for ln in again.links} >= {(p.samsara_id, p.fmc_id) for p in plan}


def test_copying_the_automatic_keys_is_refused(sb: SandboxProcess) -> None:
    """Why the body carries one key: the record's whole map, as the write-back once sent, is a 400."""
    client = _client(sb)
    vehicle = next(iter(client.records("/fleet/vehicles")))
    with pytest.raises(BadRequestError, match=r"samsara\.serial|samsara\.vin"):
        client.request(
            "PATCH",
            f"/fleet/vehicles/{vehicle['id']}",
            json_body={"externalIds": {**vehicle["externalIds"], "fmcId": "F-1"}},
        )
    assert client.get(f"/fleet/vehicles/{vehicle['id']}")["data"]["externalIds"] == vehicle["externalIds"]


def test_driver_write_back_keeps_the_payroll_id(sb: SandboxProcess) -> None:
    client = _client(sb)
    before = _by_id(list(client.records("/fleet/drivers")))
    result = match_drivers(list(before.values()), sb.get("/fmc/v1/drivers")["data"])
    plan = result.write_plan("fmcId")
    assert plan and all(p.path == f"/fleet/drivers/{p.samsara_id}" for p in plan)
    report = apply_links(client, plan)
    assert not report.failed
    for p in plan:
        got = client.get(f"/fleet/drivers/{p.samsara_id}")["data"]["externalIds"]
        assert got == {**before[p.samsara_id]["externalIds"], "fmcId": p.fmc_id}


def test_keys_and_values_are_checked_before_any_request() -> None:
    vin = "1XKYD49X1HJ102030"
    ok = match_vehicles([{"id": "1", "vin": vin}], [{"id": "Ty_Frec-%01+27+94%", "vin": vin}])
    assert ok.write_plan("fmcId")[0].body == {"externalIds": {"fmcId": "Ty_Frec-%01+27+94%"}}
    for key in ("samsara.fmc", "fmc_id", "", "k" * 33):
        with pytest.raises(ConfigurationError, match="key"):
            ok.write_plan(key)
    for value in ("F 1", "F/1", "F,1", "Ünit", "x" * 129):
        bad = match_vehicles([{"id": "1", "vin": vin}], [{"id": value, "vin": vin}])
        with pytest.raises(ConfigurationError, match=r"linked to Samsara vehicle `1`: fix it at the FMC"):
            bad.write_plan("fmcId")
        with pytest.raises(ConfigurationError):
            bad.external_id_patches("fmcId")


def test_a_refused_write_is_reported_and_the_rest_still_go(sb: SandboxProcess) -> None:
    client = _client(sb)
    with_vin = [v for v in client.records("/fleet/vehicles") if v.get("vin")]
    vehicles = with_vin[:2]
    # The second value is already another vehicle's maintenanceId: values are unique per key.
    taken = next(
        v["externalIds"]["maintenanceId"] for v in with_vin[2:] if "maintenanceId" in v["externalIds"]
    )
    left = [vehicles[0], vehicles[1]]
    right = [{"id": "F-OK", "vin": vehicles[0]["vin"]}, {"id": taken, "vin": vehicles[1]["vin"]}]
    plan = match_vehicles(left, right).write_plan("maintenanceId")
    assert {p.fmc_id for p in plan} == {"F-OK", taken}
    report = apply_links(client, plan)
    assert [p.fmc_id for p in report.written] == ["F-OK"]
    ((failed, why),) = report.failed
    assert failed.fmc_id == taken and "already in use" in why


# --- the CLI's --apply ---------------------------------------------------------------------------


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Rows as a CSV export; ``externalIds`` flattened to ``externalIds.<key>`` columns."""
    keys = sorted({f"externalIds.{k}" for r in rows for k in (r.get("externalIds") or {})})
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[*columns, *keys], restval="")
        w.writeheader()
        for r in rows:
            out = {c: "" if r.get(c) is None else str(r[c]) for c in columns}
            out |= {f"externalIds.{k}": str(v) for k, v in (r.get("externalIds") or {}).items()}
            w.writerow(out)


def _cli(tmp: Path, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SAMSARA_API_TOKEN", "SAMSARA_BASE_URL")}
    if token:
        env["SAMSARA_API_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "samsara_fmc.matching", *args],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_dry_run_then_apply(sb: SandboxProcess, tmp_path: Path) -> None:
    client = _client(sb)
    before = _by_id(list(client.records("/fleet/vehicles")))
    _write_csv(
        tmp_path / "samsara.csv", list(before.values()), ["id", "vin", "licensePlate", "name", "make", "year"]
    )
    # The FMC's own headers, mapped on the command line.
    fmc = [
        {
            "Asset ID": v["id"],
            "VIN": v["vin"],
            "Plate": v["licensePlate"],
            "Unit": v["unitNumber"],
            "Yr": v["year"],
        }
        for v in sb.get("/fmc/v1/vehicles")["data"]
    ]
    _write_csv(tmp_path / "fmc.csv", fmc, ["Asset ID", "VIN", "Plate", "Unit", "Yr"])
    args = ["samsara.csv", "fmc.csv", "--out", "links.csv", "--base-url", sb.url]
    args += ["--map", "Asset ID=id,Plate=licensePlate", "--map", "Unit=unitNumber,Yr=modelYear"]
    seq = sb.requests()[-1]["seq"]
    dry = _cli(tmp_path, *args, "--plan", "plan.jsonl", token=sb.token)
    assert dry.returncode == 0, dry.stderr
    assert "dry run, --apply sends them" in dry.stderr and "PATCH /fleet/vehicles/" in dry.stderr
    assert "warning" not in dry.stderr, dry.stderr
    plan_lines = (tmp_path / "plan.jsonl").read_text().splitlines()
    assert len(plan_lines) > 20
    assert not [r for r in sb.requests(seq) if r["method"] != "GET"]  # nothing written
    done = _cli(tmp_path, *args, "--apply", token=sb.token)
    assert done.returncode == 0, done.stderr
    assert f"write-back: {len(plan_lines)} written, 0 failed" in done.stderr
    patches = [r for r in sb.requests(seq) if r["method"] == "PATCH"]
    assert len(patches) == len(plan_lines) and all(r["status"] == 200 for r in patches)
    with (tmp_path / "links.csv").open(encoding="utf-8") as f:
        linked = {(r["left_id"], r["right_id"]) for r in csv.DictReader(f) if r["status"] == "linked"}
    after = _by_id(list(client.records("/fleet/vehicles")))
    for sid, fid in linked:
        assert after[sid]["externalIds"] == {**before[sid]["externalIds"], "fmcId": fid}
    # Re-exported, the links are recorded: nothing more to write.
    _write_csv(
        tmp_path / "samsara.csv", list(after.values()), ["id", "vin", "licensePlate", "name", "make", "year"]
    )
    again = _cli(tmp_path, *args, "--apply", token=sb.token)
    assert again.returncode == 0 and "write-back: 0 PATCH request(s)" in again.stderr, again.stderr


def test_cli_apply_needs_a_token(sb: SandboxProcess, tmp_path: Path) -> None:
    vehicles = list(_client(sb).records("/fleet/vehicles"))[:3]
    _write_csv(tmp_path / "s.csv", vehicles, ["id", "vin"])
    _write_csv(
        tmp_path / "f.csv", [{"id": f"F-{i}", "vin": v["vin"]} for i, v in enumerate(vehicles)], ["id", "vin"]
    )
    proc = _cli(tmp_path, "s.csv", "f.csv", "--out", "o.csv", "--apply", "--base-url", sb.url)
    assert proc.returncode == 2 and "SAMSARA_API_TOKEN" in proc.stderr
    bad_key = _cli(
        tmp_path, "s.csv", "f.csv", "--out", "o.csv", "--apply", "--external-id-key", "samsara.fmc"
    )
    assert bad_key.returncode == 2 and "automatic ones" in bad_key.stderr
