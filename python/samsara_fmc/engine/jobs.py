"""The ``jobs`` driver: two-phase work across runs (camera media retrieval).

A job is started in one run (``POST /cameras/media/retrieval`` answers a retrieval ID) and finishes
in a later one (``GET /cameras/media/retrieval?retrievalId=…`` says ``available``). State::

    {"pending": {"<item id>": {"item": {…}, "job": "<job id>" | null, "startedAt": "…", "deadline": "…",
                               "sentAt": "…"}},  # set just before the start request, until its ID
     "done": "<base64 digests of finished item IDs>"}   # the last `keep`, so an item starts once

Each run first polls the pending jobs: a finished one becomes the integration's record
(``complete(item, result)``), a job that failed, or is still pending past its deadline, becomes an
explicit failure record (so does one whose poll, or download, still fails past its deadline); then
it starts new items (at most ``max_starts`` a run; the client paces the endpoint's rate). The item
is saved as pending before its job is started, and marked ``sentAt`` just before the start request,
so a run stopped between the request and saving the job's ID never loses the item. When the start
request has no idempotency key (camera media) that stop may leave a job the driver never learned
of: with a ``recover`` hook the next runs look for that job's result by other means (the media it
uploaded) for ``recover_wait`` before starting the item again, so the item is not requested twice
(and its quota not spent twice) unless the first job left nothing to find.

:class:`MediaRetrieval` gives ``start`` and ``poll`` for camera media: it downloads each available
file before its URL expires and hands the bytes and their metadata to ``complete``. Media URLs are
bearer links: they are never stored, logged, raised or delivered.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from samsara_fmc.engine._util import Clock, digest, iso, pack, parse_time, unpack, utc_now
from samsara_fmc.engine.core import StreamContext
from samsara_fmc.exceptions import (
    BadRequestError,
    DeadlineExceeded,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
)
from samsara_fmc.sinks import Batch

__all__ = [
    "JobsDriver",
    "MediaFile",
    "MediaResult",
    "MediaRetrieval",
    "Poll",
    "failure_record",
    "https_download",
]

Item = Mapping[str, Any]
_TRANSIENT = (ServerError, TransportError, RateLimitError)


@dataclass(frozen=True)
class Poll:
    """What a poll found.

    Attributes:
        state: ``pending`` (ask again later), ``done`` (``result`` holds it) or ``failed``.
        result: The finished job's result, for ``complete``.
        failure: The failure's name in the failure record (``failed``, ``invalid``, ``unavailable``).
        reason: Why it failed, for the failure record.
    """

    state: Literal["pending", "done", "failed"]
    result: Any = None
    failure: str = "failed"
    reason: str | None = None


def failure_record(item: Item, failure: str, reason: str) -> dict[str, Any]:
    """The default failure record: the item's ``id``, ``status`` (the failure) and ``reason``."""
    return {"id": str(item["id"]), "status": failure, "reason": reason}


@dataclass(frozen=True)
class JobsDriver:
    """Starts jobs, keeps them pending in state, and finishes them in later runs.

    Attributes:
        items: ``items(deadline)``: the work wanted now, each a JSON-able mapping with a stable
            ``id``; items already pending or finished are skipped.
        start: ``start(item, deadline)`` starts a job and returns its ID (stored in state).
        poll: ``poll(item, job_id, deadline)`` says where the job is.
        complete: ``complete(item, result)``: the record for a finished job (a dict with ``id``);
            it may be called again for the same item after a crash, so it must be idempotent.
        failure: ``failure(item, failure, reason)``: the record for a job that cannot finish.
        max_wait: A job still pending this long after its start fails as ``timedOut``.
        max_starts: At most this many jobs are started per run.
        clock: The current time.
        keep: How many finished item IDs are remembered.
        recover: ``recover(item, deadline)``: for an item whose start request went out but whose
            job ID was never saved, the finished job found by other means (a ``done`` :class:`Poll`),
            or ``None`` while there is none. Without it such an item is started again at once.
        recover_wait: How long after such a start request ``recover`` is asked before the item is
            started again (the first job may have failed, or the request never reached the API).
    """

    items: Callable[[float], Iterable[Item]]
    start: Callable[[Item, float], str]
    poll: Callable[[Item, str, float], Poll]
    complete: Callable[[Item, Any], dict[str, Any]]
    failure: Callable[[Item, str, str], dict[str, Any]] = failure_record
    max_wait: _dt.timedelta = _dt.timedelta(hours=2)
    max_starts: int = 50
    clock: Clock = utc_now
    keep: int = 5_000
    recover: Callable[[Item, float], Poll | None] | None = None
    recover_wait: _dt.timedelta = _dt.timedelta(minutes=30)

    def run(self, ctx: StreamContext) -> bool:
        st = ctx.state.state
        pending: dict[str, dict[str, Any]] = st.setdefault("pending", {})
        done = unpack(st.get("done"))
        for key in list(pending):
            ctx.check_deadline()
            job = pending[key]
            item = job["item"]
            if not job.get("job"):  # saved as pending, then stopped before its ID was saved
                if not (job.get("sentAt") and self._recovered(ctx, key, job, done)):
                    self._start(ctx, key, item, done)
                continue
            try:
                poll = self.poll(item, job["job"], ctx.deadline)
            except (BadRequestError, NotFoundError) as e:
                poll = Poll("failed", failure="failed", reason=f"{type(e).__name__} ({e.status_code})")
            except _TRANSIENT as e:
                if self.clock() < parse_time(job["deadline"]):
                    ctx.log.warning(
                        "a job's poll failed; polling it again next run", job=key, error=type(e).__name__
                    )
                    continue
                waited = self.clock() - parse_time(job["startedAt"])
                poll = Poll(
                    "failed",
                    failure="timedOut",
                    reason=f"polls still failing after {_minutes(waited)} ({type(e).__name__})",
                )
            if poll.state == "pending":
                if self.clock() < parse_time(job["deadline"]):
                    continue
                waited = self.clock() - parse_time(job["startedAt"])
                poll = Poll("failed", failure="timedOut", reason=f"still pending after {_minutes(waited)}")
            if poll.state == "done":
                record = self.complete(item, poll.result)
            else:
                record = self.failure(item, poll.failure, poll.reason or poll.failure)
            self._finish(ctx, key, record, done)
        starts, finished = 0, set(done)
        for item in self.items(ctx.deadline):
            key = str(item["id"])
            if key in pending or digest(key) in finished:
                continue
            if starts >= self.max_starts:
                return False
            ctx.check_deadline()
            now = self.clock()
            pending[key] = {
                "item": dict(item),
                "job": None,
                "startedAt": iso(now),
                "deadline": iso(now + self.max_wait),
            }
            self._start(ctx, key, item, done)  # saves the item as pending before its request
            starts += 1
        return True

    def _start(self, ctx: StreamContext, key: str, item: Item, done: list[bytes]) -> None:
        entry = ctx.state.state["pending"][key]
        if self.recover is not None:  # the mark that lets a later run look for a job it never learned of
            entry["sentAt"] = iso(self.clock())
        ctx.commit()
        try:
            job = self.start(item, ctx.deadline)
        except BadRequestError as e:
            self._finish(ctx, key, self.failure(item, "rejected", f"{type(e).__name__}: {e}"), done)
            return
        except RateLimitError:  # a 429 is never applied: nothing to look for
            entry.pop("sentAt", None)
            ctx.commit()
            raise
        entry["job"] = job
        entry.pop("sentAt", None)
        ctx.commit()

    def _recovered(self, ctx: StreamContext, key: str, job: dict[str, Any], done: list[bytes]) -> bool:
        """Whether an item whose start request may have reached the API before a stop is dealt with
        this run: finished from what ``recover`` found, or left waiting for it (``False``: start it)."""
        assert self.recover is not None
        try:
            found = self.recover(job["item"], ctx.deadline)
        except _TRANSIENT as e:
            ctx.log.warning("looking for an unsaved job failed", job=key, error=type(e).__name__)
            found = None
        if found is not None and found.state == "done":
            ctx.log.info("found the result of a job a stopped run started", job=key)
            self._finish(ctx, key, self.complete(job["item"], found.result), done)
            return True
        if self.clock() < parse_time(job["sentAt"]) + self.recover_wait:
            return True
        ctx.log.warning("no result of an unsaved job turned up in time; starting it again", job=key)
        return False

    def _finish(self, ctx: StreamContext, key: str, record: dict[str, Any], done: list[bytes]) -> None:
        st = ctx.state.state
        ctx.deliver(Batch.of([record]), by_id=False)
        st["pending"].pop(key, None)
        done.append(digest(key))
        st["done"] = pack(done[-self.keep :])
        ctx.commit()


def _minutes(delta: _dt.timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"


# ---- camera media ------------------------------------------------------------------------------


class _Requester(Protocol):
    def request(
        self,
        method: Literal["GET", "POST", "PATCH", "PUT", "DELETE"],
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool = False,
        deadline: float | None = None,
    ) -> Any: ...


@dataclass(frozen=True)
class MediaFile:
    """One downloaded file: its bytes and its metadata (the media object less its URL)."""

    data: bytes
    metadata: dict[str, Any]


@dataclass(frozen=True)
class MediaResult:
    """A finished retrieval: the files downloaded, and the inputs that did not become available.
    ``retrieval_id`` is ``None`` for media found by :meth:`MediaRetrieval.find`."""

    retrieval_id: str | None
    files: list[MediaFile]
    missing: list[dict[str, Any]] = field(default_factory=list)


_MAX_MEDIA_BYTES = 512 * 1024 * 1024


def https_download(url: str, deadline: float) -> bytes:
    """GETs a media URL (https; http only to a loopback address) within the deadline.

    Errors name neither the URL nor its host: a media URL is a bearer link.
    """
    import time

    parts = urllib.parse.urlsplit(url)
    loopback = False
    try:
        loopback = ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        loopback = parts.hostname == "localhost"
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise TransportError(
            "a media URL is not https; refusing to download it", "GET", "<media URL>", 0, 0.0
        )
    remaining = deadline - time.time()
    if remaining <= 1:
        raise DeadlineExceeded("the run's deadline leaves no time to download media", "GET", "<media URL>")
    try:
        with urllib.request.urlopen(url, timeout=min(120.0, remaining)) as resp:
            data: bytes = resp.read(_MAX_MEDIA_BYTES + 1)
    except urllib.error.HTTPError as e:
        status = e.code
        e.close()
        raise TransportError(f"media download answered HTTP {status}", "GET", "<media URL>", 1, 0.0) from None
    except (urllib.error.URLError, OSError) as e:
        raise TransportError(
            f"media download failed ({type(e).__name__})", "GET", "<media URL>", 1, 0.0
        ) from None
    if len(data) > _MAX_MEDIA_BYTES:
        raise TransportError("a media file is larger than 512 MiB", "GET", "<media URL>", 1, 0.0)
    return data


@dataclass(frozen=True)
class MediaRetrieval:
    """``start`` and ``poll`` for :class:`JobsDriver` over Samsara's camera media retrieval.

    An item is ``{"id", "vehicleId", "mediaType", "startTime", "endTime", "inputs"?, "cameraRoles"?}``
    (the ``POST /cameras/media/retrieval`` body plus the item's own ``id``).

    Attributes:
        client: Sends the requests (a :class:`~samsara_fmc.client.Client`).
        download: ``download(url, deadline) -> bytes``.
        clock: The current time (a URL this close to its expiry is fetched afresh by the next poll).
        expiry_margin: How long before its expiry a URL is no longer used.
    """

    client: _Requester
    download: Callable[[str, float], bytes] = https_download
    clock: Clock = utc_now
    expiry_margin: _dt.timedelta = _dt.timedelta(minutes=5)

    def start(self, item: Item, deadline: float) -> str:
        """``POST /cameras/media/retrieval``; returns the retrieval ID."""
        keys = ("vehicleId", "mediaType", "startTime", "endTime", "inputs", "cameraRoles")
        body = {k: item[k] for k in keys if item.get(k) is not None}
        answer = self.client.request("POST", "/cameras/media/retrieval", json_body=body, deadline=deadline)
        return str(answer["data"]["retrievalId"])

    def poll(self, item: Item, retrieval_id: str, deadline: float) -> Poll:
        """``GET /cameras/media/retrieval``; downloads the media once none is pending."""
        answer = self.client.request(
            "GET", "/cameras/media/retrieval", params={"retrievalId": retrieval_id}, deadline=deadline
        )
        media: list[dict[str, Any]] = list((answer.get("data") or {}).get("media") or [])
        statuses = [str(m.get("status")) for m in media]
        if "pending" in statuses:
            return Poll("pending")
        if "available" not in statuses:
            failure = next((s for s in statuses if s != "available"), "unavailable")
            inputs = ", ".join(f"`{m.get('input')}` {m.get('status')}" for m in media) or "no media"
            return Poll("failed", failure=failure, reason=f"retrieval `{retrieval_id}`: {inputs}")
        return self._download(media, retrieval_id, deadline)

    def find(self, item: Item, deadline: float) -> Poll | None:
        """The media a retrieval for ``item`` uploaded, from ``GET /cameras/media`` (trigger ``api``):
        for a retrieval a stopped run requested without saving its ID. Matched on vehicle, media type,
        start and end time and input; ``None`` until some of it is there. The result has no
        retrieval ID (the list does not give one); inputs not found are ``missing``."""
        start, end = parse_time(str(item["startTime"])), parse_time(str(item["endTime"]))
        asked = {_LISTED_AS.get(str(i), str(i)): str(i) for i in item.get("inputs") or []}
        params: dict[str, Any] = {
            "vehicleIds": str(item["vehicleId"]),
            "startTime": iso(start - _dt.timedelta(minutes=1)),
            "endTime": iso(end + _dt.timedelta(minutes=1)),
            "mediaTypes": str(item["mediaType"]),
            "triggerReasons": "api",
        }
        found: dict[str, dict[str, Any]] = {}
        after: str | None = None
        for _ in range(20):  # a one-vehicle, two-minute window: a page or two
            query = {**params, **({"after": after} if after else {})}
            answer = self.client.request("GET", "/cameras/media", params=query, deadline=deadline)
            for m in (answer.get("data") or {}).get("media") or []:
                listed = str(m.get("input"))
                same = (
                    m.get("startTime")
                    and m.get("endTime")
                    and (parse_time(str(m["startTime"])) == start and parse_time(str(m["endTime"])) == end)
                )
                if same and (not asked or listed in asked) and m.get("mediaType") == item["mediaType"]:
                    input_ = asked.get(listed, listed)  # named as the request names it, as a poll does
                    found[input_] = {**m, "input": input_, "status": "available"}
            page = answer.get("pagination") or {}
            after = page.get("endCursor") if page.get("hasNextPage") else None
            if not after:
                break
        if not found:
            return None
        poll = self._download(list(found.values()), None, deadline)
        if poll.state != "done":
            return None
        missing = [{"input": i, "status": "notFound"} for i in sorted(set(asked.values()) - found.keys())]
        result: MediaResult = poll.result
        return Poll("done", result=MediaResult(retrieval_id=None, files=result.files, missing=missing))

    def _download(self, media: list[dict[str, Any]], retrieval_id: str | None, deadline: float) -> Poll:
        files = []
        for m in media:
            if m.get("status") != "available":
                continue
            info = m.get("urlInfo") or {}
            url, expiry = info.get("url"), info.get("urlExpiryTime")
            if not url or (expiry and parse_time(expiry) - self.expiry_margin <= self.clock()):
                return Poll("pending")  # the next poll is answered with a fresh URL
            meta = {k: v for k, v in m.items() if k != "urlInfo"}
            meta["retrievalId"] = retrieval_id
            files.append(MediaFile(data=self.download(url, deadline), metadata=meta))
        missing = [
            {"input": m.get("input"), "status": m.get("status")}
            for m in media
            if m.get("status") != "available"
        ]
        return Poll("done", result=MediaResult(retrieval_id=retrieval_id, files=files, missing=missing))


_LISTED_AS = {"dashcamRoadFacing": "dashcamForwardFacing", "dashcamDriverFacing": "dashcamInwardFacing"}
"""The input names ``GET /cameras/media`` answers for the names a retrieval request uses."""
