"""VMRS system codes (Code Key 31) for DVIR defect types: the project's small table, or the FMC's own.

VMRS is a licensed standard (ATA's Technology & Maintenance Council). The project ships a small table
for Samsara's standard defect types (``samsara_fmc/data/vmrs_systems.csv``), written from public
descriptions of Code Key 31's top-level systems and not checked against the licensed code book; an FMC
that holds a licence supplies its own, complete table with the ``vmrsTable`` parameter:

* ``storage:<key>``: a CSV object the FMC put in the Function's storage (``storage:config/vmrs.csv``);
* or the rows themselves, ``;``-separated: ``Brakes,013,Brakes;Tires,017``.

A row is ``defectType,systemCode[,system]``: the defect type's label (case-insensitive) or Samsara ID,
its three-digit system code, and the system's name. ``#`` starts a comment line; a header row
(``defectType,…``) is skipped. A defect type the table lacks is delivered with ``unmapped: true``.
A bad table is a :class:`~samsara_fmc.exceptions.ConfigurationError` that names the row, before
anything runs.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.storage import ObjectStore

__all__ = ["CODE_KEY", "VmrsTable", "builtin", "from_parameter", "parse"]

CODE_KEY = 31
"""VMRS Code Key 31: Systems."""

_CODE = re.compile(r"^[0-9]{3}$")


@dataclass(frozen=True)
class VmrsTable:
    """Defect type (lower-cased label, or ID) → (system code, system name)."""

    rows: dict[str, tuple[str, str | None]]
    source: str
    """``builtin`` (the project's table) or ``fmc`` (the Function's ``vmrsTable``)."""

    def lookup(self, type_id: str | None, label: str | None) -> dict[str, Any]:
        """The ``vmrs`` object of a defect of type ``type_id`` labelled ``label``."""
        hit = self.rows.get(str(type_id)) if type_id else None
        if hit is None and label:
            hit = self.rows.get(label.strip().lower())
        return {
            "codeKey": CODE_KEY,
            "systemCode": None if hit is None else hit[0],
            "system": None if hit is None else hit[1],
            "table": self.source,
            "unmapped": hit is None,
        }


def parse(text: str, *, source: str, where: str) -> VmrsTable:
    """A table from CSV ``text``; ``where`` names it in errors (``the built-in table``, …)."""
    rows: dict[str, tuple[str, str | None]] = {}
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)]
    for n, line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            [cells] = list(csv.reader(io.StringIO(line)))
        except (csv.Error, ValueError):
            msg = f"VMRS table {where}, row {n} (`{line[:80]}`): not one CSV row"
            raise ConfigurationError(msg) from None
        cells = [c.strip() for c in cells]
        if cells and cells[0].lower() == "defecttype":
            continue
        if len(cells) not in (2, 3) or not cells[0]:
            msg = (
                f"VMRS table {where}, row {n} (`{line[:80]}`): use `defectType,systemCode[,system]`, "
                "e.g. `Brakes,013,Brakes`"
            )
            raise ConfigurationError(msg)
        if not _CODE.match(cells[1]):
            msg = (
                f"VMRS table {where}, row {n} (`{line[:80]}`): system code `{cells[1]}` is not three digits"
                " (a VMRS Code Key 31 system code, e.g. `013`)"
            )
            raise ConfigurationError(msg)
        key = cells[0].lower()
        if key in rows and rows[key][0] != cells[1]:
            msg = (
                f"VMRS table {where}, row {n} (`{line[:80]}`): defect type `{cells[0]}` is already mapped"
                f" to `{rows[key][0]}`: keep one row per defect type"
            )
            raise ConfigurationError(msg)
        rows[key] = (cells[1], (cells[2] or None) if len(cells) == 3 else None)
    if not rows:
        msg = f"VMRS table {where} has no rows: add `defectType,systemCode[,system]` rows"
        raise ConfigurationError(msg)
    return VmrsTable(rows=rows, source=source)


def builtin() -> VmrsTable:
    """The project's table for Samsara's standard defect types."""
    text = resources.files("samsara_fmc.data").joinpath("vmrs_systems.csv").read_text("utf-8")
    return parse(text, source="builtin", where="`samsara_fmc/data/vmrs_systems.csv`")


def from_parameter(value: str | None, storage: ObjectStore) -> VmrsTable:
    """The table the ``vmrsTable`` parameter names (``storage:<key>`` or inline rows), else the
    project's own."""
    if not value or not value.strip():
        return builtin()
    value = value.strip()
    if value.startswith("storage:"):
        key = value.removeprefix("storage:").strip()
        try:
            raw = storage.get(key)
        except ConfigurationError as e:
            msg = f"parameter `vmrsTable` is `{value[:80]}`: {e}"
            raise ConfigurationError(msg) from None
        if raw is None:
            msg = (
                f"parameter `vmrsTable` names `{key}`, which is not in the Function's storage: upload the"
                " CSV there, or leave `vmrsTable` empty for the project's table"
            )
            raise ConfigurationError(msg)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            msg = f"VMRS table `{key}` is not UTF-8 text: save it as a UTF-8 CSV"
            raise ConfigurationError(msg) from None
        return parse(text, source="fmc", where=f"`{key}`")
    return parse(value.replace(";", "\n"), source="fmc", where="in parameter `vmrsTable`")
