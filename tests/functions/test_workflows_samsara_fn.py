"""The messages zip under the real ``samsara-fn``, killed with SIGKILL while its send is in flight (the
write applied, the state not written), then run again: the FMC's message reaches the driver once.

Needs ``dist/messages.zip`` (``make bundle``) and samsara-fn (``$SAMSARA_FN``). The sandbox's clock is
started at the wall clock, which the Function's read-back compares Samsara's message times with.
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
ZIP = ROOT / "dist" / "messages.zip"
FMC = "fmc-kill-token"
PATH = "/v1/fleet/messages"
pytestmark = pytest.mark.slow


def wait_for(check: Callable[[], Any], seconds: float, what: str) -> Any:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_a_kill_between_the_send_and_the_state_write_does_not_send_twice(
    tmp_path: Path, sandbox_factory: Callable[..., SandboxProcess]
) -> None:
    if not ZIP.exists():
        pytest.skip(f"{ZIP} is missing: run `make bundle` (make test does)")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sb = sandbox_factory(
        *("--seed", "7", "--vehicles", "10", "--drivers", "12", "--days", "1", "--start", now),
        *("--rate-limits", "off", "--fmc-token", FMC),
    )
    api = Client(token=sb.token, base_url=sb.url, rate_limit=False)
    driver = str(next(iter(api.records("/fleet/drivers", params={"limit": 1})))["id"])
    d = Demo(tmp_path / "fn", sb.url, name="messages")
    d.init(
        ZIP,
        {"lookbackHours": "2", "windowHours": "24"},
        secrets={"SAMSARA_API_TOKEN": sb.token, "FMC_URL": sb.url, "FMC_TOKEN": FMC},
    )
    text = "Trailer 88 is at door 5"
    change = str(
        sb.admin(
            "POST",
            "/__sandbox/fmc/changes",
            {"type": "message.sent", "data": {"driverId": driver, "text": text}},
        )["id"]
    )
    # The preflight's probe (a POST answered 400) and the send are each held 4 s before the sandbox
    # handles them: the send is killed while it waits, and the sandbox applies it afterwards.
    sb.faults({"method": "POST", "path": PATH, "kind": "slow", "delayMs": 4000, "times": 2})
    proc = subprocess.Popen(
        [samsara_fn(), "run", "manual", "messages"],
        cwd=d.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def intent() -> bool:
            files = list(d.storage().glob("state/*/messages/ledger.messages.json"))
            return bool(files) and change in json.loads(files[0].read_text())["state"].get("intents", {})

        wait_for(intent, 60, "the intent to be saved")
        time.sleep(1.0)  # the send is on the wire, held by the sandbox
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    def copies() -> int:
        status = {c["id"]: c for c in sb.get("/__sandbox/fmc/changes")["data"]}
        return int(status[change]["copies"])

    wait_for(copies, 15, "the sandbox to apply the killed send")
    [state] = d.storage().glob("state/*/messages/ledger.messages.json")
    assert change in json.loads(state.read_text())["state"]["intents"], "killed before the outcome"

    # The killed run's leases last until its deadline (15 minutes) and a grace: expired here, not waited for.
    for lease in d.storage().glob("leases/*/messages/*.json"):
        lease.write_text(json.dumps({**json.loads(lease.read_text()), "until": 0}))
    out = d.run("manual")  # the platform runs it again
    assert out["ok"] and out["caughtUp"], out
    assert copies() == 1, "the driver got the message once"
    posts = [r["status"] for r in sb.requests() if r["method"] == "POST" and r["path"] == PATH]
    assert posts.count(200) == 1, posts
    outcome = {str(r["id"]): r["record"] for r in sb.fmc_records("write_outcomes")}[change]
    assert outcome["status"] == "already" and "earlier attempt was applied" in outcome["reason"]
