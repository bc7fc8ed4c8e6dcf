"""Health: how a Function is doing, for the people who run it.

Each run writes ``health/<function>.json`` (last success, last error and its fix, lag per stream,
counts) to storage and delivers the same document to the sink's ``_health`` stream; the run summary
carries the per-stream figures it is built from.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from samsara_fmc.sinks import Batch, Sink
from samsara_fmc.storage import ObjectStore

__all__ = ["HEALTH_SCHEMA_VERSION", "Health"]

HEALTH_SCHEMA_VERSION = 1


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _iso(t: _dt.datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Health:
    """The health document of one Function."""

    function: str
    doc: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def key(cls, function: str) -> str:
        """The storage key of ``function``'s health document."""
        return f"health/{function}.json"

    @classmethod
    def load(cls, store: ObjectStore, function: str) -> Health:
        """The stored document (or an empty one; an unreadable one is started afresh)."""
        raw = store.get(cls.key(function))
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = {}
        return cls(function=function, doc=doc if isinstance(doc, dict) else {})

    def succeeded(self, result: Mapping[str, Any], *, org_id: str | None) -> None:
        """Records a successful run and the lag of each stream."""
        now = _now()
        self.doc.update(
            ok=True, runAt=_iso(now), lastSuccessAt=_iso(now), orgId=org_id, lastError=None, lastErrorFix=None
        )
        streams = self.doc.setdefault("streams", {})
        for s in result.get("streams", []):
            entry = streams.setdefault(s["stream"], {})
            newest = s.get("newest") or entry.get("newestRecordAt")
            entry.update(
                records=entry.get("records", 0) + s.get("records", 0),
                caughtUp=bool(s.get("caughtUp")),
                busy=bool(s.get("busy")),
                newestRecordAt=newest,
                lagSeconds=_lag(now, newest),
            )
        if result.get("quotaStatus") is not None:  # camera media: the month's retrieval quota
            self.doc["quotaStatus"] = result["quotaStatus"]
        requests = result.get("requests", {})
        self.doc["retries"] = sum(int(side.get("retries", 0)) for side in requests.values())
        self.doc["rateLimited"] = sum(int(side.get("rateLimited", 0)) for side in requests.values())
        waits = (int(side.get(k, 0)) for side in requests.values() for k in ("pacedMs", "backoffMs"))
        self.doc["waitedMs"] = sum(waits)
        counts = self._counts()
        counts["runs"] += 1
        counts["records"] += int(result.get("records", 0))
        counts["repeated"] += int(result.get("repeated", 0))
        counts["rejected"] += int(result.get("rejected", 0))
        # What an integration counted besides records (odometer anomalies, flaps, late points…).
        for name, n in (result.get("counters") or {}).items():
            counts[name] = counts.get(name, 0) + int(n)

    def failed(self, error: BaseException, *, message: str, org_id: str | None, fix: str) -> None:
        """Records a failed run with its error (``message``: already scrubbed) and fix."""
        self.doc.update(ok=False, runAt=_iso(_now()), orgId=org_id or self.doc.get("orgId") or "unknown")
        self.doc.update(lastError=f"{type(error).__name__}: {message}", lastErrorFix=fix)
        counts = self._counts()
        counts["runs"] += 1
        counts["failures"] += 1

    def _counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.doc.setdefault("counts", {})
        for name in ("runs", "failures", "records", "repeated", "rejected"):
            counts.setdefault(name, 0)
        return counts

    def record(self, *, org_id: str) -> dict[str, Any]:
        """The health record delivered to the ``_health`` stream (one id per Function and org)."""
        return {
            **self.doc,
            "id": f"{org_id}:{self.function}",
            "schemaVersion": HEALTH_SCHEMA_VERSION,
            "function": self.function,
        }

    def save(self, store: ObjectStore) -> None:
        """Writes the document to storage."""
        self.doc.update(function=self.function, schemaVersion=HEALTH_SCHEMA_VERSION)
        store.put(self.key(self.function), json.dumps(self.doc, indent=1, sort_keys=True).encode())

    def deliver(self, sink: Sink, *, org_id: str, deadline: float | None) -> None:
        """Delivers the health record (one key per Function: each delivery replaces the last)."""
        sink.deliver(
            "_health",
            f"{org_id}/{self.function}/health",
            Batch.of([self.record(org_id=org_id)]),
            deadline=deadline,
        )


def _lag(now: _dt.datetime, newest: str | None) -> float | None:
    if not newest:
        return None
    try:
        t = _dt.datetime.fromisoformat(newest.replace("Z", "+00:00"))
    except ValueError:
        return None
    return round((now - t).total_seconds(), 1)
