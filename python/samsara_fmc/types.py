"""Typed shapes of the records users read most, as ``TypedDict``s mypy checks.

They describe what Samsara's API returns (``GET /fleet/vehicles``, ``/fleet/drivers``, ``/tags``,
``/defects/stream``, ``/safety-events/stream``) and what the stats converter writes, so
``vehicle["licensePlate"]`` is a ``str`` to mypy and ``vehicle["licencePlate"]`` an error. Samsara
omits most fields when they are empty, hence ``total=False`` with the documented always-present
fields marked ``Required``. At run time these are plain dicts: nothing is copied or validated.

``StatType`` names every stat type the stats endpoints take; ``Client.stats_pages(types=...)`` takes
a sequence of them (never a bare string: ``types="gps"`` would be the letters ``g``, ``p``, ``s``).
"""

from __future__ import annotations

from typing import Literal, Required, TypedDict, get_args

__all__ = [
    "STAT_TYPES",
    "Address",
    "Defect",
    "DefectObject",
    "Driver",
    "SafetyEvent",
    "SafetyEventAsset",
    "SafetyEventDriver",
    "SafetyEventLabel",
    "SafetyEventLocation",
    "SafetyEventSpeeding",
    "StatRecord",
    "StatType",
    "Tag",
    "TagTiny",
    "TaggedObject",
    "Vehicle",
]

StatType = Literal[
    "ambientAirTemperatureMilliC",
    "auxInput1",
    "auxInput2",
    "auxInput3",
    "auxInput4",
    "auxInput5",
    "auxInput6",
    "auxInput7",
    "auxInput8",
    "auxInput9",
    "auxInput10",
    "auxInput11",
    "auxInput12",
    "auxInput13",
    "barometricPressurePa",
    "batteryMilliVolts",
    "defLevelMilliPercent",
    "ecuSpeedMph",
    "engineCoolantTemperatureMilliC",
    "engineImmobilizer",
    "engineLoadPercent",
    "engineOilPressureKPa",
    "engineRpm",
    "engineStates",
    "faultCodes",
    "fuelPercents",
    "fuelConsumedMilliliters",
    "gps",
    "gpsDistanceMeters",
    "gpsOdometerMeters",
    "idlingDurationMilliseconds",
    "intakeManifoldTemperatureMilliC",
    "nfcCardScans",
    "obdEngineSeconds",
    "obdOdometerMeters",
    "syntheticEngineSeconds",
    "evStateOfChargeMilliPercent",
    "evChargingStatus",
    "evChargingEnergyMicroWh",
    "evChargingVoltageMilliVolt",
    "evChargingCurrentMilliAmp",
    "evConsumedEnergyMicroWh",
    "evRegeneratedEnergyMicroWh",
    "evBatteryVoltageMilliVolt",
    "evBatteryCurrentMilliAmp",
    "evBatteryStateOfHealthMilliPercent",
    "evAverageBatteryTemperatureMilliCelsius",
    "evDistanceDrivenMeters",
    "spreaderLiquidRate",
    "spreaderGranularRate",
    "spreaderPrewetRate",
    "spreaderAirTemp",
    "spreaderRoadTemp",
    "spreaderOnState",
    "spreaderActive",
    "spreaderBlastState",
    "spreaderGranularName",
    "spreaderPrewetName",
    "spreaderLiquidName",
    "spreaderPlowStatus",
    "seatbeltDriver",
    "tellTales",
    "ecuDoorStatus",
]
"""A stat type of ``/fleet/vehicles/stats``, ``/stats/feed`` and ``/stats/history``."""

STAT_TYPES: frozenset[str] = frozenset(get_args(StatType))
"""Every :data:`StatType`, for checks at run time."""


class TagTiny(TypedDict, total=False):
    """A tag as other objects reference it."""

    id: Required[str]
    name: Required[str]
    parentTagId: str


class TaggedObject(TypedDict, total=False):
    """A member of a tag."""

    id: Required[str]
    name: str


class DriverTiny(TypedDict, total=False):
    """A driver as a vehicle references it."""

    id: str
    name: str


class Gateway(TypedDict):
    """The gateway installed in a vehicle."""

    model: str
    serial: str


class Vehicle(TypedDict, total=False):
    """A vehicle of ``GET /fleet/vehicles`` and ``GET /fleet/vehicles/{id}``."""

    id: Required[str]
    createdAtTime: str
    updatedAtTime: str
    name: str
    vin: str
    make: str
    model: str
    year: str
    licensePlate: str
    notes: str
    esn: str
    serial: str
    cameraSerial: str
    externalIds: dict[str, str]
    gateway: Gateway
    staticAssignedDriver: DriverTiny
    tags: list[TagTiny]
    vehicleRegulationMode: Literal["regulated", "unregulated"]
    vehicleType: Literal["unset", "passenger", "truck", "bus"]
    vehicleWeight: int
    vehicleWeightInKilograms: int
    vehicleWeightInPounds: int
    harshAccelerationSettingType: str
    isRemotePrivacyButtonEnabled: bool


class Driver(TypedDict, total=False):
    """A driver of ``GET /fleet/drivers`` and ``GET|POST|PATCH /fleet/drivers/{id}``."""

    id: Required[str]
    name: str
    username: str
    createdAtTime: str
    updatedAtTime: str
    driverActivationStatus: Literal["active", "deactivated"]
    isDeactivated: bool
    deactivatedAtTime: str
    email: str
    phone: str
    licenseNumber: str
    licenseState: str
    notes: str
    timezone: str
    locale: str
    externalIds: dict[str, str]
    tags: list[TagTiny]
    staticAssignedVehicle: TaggedObject
    eldExempt: bool
    eldExemptReason: str


class Tag(TypedDict, total=False):
    """A tag of ``GET /tags`` and ``GET|POST|PATCH|PUT /tags/{id}``."""

    id: Required[str]
    name: Required[str]
    parentTagId: str
    parentTag: TaggedObject
    externalIds: dict[str, str]
    vehicles: list[TaggedObject]
    drivers: list[TaggedObject]
    assets: list[TaggedObject]
    addresses: list[TaggedObject]
    machines: list[TaggedObject]
    sensors: list[TaggedObject]


class DefectObject(TypedDict, total=False):
    """The vehicle or trailer a defect is on (``externalIds`` with ``includeExternalIds=true``)."""

    id: str
    externalIds: dict[str, str]


class DefectResolvedBy(TypedDict):
    """Who resolved a defect."""

    id: str
    name: str
    type: Literal["driver", "mechanic"]


class Defect(TypedDict, total=False):
    """A DVIR defect of ``GET /defects/stream``."""

    id: Required[str]
    dvirId: Required[str]
    comment: Required[str]
    isResolved: Required[bool]
    defectTypeId: str
    defectSafetyStatus: Literal["safe", "unsafe"]
    createdAtTime: str
    updatedAtTime: str
    resolvedAtTime: str
    resolvedBy: DefectResolvedBy
    mechanicNotes: str
    vehicle: DefectObject
    trailer: DefectObject


class SafetyEventAsset(TypedDict, total=False):
    """The asset a safety event is tied to."""

    id: Required[str]
    name: str
    type: str
    vin: str
    externalIds: dict[str, str]


class SafetyEventDriver(TypedDict, total=False):
    """The driver a safety event is assigned to."""

    id: Required[str]
    name: str
    externalIds: dict[str, str]


class SafetyEventLabel(TypedDict, total=False):
    """A behaviour label of a safety event (``Braking``, ``Speeding``, ...)."""

    label: str
    source: Literal["automated", "userGenerated"]


class Address(TypedDict, total=False):
    """The closest address to a position."""

    city: str
    country: str
    neighborhood: str
    pointOfInterest: str
    postalCode: str
    state: str
    street: str
    streetNumber: str


class SafetyEventLocation(TypedDict, total=False):
    """Where a safety event happened."""

    latitude: Required[float]
    longitude: Required[float]
    headingDegrees: Required[int]
    accuracyMeters: float
    address: Address


class SafetyEventSpeeding(TypedDict):
    """Speeds of a speeding event, in km/h."""

    maxSpeedKilometersPerHour: int
    postedSpeedLimitKilometersPerHour: int


class SafetyEventMedia(TypedDict, total=False):
    """A camera's media of a safety event (the URL expires)."""

    input: Required[str]
    url: Required[str]
    cameraRole: str


class SafetyEvent(TypedDict, total=False):
    """A safety event of ``GET /safety-events/stream``."""

    id: Required[str]
    asset: Required[SafetyEventAsset]
    driver: Required[SafetyEventDriver]
    behaviorLabels: Required[list[SafetyEventLabel]]
    createdAtTime: Required[str]
    updatedAtTime: Required[str]
    startMs: Required[str]
    endMs: Required[str]
    eventState: Required[str]
    location: Required[SafetyEventLocation]
    maxAccelerationGForce: Required[float]
    inboxEventUrl: str
    incidentReportUrl: str
    speedingMetadata: SafetyEventSpeeding
    media: list[SafetyEventMedia]
    tripStartTime: str
    tripEndTime: str


class StatRecord(TypedDict, total=False):
    """One converted stats-feed point, a line of ``StatsPage.ndjson`` (schema: ``vehicle_stat``).

    ``value`` and ``unit`` for numbers and words; the position fields instead for GPS points.
    """

    id: Required[str]
    schemaVersion: Required[int]
    vehicleId: Required[str]
    stat: Required[str]
    time: Required[str]
    vehicleName: str
    externalIds: dict[str, str] | None
    value: float | str | dict[str, object]
    unit: str
    latitude: float
    longitude: float
    headingDegrees: float
    speed: float
    isEcuSpeed: bool
    address: dict[str, object]
    location: str
    decorations: dict[str, object]
