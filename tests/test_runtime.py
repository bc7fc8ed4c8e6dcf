"""Functions runtime glue: secrets, event parameters from the manifest, budget, logs, the error policy."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc import RetryPolicy
from samsara_fmc.exceptions import ConfigurationError, ServerError
from samsara_fmc.runtime import Budget, FunctionRuntime, Manifest, ParamSpec, RunLog, Scrubber, load_secrets
from samsara_fmc.runtime.params import parse_params
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.storage import MemoryStorage

ROOT = Path(__file__).resolve().parents[1]
VEHICLE_STATS = Manifest.load(ROOT / "functions" / "vehicle-stats" / "function.json")


class FakeSecrets:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def load(self) -> dict[str, Any]:
        return self.values


def make_runtime(
    secrets: dict[str, Any], *, manifest: Manifest = VEHICLE_STATS, storage: MemoryStorage | None = None
) -> FunctionRuntime:
    return FunctionRuntime(
        manifest,
        storage=storage or MemoryStorage(),
        secret_source=FakeSecrets(secrets),
        sink=MemorySink(),
        client_options={"retry": RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002)},
    )


def test_missing_secrets_are_listed_together(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        ConfigurationError, match="missing secrets `A`, `C`: set them in the Function's Secrets"
    ):
        load_secrets(["A", "B", "C"], source=FakeSecrets({"B": "x", "C": ""}))
    monkeypatch.setenv("SAMSARA_API_TOKEN", " tok ")
    monkeypatch.delenv("SAMSARA_REGION", raising=False)
    assert load_secrets(["SAMSARA_API_TOKEN"], ["SAMSARA_REGION"]) == {"SAMSARA_API_TOKEN": "tok"}


def test_params_are_parsed_by_their_declarations_and_every_bad_one_is_named() -> None:
    specs = [
        ParamSpec("types", "list", "stat types", default="gps", choices=("gps", "engineStates")),
        ParamSpec("reset", "bool", "start afresh", default="false"),
        ParamSpec("n", "int", "pages", minimum=1, maximum=10),
        ParamSpec("units", "choice", "units", default="metric", choices=("metric", "imperial")),
        ParamSpec("ids", "list", "ids", pattern="[0-9]+", max_items=2),
    ]
    p = parse_params({"types": "gps, engineStates,", "reset": "TRUE", "n": "3", "extra": "1"}, specs)
    assert p["types"] == ["gps", "engineStates"] and p["reset"] is True and p["n"] == 3
    assert p["units"] == "metric" and p.get("ids", []) == [] and p.unknown == ["extra"]
    assert parse_params({}, specs)["types"] == ["gps"], "the default applies"
    with pytest.raises(ConfigurationError) as e:
        parse_params({"types": "gps,bogus", "reset": "maybe", "n": "0", "units": "si", "ids": "1,x"}, specs)
    text = str(e.value)
    assert "`types` is `gps,bogus`: `bogus` not allowed" in text
    assert "`reset` is `maybe`: use `true` or `false`" in text
    assert "`n` is `0`: use a whole number from 1 to 10" in text
    assert "`units` is `si`: use one of `metric`, `imperial`" in text
    assert "`ids` is `1,x`: `x` not allowed; each value must match `[0-9]+`" in text
    with pytest.raises(ConfigurationError, match="give at most 2 items, not 3"):
        parse_params({"ids": "1,2,3"}, specs)


def test_manifests_are_checked() -> None:
    doc = json.loads((ROOT / "functions" / "vehicle-stats" / "function.json").read_text())
    assert Manifest.from_json(doc).name == "vehicle-stats"
    for change, message in (
        ({"name": "x" * 36}, "must be 1-35"),
        ({"triggers": ["cron"]}, "triggers"),
        ({"secrets": {"required": ["NOPE"]}}, "need a line in `secrets.help`"),
        ({"parameters": [{"name": "a", "type": "int", "default": "x", "help": ""}]}, "`a` is `x`"),
    ):
        with pytest.raises(ConfigurationError, match=message):
            Manifest.from_json({**doc, **change})


def test_budget() -> None:
    class Ctx:
        def __init__(self, ms: int) -> None:
            self.ms = ms

        def get_remaining_time_in_millis(self) -> int:
            return self.ms

    b = Budget.for_run(Ctx(120_000), margin_s=20)
    assert b.deadline - b.started == pytest.approx(100, abs=0.5)
    b = Budget.for_run(None, margin_s=30)
    assert b.deadline - b.started == pytest.approx(870, abs=0.5)
    b = Budget.for_run(Ctx(20_000), margin_s=30)
    assert b.deadline - b.started == pytest.approx(16, abs=0.5), "a short budget keeps four fifths"


@pytest.mark.parametrize(
    "secret",
    [
        "samsara_api_ABCDEF",
        'pa"ss\\word\nline2',
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE\n"
        "AAAAAAAAAAAAAAAA==\n-----END OPENSSH PRIVATE KEY-----",
    ],
)
def test_secrets_are_scrubbed_before_encoding(secret: str) -> None:
    out = io.StringIO()
    log = RunLog(correlation_id="corr-1", function="f", scrubber=Scrubber([secret]), stream=out)
    log.info(
        "page", note=f"leaked {secret}?", nested={"k": [secret], secret: 1}, url="https://x/?t=" + secret
    )
    line = json.loads(out.getvalue())
    assert line["correlationId"] == "corr-1" and line["level"] == "info"
    text = out.getvalue()
    for needle in (secret, json.dumps(secret)[1:-1], *[s for s in secret.splitlines() if len(s) >= 16]):
        assert needle not in text
    assert "****" in line["note"]


def test_invoke_returns_unfixable_errors_and_raises_retryable_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = make_runtime({}).invoke({"SamsaraFunctionCorrelationId": "c-9"}, None)
    assert out["ok"] is False and out["error"] == "ConfigurationError" and out["correlationId"] == "c-9"
    assert "SAMSARA_API_TOKEN" in out["message"] and out["fix"]

    out = make_runtime({"SAMSARA_API_TOKEN": "tok"}).invoke({"types": "gps,nope"}, None)
    assert out["ok"] is False and "`nope` not allowed" in out["message"]

    pasted = "samsara_api_PASTEDTOKEN123"
    out = make_runtime({"SAMSARA_API_TOKEN": "tok", "SAMSARA_REGION": pasted}).invoke({}, None)
    assert out["ok"] is False and "SAMSARA_REGION" in out["message"]
    assert (
        pasted.lower() not in json.dumps(out).lower()
        and pasted.lower() not in capsys.readouterr().out.lower()
    )

    rt = make_runtime({"SAMSARA_API_TOKEN": "tok-secret-1", "SAMSARA_BASE_URL": "http://127.0.0.1:9"})

    def flaky(ctx: Any) -> dict[str, Any]:
        raise ServerError("boom tok-secret-1", "GET", "/me", 5, 1.0, 503, None, "")

    rt._org_id, rt._scopes_checked = "5005", True
    with pytest.raises(ServerError):
        rt.invoke({}, None, flaky)
    logs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert logs[-1]["level"] == "error" and "tok-secret-1" not in json.dumps(logs)
    health = json.loads(rt.storage.get("health/vehicle-stats.json") or b"{}")
    assert health["ok"] is False and health["lastError"].startswith("ServerError")
    assert "tok-secret-1" not in json.dumps(health) and "****" in health["lastError"]
