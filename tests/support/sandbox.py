"""Start the ``samsara-sandbox`` binary for a test session and talk to its admin API.

The binary is taken from ``$SAMSARA_SANDBOX_BIN`` or ``target/sandbox/samsara-sandbox`` (built with
``cargo build --profile sandbox -p samsara-sandbox`` when missing). It is started
with ``--port 0``; the first stdout line (``listening on http://127.0.0.1:PORT``) gives the URL.
When it is started with ``--fmc-token T``, the helpers send ``Authorization: Bearer T`` to the FMC
endpoint (``/fmc/v1/``).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DEFAULT_ARGS = (
    "--seed",
    "7",
    "--vehicles",
    "50",
    "--drivers",
    "60",
    "--days",
    "2",
    "--start",
    "2026-11-02T18:00:00Z",
    "--rate-limits",
    "off",
)
TOKEN = "sandbox-token"


def sandbox_binary() -> Path:
    """The sandbox executable, building it if needed."""
    env = os.environ.get("SAMSARA_SANDBOX_BIN")
    if env:
        return Path(env)
    path = REPO / "target" / "sandbox" / "samsara-sandbox"
    if not path.exists():
        subprocess.run(
            ["cargo", "build", "--profile", "sandbox", "-p", "samsara-sandbox"],
            cwd=REPO,
            check=True,
        )
    return path


@dataclass
class SandboxProcess:
    """A running sandbox: its URL, the token to use, and admin helpers."""

    url: str
    token: str = TOKEN
    proc: subprocess.Popen[str] | None = field(default=None, repr=False)
    fmc_token: str | None = field(default=None, repr=False)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Calls ``/__sandbox/...`` (or ``/fmc/v1/...``, with the FMC token if any) and returns the
        decoded JSON (or None for 204)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.fmc_token is not None and path.startswith("/fmc/"):
            headers["Authorization"] = f"Bearer {self.fmc_token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def advance(self, seconds: float) -> str:
        """Moves the simulated clock; returns the new time."""
        return str(self.admin("POST", "/__sandbox/clock/advance", {"seconds": seconds})["now"])

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Logged requests with ``seq > since``."""
        return list(self.admin("GET", f"/__sandbox/requests?since={since}")["requests"])

    def get(self, path: str) -> Any:
        """GET an admin or FMC path (no Samsara token) and decode the JSON."""
        return self.admin("GET", path)

    def fmc_records(self, stream: str) -> list[dict[str, Any]]:
        """Every record the FMC endpoint stored for `stream`, first received first (with `deliveries`
        counts), through ``GET /fmc/v1/streams/{stream}/records``."""
        out: list[dict[str, Any]] = []
        base = f"/fmc/v1/streams/{urllib.parse.quote(stream)}/records?limit=1000"
        after = ""
        while True:
            page = self.get(base + (f"&after={urllib.parse.quote(after)}" if after else ""))
            out.extend(page["data"])
            after = page["pagination"]["endCursor"]
            if not page["pagination"]["hasNextPage"]:
                return out

    def fmc_summary(self, stream: str) -> dict[str, Any]:
        """What deliveries to `stream` left behind: ``records`` (distinct ids), ``deliveries``,
        ``updates``, ``duplicates`` (identical re-deliveries), ``batches`` and ``replays``."""
        return dict(self.get(f"/fmc/v1/streams/{urllib.parse.quote(stream)}/summary")["data"])

    def fmc_files(self, stream: str) -> list[dict[str, Any]]:
        """Every file the FMC endpoint stored for `stream` (``name``, ``contentType``, ``size``,
        ``digest``, ``deliveries``, ``duplicates``), through ``GET /fmc/v1/streams/{stream}/files``."""
        return list(self.get(f"/fmc/v1/streams/{urllib.parse.quote(stream)}/files")["data"])

    def fmc_file(self, stream: str, name: str) -> bytes:
        """The bytes of file `name` of `stream` on the FMC endpoint."""
        path = f"/fmc/v1/streams/{urllib.parse.quote(stream)}/files/{urllib.parse.quote(name)}"
        headers = {} if self.fmc_token is None else {"Authorization": f"Bearer {self.fmc_token}"}
        req = urllib.request.Request(self.url + path, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return bytes(resp.read())

    def retrievals(self) -> list[dict[str, Any]]:
        """Every camera media retrieval requested, with how each input ends
        (``GET /__sandbox/truth/retrievals``)."""
        return list(self.get("/__sandbox/truth/retrievals")["data"])

    def faults(self, *rules: dict[str, Any]) -> None:
        """Adds fault rules (see docs/sandbox.md)."""
        self.admin("POST", "/__sandbox/faults", {"rules": list(rules)})

    def clear_faults(self) -> None:
        """Removes every fault rule."""
        self.admin("DELETE", "/__sandbox/faults")

    def stop(self) -> None:
        """Kills the process."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def start_sandbox(args: Sequence[str] = DEFAULT_ARGS) -> SandboxProcess:
    """Starts a sandbox on a free port and waits for its URL line."""
    proc = subprocess.Popen(
        [str(sandbox_binary()), "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        raise RuntimeError(f"sandbox did not start: {line!r}")
    return SandboxProcess(url=line.removeprefix("listening on "), proc=proc, fmc_token=_fmc_token(args))


def _fmc_token(args: Sequence[str]) -> str | None:
    """The first ``--fmc-token`` in `args` (``--fmc-token T`` or ``--fmc-token=T``), if any."""
    for i, a in enumerate(args):
        if a == "--fmc-token" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--fmc-token="):
            return a.removeprefix("--fmc-token=")
    return None


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxProcess]:
    """A sandbox shared by the session (default fleet, rate limits off)."""
    sb = start_sandbox()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., SandboxProcess]]:
    """Starts private sandboxes (``factory(*args)``) for tests that need their own state; all are
    killed at teardown."""
    started: list[SandboxProcess] = []

    def factory(*args: str) -> SandboxProcess:
        sb = start_sandbox(args or DEFAULT_ARGS)
        started.append(sb)
        return sb

    try:
        yield factory
    finally:
        for sb in started:
            sb.stop()


@pytest.fixture(scope="session")
def sandbox_url(sandbox: SandboxProcess) -> str:
    """The base URL of the session's sandbox."""
    return sandbox.url
