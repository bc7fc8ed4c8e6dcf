"""A run of a Function's streams: leases, parallel drivers under one deadline, and the summary."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from samsara_fmc.engine.core import Stream, StreamContext, StreamSummary
from samsara_fmc.exceptions import ConfigurationError, DeadlineExceeded
from samsara_fmc.state import StateStore

if TYPE_CHECKING:
    from samsara_fmc.client import Client
    from samsara_fmc.runtime.budget import Budget
    from samsara_fmc.runtime.log import RunLog
    from samsara_fmc.runtime.params import EventParams
    from samsara_fmc.sinks import Sink
    from samsara_fmc.storage import ObjectStore

__all__ = ["LEASE_GRACE_S", "RunContext", "run_declared", "run_streams"]

LEASE_GRACE_S = 60.0
"""A lease outlives its run's deadline by this much, then a run killed outright no longer holds it."""


@dataclass
class RunContext:
    """What an integration gets to declare its streams, and what the engine runs them with."""

    function: str
    org_id: str
    client: Client
    sink: Sink
    storage: ObjectStore
    states: StateStore
    params: EventParams
    log: RunLog
    budget: Budget
    trigger: str | None
    correlation_id: str | None

    @property
    def deadline(self) -> float:
        """The run's deadline (Unix time)."""
        return self.budget.deadline


def run_streams(
    ctx: RunContext,
    streams: Sequence[Stream],
    *,
    reset: bool = False,
    max_pages: int | None = None,
    parallel: int = 4,
) -> dict[str, Any]:
    """Drives ``streams`` until each is caught up, out of pages or out of time; returns the summary.

    Independent streams run in parallel threads (the core releases the GIL during I/O, and the
    client's rate limits are shared). Deliveries go through one lock unless the sink says it is
    thread-safe. An error in one stream does not stop the others; the first is raised once all
    have ended, so the platform retries the run and every stream resumes from its state.
    """
    names = [s.name for s in streams]
    if len(set(names)) != len(names):
        msg = f"stream names must be unique within a Function, got {names}: name each stream apart"
        raise ConfigurationError(msg)
    if reset and ctx.trigger == "schedule":
        ctx.log.warning("`reset=true` is ignored on a scheduled run; start a manual run to reset")
        reset = False
    sink_lock = None if getattr(ctx.sink, "thread_safe", False) else threading.Lock()
    summaries = [StreamSummary(stream=s.name, sink_stream=s.sink_stream) for s in streams]
    errors: list[BaseException | None] = [None] * len(streams)

    def drive(i: int) -> None:
        stream, summary = streams[i], summaries[i]
        lease = ctx.states.lease(stream.name, owner=ctx.correlation_id, until=ctx.deadline + LEASE_GRACE_S)
        if not lease.acquire():
            summary.busy = True
            ctx.log.warning(
                "stream busy: another run is following it; leaving it to that run",
                stream=stream.name,
                heldBy=lease.holder.get("owner"),
            )
            return
        try:
            state = (
                ctx.states.load(stream.name, fingerprint=stream.fingerprint)
                if not (reset and _needs_reset(ctx, stream))
                else ctx.states.reset(stream.name, fingerprint=stream.fingerprint, by=ctx.correlation_id)
            )
            summary.epoch = state.epoch
            sctx = StreamContext(
                stream=stream,
                state=state,
                states=ctx.states,
                sink=ctx.sink,
                deadline=ctx.deadline,
                log=ctx.log,
                summary=summary,
                max_pages=max_pages,
                sink_lock=sink_lock,
            )
            ctx.log.info("stream start", stream=stream.name, epoch=state.epoch, seq=state.seq)
            sctx.replay_pending()
            summary.caught_up = stream.driver.run(sctx)
            summary.newest = state.newest
        except DeadlineExceeded as e:
            summary.stopped_by_deadline = True
            ctx.log.warning(
                "stream stopped at the deadline; the next run resumes here", stream=stream.name, detail=str(e)
            )
        except BaseException as e:
            summary.error = f"{type(e).__name__}: {e}"
            errors[i] = e
        finally:
            lease.release()
        ctx.log.info("stream end", **summary.as_dict())

    if parallel <= 1 or len(streams) <= 1:
        for i in range(len(streams)):
            drive(i)
    else:
        with ThreadPoolExecutor(max_workers=min(parallel, len(streams)), thread_name_prefix="stream") as pool:
            list(pool.map(drive, range(len(streams))))
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
    return {
        "records": sum(s.records for s in summaries),
        "repeated": sum(s.repeated for s in summaries),
        "rejected": sum(s.rejected for s in summaries),
        "caughtUp": all(s.caught_up for s in summaries),
        "stoppedByDeadline": any(s.stopped_by_deadline for s in summaries),
        "busy": [s.stream for s in summaries if s.busy],
        "streams": [s.as_dict() for s in summaries],
    }


def run_declared(ctx: RunContext, streams: Sequence[Stream]) -> dict[str, Any]:
    """Runs an integration's declared streams with the parameters every Function shares: ``reset``
    (start afresh, on a manual or API run) and ``maxPages`` (per stream, this run)."""
    return run_streams(
        ctx, streams, reset=bool(ctx.params.get("reset")), max_pages=ctx.params.get("maxPages")
    )


def _needs_reset(ctx: RunContext, stream: Stream) -> bool:
    """A reset applies once per run: a platform retry of the run that reset does not reset again."""
    try:
        current = ctx.states.load(stream.name, fingerprint=stream.fingerprint)
    except Exception:
        return True
    return current.reset_by is None or current.reset_by != ctx.correlation_id
