"""An in-memory sink, for tests and dry runs: what was delivered, by stream and key."""

from __future__ import annotations

import threading

from samsara_fmc.sinks import Batch, DeliveryResult, check_key, check_stream

__all__ = ["MemorySink"]


class MemorySink:
    """Keeps every delivery; a re-delivery of a key replaces it, as every sink does."""

    name = "memory"
    thread_safe = True
    replaces_by_key = True
    """A re-delivery of a key replaces everything delivered under it (the engine needs no outbox)."""

    def __init__(self) -> None:
        self.deliveries: dict[tuple[str, str], list[dict[str, object]]] = {}
        self.files: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.calls = 0
        self._lock = threading.Lock()

    def deliver(
        self, stream: str, key: str, batch: Batch, *, deadline: float | None = None
    ) -> DeliveryResult:
        records = batch.records()
        with self._lock:
            self.calls += 1
            self.deliveries[(check_stream(stream), check_key(key))] = records
        return DeliveryResult(records=len(records), location=f"{stream}/{key}")

    def deliver_file(
        self, stream: str, key: str, data: bytes, *, content_type: str, deadline: float | None = None
    ) -> DeliveryResult:
        with self._lock:
            self.calls += 1
            self.files[(check_stream(stream), check_key(key))] = (bytes(data), content_type)
        return DeliveryResult(records=0, location=f"{stream}/{key}", details={"bytes": len(data)})

    def records(self, stream: str) -> list[dict[str, object]]:
        """Everything delivered to ``stream``, in key order."""
        with self._lock:
            return [r for (s, _), rs in sorted(self.deliveries.items()) if s == stream for r in rs]

    def check(self, *, deadline: float | None = None) -> None:
        """Always reachable."""

    def close(self) -> None:
        """Nothing to release."""
