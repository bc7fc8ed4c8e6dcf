"""Record types: one declarative definition each, from which the JSON Schema and the CSV header come.

A definition (:class:`RecordType`) lists its fields (:class:`Field`: name, JSON type, unit,
description, personal data or not); ``id`` (stable: a record delivered twice is upserted) and
``schemaVersion`` come first in every record type. The registry is keyed by the sink stream each type
is delivered to::

    >>> from samsara_fmc import records
    >>> records.for_stream("vehicle_stats").csv_header()[:4]
    ['id', 'schemaVersion', 'vehicleId', 'vehicleName']
    >>> records.schema("_health")["required"][:3]
    ['id', 'schemaVersion', 'function']

The schemas are committed as ``docs/schemas/<name>.schema.json``; regenerate them with
``python -m samsara_fmc.records --write docs/schemas`` (a test fails when they differ).

``vehicle_stat`` (stream ``vehicle_stats``)
    a data point of a vehicle stat (the Rust converter's)
``health`` (stream ``_health``)
    one run of a Function
``write_outcome`` (stream ``write_outcomes``)
    what became of an FMC change applied to Samsara
``safety_event`` (stream ``safety_events``)
    a safety event, in its current version
``speeding_interval`` (stream ``speeding_intervals``)
    a speeding interval of a completed trip
``dvir_defect`` (stream ``dvir_defects``)
    a DVIR defect (a work-order candidate), as it changes
``dvir`` (stream ``dvirs``)
    an inspection (DVIR) with the defects it found
``vehicle_location`` (stream ``vehicle_locations``)
    a GPS point of the locations feed
``camera_media`` (stream ``camera_media``)
    a camera media retrieval, once it has ended
``trip`` (stream ``trips``)
    a completed trip of a vehicle, as it changes
``idling_event`` (stream ``idling_events``)
    an idling event of a vehicle
``idling_day`` (stream ``idling_days``)
    a vehicle's idling KPIs on one local day
``form_submission`` (stream ``form_submissions``)
    a form submission, as it changes
``issue`` (stream ``issues``)
    an issue, as it changes
``driver_message`` (stream ``driver_messages``)
    a message between dispatch and a driver
``idling_driver_day`` (stream ``idling_driver_days``)
    a driver's idling KPIs on one local day
``ifta_jurisdiction`` (stream ``ifta_jurisdictions``)
    a period's IFTA figures of a fuel type in a jurisdiction
``ifta_vehicle`` (stream ``ifta_vehicles``)
    a period's IFTA figures of a vehicle in a jurisdiction
``ifta_return`` (stream ``ifta_returns``)
    a quarter's return-ready IFTA export (CSV and flags)
``vehicle_link`` (stream ``vehicle_links``)
    an FMC vehicle linked to its Samsara vehicle
``sync_report`` (stream ``sync_reports``)
    a record the sync cannot settle alone (review, one side)
``sync_plan`` (stream ``sync_plans``)
    one step of a dry run's plan
``tag_link`` (stream ``tag_links``)
    an FMC tag (branch, cost centre) linked to its Samsara tag
``driver_link`` (stream ``driver_links``)
    a Samsara driver and the FMC roster record it is linked to
``vehicle_fault`` (stream ``vehicle_faults``)
    a vehicle's fault code, from opening to closing
``vehicle_alert`` (stream ``vehicle_alerts``)
    a threshold alert episode or an odometer flag
``engine_state_transition`` (stream ``engine_state_transitions``)
    a change of engine state (Off, On, Idle)
``vehicle_day`` (stream ``vehicle_days``)
    a vehicle's local day (odometer, hours, fuel, faults)
``driver_vehicle_assignment`` (stream ``driver_vehicle_assignments``)
    a driver-vehicle assignment window, as it changes
``odometer_reading`` (stream ``odometer_readings``)
    a vehicle's odometer at one time (OBD, else GPS)
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.records._model import SCHEMA_DIALECT, Field, RecordType, csv_cell, validate, write_csv
from samsara_fmc.records.assignments import DRIVER_VEHICLE_ASSIGNMENT
from samsara_fmc.records.driver_sync import DRIVER_LINK
from samsara_fmc.records.dvir import DVIR, DVIR_DEFECT
from samsara_fmc.records.health import HEALTH
from samsara_fmc.records.ifta import IFTA_JURISDICTION, IFTA_RETURN, IFTA_VEHICLE
from samsara_fmc.records.locations import VEHICLE_LOCATION
from samsara_fmc.records.maintenance import ENGINE_STATE_TRANSITION, VEHICLE_ALERT, VEHICLE_DAY, VEHICLE_FAULT
from samsara_fmc.records.media import CAMERA_MEDIA, MEDIA_STATUSES
from samsara_fmc.records.odometer import ODOMETER_READING, ODOMETER_SOURCES
from samsara_fmc.records.operations import IDLING_DAY, IDLING_DRIVER_DAY, IDLING_EVENT, TRIP
from samsara_fmc.records.outcomes import OUTCOME_STATUSES, WRITE_OUTCOME
from samsara_fmc.records.safety import SAFETY_EVENT, SPEED_UNITS, SPEEDING_INTERVAL
from samsara_fmc.records.sync import SYNC_PLAN, SYNC_REPORT, TAG_LINK, VEHICLE_LINK
from samsara_fmc.records.vehicle_stats import VALUE_UNITS, VEHICLE_STAT
from samsara_fmc.records.workflows import DRIVER_MESSAGE, FORM_SUBMISSION, ISSUE

__all__ = [
    "CAMERA_MEDIA",
    "DRIVER_LINK",
    "DRIVER_MESSAGE",
    "DRIVER_VEHICLE_ASSIGNMENT",
    "DVIR",
    "DVIR_DEFECT",
    "ENGINE_STATE_TRANSITION",
    "FORM_SUBMISSION",
    "HEALTH",
    "IDLING_DAY",
    "IDLING_DRIVER_DAY",
    "IDLING_EVENT",
    "IFTA_JURISDICTION",
    "IFTA_RETURN",
    "IFTA_VEHICLE",
    "ISSUE",
    "MEDIA_STATUSES",
    "ODOMETER_READING",
    "ODOMETER_SOURCES",
    "OUTCOME_STATUSES",
    "SAFETY_EVENT",
    "SCHEMA_DIALECT",
    "SPEEDING_INTERVAL",
    "SPEED_UNITS",
    "SYNC_PLAN",
    "SYNC_REPORT",
    "TAG_LINK",
    "TRIP",
    "VALUE_UNITS",
    "VEHICLE_ALERT",
    "VEHICLE_DAY",
    "VEHICLE_FAULT",
    "VEHICLE_LINK",
    "VEHICLE_LOCATION",
    "VEHICLE_STAT",
    "WRITE_OUTCOME",
    "Field",
    "RecordType",
    "all_types",
    "csv_cell",
    "csv_header",
    "for_stream",
    "generated_files",
    "get",
    "readme_text",
    "schema",
    "schema_text",
    "validate",
    "write_csv",
]

_TYPES: tuple[RecordType, ...] = (
    VEHICLE_STAT,
    HEALTH,
    WRITE_OUTCOME,
    SAFETY_EVENT,
    SPEEDING_INTERVAL,
    DVIR_DEFECT,
    DVIR,
    VEHICLE_LOCATION,
    CAMERA_MEDIA,
    TRIP,
    IDLING_EVENT,
    IDLING_DAY,
    FORM_SUBMISSION,
    ISSUE,
    DRIVER_MESSAGE,
    IDLING_DRIVER_DAY,
    IFTA_JURISDICTION,
    IFTA_VEHICLE,
    IFTA_RETURN,
    VEHICLE_LINK,
    SYNC_REPORT,
    SYNC_PLAN,
    TAG_LINK,
    DRIVER_LINK,
    VEHICLE_FAULT,
    VEHICLE_ALERT,
    ENGINE_STATE_TRANSITION,
    VEHICLE_DAY,
    DRIVER_VEHICLE_ASSIGNMENT,
    ODOMETER_READING,
)
_BY_STREAM = {t.stream: t for t in _TYPES}
_BY_NAME = {t.name: t for t in _TYPES}


def all_types() -> tuple[RecordType, ...]:
    """Every registered record type."""
    return _TYPES


def for_stream(stream: str) -> RecordType | None:
    """The record type delivered to ``stream``, or ``None`` for a stream without one."""
    return _BY_STREAM.get(stream)


def get(name: str) -> RecordType:
    """The record type named ``name`` (``vehicle_stat``), or a :class:`ConfigurationError`."""
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(f"`{n}`" for n in _BY_NAME)
        msg = f"unknown record type `{name}`: use one of {known}"
        raise ConfigurationError(msg) from None


def csv_header(stream: str) -> list[str] | None:
    """The CSV header of ``stream``'s record type, or ``None`` for a stream without one."""
    t = for_stream(stream)
    return None if t is None else t.csv_header()


def schema(stream: str) -> dict[str, Any] | None:
    """The JSON Schema of ``stream``'s record type, or ``None`` for a stream without one."""
    t = for_stream(stream)
    return None if t is None else t.schema()


def schema_text(t: RecordType) -> str:
    """A record type's schema as the committed file holds it: 2-space JSON, a final newline."""
    return json.dumps(t.schema(), indent=2, ensure_ascii=False) + "\n"


def _rows(fields: tuple[Field, ...], prefix: str) -> list[str]:
    rows = []
    for f in fields:
        name = prefix + f.name
        types = " or ".join(f.types())
        if f.format:
            types += f" ({f.format})"
        desc = f.description + (" Required." if f.required else "")
        if f.enum:
            desc += " One of " + ", ".join(f"`{e}`" for e in f.enum) + "."
        desc = desc.replace("|", "\\|")
        unit = f"`{f.unit}`" if f.unit else ""
        rows.append(f"| `{name}` | {types} | {unit} | {'yes' if f.personal else ''} | {desc} |")
        rows.extend(_rows(f.fields, f"{name}."))
        if f.values is not None:
            v = f.values
            rows.extend(_rows((dataclasses.replace(v, name="*"),), f"{name}."))
        if f.items is not None:
            rows.extend(_rows(f.items.fields, f"{name}[]."))
    return rows


def readme_text() -> str:
    """``docs/schemas/README.md``: every record type's fields, units and personal data, as a table."""
    out = [
        "# Record schemas",
        "",
        "Generated from `python/samsara_fmc/records/` by",
        "`python -m samsara_fmc.records --write docs/schemas`; do not edit (a test fails when these files",
        "differ from the definitions). Each record type has a JSON Schema (draft 2020-12) here, and its",
        "fields in this order are the CSV header of the SFTP sink.",
        "",
        "Personal data can be kept from the FMC with a Function's privacy rules",
        "(`samsara_fmc.sinks.privacy`): `stream:-field,-field` removes fields, `stream:+field,+field`",
        "keeps only those (and `id`); rules for several streams are separated by `;`, and a dotted name",
        "reaches a nested key (`drivers:-phone,-email; vehicle_stats:-externalIds.payrollId`).",
    ]
    for t in _TYPES:
        out += [
            "",
            f"## `{t.name}`: stream `{t.stream}`, `schemaVersion` {t.version}",
            "",
            t.schema()["description"],
            "",
            "| field | type | unit | personal | description |",
            "|---|---|---|---|---|",
            *_rows(t.all_fields(), ""),
        ]
    return "\n".join(out) + "\n"


def generated_files() -> dict[str, str]:
    """What ``docs/schemas/`` holds: file name to text (a schema per record type, and the README)."""
    files = {f"{t.name}.schema.json": schema_text(t) for t in _TYPES}
    files["README.md"] = readme_text()
    return files
