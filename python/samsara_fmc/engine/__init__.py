"""The integration engine: streams, drivers, state, leases, delivery and the run.

An integration module declares its streams (see :class:`Stream`) from a :class:`RunContext`; the
engine drives them (in parallel, each under its lease), delivers to the run's sink, saves state
after each delivery, and returns the run's summary and health.
"""

from samsara_fmc.engine.core import Driver, Stream, StreamContext, StreamSummary
from samsara_fmc.engine.feed import FeedDriver
from samsara_fmc.engine.runner import RunContext, run_streams

__all__ = [
    "Driver",
    "FeedDriver",
    "RunContext",
    "Stream",
    "StreamContext",
    "StreamSummary",
    "run_streams",
]
