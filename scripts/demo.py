"""The main job: the bundled Functions under ``samsara-fn`` (Python 3.12) against the local sandbox.

    python -m scripts.demo [--workdir build/demo] [--vehicles 25]

Starts ``samsara-sandbox`` on 127.0.0.1, initialises ``vehicle-stats`` from ``dist/vehicle-stats.zip``
with secrets pointing at the sandbox, then runs it the four ways Functions does: ``manual`` (first
run: latest values and a cursor), ``schedule`` after an hour of simulated driving (only what changed),
``api``, and ``alertAction`` for one vehicle. Prints each run's summary and what landed in Function
Storage. ``tests/functions/test_samsara_fn.py`` runs the same steps and asserts on them.

``samsara-fn`` runs from ``$SAMSARA_FN`` (``make`` points it at ``.venv-runtime``, an interpreter with
only what the Functions runtime has), so the zip's own ``lib/samsara_fmc`` is what runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "demo-token-0123456789"
SCOPES = "Read Vehicle Statistics,Read Org Information,Read Vehicles"
NAME = "vehicle-stats"


@dataclass
class Sandbox:
    """A running ``samsara-sandbox`` process."""

    process: subprocess.Popen[str]
    url: str

    @classmethod
    def start(cls, *, vehicles: int, seed: int = 7, binary: str | None = None) -> Sandbox:
        exe = binary or os.environ.get("SAMSARA_SANDBOX_BIN") or str(ROOT / "target/sandbox/samsara-sandbox")
        if not Path(exe).exists():
            raise SystemExit(f"no sandbox at `{exe}`: build it with `make sandbox`")
        cmd = [
            exe,
            "--port",
            "0",
            "--seed",
            str(seed),
            "--vehicles",
            str(vehicles),
            "--drivers",
            str(vehicles),
            "--days",
            "1",
            "--start",
            "2026-11-01T00:00:00Z",
            "--token",
            f"{TOKEN}={SCOPES}",
        ]
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = process.stdout.readline().strip() if process.stdout else ""
        if not line.startswith("listening on "):
            process.kill()
            raise SystemExit(f"the sandbox did not start: {line!r}")
        return cls(process, line.removeprefix("listening on "))

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=data, method="POST" if data else "GET")
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@dataclass
class Demo:
    """The samsara-fn work directory and what the runs did."""

    workdir: Path
    base_url: str
    runs: list[dict[str, Any]] = field(default_factory=list)

    name: str = NAME

    def fn(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [samsara_fn(), *args]
        done = subprocess.run(cmd, cwd=self.workdir, text=True, capture_output=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"`samsara-fn {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
        return done

    def init(self, zip_path: Path, params: dict[str, str], secrets: dict[str, str] | None = None) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True)
        (self.workdir / ".secrets.json").write_text(
            json.dumps({"SAMSARA_API_TOKEN": TOKEN, "SAMSARA_BASE_URL": self.base_url, **(secrets or {})})
        )
        (self.workdir / "params.json").write_text(json.dumps(params))
        self.fn(
            "init",
            self.name,
            "--zipFile",
            str(zip_path),
            "--handler",
            "function.main",
            "--parameters",
            "params.json",
            "--secrets",
            ".secrets.json",
        )

    def run(self, mode: str, *extra: str) -> dict[str, Any]:
        out = self.fn("run", mode, self.name, *extra).stdout
        summary = json.loads(out.strip().splitlines()[-1])
        if not isinstance(summary, dict) or not summary.get("ok"):
            raise SystemExit(f"`{mode}` run failed: {summary}\n{out}")
        self.runs.append({"mode": mode, **summary})
        return summary

    def storage(self) -> Path:
        return self.workdir / ".samsara-functions" / "storage"

    def records(self) -> list[dict[str, Any]]:
        files = sorted(self.storage().glob("deliveries/vehicle_stats/**/*.ndjson"))
        return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def samsara_fn() -> str:
    """The samsara-fn to run zips with: ``$SAMSARA_FN``, else the one beside this interpreter."""
    env = os.environ.get("SAMSARA_FN")
    if env:
        return env
    here = Path(sys.executable).parent / "samsara-fn"
    return str(here if here.exists() else "samsara-fn")


def run_all(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Demo:
    """Every trigger, in the order a deployment would see them."""
    demo = Demo(workdir, sandbox.url)
    params = {
        "types": "gps,obdOdometerMeters,gpsOdometerMeters,obdEngineSeconds,engineStates,fuelPercents",
        "units": "imperial",
    }
    demo.init(zip_path, params)
    demo.run("manual")
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 3600})
    demo.run("schedule")
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 600})
    demo.run("api")
    vehicle = sandbox_vehicle(sandbox)
    payload = workdir / "alert.json"
    payload.write_text(
        json.dumps(
            {
                "driverId": "",
                "assetId": vehicle,
                "alertConfigurationId": "51a1f7de-ca2d-414d-8a23-8e149a4d88be",
            }
        )
    )
    demo.run("alertAction", "--alertPayload", str(payload))
    return demo


def sandbox_vehicle(sandbox: Sandbox) -> str:
    req = urllib.request.Request(f"{sandbox.url}/fleet/vehicles?limit=1")
    req.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return str(json.loads(resp.read())["data"][0]["id"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", default=str(ROOT / "build" / "demo"))
    parser.add_argument("--vehicles", type=int, default=25)
    parser.add_argument("--zip", default=str(ROOT / "dist" / f"{NAME}.zip"))
    args = parser.parse_args()
    sandbox = Sandbox.start(vehicles=args.vehicles)
    try:
        demo = run_all(Path(args.workdir), sandbox, Path(args.zip))
    finally:
        sandbox.stop()
    print(f"\n{NAME} under samsara-fn against the sandbox ({args.vehicles} vehicles):")
    for r in demo.runs:
        print(
            f"  {r['mode']:<12} records {r['records']:>6}  rejected {r['rejected']:>3}  "
            f"caught up {r['caughtUp']!s:<5}  {r['seconds']:.2f} s"
        )
    records = demo.records()
    print(
        f"  Function Storage holds {len(records)} records ({len({r['id'] for r in records})} distinct ids) "
        f"under {demo.storage()}"
    )
    if records:
        print("  e.g.", json.dumps(records[-1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
