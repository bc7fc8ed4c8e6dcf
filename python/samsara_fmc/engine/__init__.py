"""The integration engine: streams, drivers, state, leases, delivery and the run.

An integration module declares its streams (see :class:`Stream`) from a :class:`RunContext`; the
engine drives them (in parallel, each under its lease), delivers to the run's sink, saves state
after each delivery, and returns the run's summary and health.

Drivers (one state document each): :class:`FeedDriver` (cursor feeds), :class:`StreamDriver`
(``/…/stream`` endpoints), :class:`WindowsDriver` (time-windowed endpoints), :class:`LedgerDriver`
(FMC changes applied to Samsara exactly once), :class:`JobsDriver` (two-phase work across runs) and
:class:`PeriodsDriver` (reports per calendar period, delivered again when a closed one changes).
"""

from samsara_fmc.engine.core import Driver, Stream, StreamContext, StreamSummary
from samsara_fmc.engine.feed import FeedDriver
from samsara_fmc.engine.jobs import JobsDriver, MediaFile, MediaResult, MediaRetrieval, Poll
from samsara_fmc.engine.ledger import LedgerDriver, Write
from samsara_fmc.engine.periods import PeriodsDriver
from samsara_fmc.engine.runner import RunContext, run_streams
from samsara_fmc.engine.stream import StreamDriver
from samsara_fmc.engine.windows import WindowsDriver

__all__ = [
    "Driver",
    "FeedDriver",
    "JobsDriver",
    "LedgerDriver",
    "MediaFile",
    "MediaResult",
    "MediaRetrieval",
    "PeriodsDriver",
    "Poll",
    "RunContext",
    "Stream",
    "StreamContext",
    "StreamDriver",
    "StreamSummary",
    "WindowsDriver",
    "Write",
    "run_streams",
]
