"""``trip`` and ``idling_event``: Samsara's completed trips (``/trips/stream``) and idling events
(``/idling/events``), distances, fuel and temperatures in the Function's unit system."""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = ["IDLING_DAY", "IDLING_DRIVER_DAY", "IDLING_EVENT", "TRIP"]

_EXTERNAL_IDS = Field("externalId", "string", "One external ID.")


def _vehicle_ids() -> tuple[Field, ...]:
    return (
        Field("vehicleId", "string", "The Samsara ID of the vehicle (asset).", required=True),
        Field(
            "vehicleExternalIds",
            ("object", "null"),
            "The vehicle's external IDs (`maintenanceId`, the FMC's own keys), as Samsara returns them.",
            values=_EXTERNAL_IDS,
        ),
    )


def _end(prefix: str, what: str) -> tuple[Field, ...]:
    return (
        Field(
            f"{prefix}Latitude",
            ("number", "null"),
            f"Latitude of the {what} (WGS 84).",
            unit="deg",
            personal=True,
        ),
        Field(
            f"{prefix}Longitude",
            ("number", "null"),
            f"Longitude of the {what} (WGS 84).",
            unit="deg",
            personal=True,
        ),
        Field(
            f"{prefix}Address",
            ("object", "null"),
            f"The closest address to the {what} (`street`, `city`, `state`, `postalCode`, `country`, …),"
            " as Samsara returns it.",
            personal=True,
        ),
        Field(f"{prefix}GeofenceId", ("string", "null"), f"The closest geofence to the {what}, if any."),
    )


TRIP = RecordType(
    name="trip",
    stream="trips",
    version=1,
    title="Trip",
    description=(
        "One completed trip of a vehicle, from `/trips/stream` (`completionStatus=completed`) or, where the"
        " Function reads the legacy trips (`source: legacy`), from `/v1/fleet/trips`: start and end times,"
        " places and addresses, distance and duration, the odometer at the start and end, the vehicle with"
        " its external IDs and the trip's purpose. A trip changed after completion (its purpose set by the"
        " driver) is delivered again under the same `id`. The driver is the one the legacy trip names, else"
        " the one whose driver-vehicle assignment covers most of the trip. Legacy trips carry no"
        " `createdAtTime`, `updatedAtTime`, `tripPurpose` or geofences (null), and their addresses are"
        " Samsara's formatted address (`address`, `name`, `id`)."
    ),
    id_description=(
        "`<vehicleId>:<tripStartTime>`: stable across the trip's updates and the same from either source"
        " (Samsara gives the trip no ID of its own)."
    ),
    fields=(
        Field(
            "source",
            "string",
            "Where the trip was read: `stream` (`/trips/stream`) or `legacy` (`/v1/fleet/trips`).",
            enum=("stream", "legacy"),
        ),
        *_vehicle_ids(),
        Field("vehicleName", ("string", "null"), "The vehicle's name in Samsara."),
        Field("vin", ("string", "null"), "The vehicle's VIN."),
        Field(
            "driverId",
            ("string", "null"),
            "The Samsara ID of the driver: the legacy trip's `driverId`, else the one whose assignment to"
            " the vehicle covers most of the trip (passengers aside); null when none.",
        ),
        Field("driverName", ("string", "null"), "The driver's name.", personal=True),
        Field(
            "driverExternalIds",
            ("object", "null"),
            "The driver's external IDs (`payrollId`, the FMC's own keys), as Samsara returns them.",
            values=_EXTERNAL_IDS,
        ),
        Field("startTime", "string", "When the trip started.", format="date-time", required=True),
        Field("endTime", ("string", "null"), "When the trip ended.", format="date-time"),
        Field("durationSeconds", ("number", "null"), "`endTime` less `startTime`.", unit="s", minimum=0),
        Field(
            "distanceUnit",
            "string",
            "The unit of `distance`: `km` (metric) or `mi` (imperial).",
            enum=("km", "mi"),
            required=True,
        ),
        Field(
            "distance",
            ("number", "null"),
            "The distance driven (GPS: the stream's `finalDistanceMeters`, the legacy `distanceMeters`),"
            " in `distanceUnit`, to 0.001.",
        ),
        Field("distanceMeters", ("number", "null"), "The distance driven as Samsara returns it.", unit="m"),
        Field(
            "startOdometer",
            ("number", "null"),
            "The odometer at the start of the trip, in `distanceUnit`, to 0.001; null when Samsara has none.",
        ),
        Field("endOdometer", ("number", "null"), "The odometer at the end of the trip, in `distanceUnit`."),
        Field(
            "startOdometerMeters",
            ("number", "null"),
            "The odometer at the start as Samsara reports it: the legacy trip's `startOdometer`, else the"
            " vehicle's odometer stat last reported at or before the start.",
            unit="m",
        ),
        Field(
            "endOdometerMeters",
            ("number", "null"),
            "The odometer at the end as Samsara reports it: the legacy trip's `endOdometer`, else the"
            " vehicle's odometer stat first reported at or after the end.",
            unit="m",
        ),
        Field(
            "odometerSource",
            ("string", "null"),
            "Which odometer: `obd` (the vehicle's diagnostics: the legacy trip's own, or the"
            " `obdOdometerMeters` stat, preferred) or `gps` (the `gpsOdometerMeters` stat, reported only"
            " once a manual odometer was set); null when neither has a reading.",
            enum=("obd", "gps"),
        ),
        *_end("start", "start"),
        *_end("end", "end"),
        Field(
            "tripPurpose",
            ("string", "null"),
            "The driver-assigned purpose (mileage reporting licence only).",
            enum=("unknown", "unassigned", "personal", "business", "commute"),
        ),
        Field("createdAtTime", ("string", "null"), "When Samsara created the trip.", format="date-time"),
        Field(
            "updatedAtTime",
            ("string", "null"),
            "When Samsara last changed the trip (the stream's order); null on legacy trips.",
            format="date-time",
        ),
    ),
)

IDLING_EVENT = RecordType(
    name="idling_event",
    stream="idling_events",
    version=1,
    title="Idling event",
    description=(
        "One idling event of a vehicle, from `/idling/events` (selected by start time): duration,"
        " location, fuel consumed converted to the Function's unit system, its cost, the PTO state, the"
        " air temperature converted, the driver and the vehicle with their external IDs. Either API"
        " version's shape is read (flat `assetId`/`operatorId`, or nested `asset`/`operator`); an event"
        " Samsara changes later is delivered again under the same `id`."
    ),
    id_description="The Samsara event UUID (`eventUuid`).",
    fields=(
        *_vehicle_ids(),
        Field("driverId", ("string", "null"), "The Samsara ID of the driver (operator); null when none."),
        Field(
            "driverExternalIds",
            ("object", "null"),
            "The driver's external IDs (`payrollId`, the FMC's own keys), as Samsara returns them.",
            values=_EXTERNAL_IDS,
        ),
        Field("startTime", "string", "When the idling started.", format="date-time", required=True),
        Field("endTime", "string", "`startTime` plus the duration.", format="date-time", required=True),
        Field("durationSeconds", "number", "How long the vehicle idled.", unit="s", minimum=0, required=True),
        Field(
            "units",
            "string",
            "The unit system of `fuelConsumed` and `airTemperature`.",
            enum=("metric", "imperial"),
            required=True,
        ),
        Field(
            "fuelUnit",
            "string",
            "The unit of `fuelConsumed`: `L` or `gal` (US).",
            enum=("L", "gal"),
            required=True,
        ),
        Field(
            "fuelConsumed", "number", "Fuel consumed while idling, in `fuelUnit`, to 0.001.", required=True
        ),
        Field(
            "fuelConsumedMilliliters",
            "number",
            "Fuel consumed as Samsara returns it.",
            unit="mL",
            required=True,
        ),
        Field("gaseousFuelConsumedGrams", ("number", "null"), "Gaseous fuel consumed.", unit="g"),
        Field(
            "fuelCost", ("object", "null"), "The fuel's cost (`amount`, `currency`), as Samsara returns it."
        ),
        Field("ptoState", ("string", "null"), "The power take-off state (`active`, `inactive`)."),
        Field(
            "temperatureUnit",
            "string",
            "The unit of `airTemperature`: `C` or `F`.",
            enum=("C", "F"),
            required=True,
        ),
        Field(
            "airTemperature",
            ("number", "null"),
            "The air temperature, in `temperatureUnit`, to 0.01; null when unknown.",
        ),
        Field(
            "latitude",
            ("number", "null"),
            "Latitude (WGS 84; API version 2025-10-23 only).",
            unit="deg",
            personal=True,
        ),
        Field(
            "longitude",
            ("number", "null"),
            "Longitude (WGS 84; API version 2025-10-23 only).",
            unit="deg",
            personal=True,
        ),
        Field("addressId", ("string", "null"), "The geofence address where the vehicle idled, if any."),
        Field(
            "addressTypes",
            "array",
            "The types of that address (`yard`, `customerSite`, …).",
            required=True,
            items=Field("type", "string", "One address type."),
        ),
    ),
)


def _kpis() -> tuple[Field, ...]:
    """The KPI fields of a day of idling (a vehicle's or a driver's)."""
    return (
        Field("date", "string", "The local date (`YYYY-MM-DD`) in `timeZone`.", required=True),
        Field("timeZone", "string", "The IANA time zone of `date`.", required=True),
        Field("events", "integer", "Idling events that started that day.", minimum=0, required=True),
        Field("idleSeconds", "number", "Their total duration.", unit="s", minimum=0, required=True),
        Field(
            "ptoIdleSeconds", "number", "Of which with the PTO active.", unit="s", minimum=0, required=True
        ),
        Field(
            "fuelUnit",
            "string",
            "The unit of `idleFuel`: `L` or `gal` (US).",
            enum=("L", "gal"),
            required=True,
        ),
        Field(
            "idleFuel", "number", "Fuel consumed idling, in `fuelUnit`, to 0.001.", minimum=0, required=True
        ),
        Field(
            "idleFuelMilliliters", "number", "The same in millilitres.", unit="mL", minimum=0, required=True
        ),
        Field("longIdleMinutes", "integer", "The threshold of a long idle.", unit="min", required=True),
        Field("longIdleEvents", "integer", "Events of at least `longIdleMinutes`.", minimum=0, required=True),
        Field("longIdleSeconds", "number", "Their total duration.", unit="s", minimum=0, required=True),
    )


def _engine(whose: str) -> tuple[Field, ...]:
    return (
        Field(
            "engineSeconds",
            ("number", "null"),
            f"Engine-on time that day ({whose}); null when unknown.",
            unit="s",
            minimum=0,
        ),
        Field("engineHours", ("number", "null"), "`engineSeconds` in hours, to 0.01.", unit="h", minimum=0),
        Field(
            "idleMinutesPerEngineHour",
            ("number", "null"),
            "Idle minutes per engine hour (idle time over engine time, times 60), to 0.01; null without"
            " engine time.",
            unit="min/h",
            minimum=0,
        ),
    )


IDLING_DAY = RecordType(
    name="idling_day",
    stream="idling_days",
    version=1,
    title="Idling KPIs of a vehicle's day",
    description=(
        "A vehicle's idling on one local day (the Function's `kpiTimeZone`), summed from the idling events"
        " that started that day (`/idling/events`, the day read whole): events, idle time, idle fuel"
        " converted, PTO idle time, the events of at least `longIdleMinutes`, and the idle minutes per"
        " engine hour (engine time from the vehicle's `obdEngineSeconds` counter at the day's start and"
        " end). A day that gains late events is delivered again under the same `id`."
    ),
    id_description="`<vehicleId>:<date>` (the local date).",
    fields=(
        *_vehicle_ids(),
        *_kpis(),
        Field(
            "driverIds",
            "array",
            "The Samsara IDs of the drivers of those events.",
            required=True,
            items=Field("driverId", "string", "One driver ID."),
        ),
        *_engine("the `obdEngineSeconds` counter last known at the day's end less at its start"),
    ),
)

IDLING_DRIVER_DAY = RecordType(
    name="idling_driver_day",
    stream="idling_driver_days",
    version=1,
    title="Idling KPIs of a driver's day",
    description=(
        "A driver's idling on one local day (the Function's `kpiTimeZone`), summed from the idling events"
        " of that driver that started that day: events, idle time, idle fuel converted, PTO idle time, the"
        " events of at least `longIdleMinutes`, and the idle minutes per engine hour over the vehicles the"
        " driver alone idled that day (a vehicle several drivers idled that day is listed in"
        " `sharedVehicleIds` and left out of the ratio: the events do not say who ran its engine when). A"
        " day that gains late events is delivered again under the same `id`."
    ),
    id_description="`<driverId>:<date>` (the local date).",
    fields=(
        Field("driverId", "string", "The Samsara ID of the driver (operator).", required=True),
        Field(
            "driverExternalIds",
            ("object", "null"),
            "The driver's external IDs (`payrollId`, the FMC's own keys), as Samsara returns them.",
            values=_EXTERNAL_IDS,
        ),
        *_kpis(),
        Field(
            "vehicleIds",
            "array",
            "The vehicles the driver idled that day.",
            required=True,
            items=Field("vehicleId", "string", "One vehicle ID."),
        ),
        Field(
            "sharedVehicleIds",
            "array",
            "Of which those other drivers idled too that day (left out of the engine time and ratio).",
            required=True,
            items=Field("vehicleId", "string", "One vehicle ID."),
        ),
        *_engine("of the vehicles the driver alone idled"),
    ),
)
