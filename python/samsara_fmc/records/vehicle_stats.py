"""``vehicle_stat``: one data point of a vehicle stat, as the Rust converter writes it (``src/stats.rs``)."""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = ["VALUE_UNITS", "VEHICLE_STAT"]

#: Every unit the converter writes in ``unit``: the metric and imperial targets of the stats it converts
#: (``km``/``mi``, ``h``, ``C``/``F``, ``kPa``/``psi``, ``V``, ``A``, ``%``, ``kWh``, ``L``/``gal``,
#: ``km/h``/``mph``) and the labels of the stats it keeps as they are (``%``, ``rpm``).
VALUE_UNITS = (
    "km",
    "mi",
    "h",
    "C",
    "F",
    "kPa",
    "psi",
    "V",
    "A",
    "%",
    "kWh",
    "L",
    "gal",
    "km/h",
    "mph",
    "rpm",
)

VEHICLE_STAT = RecordType(
    name="vehicle_stat",
    stream="vehicle_stats",
    version=1,
    title="Vehicle stat point",
    description=(
        "One data point of one stat of one vehicle, from `/fleet/vehicles/stats/feed` or `/history`,"
        " with its value converted to the Function's unit system (`metric` or `imperial`) and the unit"
        " named in `unit`. GPS points carry the position fields instead of `value`; fault codes, NFC"
        " scans, aux inputs and stat types the converter does not know carry the point object as `value`."
    ),
    id_description="`<vehicleId>:<stat>:<time>`: stable, so a point delivered twice is the same record.",
    fields=(
        Field("vehicleId", "string", "The Samsara vehicle ID.", required=True),
        Field("vehicleName", "string", "The vehicle's name in Samsara; absent when it has none."),
        Field(
            "externalIds",
            ("object", "null"),
            "The vehicle's external IDs (`maintenanceId`, the FMC's own keys), as Samsara returns them.",
            values=Field("externalId", "string", "One external ID."),
        ),
        Field(
            "stat",
            "string",
            "The Samsara stat type (`obdOdometerMeters`, `gps`, `engineStates`, …).",
            required=True,
        ),
        Field(
            "time",
            "string",
            "When the point was measured (RFC 3339, as Samsara sends it).",
            format="date-time",
            required=True,
        ),
        Field(
            "value",
            ("number", "string", "object"),
            "The converted number (unit in `unit`), a state word (`On`, `Idle`, `charging`), or the point"
            " object for stat types kept as they are. Absent for GPS points.",
        ),
        Field(
            "unit",
            "string",
            "The unit of `value`, or of `speed` for a GPS point; absent for words and objects.",
            enum=VALUE_UNITS,
        ),
        Field("latitude", "number", "GPS latitude (WGS 84).", unit="deg", personal=True),
        Field("longitude", "number", "GPS longitude (WGS 84).", unit="deg", personal=True),
        Field("headingDegrees", "number", "GPS heading, clockwise from true north.", unit="deg"),
        Field("speed", "number", "GPS speed, in `unit` (`km/h` or `mph`)."),
        Field("isEcuSpeed", "boolean", "The GPS speed comes from the engine computer, not from GPS."),
        Field(
            "address",
            "object",
            "The Samsara address (geofence) the vehicle is at, as Samsara returns it (`id`, `name`).",
            personal=True,
        ),
        Field("location", "string", "The reverse-geocoded street address of the GPS point.", personal=True),
        Field(
            "decorations",
            "object",
            "Other stats at the point's time, when the Function asks for `decorations`.",
        ),
    ),
)
