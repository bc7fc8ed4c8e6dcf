"""Record types: the committed schemas match their definitions, and real records validate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc import _core, records
from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.records import VEHICLE_STAT, validate

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"

# A stats page with a point of every kind the converter writes differently.
PAGE = {
    "data": [
        {
            "id": "112",
            "name": "Truck 12",
            "externalIds": {"maintenanceId": "250020"},
            "obdOdometerMeters": [{"time": "2024-05-01T12:00:00Z", "value": 1609344}],
            "engineCoolantTemperatureMilliC": [{"time": "2024-05-01T12:00:01Z", "value": 90000}],
            "engineStates": [{"time": "2024-05-01T12:00:02Z", "value": "Idle"}],
            "fuelPercents": [{"time": "2024-05-01T12:00:03Z", "value": 54}],
            "engineRpm": [{"time": "2024-05-01T12:00:03Z", "value": 1450}],
            "evChargingStatus": [{"time": "2024-05-01T12:00:04Z", "value": 2}],
            "gps": [
                {
                    "time": "2024-05-01T12:00:05Z",
                    "latitude": 37.77,
                    "longitude": -122.41,
                    "headingDegrees": 120,
                    "speedMilesPerHour": 50,
                    "isEcuSpeed": False,
                    "address": {"id": "9", "name": "Depot"},
                    "reverseGeo": {"formattedLocation": "Market St"},
                }
            ],
            "faultCodes": [{"time": "2024-05-01T12:00:06Z", "canBusType": "J1939", "j1939": {}}],
            "fuelConsumedMilliliters": [
                {"time": "2024-05-01T12:00:07Z", "value": 3785, "decorations": {"engineRpm": {"value": 900}}}
            ],
        },
        {
            "id": "113",
            "name": None,
            "externalIds": None,
            "gps": [{"time": "2024-05-01T12:00:08.5+02:00", "latitude": 1, "longitude": 2}],
        },
    ],
    "pagination": {"endCursor": "c1", "hasNextPage": False},
}


def converted(units: str) -> list[dict[str, Any]]:
    out, rejects, n, rejected, _cursor, _more = _core.convert_stats(json.dumps(PAGE).encode(), units)
    assert (rejected, rejects) == (0, b"")
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == n == 10
    return lines


@pytest.mark.parametrize(("name", "text"), records.generated_files().items(), ids=lambda v: v[:24])
def test_committed_schemas_equal_the_definitions(name: str, text: str) -> None:
    assert (SCHEMAS / name).read_text(encoding="utf-8") == text, (
        "run `python -m samsara_fmc.records --write docs/schemas`"
    )


def test_no_stray_schema_files() -> None:
    assert sorted(p.name for p in SCHEMAS.iterdir()) == sorted(records.generated_files())


def test_the_check_command_reports_a_stale_file(tmp_path: Path) -> None:
    run = [sys.executable, "-W", "error", "-m", "samsara_fmc.records"]
    assert subprocess.run([*run, "--write", str(tmp_path)], capture_output=True, check=False).returncode == 0
    assert subprocess.run([*run, "--check", str(tmp_path)], capture_output=True, check=False).returncode == 0
    (tmp_path / "health.schema.json").write_text("{}\n")
    proc = subprocess.run([*run, "--check", str(tmp_path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "health.schema.json" in proc.stdout


@pytest.mark.parametrize("units", ["metric", "imperial"])
def test_a_converted_stats_page_validates(units: str) -> None:
    schema = VEHICLE_STAT.schema()
    for record in converted(units):
        assert validate(schema, record) == [], record
    units_seen = {r.get("unit") for r in converted(units)}
    assert units_seen >= ({"km", "C", "km/h", "L"} if units == "metric" else {"mi", "F", "mph", "gal"})


def test_every_converted_key_is_a_defined_field() -> None:
    defined = set(VEHICLE_STAT.field_names())
    keys = {k for r in converted("metric") + converted("imperial") for k in r}
    assert keys <= defined, keys - defined


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"time": "yesterday"}, "$.time: `yesterday` is not an RFC 3339 date-time"),
        ({"unit": "furlong"}, '$.unit: `"furlong"` is not one of'),
        ({"latitude": "37"}, '$.latitude: `"37"` is not of type `number`'),
        ({"externalIds": {"a": 1}}, "$.externalIds.a: `1` is not of type `string`"),
        ({"schemaVersion": 2}, "$.schemaVersion: `2` is not `1`"),
        ({"vehicleId": None}, "$.vehicleId: `null` is not of type `string`"),
    ],
)
def test_the_validator_finds_what_is_wrong(change: dict[str, Any], error: str) -> None:
    record = {**converted("metric")[0], **change}
    errors = validate(VEHICLE_STAT.schema(), record)
    assert len(errors) == 1 and errors[0].startswith(error), errors


def test_a_missing_required_field_is_named() -> None:
    record = converted("metric")[0]
    del record["stat"]
    assert validate(VEHICLE_STAT.schema(), record) == ["$: missing required field `stat`"]


def test_health_and_outcome_records_validate_and_are_checked_deeply() -> None:
    health = {
        "id": "o1:vehicle-stats:2024-05-01T12:00:00Z",
        "schemaVersion": 1,
        "function": "vehicle-stats",
        "orgId": "o1",
        "runAt": "2024-05-01T12:00:00Z",
        "ok": False,
        "lastSuccessAt": None,
        "lastError": "401",
        "lastErrorFix": "update the `SAMSARA_API_TOKEN` secret",
        "streams": {"vehicle_stats": {"lagSeconds": 12.5, "newestRecordAt": None, "caughtUp": True}},
        "counts": {"records": 10},
        "retries": 0,
        "rateLimited": 1,
    }
    assert validate(records.schema("_health") or {}, health) == []
    bad = {**health, "streams": {"vehicle_stats": {"lagSeconds": "12"}}, "counts": {"records": -1}}
    assert validate(records.schema("_health") or {}, bad) == [
        '$.streams.vehicle_stats.lagSeconds: `"12"` is not of type `number` or `null`',
        "$.counts.records: `-1` is below the minimum `0`",
    ]
    outcome = {
        "id": "ch1",
        "schemaVersion": 1,
        "changeId": "ch1",
        "type": "defect.resolved",
        "target": {"kind": "defect", "id": "281474"},
        "status": "applied",
        "reason": None,
        "samsaraResponse": {"status": 200, "requestId": "r1", "message": None},
        "at": "2024-05-01T12:00:00Z",
    }
    assert validate(records.schema("write_outcomes") or {}, outcome) == []
    assert validate(records.schema("write_outcomes") or {}, {**outcome, "status": "done"}) != []
    assert validate(records.schema("write_outcomes") or {}, {**outcome, "target": {}}) == [
        "$.target: missing required field `kind`"
    ]


def test_every_record_type_has_id_and_schema_version_first_and_is_registered_by_stream() -> None:
    for t in records.all_types():
        assert t.csv_header()[:2] == ["id", "schemaVersion"]
        assert records.for_stream(t.stream) is t and records.get(t.name) is t
        assert records.csv_header(t.stream) == t.csv_header()
        s = t.schema()
        assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert "id" in s["required"]
        assert ("schemaVersion" in s["required"]) == t.version_written
    assert records.for_stream("no_such_stream") is None
    assert records.csv_header("no_such_stream") is None


def test_personal_fields_are_marked_and_listed_in_the_description() -> None:
    assert VEHICLE_STAT.personal_fields() == ["latitude", "longitude", "address", "location"]
    s = VEHICLE_STAT.schema()
    assert "Personal data: `latitude`, `longitude`, `address`, `location`" in s["description"]
    assert s["properties"]["latitude"]["x-personal"] is True
    assert s["properties"]["latitude"]["x-unit"] == "deg"
    assert "No personal data." in records.HEALTH.schema()["description"]


def test_an_unknown_record_type_names_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="unknown record type `nope`: use one of `vehicle_stat`"):
        records.get("nope")


def test_csv_cells_and_rows() -> None:
    assert [records.csv_cell(v) for v in [None, True, 1, 1.5, "a,b", {"x": [1, "é"]}]] == [
        "",
        "true",
        "1",
        "1.5",
        "a,b",
        '{"x":[1,"é"]}',
    ]
    data = records.write_csv(["id", "v"], [{"id": "1", "v": 'say "hi"', "other": 1}, {"id": "2"}])
    assert data == b'id,v\r\n1,"say ""hi"""\r\n2,\r\n'


def test_the_validator_knows_every_keyword_the_schemas_use() -> None:
    checked = {"type", "const", "enum", "format", "minimum", "properties", "required"}
    checked |= {"additionalProperties", "items"}
    annotations = {"$schema", "$id", "title", "description", "x-unit", "x-personal", "x-stream"}

    def keywords(schema: dict[str, Any]) -> set[str]:
        found = set(schema)
        for sub in schema.get("properties", {}).values():
            found |= keywords(sub)
        for key in ("additionalProperties", "items"):
            if isinstance(schema.get(key), dict):
                found |= keywords(schema[key])
        return found

    used = set().union(*(keywords(t.schema()) for t in records.all_types()))
    assert used <= checked | annotations, used - checked - annotations
    assert {f for t in records.all_types() for f in _formats(t.schema())} == {"date-time"}


def _formats(schema: dict[str, Any]) -> set[str]:
    found = {schema["format"]} if "format" in schema else set()
    for sub in schema.get("properties", {}).values():
        found |= _formats(sub)
    if isinstance(schema.get("additionalProperties"), dict):
        found |= _formats(schema["additionalProperties"])
    return found
