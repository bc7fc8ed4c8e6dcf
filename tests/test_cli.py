"""``samsara-fmc doctor`` and ``run`` against the sandbox, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.sandbox import DEFAULT_ARGS, SandboxProcess

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.sandbox


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("SAMSARA_", "FMC_", "SFTP_", "PRIVACY"))
    }
    return subprocess.run(
        [sys.executable, "-m", "samsara_fmc.cli", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_doctor_names_the_missing_scope(
    sandbox_factory: Callable[..., SandboxProcess], tmp_path: Path
) -> None:
    sb = sandbox_factory(
        *DEFAULT_ARGS, "--token", "limited-token-1=Read Org Information", "--token", "full-token-1"
    )
    env = {"SAMSARA_BASE_URL": sb.url, "SAMSARA_FMC_STORAGE": str(tmp_path)}
    limited = cli("doctor", "vehicle-stats", env={**env, "SAMSARA_API_TOKEN": "limited-token-1"})
    assert limited.returncode == 1, limited.stdout + limited.stderr
    assert "vehicle-stats: MISSING scopes `Read Readings`, `Read Vehicle Statistics`" in limited.stdout
    assert "limited-token-1" not in limited.stdout + limited.stderr
    full = cli("doctor", "vehicle-stats", env={**env, "SAMSARA_API_TOKEN": "full-token-1"})
    assert full.returncode == 0, full.stdout + full.stderr
    assert "vehicle-stats: scopes ok" in full.stdout and "sink: `storage` reachable" in full.stdout
    bad = cli("doctor", "vehicle-stats", env={**env, "SAMSARA_API_TOKEN": "revoked-or-wrong"})
    assert bad.returncode == 1 and "token: FAILED" in bad.stdout and "SAMSARA_API_TOKEN" in bad.stdout


def test_run_runs_a_function_locally(sandbox: SandboxProcess, tmp_path: Path) -> None:
    env = {"SAMSARA_API_TOKEN": sandbox.token, "SAMSARA_BASE_URL": sandbox.url}
    done = cli("run", "vehicle-stats", "--param", "types=gps", "--storage", str(tmp_path), env=env)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0 and summary["ok"] and summary["records"] > 0, done.stdout[-2000:]
    assert list((tmp_path / "deliveries" / "vehicle_stats").rglob("*.ndjson"))
    bad = cli("run", "vehicle-stats", "--param", "types=gps,nope", "--storage", str(tmp_path), env=env)
    assert bad.returncode == 1 and "`nope` not allowed" in json.loads(bad.stdout.splitlines()[-1])["message"]
