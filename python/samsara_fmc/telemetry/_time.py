"""Time helpers the trackers share: RFC 3339 text to epoch seconds and back.

Both are cached: readings fall on a shared grid (Samsara samples every few seconds on the clock), so
across a fleet the same instants recur and each is parsed or formatted once.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache

from samsara_fmc.engine._util import iso, parse_time

__all__ = ["epoch", "text"]


@lru_cache(maxsize=1 << 16)
def epoch(t: str) -> float:
    """An RFC 3339 timestamp as Unix seconds (trackers compare numbers, not texts of varying form)."""
    return parse_time(t).timestamp()


@lru_cache(maxsize=1 << 16)
def text(seconds: float) -> str:
    """Unix seconds as RFC 3339 UTC with milliseconds."""
    return iso(_dt.datetime.fromtimestamp(seconds, _dt.UTC))
