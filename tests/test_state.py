"""Stream state and leases: versioned documents, conditional saves, epochs, and exclusive leases."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from samsara_fmc.exceptions import CheckpointError, ConfigurationError
from samsara_fmc.state import StateStore, fingerprint, id_digests
from samsara_fmc.storage import LocalStorage, MemoryStorage, ObjectStore


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    return MemoryStorage() if request.param == "memory" else LocalStorage(tmp_path)


def test_state_round_trips_and_names_its_key(store: ObjectStore) -> None:
    states = StateStore(store, org_id="5005", function="f")
    st = states.load("s", fingerprint="q1")
    assert (st.epoch, st.seq, st.state) == (1, 0, {})
    st.seq, st.records, st.state, st.recent = (
        3,
        42,
        {"cursor": "c3"},
        [id_digests(["a", "b"]), id_digests(["c"])],
    )
    states.save(st)
    again = states.load("s", fingerprint="q1")
    assert (again.seq, again.records, again.state, again.recent) == (
        3,
        42,
        {"cursor": "c3"},
        [id_digests(["a", "b"]), id_digests(["c"])],
    )
    with pytest.raises(CheckpointError, match=r"state `state/5005/f/s.json` was made for a different query"):
        states.load("s", fingerprint="q2")
    with pytest.raises(ConfigurationError, match="invalid stream name `a/b`"):
        states.key("a/b")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"{not json", "is not valid JSON"),
        (b"[]", "is not a JSON object"),
        (json.dumps({"version": 9}).encode(), "has version 9, newer than"),
        (
            json.dumps({"version": 2, "orgId": "other", "function": "f", "stream": "s"}).encode(),
            "belongs to orgId",
        ),
        (
            json.dumps(
                {
                    "version": 2,
                    "orgId": "5005",
                    "function": "f",
                    "stream": "s",
                    "fingerprint": "q",
                    "epoch": 0,
                    "seq": 0,
                    "records": 0,
                    "state": {},
                }
            ).encode(),
            "invalid counters",
        ),
    ],
)
def test_bad_state_is_refused_with_the_fix(doc: bytes, message: str) -> None:
    store = MemoryStorage()
    store.put("state/5005/f/s.json", doc)
    with pytest.raises(CheckpointError, match=message) as e:
        StateStore(store, org_id="5005", function="f").load("s", fingerprint="q")
    assert "reset=true" in str(e.value) or "deploy the newer" in str(e.value)
    st = StateStore(store, org_id="5005", function="f").reset("s", fingerprint="q", by="run-1")
    assert st.epoch > 1 and st.reset_by == "run-1", "a reset works on any document and moves the epoch on"


def test_a_save_over_a_newer_state_is_refused(store: ObjectStore) -> None:
    states = StateStore(store, org_id="5005", function="f")
    mine, theirs = states.load("s", fingerprint="q"), states.load("s", fingerprint="q")
    theirs.seq = 5
    states.save(theirs)
    mine.seq = 1
    with pytest.raises(CheckpointError, match="was changed by another run"):
        states.save(mine)
    assert states.load("s", fingerprint="q").seq == 5


def test_leases_are_exclusive_expire_and_are_retaken_by_a_retry(store: ObjectStore) -> None:
    states = StateStore(store, org_id="5005", function="f")
    a = states.lease("s", owner="run-a", until=time.time() + 60)
    b = states.lease("s", owner="run-b", until=time.time() + 60)
    assert a.acquire() and not b.acquire() and b.holder["owner"] == "run-a"
    retry = states.lease("s", owner="run-a", until=time.time() + 60)
    assert retry.acquire(), "the platform's retry of the same run takes its lease back"
    a.release()  # no longer a's: the retry's token is stored, so this changes nothing
    assert not b.acquire()
    retry.release()
    assert b.acquire()
    b.release()
    stale = states.lease("s", owner="killed", until=time.time() - 1)
    assert stale.acquire()
    assert states.lease("s", owner="next", until=time.time() + 60).acquire(), "an expired lease is taken over"


def test_racing_runs_get_one_lease(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    won: list[str] = []

    def take(owner: str) -> None:
        if (
            StateStore(store, org_id="5005", function="f")
            .lease("s", owner=owner, until=time.time() + 60)
            .acquire()
        ):
            won.append(owner)

    threads = [threading.Thread(target=take, args=(f"run-{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1


def test_fingerprint_is_stable() -> None:
    assert fingerprint({"b": [1, 2], "a": "x"}) == fingerprint({"a": "x", "b": [1, 2]})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
