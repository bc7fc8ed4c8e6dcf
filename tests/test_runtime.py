"""Functions runtime glue: secrets, event parameters, budget, logs, the error policy."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest

from samsara_fmc.exceptions import ConfigurationError, ServerError
from samsara_fmc.runtime import Budget, EventParams, FunctionRuntime, Run, RunLog, load_secrets
from samsara_fmc.storage import MemoryStorage


class FakeSecrets:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def load(self) -> dict[str, Any]:
        return self.values


def test_missing_secrets_are_listed_together(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        ConfigurationError, match="missing secrets `A`, `C`: set them in the Function's Secrets"
    ):
        load_secrets(["A", "B", "C"], source=FakeSecrets({"B": "x", "C": ""}))
    monkeypatch.setenv("SAMSARA_API_TOKEN", " tok ")
    monkeypatch.delenv("SAMSARA_REGION", raising=False)
    assert load_secrets(["SAMSARA_API_TOKEN"], ["SAMSARA_REGION"]) == {"SAMSARA_API_TOKEN": "tok"}


def test_event_params() -> None:
    p = EventParams({"types": "gps, engineStates,", "reset": "TRUE", "n": "3", "bad": "maybe", "neg": "-1"})
    assert p.items("types") == ["gps", "engineStates"]
    assert p.flag("reset") is True and p.flag("absent") is False
    assert p.number("n") == 3 and p.number("absent", 7) == 7
    with pytest.raises(ConfigurationError, match="`bad` is `maybe`: use `true` or `false`"):
        p.flag("bad")
    with pytest.raises(ConfigurationError, match="`neg` is `-1`: use a whole number ≥ 1"):
        p.number("neg", minimum=1)
    with pytest.raises(ConfigurationError, match="`n` is `3`: use one of `a`, `b`"):
        p.choice("n", ("a", "b"), "a")


def test_budget() -> None:
    class Ctx:
        def get_remaining_time_in_millis(self) -> int:
            return 120_000

    b = Budget.for_run(Ctx(), margin_s=20)
    assert b.deadline - b.started == pytest.approx(100, abs=0.5)
    b = Budget.for_run(None, margin_s=30)
    assert b.deadline - b.started == pytest.approx(870, abs=0.5)
    assert 0 < b.remaining() <= 870


def test_log_lines_carry_the_correlation_id_and_scrub_secrets() -> None:
    out = io.StringIO()
    log = RunLog(correlation_id="corr-1", function="f", secrets=["samsara_api_ABCDEF"], stream=out)
    log.info("page", cursor="x", note="token samsara_api_ABCDEF leaked?")
    line = json.loads(out.getvalue())
    assert line["correlationId"] == "corr-1" and line["level"] == "info" and line["cursor"] == "x"
    assert "ABCDEF" not in out.getvalue()


def runtime(secrets: dict[str, Any]) -> FunctionRuntime:
    return FunctionRuntime(
        function="f",
        storage=MemoryStorage(),
        secret_source=FakeSecrets(secrets),
        required_secrets=["SAMSARA_API_TOKEN"],
        optional_secrets=["SAMSARA_BASE_URL", "SAMSARA_REGION"],
    )


def test_invoke_returns_unfixable_errors_and_raises_retryable_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rt = runtime({})

    def job(rt: FunctionRuntime, run: Run) -> dict[str, Any]:
        rt.client()
        return {}

    out = rt.invoke({"SamsaraFunctionCorrelationId": "c-9"}, None, job)
    assert out["ok"] is False and out["error"] == "ConfigurationError" and out["correlationId"] == "c-9"
    assert "SAMSARA_API_TOKEN" in out["message"]

    def flaky(rt: FunctionRuntime, run: Run) -> dict[str, Any]:
        raise ServerError("boom", "GET", "/me", 5, 1.0, 503, None, "")

    with pytest.raises(ServerError):
        rt.invoke({}, None, flaky)
    logs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [entry["level"] for entry in logs][-1] == "error"

    rt = runtime({"SAMSARA_API_TOKEN": "tok", "SAMSARA_REGION": "moon"})
    out = rt.invoke({}, None, job)
    assert "`SAMSARA_REGION` is `moon`" in out["message"]

    def leaky(rt: FunctionRuntime, run: Run) -> dict[str, Any]:
        run.log.info("oops", token=rt.secrets()["SAMSARA_API_TOKEN"])
        return {"n": 1}

    ok = runtime({"SAMSARA_API_TOKEN": "tok-secret-1"}).invoke({}, None, leaky)
    assert "tok-secret-1" not in capsys.readouterr().out, "secrets loaded during the first run are scrubbed"
    assert ok["ok"] is True and ok["n"] == 1 and ok["seconds"] < 5
    assert time.time() > 0
