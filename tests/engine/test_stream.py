"""The ``stream`` driver against the sandbox's ``/defects/stream``: resume by cursor, updates delivered
again as upserts, repeats and a refused cursor deduplicated by (id, updatedAtTime)."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from samsara_fmc.engine import Stream, StreamDriver
from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.exceptions import ApiError, DeliveryError, ServerError
from samsara_fmc.sinks import Batch, DeliveryResult
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.state import StateStore
from tests.engine.rig import Rig, sim_clock
from tests.support.sandbox import SandboxProcess

LOOKBACK = dt.timedelta(days=3)


def defect_record(item: Mapping[str, Any]) -> dict[str, Any]:
    keep = ("isResolved", "updatedAtTime", "comment", "vehicle", "resolvedAtTime", "mechanicNotes")
    return {"id": item["id"], "schemaVersion": 1, **{k: item[k] for k in keep if k in item}}


def defects(rig: Rig, *, overlap: dt.timedelta = dt.timedelta(minutes=10), limit: int = 5) -> Stream:
    driver = StreamDriver(
        client=rig.client,
        path="/defects/stream",
        to_record=defect_record,
        params={"limit": limit},
        lookback=LOOKBACK,
        overlap=overlap,
        clock=sim_clock(rig.sb),
    )
    return Stream(name="defects", sink_stream="defects", fingerprint="defects-v1", driver=driver)


def truth(rig: Rig, start: str) -> dict[str, str]:
    """Every defect's current updatedAtTime, read in one walk from ``start``."""
    return {
        str(d["id"]): str(d["updatedAtTime"])
        for d in rig.client.records("/defects/stream", params={"startTime": start, "limit": 200})
    }


def versions(rig: Rig) -> Counter[tuple[str, str]]:
    return Counter((str(r["id"]), str(r["updatedAtTime"])) for r in rig.delivered("defects"))


def resolve(sb: SandboxProcess, rig: Rig, defect_id: str) -> None:
    sb.advance(120)
    rig.client.request(
        "PATCH",
        f"/fleet/defects/{defect_id}",
        json_body={"isResolved": True, "resolvedBy": {"id": "42", "type": "mechanic"}},
    )


def open_defect(rig: Rig, start: str, skip: int = 0) -> str:
    items = rig.client.records("/defects/stream", params={"startTime": start, "isResolved": False})
    return str([d["id"] for d in items][skip])


def test_follows_the_stream_and_delivers_a_changed_record_again_as_an_upsert(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    sb = sandbox_factory()
    rig = Rig.of(sb)
    stream = defects(rig)
    sb.faults({"path": "/defects/stream", "kind": "repeat_records", "times": 2})
    out = rig.run([stream])
    start = rig.state("defects")["state"]["startTime"]
    assert parse_time(start) == sim_clock(sb)() - LOOKBACK
    expected = truth(rig, start)
    assert out["caughtUp"] and out["records"] == len(expected) > 10
    assert out["repeated"] >= 2, "the repeated records were recognised"
    assert all(n == 1 for n in versions(rig).values()), "no version delivered twice"
    assert {i: t for i, t in versions(rig)} == expected

    target = open_defect(rig, start)
    resolve(sb, rig, target)
    calls = rig.sink.calls
    out = rig.run([stream], correlation="run-2")
    assert out["records"] == 1
    again = [r for r in rig.delivered("defects") if r["id"] == target]
    assert [r["isResolved"] for r in again] == [False, True], "the same id, delivered again as an update"
    assert all(n == 1 for n in versions(rig).values())
    assert rig.sink.calls == calls + 1

    state_before = rig.state("defects")
    out = rig.run([stream], correlation="run-3")
    assert out["records"] == 0 and rig.sink.calls == calls + 1, "a rerun with nothing new delivers nothing"
    assert rig.state("defects")["updatedAt"] == state_before["updatedAt"], "and saves nothing"


def test_a_refused_cursor_restarts_at_the_high_water_mark_less_the_overlap(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    sb = sandbox_factory()
    rig = Rig.of(sb)
    overlap = dt.timedelta(days=2)
    stream = defects(rig, overlap=overlap)
    rig.run([stream])
    first = rig.state("defects")["state"]
    delivered = len(rig.delivered("defects"))
    target = open_defect(rig, first["startTime"], skip=1)
    resolve(sb, rig, target)
    sb.faults({"path": "/defects/stream", "kind": "expire_cursor"})
    since = sb.requests()[-1]["seq"]
    out = rig.run([stream], correlation="run-2")
    assert out["records"] == 1 and out["caughtUp"]
    assert out["repeated"] > 5, "what the restart read again was recognised, not delivered"
    assert [r["id"] for r in rig.delivered("defects")[delivered:]] == [target]
    assert all(n == 1 for n in versions(rig).values())
    log = [r for r in sb.requests(since) if r["path"] == "/defects/stream"]
    assert log[0]["status"] == 400 and "after=" in log[0]["query"]
    restart = iso(parse_time(first["highWater"]) - overlap)
    assert "after=" not in log[1]["query"] and restart.replace(":", "%3A") in log[1]["query"]
    assert rig.state("defects")["state"]["startTime"] == restart
    assert "refused the stream's cursor" in rig.log.getvalue()


def test_a_crash_before_the_save_redelivers_under_the_same_key(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = sandbox_factory()
    rig = Rig.of(sb)
    stream = defects(rig)
    real_save = StateStore.save
    saves = {"n": 0}

    def crashing_save(self: StateStore, st: Any) -> None:
        saves["n"] += 1
        if saves["n"] == 3:
            raise ServerError("killed", "PUT", "state", 1, 0.0, 503, None, "")
        real_save(self, st)

    monkeypatch.setattr(StateStore, "save", crashing_save)
    with pytest.raises(ServerError):
        rig.run([stream])
    monkeypatch.setattr(StateStore, "save", real_save)
    assert len(rig.sink.deliveries) == 3, "the third page was delivered, its state not saved"
    out = rig.run([stream])  # the platform's retry
    assert out["caughtUp"]
    keys = sorted(k.rsplit("/", 1)[1] for _, k in rig.sink.deliveries)
    assert keys == [f"{i:08d}" for i in range(len(keys))]
    assert Counter(versions(rig).values()) == Counter(
        {1: len(truth(rig, rig.state("defects")["state"]["startTime"]))}
    )


@pytest.mark.parametrize("seed", range(21, 26))
def test_seeded_fault_schedules_deliver_every_version_once(
    sandbox_factory: Callable[..., SandboxProcess], seed: int
) -> None:
    """Rounds of: a defect resolved, random faults on the stream (5xx, 429, resets, truncated
    bodies, empty pages, repeated records, an expired cursor), a run with a random page limit,
    retried when it fails; then runs until caught up. Each (id, updatedAtTime) is delivered once,
    and the newest version of every defect is what Samsara holds."""
    rng = random.Random(seed)
    sb = sandbox_factory()
    rig = Rig.of(sb)
    overlap = rng.choice([dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=2)])
    stream = defects(rig, overlap=overlap, limit=rng.choice([2, 3, 7]))
    kinds: list[dict[str, Any]] = [
        {"kind": "status", "status": 503, "times": 2},
        {"kind": "status", "status": 429, "retryAfter": "0.01"},
        {"kind": "reset"},
        {"kind": "truncate"},
        {"kind": "empty_page", "times": 2},
        {"kind": "repeat_records", "times": 2},
        {"kind": "expire_cursor"},
    ]
    start = iso(sim_clock(sb)() - LOOKBACK)
    open_ids = [
        str(d["id"])
        for d in rig.client.records("/defects/stream", params={"startTime": start, "isResolved": False})
    ]
    for round_ in range(6):
        if round_:
            resolve(sb, rig, open_ids.pop(rng.randrange(len(open_ids))))
        sb.faults(*({"path": "/defects/stream", **k} for k in rng.sample(kinds, rng.randint(1, 3))))
        for retry in range(3):
            try:
                rig.run([stream], correlation=f"run-{round_}-{retry}", max_pages=rng.choice([None, 1, 2]))
                break
            except ApiError:
                continue
    sb.clear_faults()
    for attempt in range(30):
        if rig.run([stream], correlation=f"final-{attempt}")["caughtUp"]:
            break
    counts = versions(rig)
    assert all(n == 1 for n in counts.values()), f"seed {seed}: a version delivered twice"
    newest: dict[str, str] = {}
    for record_id, updated in counts:
        if record_id not in newest or parse_time(updated) > parse_time(newest[record_id]):
            newest[record_id] = updated
    assert newest == truth(rig, rig.state("defects")["state"]["first"]), f"seed {seed}"


class UpsertSink(MemorySink):
    """An FMC-endpoint-like sink: records upserted by id (no replacing by key, so the engine stages an
    outbox); counts identical re-writes of a record under another key, and can lose one answer."""

    replaces_by_key = False

    def __init__(self) -> None:
        super().__init__()
        self.held: dict[str, str] = {}
        self.keys: dict[tuple[str, str], str] = {}
        self.identical = 0
        self.lose_answer_at: int | None = None

    def deliver(
        self, stream: str, key: str, batch: Batch, *, deadline: float | None = None
    ) -> DeliveryResult:
        body = batch.ndjson().decode()
        if self.keys.get((stream, key)) != body:  # a repeated key with the same body is a replay
            self.keys[(stream, key)] = body
            for line in body.splitlines():
                rid = str(json.loads(line)["id"])
                self.identical += self.held.get(rid) == line
                self.held[rid] = line
        out = super().deliver(stream, key, batch, deadline=deadline)
        if self.calls == self.lose_answer_at:
            raise DeliveryError("the answer was lost (the FMC stored the batch)")
        return out


def test_a_replayed_delivery_is_not_delivered_again_by_the_driver_that_deduplicates_itself(
    sandbox_factory: Callable[..., SandboxProcess],
) -> None:
    """The stream driver's own record of what it delivered is saved with its cursor: after a run that
    failed between a delivery and its commit, the engine replays the outbox and the re-read page's
    identical records are left out, so the FMC sees no identical upsert (a changed version still goes)."""
    sb = sandbox_factory()
    rig = Rig.of(sb)
    rig.sink = sink = UpsertSink()
    sink.lose_answer_at = 1  # the first page of a run: the driver has saved nothing of it yet
    stream = defects(rig)
    with pytest.raises(DeliveryError):
        rig.run([stream])
    assert rig.state("defects").get("pending"), "the first delivery is staged, not committed"
    out = rig.run([stream], correlation="run-2")  # the platform's retry
    assert out["caughtUp"] and out["streams"][0]["repeated"] > 0
    assert sink.identical == 0, "no record written again unchanged"
    start = rig.state("defects")["state"]["startTime"]
    assert {i: json.loads(line)["updatedAtTime"] for i, line in sink.held.items()} == truth(rig, start)
    resolve(sb, rig, open_defect(rig, start))
    rig.run([stream], correlation="run-3")
    assert sink.identical == 0 and {
        i: json.loads(line)["updatedAtTime"] for i, line in sink.held.items()
    } == truth(rig, start), "the resolution is an update, delivered"
