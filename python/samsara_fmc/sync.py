"""The engine every integration runs on: follow pages, deliver each, then checkpoint it.

An integration supplies how to get pages from a cursor and how to deliver one; this module owns the
loop, the checkpoint, the deadline and the summary. Invariants:

* the checkpoint advances only after its page is delivered;
* delivery ``n`` of a stream always goes to the same place, so a page re-delivered after a crash or a
  platform retry replaces itself instead of duplicating (and records carry stable ids on top);
* a run stopped by its deadline returns cleanly, and the next run resumes from the last delivered page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Protocol, TypeVar

from samsara_fmc.checkpoints import Checkpoint, Checkpoints
from samsara_fmc.exceptions import DeadlineExceeded
from samsara_fmc.runtime import RunLog

__all__ = ["PageLike", "StreamSummary", "follow"]


class PageLike(Protocol):
    """What :func:`follow` needs of a page."""

    @property
    def cursor(self) -> str | None:
        """The cursor to store once the page is delivered."""
        ...


P = TypeVar("P", bound=PageLike)


@dataclass
class StreamSummary:
    """What one stream did in a run."""

    stream: str
    pages: int = 0
    records: int = 0
    rejected: int = 0
    caught_up: bool = False
    stopped_by_deadline: bool = False
    cursor_pages_total: int = 0

    def as_dict(self) -> dict[str, object]:
        """JSON-able form, for the run summary."""
        return asdict(self)


def follow(
    *,
    stream: str,
    checkpoints: Checkpoints,
    fingerprint: str,
    pages: Callable[[str | None], Iterator[P]],
    deliver: Callable[[Checkpoint, P], tuple[int, int]],
    log: RunLog,
    reset: bool = False,
    max_pages: int | None = None,
) -> StreamSummary:
    """Runs one stream from its checkpoint until caught up, the deadline, or ``max_pages``.

    Args:
        stream: The stream's name (part of the checkpoint key).
        checkpoints: Where checkpoints live.
        fingerprint: Identifies the query; a stored checkpoint for another query is refused.
        pages: Given the stored cursor (``None`` at first), yields pages; it is given the deadline by
            the caller and raises :class:`DeadlineExceeded` when it would be overrun.
        deliver: Delivers a page to the sink for the given (pre-page) checkpoint, and returns the
            numbers of records and rejected records delivered. Must be idempotent for the same
            checkpoint: ``checkpoint.pages`` names the delivery.
        log: The run log.
        reset: Start from scratch, discarding the stored checkpoint.
        max_pages: Stop after this many pages in this run.
    """
    cp = (
        checkpoints.reset(stream, fingerprint=fingerprint)
        if reset
        else checkpoints.load(stream, fingerprint=fingerprint)
    )
    summary = StreamSummary(stream=stream, cursor_pages_total=cp.pages)
    log.info("stream start", stream=stream, resumeFromPage=cp.pages, hasCursor=cp.cursor is not None)
    iterator = pages(cp.cursor)
    try:
        for page in iterator:
            records, rejected = deliver(cp, page)
            cp = cp.advanced(page.cursor, records)
            checkpoints.save(cp)
            summary.pages += 1
            summary.records += records
            summary.rejected += rejected
            summary.cursor_pages_total = cp.pages
            if max_pages is not None and summary.pages >= max_pages:
                break
        else:
            summary.caught_up = True
    except DeadlineExceeded as e:
        summary.stopped_by_deadline = True
        log.warning("stream stopped at the deadline; the next run resumes here", stream=stream, detail=str(e))
    log.info("stream end", **summary.as_dict())
    return summary
