"""``ifta_jurisdiction``, ``ifta_vehicle`` and ``ifta_return``: Samsara's IFTA reports of closed
months and quarters, converted, and the return-ready export of each quarter."""

from __future__ import annotations

from samsara_fmc.records._model import Field, JsonType, RecordType

__all__ = ["IFTA_JURISDICTION", "IFTA_RETURN", "IFTA_VEHICLE"]

_EXTERNAL_IDS = Field("externalId", "string", "One external ID.")
_NUM_NULL: tuple[JsonType, ...] = ("number", "null")


def _period(*, month: bool = True) -> tuple[Field, ...]:
    head = (
        (
            Field(
                "period", "string", "The period: `YYYY-MM` (a month) or `YYYY-Qn` (a quarter).", required=True
            ),
            Field(
                "periodType",
                "string",
                "Whether it is a month or a quarter.",
                enum=("month", "quarter"),
                required=True,
            ),
        )
        if month
        else ()
    )
    return (
        *head,
        Field("year", "integer", "The period's year.", required=True),
        *(
            (Field("month", ("integer", "null"), "The month (1-12), or null for a quarter."),)
            if month
            else ()
        ),
        Field("quarter", ("integer", "null"), "The quarter (1-4), or null for a month."),
        Field("periodStart", "string", "The period's first day (`YYYY-MM-DD`).", required=True),
        Field("periodEnd", "string", "The period's last day (`YYYY-MM-DD`).", required=True),
    )


_STATUS = Field(
    "status",
    "string",
    "`reported`: the line is in Samsara's figures for the period. `withdrawn`: it was delivered before"
    " and is no longer in them (a vehicle given its fuel type, a corrected mileage): every figure is"
    " zero and the line no longer counts towards the period.",
    enum=("reported", "withdrawn"),
    required=True,
)


def _figures() -> tuple[Field, ...]:
    return (
        Field("jurisdiction", "string", "The jurisdiction code (`TX`, `ON`).", required=True),
        Field(
            "totalMeters", "number", "Distance driven there, as Samsara reports it.", unit="m", required=True
        ),
        Field(
            "taxableMeters",
            "number",
            "Of which on public roads (taxable), as Samsara reports it.",
            unit="m",
            required=True,
        ),
        Field(
            "taxPaidLitersReported",
            "number",
            "Fuel bought there, as Samsara reports it.",
            unit="L",
            required=True,
        ),
        Field("totalMiles", "integer", "`totalMeters` in whole miles (half up).", unit="mi", required=True),
        Field(
            "taxableMiles", "integer", "`taxableMeters` in whole miles (half up).", unit="mi", required=True
        ),
        Field(
            "totalKilometers",
            "integer",
            "`totalMeters` in whole kilometres (half up).",
            unit="km",
            required=True,
        ),
        Field(
            "taxableKilometers",
            "integer",
            "`taxableMeters` in whole kilometres (half up).",
            unit="km",
            required=True,
        ),
        Field(
            "taxPaidGallons",
            "number",
            "Fuel bought there (tax paid), to 0.01 US gal.",
            unit="gal",
            required=True,
        ),
        Field("taxPaidLiters", "number", "The same to 0.01 L.", unit="L", required=True),
    )


IFTA_JURISDICTION = RecordType(
    name="ifta_jurisdiction",
    stream="ifta_jurisdictions",
    version=1,
    title="IFTA figures of a jurisdiction and fuel type in a period",
    description=(
        "A closed month's or quarter's IFTA figures for one fuel type in one jurisdiction, from"
        " `/fleet/reports/ifta/jurisdiction` filtered by the fuel type: distance and taxable distance,"
        " fuel bought (tax paid), converted, and the return's figures: the fleet MPG of the fuel type over"
        " the period, taxable gallons (taxable miles over the MPG) and net taxable gallons (less tax paid),"
        " and the same in litres. Delivered again under the same `id` when Samsara's figures for the period"
        " change; withdrawn (`status`) when the period's figures no longer have it. `Unspecified` holds"
        " vehicles without a fuel type; electric miles have no return figures."
    ),
    id_description="`<period>:<fuelType>:<jurisdiction>`.",
    fields=(
        _STATUS,
        *_period(),
        Field(
            "fuelType",
            "string",
            "Samsara's IFTA fuel type (`Diesel`, `Gasoline`, `Unspecified`, ...).",
            required=True,
        ),
        *_figures(),
        Field(
            "fleetMpg",
            _NUM_NULL,
            "Total miles of the fuel type over its tax-paid gallons, to 0.01; null without fuel.",
            unit="mi/gal",
        ),
        Field("taxableGallons", _NUM_NULL, "`taxableMiles` over `fleetMpg`, to 0.01.", unit="gal"),
        Field(
            "netTaxableGallons",
            _NUM_NULL,
            "`taxableGallons` less `taxPaidGallons` (negative: a credit).",
            unit="gal",
        ),
        Field("taxableLiters", _NUM_NULL, "`taxableGallons` in litres, to 0.01.", unit="L"),
        Field("netTaxableLiters", _NUM_NULL, "`taxableLiters` less `taxPaidLiters`.", unit="L"),
    ),
)

IFTA_VEHICLE = RecordType(
    name="ifta_vehicle",
    stream="ifta_vehicles",
    version=1,
    title="IFTA figures of a vehicle in a jurisdiction and period",
    description=(
        "A closed month's or quarter's IFTA figures for one vehicle in one jurisdiction, from"
        " `/fleet/reports/ifta/vehicle`: distance and taxable distance, fuel bought, converted; whether the"
        " vehicle has no fuel type in Samsara. Delivered again under the same `id` when Samsara's figures for"
        " the period change; withdrawn (`status`) when the vehicle no longer has figures there."
    ),
    id_description="`<period>:<vehicleId>:<jurisdiction>`.",
    fields=(
        _STATUS,
        *_period(),
        Field("vehicleId", "string", "The Samsara ID of the vehicle.", required=True),
        Field("vehicleName", ("string", "null"), "The vehicle's name in Samsara."),
        Field(
            "vehicleExternalIds",
            ("object", "null"),
            "The vehicle's external IDs, as Samsara returns them.",
            values=_EXTERNAL_IDS,
        ),
        Field(
            "withoutFuelType",
            "boolean",
            "The vehicle has no fuel type in Samsara (blocks the return).",
            required=True,
        ),
        *_figures(),
    ),
)

_FLAG = Field(
    "flag",
    "object",
    "Something that blocks filing.",
    fields=(
        Field(
            "code",
            "string",
            "What: `vehicles_without_fuel_type`, `no_purchases_found`, `unassignedFuelTypeVehicles`,"
            " `unassignedFuelTypePurchases`, `unassignedVehiclePurchases` (Samsara's troubleshooting counts),"
            " `unattributed_miles`, `miles_without_fuel`, `no_fleet_mpg`.",
            required=True,
        ),
        Field("message", "string", "What is wrong and how to fix it.", required=True),
        Field("fuelType", "string", "The fuel type concerned."),
        Field("jurisdiction", "string", "The jurisdiction concerned."),
        Field(
            "vehicleIds",
            "array",
            "The vehicles concerned.",
            items=Field("vehicleId", "string", "A vehicle ID."),
        ),
        Field("count", "integer", "Samsara's count.", minimum=0),
        Field("miles", "integer", "The miles concerned.", unit="mi"),
    ),
)

_TOTAL = Field(
    "total",
    "object",
    "One fuel type's totals (the CSV's `TOTAL` line): sums of its lines.",
    fields=(
        Field("fuelType", "string", "The fuel type.", required=True),
        Field("fleetMpg", _NUM_NULL, "The fleet MPG.", unit="mi/gal"),
        Field("totalMiles", "integer", "Total miles.", unit="mi"),
        Field("taxableMiles", "integer", "Taxable miles.", unit="mi"),
        Field("taxableGallons", _NUM_NULL, "Taxable gallons.", unit="gal"),
        Field("taxPaidGallons", _NUM_NULL, "Tax-paid gallons.", unit="gal"),
        Field("netTaxableGallons", _NUM_NULL, "Net taxable gallons.", unit="gal"),
        Field("totalKilometers", "integer", "Total kilometres.", unit="km"),
        Field("taxableKilometers", "integer", "Taxable kilometres.", unit="km"),
        Field("taxableLiters", _NUM_NULL, "Taxable litres.", unit="L"),
        Field("taxPaidLiters", _NUM_NULL, "Tax-paid litres.", unit="L"),
        Field("netTaxableLiters", _NUM_NULL, "Net taxable litres.", unit="L"),
    ),
)

IFTA_RETURN = RecordType(
    name="ifta_return",
    stream="ifta_returns",
    version=1,
    title="IFTA return of a quarter",
    description=(
        "The return-ready export of a closed quarter: its `ifta_jurisdiction` lines of taxed fuel types as a"
        " CSV laid out like the quarterly IFTA return (a line per fuel type and jurisdiction, then a `TOTAL`"
        " line per fuel type that is the sum of its lines), the totals, Samsara's troubleshooting notes, and"
        " the flags that block filing; `readyToFile` only when there are none. Delivered again under the"
        " same `id` when the quarter's figures change."
    ),
    id_description="The quarter, `YYYY-Qn`.",
    fields=(
        *_period(month=False),
        Field("readyToFile", "boolean", "No flag blocks filing.", required=True),
        Field("flags", "array", "What blocks filing.", required=True, items=_FLAG),
        Field("totals", "array", "Per fuel type, its totals.", required=True, items=_TOTAL),
        Field(
            "troubleshooting",
            ("object", "null"),
            "Samsara's troubleshooting notes for the quarter, as it returns them.",
        ),
        Field("lines", "integer", "Jurisdiction lines in the CSV (totals aside).", minimum=0, required=True),
        Field("csvFileName", "string", "A file name for the CSV (`ifta-return-2026-Q4.csv`).", required=True),
        Field("csvSha256", "string", "The SHA-256 of `csv` (UTF-8).", required=True),
        Field("csv", "string", "The return as CSV (RFC 4180, CRLF line ends, a header line).", required=True),
    ),
)
