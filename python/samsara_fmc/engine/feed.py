"""The ``feed`` driver: cursor feeds (``/fleet/vehicles/stats/feed``, ``/fleet/vehicles/locations/feed``),
with an optional backfill from the feed's history endpoint and an optional follow mode.

State::

    {"cursor": "…",                      # the feed's position
     "backfill": {"start": "…",          # history still to read: [mark, until)
                  "mark": "…",
                  "until": "…"}}         # absent once the history is read

**Feed.** Each page is delivered, then the page's cursor is saved. A feed's first call returns each
vehicle's latest value; later calls return what *arrived* since (in arrival order, whatever the
points' own times).

**Backfill** (a new stream asking for N days of history). The feed's first call is made at once, and
the hand-over point ``until`` is the time just after it: every point at or after ``until`` arrives
after the first cursor, so the feed has it; every point before it is history's, read in windows from
``until - N days``. Nothing is read twice and nothing is missed, whatever arrives late:

- feed points whose time lies in history not read yet (``[mark, until)``) are left to history: they
  arrived before the window that holds them is read, so that read returns them;
- one step reads a whole window ``[mark, mark + window)`` from history, then the feed up to its end,
  and delivers both as one delivery, the feed's copies of points the window already returned left
  out by ``id`` (they arrived after the feed's last position but before the window was read);
  then ``mark`` and the cursor move together. Points of that window arriving later come from the
  feed only (their time is now before ``mark``).

The live feed is read before every window, so a backfill spread over many runs delays live data by
one window's read at most. A crash before the state is saved repeats the step; the engine's outbox
(or a sink that replaces a key's delivery) makes the repeat deliver nothing twice.

**A refused cursor** (expired, or not one of the API's) is recovered through history when the
driver has it: the feed starts afresh and the history from the newest delivered point, less
``recover``, to the new hand-over point is read as a backfill (records in that overlap may be
delivered again, as identical upserts). Without history the run stops once with an error that names
the state and the fix.

**Follow mode.** Caught up, the driver polls the feed again every ``poll`` seconds (Samsara asks for at
least 5 s) until the run's deadline is near, so a run scheduled every 15 minutes delivers
continuously; the lease keeps the next run off the stream until this one ends.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from samsara_fmc.engine._util import Clock, iso, parse_time, utc_now
from samsara_fmc.engine.core import StreamContext
from samsara_fmc.exceptions import BadRequestError, CheckpointError, ConfigurationError
from samsara_fmc.sinks import Batch

__all__ = ["MAX_BACKFILL_DAYS", "MIN_POLL_S", "FeedDriver", "Follow", "History", "feed_options"]

MIN_POLL_S = 5.0
"""Samsara asks feed clients to wait at least this long after a page without a next page."""
MAX_BACKFILL_DAYS = 365
"""The most history a backfill asks for (Samsara does not document how far back stats history goes;
asking for more than it keeps delivers what it has)."""

SLEEP: Callable[[float], None] = time.sleep
"""How follow mode waits between polls (tests replace it to move a simulated clock instead)."""
NOW: Callable[[], float] = time.time
"""Follow mode's clock, against the run's deadline (Unix time)."""

HistoryPages = Callable[[_dt.datetime, _dt.datetime, float], Iterator[Any]]


@dataclass(frozen=True)
class History:
    """The feed's history endpoint, for a backfill and for recovering from a refused cursor.

    Attributes:
        pages: ``pages(start, end, deadline)`` yields the endpoint's pages for ``[start, end]``, in
            the feed's page shape (``to_batch`` reads both).
        days: How far back a new stream starts (0: no backfill; a refused cursor is still recovered).
        window: The span one step reads.
        clock: The current time (tests pass the sandbox's simulated clock).
        margin: Added to the hand-over point, for a device clock ahead of ours.
        recover: On a refused cursor, how far before the newest delivered point history is read again.
    """

    pages: HistoryPages
    days: float = 0.0
    window: _dt.timedelta = _dt.timedelta(hours=1)
    clock: Clock = utc_now
    margin: _dt.timedelta = _dt.timedelta(seconds=60)
    recover: _dt.timedelta = _dt.timedelta(hours=1)

    def __post_init__(self) -> None:
        if not 0 <= self.days <= MAX_BACKFILL_DAYS:
            msg = f"backfill of {self.days} days: choose 0 to {MAX_BACKFILL_DAYS}"
            raise ConfigurationError(msg)
        if self.window <= _dt.timedelta(0):
            msg = f"backfill window {self.window}: must be positive"
            raise ConfigurationError(msg)


@dataclass(frozen=True)
class Follow:
    """Keep polling once caught up, every ``poll`` seconds, until ``stop_before`` seconds before the
    deadline."""

    poll: float = MIN_POLL_S
    stop_before: float = 10.0
    sleep: Callable[[float], None] = field(default=lambda s: SLEEP(s), repr=False)
    now: Callable[[], float] = field(default=lambda: NOW(), repr=False)

    def __post_init__(self) -> None:
        if self.poll < MIN_POLL_S:
            msg = f"follow poll of {self.poll} s: Samsara asks for at least {MIN_POLL_S:g} s between polls"
            raise ConfigurationError(msg)


@dataclass(frozen=True)
class FeedDriver:
    """Follows a cursor feed.

    Attributes:
        pages: Given the stored cursor (``None`` at first) and the deadline, yields pages that have
            a ``cursor`` and a ``has_next_page`` attribute.
        to_batch: A page's records, and its rejected records (or ``None``).
        history: The history endpoint, for a backfill and a refused cursor (``None``: neither).
        follow: Keep polling once caught up (``None``: return when caught up).
    """

    pages: Callable[[str | None, float], Iterator[Any]]
    to_batch: Callable[[Any], tuple[Batch, Batch | None]]
    history: History | None = None
    follow: Follow | None = None

    def run(self, ctx: StreamContext) -> bool:
        st = ctx.state.state
        if self.history and self.history.days > 0 and st.get("cursor") is None and "backfill" not in st:
            start = self.history.clock() - _dt.timedelta(days=self.history.days)
            if not self._start(ctx, start):
                return False
        while True:
            try:
                if not self._drain(ctx):
                    return False
                while "backfill" in st:
                    if not self._step(ctx):
                        return False
            except BadRequestError as e:
                if not (st.get("cursor") and _refused_cursor(e)):
                    raise
                self._recover(ctx, e)
                continue
            if (
                self.follow is None
                or self.follow.now() + self.follow.poll >= ctx.deadline - self.follow.stop_before
            ):
                return True
            self.follow.sleep(self.follow.poll)

    # -- the feed ------------------------------------------------------------------------------------

    def _drain(self, ctx: StreamContext) -> bool:
        """Delivers the feed from the stored cursor to its end, leaving history's points to history;
        ``False`` when the page limit stopped it."""
        st = ctx.state.state
        for page in self.pages(st.get("cursor"), ctx.deadline):
            batch, rejects = self.to_batch(page)
            if "backfill" in st:
                batch = _outside(batch, *_span(st["backfill"]))
            ctx.deliver(batch, rejects=rejects)
            st["cursor"] = page.cursor or st.get("cursor")
            ctx.commit()
            if ctx.page_limit_reached():
                return False
        return True

    def _start(self, ctx: StreamContext, start: _dt.datetime, *, recovering: bool = False) -> bool:
        """A backfill's first step: the feed's first call (latest values), and the hand-over point.
        Latest values older than ``start`` are delivered (a vehicle silent since), unless
        ``recovering``: then they were delivered before."""
        assert self.history is not None
        st = ctx.state.state
        pages = self.pages(None, ctx.deadline)
        first = next(pages, None)
        until = self.history.clock() + self.history.margin
        span = {"start": iso(start), "mark": iso(start), "until": iso(until)}
        for page in _chain(first, pages):
            batch, rejects = self.to_batch(page)
            ctx.deliver(
                _outside(batch, _dt.datetime.min.replace(tzinfo=_dt.UTC) if recovering else start, until),
                rejects=rejects,
            )
            st["cursor"] = page.cursor or st.get("cursor")
            st["backfill"] = span
            ctx.commit()
            if ctx.page_limit_reached():
                return False
        ctx.log.info("backfill start", stream=ctx.stream.name, start=span["start"], until=span["until"])
        return True

    def _recover(self, ctx: StreamContext, e: BadRequestError) -> None:
        """A refused cursor: start the feed afresh and read history from before the newest point."""
        st = ctx.state.state
        key = ctx.states.key(ctx.stream.name)
        if self.history is None:
            msg = (
                f"the API refused the stored cursor of `{ctx.stream.name}` ({e.status_code}: the cursor "
                f"expired or is not valid); run once with `reset=true` to start the stream again from "
                f"the latest values (state `{key}`)"
            )
            raise CheckpointError(msg) from e
        newest = ctx.state.newest
        if newest is None:
            msg = (
                f"the API refused the stored cursor of `{ctx.stream.name}` ({e.status_code}) and no point "
                f"was delivered yet to recover from; run once with `reset=true` (state `{key}`)"
            )
            raise CheckpointError(msg) from e
        start = parse_time(newest) - self.history.recover
        ctx.log.warning(
            "the API refused the stored cursor; recovering through history",
            stream=ctx.stream.name,
            status=e.status_code,
            since=iso(start),
        )
        st.pop("cursor", None)
        st.pop("backfill", None)
        if not self._start(ctx, start, recovering=True):
            msg = f"the page limit stopped `{ctx.stream.name}` while it recovered; the next run goes on"
            ctx.log.info(msg, stream=ctx.stream.name)

    # -- history ---------------------------------------------------------------------------------------

    def _step(self, ctx: StreamContext) -> bool:
        """Reads one history window and the feed to its end, delivers them as one, moves both."""
        assert self.history is not None
        st = ctx.state.state
        mark, until = _span(st["backfill"])
        end = min(mark + self.history.window, until)
        ctx.check_deadline()
        past: list[bytes] = []
        rejected: list[bytes] = []
        for page in self.history.pages(mark, end, ctx.deadline):
            batch, rejects = self.to_batch(page)
            past.append(_within(batch, mark, end).ndjson())
            if rejects:
                rejected.append(rejects.ndjson())
        window = Batch(ndjson=b"".join(past))
        seen = set(window.ids())
        live: list[bytes] = []
        cursor = st.get("cursor")
        for page in self.pages(cursor, ctx.deadline):
            batch, rejects = self.to_batch(page)
            batch = _outside(batch, end, until).keep(lambda i: i not in seen)
            live.append(batch.ndjson())
            if rejects:
                rejected.append(rejects.ndjson())
            cursor = page.cursor or cursor
        both = Batch(ndjson=window.ndjson() + b"".join(live))
        ctx.deliver(both, rejects=Batch(ndjson=b"".join(rejected)) if rejected else None)
        st["cursor"] = cursor
        if end >= until:
            st.pop("backfill")
            ctx.log.info("backfill done; following the feed", stream=ctx.stream.name)
        else:
            st["backfill"] = {**st["backfill"], "mark": iso(end)}
        ctx.commit()
        return not ctx.page_limit_reached()


def feed_options(
    params: Any, *, history: HistoryPages, clock: Clock = utc_now
) -> tuple[History, Follow | None]:
    """The history and follow settings of a feed Function from its parameters ``backfillDays``,
    ``backfillWindowMinutes``, ``follow`` and ``pollSeconds`` (the manifests declare them)."""
    hist = History(
        pages=history,
        days=float(params.get("backfillDays") or 0),
        window=_dt.timedelta(minutes=int(params.get("backfillWindowMinutes") or 60)),
        clock=clock,
    )
    follow = Follow(poll=float(params.get("pollSeconds") or MIN_POLL_S)) if params.get("follow") else None
    return hist, follow


def _span(backfill: dict[str, str]) -> tuple[_dt.datetime, _dt.datetime]:
    return parse_time(backfill["mark"]), parse_time(backfill["until"])


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    if first is not None:
        yield first
        yield from rest


def _time(line: bytes) -> _dt.datetime | None:
    """A record line's top-level ``time`` (the first ``"time":"`` key: records write it before any
    nested object)."""
    at = line.find(b'"time":"')
    if at < 0:
        return None
    return parse_time(line[at + 8 : line.find(b'"', at + 8)].decode())


def _select(batch: Batch, keep: Callable[[_dt.datetime | None], bool]) -> Batch:
    if not batch:
        return batch
    lines = [line for line in batch.ndjson().splitlines() if line and keep(_time(line))]
    return Batch(ndjson=b"".join(line + b"\n" for line in lines))


def _outside(batch: Batch, start: _dt.datetime, end: _dt.datetime) -> Batch:
    """The records whose time is not in ``[start, end)`` (history's share)."""
    return _select(batch, lambda t: t is None or not start <= t < end)


def _within(batch: Batch, start: _dt.datetime, end: _dt.datetime) -> Batch:
    """The records whose time is in ``[start, end)``."""
    return _select(batch, lambda t: t is not None and start <= t < end)


def _refused_cursor(e: BadRequestError) -> bool:
    text = str(e)
    return "after" in text or "cursor" in text.lower()
