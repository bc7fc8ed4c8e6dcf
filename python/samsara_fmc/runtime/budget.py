"""The run's time budget: the Functions limit (15 minutes) or the context's remaining time, less a margin."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_RUN_SECONDS", "Budget"]

MAX_RUN_SECONDS = 15 * 60
"""The Functions (Lambda) timeout."""


@dataclass(frozen=True)
class Budget:
    """A deadline (Unix time) that every API call, delivery and wait of the run is given."""

    started: float
    deadline: float

    @classmethod
    def for_run(cls, context: Any, *, margin_s: float = 30.0, limit_s: float = MAX_RUN_SECONDS) -> Budget:
        """15 minutes from now (or the Lambda context's remaining time, if shorter) minus ``margin_s``.

        The margin shrinks for short budgets (to a fifth of the budget), so a run given 30 seconds
        still has time to work and to write its state and health.
        """
        now = time.time()
        remaining = float(limit_s)
        getter = getattr(context, "get_remaining_time_in_millis", None)
        if callable(getter):
            remaining = min(remaining, getter() / 1000.0)
        margin = min(margin_s, remaining / 5)
        return cls(started=now, deadline=now + max(0.0, remaining - margin))

    def remaining(self) -> float:
        """Seconds left."""
        return max(0.0, self.deadline - time.time())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return time.time() >= self.deadline
