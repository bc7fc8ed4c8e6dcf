"""Contract tests of the shapes the workflow Functions changed in the sandbox (forms-issues, messages):
the official SDK parses them. Runs under samsara-api 4.1 here and re-runs under 14.x when available."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

samsara = pytest.importorskip("samsara", reason="samsara-api is not installed")
from samsara import Samsara  # noqa: E402
from samsara.core.api_error import ApiError  # noqa: E402

from tests.contract._sdk14 import rerun_under_sdk14  # noqa: E402
from tests.support.sandbox import SandboxProcess  # noqa: E402

pytestmark = pytest.mark.sandbox

SDK_MAJOR = int(importlib.metadata.version("samsara-api").split(".")[0])
START = "2026-11-01T00:00:00Z"
POD = "9b1e6a52-0000-4000-8000-000000000003"


@pytest.fixture(scope="module")
def client(sandbox: SandboxProcess) -> Iterator[Samsara]:
    with httpx.Client(timeout=30) as http:
        yield Samsara(token=sandbox.token, base_url=sandbox.url, httpx_client=http)


def test_sdk14_suite() -> None:
    """Re-runs this module under samsara-api 14.x when such an interpreter exists."""
    rerun_under_sdk14(Path(__file__))


def test_form_submissions_with_external_ids_and_assigned_forms(client: Samsara) -> None:
    page = client.forms.get_form_submissions_stream(start_time=START, include=["externalIds"])
    tracked = [s for s in page.data if s.asset is not None and s.asset.id]
    assert tracked
    assert all(s.asset is not None and s.asset.external_ids for s in tracked)
    driver = next(iter(client.drivers.list()))
    extra = {"status": "notStarted"} if SDK_MAJOR >= 14 else {}  # 4.1 has no `status` parameter
    made = client.forms.post_form_submission(
        form_template={"id": POD},
        assigned_to={"id": str(driver.id), "type": "driver"},
        title="Stop 1",
        **extra,
    )
    assert made.data is not None
    assert made.data.assigned_to is not None
    assert made.data.assigned_to.id == str(driver.id)
    with pytest.raises(ApiError) as err:
        client.forms.post_form_submission(
            form_template={"id": POD}, assigned_to={"id": "999999", "type": "driver"}, **extra
        )
    assert err.value.status_code == 400


def test_messages_with_the_drivers_replies(client: Samsara, sandbox: SandboxProcess) -> None:
    driver = next(iter(client.drivers.list()))
    assert driver.id is not None
    for text in ("contract one", "contract two", "contract three", "contract four"):
        client.messages.v_1_create_messages(driver_ids=[int(driver.id)], text=text)
    sandbox.advance(30 * 60)
    got = client.messages.v_1_get_messages(duration_ms=3_600_000)
    assert got.data
    mine = [m for m in got.data if m.driver_id == int(driver.id)]
    assert {m.sender.type for m in mine} == {"dispatch", "driver"}, "the driver replied"
    assert all(m.is_read for m in mine if m.text.startswith("contract"))


def test_issues_by_the_fmcs_external_id(client: Samsara) -> None:
    if SDK_MAJOR < 14:
        pytest.skip("SDK 4.1 has no `POST /issues` (the Functions use the project's own client)")
    made = client.issues.post_issue(
        title="Contract FMC issue", asset={"id": "281474977000011"}, external_ids={"fmcChangeId": "chg-c1"}
    )
    assert made.data is not None
    found = client.issues.get_issues(ids=["fmcChangeId:chg-c1"], include=["externalIds"])
    assert [i.id for i in found.data] == [made.data.id]
    assert found.data[0].external_ids == {"fmcChangeId": "chg-c1"}
