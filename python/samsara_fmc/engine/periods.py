"""The ``periods`` driver: reports Samsara computes per calendar period (IFTA months and quarters).

Such a report is asked for whole (``year`` plus ``month`` or ``quarter``), is worth reading only once
its period has closed, and may still change afterwards (a fuel purchase imported late, a corrected
jurisdiction mileage). So each run reads every period ``due`` names (the closed periods still within
the time the integration re-checks) and keeps, per period, the digests of its records' (id, content)
as the period's fingerprint: a new period is delivered once; a changed one has its changed records
delivered again under the same ``id`` s (upserts) and nothing else; an unchanged one is not
delivered. State::

    {"periods": {"<period>": "<base64 digests of its records' (id, content)>", …}}

Period keys must sort in time order (``2026-12``, ``2026-Q4``); the ``keep`` newest periods are kept,
so a period that left the re-check horizon and comes back (the horizon widened) is recognised. A
period's changed records are one delivery, so a crash between it and the state write re-sends exactly
that delivery (the engine's outbox) and nothing else. A run's page limit counts the periods that
changed (each run reads the unchanged ones again, so it always gets further). A record that drops
out of a changed period is not retracted (the driver cannot tell an FMC what to delete); the
integration's own summary records (the IFTA return) carry the period whole.

A record may come with files (``files``: the IFTA return's CSV): they are delivered through the
sink's ``deliver_file`` before the records that name them, so a record never points at a missing
file; a file delivered again after a crash is the same bytes under the same key, which changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from samsara_fmc.engine._util import Clock, digest, pack, unpack, utc_now
from samsara_fmc.engine.core import StreamContext
from samsara_fmc.sinks import Batch

__all__ = ["FileOf", "PeriodsDriver", "record_digest"]

FileOf = Callable[[Mapping[str, Any]], Sequence[tuple[str, bytes, str]]]
"""A record's files, each ``(key, bytes, content type)``; the key's last segment is the file's name."""


def record_digest(record: Mapping[str, Any]) -> bytes:
    """The digest of a record's (id, content): equal for an unchanged record read again."""
    return digest(str(record["id"]), json.dumps(record, sort_keys=True, separators=(",", ":"), default=str))


@dataclass(frozen=True)
class PeriodsDriver:
    """Reads whole periods and delivers the records that are new or changed since the last read.

    Attributes:
        due: Given now, the periods to read, oldest first (closed ones within the re-check horizon).
        fetch: ``fetch(period, deadline)``: all records of one period (each with a stable ``id``).
        clock: The current time.
        keep: At most this many periods' fingerprints are kept (the newest by key).
        files: A delivered record's files, delivered before it (``None``: records only).
    """

    due: Callable[[_dt.datetime], Sequence[str]]
    fetch: Callable[[str, float], Sequence[Mapping[str, Any]]]
    clock: Clock = utc_now
    keep: int = 64
    files: FileOf | None = None

    def run(self, ctx: StreamContext) -> bool:
        st = ctx.state.state
        done: dict[str, str] = dict(st.get("periods") or {})
        for period in self.due(self.clock()):
            ctx.check_deadline()
            records = list(self.fetch(period, ctx.deadline))
            digests = [record_digest(r) for r in records]
            known = set(unpack(done.get(period)))
            fresh = [r for r, d in zip(records, digests, strict=True) if d not in known]
            ctx.summary.repeated += len(records) - len(fresh)
            fingerprint = pack(sorted(set(digests)))
            if fingerprint != done.get(period):
                # The new fingerprint goes into the state before the delivery: the engine saves the
                # state with its outbox entry, so a run that dies after sending does not read the
                # period as changed again, and its retry re-sends exactly that delivery.
                done[period] = fingerprint
                st["periods"] = {k: done[k] for k in sorted(done)[-self.keep :]}
                if fresh:
                    self._deliver_files(ctx, fresh)
                    ctx.deliver(Batch.of(fresh), by_id=False)
                else:
                    ctx.summary.pages += 1
                ctx.commit()
                # Only a changed period counts towards the run's page limit: every run reads the
                # unchanged ones again, so counting them would stop each run before the same period.
                if ctx.page_limit_reached():
                    return False
        return True

    def _deliver_files(self, ctx: StreamContext, records: Sequence[Mapping[str, Any]]) -> None:
        if self.files is None:
            return
        for record in records:
            for key, data, content_type in self.files(record):
                with ctx.sink_lock or contextlib.nullcontext():
                    ctx.sink.deliver_file(
                        ctx.stream.sink_stream, key, data, content_type=content_type, deadline=ctx.deadline
                    )
