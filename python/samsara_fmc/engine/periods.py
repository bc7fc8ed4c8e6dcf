"""The ``periods`` driver: reports Samsara computes per calendar period (IFTA months and quarters).

Such a report is asked for whole (``year`` plus ``month`` or ``quarter``), is worth reading only once
its period has closed, and may still change afterwards (a fuel purchase imported late, a corrected
jurisdiction mileage). So each run reads every period ``due`` names (the closed periods still within
the time the integration re-checks), and delivers a period's records when their fingerprint differs
from the one delivered last: a new period once, a changed one again under the same ``id`` s (an
upsert), an unchanged one not at all. State::

    {"periods": {"<period>": "<fingerprint of its records>", …}}

Period keys must sort in time order (``2026-12``, ``2026-Q4``); the ``keep`` newest fingerprints are
kept, so a period that left the re-check horizon and comes back (the horizon widened) is recognised.
A period's records are one delivery, so a crash between delivery and state write re-sends exactly
that delivery (the engine's outbox) and nothing else.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from samsara_fmc.engine._util import Clock, utc_now
from samsara_fmc.engine.core import StreamContext
from samsara_fmc.sinks import Batch

__all__ = ["PeriodsDriver", "records_fingerprint"]


def records_fingerprint(records: Sequence[Mapping[str, Any]]) -> str:
    """A hash of a period's records, whatever their order (so a re-read in another order is equal)."""
    lines = sorted(json.dumps(r, sort_keys=True, separators=(",", ":"), default=str) for r in records)
    return hashlib.blake2b("\n".join(lines).encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class PeriodsDriver:
    """Reads whole periods and delivers those whose records changed since their last delivery.

    Attributes:
        due: Given now, the periods to read, oldest first (closed ones within the re-check horizon).
        fetch: ``fetch(period, deadline)``: all records of one period (each with a stable ``id``).
        clock: The current time.
        keep: At most this many periods' fingerprints are kept (the newest by key).
    """

    due: Callable[[_dt.datetime], Sequence[str]]
    fetch: Callable[[str, float], Sequence[Mapping[str, Any]]]
    clock: Clock = utc_now
    keep: int = 64

    def run(self, ctx: StreamContext) -> bool:
        st = ctx.state.state
        done: dict[str, str] = dict(st.get("periods") or {})
        for period in self.due(self.clock()):
            ctx.check_deadline()
            records = list(self.fetch(period, ctx.deadline))
            fp = records_fingerprint(records)
            if done.get(period) == fp:
                ctx.summary.repeated += len(records)
                ctx.summary.pages += 1
            else:
                ctx.deliver(Batch.of(records), by_id=False)
                done[period] = fp
                st["periods"] = {k: done[k] for k in sorted(done)[-self.keep :]}
                ctx.commit()
            if ctx.page_limit_reached():
                return False
        return True
