"""Camera media, two-phase: a retrieval per safety event (or alert) on the ``jobs`` driver.

Items come from ``GET /safety-events/stream`` (by ``updatedAtTime``, filtered by the Function's
``behaviorLabels``; an event that reappears because it changed is already pending or finished, so
it is requested once), or, on an alert action, from the alert's ``assetId`` and its time: one
retrieval for that vehicle around that time. The :class:`~samsara_fmc.engine.JobsDriver` requests
each retrieval (``POST /cameras/media/retrieval``, paced at 100 a minute by the client, at most
``maxRetrievals`` a run), keeps it pending in state, polls it in later runs, and when the media is
available downloads it before its URL expires.

Each finished retrieval is one ``camera_media`` record (stream ``camera_media``) with a file entry
per camera input: SHA-256, size and content type of the bytes, and ``fileKey``, the key under which
the bytes themselves were delivered to the same sink before the record (``<retrievalId>/<input>.<ext>``,
through the sink's ``deliver_file``: a file upload to the FMC endpoint, an object in Function Storage,
a file on SFTP). A crash between the two delivers the same bytes under the same key again, which
changes nothing. ``failed``, ``invalid``, ``unavailable``, a request the API refused
(``rejected``) and a retrieval still pending after ``maxWaitHours`` (``timedOut``) end with a record
that says so and why. The monthly quota (``quotaStatus`` of the last request) is in the run summary;
once it says the quota is used up (``Over quota``), no retrieval is requested until the next calendar
month (UTC), and the events wait for it in the stream (pending retrievals are still polled; an alert
is still requested, so the API's answer becomes its record).

Media URLs are bearer links: they are never stored, logged, raised or delivered.

``POST /cameras/media/retrieval`` takes no idempotency key, so a run killed after Samsara accepted a
retrieval but before its ID was saved (a window of one state write) cannot ask for it by ID. The
item was marked just before its request, so later runs look for what that retrieval uploads among
the vehicle's uploaded media (``GET /cameras/media``, trigger ``api``, the same times and type) for
``RECOVER_WAIT`` (30 minutes) and finish the item from it (``retrievalId`` is then ``null``). Only
when nothing turns up in that time (the first retrieval failed, or its request never reached
Samsara) is the item requested again, spending quota a second time for that one item.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from samsara_fmc.engine import JobsDriver, MediaResult, MediaRetrieval, RunContext, Stream, run_streams
from samsara_fmc.engine._util import Clock, iso, parse_time, utc_now
from samsara_fmc.engine.core import StreamContext
from samsara_fmc.engine.jobs import https_download
from samsara_fmc.engine.stream import refused_cursor
from samsara_fmc.exceptions import BadRequestError, ConfigurationError
from samsara_fmc.state import fingerprint

__all__ = [
    "CLOCK",
    "DOWNLOAD",
    "EVENTS_PATH",
    "RECOVER_WAIT",
    "SINK_STREAM",
    "alert_item",
    "content_type",
    "event_item",
    "over_quota",
    "run",
    "streams",
]

SINK_STREAM = "camera_media"
EVENTS_PATH = "/safety-events/stream"
RETRIEVAL_PATH = "/cameras/media/retrieval"
ALERT_VIDEO = _dt.timedelta(seconds=10)
"""A video for an alert: this long, ending at the alert's time."""
OVERLAP = _dt.timedelta(minutes=15)
RECOVER_WAIT = _dt.timedelta(minutes=30)
"""How long a retrieval a stopped run requested without saving its ID is looked for before the item
is requested again."""
CLOCK: Clock = utc_now
"""The current time (tests set the sandbox's simulated clock)."""
DOWNLOAD: Callable[[str, float], bytes] = https_download
"""Fetches a media URL (tests serve the sandbox's media from 127.0.0.1)."""


def content_type(data: bytes) -> tuple[str, str]:
    """The content type and file extension of media bytes, from their first bytes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpeg"
    if data.startswith(b"\x89PNG"):
        return "image/png", "png"
    if data[4:8] == b"ftyp":
        return "video/mp4", "mp4"
    return "application/octet-stream", "bin"


def _window(media_type: str, start: _dt.datetime, end: _dt.datetime) -> tuple[str, str]:
    if media_type == "image":
        return iso(start), iso(start)
    return iso(start), iso(max(end, start + _dt.timedelta(seconds=1)))


def event_item(event: Mapping[str, Any], *, media_type: str, inputs: list[str]) -> dict[str, Any] | None:
    """The retrieval for a ``SafetyEventV2`` (``None`` without a vehicle or a time)."""
    asset = event.get("asset") if isinstance(event.get("asset"), Mapping) else {}
    vehicle = str((asset or {}).get("id") or "")
    if not vehicle or not event.get("startMs"):
        return None
    start = parse_time(str(event["startMs"]))
    end = parse_time(str(event.get("endMs") or event["startMs"]))
    s, e = _window(media_type, start, end)
    return {
        "id": str(event["id"]),
        "source": "safetyEvent",
        "safetyEventId": str(event["id"]),
        "vehicleId": vehicle,
        "mediaType": media_type,
        "startTime": s,
        "endTime": e,
        "inputs": list(inputs),
    }


def alert_item(asset_id: str, at: _dt.datetime, *, media_type: str, inputs: list[str]) -> dict[str, Any]:
    """The retrieval for an alert action: that vehicle, at the alert's time (a video ends there)."""
    start = at if media_type == "image" else at - ALERT_VIDEO
    s, e = _window(media_type, start, at)
    return {
        "id": f"alert:{asset_id}:{iso(at)}",
        "source": "alert",
        "safetyEventId": None,
        "vehicleId": asset_id,
        "mediaType": media_type,
        "startTime": s,
        "endTime": e,
        "inputs": list(inputs),
    }


def _alert_time(raw: str | None, now: _dt.datetime) -> _dt.datetime:
    if raw is None:
        return now
    if raw.isdigit():
        return _dt.datetime.fromtimestamp(int(raw) / 1000, tz=_dt.UTC)
    try:
        return parse_time(raw)
    except ValueError:
        msg = f"the alert's `alertIncidentTime` is `{raw[:40]}`: use RFC 3339 or Unix milliseconds"
        raise ConfigurationError(msg) from None


def _safe(segment: str) -> str:
    """A delivery key segment from an ID or input name (other characters become ``-``)."""
    out = re.sub(r"[^A-Za-z0-9._-]", "-", segment).lstrip("._-")[:100]
    return out or "media"


def over_quota(status: str | None) -> bool:
    """Whether a ``quotaStatus`` says the month's retrieval quota is used up (``Over quota``)."""
    return status is not None and "over" in status.lower()


@dataclass
class _Quota:
    status: str | None = None


@dataclass
class CameraMediaDriver:
    """The jobs driver, fed from the safety events stream (its cursor kept beside the jobs) or an alert."""

    ctx: RunContext
    media_type: str
    inputs: list[str]
    labels: list[str]
    lookback: _dt.timedelta
    max_starts: int
    max_wait: _dt.timedelta
    alert: dict[str, Any] | None = None
    quota: _Quota = field(default_factory=_Quota)

    def run(self, sctx: StreamContext) -> bool:
        st = sctx.state.state
        events: dict[str, Any] = st.setdefault("events", {})
        self.quota.status = self.quota.status or st.get("quotaStatus")
        month = CLOCK().strftime("%Y-%m")
        media = MediaRetrieval(client=self.ctx.client, download=DOWNLOAD, clock=lambda: CLOCK())

        def start(item: Mapping[str, Any], deadline: float) -> str:
            keys = ("vehicleId", "mediaType", "startTime", "endTime", "inputs")
            body = {k: item[k] for k in keys if item.get(k) is not None}
            answer = self.ctx.client.request("POST", RETRIEVAL_PATH, json_body=body, deadline=deadline)
            data = answer["data"]
            if data.get("quotaStatus"):
                self.quota.status = st["quotaStatus"] = str(data["quotaStatus"])
                st["quotaMonth"] = month
            return str(data["retrievalId"])

        def items(deadline: float) -> Iterator[Mapping[str, Any]]:
            if self.alert is not None:  # an alert is asked for even so: the API's answer is its record
                yield self.alert
                return
            for item in self._events(events, deadline, sctx):
                if over_quota(st.get("quotaStatus")) and st.get("quotaMonth") == month:
                    sctx.log.warning(
                        "the monthly media retrieval quota is used up: no retrievals until next month",
                        quotaStatus=st.get("quotaStatus"),
                    )
                    return
                yield item

        jobs = JobsDriver(
            items=items,
            start=start,
            poll=media.poll,
            complete=lambda item, result: self._complete(item, result, sctx.deadline),
            failure=self._failure,
            max_wait=self.max_wait,
            max_starts=self.max_starts,
            clock=lambda: CLOCK(),
            recover=media.find,
            recover_wait=RECOVER_WAIT,
        )
        caught_up = jobs.run(sctx)
        sctx.commit()
        return caught_up and not st.get("pending")

    def _events(
        self, events: dict[str, Any], deadline: float, sctx: StreamContext
    ) -> Iterator[Mapping[str, Any]]:
        if not events.get("startTime"):  # the first run that reads events (an alert's reads none)
            events["first"] = events["startTime"] = iso(CLOCK() - self.lookback)
        query: dict[str, Any] = {"queryByTimeField": "updatedAtTime", "includeAsset": "true"}
        if self.labels:
            query["behaviorLabels"] = self.labels
        for attempt in (0, 1):
            try:
                params = {**query, "startTime": events["startTime"]}
                pages = self.ctx.client.pages(
                    EVENTS_PATH, params=params, after=events.get("cursor") or None, deadline=deadline
                )
                for page in pages:
                    for event in page.data:
                        item = event_item(event, media_type=self.media_type, inputs=self.inputs)
                        changed = str(event.get("updatedAtTime") or "")
                        if item is not None:
                            yield item
                        if changed and (
                            not events.get("highWater")
                            or parse_time(changed) > parse_time(events["highWater"])
                        ):
                            events["highWater"] = changed
                    # Every item of the page is pending or finished: the cursor may move past it.
                    events["cursor"] = page.cursor or events.get("cursor")
                    sctx.commit()
                return
            except BadRequestError as e:
                if attempt or not events.get("cursor") or not refused_cursor(e):
                    raise
                high = events.get("highWater")
                start = parse_time(high) - OVERLAP if high else parse_time(events["first"])
                events.update(startTime=iso(max(start, parse_time(events["first"]))), cursor=None)
                sctx.log.warning(
                    "the API refused the safety events cursor; restarting at the high-water mark less 15 min",
                    startTime=events["startTime"],
                )

    def _base(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": str(item["id"]),
            "schemaVersion": 1,
            "source": item.get("source"),
            "safetyEventId": item.get("safetyEventId"),
            "vehicleId": item.get("vehicleId"),
            "mediaType": item.get("mediaType"),
            "startTime": item.get("startTime"),
            "endTime": item.get("endTime"),
        }

    def _complete(self, item: Mapping[str, Any], result: MediaResult, deadline: float) -> dict[str, Any]:
        """Delivers each file's bytes to the sink (the same key again after a crash) and returns the
        metadata record."""
        files = []
        for f in result.files:
            kind, ext = content_type(f.data)
            name = f"{_safe(str(f.metadata.get('input') or 'media'))}.{ext}"
            folder = result.retrieval_id or f"item-{item['id']}"  # found without its retrieval ID
            key = f"{_safe(folder)}/{name}"
            done = self.ctx.sink.deliver_file(SINK_STREAM, key, f.data, content_type=kind, deadline=deadline)
            m = f.metadata
            files.append(
                {
                    "input": str(m.get("input")),
                    "mediaType": m.get("mediaType"),
                    "startTime": m.get("startTime"),
                    "endTime": m.get("endTime"),
                    "availableAtTime": m.get("availableAtTime"),
                    "fileKey": key,
                    "location": done.location,
                    "sha256": hashlib.sha256(f.data).hexdigest(),
                    "sizeBytes": len(f.data),
                    "contentType": kind,
                }
            )
        return {
            **self._base(item),
            "status": "available",
            "reason": None,
            "retrievalId": result.retrieval_id,
            "files": files,
            "missing": list(result.missing),
        }

    def _failure(self, item: Mapping[str, Any], failure: str, reason: str) -> dict[str, Any]:
        return {
            **self._base(item),
            "status": failure,
            "reason": reason,
            "retrievalId": None,
            "files": [],
            "missing": [],
        }


def streams(ctx: RunContext) -> tuple[list[Stream], _Quota]:
    """The one stream a run follows (fed by safety events, or by the alert), and where the quota lands."""
    p = ctx.params
    labels: list[str] = sorted(set(p.get("behaviorLabels", [])))
    inputs: list[str] = sorted(set(p["inputs"]))
    media_type: str = p["mediaType"]
    alert = None
    asset = p.text("assetId") if ctx.trigger == "alert" else None
    if ctx.trigger == "alert" and not asset:
        msg = "the alert event has no `assetId`: configure the alert on a vehicle"
        raise ConfigurationError(msg)
    config = {"mediaType": media_type, "inputs": inputs}
    if asset:
        at = _alert_time(p.text("alertIncidentTime"), CLOCK())
        alert = alert_item(asset, at, media_type=media_type, inputs=inputs)
    # An alert's retrieval shares the state of scheduled runs, which poll it to its end.
    name = f"camera-media.{fingerprint({**config, 'labels': labels})[:8]}"
    quota = _Quota()
    driver = CameraMediaDriver(
        ctx=ctx,
        media_type=media_type,
        inputs=inputs,
        labels=labels,
        lookback=_dt.timedelta(hours=int(p["lookbackHours"])),
        max_starts=int(p["maxRetrievals"]),
        max_wait=_dt.timedelta(hours=int(p["maxWaitHours"])),
        alert=alert,
        quota=quota,
    )
    stream = Stream(
        name=name,
        sink_stream=SINK_STREAM,
        fingerprint=fingerprint({"path": EVENTS_PATH, "labels": labels, **config}),
        driver=driver,
    )
    return [stream], quota


def run(ctx: RunContext) -> dict[str, Any]:
    """One run: poll the pending retrievals, then request new ones (safety events or the alert)."""
    chosen, quota = streams(ctx)
    summary = run_streams(ctx, chosen)
    summary["quotaStatus"] = quota.status
    return summary
