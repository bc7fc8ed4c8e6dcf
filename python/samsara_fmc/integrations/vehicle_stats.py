"""Vehicle stats feed → converted NDJSON in Function Storage.

Follows ``GET /fleet/vehicles/stats/feed`` from its stored cursor, converts units in Rust, and writes
each page to ``<prefix>/<org>/<stream>/<page>.ndjson`` (points without their documented shape to
``….rejects.ndjson``), checkpointing after each delivered page. Samsara takes at most three stat types
per request, so the requested types are followed as streams of up to three, each with its own cursor.

Event parameters (all optional):
    types: comma-separated stat types (default: gps, odometers, engine seconds, engine states, fuel).
    units: ``metric`` (default) or ``imperial``.
    decorations: up to two stat types attached to every point.
    vehicleIds, tagIds: comma-separated filters.
    maxPages: stop each stream after this many pages in one run.
    resetCheckpoint: ``true`` to start the streams afresh.
    deliveryPrefix: the storage prefix (default ``deliveries/vehicle-stats``).

From an alert action, the alert's ``assetId`` narrows the run to that vehicle (its own streams, so
the fleet-wide cursors are untouched): the alert captures the vehicle's latest stats and, on later
alerts, what changed since.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from samsara_fmc.checkpoints import Checkpoint, Checkpoints, fingerprint
from samsara_fmc.client import StatsPage
from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.runtime import FunctionRuntime, Run
from samsara_fmc.sync import StreamSummary, follow

DEFAULT_TYPES = (
    "gps",
    "obdOdometerMeters",
    "gpsOdometerMeters",
    "obdEngineSeconds",
    "engineStates",
    "fuelPercents",
)
_TYPE = re.compile(r"^[a-zA-Z][a-zA-Z0-9]{1,63}$")


def run(runtime: FunctionRuntime, job: Run) -> dict[str, Any]:
    """One run of the feed: every stream until caught up or out of time."""
    p = job.params
    types = p.items("types", DEFAULT_TYPES)
    bad = [t for t in types if not _TYPE.match(t)]
    if not types or bad:
        msg = f"event parameter `types` has invalid stat types {bad or types}: use e.g. `gps,engineStates`"
        raise ConfigurationError(msg)
    units: Literal["metric", "imperial"] = (
        "imperial" if p.choice("units", ("metric", "imperial"), "metric") == "imperial" else "metric"
    )
    decorations = p.items("decorations")
    vehicle_ids, tag_ids = p.items("vehicleIds"), p.items("tagIds")
    if job.trigger == "alert" and p.text("assetId"):
        vehicle_ids = [p.text("assetId") or ""]
    prefix = (p.text("deliveryPrefix", "deliveries/vehicle-stats") or "").strip("/")
    max_pages = p.number("maxPages", None, minimum=1)
    reset = p.flag("resetCheckpoint")

    client = runtime.client()
    deadline = job.budget.deadline
    org = runtime.org_id(deadline)
    checkpoints = Checkpoints(runtime.storage, org_id=org, function=runtime.function)
    streams: list[StreamSummary] = []
    for i in range(0, len(types), 3):
        group = types[i : i + 3]
        query = {
            "types": group,
            "units": units,
            "decorations": decorations,
            "vehicleIds": vehicle_ids,
            "tagIds": tag_ids,
        }
        stream = "vehicle-stats." + "+".join(group)
        if vehicle_ids or tag_ids or decorations:
            stream += "." + fingerprint([vehicle_ids, tag_ids, decorations])[:8]

        def pages(cursor: str | None, group: list[str] = group) -> Any:
            return client.stats_pages(
                types=group,
                after=cursor,
                units=units,
                decorations=decorations,
                vehicle_ids=vehicle_ids,
                tag_ids=tag_ids,
                deadline=deadline,
            )

        def deliver(cp: Checkpoint, page: StatsPage, stream: str = stream) -> tuple[int, int]:
            key = f"{prefix}/{org}/{stream}/{cp.pages:010d}"
            if page.records:
                runtime.storage.put(f"{key}.ndjson", page.ndjson, content_type="application/x-ndjson")
            if page.rejected:
                runtime.storage.put(
                    f"{key}.rejects.ndjson", page.rejects, content_type="application/x-ndjson"
                )
            return page.records, page.rejected

        summary = follow(
            stream=stream,
            checkpoints=checkpoints,
            fingerprint=fingerprint(query),
            pages=pages,
            deliver=deliver,
            log=job.log,
            reset=reset,
            max_pages=max_pages,
        )
        streams.append(summary)
        if summary.stopped_by_deadline:
            break
    return {
        "orgId": org,
        "records": sum(s.records for s in streams),
        "rejected": sum(s.rejected for s in streams),
        "caughtUp": len(streams) * 3 >= len(types) and all(s.caught_up for s in streams),
        "streams": [s.as_dict() for s in streams],
    }
