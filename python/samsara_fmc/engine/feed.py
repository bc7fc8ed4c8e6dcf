"""The ``feed`` driver: cursor feeds (``/fleet/vehicles/stats/feed``, ``/fleet/vehicles/locations/feed``).

State: ``{"cursor": …}``. Each page is delivered, then the page's cursor is saved. A cursor the API
refuses (expired, or not one of its cursors) cannot be resumed from without losing what lies between
it and now, so the run stops once with an error that names the state and the fix, instead of failing
every retry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from samsara_fmc.engine.core import StreamContext
from samsara_fmc.exceptions import BadRequestError, CheckpointError
from samsara_fmc.sinks import Batch

__all__ = ["FeedDriver"]


@dataclass(frozen=True)
class FeedDriver:
    """Follows a cursor feed.

    Attributes:
        pages: Given the stored cursor (``None`` at first) and the deadline, yields pages that have
            a ``cursor`` attribute.
        to_batch: A page's records, and its rejected records (or ``None``).
    """

    pages: Callable[[str | None, float], Iterator[Any]]
    to_batch: Callable[[Any], tuple[Batch, Batch | None]]

    def run(self, ctx: StreamContext) -> bool:
        cursor = ctx.state.state.get("cursor")
        try:
            for page in self.pages(cursor, ctx.deadline):
                batch, rejects = self.to_batch(page)
                ctx.deliver(batch, rejects=rejects)
                cursor = page.cursor or cursor
                ctx.state.state["cursor"] = cursor
                ctx.commit()
                if ctx.page_limit_reached():
                    return False
        except BadRequestError as e:
            if cursor and ("after" in str(e) or "cursor" in str(e).lower()):
                key = ctx.states.key(ctx.stream.name)
                msg = (
                    f"the API refused the stored cursor of `{ctx.stream.name}` ({e.status_code}: the cursor "
                    f"expired or is not valid); run once with `reset=true` to start the stream again from "
                    f"the latest values (state `{key}`)"
                )
                raise CheckpointError(msg) from e
            raise
        return True
