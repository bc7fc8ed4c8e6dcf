"""The master-data Functions end to end on a large org: reads, matching, plan, writes paced to the limits.

    python -m bench.bench_sync [--vehicles 10000] [--drivers 12000] [--functions vehicle-sync,driver-sync]

Starts the sandbox (its rate limits on) with the FMC endpoint, runs each Function once from nothing
(every link matched and written back, read back, and delivered) inside one run's 15-minute budget,
then once more (nothing to do), and prints each run's time, whether it finished, requests, 429s, the
seconds the client spent waiting on rate limits (its own pacing and retry backoff, summed over the
threads that wait: the writes go out several at a time) and that wait's share of the writers' time,
and the links against the sandbox's truth.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from samsara_fmc.client import Client
from samsara_fmc.engine.reconcile import ReconcileDriver
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.storage import MemoryStorage

ROOT = Path(__file__).resolve().parent.parent
WRITERS = ReconcileDriver.parallel
"""Writes the reconcile driver sends at once: the client's waits add up over these threads."""
TOKEN = "bench-token"
FMC_TOKEN = "bench-fmc-token"


class _Secrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def load(self) -> dict[str, str]:
        return self.values


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vehicles", type=int, default=10_000)
    parser.add_argument("--drivers", type=int, default=12_000)
    parser.add_argument("--functions", default="vehicle-sync,driver-sync")
    args = parser.parse_args()
    functions = [f for f in args.functions.split(",") if f]
    for name in functions:
        if not (ROOT / "functions" / name / "function.json").exists():
            parser.error(f"no Function `{name}` under functions/")
    exe = os.environ.get("SAMSARA_SANDBOX_BIN") or str(ROOT / "target/sandbox/samsara-sandbox")
    cmd = [exe, "--port", "0", "--seed", "3", "--vehicles", str(args.vehicles)]
    cmd += ["--drivers", str(args.drivers)]
    cmd += ["--days", "1", "--threads", "16", "--token", TOKEN, "--fmc-token", FMC_TOKEN]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip() if proc.stdout else ""
    url = line.removeprefix("listening on ")
    try:
        secrets = {
            "SAMSARA_API_TOKEN": TOKEN,
            "SAMSARA_BASE_URL": url,
            "FMC_URL": url,
            "FMC_TOKEN": FMC_TOKEN,
        }
        for name in functions:
            manifest = Manifest.load(ROOT / "functions" / name / "function.json")
            rt = FunctionRuntime(manifest, storage=MemoryStorage(), secret_source=_Secrets(secrets))
            for n in (1, 2):
                started = time.perf_counter()
                event = {"SamsaraFunctionCorrelationId": f"b-{n}", "SamsaraFunctionTriggerSource": "manual"}
                out: dict[str, Any] = rt.invoke(event, None)  # the default budget: one 15-minute run
                seconds = time.perf_counter() - started
                sync = out.get("sync", {})
                samsara = (out.get("requests") or {}).get("samsara") or {}
                waited = (int(samsara.get("pacedMs", 0)) + int(samsara.get("backoffMs", 0))) / 1000
                print(
                    json.dumps(
                        {
                            "function": name,
                            "run": n,
                            "ok": out.get("ok"),
                            "caughtUp": out.get("caughtUp"),
                            "seconds": round(seconds, 1),
                            # Summed over the threads that wait: the writes go out `parallel` at a time.
                            "waitedOnRateLimits": round(waited, 1),
                            "writersWaitingShare": round(waited / (seconds * WRITERS), 3),
                            "planned": sync.get("planned"),
                            "applied": sync.get("applied"),
                            "linked": sync.get("linked"),
                            "reports": sync.get("reports"),
                            "requests": out.get("requests"),
                        }
                    )
                )
        client = Client(token=TOKEN, base_url=url)
        linked = {
            path: sum(1 for v in client.records(path) if "fmcId" in (v.get("externalIds") or {}))
            for path in ("/fleet/vehicles", "/fleet/drivers")
        }
        print(json.dumps({"vehicles": args.vehicles, "drivers": args.drivers, "linkedInSamsara": linked}))
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
