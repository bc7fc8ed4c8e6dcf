"""messages against the sandbox: every message of the window delivered once, equal to a fresh read (the
drivers' replies to the FMC's messages included), and every FMC ``message.sent`` sent exactly once
(the sandbox counts the copies each change produced) across a crash between the send and the state
write, the platform's retry and lost answers, though the API has no idempotency key; refusals (too
long, bad driver, stale) are outcomes with nothing sent."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.integrations import messages
from tests.engine.rig import sim_clock
from tests.functions.workflows_rig import (
    change_status,
    client,
    crash_after,
    event,
    runtime,
    sandbox_args,
    script,
    stored,
    writes,
)
from tests.support.sandbox import SandboxProcess

PATH = "/v1/fleet/messages"
NARROW = "T-read-messages"


@pytest.fixture
def sb(sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    box = sandbox_factory(*sandbox_args(f"{NARROW}=Read Org Information,Read Messages"))
    monkeypatch.setattr(messages, "now", sim_clock(box))
    return box


def truth(sb: SandboxProcess, start: str, end: str) -> dict[str, dict[str, Any]]:
    """The messages with ``start <= sentAt < end``, read afresh: record id → record."""
    lo, hi = int(parse_time(start).timestamp() * 1000), int(parse_time(end).timestamp() * 1000)
    body = client(sb).request("GET", PATH, params={"endMs": hi, "durationMs": hi - lo})
    out = {}
    for m in body["data"]:
        if lo <= m["sentAtMs"] < hi:
            r = messages.to_record(m)
            out[r["id"]] = r
    return out


def mark(rt: Any) -> tuple[str, str]:
    """The messages stream's first start and mark."""
    [key] = [k for k in rt.storage.objects if k.endswith("/messages.json") and k.startswith("state/")]
    st = json.loads(rt.storage.objects[key])["state"]
    return str(st["first"]), str(st["mark"])


def drivers(sb: SandboxProcess, n: int) -> list[str]:
    return [str(d["id"]) for d in client(sb).records("/fleet/drivers", params={"limit": 512})][:n]


def test_every_message_of_the_window_is_delivered_once_with_the_replies_to_the_fmc(
    sb: SandboxProcess,
) -> None:
    rt = runtime(sb, "messages")
    out = rt.invoke(event(1, lookbackHours="30"), None)
    assert out["ok"] and out["caughtUp"], out
    assert out["writeBack"] == {"ran": True, "why": None}
    first, end = mark(rt)
    want = truth(sb, first, end)
    got = stored(sb, "driver_messages")
    assert len(want) > 50 and got == want
    assert {r["direction"] for r in got.values()} == {"fromDriver", "toDriver"}
    assert all(r["driverId"] and r["sentAtTime"] for r in got.values())

    # The FMC writes to two drivers; the next runs send it, then read the drivers' replies.
    a, b = drivers(sb, 2)
    changes = [
        script(sb, "message.sent", {"driverId": a, "text": "Please bring the trailer to door 12"}),
        script(sb, "message.sent", {"driverIds": [b], "text": "Shift swap approved for Friday"}),
    ]
    assert rt.invoke(event(2, lookbackHours="30"), None)["ok"]
    sb.advance(3 * 3600)
    again = rt.invoke(event(3, lookbackHours="30"), None)
    assert again["ok"] and again["caughtUp"]
    first, end = mark(rt)
    want = truth(sb, first, end)
    got = stored(sb, "driver_messages")
    assert got == want, "the window now holds the FMC's messages and the replies, each once"
    sent = [r for r in got.values() if r["text"] == "Please bring the trailer to door 12"]
    assert [r["driverId"] for r in sent] == [a] and sent[0]["direction"] == "toDriver"
    replies = [
        r
        for r in got.values()
        if r["direction"] == "fromDriver"
        and r["driverId"] in (a, b)
        and r["sentAtMs"] > sent[0]["sentAtMs"]
        and r["text"] in ("Copy that", "Will do", "On it", "Understood, thanks", "Can you call me?")
    ]
    assert replies, "a driver replied to the FMC's message and the reply was delivered"
    summary = sb.fmc_summary("driver_messages")
    assert summary["records"] == len(want) and summary["duplicates"] == 0 and summary["updates"] == 0
    status = change_status(sb)
    assert [status[c]["copies"] for c in changes] == [1, 1]
    outcomes = stored(sb, "write_outcomes")
    assert [outcomes[c]["status"] for c in changes] == ["applied", "applied"]
    assert outcomes[changes[0]]["target"]["kind"] == "message"

    quiet = rt.invoke(event(4, lookbackHours="30"), None)
    assert quiet["ok"] and quiet["records"] == 0, "a rerun with nothing new delivers nothing"


def test_each_fmc_message_is_sent_exactly_once_across_a_crash_lost_answers_and_refusals(
    sb: SandboxProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, c, d, e = drivers(sb, 5)
    changes = {
        "lost": script(sb, "message.sent", {"driverId": a, "text": "Load 4471 is ready"}),
        "reset": script(sb, "message.sent", {"driverId": b, "text": "Load 4472 is ready"}),
        "plain": script(sb, "message.sent", {"driverIds": [c, d], "text": "Yard closes at 6 pm today"}),
        "crash": script(sb, "message.sent", {"driverId": e, "text": "Call the shop about unit 12"}),
        "long": script(sb, "message.sent", {"driverId": a, "text": "x" * 2501}),
        "bad": script(sb, "message.sent", {"driverId": "Bob", "text": "Hello"}),
        "unknown": script(sb, "message.sent", {"driverId": "999999", "text": "Hello"}),
        "empty": script(sb, "message.sent", {"driverId": a, "text": ""}),
    }
    rt = runtime(sb, "messages")
    # A first run that sends nothing: the preflight probes the scopes (a POST answered 400) once.
    assert rt.invoke(event(0, lookbackHours="2", sendMessages="false"), None)["ok"]
    sb.faults(
        {"method": "POST", "path": PATH, "kind": "fail_after_commit", "status": 502},
        {"method": "POST", "path": PATH, "kind": "reset"},
        {"path": "/fmc/v1/changes", "kind": "repeat_records", "times": 2},
    )
    request, crashed = crash_after(
        rt, "POST", PATH, lambda kw: kw.get("json_body", {}).get("text") == "Call the shop about unit 12"
    )
    monkeypatch.setattr(rt.client(), "request", request)
    since = len(sb.requests())
    with pytest.raises(RuntimeError, match="injected crash"):
        rt.invoke(event(1, lookbackHours="2"), None)
    assert crashed
    out = rt.invoke(event(1, lookbackHours="2"), None)  # the platform's retry of the same invocation
    assert out["ok"] and out["caughtUp"], out
    assert sb.get("/__sandbox/faults")["rules"] == [], "both answers were lost and the feed repeated"

    # One POST per sendable change: the lost answers (502, and a reset logged as 200) and the crash
    # were read back, not sent again; the unknown driver was refused (400).
    assert writes(sb, "POST", PATH, since) == [502, 200, 200, 200, 400]
    status = change_status(sb)
    for name in ("lost", "reset", "plain", "crash"):
        assert status[changes[name]]["copies"] == 1, name
    got = stored(sb, "write_outcomes")
    assert {n: got[cid]["status"] for n, cid in changes.items()} == {
        "lost": "already",
        "reset": "already",
        "plain": "applied",
        "crash": "already",
        "long": "rejected",
        "bad": "rejected",
        "unknown": "rejected",
        "empty": "rejected",
    }
    assert "earlier attempt was applied" in got[changes["crash"]]["reason"]
    assert f"`{e}`" in got[changes["crash"]]["reason"]
    long_reason = got[changes["long"]]["reason"]
    assert "2,501 characters" in long_reason and "2,500" in long_reason and "nothing was sent" in long_reason
    assert got[changes["long"]]["samsaraResponse"] is None, "refused before any request"
    assert "`Bob`" in got[changes["bad"]]["reason"]
    assert got[changes["unknown"]]["samsaraResponse"]["status"] == 400
    assert sb.fmc_summary("write_outcomes")["records"] == len(changes)
    state = rt.storage.objects  # type: ignore[attr-defined]
    assert not any("x" * 2501 in v.decode(errors="replace") for v in state.values()), "no text kept"

    # The same text to the same driver again, by a new change: a second message, sent once.
    again = script(sb, "message.sent", {"driverIds": [c], "text": "Yard closes at 6 pm today"})
    before = len(sb.requests())
    assert rt.invoke(event(2, lookbackHours="2"), None)["ok"]
    assert writes(sb, "POST", PATH, before) == [200]
    assert stored(sb, "write_outcomes")[again]["status"] == "applied"
    now = parse_time(str(sb.get("/__sandbox/clock")["now"]))
    lo = int((now - dt.timedelta(hours=1)).timestamp() * 1000)
    body = client(sb).request("GET", PATH, params={"durationMs": 3_600_000})
    mine = [
        m
        for m in body["data"]
        if m["sentAtMs"] >= lo and str(m["driverId"]) == c and m["text"] == "Yard closes at 6 pm today"
    ]
    assert len(mine) == 2, "two changes, two messages"

    before = len(sb.requests())
    assert rt.invoke(event(3, lookbackHours="2"), None)["ok"]
    assert writes(sb, "POST", PATH, before) == [], "a later run sends nothing again"


def test_a_message_older_than_max_age_is_not_sent_late(sb: SandboxProcess) -> None:
    [a] = drivers(sb, 1)
    stale = script(sb, "message.sent", {"driverId": a, "text": "Meeting at 7"})
    sb.advance(3 * 3600)
    rt = runtime(sb, "messages")
    out = rt.invoke(event(1, lookbackHours="2", maxAgeHours="2"), None)
    assert out["ok"], out
    got = stored(sb, "write_outcomes")[stale]
    assert got["status"] == "rejected" and "`maxAgeHours`" in got["reason"]
    assert change_status(sb)[stale]["copies"] == 0
    assert writes(sb, "POST", PATH) == [400], "only the preflight's probe"


def test_a_read_back_counts_against_the_baseline_not_earlier_identical_messages(
    sb: SandboxProcess,
) -> None:
    """The rule: an identical message sent minutes before the intent is in the baseline, so a send
    that did not happen is not mistaken for one that did; one that did is found."""
    [a] = drivers(sb, 1)
    c = client(sb)
    text = "Return the keys to the office"
    c.request("POST", PATH, json_body={"driverIds": [int(a)], "text": text})  # dispatch, earlier
    sb.advance(60)
    clock = sim_clock(sb)
    write = messages.send_message(c, clock)
    change = {
        "id": "chg-x",
        "type": "message.sent",
        "at": iso(clock()),
        "data": {"driverId": a, "text": text},
    }
    assert write.check is not None and write.check(change) is None
    assert write.prepare is not None and write.read_back is not None
    before = write.prepare(change, 1e12)
    assert before["counts"] == {a: 1}, "the dispatcher's message is counted in the baseline"
    intent = {"at": iso(clock()), "first": iso(clock()), "attempts": 1, "before": before}
    assert write.read_back(change, 1e12, intent) is None, "nothing new: the send did not happen"
    sb.advance(30)
    c.request("POST", PATH, json_body={"driverIds": [int(a)], "text": text})
    found = write.read_back(change, 1e12, intent)
    assert found is not None and f"`{a}`" in found


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"windowHours": "0"}, "`windowHours` is `0`"),
        ({"maxAgeHours": "soon"}, "`maxAgeHours` is `soon`"),
        ({"sendMessages": "maybe"}, "`sendMessages` is `maybe`"),
        ({"lookbackHours": "9999"}, "`lookbackHours` is `9999`"),
    ],
)
def test_bad_parameters_fail_clearly_and_nothing_is_requested(
    sb: SandboxProcess, params: dict[str, str], message: str
) -> None:
    [a] = drivers(sb, 1)
    script(sb, "message.sent", {"driverId": a, "text": "Hi"})
    since = len(sb.requests())
    out = runtime(sb, "messages").invoke(event(1, **params), None)
    assert out["ok"] is False and message in out["message"], out
    assert sb.requests(since) == [] and not sb.fmc_records("write_outcomes")


def test_a_token_without_write_messages_fails_preflight_naming_it(sb: SandboxProcess) -> None:
    [a] = drivers(sb, 1)
    script(sb, "message.sent", {"driverId": a, "text": "Hi"})
    out = runtime(sb, "messages", token=NARROW).invoke(event(1), None)
    assert out["ok"] is False and "`Write Messages`" in out["message"], out
    assert "`Read Messages`" not in out["message"]
    assert writes(sb, "POST", PATH) == [403], "only the probe"
    assert not sb.fmc_records("driver_messages") and not sb.fmc_records("write_outcomes")


def test_without_the_fmc_endpoint_messages_are_read_and_nothing_is_sent(sb: SandboxProcess) -> None:
    [a] = drivers(sb, 1)
    script(sb, "message.sent", {"driverId": a, "text": "Hi"})
    rt = runtime(sb, "messages", fmc=False)
    out = rt.invoke(event(1, lookbackHours="6"), None)
    assert out["ok"] and out["writeBack"]["ran"] is False and "`FMC_URL`" in out["writeBack"]["why"]
    assert out["records"] > 0
    assert writes(sb, "POST", PATH) == [400], "only the preflight's probe"
