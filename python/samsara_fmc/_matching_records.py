"""Turning vehicle and driver records (dicts, dataclasses, CSV rows) into the core's tuples.

Field names are Samsara's wire names; the FMC side may use them too, or the snake_case and short
aliases below. ``externalIds`` may be a mapping, a JSON object string, or flattened CSV columns
``externalIds.<key>``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

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


def _pick(get: Callable[[str], Any], names: tuple[str, ...]) -> str | None:
    """The first non-blank value under one of ``names``, as stripped text."""
    for n in names:
        v = get(n)
        if v is not None:
            t = (v if type(v) is str else str(v)).strip()
            if t:
                return t
    return None


def _year(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        y = int(float(value))
    except (ValueError, OverflowError):  # "INFINITY" parses as a float
        return None
    return y if 1900 <= y <= 2100 else None


def has_flat_external_ids(records: Sequence[object]) -> bool:
    """Whether the records (CSV rows, say) carry ``externalIds.<key>`` columns; judged on the first."""
    if not records:
        return False
    first = as_mapping(records[0])
    return any(isinstance(k, str) and k.startswith("externalIds.") for k in first)


def external_ids(rec: Mapping[str, Any], flat: bool = True) -> list[tuple[str, str]]:
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
    if flat:
        for k, v in rec.items():
            if isinstance(k, str) and k.startswith("externalIds.") and v is not None and str(v).strip():
                out.append((k.removeprefix("externalIds."), str(v).strip()))
    return out


_V = tuple(VEHICLE_FIELDS.values())
_D = tuple(DRIVER_FIELDS.values())


def vehicle_tuple(record: object, flat: bool = True) -> tuple[Any, ...]:
    """The core's vehicle tuple for one record."""
    rec = record if type(record) is dict else as_mapping(record)
    get = rec.get
    i, vin, plate, state, name, make, model, year = (_pick(get, names) for names in _V)
    return (i or "", vin, plate, state, name, make, model, _year(year), external_ids(rec, flat))


def driver_tuple(record: object, flat: bool = True) -> tuple[Any, ...]:
    """The core's driver tuple for one record."""
    rec = record if type(record) is dict else as_mapping(record)
    get = rec.get
    i, name, lic, state, email, phone, username = (_pick(get, names) for names in _D)
    return (i or "", name, lic, state, email, phone, username, external_ids(rec, flat))
