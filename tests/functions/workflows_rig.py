"""Running forms-issues and messages in-process against a private sandbox with its FMC endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from samsara_fmc import records
from samsara_fmc.client import Client, RetryPolicy
from samsara_fmc.runtime import FunctionRuntime
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.sinks.memory import MemorySink
from samsara_fmc.storage import MemoryStorage
from tests.support.sandbox import DEFAULT_ARGS, TOKEN, SandboxProcess
from tests.test_runtime import FakeSecrets

ROOT = Path(__file__).resolve().parents[2]
FMC_TOKEN = "fmc-workflows-token"


def sandbox_args(*tokens: str) -> list[str]:
    """The default fleet, an FMC endpoint behind ``FMC_TOKEN``, the full token and ``tokens``."""
    out = [*DEFAULT_ARGS, "--fmc-token", FMC_TOKEN, "--token", TOKEN]
    for t in tokens:
        out += ["--token", t]
    return out


def runtime(
    sb: SandboxProcess,
    function: str,
    *,
    token: str = TOKEN,
    fmc: bool = True,
    storage: MemoryStorage | None = None,
) -> FunctionRuntime:
    """The Function's runtime against ``sb``: the FMC endpoint as its sink, or a memory sink."""
    secrets = {"SAMSARA_API_TOKEN": token, "SAMSARA_BASE_URL": sb.url}
    if fmc:
        secrets |= {"FMC_URL": sb.url, "FMC_TOKEN": FMC_TOKEN}
    return FunctionRuntime(
        Manifest.load(ROOT / "functions" / function / "function.json"),
        storage=storage or MemoryStorage(),
        secret_source=FakeSecrets(secrets),
        sink=None if fmc else MemorySink(),
        client_options={
            "retry": RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.1),
            "rate_limit": False,
        },
    )


def client(sb: SandboxProcess) -> Client:
    return Client(token=sb.token, base_url=sb.url, rate_limit=False)


def event(n: int = 1, **params: str) -> dict[str, Any]:
    return {
        "SamsaraFunctionCorrelationId": f"corr-{n}",
        "SamsaraFunctionTriggerSource": "manual",
        **params,
    }


def stored(sb: SandboxProcess, stream: str) -> dict[str, dict[str, Any]]:
    """What the FMC endpoint holds for ``stream``, by record id, each checked against its schema."""
    schema = records.schema(stream)
    assert schema is not None
    out = {}
    for row in sb.fmc_records(stream):
        assert records.validate(schema, row["record"]) == [], row["record"]
        out[str(row["id"])] = dict(row["record"])
    return out


def script(sb: SandboxProcess, kind: str, data: dict[str, Any]) -> str:
    """Scripts an FMC change one simulated second from the last; its ID."""
    sb.advance(1)
    return str(sb.admin("POST", "/__sandbox/fmc/changes", {"type": kind, "data": data})["id"])


def change_status(sb: SandboxProcess) -> dict[str, dict[str, Any]]:
    """Per change ID: whether Samsara reflects it (``applied``) and what it produced (``copies``)."""
    return {str(c["id"]): dict(c) for c in sb.get("/__sandbox/fmc/changes")["data"]}


def writes(sb: SandboxProcess, method: str, path: str, since: int = 0) -> list[int]:
    """The statuses of the logged ``method path`` requests (writes), in order."""
    return [int(r["status"]) for r in sb.requests(since) if r["method"] == method and r["path"] == path]


def crash_after(
    rt: FunctionRuntime, method: str, path: str, when: Callable[[Any], bool] = lambda kw: True
) -> tuple[Callable[..., Any], list[str]]:
    """A ``request`` for the runtime's client that raises once, right after a matching write was
    answered (the write applied, its outcome not saved): a kill between the send and the state write."""
    api = rt.client()
    real = api.request
    crashed: list[str] = []

    def request(m: str, p: str, **kw: Any) -> Any:
        answer = real(m, p, **kw)  # type: ignore[arg-type]
        if m == method and p == path and not crashed and when(kw):
            crashed.append(p)
            raise RuntimeError("injected crash between the write and the outcome's save")
        return answer

    return request, crashed
