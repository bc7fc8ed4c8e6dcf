"""The declarative form of a record type, and what is derived from it: JSON Schema, CSV header, checks."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = ["SCHEMA_DIALECT", "Field", "RecordType", "csv_cell", "validate", "write_csv"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

JsonType = Literal["string", "number", "integer", "boolean", "object", "array", "null"]


@dataclass(frozen=True)
class Field:
    """One field of a record (or of an object inside one).

    Attributes:
        name: The JSON key, camelCase as Samsara writes it.
        type: The JSON type, or several (``("string", "null")``).
        description: What the field holds, one sentence.
        unit: The unit of a number (``s``, ``deg``), or ``None``; units that vary per record are named
            in a field of their own (``unit``) instead.
        personal: Personal data (a person's contact details, or a position that can identify a
            driver): listed in the record's description, so the privacy rules can remove it.
        required: Every record has it.
        format: A JSON Schema format (``date-time``: RFC 3339).
        enum: The allowed strings.
        fields: An object's known keys.
        values: A mapping's values (an object with any keys), when its keys are data.
        items: An array's items.
        minimum: The smallest allowed number.
        const: The only allowed value.
    """

    name: str
    type: JsonType | tuple[JsonType, ...]
    description: str
    unit: str | None = None
    personal: bool = False
    required: bool = False
    format: str | None = None
    enum: tuple[str, ...] = ()
    fields: tuple[Field, ...] = ()
    values: Field | None = None
    items: Field | None = None
    minimum: float | None = None
    const: Any = None

    def types(self) -> tuple[JsonType, ...]:
        """The field's JSON types as a tuple."""
        return self.type if isinstance(self.type, tuple) else (self.type,)

    def schema(self) -> dict[str, Any]:
        """The field's JSON Schema (draft 2020-12)."""
        types = self.types()
        description = self.description
        if self.unit:
            description += f" Unit: `{self.unit}`."
        if self.personal:
            description += " Personal data."
        out: dict[str, Any] = {
            "type": types[0] if len(types) == 1 else list(types),
            "description": description,
        }
        if self.const is not None:
            out["const"] = self.const
        if self.format:
            out["format"] = self.format
        if self.enum:
            out["enum"] = [*self.enum, None] if "null" in types else list(self.enum)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.fields:
            out["properties"] = {f.name: f.schema() for f in self.fields}
            required = [f.name for f in self.fields if f.required]
            if required:
                out["required"] = required
        if self.values is not None:
            out["additionalProperties"] = self.values.schema()
        if self.items is not None:
            out["items"] = self.items.schema()
        if self.unit:
            out["x-unit"] = self.unit
        if self.personal:
            out["x-personal"] = True
        return out


@dataclass(frozen=True)
class RecordType:
    """A record type: its name, the stream it is delivered to, its version and its fields.

    ``id`` (a stable string: delivering a record twice upserts it) and ``schemaVersion`` are added in
    front of ``fields``; the JSON Schema, the CSV header and the list of personal fields are derived.

    Attributes:
        name: The record's name (``vehicle_stat``): the schema file is ``<name>.schema.json``.
        stream: The sink stream its records are delivered to (``vehicle_stats``).
        version: ``schemaVersion``: raised when a field changes meaning or is removed.
        title: A few words for the schema's title.
        description: What one record is.
        id_description: How ``id`` is made (so that it is stable).
        fields: The fields after ``id`` and ``schemaVersion``, in CSV column order.
        version_written: Records carry ``schemaVersion``; when ``False`` (records written by a
            producer that predates the field) it is optional and means ``version`` when absent.
    """

    name: str
    stream: str
    version: int
    title: str
    description: str
    id_description: str
    fields: tuple[Field, ...]
    version_written: bool = True

    def all_fields(self) -> tuple[Field, ...]:
        """``id``, ``schemaVersion`` and the declared fields, in order."""
        version_note = ""
        if not self.version_written:
            version_note = f" Optional here (its producer may leave it out): absent means `{self.version}`."
        head = (
            Field("id", "string", self.id_description, required=True),
            Field(
                "schemaVersion",
                "integer",
                f"The version of this record type's schema.{version_note}",
                required=self.version_written,
                const=self.version,
            ),
        )
        return head + self.fields

    def personal_fields(self) -> list[str]:
        """Dotted names of the personal fields, nested ones included."""

        def walk(fields: Iterable[Field], prefix: str) -> Iterable[str]:
            for f in fields:
                if f.personal:
                    yield prefix + f.name
                yield from walk(f.fields, f"{prefix}{f.name}.")

        return list(walk(self.all_fields(), ""))

    def field_names(self) -> list[str]:
        """Top-level field names in order: the CSV header."""
        return [f.name for f in self.all_fields()]

    def csv_header(self) -> list[str]:
        """The CSV header: one column per top-level field, objects and arrays as JSON text."""
        return self.field_names()

    def schema(self) -> dict[str, Any]:
        """The record's JSON Schema (draft 2020-12), as written to ``docs/schemas/<name>.schema.json``."""
        fields = self.all_fields()
        personal = self.personal_fields()
        description = self.description
        if personal:
            names = ", ".join(f"`{p}`" for p in personal)
            description += (
                f" Personal data: {names}; a Function's privacy rules can remove them before delivery"
                f" (e.g. `{self.stream}:-{personal[0]}`)."
            )
        else:
            description += " No personal data."
        return {
            "$schema": SCHEMA_DIALECT,
            "$id": f"urn:samsara-fmc:record:{self.name}:v{self.version}",
            "title": self.title,
            "description": description,
            "type": "object",
            "properties": {f.name: f.schema() for f in fields},
            "required": [f.name for f in fields if f.required],
            "additionalProperties": True,
            "x-stream": self.stream,
        }


def csv_cell(value: Any) -> str:
    """A JSON value as CSV cell text: ``""`` for null or absent, ``true``/``false``, numbers as JSON
    writes them, objects and arrays as compact JSON text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def write_csv(header: Sequence[str], records: Iterable[Mapping[str, Any]]) -> bytes:
    """UTF-8 CSV (RFC 4180, ``\\r\\n`` line ends) with ``header``; keys outside it are not written."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in records:
        w.writerow([csv_cell(r.get(h)) for h in header])
    return buf.getvalue().encode()


# --- a validator for the subset of JSON Schema the record schemas use ------------------------------

_PY_TYPES: dict[str, Any] = {
    "string": str,
    "boolean": bool,
    "object": dict,
    "array": list,
}
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _is_type(value: Any, t: str) -> bool:
    if t == "null":
        return value is None
    if t == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, _PY_TYPES[t])


def _is_date_time(value: str) -> bool:
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


def validate(schema: Mapping[str, Any], instance: Any, path: str = "$") -> list[str]:
    """The ways ``instance`` breaks ``schema``, as messages naming the JSON path; empty when it is valid.

    Supports the keywords the record schemas use: ``type``, ``const``, ``enum``, ``format``
    (``date-time``), ``minimum``, ``properties``, ``required``, ``additionalProperties`` and ``items``.
    """
    errors: list[str] = []
    types = schema.get("type")
    if types is not None:
        allowed = [types] if isinstance(types, str) else list(types)
        if not any(_is_type(instance, t) for t in allowed):
            shown = json.dumps(instance)[:60]
            return [f"{path}: `{shown}` is not of type {' or '.join(f'`{t}`' for t in allowed)}"]
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{path}: `{json.dumps(instance)[:60]}` is not `{json.dumps(schema['const'])}`")
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: `{json.dumps(instance)[:60]}` is not one of {json.dumps(schema['enum'])}")
    if schema.get("format") == "date-time" and isinstance(instance, str) and not _is_date_time(instance):
        errors.append(f"{path}: `{instance}` is not an RFC 3339 date-time")
    if "minimum" in schema and _is_type(instance, "number") and instance < schema["minimum"]:
        errors.append(f"{path}: `{instance}` is below the minimum `{schema['minimum']}`")
    if isinstance(instance, dict):
        props: Mapping[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in instance:
                errors.append(f"{path}: missing required field `{name}`")
        extra = schema.get("additionalProperties", True)
        for key, value in instance.items():
            if key in props:
                errors.extend(validate(props[key], value, f"{path}.{key}"))
            elif extra is False:
                errors.append(f"{path}: unexpected field `{key}`")
            elif isinstance(extra, Mapping):
                errors.extend(validate(extra, value, f"{path}.{key}"))
    if isinstance(instance, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(instance):
            errors.extend(validate(schema["items"], item, f"{path}[{i}]"))
    return errors
