"""The messages and forms-issues zips under the real ``samsara-fn``, killed with SIGKILL while a send
is in flight (the write applied, the state not written), then run again: the FMC's message reaches the
driver once, its form is assigned once.

Needs ``dist/<name>.zip`` (``make bundle``) and samsara-fn (``$SAMSARA_FN``). The sandbox's clock is
started at the wall clock, which the Functions' read-backs compare Samsara's times with.
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
from scripts.demo import Demo, samsara_fn
from tests.support.sandbox import SandboxProcess

ROOT = Path(__file__).resolve().parents[2]
FMC = "fmc-kill-token"
POD = "9b1e6a52-0000-4000-8000-000000000003"
CASES = {
    # Function: (change type, its data but the driver, the write, its state, times the write is held:
    # the messages preflight probes `Write Messages` with a POST of its own first)
    "messages": (
        "message.sent",
        {"text": "Trailer 88 is at door 5"},
        "/v1/fleet/messages",
        "ledger.messages",
        2,
    ),
    "forms-issues": (
        "form.assigned",
        {"formTemplateId": POD, "title": "Stop 21"},
        "/form-submissions",
        "ledger.workflows",
        1,
    ),
}
pytestmark = pytest.mark.slow


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_kill_between_the_send_and_the_state_write_does_not_send_twice(
    tmp_path: Path, sandbox_factory: Callable[..., SandboxProcess], name: str
) -> None:
    kind, data, path, ledger, held = CASES[name]
    zip_path = ROOT / "dist" / f"{name}.zip"
    if not zip_path.exists():
        pytest.skip(f"{zip_path} is missing: run `make bundle` (make test does)")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sb = sandbox_factory(
        *("--seed", "7", "--vehicles", "10", "--drivers", "12", "--days", "1", "--start", now),
        *("--rate-limits", "off", "--fmc-token", FMC),
    )
    api = Client(token=sb.token, base_url=sb.url, rate_limit=False)
    driver = str(next(iter(api.records("/fleet/drivers", params={"limit": 1})))["id"])
    d = Demo(tmp_path / "fn", sb.url, name=name)
    d.init(
        zip_path,
        {"lookbackHours": "2"},
        secrets={"SAMSARA_API_TOKEN": sb.token, "FMC_URL": sb.url, "FMC_TOKEN": FMC},
    )
    change = str(
        sb.admin("POST", "/__sandbox/fmc/changes", {"type": kind, "data": {**data, "driverId": driver}})["id"]
    )
    # The send is held 4 s before the sandbox handles it: the run is killed while it waits, and the
    # sandbox applies it afterwards.
    sb.faults({"method": "POST", "path": path, "kind": "slow", "delayMs": 4000, "times": held})
    proc = subprocess.Popen(
        [samsara_fn(), "run", "manual", name],
        cwd=d.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def intents() -> dict[str, Any]:
        files = list(d.storage().glob(f"state/*/{name}/{ledger}.json"))
        return dict(json.loads(files[0].read_text())["state"].get("intents", {})) if files else {}

    try:
        wait_for(lambda: change in intents(), 60, "the intent to be saved")
        time.sleep(1.0)  # the send is on the wire, held by the sandbox
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    def copies() -> int:
        status = {c["id"]: c for c in sb.get("/__sandbox/fmc/changes")["data"]}
        return int(status[change]["copies"])

    wait_for(copies, 15, "the sandbox to apply the killed send")
    assert change in intents(), "killed before the outcome was saved"

    # The killed run's leases last until its deadline (15 minutes) and a grace: expired here, not waited for.
    for lease in d.storage().glob(f"leases/*/{name}/*.json"):
        lease.write_text(json.dumps({**json.loads(lease.read_text()), "until": 0}))
    out = d.run("manual")  # the platform runs it again
    assert out["ok"] and out["caughtUp"], out
    assert copies() == 1, "sent once"
    posts = [r["status"] for r in sb.requests() if r["method"] == "POST" and r["path"] == path]
    assert posts.count(200) == 1, posts
    outcome = {str(r["id"]): r["record"] for r in sb.fmc_records("write_outcomes")}[change]
    assert outcome["status"] == "already" and "earlier attempt was applied" in outcome["reason"]
