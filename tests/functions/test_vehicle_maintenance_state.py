"""vehicle-maintenance's state in Function Storage, against the sandbox: a run killed between its shard
writes loses and duplicates nothing, and the state the previous version wrote (trackers whole in the
state document) loads, is carried over into shards, and the runs after it deliver exactly what runs
that never saw the old layout deliver."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc.integrations import vehicle_maintenance as vm
from tests.functions.safety_rig import Rig
from tests.functions.test_vehicle_maintenance import TZ, final, rig_factory

__all__ = ["rig_factory"]

pytestmark = pytest.mark.sandbox

STREAMS = (vm.FAULTS, vm.ALERTS, vm.TRANSITIONS, vm.DAYS)
STATE = "state/8007/vehicle-maintenance/maintenance.America+Chicago.json"
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "vehicle_maintenance" / "v1_state.json"


def doc(rig: Rig) -> dict[str, Any]:
    return dict(json.loads(rig.storage.objects[STATE]))


def shard_objects(rig: Rig) -> set[str]:
    return {k for k in rig.storage.objects if ".shards/" in k}


def step(rigs: tuple[Rig, ...], hours: float, **params: str) -> None:
    """Moves every sandbox on, then runs each rig (the Function's clock is the last rig's sandbox's,
    so all of them move before any runs)."""
    for r in rigs:
        r.sb.advance(hours * 3600)
    for r in rigs:
        r.run_ok(5, **params)


def test_a_run_killed_between_its_shard_writes_loses_and_duplicates_nothing(
    rig_factory: Callable[..., Rig], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vm, "VEHICLES_PER_SHARD", 8)  # 50 vehicles: 8 shards, written 8 at a time
    params = {"timeZone": TZ, "faultDebounceMinutes": "0"}
    rig, control = rig_factory("--episodes", "on", fmc=True), rig_factory("--episodes", "on", fmc=True)
    step((rig, control), 0, **params)
    for r in (rig, control):
        r.sb.advance(8 * 3600)
    assert len(shard_objects(rig)) > 3
    committed = rig.storage.objects[STATE]
    real_put = rig.storage.put
    writes: list[str] = []

    def dying_put(key: str, data: bytes, *, content_type: str = "application/json") -> None:
        if ".shards/" in key:
            writes.append(key)
            if len(writes) == 3:
                raise OSError("killed between shard writes")
        real_put(key, data, content_type=content_type)

    monkeypatch.setattr(rig.storage, "put", dying_put)
    with pytest.raises(OSError, match="killed between shard writes"):
        rig.invoke(**params)
    monkeypatch.setattr(rig.storage, "put", real_put)
    assert rig.storage.objects[STATE] == committed, "the round's cursors and trackers were not committed"
    named = set(doc(rig)["state"]["shards"]["keys"].values())
    assert named <= shard_objects(rig), "every shard the committed state names is still there"
    assert rig.delivered(vm.TRANSITIONS), "the dead round had delivered before its shard writes"

    step((rig, control), 0, **params)  # the dead run's round again, then the rest
    step((rig, control), 4, **params)
    for stream in STREAMS:
        assert rig.sb.fmc_summary(stream)["duplicates"] == 0, stream
        assert final(rig.delivered(stream)) == final(control.delivered(stream)), stream
    assert sum(len(control.delivered(s)) for s in STREAMS) > 50
    named = set(doc(rig)["state"]["shards"]["keys"].values())
    assert len(shard_objects(rig) - named) <= 7, "at most the dead round's own writes are left over"


def test_the_previous_versions_state_loads_and_is_carried_over_into_shards(
    rig_factory: Callable[..., Rig],
) -> None:
    """The fixture is what the previous version left after three runs (its script beside it); a run
    of this version from there delivers what this version's own fourth run delivers."""
    params = {"timeZone": TZ, "faultDebounceMinutes": "0"}
    old, control = rig_factory("--episodes", "on"), rig_factory("--episodes", "on")
    control.run_ok(5, **params)
    for _ in range(2):
        old.sb.advance(20 * 3600)
        step((control,), 20, **params)
    v1 = json.loads(FIXTURE.read_text())
    for key, value in v1.items():
        old.storage.objects[key] = json.dumps(value, separators=(",", ":")).encode()
    trackers = json.loads(old.storage.objects[STATE])["state"]["trackers"]
    assert "shards" not in json.loads(old.storage.objects[STATE])["state"]
    assert any("|" in k for k in trackers["days"]["days"]), "the old layout: flat vehicle|date days"
    assert trackers["alerts"]["last"], "the old layout: flat vehicle|kind|subject alert times"

    before = {s: len(control.delivered(s)) for s in STREAMS}
    step((old, control), 30, **params)
    for stream in STREAMS:
        assert old.delivered(stream) == control.delivered(stream)[before[stream] :], stream
    assert sum(len(old.delivered(s)) for s in STREAMS) > 20
    assert old.delivered(vm.DAYS), "days closed since: amended and delivered from the old state"

    state = doc(old)["state"]
    assert state["shards"]["keys"] and "vehicles" not in state["trackers"]["faults"]
    assert "days" not in state["trackers"]["days"] and "names" not in state["trackers"]
    assert state["trackers"]["faults"]["flaps"] >= trackers["faults"]["flaps"], "counters carried over"


def test_a_state_of_a_newer_shard_layout_is_refused_naming_the_fix(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory()
    params = {"timeZone": TZ}
    rig.run_ok(5, **params)
    newer = doc(rig)
    newer["state"]["shards"]["layout"] = 2
    rig.storage.objects[STATE] = json.dumps(newer).encode()
    rig.sb.advance(3600)
    out = rig.invoke(**params)
    assert out["ok"] is False and "shard layout 2, newer than this samsara-fmc" in out["message"], out
    assert json.loads(rig.storage.objects[STATE]) == newer, "nothing written"
