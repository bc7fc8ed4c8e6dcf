"""Function Storage (or any object store) as a sink: one NDJSON object per delivery key."""

from __future__ import annotations

from samsara_fmc.sinks import Batch, DeliveryResult, check_key, check_stream
from samsara_fmc.storage import ObjectStore

__all__ = ["StorageSink"]


class StorageSink:
    """Writes ``<prefix>/<stream>/<key>.ndjson``; a re-delivery of a key replaces its object."""

    name = "storage"
    thread_safe = True

    def __init__(self, store: ObjectStore, *, prefix: str = "deliveries") -> None:
        self.store = store
        self.prefix = check_key(prefix.strip("/"))

    def deliver(
        self, stream: str, key: str, batch: Batch, *, deadline: float | None = None
    ) -> DeliveryResult:
        path = f"{self.prefix}/{check_stream(stream)}/{check_key(key)}.ndjson"
        self.store.put(path, batch.ndjson(), content_type="application/x-ndjson")
        return DeliveryResult(records=len(batch), location=path)

    def check(self, *, deadline: float | None = None) -> None:
        """Function Storage needs no probe: a refused write fails the delivery with the store's reason."""

    def close(self) -> None:
        """Nothing to release."""
