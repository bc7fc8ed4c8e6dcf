"""Contract tests for writes the sandbox must refuse or store faithfully, under both SDKs (issue 16 §1).

Each test would have caught a break: a write accepted that leaves a record the SDKs cannot parse, or a
value the reference does not allow. Where an SDK cannot send a body (4.1 has no form ``fields``), the
request goes raw and the read goes through the SDK.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="module")
def client(sandbox: SandboxProcess) -> Iterator[Samsara]:
    with httpx.Client(timeout=30) as http:
        yield Samsara(token=sandbox.token, base_url=sandbox.url, httpx_client=http)


def raw(sandbox: SandboxProcess, method: str, path: str, body: Any) -> httpx.Response:
    """The request as JSON with this SDK's token, for bodies an SDK cannot express."""
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    return httpx.request(method, sandbox.url + path, json=body, headers=auth, timeout=30)


def test_sdk14_suite() -> None:
    """Re-runs this module under samsara-api 14.x when such an interpreter exists."""
    rerun_under_sdk14(Path(__file__))


def pre_trip(client: Samsara, nth: int) -> str:
    """The ID of the ``nth`` generated pre-trip inspection (one per SDK, so the two runs do not meet)."""
    page = client.forms.get_form_submissions_stream(start_time=START)
    ids = [s.id for s in page.data if s.title == "Pre-trip inspection"]
    return ids[nth]


def test_form_choice_by_value_id_reads_back_with_its_label(client: Samsara, sandbox: SandboxProcess) -> None:
    sid = pre_trip(client, SDK_MAJOR)
    now = sandbox.admin("GET", "/__sandbox/clock")["now"]
    answer = {"id": "f-tires", "type": "multiple_choice", "multipleChoiceValue": {"valueId": "o-no"}}
    if SDK_MAJOR >= 14:
        from samsara.types import FormSubmissionRequestFieldInputObjectRequestBody as Input

        patched = client.forms.patch_form_submission(id=sid, fields=[Input.model_validate(answer)])
        assert patched.data is not None
    else:  # 4.1 cannot send `fields`
        assert raw(sandbox, "PATCH", "/form-submissions", {"id": sid, "fields": [answer]}).status_code == 200
    for sub in (
        client.forms.get_form_submissions(ids=[sid]).data[0],
        # The write moved it past the stream's cursor: it comes back with the writes of `now`.
        next(s for s in client.forms.get_form_submissions_stream(start_time=now).data if s.id == sid),
    ):
        tires = next(f for f in sub.fields if f.id == "f-tires")
        assert tires.multiple_choice_value is not None
        assert (tires.multiple_choice_value.value, tires.multiple_choice_value.value_id) == ("No", "o-no")
        assert [f.id for f in sub.fields] == ["f-odometer", "f-tires", "f-notes"]


@pytest.mark.parametrize(
    ("field", "needle"),
    [
        ({"id": "f-tires", "multipleChoiceValue": {"value": "Yes"}}, "valueId"),
        ({"id": "f-tires", "multipleChoiceValue": {"valueId": "o-maybe"}}, "o-maybe"),
        ({"id": "f-odometer", "numberValue": {"value": "twelve"}}, "f-odometer"),
        ({"id": "f-odometer", "textValue": {"value": "12"}}, "numberValue"),
        ({"id": "f-colour", "textValue": {"value": "red"}}, "f-colour"),
    ],
)
def test_form_inputs_the_template_does_not_offer_are_refused(
    client: Samsara, sandbox: SandboxProcess, field: dict[str, Any], needle: str
) -> None:
    sid = pre_trip(client, 2 + SDK_MAJOR)
    before = client.forms.get_form_submissions(ids=[sid]).data[0]
    resp = raw(sandbox, "PATCH", "/form-submissions", {"id": sid, "fields": [field]})
    assert resp.status_code == 400, resp.text
    assert "`fields`" in resp.json()["message"]
    assert needle in resp.json()["message"]
    after = client.forms.get_form_submissions(ids=[sid]).data[0]
    assert after.fields == before.fields


@pytest.mark.parametrize("status", ["completed", "needsReview"])
def test_form_patch_status_outside_the_request_enum_is_refused(client: Samsara, status: str) -> None:
    sid = pre_trip(client, 4 + SDK_MAJOR)
    with pytest.raises(ApiError) as err:
        client.forms.patch_form_submission(id=sid, status=status)
    assert err.value.status_code == 400
    assert f"`{status}`" in str(err.value.body)
    assert client.forms.patch_form_submission(id=sid, status="approved").data.status == "approved"


def test_forms_show_several_templates_and_states(client: Samsara) -> None:
    templates = client.forms.get_form_templates().data
    assert len(templates) >= 4
    subs = []
    after = None
    while True:
        page = client.forms.get_form_submissions_stream(start_time=START, after=after)
        subs += page.data
        if not page.pagination.has_next_page:
            break
        after = page.pagination.end_cursor
    assert len({s.form_template.id for s in subs}) >= 3
    assert {"completed", "approved", "needsReview", "notStarted"} <= {s.status for s in subs}
