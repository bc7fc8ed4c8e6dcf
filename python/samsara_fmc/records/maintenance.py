"""Record types of the ``vehicle-maintenance`` Function: faults, alerts, engine-state transitions and
vehicle days (see :mod:`samsara_fmc.telemetry` for how each is made)."""

from __future__ import annotations

from samsara_fmc.records._model import Field, JsonType, RecordType

__all__ = ["ENGINE_STATE_TRANSITION", "VEHICLE_ALERT", "VEHICLE_DAY", "VEHICLE_FAULT"]

_STATES = ("Off", "On", "Idle")
_T: tuple[JsonType, ...] = ("string", "null")
_N: tuple[JsonType, ...] = ("number", "null")
_I: tuple[JsonType, ...] = ("integer", "null")


def _vehicle() -> tuple[Field, ...]:
    return (
        Field("vehicleId", "string", "The Samsara ID of the vehicle.", required=True),
        Field("vehicleName", _T, "The vehicle's name in Samsara, as last seen in the feed."),
        Field(
            "vehicleExternalIds",
            ("object", "null"),
            "The vehicle's external IDs (`maintenanceId`, the FMC's own keys), as last seen in the feed.",
            values=Field("externalId", "string", "One external ID."),
        ),
    )


def _time(name: str, description: str, *, required: bool = False, null: bool = True) -> Field:
    return Field(name, _T if null else "string", description, format="date-time", required=required)


VEHICLE_FAULT = RecordType(
    name="vehicle_fault",
    stream="vehicle_faults",
    version=1,
    title="A vehicle's fault code, as a maintenance event",
    description=(
        "A diagnostic trouble code of a vehicle (J1939 SPN/FMI with lamps and occurrence count, OBD-II"
        " confirmed, pending or permanent DTC with the MIL, or an OEM code) from the stats feed's"
        " `faultCodes`, followed over time: delivered when it opens (reported continuously for"
        " `debounceSeconds`), again when its occurrence count or lamps change, and when it closes (the"
        " first reading without it); one `id` per fault, so the FMC upserts it. A code that clears within"
        " the debounce (a flap) opens nothing. Samsara's own descriptions are passed through."
    ),
    id_description="`<vehicleId>:<faultKey>:<firstSeen>`.",
    fields=(
        *_vehicle(),
        Field(
            "faultKey",
            "string",
            (
                "Protocol, controller and code: `j1939:<txId>:<spn>:<fmi>`, `obdii:<txId>:<dtcId>:<status>`,"
                " `oem:<source>:<code>`."
            ),
            required=True,
        ),
        Field(
            "event",
            "string",
            "What this delivery reports.",
            enum=("opened", "updated", "closed"),
            required=True,
        ),
        Field("status", "string", "The fault's status after it.", enum=("open", "closed"), required=True),
        Field(
            "protocol", "string", "Where the code comes from.", enum=("j1939", "obdii", "oem"), required=True
        ),
        Field(
            "code", "string", "The code as a technician writes it (`SPN 100 FMI 1`, `P0420`).", required=True
        ),
        Field("sourceAddress", _I, "The controller's source address (J1939) or transmitter ID (`txId`)."),
        Field(
            "sourceAddressName",
            _T,
            "Samsara's name of the controller (`Engine #1`), or an OEM code's source.",
        ),
        Field("spn", _I, "J1939 suspect parameter number."),
        Field("fmi", _I, "J1939 failure mode identifier."),
        Field("fmiMeaning", _T, "The FMI's meaning in the standard J1939-73 table."),
        Field("spnDescription", _T, "Samsara's description of the SPN, where present."),
        Field("fmiDescription", _T, "Samsara's description of the FMI, where present."),
        Field("dtcId", _I, "OBD-II DTC identifier."),
        Field("dtcShortCode", _T, "OBD-II short code (`P0420`)."),
        Field(
            "dtcStatus",
            ("string", "null"),
            "OBD-II status of the code.",
            enum=("confirmed", "pending", "permanent"),
        ),
        Field(
            "description", _T, "Samsara's description of the DTC (OBD-II, OEM, J1939 vendor), where present."
        ),
        Field("severity", _T, "An OEM code's severity."),
        Field("occurrenceCount", _I, "The controller's occurrence count (J1939)."),
        Field("mil", ("boolean", "null"), "The malfunction indicator lamp (check engine light) is on."),
        Field(
            "lamps",
            ("object", "null"),
            "J1939 lamps: `emissionsIsOn` (MIL), `protectIsOn`, `stopIsOn` (red), `warningIsOn` (amber).",
            values=Field("lamp", "boolean", "Whether the lamp is on."),
        ),
        _time("firstSeen", "The first reading that reported it.", required=True, null=False),
        _time("lastSeen", "The last reading that reported it.", required=True, null=False),
        _time(
            "openedAt",
            "When it opened (first reading at least `debounceSeconds` after `firstSeen`).",
            required=True,
        ),
        _time("updatedAt", "When it last changed while open."),
        _time("closedAt", "The first reading without it."),
        Field("occurrences", "integer", "Readings that reported it.", minimum=1, required=True),
        Field("engineState", _T, "The engine state when it was first seen.", enum=_STATES),
        Field("engineStateAtClose", _T, "The engine state when it closed.", enum=_STATES),
        Field(
            "debounceSeconds", "number", "The debounce it opened under.", unit="s", minimum=0, required=True
        ),
    ),
)

VEHICLE_ALERT = RecordType(
    name="vehicle_alert",
    stream="vehicle_alerts",
    version=1,
    title="A threshold alert or odometer flag of a vehicle",
    description=(
        "An episode of a reading below its threshold (`lowBattery`, `lowOilPressure` while the engine"
        " runs, `lowFuel`, `lowTirePressure` per tire), or a fault that opened (`newFault`): delivered"
        " once when it starts (`status: active`) and again, same `id`, when it ends (`cleared`: the"
        " reading back at `clearsAt`, the engine stopped, or the fault closed). An odometer anomaly"
        " (`odometerRollback`, `odometerJump`) is a one-off `flagged` record with the readings on both"
        " sides; nothing is corrected."
    ),
    id_description="`<vehicleId>:<kind>[:<subject>]:<startedAt>`.",
    fields=(
        *_vehicle(),
        Field(
            "kind",
            "string",
            "What the alert is about.",
            enum=(
                "lowBattery",
                "lowOilPressure",
                "lowFuel",
                "lowTirePressure",
                "newFault",
                "odometerRollback",
                "odometerJump",
            ),
            required=True,
        ),
        Field("subject", _T, "The tire (`frontLeft` …) or fault key it concerns."),
        Field(
            "status",
            "string",
            "Where the episode stands.",
            enum=("active", "cleared", "flagged"),
            required=True,
        ),
        _time("startedAt", "The reading that started it.", required=True, null=False),
        _time("endedAt", "The reading that ended it.", required=True),
        Field("value", _N, "The reading that started it, in `unit`.", required=True),
        Field("worstValue", _N, "The lowest reading of the episode so far.", required=True),
        Field("lastValue", _N, "The last reading of the episode.", required=True),
        Field("unit", _T, "The unit of the values: `mV`, `kPa`, `%` or `m`.", required=True),
        Field("threshold", _N, "The threshold in force when it started.", required=True),
        Field("clearsAt", _N, "The reading that ends it (threshold plus hysteresis).", required=True),
        Field("engineState", _T, "The engine state when it started.", enum=_STATES, required=True),
        Field("engineStateAtEnd", _T, "The engine state when it ended.", enum=_STATES),
        Field("readings", "integer", "Readings in the episode.", minimum=1, required=True),
        Field(
            "endReason",
            _T,
            "Why it ended.",
            enum=("recovered", "engineStopped", "faultClosed"),
            required=True,
        ),
        Field("faultId", _T, "For `newFault`: the `vehicle_fault` record's `id`."),
        Field("code", _T, "For `newFault`: the fault's code."),
        _time("previousTime", "For an odometer flag: the reading before."),
        Field("previousMeters", _N, "For an odometer flag: the odometer before.", unit="m"),
        Field("meters", _N, "For an odometer flag: the odometer now.", unit="m"),
        Field("deltaMeters", _N, "For an odometer flag: the change.", unit="m"),
        Field("impliedSpeedKph", _N, "For a jump: the speed the change implies.", unit="km/h"),
    ),
)

ENGINE_STATE_TRANSITION = RecordType(
    name="engine_state_transition",
    stream="engine_state_transitions",
    version=1,
    title="A change of a vehicle's engine state",
    description=(
        "The engine going Off, On (driving) or Idle, with the state before and how long it lasted, from"
        " the stats feed's `engineStates` (readings repeating the state are not transitions)."
    ),
    id_description="`<vehicleId>:<time>`.",
    fields=(
        *_vehicle(),
        _time("time", "When the new state began.", required=True, null=False),
        Field("state", "string", "The new state.", enum=_STATES, required=True),
        Field("previousState", "string", "The state before.", enum=_STATES, required=True),
        _time("previousSince", "When the state before began (as far as seen).", required=True, null=False),
        Field("previousDurationSeconds", "number", "How long it lasted.", unit="s", minimum=0, required=True),
    ),
)

VEHICLE_DAY = RecordType(
    name="vehicle_day",
    stream="vehicle_days",
    version=1,
    title="A vehicle's local day",
    description=(
        "One vehicle's local day (in `timeZone`) from its readings: odometer at the first and last"
        " reading and the distance between (OBD, or GPS without OBD; `odometerFlags` names a rollback, a"
        " jump or OBD/GPS divergence that day, and nothing is corrected), engine hours and their change,"
        " idle hours, fuel used, maximum speed, faults opened and open, alerts raised, first and last"
        " reading. Delivered when the day has closed, and again under the same `id` when late readings"
        " change it. A vehicle with no reading that day has no record: `lastSeen` shows when one stopped."
    ),
    id_description="`<vehicleId>:<date>` (the local date).",
    fields=(
        *_vehicle(),
        Field("date", "string", "The local date (`YYYY-MM-DD`) in `timeZone`.", required=True),
        Field("timeZone", "string", "The IANA time zone of `date`.", required=True),
        Field(
            "odometerSource", _T, "Which odometer the distance is from.", enum=("obd", "gps"), required=True
        ),
        Field("startOdometerMeters", _N, "The odometer at the day's first reading.", unit="m", required=True),
        Field("endOdometerMeters", _N, "The odometer at the day's last reading.", unit="m", required=True),
        Field(
            "distanceMeters",
            _N,
            "End less start (negative after a rollback: see `odometerFlags`).",
            unit="m",
            required=True,
        ),
        Field("gpsDistanceMeters", _N, "The GPS odometer's change that day.", unit="m", required=True),
        Field(
            "odometerFlags",
            "array",
            "Odometer anomalies that day.",
            required=True,
            items=Field("flag", "string", "One anomaly.", enum=("rollback", "jump", "divergence")),
        ),
        Field("startEngineHours", _N, "Engine hours at the day's first reading.", unit="h", required=True),
        Field("endEngineHours", _N, "Engine hours at the day's last reading.", unit="h", required=True),
        Field("engineHours", _N, "Their change: engine hours that day.", unit="h", required=True),
        Field("idleHours", _N, "Idle hours that day (engine on, not moving).", unit="h", required=True),
        Field("fuelUsedMilliliters", _N, "Fuel consumed that day.", unit="mL", required=True),
        Field("maxSpeedMph", _N, "The highest ECU speed that day.", unit="mph", required=True),
        Field("maxSpeedKph", _N, "The same in km/h.", unit="km/h", required=True),
        _time("maxSpeedAt", "When it was reached.", required=True),
        Field("faultsOpened", "integer", "Faults that opened that day.", minimum=0, required=True),
        Field("faultsOpen", "integer", "Faults open when the day closed.", minimum=0, required=True),
        Field("alerts", "integer", "Alerts raised and odometer flags that day.", minimum=0, required=True),
        _time("firstSeen", "The day's first reading.", required=True, null=False),
        _time(
            "lastSeen",
            "The day's last reading (device health: a vehicle that stopped reporting).",
            required=True,
            null=False,
        ),
    ),
)
