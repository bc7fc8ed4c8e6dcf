"""Stream state and leases in an object store (Function Storage in Functions).

State is one versioned JSON document per (org, Function, stream) at
``state/<org>/<function>/<stream>.json``: the ``epoch`` (a reset starts a new one, and delivery keys
carry it, so nothing an older epoch delivered is overwritten), the next delivery's ``seq``, counters,
the digests of the last delivered records (so records a source repeats are not delivered again as
new), and a ``state`` mapping the stream's driver owns (a cursor, a high-water mark, open windows,
pending jobs). It is written only after a delivery, with a conditional write against the version it
was read at, so a run that lost its lease cannot overwrite the state of the run that took it.

A lease (``leases/<org>/<function>/<stream>.json``) keeps two runs from driving one stream at the
same time: a manual run during a scheduled one finds the stream busy and leaves it. A lease ends
with its run, or expires after the run's deadline (a run killed outright), and a retry of the same
run (the platform's, same correlation ID) takes its own lease back at once.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from samsara_fmc.exceptions import CheckpointError, ConfigurationError
from samsara_fmc.storage import ObjectStore

__all__ = ["STATE_VERSION", "Lease", "StateStore", "StreamState", "digest_id", "fingerprint", "id_digests"]

STATE_VERSION = 2
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
_DIGEST = 8


def fingerprint(query: Any) -> str:
    """A short stable hash of a JSON-able query description."""
    canonical = json.dumps(query, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def digest_id(record_id: str) -> bytes:
    """The 8-byte digest of a record id (what the state keeps to recognise repeated records)."""
    return hashlib.blake2b(record_id.encode(), digest_size=_DIGEST).digest()


def id_digests(ids: Iterable[str]) -> set[bytes]:
    """The 8-byte digests of record ids, as a set."""
    return {digest_id(i) for i in ids}


def _now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(kw_only=True)
class StreamState:
    """Where one stream stands.

    Attributes:
        stream: The stream's name within its Function.
        fingerprint: The query the state belongs to.
        epoch: Starts at 1; a reset adds one.
        seq: The sequence number the next delivery of this epoch gets.
        records: Records delivered in this epoch.
        newest: The newest record time delivered (RFC 3339), for lag.
        state: The driver's own state (JSON-able).
        recent: Digests of the ids of the last two delivered batches, newest first (a source that
            repeats records repeats those just before its cursor).
        reset_by: The correlation ID of the run that last reset the stream.
        pending: A delivery sent (or about to be) but not yet committed: ``{"seq", "outbox"}``, the
            storage key of its exact body, so the next run re-sends the same bytes under the same key.
    """

    org_id: str
    function: str
    stream: str
    fingerprint: str
    epoch: int = 1
    seq: int = 0
    records: int = 0
    newest: str | None = None
    updated_at: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    recent: list[set[bytes]] = field(default_factory=list)
    reset_by: str | None = None
    pending: dict[str, Any] | None = None
    version: str | None = field(default=None, repr=False)
    """The stored version this state was read at (not stored)."""

    def to_json(self) -> bytes:
        """The stored form."""
        doc = {
            "version": STATE_VERSION,
            "orgId": self.org_id,
            "function": self.function,
            "stream": self.stream,
            "fingerprint": self.fingerprint,
            "epoch": self.epoch,
            "seq": self.seq,
            "records": self.records,
            "newest": self.newest,
            "updatedAt": self.updated_at,
            "resetBy": self.reset_by,
            "pending": self.pending,
            "state": self.state,
            "recent": [base64.b64encode(b"".join(sorted(g))).decode() for g in self.recent[:2]],
        }
        return json.dumps(doc, separators=(",", ":")).encode()


def _check(what: str, value: str) -> str:
    if not _NAME.match(value):
        msg = f"invalid {what} `{value}` for state keys: use letters, digits, `.`, `_`, `+`, `-`"
        raise ConfigurationError(msg)
    return value


class StateStore:
    """The stream states and leases of one Function in one organisation."""

    def __init__(self, store: ObjectStore, *, org_id: str, function: str) -> None:
        self.store = store
        self.org_id = _check("org_id", org_id)
        self.function = _check("function", function)

    def key(self, stream: str) -> str:
        """The storage key of ``stream``'s state."""
        return f"state/{self.org_id}/{self.function}/{_check('stream name', stream)}.json"

    def load(self, stream: str, *, fingerprint: str) -> StreamState:
        """The stored state, or a fresh one (epoch 1).

        Raises:
            CheckpointError: The stored document is corrupt, of a newer version, of another org,
                Function or stream, or was made for a different query; the message names the key
                and the fix.
        """
        key = self.key(stream)
        raw, version = self.store.get_versioned(key)
        fresh = StreamState(
            org_id=self.org_id, function=self.function, stream=stream, fingerprint=fingerprint
        )
        if raw is None:
            return fresh
        hint = f"fix or delete `{key}` in Function Storage, or run once with `reset=true`"
        try:
            doc = json.loads(raw)
        except ValueError as e:
            msg = f"state `{key}` is not valid JSON ({e}); {hint}"
            raise CheckpointError(msg) from e
        if not isinstance(doc, dict):
            raise CheckpointError(f"state `{key}` is not a JSON object; {hint}")
        stored_version = doc.get("version")
        if stored_version != STATE_VERSION:
            if isinstance(stored_version, int) and stored_version > STATE_VERSION:
                msg = (
                    f"state `{key}` has version {stored_version}, newer than this samsara-fmc understands "
                    f"({STATE_VERSION}); deploy the newer samsara-fmc that wrote it"
                )
            else:
                msg = f"state `{key}` has no valid `version` (got `{stored_version!r}`); {hint}"
            raise CheckpointError(msg)
        for name, want in (("orgId", self.org_id), ("function", self.function), ("stream", stream)):
            if doc.get(name) != want:
                raise CheckpointError(
                    f"state `{key}` belongs to {name} `{doc.get(name)}`, not `{want}`; {hint}"
                )
        if doc.get("fingerprint") != fingerprint:
            msg = (
                f"state `{key}` was made for a different query (fingerprint `{doc.get('fingerprint')}`, now "
                f"`{fingerprint}`): its position does not apply to the new parameters; {hint}"
            )
            raise CheckpointError(msg)
        try:
            epoch, seq, records = int(doc["epoch"]), int(doc["seq"]), int(doc["records"])
            driver_state = doc["state"]
            recent_raw = [base64.b64decode(g, validate=True) for g in doc.get("recent") or []]
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"state `{key}` is missing or has an invalid `{e}`; {hint}") from e
        if (
            epoch < 1
            or seq < 0
            or records < 0
            or not isinstance(driver_state, dict)
            or any(len(g) % _DIGEST for g in recent_raw)
        ):
            raise CheckpointError(f"state `{key}` has invalid counters or driver state; {hint}")
        return StreamState(
            org_id=self.org_id,
            function=self.function,
            stream=stream,
            fingerprint=fingerprint,
            epoch=epoch,
            seq=seq,
            records=records,
            newest=doc.get("newest"),
            updated_at=doc.get("updatedAt"),
            state=driver_state,
            recent=[{g[i : i + _DIGEST] for i in range(0, len(g), _DIGEST)} for g in recent_raw[:2]],
            reset_by=doc.get("resetBy"),
            pending=doc.get("pending") if isinstance(doc.get("pending"), dict) else None,
            version=version,
        )

    def reset(self, stream: str, *, fingerprint: str, by: str | None) -> StreamState:
        """A new epoch for ``stream``: the driver's state is cleared and delivery numbering restarts
        under new keys. The old document's epoch is read even when its query differs or it is
        corrupt (that is what a reset is for)."""
        key = self.key(stream)
        raw, version = self.store.get_versioned(key)
        epoch = 0
        if raw is not None:
            try:
                epoch = int(json.loads(raw).get("epoch", 0))
            except (ValueError, TypeError, AttributeError):
                epoch = 0
            # An unreadable document keeps its own key's deliveries apart by a jump in epochs.
            epoch = max(epoch, 0) or 1000
        state = StreamState(
            org_id=self.org_id,
            function=self.function,
            stream=stream,
            fingerprint=fingerprint,
            epoch=epoch + 1,
            reset_by=by,
            version=version,
        )
        self.save(state)
        return state

    def save(self, state: StreamState) -> None:
        """Stores ``state`` if the stored document is still the one it was read at.

        Raises:
            CheckpointError: Another run changed the state since (this run lost its lease).
        """
        state.updated_at = _now_iso()
        data = state.to_json()
        key = self.key(state.stream)
        if not self.store.put_if(key, data, version=state.version):
            msg = (
                f"state `{key}` was changed by another run since this run read it; this run stops "
                "without writing (the other run owns the stream now)"
            )
            raise CheckpointError(msg)
        state.version = self.store.get_versioned(key)[1]

    def lease(self, stream: str, *, owner: str | None, until: float) -> Lease:
        """A lease on ``stream`` (call :meth:`Lease.acquire`)."""
        return Lease(
            self.store,
            f"leases/{self.org_id}/{self.function}/{_check('stream name', stream)}.json",
            owner=owner,
            until=until,
        )


class Lease:
    """An exclusive claim on a stream until a time, held in the object store."""

    def __init__(self, store: ObjectStore, key: str, *, owner: str | None, until: float) -> None:
        self.store = store
        self.key = key
        self.owner = owner or f"run-{uuid.uuid4()}"
        self.until = until
        self.token = uuid.uuid4().hex
        self.held = False
        self.holder: dict[str, Any] = {}
        """The lease document of the run holding it, when :meth:`acquire` found it busy."""

    def acquire(self) -> bool:
        """Takes the lease if it is free, expired, or held by the same run (a platform retry)."""
        raw, version = self.store.get_versioned(self.key)
        if raw is not None:
            try:
                doc = json.loads(raw)
                busy = float(doc["until"]) > time.time() and doc.get("owner") != self.owner
            except (ValueError, TypeError, KeyError):
                doc, busy = {}, False
            if busy:
                self.holder = doc
                return False
        body = {"owner": self.owner, "token": self.token, "until": self.until, "takenAt": _now_iso()}
        self.held = self.store.put_if(self.key, json.dumps(body).encode(), version=version)
        if not self.held:
            self.holder = {"owner": "another run (it took the lease a moment ago)"}
        return self.held

    def release(self) -> None:
        """Ends the lease if this run still holds it."""
        if not self.held:
            return
        raw, version = self.store.get_versioned(self.key)
        try:
            mine = raw is not None and json.loads(raw).get("token") == self.token
        except ValueError:
            mine = False
        if mine:
            expired = {"owner": self.owner, "token": self.token, "until": 0, "releasedAt": _now_iso()}
            self.store.put_if(self.key, json.dumps(expired).encode(), version=version)
        self.held = False
