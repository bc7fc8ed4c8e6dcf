"""Checkpoints: where each stream stands, stored as small versioned JSON documents.

A checkpoint names its organisation, function and stream, the cursor to resume from, how many pages
were delivered (which also names the next delivery, so a retried page overwrites its own object),
and a fingerprint of the query the cursor belongs to. It is saved only after a page is delivered.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from samsara_fmc.exceptions import CheckpointError, ConfigurationError
from samsara_fmc.storage import ObjectStore

__all__ = ["CHECKPOINT_VERSION", "Checkpoint", "Checkpoints", "fingerprint"]

CHECKPOINT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


def fingerprint(query: Any) -> str:
    """A short stable hash of a JSON-able query description."""
    canonical = json.dumps(query, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """The position of one stream."""

    org_id: str
    function: str
    stream: str
    fingerprint: str
    cursor: str | None = None
    pages: int = 0
    records: int = 0
    updated_at: str | None = None

    def advanced(self, cursor: str | None, records: int) -> Checkpoint:
        """The checkpoint after one more delivered page."""
        now = _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return replace(
            self,
            cursor=cursor if cursor else self.cursor,
            pages=self.pages + 1,
            records=self.records + records,
            updated_at=now,
        )

    def to_json(self) -> bytes:
        """The stored form."""
        doc = {
            "version": CHECKPOINT_VERSION,
            "orgId": self.org_id,
            "function": self.function,
            "stream": self.stream,
            "fingerprint": self.fingerprint,
            "cursor": self.cursor,
            "pages": self.pages,
            "records": self.records,
            "updatedAt": self.updated_at,
        }
        return json.dumps(doc, indent=1).encode()


class Checkpoints:
    """The checkpoints of one function in one organisation, in an :class:`ObjectStore`.

    Keys are ``checkpoints/<org_id>/<function>/<stream>.json``.
    """

    def __init__(self, store: ObjectStore, *, org_id: str, function: str) -> None:
        for what, value in (("org_id", org_id), ("function", function)):
            if not _NAME.match(value):
                msg = f"invalid {what} `{value}` for checkpoint keys: use letters, digits, `.`, `_`, `+`, `-`"
                raise ConfigurationError(msg)
        self.store = store
        self.org_id = org_id
        self.function = function

    def key(self, stream: str) -> str:
        """The storage key of ``stream``'s checkpoint."""
        if not _NAME.match(stream):
            msg = f"invalid stream name `{stream}`: use letters, digits, `.`, `_`, `+`, `-`"
            raise ConfigurationError(msg)
        return f"checkpoints/{self.org_id}/{self.function}/{stream}.json"

    def load(self, stream: str, *, fingerprint: str) -> Checkpoint:
        """The stored checkpoint, or a fresh one.

        Raises:
            CheckpointError: The stored document is corrupt, of a newer version, of another org,
                function or stream, or was made for a different query.
        """
        key = self.key(stream)
        raw = self.store.get(key)
        fresh = Checkpoint(org_id=self.org_id, function=self.function, stream=stream, fingerprint=fingerprint)
        if raw is None:
            return fresh
        hint = f"fix or delete `{key}` in Function Storage, or run once with `resetCheckpoint=true`"
        try:
            doc = json.loads(raw)
        except ValueError as e:
            msg = f"checkpoint `{key}` is not valid JSON ({e}); {hint}"
            raise CheckpointError(msg) from e
        if not isinstance(doc, dict):
            msg = f"checkpoint `{key}` is not a JSON object; {hint}"
            raise CheckpointError(msg)
        version = doc.get("version")
        if not isinstance(version, int) or version < 1:
            msg = f"checkpoint `{key}` has no valid `version` (got `{version!r}`); {hint}"
            raise CheckpointError(msg)
        if version > CHECKPOINT_VERSION:
            msg = (
                f"checkpoint `{key}` has version {version}, newer than this samsara-fmc understands "
                f"({CHECKPOINT_VERSION}); deploy the newer samsara-fmc that wrote it"
            )
            raise CheckpointError(msg)
        for field, want in (("orgId", self.org_id), ("function", self.function), ("stream", stream)):
            if doc.get(field) != want:
                msg = f"checkpoint `{key}` belongs to {field} `{doc.get(field)}`, not `{want}`; {hint}"
                raise CheckpointError(msg)
        if doc.get("fingerprint") != fingerprint:
            msg = (
                f"checkpoint `{key}` was made for a different query (fingerprint `{doc.get('fingerprint')}`, "
                f"now `{fingerprint}`): its cursor does not apply to the new parameters; {hint}"
            )
            raise CheckpointError(msg)
        cursor, pages, records = doc.get("cursor"), doc.get("pages"), doc.get("records")
        if not (cursor is None or isinstance(cursor, str)) or not isinstance(pages, int) or pages < 0:
            msg = f"checkpoint `{key}` has an invalid `cursor` or `pages`; {hint}"
            raise CheckpointError(msg)
        return replace(
            fresh,
            cursor=cursor,
            pages=pages,
            records=records if isinstance(records, int) else 0,
            updated_at=doc.get("updatedAt"),
        )

    def save(self, checkpoint: Checkpoint) -> None:
        """Stores ``checkpoint`` (atomically replacing the previous one)."""
        self.store.put(self.key(checkpoint.stream), checkpoint.to_json())

    def reset(self, stream: str, *, fingerprint: str) -> Checkpoint:
        """Stores and returns a fresh checkpoint for ``stream``."""
        fresh = Checkpoint(org_id=self.org_id, function=self.function, stream=stream, fingerprint=fingerprint)
        self.save(fresh)
        return fresh
