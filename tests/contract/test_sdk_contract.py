"""Contract tests: the official samsara-api SDK, pointed at the sandbox, parses every response.

The suite runs with whichever SDK is importable (4.1.0 in the project venv). When a second
interpreter with samsara-api 14.x is available (``$SAMSARA_SDK14_PYTHON``, default
``.venv-sdk14/bin/python``, which ``make venv`` builds), ``test_sdk14_suite`` re-runs this module under it.

Known SDK bugs (shared/samsara-api.md) are asserted as explicit expectations, so a fix upstream
shows up as a failing test rather than silently.
"""

from __future__ import annotations

import importlib.metadata
import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pydantic
import pytest

samsara = pytest.importorskip("samsara", reason="samsara-api is not installed")
from samsara import Samsara  # noqa: E402
from samsara.core.api_error import ApiError  # noqa: E402

from tests.contract._sdk14 import rerun_under_sdk14  # noqa: E402
from tests.support.sandbox import DEFAULT_ARGS, SandboxProcess  # noqa: E402

pytestmark = pytest.mark.sandbox

SDK_VERSION = importlib.metadata.version("samsara-api")
SDK_MAJOR = int(SDK_VERSION.split(".")[0])
TYPES = ["gps", "engineStates", "fuelPercents"]


@pytest.fixture(scope="module")
def client(sandbox: SandboxProcess) -> Iterator[Samsara]:
    with httpx.Client(timeout=30) as http:
        yield Samsara(token=sandbox.token, base_url=sandbox.url, httpx_client=http)


def test_organization_info(client: Samsara) -> None:
    org = client.organization_info.get_organization_info()
    assert org.data is not None
    assert org.data.id


def test_vehicles_list_autopages_and_get_by_external_id(client: Samsara) -> None:
    vehicles = list(client.vehicles.list(limit=7))
    assert len(vehicles) == 50
    v = vehicles[0]
    assert v.vin
    assert v.external_ids
    assert v.tags
    by_vin = client.vehicles.get(f"samsara.vin:{v.vin}")
    assert by_vin.data is not None
    assert by_vin.data.id == v.id


def test_vehicle_update_is_visible(client: Samsara) -> None:
    v = next(iter(client.vehicles.list()))
    updated = client.vehicles.update(v.id, notes="contract test", harsh_acceleration_setting_type="heavyDuty")
    assert updated.data is not None
    assert updated.data.notes == "contract test"
    assert client.vehicles.get(v.id).data.notes == "contract test"


def test_vehicle_stats_snapshot(client: Samsara) -> None:
    snap = client.vehicle_stats.get_vehicle_stats(types=TYPES)
    assert snap.data
    with_gps = [d for d in snap.data if d.gps is not None]
    assert with_gps
    assert with_gps[0].gps.latitude
    assert any(d.engine_state is not None for d in snap.data)


@pytest.mark.parametrize(
    "types",
    [
        ["gps", "engineStates", "fuelPercents"],
        ["obdOdometerMeters", "gpsOdometerMeters", "obdEngineSeconds"],
        ["faultCodes", "engineCoolantTemperatureMilliC", "ambientAirTemperatureMilliC"],
        ["engineOilPressureKPa", "batteryMilliVolts", "defLevelMilliPercent"],
        ["engineRpm", "engineLoadPercent", "evStateOfChargeMilliPercent"],
        ["evChargingStatus", "evBatteryStateOfHealthMilliPercent", "evDistanceDrivenMeters"],
    ],
)
def test_vehicle_stats_feed_pages(client: Samsara, sandbox: SandboxProcess, types: list[str]) -> None:
    first = client.vehicle_stats.get_vehicle_stats_feed(types=types, decorations=["gps", "engineStates"])
    assert first.data
    assert first.pagination.end_cursor
    sandbox.advance(600)
    page = client.vehicle_stats.get_vehicle_stats_feed(types=types, after=first.pagination.end_cursor)
    assert page.pagination.end_cursor


def test_vehicle_stats_history(client: Samsara) -> None:
    hist = client.vehicle_stats.get_vehicle_stats_history(
        start_time="2026-11-02T13:00:00Z",
        end_time="2026-11-02T14:00:00Z",
        types=["gps", "faultCodes"],
    )
    assert hist.data
    assert any(d.gps for d in hist.data)


def test_drivers_crud(client: Samsara) -> None:
    drivers = list(client.drivers.list())
    assert drivers
    assert drivers[0].license_number
    created = client.drivers.create(
        name="Contract Driver",
        username=f"contract{SDK_MAJOR}",
        password="pw",
        external_ids={"contractId": f"C{SDK_MAJOR}"},
    )
    assert created.data is not None
    assert created.data.id
    got = client.drivers.get(f"contractId:C{SDK_MAJOR}")
    assert got.data is not None
    assert got.data.name == "Contract Driver"
    upd = client.drivers.update(created.data.id, driver_activation_status="deactivated")
    assert upd.data is not None
    assert upd.data.driver_activation_status == "deactivated"
    assert any(d.id == created.data.id for d in client.drivers.list(driver_activation_status="deactivated"))
    client.drivers.delete(created.data.id)
    with pytest.raises(ApiError) as gone:
        client.drivers.get(created.data.id)
    assert gone.value.status_code == 404


def test_tags_crud(client: Samsara) -> None:
    tags = client.tags.list_tags()
    assert tags.data
    parent = next(t for t in tags.data if t.parent_tag_id is None)
    created = client.tags.create_tag(name=f"Contract tag {SDK_MAJOR}", parent_tag_id=parent.id)
    assert created.data is not None
    assert created.data.parent_tag_id == parent.id
    tid = created.data.id
    assert tid is not None
    assert client.tags.get_tag(tid).data is not None
    patched = client.tags.patch_tag(tid, name=f"Contract tag {SDK_MAJOR} renamed")
    assert patched.data is not None
    assert patched.data.name.endswith("renamed")
    replaced = client.tags.replace_tag(tid, name=f"Contract tag {SDK_MAJOR} replaced", vehicles=[])
    assert replaced.data is not None
    if SDK_MAJOR >= 14:
        assert client.tags.delete(tid) is None
    else:
        # Known SDK 4.1 bug (samsara-api.md §3.10.6): delete_tag JSON-parses the documented empty 204.
        with pytest.raises(ApiError) as err:
            client.tags.delete_tag(tid)
        assert err.value.status_code == 204
    with pytest.raises(ApiError) as missing:
        client.tags.get_tag(tid)
    assert missing.value.status_code == 404


def test_errors_are_api_errors(sandbox: SandboxProcess) -> None:
    with httpx.Client(timeout=30) as http, pytest.raises(ApiError) as err:
        Samsara(
            token="not-a-token", base_url=sandbox.url, httpx_client=http
        ).organization_info.get_organization_info()
    assert err.value.status_code == 401
    assert isinstance(err.value.body, dict)
    assert {"message", "requestId"} <= set(err.value.body)


def test_sdk14_suite() -> None:
    """Re-runs this module under samsara-api 14.x when such an interpreter exists."""
    rerun_under_sdk14(Path(__file__))


START = "2026-11-01T00:00:00Z"


def test_defects_stream_get_types_and_resolve(client: Samsara) -> None:
    page = client.maintenance.stream_defects(start_time=START, include_external_ids=True)
    assert page.data
    assert page.pagination.end_cursor
    assert client.maintenance.get_defect_types().data
    open_defect = next(d for d in page.data if not d.is_resolved)
    one = client.maintenance.get_defect(open_defect.id)
    assert one.id == open_defect.id
    resolved = client.maintenance.update_dvir_defect(
        open_defect.id, is_resolved=True, mechanic_notes="contract"
    )
    assert resolved.data is not None
    assert resolved.data.is_resolved


def test_driver_vehicle_assignments(client: Samsara) -> None:
    got = client.driver_vehicle_assignments.get_driver_vehicle_assignments(
        filter_by="vehicles", start_time="2026-11-02T00:00:00Z", end_time="2026-11-02T18:00:00Z"
    )
    assert got.data
    a = got.data[0]
    created = client.driver_vehicle_assignments.create_driver_vehicle_assignment(
        driver_id=a.driver.id, vehicle_id=a.vehicle.id or "", start_time="2026-11-02T17:00:00Z"
    )
    assert created.data is not None
    client.driver_vehicle_assignments.update_driver_vehicle_assignment(
        driver_id=a.driver.id,
        vehicle_id=a.vehicle.id or "",
        start_time="2026-11-02T17:00:00Z",
        end_time="2026-11-02T17:30:00Z",
    )
    client.driver_vehicle_assignments.delete_driver_vehicle_assignments(vehicle_id=a.vehicle.id or "")


def test_trips_stream(client: Samsara) -> None:
    api = client.trips if SDK_MAJOR >= 14 else client.beta_ap_is
    page = api.get_trips(start_time=START, include_asset=True)
    assert page.data
    assert page.data[0].start_location is not None


def test_safety_events_stream(client: Samsara) -> None:
    api = client.safety if SDK_MAJOR >= 14 else client.beta_ap_is
    page = api.get_safety_events_v_2_stream(start_time=START, include_driver=True, include_asset=True)
    assert page.data
    assert page.data[0].behavior_labels


def test_speeding_intervals_stream(client: Samsara) -> None:
    page = client.speeding_intervals.get_speeding_intervals(start_time=START, include_driver_id=True)
    assert page.data
    assert any(t.intervals for t in page.data)


def test_idling_events(client: Samsara) -> None:
    kwargs = {"start_time": START, "end_time": "2026-11-02T18:00:00Z"}
    if SDK_MAJOR >= 14:
        page = client.idling.get_idling_events(**kwargs)
        assert page.data
        assert page.data[0].asset.id
    else:
        # Known SDK 4.1 bug (samsara-api.md §3.13.1): `ptoState` is a closed enum whose only literal is
        # the vendor typo "active, inactive", so a record with the real value "inactive" fails validation.
        # It is the only failure: the flat shape of the token's version (`assetId`, ...) parses.
        with pytest.raises(pydantic.ValidationError, match=r"pto_?[sS]tate") as err:
            client.idling.get_idling_events(**kwargs)
        assert all("pto" in str(e["loc"]).lower() for e in err.value.errors()), err.value


def test_idling_shape_follows_the_token_version(sandbox: SandboxProcess) -> None:
    """Neither SDK sends `X-Samsara-Version`, so the token's version picks the idling shape: the
    conftest gives 4.1 a 2025-06-11 token (flat `assetId`) and 14.x a 2025-10-23 one (nested `asset`)."""
    url = f"{sandbox.url}/idling/events?startTime={START}&endTime=2026-11-02T18:00:00Z&limit=5"
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    record = httpx.get(url, headers=auth, timeout=30).json()["data"][0]
    nested = SDK_MAJOR >= 14
    assert ("asset" in record, "assetId" in record) == (nested, not nested), record
    other = "2025-06-11" if nested else "2025-10-23"
    override = httpx.get(url, headers={**auth, "X-Samsara-Version": other}, timeout=30).json()["data"][0]
    assert ("asset" in override) == (not nested), override


def test_vehicle_locations(client: Samsara) -> None:
    assert client.vehicle_locations.get_vehicle_locations().data
    feed = client.vehicle_locations.get_vehicle_locations_feed()
    assert feed.data
    assert feed.pagination.end_cursor
    hist = client.vehicle_locations.get_vehicle_locations_history(
        start_time="2026-11-02T14:00:00Z", end_time="2026-11-02T14:10:00Z"
    )
    assert hist.data


def test_legacy_trips_and_messages(client: Samsara) -> None:
    vehicle = next(iter(client.vehicles.list()))
    trips = client.trips.v_1_get_fleet_trips(
        vehicle_id=int(vehicle.id), start_ms=1793491200000, end_ms=1793642400000
    )
    assert trips.trips is not None
    driver = next(iter(client.drivers.list()))
    assert driver.id is not None
    sent = client.messages.v_1_create_messages(driver_ids=[int(driver.id)], text="contract hello")
    assert sent.data
    got = client.messages.v_1_get_messages()
    assert got.data
    assert any(m.text == "contract hello" for m in got.data)


def test_issues(client: Samsara, sandbox: SandboxProcess) -> None:
    page = client.issues.get_issues_stream(start_time="2026-10-20T00:00:00Z", include=["externalIds"])
    assert page.data
    assert page.pagination.end_cursor
    issue = page.data[0]
    patched = client.issues.patch_issue(id=issue.id, status="dismissed")
    assert patched.data is not None
    assert patched.data.status == "dismissed"
    assert client.issues.get_issues(ids=[issue.id]).data
    if SDK_MAJOR >= 14:
        made = client.issues.post_issue(title="Contract issue", asset={"id": "281474977000011"})
        assert made.data is not None
        assert made.data.status == "open"


def test_camera_media(client: Samsara, sandbox: SandboxProcess) -> None:
    listed = client.media.list_uploaded_media(
        vehicle_ids="281474977000011", start_time="2026-11-02T00:00:00Z", end_time="2026-11-02T18:00:00Z"
    )
    assert listed.data is not None
    posted = client.media.post_media_retrieval(
        vehicle_id="281474977000011",
        media_type="image",
        start_time="2026-11-02T15:00:00Z",
        end_time="2026-11-02T15:00:00Z",
        inputs=["dashcamRoadFacing"],
    )
    assert posted.data is not None
    assert posted.data.retrieval_id
    sandbox.advance(180)
    got = client.media.get_media_retrieval(retrieval_id=posted.data.retrieval_id)
    assert got.data is not None
    assert got.data.media
    assert got.data.media[0].status == "available"


def test_ifta_reports(client: Samsara) -> None:
    j = client.ifta.get_ifta_jurisdiction_reports(year=2026, month="November")
    assert j.data is not None
    assert j.data.jurisdiction_reports
    t = j.data.troubleshooting
    assert t is not None and t.no_purchases_found is False and t.unassigned_fuel_type_vehicles > 0
    v = client.ifta.get_ifta_vehicle_reports(year=2026, quarter="Q4")
    assert v.data is not None
    assert v.data.vehicle_reports
    # Vehicles without a fuel type are reported under `Unspecified`; electric ones buy no fuel.
    untyped = client.ifta.get_ifta_vehicle_reports(year=2026, month="November", fuel_type="Unspecified")
    assert untyped.data is not None
    assert 0 < t.unassigned_fuel_type_vehicles <= len(untyped.data.vehicle_reports)
    ev = client.ifta.get_ifta_jurisdiction_reports(year=2026, month="November", fuel_type="Electricity")
    assert ev.data is not None and ev.data.troubleshooting is not None
    assert ev.data.troubleshooting.no_purchases_found is True
    assert all(r.tax_paid_liters == 0 for r in ev.data.jurisdiction_reports)


def test_forms(client: Samsara) -> None:
    templates = client.forms.get_form_templates()
    assert templates.data
    page = client.forms.get_form_submissions_stream(start_time=START)
    assert page.data
    assert page.data[0].fields
    sub = page.data[0]
    assert client.forms.get_form_submissions(ids=[sub.id]).data
    patched = client.forms.patch_form_submission(id=sub.id, status="approved")
    assert patched.data is not None
    assert patched.data.status == "approved"
    extra = {"status": "notStarted"} if SDK_MAJOR >= 14 else {}  # 4.1 has no `status` parameter
    made = client.forms.post_form_submission(form_template={"id": templates.data[0].id}, **extra)
    assert made.data is not None
    assert made.data.status == "notStarted"


def test_legacy_safety_idling_and_defects(client: Samsara) -> None:
    legacy = client.legacy_ap_is if SDK_MAJOR >= 14 else client.safety
    events = legacy.get_safety_events(start_time=START, end_time="2026-11-02T18:00:00Z")
    assert events.data
    v2 = client.safety if SDK_MAJOR >= 14 else client.beta_ap_is
    assert events.data[0].id is not None
    assert v2.get_safety_events_v_2(safety_event_ids=[events.data[0].id]).data
    idle = client.legacy_ap_is.get_vehicle_idling_reports(start_time=START, end_time="2026-11-02T18:00:00Z")
    assert idle.data is not None
    hist = client.legacy_ap_is.get_dvir_defects(
        start_time="2026-10-25T00:00:00Z", end_time="2026-11-02T18:00:00Z"
    )
    assert hist.data is not None


def test_legacy_assignment_reads(client: Samsara) -> None:
    window = {"start_time": "2026-11-02T00:00:00Z", "end_time": "2026-11-02T18:00:00Z"}
    by_driver = client.legacy_ap_is.get_drivers_vehicle_assignments(**window)
    assert by_driver.data
    assert any(d.vehicle_assignments for d in by_driver.data)
    by_vehicle = client.legacy_ap_is.get_vehicles_driver_assignments(**window)
    assert by_vehicle.data
    assert any(v.driver_assignments for v in by_vehicle.data)


def test_dvirs_stream(client: Samsara) -> None:
    page = client.maintenance.get_dvirs(start_time=START)
    assert page.data
    assert page.data[0].author_signature is not None


def test_support_helpers(sandbox: SandboxProcess) -> None:
    """The fixture's helpers used by other suites: FMC records, faults, request log."""
    req = urllib.request.Request(
        sandbox.url + "/fmc/v1/streams/contract/records",
        data=json.dumps({"records": [{"id": "r1"}, {"id": "r2"}]}).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": "contract-1"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200
    records = sandbox.fmc_records("contract")
    assert [r["id"] for r in records] == ["r1", "r2"]
    assert all(r["deliveries"] == 1 for r in records)
    sandbox.faults({"path": "/me", "kind": "status", "status": 503})
    sandbox.clear_faults()
    assert sandbox.requests()


def test_private_sandbox_with_scoped_token(sandbox_factory: Callable[..., SandboxProcess]) -> None:
    """A token limited to Read Vehicles gets a 403 naming the missing scope."""
    sb = sandbox_factory("--vehicles", "5", "--token", "ro=Read Vehicles")
    with httpx.Client(timeout=30) as http:
        client = Samsara(token="ro", base_url=sb.url, httpx_client=http)
        assert len(list(client.vehicles.list())) == 5
        with pytest.raises(ApiError) as err:
            client.drivers.list().items  # noqa: B018
        assert err.value.status_code == 403
        assert "Read Drivers" in str(err.value.body)


def test_readings(client: Samsara, sandbox: SandboxProcess) -> None:
    """Readings parse in both SDKs: `value` is an object laid out by the definition's `type`."""
    api = client.readings if SDK_MAJOR >= 14 else client.beta_ap_is
    tires = [
        "tirePressuresFrontLeft",
        "tirePressuresFrontRight",
        "tirePressuresBackLeft",
        "tirePressuresBackRight",
    ]
    latest = api.get_readings_snapshot(
        reading_ids=",".join(tires), entity_type="asset", include_external_ids=True
    )
    assert latest.data
    assert {r.reading_id for r in latest.data} == set(tires)
    first = latest.data[0]
    assert first.value is not None
    assert first.value["unit"] == "kilopascal"
    assert 150 < first.value["number"] < 950
    assert first.external_ids
    state = api.get_readings_snapshot(reading_ids="engineState,evChargingStatus", entity_type="asset")
    assert {r.value["symbol"] for r in state.data if r.value} <= {
        "off",
        "running",
        "idling",
        "notCharging",
        "charging",
    }
    hist = api.get_readings_history(
        reading_id="oilPressure",
        entity_type="asset",
        start_time="2026-11-02T12:00:00Z",
        end_time="2026-11-02T13:00:00Z",
    )
    assert hist.data
    assert hist.data[0].happened_at_time is not None
    feed = api.get_readings_history(reading_id="engineState", entity_type="asset", feed=True)
    assert feed.pagination.end_cursor
    sandbox.advance(3600)
    more = api.get_readings_history(
        reading_id="engineState", entity_type="asset", feed=True, after=feed.pagination.end_cursor
    )
    assert more.pagination.end_cursor
    with pytest.raises(ApiError) as err:
        api.get_readings_snapshot(reading_ids="a,b,c,d,e,f", entity_type="asset")
    assert err.value.status_code == 400
    assert "readingIds" in str(err.value.body)
    if SDK_MAJOR >= 14:
        defs = client.readings.list_readings_definitions(ids="tirePressuresFrontLeft,evChargingStatus")
        by_id = {d.reading_id: d for d in defs.data}
        assert by_id["tirePressuresFrontLeft"].type["unit"]["baseUnit"] == "kilopascal"
        assert by_id["evChargingStatus"].enum_values
        assert by_id["evChargingStatus"].type["dataType"] == "enum"


def test_trailers_in_tags_defects_and_readings(
    sandbox: SandboxProcess, sandbox_factory: Callable[..., SandboxProcess]
) -> None:
    """Trailers appear as tag `assets`, as defect `trailer`s and as `asset` readings entities."""
    # Defects over a working week (two weekend days of 50 vehicles may have none on a trailer).
    args = [*DEFAULT_ARGS]
    args[args.index("--days") + 1] = "7"
    week = sandbox_factory(*args, "--token", sandbox.token)
    with httpx.Client(timeout=30) as http:
        _check_trailers(Samsara(token=sandbox.token, base_url=week.url, httpx_client=http))


def _check_trailers(client: Samsara) -> None:
    tags = client.tags.list_tags()
    assets = [a for t in tags.data for a in (t.assets or [])]
    assert assets
    assert all(a.name and a.name.startswith("Trailer ") for a in assets)
    on_trailers = []
    after = None
    while True:
        page = client.maintenance.stream_defects(
            start_time="2026-10-01T00:00:00Z", include_external_ids=True, after=after
        )
        on_trailers += [d for d in page.data if d.trailer is not None]
        if not page.pagination.has_next_page:
            break
        after = page.pagination.end_cursor
    assert on_trailers
    assert on_trailers[0].trailer.id in {a.id for a in assets}
    if SDK_MAJOR >= 14:
        page = client.readings.get_readings_snapshot(
            reading_ids="tirePressuresBackLeft,reeferSetPointZone1",
            entity_type="asset",
            asset_types="trailer",
        )
        assert {r.entity_id for r in page.data} <= {a.id for a in assets}
        assert any(r.reading_id == "reeferSetPointZone1" for r in page.data)


def test_manual_engine_hours_show_in_synthetic_engine_seconds(client: Samsara) -> None:
    vid = "281474977000048"
    client.vehicles.update(vid, engine_hours=1234, odometer_meters=99_000)
    snap = client.vehicle_stats.get_vehicle_stats(
        vehicle_ids=vid, types=["syntheticEngineSeconds", "gpsOdometerMeters"]
    )
    assert snap.data[0].synthetic_engine_seconds is not None
    assert snap.data[0].synthetic_engine_seconds.value >= 1234 * 3600
    assert snap.data[0].gps_odometer_meters is not None
