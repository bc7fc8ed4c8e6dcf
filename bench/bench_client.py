"""Client CPU, memory and start-up: samsara_fmc against what a user would otherwise use.

    python bench/bench_client.py [--vehicles 150] [--hours 1] [--repeat 3]

Starts the sandbox (rate limits off, so the client is what is measured), takes a feed cursor, lets an
hour of simulated US-daytime driving happen (GPS every 5 s), then each method pages the *same* feed
window from that cursor in a fresh process:

* ``samsara_fmc ndjson``: ``Client.stats_pages``: page bytes → converted NDJSON in Rust, no Python
  object per record (the path the vehicle-stats Function uses);
* ``samsara_fmc dicts``: ``Client.pages``: records as Python dicts built in Rust;
* ``samsara-api 4.1.0``: the Functions runtime's SDK, ``get_vehicle_stats_feed`` in a cursor loop;
* ``requests + json`` and ``httpx + orjson``.

Reported per method: client CPU (``time.process_time`` of the paging loop, the sandbox runs in
another process) per record and per 100k records, peak RSS, and import-plus-first-call time
(import the library, build a client, ``GET /me``). The median of ``--repeat`` runs is shown.

Then the bar without HTTP: the same page bytes, saved once, through ``_core.convert_stats`` (bytes
to converted NDJSON) and through ``orjson.loads`` (bytes to dicts, nothing converted), best of 5.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
TYPES = ["gps", "obdOdometerMeters", "engineStates"]
FEED = "/fleet/vehicles/stats/feed"
METHODS = [
    "samsara_fmc ndjson",
    "samsara_fmc dicts",
    "samsara-api 4.1.0",
    "requests + json",
    "httpx + orjson",
]


def count(vehicles: list[dict[str, object]]) -> int:
    return sum(len(v.get(t) or ()) for v in vehicles for t in TYPES)  # type: ignore[arg-type]


def worker(method: str, url: str, cursor: str) -> dict[str, float]:
    t0 = time.perf_counter()
    records = 0
    if method.startswith("samsara_fmc"):
        import samsara_fmc

        client = samsara_fmc.Client(token=TOKEN, base_url=url, rate_limit=False)
        client.get("/me")
        first = time.perf_counter() - t0
        c0 = time.process_time()
        if method == "samsara_fmc ndjson":
            for page in client.stats_pages(types=TYPES, after=cursor):
                records += page.records
        else:
            for p in client.pages(FEED, params={"types": TYPES}, after=cursor):
                records += count(p.data)
    elif method == "samsara-api 4.1.0":
        from samsara import Samsara

        sdk = Samsara(token=TOKEN, base_url=url)
        sdk.organization_info.get_organization_info()
        first = time.perf_counter() - t0
        c0 = time.process_time()
        after = cursor
        while True:
            resp = sdk.vehicle_stats.get_vehicle_stats_feed(types=",".join(TYPES), after=after)
            for v in resp.data or []:
                records += len(v.gps or []) + len(v.obd_odometer_meters or []) + len(v.engine_states or [])
            after = resp.pagination.end_cursor or after
            if not resp.pagination.has_next_page:
                break
    elif method == "requests + json":
        import requests

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        session.get(f"{url}/me").json()
        first = time.perf_counter() - t0
        c0 = time.process_time()
        after = cursor
        while True:
            body = session.get(f"{url}{FEED}", params={"types": ",".join(TYPES), "after": after}).json()
            records += count(body["data"])
            after = body["pagination"]["endCursor"] or after
            if not body["pagination"]["hasNextPage"]:
                break
    elif method == "httpx + orjson":
        import httpx
        import orjson

        http = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"})
        orjson.loads(http.get(f"{url}/me").content)
        first = time.perf_counter() - t0
        c0 = time.process_time()
        after = cursor
        while True:
            body = orjson.loads(
                http.get(f"{url}{FEED}", params={"types": ",".join(TYPES), "after": after}).content
            )
            records += count(body["data"])
            after = body["pagination"]["endCursor"] or after
            if not body["pagination"]["hasNextPage"]:
                break
    else:
        raise SystemExit(f"unknown method {method!r}")
    cpu = time.process_time() - c0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"records": records, "cpu_s": cpu, "rss_mb": rss_mb, "first_ms": first * 1000}


def converter_worker(pages_file: str) -> dict[str, float]:
    """CPU per record of converting saved page bytes, against ``orjson.loads`` of the same bytes."""
    import orjson

    from samsara_fmc import _core

    pages = json.loads(Path(pages_file).read_text())
    bodies = [p.encode() for p in pages]
    records = sum(_core.convert_stats(b, "metric")[2] for b in bodies)

    def best(fn: object) -> float:
        runs = []
        for _ in range(5):
            c0 = time.process_time()
            for b in bodies:
                fn(b)  # type: ignore[operator]
            runs.append(time.process_time() - c0)
        return min(runs) / records

    return {
        "records": records,
        "convert_stats": best(lambda b: _core.convert_stats(b, "metric")),
        "orjson.loads": best(orjson.loads),
    }


def save_pages(url: str, cursor: str, path: Path) -> None:
    after, pages = cursor, []
    while True:
        q = urllib.parse.urlencode({"types": ",".join(TYPES), "after": after})
        req = urllib.request.Request(f"{url}{FEED}?{q}", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read()
        pages.append(body.decode())
        page = json.loads(body)
        after = page["pagination"]["endCursor"] or after
        if not page["pagination"]["hasNextPage"]:
            break
    path.write_text(json.dumps(pages))


def start_sandbox(vehicles: int) -> tuple[subprocess.Popen[str], str]:
    exe = os.environ.get("SAMSARA_SANDBOX_BIN") or str(ROOT / "target/sandbox/samsara-sandbox")
    cmd = [exe, "--port", "0", "--vehicles", str(vehicles), "--days", "1", "--start", "2026-11-02T15:00:00Z",
           "--token", TOKEN, "--rate-limits", "off", "--threads", "4"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def call(url: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    req = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", f"Bearer {TOKEN}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vehicles", type=int, default=150)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--cursor", help=argparse.SUPPRESS)
    ap.add_argument("--pages", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.pages:
        print(json.dumps(converter_worker(args.pages)))
        return 0
    if args.worker:
        print(json.dumps(worker(args.worker, args.url, args.cursor)))
        return 0

    proc, url = start_sandbox(args.vehicles)
    try:
        first = call(url, f"{FEED}?types={','.join(TYPES)}")
        cursor = str(first["pagination"]["endCursor"])  # type: ignore[index]
        call(url, "/__sandbox/clock/advance", {"seconds": int(args.hours * 3600)})
        rows = []
        for method in args.methods.split(","):
            runs = []
            for _ in range(args.repeat):
                cmd = [sys.executable, __file__, "--worker", method, "--url", url, "--cursor", cursor]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                runs.append(json.loads(out.strip().splitlines()[-1]))
            rows.append((method, runs))
        with tempfile.TemporaryDirectory() as tmp:
            pages_file = Path(tmp) / "pages.json"
            save_pages(url, cursor, pages_file)
            cmd = [sys.executable, __file__, "--pages", str(pages_file)]
            alone = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip())
    finally:
        proc.kill()
    n = {r["records"] for _, runs in rows for r in runs}
    if len(n) != 1:
        raise SystemExit(f"methods saw different record counts: {n}")
    records = n.pop()
    base = {m: statistics.median(r["cpu_s"] for r in runs) for m, runs in rows}
    sdk = base.get("samsara-api 4.1.0")
    print(
        f"{records:,} stats-feed records ({', '.join(TYPES)}), {args.vehicles} vehicles, "
        f"{args.hours:g} h of driving; median of {args.repeat}; Python {sys.version.split()[0]}"
    )
    head = ("method", "CPU/record", "CPU/100k", "vs SDK", "peak RSS", "import+1st")
    print(f"{head[0]:<20} {head[1]:>11} {head[2]:>9} {head[3]:>7} {head[4]:>9} {head[5]:>11}")
    for method, runs in rows:
        cpu = base[method]
        ratio = f"{sdk / cpu:.0f}x" if sdk else "-"
        rss = statistics.median(r["rss_mb"] for r in runs)
        first_ms = statistics.median(r["first_ms"] for r in runs)
        print(f"{method:<20} {cpu / records * 1e6:>8.2f} µs {cpu / records * 1e5:>7.2f} s {ratio:>7} "
              f"{rss:>6.0f} MB {first_ms:>8.1f} ms")  # fmt: skip
    ours, theirs = alone["convert_stats"] * 1e6, alone["orjson.loads"] * 1e6
    print(
        "without HTTP, best of 5 over the same page bytes: "
        f"convert_stats {ours:.2f} µs/record, orjson.loads {theirs:.2f} µs/record ({ours / theirs:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
