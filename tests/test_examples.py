"""Every script in examples/ runs against the sandbox, as a user runs it: a subprocess with
``SAMSARA_API_TOKEN`` and ``SAMSARA_BASE_URL`` in its environment."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import samsara_fmc
from tests.support.sandbox import TOKEN, SandboxProcess

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run(
    name: str, sb: SandboxProcess, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SAMSARA_API_TOKEN": TOKEN, "SAMSARA_BASE_URL": sb.url, **(env or {})}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd or ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    assert TOKEN not in done.stdout + done.stderr
    return done


def api(sb: SandboxProcess) -> samsara_fmc.Client:
    return samsara_fmc.Client(token=TOKEN, base_url=sb.url)


def test_every_example_has_a_test() -> None:
    tested = {"list_vehicles", "follow_stats_feed", "resolve_defect", "create_driver", "match_csvs"}
    tested.add("run_function_locally")
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested


def test_list_vehicles(sandbox: SandboxProcess) -> None:
    out = run("list_vehicles.py", sandbox).stdout.splitlines()
    truth = list(api(sandbox).vehicles())
    assert len(out) == len(truth) == 50
    first = dict(zip(["id", "name", "vin", "plate", "ids"], out[0].split("\t"), strict=True))
    by_id = {v["id"]: v for v in truth}
    assert first["vin"] == by_id[first["id"]]["vin"] and "samsara." not in "".join(out)
    assert any("maintenanceId:" in line for line in out)


def test_follow_stats_feed_resumes_from_its_cursor(
    sandbox_factory: Callable[..., SandboxProcess], tmp_path: Path
) -> None:
    sandbox = sandbox_factory("--vehicles", "5", "--start", "2026-11-02T15:00:00Z", "--rate-limits", "off")
    cursor, out = tmp_path / "feed.cursor", tmp_path / "stats.ndjson"
    args = ["--types", "gps,obdOdometerMeters", "--cursor-file", str(cursor), "--out", str(out)]
    run("follow_stats_feed.py", sandbox, *args, "--pages", "1")
    first = [json.loads(line) for line in out.read_text().splitlines()]
    assert first and cursor.read_text()
    assert {r["stat"] for r in first} <= {"gps", "obdOdometerMeters"} and all(r["vehicleId"] for r in first)
    sandbox.advance(1800)  # half an hour of driving arrives
    run("follow_stats_feed.py", sandbox, *args, "--pages", "3")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [r["id"] for r in records]
    assert len(records) > len(first) and len(ids) == len(set(ids)), "resumed: nothing read twice"


def test_resolve_defect(sandbox_factory: Callable[..., SandboxProcess]) -> None:
    sb = sandbox_factory("--vehicles", "10", "--start", "2026-11-02T18:00:00Z", "--rate-limits", "off")
    stream = list(api(sb).defects(start_time=dt.datetime(2026, 10, 1, tzinfo=dt.UTC), is_resolved=False))
    assert stream, "the sandbox has unresolved defects"
    done = run("resolve_defect.py", sb, "--since", "2026-10-01T00:00:00+00:00", "--notes", "Lamp replaced")
    shown = json.loads(done.stdout)
    assert shown["isResolved"] is True and shown["mechanicNotes"] == "Lamp replaced"
    assert api(sb).get(f"/defects/{shown['id']}")["isResolved"] is True  # (this one has no `data` wrapper)
    oldest = min(stream, key=lambda d: d.get("createdAtTime", ""))
    assert shown["id"] == oldest["id"]
    # Again on the same defect: the same outcome, no error.
    again = json.loads(run("resolve_defect.py", sb, shown["id"], "--notes", "Lamp replaced").stdout)
    assert again["isResolved"] is True


def test_create_driver_twice_is_one_driver(sandbox_factory: Callable[..., SandboxProcess]) -> None:
    sb = sandbox_factory("--vehicles", "3", "--rate-limits", "off")
    args = ["--payroll-id", "E90001", "--name", "Aisha Lee", "--username", "aisha.lee.e90001"]
    sb.faults({"method": "POST", "path": "/fleet/drivers", "kind": "fail_after_commit", "status": 503})
    first = json.loads(run("create_driver.py", sb, *args, env={"DRIVER_PASSWORD": "hunter2hunter2"}).stdout)
    second = json.loads(run("create_driver.py", sb, *args).stdout)
    assert first["created"] is True and second["created"] is False and first["id"] == second["id"]
    drivers = list(api(sb).drivers())
    assert [d["id"] for d in drivers if d.get("externalIds", {}).get("payrollId") == "E90001"] == [
        first["id"]
    ]
    posts = [r for r in sb.requests() if r["method"] == "POST" and r["path"] == "/fleet/drivers"]
    assert len(posts) == 1, "the lost answer was followed by a look-up, not a second create"


def test_match_csvs(sandbox: SandboxProcess, tmp_path: Path) -> None:
    fmc = sandbox.get("/fmc/v1/vehicles")["data"]
    columns = ["id", "vin", "licensePlate", "licenseState", "unitNumber", "make", "model", "year"]
    fmc_csv = tmp_path / "fmc.csv"
    with fmc_csv.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(fmc)
    run("match_csvs.py", sandbox, str(fmc_csv), "--out", "links.csv", cwd=tmp_path)
    assert len((tmp_path / "samsara_vehicles.csv").read_text().splitlines()) == 51
    with (tmp_path / "links.csv").open() as f:
        links = [r for r in csv.DictReader(f) if r["status"] == "linked"]
    truth = {
        (p["samsaraId"], p["fmcId"])
        for p in sandbox.get("/__sandbox/truth/vehicles")["data"]["pairs"]
        if p["samsaraId"]
    }
    got = {(r["left_id"], r["right_id"]) for r in links}
    assert got and len(got & truth) / len(got) >= 0.95, "the links are the true pairs"
    assert len(got & truth) / len(truth) >= 0.8


def function_zip(name: str, dest: Path) -> Path:
    """``dist/<name>.zip`` when ``make bundle`` built it, else the same layout from this checkout:
    the Function's files and ``lib/samsara_fmc`` as imported here (the compiled core included)."""
    built = ROOT / "dist" / f"{name}.zip"
    if built.exists():
        return built
    package = Path(samsara_fmc.__file__).parent
    path = dest / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as z:
        for f in (ROOT / "functions" / name).iterdir():
            z.write(f, f.name)
        for f in package.rglob("*"):
            if f.is_file() and "__pycache__" not in f.parts:
                z.write(f, str(Path("lib") / "samsara_fmc" / f.relative_to(package)))
    return path


def test_run_function_locally(sandbox: SandboxProcess, tmp_path: Path) -> None:
    fn = os.environ.get("SAMSARA_FN") or shutil.which("samsara-fn")
    if not fn:
        pytest.skip("samsara-fn not found: set `SAMSARA_FN` (make test points it at .venv-runtime)")
    zip_path = function_zip("vehicle-stats", tmp_path)
    args = [str(zip_path), "--param", "types=obdOdometerMeters", "--param", "units=metric"]
    work = ["--workdir", str(tmp_path / "work")]
    first: dict[str, Any] = json.loads(run("run_function_locally.py", sandbox, *args, *work).stdout)
    assert first["ok"] is True and first["records"] > 0
    assert not (tmp_path / "work" / ".secrets.json").exists(), "no token left in a file of ours"
    deliveries = list((tmp_path / "work" / ".samsara-functions" / "storage" / "deliveries").rglob("*.ndjson"))
    assert deliveries, "delivered to Function Storage (no FMC secrets given)"
    second = json.loads(run("run_function_locally.py", sandbox, *args, *work, "--trigger", "schedule").stdout)
    assert second["ok"] is True and second["trigger"] == "schedule"
