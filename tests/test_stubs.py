"""The hand-written `_core.pyi` must describe the compiled module exactly (names, signatures, kinds)."""

from __future__ import annotations

import subprocess
import sys

import samsara_fmc._core


def test_core_stub_matches_the_compiled_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "samsara_fmc._core"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "site-packages" in str(samsara_fmc._core.__file__), "run against the installed wheel"
