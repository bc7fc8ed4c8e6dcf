"""Checkpoints and the object stores under them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from samsara_fmc.checkpoints import CHECKPOINT_VERSION, Checkpoints, fingerprint
from samsara_fmc.exceptions import CheckpointError, ConfigurationError
from samsara_fmc.storage import LocalStorage, MemoryStorage

FP = fingerprint({"types": ["gps"]})


def test_round_trip_and_namespacing(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    cps = Checkpoints(store, org_id="5005", function="vehicle-stats")
    cp = cps.load("vehicle-stats.gps", fingerprint=FP)
    assert (cp.cursor, cp.pages) == (None, 0)
    cp = cp.advanced("c1", 512).advanced("", 0)
    cps.save(cp)
    path = tmp_path / "checkpoints/5005/vehicle-stats/vehicle-stats.gps.json"
    doc = json.loads(path.read_text())
    assert doc["version"] == CHECKPOINT_VERSION and doc["cursor"] == "c1" and doc["pages"] == 2
    again = cps.load("vehicle-stats.gps", fingerprint=FP)
    assert (again.cursor, again.pages, again.records) == ("c1", 2, 512)
    assert not list(path.parent.glob(".*.tmp")), "no temp files left behind"


@pytest.mark.parametrize(
    ("stored", "match"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (json.dumps({"version": 99}).encode(), "version 99, newer"),
        (json.dumps({"version": "1"}).encode(), "no valid `version`"),
        (
            json.dumps({"version": 1, "orgId": "other", "function": "f", "stream": "s"}).encode(),
            "orgId `other`",
        ),
        (
            json.dumps(
                {"version": 1, "orgId": "1", "function": "f", "stream": "s", "fingerprint": "x"}
            ).encode(),
            "different query",
        ),
        (
            json.dumps(
                {
                    "version": 1,
                    "orgId": "1",
                    "function": "f",
                    "stream": "s",
                    "fingerprint": FP,
                    "cursor": 5,
                    "pages": 1,
                }
            ).encode(),
            "invalid `cursor`",
        ),
    ],
)
def test_bad_checkpoints_are_refused_and_left_alone(stored: bytes, match: str) -> None:
    store = MemoryStorage()
    store.put("checkpoints/1/f/s.json", stored)
    with pytest.raises(CheckpointError, match=match) as info:
        Checkpoints(store, org_id="1", function="f").load("s", fingerprint=FP)
    assert "checkpoints/1/f/s.json" in str(info.value)
    assert store.get("checkpoints/1/f/s.json") == stored


def test_reset_and_names() -> None:
    store = MemoryStorage()
    cps = Checkpoints(store, org_id="1", function="f")
    cps.save(cps.load("s", fingerprint=FP).advanced("c", 1))
    assert cps.reset("s", fingerprint="other").cursor is None
    assert cps.load("s", fingerprint="other").pages == 0
    with pytest.raises(ConfigurationError, match="invalid stream name"):
        cps.key("../escape")
    with pytest.raises(ConfigurationError, match="invalid org_id"):
        Checkpoints(store, org_id="a/b", function="f")
    with pytest.raises(ConfigurationError, match="invalid storage key"):
        store.put("../x", b"")
