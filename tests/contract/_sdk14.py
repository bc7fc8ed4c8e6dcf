"""Re-runs a contract module under samsara-api 14.x when such an interpreter exists."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def rerun_under_sdk14(module: Path) -> None:
    """Runs ``module`` with ``$SAMSARA_SDK14_PYTHON`` (default ``.venv-sdk14/bin/python``); skips when
    this process already has 14.x or no such interpreter exists."""
    if int(importlib.metadata.version("samsara-api").split(".")[0]) >= 14:
        pytest.skip("already running under samsara-api 14.x")
    python = os.environ.get("SAMSARA_SDK14_PYTHON", str(REPO / ".venv-sdk14" / "bin" / "python"))
    if not Path(python).exists():
        pytest.skip(f"no samsara-api 14.x interpreter at {python} (set SAMSARA_SDK14_PYTHON)")
    probe = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('samsara-api'))"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0 or not probe.stdout.startswith("14."):
        pytest.skip(f"samsara-api 14.x is not importable by {python}")
    run = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    sys.stdout.write(run.stdout[-3000:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
