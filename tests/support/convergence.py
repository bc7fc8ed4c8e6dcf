"""The convergence harness: a Function run against the sandbox under seeded trouble until caught up,
then what the FMC side holds compared with the sandbox's ground truth.

A schedule is a seed and a :class:`Subject` (which Function, its parameters, where faults go, what its
truth is). From the seed come: fault rules on the Samsara side (429 with fractional ``Retry-After``,
5xx, connection resets, truncated bodies, empty pages with a next page, repeated records, slow
answers) and, when the sink is the FMC endpoint, on the FMC side (429, 5xx, ``fail_after_commit``,
resets); and a sequence of invocations, each one of: a plain run, a run killed with SIGKILL at a
random moment and then retried as the platform would (same correlation ID), a run with a budget of a
fraction of a second (a deadline stop), and two overlapping runs. A subject may act between steps
(the FMC reports repairs, time passes for media to upload). Faults are then cleared and the Function
is run until it reports itself caught up (and, for jobs, nothing pending). The harness then counts,
against the truth: records lost, records delivered more than once, records that should not be there;
for write-back, changes applied more than once or without an outcome delivered back; for media,
retrievals that did not end in a record; and media URLs anywhere a run wrote (logs, state, storage,
summaries, the FMC's records).

Runs are subprocesses (``python -m samsara_fmc.cli run``, or :mod:`tests.support.simclock` for the
Functions that count from "now": they then count from the sandbox's simulated clock), so a kill is a
real ``kill -9``.

``python -m tests.support.convergence --function dvir-defects --schedules 50`` runs many.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samsara_fmc.engine.runner import LEASE_GRACE_S
from scripts.demo import history_ids, latest_ids, reading_ids
from tests.support.sandbox import SandboxProcess, start_sandbox

ROOT = Path(__file__).resolve().parents[2]
TYPES = ["gps", "engineStates", "obdOdometerMeters", "fuelPercents"]
READINGS = ["tirePressuresFrontLeft"]
"""Tire pressures come from the Readings API feed, on streams of their own."""
FMC_TOKEN = "fmc-harness-token"
MEDIA_MARK = "/__sandbox/media/"
"""What every sandbox media URL contains: found anywhere a run wrote, it is a leak."""
MECHANIC = "7100"


@dataclass
class Outcome:
    """What one schedule ended with."""

    seed: int
    function: str = "vehicle-stats"
    truth: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    invocations: int = 0
    kills: int = 0
    deadline_stops: int = 0
    busy: int = 0
    writes: int = 0
    """Writes to Samsara the truth expects (changes applied, retrievals requested)."""
    twice: int = 0
    """Writes applied more than once, or changes/retrievals without their outcome delivered back."""
    leaks: int = 0
    """Media URLs found in what the runs wrote."""
    orphans: int = 0
    """Camera media retrievals a killed run requested but never saved that uploaded nothing (their
    items requested again after the wait)."""
    adopted: int = 0
    """Camera media retrievals a killed run requested but never saved, finished from the uploaded media."""
    unhandled: list[str] = field(default_factory=list)
    caught_up: bool = False

    @property
    def bad(self) -> bool:
        return bool(
            self.lost
            or self.duplicated
            or self.unexpected
            or self.twice
            or self.leaks
            or self.orphans > self.kills
            or self.unhandled
            or not self.caught_up
        )

    def row(self) -> str:
        return (
            f"{self.seed:>5} {self.truth:>7} {self.lost:>5} {self.duplicated:>5} {self.unexpected:>5} "
            f"{self.writes:>4} {self.twice:>4} {self.leaks:>4} {self.orphans:>4} {self.adopted:>4} "
            f"{self.invocations:>4} {self.kills:>3} {self.deadline_stops:>3} {self.busy:>3} "
            f"{len(self.unhandled):>3}"
        )


LEASE_WAIT_S = 60.0 + LEASE_GRACE_S + 10.0
"""How long the final runs wait for a lease a killed run left (its budget, 60 s, and the grace)."""

HEADER = "seed   truth  lost   dup extra writ 2x/- leak orph adop runs kil ddl bsy err"


def _get(url: str, token: str | None, path: str, params: dict[str, str] | None = None) -> Any:
    import urllib.parse
    import urllib.request

    query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
    req = urllib.request.Request(f"{url}{path}{query}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read() or b"null")


def stream_latest(h: Harness, path: str, params: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every object of a ``/…/stream`` endpoint from ``params``' ``startTime``, read afresh without
    faults: each object's newest version by ``id``."""
    out: dict[str, dict[str, Any]] = {}
    after = ""
    while True:
        body = _get(h.sandbox.url, h.sandbox.token, path, {**params, **({"after": after} if after else {})})
        for item in body["data"]:
            out[str(item.get("id") or len(out))] = dict(item)
        after = body["pagination"]["endCursor"]
        if not body["pagination"]["hasNextPage"]:
            return out


# ---- what a Function is checked against ---------------------------------------------------------------

Rule = dict[str, Any]
Kinds = tuple[str, ...]
_ALL: Kinds = ("429", "5xx", "reset", "truncate", "empty_page", "repeat_records", "slow")


def _rule(r: random.Random, path: str, kind: str, method: str | None = None) -> Rule:
    base: Rule = {"path": path, **({"method": method} if method else {})}
    if kind == "429":
        return {
            **base,
            "kind": "status",
            "status": 429,
            "retryAfter": f"{r.uniform(0.01, 0.2):.5f}",
            "times": r.randint(1, 4),
        }
    if kind == "5xx":
        return {**base, "kind": "status", "status": r.choice([500, 502, 503]), "times": r.randint(1, 3)}
    if kind == "fail_after_commit":
        return {**base, "kind": "fail_after_commit", "status": 503, "times": r.randint(1, 3)}
    if kind == "slow":
        return {**base, "kind": "slow", "delayMs": r.randint(100, 600), "times": r.randint(1, 2)}
    if kind in ("empty_page", "repeat_records"):
        return {**base, "kind": kind, "times": r.randint(1, 4)}
    return {**base, "kind": kind, "times": r.randint(1, 2)}


class Subject:
    """One Function under the harness: its parameters, where faults go, and its truth."""

    function = "vehicle-stats"
    clocked = False
    """Runs count from the sandbox's simulated clock (:mod:`tests.support.simclock`)."""
    samsara: tuple[tuple[str, str | None, Kinds], ...] = ()
    """Fault targets on the Samsara side: (path, method or None, kinds)."""
    fmc: tuple[tuple[str, str | None, Kinds], ...] = (
        ("/fmc/v1/streams/{stream}/records", None, ("429", "5xx", "fail_after_commit", "reset")),
    )
    steps = (60, 600)
    """Simulated seconds between schedule steps."""
    final_runs = 6
    storage = True
    """The Function can deliver to storage (the harness then uses it for one seed in four); a
    Function that reads the FMC's lists from its endpoint cannot."""

    def sandbox_args(self, seed: int) -> tuple[str, ...]:
        return (
            "--seed",
            str(seed % 97 + 1),
            "--vehicles",
            "6",
            "--drivers",
            "6",
            "--days",
            "1",
            "--start",
            "2026-11-02T15:00:00Z",
            "--rate-limits",
            "off",
        )

    def params(self, h: Harness) -> dict[str, str]:
        return {}

    def prepare(self, h: Harness) -> None:
        """Before the first run (no faults yet)."""

    def begin(self, h: Harness) -> None:
        """After the first run, before the faults."""

    def step(self, h: Harness) -> None:
        """Before each step's invocation (faults are on)."""

    def settle(self, h: Harness) -> None:
        """Before each of the final runs (faults are off)."""

    def finished(self, h: Harness, summary: dict[str, Any]) -> bool:
        return True

    def check(self, h: Harness) -> None:
        raise NotImplementedError


class VehicleStats(Subject):
    """vehicle-stats: the latest values at the first run, then every point since, once each."""

    samsara = (
        ("/fleet/vehicles/stats/feed", None, _ALL),
        ("/readings/history", None, _ALL),
        ("/me", None, ("5xx",)),
    )

    def params(self, h: Harness) -> dict[str, str]:
        return {"types": ",".join(TYPES), "units": "imperial", "readings": ",".join(READINGS)}

    def begin(self, h: Harness) -> None:
        url, token = h.sandbox.url, h.sandbox.token
        self.truth = latest_ids(url, token, TYPES) | reading_ids(url, token, READINGS, None, None)
        self.start = h.sandbox.advance(0)

    def check(self, h: Harness) -> None:
        end = h.sandbox.advance(0)
        url, token = h.sandbox.url, h.sandbox.token
        truth = self.truth | history_ids(url, token, TYPES, self.start, end)
        truth |= reading_ids(url, token, READINGS, self.start, end)
        # The combined odometer: one reading per OBD point (every sandbox vehicle has an OBD odometer).
        truth |= {i.replace(":obdOdometerMeters:", ":odometer:") for i in truth if ":obdOdometerMeters:" in i}
        held, again = set(), 0
        for stream in ("vehicle_stats", "odometer_readings"):
            if h.sink == "fmc":
                held |= {str(r["id"]) for r in h.sandbox.fmc_records(stream)}
                summary = h.sandbox.fmc_summary(stream)
                again += int(summary["updates"]) + int(summary["duplicates"])
            else:
                versions = h.stored(stream)
                held |= set(versions)
                again += sum(len(v) - 1 for v in versions.values())
        o = h.outcome
        o.truth, o.delivered = len(truth), len(held)
        o.lost, o.unexpected, o.duplicated = len(truth - held), len(held - truth), again


@dataclass(frozen=True)
class StreamTruth:
    """One FMC stream and the ``/…/stream`` endpoint it equals: the FMC holds each object's newest
    version (by ``version``), nothing else, and no identical version twice."""

    stream: str
    path: str
    query: dict[str, str]
    ids: Callable[[dict[str, Any]], dict[str, str]]
    """An API object → {record id: version} (a trip of speeding intervals is several records)."""
    version: Callable[[dict[str, Any]], str]
    """A delivered record → its version."""


def _by_update(item: dict[str, Any]) -> dict[str, str]:
    return {str(item["id"]): str(item.get("updatedAtTime") or "")}


def _record_update(record: dict[str, Any]) -> str:
    return str(record.get("updatedAtTime") or "")


class StreamSubject(Subject):
    """A Function on the ``stream`` driver: what the FMC holds equals a fresh read of the window."""

    truths: tuple[StreamTruth, ...] = ()
    steps = (300, 2400)

    def sandbox_args(self, seed: int) -> tuple[str, ...]:
        args = list(super().sandbox_args(seed))
        args[args.index("--vehicles") + 1] = args[args.index("--drivers") + 1] = "20"
        args[args.index("--days") + 1] = "2"
        return tuple(args)

    def first(self, h: Harness) -> str:
        """The first run's ``startTime``, from the streams' state (``first``)."""
        firsts = []
        for p in (h.storage / "state").glob(f"*/{self.function}/*.json"):
            st = json.loads(p.read_text()).get("state") or {}
            if st.get("first"):
                firsts.append(str(st["first"]))
        if not firsts:
            raise AssertionError(f"no stream state of `{self.function}` under {h.storage}")
        return min(firsts)

    def check(self, h: Harness) -> None:
        o = h.outcome
        start = self.first(h)
        for t in self.truths:
            truth: dict[str, str] = {}
            for item in stream_latest(h, t.path, {**t.query, "startTime": start}).values():
                truth.update(t.ids(item))
            versions = h.stored(t.stream)
            held = {i: t.version(v[-1]) for i, v in versions.items()}
            o.truth += len(truth)
            o.delivered += len(held)
            o.lost += sum(1 for i, v in truth.items() if held.get(i) != v)  # missing, or an older version
            o.unexpected += len(held.keys() - truth.keys())
            o.duplicated += h.identical_again(t.stream, versions)


class SafetyEvents(StreamSubject):
    function = "safety-events"
    clocked = True
    samsara = (("/safety-events/stream", None, _ALL),)
    truths = (
        StreamTruth(
            "safety_events",
            "/safety-events/stream",
            {"queryByTimeField": "updatedAtTime"},
            _by_update,
            _record_update,
        ),
    )

    def params(self, h: Harness) -> dict[str, str]:
        return {"lookbackHours": "36", "units": "imperial"}


class SpeedingIntervals(StreamSubject):
    function = "speeding-intervals"
    clocked = True
    samsara = (("/speeding-intervals/stream", None, _ALL),)
    truths = (
        StreamTruth(
            "speeding_intervals",
            "/speeding-intervals/stream",
            {"queryBy": "updatedAtTime"},
            lambda t: {
                f"{t['asset']['id']}:{t['tripStartTime']}:{i['startTime']}": str(i.get("isDismissed"))
                for i in t["intervals"]
            },
            lambda r: str(r.get("isDismissed")),
        ),
    )

    def params(self, h: Harness) -> dict[str, str]:
        return {"lookbackHours": "36", "units": "metric"}


class DvirDefects(StreamSubject):
    """dvir-defects: defects and inspections equal the window; every ``defect.resolved`` change the
    FMC reports during the schedule is PATCHed once (the request log) and its outcome delivered."""

    function = "dvir-defects"
    clocked = True
    samsara = (
        ("/defects/stream", None, _ALL),
        ("/dvirs/stream", None, _ALL),
        ("/defect-types", None, ("429", "5xx", "reset")),
        ("/fleet/defects/*", "PATCH", ("429", "5xx", "reset")),
        ("/defects/*", "GET", ("429", "5xx")),
    )
    fmc = (
        *Subject.fmc,
        ("/fmc/v1/changes", None, ("429", "5xx", "reset", "empty_page", "repeat_records")),
    )
    truths = (
        StreamTruth(
            "dvir_defects", "/defects/stream", {"includeExternalIds": "true"}, _by_update, _record_update
        ),
        StreamTruth("dvirs", "/dvirs/stream", {"includeExternalIds": "true"}, _by_update, _record_update),
    )

    def params(self, h: Harness) -> dict[str, str]:
        return {"startTime": "2026-11-02T00:00:00Z", "mechanicUserId": MECHANIC}

    def begin(self, h: Harness) -> None:
        open_ = stream_latest(
            h, "/defects/stream", {"startTime": "2026-11-02T00:00:00Z", "isResolved": "false"}
        )
        self.open = sorted(i for i, d in open_.items() if not d.get("isResolved"))
        h.rng.shuffle(self.open)
        self.changes: dict[str, str] = {}  # change id -> defect id
        if h.sink == "fmc":  # one for a defect Samsara does not know: rejected, delivered back
            self._script(h, "999999999")
            for _ in range(min(2, len(self.open))):  # and repairs waiting when the trouble starts
                self._script(h, self.open.pop())

    def _script(self, h: Harness, defect: str) -> None:
        body = {"type": "defect.resolved", "data": {"defectId": defect, "mechanicNotes": f"Fixed {defect}"}}
        change = h.sandbox.admin("POST", "/__sandbox/fmc/changes", body)
        self.changes[str(change["id"])] = defect

    def finished(self, h: Harness, summary: dict[str, Any]) -> bool:
        """A run that resolved defects changed them in Samsara: the next run reads the new versions."""
        return not any(
            s["records"] for s in summary.get("streams") or [] if str(s["stream"]).startswith("ledger")
        )

    def step(self, h: Harness) -> None:
        if h.sink == "fmc" and self.open and h.rng.random() < 0.7:
            self._script(h, self.open.pop())

    def check(self, h: Harness) -> None:
        super().check(h)
        if h.sink != "fmc":
            return
        o = h.outcome
        patched: Counter[str] = Counter()
        for r in h.sandbox.requests():
            path = str(r["path"])
            if r["method"] == "PATCH" and path.startswith("/fleet/defects/") and int(r["status"]) == 200:
                patched[path.rsplit("/", 1)[1]] += 1
        outcomes = {str(r["id"]): r["record"] for r in h.sandbox.fmc_records("write_outcomes")}
        applied = {str(c["id"]): bool(c["applied"]) for c in h.sandbox.get("/__sandbox/fmc/changes")["data"]}
        for change, defect in self.changes.items():
            out = outcomes.get(change)
            known = defect != "999999999"
            o.writes += known
            if out is None:
                o.twice += 1  # no outcome delivered back
                continue
            if not known:
                o.twice += out["status"] != "rejected"
                continue
            n = patched[defect]  # "already": resolved in the dashboard first, or by a killed run's PATCH
            once = n == 1 if out["status"] == "applied" else n <= 1
            o.twice += (not applied.get(change)) + (out["status"] not in ("applied", "already")) + (not once)
        o.twice += sum(n - 1 for n in patched.values() if n > 1)


class CameraMedia(Subject):
    """camera-media: one retrieval per safety event of the window, each ended in one record (the
    files at the sink with the record's SHA-256, or an explicit failure), as the sandbox ended it."""

    function = "camera-media"
    clocked = True
    samsara = (
        ("/safety-events/stream", None, _ALL),
        # A POST whose answer is lost (a reset) may have created the retrieval: Samsara has no
        # idempotency key for it, so only refusals (not applied) are injected there.
        ("/cameras/media/retrieval", "POST", ("429", "5xx")),
        ("/cameras/media/retrieval", "GET", ("429", "5xx", "reset", "truncate", "slow")),
    )
    fmc = (
        *Subject.fmc,
        ("/fmc/v1/streams/{stream}/files/{name}", None, ("429", "5xx", "fail_after_commit", "reset")),
    )
    steps = (30, 600)

    def sandbox_args(self, seed: int) -> tuple[str, ...]:
        args = list(super().sandbox_args(seed))
        args[args.index("--vehicles") + 1] = args[args.index("--drivers") + 1] = "20"
        return tuple(args)

    def params(self, h: Harness) -> dict[str, str]:
        return {"lookbackHours": "12", "inputs": "dashcamRoadFacing,dashcamDriverFacing", "maxWaitHours": "2"}

    def settle(self, h: Harness) -> None:
        # Retrievals end two simulated minutes after their request; an item whose request a killed
        # run sent without saving the retrieval's ID is looked for among uploaded media for 30 min.
        unsaved = any(
            not job.get("job") and job.get("sentAt")
            for p in (h.storage / "state").glob(f"*/{self.function}/*.json")
            for job in ((json.loads(p.read_text()).get("state") or {}).get("pending") or {}).values()
        )
        h.sandbox.advance(31 * 60 if unsaved else 150)

    def finished(self, h: Harness, summary: dict[str, Any]) -> bool:
        return not any(
            (json.loads(p.read_text()).get("state") or {}).get("pending")
            for p in (h.storage / "state").glob(f"*/{self.function}/*.json")
        )

    def check(self, h: Harness) -> None:
        o = h.outcome
        [state] = [
            json.loads(p.read_text())["state"]
            for p in (h.storage / "state").glob(f"*/{self.function}/*.json")
        ]
        first = str(state["events"]["first"])
        events = stream_latest(
            h, "/safety-events/stream", {"startTime": first, "queryByTimeField": "updatedAtTime"}
        )
        wanted = {i for i, e in events.items() if (e.get("asset") or {}).get("id")}
        versions = h.stored("camera_media")
        held = {i: v[-1] for i, v in versions.items()}
        o.truth, o.delivered = len(wanted), len(held)
        o.lost = len(wanted - held.keys())
        o.unexpected = len(held.keys() - wanted)
        o.duplicated = h.identical_again("camera_media", versions) + sum(
            len(v) - 1 for v in versions.values()
        )
        # Every retrieval the sandbox accepted ended in the record of its item, as the sandbox ended it:
        # the record names its retrieval (`retrievalId` when available, the reason when it failed).
        # Two events of a vehicle at the same second are two items with the same request.
        retrievals = h.sandbox.retrievals()
        o.writes = len(retrievals)
        # A retrieval whose answer a killed run never read is never polled (its ID was not saved):
        # the POST has no idempotency key. The next runs find its media among the uploaded media
        # (the record then has no `retrievalId`); only one that uploaded nothing is requested again.
        # Such an orphan is counted apart (at most one per kill); its item still ends in one record.
        adopted = {
            (str(r["vehicleId"]), str(r["startTime"]))
            for r in held.values()
            if r["status"] == "available" and r["retrievalId"] is None
        }
        polled = {
            str(r["query"]).split("retrievalId=", 1)[1].split("&", 1)[0]
            for r in h.sandbox.requests()
            if r["path"] == "/cameras/media/retrieval"
            and r["method"] == "GET"
            and "retrievalId=" in str(r["query"])
        }
        for t in retrievals:
            if str(t["retrievalId"]) not in polled:
                ends = {i["status"] for i in t["inputs"]}
                if (str(t["vehicleId"]), str(t["startTime"])) in adopted:
                    o.adopted += 1
                elif "available" in ends:
                    o.twice += 1  # its media was there to find, yet the item was requested again
                else:
                    o.orphans += 1
                continue
            ends = {i["status"] for i in t["inputs"]}
            want = "available" if "available" in ends else min(ends)
            rid = str(t["retrievalId"])
            named = [
                r for r in held.values() if r["retrievalId"] == rid or f"`{rid}`" in str(r["reason"] or "")
            ]
            if len(named) != 1 or named[0]["status"] != want:
                o.twice += 1
        per_item = Counter(
            (str(t["vehicleId"]), str(t["startTime"])) for t in retrievals if str(t["retrievalId"]) in polled
        )
        items = Counter((str(r["vehicleId"]), str(r["startTime"])) for r in held.values())
        o.twice += sum(max(0, n - items[k]) for k, n in per_item.items())  # an item requested twice
        # The files of each record, with the record's SHA-256, once each.
        for r in held.values():
            for f in r.get("files") or []:
                data = h.file("camera_media", str(f["fileKey"]))
                o.lost += data is None or hashlib.sha256(data).hexdigest() != f["sha256"]
        if h.sink == "fmc":
            o.duplicated += sum(int(f["duplicates"]) for f in h.sandbox.fmc_files("camera_media"))


SUBJECTS: dict[str, Callable[[], Subject]] = {
    "vehicle-stats": VehicleStats,
    "safety-events": SafetyEvents,
    "speeding-intervals": SpeedingIntervals,
    "dvir-defects": DvirDefects,
    "camera-media": CameraMedia,
}


def _elsewhere(module: str, name: str) -> Callable[[], Subject]:
    """A Subject defined in another module of ``tests.support`` (which imports this one)."""

    def make() -> Subject:
        subject: Subject = getattr(importlib.import_module(f"tests.support.{module}"), name)()
        return subject

    return make


SUBJECTS.update(
    {
        function: _elsewhere(module, name)
        for function, module, name in (
            ("assignment-sync", "subjects_assignments", "AssignmentSync"),
            ("vehicle-sync", "subjects_sync", "VehicleSync"),
            ("tag-sync", "subjects_sync", "TagSync"),
            ("driver-sync", "subjects_sync", "DriverSync"),
            ("trips", "subjects_ops", "Trips"),
            ("idling", "subjects_ops", "Idling"),
            ("ifta", "subjects_ops", "Ifta"),
            ("forms-issues", "subjects_ops", "FormsIssues"),
            ("messages", "subjects_ops", "Messages"),
        )
    }
)


# ---- the harness ---------------------------------------------------------------------------------------


class Harness:
    """One schedule of a :class:`Subject` (vehicle-stats unless given) against a fresh sandbox,
    delivering to the sandbox's reference FMC endpoint (``sink="fmc"``) or to storage, a local folder
    (``sink="storage"``)."""

    def __init__(
        self, seed: int, workdir: Path, *, sink: str = "fmc", subject: Subject | None = None
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.workdir = workdir
        self.sink = sink
        self.subject = subject or VehicleStats()
        self.storage = workdir / "storage"
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.sandbox: SandboxProcess = start_sandbox(
            (*self.subject.sandbox_args(seed), "--fmc-token", FMC_TOKEN)
        )
        self.outcome = Outcome(seed=seed, function=self.subject.function)
        self._corr = 0
        self._out = 0

    def close(self) -> None:
        self.sandbox.stop()

    # ---- invocations -------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAMSARA_", "FMC_", "SFTP_"))}
        env.update(
            SAMSARA_API_TOKEN=self.sandbox.token,
            SAMSARA_BASE_URL=self.sandbox.url,
            HARNESS_SANDBOX_URL=self.sandbox.url,
        )
        if self.sink == "fmc":
            env.update(FMC_URL=self.sandbox.url, FMC_TOKEN=FMC_TOKEN)
        return env

    def _cmd(self, correlation: str, budget: float) -> list[str]:
        module = "tests.support.simclock" if self.subject.clocked else "samsara_fmc.cli"
        params = [a for k, v in self.subject.params(self).items() for a in ("--param", f"{k}={v}")]
        return [
            sys.executable,
            "-m",
            module,
            "run",
            str(ROOT / "functions" / self.subject.function),
            *params,
            "--trigger",
            "schedule",
            "--correlation-id",
            correlation,
            "--storage",
            str(self.storage),
            "--budget",
            str(budget),
        ]

    def _next_corr(self) -> str:
        self._corr += 1
        return f"{self.seed}-{self._corr}"

    def _files(self) -> tuple[Any, Any]:
        """Where a run's stdout and stderr go (under ``logs/``, grepped for media URLs)."""
        self._out += 1
        base = self.logs / f"run-{self._out:03d}"
        return open(f"{base}.out", "w"), open(f"{base}.err", "w")

    def _summary(self, out: Any) -> dict[str, Any]:
        lines = Path(out.name).read_text().strip().splitlines()
        try:
            return dict(json.loads(lines[-1])) if lines else {}
        except ValueError:
            return {}

    def invoke(self, *, budget: float = 60.0, correlation: str | None = None) -> dict[str, Any]:
        """A run to its end; returns its summary (or records an unhandled error)."""
        self.outcome.invocations += 1
        out, err = self._files()
        with out, err:
            done = subprocess.run(
                self._cmd(correlation or self._next_corr(), budget),
                env=self._env(),
                stdout=out,
                stderr=err,
                timeout=180,
                check=False,
            )
        summary = self._summary(out)
        if done.returncode not in (0, 2) or not summary:
            self.outcome.unhandled.append(f"exit {done.returncode}: {Path(err.name).read_text()[-400:]}")
        if summary.get("stoppedByDeadline"):
            self.outcome.deadline_stops += 1
        if summary.get("busy"):
            self.outcome.busy += 1
        return summary

    def killed(self) -> None:
        """A run killed with SIGKILL at a random moment, then retried with the same correlation ID."""
        corr = self._next_corr()
        self.outcome.invocations += 1
        out, err = self._files()
        with out, err:
            proc = subprocess.Popen(self._cmd(corr, 60.0), env=self._env(), stdout=out, stderr=err)
            time.sleep(self.rng.uniform(0.05, 1.2))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                self.outcome.kills += 1
            proc.wait(timeout=30)
        self.invoke(correlation=corr)

    def overlapping(self) -> None:
        """Two runs at once (a manual run during a scheduled one)."""
        runs = []
        for _ in range(2):
            out, err = self._files()
            proc = subprocess.Popen(
                self._cmd(self._next_corr(), 60.0), env=self._env(), stdout=out, stderr=err
            )
            runs.append((proc, out, err))
        for proc, out, err in runs:
            proc.wait(timeout=180)
            out.close()
            err.close()
            self.outcome.invocations += 1
            summary = self._summary(out)
            if proc.returncode not in (0, 2) or not summary:
                self.outcome.unhandled.append(f"exit {proc.returncode}: {Path(err.name).read_text()[-400:]}")
            if summary.get("busy"):
                self.outcome.busy += 1

    # ---- faults ------------------------------------------------------------------------------
    def samsara_faults(self) -> list[Rule]:
        r = self.rng
        targets = self.subject.samsara
        return [
            _rule(r, path, r.choice(kinds), method)
            for path, method, kinds in (r.choice(targets) for _ in range(r.randint(2, 6)))
        ]

    def fmc_faults(self) -> list[Rule]:
        r = self.rng
        targets = self.subject.fmc
        return [
            _rule(r, path, r.choice(kinds), method)
            for path, method, kinds in (r.choice(targets) for _ in range(r.randint(1, 4)))
        ]

    # ---- what the FMC side holds ---------------------------------------------------------------
    def stored(self, stream: str) -> dict[str, list[dict[str, Any]]]:
        """Each record id's versions the FMC side holds: the endpoint's one (its newest), or every
        copy in the storage sink's files (in delivery order)."""
        if self.sink == "fmc":
            return {str(r["id"]): [dict(r["record"])] for r in self.sandbox.fmc_records(stream)}
        out: dict[str, list[dict[str, Any]]] = {}
        root = self.storage / "deliveries" / stream
        files = sorted(root.rglob("*.ndjson"), key=lambda f: f.stat().st_mtime_ns)
        for f in files:
            for line in f.read_text().splitlines():
                if line.strip():
                    record = json.loads(line)
                    out.setdefault(str(record["id"]), []).append(record)
        return out

    def identical_again(self, stream: str, versions: dict[str, list[dict[str, Any]]]) -> int:
        """How often a record was delivered again unchanged (not a replay of the same batch): the
        endpoint's ``duplicates``, or identical copies in the storage sink's files."""
        if self.sink == "fmc":
            return int(self.sandbox.fmc_summary(stream)["duplicates"])
        again = 0
        for copies in versions.values():
            texts = Counter(json.dumps(c, sort_keys=True) for c in copies)
            again += sum(n - 1 for n in texts.values())
        return again

    def file(self, stream: str, key: str) -> bytes | None:
        """The bytes of a file delivered under ``key``, or ``None``."""
        if self.sink == "fmc":
            name = key.replace("/", ".")
            if not any(f["name"] == name for f in self.sandbox.fmc_files(stream)):
                return None
            return self.sandbox.fmc_file(stream, name)
        path = self.storage / "deliveries" / stream / key
        return path.read_bytes() if path.exists() else None

    def leaks(self) -> int:
        """Media URLs in anything the runs wrote: their output, state, health, storage and the FMC's
        records."""
        found = 0
        for p in self.workdir.rglob("*"):
            if p.is_file() and MEDIA_MARK.encode() in p.read_bytes():
                found += 1
        if self.sink == "fmc":
            for s in self.sandbox.get("/fmc/v1/streams")["data"]:
                found += MEDIA_MARK in json.dumps(self.sandbox.fmc_records(str(s["stream"])))
        return found

    # ---- the schedule --------------------------------------------------------------------------
    def run(self, steps: int = 6) -> Outcome:
        o = self.outcome
        self.subject.prepare(self)
        first = self.invoke()
        if not first.get("ok"):
            o.unhandled.append(f"baseline run failed: {first}")
            return o
        self.subject.begin(self)
        self.sandbox.faults(*self.samsara_faults(), *(self.fmc_faults() if self.sink == "fmc" else []))
        for _ in range(steps):
            self.sandbox.advance(self.rng.randint(*self.subject.steps))
            self.subject.step(self)
            action = self.rng.choice(["plain", "kill", "kill", "deadline", "overlap"])
            if action == "plain":
                self.invoke()
            elif action == "kill":
                self.killed()
            elif action == "deadline":
                self.invoke(budget=self.rng.uniform(0.1, 0.6))
            else:
                self.overlapping()
        self.sandbox.clear_faults()
        runs, waited = 0, 0.0
        while runs < self.subject.final_runs:
            self.subject.settle(self)
            summary = self.invoke()
            if (
                summary.get("ok")
                and summary.get("caughtUp")
                and not summary.get("busy")
                and self.subject.finished(self, summary)
            ):
                o.caught_up = True
                break
            if summary.get("busy") and waited < LEASE_WAIT_S:
                # A killed run whose retry failed before reaching its stream (an injected 429 in the
                # preflight, say) holds the stream's lease until its deadline plus the grace; the
                # platform's next run then takes over. Wait that out rather than count it a failure.
                time.sleep(5.0)
                waited += 5.0
                continue
            runs += 1
            time.sleep(0.2)
        self.subject.check(self)
        o.leaks = self.leaks()
        return o


def run_schedules(
    seeds: Iterable[int],
    workdir: Path,
    *,
    jobs: int = 1,
    function: str = "vehicle-stats",
    steps: int = 6,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Runs one schedule of ``function`` per seed (``jobs`` at a time: a schedule mostly waits on its
    runs), the FMC endpoint as the sink for three seeds in four and storage for the fourth."""
    from concurrent.futures import ThreadPoolExecutor

    def one(seed: int) -> Outcome:
        subject = SUBJECTS[function]()
        sink = "storage" if seed % 4 == 0 and subject.storage else "fmc"
        h = Harness(seed, workdir / f"{function}-s{seed}", sink=sink, subject=subject)
        try:
            outcome = h.run(steps)
        except Exception as e:  # a harness failure is this schedule's, reported with the others
            outcome = h.outcome
            outcome.unhandled.append(f"harness: {type(e).__name__}: {e}")
        finally:
            h.close()
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return sorted(pool.map(one, seeds), key=lambda o: o.seed)


def totals(outcomes: list[Outcome]) -> Outcome:
    """The sum of a run's outcomes (seed 0)."""
    total = Outcome(seed=0)
    for o in outcomes:
        total.truth += o.truth
        total.lost += o.lost
        total.duplicated += o.duplicated
        total.unexpected += o.unexpected
        total.writes += o.writes
        total.twice += o.twice
        total.leaks += o.leaks
        total.orphans += o.orphans
        total.adopted += o.adopted
        total.invocations += o.invocations
        total.kills += o.kills
        total.deadline_stops += o.deadline_stops
        total.busy += o.busy
        total.unhandled += o.unhandled
    return total


def main() -> int:
    """``python -m tests.support.convergence --function dvir-defects --schedules 100 --jobs 4``: the long
    run, a row per schedule."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--function", default="vehicle-stats", choices=sorted(SUBJECTS))
    parser.add_argument("--schedules", type=int, default=500)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    print(f"{args.function}\n{HEADER}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = run_schedules(
            range(1, args.schedules + 1),
            Path(tmp),
            jobs=args.jobs,
            function=args.function,
            steps=args.steps,
            on_outcome=lambda o: print(o.row(), flush=True),
        )
    total = totals(outcomes)
    bad = [o.seed for o in outcomes if o.bad]
    print(f"total {total.row()[5:]}\nschedules {len(outcomes)}, not converged: {bad}", flush=True)
    for o in outcomes:
        if o.unhandled:
            print(f"seed {o.seed}: {o.unhandled[:2]}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
