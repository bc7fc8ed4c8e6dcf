"""The engine's core: a stream, its context during a run, delivery with keys and repeat filtering.

An integration declares :class:`Stream` objects (a name, the FMC stream it delivers to, the query
fingerprint, and a driver that knows how to walk the source); the engine owns everything else:
the lease, the state, delivery keys, repeated-record filtering, the deadline, and the summary.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from samsara_fmc.exceptions import DeadlineExceeded
from samsara_fmc.sinks import Batch, Sink, check_stream
from samsara_fmc.state import StateStore, StreamState, digest_id, id_digests

if TYPE_CHECKING:
    from samsara_fmc.runtime.log import RunLog

__all__ = ["Driver", "Stream", "StreamContext", "StreamSummary"]


@dataclass
class StreamSummary:
    """What one stream did in a run (camelCase keys in :meth:`as_dict`, like the rest of the summary)."""

    stream: str
    sink_stream: str
    epoch: int = 0
    pages: int = 0
    deliveries: int = 0
    records: int = 0
    repeated: int = 0
    rejected: int = 0
    caught_up: bool = False
    stopped_by_deadline: bool = False
    busy: bool = False
    newest: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form, keys in camelCase."""
        out = {}
        for k, v in asdict(self).items():
            head, *rest = k.split("_")
            out[head + "".join(w.title() for w in rest)] = v
        return out


class Driver(Protocol):
    """Walks one source for one stream: reads from ``ctx.state.state``, delivers with ``ctx.deliver``,
    then records its new position and calls ``ctx.commit()``; returns whether it caught up."""

    def run(self, ctx: StreamContext) -> bool:
        """Drives the stream until caught up (``True``), a page limit or the deadline."""
        ...


@dataclass(frozen=True)
class Stream:
    """One stream of a Function.

    Attributes:
        name: The state's name within the Function (letters, digits, ``.``, ``_``, ``+``, ``-``).
        sink_stream: The FMC stream its records go to (``vehicle_stats``).
        fingerprint: The query's fingerprint; a stored state for another query is refused.
        driver: How to walk the source.
        newest: Given a delivered batch, the newest record time in it (for lag), if known.
    """

    name: str
    sink_stream: str
    fingerprint: str
    driver: Driver
    newest: Callable[[Batch], str | None] | None = None

    def __post_init__(self) -> None:
        check_stream(self.sink_stream)


@dataclass
class StreamContext:
    """A stream during one run: its state, the sink, the deadline, and the delivery step."""

    stream: Stream
    state: StreamState
    states: StateStore
    sink: Sink
    deadline: float
    log: RunLog
    summary: StreamSummary
    max_pages: int | None = None
    sink_lock: threading.Lock | None = None
    _pending: set[bytes] | None = field(default=None, repr=False)
    _by_id: bool = field(default=True, repr=False)
    _replayed: set[bytes] | None = field(default=None, repr=False)
    """Line digests of the delivery this run replayed (``by_id=False``): left out for the whole run."""

    def deliver(self, batch: Batch, *, rejects: Batch | None = None, by_id: bool = True) -> int:
        """Delivers ``batch`` (less records the last delivery already carried) under the next key.

        The driver then records its new position in ``state.state`` and calls :meth:`commit`.
        A crash before the commit is mended by the next run: a sink that replaces a key's earlier
        delivery (files) gets it again from the re-read source; a sink that upserts records (the
        FMC endpoint) gets the exact bytes again from the outbox, under the same key, so it answers
        from its first delivery, and the re-read source's records it carried are then left out as
        repeats. With ``by_id=False`` the engine does not filter repeats by ``id``: the driver
        deduplicates itself, because a record delivered again under the same ``id`` is an update (an
        upsert); only after a replay, the run's deliveries leave out records identical (byte for byte)
        to the replayed ones, which the driver's uncommitted state could not know were delivered.
        Returns the number of records delivered.
        """
        st = self.state
        self.summary.pages += 1
        self._by_id = by_id
        if not by_id:
            replayed = set().union(*st.recent) | (self._replayed or set())
            if replayed:  # after a replay: digests of the replayed records' exact lines
                before = len(batch)
                batch = _drop_lines(batch, replayed)
                self.summary.repeated += before - len(batch)
            st.recent = []
        digests: list[bytes] = []
        if by_id and batch:
            # One digest per record, used twice: to leave out the repeats, and as this delivery's ids.
            digests = [digest_id(i) for i in batch.ids()]
            if st.recent:
                seen = set().union(*st.recent)
                fresh = [d not in seen for d in digests]
                if not all(fresh):
                    before = len(batch)
                    batch = batch.mask(fresh)
                    digests = [d for d, f in zip(digests, fresh, strict=True) if f]
                    self.summary.repeated += before - len(batch)
        if not batch and not rejects:
            return 0
        key = self._key(st.seq)
        if not getattr(self.sink, "replaces_by_key", False):
            self._stage(key, batch, rejects)
        self._send(key, batch, rejects)
        st.seq += 1
        st.records += len(batch)
        self._pending = set(digests) if (batch and by_id) else None
        newest = self.stream.newest(batch) if (self.stream.newest and batch) else None
        if newest and (st.newest is None or newest > st.newest):
            st.newest = newest
        self.summary.deliveries += 1
        self.summary.records += len(batch)
        self.summary.rejected += len(rejects) if rejects else 0
        return len(batch)

    def _key(self, seq: int) -> str:
        st = self.state
        return f"{st.org_id}/{st.function}/{st.stream}/e{st.epoch:04d}/{seq:08d}"

    def _outbox_key(self, seq: int) -> str:
        st = self.state
        return f"outbox/{st.org_id}/{st.function}/{st.stream}/e{st.epoch:04d}/{seq:08d}.json"

    def _stage(self, key: str, batch: Batch, rejects: Batch | None) -> None:
        """Writes the delivery's exact bytes to the outbox and marks it pending, before sending."""
        st = self.state
        outbox = self._outbox_key(st.seq)
        body = {
            "key": key,
            "records": batch.ndjson().decode(),
            "rejects": rejects.ndjson().decode() if rejects else "",
        }
        self.states.store.put(outbox, json.dumps(body).encode())
        st.pending = {"seq": st.seq, "outbox": outbox, "byId": self._by_id}
        self.states.save(st)

    def _send(self, key: str, batch: Batch, rejects: Batch | None) -> None:
        with self.sink_lock or contextlib.nullcontext():
            if batch:
                self.sink.deliver(self.stream.sink_stream, key, batch, deadline=self.deadline)
            if rejects:
                self.sink.deliver(f"{self.stream.sink_stream}_rejects", key, rejects, deadline=self.deadline)

    def replay_pending(self) -> None:
        """Re-sends a delivery an earlier run sent (or was about to) but did not commit: the same bytes
        under the same key. Its records then count as the last delivery, so the re-read source's copies
        of them are left out."""
        st = self.state
        if not st.pending:
            return
        raw = self.states.store.get(str(st.pending.get("outbox", "")))
        seq = int(st.pending.get("seq", st.seq))
        if raw is None or seq != st.seq:
            # Nothing was staged under this number (or it was committed): the source is read again.
            st.pending = None
            self.states.save(st)
            return
        doc = json.loads(raw)
        batch = Batch(ndjson=doc["records"].encode())
        rejects = Batch(ndjson=doc["rejects"].encode()) if doc.get("rejects") else None
        self.log.info("re-sending a delivery the last run did not commit", stream=st.stream, seq=seq)
        self._send(self._key(seq), batch, rejects)
        st.seq += 1
        st.records += len(batch)
        if st.pending.get("byId", True):
            st.recent = [id_digests(batch.ids()), *st.recent[:1]]
        else:
            # The driver deduplicates itself, but its own record of what it delivered was not
            # committed: the re-read source's records identical to the replayed ones are left out
            # once (a changed version, an update, is not identical and still goes).
            st.recent = [_line_digests(batch)]
            self._replayed = st.recent[0]
        self.summary.deliveries += 1
        self.summary.records += len(batch)
        self.commit()

    def commit(self) -> None:
        """Saves the state after a delivery (or an empty page): the position moves on."""
        if self._pending is not None:
            self.state.recent = [self._pending, *self.state.recent[:1]]
            self._pending = None
        done = self.state.pending
        self.state.pending = None
        self.states.save(self.state)
        if done:
            with contextlib.suppress(Exception):  # a leftover outbox object is only clutter
                self.states.store.delete(str(done["outbox"]))

    def page_limit_reached(self) -> bool:
        """Whether this run's page limit for the stream is used up."""
        return self.max_pages is not None and self.summary.pages >= self.max_pages

    def check_deadline(self) -> None:
        """Raises :class:`DeadlineExceeded` once the run's deadline has passed."""
        if time.time() >= self.deadline:
            raise DeadlineExceeded(f"the run's deadline passed while following `{self.stream.name}`")


def _line_digests(batch: Batch) -> set[bytes]:
    """Digests of a batch's exact NDJSON lines (a record and its content)."""
    return id_digests(line.decode() for line in batch.ndjson().splitlines() if line.strip())


def _drop_lines(batch: Batch, seen: set[bytes]) -> Batch:
    """``batch`` less the records whose exact line is in ``seen``."""
    lines = [line for line in batch.ndjson().splitlines() if line.strip()]
    kept = [line for line in lines if not (id_digests([line.decode()]) & seen)]
    if len(kept) == len(lines):
        return batch
    return Batch(ndjson=b"".join(line + b"\n" for line in kept))
