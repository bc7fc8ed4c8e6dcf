"""Makes ``tests.support`` importable and provides the sandbox fixtures.

Each SDK gets a token at the API version its models describe (shared/samsara-api.md §1.3, §3.13.1):
neither Python SDK sends ``X-Samsara-Version``, so the token's version decides the response shape.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.sandbox import (
    DEFAULT_ARGS,
    SandboxProcess,
    sandbox_factory,
    sandbox_url,
    start_sandbox,
)

__all__ = ["SDK_API_VERSIONS", "sandbox", "sandbox_factory", "sandbox_url"]

# samsara-api major version -> the API version its models expect:
# 4.1.0 (Functions runtime) models flat idling events (`assetId`, `operatorId`): a version before 2025-10-23;
# 14.x models `IdlingEventObjectV20251023ResponseBody` (nested `asset`, `operator`): 2025-10-23.
SDK_API_VERSIONS = {4: "2025-06-11", 14: "2025-10-23"}


def _sdk_major() -> int:
    try:
        return int(importlib.metadata.version("samsara-api").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return 4


def sdk_token(major: int) -> str:
    """The session sandbox's token for SDK ``major``."""
    return f"sdk{major}-token"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxProcess]:
    """The session sandbox, with one token per SDK at its API version; ``token`` is this SDK's."""
    tokens = [a for m, v in SDK_API_VERSIONS.items() for a in ("--token", f"{sdk_token(m)}@{v}")]
    sb = start_sandbox([*DEFAULT_ARGS, *tokens])
    sb.token = sdk_token(14 if _sdk_major() >= 14 else 4)
    try:
        yield sb
    finally:
        sb.stop()
