"""Privacy rules and the filtering sink: what an FMC must not receive never reaches the inner sink."""

from __future__ import annotations

import json
from typing import Any

import pytest

from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.sinks import Batch, DeliveryResult
from samsara_fmc.sinks.privacy import FilteredSink, PrivacyRules
from samsara_fmc.sinks.sftp import SftpSink
from samsara_fmc.sinks.storage import StorageSink
from samsara_fmc.storage import MemoryStorage

DRIVER = {
    "id": "d1",
    "name": "Ann Lee",
    "phone": "+1 555 0100",
    "email": "ann@example.com",
    "externalIds": {"payrollId": "P-9", "fmcId": "F-1"},
    "tags": [{"id": "t1", "name": "North", "parentId": "t0"}, {"id": "t2", "name": "South"}],
}
STAT = (
    b'{"id":"112:gps:2024-05-01T12:00:05Z","vehicleId":"112","vehicleName":"Truck 12",'
    b'"externalIds":{"maintenanceId":"250020"},"stat":"gps","time":"2024-05-01T12:00:05Z",'
    b'"latitude":37.77,"longitude":-122.41,"address":{"id":"9","name":"Depot"},"location":"Market St"}\n'
)


class Recorder:
    """An inner sink that keeps what it was given (the records, as the FMC would receive them)."""

    name = "recorder"

    def __init__(self) -> None:
        self.delivered: list[tuple[str, str, list[dict[str, Any]]]] = []
        self.checked = self.closed = False

    def deliver(
        self, stream: str, key: str, batch: Batch, *, deadline: float | None = None
    ) -> DeliveryResult:
        self.delivered.append((stream, key, batch.records()))
        return DeliveryResult(records=len(batch))

    def check(self, *, deadline: float | None = None) -> None:
        self.checked = True

    def close(self) -> None:
        self.closed = True


def filtered(rules: str, stream: str, record: dict[str, Any]) -> dict[str, Any]:
    inner = Recorder()
    FilteredSink(inner, rules).deliver(stream, "k", Batch.of([record]))
    [(_, _, [out])] = inner.delivered
    return out


def test_a_denylist_removes_the_fields_and_keeps_the_rest_in_order() -> None:
    out = filtered("drivers:-phone,-email", "drivers", DRIVER)
    assert list(out) == ["id", "name", "externalIds", "tags"]
    assert out["externalIds"] == DRIVER["externalIds"]


def test_dotted_names_reach_nested_keys_and_objects_in_arrays() -> None:
    out = filtered("drivers:-externalIds.payrollId,-tags.parentId", "drivers", DRIVER)
    assert out["externalIds"] == {"fmcId": "F-1"}
    assert out["tags"] == [{"id": "t1", "name": "North"}, {"id": "t2", "name": "South"}]
    assert out["phone"] == DRIVER["phone"]


def test_an_allowlist_keeps_only_its_fields_and_the_id() -> None:
    out = filtered("drivers:+name,+externalIds.fmcId,+tags.name", "drivers", DRIVER)
    assert out == {
        "id": "d1",
        "name": "Ann Lee",
        "externalIds": {"fmcId": "F-1"},
        "tags": [{"name": "North"}, {"name": "South"}],
    }


def test_the_id_is_never_removed() -> None:
    assert filtered("drivers:+name", "drivers", DRIVER) == {"id": "d1", "name": "Ann Lee"}
    with pytest.raises(ConfigurationError, match="`id` is always delivered"):
        PrivacyRules.parse("drivers:-id")


def test_ndjson_from_the_converter_is_filtered_by_its_record_fields() -> None:
    inner = Recorder()
    sink = FilteredSink(
        inner, "vehicle_stats:-latitude,-longitude,-address,-location,-externalIds.maintenanceId"
    )
    sink.deliver("vehicle_stats", "k", Batch(ndjson=STAT))
    [(_, _, [out])] = inner.delivered
    assert out == {
        "id": "112:gps:2024-05-01T12:00:05Z",
        "vehicleId": "112",
        "vehicleName": "Truck 12",
        "externalIds": {},
        "stat": "gps",
        "time": "2024-05-01T12:00:05Z",
    }


def test_streams_without_a_rule_pass_unchanged_and_unparsed() -> None:
    store = MemoryStorage()
    sink = FilteredSink(StorageSink(store), "drivers:-phone")
    sink.deliver("vehicle_stats", "k", Batch(ndjson=STAT))
    sink.deliver("drivers", "k", Batch.of([DRIVER]))
    assert store.objects["deliveries/vehicle_stats/k.ndjson"] == STAT
    written = json.loads(store.objects["deliveries/drivers/k.ndjson"])
    assert "phone" not in written and written["email"] == DRIVER["email"]
    assert b"555 0100" not in store.objects["deliveries/drivers/k.ndjson"]


def test_the_sftp_header_leaves_out_removed_columns() -> None:
    sftp = SftpSink(
        host="h", username="u", password="p", directory="/d", host_key_fingerprint="SHA256:" + "A" * 43
    )
    FilteredSink(sftp, "vehicle_stats:-latitude,-longitude,-externalIds.maintenanceId; drivers:+name")
    assert "latitude" not in sftp.header("vehicle_stats", [])
    assert "externalIds" in sftp.header("vehicle_stats", [])
    assert sftp.header("drivers", [{"id": "d1", "name": "A"}]) == ["id", "name"]
    assert sftp.header("unregistered", [{"id": "t1", "x": 1}]) == ["id", "x"], "no record type: keys seen"


def test_check_close_and_name_are_the_inner_sinks() -> None:
    inner = Recorder()
    sink = FilteredSink(inner, PrivacyRules())
    sink.check()
    sink.close()
    assert (sink.name, inner.checked, inner.closed) == ("recorder", True, True)


def test_the_syntax_round_trips_and_tolerates_spaces_and_new_lines() -> None:
    rules = PrivacyRules.parse(" drivers : -phone , -email ;\n\nvehicle_stats:+vehicleId,+time\n")
    assert str(rules) == "drivers:-phone,-email; vehicle_stats:+vehicleId,+time"
    assert PrivacyRules.parse(str(rules)) == rules
    assert not PrivacyRules.parse("  ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("drivers", "invalid privacy rule `drivers`: use `stream:-field"),
        ("drivers:phone", "invalid privacy rule `drivers:phone`: prefix each field with `-` or `+`"),
        ("drivers:-phone,+name", "all `-` (denylist) or all `+` (allowlist)"),
        ("drivers:-", "prefix each field"),
        ("drivers:-phone,", "prefix each field"),
        ("dri/vers:-phone", "`dri/vers` is not a stream name"),
        ("drivers:-ph one", "`ph one` is not a field name"),
        ("drivers:-a..b", "`a..b` is not a field name"),
        ("drivers:-phone;drivers:-email", "name the stream `drivers` twice"),
        ("vehicle_stats:-lattitude", "names `lattitude`, not a field of `vehicle_stat` records: use `id`"),
    ],
)
def test_bad_rules_name_the_value(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as e:
        PrivacyRules.parse(text)
    assert message in str(e.value)


def test_unknown_streams_are_refused_when_the_functions_streams_are_given() -> None:
    with pytest.raises(ConfigurationError) as e:
        PrivacyRules.parse("drivrs:-phone", streams=["drivers", "_health"])
    assert str(e.value) == (
        "privacy rule `drivrs:-phone` names the unknown stream `drivrs`:"
        " the Function delivers `drivers`, `_health`"
    )
    assert PrivacyRules.parse("drivers:-phone", streams=["drivers"]).for_stream("drivers") is not None
