"""``odometer_reading``: a vehicle's odometer at one time, OBD preferred and GPS as the fallback, in
miles and kilometres, with the source named: what a maintenance or leasing system books mileage from."""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = ["ODOMETER_READING", "ODOMETER_SOURCES"]

#: Where a reading comes from: the engine computer (`obd`) or Samsara's GPS odometer (`gps`: a manual
#: odometer set in Samsara plus the GPS distance driven since).
ODOMETER_SOURCES = ("obd", "gps")

ODOMETER_READING = RecordType(
    name="odometer_reading",
    stream="odometer_readings",
    version=1,
    title="Odometer reading",
    description=(
        "One odometer reading of one vehicle at one time, from the vehicle stats feed (or its history on"
        " a backfill). The OBD odometer is preferred: every `obdOdometerMeters` point is a reading with"
        " `source` `obd`. A `gpsOdometerMeters` point is a reading with `source` `gps` only when Samsara"
        " has no OBD odometer for the vehicle at that point's time (the point comes without an"
        " `obdOdometerMeters` decoration); otherwise the OBD points carry the vehicle's mileage and the GPS"
        " point is left out. The choice depends on the point alone, so every run, backfill and retry"
        " makes the same readings. `miles` and `km` are both given, whatever the Function's `units`."
    ),
    id_description=(
        "`<vehicleId>:odometer:<time>`: stable, one reading per vehicle and time, so a reading delivered"
        " twice is the same record."
    ),
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
            "time",
            "string",
            "When the odometer was read (RFC 3339, as Samsara sends it).",
            format="date-time",
            required=True,
        ),
        Field(
            "source",
            "string",
            "`obd`: the engine computer's odometer; `gps`: Samsara's GPS odometer (a vehicle without OBD"
            " odometer coverage at that time).",
            enum=ODOMETER_SOURCES,
            required=True,
        ),
        Field("meters", "integer", "The odometer as Samsara reports it.", unit="m", required=True),
        Field("miles", "number", "The odometer in miles (to the metre).", unit="mi", required=True),
        Field("km", "number", "The odometer in kilometres (to the metre).", unit="km", required=True),
    ),
)
