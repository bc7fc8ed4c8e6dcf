"""A run of engine streams against a sandbox: storage, a memory sink, a captured log, the sandbox clock."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from samsara_fmc.client import Client, RetryPolicy
from samsara_fmc.engine import RunContext, Stream, run_streams
from samsara_fmc.engine._util import parse_time
from samsara_fmc.runtime.budget import Budget
from samsara_fmc.runtime.log import RunLog
from samsara_fmc.runtime.params import EventParams
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.state import StateStore
from samsara_fmc.storage import MemoryStorage
from tests.support.sandbox import SandboxProcess

ORG = "5005"
FUNCTION = "engine-test"


def sim_clock(sb: SandboxProcess | None) -> Callable[[], dt.datetime]:
    """The sandbox's simulated clock, as a driver's ``clock``."""
    assert sb is not None

    def now() -> dt.datetime:
        return parse_time(str(sb.get("/__sandbox/clock")["now"]))

    return now


def fast_client(sb: SandboxProcess) -> Client:
    """A client for the sandbox with short backoffs (the faults are retried quickly)."""
    retry = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.5, max_elapsed=20.0)
    return Client(token=sb.token, base_url=sb.url, retry=retry, rate_limit=False)


@dataclass
class Rig:
    """Runs streams the way a Function does, keeping what every run wrote."""

    sb: SandboxProcess | None
    client: Client
    storage: MemoryStorage = field(default_factory=MemoryStorage)
    sink: MemorySink = field(default_factory=MemorySink)
    log: io.StringIO = field(default_factory=io.StringIO)
    summaries: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, sb: SandboxProcess) -> Rig:
        return cls(sb=sb, client=fast_client(sb))

    def states(self) -> StateStore:
        return StateStore(self.storage, org_id=ORG, function=FUNCTION)

    def run(
        self,
        streams: Sequence[Stream],
        *,
        correlation: str = "run-1",
        budget: float = 120.0,
        max_pages: int | None = None,
    ) -> dict[str, Any]:
        now = time.time()
        ctx = RunContext(
            function=FUNCTION,
            org_id=ORG,
            client=self.client,
            sink=self.sink,
            storage=self.storage,
            states=self.states(),
            params=EventParams(raw={}),
            log=RunLog(correlation_id=correlation, function=FUNCTION, stream=self.log),
            budget=Budget(started=now, deadline=now + budget),
            trigger="manual",
            correlation_id=correlation,
        )
        out = run_streams(ctx, streams, max_pages=max_pages)
        self.summaries.append(out)
        return out

    def state(self, stream: str) -> dict[str, Any]:
        """The stored state document of ``stream``."""
        raw = self.storage.get(self.states().key(stream))
        assert raw is not None, f"no state for `{stream}`"
        return dict(json.loads(raw))

    def written(self) -> str:
        """Everything the runs wrote: storage, deliveries, log lines and summaries, as one text."""
        parts = [self.log.getvalue(), json.dumps(self.summaries, default=str)]
        parts += [(self.storage.get(k) or b"").decode() for k in list(self.storage.objects)]
        parts += [json.dumps(v, default=str) for v in self.sink.deliveries.values()]
        return "\n".join(parts)

    def delivered(self, stream: str) -> list[dict[str, Any]]:
        """The records delivered to ``stream``, in delivery-key order."""
        return [dict(r) for r in self.sink.records(stream)]
