"""The ``ledger`` driver: FMC changes applied to Samsara, each exactly once, with an outcome back.

It follows the FMC's changes feed (``{id, type, at, data}`` items and a cursor) and applies each
change of a type it has a :class:`Write` for. State::

    {"cursor": "…",                          # the feed's cursor after the last finished page
     "intents": {"<changeId>": {"at": "…", "attempts": n,     # a write was (maybe) sent
                                "sentWall": t,                # when (wall clock, Unix s)
                                "first": "…", "before": {…}}},  # with `prepare`: what Samsara held
     "outbox": {"<changeId>": {outcome record}},             # outcomes not yet delivered
     "done": "<base64 digests of finished change IDs>"}      # the last `keep`, for repeats

For each change: the write's ``verify`` reads Samsara first (a change Samsara already reflects is
``already`` and is not sent); the intent is saved before the write and the outcome after it, and a
change whose intent is saved but whose outcome is not (a crash, a lost answer) is read back before
anything is sent again, once the earlier send can no longer land (``in_flight`` after it began: a
request whose answer was never read may still be applied by Samsara after the client gave up).
Outcomes are ``write_outcome`` records (:mod:`samsara_fmc.records.outcomes`)
delivered to ``write_outcomes`` once per page of changes. A change still failing after ``attempts``
(5xx, timeouts, lost answers) gets a ``failed`` outcome and stops the stream there; the next run
starts from the same page, reads it back and tries again, so the order of changes is kept.

A write with no natural key (a driver message, a form sent to a driver: no external ID, no
idempotency key) declares three optional hooks: ``check`` refuses a change before any request (too
long, missing fields: ``rejected``); ``prepare`` reads what Samsara holds before the first send, saved
with the intent; and ``read_back`` replaces ``verify`` once an intent exists, comparing Samsara now
with that baseline, so a send whose answer was lost (or a crash after it) is found and not repeated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from samsara_fmc.engine._util import Clock, digest, iso, pack, unpack, utc_now
from samsara_fmc.engine.core import StreamContext
from samsara_fmc.exceptions import (
    ApiError,
    ApiStatusError,
    BadRequestError,
    DeadlineExceeded,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from samsara_fmc.sinks import Batch

__all__ = ["LedgerDriver", "Write"]

Change = Mapping[str, Any]
"""One item of the FMC changes feed: ``{"id", "type", "at", "data"}``."""

_REFUSED = (BadRequestError, NotFoundError)
_TRANSIENT = (ServerError, TransportError, RateLimitError)


@dataclass(frozen=True)
class Write:
    """How one type of change is applied to Samsara.

    Attributes:
        kind: The kind of Samsara object written (``defect``, ``driver``, ``tag``).
        target: The change's Samsara object ID (or ``key:value`` external ID); ``None`` for a create.
        apply: Sends the write (``Client.request``); returns the decoded answer.
        verify: Reads Samsara back: a sentence saying how Samsara already reflects the change (it is
            then ``already``), or ``None`` when it does not. A 404 or 400 it raises rejects the change.
        external_ids: The external IDs a create carries (what makes it idempotent), for the outcome.
        check: Why the change is refused before any request (a sentence: it is ``rejected`` and
            nothing is sent), or ``None`` when it may be applied.
        prepare: Reads what Samsara holds before the change's first send (a small JSON-able
            mapping), saved with the intent as ``before`` in the same commit.
        read_back: Used instead of ``verify`` once an intent exists (an earlier attempt may have been
            applied): gets the saved intent (``at``, ``first``, ``attempts``, ``before``) and says how
            Samsara shows the change applied, or ``None``.
        created: The Samsara ID a create made, from its answer (the outcome's ``target.id``).
    """

    kind: str
    target: Callable[[Change], str | None]
    apply: Callable[[Change, float], Any]
    verify: Callable[[Change, float], str | None]
    external_ids: Callable[[Change], Mapping[str, str]] | None = None
    check: Callable[[Change], str | None] | None = None
    prepare: Callable[[Change, float], Mapping[str, Any]] | None = None
    read_back: Callable[[Change, float, Mapping[str, Any]], str | None] | None = None
    created: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class LedgerDriver:
    """Applies FMC changes to Samsara exactly once and delivers their outcomes.

    Attributes:
        changes: ``changes(cursor, deadline)`` yields pages of the FMC's changes feed, each with
            ``data`` (changes) and ``cursor``.
        writes: The :class:`Write` per change type; other types are left to other streams.
        attempts: Writes per change per run before it is ``failed`` (each after a read-back, and
            one more read-back after the last).
        clock: The current time (for outcomes' ``at``).
        keep: How many finished change IDs are remembered (a feed that repeats changes).
        in_flight: Seconds (wall clock) a send whose answer the run never read may still be applied
            by Samsara: a run cut by its deadline or a timeout mid-request, or killed, leaves the
            request to the server, which may apply it after the client has gone. A change whose
            last send started less than this ago is not read back (and so not sent again) until
            that time has passed: the run waits, or stops at its deadline and the next run resumes.
    """

    changes: Callable[[str | None, float], Iterator[Any]]
    writes: Mapping[str, Write]
    attempts: int = 2
    clock: Clock = utc_now
    keep: int = 5_000
    in_flight: float = 5.0

    def run(self, ctx: StreamContext) -> bool:
        st = ctx.state.state
        st.setdefault("intents", {})
        st.setdefault("outbox", {})
        done = unpack(st.get("done"))
        finished = set(done)
        if st["outbox"]:
            self._flush(ctx)
        cursor = st.get("cursor") or None
        for page in self.changes(cursor, ctx.deadline):
            stop: ApiError | None = None
            for change in page.data:
                cid = str(change["id"])
                write = self.writes.get(str(change.get("type")))
                if write is None:
                    continue
                if digest(cid) in finished:
                    ctx.summary.repeated += 1
                    continue
                outcome, error = self._apply(ctx, write, change)
                st["outbox"][cid] = outcome
                if error is None:
                    st["intents"].pop(cid, None)
                    done.append(digest(cid))
                    finished.add(digest(cid))
                    st["done"] = pack(done[-self.keep :])
                ctx.commit()
                if error is not None:
                    stop = error
                    break
            if stop is None:
                st["cursor"] = page.cursor or cursor
            if st["outbox"] or st.get("cursor") != cursor:  # a poll that found nothing writes nothing
                self._flush(ctx)
            if stop is not None:
                raise stop
            cursor = st.get("cursor")
            if ctx.page_limit_reached():
                return False
        return True

    def _await_in_flight(self, ctx: StreamContext, cid: str, intent: Mapping[str, Any]) -> None:
        """Waits until the intent's last send can no longer be applied (``in_flight`` after it
        started), or raises :class:`DeadlineExceeded` when the run's deadline comes first."""
        sent = intent.get("sentWall")
        if not isinstance(sent, int | float):
            return  # an intent written before sends were timed: its send is long over
        wait = float(sent) + self.in_flight - time.time()
        if wait <= 0:
            return
        if time.time() + wait >= ctx.deadline:
            msg = (
                f"change `{cid}` was sent {self.in_flight - wait:.1f} s ago without an answer read; it is"
                " read back once it can no longer land, by the next run"
            )
            raise DeadlineExceeded(msg)
        ctx.log.info("waiting for an unanswered send to land before reading it back", change=cid)
        time.sleep(wait)

    def _flush(self, ctx: StreamContext) -> None:
        """Delivers the outcomes not yet delivered, then saves."""
        st = ctx.state.state
        if st["outbox"]:
            ctx.deliver(Batch.of(list(st["outbox"].values())), by_id=False)
            st["outbox"] = {}
        ctx.commit()

    def _apply(
        self, ctx: StreamContext, write: Write, change: Change
    ) -> tuple[dict[str, Any], ApiError | None]:
        """The change's outcome record, and the error that outlasted the attempts (if any)."""
        st = ctx.state.state
        cid = str(change["id"])
        sent_before = cid in st["intents"]
        if write.check is not None and not sent_before:
            refused = write.check(change)
            if refused is not None:
                return self._outcome(write, change, "rejected", refused, None), None
        error: ApiError | None = None
        for attempt in range(self.attempts + 1):
            intent = st["intents"].get(cid)
            if intent is not None and (error is None or isinstance(error, TransportError)):
                # An earlier send whose answer was never read (a crash, a deadline, a timeout or a
                # cut connection) may still be under way at Samsara: read back only once it can
                # no longer land, or the read-back misses it and the change is sent twice.
                self._await_in_flight(ctx, cid, intent)
            try:
                if intent is not None and write.read_back is not None:
                    found = write.read_back(change, ctx.deadline, intent)
                else:
                    found = write.verify(change, ctx.deadline)
            except _REFUSED as e:
                return self._outcome(write, change, "rejected", _reason(e), e), None
            if found is not None:
                why = "an earlier attempt was applied" if sent_before else "Samsara already had it"
                return self._outcome(write, change, "already", f"{why}: {found}", None), None
            if attempt == self.attempts:
                break  # the last read-back: the last write's answer may have been lost, not the write
            now = iso(self.clock())
            entry: dict[str, Any] = {"at": now, "attempts": int((intent or {}).get("attempts", 0)) + 1}
            if write.prepare is not None:
                # The baseline is read once, before the first send, and kept across later attempts.
                try:
                    before = (intent or {}).get("before")
                    entry["before"] = dict(write.prepare(change, ctx.deadline)) if before is None else before
                except _REFUSED as e:
                    return self._outcome(write, change, "rejected", _reason(e), e), None
                entry["first"] = (intent or {}).get("first") or now
            entry["sentWall"] = round(time.time(), 3)
            st["intents"][cid] = entry
            ctx.commit()
            sent_before = True
            try:
                answer = write.apply(change, ctx.deadline)
            except _REFUSED as e:
                return self._outcome(write, change, "rejected", _reason(e), e), None
            except _TRANSIENT as e:
                error = e
                ctx.log.warning(
                    "a write failed; reading back before sending it again",
                    stream=ctx.stream.name,
                    change=cid,
                    error=type(e).__name__,
                )
                continue
            made = write.created(answer) if write.created is not None else None
            return self._outcome(write, change, "applied", None, None, made), None
        assert error is not None
        return self._outcome(write, change, "failed", _reason(error), error), error

    def _outcome(
        self,
        write: Write,
        change: Change,
        status: str,
        reason: str | None,
        error: ApiError | None,
        made: str | None = None,
    ) -> dict[str, Any]:
        target: dict[str, Any] = {"kind": write.kind, "id": made or write.target(change)}
        if write.external_ids is not None:
            target["externalIds"] = dict(write.external_ids(change))
        response = None
        if isinstance(error, ApiStatusError):
            response = {"status": error.status_code, "requestId": error.request_id, "message": str(error)}
        return {
            "id": str(change["id"]),
            "schemaVersion": 1,
            "changeId": str(change["id"]),
            "type": str(change.get("type")),
            "target": target,
            "status": status,
            "reason": reason,
            "samsaraResponse": response,
            "at": iso(self.clock()),
        }


def _reason(error: ApiError) -> str:
    return f"{type(error).__name__}: {error}"
