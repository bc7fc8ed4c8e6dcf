"""Makes ``tests.support`` importable and provides the sandbox fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.sandbox import sandbox, sandbox_factory, sandbox_url

__all__ = ["sandbox", "sandbox_factory", "sandbox_url"]
