"""``driver_vehicle_assignment``: who drove (or rode in) which vehicle when, with both sides' IDs.

The FMC bills, allocates fines and tolls and answers "who had the truck" from these windows, so each
carries the Samsara IDs and the FMC's own IDs (the external IDs the FMC's key names) of the driver and
the vehicle."""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = ["ASSIGNMENT_TYPES", "DRIVER_VEHICLE_ASSIGNMENT"]

ASSIGNMENT_TYPES = (
    "invalid",
    "unknown",
    "HOS",
    "idCard",
    "static",
    "faceId",
    "tachograph",
    "safetyManual",
    "RFID",
    "trailer",
    "external",
    "qrCode",
    "driverApp",
    "voiceSignIn",
    "smartAssign",
)
"""Every assigning source Samsara documents (it may add more: a record keeps any it sends)."""

_EXTERNAL_ID = Field("externalId", "string", "One external ID.")


def _party(name: str, what: str) -> tuple[Field, ...]:
    return (
        Field(f"{name}Id", "string", f"The Samsara ID of the {what}.", required=True),
        Field(f"{name}Name", ("string", "null"), f"The {what}'s name in Samsara."),
        Field(
            f"fmc{name[0].upper()}{name[1:]}Id",
            ("string", "null"),
            f"The FMC's ID of the {what}: its external ID under the Function's `{name}IdKey`; null"
            f" while the {what} is not linked.",
        ),
        Field(
            f"{name}ExternalIds",
            ("object", "null"),
            f"Every external ID of the {what}.",
            values=_EXTERNAL_ID,
        ),
    )


DRIVER_VEHICLE_ASSIGNMENT = RecordType(
    name="driver_vehicle_assignment",
    stream="driver_vehicle_assignments",
    version=1,
    title="Driver-vehicle assignment",
    description=(
        "One driver-vehicle assignment window from `GET /fleet/driver-vehicle-assignments`, in its"
        " newest version: the driver and the vehicle with their Samsara and FMC IDs, start, end (null"
        " while it lasts), the assigning source and whether the driver rode as a passenger. A window"
        " that changes (an ongoing one that ends, an end moved) is delivered again under the same `id`:"
        " an upsert."
    ),
    id_description=(
        "`<vehicleId>:<driverId>:<start in Unix milliseconds>`: the vehicle, driver and start that"
        " identify an assignment in Samsara."
    ),
    fields=(
        *_party("driver", "driver"),
        *_party("vehicle", "vehicle"),
        Field("startTime", "string", "When the assignment starts.", required=True, format="date-time"),
        Field(
            "endTime",
            ("string", "null"),
            "When it ends; null while it lasts (an ongoing assignment).",
            format="date-time",
        ),
        Field("ongoing", "boolean", "Whether it has no end yet.", required=True),
        Field("assignedAtTime", ("string", "null"), "When the assignment was made.", format="date-time"),
        Field(
            "assignmentType",
            ("string", "null"),
            "The assigning source: "
            + ", ".join(f"`{x}`" for x in ASSIGNMENT_TYPES)
            + " (`external`: made through the API, e.g. by this Function for the FMC).",
        ),
        Field("isPassenger", "boolean", "Whether the driver rode as a passenger.", required=True),
        Field(
            "sourceName",
            ("string", "null"),
            "The source name given when the assignment was made through the API (`metadata.sourceName`).",
        ),
    ),
)
