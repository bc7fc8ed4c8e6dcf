"""The FMC endpoint through the test helpers: bearer auth from ``--fmc-token``, the records query and
the per-stream summary."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from tests.support.sandbox import DEFAULT_ARGS, SandboxProcess

pytestmark = pytest.mark.sandbox


def post_batch(sb: SandboxProcess, stream: str, key: str, records: list[dict[str, object]]) -> int:
    req = urllib.request.Request(
        f"{sb.url}/fmc/v1/streams/{stream}/records",
        data=json.dumps({"records": records}).encode(),
        method="POST",
        headers={"Idempotency-Key": key, "Authorization": f"Bearer {sb.fmc_token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return int(resp.status)


def test_helpers_send_the_fmc_token(sandbox_factory: Callable[..., SandboxProcess]) -> None:
    sb = sandbox_factory(*DEFAULT_ARGS, "--fmc-token", "fmc-test-token")
    assert sb.fmc_token == "fmc-test-token"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{sb.url}/fmc/v1/vehicles", timeout=30)
    assert err.value.code == 401
    err.value.close()
    records = [{"id": f"r{i}", "n": i} for i in range(1500)]
    assert post_batch(sb, "trips", "b1", records[:1000]) == 200
    assert post_batch(sb, "trips", "b2", records[900:]) == 200
    assert post_batch(sb, "trips", "b2", records[900:]) == 200
    stored = sb.fmc_records("trips")
    assert [r["id"] for r in stored] == [f"r{i}" for i in range(1500)], "two pages, first received first"
    assert sum(r["deliveries"] for r in stored) == 1600
    assert sb.fmc_summary("trips") == {
        "stream": "trips",
        "records": 1500,
        "deliveries": 1600,
        "updates": 0,
        "duplicates": 100,
        "batches": 2,
        "replays": 1,
    }


def test_default_fixture_stays_open(sandbox: SandboxProcess) -> None:
    assert sandbox.fmc_token is None
    assert sandbox.fmc_summary("never-delivered")["records"] == 0
