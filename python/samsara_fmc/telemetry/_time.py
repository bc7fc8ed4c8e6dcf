"""Time helpers the trackers share: RFC 3339 text to epoch seconds and back."""

from __future__ import annotations

import datetime as _dt

from samsara_fmc.engine._util import iso, parse_time

__all__ = ["epoch", "text"]


def epoch(t: str) -> float:
    """An RFC 3339 timestamp as Unix seconds (trackers compare numbers, not texts of varying form)."""
    return parse_time(t).timestamp()


def text(seconds: float) -> str:
    """Unix seconds as RFC 3339 UTC with milliseconds."""
    return iso(_dt.datetime.fromtimestamp(seconds, _dt.UTC))
