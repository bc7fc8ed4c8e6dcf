"""Convergence harness Subjects for the two-way sync Functions (``vehicle-sync``, ``tag-sync``): what
issue 14 says must hold after the harness's seeded trouble (faults on both sides, kill -9 with the
platform's retry, deadline stops, overlapping runs), checked against the sandbox's truth and its
request log:

* every true pair of the truth (``/__sandbox/truth/<domain>``) is linked on both sides: the FMC's id
  in the Samsara object's external IDs, the Samsara id in the FMC's link record; no trap pair (a pair
  the truth does not have) is linked;
* a run after convergence plans nothing and writes nothing (the request log);
* no write is applied twice: the request log's writes to the Function's Samsara paths, each with its
  body's digest; the same body applied twice in a row to one path is a write applied twice (a
  ``429`` was refused before it took effect; ``200`` and the ``503`` of ``fail_after_commit`` took
  effect; a reset breaks the answer of a write that took effect, logged ``200``). Write faults are
  only those three, so the log tells which writes took effect;
* nothing duplicated: no tag created twice (creates against the truth, names, ``fmcTagId`` values),
  no record delivered to the FMC twice with the same content;
* tag members the FMC does not manage (dashboard additions, drivers not linked yet, deactivated ones,
  an id the FMC does not list) are all still members at the end, and the members it manages are the
  FMC's.

The harness's own calls during a schedule (the dashboard's and the FMC clerk's) go through the same
faults, so they retry; their writes are left out of the Function's (the log's sequence numbers between
steps: no run is alive then).

A new sync Function's Subject is a few lines: :class:`LinkSubject` for a domain linked by one external
ID key against ``/__sandbox/truth/<domain>``, e.g. for driver-sync::

    class DriverSync(LinkSubject):
        function = "driver-sync"
        collection, truth_path = "/fleet/drivers", "/__sandbox/truth/drivers"
        link_stream, streams, fmc_lists = "driver_links", ("driver_links", "write_outcomes"), ("drivers",)
        samsara = (("/fleet/drivers", "GET", READ_FAULTS), ("/me", None, ("5xx",)))
        writes = (("POST", "/fleet/drivers"), ("PATCH", "/fleet/drivers/"))
        write_targets = (("POST", "/fleet/drivers"), ("PATCH", "/fleet/drivers/{id}"))

and ``SUBJECTS["driver-sync"] = _elsewhere("subjects_sync", "DriverSync")`` in
:mod:`tests.support.convergence`; a driver it creates for an FMC-only roster entry is a pair the truth
lists as ``expect: none``, so its :meth:`LinkSubject.true_pairs` adds those. A Function that creates
(drivers, tags) should also count its creates that took effect against the truth, as :class:`TagSync`
does: the sandbox refuses a second object with the same external ID, so a duplicate would be one
created without it.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from typing import TYPE_CHECKING, Any

from tests.support.convergence import Kinds, Subject

if TYPE_CHECKING:
    from tests.support.convergence import Harness

WRITE_FAULTS: Kinds = ("429", "fail_after_commit", "reset")
"""The only faults put on writes: the request log then tells which writes took effect."""
READ_FAULTS: Kinds = ("429", "5xx", "reset", "truncate", "slow")
APPLIED = frozenset({200, 503})
"""Logged statuses of writes that took effect (``503``: ``fail_after_commit``; ``5xx`` rules are not
put on writes)."""
PROBE_ID = "0"
"""The preflight probes a write scope with ``PATCH …/0`` (never a real ID)."""


def call(h: Harness, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
    """A call of the harness's own to the Samsara API that outlasts the injected faults (a write that
    took effect and lost its answer is sent again: the harness's writes are not the Function's)."""
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    data = None if body is None else json.dumps(body).encode()
    last: Exception | None = None
    for _ in range(20):
        req = urllib.request.Request(h.sandbox.url + path + query, data=data, method=method)
        req.add_header("Authorization", f"Bearer {h.sandbox.token}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
            return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            if e.code != 429 and e.code < 500:
                raise
            e.close()
            last = e
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException, ValueError) as e:
            last = e
        time.sleep(0.05)
    raise AssertionError(f"the harness's {method} {path} failed 20 times: {last}")


def fmc_get(h: Harness, path: str) -> Any:
    """A read of the FMC endpoint's (``/fmc/v1/…``) by the harness, retried through its faults."""
    last: Exception | None = None
    for _ in range(20):
        try:
            return h.sandbox.get(path)
        except urllib.error.HTTPError as e:
            if e.code != 429 and e.code < 500:
                raise
            e.close()
            last = e
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException, ValueError) as e:
            last = e
        time.sleep(0.05)
    raise AssertionError(f"the harness's GET {path} failed 20 times: {last}")


def records(h: Harness, path: str, params: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Every object of a Samsara list endpoint by ``id`` (retried through faults, pages followed)."""
    out: dict[str, dict[str, Any]] = {}
    after = ""
    for _ in range(1000):
        q = {"limit": "512", **(params or {}), **({"after": after} if after else {})}
        page = call(h, "GET", path, params=q)
        for item in page["data"]:
            out[str(item["id"])] = dict(item)
        pagination = page.get("pagination") or {}
        if not pagination.get("hasNextPage"):
            return out
        after = str(pagination["endCursor"])
    raise AssertionError(f"{path} never ended")


def ext(obj: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (obj.get("externalIds") or {}).items() if v is not None}


def members(tag: dict[str, Any], array: str) -> set[str]:
    return {str(m["id"]) for m in tag.get(array) or []}


class SyncSubject(Subject):
    """A reconciling Function: its runs are quiet once converged; its writes come from the request log."""

    storage = False  # it reads the FMC's lists from the FMC endpoint
    steps = (60, 900)
    writes: tuple[tuple[str, str], ...] = ()
    """The Function's writes to Samsara: (method, path prefix)."""
    write_targets: tuple[tuple[str, str], ...] = ()
    """Where write faults go: (method, path or endpoint template). Each gets one rule of one of
    :data:`WRITE_FAULTS` for the schedule, firing at random (a fifth to a half of the writes): the
    harness's counted rules would mostly be spent on the preflight's probe (``PATCH …/0``)."""
    streams: tuple[str, ...] = ()
    """The FMC streams it delivers to (identical re-deliveries are duplicates)."""
    fmc_lists: tuple[str, ...] = ()
    """FMC master lists it reads (``/fmc/v1/<list>``), fault targets."""

    def __init__(self) -> None:
        self.harness_seqs: list[tuple[int, int]] = []
        self._seq = 0
        self.fmc = (
            *Subject.fmc,
            *((f"/fmc/v1/{name}", "GET", ("429", "5xx", "reset")) for name in self.fmc_lists),
        )

    def sandbox_args(self, seed: int) -> tuple[str, ...]:
        args = list(super().sandbox_args(seed))
        args[args.index("--vehicles") + 1] = args[args.index("--drivers") + 1] = "24"
        return tuple(args)

    def begin(self, h: Harness) -> None:
        rules = []
        for method, path in self.write_targets:
            kind = h.rng.choice(WRITE_FAULTS)
            rule: dict[str, Any] = {"method": method, "path": path, "probability": h.rng.uniform(0.2, 0.5)}
            if kind == "429":
                rule |= {"kind": "status", "status": 429, "retryAfter": f"{h.rng.uniform(0.01, 0.2):.5f}"}
            elif kind == "fail_after_commit":
                rule |= {"kind": "fail_after_commit", "status": 503}
            else:
                rule |= {"kind": "reset"}
            rules.append(rule)
        if rules:
            h.sandbox.faults(*rules)

    # ---- the harness's own calls, kept apart from the Function's in the request log ------------
    def last_seq(self, h: Harness) -> int:
        log = h.sandbox.requests(self._seq)
        if log:
            self._seq = int(log[-1]["seq"])
        return self._seq

    def acting(self, h: Harness) -> _Acting:
        """``with self.acting(h): …``: the requests inside are the harness's."""
        return _Acting(self, h)

    def step(self, h: Harness) -> None:
        with self.acting(h):
            self.act(h)

    def act(self, h: Harness) -> None:
        """What changes on either side before a step's invocation (faults on)."""

    # ---- convergence -----------------------------------------------------------------------------
    def finished(self, h: Harness, summary: dict[str, Any]) -> bool:
        """Converged: the run itself planned nothing and delivered nothing."""
        sync = summary.get("sync") or {}
        return sync.get("planned") == {} and sync.get("delivered") == {}

    def function_writes(self, h: Harness, since: int = 0) -> list[dict[str, Any]]:
        """The Function's writes to its Samsara paths (not the preflight's probes, not the harness's)."""
        out = []
        for r in h.sandbox.requests(since):
            seq, path = int(r["seq"]), str(r["path"])
            if r["method"] == "GET" or path.rsplit("/", 1)[-1] == PROBE_ID:
                continue
            if not any(r["method"] == m and path.startswith(p) for m, p in self.writes):
                continue
            if any(a < seq <= b for a, b in self.harness_seqs):
                continue
            out.append(dict(r))
        return out

    def check_writes(self, h: Harness) -> None:
        """Writes that took effect; the same body applied twice in a row to one path is counted twice."""
        o = h.outcome
        applied = [r for r in self.function_writes(h) if int(r["status"]) in APPLIED]
        o.writes += len(applied)
        last: dict[str, str] = {}
        for r in applied:
            path, digest = str(r["path"]), str(r.get("bodyDigest"))
            if r["method"] != "POST" and last.get(path) == digest:
                o.twice += 1
            last[path] = digest
        posts = Counter(str(r.get("bodyDigest")) for r in applied if r["method"] == "POST")
        o.twice += sum(n - 1 for n in posts.values())  # the same create applied twice

    def check_quiet(self, h: Harness) -> None:
        """A run after convergence plans nothing and writes nothing."""
        o = h.outcome
        since = self.last_seq(h)
        summary = h.invoke()
        sync = summary.get("sync") or {}
        o.unexpected += sum(int(n) for n in (sync.get("planned") or {}).values())
        o.unexpected += len(self.function_writes(h, since))
        if not summary.get("ok"):
            o.unhandled.append(f"the quiet run failed: {summary.get('message')}")

    def check_deliveries(self, h: Harness) -> None:
        h.outcome.duplicated += sum(int(h.sandbox.fmc_summary(s)["duplicates"]) for s in self.streams)

    def check(self, h: Harness) -> None:
        self.check_links(h)
        self.check_writes(h)
        self.check_deliveries(h)
        self.check_quiet(h)

    def check_links(self, h: Harness) -> None:
        raise NotImplementedError


class _Acting:
    def __init__(self, subject: SyncSubject, h: Harness) -> None:
        self.subject, self.h = subject, h

    def __enter__(self) -> None:
        self.start = self.subject.last_seq(self.h)

    def __exit__(self, *exc: object) -> None:
        self.subject.harness_seqs.append((self.start, self.subject.last_seq(self.h)))


class LinkSubject(SyncSubject):
    """Objects linked by one external ID key, checked against ``/__sandbox/truth/<domain>``: every true
    pair linked on both sides (or held for review, as the matcher reports a contested pair), nothing
    else linked, the two sides agreeing."""

    collection = "/fleet/vehicles"
    truth_path = "/__sandbox/truth/vehicles"
    link_stream = "vehicle_links"
    key = "fmcId"
    removed: set[str]

    def __init__(self) -> None:
        super().__init__()
        self.removed = set()

    def true_pairs(self, h: Harness) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        """The true (samsara id, fmc id) pairs, and the pairs a review may hold back (a stale
        duplicate's current record)."""
        pairs = h.sandbox.get(self.truth_path)["data"]["pairs"]
        true = {(str(p["samsaraId"]), str(p["fmcId"])) for p in pairs if p["expect"] == "link"}
        review = {
            (str(p["sameVehicleAs"]), str(p["duplicateOf"]))
            for p in pairs
            if p["expect"] == "review" and p.get("duplicateOf")
        }
        return true, review

    def check_links(self, h: Harness) -> None:
        o = h.outcome
        true, review = self.true_pairs(h)
        true = {(s, f) for s, f in true if f not in self.removed}
        samsara = {
            (sid, ext(v)[self.key]) for sid, v in records(h, self.collection).items() if self.key in ext(v)
        }
        fmc = {
            (str(r["record"]["samsaraId"]), str(r["id"]))
            for r in h.sandbox.fmc_records(self.link_stream)
            if r["record"].get("status", "linked") == "linked"
        }
        held = {
            str(r["record"]["recordId"])
            for r in h.sandbox.fmc_records("sync_reports")
            if r["record"]["status"] == "review"
        }
        both = samsara & fmc
        o.truth += len(true)
        o.delivered += len(both & true)
        o.lost += sum(1 for s, f in true - both if not ((s, f) in review and (s in held or f in held)))
        o.unexpected += len(samsara - true) + len(samsara ^ fmc)  # false links; one side only


class VehicleSync(LinkSubject):
    """vehicle-sync: links written back once each; the FMC's ``vehicle.updated`` changes (a new unit
    number and plate, never one seen before) reach the linked vehicle, each with its outcome delivered
    back; a vehicle the FMC removes is unlinked on both sides."""

    function = "vehicle-sync"
    samsara = (
        ("/fleet/vehicles", "GET", (*READ_FAULTS, "empty_page", "repeat_records")),
        ("/fleet/vehicles/{id}", "GET", READ_FAULTS),
        ("/me", None, ("5xx",)),
    )
    writes = (("PATCH", "/fleet/vehicles/"),)
    write_targets = (("PATCH", "/fleet/vehicles/{id}"),)
    streams = ("vehicle_links", "sync_reports", "write_outcomes")
    fmc_lists = ("vehicles",)

    def __init__(self) -> None:
        super().__init__()
        self.changes: dict[str, tuple[str, dict[str, str]]] = {}  # fmc id -> its latest change
        self.scripted: list[tuple[str, str]] = []  # every change: (change id, fmc id)
        self.fmc = (
            *self.fmc,
            ("/fmc/v1/changes", "GET", ("429", "5xx", "reset", "empty_page", "repeat_records")),
        )

    def act(self, h: Harness) -> None:
        # Changes to vehicles linked by now (a change to one still held for review could make the
        # FMC's list disagree with the truth: a new plate on the current record of a re-registered one).
        vehicles = records(h, self.collection).values()
        linked = sorted(
            ext(v)[self.key] for v in vehicles if ext(v).get(self.key) not in (None, *self.removed)
        )
        if not linked:
            return
        if h.rng.random() < 0.6:
            fid = h.rng.choice(linked)
            n = len(self.changes) + len(self.removed) + 1
            data = {
                "unitNumber": f"UNIT {h.seed % 1000:03d}{n:02d}",
                "licensePlate": f"HX{h.seed % 1000:03d}{n:02d}",
            }
            change = h.sandbox.admin(
                "POST", "/__sandbox/fmc/changes", {"type": "vehicle.updated", "data": {"fmcId": fid, **data}}
            )
            self.changes[fid] = (str(change["id"]), data)
            self.scripted.append((str(change["id"]), fid))
        if not self.removed and h.rng.random() < 0.15:  # one: the brake allows a tenth of the links
            fid = h.rng.choice(linked)
            h.sandbox.admin(
                "POST", "/__sandbox/fmc/changes", {"type": "vehicle.removed", "data": {"fmcId": fid}}
            )
            self.removed.add(fid)
            self.changes.pop(fid, None)

    def check_links(self, h: Harness) -> None:
        super().check_links(h)
        o = h.outcome
        vehicles = records(h, "/fleet/vehicles")
        by_fmc = {ext(v)[self.key]: v for v in vehicles.values() if self.key in ext(v)}
        applied = {str(c["id"]): bool(c["applied"]) for c in h.sandbox.get("/__sandbox/fmc/changes")["data"]}
        # Every change to a linked vehicle has its outcome delivered back (``applied``, or ``already``
        # when an interrupted run's write had applied it), like a ledger's: one missing counts as a
        # change applied without its outcome.
        outcomes = {str(r["id"]): r["record"] for r in h.sandbox.fmc_records("write_outcomes")}
        for change, fid in self.scripted:
            if fid in by_fmc and fid not in self.removed:
                out = outcomes.get(f"change:{change}")
                o.twice += out is None or out["status"] not in ("applied", "already")
        for fid, (change, data) in self.changes.items():
            if fid not in by_fmc:
                continue  # not linked (held for review): its changes wait for the link
            o.truth += 1
            v = by_fmc[fid]
            done = applied.get(change) and (v.get("name"), v.get("licensePlate")) == (
                data["unitNumber"],
                data["licensePlate"],
            )
            o.delivered += bool(done)
            o.lost += not done
        for fid in self.removed:  # unlinked on both sides
            o.lost += fid in by_fmc
            links = {str(r["id"]): r["record"] for r in h.sandbox.fmc_records(self.link_stream)}
            o.lost += fid in links and links[fid].get("status") != "unlinked"


class TagSync(SyncSubject):
    """tag-sync: the FMC's organisation against ``/__sandbox/truth/tags``; vehicles linked before the
    first run (vehicle-sync's work), drivers linked a few at a time during the schedule (driver-sync's);
    the FMC moves members between tags, the dashboard adds members the FMC does not manage (and a
    driver carrying an id the FMC does not list) and creates a tag of its own."""

    function = "tag-sync"
    samsara = (
        ("/tags", "GET", (*READ_FAULTS, "empty_page", "repeat_records")),
        ("/tags/{id}", "GET", READ_FAULTS),
        ("/fleet/vehicles", "GET", READ_FAULTS),
        ("/fleet/drivers", "GET", READ_FAULTS),
        ("/me", None, ("5xx",)),
    )
    writes = (("POST", "/tags"), ("PATCH", "/tags/"))
    write_targets = (("POST", "/tags"), ("PATCH", "/tags/{id}"))
    streams = ("tag_links", "write_outcomes")
    fmc_lists = ("tags", "vehicles", "drivers")

    def __init__(self) -> None:
        super().__init__()
        self.initial: dict[str, dict[str, set[str]]] = {}  # samsara tag -> array -> members
        self.added: dict[str, dict[str, set[str]]] = {}  # by the dashboard
        self.own_tags: dict[str, dict[str, Any]] = {}  # created in the dashboard
        self.waiting: list[tuple[str, str]] = []  # driver pairs driver-sync has not linked yet
        self.never: list[str] = []  # drivers never linked (FMC-only in Samsara, or held back)

    def params(self, h: Harness) -> dict[str, str]:
        return {"maxUnassignPercent": "50"}  # the brake has tests of its own; moves here are intended

    def prepare(self, h: Harness) -> None:
        """Vehicles linked as vehicle-sync links them; a third of the drivers as driver-sync would
        (the rest during the schedule, but for a few that never are)."""
        with self.acting(h):
            for p in h.sandbox.get("/__sandbox/truth/vehicles")["data"]["pairs"]:
                if p["expect"] == "link":
                    body = {"externalIds": {"fmcId": p["fmcId"]}}
                    call(h, "PATCH", f"/fleet/vehicles/{p['samsaraId']}", body)
            truth = h.sandbox.get("/__sandbox/truth/drivers")["data"]
            pairs = sorted(
                (str(p["samsaraId"]), str(p["fmcId"])) for p in truth["pairs"] if p["expect"] == "link"
            )
            h.rng.shuffle(pairs)
            self.never = [str(s) for s in truth["samsaraOnly"]] + [s for s, _ in pairs[:3]]
            now, self.waiting = pairs[3 : 3 + len(pairs) // 3], pairs[3 + len(pairs) // 3 :]
            for sid, fid in now:
                call(h, "PATCH", f"/fleet/drivers/{sid}", {"externalIds": {"fmcId": fid}})
            for tid, t in records(h, "/tags").items():
                self.initial[tid] = {a: members(t, a) for a in ("vehicles", "drivers", "assets")}

    def act(self, h: Harness) -> None:
        r = h.rng
        for _ in range(r.randint(0, 3)):  # driver-sync links a few more
            if self.waiting:
                sid, fid = self.waiting.pop()
                call(h, "PATCH", f"/fleet/drivers/{sid}", {"externalIds": {"fmcId": fid}})
        fmc = {str(t["id"]): t for t in fmc_get(h, "/fmc/v1/tags")["data"]} if r.random() < 0.6 else {}
        if fmc:  # the FMC moves a member from one tag to another
            array = r.choice(["vehicles", "drivers"])
            holders = sorted(f for f, t in fmc.items() if t.get(array))
            if len(holders) >= 2:
                src, dst = r.sample(holders, 2)
                member = r.choice(fmc[src][array])
                for fid, ids in (
                    (src, [x for x in fmc[src][array] if x != member]),
                    (dst, [*fmc[dst][array], member]),
                ):
                    body = {"type": "tag.updated", "data": {"fmcId": fid, array: list(dict.fromkeys(ids))}}
                    h.sandbox.admin("POST", "/__sandbox/fmc/changes", body)
        if r.random() < 0.3:  # a rename
            fid = r.choice(sorted(self.initial_fmc(h)))
            body = {
                "type": "tag.updated",
                "data": {"fmcId": fid, "name": f"Renamed {h.seed}-{len(self.harness_seqs)}"},
            }
            h.sandbox.admin("POST", "/__sandbox/fmc/changes", body)
        if r.random() < 0.5:
            self.dashboard_member(h)
        if r.random() < 0.2 and not self.own_tags:
            self.dashboard_tag(h)

    def initial_fmc(self, h: Harness) -> set[str]:
        return {str(p["fmcId"]) for p in h.sandbox.get("/__sandbox/truth/tags")["data"]["pairs"]}

    def dashboard_member(self, h: Harness) -> None:
        """Someone adds a vehicle with no FMC id, a driver not linked, or a driver carrying an id the
        FMC does not list, to a tag the FMC has (PATCH with the whole array, as the API wants)."""
        r = h.rng
        pairs = h.sandbox.get("/__sandbox/truth/tags")["data"]["pairs"]
        tid = str(r.choice([p for p in pairs if p["samsaraId"]])["samsaraId"])
        kind = r.choice(["vehicle", "driver", "stray"])
        if kind == "vehicle":
            pool = [str(s) for s in h.sandbox.get("/__sandbox/truth/vehicles")["data"]["samsaraOnly"]]
            array = "vehicles"
        else:
            pool, array = list(self.never), "drivers"
        if not pool:
            return
        member = r.choice(pool)
        if kind == "stray":
            stray = f"FMCX{h.seed % 1000:03d}{member[-4:]}"
            call(h, "PATCH", f"/fleet/drivers/{member}", {"externalIds": {"fmcId": stray}})
        tag = call(h, "GET", f"/tags/{tid}")["data"]
        call(h, "PATCH", f"/tags/{tid}", {array: sorted(members(tag, array) | {member})})
        self.added.setdefault(tid, {}).setdefault(array, set()).add(member)

    def dashboard_tag(self, h: Harness) -> None:
        """A tag of the dashboard's own, with a vehicle: tag-sync never touches it."""
        vehicles = [str(s) for s in h.sandbox.get("/__sandbox/truth/vehicles")["data"]["samsaraOnly"]]
        name = f"Dashboard {h.seed}"
        body: dict[str, Any] = {"name": name, "vehicles": vehicles[:1]}
        try:
            tag = call(h, "POST", "/tags", body)["data"]
        except urllib.error.HTTPError as e:  # its answer was lost and the harness sent it again
            e.close()
            if e.code != 400:
                raise
            tag = next(t for t in records(h, "/tags").values() if t["name"] == name)
        self.own_tags[str(tag["id"])] = {"name": name, "vehicles": set(vehicles[:1])}

    def check_links(self, h: Harness) -> None:
        o = h.outcome
        tags = records(h, "/tags")
        fmc = {str(t["id"]): t for t in h.sandbox.get("/fmc/v1/tags")["data"]}
        links = {str(r["id"]): r["record"] for r in h.sandbox.fmc_records("tag_links")}
        carrying: dict[str, list[str]] = {}
        for tid, t in tags.items():
            if "fmcTagId" in ext(t):
                carrying.setdefault(ext(t)["fmcTagId"], []).append(tid)
        # Every FMC tag linked on both sides: the truth's counterpart, or the one tag created for it.
        pairs = h.sandbox.get("/__sandbox/truth/tags")["data"]["pairs"]
        for p in pairs:
            fid = str(p["fmcId"])
            held = carrying.get(fid, [])
            o.truth += 1
            want = str(p["samsaraId"]) if p["expect"] == "link" else (held[0] if len(held) == 1 else None)
            ok = want is not None and held == [want] and links.get(fid, {}).get("samsaraId") == want
            o.delivered += ok
            o.lost += not ok
            o.duplicated += max(0, len(held) - 1)
        o.unexpected += sum(len(v) for f, v in carrying.items() if f not in fmc)  # linked to no FMC tag
        names = Counter(str(t["name"]) for t in tags.values())
        o.duplicated += sum(n - 1 for n in names.values())
        creates = [
            r for r in self.function_writes(h) if r["method"] == "POST" and int(r["status"]) in (200, 503)
        ]
        o.duplicated += max(0, len(creates) - sum(1 for p in pairs if p["expect"] == "create"))
        # Names and parents are the FMC's.
        sid_of = {f: v[0] for f, v in carrying.items() if len(v) == 1}
        for fid, ft in fmc.items():
            st = tags.get(sid_of.get(fid, ""))
            if st is None:
                continue
            parent = sid_of.get(str(ft.get("parentId"))) if ft.get("parentId") else None
            o.lost += st["name"] != ft["name"] or (st.get("parentTagId") or None) != parent
        # Membership: the FMC's managed members exactly; everything it does not manage kept.
        listed_v = {str(v["id"]) for v in h.sandbox.get("/fmc/v1/vehicles")["data"]}
        listed_d = {str(d["id"]) for d in h.sandbox.get("/fmc/v1/drivers")["data"]}
        managed = {
            "vehicles": {
                ext(v)["fmcId"]: s
                for s, v in records(h, "/fleet/vehicles").items()
                if ext(v).get("fmcId") in listed_v
            },
            "drivers": {
                ext(d)["fmcId"]: s
                for s, d in records(h, "/fleet/drivers").items()
                if ext(d).get("fmcId") in listed_d
            },
        }
        for fid, ft in fmc.items():
            mt = tags.get(sid_of.get(fid, ""))
            if mt is None:
                continue
            for array, by_fmc in managed.items():
                if array not in ft:
                    continue
                want_m = {by_fmc[x] for x in ft[array] if x in by_fmc}
                o.truth += len(want_m)
                have = members(mt, array) & set(by_fmc.values())
                o.delivered += len(want_m & have)
                o.lost += len(want_m ^ have)
        for tid, t in tags.items():
            for array in ("vehicles", "drivers", "assets"):
                mine = set(managed.get(array, {}).values())
                keep = (
                    self.initial.get(tid, {}).get(array, set()) | self.added.get(tid, {}).get(array, set())
                ) - mine
                o.lost += len(keep - members(t, array))  # a member outside the FMC's scope dropped
        for tid, own in self.own_tags.items():
            ot = tags.get(tid)
            o.lost += ot is None or ot["name"] != own["name"] or members(ot, "vehicles") != own["vehicles"]
            o.unexpected += ot is not None and "fmcTagId" in ext(ot)


SYNC_SUBJECTS: dict[str, type[Subject]] = {"vehicle-sync": VehicleSync, "tag-sync": TagSync}
"""What :data:`tests.support.convergence.SUBJECTS` builds for these Functions."""

__all__ = ["SYNC_SUBJECTS", "LinkSubject", "SyncSubject", "TagSync", "VehicleSync", "call", "records"]


class DriverSync(LinkSubject):
    """driver-sync: every true pair of the roster linked on both sides (or held for review); an FMC
    driver the truth pairs with no one (a namesake, a new hire) is never linked to a driver that was
    already there, only to one the Function created for it, once; every Samsara driver has its
    ``driver_link`` at the FMC; ``driver.updated`` changes reach the linked driver with their outcome
    delivered back."""

    function = "driver-sync"
    collection, truth_path, link_stream = "/fleet/drivers", "/__sandbox/truth/drivers", "driver_links"
    samsara = (
        ("/fleet/drivers", "GET", (*READ_FAULTS, "empty_page", "repeat_records")),
        ("/fleet/drivers/{id}", "GET", READ_FAULTS),
        ("/me", None, ("5xx",)),
    )
    writes = (("POST", "/fleet/drivers"), ("PATCH", "/fleet/drivers/"))
    write_targets = (("POST", "/fleet/drivers"), ("PATCH", "/fleet/drivers/{id}"))
    streams = ("driver_links", "sync_reports", "write_outcomes")
    fmc_lists = ("drivers",)

    def __init__(self) -> None:
        super().__init__()
        self.before: set[str] = set()
        self.dashboard: set[str] = set()
        self.changes: dict[str, tuple[str, str]] = {}  # fmc id -> (change id, new phone)
        self.fmc = (
            *self.fmc,
            ("/fmc/v1/changes", "GET", ("429", "5xx", "reset", "empty_page", "repeat_records")),
        )

    def prepare(self, h: Harness) -> None:
        super().prepare(h)
        self.before = set(self.drivers(h))

    def drivers(self, h: Harness) -> dict[str, dict[str, Any]]:
        """Every driver, deactivated ones too (a list shows active ones unless asked)."""
        gone = records(h, self.collection, {"driverActivationStatus": "deactivated"})
        return {**records(h, self.collection), **gone}

    def act(self, h: Harness) -> None:
        drivers = records(h, self.collection).values()
        linked = sorted(ext(d)[self.key] for d in drivers if ext(d).get(self.key))
        if linked and h.rng.random() < 0.5:
            fid = h.rng.choice(linked)
            phone = f"(555) {h.seed % 1000:03d}-{len(self.changes) + 1:04d}"
            change = h.sandbox.admin(
                "POST",
                "/__sandbox/fmc/changes",
                {"type": "driver.updated", "data": {"fmcId": fid, "phone": phone}},
            )
            self.changes[fid] = (str(change["id"]), phone)
        if h.rng.random() < 0.3:  # a driver added in the dashboard: the FMC gets its link record
            n = len(self.dashboard) + 1
            body = {
                "name": f"Dash Hire {h.seed}-{n}",
                "username": f"dash{h.seed}x{n}",
                "password": "dashboard-pw-1",
            }
            try:
                self.dashboard.add(str(call(h, "POST", self.collection, body)["data"]["id"]))
            except urllib.error.HTTPError as e:  # created by a try whose answer a fault broke
                if e.code != 400:
                    raise
                e.close()
                made = [i for i, d in self.drivers(h).items() if d.get("username") == body["username"]]
                self.dashboard.update(made)

    def check_links(self, h: Harness) -> None:
        o = h.outcome
        pairs = h.sandbox.get(self.truth_path)["data"]["pairs"]
        true = {(str(p["samsaraId"]), str(p["fmcId"])) for p in pairs if p["expect"] == "link"}
        unpaired = {str(p["fmcId"]) for p in pairs if p["expect"] != "link"}
        drivers = self.drivers(h)
        samsara = {(sid, ext(d)[self.key]) for sid, d in drivers.items() if self.key in ext(d)}
        links = {str(r["id"]): r["record"] for r in h.sandbox.fmc_records(self.link_stream)}
        fmc = {(sid, str(r["fmcId"])) for sid, r in links.items() if r["status"] == "linked"}
        held = {
            str(r["record"]["recordId"])
            for r in h.sandbox.fmc_records("sync_reports")
            if r["record"]["status"] == "review"
        }
        both = samsara & fmc
        o.truth += len(true)
        o.delivered += len(both & true)
        o.lost += sum(1 for s, f in true - both if s not in held and f not in held)
        # A driver the Function created for an FMC-only roster entry is that entry's own link; any
        # other link that is not a true pair is a false one.
        created = {s for s, f in samsara if s not in self.before and s not in self.dashboard}
        o.unexpected += sum(1 for s, f in samsara - true if not (s in created and f in unpaired))
        o.unexpected += len(samsara ^ fmc)  # linked on one side only
        o.duplicated += len(created) - len({f for s, f in samsara if s in created})
        o.lost += len(set(drivers) - links.keys())  # a Samsara driver the FMC never heard of
        by_fmc = {ext(d)[self.key]: d for d in drivers.values() if self.key in ext(d)}
        outcomes = {str(r["id"]): r["record"] for r in h.sandbox.fmc_records("write_outcomes")}
        for fid, (change, phone) in self.changes.items():
            if fid not in by_fmc:
                continue
            o.truth += 1
            out = outcomes.get(f"change:{change}")
            o.twice += out is None or out["status"] not in ("applied", "already")
            done = (by_fmc[fid].get("phone") or "").endswith(phone[-4:])
            o.delivered += done
            o.lost += not done
