"""The Function Storage sink: each batch as one NDJSON object, ``<prefix>/<stream>/<key>.ndjson``.

The object store replaces a whole object at once (S3 ``put_object``; a temp file and ``os.replace``
locally), so a re-delivery of a key replaces what was written under it and a reader never sees half a
batch. The batch's NDJSON is written as it is (the converter's bytes, unparsed)::

    sink = StorageSink(FunctionStorage.from_environment(), prefix="deliveries")
    sink.deliver("vehicle_stats", "org1/vehicle-stats/e0001/00000042", Batch(ndjson=page))
    # -> deliveries/vehicle_stats/org1/vehicle-stats/e0001/00000042.ndjson
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from samsara_fmc.exceptions import ConfigurationError, DeadlineExceeded, DeliveryError
from samsara_fmc.sinks import Batch, DeliveryResult, Sink, check_key, check_stream
from samsara_fmc.storage import ObjectStore

__all__ = ["StorageSink"]


class StorageSink:
    """Delivers batches as NDJSON objects in an :class:`~samsara_fmc.storage.ObjectStore`.

    Args:
        store: Function Storage, a local directory or memory.
        prefix: The key prefix, relative (``deliveries``, ``fmc/outbox``); may be empty.
    """

    name = "storage"
    thread_safe = True
    replaces_by_key = True
    """A re-delivery of a key replaces everything delivered under it (the engine needs no outbox)."""

    def __init__(self, store: ObjectStore, prefix: str = "deliveries") -> None:
        prefix = prefix.strip("/")
        if prefix:
            try:
                check_key(prefix)
            except ConfigurationError:
                msg = f"invalid storage sink prefix `{prefix}`: use a relative path such as `deliveries`"
                raise ConfigurationError(msg) from None
        self.store = store
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"StorageSink(prefix={self.prefix!r})"

    def location(self, stream: str, key: str) -> str:
        """The storage key a batch for ``stream`` under ``key`` is written to."""
        path = f"{check_stream(stream)}/{check_key(key)}.ndjson"
        return f"{self.prefix}/{path}" if self.prefix else path

    def deliver(
        self, stream: str, key: str, batch: Batch, *, deadline: float | None = None
    ) -> DeliveryResult:
        """Writes ``batch`` to :meth:`location`, replacing an earlier delivery of the key.

        An empty batch is written too (an empty object), so a re-delivery that found nothing still
        replaces what an earlier delivery of the key wrote.
        """
        where = self.location(stream, key)
        if deadline is not None and time.time() >= deadline:
            msg = f"the deadline passed before `{where}` was written"
            raise DeadlineExceeded(msg)
        data = batch.ndjson()
        try:
            self.store.put(where, data, content_type="application/x-ndjson")
        except (ConfigurationError, DeliveryError):
            raise
        except OSError as e:
            msg = f"could not write `{where}` ({len(data)} bytes): {type(e).__name__}: {e}"
            raise DeliveryError(msg) from e
        return DeliveryResult(records=len(batch), location=where)

    def deliver_file(
        self, stream: str, key: str, data: bytes, *, content_type: str, deadline: float | None = None
    ) -> DeliveryResult:
        """Writes ``data`` as the object ``<prefix>/<stream>/<key>``, replacing an earlier file of the key."""
        path = f"{check_stream(stream)}/{check_key(key)}"
        where = f"{self.prefix}/{path}" if self.prefix else path
        if deadline is not None and time.time() >= deadline:
            msg = f"the deadline passed before `{where}` was written"
            raise DeadlineExceeded(msg)
        try:
            self.store.put(where, data, content_type=content_type)
        except (ConfigurationError, DeliveryError):
            raise
        except OSError as e:
            msg = f"could not write `{where}` ({len(data)} bytes): {type(e).__name__}: {e}"
            raise DeliveryError(msg) from e
        return DeliveryResult(records=0, location=where, details={"bytes": len(data)})

    def check(self, *, deadline: float | None = None) -> None:
        """Nothing to check up front: the store was reached when it was built."""

    def close(self) -> None:
        """Nothing to release."""


if TYPE_CHECKING:  # the sink implements the protocol
    from samsara_fmc.storage import MemoryStorage

    _checked: Sink = StorageSink(MemoryStorage())
