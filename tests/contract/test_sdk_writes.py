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


def test_tag_external_ids_merge_patch_null_removes_a_key(client: Samsara, sandbox: SandboxProcess) -> None:
    made = client.tags.create_tag(
        name=f"Merge patch {SDK_MAJOR}", external_ids={"crmId": f"crm{SDK_MAJOR}", "erpId": f"erp{SDK_MAJOR}"}
    )
    tid = made.data.id
    # JSON merge patch (RFC 7396): null deletes `crmId`, `erpId` stays.
    resp = raw(sandbox, "PATCH", f"/tags/{tid}", {"externalIds": {"crmId": None}})
    assert resp.status_code == 200, resp.text
    assert client.tags.get_tag(tid).data is not None  # parses in the SDK
    ext = raw(sandbox, "GET", f"/tags/{tid}", None).json()["data"].get("externalIds")
    assert ext == {"erpId": f"erp{SDK_MAJOR}"}
    assert client.tags.patch_tag(tid, external_ids={"erpId": ""}).data is not None
    assert not raw(sandbox, "GET", f"/tags/{tid}", None).json()["data"].get("externalIds")


@pytest.mark.parametrize("gone", [None, ""])
def test_vehicle_and_driver_external_id_deleted_by_null_or_empty(
    client: Samsara, sandbox: SandboxProcess, gone: str | None
) -> None:
    key = f"delme{SDK_MAJOR}{'n' if gone is None else 'e'}"
    vehicle = list(client.vehicles.list())[10 + SDK_MAJOR + (gone is None)]
    driver = list(client.drivers.list())[10 + SDK_MAJOR + (gone is None)]
    for path, getter in (
        (f"/fleet/vehicles/{vehicle.id}", client.vehicles.get),
        (f"/fleet/drivers/{driver.id}", client.drivers.get),
    ):
        obj_id = path.rsplit("/", 1)[1]
        assert raw(sandbox, "PATCH", path, {"externalIds": {key: f"V{obj_id}"}}).status_code == 200
        assert getter(obj_id).data.external_ids[key] == f"V{obj_id}"
        resp = raw(sandbox, "PATCH", path, {"externalIds": {key: gone}})
        assert resp.status_code == 200, resp.text
        assert key not in (getter(obj_id).data.external_ids or {})


def test_driver_deactivated_at_time_rules(client: Samsara, sandbox: SandboxProcess) -> None:
    drv = list(client.drivers.list())[20 + SDK_MAJOR]
    now = sandbox.admin("GET", "/__sandbox/clock")["now"]
    with pytest.raises(ApiError) as active:
        client.drivers.update(drv.id, driver_activation_status="active", deactivated_at_time=now)
    assert active.value.status_code == 400
    assert "deactivatedAtTime" in str(active.value.body)
    with pytest.raises(ApiError) as old:
        client.drivers.update(
            drv.id, driver_activation_status="deactivated", deactivated_at_time="2026-03-01T00:00:00Z"
        )
    assert old.value.status_code == 400
    assert "6 months" in str(old.value.body)
    assert client.drivers.get(drv.id).data.driver_activation_status == "active"
    ok = client.drivers.update(
        drv.id, driver_activation_status="deactivated", deactivated_at_time="2026-10-30T12:00:00Z"
    )
    assert ok.data.driver_activation_status == "deactivated"
    back = client.drivers.update(drv.id, driver_activation_status="active")
    assert back.data.driver_activation_status == "active"
    assert "deactivatedAtTime" not in raw(sandbox, "GET", f"/fleet/drivers/{drv.id}", None).json()["data"]


def test_tag_parent_cycles_are_refused(client: Samsara) -> None:
    a = client.tags.create_tag(name=f"Cycle A {SDK_MAJOR}").data.id
    b = client.tags.create_tag(name=f"Cycle B {SDK_MAJOR}", parent_tag_id=a).data.id
    c = client.tags.create_tag(name=f"Cycle C {SDK_MAJOR}", parent_tag_id=b).data.id
    for child in (b, c):
        with pytest.raises(ApiError) as err:
            client.tags.patch_tag(a, parent_tag_id=child)
        assert err.value.status_code == 400
        assert "parentTagId" in str(err.value.body)
    assert client.tags.get_tag(a).data.parent_tag_id is None


@pytest.mark.parametrize(
    ("ext", "needle"),
    [
        ({"fleetRef": "has space"}, "fleetRef"),
        ({"fleetRef": "a/b"}, "fleetRef"),
        ({"fleetRef": "x" * 300}, "fleetRef"),
        ({"fleetRef": "café"}, "fleetRef"),
        ({"fleet ref": "ok1"}, "fleet ref"),
        ({"fleet-ref": "ok1"}, "fleet-ref"),
    ],
)
def test_external_id_characters_are_checked(client: Samsara, ext: dict[str, str], needle: str) -> None:
    vehicle = list(client.vehicles.list())[30]
    with pytest.raises(ApiError) as err:
        client.vehicles.update(vehicle.id, external_ids=ext)
    assert err.value.status_code == 400
    assert f"`{needle}`" in str(err.value.body)
    assert "fleetRef" not in (client.vehicles.get(vehicle.id).data.external_ids or {})


def test_external_id_vendor_example_value_is_accepted(client: Samsara) -> None:
    """The vendor's documentation creates `Ty_Frec-%01+27+94%`: punctuation is fine, spaces are not."""
    driver = list(client.drivers.list())[30 + SDK_MAJOR]
    value = f"Ty_Frec-%01+27+94%{SDK_MAJOR}"
    updated = client.drivers.update(driver.id, external_ids={"maintenanceSys1": value})
    assert updated.data.external_ids["maintenanceSys1"] == value


def test_stats_aux_inputs_3_to_13_count_as_one_type(client: Samsara) -> None:
    wide = [f"auxInput{n}" for n in range(3, 14)]
    snap = client.vehicle_stats.get_vehicle_stats(types=[*wide, "barometricPressurePa", "batteryMilliVolts"])
    assert snap.data
    with pytest.raises(ApiError) as err:
        client.vehicle_stats.get_vehicle_stats(
            types=["auxInput1", "auxInput2", "auxInput3", "batteryMilliVolts"]
        )
    assert err.value.status_code == 400
    assert "types" in str(err.value.body)


def test_tell_tales_is_a_valid_decoration(client: Samsara) -> None:
    feed = client.vehicle_stats.get_vehicle_stats_feed(types=["engineStates"], decorations=["tellTales"])
    assert feed.data
    assert feed.pagination.end_cursor


def test_readings_catalogue_ids_and_definitions_parse(client: Samsara) -> None:
    api = client.readings if SDK_MAJOR >= 14 else client.beta_ap_is
    defs = api.list_readings_definitions()
    by_id = {d.reading_id: d for d in defs.data}
    assert {"evChargingEnergy", "evHighCapacityBatteryVoltage", "faultCodes"} <= set(by_id)
    kpa = by_id["tirePressuresFrontLeft"].type
    if isinstance(kpa, dict):  # 14.x: a free-form object
        assert kpa["unit"] == {"baseUnit": "kilopascal", "measurementType": "pressure"}
    else:  # 4.1: `ReadingTypeResponseBody` with a `UnitResponseBody`
        assert (kpa.unit.base_unit, kpa.unit.measurement_type) == ("kilopascal", "pressure")
    latest = api.get_readings_snapshot(
        reading_ids="evChargingEnergy,evHighCapacityBatteryVoltage,faultCodes", entity_type="asset"
    )
    got = {r.reading_id for r in latest.data}
    assert got == {"evChargingEnergy", "evHighCapacityBatteryVoltage", "faultCodes"}
    codes = [r.value["string"] for r in latest.data if r.reading_id == "faultCodes" and r.value]
    assert codes
    assert all(c == "" or c.startswith(("SPN ", "P")) for c in codes)
