"""The bundled zip under the real ``samsara-fn`` on Python 3.12: init, then every trigger, with resume.

Needs ``dist/vehicle-stats.zip`` (``make bundle``); ``make test`` builds it first. samsara-fn runs
from ``$SAMSARA_FN`` (``.venv-runtime``: only the Functions runtime's packages), so what runs is the
zip's own ``lib/samsara_fmc``, as in Functions.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.demo import NAME, TOKEN, Demo, history_ids, latest_ids, samsara_fn
from tests.conftest import MiniFeed, ScriptedServer
from tests.support.sandbox import DEFAULT_ARGS
from tests.support.sftp import SftpServer, sftp, sftp_server

__all__ = ["sftp", "sftp_server"]  # the fixtures, imported for pytest

ZIP = Path(__file__).resolve().parents[2] / "dist" / f"{NAME}.zip"
pytestmark = pytest.mark.slow


@pytest.fixture
def demo(tmp_path: Path, server: ScriptedServer, feed: MiniFeed) -> Demo:
    assert ZIP.exists(), f"{ZIP} is missing: run `make bundle` (make test does)"
    assert sys.version_info[:2] == (3, 12), "samsara-fn runs on the Functions runtime's Python, 3.12"
    d = Demo(tmp_path / "fn", server.url)
    d.init(ZIP, {"types": "obdOdometerMeters", "units": "metric", "readings": "none", "odometer": "false"})
    return d


def state(demo: Demo) -> dict[str, object]:
    path = demo.storage() / "state/5005/vehicle-stats/stats.metric.obdOdometerMeters.json"
    return dict(json.loads(path.read_text()))


def test_samsara_fn_runs_without_samsara_fmc_installed() -> None:
    """§7.9: the interpreter that runs zips must not have samsara_fmc, or the vendored copy never runs."""
    if not os.environ.get("SAMSARA_FN"):
        pytest.skip("`SAMSARA_FN` is not set: `make test` points it at .venv-runtime")
    python = Path(samsara_fn()).parent / "python"
    probe = (
        "import importlib.util as u; "
        "print(u.find_spec('samsara_fmc') is None, u.find_spec('paramiko') is not None)"
    )
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["True", "True"], "runtime interpreter: no samsara_fmc, and paramiko as in Functions"


def test_every_trigger_delivers_and_resumes(demo: Demo, server: ScriptedServer, feed: MiniFeed) -> None:
    first = demo.run("manual")
    assert first["trigger"] == "manual" and first["caughtUp"]
    assert first["records"] == feed.pages * feed.vehicles
    st = state(demo)
    assert st["state"] == {"cursor": f"p{feed.pages}"} and st["seq"] == feed.pages

    feed.pages += 2  # two more pages of data arrive
    second = demo.run("schedule")
    assert second["trigger"] == "schedule" and second["records"] == 2 * feed.vehicles
    feed_calls = [s for s in server.seen if s.path.endswith("/feed")]
    assert feed_calls[-2].query["after"] == ["p5"], "the scheduled run resumed from the stored cursor"

    third = demo.run("api")
    assert third["records"] == 0 and third["caughtUp"]

    payload = demo.workdir / "alert.json"
    payload.write_text(
        json.dumps(
            {"driverId": "", "assetId": "101", "alertConfigurationId": "51a1f7de-ca2d-414d-8a23-8e149a4d88be"}
        )
    )
    alert = demo.run("alertAction", "--alertPayload", str(payload))
    assert alert["trigger"] == "alert" and alert["records"] == feed.pages, (
        "one point per page for vehicle 101"
    )
    assert alert["streams"][0]["stream"].startswith("stats.metric.obdOdometerMeters.")
    assert server.seen[-1].query["vehicleIds"] == ["101"]

    records = demo.records()
    fleet_dir = next(demo.storage().rglob("stats.metric.obdOdometerMeters"))
    fleet = [json.loads(x) for f in sorted(fleet_dir.rglob("*.ndjson")) for x in f.read_text().splitlines()]
    assert len(fleet) == len({r["id"] for r in fleet}) == feed.pages * feed.vehicles, "no gaps, no duplicates"
    assert {r["id"] for r in records} == {r["id"] for r in fleet}, "the alert's records are a subset"
    assert records[0]["unit"] == "km"
    assert all(s.headers["authorization"] == f"Bearer {TOKEN}" for s in server.seen)
    stored = "".join(p.read_text() for p in demo.storage().rglob("*") if p.is_file())
    assert TOKEN not in stored, "the token never reaches Function Storage"


def test_the_zip_delivers_to_a_real_sftp_server(
    tmp_path: Path, server: ScriptedServer, feed: MiniFeed, sftp: SftpServer
) -> None:
    """The shipped zip, its own lib/ and the runtime's paramiko, writing CSV to OpenSSH's sftp-server."""
    assert ZIP.exists(), f"{ZIP} is missing: run `make bundle` (make test does)"
    d = Demo(tmp_path / "fn", server.url)
    params = {"types": "obdOdometerMeters", "units": "imperial", "readings": "none", "odometer": "false"}
    d.init(ZIP, params, secrets=sftp.secrets())
    out = d.run("manual")
    assert out["ok"] and out["records"] == feed.pages * feed.vehicles
    csvs = [f for f in sftp.files() if f.startswith("vehicle_stats/") and f.endswith(".csv")]
    assert len(csvs) == feed.pages and not [f for f in sftp.files() if f.endswith(".part")]
    rows = [r for f in csvs for r in csv.DictReader(io.StringIO((sftp.root / f).read_text()))]
    assert len(rows) == len({r["id"] for r in rows}) == feed.pages * feed.vehicles
    assert {r["unit"] for r in rows} == {"mi"}
    assert any(f.startswith("_health/") for f in sftp.files())
    logs = json.dumps(out) + "".join(p.read_text() for p in d.storage().rglob("*") if p.is_file())
    assert sftp.password not in logs


def test_the_zip_delivers_to_the_fmc_endpoint(tmp_path: Path, sandbox_factory: Any) -> None:
    """The shipped zip against the sandbox, delivering to its reference FMC endpoint, every trigger."""
    assert ZIP.exists(), f"{ZIP} is missing: run `make bundle` (make test does)"
    sb = sandbox_factory(*DEFAULT_ARGS, "--fmc-token", "fmc-token-9")
    d = Demo(tmp_path / "fn", sb.url)
    types = ["gps", "engineStates", "obdOdometerMeters"]
    d.init(
        ZIP,
        {"types": ",".join(types), "units": "metric", "readings": "none"},
        secrets={"SAMSARA_API_TOKEN": sb.token, "FMC_URL": sb.url, "FMC_TOKEN": "fmc-token-9"},
    )
    first = d.run("manual")
    truth = latest_ids(sb.url, sb.token, types)
    start = sb.advance(0)
    sb.advance(1800)
    second = d.run("schedule")
    end = sb.advance(0)
    truth |= history_ids(sb.url, sb.token, types, start, end)
    assert first["ok"] and second["ok"] and second["records"] > 0
    held = {str(r["id"]) for r in sb.fmc_records("vehicle_stats")}
    summary = sb.fmc_summary("vehicle_stats")
    assert held == truth and summary["duplicates"] == summary["updates"] == 0
    # The combined odometer (on by default): one OBD reading per OBD point (every sandbox vehicle has one).
    readings = [r["record"] for r in sb.fmc_records("odometer_readings")]
    obd = {i.replace(":obdOdometerMeters:", ":odometer:") for i in truth if ":obdOdometerMeters:" in i}
    assert {r["id"] for r in readings} == obd and {r["source"] for r in readings} == {"obd"}
    odo_summary = sb.fmc_summary("odometer_readings")
    assert odo_summary["duplicates"] == odo_summary["updates"] == 0
    health = sb.fmc_records("_health")
    assert len(health) == 1 and health[0]["record"]["ok"] is True
