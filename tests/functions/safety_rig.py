"""Running the safety-events and speeding-intervals Functions in-process against a private sandbox."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc.client import Client, RetryPolicy
from samsara_fmc.engine._util import iso, parse_time
from samsara_fmc.exceptions import ApiError
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.storage import MemoryStorage
from tests.support.sandbox import DEFAULT_ARGS, TOKEN, SandboxProcess
from tests.test_runtime import FakeSecrets

ROOT = Path(__file__).resolve().parents[2]
FMC_TOKEN = "fmc-token-safety"
NARROW = "narrow-token"
"""A token with every scope but the Function's own."""
MEDIA_HOST = "/__sandbox/media/"
"""What every sandbox media URL contains (they are signed loopback URLs of the sandbox)."""
KMH_PER_MPH = 1.609344


def sandbox_args() -> list[str]:
    return [
        *DEFAULT_ARGS,
        "--fmc-token",
        FMC_TOKEN,
        "--token",
        TOKEN,
        "--token",
        f"{NARROW}=Read Org Information,Read Vehicles,Read Drivers,Read Vehicle Statistics",
    ]


@dataclass
class Rig:
    """A Function's runtime against one sandbox, with the sandbox's clock as the Function's."""

    sb: SandboxProcess
    function: str
    fmc: bool = False
    token: str = TOKEN
    storage: MemoryStorage = field(default_factory=MemoryStorage)
    runs: int = 0

    def __post_init__(self) -> None:
        secrets = {"SAMSARA_API_TOKEN": self.token, "SAMSARA_BASE_URL": self.sb.url}
        if self.fmc:
            secrets |= {"FMC_URL": self.sb.url, "FMC_TOKEN": FMC_TOKEN}
        self.rt = FunctionRuntime(
            Manifest.load(ROOT / "functions" / self.function / "function.json"),
            storage=self.storage,
            secret_source=FakeSecrets(secrets),
            sink=None if self.fmc else MemorySink(),
            client_options={"retry": RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002)},
        )
        self.client = Client(token=TOKEN, base_url=self.sb.url, rate_limit=False)

    def now(self) -> dt.datetime:
        return parse_time(str(self.sb.get("/__sandbox/clock")["now"]))

    def start_of(self, hours: float) -> str:
        """The ``startTime`` a first run now starts at, ``hours`` back."""
        return iso(self.now() - dt.timedelta(hours=hours))

    def invoke(self, **params: str) -> dict[str, Any]:
        """One manual run (a fresh correlation ID each time)."""
        self.runs += 1
        event = {
            "SamsaraFunctionCorrelationId": f"run-{self.runs}",
            "SamsaraFunctionTriggerSource": "manual",
            **params,
        }
        return self.rt.invoke(event, None)

    def run_ok(self, attempts: int = 5, **params: str) -> dict[str, Any]:
        """One run that succeeds, retried as the platform retries a failed run."""
        for _ in range(attempts):
            try:
                summary = self.invoke(**params)
            except ApiError:
                continue
            assert summary["ok"], summary
            return summary
        pytest.fail(f"{attempts} runs failed")

    def until_caught_up(self, attempts: int = 30, **params: str) -> list[dict[str, Any]]:
        """Runs until one is caught up; their summaries."""
        out = []
        for _ in range(attempts):
            out.append(self.run_ok(**params))
            if out[-1]["caughtUp"]:
                return out
        pytest.fail(f"not caught up after {attempts} runs: {out[-1:]}")

    def delivered(self, stream: str) -> list[dict[str, Any]]:
        if self.fmc:
            return [dict(r["record"]) for r in self.sb.fmc_records(stream)]
        sink = self.rt.sink()
        assert isinstance(sink, MemorySink)
        return [dict(r) for r in sink.records(stream)]

    def state(self, name: str) -> dict[str, Any]:
        keys = [k for k in self.storage.objects if k.startswith("state/") and k.endswith(f"/{name}.json")]
        assert len(keys) == 1, (name, sorted(self.storage.objects))
        return dict(json.loads(self.storage.objects[keys[0]])["state"])

    def truth(self, path: str, params: dict[str, str]) -> Iterator[Any]:
        return self.client.records(path, params=params)

    def written(self) -> str:
        """Everything the run left in storage, as text."""
        return "\n".join(v.decode("utf-8", "replace") for v in self.storage.objects.values())


def sim_clock(rig: Rig) -> Callable[[], dt.datetime]:
    return rig.now


def mph(kmh: float) -> float:
    return round(kmh / KMH_PER_MPH, 2)
