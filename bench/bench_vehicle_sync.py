"""vehicle-sync end to end on a large org: reads, matching, plan, writes paced to the limits.

    python -m bench.bench_vehicle_sync [--vehicles 10000]

Starts the sandbox (its rate limits on) with the FMC endpoint, runs vehicle-sync once from nothing
(every link matched and written back, read back, and delivered), then once more (nothing to do), and
prints each run's time, requests, 429s and links against the sandbox's truth.
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
    parser.add_argument("--vehicles", type=int, default=10_000)
    args = parser.parse_args()
    exe = os.environ.get("SAMSARA_SANDBOX_BIN") or str(ROOT / "target/sandbox/samsara-sandbox")
    cmd = [exe, "--port", "0", "--seed", "3", "--vehicles", str(args.vehicles), "--drivers", "10"]
    cmd += ["--days", "1", "--threads", "16", "--token", TOKEN, "--fmc-token", FMC_TOKEN]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip() if proc.stdout else ""
    url = line.removeprefix("listening on ")
    try:
        manifest = Manifest.load(ROOT / "functions/vehicle-sync/function.json")
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
                    }
                )
            )
        client = Client(token=TOKEN, base_url=url)
        linked = sum(1 for v in client.records("/fleet/vehicles") if "fmcId" in (v.get("externalIds") or {}))
        print(json.dumps({"vehicles": args.vehicles, "linkedInSamsara": linked}))
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
