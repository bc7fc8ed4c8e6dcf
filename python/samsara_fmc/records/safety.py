"""``safety_event`` and ``speeding_interval``: Samsara's safety events and speeding intervals
(``/safety-events/stream``, ``/speeding-intervals/stream``), speeds in the Function's unit system."""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = ["SAFETY_EVENT", "SPEEDING_INTERVAL", "SPEED_UNITS"]

#: The units of converted speeds: ``metric`` km/h, ``imperial`` mph.
SPEED_UNITS = ("km/h", "mph")

_EXTERNAL_IDS = Field("externalId", "string", "One external ID.")


def _vehicle_fields() -> tuple[Field, ...]:
    return (
        Field("vehicleId", "string", "The Samsara ID of the vehicle (asset).", required=True),
        Field("vehicleName", ("string", "null"), "The vehicle's name in Samsara."),
        Field("vin", ("string", "null"), "The vehicle's VIN."),
        Field(
            "vehicleExternalIds",
            ("object", "null"),
            "The vehicle's external IDs (`maintenanceId`, the FMC's own keys), as Samsara returns them.",
            values=_EXTERNAL_IDS,
        ),
    )


def _location_fields() -> tuple[Field, ...]:
    return (
        Field("latitude", ("number", "null"), "Latitude (WGS 84).", unit="deg", personal=True),
        Field("longitude", ("number", "null"), "Longitude (WGS 84).", unit="deg", personal=True),
        Field("headingDegrees", ("number", "null"), "Heading, clockwise from true north.", unit="deg"),
        Field(
            "address",
            ("object", "null"),
            "The closest address (`street`, `city`, `state`, `postalCode`, `country`, …), as Samsara"
            " returns it.",
            personal=True,
        ),
    )


_SPEED_UNIT = Field(
    "speedUnit", "string", "The unit of the speeds in this record.", enum=SPEED_UNITS, required=True
)

SAFETY_EVENT = RecordType(
    name="safety_event",
    stream="safety_events",
    version=1,
    title="Safety event",
    description=(
        "One safety event from `/safety-events/stream` in its current version (an update to the event,"
        " such as a new coaching state or relabelling, is delivered again under the same `id`): behaviour"
        " labels, vehicle and driver with their external IDs, location, the speeding speeds converted to"
        " the Function's unit system, coaching state and whether media exists. Media URLs are delivered"
        " only when the Function's `includeMediaUrls` is `true`; they expire."
    ),
    id_description="The Samsara safety event ID (uuid): the same across the event's updates.",
    fields=(
        *_vehicle_fields(),
        Field("driverId", ("string", "null"), "The Samsara ID of the driver assigned to the event."),
        Field("driverName", ("string", "null"), "The driver's name.", personal=True),
        Field(
            "driverExternalIds",
            ("object", "null"),
            "The driver's external IDs (`payrollId`, the FMC's own keys), as Samsara returns them.",
            values=_EXTERNAL_IDS,
        ),
        Field(
            "behaviorLabels",
            "array",
            "The event's current behaviour labels (`Speeding`, `Braking`, `MobileUsage`, …).",
            required=True,
            items=Field("label", "string", "One behaviour label."),
        ),
        Field(
            "contextLabels",
            "array",
            "The event's context labels (names).",
            items=Field("label", "string", "One context label."),
        ),
        Field(
            "startTime",
            "string",
            "When the event was detected (Samsara's `startMs`).",
            format="date-time",
            required=True,
        ),
        Field("endTime", ("string", "null"), "When the detection ended (`endMs`).", format="date-time"),
        Field("createdAtTime", ("string", "null"), "When Samsara created the event.", format="date-time"),
        Field(
            "updatedAtTime",
            "string",
            "When the event last changed in Samsara: a later version replaces an earlier one.",
            format="date-time",
            required=True,
        ),
        Field(
            "eventState",
            "string",
            "The review and coaching state.",
            enum=(
                "unknown",
                "needsReview",
                "reviewed",
                "needsCoaching",
                "coached",
                "dismissed",
                "needsRecognition",
                "recognized",
            ),
            required=True,
        ),
        Field("assignedCoachId", ("string", "null"), "The user ID of the coach assigned to the event."),
        Field(
            "dismissalReason",
            ("object", "null"),
            "Why the event was dismissed (`code`, `comment`).",
        ),
        *_location_fields(),
        _SPEED_UNIT,
        Field("maxSpeed", ("number", "null"), "The highest speed of a speeding event, in `speedUnit`."),
        Field(
            "postedSpeedLimit",
            ("number", "null"),
            "The posted speed limit of a speeding event, in `speedUnit`.",
        ),
        Field("maxAccelerationGForce", ("number", "null"), "The highest acceleration, in g.", unit="g"),
        Field("tripStartTime", ("string", "null"), "When the trip of the event started.", format="date-time"),
        Field("tripEndTime", ("string", "null"), "When the trip of the event ended.", format="date-time"),
        Field("hasMedia", "boolean", "Samsara holds camera media of the event.", required=True),
        Field(
            "mediaInputs",
            "array",
            "The camera inputs with media (`dashcamRoadFacing`, `dashcamDriverFacing`, …).",
            required=True,
            items=Field("input", "string", "One camera input."),
        ),
        Field(
            "media",
            "array",
            "Only with `includeMediaUrls=true`: each medium's `input`, `cameraRole` and download `url`"
            " (it expires).",
            personal=True,
            items=Field(
                "medium",
                "object",
                "One camera medium.",
                fields=(
                    Field("input", "string", "The camera input."),
                    Field("cameraRole", ("string", "null"), "The camera's role."),
                    Field("url", "string", "Where to download it; it expires.", personal=True),
                ),
            ),
        ),
        Field("inboxEventUrl", ("string", "null"), "The event's page in the Samsara dashboard."),
    ),
)

SPEEDING_INTERVAL = RecordType(
    name="speeding_interval",
    stream="speeding_intervals",
    version=1,
    title="Speeding interval",
    description=(
        "One speeding interval of a completed trip, from `/speeding-intervals/stream`, speeds converted to"
        " the Function's unit system. A trip without intervals delivers nothing; when a trip changes (an"
        " interval dismissed) its intervals are delivered again under the same `id`s. Samsara returns no"
        " distance and no average speed for an interval."
    ),
    id_description=(
        "`<vehicleId>:<tripStartTime>:<intervalStartTime>`: stable across the trip's updates (Samsara gives"
        " the trip no ID of its own)."
    ),
    fields=(
        *_vehicle_fields(),
        Field("driverId", ("string", "null"), "The Samsara ID of the trip's driver; null when none."),
        Field(
            "driverExternalIds",
            ("object", "null"),
            "The driver's external IDs (`payrollId`, the FMC's own keys), from the fleet's drivers"
            " (the speeding stream carries none).",
            values=_EXTERNAL_IDS,
        ),
        Field("tripStartTime", "string", "When the trip started.", format="date-time", required=True),
        Field("startTime", "string", "When the interval started.", format="date-time", required=True),
        Field("endTime", "string", "When the interval ended.", format="date-time", required=True),
        Field("durationSeconds", "number", "The interval's length.", unit="s", minimum=0, required=True),
        _SPEED_UNIT,
        Field("postedSpeedLimit", "number", "The posted speed limit, in `speedUnit`.", required=True),
        Field("maxSpeed", "number", "The highest speed during the interval, in `speedUnit`.", required=True),
        Field("overLimit", "number", "`maxSpeed` less `postedSpeedLimit`, in `speedUnit`.", required=True),
        Field(
            "severityLevel",
            "string",
            "Samsara's severity of the interval.",
            enum=("light", "moderate", "heavy", "severe"),
            required=True,
        ),
        Field("isDismissed", "boolean", "The interval was dismissed in Samsara.", required=True),
        *_location_fields(),
        Field(
            "updatedAtTime",
            "string",
            "When the trip last changed in Samsara: a later version replaces an earlier one.",
            format="date-time",
            required=True,
        ),
    ),
)
