"""Small helpers the drivers share: a clock, RFC 3339 text, and compact digest sets for state."""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
from collections.abc import Callable, Iterable

__all__ = ["Clock", "digest", "iso", "pack", "parse_time", "unpack", "utc_now"]

Clock = Callable[[], _dt.datetime]
"""Returns the current time, timezone-aware (tests pass the sandbox's simulated clock)."""

_DIGEST = 8


def utc_now() -> _dt.datetime:
    """The wall clock, UTC."""
    return _dt.datetime.now(_dt.UTC)


def iso(t: _dt.datetime) -> str:
    """RFC 3339 UTC with milliseconds (``2026-11-02T18:00:00.000Z``)."""
    return t.astimezone(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> _dt.datetime:
    """An RFC 3339 timestamp as an aware datetime (``Z`` and offsets accepted)."""
    t = _dt.datetime.fromisoformat(text.replace("z", "Z"))
    return t if t.tzinfo is not None else t.replace(tzinfo=_dt.UTC)


def digest(*parts: str) -> bytes:
    """An 8-byte digest of ``parts`` (what state keeps to recognise a record or a change)."""
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=_DIGEST).digest()


def pack(digests: Iterable[bytes]) -> str:
    """Digests as base64 text for a JSON state, in the order given."""
    return base64.b64encode(b"".join(digests)).decode()


def unpack(text: str | None) -> list[bytes]:
    """The digests :func:`pack` wrote (an empty list for ``None`` or ``""``)."""
    raw = base64.b64decode(text or "")
    return [raw[i : i + _DIGEST] for i in range(0, len(raw) - len(raw) % _DIGEST, _DIGEST)]
