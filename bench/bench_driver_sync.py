"""driver-sync end to end on a large org: reads, matching, plan, writes paced to the limits.

    python -m bench.bench_driver_sync [--drivers 12000]

Starts the sandbox (its rate limits on) with the FMC endpoint, runs driver-sync once from nothing
(every pair matched and its link written back, every FMC driver nothing matches created, every
Samsara driver delivered to the FMC), then once more (nothing to do), and prints each run's time,
requests, 429s, the time the client waited on rate limits (its pacing and backoff, summed over threads),
and the links against the sandbox's truth.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from samsara_fmc.client import Client
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.storage import MemoryStorage

ROOT = Path(__file__).resolve().parent.parent
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
    parser.add_argument("--drivers", type=int, default=12_000)
    args = parser.parse_args()
    exe = os.environ.get("SAMSARA_SANDBOX_BIN") or str(ROOT / "target/sandbox/samsara-sandbox")
    cmd = [exe, "--port", "0", "--seed", "3", "--vehicles", "500", "--drivers", str(args.drivers)]
    cmd += ["--days", "1", "--threads", "16", "--token", TOKEN, "--fmc-token", FMC_TOKEN]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip() if proc.stdout else ""
    url = line.removeprefix("listening on ")
    try:
        manifest = Manifest.load(ROOT / "functions/driver-sync/function.json")
        secrets = {
            "SAMSARA_API_TOKEN": TOKEN,
            "SAMSARA_BASE_URL": url,
            "FMC_URL": url,
            "FMC_TOKEN": FMC_TOKEN,
        }
        rt = FunctionRuntime(manifest, storage=MemoryStorage(), secret_source=_Secrets(secrets))
        for n in (1, 2):
            started = time.perf_counter()
            out: dict[str, Any] = rt.invoke(
                {"SamsaraFunctionCorrelationId": f"bench-{n}", "SamsaraFunctionTriggerSource": "manual"}, None
            )
            seconds = time.perf_counter() - started
            sync = out.get("sync", {})
            req = (out.get("requests") or {}).get("samsara") or {}
            waited = (req.get("pacedMs", 0) + req.get("backoffMs", 0)) / 1000
            print(
                json.dumps(
                    {
                        "run": n,
                        "ok": out.get("ok"),
                        "seconds": round(seconds, 1),
                        "planned": sync.get("planned"),
                        "applied": sync.get("applied"),
                        "linked": sync.get("linked"),
                        "reports": sync.get("reports"),
                        "requests": out.get("requests"),
                        # summed over the writer threads (8), so it can exceed the run's time
                        "waitedSecondsAllThreads": round(waited, 1),
                    }
                )
            )
        client = Client(token=TOKEN, base_url=url)
        found = list(client.records("/fleet/drivers"))
        found += client.records("/fleet/drivers", params={"driverActivationStatus": "deactivated"})
        by_fmc = {
            str(d["externalIds"]["fmcId"]): str(d["id"])
            for d in found
            if "fmcId" in (d.get("externalIds") or {})
        }
        req = urllib.request.Request(f"{url}/__sandbox/truth/drivers")
        with urllib.request.urlopen(req, timeout=60) as resp:
            pairs = json.loads(resp.read())["data"]["pairs"]
        true = {str(p["fmcId"]): str(p["samsaraId"]) for p in pairs if p["expect"] == "link"}
        print(
            json.dumps(
                {
                    "samsaraDrivers": len(found),
                    "linkedInSamsara": len(by_fmc),
                    "truePairsLinked": sum(1 for f, s in true.items() if by_fmc.get(f) == s),
                    "truePairs": len(true),
                    "falseLinks": sum(1 for f, s in by_fmc.items() if f in true and true[f] != s),
                }
            )
        )
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
