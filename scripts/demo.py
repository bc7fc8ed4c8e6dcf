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
import datetime as dt
import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "demo-token-0123456789"
FMC_TOKEN = "demo-fmc-token-42"
SCOPES = (
    "Read Vehicle Statistics,Read Org Information,Read Vehicles,Read Safety Events & Scores,"
    "Read Speeding Intervals,Read Defects,Read Defect Types,Read DVIRs,Write Defects,Read Trips,"
    "Read Idling,Read Assignments,Read Media Retrieval,Write Media Retrieval,Read Readings,"
    "Read Form Submissions,Read Issues,Write Issues,Write Form Submissions,Read Messages,Write Messages,"
    "Read IFTA (US),Write Vehicles,Read Tags,Write Tags,Read Drivers,Read Vehicle Trips,"
    "Write Assignments,Write Drivers"
)
NAME = "vehicle-stats"


@dataclass
class Sandbox:
    """A running ``samsara-sandbox`` process."""

    process: subprocess.Popen[str]
    url: str

    @classmethod
    def start(
        cls,
        *,
        vehicles: int,
        seed: int = 7,
        binary: str | None = None,
        start: str = "2026-11-02T15:00:00Z",
        days: int = 1,
    ) -> Sandbox:
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
            str(days),
            "--start",
            start,
            "--token",
            f"{TOKEN}={SCOPES}",
            "--fmc-token",
            FMC_TOKEN,
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

    def fmc(self, path: str) -> Any:
        req = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"Bearer {FMC_TOKEN}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def fmc_records(self, stream: str) -> list[dict[str, Any]]:
        """Every record the FMC endpoint holds for ``stream``."""
        out: list[dict[str, Any]] = []
        after = ""
        while True:
            query = urllib.parse.urlencode({"limit": 1000, **({"after": after} if after else {})})
            page = self.fmc(f"/fmc/v1/streams/{stream}/records?{query}")
            out.extend(page["data"])
            after = page["pagination"]["endCursor"]
            if not page["pagination"]["hasNextPage"]:
                return out

    def fmc_file(self, stream: str, name: str) -> bytes:
        """The bytes of file ``name`` of ``stream`` at the FMC endpoint."""
        req = urllib.request.Request(
            f"{self.url}/fmc/v1/streams/{stream}/files/{name}",
            headers={"Authorization": f"Bearer {FMC_TOKEN}"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return bytes(resp.read())

    def fmc_summary(self, stream: str) -> dict[str, Any]:
        """The FMC endpoint's counts for ``stream`` (records, deliveries, updates, duplicates, …)."""
        return dict(self.fmc(f"/fmc/v1/streams/{stream}/summary")["data"])

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class Demo:
    """The samsara-fn work directory and what the runs did."""

    workdir: Path
    base_url: str
    name: str = NAME
    runs: list[dict[str, Any]] = field(default_factory=list)

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


SNAPSHOT_KEY = {"engineStates": "engineState", "fuelPercents": "fuelPercent"}
"""Stat types whose snapshot key differs from the feed's."""


def api_get(base_url: str, token: str, path: str, params: dict[str, str]) -> Any:
    """A plain GET, no faults expected: the truth is read around the Functions. A 429 (the token's
    rate limit, shared with the Function just run) is waited out as its ``Retry-After`` says."""
    url = f"{base_url}{path}?{urllib.parse.urlencode(params)}"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    for _ in range(50):
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            if e.code != 429:
                raise
            time.sleep(float(e.headers.get("Retry-After") or 0.2))
    raise SystemExit(f"`GET {path}` stayed rate-limited")


def latest_ids(base_url: str, token: str, types: list[str]) -> set[str]:
    """The record ids of each vehicle's latest values now: what a stats feed's first call delivers."""
    out: set[str] = set()
    for i in range(0, len(types), 3):
        group = types[i : i + 3]
        for v in api_get(base_url, token, "/fleet/vehicles/stats", {"types": ",".join(group)})["data"]:
            for t in group:
                point = v.get(SNAPSHOT_KEY.get(t, t))
                if point:
                    out.add(f"{v['id']}:{t}:{point['time']}")
    return out


def history_ids(base_url: str, token: str, types: list[str], start: str, end: str) -> set[str]:
    """The record ids of every point in (start, end]: what a stats feed delivers after its first call."""
    out: set[str] = set()
    for i in range(0, len(types), 3):
        group = types[i : i + 3]
        after = ""
        while True:
            params = {"types": ",".join(group), "startTime": start, "endTime": end}
            if after:
                params["after"] = after
            body = api_get(base_url, token, "/fleet/vehicles/stats/history", params)
            for v in body["data"]:
                for t in group:
                    out.update(f"{v['id']}:{t}:{p['time']}" for p in v.get(t, []) if p["time"] > start)
            after = body["pagination"]["endCursor"]
            if not body["pagination"]["hasNextPage"]:
                break
    return out


TIRES = [f"tirePressures{p}" for p in ("FrontLeft", "FrontRight", "BackLeft", "BackRight")]
"""The readings vehicle-stats follows by default (tire pressures are not stat types)."""


def reading_ids(
    base_url: str, token: str, readings: list[str], start: str | None, end: str | None
) -> set[str]:
    """The record ids of the readings' latest values (no ``start``), or of their points in
    (start, end]: what the Readings API feed delivers first, and after."""
    out: set[str] = set()
    for rid in readings:
        params = {"readingId": rid, "entityType": "asset", "assetTypes": "vehicle"}
        if start is None or end is None:
            params["feed"] = "true"
        else:
            plus = dt.datetime.fromisoformat(end.replace("Z", "+00:00")) + dt.timedelta(seconds=1)
            params |= {"startTime": start, "endTime": plus.isoformat()}  # the end is exclusive
        after = ""
        while True:
            body = api_get(
                base_url, token, "/readings/history", {**params, **({"after": after} if after else {})}
            )
            out.update(
                f"{r['entityId']}:{rid}:{r['happenedAtTime']}"
                for r in body["data"]
                if start is None or r["happenedAtTime"] > start
            )
            after = body["pagination"]["endCursor"]
            if not body["pagination"]["hasNextPage"]:
                break
    return out


HEADER = "  Function             runs  records delivered  writes applied  lost  duplicated"


@dataclass
class Report:
    """What one Function did in the demo, checked against the sandbox."""

    name: str
    runs: int
    delivered: int
    writes: int
    lost: int
    duplicated: int

    def row(self) -> str:
        return (
            f"  {self.name:<20} {self.runs:>4} {self.delivered:>18} {self.writes:>15} {self.lost:>5} "
            f"{self.duplicated:>10}"
        )


def vehicle_stats(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """vehicle-stats every way Functions starts it, delivering to the reference FMC endpoint."""
    types = [
        "gps",
        "obdOdometerMeters",
        "gpsOdometerMeters",
        "obdEngineSeconds",
        "engineStates",
        "fuelPercents",
    ]
    demo = Demo(workdir, sandbox.url, name="vehicle-stats")
    demo.init(
        zip_path,
        {"types": ",".join(types), "units": "imperial"},
        {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN},
    )
    demo.run("manual")
    truth = latest_ids(sandbox.url, TOKEN, types) | reading_ids(sandbox.url, TOKEN, TIRES, None, None)
    start = sandbox.admin("/__sandbox/clock/advance", {"seconds": 0})["now"]
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 3600})
    demo.run("schedule")
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 600})
    demo.run("api")
    end = sandbox.admin("/__sandbox/clock/advance", {"seconds": 0})["now"]
    truth |= history_ids(sandbox.url, TOKEN, types, start, end)
    truth |= reading_ids(sandbox.url, TOKEN, TIRES, start, end)
    # The combined odometer (on by default): one reading per OBD point (every sandbox vehicle has one).
    truth |= {i.replace(":obdOdometerMeters:", ":odometer:") for i in truth if ":obdOdometerMeters:" in i}
    held, again = set(), 0
    for stream in ("vehicle_stats", "odometer_readings"):
        held |= {str(r["id"]) for r in sandbox.fmc_records(stream)}
        summary = sandbox.fmc_summary(stream)
        again += int(summary["updates"]) + int(summary["duplicates"])
    payload = workdir / "alert.json"
    payload.write_text(
        json.dumps(
            {
                "driverId": "",
                "assetId": sandbox_vehicle(sandbox),
                "alertConfigurationId": "51a1f7de-ca2d-414d-8a23-8e149a4d88be",
            }
        )
    )
    demo.run("alertAction", "--alertPayload", str(payload))
    for r in demo.runs:
        print(
            f"  vehicle-stats {r['mode']:<12} records {r['records']:>6}  repeated {r['repeated']:>4}  "
            f"caught up {r['caughtUp']!s:<5}  {r['seconds']:.2f} s"
        )
    return Report("vehicle-stats", len(demo.runs), len(held), 0, len(truth - held), again + len(held - truth))


MEDIA_HOST = "/__sandbox/media/"
"""What every sandbox camera media URL contains (signed loopback URLs of the sandbox): personal data,
never written unless asked for."""


def lookback_hours(sandbox: Sandbox) -> str:
    """Hours from the wall clock (what a Function's first run counts back from) to a day before the
    sandbox's simulated now: the whole simulated history."""
    now = dt.datetime.fromisoformat(sandbox.admin("/__sandbox/clock/advance", {"seconds": 0})["now"])
    hours = int((dt.datetime.now(dt.UTC) - now).total_seconds() // 3600) + 26
    if not 1 <= hours <= 2160:
        raise SystemExit(
            f"the sandbox's clock `{now}` is over 90 days from today: start it at `--start` nearer"
        )
    return str(hours)


def stream_start(demo: Demo, stream: str) -> str:
    """The first run's ``startTime`` of ``stream``, from its state in Function Storage."""
    [path] = demo.storage().glob(f"state/*/{demo.name}/{stream}.json")
    return str(json.loads(path.read_text())["state"]["first"])


def stream_truth(base_url: str, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every item of a ``/…/stream`` endpoint from ``params``' ``startTime``, read afresh."""
    out: list[dict[str, Any]] = []
    after = ""
    while True:
        body = api_get(base_url, TOKEN, path, {**params, **({"after": after} if after else {})})
        out.extend(body["data"])
        after = body["pagination"]["endCursor"]
        if not body["pagination"]["hasNextPage"]:
            return out


def no_media_urls(demo: Demo, outputs: list[str]) -> None:
    """Fails the demo when a media URL is anywhere a run wrote: storage, logs, summaries."""
    texts = [*outputs, *(p.read_text(errors="replace") for p in demo.workdir.rglob("*") if p.is_file())]
    if any(MEDIA_HOST in t for t in texts):
        raise SystemExit(
            f"`{demo.name}` wrote a camera media URL without `includeMediaUrls`: fix the Function"
        )


def stream_runs(demo: Demo, sandbox: Sandbox) -> list[str]:
    """``manual``, then ``schedule`` an hour later and ``api`` ten minutes after; the runs' output."""
    outputs = [demo.fn("run", "manual", demo.name).stdout]
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 3600})
    outputs.append(demo.fn("run", "schedule", demo.name).stdout)
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 600})
    outputs.append(demo.fn("run", "api", demo.name).stdout)
    for out in outputs:
        summary = json.loads(out.strip().splitlines()[-1])
        if not summary.get("ok"):
            raise SystemExit(f"`{demo.name}` run failed: {summary}\n{out}")
        demo.runs.append(summary)
        print(
            f"  {demo.name} {summary['trigger'] or '':<10} records {summary['records']:>6}  "
            f"repeated {summary['repeated']:>4}  caught up {summary['caughtUp']!s:<5}  "
            f"{summary['seconds']:.2f} s"
        )
    return outputs


def safety_events(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """safety-events over the whole simulated history, then an hour later: every event's newest
    version at the FMC endpoint (updates as upserts), and no media URL written anywhere."""
    demo = Demo(workdir, sandbox.url, name="safety-events")
    demo.init(
        zip_path,
        {"units": "imperial", "lookbackHours": lookback_hours(sandbox)},
        {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN},
    )
    outputs = stream_runs(demo, sandbox)
    start = stream_start(demo, "safety-events.imperial")
    query = {"startTime": start, "queryByTimeField": "updatedAtTime"}
    truth = {
        str(e["id"]): str(e["updatedAtTime"])
        for e in stream_truth(sandbox.url, "/safety-events/stream", query)
    }
    held = {str(r["id"]): str(r["record"]["updatedAtTime"]) for r in sandbox.fmc_records("safety_events")}
    summary = sandbox.fmc_summary("safety_events")
    no_media_urls(demo, outputs)
    lost = sum(1 for i, t in truth.items() if held.get(i) != t)
    duplicated = int(summary["duplicates"]) + len(held.keys() - truth.keys())
    return Report("safety-events", len(demo.runs), len(held), 0, lost, duplicated)


def speeding_intervals(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """speeding-intervals over the whole simulated history, then an hour later: one record per
    interval of every completed trip at the FMC endpoint, none for trips without intervals."""
    demo = Demo(workdir, sandbox.url, name="speeding-intervals")
    demo.init(
        zip_path,
        {"units": "metric", "lookbackHours": lookback_hours(sandbox)},
        {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN},
    )
    stream_runs(demo, sandbox)
    start = stream_start(demo, "speeding.metric")
    trips = stream_truth(
        sandbox.url, "/speeding-intervals/stream", {"startTime": start, "queryBy": "updatedAtTime"}
    )
    truth = {
        f"{t['asset']['id']}:{t['tripStartTime']}:{i['startTime']}" for t in trips for i in t["intervals"]
    }
    held = {str(r["id"]) for r in sandbox.fmc_records("speeding_intervals")}
    summary = sandbox.fmc_summary("speeding_intervals")
    duplicated = int(summary["duplicates"]) + len(held - truth)
    return Report("speeding-intervals", len(demo.runs), len(held), 0, len(truth - held), duplicated)


def dvir_defects(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """dvir-defects: defects and inspections to the FMC endpoint, then three repairs the FMC reports
    (``defect.resolved``) resolved in Samsara once each, while mechanics resolve others in the dashboard."""
    now = sandbox.admin("/__sandbox/clock/advance", {"seconds": 0})["now"]
    start = (dt.datetime.fromisoformat(now.replace("Z", "+00:00")) - dt.timedelta(hours=36)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    demo = Demo(workdir, sandbox.url, name="dvir-defects")
    demo.init(
        zip_path,
        {"startTime": start, "mechanicUserId": "7100"},
        {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN},
    )
    demo.run("manual")
    unresolved = api_get(
        sandbox.url, TOKEN, "/defects/stream", {"startTime": start, "isResolved": "false", "limit": "3"}
    )["data"]
    changes = []
    for d in unresolved[:3]:
        sandbox.admin("/__sandbox/clock/advance", {"seconds": 60})
        body = {
            "type": "defect.resolved",
            "data": {"defectId": d["id"], "mechanicNotes": "Repaired in the shop"},
        }
        changes.append(str(sandbox.admin("/__sandbox/fmc/changes", body)["id"]))
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 6 * 3600})
    demo.run("schedule")
    demo.run("api")
    lost = duplicated = delivered = 0
    for stream, path in (("dvir_defects", "/defects/stream"), ("dvirs", "/dvirs/stream")):
        truth = {
            str(d["id"]): str(d["updatedAtTime"])
            for d in stream_truth(sandbox.url, path, {"startTime": start, "includeExternalIds": "true"})
        }
        held = {str(r["id"]): str(r["record"]["updatedAtTime"]) for r in sandbox.fmc_records(stream)}
        delivered += len(held)
        lost += sum(1 for i, at in truth.items() if held.get(i) != at)  # missing, or an older version
        duplicated += len(set(held) - set(truth)) + int(sandbox.fmc_summary(stream)["duplicates"])
    log = sandbox.admin("/__sandbox/requests?since=0")["requests"]
    writes: dict[str, int] = {}
    for r in log:
        if r["method"] == "PATCH" and r["path"] != "/fleet/defects/0" and int(r["status"]) == 200:
            writes[r["path"]] = writes.get(r["path"], 0) + 1
    duplicated += sum(n - 1 for n in writes.values())
    outcomes = {str(r["id"]) for r in sandbox.fmc_records("write_outcomes")}
    applied = {c["id"]: c["applied"] for c in sandbox.admin("/__sandbox/fmc/changes")["data"]}
    lost += sum(1 for c in changes if c not in outcomes or not applied.get(c))
    for r in demo.runs:
        print(
            f"  dvir-defects  {r['mode']:<12} records {r['records']:>6}  repeated {r['repeated']:>4}  "
            f"caught up {r['caughtUp']!s:<5}  write-back {r['writeBack']['ran']!s:<5}  {r['seconds']:.2f} s"
        )
    return Report("dvir-defects", len(demo.runs), delivered, len(writes), lost, duplicated)


def location_ids(sandbox: Sandbox, start: str | None = None, end: str | None = None) -> set[str]:
    """The ids of each vehicle's latest location (no window), or of every location in (start, end]."""
    if start is None or end is None:
        body = api_get(sandbox.url, TOKEN, "/fleet/vehicles/locations", {})
        return {f"{v['id']}:{v['location']['time']}" for v in body["data"]}
    out: set[str] = set()
    after = ""
    while True:
        params = {"startTime": start, "endTime": end, **({"after": after} if after else {})}
        body = api_get(sandbox.url, TOKEN, "/fleet/vehicles/locations/history", params)
        out |= {f"{v['id']}:{p['time']}" for v in body["data"] for p in v["locations"] if p["time"] > start}
        after = body["pagination"]["endCursor"]
        if not body["pagination"]["hasNextPage"]:
            return out


def vehicle_locations(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """vehicle-locations: the latest points, then half an hour of driving, to the FMC endpoint."""
    demo = Demo(workdir, sandbox.url, name="vehicle-locations")
    demo.init(zip_path, {"units": "metric"}, {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN})
    demo.run("manual")
    truth = location_ids(sandbox)
    start = sandbox.admin("/__sandbox/clock/advance", {"seconds": 0})["now"]
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 1800})
    demo.run("schedule")
    end = sandbox.admin("/__sandbox/clock/advance", {"seconds": 0})["now"]
    truth |= location_ids(sandbox, start, end)
    held = {str(r["id"]) for r in sandbox.fmc_records("vehicle_locations")}
    summary = sandbox.fmc_summary("vehicle_locations")
    again = int(summary["updates"]) + int(summary["duplicates"])
    return Report(
        "vehicle-locations", len(demo.runs), len(held), 0, len(truth - held), again + len(held - truth)
    )


def camera_media(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """camera-media: one retrieval requested per safety event (at most 20), polled by the next runs
    until each has ended: downloaded from the sandbox's (loopback) media URL and delivered as files to
    the FMC endpoint beside its record, or an explicit failure record. Checks one accepted request per
    item, one record per request, every file of a record at the endpoint with the record's SHA-256,
    and that no media URL was written anywhere."""
    # The Function judges a media URL's expiry by its own (wall) clock, so the sandbox's simulated clock
    # is first moved up to five minutes before the wall clock: URLs it hands out are then hours from
    # expiring by either clock.
    now = dt.datetime.fromisoformat(sandbox.admin("/__sandbox/clock/advance", {"seconds": 0})["now"])
    behind = (dt.datetime.now(dt.UTC) - now).total_seconds() - 300
    if behind > 0:
        sandbox.admin("/__sandbox/clock/advance", {"seconds": min(behind, 366 * 86_400)})
    demo = Demo(workdir, sandbox.url, name="camera-media")
    demo.init(
        zip_path,
        {"lookbackHours": "30", "maxRetrievals": "20"},
        {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN},
    )
    logged = sandbox.admin("/__sandbox/requests?since=0")["requests"]
    since = int(logged[-1]["seq"]) if logged else 0
    outputs = []
    for mode in ("manual", "schedule", "schedule"):
        outputs.append(demo.fn("run", mode, demo.name).stdout)
        summary = json.loads(outputs[-1].strip().splitlines()[-1])
        if not summary.get("ok"):
            raise SystemExit(f"`{demo.name}` run failed: {summary}\n{outputs[-1]}")
        demo.runs.append(summary)
        sandbox.admin("/__sandbox/clock/advance", {"seconds": 180})
    no_media_urls(demo, outputs)
    log = sandbox.admin(f"/__sandbox/requests?since={since}")["requests"]
    posts = sum(
        1
        for r in log
        if r["method"] == "POST" and r["path"] == "/cameras/media/retrieval" and r["status"] == 200
    )
    [state_file] = demo.storage().glob("state/*/camera-media/*.json")
    pending = len(json.loads(state_file.read_text())["state"].get("pending", {}))
    held = [r["record"] for r in sandbox.fmc_records("camera_media")]
    files = {f["name"]: f for f in sandbox.fmc("/fmc/v1/streams/camera_media/files")["data"]}
    missing = 0
    for r in held:
        for f in r["files"]:
            name = f["fileKey"].replace("/", ".")
            data = sandbox.fmc_file("camera_media", name) if name in files else b""
            missing += hashlib.sha256(data).hexdigest() != f["sha256"]
    statuses = Counter(str(r["status"]) for r in held)
    print(
        f"  camera-media: {posts} retrievals requested, {pending} pending, ended "
        f"{dict(sorted(statuses.items()))}, {len(files)} files at the FMC endpoint, no media URL written"
    )
    lost = pending + max(0, posts - len(held)) + missing
    duplicated = max(0, len(held) - posts) + sum(int(f["duplicates"]) for f in files.values())
    return Report("camera-media", len(demo.runs), len(held), posts, lost, duplicated)


def trips(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """trips over the whole simulated history, then an hour later: every completed trip at the FMC
    endpoint once, in its newest version."""
    demo = Demo(workdir, sandbox.url, name="trips")
    demo.init(
        zip_path,
        {"units": "imperial", "lookbackHours": lookback_hours(sandbox)},
        {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN},
    )
    stream_runs(demo, sandbox)
    start = stream_start(demo, "trips.imperial")
    query = {"startTime": start, "queryBy": "updatedAtTime", "completionStatus": "completed"}
    truth = {
        f"{t['asset']['id']}:{t['tripStartTime']}": str(t["updatedAtTime"])
        for t in stream_truth(sandbox.url, "/trips/stream", query)
    }
    held = {str(r["id"]): str(r["record"]["updatedAtTime"]) for r in sandbox.fmc_records("trips")}
    summary = sandbox.fmc_summary("trips")
    lost = sum(1 for i, t in truth.items() if held.get(i) != t)
    duplicated = int(summary["duplicates"]) + len(held.keys() - truth.keys())
    return Report("trips", len(demo.runs), len(held), 0, lost, duplicated)


def idling(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """idling over the whole simulated history, then a rerun: every idling event up to the mark at the
    FMC endpoint once, nothing delivered again. (The Function's windows follow the wall clock, which is
    weeks past the sandbox's: events of a later simulated hour lie in windows already read, beyond the
    overlap, so the demo does not advance the sandbox's clock here.)"""
    demo = Demo(workdir, sandbox.url, name="idling")
    demo.init(
        zip_path,
        {"units": "metric", "lookbackHours": lookback_hours(sandbox), "windowHours": "24"},
        {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN},
    )
    first = demo.run("manual")
    again = demo.run("schedule")
    for r in demo.runs:
        print(
            f"  idling {r['mode']:<10} records {r['records']:>6}  repeated {r['repeated']:>4}  "
            f"caught up {r['caughtUp']!s:<5}  {r['seconds']:.2f} s"
        )
    [path] = demo.storage().glob("state/*/idling/idling.metric.json")
    state = json.loads(path.read_text())["state"]
    query = {"startTime": state["first"], "endTime": state["mark"], "limit": "200"}
    truth = {str(e["eventUuid"]) for e in stream_truth(sandbox.url, "/idling/events", query)}
    held = {str(r["id"]) for r in sandbox.fmc_records("idling_events")}
    summary = sandbox.fmc_summary("idling_events")
    duplicated = int(summary["duplicates"]) + len(held - truth) + int(again["records"])
    if not first["caughtUp"]:
        raise SystemExit(f"`idling` did not catch up in one run: {first}")
    return Report("idling", len(demo.runs), len(held), 0, len(truth - held), duplicated)


def some_drivers(sandbox: Sandbox, n: int) -> list[str]:
    """``n`` driver IDs, from the day's messages (the demo token reads messages, not drivers)."""
    body = api_get(sandbox.url, TOKEN, "/v1/fleet/messages", {})
    return sorted({str(m["driverId"]) for m in body["data"] if m["driverId"]})[:n]


def fmc_change(sandbox: Sandbox, kind: str, data: dict[str, Any]) -> str:
    """Scripts an FMC change a simulated minute after the last; its ID."""
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 60})
    return str(sandbox.admin("/__sandbox/fmc/changes", {"type": kind, "data": data})["id"])


def change_writes(sandbox: Sandbox, changes: list[str]) -> tuple[int, int]:
    """Of the FMC's ``changes``: how many are missing from Samsara or their outcome from the FMC
    (lost), and how many produced more than one Samsara object (duplicated)."""
    status = {c["id"]: c for c in sandbox.admin("/__sandbox/fmc/changes")["data"]}
    outcomes = {str(r["id"]) for r in sandbox.fmc_records("write_outcomes")}
    lost = sum(1 for c in changes if c not in outcomes or not status[c]["applied"])
    duplicated = sum(max(0, int(status[c].get("copies", 1)) - 1) for c in changes)
    return lost, duplicated


def forms_issues(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """forms-issues over the whole simulated history; then the FMC opens an issue, takes up another,
    moves its own to resolved and sends a proof-of-delivery form to a driver, while an issue is raised
    in the dashboard; two later runs. Submissions and issues at the FMC endpoint equal a fresh read,
    each FMC change applied once with its outcome back."""
    demo = Demo(workdir, sandbox.url, name="forms-issues")
    demo.init(
        zip_path,
        {"lookbackHours": lookback_hours(sandbox)},
        {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN},
    )
    demo.run("manual")
    vehicle = sandbox_vehicle(sandbox)
    issues = stream_truth(
        sandbox.url, "/issues/stream", {"startTime": stream_start(demo, "issues"), "status": "open"}
    )
    [driver] = some_drivers(sandbox, 1)
    changes = [
        fmc_change(
            sandbox,
            "issue.created",
            {"title": "Brake lights out", "assetId": vehicle, "priority": "high", "fmcIssueId": "WO-1001"},
        ),
        fmc_change(sandbox, "issue.updated", {"issueId": "fmcIssueId:WO-1001", "assignedToUserId": "7100"}),
        fmc_change(
            sandbox,
            "form.assigned",
            {
                "formTemplateId": "9b1e6a52-0000-4000-8000-000000000003",
                "driverId": driver,
                "title": "Stop 14",
            },
        ),
    ]
    if issues:
        changes.append(
            fmc_change(sandbox, "issue.updated", {"issueId": issues[0]["id"], "status": "inProgress"})
        )
    req = urllib.request.Request(
        f"{sandbox.url}/issues",
        data=json.dumps({"title": "Mirror cracked", "asset": {"id": vehicle}}).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(req, timeout=10).close()  # raised in the dashboard
    since = int(sandbox.admin("/__sandbox/requests?since=0")["requests"][-1]["seq"])
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 3600})
    demo.run("schedule")
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 600})
    demo.run("api")
    lost = duplicated = delivered = 0
    for stream, path, state in (
        ("form_submissions", "/form-submissions/stream", "form-submissions"),
        ("issues", "/issues/stream", "issues"),
    ):
        query = {"startTime": stream_start(demo, state), "include": "externalIds"}
        truth = {str(x["id"]): str(x["updatedAtTime"]) for x in stream_truth(sandbox.url, path, query)}
        held = {str(r["id"]): str(r["record"]["updatedAtTime"]) for r in sandbox.fmc_records(stream)}
        delivered += len(held)
        lost += sum(1 for i, at in truth.items() if held.get(i) != at)
        duplicated += len(set(held) - set(truth)) + int(sandbox.fmc_summary(stream)["duplicates"])
    log = sandbox.admin(f"/__sandbox/requests?since={since}")["requests"]  # the Function's writes
    writes = sum(
        1
        for r in log
        if (r["method"], r["path"])
        in (("POST", "/issues"), ("PATCH", "/issues"), ("POST", "/form-submissions"))
        and int(r["status"]) == 200
    )
    missing, copies = change_writes(sandbox, changes)
    for r in demo.runs:
        print(
            f"  forms-issues  {r['mode']:<12} records {r['records']:>6}  repeated {r['repeated']:>4}  "
            f"caught up {r['caughtUp']!s:<5}  write-back {r['writeBack']['ran']!s:<5}  {r['seconds']:.2f} s"
        )
    return Report("forms-issues", len(demo.runs), delivered, writes, lost + missing, duplicated + copies)


def messages(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """messages over the whole simulated history, sending three FMC messages (one to two drivers) in
    the same run, then a rerun: every message up to the run delivered once, each FMC message sent once
    (the FMC's sends and the drivers' replies come after the run's windows, which follow the wall clock:
    see ``idling``)."""
    demo = Demo(workdir, sandbox.url, name="messages")
    demo.init(
        zip_path,
        {"lookbackHours": lookback_hours(sandbox), "maxAgeHours": "2160", "windowHours": "168"},
        {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN},
    )
    drivers = some_drivers(sandbox, 3)
    texts = {
        "Your 7 am load moved to door 3": drivers[:1],
        "Fuel card limit raised for this week": drivers[1:3],
        "Please call the shop about your inspection": drivers[2:3],
    }
    changes = [fmc_change(sandbox, "message.sent", {"driverIds": ids, "text": t}) for t, ids in texts.items()]
    sent_at = int(
        dt.datetime.fromisoformat(
            sandbox.admin("/__sandbox/clock/advance", {"seconds": 0})["now"].replace("Z", "+00:00")
        ).timestamp()
        * 1000
    )
    demo.run("manual")
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 3600})
    again = demo.run("schedule")
    [path] = demo.storage().glob("state/*/messages/messages.json")
    state = json.loads(path.read_text())["state"]
    lo = int(dt.datetime.fromisoformat(state["first"].replace("Z", "+00:00")).timestamp() * 1000)
    body = api_get(
        sandbox.url, TOKEN, "/v1/fleet/messages", {"endMs": str(sent_at), "durationMs": str(sent_at - lo)}
    )
    truth = {
        f"{m['driverId']}:{m['sentAtMs']}:{m['sender']['type']}"
        for m in body["data"]
        if lo <= m["sentAtMs"] and m["text"] not in texts
    }
    held = {str(r["id"]).rsplit(":", 1)[0] for r in sandbox.fmc_records("driver_messages")}
    summary = sandbox.fmc_summary("driver_messages")
    log = sandbox.admin("/__sandbox/requests?since=0")["requests"]
    posts = sum(
        1 for r in log if (r["method"], r["path"]) == ("POST", "/v1/fleet/messages") and r["status"] == 200
    )
    missing, copies = change_writes(sandbox, changes)
    duplicated = int(summary["duplicates"]) + len(held - truth) + int(again["records"]) + copies
    for r in demo.runs:
        print(
            f"  messages {r['mode']:<10} records {r['records']:>6}  repeated {r['repeated']:>4}  "
            f"caught up {r['caughtUp']!s:<5}  write-back {r['writeBack']['ran']!s:<5}  {r['seconds']:.2f} s"
        )
    return Report("messages", len(demo.runs), len(held), posts, len(truth - held) + missing, duplicated)


def ifta(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """ifta on a sandbox of its own whose history ends now (the Function counts its periods from the
    wall clock): every closed month and quarter of the last three months delivered once; then, once
    the sandbox's late fuel purchase is known, only the records it changed again (same ids); a rerun
    delivers nothing. The held jurisdiction records equal a fresh read of the sandbox's truth, and each
    quarter's return CSV adds up to its lines."""
    from samsara_fmc.integrations.ifta import due_periods

    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    vehicles = int(sandbox.admin("/__sandbox/health")["vehicles"])
    own = Sandbox.start(vehicles=vehicles, start=now.isoformat(), days=130)
    try:
        demo = Demo(workdir, own.url, name="ifta")
        demo.init(zip_path, {"monthsBack": "3"}, {"FMC_URL": own.url, "FMC_TOKEN": FMC_TOKEN})
        demo.run("manual")
        late = own.admin("/__sandbox/truth/ifta?year=2026&quarter=Q1")["data"]["latePurchase"]
        own.admin("/__sandbox/clock/advance", {"seconds": 24 * 3600})
        changed = demo.run("schedule")
        again = demo.run("api")
        periods = due_periods(now, 3, dt.timedelta(hours=72))
        held = {str(r["id"]): r["record"] for r in own.fmc_records("ifta_jurisdictions")}
        lost = 0
        for p in periods:
            query = "&".join(f"{k}={v}" for k, v in p.query().items())
            for x in own.admin(f"/__sandbox/truth/ifta?{query}")["data"]["lines"]:
                r = held.pop(f"{p.key}:{x['fuelType']}:{x['jurisdiction']}", None)
                want = (x["totalMeters"], x["taxableMeters"], x["taxPaidLiters"])
                if (x["totalMeters"] or x["taxPaidLiters"]) and (
                    r is None or (r["totalMeters"], r["taxableMeters"], r["taxPaidLitersReported"]) != want
                ):
                    lost += 1
        returns = {str(r["id"]): r["record"] for r in own.fmc_records("ifta_returns")}
        for p in (p for p in periods if p.quarter):
            ret = returns.pop(p.key, None)
            lost += ret is None or not csv_adds_up(str(ret["csv"]))
        summaries = [own.fmc_summary(s) for s in ("ifta_jurisdictions", "ifta_vehicles", "ifta_returns")]
        duplicated = sum(int(s["duplicates"]) for s in summaries) + len(held) + len(returns)
        duplicated += int(again["records"])
        print(
            f"  ifta: periods {[p.key for p in periods]}, late purchase {late and late['purchasedAt']}:"
            f" {changed['records']} records changed and delivered again, rerun {again['records']}"
        )
        delivered = sum(int(s["records"]) for s in summaries)
        return Report("ifta", len(demo.runs), delivered, 0, lost, duplicated)
    finally:
        own.stop()


def csv_adds_up(text: str) -> bool:
    """Whether each ``TOTAL`` line of an IFTA return CSV is the sum of its fuel type's lines."""
    import csv
    import io
    from decimal import Decimal

    rows = list(csv.DictReader(io.StringIO(text)))
    columns = [c for c in (rows[0] if rows else {}) if c not in ("Fuel Type", "Jurisdiction", "Fleet MPG")]
    for total in (r for r in rows if r["Jurisdiction"] == "TOTAL"):
        lines = [r for r in rows if r["Fuel Type"] == total["Fuel Type"] and r["Jurisdiction"] != "TOTAL"]
        for c in columns:
            if total[c] and sum(Decimal(r[c]) for r in lines) != Decimal(total[c]):
                return False
    return bool(rows)


def vehicle_sync(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """vehicle-sync: a dry run (nothing written), the run that links both sides, an FMC change to a
    unit name and plate applied once, and a run that plans nothing; checked against the sandbox's truth
    and request log."""
    demo = Demo(workdir, sandbox.url, name="vehicle-sync")
    demo.init(zip_path, {}, {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN})
    override = workdir / "dry.json"
    override.write_text(json.dumps({"dryRun": "true"}))
    dry = demo.run("manual", "--parametersOverride", str(override))

    def vehicle_patches() -> list[dict[str, Any]]:
        log = sandbox.admin("/__sandbox/requests?since=0")["requests"]
        return [
            r
            for r in log
            if r["method"] == "PATCH"
            and r["path"].startswith("/fleet/vehicles/")
            and r["path"] != "/fleet/vehicles/0"
        ]

    if vehicle_patches() or sandbox.fmc_records("vehicle_links"):
        raise SystemExit("vehicle-sync's dry run wrote something")
    first = demo.run("manual")
    vehicles = {str(v["id"]): v for v in api_get(sandbox.url, TOKEN, "/fleet/vehicles", {})["data"]}
    in_samsara = {(i, v["externalIds"]["fmcId"]) for i, v in vehicles.items() if "fmcId" in v["externalIds"]}
    links = {str(r["id"]): r["record"] for r in sandbox.fmc_records("vehicle_links")}
    at_fmc = {(r["samsaraId"], f) for f, r in links.items() if r["status"] == "linked"}
    if first["sync"]["applied"] != dry["sync"]["planned"].get("link"):
        raise SystemExit(f"the dry run planned {dry['sync']['planned']}, the run applied {first['sync']}")
    _, fid = sorted(in_samsara)[0]
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 60})
    change = {"fmcId": fid, "unitNumber": "UNIT 4242", "licensePlate": "FMC-4242"}
    cid = sandbox.admin("/__sandbox/fmc/changes", {"type": "vehicle.updated", "data": change})["id"]
    demo.run("schedule")
    quiet = demo.run("api")
    truth = sandbox.admin("/__sandbox/truth/vehicles")["data"]["pairs"]
    true = {(str(p["samsaraId"]), str(p["fmcId"])) for p in truth if p["expect"] == "link"}
    reviewed = {
        str(r["record"]["recordId"])
        for r in sandbox.fmc_records("sync_reports")
        if r["record"]["status"] == "review"
    }
    missed = {(s, f) for s, f in true - in_samsara if s not in reviewed and f not in reviewed}
    applied = {c["id"]: c["applied"] for c in sandbox.admin("/__sandbox/fmc/changes")["data"]}
    writes: dict[str, int] = {}
    for r in vehicle_patches():
        if int(r["status"]) == 200:
            writes[r["path"]] = writes.get(r["path"], 0) + 1
    expected = len(in_samsara) + 1  # a link each, and the one update
    lost = len(missed) + len(in_samsara ^ at_fmc) + (0 if applied.get(cid) else 1)
    duplicated = sum(writes.values()) - expected + len(in_samsara - true) + len(quiet["sync"]["planned"])
    for r in demo.runs:
        sync = r["sync"]
        print(
            f"  vehicle-sync  {r['mode']:<12} planned {sync['planned']}  applied {sync['applied']}  "
            f"dry run {sync['dryRun']!s:<5}  {r['seconds']:.2f} s"
        )
    print(
        f"  vehicle-sync  linked {len(in_samsara)} of {len(true)} true pairs (the rest in review: "
        f"{len(true - in_samsara) - len(missed)}), reports {first['sync']['reports']}"
    )
    return Report("vehicle-sync", len(demo.runs), len(links), sum(writes.values()), lost, duplicated)


def driver_sync(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """driver-sync: a dry run (nothing written), the run that links the roster to Samsara's drivers and
    creates the FMC drivers nothing matches (the feed's new hires), an FMC change to a name and a
    termination applied once, and a run that plans nothing; checked against the sandbox's truth and
    request log (no second driver for anyone)."""
    demo = Demo(workdir, sandbox.url, name="driver-sync")
    demo.init(zip_path, {}, {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN})

    def all_drivers() -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for status in ("active", "deactivated"):
            page = api_get(sandbox.url, TOKEN, "/fleet/drivers", {"driverActivationStatus": status})
            out |= {str(d["id"]): d for d in page["data"]}
        return out

    def driver_writes() -> list[dict[str, Any]]:
        log = sandbox.admin("/__sandbox/requests?since=0")["requests"]
        return [
            r
            for r in log
            if r["method"] in ("POST", "PATCH")
            and r["path"].startswith("/fleet/drivers")
            and r["path"] != "/fleet/drivers/0"
        ]

    before = all_drivers()
    override = workdir / "dry.json"
    override.write_text(json.dumps({"dryRun": "true"}))
    dry = demo.run("manual", "--parametersOverride", str(override))
    if driver_writes() or sandbox.fmc_records("driver_links"):
        raise SystemExit("driver-sync's dry run wrote something")
    first = demo.run("manual")
    if first["sync"]["planned"] != dry["sync"]["planned"]:
        raise SystemExit(f"the dry run planned {dry['sync']['planned']}, the run {first['sync']['planned']}")
    now = all_drivers()
    linked = {d["externalIds"]["fmcId"]: i for i, d in now.items() if "fmcId" in (d.get("externalIds") or {})}
    fid, _ = sorted((f, s) for f, s in linked.items() if s in before)[0]
    gone_f, gone_s = sorted((f, s) for f, s in linked.items() if s in before)[1]
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 60})
    changes = [
        sandbox.admin("/__sandbox/fmc/changes", {"type": t, "data": d})["id"]
        for t, d in (
            ("driver.updated", {"fmcId": fid, "name": "Alexis Renamed"}),
            ("driver.deactivated", {"fmcId": gone_f}),
        )
    ]
    demo.run("schedule")
    quiet = demo.run("api")
    after = all_drivers()
    truth = sandbox.admin("/__sandbox/truth/drivers")["data"]["pairs"]
    true = {str(p["fmcId"]): str(p["samsaraId"]) for p in truth if p["expect"] == "link"}
    roster = {str(r["id"]): r for r in sandbox.fmc("/fmc/v1/drivers")["data"]}
    reviewed = {
        str(r["record"]["recordId"])
        for r in sandbox.fmc_records("sync_reports")
        if r["record"]["status"] == "review"
    }
    links = {str(r["id"]): r["record"] for r in sandbox.fmc_records("driver_links")}
    at_fmc = {r["fmcId"]: s for s, r in links.items() if r["status"] == "linked"}
    missed = {
        f
        for f, s in true.items()
        if roster.get(f, {}).get("status") == "active"
        and linked.get(f) != s
        and f not in reviewed
        and s not in reviewed
    }
    false_links = {f for f, s in linked.items() if s in before and true.get(f) != s}
    applied = {c["id"]: c["applied"] for c in sandbox.admin("/__sandbox/fmc/changes")["data"]}
    made = {f for f, s in linked.items() if s not in before}
    posts = [r for r in driver_writes() if r["method"] == "POST" and int(r["status"]) == 200]
    patches: dict[str, int] = {}
    for r in driver_writes():
        if r["method"] == "PATCH" and int(r["status"]) == 200:
            patches[r["path"]] = patches.get(r["path"], 0) + 1
    # A link each, the first run's deactivations (the roster's leavers), the update and the termination.
    expected = len(linked) - len(made) + first["sync"]["planned"].get("deactivate", 0) + 2
    lost = len(missed) + (0 if at_fmc == linked else 1) + sum(0 if applied.get(c) else 1 for c in changes)
    lost += 0 if after[gone_s]["driverActivationStatus"] == "deactivated" else 1
    duplicated = (
        len(posts)
        - len(made)
        + len(after)
        - len(before)
        - len(made)
        + sum(patches.values())
        - expected
        + len(false_links)
        + len(quiet["sync"]["planned"])
    )
    for r in demo.runs:
        sync = r["sync"]
        print(
            f"  driver-sync   {r['mode']:<12} planned {sync['planned']}  applied {sync['applied']}  "
            f"dry run {sync['dryRun']!s:<5}  {r['seconds']:.2f} s"
        )
    print(
        f"  driver-sync   linked {len(linked) - len(made)} of {len(true)} true pairs, created {len(made)}, "
        f"reports {first['sync']['reports']}"
    )
    return Report(
        "driver-sync", len(demo.runs), len(links), len(posts) + sum(patches.values()), lost, duplicated
    )


def tag_sync(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """tag-sync (after vehicle-sync linked the vehicles): the FMC's organisation linked to the tag tree,
    its missing business units created once, a rename applied, then a run that plans nothing."""
    demo = Demo(workdir, sandbox.url, name="tag-sync")
    demo.init(zip_path, {}, {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN})
    demo.run("manual")
    fmc = {t["id"]: t for t in sandbox.fmc("/fmc/v1/tags")["data"]}
    cc = next(f for f, t in fmc.items() if t["kind"] == "costCentre")
    sandbox.admin("/__sandbox/clock/advance", {"seconds": 60})
    sandbox.admin(
        "/__sandbox/fmc/changes", {"type": "tag.updated", "data": {"fmcId": cc, "name": "CC-9000 Renamed"}}
    )
    demo.run("schedule")
    quiet = demo.run("api")
    fmc = {t["id"]: t for t in sandbox.fmc("/fmc/v1/tags")["data"]}
    tags = api_get(sandbox.url, TOKEN, "/tags", {})["data"]
    by_fmc = {t["externalIds"]["fmcTagId"]: t for t in tags if "fmcTagId" in (t.get("externalIds") or {})}
    log = sandbox.admin("/__sandbox/requests?since=0")["requests"]
    writes = [r for r in log if r["method"] in ("POST", "PATCH") and r["path"].startswith("/tags")]
    writes = [r for r in writes if r["path"] != "/tags/0" and int(r["status"]) == 200]
    creates = sum(1 for r in writes if r["method"] == "POST")
    units = sum(1 for t in fmc.values() if t["kind"] == "businessUnit")
    names = [t["name"] for t in tags]
    lost = len(set(fmc) - set(by_fmc)) + sum(1 for f, t in by_fmc.items() if t["name"] != fmc[f]["name"])
    duplicated = (creates - units) + (len(names) - len(set(names))) + len(quiet["sync"]["planned"])
    for r in demo.runs:
        sync = r["sync"]
        print(
            f"  tag-sync      {r['mode']:<12} planned {sync['planned']}  applied {sync['applied']}  "
            f"{r['seconds']:.2f} s"
        )
    links = sandbox.fmc_records("tag_links")
    return Report("tag-sync", len(demo.runs), len(links), len(writes), lost, duplicated)


def assignment_sync(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """assignment-sync on a sandbox of its own whose clock starts at the wall clock (the Function's
    windows follow the wall clock): the assignment history delivered; then the FMC, the source of truth,
    assigns two drivers to vehicles it names by its own IDs and ends one of them, applied once each; the
    next run delivers them back with both sides' IDs; a last run writes and delivers nothing. The held
    windows equal a fresh read (ends included) and nothing is delivered twice unchanged."""
    from samsara_fmc.integrations.assignment_sync import PATH, to_record

    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    vehicles = int(sandbox.admin("/__sandbox/health")["vehicles"])
    own = Sandbox.start(vehicles=vehicles, start=now.isoformat(), days=2)
    try:
        ids = [str(v["id"]) for v in api_get(own.url, TOKEN, "/fleet/vehicles", {"limit": "3"})["data"]]
        for i, v in enumerate(ids):  # as vehicle-sync links them
            req = urllib.request.Request(
                f"{own.url}/fleet/vehicles/{v}",
                data=json.dumps({"externalIds": {"fmcId": f"UNIT-{i}"}}).encode(),
                headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
                method="PATCH",
            )
            urllib.request.urlopen(req, timeout=10).close()
        drivers = [str(d["id"]) for d in api_get(own.url, TOKEN, "/fleet/drivers", {"limit": "2"})["data"]]
        demo = Demo(workdir, own.url, name="assignment-sync")
        demo.init(
            zip_path,
            {"lookbackHours": "30", "settleMinutes": "0", "writeBack": "true"},
            {"FMC_URL": own.url, "FMC_TOKEN": FMC_TOKEN},
        )
        demo.run("manual")
        at = dt.datetime.fromisoformat(own.admin("/__sandbox/clock/advance", {"seconds": 0})["now"])
        t = {
            h: (at - dt.timedelta(minutes=m)).isoformat().replace("+00:00", "Z")
            for h, m in ((1, 90), (2, 30))
        }
        shift = {"fmcVehicleId": "UNIT-0", "driverId": drivers[0], "startTime": t[1]}
        changes = [
            fmc_change(own, "assignment.created", shift),
            fmc_change(
                own,
                "assignment.created",
                {"fmcVehicleId": "UNIT-1", "driverId": drivers[1], "startTime": t[1], "endTime": t[2]},
            ),
            fmc_change(own, "assignment.ended", {**shift, "endTime": t[2]}),
        ]
        demo.run("schedule")
        own.admin("/__sandbox/clock/advance", {"seconds": 900})
        demo.run("api")
        quiet = demo.run("schedule")
        [path] = demo.storage().glob("state/*/assignment-sync/assignments.json")
        state = json.loads(path.read_text())["state"]
        query = {"filterBy": "vehicles", "startTime": state["first"], "endTime": state["mark"]}
        truth = {r["id"]: r for r in (to_record(x) for x in stream_truth(own.url, PATH, query))}
        held = {str(r["id"]): r["record"] for r in own.fmc_records("driver_vehicle_assignments")}
        lost = sum(1 for k, r in truth.items() if held.get(k) != r)
        mine = [r for r in held.values() if r["sourceName"] == "samsara-fmc" and r["fmcVehicleId"]]
        lost += 2 - len(mine)
        log = own.admin("/__sandbox/requests?since=0")["requests"]
        writes = sum(
            1 for r in log if r["path"] == PATH and r["method"] in ("POST", "PATCH") and r["status"] == 200
        )
        missing, copies = change_writes(own, changes)
        summary = own.fmc_summary("driver_vehicle_assignments")
        duplicated = int(summary["duplicates"]) + len(set(held) - set(truth)) + int(quiet["records"]) + copies
        for r in demo.runs:
            print(
                f"  assignments {r['mode']:<10} records {r['records']:>5}  repeated {r['repeated']:>4}  "
                f"caught up {r['caughtUp']!s:<5}  write-back {r['writeBack']['ran']!s:<5}  "
                f"{r['seconds']:.2f} s"
            )
        return Report("assignment-sync", len(demo.runs), len(held), writes, lost + missing, duplicated)
    finally:
        own.stop()


def vehicle_maintenance(workdir: Path, sandbox: Sandbox, zip_path: Path) -> Report:
    """vehicle-maintenance from the latest values, then an hour and ten minutes on: every engine-state
    transition the stats history shows after the first run at the FMC endpoint once, and no fault,
    alert, transition or day delivered twice."""
    demo = Demo(workdir, sandbox.url, name="vehicle-maintenance")
    demo.init(
        zip_path,
        {"timeZone": "America/Chicago", "faultDebounceMinutes": "0"},
        {"FMC_URL": sandbox.url, "FMC_TOKEN": FMC_TOKEN},
    )
    start = str(sandbox.admin("/__sandbox/clock")["now"])
    stream_runs(demo, sandbox)
    end = str(sandbox.admin("/__sandbox/clock")["now"])
    query = {"types": "engineStates", "startTime": "2000-01-01T00:00:00Z", "endTime": end}
    truth = set()
    for v in stream_truth(sandbox.url, "/fleet/vehicles/stats/history", query):
        pts = sorted(v.get("engineStates") or (), key=lambda p: dt.datetime.fromisoformat(p["time"]))
        for a, b in itertools.pairwise(pts):
            after = dt.datetime.fromisoformat(b["time"]) > dt.datetime.fromisoformat(start)
            if a["value"] != b["value"] and after:
                truth.add((str(v["id"]), dt.datetime.fromisoformat(b["time"]), b["value"]))
    held = {
        (str(r["record"]["vehicleId"]), dt.datetime.fromisoformat(r["record"]["time"]), r["record"]["state"])
        for r in sandbox.fmc_records("engine_state_transitions")
    }
    streams = ("vehicle_faults", "vehicle_alerts", "engine_state_transitions", "vehicle_days")
    duplicated = sum(int(sandbox.fmc_summary(s)["duplicates"]) for s in streams) + len(held - truth)
    faults = len(sandbox.fmc_records("vehicle_faults"))
    print(f"  vehicle-maintenance: {len(held)} transitions, {faults} faults")
    return Report("vehicle-maintenance", len(demo.runs), len(held), 0, len(truth - held), duplicated)


SCENARIOS: dict[str, Callable[[Path, Sandbox, Path], Report]] = {
    "vehicle-stats": vehicle_stats,
    "vehicle-locations": vehicle_locations,
    "vehicle-maintenance": vehicle_maintenance,  # early: each scenario moves the clock on (~70 min)
    "safety-events": safety_events,
    "speeding-intervals": speeding_intervals,
    "dvir-defects": dvir_defects,
    "trips": trips,
    "idling": idling,
    "forms-issues": forms_issues,
    "messages": messages,
    "ifta": ifta,
    "vehicle-sync": vehicle_sync,
    "tag-sync": tag_sync,
    "driver-sync": driver_sync,
    "assignment-sync": assignment_sync,
    "camera-media": camera_media,  # last: it moves the sandbox's clock up to the wall clock
}
"""How the demo exercises each Function (every folder under functions/ must have one)."""


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
    args = parser.parse_args()
    names = sorted(p.parent.name for p in (ROOT / "functions").glob("*/function.json"))
    missing = [n for n in names if n not in SCENARIOS]
    if missing:
        raise SystemExit(f"no demo scenario for {missing}: add one to SCENARIOS in scripts/demo.py")
    # In the order of SCENARIOS: vehicle-stats first, while the sandbox's clock is in the working day.
    names = [n for n in SCENARIOS if n in names]
    sandbox = Sandbox.start(vehicles=args.vehicles)
    reports = []
    try:
        for name in names:
            zip_path = ROOT / "dist" / f"{name}.zip"
            if not zip_path.exists():
                raise SystemExit(f"`{zip_path}` is missing: run `make bundle`")
            reports.append(SCENARIOS[name](Path(args.workdir) / name, sandbox, zip_path))
    finally:
        sandbox.stop()
    print(f"\nFunctions under samsara-fn, sandbox of {args.vehicles} vehicles, FMC endpoint:")
    print(HEADER)
    for r in reports:
        print(r.row())
    bad = [r.name for r in reports if r.lost or r.duplicated]
    if bad:
        print(f"LOST OR DUPLICATED records in {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
