"""Turning vehicle and driver records (dicts, dataclasses, CSV rows) into the core's tuples.

Field names are Samsara's wire names; the FMC side may use them too, or the snake_case and short
aliases below. ``externalIds`` may be a mapping, a JSON object string, or flattened CSV columns
``externalIds.<key>``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

VEHICLE_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id", "vehicleId", "vehicle_id"),
    "vin": ("vin", "VIN"),
    "licensePlate": ("licensePlate", "license_plate", "plate"),
    "licensePlateState": ("licensePlateState", "license_plate_state", "plateState", "plate_state", "state"),
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
        raise TypeError(
            f"a record must be a mapping or an object with fields, not `{type(record).__name__}`"
        ) from None


def _text(value: object) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _get(rec: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for n in names:
        if n in rec:
            v = _text(rec[n])
            if v is not None:
                return v
    return None


def _year(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        y = int(float(value))
    except ValueError:
        return None
    return y if 1900 <= y <= 2100 else None


def external_ids(rec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``externalIds`` as ``(key, value)`` pairs: a mapping, a JSON string or ``externalIds.*`` columns."""
    out: list[tuple[str, str]] = []
    raw = rec.get("externalIds", rec.get("external_ids"))
    if isinstance(raw, str) and raw.strip():
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if isinstance(raw, Mapping):
        out.extend((str(k), str(v)) for k, v in raw.items() if v is not None and str(v).strip())
    for k, v in rec.items():
        if isinstance(k, str) and k.startswith("externalIds.") and _text(v) is not None:
            out.append((k.removeprefix("externalIds."), str(v).strip()))
    return out


def vehicle_tuple(record: object) -> tuple[Any, ...]:
    """The core's vehicle tuple for one record."""
    rec = as_mapping(record)
    g = {field: _get(rec, names) for field, names in VEHICLE_FIELDS.items()}
    return (
        g["id"] or "",
        g["vin"],
        g["licensePlate"],
        g["licensePlateState"],
        g["name"],
        g["make"],
        g["model"],
        _year(g["year"]),
        external_ids(rec),
    )


def driver_tuple(record: object) -> tuple[Any, ...]:
    """The core's driver tuple for one record."""
    rec = as_mapping(record)
    g = {field: _get(rec, names) for field, names in DRIVER_FIELDS.items()}
    return (
        g["id"] or "",
        g["name"],
        g["licenseNumber"],
        g["licenseState"],
        g["email"],
        g["phone"],
        g["username"],
        external_ids(rec),
    )
