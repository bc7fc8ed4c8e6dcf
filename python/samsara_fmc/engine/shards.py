"""Tracker state in shards: per-key parts (a vehicle's trackers) kept in objects of their own, grouped
by a hash bucket of the key, so a round saves only the buckets it changed, not the whole fleet.

A shard is an immutable, content-addressed object (``<state key without .json>.shards/<buckets>.
<bucket>-<hash>.json.z``: zlib-compressed JSON ``{key: part}``). A stream starts with one bucket and
doubles them whenever they hold more than ``per_shard`` keys on average (every shard is rewritten
then, once), so a small fleet writes one small object a round and a large one writes bounded ones,
several at a time. A round writes the shards of the buckets it touched
under their new names, then commits the stream's state document, which names every bucket's current
shard next to the feed cursors: that single conditional write is the commit. A crash before it leaves
the document naming the old shards, which are still there (nothing is overwritten in place), so the
next run resumes from the old cursors with the old tracker state; the new objects are unreferenced
clutter. Only after the commit are the replaced shards deleted. Two runs racing (one that lost its
lease) cannot corrupt each other: equal names mean equal bytes, and the loser's commit is refused.

The document's ``shards``: ``{"layout": 1, "buckets": N, "keys": {bucket: object key}}``.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from samsara_fmc.exceptions import CheckpointError
from samsara_fmc.state import StateStore

__all__ = ["LAYOUT", "Partition", "ShardSet"]

LAYOUT = 1
"""The shard layout this version writes and reads."""
MAX_BUCKETS = 4096
LEVEL = 1
"""zlib level of shards: level 1 compresses this JSON ~4x at a third of level 6's CPU (which gains
a further ~20 % in size); a round's cost is its CPU, its writes are latency-bound."""


class Partition(Protocol):
    """How a transform's tracker state splits into per-key parts and a small shared rest."""

    def keys(self, trackers: dict[str, Any]) -> Iterable[str]:
        """Every key (vehicle) with a part in ``trackers``."""
        ...

    def dump(self, trackers: dict[str, Any], key: str) -> Any:
        """``key``'s part, JSON-able (``None``: nothing to keep)."""
        ...

    def load(self, trackers: dict[str, Any], key: str, part: Any) -> None:
        """Puts a part :meth:`dump` made back into ``trackers``."""
        ...

    def shared(self, trackers: dict[str, Any]) -> dict[str, Any]:
        """What is not per key (counters, the trackers' clocks): kept in the state document."""
        ...

    def touched(self, trackers: dict[str, Any]) -> set[str]:
        """The keys whose parts changed since the last call (and forgets them)."""
        ...


def bucket_of(key: str, buckets: int) -> int:
    """The bucket of ``key`` (stable across runs and versions: a hash, not Python's ``hash``)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") % buckets


@dataclass
class ShardSet:
    """The shards of one stream during a run: which keys each bucket holds, and each bucket's object."""

    states: StateStore
    stream: str
    partition: Partition
    buckets: int
    per_shard: int = 1000
    """Keys a bucket holds on average before the buckets double (a shard is then ~150 kB compressed
    for vehicle-maintenance: few objects to write for a small fleet, bounded ones for a large one)."""
    keys: dict[int, str] = field(default_factory=dict)
    members: dict[int, set[str]] = field(default_factory=dict)
    written: int = 0
    """Bytes of shard objects written this run."""
    encoded: dict[str, bytes] = field(default_factory=dict)
    """Each key's part as JSON, as last written: a shard rewritten because some of its keys changed
    encodes only those again."""

    @classmethod
    def open(
        cls,
        states: StateStore,
        stream: str,
        partition: Partition,
        doc: dict[str, Any],
        trackers: dict[str, Any],
        *,
        buckets: int = 1,
        per_shard: int = 1000,
    ) -> ShardSet:
        """Loads every shard ``doc["shards"]`` names into ``trackers``.

        Raises:
            CheckpointError: A newer layout, or a shard the document names is missing or unreadable.
        """
        key = states.key(stream)
        meta = doc.get("shards")
        if not isinstance(meta, dict):
            return cls(states, stream, partition, buckets, per_shard)
        hint = f"run once with `reset=true` to start the stream again (state `{key}`)"
        layout = meta.get("layout")
        if layout != LAYOUT:
            if isinstance(layout, int) and layout > LAYOUT:
                msg = (
                    f"state `{key}` keeps its trackers in shard layout {layout}, newer than this "
                    f"samsara-fmc understands ({LAYOUT}); deploy the newer samsara-fmc that wrote it"
                )
            else:
                msg = f"state `{key}` has an invalid shard layout `{layout!r}`; {hint}"
            raise CheckpointError(msg)
        try:
            out = cls(states, stream, partition, int(meta.get("buckets") or buckets), per_shard)
            named = [(int(b), str(obj)) for b, obj in (meta.get("keys") or {}).items()]
        except (TypeError, ValueError, AttributeError) as e:
            raise CheckpointError(f"state `{key}` has an invalid `shards` ({e}); {hint}") from e
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(named)))) as pool:
            raws = list(pool.map(states.store.get, [obj for _, obj in named]))
        for (bucket, obj), raw in zip(named, raws, strict=True):
            if raw is None:
                msg = f"shard `{obj}` named by state `{key}` is missing from storage; restore it or {hint}"
                raise CheckpointError(msg)
            try:
                parts = json.loads(zlib.decompress(raw))
            except (zlib.error, ValueError) as e:
                raise CheckpointError(f"shard `{obj}` of state `{key}` is unreadable ({e}); {hint}") from e
            out.keys[bucket] = obj
            out.members[bucket] = set(parts)
            for k, part in parts.items():
                partition.load(trackers, k, part)
        return out

    def _put(self, writes: list[tuple[str, bytes]]) -> None:
        """Writes the new shards, several at a time (Function Storage is latency-bound); all are
        written, or an error is raised and the caller does not commit."""

        def put(item: tuple[str, bytes]) -> None:
            self.states.store.put(item[0], item[1], content_type="application/zlib")

        if len(writes) > 1:
            with ThreadPoolExecutor(max_workers=min(8, len(writes))) as pool:
                list(pool.map(put, writes))
        elif writes:
            put(writes[0])
        self.written += sum(len(d) for _, d in writes)

    def adopt(self, trackers: dict[str, Any]) -> set[str]:
        """Every key of ``trackers`` (state from before shards, loaded whole): all to be written."""
        return set(self.partition.keys(trackers))

    def save(self, trackers: dict[str, Any], touched: Iterable[str], doc: dict[str, Any]) -> list[str]:
        """Writes the shards of the buckets ``touched`` keys fall in, and names them in ``doc`` (the
        state document's driver state, committed next by the caller). Returns the objects they
        replace, to delete once that commit succeeded."""
        replaced: list[str] = []
        touched = set(touched)
        changed: set[int] = set()
        for k in touched:
            b = bucket_of(k, self.buckets)
            self.members.setdefault(b, set()).add(k)
            changed.add(b)
        known = sum(len(m) for m in self.members.values())
        if known > self.per_shard * self.buckets and self.buckets < MAX_BUCKETS:
            # Grown past its shards' size: more buckets, every key moves, every shard is rewritten.
            keys = set(self.partition.keys(trackers))
            while len(keys) > self.per_shard * self.buckets and self.buckets < MAX_BUCKETS:
                self.buckets *= 2
            replaced.extend(self.keys.values())
            self.keys, self.members, touched = {}, {}, keys
            for k in keys:
                self.members.setdefault(bucket_of(k, self.buckets), set()).add(k)
            changed = set(self.members)
        prefix = self.states.key(self.stream).removesuffix(".json") + ".shards"
        writes: list[tuple[str, bytes]] = []
        for b in sorted(changed):
            parts: list[bytes] = []
            for k in sorted(self.members[b]):
                encoded = self.encoded.get(k)
                if encoded is None or k in touched:
                    part = self.partition.dump(trackers, k)
                    if part is None:
                        self.members[b].discard(k)
                        self.encoded.pop(k, None)
                        continue
                    encoded = json.dumps(k).encode() + b":" + json.dumps(part, separators=(",", ":")).encode()
                    self.encoded[k] = encoded
                parts.append(encoded)
            old = self.keys.get(b)
            if not parts:
                if old is not None:
                    del self.keys[b]
                    replaced.append(old)
                continue
            data = zlib.compress(b"{" + b",".join(parts) + b"}", LEVEL)
            digest = hashlib.blake2b(data, digest_size=10).hexdigest()
            name = f"{prefix}/{self.buckets}.{b}-{digest}.json.z"
            if name == old:
                continue
            writes.append((name, data))
            self.keys[b] = name
            if old is not None:
                replaced.append(old)
        self._put(writes)
        doc["shards"] = {
            "layout": LAYOUT,
            "buckets": self.buckets,
            "keys": {str(b): k for b, k in sorted(self.keys.items())},
        }
        doc["trackers"] = self.partition.shared(trackers)
        return replaced
