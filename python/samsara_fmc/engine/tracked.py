"""The ``tracked`` driver: several cursor feeds read together through a stateful transform whose
records go to several sink streams, the transform's state committed with the cursors.

What the ``feed`` driver is for one feed and its records, this is for trackers that turn readings into
events (a fault opened, an alert cleared, a day closed): their state must move on only when the
records it produced are delivered, or a crash would lose an event (state ahead of delivery) or repeat
it (delivery ahead of state). State: ``{"cursors": {feed: cursor}, "trackers": {…}}``; with a
:class:`~samsara_fmc.engine.shards.Partition`, ``trackers`` is only the shared rest and each
vehicle's part lives in a shard the document names (``shards``), written before the commit under a
new name, so the one conditional write of the document still commits cursors and trackers together.

Each round reads up to ``pages_per_round`` pages of every feed that has them, hands them to the
transform (which changes the tracker state in place and returns records per sink stream), delivers
each sink stream's records through a sub-stream of its own (its own sequence of keys and outbox,
state ``<stream>.e<epoch>.<sink>``), then commits the cursors and trackers. A run that dies between
those steps re-reads the same pages from the committed cursors and recomputes the same records; each
sub-stream remembers the digests (id and content) of its last delivery and leaves those records out,
so nothing is delivered twice, while a record delivered again under the same ``id`` with new content
(a day amended by late data, a fault closing) is an upsert the FMC takes.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from samsara_fmc.engine._util import digest, pack, unpack
from samsara_fmc.engine.core import Stream, StreamContext, StreamSummary
from samsara_fmc.engine.shards import Partition, ShardSet
from samsara_fmc.exceptions import BadRequestError, CheckpointError
from samsara_fmc.sinks import Batch

__all__ = ["Feed", "TrackedDriver", "Transform"]

Transform = Callable[[dict[str, Any], Mapping[str, Sequence[Any]]], dict[str, list[dict[str, Any]]]]
"""(tracker state, each feed's pages of the round in order) → records by sink stream; changes the
state in place."""


@dataclass(frozen=True)
class Feed:
    """One cursor feed: given the stored cursor (``None`` at first) and the deadline, yields pages with
    ``data`` and ``cursor``."""

    name: str
    pages: Callable[[str | None, float], Iterator[Any]]


def _digest(record: Mapping[str, Any]) -> bytes:
    return digest(str(record.get("id")), json.dumps(record, sort_keys=True, default=str))


@dataclass(frozen=True)
class TrackedDriver:
    """Follows ``feeds`` through ``transform``; records go to ``sinks`` (the stream's own first)."""

    feeds: Sequence[Feed]
    transform: Transform
    sinks: Sequence[str]
    pages_per_round: int = 10
    """Pages read from each feed before the round is delivered and committed: fewer, larger deliveries
    and state saves while catching up, at most this many pages to read again after a crash."""
    partition: Partition | None = None
    """How the tracker state splits per vehicle: given, it is kept in shards (:mod:`.shards`) and a
    round writes only the shards it changed; without, it is kept whole in the state document."""
    per_shard: int = 1000
    """Vehicles per shard, on average, before a stream's shards double (:mod:`.shards`)."""

    def _subs(self, ctx: StreamContext) -> dict[str, StreamContext]:
        subs = {}
        for sink in self.sinks:
            name = f"{ctx.stream.name}.e{ctx.state.epoch}.{sink}"
            stream = Stream(name=name, sink_stream=sink, fingerprint=ctx.stream.fingerprint, driver=self)
            state = ctx.states.load(name, fingerprint=ctx.stream.fingerprint)
            sub = StreamContext(
                stream=stream,
                state=state,
                states=ctx.states,
                sink=ctx.sink,
                deadline=ctx.deadline,
                log=ctx.log,
                summary=StreamSummary(stream=name, sink_stream=sink),
                sink_lock=ctx.sink_lock,
            )
            if state.pending:
                # A delivery staged but not committed: the same bytes again, and they are the last sent.
                raw = ctx.states.store.get(str(state.pending.get("outbox", "")))
                sent = (
                    [] if raw is None else list(Batch(ndjson=json.loads(raw)["records"].encode()).records())
                )
                sub.replay_pending()
                if raw is not None:
                    state.state["sent"] = pack(_digest(r) for r in sent)
                    ctx.states.save(state)
                self._count(ctx, sub)
            subs[sink] = sub
        return subs

    @staticmethod
    def _count(ctx: StreamContext, sub: StreamContext) -> None:
        s, into = sub.summary, ctx.summary
        into.deliveries += s.deliveries
        into.records += s.records
        into.rejected += s.rejected
        s.deliveries = s.records = s.rejected = 0

    def _deliver(self, ctx: StreamContext, sub: StreamContext, records: list[dict[str, Any]]) -> None:
        sent = set(unpack(sub.state.state.get("sent")))
        digests = [_digest(r) for r in records]
        fresh = [r for r, d in zip(records, digests, strict=True) if d not in sent]
        ctx.summary.repeated += len(records) - len(fresh)
        if not fresh:
            return
        sub.deliver(Batch.of(fresh), by_id=False)
        sub.state.state["sent"] = pack(_digest(r) for r in fresh)
        sub.commit()
        self._count(ctx, sub)
        newest = ctx.stream.newest(Batch.of(fresh)) if ctx.stream.newest else None
        if newest and (ctx.state.newest is None or newest > ctx.state.newest):
            ctx.state.newest = newest

    def run(self, ctx: StreamContext) -> bool:
        state = ctx.state.state
        cursors: dict[str, str | None] = state.setdefault("cursors", {})
        shards: ShardSet | None = None
        touched: set[str] = set()
        if self.partition is None:
            trackers: dict[str, Any] = state.setdefault("trackers", {})
        else:
            # The document's ``trackers`` is the shared rest when shards are named; without them it
            # is the whole state an earlier version kept there, written out as shards at the first
            # commit (and then no longer in the document).
            trackers = copy.deepcopy(state.get("trackers") or {})
            shards = ShardSet.open(
                ctx.states, ctx.stream.name, self.partition, state, trackers, per_shard=self.per_shard
            )
            if "shards" not in state:
                touched = shards.adopt(trackers)
        subs = self._subs(ctx)
        iters = {f.name: f.pages(cursors.get(f.name), ctx.deadline) for f in self.feeds}
        rounds = 0
        try:
            while iters:
                pages: dict[str, list[Any]] = {}
                for name in list(iters):
                    for _ in range(self.pages_per_round):
                        page = next(iters[name], None)
                        if page is None:
                            del iters[name]
                            break
                        pages.setdefault(name, []).append(page)
                if not pages:
                    break
                out = self.transform(trackers, pages)
                for sink in self.sinks:
                    self._deliver(ctx, subs[sink], out.get(sink, []))
                for name, read in pages.items():
                    for page in read:
                        cursors[name] = page.cursor or cursors.get(name)
                    ctx.summary.pages += len(read)
                replaced: list[str] = []
                if shards is not None and self.partition is not None:
                    touched |= self.partition.touched(trackers)
                    replaced = shards.save(trackers, touched, state)
                    touched = set()
                ctx.commit()
                for key in replaced:  # only now unreferenced: the commit named their successors
                    with contextlib.suppress(Exception):  # a leftover shard is only clutter
                        ctx.states.store.delete(key)
                rounds += 1
                if ctx.max_pages is not None and rounds >= ctx.max_pages:
                    return False
                ctx.check_deadline()
        except BadRequestError as e:
            if any(cursors.values()) and ("after" in str(e) or "cursor" in str(e).lower()):
                key = ctx.states.key(ctx.stream.name)
                msg = (
                    f"the API refused a stored cursor of `{ctx.stream.name}` ({e.status_code}: the cursor "
                    f"expired or is not valid); run once with `reset=true` to start the stream again from "
                    f"the latest values (state `{key}`)"
                )
                raise CheckpointError(msg) from e
            raise
        return True
