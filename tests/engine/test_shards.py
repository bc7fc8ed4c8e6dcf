"""Tracker state in shards (engine/shards.py): a round writes only the buckets it touched, under new
names, and the state document's one conditional write commits them; a crash between shard writes
leaves the committed state whole and loadable, and a newer or damaged layout is refused clearly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from samsara_fmc.engine.shards import LAYOUT, ShardSet, bucket_of
from samsara_fmc.exceptions import CheckpointError
from samsara_fmc.state import StateStore
from samsara_fmc.storage import MemoryStorage

STREAM = "maintenance.UTC"
FP = "f" * 16


class Parts:
    """A partition over ``{"per": {key: value}, "count": n}``; ``touched`` is set by the test."""

    def keys(self, trackers: dict[str, Any]) -> set[str]:
        return set(trackers.get("per", {}))

    def dump(self, trackers: dict[str, Any], key: str) -> Any:
        return trackers.get("per", {}).get(key)

    def load(self, trackers: dict[str, Any], key: str, part: Any) -> None:
        trackers.setdefault("per", {})[key] = part

    def shared(self, trackers: dict[str, Any]) -> dict[str, Any]:
        return {"count": trackers.get("count", 0)}

    def touched(self, trackers: dict[str, Any]) -> set[str]:
        out: set[str] = trackers.pop("_touched", set())
        return out


class DyingStorage(MemoryStorage):
    """Dies (as a kill -9 would, mid-round) at the ``die_at``-th shard write."""

    def __init__(self) -> None:
        super().__init__()
        self.shard_puts = 0
        self.die_at: int | None = None

    def put(self, key: str, data: bytes, *, content_type: str = "application/json") -> None:
        if ".shards/" in key:
            self.shard_puts += 1
            if self.die_at is not None and self.shard_puts >= self.die_at:
                raise OSError("killed between shard writes")
        super().put(key, data, content_type=content_type)


def commit_round(
    states: StateStore, trackers: dict[str, Any], touched: set[str], *, per_shard: int = 13
) -> list[str]:
    """One round as the tracked driver does it: load the committed state, apply, save shards, commit."""
    st = states.load(STREAM, fingerprint=FP)
    shards = ShardSet.open(states, STREAM, Parts(), st.state, {}, per_shard=per_shard)
    replaced = shards.save(trackers, touched, st.state)
    states.save(st)
    for key in replaced:
        states.store.delete(key)
    return replaced


def loaded(states: StateStore) -> dict[str, Any]:
    st = states.load(STREAM, fingerprint=FP)
    trackers: dict[str, Any] = dict(st.state.get("trackers") or {})
    ShardSet.open(states, STREAM, Parts(), st.state, trackers)
    return trackers


def test_a_round_writes_only_the_buckets_it_touched_and_removes_what_they_replace() -> None:
    store = DyingStorage()
    states = StateStore(store, org_id="1", function="vehicle-maintenance")
    per = {f"v{i}": {"odometer": i * 1000.0} for i in range(100)}
    commit_round(states, {"per": per, "count": 1}, set(per))
    first = store.shard_puts
    assert first == len({bucket_of(k, 8) for k in per}) == 8, "100 keys, at most 13 a shard: 8 shards"
    assert loaded(states) == {"per": per, "count": 1}

    per["v7"] = {"odometer": 7500.0}
    replaced = commit_round(states, {"per": per, "count": 2}, {"v7"})
    assert store.shard_puts == first + 1, "one vehicle changed: one shard written"
    assert len(replaced) == 1 and replaced[0] not in store.objects, "the shard it replaced is gone"
    shard_keys = [k for k in store.objects if ".shards/" in k]
    assert len(shard_keys) == 8
    assert loaded(states) == {"per": per, "count": 2}

    per |= {f"w{i}": {"odometer": 1.0} for i in range(10)}
    replaced = commit_round(states, {"per": per, "count": 2}, {f"w{i}" for i in range(10)})
    assert len(replaced) == 8 and not set(replaced) & set(store.objects), "grown: all 8 rewritten"
    assert len([k for k in store.objects if ".shards/" in k]) == 16
    assert loaded(states) == {"per": per, "count": 2}
    first = store.shard_puts

    commit_round(states, {"per": per, "count": 3}, {"v7"})
    assert store.shard_puts == first, "touched but unchanged: same content, same name, not written"


@pytest.mark.parametrize("die_at", [1, 2, 5])
def test_a_crash_between_shard_writes_leaves_the_committed_state_whole(die_at: int) -> None:
    store = DyingStorage()
    states = StateStore(store, org_id="1", function="vehicle-maintenance")
    before = {f"v{i}": {"n": i} for i in range(64)}
    commit_round(states, {"per": dict(before), "count": 1}, set(before))
    committed = store.get(states.key(STREAM))

    after = {k: {"n": v["n"] + 1} for k, v in before.items()}
    store.die_at = store.shard_puts + die_at
    with pytest.raises(OSError, match="killed between shard writes"):
        commit_round(states, {"per": after, "count": 2}, set(after))
    assert store.get(states.key(STREAM)) == committed, "the document (cursors with trackers) did not move"
    assert loaded(states) == {"per": before, "count": 1}, "every shard it names is still there, unchanged"

    store.die_at = None  # the next run redoes the round from the committed state
    commit_round(states, {"per": after, "count": 2}, set(after))
    assert loaded(states) == {"per": after, "count": 2}
    named = set(json.loads(store.objects[states.key(STREAM)])["state"]["shards"]["keys"].values())
    leftovers = {k for k in store.objects if ".shards/" in k} - named
    assert len(leftovers) <= die_at - 1, "at most the dead round's own writes are left, unreferenced"


def test_a_run_that_lost_its_lease_cannot_commit_its_shards_over_the_owners() -> None:
    store = MemoryStorage()
    states = StateStore(store, org_id="1", function="vehicle-maintenance")
    commit_round(states, {"per": {"a": 1, "b": 2}}, {"a", "b"})
    stale = states.load(STREAM, fingerprint=FP)
    shards = ShardSet.open(states, STREAM, Parts(), stale.state, {})
    commit_round(states, {"per": {"a": 10, "b": 2}}, {"a"})  # the owner moves on
    shards.save({"per": {"a": 99, "b": 2}}, {"a"}, stale.state)
    with pytest.raises(CheckpointError, match="changed by another run"):
        states.save(stale)
    assert loaded(states)["per"] == {"a": 10, "b": 2}


def test_a_newer_layout_or_a_missing_shard_is_refused_naming_the_fix() -> None:
    store = MemoryStorage()
    states = StateStore(store, org_id="1", function="vehicle-maintenance")
    commit_round(states, {"per": {"a": 1}}, {"a"})
    st = states.load(STREAM, fingerprint=FP)
    newer = json.loads(json.dumps(st.state))
    newer["shards"]["layout"] = LAYOUT + 1
    with pytest.raises(CheckpointError, match="newer than this samsara-fmc understands"):
        ShardSet.open(states, STREAM, Parts(), newer, {})
    [key] = st.state["shards"]["keys"].values()
    store.delete(key)
    with pytest.raises(CheckpointError, match=r"is missing from storage.*reset=true"):
        ShardSet.open(states, STREAM, Parts(), st.state, {})
    store.put(key, b"not zlib")
    with pytest.raises(CheckpointError, match="unreadable"):
        ShardSet.open(states, STREAM, Parts(), st.state, {})
