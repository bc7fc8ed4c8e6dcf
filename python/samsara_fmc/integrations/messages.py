"""Driver messages, both ways: the FMC's messages to drivers, and the conversations back to the FMC.

Two streams:

* ``messages`` reads ``GET /v1/fleet/messages`` (``endMs``/``durationMs``, epoch milliseconds, no
  paging) on the ``windows`` driver: windows of ``windowHours`` up to now less ``settleMinutes``, the
  trailing ``overlapHours`` read again each run for messages a driver's app uploads late. Every
  message (drivers' replies and reports, dispatch messages, the FMC's own) is delivered once as a
  ``driver_message`` record. Samsara gives a message no ID: the record's ``id`` is built from the
  driver, the millisecond, the sender type and a hash of the text. A window ``[start, end)`` keeps
  the messages with ``start <= sentAtMs < end`` (the endpoint's range includes both ends).
* ``ledger.messages`` (the ``ledger`` driver) sends the FMC's ``message.sent`` changes (data:
  ``driverId`` or ``driverIds``, ``text``) with ``POST /v1/fleet/messages``, each exactly once, and
  delivers a ``write_outcome`` per change. A text over :data:`MAX_TEXT` characters (Samsara's limit),
  an empty one, a driver that is not a Samsara ID, or a change older than ``maxAgeHours`` is
  ``rejected`` with the reason and nothing is sent.

Exactly once without an idempotency key. The endpoint has none and a message has no ID, so:

1. Before the first send, the messages since ``since`` (below) are read (``GET /v1/fleet/messages``)
   and, per recipient, the number of messages with the same text not sent by the driver is saved with
   the intent (``before``: ``since`` and the counts), in the same commit as the intent.
2. After a crash or a lost answer (an intent without an outcome), the messages since that same
   ``since`` are read again: a recipient with more matching messages than before has received the
   earlier send, which is then ``already`` and not sent again; otherwise it is sent.

The rule: match on driver + exact text + sent at or after ``since`` (:data:`SKEW` before the change
was written or before the intent, whichever is earlier, at most a day back: this absorbs clock skew
between the Function and Samsara), counted against the baseline, so an identical message sent before
the intent (a dispatcher's, or the same text from an earlier change) is never taken for this one. Its
limit: someone else sending the very same text to the same driver between the send and the
read-back would be taken for it. One send reaches all its recipients at once, so a match for any of
them counts as the send. ``reset`` never resets the ledger (see :mod:`._writeback`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from samsara_fmc.client import Client
from samsara_fmc.engine import LedgerDriver, RunContext, Stream, WindowsDriver, Write
from samsara_fmc.engine._util import Clock, iso, parse_time, utc_now
from samsara_fmc.engine.ledger import Change
from samsara_fmc.integrations._writeback import changes_feed, run_both
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint

__all__ = [
    "MAX_TEXT",
    "OUTCOMES_STREAM",
    "PATH",
    "SINK_STREAM",
    "SKEW",
    "message_id",
    "now",
    "read_messages",
    "run",
    "send_message",
    "streams",
    "to_record",
]

SINK_STREAM = "driver_messages"
OUTCOMES_STREAM = "write_outcomes"
PATH = "/v1/fleet/messages"
MAX_TEXT = 2500
"""Samsara's limit on a message's text, in characters."""
SKEW = dt.timedelta(minutes=10)
"""How far before the intent the read-back counts messages (clock skew between Function and Samsara)."""

now: Clock = utc_now
"""The current time (tests set the sandbox's simulated clock)."""


def _ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def message_id(item: Mapping[str, Any]) -> str:
    """A message's stable id: driver, millisecond, sender type and a hash of the text."""
    text = str(item.get("text") or "")
    h = hashlib.blake2b(text.encode(), digest_size=6).hexdigest()
    sender = item.get("sender") or {}
    return f"{item.get('driverId')}:{item.get('sentAtMs')}:{sender.get('type')}:{h}"


def to_record(item: Mapping[str, Any]) -> dict[str, Any]:
    """A ``/v1/fleet/messages`` item as a ``driver_message`` record."""
    sender = item.get("sender") or {}
    kind = str(sender.get("type") or "")
    driver = item.get("driverId")
    sent = int(item.get("sentAtMs") or 0)
    return {
        "id": message_id(item),
        "schemaVersion": 1,
        "driverId": None if driver in (None, 0, "0", "") else str(driver),
        "direction": "fromDriver" if kind == "driver" else "toDriver",
        "senderType": kind,
        "senderName": sender.get("name"),
        "text": str(item.get("text") or ""),
        "sentAtMs": sent,
        "sentAtTime": iso(dt.datetime.fromtimestamp(sent / 1000, dt.UTC)),
    }


def read_messages(client: Client, start_ms: int, end_ms: int, deadline: float) -> list[dict[str, Any]]:
    """The messages with ``start_ms <= sentAtMs < end_ms`` (one request: the endpoint has no paging)."""
    end = max(end_ms - 1, start_ms)
    body = client.request("GET", PATH, params={"endMs": end, "durationMs": end - start_ms}, deadline=deadline)
    items = (body or {}).get("data") or []
    return [dict(m) for m in items if start_ms <= int(m.get("sentAtMs") or 0) < end_ms]


def streams(ctx: RunContext) -> tuple[list[Stream], list[Stream], dict[str, Any]]:
    """The inbound stream, the ledger stream (if it runs) and the summary's ``writeBack``."""
    p = ctx.params
    client = ctx.client

    def fetch(start: dt.datetime, end: dt.datetime, deadline: float) -> Iterator[Sequence[Mapping[str, Any]]]:
        yield read_messages(client, _ms(start), _ms(end), deadline)

    inbound = [
        Stream(
            name="messages",
            sink_stream=SINK_STREAM,
            fingerprint=fingerprint({"path": PATH, "v": 1}),
            driver=WindowsDriver(
                fetch=fetch,
                to_record=to_record,
                window=dt.timedelta(hours=int(p.get("windowHours") or 6)),
                settle=dt.timedelta(minutes=int(p.get("settleMinutes") or 0)),
                overlap=dt.timedelta(hours=int(p.get("overlapHours") or 0)),
                lookback=dt.timedelta(hours=int(p.get("lookbackHours") or 24)),
                clock=lambda: now(),
            ),
            newest=_newest,
        )
    ]
    feed, write_back = changes_feed(ctx, "sendMessages")
    if feed is None:
        return inbound, [], write_back
    max_age = dt.timedelta(hours=int(p.get("maxAgeHours") or 24))
    ledger = Stream(
        name="ledger.messages",
        sink_stream=OUTCOMES_STREAM,
        fingerprint=fingerprint({"changes": ["message.sent"], "v": 1}),
        driver=LedgerDriver(
            changes=feed.changes,
            writes={"message.sent": send_message(client, lambda: now(), max_age=max_age)},
            clock=lambda: now(),
        ),
    )
    return inbound, [ledger], write_back


def run(ctx: RunContext) -> dict[str, Any]:
    """One run: the conversations, then the FMC's messages; the summary says if they were sent."""
    inbound, ledgers, write_back = streams(ctx)
    return run_both(ctx, inbound, ledgers, write_back)


def _recipients(change: Change) -> list[str] | None:
    """The change's driver IDs (``driverIds`` or ``driverId``), or ``None`` when one is not an ID."""
    data = change.get("data") or {}
    raw = data.get("driverIds") if data.get("driverIds") is not None else [data.get("driverId")]
    if not isinstance(raw, list) or not raw:
        return None
    ids = [str(d) for d in raw]
    return ids if all(d.isdigit() and len(d) <= 20 for d in ids) else None


def send_message(client: Client, clock: Clock, *, max_age: dt.timedelta = dt.timedelta(hours=24)) -> Write:
    """``message.sent`` → ``POST /v1/fleet/messages``, exactly once by the read-back the module
    docstring describes."""

    def check(change: Change) -> str | None:
        data = change.get("data") or {}
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            return "`data.text` is empty or not a text: give the message to send"
        if len(text) > MAX_TEXT:
            return (
                f"`data.text` has {len(text):,} characters; Samsara takes at most {MAX_TEXT:,}:"
                " shorten the message or split it into several (nothing was sent)"
            )
        if _recipients(change) is None:
            given = data.get("driverIds", data.get("driverId"))
            return f"`data.driverIds` (or `driverId`) is `{given}`: give the Samsara driver IDs (digits)"
        try:
            at = parse_time(str(change.get("at")))
        except ValueError:
            return f"the change's `at` is `{change.get('at')}`, not an RFC 3339 time"
        if clock() - at > max_age:
            hours = int(max_age.total_seconds() // 3600)
            return (
                f"the message was written at {change.get('at')}, over {hours} hours ago (`maxAgeHours`):"
                " not sent late; raise `maxAgeHours` to send older messages"
            )
        return None

    def counts(change: Change, since_ms: int, deadline: float) -> tuple[dict[str, int], dict[str, int]]:
        """Per recipient: messages with the change's text not from the driver since ``since_ms``, and
        the newest one's time."""
        text = str((change.get("data") or {}).get("text"))
        wanted = set(_recipients(change) or [])
        n: dict[str, int] = dict.fromkeys(sorted(wanted), 0)
        last: dict[str, int] = {}
        horizon = _ms(clock() + SKEW)
        for m in read_messages(client, since_ms, horizon, deadline):
            d = str(m.get("driverId"))
            if d in wanted and m.get("text") == text and (m.get("sender") or {}).get("type") != "driver":
                n[d] += 1
                last[d] = max(last.get(d, 0), int(m.get("sentAtMs") or 0))
        return n, last

    def prepare(change: Change, deadline: float) -> dict[str, Any]:
        # From SKEW before the change was written (its message cannot be older) or before now if that
        # is earlier (a Function clock ahead of Samsara's), at most a day back.
        t, at = clock(), parse_time(str(change.get("at")))
        since = _ms(max(min(at, t), t - dt.timedelta(days=1)) - SKEW)
        n, _ = counts(change, since, deadline)
        return {"since": since, "counts": n}

    def read_back(change: Change, deadline: float, intent: Mapping[str, Any]) -> str | None:
        before = intent.get("before") or {}
        since = int(before.get("since") or _ms(parse_time(str(intent["first"])) - SKEW))
        base = {str(k): int(v) for k, v in (before.get("counts") or {}).items()}
        n, last = counts(change, since, deadline)
        got = sorted(d for d, k in n.items() if k > base.get(d, 0))
        if not got:
            return None
        at = iso(dt.datetime.fromtimestamp(max(last[d] for d in got) / 1000, dt.UTC))
        return f"driver(s) {', '.join(f'`{d}`' for d in got)} have the message (sent {at})"

    def apply(change: Change, deadline: float) -> Any:
        body = {
            "driverIds": [int(d) for d in _recipients(change) or []],
            "text": str((change.get("data") or {}).get("text")),
        }
        return client.request("POST", PATH, json_body=body, deadline=deadline)

    return Write(
        kind="message",
        target=lambda c: None,
        apply=apply,
        verify=lambda c, deadline: None,
        check=check,
        prepare=prepare,
        read_back=read_back,
    )


def _newest(batch: Batch) -> str | None:
    """The newest ``sentAtTime`` in a delivered batch."""
    times = [str(json.loads(line).get("sentAtTime") or "") for line in batch.ndjson().splitlines() if line]
    return max((t for t in times if t), default=None)
