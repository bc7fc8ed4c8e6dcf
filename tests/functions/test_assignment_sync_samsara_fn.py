"""The assignment-sync zip under the real ``samsara-fn``, killed with SIGKILL while an assignment's POST
is in flight (the write applied, the state not written), then run again as the platform would: the
assignment exists once in Samsara (the sandbox's copies and request log), its outcome says the earlier
attempt was applied, and the next run delivers it to the FMC with both sides' IDs.

Needs ``dist/assignment-sync.zip`` (``make bundle``) and samsara-fn (``$SAMSARA_FN``). The sandbox's
clock is started at the wall clock, which the Function's windows follow.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc.client import Client
from samsara_fmc.integrations.assignment_sync import PATH, assignment_id
from scripts.demo import Demo, samsara_fn
from tests.support.sandbox import SandboxProcess

ROOT = Path(__file__).resolve().parents[2]
FMC = "fmc-kill-token"
NAME = "assignment-sync"
pytestmark = pytest.mark.slow


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_a_kill_between_the_post_and_the_state_write_does_not_create_twice(
    tmp_path: Path, sandbox_factory: Callable[..., SandboxProcess]
) -> None:
    zip_path = ROOT / "dist" / f"{NAME}.zip"
    if not zip_path.exists():
        pytest.skip(f"{zip_path} is missing: run `make bundle` (make test does)")
    wall = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sb = sandbox_factory(
        *("--seed", "7", "--vehicles", "10", "--drivers", "12", "--days", "1"),
        *("--start", wall.strftime("%Y-%m-%dT%H:%M:%SZ"), "--rate-limits", "off", "--fmc-token", FMC),
    )
    api = Client(token=sb.token, base_url=sb.url, rate_limit=False)
    vehicle = str(next(iter(api.records("/fleet/vehicles", params={"limit": 1})))["id"])
    driver = str(next(iter(api.records("/fleet/drivers", params={"limit": 1})))["id"])
    api.request("PATCH", f"/fleet/vehicles/{vehicle}", json_body={"externalIds": {"fmcId": "UNIT-7"}})
    d = Demo(tmp_path / "fn", sb.url, name=NAME)
    d.init(
        zip_path,
        {"lookbackHours": "6", "settleMinutes": "0", "writeBack": "true"},
        secrets={"SAMSARA_API_TOKEN": sb.token, "FMC_URL": sb.url, "FMC_TOKEN": FMC},
    )
    start = (wall - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    data = {"fmcVehicleId": "UNIT-7", "driverId": driver, "startTime": start}
    change = str(
        sb.admin("POST", "/__sandbox/fmc/changes", {"type": "assignment.created", "data": data})["id"]
    )
    # The POST is held 4 s before the sandbox handles it: the run is killed while it waits, and the
    # sandbox applies it afterwards.
    sb.faults({"method": "POST", "path": PATH, "kind": "slow", "delayMs": 4000, "times": 1})
    proc = subprocess.Popen(
        [samsara_fn(), "run", "manual", NAME],
        cwd=d.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def intents() -> dict[str, Any]:
        files = list(d.storage().glob(f"state/*/{NAME}/ledger.assignments.json"))
        return dict(json.loads(files[0].read_text())["state"].get("intents", {})) if files else {}

    try:
        wait_for(lambda: change in intents(), 60, "the intent to be saved")
        time.sleep(1.0)  # the POST is on the wire, held by the sandbox
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    def copies() -> int:
        status = {c["id"]: c for c in sb.get("/__sandbox/fmc/changes")["data"]}
        return int(status[change]["copies"])

    wait_for(copies, 15, "the sandbox to apply the killed POST")
    assert change in intents(), "killed before the outcome was saved"

    # The killed run's leases last until its deadline (15 minutes) and a grace: expired here, not waited for.
    for lease in d.storage().glob(f"leases/*/{NAME}/*.json"):
        lease.write_text(json.dumps({**json.loads(lease.read_text()), "until": 0}))
    out = d.run("manual")  # the platform runs it again
    assert out["ok"] and out["caughtUp"], out
    assert copies() == 1, "created once"
    posts = [r["status"] for r in sb.requests() if r["method"] == "POST" and r["path"] == PATH]
    assert posts == [200], posts
    outcome = {str(r["id"]): r["record"] for r in sb.fmc_records("write_outcomes")}[change]
    assert outcome["status"] == "already" and "earlier attempt was applied" in outcome["reason"]
    assert outcome["target"]["id"] == assignment_id(vehicle, driver, start)

    again = d.run("schedule")  # Samsara -> FMC: the FMC's assignment, with both sides' IDs
    assert again["ok"], again
    held = {str(r["id"]): r["record"] for r in sb.fmc_records("driver_vehicle_assignments")}
    mine = held[assignment_id(vehicle, driver, start)]
    assert (mine["vehicleId"], mine["fmcVehicleId"], mine["driverId"]) == (vehicle, "UNIT-7", driver)
    assert mine["ongoing"] is True and mine["sourceName"] == "samsara-fmc"
    assert sb.fmc_summary("driver_vehicle_assignments")["duplicates"] == 0
