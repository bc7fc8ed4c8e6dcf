"""Vehicle stats: the stats feed, converted in Rust, delivered to the FMC.

Follows ``GET /fleet/vehicles/stats/feed`` (the ``feed`` driver): its first call returns each
vehicle's latest values, later calls what arrived since. Samsara takes at most three stat types per
request, so the types are followed as streams of up to three, each with its own state, in parallel.
Units are part of a stream's name: switching units starts new streams rather than mixing units.
Records are the converter's (one per data point, stable ``id`` = vehicle, stat and time); points
without their documented shape go to ``vehicle_stats_rejects`` with the reason.

From an alert action, the alert's ``assetId`` narrows the run to that vehicle on streams of its
own, so the fleet-wide streams are untouched.
"""

from __future__ import annotations

from typing import Any

from samsara_fmc.engine import FeedDriver, RunContext, Stream
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint
from samsara_fmc.types import StatType

__all__ = ["SINK_STREAM", "streams"]

SINK_STREAM = "vehicle_stats"
_TYPES_PER_REQUEST = 3


def streams(ctx: RunContext) -> list[Stream]:
    """The streams a run follows, from its parameters."""
    p = ctx.params
    types: list[StatType] = p["types"]
    units: str = p["units"]
    decorations: list[StatType] = p.get("decorations", [])
    vehicle_ids: list[str] = p.get("vehicleIds", [])
    tag_ids: list[str] = p.get("tagIds", [])
    alert_asset = p.text("assetId") if ctx.trigger == "alert" else None
    if alert_asset:
        vehicle_ids = [alert_asset]
    # auxInput3 to auxInput13 count as one type against Samsara's limit of three.
    groups: list[list[StatType]] = []
    for t in dict.fromkeys(types):
        if groups and len({_limit_class(x) for x in [*groups[-1], t]}) <= _TYPES_PER_REQUEST:
            groups[-1].append(t)
        else:
            groups.append([t])
    out = []
    for group in groups:
        query = {
            "types": group,
            "units": units,
            "decorations": decorations,
            "vehicleIds": vehicle_ids,
            "tagIds": tag_ids,
        }
        name = f"stats.{units}." + "+".join(group)
        if vehicle_ids or tag_ids or decorations:
            name += "." + fingerprint([vehicle_ids, tag_ids, decorations])[:8]

        def pages(cursor: str | None, deadline: float, group: list[StatType] = group) -> Any:
            return ctx.client.stats_pages(
                types=group,
                after=cursor,
                units=units,  # type: ignore[arg-type]
                decorations=decorations,
                vehicle_ids=vehicle_ids,
                tag_ids=tag_ids,
                deadline=deadline,
            )

        out.append(
            Stream(
                name=name,
                sink_stream=SINK_STREAM,
                fingerprint=fingerprint(query),
                driver=FeedDriver(pages=pages, to_batch=_to_batch),
                newest=_newest,
            )
        )
    return out


def _limit_class(stat_type: str) -> str:
    aux = stat_type.removeprefix("auxInput")
    return "auxInput3-13" if aux.isdigit() and 3 <= int(aux) <= 13 else stat_type


def _to_batch(page: Any) -> tuple[Batch, Batch | None]:
    return Batch(ndjson=page.ndjson), (Batch(ndjson=page.rejects) if page.rejected else None)


def _newest(batch: Batch) -> str | None:
    """The newest point time in a batch of converted records (each line carries ``"time":"…"``)."""
    newest = None
    for line in batch.ndjson().splitlines():
        at = line.find(b'"time":"')
        if at >= 0:
            t = line[at + 8 : line.find(b'"', at + 8)].decode()
            newest = t if newest is None or t > newest else newest
    return newest
