"""IFTA: monthly and quarterly reports (``/fleet/reports/ifta/jurisdiction`` and ``/vehicle``) of
closed periods, and a return-ready export per quarter, on the ``periods`` driver.

A period is read once it has closed: ``settleHours`` (at least the 72 Samsara advises) after its end
in the westernmost time zone (UTC-12), since Samsara reports in the organisation's time zone. Each
run reads every closed month and quarter that ended within ``monthsBack`` months (or only
``period``), and delivers a period's records when they differ from what was delivered for it last:
once, and again under the same ``id`` s when Samsara's figures for it change (a fuel purchase
imported late, a corrected mileage). A jurisdiction or vehicle line that is no longer in a changed
period's figures (a vehicle given its fuel type leaves the period's ``Unspecified`` lines) is
withdrawn: delivered again under its ``id`` with ``status`` ``withdrawn`` and every figure zero, so
the FMC's lines of a period always sum to Samsara's figures; the quarter's return, built from the
current figures, never has a withdrawn line.

The jurisdiction report gives no fuel type, so it is read once unfiltered and then per fuel type of
``fuelTypes`` (the common ones first) until the fuel types read account for every jurisdiction's
distance and fuel: the ``ifta_jurisdiction`` records are per period, fuel type and jurisdiction. The
vehicle report (paged) gives ``ifta_vehicle`` records per period, vehicle and jurisdiction; read
again with ``fuelType=Unspecified`` it names the vehicles without a fuel type. Per quarter, an
``ifta_return`` record carries the return as CSV and the flags that block filing it (the figures,
their conversions and the return are in :mod:`samsara_fmc.integrations.ifta_return`).
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from samsara_fmc.engine import PeriodsDriver, RunContext, Stream
from samsara_fmc.engine._util import Clock, iso, utc_now
from samsara_fmc.exceptions import ConfigurationError, ResponseDecodeError
from samsara_fmc.integrations.ifta_return import (
    CSV_HEADER,
    FUEL_TYPES,
    Period,
    closed_at,
    dec,
    due_periods,
    jurisdiction_records,
    miles,
    parse_period,
    return_record,
    vehicle_records,
    withdrawn_jurisdiction,
    withdrawn_vehicle,
)
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint

__all__ = [
    "CLOCK",
    "CSV_HEADER",
    "FUEL_TYPES",
    "JURISDICTION_PATH",
    "VEHICLE_PATH",
    "Period",
    "check_report",
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
COMMON = ("Diesel", "Gasoline", "Unspecified", "Electricity", "Propane", "Biodiesel")
"""Fuel types read first: most fleets' miles are all under these, and the rest need not be read."""
_EPSILON = Decimal("0.5")
"""Metres or litres left unaccounted that count as rounding, not as another fuel type."""
CLOCK: Clock = utc_now
"""The current time (tests set the sandbox's simulated clock)."""


def check_report(path: str, data: Any, key: str) -> None:
    """Raises :class:`ResponseDecodeError` unless ``data`` is an IFTA report's ``data``: ``key`` a
    list of jurisdiction summaries (``vehicleReports``: of vehicles, each with such a list) whose
    ``jurisdiction`` is text and whose figures are numbers."""

    def summaries(items: Any) -> bool:
        return isinstance(items, list) and all(
            isinstance(j, Mapping)
            and isinstance(j.get("jurisdiction"), str)
            and all(
                j.get(f) is None or (isinstance(j[f], int | float) and not isinstance(j[f], bool))
                for f in ("totalMeters", "taxableMeters", "taxPaidLiters")
            )
            for j in items
        )

    items = data.get(key) if isinstance(data, Mapping) else None
    ok = (
        summaries(items)
        if key == "jurisdictionReports"
        else isinstance(items, list)
        and all(isinstance(v, Mapping) and summaries(v.get("jurisdictions")) for v in items)
    )
    if not ok:
        msg = (
            f"`GET {path}` answered without `data.{key}` as Samsara documents it (a list of jurisdiction"
            " summaries with a `jurisdiction` code and numeric `totalMeters`, `taxableMeters` and"
            " `taxPaidLiters`): nothing was delivered for the period; the next run reads it again"
        )
        raise ResponseDecodeError(msg, "GET", path, 1, 0.0)


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
        body = self.client.get(JURISDICTION_PATH, params=params, deadline=deadline)
        data = body.get("data") if isinstance(body, Mapping) else None
        check_report(JURISDICTION_PATH, data, "jurisdictionReports")
        return dict(data or {})

    def _vehicles(self, p: Period, deadline: float, fuel: str | None) -> list[dict[str, Any]]:
        params = p.query() | ({"fuelType": fuel} if fuel else {})
        out: list[dict[str, Any]] = []
        for page in self.client.pages(VEHICLE_PATH, params=params, deadline=deadline):
            check_report(VEHICLE_PATH, page.data, "vehicleReports")
            out.extend(page.data["vehicleReports"])
        return out

    def _by_fuel(
        self, p: Period, deadline: float, whole: Sequence[Mapping[str, Any]]
    ) -> dict[str, list[dict[str, Any]]]:
        """The jurisdiction report per fuel type, the common types first; once they account for the
        whole report (every jurisdiction's distance and fuel) the others are empty and not read."""
        left = {
            str(j["jurisdiction"]): (dec(j.get("totalMeters")), dec(j.get("taxPaidLiters"))) for j in whole
        }
        out: dict[str, list[dict[str, Any]]] = {}
        for fuel in sorted(self.fuel_types, key=lambda f: (f not in COMMON, FUEL_TYPES.index(f))):
            if not any(m > _EPSILON or abs(lit) > _EPSILON for m, lit in left.values()):
                break
            out[fuel] = list(self._jurisdictions(p, deadline, fuel).get("jurisdictionReports") or [])
            for j in out[fuel]:
                m, lit = left.get(str(j["jurisdiction"]), (Decimal(0), Decimal(0)))
                left[str(j["jurisdiction"])] = (
                    m - dec(j.get("totalMeters")),
                    lit - dec(j.get("taxPaidLiters")),
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
        read_miles = sum(miles(dec(j.get("totalMeters"))) for items in by_fuel.values() for j in items)
        all_miles = sum(miles(dec(j.get("totalMeters"))) for j in whole.get("jurisdictionReports") or [])
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


def return_csv(record: Mapping[str, Any]) -> list[tuple[str, bytes, str]]:
    """A return record's CSV as a file of its own (``<period>/ifta-return-<period>.csv``), delivered
    before the record; the record keeps it too, with its SHA-256."""
    return [(f"{record['id']}/{record['csvFileName']}", str(record["csv"]).encode(), "text/csv")]


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
            driver=PeriodsDriver(
                due=keys(False), fetch=field("lines"), clock=lambda: CLOCK(), withdraw=withdrawn_jurisdiction
            ),
            newest=newest_period_end,
        ),
        Stream(
            name="ifta-vehicles",
            sink_stream="ifta_vehicles",
            fingerprint=fingerprint({"path": VEHICLE_PATH}),
            driver=PeriodsDriver(
                due=keys(False), fetch=field("vehicles"), clock=lambda: CLOCK(), withdraw=withdrawn_vehicle
            ),
            newest=newest_period_end,
        ),
        Stream(
            name="ifta-returns",
            sink_stream="ifta_returns",
            fingerprint=fingerprint({"path": JURISDICTION_PATH, "returns": 1}),
            driver=PeriodsDriver(due=keys(True), fetch=returns, clock=lambda: CLOCK(), files=return_csv),
            newest=newest_period_end,
        ),
    ]
