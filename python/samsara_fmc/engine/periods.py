"""The ``periods`` driver: reports Samsara computes per calendar period (IFTA months and quarters).

Such a report is asked for whole (``year`` plus ``month`` or ``quarter``), is worth reading only once
its period has closed, and may still change afterwards (a fuel purchase imported late, a corrected
jurisdiction mileage). So each run reads every period ``due`` names (the closed periods still within
the time the integration re-checks) and keeps, per period, the digests of its records' (id, content)
as the period's fingerprint: a new period is delivered once; a changed one has its changed records
delivered again under the same ``id`` s (upserts) and nothing else; an unchanged one is not
delivered. State::

    {"periods": {"<period>": "<base64 digests of its records' (id, content)>", …},
     "ids": {"<period>": "<base64 zlib of its records' ids, sorted, one a line>", …}}  # with `withdraw`

Period keys must sort in time order (``2026-12``, ``2026-Q4``); the ``keep`` newest periods are kept,
so a period that left the re-check horizon and comes back (the horizon widened) is recognised. A
period's changed records are one delivery, so a crash between it and the state write re-sends exactly
that delivery (the engine's outbox) and nothing else. A run's page limit counts the periods that
changed (each run reads the unchanged ones again, so it always gets further).

A record that drops out of a changed period (a jurisdiction or vehicle no longer in Samsara's figures)
is withdrawn when the integration says how (``withdraw``): the driver keeps each period's record ids
(``ids``) and delivers, in the same delivery as the period's changed records, the integration's
withdrawal record under each vanished ``id`` (an upsert the FMC reads as "no longer reported"). A
withdrawn id that comes back is delivered again like any new record. A period whose ids were not kept
yet (state written before ``withdraw`` existed) has them recorded by its next read, without a
delivery, and is tracked from then on.

A record may come with files (``files``: the IFTA return's CSV): they are delivered through the
sink's ``deliver_file`` before the records that name them, so a record never points at a missing
file; a file delivered again after a crash is the same bytes under the same key, which changes nothing.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from samsara_fmc.engine._util import Clock, digest, pack, unpack, utc_now
from samsara_fmc.engine.core import StreamContext
from samsara_fmc.sinks import Batch

__all__ = ["FileOf", "PeriodsDriver", "Withdraw", "pack_ids", "record_digest", "unpack_ids"]

FileOf = Callable[[Mapping[str, Any]], Sequence[tuple[str, bytes, str]]]
"""A record's files, each ``(key, bytes, content type)``; the key's last segment is the file's name."""
Withdraw = Callable[[str, str], Mapping[str, Any]]
"""``withdraw(period, id)``: the record that withdraws ``id`` from ``period`` (same ``id``)."""


def pack_ids(ids: Sequence[str]) -> str:
    """Record ids as compact text for a JSON state: sorted, one a line, zlib, base64 (ids of a period
    share long prefixes, so this is a fraction of their length)."""
    return base64.b64encode(zlib.compress("\n".join(sorted(ids)).encode(), 9)).decode()


def unpack_ids(text: str) -> set[str]:
    """The ids :func:`pack_ids` wrote."""
    raw = zlib.decompress(base64.b64decode(text)).decode()
    return set(raw.split("\n")) if raw else set()


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
        withdraw: The record that withdraws an id gone from a changed period (``None``: such a
            record is left as last delivered).
    """

    due: Callable[[_dt.datetime], Sequence[str]]
    fetch: Callable[[str, float], Sequence[Mapping[str, Any]]]
    clock: Clock = utc_now
    keep: int = 64
    files: FileOf | None = None
    withdraw: Withdraw | None = None

    def run(self, ctx: StreamContext) -> bool:
        st = ctx.state.state
        done: dict[str, str] = dict(st.get("periods") or {})
        kept: dict[str, str] = dict(st.get("ids") or {})
        for period in self.due(self.clock()):
            ctx.check_deadline()
            records = list(self.fetch(period, ctx.deadline))
            digests = [record_digest(r) for r in records]
            known = set(unpack(done.get(period)))
            fresh = [r for r, d in zip(records, digests, strict=True) if d not in known]
            ctx.summary.repeated += len(records) - len(fresh)
            fingerprint = pack(sorted(set(digests)))
            ids = sorted({str(r["id"]) for r in records})
            if fingerprint != done.get(period):
                gone: list[Mapping[str, Any]] = []
                if self.withdraw is not None and period in kept:
                    gone = [self.withdraw(period, i) for i in sorted(unpack_ids(kept[period]) - set(ids))]
                # The new fingerprint goes into the state before the delivery: the engine saves the
                # state with its outbox entry, so a run that dies after sending does not read the
                # period as changed again, and its retry re-sends exactly that delivery.
                done[period] = fingerprint
                st["periods"] = {k: done[k] for k in sorted(done)[-self.keep :]}
                self._keep_ids(st, kept, period, ids)
                if fresh or gone:
                    self._deliver_files(ctx, fresh)
                    ctx.deliver(Batch.of([*fresh, *gone]), by_id=False)
                else:
                    ctx.summary.pages += 1
                ctx.commit()
                # Only a changed period counts towards the run's page limit: every run reads the
                # unchanged ones again, so counting them would stop each run before the same period.
                if ctx.page_limit_reached():
                    return False
            elif self.withdraw is not None and period not in kept:
                self._keep_ids(st, kept, period, ids)  # tracked from now on
                ctx.commit()
        return True

    def _keep_ids(self, st: dict[str, Any], kept: dict[str, str], period: str, ids: Sequence[str]) -> None:
        if self.withdraw is None:
            return
        kept[period] = pack_ids(ids)
        st["ids"] = {k: kept[k] for k in sorted(kept)[-self.keep :]}

    def _deliver_files(self, ctx: StreamContext, records: Sequence[Mapping[str, Any]]) -> None:
        if self.files is None:
            return
        for record in records:
            for key, data, content_type in self.files(record):
                with ctx.sink_lock or contextlib.nullcontext():
                    ctx.sink.deliver_file(
                        ctx.stream.sink_stream, key, data, content_type=content_type, deadline=ctx.deadline
                    )
