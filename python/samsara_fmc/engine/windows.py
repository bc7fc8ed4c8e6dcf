"""The ``windows`` driver: time-windowed endpoints (``/idling/events``, ``/v1/fleet/trips``,
``/readings/history``, ``/fleet/vehicles/stats/history``, IFTA reports).

Such an endpoint answers "what happened between A and B", and devices upload late (they buffer
while out of coverage), so a window read once may gain records later. State::

    {"first": "…",                     # where the first run started (now - lookback)
     "mark": "…",                      # everything from `first` to it has been read at least once
     "open": {"start": "…", "end": "…"},  # the window being read (a deadline stopped it), or null
     "seen": {"<start>/<end>": "<base64 digests of (id, content)>", …}}  # windows within `overlap`

Each run first re-reads the trailing ``overlap`` before the mark (late uploads; a point uploaded
within ``overlap`` of its time is found by the first run after its upload), then finishes the open
window if a deadline or page limit left one, then reads windows of ``window`` from the mark up to now
minus ``settle``; the mark moves only when a window has been read to its end. A record is delivered
when its (id, content) is new: an unchanged record read again is not, a changed one is (an upsert of
the same ``id``). Digests of windows that end before the overlap are dropped, and at most
``max_seen`` are kept, so the state stays bounded. A run's page limit (``maxPages``) counts the pages of
the windows past the overlap (the overlap is read whole) and stops a window only before a page beyond
the limit, so each run under any limit moves the mark on. With ``keep_repeats``, a record read again is
kept under the window that read it too: a record every window returns while it lasts (an ongoing
driver-vehicle assignment) keeps its digest as long as it is returned, so it is delivered again only
when it changes, never because its first window was dropped.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from samsara_fmc.engine._util import Clock, digest, iso, pack, parse_time, unpack, utc_now
from samsara_fmc.engine.core import StreamContext
from samsara_fmc.engine.stream import refused_cursor
from samsara_fmc.exceptions import BadRequestError, ConfigurationError
from samsara_fmc.sinks import Batch

__all__ = ["WindowsDriver"]

Fetch = Callable[[_dt.datetime, _dt.datetime, float], Iterable[Sequence[Mapping[str, Any]]]]


@dataclass(frozen=True)
class WindowsDriver:
    """Reads a time-windowed endpoint window by window.

    Attributes:
        fetch: ``fetch(start, end, deadline)`` yields pages (lists of items) of what the endpoint
            holds for ``[start, end)``, usually through ``Client.pages``.
        to_record: An item as the record to deliver (a dict with a stable ``id``).
        window: The size of a window.
        settle: Windows end at least this long before now (data still arriving is not read yet).
        overlap: How far before the mark each run reads again, for late uploads.
        lookback: Where the first run starts: now minus this.
        partial: Whether the last window may be shorter than ``window`` (to reach now minus
            ``settle``); ``False`` for reports that only make sense whole.
        clock: The current time.
        max_windows: At most this many new windows per run (``None``: until caught up).
        max_seen: At most this many digests are kept (the oldest windows' go first; a record of
            theirs read again would be delivered again, as an upsert). 8 bytes each.
        keep_repeats: Keep the digest of a record read again under the window that read it as well,
            for endpoints that return a lasting record in every window it overlaps.
    """

    fetch: Fetch
    to_record: Callable[[Mapping[str, Any]], dict[str, Any]]
    window: _dt.timedelta = _dt.timedelta(hours=1)
    settle: _dt.timedelta = _dt.timedelta(minutes=5)
    overlap: _dt.timedelta = _dt.timedelta(hours=3)
    lookback: _dt.timedelta = _dt.timedelta(days=1)
    partial: bool = True
    clock: Clock = utc_now
    max_windows: int | None = None
    max_seen: int = 200_000
    keep_repeats: bool = False

    def __post_init__(self) -> None:
        zero = _dt.timedelta(0)
        if self.window <= zero:
            raise ConfigurationError(f"`window` of a windows driver must be positive, got `{self.window}`")
        for name, value in (("settle", self.settle), ("overlap", self.overlap), ("lookback", self.lookback)):
            if value < zero:
                raise ConfigurationError(f"`{name}` of a windows driver must not be negative, got `{value}`")

    def run(self, ctx: StreamContext) -> bool:
        st = ctx.state.state
        now = self.clock()
        if not st.get("mark"):
            st["first"] = st["mark"] = iso(now - self.lookback)
            ctx.commit()
        mark, first = parse_time(st["mark"]), parse_time(st.get("first") or st["mark"])
        seen = {k: set(unpack(v)) for k, v in (st.get("seen") or {}).items()}
        known = set().union(*seen.values()) if seen else set()
        # Every run re-reads the overlap before it moves the mark (an open window too), so a point
        # uploaded within `overlap` of its time is read by a run that starts after its upload.
        reread = mark > first and self.overlap > _dt.timedelta(0)
        if reread and not self._read(ctx, max(first, mark - self.overlap), mark, seen, known, None):
            return False
        # The page limit counts the pages of windows past the overlap (the overlap is read whole), so a
        # run under a limit of one page still moves on.
        base = ctx.summary.pages
        horizon = now - self.settle
        windows = 0
        while True:
            if st.get("open"):
                start, end = parse_time(st["open"]["start"]), parse_time(st["open"]["end"])
            else:
                start, end = mark, min(mark + self.window, horizon)
                if end <= start or (not self.partial and end < start + self.window):
                    return True
                if self.max_windows is not None and windows >= self.max_windows:
                    return False
                if _limited(ctx, base):
                    return False
                st["open"] = {"start": iso(start), "end": iso(end)}
            windows += 1
            ctx.check_deadline()
            if not self._read(ctx, start, end, seen, known, base):
                return False
            mark = end
            st.update(mark=iso(mark), open=None)
            self._prune(st, seen, known, mark)
            ctx.commit()

    def _read(
        self,
        ctx: StreamContext,
        start: _dt.datetime,
        end: _dt.datetime,
        seen: dict[str, set[bytes]],
        known: set[bytes],
        base: int | None,
    ) -> bool:
        """Reads ``[start, end)`` and delivers what is new; ``False`` when the page limit (counted from
        ``base`` pages; ``None``: none) stopped it.

        A cursor the API refuses while paging the window (it expired) starts the window again once:
        what was delivered already is recognised.
        """
        try:
            return self._read_once(ctx, start, end, seen, known, base)
        except BadRequestError as e:
            if not refused_cursor(e):
                raise
            ctx.log.warning(
                "the API refused a cursor inside a window; reading the window again", window=iso(start)
            )
            return self._read_once(ctx, start, end, seen, known, base)

    def _read_once(
        self,
        ctx: StreamContext,
        start: _dt.datetime,
        end: _dt.datetime,
        seen: dict[str, set[bytes]],
        known: set[bytes],
        base: int | None,
    ) -> bool:
        st = ctx.state.state
        group = f"{iso(start)}/{iso(end)}"
        kept = False
        for page in self.fetch(start, end, ctx.deadline):
            # The page limit is checked once another page came: a limit met by a window's last page
            # closes the window (were it checked after each page, a window of one page would be read
            # again by every run and never closed under `maxPages: 1`).
            if base is not None and _limited(ctx, base):
                return False
            fresh = []
            for item in page:
                record = self.to_record(item)
                d = digest(str(record["id"]), _content(record))
                if d in known:
                    ctx.summary.repeated += 1
                    if self.keep_repeats and d not in seen.setdefault(group, set()):
                        seen[group].add(d)
                        kept = True
                    continue
                known.add(d)
                seen.setdefault(group, set()).add(d)
                fresh.append(record)
            if fresh:
                ctx.deliver(Batch.of(fresh), by_id=False)
            if fresh or kept:
                st["seen"] = {k: pack(sorted(v)) for k, v in seen.items()}
                ctx.commit()
                kept = False
            if not fresh:
                ctx.summary.pages += 1
        return True

    def _prune(
        self, st: dict[str, Any], seen: dict[str, set[bytes]], known: set[bytes], mark: _dt.datetime
    ) -> None:
        cut = mark - self.overlap
        for key in [k for k in seen if parse_time(k.split("/")[1]) <= cut]:
            known.difference_update(seen.pop(key))
        total = sum(len(v) for v in seen.values())
        for key in sorted(seen, key=lambda k: parse_time(k.split("/")[0])):
            if total <= self.max_seen:
                break
            total -= len(seen[key])
            known.difference_update(seen.pop(key))
        if self.keep_repeats:  # a digest dropped with an old window may still be held by a newer one
            known.update(*seen.values())
        st["seen"] = {k: pack(sorted(v)) for k, v in seen.items()}


def _limited(ctx: StreamContext, base: int) -> bool:
    """Whether the run's page limit is used up by the pages read since ``base``."""
    return ctx.max_pages is not None and ctx.summary.pages - base >= ctx.max_pages


def _content(record: Mapping[str, Any]) -> str:
    """A hash of a record's content, so a changed record is told from a repeated one."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
