"""IFTA periods and figures: a month or quarter and when it closes, Samsara's report figures converted
(metres to whole miles and kilometres, litres to US gallons and litres to 0.01, each figure on its
own, half up, so that sums of figures are exact), the ``ifta_jurisdiction`` and ``ifta_vehicle``
records, and the quarterly return: per fuel type the fleet MPG (total miles over tax-paid gallons, to
0.01, as IFTA computes it) and per jurisdiction the total and taxable miles, taxable gallons (taxable
miles over the MPG), tax-paid gallons and net taxable gallons (and the same in kilometres and
litres), as a CSV laid out like the quarterly return with a total line per fuel type that is the sum
of its lines, and the flags that block filing it. Electric miles pay no fuel tax: they are in the
jurisdiction records but not in the return."""

from __future__ import annotations

import calendar
import csv
import datetime as _dt
import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from samsara_fmc.client import ParamValue
from samsara_fmc.exceptions import ConfigurationError

__all__ = [
    "CSV_HEADER",
    "FUEL_TYPES",
    "UNTAXED",
    "Period",
    "closed_at",
    "dec",
    "due_periods",
    "jurisdiction_records",
    "miles",
    "parse_period",
    "return_record",
    "vehicle_records",
    "withdrawn_jurisdiction",
    "withdrawn_vehicle",
]

FUEL_TYPES = (
    "Unspecified",
    "A55",
    "Biodiesel",
    "CompressedNaturalGas",
    "Diesel",
    "E85",
    "Electricity",
    "Ethanol",
    "Gasohol",
    "Gasoline",
    "Hydrogen",
    "LiquifiedNaturalGas",
    "M85",
    "Methanol",
    "Propane",
    "Other",
)
"""Samsara's IFTA fuel types (``Unspecified``: vehicles without one)."""
UNTAXED = frozenset({"Electricity"})
"""Fuel types with no fuel tax: no return lines, no fuel purchases expected."""
WESTMOST = _dt.timedelta(hours=12)
"""A period ends at local midnight of the organisation's time zone, at the latest UTC+12 h."""
METERS_PER_MILE = Decimal("1609.344")
LITERS_PER_GALLON = Decimal("3.785411784")
CENT = Decimal("0.01")
CSV_HEADER = (
    "Fuel Type",
    "Jurisdiction",
    "Total Miles",
    "Taxable Miles",
    "Fleet MPG",
    "Taxable Gallons",
    "Tax-Paid Gallons",
    "Net Taxable Gallons",
    "Total Kilometers",
    "Taxable Kilometers",
    "Taxable Liters",
    "Tax-Paid Liters",
    "Net Taxable Liters",
)
"""The return CSV's columns: one line per fuel type and jurisdiction, then a ``TOTAL`` line per fuel type."""
_PERIOD = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")


@dataclass(frozen=True)
class Period:
    """A calendar month or quarter: ``key`` is ``2026-12`` or ``2026-Q4`` (keys sort in time order)."""

    year: int
    month: int | None = None
    quarter: int | None = None

    @property
    def key(self) -> str:
        return f"{self.year}-{self.month:02d}" if self.month else f"{self.year}-Q{self.quarter}"

    @property
    def first_month(self) -> int:
        return self.month or 3 * (self.quarter or 1) - 2

    @property
    def start(self) -> _dt.date:
        return _dt.date(self.year, self.first_month, 1)

    @property
    def end(self) -> _dt.date:
        """The first day after the period."""
        last = self.first_month + (0 if self.month else 2)
        return _dt.date(self.year + last // 12, last % 12 + 1, 1)

    def query(self) -> dict[str, ParamValue]:
        """The report's ``year`` and ``month`` or ``quarter``."""
        if self.month:
            return {"year": self.year, "month": calendar.month_name[self.month]}
        return {"year": self.year, "quarter": f"Q{self.quarter}"}

    def fields(self) -> dict[str, Any]:
        """The period's fields of a record."""
        return {
            "period": self.key,
            "periodType": "month" if self.month else "quarter",
            "year": self.year,
            "month": self.month,
            "quarter": self.quarter,
            "periodStart": self.start.isoformat(),
            "periodEnd": (self.end - _dt.timedelta(days=1)).isoformat(),
        }


def parse_period(text: str) -> Period:
    """``2026-12`` or ``2026-Q4`` as a :class:`Period`, or a :class:`ConfigurationError`."""
    m = _PERIOD.match(text.strip())
    if not m or not 2000 <= int(m.group(1)) <= 2100:
        msg = (
            f"event parameter `period` is `{text}`: use a month `YYYY-MM` (`2026-12`) or a quarter"
            " `YYYY-Qn` (`2026-Q4`)"
        )
        raise ConfigurationError(msg)
    year = int(m.group(1))
    return Period(year, month=int(m.group(2))) if m.group(2) else Period(year, quarter=int(m.group(3)))


def closed_at(p: Period, settle: _dt.timedelta) -> _dt.datetime:
    """When ``p`` counts as closed: ``settle`` after its end in the westernmost time zone."""
    return _dt.datetime.combine(p.end, _dt.time(), tzinfo=_dt.UTC) + WESTMOST + settle


def due_periods(now: _dt.datetime, months_back: int, settle: _dt.timedelta) -> list[Period]:
    """The closed months and quarters that ended within ``months_back`` months of ``now``'s month,
    oldest first (a quarter after its last month)."""
    out = []
    y, m = now.year, now.month
    for _ in range(months_back):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        month = Period(y, month=m)
        if closed_at(month, settle) <= now:
            out.append(month)
        if m % 3 == 0 and closed_at(quarter := Period(y, quarter=m // 3), settle) <= now:
            out.append(quarter)
    return sorted(out, key=lambda p: (p.end, p.key))


def dec(value: Any) -> Decimal:
    """A JSON number as a Decimal of its shortest text (``0.1`` is ``Decimal("0.1")``)."""
    return Decimal(repr(float(value or 0.0)))


def miles(meters: Decimal) -> int:
    """Metres in whole miles, half up."""
    return int((meters / METERS_PER_MILE).quantize(Decimal(1), ROUND_HALF_UP))


def _km(meters: Decimal) -> int:
    return int((meters / 1000).quantize(Decimal(1), ROUND_HALF_UP))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _figures(item: Mapping[str, Any]) -> dict[str, Any]:
    """A jurisdiction summary's figures as Samsara gives them and converted."""
    total, taxable, liters = (
        dec(item.get("totalMeters")),
        dec(item.get("taxableMeters")),
        dec(item.get("taxPaidLiters")),
    )
    return {
        "jurisdiction": str(item["jurisdiction"]),
        "totalMeters": float(total),
        "taxableMeters": float(taxable),
        "taxPaidLitersReported": float(liters),
        "totalMiles": miles(total),
        "taxableMiles": miles(taxable),
        "totalKilometers": _km(total),
        "taxableKilometers": _km(taxable),
        "taxPaidGallons": float(_cents(liters / LITERS_PER_GALLON)),
        "taxPaidLiters": float(_cents(liters)),
    }


def jurisdiction_records(
    p: Period, by_fuel: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[dict[str, Any]]:
    """``ifta_jurisdiction`` records of a period from its jurisdiction report per fuel type, with the
    return's figures (fleet MPG per fuel type, taxable and net taxable gallons and litres)."""
    out = []
    for fuel, items in sorted(by_fuel.items()):
        lines = [_figures(i) for i in items]
        miles = sum(x["totalMiles"] for x in lines)
        gallons = sum((Decimal(repr(x["taxPaidGallons"])) for x in lines), Decimal(0))
        mpg = _cents(Decimal(miles) / gallons) if gallons > 0 and fuel not in UNTAXED else None
        for x in sorted(lines, key=lambda x: x["jurisdiction"]):
            if not (x["totalMeters"] or x["taxPaidLiters"]):
                continue
            taxable = _cents(Decimal(x["taxableMiles"]) / mpg) if mpg else None
            paid = Decimal(repr(x["taxPaidGallons"]))
            taxable_l = _cents(taxable * LITERS_PER_GALLON) if taxable is not None else None
            out.append(
                {
                    "id": f"{p.key}:{fuel}:{x['jurisdiction']}",
                    "schemaVersion": 1,
                    "status": "reported",
                    **p.fields(),
                    "fuelType": fuel,
                    **x,
                    "fleetMpg": None if mpg is None else float(mpg),
                    "taxableGallons": None if taxable is None else float(taxable),
                    "netTaxableGallons": None if taxable is None else float(taxable - paid),
                    "taxableLiters": None if taxable_l is None else float(taxable_l),
                    "netTaxableLiters": None
                    if taxable_l is None
                    else float(taxable_l - Decimal(repr(x["taxPaidLiters"]))),
                }
            )
    return out


def vehicle_records(
    p: Period, reports: Sequence[Mapping[str, Any]], untyped: set[str]
) -> list[dict[str, Any]]:
    """``ifta_vehicle`` records of a period: one per vehicle and jurisdiction it drove or bought in."""
    out = []
    for r in reports:
        vehicle = r.get("vehicle") or {}
        vid = str(vehicle.get("id") or "")
        for j in r.get("jurisdictions") or []:
            x = _figures(j)
            if not (x["totalMeters"] or x["taxPaidLiters"]):
                continue
            out.append(
                {
                    "id": f"{p.key}:{vid}:{x['jurisdiction']}",
                    "schemaVersion": 1,
                    "status": "reported",
                    **p.fields(),
                    "vehicleId": vid,
                    "vehicleName": vehicle.get("name"),
                    "vehicleExternalIds": vehicle.get("externalIds") or None,
                    "withoutFuelType": vid in untyped,
                    **x,
                }
            )
    return out


_ZERO = {
    "totalMeters": 0.0,
    "taxableMeters": 0.0,
    "taxPaidLitersReported": 0.0,
    "totalMiles": 0,
    "taxableMiles": 0,
    "totalKilometers": 0,
    "taxableKilometers": 0,
    "taxPaidGallons": 0.0,
    "taxPaidLiters": 0.0,
}


def withdrawn_jurisdiction(period: str, record_id: str) -> dict[str, Any]:
    """The ``ifta_jurisdiction`` record that withdraws ``record_id`` (``<period>:<fuelType>:<code>``)
    from ``period``: Samsara's figures for the period no longer have that fuel type in that
    jurisdiction (a vehicle given its fuel type, a corrected mileage). Same ``id``, ``status``
    ``withdrawn``, every figure zero (sums over a period's records stay right) and no return figures."""
    _, fuel, jurisdiction = record_id.rsplit(":", 2)
    return {
        "id": record_id,
        "schemaVersion": 1,
        "status": "withdrawn",
        **parse_period(period).fields(),
        "fuelType": fuel,
        "jurisdiction": jurisdiction,
        **_ZERO,
        "fleetMpg": None,
        "taxableGallons": None,
        "netTaxableGallons": None,
        "taxableLiters": None,
        "netTaxableLiters": None,
    }


def withdrawn_vehicle(period: str, record_id: str) -> dict[str, Any]:
    """The ``ifta_vehicle`` record that withdraws ``record_id`` (``<period>:<vehicleId>:<code>``) from
    ``period``: the vehicle no longer has figures in that jurisdiction in Samsara's report. Same
    ``id``, ``status`` ``withdrawn``, every figure zero."""
    _, vehicle, jurisdiction = record_id.rsplit(":", 2)
    return {
        "id": record_id,
        "schemaVersion": 1,
        "status": "withdrawn",
        **parse_period(period).fields(),
        "vehicleId": vehicle,
        "vehicleName": None,
        "vehicleExternalIds": None,
        "withoutFuelType": False,
        "jurisdiction": jurisdiction,
        **_ZERO,
    }


def _flag(code: str, message: str, **more: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **{k: v for k, v in more.items() if v is not None}}


def return_record(
    p: Period,
    lines: Sequence[Mapping[str, Any]],
    *,
    troubleshooting: Mapping[str, Any] | None,
    untyped: Sequence[Mapping[str, Any]],
    unattributed_miles: int,
    min_miles_for_fuel: int,
) -> dict[str, Any]:
    """The ``ifta_return`` of quarter ``p`` from its ``ifta_jurisdiction`` records: the CSV, totals per
    fuel type and the flags that block filing (``readyToFile`` only without any)."""
    taxed = [r for r in lines if r["fuelType"] not in UNTAXED]
    flags = []
    if untyped:
        ids = sorted(str(v["vehicleId"]) for v in untyped)
        names = ", ".join(f"`{v.get('vehicleName') or v['vehicleId']}`" for v in untyped[:10])
        names += f" and {len(untyped) - 10} more" if len(untyped) > 10 else ""
        flags.append(
            _flag(
                "vehicles_without_fuel_type",
                f"{len(ids)} vehicles drove without a fuel type ({names}): give them one in Samsara",
                vehicleIds=ids,
            )
        )
    t = troubleshooting or {}
    if t.get("noPurchasesFound"):
        flags.append(
            _flag("no_purchases_found", "Samsara found no fuel purchases for the quarter: import them")
        )
    for key, what in (
        ("unassignedFuelTypeVehicles", "vehicles without a fuel type"),
        ("unassignedFuelTypePurchases", "fuel purchases without a fuel type"),
        ("unassignedVehiclePurchases", "fuel purchases without a vehicle"),
    ):
        if int(t.get(key) or 0) > 0 and not (key == "unassignedFuelTypeVehicles" and untyped):
            flags.append(
                _flag(key, f"Samsara counts {t[key]} {what}: assign them in Samsara", count=int(t[key]))
            )
    if unattributed_miles:
        flags.append(
            _flag(
                "unattributed_miles",
                f"{unattributed_miles} miles of the quarter are under none of the fuel types read: add"
                " their fuel type to `fuelTypes`",
                miles=unattributed_miles,
            )
        )
    for r in taxed:
        if r["taxableMiles"] >= min_miles_for_fuel and not r["taxPaidGallons"]:
            flags.append(
                _flag(
                    "miles_without_fuel",
                    f"{r['taxableMiles']} taxable miles in `{r['jurisdiction']}` ({r['fuelType']}) and no"
                    " fuel bought there: check for missing fuel purchases",
                    fuelType=r["fuelType"],
                    jurisdiction=r["jurisdiction"],
                )
            )
    for fuel in sorted({r["fuelType"] for r in taxed if r["fleetMpg"] is None}):
        flags.append(
            _flag(
                "no_fleet_mpg",
                f"no fuel bought for `{fuel}`: the fleet MPG cannot be computed",
                fuelType=fuel,
            )
        )
    text, totals = _return_csv(taxed)
    return {
        "id": p.key,
        "schemaVersion": 1,
        **{k: v for k, v in p.fields().items() if k not in ("period", "periodType", "month")},
        "readyToFile": not flags,
        "flags": flags,
        "totals": totals,
        "troubleshooting": dict(t) if t else None,
        "lines": len(taxed),
        "csvFileName": f"ifta-return-{p.key}.csv",
        "csvSha256": hashlib.sha256(text.encode()).hexdigest(),
        "csv": text,
    }


_SUMMED = (
    "totalMiles",
    "taxableMiles",
    "taxableGallons",
    "taxPaidGallons",
    "netTaxableGallons",
    "totalKilometers",
    "taxableKilometers",
    "taxableLiters",
    "taxPaidLiters",
    "netTaxableLiters",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{Decimal(repr(value)):.2f}"
    return str(value)


def _return_csv(lines: Sequence[Mapping[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    totals = []
    for fuel in sorted({r["fuelType"] for r in lines}):
        rows = [r for r in lines if r["fuelType"] == fuel]
        sums: dict[str, Any] = {}
        for k in _SUMMED:
            vals = [r[k] for r in rows]
            if any(v is None for v in vals):
                sums[k] = None
            elif isinstance(vals[0], int):
                sums[k] = sum(vals)
            else:
                sums[k] = float(sum((Decimal(repr(v)) for v in vals), Decimal(0)))
        for r in rows:
            w.writerow(
                [
                    fuel,
                    r["jurisdiction"],
                    *[_cell(r[k]) for k in ("totalMiles", "taxableMiles", "fleetMpg")],
                    *[_cell(r[k]) for k in _SUMMED[2:]],
                ]
            )
        mpg = rows[0]["fleetMpg"]
        w.writerow(
            [
                fuel,
                "TOTAL",
                _cell(sums["totalMiles"]),
                _cell(sums["taxableMiles"]),
                _cell(mpg),
                *[_cell(sums[k]) for k in _SUMMED[2:]],
            ]
        )
        totals.append({"fuelType": fuel, "fleetMpg": mpg, **sums})
    return buf.getvalue(), totals
