"""End to end, sandbox → FMC endpoint: what delivering the stats feed costs, how fresh it arrives, and
whether one Function keeps up with a large org.

    python bench/bench_delivery.py throughput [--vehicles 150] [--hours 1] [--repeat 3]
    python bench/bench_delivery.py freshness [--vehicles 200] [--seconds 150]
    python bench/bench_delivery.py scale [--vehicles 50000] [--seconds 150]
    python bench/bench_delivery.py day [--vehicles 1000] [--hours 24]

``throughput``: the sandbox takes a feed cursor, an hour of simulated daytime driving happens, then in
a fresh process each method delivers that hour to the sandbox's FMC endpoint: the ``vehicle-stats``
Function (in process, its FMC sink), against the Functions runtime's own tools — the samsara-api 4.1.0
SDK paging the feed, records built and converted in Python, posted with ``requests`` in batches of
5,000 with an Idempotency-Key. Reported: records per CPU second of the delivering process (the
sandbox runs in another) and its peak RSS.

``freshness``: the sandbox runs in real time (``--time-scale 1``); ``vehicle-stats`` runs once in
follow mode for ``--seconds``; for every record the FMC received, the lag from the point's time to
its first receipt (both simulated time, which here moves with the wall clock). p50 and p95.

``scale``: the same at ``--vehicles`` (default 50,000) at the busiest hour of the simulated day: the
Function's share of one CPU (process time / wall time), its peak RSS, records per second, and the lag
it keeps. The sandbox shares the machine (it computes every point on request), so the CPU share is
the Function's own; the lag includes the sandbox's time to answer.

``day``: peak memory on a full day: ``vehicle-stats`` with its defaults (GPS, engine hours, engine
states, fuel, the combined odometer and the four tire pressures) takes its cursors, ``--hours`` (24) of
simulated time pass for ``--vehicles`` (1,000), then the Function delivers the whole day to the FMC
endpoint, in as many runs as it takes (a run's budget is capped at 15 minutes, as in Functions; each
resumes where the last stopped, in the same process). Reported: records per stream, runs, CPU and
wall time, and the delivering process's peak RSS (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token"
FMC_TOKEN = "bench-fmc-token"
TYPES = ["gps", "obdOdometerMeters", "engineStates"]
FEED = "/fleet/vehicles/stats/feed"
BUSY = "2026-11-02T15:00:00Z"  # 09:00 in the simulated fleet's Central time: the morning peak


def start_sandbox(vehicles: int, *extra: str) -> tuple[subprocess.Popen[str], str]:
    exe = os.environ.get("SAMSARA_SANDBOX_BIN") or str(ROOT / "target/sandbox/samsara-sandbox")
    cmd = [exe, "--port", "0", "--vehicles", str(vehicles), "--days", "1", "--start", BUSY, "--token", TOKEN,
           "--fmc-token", FMC_TOKEN, "--rate-limits", "off", "--threads", "4", *extra]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def call(url: str, path: str, body: dict[str, Any] | None = None, token: str = TOKEN) -> Any:
    req = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def runtime(url: str) -> Any:
    from samsara_fmc.runtime import FunctionRuntime, Manifest
    from samsara_fmc.storage import MemoryStorage

    secrets = {"SAMSARA_API_TOKEN": TOKEN, "SAMSARA_BASE_URL": url, "FMC_URL": url, "FMC_TOKEN": FMC_TOKEN}

    class Secrets:
        def load(self) -> dict[str, Any]:
            return secrets

    manifest = Manifest.load(ROOT / "functions" / "vehicle-stats" / "function.json")
    return FunctionRuntime(manifest, storage=MemoryStorage(), secret_source=Secrets())


EVENT = {"types": ",".join(TYPES), "readings": "none", "SamsaraFunctionTriggerSource": "schedule"}


class Budget:
    def __init__(self, seconds: float) -> None:
        self.until = time.time() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.until - time.time()) * 1000)


# -- workers (each in a fresh process) ----------------------------------------------------------------


def project_worker(url: str) -> dict[str, float]:
    rt = runtime(url)
    first = rt.invoke({**EVENT, "SamsaraFunctionCorrelationId": "w1"}, None)
    assert first["ok"], first
    say("ready")
    sys.stdin.readline()
    c0 = time.process_time()
    out = rt.invoke({**EVENT, "SamsaraFunctionCorrelationId": "w2"}, None)
    cpu = time.process_time() - c0
    assert out["ok"] and out["caughtUp"], out
    return {"records": out["records"], "cpu_s": cpu, "rss_mb": rss_mb()}


def sdk_worker(url: str) -> dict[str, float]:
    import requests
    from samsara import Samsara

    sdk = Samsara(token=TOKEN, base_url=url)
    after = sdk.vehicle_stats.get_vehicle_stats_feed(types=",".join(TYPES)).pagination.end_cursor
    say("ready")
    sys.stdin.readline()
    c0 = time.process_time()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {FMC_TOKEN}"
    batch: list[dict[str, Any]] = []
    records = 0

    def post() -> None:
        part = batch[:5000]
        key = str(uuid.uuid4())
        r = session.post(f"{url}/fmc/v1/streams/vehicle_stats/records", json={"records": part},
                         headers={"Idempotency-Key": key}, timeout=60)  # fmt: skip
        r.raise_for_status()
        del batch[:5000]

    while True:
        resp = sdk.vehicle_stats.get_vehicle_stats_feed(types=",".join(TYPES), after=after)
        for v in resp.data or []:
            base = {"vehicleId": v.id, "vehicleName": v.name, "externalIds": v.external_ids}
            for p in v.gps or []:
                t = p.time.isoformat() if hasattr(p.time, "isoformat") else str(p.time)
                addr = p.reverse_geo.formatted_location if p.reverse_geo else None
                batch.append({"id": f"{v.id}:gps:{t}", **base, "stat": "gps", "time": t,
                              "latitude": p.latitude, "longitude": p.longitude,
                              "headingDegrees": p.heading_degrees,
                              "speed": round((p.speed_miles_per_hour or 0) * 1.609344, 3), "unit": "km/h",
                              "location": addr})  # fmt: skip
            for p in v.obd_odometer_meters or []:
                t = p.time.isoformat() if hasattr(p.time, "isoformat") else str(p.time)
                batch.append({"id": f"{v.id}:obdOdometerMeters:{t}", **base, "stat": "obdOdometerMeters",
                              "time": t, "value": p.value / 1000, "unit": "km"})  # fmt: skip
            for p in v.engine_states or []:
                t = p.time.isoformat() if hasattr(p.time, "isoformat") else str(p.time)
                batch.append({"id": f"{v.id}:engineStates:{t}", **base, "stat": "engineStates", "time": t,
                              "value": p.value})  # fmt: skip
            while len(batch) >= 5000:
                records += 5000
                post()
        after = resp.pagination.end_cursor or after
        if not resp.pagination.has_next_page:
            break
    while batch:
        records += min(len(batch), 5000)
        post()
    return {"records": records, "cpu_s": time.process_time() - c0, "rss_mb": rss_mb()}


def follow_worker(url: str, seconds: float) -> dict[str, float]:
    rt = runtime(url)
    w0, c0 = time.time(), time.process_time()
    out = rt.invoke({**EVENT, "follow": "true", "SamsaraFunctionCorrelationId": "f1"}, Budget(seconds))
    wall, cpu = time.time() - w0, time.process_time() - c0
    assert out["ok"], out
    return {"records": out["records"], "cpu_s": cpu, "wall_s": wall, "rss_mb": rss_mb()}


def day_worker(url: str) -> dict[str, Any]:
    rt = runtime(url)
    event = {"SamsaraFunctionTriggerSource": "schedule"}  # the Function's defaults
    first = rt.invoke({**event, "SamsaraFunctionCorrelationId": "d1"}, None)
    assert first["ok"], first
    say("ready")
    sys.stdin.readline()
    w0, c0 = time.time(), time.process_time()
    by_sink: dict[str, int] = {}
    records, runs = 0, 0
    while True:  # a run has at most the Functions budget (15 min): the next one resumes, as scheduled
        runs += 1
        out = rt.invoke({**event, "SamsaraFunctionCorrelationId": f"d{runs + 1}"}, None)
        assert out["ok"], out
        records += int(out["records"])
        for s in out["streams"]:
            by_sink[s["sinkStream"]] = by_sink.get(s["sinkStream"], 0) + int(s["records"])
        progress = {"run": runs, "records": records, "rss_mb": rss_mb(), "cpu_s": time.process_time() - c0}
        print(json.dumps({"dayProgress": {**progress, "wall_s": time.time() - w0}}), file=sys.stderr)
        if out["caughtUp"]:
            break
    wall, cpu = time.time() - w0, time.process_time() - c0
    return {"records": records, "runs": runs, "cpu_s": cpu, "wall_s": wall, "rss_mb": rss_mb(),
            "by_sink": by_sink}  # fmt: skip


def day(args: argparse.Namespace) -> None:
    proc, url = start_sandbox(args.vehicles)
    try:
        w = spawn("--worker", "day", "--url", url)
        assert w.stdout is not None
        if w.stdout.readline().strip() != "ready":
            raise SystemExit("day worker did not start")
        call(url, "/__sandbox/clock/advance", {"seconds": args.hours * 3600})
        r = result(w)
    finally:
        proc.kill()
    print(f"\nA full day: {args.vehicles} vehicles, {args.hours:g} h of simulated time delivered by "
          f"vehicle-stats (its defaults) to the FMC endpoint in {r['runs']} run(s), one process")  # fmt: skip
    sinks = ", ".join(f"{k} {v:,}" for k, v in sorted(r["by_sink"].items()))
    print(f"  records {int(r['records']):,} ({sinks}), CPU {r['cpu_s']:.0f} s, wall {r['wall_s']:.0f} s, "
          f"peak RSS {r['rss_mb']:.0f} MB")  # fmt: skip


PROTOCOL = sys.stdout


def say(line: str) -> None:
    """A line to the parent (the Function's own log goes to stderr in a worker)."""
    print(line, file=PROTOCOL, flush=True)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def spawn(*args: str) -> subprocess.Popen[str]:
    # ROOT first, then what the caller had (a worktree's python/ when the package is not installed).
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.Popen([sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env)  # fmt: skip


def result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate("go\n")
    if proc.returncode != 0:
        raise SystemExit(f"worker failed ({proc.returncode})")
    return dict(json.loads(out.strip().splitlines()[-1]))


# -- the three benches --------------------------------------------------------------------------------


def throughput(args: argparse.Namespace) -> None:
    rows: dict[str, list[dict[str, float]]] = {
        "vehicle-stats (samsara_fmc)": [],
        "samsara-api 4.1.0 + requests": [],
    }
    for _ in range(args.repeat):
        for name, kind in (
            ("vehicle-stats (samsara_fmc)", "project"),
            ("samsara-api 4.1.0 + requests", "sdk"),
        ):
            proc, url = start_sandbox(args.vehicles)
            try:
                w = spawn("--worker", kind, "--url", url)
                assert w.stdout is not None
                if w.stdout.readline().strip() != "ready":
                    raise SystemExit(f"{kind} worker did not start")
                call(url, "/__sandbox/clock/advance", {"seconds": args.hours * 3600})
                rows[name].append(result(w))
            finally:
                proc.kill()
    print(f"\nEnd to end, {args.vehicles} vehicles, {args.hours:g} h of the feed ({', '.join(TYPES)}) "
          f"to the FMC endpoint; median of {args.repeat}")  # fmt: skip
    print(f"  {'method':<30} {'records':>9} {'records/CPU s':>14} {'µs/record':>10} {'peak RSS':>9}")
    for name, runs in rows.items():
        rate = statistics.median(r["records"] / r["cpu_s"] for r in runs)
        rss = statistics.median(r["rss_mb"] for r in runs)
        print(f"  {name:<30} {int(runs[0]['records']):>9} {rate:>14,.0f} {1e6 / rate:>10.2f} {rss:>7.0f} MB")
    ours, sdk = (statistics.median(r["records"] / r["cpu_s"] for r in runs) for runs in rows.values())
    print(f"  samsara_fmc delivers {ours / sdk:.1f} times the records per CPU second")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def freshness(args: argparse.Namespace, title: str) -> None:
    proc, url = start_sandbox(args.vehicles, "--time-scale", "1")
    try:
        time.sleep(2)
        t0 = call(url, "/__sandbox/clock/advance", {"seconds": 0})["now"]
        w = spawn("--worker", "follow", "--url", url, "--seconds", str(args.seconds))
        r = result(w)
        from samsara_fmc.engine._util import parse_time

        # Only points after the first call: the first call's latest values are old by design.
        start = parse_time(t0)
        live = []
        after = ""
        while True:
            query = "?limit=1000" + (f"&after={after}" if after else "")
            page = call(url, f"/fmc/v1/streams/vehicle_stats/records{query}", token=FMC_TOKEN)
            for rec in page["data"]:
                at = parse_time(rec["record"]["time"])
                if at > start:
                    live.append((parse_time(rec["firstReceivedAt"]) - at).total_seconds())
            after = page["pagination"]["endCursor"]
            if not page["pagination"]["hasNextPage"]:
                break
    finally:
        proc.kill()
    print(
        f"\n{title}: {args.vehicles} vehicles, sandbox in real time, one run following for {args.seconds:g} s"
    )
    print(f"  records delivered {int(r['records'])} ({r['records'] / r['wall_s']:,.0f}/s), "
          f"CPU {r['cpu_s']:.1f} s of {r['wall_s']:.1f} s wall = "
          f"{100 * r['cpu_s'] / r['wall_s']:.0f} % of one core, "
          f"peak RSS {r['rss_mb']:.0f} MB")  # fmt: skip
    if live:
        print(f"  lag point time → FMC receipt, {len(live)} points: p50 {pct(live, 0.5):.1f} s, "
              f"p95 {pct(live, 0.95):.1f} s, max {max(live):.1f} s")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bench", nargs="?", choices=["throughput", "freshness", "scale", "day"])
    ap.add_argument("--vehicles", type=int)
    ap.add_argument("--hours", type=float)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        sys.stdout = sys.stderr  # the run log
        if args.worker == "project":
            out = project_worker(args.url)
        elif args.worker == "sdk":
            out = sdk_worker(args.url)
        elif args.worker == "day":
            out = day_worker(args.url)
        else:
            out = follow_worker(args.url, args.seconds)
        say(json.dumps(out))
        return 0
    if args.bench == "throughput":
        args.vehicles, args.hours = args.vehicles or 150, args.hours or 1.0
        throughput(args)
    elif args.bench == "freshness":
        args.vehicles, args.seconds = args.vehicles or 200, args.seconds or 150
        freshness(args, "Freshness in follow mode")
    elif args.bench == "scale":
        args.vehicles, args.seconds = args.vehicles or 50_000, args.seconds or 150
        freshness(args, "One Function following a large org at its busiest hour")
    elif args.bench == "day":
        args.vehicles, args.hours = args.vehicles or 1000, args.hours or 24.0
        day(args)
    else:
        ap.error("choose throughput, freshness, scale or day")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
