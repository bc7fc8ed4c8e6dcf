"""IFTA: monthly and quarterly reports (``/fleet/reports/ifta/jurisdiction`` and ``/vehicle``) of
closed periods, and a return-ready export per quarter, on the ``periods`` driver.

A period is read once it has closed: ``settleHours`` (at least the 72 Samsara advises) after its end
in the westernmost time zone (UTC-12), since Samsara reports in the organisation's time zone. Each
run reads every closed month and quarter that ended within ``monthsBack`` months (or only
``period``), and delivers a period's records when they differ from what was delivered for it last:
once, and again under the same ``id`` s when Samsara's figures for it change (a fuel purchase
imported late, a corrected mileage).

The jurisdiction report gives no fuel type, so it is read once unfiltered and then per fuel type of
``fuelTypes`` (the common ones first) until the fuel types read account for every jurisdiction's
distance and fuel: the ``ifta_jurisdiction`` records are per period, fuel type and jurisdiction. The
vehicle report (paged) gives ``ifta_vehicle`` records per period, vehicle and jurisdiction; read
again with ``fuelType=Unspecified`` it names the vehicles without a fuel type. Distances are
converted from metres to whole miles and kilometres, fuel from litres to US gallons and litres to
0.01, each figure on its own (half up), so that sums of the figures are exact.

Per quarter, an ``ifta_return`` record carries the return: per fuel type the fleet MPG (total miles
over tax-paid gallons, to 0.01, as IFTA computes it) and per jurisdiction the total and taxable
miles, taxable gallons (taxable miles over the MPG), tax-paid gallons and net taxable gallons (and
the same in kilometres and litres), as a CSV laid out like the quarterly return (``csv``, with a
total line per fuel type that is the sum of its lines), and the flags that block filing it. Electric
miles pay no fuel tax: they are in the jurisdiction records but not in the return.
"""

from __future__ import annotations

import calendar
import csv
import datetime as _dt
import hashlib
import io
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from samsara_fmc.client import ParamValue
from samsara_fmc.engine import PeriodsDriver, RunContext, Stream
from samsara_fmc.engine._util import Clock, iso, utc_now
from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint

__all__ = [
    "CLOCK",
    "CSV_HEADER",
    "FUEL_TYPES",
    "JURISDICTION_PATH",
    "VEHICLE_PATH",
    "Period",
    "closed_at",
    "due_periods",
    "jurisdiction_records",
    "newest_period_end",
    "parse_period",
    "return_record",
    "streams",
]

JURISDICTION_PATH = "/fleet/reports/ifta/jurisdiction"
VEHICLE_PATH = "/fleet/reports/ifta/vehicle"
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
COMMON = ("Diesel", "Gasoline", "Unspecified", "Electricity", "Propane", "Biodiesel")
"""Fuel types read first: most fleets' miles are all under these, and the rest need not be read."""
_EPSILON = Decimal("0.5")
"""Metres or litres left unaccounted that count as rounding, not as another fuel type."""
UNTAXED = frozenset({"Electricity"})
"""Fuel types with no fuel tax: no return lines, no fuel purchases expected."""
CLOCK: Clock = utc_now
"""The current time (tests set the sandbox's simulated clock)."""
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


def _dec(value: Any) -> Decimal:
    return Decimal(repr(float(value or 0.0)))


def _miles(meters: Decimal) -> int:
    return int((meters / METERS_PER_MILE).quantize(Decimal(1), ROUND_HALF_UP))


def _km(meters: Decimal) -> int:
    return int((meters / 1000).quantize(Decimal(1), ROUND_HALF_UP))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _figures(item: Mapping[str, Any]) -> dict[str, Any]:
    """A jurisdiction summary's figures as Samsara gives them and converted."""
    total, taxable, liters = (
        _dec(item.get("totalMeters")),
        _dec(item.get("taxableMeters")),
        _dec(item.get("taxPaidLiters")),
    )
    return {
        "jurisdiction": str(item["jurisdiction"]),
        "totalMeters": float(total),
        "taxableMeters": float(taxable),
        "taxPaidLitersReported": float(liters),
        "totalMiles": _miles(total),
        "taxableMiles": _miles(taxable),
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
                    **p.fields(),
                    "vehicleId": vid,
                    "vehicleName": vehicle.get("name"),
                    "vehicleExternalIds": vehicle.get("externalIds") or None,
                    "withoutFuelType": vid in untyped,
                    **x,
                }
            )
    return out


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


class _Reads:
    """One run's reads of each period's reports, shared by the streams (they run in parallel)."""

    def __init__(self, ctx: RunContext, fuel_types: Sequence[str]) -> None:
        self.client = ctx.client
        self.fuel_types = fuel_types
        self.lock = threading.Lock()
        self.done: dict[str, dict[str, Any]] = {}

    def get(self, p: Period, deadline: float) -> dict[str, Any]:
        with self.lock:
            if p.key not in self.done:
                self.done[p.key] = self._read(p, deadline)
            return self.done[p.key]

    def _jurisdictions(self, p: Period, deadline: float, fuel: str | None) -> dict[str, Any]:
        params = p.query() | ({"fuelType": fuel} if fuel else {})
        return dict(self.client.get(JURISDICTION_PATH, params=params, deadline=deadline)["data"])

    def _vehicles(self, p: Period, deadline: float, fuel: str | None) -> list[dict[str, Any]]:
        params = p.query() | ({"fuelType": fuel} if fuel else {})
        out: list[dict[str, Any]] = []
        for page in self.client.pages(VEHICLE_PATH, params=params, deadline=deadline):
            data = page.data
            out.extend(data.get("vehicleReports") or [] if isinstance(data, Mapping) else data)
        return out

    def _by_fuel(
        self, p: Period, deadline: float, whole: Sequence[Mapping[str, Any]]
    ) -> dict[str, list[dict[str, Any]]]:
        """The jurisdiction report per fuel type, the common types first; once they account for the
        whole report (every jurisdiction's distance and fuel) the others are empty and not read."""
        left = {
            str(j["jurisdiction"]): (_dec(j.get("totalMeters")), _dec(j.get("taxPaidLiters"))) for j in whole
        }
        out: dict[str, list[dict[str, Any]]] = {}
        for fuel in sorted(self.fuel_types, key=lambda f: (f not in COMMON, FUEL_TYPES.index(f))):
            if not any(m > _EPSILON or abs(lit) > _EPSILON for m, lit in left.values()):
                break
            out[fuel] = list(self._jurisdictions(p, deadline, fuel).get("jurisdictionReports") or [])
            for j in out[fuel]:
                m, lit = left.get(str(j["jurisdiction"]), (Decimal(0), Decimal(0)))
                left[str(j["jurisdiction"])] = (
                    m - _dec(j.get("totalMeters")),
                    lit - _dec(j.get("taxPaidLiters")),
                )
        return out

    def _read(self, p: Period, deadline: float) -> dict[str, Any]:
        whole = self._jurisdictions(p, deadline, None)
        by_fuel = self._by_fuel(p, deadline, list(whole.get("jurisdictionReports") or []))
        untyped_reports = self._vehicles(p, deadline, "Unspecified")
        untyped = {
            str((r.get("vehicle") or {}).get("id"))
            for r in untyped_reports
            if any(float(j.get("totalMeters") or 0) > 0 for j in r.get("jurisdictions") or [])
        }
        lines = jurisdiction_records(p, by_fuel)
        vehicles = vehicle_records(p, self._vehicles(p, deadline, None), untyped)
        read_miles = sum(_miles(_dec(j.get("totalMeters"))) for items in by_fuel.values() for j in items)
        all_miles = sum(_miles(_dec(j.get("totalMeters"))) for j in whole.get("jurisdictionReports") or [])
        return {
            "lines": lines,
            "vehicles": vehicles,
            "troubleshooting": whole.get("troubleshooting"),
            "untyped": list({v["vehicleId"]: v for v in vehicles if v["withoutFuelType"]}.values()),
            # Whole miles of each line are rounded on their own: a gap of a mile per line is rounding.
            "unattributed": all_miles - read_miles
            if abs(all_miles - read_miles) > len(whole.get("jurisdictionReports") or [])
            else 0,
        }


def newest_period_end(batch: Batch) -> str | None:
    """The end of the newest period in a batch (for the stream's lag in health)."""
    ends = [str(r["periodEnd"]) for r in batch.records() if r.get("periodEnd")]
    return f"{max(ends)}T23:59:59Z" if ends else None


def streams(ctx: RunContext) -> list[Stream]:
    """The jurisdiction, vehicle and return streams of a run, from its parameters."""
    p = ctx.params
    months_back = int(p["monthsBack"])
    settle = _dt.timedelta(hours=int(p["settleHours"]))
    fuel_types = tuple(p.get("fuelTypes") or FUEL_TYPES)
    min_miles = int(p["minMilesForFuel"])
    only = parse_period(str(p["period"])) if p.get("period") else None
    if only is not None and (opens := closed_at(only, settle)) > CLOCK():
        msg = (
            f"event parameter `period` is `{only.key}`: it has not closed yet (Samsara's figures settle"
            f" 72 hours after a period ends); run after {iso(opens)}"
        )
        raise ConfigurationError(msg)
    reads = _Reads(ctx, fuel_types)

    def due(now: _dt.datetime) -> list[Period]:
        return [only] if only is not None else due_periods(now, months_back, settle)

    def keys(quarters: bool) -> Callable[[_dt.datetime], list[str]]:
        return lambda now: [x.key for x in due(now) if not quarters or x.quarter]

    def field(name: str) -> Callable[[str, float], list[dict[str, Any]]]:
        return lambda key, deadline: list(reads.get(parse_period(key), deadline)[name])

    def returns(key: str, deadline: float) -> list[dict[str, Any]]:
        r = reads.get(parse_period(key), deadline)
        return [
            return_record(
                parse_period(key),
                r["lines"],
                troubleshooting=r["troubleshooting"],
                untyped=r["untyped"],
                unattributed_miles=r["unattributed"],
                min_miles_for_fuel=min_miles,
            )
        ]

    # `fuelTypes` and `minMilesForFuel` change records, not what a period is: a change re-delivers
    # the periods it touches (same ids), so they are not part of the streams' fingerprints.
    return [
        Stream(
            name="ifta-jurisdictions",
            sink_stream="ifta_jurisdictions",
            fingerprint=fingerprint({"path": JURISDICTION_PATH}),
            driver=PeriodsDriver(due=keys(False), fetch=field("lines"), clock=lambda: CLOCK()),
            newest=newest_period_end,
        ),
        Stream(
            name="ifta-vehicles",
            sink_stream="ifta_vehicles",
            fingerprint=fingerprint({"path": VEHICLE_PATH}),
            driver=PeriodsDriver(due=keys(False), fetch=field("vehicles"), clock=lambda: CLOCK()),
            newest=newest_period_end,
        ),
        Stream(
            name="ifta-returns",
            sink_stream="ifta_returns",
            fingerprint=fingerprint({"path": JURISDICTION_PATH, "returns": 1}),
            driver=PeriodsDriver(due=keys(True), fetch=returns, clock=lambda: CLOCK()),
            newest=newest_period_end,
        ),
    ]
