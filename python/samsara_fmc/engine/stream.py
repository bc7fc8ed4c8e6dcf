"""The ``stream`` driver: Samsara's ``/…/stream`` endpoints (``/defects/stream``, ``/trips/stream``, …).

A stream is ordered by a "changed at" time (``updatedAtTime`` unless the endpoint says otherwise)
and a record reappears past the cursor each time it changes. State::

    {"first": "…",           # the first run's startTime (now - lookback)
     "startTime": "…",       # the query's startTime: `first`, or where a refused cursor restarted
     "cursor": "…",          # the last delivered page's endCursor
     "highWater": "…",       # the newest changed-at time delivered
     "seen": {"<changedAt>": "<base64 digests of (id, changedAt)>", …}}  # within `overlap` of it

It resumes by cursor. A cursor the API refuses (expired, or not one of its cursors) is replaced by a
new ``startTime`` at the high-water mark minus ``overlap`` (never before ``first``); what that
re-reads is recognised by (id, changed-at), so an unchanged record is not delivered again while a
changed one is (an upsert of the same ``id``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from samsara_fmc.engine._util import Clock, digest, iso, pack, parse_time, unpack, utc_now
from samsara_fmc.engine.core import Stream, StreamContext
from samsara_fmc.exceptions import BadRequestError
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint

__all__ = ["Pager", "StreamDriver", "newest_update", "refused_cursor", "updated_stream"]


class Pager(Protocol):
    """What the driver reads with: :class:`samsara_fmc.client.Client` (its ``pages``)."""

    def pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        after: str | None = None,
        deadline: float | None = None,
    ) -> Iterator[Any]:
        """Pages with ``data`` and ``cursor``."""
        ...


def refused_cursor(error: BadRequestError) -> bool:
    """Whether a 400 is the API refusing a cursor (its message names `after` or a cursor)."""
    text = str(error)
    return "`after`" in text or "'after'" in text or "cursor" in text.lower()


@dataclass(frozen=True)
class StreamDriver:
    """Follows a ``/…/stream`` endpoint.

    Attributes:
        client: Reads pages (a :class:`~samsara_fmc.client.Client`).
        path: The endpoint, e.g. ``/defects/stream``.
        to_record: An item as the record to deliver (a dict with a stable ``id``: the item's ``id``
            is the same across its versions).
        params: Query parameters besides ``startTime`` and ``after`` (``includeExternalIds``, …).
        changed_at: The item field that says when it last changed.
        lookback: How far before now the first run starts.
        overlap: How far before the high-water mark a refused cursor restarts.
        clock: The current time.
        max_seen: At most this many (id, changed-at) digests are kept.
    """

    client: Pager
    path: str
    to_record: Callable[[Mapping[str, Any]], dict[str, Any]]
    params: Mapping[str, Any] = field(default_factory=dict)
    changed_at: str = "updatedAtTime"
    lookback: _dt.timedelta = _dt.timedelta(days=1)
    overlap: _dt.timedelta = _dt.timedelta(minutes=15)
    clock: Clock = utc_now
    max_seen: int = 50_000

    def run(self, ctx: StreamContext) -> bool:
        st = ctx.state.state
        if not st.get("startTime"):
            st["first"] = st["startTime"] = iso(self.clock() - self.lookback)
        seen = _Seen(st.get("seen") or {})
        # The state holds the live digests, so a delivery staged in the outbox (saved with the state
        # before it is sent) also saves that its records were seen: the outbox's replay delivers them,
        # and the re-read page then leaves them out as repeats.
        st["seen"] = seen.groups
        restarted = False
        while True:
            try:
                return self._follow(ctx, st.get("cursor") or None, seen)
            except BadRequestError as e:
                if not st.get("cursor") or restarted or not refused_cursor(e):
                    raise
                restarted = True
                high, first = st.get("highWater"), st.get("first") or st["startTime"]
                start = iso(max(parse_time(high) - self.overlap, parse_time(first))) if high else first
                ctx.log.warning(
                    "the API refused the stream's cursor; restarting at the high-water mark less the overlap",
                    stream=ctx.stream.name,
                    status=e.status_code,
                    startTime=start,
                )
                st.update(startTime=start, cursor=None)
                ctx.commit()

    def _follow(self, ctx: StreamContext, cursor: str | None, seen: _Seen) -> bool:
        st = ctx.state.state
        params = {**self.params, "startTime": st["startTime"]}
        for page in self.client.pages(self.path, params=params, after=cursor, deadline=ctx.deadline):
            fresh: list[dict[str, Any]] = []
            high: str | None = st.get("highWater")
            for item in page.data:
                record = self.to_record(item)
                changed = str(item.get(self.changed_at) or "")
                if not seen.add(str(record["id"]), changed):
                    ctx.summary.repeated += 1
                    continue
                fresh.append(record)
                if changed and (high is None or parse_time(changed) > parse_time(high)):
                    high = changed
            ctx.deliver(Batch.of(fresh), by_id=False)
            moved = (page.cursor or cursor) != cursor
            cursor = page.cursor or cursor
            if fresh or moved:  # a poll that found nothing writes nothing
                if high:
                    seen.prune(iso(parse_time(high) - self.overlap), self.max_seen)
                st.update(cursor=cursor, highWater=high, seen=seen.groups)
                ctx.commit()
            if ctx.page_limit_reached():
                return False
        return True


_KEEP_RECENT = 1_000


class _Seen:
    """(id, changed-at) digests grouped by changed-at, so the old ones can be dropped."""

    def __init__(self, groups: Mapping[str, str]) -> None:
        self.groups: dict[str, str] = dict(groups)
        self._all = {d for text in self.groups.values() for d in unpack(text)}

    def add(self, record_id: str, changed: str) -> bool:
        """Records the pair; ``False`` when it was already there."""
        d = digest(record_id, changed)
        if d in self._all:
            return False
        self._all.add(d)
        self.groups[changed] = pack([*unpack(self.groups.get(changed)), d])
        return True

    def prune(self, before: str, limit: int) -> None:
        """Drops groups older than ``before`` (RFC 3339) but keeps the newest ``_KEEP_RECENT``
        digests whatever their age (a page may start again with records before the cursor), and
        the oldest beyond ``limit`` digests go in any case."""
        cut = parse_time(before)
        keys = sorted(self.groups, key=lambda k: parse_time(k) if k else cut)
        sizes = {k: len(unpack(self.groups[k])) for k in keys}
        total = sum(sizes.values())
        for k in keys:
            old = not k or parse_time(k) < cut
            if (not old or total - sizes[k] < _KEEP_RECENT) and total <= limit:
                break
            total -= sizes[k]
            del self.groups[k]
        self._all = {d for text in self.groups.values() for d in unpack(text)}


def newest_update(batch: Batch) -> str | None:
    """The newest ``updatedAtTime`` in a batch of records (for the stream's lag in health)."""
    times = [str(r["updatedAtTime"]) for r in batch.records() if r.get("updatedAtTime")]
    return max(times, key=parse_time) if times else None


def updated_stream(
    *,
    name: str,
    sink_stream: str,
    path: str,
    query: Mapping[str, Any],
    pager: Pager,
    to_record: Callable[[Mapping[str, Any]], dict[str, Any]],
    lookback_hours: int,
    clock: Clock,
    fingerprint_extra: Mapping[str, Any],
) -> Stream:
    """A ``/…/stream`` endpoint read by ``updatedAtTime`` (an object delivered again when it
    changes), starting ``lookback_hours`` back: its driver, fingerprint (the path, the query and
    ``fingerprint_extra``, e.g. the units) and lag from the records' ``updatedAtTime``."""
    driver = StreamDriver(
        client=pager,
        path=path,
        to_record=to_record,
        params=dict(query),
        changed_at="updatedAtTime",
        lookback=_dt.timedelta(hours=lookback_hours),
        clock=clock,
    )
    return Stream(
        name=name,
        sink_stream=sink_stream,
        fingerprint=fingerprint({"path": path, **query, **fingerprint_extra}),
        driver=driver,
        newest=newest_update,
    )
