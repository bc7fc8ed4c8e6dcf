"""Convergence harness Subjects for the operations Functions: ``trips``, ``idling``, ``ifta``,
``forms-issues`` and ``messages`` (registered in :data:`tests.support.convergence.SUBJECTS`).

Each runs its Function under the harness's schedule (seeded faults on both sides, kill -9 with the
platform's retry, deadline stops, overlapping runs) and then compares what the FMC side holds with a
fresh read of the sandbox:

* trips: every completed trip of the window, its newest version (the fields the record has today:
  times, distance, the vehicle, the ends' coordinates), nothing else, no identical copy twice;
* idling: every event of the window (the whole record), and per vehicle and per driver the KPIs of
  each local day the Function sums (the sums of that day's events; the engine time of the days that
  had ended when they were last read);
* ifta: every closed period's jurisdiction and vehicle records equal Samsara's reports (and the
  jurisdiction records the sandbox's truth), a record that left a changed period withdrawn under its
  id, and each quarter's return CSV adding up exactly to its jurisdiction records and to the truth;
  during the schedule a vehicle without a fuel type is given one, so closed periods change and lines
  vanish;
* forms-issues: submissions and issues equal the streams (whole records), and every FMC change
  (``issue.created``, ``issue.updated``, ``form.assigned``) applied exactly once (the sandbox's count
  of what each produced, the request log) with its outcome delivered back;
* messages: every message of the window (both ways) once, and every ``message.sent`` change sent
  exactly once to each recipient with its outcome delivered back.

The write-back Subjects also kill a run between a send and its state write: the send is made slow at
the sandbox (which applies it after the delay), the run is killed while the sandbox holds it, and the
platform's retry must find the send and not repeat it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
import urllib.parse
import zoneinfo
from collections import Counter
from typing import Any

from samsara_fmc.client import Client
from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.integrations import forms_issues, idling, ifta, messages
from tests.support.convergence import (
    _ALL,
    Harness,
    StreamSubject,
    StreamTruth,
    Subject,
    _get,
    stream_latest,
)

__all__ = ["FormsIssues", "Idling", "Ifta", "Messages", "Trips"]

WRITE_FAULTS = ("429", "5xx", "reset", "fail_after_commit")
"""Faults on a write: refused, or applied with the answer lost (a reset, a 503 after the commit)."""
POD = "9b1e6a52-0000-4000-8000-000000000003"
"""The sandbox's proof-of-delivery form template."""
MANAGER = "7100"
UNKNOWN = "999999999"


def _canon(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)


def _states(h: Harness, function: str) -> dict[str, dict[str, Any]]:
    """Each stream's state of ``function`` (by the stream's name)."""
    out = {}
    for p in (h.storage / "state").glob(f"*/{function}/*.json"):
        out[p.stem] = dict(json.loads(p.read_text()).get("state") or {})
    return out


def _client(h: Harness) -> Client:
    return Client(token=h.sandbox.token, base_url=h.sandbox.url, rate_limit=False)


def _count_copies(h: Harness, stream: str, versions: dict[str, list[dict[str, Any]]]) -> int:
    return h.identical_again(stream, versions)


PROBED = {("PATCH", "/issues"), ("POST", messages.PATH)}
"""Writes whose method and path a run's scope preflight also uses (once per run, before any write)."""


def kill_during_send(h: Harness, method: str, path: str) -> bool:
    """A run killed while the sandbox holds its write (``method path``) and applies it after the
    kill, then retried with the same correlation ID: the kill falls between the send and the state
    write. ``False`` when the run sent nothing (it was not killed then)."""
    delay = 1500 + h.rng.randint(0, 99)
    rule = {"path": path, "method": method, "kind": "slow", "times": 1}
    if (method, path) in PROBED:  # the preflight's probe takes a rule of its own first
        h.sandbox.faults({**rule, "delayMs": 1})
    h.sandbox.faults({**rule, "delayMs": delay})

    def pending() -> bool:
        return any(
            r.get("kind") == "slow" and r.get("delayMs") == delay and r.get("times") != 0
            for r in h.sandbox.get("/__sandbox/faults")["rules"]
        )

    corr = h._next_corr()
    h.outcome.invocations += 1
    out, err = h._files()
    killed = False
    with out, err:
        proc = subprocess.Popen(h._cmd(corr, 60.0), env=h._env(), stdout=out, stderr=err)
        t_end = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < t_end:
            if not pending():
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                h.outcome.kills += 1
                break
            time.sleep(0.02)
        proc.wait(timeout=60)
    if killed:
        time.sleep(delay / 1000 + 0.5)  # the sandbox applies the send after the delay
    h.invoke(correlation=corr)
    return killed


def check_streams(subject: StreamSubject, h: Harness) -> None:
    """:meth:`StreamSubject.check`, naming the first records lost or unexpected (in ``unhandled``, so
    a failing schedule says which)."""
    before = (h.outcome.lost, h.outcome.unexpected)
    StreamSubject.check(subject, h)
    if (h.outcome.lost, h.outcome.unexpected) == before:
        return
    start = subject.first(h)
    for t in subject.truths:
        truth: dict[str, str] = {}
        for item in stream_latest(h, t.path, {**t.query, "startTime": start}).values():
            truth.update(t.ids(item))
        held = {i: t.version(v[-1]) for i, v in h.stored(t.stream).items()}
        wrong = [i for i, v in truth.items() if held.get(i) != v] + sorted(held.keys() - truth.keys())
        for i in wrong[:2]:
            h.outcome.unhandled.append(
                f"{t.stream} {i}: truth {truth.get(i, '-')[:300]} held {held.get(i, '-')[:300]}"
            )


# ---- trips --------------------------------------------------------------------------------------------


def _trip_fields(start: Any, end: Any, vehicle: Any, meters: Any, s: Any, e: Any, updated: Any) -> str:
    return _canon(
        {
            "start": str(start),
            "end": end,
            "vehicle": str(vehicle),
            "meters": meters,
            "startLat": (s or {}).get("latitude") if isinstance(s, dict) else s,
            "endLat": (e or {}).get("latitude") if isinstance(e, dict) else e,
            "updated": updated,
        }
    )


def _trip_truth(t: dict[str, Any]) -> dict[str, str]:
    asset = t.get("asset") or {}
    return {
        f"{asset.get('id')}:{t['tripStartTime']}": _trip_fields(
            t["tripStartTime"],
            t.get("tripEndTime"),
            asset.get("id"),
            t.get("finalDistanceMeters"),
            t.get("startLocation"),
            t.get("endLocation"),
            t.get("updatedAtTime"),
        )
    }


def _trip_held(r: dict[str, Any]) -> str:
    return _trip_fields(
        r["startTime"],
        r.get("endTime"),
        r.get("vehicleId"),
        r.get("distanceMeters"),
        r.get("startLatitude"),
        r.get("endLatitude"),
        r.get("updatedAtTime"),
    )


class Trips(StreamSubject):
    """trips: every completed trip of the window in its newest version (compared on the fields the
    record has today, so a richer record still compares), nothing else, nothing identical twice."""

    function = "trips"
    clocked = True
    samsara = (
        ("/trips/stream", None, _ALL),
        ("/fleet/driver-vehicle-assignments", None, ("429", "5xx", "reset", "truncate", "slow")),
    )
    truths = (
        StreamTruth(
            "trips",
            "/trips/stream",
            {"queryBy": "updatedAtTime", "completionStatus": "completed", "includeAsset": "true"},
            _trip_truth,
            _trip_held,
        ),
    )

    def params(self, h: Harness) -> dict[str, str]:
        return {"lookbackHours": "36", "units": "metric"}

    def check(self, h: Harness) -> None:
        check_streams(self, h)


# ---- idling -------------------------------------------------------------------------------------------

KPI_SUMS = (
    "events",
    "idleSeconds",
    "ptoIdleSeconds",
    "idleFuel",
    "idleFuelMilliliters",
    "longIdleEvents",
    "longIdleSeconds",
)
ENGINE = ("engineSeconds", "engineHours", "idleMinutesPerEngineHour")


class Idling(Subject):
    """idling: the events of the window (whole records) and the daily KPIs per vehicle and per driver
    of every local day the Function sums, equal to a fresh read; nothing identical twice."""

    function = "idling"
    clocked = True
    zone = "America/Chicago"
    samsara = (
        ("/idling/events", None, _ALL),
        ("/fleet/vehicles/stats", None, ("429", "5xx", "reset", "truncate", "slow")),
    )
    steps = (300, 2400)

    def sandbox_args(self, seed: int) -> tuple[str, ...]:
        args = list(super().sandbox_args(seed))
        args[args.index("--vehicles") + 1] = args[args.index("--drivers") + 1] = "12"
        args[args.index("--days") + 1] = "2"
        # From 22:00 CDT: a schedule often crosses local midnight (a day ends, the next begins).
        args[args.index("--start") + 1] = "2026-11-03T03:30:00Z"
        return tuple(args)

    def params(self, h: Harness) -> dict[str, str]:
        return {
            "units": "imperial",
            "lookbackHours": "30",
            "windowHours": "4",
            "overlapHours": "3",
            "settleMinutes": "5",
            "kpiTimeZone": self.zone,
            "longIdleMinutes": "5",
        }

    def begin(self, h: Harness) -> None:
        self.reads: list[str] = []

    def _events(self, h: Harness, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        params = {"startTime": iso(start), "endTime": iso(end), "limit": "200", "includeExternalIds": "true"}
        return [dict(e) for e in _client(h).records(idling.PATH, params=params)]

    def check(self, h: Harness) -> None:
        o = h.outcome
        now = parse_time(h.sandbox.advance(0))
        st = _states(h, self.function)
        [events_state] = [s for name, s in st.items() if name.startswith("idling.")]
        first, mark = parse_time(events_state["first"]), parse_time(events_state["mark"])
        # Events: those that started in [first, mark), each the record of a fresh read.
        truth = {
            str(e["eventUuid"]): _canon(idling.to_record(e, units="imperial"))
            for e in self._events(h, first, mark)
        }
        versions = h.stored(idling.SINK_STREAM)
        held = {i: _canon(v[-1]) for i, v in versions.items()}
        o.truth += len(truth)
        o.delivered += len(held)
        o.lost += sum(1 for i, v in truth.items() if held.get(i) != v)
        o.unexpected += len(held.keys() - truth.keys())
        o.duplicated += h.identical_again(idling.SINK_STREAM, versions)
        # Days: each local day whose midnight is in [first, mark) of the days streams, summed whole.
        zone = zoneinfo.ZoneInfo(self.zone)
        [days_state] = [s for name, s in st.items() if name.startswith("idling-days.")]
        d_first, d_mark = parse_time(days_state["first"]), parse_time(days_state["mark"])
        client = _client(h)
        want_v: dict[str, dict[str, Any]] = {}
        want_d: dict[str, dict[str, Any]] = {}
        ended: set[str] = set()
        for day in idling.local_days(d_first, d_mark, zone):
            lo, hi = idling._day_bounds(day, zone)
            if not d_first <= lo < d_mark:
                continue
            evs = [idling.to_record(e, units="imperial") for e in self._events(h, lo, hi)]
            engine = idling.engine_seconds(client, lo, min(hi, now), time.time() + 60) if evs else {}
            kw: dict[str, Any] = {"units": "imperial", "long_idle_minutes": 5, "engine": engine}
            for r in idling.day_records(evs, day, self.zone, **kw):
                want_v[str(r["id"])] = r
            for r in idling.driver_day_records(evs, day, self.zone, **kw):
                want_d[str(r["id"])] = r
            if hi <= now:
                ended.add(day.isoformat())
        for stream, want in ((idling.DAYS_STREAM, want_v), (idling.DRIVER_DAYS_STREAM, want_d)):
            versions = h.stored(stream)
            got = {i: v[-1] for i, v in versions.items()}
            o.truth += len(want)
            o.delivered += len(got)
            o.unexpected += len(got.keys() - want.keys())
            for i, w in want.items():
                g = got.get(i)
                # The engine time of a day still running depends on when it was read: compared for
                # the days that had ended.
                keys = [k for k in w if k not in ENGINE or w["date"] in ended]
                if g is None or any(g.get(k) != w[k] for k in keys):
                    o.lost += 1
            o.duplicated += h.identical_again(stream, versions)


# ---- ifta ---------------------------------------------------------------------------------------------


class Ifta(Subject):
    """ifta: the closed periods' records equal Samsara's reports and the sandbox's truth, a record
    that left a changed period withdrawn under its id, each quarter's return CSV adding up exactly to
    its jurisdiction records and to the truth, nothing identical twice. During the schedule the late
    fuel purchase becomes known, December and Q4 may close, and a vehicle without a fuel type is given
    one (its closed periods change: its ``Unspecified`` lines leave them)."""

    function = "ifta"
    clocked = True
    samsara = (
        ("/fleet/reports/ifta/jurisdiction", None, _ALL),
        ("/fleet/reports/ifta/vehicle", None, _ALL),
        ("/me", None, ("5xx",)),
    )
    fmc = (
        *Subject.fmc,
        ("/fmc/v1/streams/{stream}/files/{name}", None, ("429", "5xx", "fail_after_commit", "reset")),
    )
    steps = (3600, 5 * 3600)

    def sandbox_args(self, seed: int) -> tuple[str, ...]:
        return (
            *("--seed", str(seed % 97 + 1), "--vehicles", "24", "--drivers", "24", "--days", "100"),
            *("--start", "2027-01-03T12:00:00Z", "--rate-limits", "off"),
        )

    def params(self, h: Harness) -> dict[str, str]:
        return {"monthsBack": "3"}

    def begin(self, h: Harness) -> None:
        self.settled = False
        self.fix_all = h.rng.random() < 0.6

    def step(self, h: Harness) -> None:
        if h.rng.random() < 0.5:
            self.retype(h, everyone=h.rng.random() < 0.5)

    def settle(self, h: Harness) -> None:
        if self.settled:
            return
        self.settled = True
        if self.fix_all:  # the flag fixed: the lines without a fuel type leave the periods
            self.retype(h, everyone=True)
        # December and Q4 closed, so that the quarter's return is checked.
        close = ifta.closed_at(ifta.parse_period("2026-Q4"), dt.timedelta(hours=72))
        wait = (close - parse_time(h.sandbox.advance(0))).total_seconds()
        if wait > 0:
            h.sandbox.advance(wait + 60)

    def retype(self, h: Harness, *, everyone: bool) -> None:
        """The fleet manager gives one vehicle without a fuel type (or all of them) a fuel type."""
        untyped = sorted(str(v) for v in _truth_ifta(h, "2026-Q4")["vehiclesWithoutFuelType"])
        for v in untyped if everyone else h.rng.sample(untyped, min(1, len(untyped))):
            fuel = h.rng.choice(["Diesel", "Gasoline"])
            h.sandbox.admin("POST", "/__sandbox/ifta/fuel-types", {"vehicleId": v, "fuelType": fuel})

    def check(self, h: Harness) -> None:
        o = h.outcome
        now = parse_time(h.sandbox.advance(0))
        due = ifta.due_periods(now, 3, dt.timedelta(hours=72))
        juris_v, vehicles_v, returns_v = (
            h.stored("ifta_jurisdictions"),
            h.stored("ifta_vehicles"),
            h.stored("ifta_returns"),
        )
        juris = {i: v[-1] for i, v in juris_v.items()}
        vehicles = {i: v[-1] for i, v in vehicles_v.items()}
        returns = {i: v[-1] for i, v in returns_v.items()}
        keys = {p.key for p in due}
        for p in due:
            t = _truth_ifta(h, p.key)
            # Jurisdiction lines: the truth's lines with figures, each held (not withdrawn) with its
            # figures; every other held line of the period withdrawn.
            want = {
                f"{p.key}:{x['fuelType']}:{x['jurisdiction']}": x
                for x in t["lines"]
                if x["totalMeters"] or x["taxPaidLiters"]
            }
            mine = {i: r for i, r in juris.items() if r.get("period") == p.key}
            o.truth += len(want)
            for i, x in want.items():
                r = mine.get(i)
                figures = (x["totalMeters"], x["taxableMeters"], x["taxPaidLiters"])
                held = r and (r["totalMeters"], r["taxableMeters"], r["taxPaidLitersReported"])
                o.lost += r is None or _withdrawn(r) or held != figures
            o.unexpected += sum(1 for i, r in mine.items() if i not in want and not _withdrawn(r))
            o.delivered += sum(1 for r in mine.values() if not _withdrawn(r))
            # Vehicle lines: Samsara's vehicle report, read afresh.
            report = _vehicle_report(h, p)
            untyped = {str(v) for v in t["vehiclesWithoutFuelType"]}
            mine_v = {i: r for i, r in vehicles.items() if r.get("period") == p.key}
            o.truth += len(report)
            for i, (vid, x) in report.items():
                r = mine_v.get(i)
                if (
                    r is None
                    or _withdrawn(r)
                    or (r["totalMeters"], r["taxPaidLitersReported"])
                    != (x["totalMeters"], x["taxPaidLiters"])
                    or r["withoutFuelType"] != (vid in untyped)
                ):
                    o.lost += 1
            o.unexpected += sum(1 for i, r in mine_v.items() if i not in report and not _withdrawn(r))
            o.delivered += sum(1 for r in mine_v.values() if not _withdrawn(r))
            if p.quarter:
                ret = returns.get(p.key)
                o.truth += 1
                if ret is None:
                    o.lost += 1
                else:
                    o.delivered += 1
                    lines = [r for r in mine.values() if not _withdrawn(r)]
                    o.lost += _return_problems(h, ret, lines, t, untyped)
        # Nothing held for a period that is not due.
        o.unexpected += sum(1 for r in (*juris.values(), *vehicles.values()) if r.get("period") not in keys)
        o.unexpected += sum(1 for i in returns if i not in keys)
        for stream, versions in (
            ("ifta_jurisdictions", juris_v),
            ("ifta_vehicles", vehicles_v),
            ("ifta_returns", returns_v),
        ):
            o.duplicated += h.identical_again(stream, versions)


def _withdrawn(r: dict[str, Any]) -> bool:
    return r.get("status") == "withdrawn"


def _truth_ifta(h: Harness, period: str) -> dict[str, Any]:
    p = ifta.parse_period(period)
    query = urllib.parse.urlencode({k: str(v) for k, v in p.query().items()})
    return dict(h.sandbox.get(f"/__sandbox/truth/ifta?{query}")["data"])


def _vehicle_report(h: Harness, p: ifta.Period) -> dict[str, tuple[str, dict[str, Any]]]:
    """Samsara's vehicle report of a period: record id → (vehicle id, jurisdiction summary)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    after = ""
    while True:
        params = {k: str(v) for k, v in p.query().items()} | ({"after": after} if after else {})
        body = _get(h.sandbox.url, h.sandbox.token, ifta.VEHICLE_PATH, params)
        for r in body["data"]["vehicleReports"]:
            vid = str(r["vehicle"]["id"])
            for j in r["jurisdictions"]:
                if j["totalMeters"] or j["taxPaidLiters"]:
                    out[f"{p.key}:{vid}:{j['jurisdiction']}"] = (vid, j)
        after = body["pagination"]["endCursor"]
        if not body["pagination"]["hasNextPage"]:
            return out


def _return_problems(
    h: Harness, ret: dict[str, Any], lines: list[dict[str, Any]], t: dict[str, Any], untyped: set[str]
) -> int:
    """0 when the return's CSV adds up exactly to its jurisdiction records and to the truth, and its
    flags name the vehicles without a fuel type; else 1."""
    from tests.functions.test_ifta import check_return_figures

    try:
        check_return_figures(ret, lines, t)
        flagged = {
            v for f in ret["flags"] if f["code"] == "vehicles_without_fuel_type" for v in f["vehicleIds"]
        }
        assert flagged == untyped, (flagged, untyped)
        assert ret["troubleshooting"] == t["troubleshooting"]
        assert ret["readyToFile"] is not bool(ret["flags"])
        data = h.file("ifta_returns", f"{ret['id']}/{ret['csvFileName']}")
        assert data == str(ret["csv"]).encode(), "the CSV file is the record's"
    except AssertionError as e:
        h.outcome.unhandled.append(f"return {ret['id']}: {e!s:.300}")
        return 1
    return 0


# ---- write-back subjects --------------------------------------------------------------------------------


class _WriteBack(StreamSubject):
    """What forms-issues and messages share: scripted FMC changes, a run killed during a send, and
    the outcomes delivered back."""

    writes: dict[str, tuple[str, str]] = {}  # noqa: RUF012
    """Change type → (method, path) of its write (a run may be killed during it)."""
    send_kills = 0
    """Runs killed between a send and its state write."""

    def begin(self, h: Harness) -> None:
        self.changes: dict[str, dict[str, Any]] = {}  # change id -> {"type", "data", "expect"}
        self.n = 0
        if h.sink == "fmc":
            for _ in range(2):
                self.script_one(h)
            self.script_bad(h)

    def script(self, h: Harness, kind: str, data: dict[str, Any], expect: str) -> str:
        c = h.sandbox.admin("POST", "/__sandbox/fmc/changes", {"type": kind, "data": data})
        self.changes[str(c["id"])] = {"type": kind, "data": data, "expect": expect}
        return str(c["id"])

    def script_one(self, h: Harness) -> str:
        """Scripts a change the Function applies; returns its type."""
        raise NotImplementedError

    def script_bad(self, h: Harness) -> None:
        raise NotImplementedError

    def step(self, h: Harness) -> None:
        if h.sink != "fmc":
            return
        if h.rng.random() < 0.7:
            self.script_one(h)
        if h.rng.random() < 0.35:
            # A change waiting, and its run killed between the send and the state write.
            kind = self.script_one(h)
            method, path = self.writes[kind]
            self.send_kills += kill_during_send(h, method, path)

    def finished(self, h: Harness, summary: dict[str, Any]) -> bool:
        """A run that wrote to Samsara changed what the streams read: the next run reads it."""
        return not any(
            s["records"] for s in summary.get("streams") or [] if str(s["stream"]).startswith("ledger")
        )

    def check_writes(self, h: Harness) -> None:
        """Every scripted change's outcome delivered back with the expected status, and what it
        produced in Samsara exactly once (the sandbox's count)."""
        if h.sink != "fmc":
            return
        o = h.outcome
        outcomes = {str(r["id"]): r["record"] for r in h.sandbox.fmc_records("write_outcomes")}
        status = {str(c["id"]): c for c in h.sandbox.get("/__sandbox/fmc/changes")["data"]}
        for cid, c in self.changes.items():
            out = outcomes.get(cid)
            s = status.get(cid) or {}
            if c["expect"] == "rejected":
                o.twice += out is None or out["status"] != "rejected"
                o.twice += int(s.get("copies") or 0) != 0
                continue
            o.writes += 1
            if out is None or out["status"] not in ("applied", "already"):
                o.twice += 1
                h.outcome.unhandled.append(f"change {cid} ({c['type']}): outcome {out and out['status']}")
                continue
            if "copies" in s and s["copies"] != 1:
                o.twice += 1
                h.outcome.unhandled.append(f"change {cid} ({c['type']}) produced {s['copies']} objects")
            if not s.get("applied"):
                o.twice += 1


class FormsIssues(_WriteBack):
    """forms-issues: submissions and issues equal the streams (whole records); every FMC change
    applied exactly once with its outcome delivered back."""

    function = "forms-issues"
    clocked = True
    samsara = (
        ("/form-submissions/stream", None, _ALL),
        ("/issues/stream", None, _ALL),
        ("/issues", "GET", ("429", "5xx", "reset")),
        ("/issues", "POST", WRITE_FAULTS),
        ("/issues", "PATCH", ("429", "5xx", "reset")),
        ("/form-submissions", "POST", WRITE_FAULTS),
    )
    fmc = (
        *Subject.fmc,
        ("/fmc/v1/changes", None, ("429", "5xx", "reset", "empty_page", "repeat_records")),
    )
    writes = {  # noqa: RUF012
        "issue.created": ("POST", "/issues"),
        "issue.updated": ("PATCH", "/issues"),
        "form.assigned": ("POST", "/form-submissions"),
    }
    truths = (
        StreamTruth(
            forms_issues.FORMS_STREAM,
            forms_issues.FORMS_PATH,
            {"include": "externalIds"},
            lambda i: {str(i["id"]): _canon(forms_issues.form_record(i))},
            _canon,
        ),
        StreamTruth(
            forms_issues.ISSUES_STREAM,
            forms_issues.ISSUES_PATH,
            {"include": "externalIds"},
            lambda i: {str(i["id"]): _canon(forms_issues.issue_record(i))},
            _canon,
        ),
    )

    def params(self, h: Harness) -> dict[str, str]:
        return {"lookbackHours": "30"}

    def begin(self, h: Harness) -> None:
        c = _client(h)
        self.vehicles = [str(v["id"]) for v in c.records("/fleet/vehicles", params={"limit": 512})]
        self.drivers = [str(d["id"]) for d in c.records("/fleet/drivers", params={"limit": 512})]
        issues = stream_latest(h, forms_issues.ISSUES_PATH, {"startTime": "2026-11-01T00:00:00Z"})
        self.issues = sorted(issues)
        h.rng.shuffle(self.issues)
        super().begin(h)

    def script_one(self, h: Harness) -> str:
        self.n += 1
        tag = f"H{h.seed}-{self.n}"
        kind = h.rng.choice(["issue.created", "issue.updated", "form.assigned"])
        if kind == "issue.updated" and self.issues:
            issue = self.issues.pop()
            data: dict[str, Any] = {
                "issueId": issue,
                "status": h.rng.choice(["inProgress", "resolved"]),
                "assignedToUserId": MANAGER,
                "title": f"Checked {tag}",
            }
            self.script(h, kind, data, "applied")
            return kind
        if kind == "form.assigned":
            data = {"formTemplateId": POD, "driverId": h.rng.choice(self.drivers), "title": f"Stop {tag}"}
            self.script(h, kind, data, "applied")
            return kind
        data = {"title": f"Oil leak {tag}", "assetId": h.rng.choice(self.vehicles), "fmcIssueId": tag}
        if h.rng.random() < 0.5:
            data["priority"] = "high"
        self.script(h, "issue.created", data, "applied")
        return "issue.created"

    def script_bad(self, h: Harness) -> None:
        self.script(h, "issue.updated", {"issueId": UNKNOWN, "status": "resolved"}, "rejected")
        self.script(h, "form.assigned", {"formTemplateId": POD, "driverId": "not-a-driver"}, "rejected")

    def check(self, h: Harness) -> None:
        check_streams(self, h)
        self.check_writes(h)
        if h.sink != "fmc":
            return
        # The request log: no more creates and patches succeeded than changes asked for.
        o = h.outcome
        ok = Counter(
            (str(r["method"]), str(r["path"])) for r in h.sandbox.requests() if int(r["status"]) in (200, 201)
        )
        kinds = Counter(c["type"] for c in self.changes.values() if c["expect"] != "rejected")
        o.twice += max(0, ok["POST", "/issues"] - kinds["issue.created"])
        o.twice += max(0, ok["POST", "/form-submissions"] - kinds["form.assigned"])
        o.twice += max(0, ok["PATCH", "/issues"] - kinds["issue.updated"])


class Messages(_WriteBack):
    """messages: every message of the window once (both ways), every ``message.sent`` sent exactly
    once to each recipient with its outcome delivered back."""

    function = "messages"
    clocked = True
    samsara = (
        (messages.PATH, "GET", ("429", "5xx", "reset", "truncate", "slow")),
        (messages.PATH, "POST", WRITE_FAULTS),
    )
    fmc = (
        *Subject.fmc,
        ("/fmc/v1/changes", None, ("429", "5xx", "reset", "empty_page", "repeat_records")),
    )
    writes = {"message.sent": ("POST", messages.PATH)}  # noqa: RUF012

    def params(self, h: Harness) -> dict[str, str]:
        return {"lookbackHours": "30", "windowHours": "6", "overlapHours": "2", "settleMinutes": "1"}

    def begin(self, h: Harness) -> None:
        c = _client(h)
        self.drivers = [str(d["id"]) for d in c.records("/fleet/drivers", params={"limit": 512})]
        super().begin(h)

    def script_one(self, h: Harness) -> str:
        self.n += 1
        text = f"Load {h.seed}-{self.n} is ready at door {h.rng.randint(1, 40)}"
        if h.rng.random() < 0.3:
            data: dict[str, Any] = {"driverIds": h.rng.sample(self.drivers, 2), "text": text}
        else:
            data = {"driverId": h.rng.choice(self.drivers), "text": text}
        self.script(h, "message.sent", data, "applied")
        return "message.sent"

    def script_bad(self, h: Harness) -> None:
        self.script(h, "message.sent", {"driverId": self.drivers[0], "text": "x" * 2501}, "rejected")

    def check(self, h: Harness) -> None:
        o = h.outcome
        st = _states(h, self.function)["messages"]
        first, mark = parse_time(st["first"]), parse_time(st["mark"])
        lo, hi = int(first.timestamp() * 1000), int(mark.timestamp() * 1000)
        body = _get(
            h.sandbox.url, h.sandbox.token, messages.PATH, {"endMs": str(hi), "durationMs": str(hi - lo)}
        )
        truth = {}
        for m in body["data"]:
            if lo <= int(m["sentAtMs"]) < hi:
                r = messages.to_record(m)
                truth[str(r["id"])] = _canon(r)
        versions = h.stored(messages.SINK_STREAM)
        held = {i: _canon(v[-1]) for i, v in versions.items()}
        o.truth += len(truth)
        o.delivered += len(held)
        o.lost += sum(1 for i, v in truth.items() if held.get(i) != v)
        o.unexpected += len(held.keys() - truth.keys())
        o.duplicated += h.identical_again(messages.SINK_STREAM, versions)
        self.check_writes(h)
        if h.sink != "fmc":
            return
        sends = sum(
            1
            for r in h.sandbox.requests()
            if r["method"] == "POST" and r["path"] == messages.PATH and int(r["status"]) == 200
        )
        o.twice += max(0, sends - sum(1 for c in self.changes.values() if c["expect"] != "rejected"))
