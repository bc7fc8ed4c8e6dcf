"""Sinks: where records go on the FMC side.

A sink takes a :class:`Batch` of records for a stream under a delivery key and delivers it,
idempotently per ``(stream, key)``: delivering the same key again replaces what was delivered under
it (a file is overwritten; an HTTP batch repeats its ``Idempotency-Key``). The engine chooses keys
that carry the state's epoch and the delivery's sequence number, so a re-delivery after a crash or a
platform retry replaces itself and a reset never overwrites what an older epoch delivered.

Keys are relative, slash-separated paths of safe segments
(``<org>/<function>/<state stream>/e0001/00000042``); stream names are the FMC's
(``vehicle_stats``, ``defects``, ``_health``: 1-64 of ``[A-Za-z0-9._-]``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from samsara_fmc.exceptions import ConfigurationError, RecordTypeError

__all__ = ["Batch", "DeliveryResult", "Sink", "check_key", "check_stream", "file_digest"]

_STREAM = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


def check_stream(stream: str) -> str:
    """``stream`` if it is a valid sink stream name, else a :class:`ConfigurationError`."""
    if not _STREAM.match(stream):
        msg = f"invalid stream name `{stream}`: use 1 to 64 of letters, digits, `.`, `_` and `-`"
        raise ConfigurationError(msg)
    return stream


def file_digest(data: bytes) -> str:
    """The SHA-256 of a file's bytes, in hex (records name their files by it)."""
    return hashlib.sha256(data).hexdigest()


def check_key(key: str) -> str:
    """``key`` if it is a valid delivery key (safe path segments joined by ``/``), else an error."""
    if not key or len(key) > 200 or not all(_SEGMENT.match(s) for s in key.split("/")):
        msg = f"invalid delivery key `{key}`: use path segments of letters, digits, `.`, `_`, `+`, `-`"
        raise ConfigurationError(msg)
    return key


class Batch:
    """Records to deliver under one key: NDJSON bytes (as the Rust converter writes them) or dicts.

    Either form is converted to the other only when a sink asks for it, so NDJSON from the converter
    reaches a storage or HTTP sink without a Python object per record. Every record is a JSON object
    with a string ``id`` first (the converter writes ``{"id":"…",…}``; dicts are written that way).
    """

    __slots__ = ("_ndjson", "_records")

    def __init__(self, *, ndjson: bytes | None = None, records: Sequence[Mapping[str, Any]] | None = None):
        if (ndjson is None) == (records is None):
            msg = "a Batch takes either `ndjson` or `records`"
            raise RecordTypeError(msg)
        if ndjson is not None and (b"\r" in ndjson or b"\n\n" in ndjson or ndjson.startswith(b"\n")):
            # Blank lines and CRLF would miscount records and break `json_array`: one record per line.
            ndjson = b"".join(line + b"\n" for line in ndjson.splitlines() if line.strip())
        if ndjson is not None and ndjson and not ndjson.endswith(b"\n"):
            ndjson += b"\n"
        self._ndjson = ndjson
        self._records = None if records is None else [dict(r) for r in records]

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> Batch:
        """A batch of dict records."""
        return cls(records=list(records))

    def __len__(self) -> int:
        if self._records is not None:
            return len(self._records)
        assert self._ndjson is not None
        return self._ndjson.count(b"\n")

    def __bool__(self) -> bool:
        return len(self) > 0

    def ndjson(self) -> bytes:
        """One compact JSON object per line, each line ending in ``\\n``."""
        if self._ndjson is None:
            assert self._records is not None
            self._ndjson = b"".join(
                json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
                for r in self._records
            )
        return self._ndjson

    def records(self) -> list[dict[str, Any]]:
        """The records as dicts (parsed from the NDJSON on first use)."""
        if self._records is None:
            assert self._ndjson is not None
            self._records = [json.loads(line) for line in self._ndjson.splitlines() if line]
        return self._records

    def json_array(self) -> bytes:
        """The records as one JSON array, without parsing NDJSON."""
        return b"[" + b",".join(self.ndjson().splitlines()) + b"]"

    def ids(self) -> list[str]:
        """Each record's ``id``, in order."""
        if self._records is not None:
            return [str(r["id"]) for r in self._records]
        return [_ndjson_id(line) for line in self.ndjson().splitlines() if line]

    def digest(self) -> str:
        """A hash of the batch's content (the NDJSON bytes), 16 hex digits."""
        return hashlib.sha256(self.ndjson()).hexdigest()[:16]

    def mask(self, keep: Sequence[bool]) -> Batch:
        """The records whose flag in ``keep`` (one per record, in order) is true, in the same form."""
        if self._records is not None:
            return Batch(records=[r for r, k in zip(self._records, keep, strict=True) if k])
        lines = [line for line in self.ndjson().splitlines() if line]
        kept = [line for line, k in zip(lines, keep, strict=True) if k]
        return Batch(ndjson=b"".join(line + b"\n" for line in kept))

    def keep(self, predicate: Callable[[str], bool]) -> Batch:
        """The records whose ``id`` satisfies ``predicate``, in order, in the same form."""
        if self._records is not None:
            return Batch(records=[r for r in self._records if predicate(str(r["id"]))])
        lines = [line for line in self.ndjson().splitlines() if line and predicate(_ndjson_id(line))]
        return Batch(ndjson=b"".join(line + b"\n" for line in lines))


def _ndjson_id(line: bytes) -> str:
    """The ``id`` of an NDJSON record line written ``{"id":"…",…}`` (the converter's and ours)."""
    if line.startswith(b'{"id":"'):
        end = line.find(b'",', 7)
        if end > 0 and b"\\" not in line[7:end]:
            return line[7:end].decode()
    return str(json.loads(line)["id"])


@dataclass
class DeliveryResult:
    """What a sink did with a batch.

    Attributes:
        records: Records delivered.
        location: Where they went (a storage key, a remote path, a URL path), for the run summary.
        inserted: Records the FMC saw for the first time, when the sink can tell.
        updated: Records the FMC already had, when the sink can tell.
        replayed: The FMC answered from an earlier delivery of the same key.
    """

    records: int
    location: str = ""
    inserted: int | None = None
    updated: int | None = None
    replayed: bool = False
    details: dict[str, Any] = field(default_factory=dict)


class Sink(Protocol):
    """Where a Function's records go. One sink per run, chosen by the Function's secrets."""

    name: str
    """``fmc-http``, ``storage`` or ``sftp``: for logs, health and summaries."""

    def deliver(
        self, stream: str, key: str, batch: Batch, *, deadline: float | None = None
    ) -> DeliveryResult:
        """Delivers ``batch`` to ``stream`` under ``key``, replacing an earlier delivery of the key.

        Raises:
            ConfigurationError: The sink is misconfigured (no retry helps).
            DeliveryError: The FMC side refused or failed after the sink's own retries.
            DeadlineExceeded: The deadline would pass first; nothing is half-delivered under the key.
        """
        ...

    def deliver_file(
        self, stream: str, key: str, data: bytes, *, content_type: str, deadline: float | None = None
    ) -> DeliveryResult:
        """Delivers one file (camera media, a report) to ``stream`` under ``key``, replacing an earlier
        file of the key; delivering the same bytes again changes nothing.

        ``key`` is a delivery key whose last segment is the file's name with its extension
        (``<retrievalId>/dashcamRoadFacing.jpeg``). The FMC endpoint stores it as file
        ``key`` with ``/`` written ``.`` (``PUT /fmc/v1/streams/{stream}/files/{name}``), storage
        as the object ``<prefix>/<stream>/<key>``, SFTP as ``<directory>/<stream>/<key>`` (written as
        ``*.part``, then renamed). ``DeliveryResult.location`` says where it went.

        Raises:
            As :meth:`deliver`.
        """
        ...

    def check(self, *, deadline: float | None = None) -> None:
        """Preflight: the sink is reachable and authorised (raises as :meth:`deliver` does)."""
        ...

    def close(self) -> None:
        """Releases connections."""
        ...
