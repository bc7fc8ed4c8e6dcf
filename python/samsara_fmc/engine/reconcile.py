"""The ``reconcile`` driver: two-way master data as a plan, checked, then applied exactly once.

A domain (vehicles, tags, …) gives a ``plan(ctx)`` function that reads both sides and returns a
:class:`Plan`: the writes to Samsara (:class:`Action`: links written back, updates of owned fields,
unlinks, deactivations), and the records the FMC should hold afterwards (links, reports). The driver
then, in order:

1. **dry run** (``dry_run=True``): delivers the plan as ``sync_plan`` records to ``sync_plans`` and
   stops; nothing is written to Samsara, no link or report is delivered, the state is not saved;
2. **safety brake**: a plan whose destructive actions (``unlink``, ``deactivate``, ``unassign``,
   ``delete``) exceed :attr:`Brake.max_share` of the domain is refused with a
   :class:`SafetyBrakeError` before any write;
3. **apply**: each write as the ``ledger`` driver does it: the intent is saved before the write and
   the outcome after it; a write whose intent is saved but whose outcome is not (a crash, a lost
   answer, the platform's retry) is read back (``verify``) before anything is sent again, and a
   transient failure is read back before the next attempt. Writes go in chunks (``chunk``): the
   intents of a chunk are saved in one state save before any of its writes, its writes are sent
   ``parallel`` at a time (one target's in order), its outcomes saved in one save after them; a state
   of thousands of links is then saved twice per chunk, not per write. Outcomes are
   ``write_outcome`` records, kept in the state until delivered to ``write_outcomes``;
4. **deliver**: the plan's records, less those the FMC already holds as they are (a digest per record
   id in the state), each batch under a key made of its content, so a re-delivery after a crash is a
   replay the FMC answers from its first copy;
5. **commit**: the plan's ``commit`` updates the domain's own state (links, cursors, digests), saved.

A second run over unchanged data plans nothing: the plan is computed from both sides as they are, so
a write already applied is not planned again, and records already delivered are left out. State::

    {"intents": {"<action key>": {"at", "attempts"}},   # a write was (maybe) sent
     "outbox": {"<action key>": {write_outcome}},        # outcomes not yet delivered
     "sent": {"<stream>": {"<record id>": "<digest>"}},  # what the FMC holds, as delivered
     ...}                                                 # the domain's own keys (``Plan.commit``)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from samsara_fmc.engine._util import Clock, iso, utc_now
from samsara_fmc.engine.core import StreamContext
from samsara_fmc.exceptions import (
    ApiError,
    ApiStatusError,
    BadRequestError,
    ConfigurationError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from samsara_fmc.sinks import Batch

if TYPE_CHECKING:
    from samsara_fmc.engine.core import Stream
    from samsara_fmc.engine.runner import RunContext

__all__ = [
    "DESTRUCTIVE",
    "OWNERS",
    "PLAN_STREAM",
    "Action",
    "Brake",
    "Ownership",
    "Plan",
    "PlanReport",
    "ReconcileDriver",
    "SafetyBrakeError",
    "already_outcome",
    "external_ids_of",
    "record_digest",
    "run_reconcile",
]

DESTRUCTIVE = frozenset({"unlink", "deactivate", "unassign", "delete"})
"""Action kinds the safety brake counts: each undoes something on one side."""

OWNERS = ("fmc", "samsara")
"""Who may own a field: its value flows from the owner to the other side, never back."""

PLAN_STREAM = "sync_plans"
"""Where a dry run's plan goes, as ``sync_plan`` records."""

OUTCOMES_STREAM = "write_outcomes"

_REFUSED = (BadRequestError, NotFoundError)
_TRANSIENT = (ServerError, TransportError, RateLimitError)


class SafetyBrakeError(ConfigurationError):
    """A plan would deactivate, unassign, unlink or delete more than the allowed share of a domain;
    refused before any write (a retry would plan the same, so it is not retried)."""


@dataclass(frozen=True)
class Ownership:
    """Which side owns each synchronised field: ``{"name": "fmc", "gateway": "samsara", …}``.

    A field owned by the FMC is written to Samsara when the FMC changes it; a field owned by Samsara
    flows to the FMC in the link records and is never written to Samsara. ``fixed`` fields cannot be
    given to the other side (Samsara's gateway serial is the device's).
    """

    owners: Mapping[str, str]
    fixed: frozenset[str] = frozenset()

    @classmethod
    def parse(
        cls,
        text: str | None,
        defaults: Mapping[str, str],
        *,
        fixed: Iterable[str] = (),
        param: str = "ownership",
    ) -> Ownership:
        """``defaults`` overridden by ``text`` (``field:owner`` pairs, comma-separated:
        ``licensePlate:samsara,notes:fmc``).

        Raises:
            ConfigurationError: An unknown field or owner, a malformed pair, or a fixed field moved;
                the message names the value and what is allowed.
        """
        owners = dict(defaults)
        frozen = frozenset(fixed)
        for part in (p.strip() for p in (text or "").split(",")):
            if not part:
                continue
            name, sep, owner = (s.strip() for s in part.partition(":"))
            known = ", ".join(f"`{k}`" for k in defaults)
            if not sep or name not in defaults:
                msg = f"parameter `{param}` has `{part}`: use `field:owner` pairs, fields {known}"
                raise ConfigurationError(msg)
            if owner not in OWNERS:
                msg = f"parameter `{param}` has `{part}`: the owner must be `fmc` or `samsara`"
                raise ConfigurationError(msg)
            if name in frozen and owner != defaults[name]:
                msg = (
                    f"parameter `{param}` has `{part}`: `{name}` is always owned by "
                    f"`{defaults[name]}`; leave it out"
                )
                raise ConfigurationError(msg)
            owners[name] = owner
        return cls(owners=owners, fixed=frozen)

    def owner(self, name: str) -> str:
        """The side that owns ``name``."""
        return self.owners[name]

    def owned_by(self, side: str) -> list[str]:
        """The fields ``side`` owns, in configuration order."""
        return [k for k, v in self.owners.items() if v == side]


@dataclass(frozen=True)
class Brake:
    """Refuses a plan whose destructive actions exceed ``max_share`` of the domain's size.

    Attributes:
        max_share: 0 to 1; ``0`` refuses any destructive action, ``1`` never refuses.
        param: The event parameter that sets it, for the message.
    """

    max_share: float = 0.1
    param: str = "maxDestructivePercent"

    def check(self, plan: Plan) -> None:
        """Raises :class:`SafetyBrakeError` when ``plan`` is over the brake."""
        tripped = self.tripped(plan)
        if tripped is None:
            return
        count, allowed = tripped
        kinds = sorted({a.kind for a in plan.actions if a.kind in DESTRUCTIVE})
        share = count / max(plan.size, 1)
        msg = (
            f"safety brake: the {plan.domain} plan would {'/'.join(kinds)} {count} of {plan.size} "
            f"({share:.0%}), more than the {self.max_share:.0%} allowed ({allowed:g}); nothing was "
            f"written. Check the other side's list (an empty or partial export looks like this), run "
            f"with `dryRun=true` to see the plan, or raise `{self.param}` if the change is intended"
        )
        raise SafetyBrakeError(msg)

    def tripped(self, plan: Plan) -> tuple[int, float] | None:
        """``(destructive actions, allowed)`` when ``plan`` is over the brake, else ``None``."""
        count = sum(a.weight for a in plan.actions if a.kind in DESTRUCTIVE)
        allowed = self.max_share * plan.size
        return (count, allowed) if count > allowed else None


@dataclass(frozen=True)
class Action:
    """One write of a plan.

    Attributes:
        kind: ``link`` (a shared ID written back), ``update`` (owned fields), ``unlink``,
            ``deactivate``, ``unassign``, ``delete`` or ``create``.
        key: Stable across runs for the same write: the intent's key, the outcome's ``changeId``.
        target: What is written: ``{"kind", "samsaraId", "fmcId"}``.
        fields: The fields written, as sent (for the plan record and the outcome).
        reason: Why the plan has it, one sentence.
        apply: Sends the write; returns the answer. Refusals (400, 404) make the action ``rejected``.
        verify: Reads Samsara back: a sentence saying how it already reflects the write, or ``None``.
        weight: How many objects it undoes, for the brake (a PATCH removing three tag members: 3).
    """

    kind: str
    key: str
    target: Mapping[str, Any]
    fields: Mapping[str, Any]
    reason: str
    apply: Callable[[float], Any]
    verify: Callable[[float], str | None]
    weight: int = 1


@dataclass
class Plan:
    """What a run would do for one domain.

    Attributes:
        domain: ``vehicles``, ``tags``, …
        size: How many objects of the domain are under sync (the brake's denominator, in the unit of
            the actions' ``weight``: vehicles linked, tag memberships managed).
        actions: The writes to Samsara, in order.
        records: Per FMC stream, the records the FMC should hold (links, reports); those it already
            holds as they are are left out by the driver.
        commit: Updates the driver state's domain keys once everything is applied and delivered;
            it gets the state and the keys of the actions that were ``rejected``.
        after: ``"<stream>\\x00<record id>"`` → the key of the action the record waits for: a record
            whose action was ``rejected`` is not delivered (its link was not written).
        late: Records known only once the writes are applied (a created object's new ID): called with
            the ``rejected`` keys after the writes, its records are delivered with the others.
        summary: Counts for the run's summary (matched, awaiting installation, …).
    """

    domain: str
    size: int
    actions: list[Action] = field(default_factory=list)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    commit: Callable[[dict[str, Any], set[str]], None] | None = None
    after: dict[str, str] = field(default_factory=dict)
    late: Callable[[set[str]], dict[str, list[dict[str, Any]]]] | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Actions by kind."""
        out: dict[str, int] = {}
        for a in self.actions:
            out[a.kind] = out.get(a.kind, 0) + 1
        return out


@dataclass
class PlanReport:
    """What the driver did with its plan, for the run's summary (filled during the run)."""

    dry_run: bool = False
    actions: dict[str, int] = field(default_factory=dict)
    applied: int = 0
    already: int = 0
    rejected: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, camelCase."""
        return {
            "dryRun": self.dry_run,
            "planned": self.actions,
            "applied": self.applied,
            "already": self.already,
            "rejected": self.rejected,
            "delivered": self.delivered,
            **self.details,
        }


def run_reconcile(ctx: RunContext, declared: Sequence[Stream], report: PlanReport) -> dict[str, Any]:
    """One run of a reconciling Function: plan, brake, apply, deliver (or, with ``dryRun``, the plan
    only; a dry run never resets); the summary carries the plan's report under ``sync``."""
    from samsara_fmc.engine.runner import run_streams

    reset = bool(ctx.params.get("reset")) and not ctx.params.get("dryRun")
    return {**run_streams(ctx, declared, reset=reset), "sync": report.as_dict()}


def external_ids_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """An object's ``externalIds`` as text, keys with no value left out (``{}`` when it has none)."""
    e = obj.get("externalIds")
    return {str(k): str(v) for k, v in e.items() if v is not None} if isinstance(e, Mapping) else {}


def already_outcome(kind: str, target_id: str, change_id: str, fields: Sequence[str]) -> dict[str, Any]:
    """The ``write_outcome`` of an FMC ``<kind>.updated`` change whose FMC-owned ``fields`` Samsara
    already shows (set there before, or written by a run that stopped before delivering the
    outcome): ``already``, so the FMC still hears of every change."""
    shown = ", ".join(f"`{f}`" for f in fields)
    return {
        "id": f"change:{change_id}",
        "schemaVersion": 1,
        "changeId": f"change:{change_id}",
        "type": f"{kind}.update",
        "target": {"kind": kind, "id": target_id},
        "status": "already",
        "reason": f"Samsara already shows the FMC's {shown}: nothing was written",
        "samsaraResponse": None,
        "at": iso(utc_now()),
    }


def record_digest(record: Mapping[str, Any]) -> str:
    """A short digest of a record's content (what the state keeps to know the FMC holds it)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class ReconcileDriver:
    """Plans one domain from both sides, checks the brake, applies the writes once, delivers.

    Attributes:
        plan: Reads both sides and returns the :class:`Plan` (see the module docstring).
        brake: The safety brake.
        report: Filled with what the run planned and did (the integration puts it in its summary).
        dry_run: Deliver the plan as records and write nothing.
        attempts: Writes per action per run before it fails the run (each after a read-back).
        clock: The current time, for outcomes and plan records.
        chunk: Writes whose intents are saved together (one state save before them, one after).
        parallel: Writes sent at once within a chunk (one target's writes stay in order).
        flush_every: Outcomes waiting in the state that are delivered before the next chunk: the
            state saved around each chunk then stays small (kept whole, 12,000 outcomes made each
            save megabytes and a 12,000-driver run quadratic).
    """

    plan: Callable[[StreamContext], Plan]
    brake: Brake = Brake()
    report: PlanReport = field(default_factory=PlanReport)
    dry_run: bool = False
    attempts: int = 2
    clock: Clock = utc_now
    chunk: int = 64
    parallel: int = 8
    flush_every: int = 512

    def run(self, ctx: StreamContext) -> bool:
        st = ctx.state.state
        st.setdefault("intents", {})
        st.setdefault("outbox", {})
        st.setdefault("sent", {})
        if st["outbox"] and not self.dry_run:
            self._flush(ctx)
        plan = self.plan(ctx)
        self.report.dry_run = self.dry_run
        self.report.actions = plan.counts()
        self.report.details.update(plan.summary)
        if self.dry_run:
            self._deliver_plan(ctx, plan)
            return True
        self.brake.check(plan)
        rejected: set[str] = set()
        planned = {a.key for a in plan.actions}
        for first in range(0, len(plan.actions), self.chunk):
            ctx.check_deadline()
            chunk = plan.actions[first : first + self.chunk]
            rejected |= self._apply_chunk(ctx, chunk)
            if len(st["outbox"]) >= self.flush_every:
                self._flush(ctx)
        # An intent the plan no longer has was applied (or made moot) by a run that did not save it.
        st["intents"] = {k: v for k, v in st["intents"].items() if k in planned}
        self._flush(ctx)
        deliveries = {k: list(v) for k, v in plan.records.items()}
        if plan.late is not None:
            for stream, late in plan.late(rejected).items():
                deliveries.setdefault(stream, []).extend(late)
        for stream, records in deliveries.items():
            kept = [r for r in records if plan.after.get(f"{stream}\x00{r['id']}") not in rejected]
            self._deliver(ctx, stream, kept)
        if plan.commit is not None:
            plan.commit(st, rejected)
        ctx.commit()
        return True

    def _apply_chunk(self, ctx: StreamContext, chunk: Sequence[Action]) -> set[str]:
        """Applies ``chunk``: the intents of all its writes saved first (one save), the writes sent in
        parallel (one target's writes in order, by one worker), then the outcomes saved (one save).
        Returns the keys of the ``rejected`` actions; raises the first error once the rest is saved."""
        st = ctx.state.state
        sent_before = {a.key for a in chunk if a.key in st["intents"]}
        at = iso(self.clock())
        for a in chunk:
            st["intents"][a.key] = {
                "at": at,
                "attempts": int(st["intents"].get(a.key, {}).get("attempts", 0)) + 1,
            }
        ctx.commit()
        by_target: dict[str, list[Action]] = {}
        for a in chunk:
            by_target.setdefault(str(a.target.get("samsaraId")), []).append(a)

        def work(actions: list[Action]) -> list[tuple[Action, dict[str, Any] | None, BaseException | None]]:
            out: list[tuple[Action, dict[str, Any] | None, BaseException | None]] = []
            for a in actions:
                try:
                    outcome, error = self._apply(ctx, a, a.key in sent_before)
                except BaseException as e:  # a crash or the deadline: no outcome, the intent stays
                    out.append((a, None, e))
                    break
                out.append((a, outcome, error))
                if error is not None:
                    break
            return out

        groups = list(by_target.values())
        if self.parallel <= 1 or len(groups) <= 1:
            results = [r for g in groups for r in work(g)]
        else:
            with ThreadPoolExecutor(max_workers=min(self.parallel, len(groups))) as pool:
                results = [r for rs in pool.map(work, groups) for r in rs]
        rejected: set[str] = set()
        first: BaseException | None = None
        for a, outcome, error in results:
            if outcome is not None:
                st["outbox"][a.key] = outcome
                status = outcome["status"]
                if status != "failed":
                    st["intents"].pop(a.key, None)
                if status == "rejected":
                    rejected.add(a.key)
                    self.report.rejected += 1
                elif status == "applied":
                    self.report.applied += 1
                elif status == "already":
                    self.report.already += 1
            if error is not None and first is None:
                first = error
        ctx.commit()
        if first is not None:
            ctx.log.warning(
                "a write did not finish; the next run reads it back first", stream=ctx.stream.name
            )
            raise first
        return rejected

    def _apply(
        self, ctx: StreamContext, action: Action, sent_before: bool
    ) -> tuple[dict[str, Any], ApiError | None]:
        """The action's outcome record, and the error that outlasted the attempts (if any). The intent
        is already saved; a write sent before (by a run that did not save its outcome) or that failed
        is read back before it is sent (again)."""
        error: ApiError | None = None
        for attempt in range(self.attempts + 1):
            if sent_before or attempt > 0:
                try:
                    found = action.verify(ctx.deadline)
                except _REFUSED as e:
                    return self._outcome(action, "rejected", _reason(e), e), None
                if found is not None:
                    why = "an earlier attempt was applied" if sent_before else "Samsara already had it"
                    return self._outcome(action, "already", f"{why}: {found}", None), None
            if attempt == self.attempts:
                break
            sent_before = True
            try:
                action.apply(ctx.deadline)
            except _REFUSED as e:
                return self._outcome(action, "rejected", _reason(e), e), None
            except _TRANSIENT as e:
                error = e
                ctx.log.warning(
                    "a write failed; reading back before sending it again",
                    stream=ctx.stream.name,
                    action=action.key,
                    error=type(e).__name__,
                )
                continue
            return self._outcome(action, "applied", None, None), None
        assert error is not None
        return self._outcome(action, "failed", _reason(error), error), error

    def _outcome(
        self, action: Action, status: str, reason: str | None, error: ApiError | None
    ) -> dict[str, Any]:
        target: dict[str, Any] = {
            "kind": str(action.target.get("kind")),
            "id": action.target.get("samsaraId"),
        }
        ext = action.fields.get("externalIds")
        if isinstance(ext, Mapping):
            target["externalIds"] = {k: str(v) for k, v in ext.items() if v is not None}
        response = None
        if isinstance(error, ApiStatusError):
            response = {"status": error.status_code, "requestId": error.request_id, "message": str(error)}
        return {
            "id": action.key,
            "schemaVersion": 1,
            "changeId": action.key,
            "type": f"{action.target.get('kind')}.{action.kind}",
            "target": target,
            "status": status,
            "reason": reason,
            "samsaraResponse": response,
            "at": iso(self.clock()),
        }

    def _flush(self, ctx: StreamContext) -> None:
        """Delivers the outcomes not yet delivered, then saves."""
        st = ctx.state.state
        if st["outbox"]:
            self._send(ctx, OUTCOMES_STREAM, list(st["outbox"].values()))
            n = self.report.delivered.get(OUTCOMES_STREAM, 0) + len(st["outbox"])
            self.report.delivered[OUTCOMES_STREAM] = n
            st["outbox"] = {}
        ctx.commit()

    def _deliver(self, ctx: StreamContext, stream: str, records: Sequence[dict[str, Any]]) -> None:
        """Delivers the records the FMC does not hold as they are, then notes their digests."""
        sent: dict[str, str] = ctx.state.state["sent"].setdefault(stream, {})
        fresh = [(r, record_digest(r)) for r in records]
        fresh = [(r, d) for r, d in fresh if sent.get(str(r["id"])) != d]
        if not fresh:
            return
        self._send(ctx, stream, [r for r, _ in fresh])
        for r, d in fresh:
            sent[str(r["id"])] = d
        self.report.delivered[stream] = self.report.delivered.get(stream, 0) + len(fresh)
        ctx.commit()

    def _deliver_plan(self, ctx: StreamContext, plan: Plan) -> None:
        at = iso(self.clock())
        records = [plan_record(plan.domain, a, at) for a in plan.actions]
        sent = ctx.state.state.get("sent", {})
        for stream, recs in plan.records.items():
            held = sent.get(stream, {})
            for r in recs:
                if held.get(str(r["id"])) != record_digest(r):
                    records.append(_deliver_record(plan.domain, stream, r, at))
        tripped = self.brake.tripped(plan)
        self.report.details["brake"] = (
            None if tripped is None else {"destructive": tripped[0], "allowed": tripped[1]}
        )
        if records:
            self._send(ctx, PLAN_STREAM, records)
            self.report.delivered[PLAN_STREAM] = len(records)

    def _send(self, ctx: StreamContext, stream: str, records: list[dict[str, Any]]) -> None:
        """One delivery under a key made of its content: the same records again are a replay."""
        batch = Batch.of(records)
        digest = hashlib.blake2b(batch.ndjson(), digest_size=12).hexdigest()
        s = ctx.state
        key = f"{s.org_id}/{s.function}/{s.stream}/e{s.epoch:04d}/{stream}-{digest}"
        lock = ctx.sink_lock
        if lock is not None:
            with lock:
                ctx.sink.deliver(stream, key, batch, deadline=ctx.deadline)
        else:
            ctx.sink.deliver(stream, key, batch, deadline=ctx.deadline)
        ctx.summary.deliveries += 1
        ctx.summary.records += len(batch)


def plan_record(domain: str, action: Action, at: str) -> dict[str, Any]:
    """A planned write as a ``sync_plan`` record."""
    return {
        "id": f"{domain}:{action.key}",
        "schemaVersion": 1,
        "domain": domain,
        "action": action.kind,
        "samsaraId": action.target.get("samsaraId"),
        "fmcId": action.target.get("fmcId"),
        "fields": dict(action.fields),
        "reason": action.reason,
        "plannedAt": at,
    }


def _deliver_record(domain: str, stream: str, record: Mapping[str, Any], at: str) -> dict[str, Any]:
    """A record the run would deliver to ``stream``, as a ``sync_plan`` record (action ``deliver``)."""
    return {
        "id": f"{domain}:deliver:{stream}:{record['id']}",
        "schemaVersion": 1,
        "domain": domain,
        "action": "deliver",
        "samsaraId": record.get("samsaraId"),
        "fmcId": record.get("fmcId"),
        "fields": {"stream": stream, "status": record.get("status")},
        "reason": f"the FMC's `{stream}` does not hold this record as it is",
        "plannedAt": at,
    }


def _reason(error: ApiError) -> str:
    return f"{type(error).__name__}: {error}"
