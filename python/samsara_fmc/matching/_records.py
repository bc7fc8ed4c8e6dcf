"""Vehicle and driver record fields: the names and aliases the core reads (in ``src/python/matching.rs``).

Field names are Samsara's wire names; the FMC side may use them too, or the snake_case and short
aliases below. The first non-blank value (``str()`` of it, stripped) under a field's aliases wins; a
year is any number ``float()`` reads, 1900-2100. ``externalIds`` (or ``external_ids``) may be a
mapping, a JSON object string, or flattened CSV columns ``externalIds.<key>`` (looked for when the
first record has one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from samsara_fmc.exceptions import RecordTypeError

VEHICLE_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id", "vehicleId", "vehicle_id"),
    "vin": ("vin", "VIN"),
    "licensePlate": ("licensePlate", "license_plate", "plate"),
    "licensePlateState": (
        "licensePlateState",
        "license_plate_state",
        "plateState",
        "plate_state",
        "licenseState",
        "license_state",
        "state",
    ),
    "name": ("name", "unit", "unitNumber", "unit_number"),
    "make": ("make",),
    "model": ("model",),
    "year": ("year", "modelYear", "model_year"),
}

DRIVER_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id", "driverId", "driver_id"),
    "name": ("name",),
    "licenseNumber": ("licenseNumber", "license_number"),
    "licenseState": ("licenseState", "license_state"),
    "email": ("email",),
    "phone": ("phone",),
    "username": ("username",),
    "employeeId": ("employeeId", "employee_id", "employeeNumber", "payrollId", "payroll_id"),
}


def as_mapping(record: object) -> Mapping[str, Any]:
    """A record as a mapping: dicts as they are, dataclasses and plain objects by their fields."""
    if isinstance(record, Mapping):
        return record
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    try:
        return vars(record)
    except TypeError:
        raise RecordTypeError(
            f"a record must be a mapping or an object with fields, not `{type(record).__name__}`"
        ) from None


def record_id(record: object, kind: str) -> str:
    """The record's id, read like the core reads it: the first non-blank value under the id aliases
    (``id``, ``vehicleId``, … for ``kind`` ``"vehicles"`` or ``"drivers"``), stripped; ``""`` if none."""
    m = as_mapping(record)
    for name in (VEHICLE_FIELDS if kind == "vehicles" else DRIVER_FIELDS)["id"]:
        v = m.get(name)
        if v is not None and str(v).strip():
            return str(v).strip()
    return ""


def as_dicts(records: list[Any]) -> list[Any]:
    """The records as dicts for the core (which reads the fields itself): dicts as they are, other
    mappings, dataclasses and plain objects converted."""
    if all(type(r) is dict for r in records):
        return records
    return [r if type(r) is dict else dict(as_mapping(r)) for r in records]


# Per field, its aliases in order, as the core wants them.
VEHICLE_ALIASES: list[list[str]] = [list(v) for v in VEHICLE_FIELDS.values()]
DRIVER_ALIASES: list[list[str]] = [list(v) for v in DRIVER_FIELDS.values()]
