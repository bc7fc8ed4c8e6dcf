"""``dvir_defect`` and ``dvir``: DVIR defects as work-order candidates, and the inspections themselves.

Both come from Samsara's ``/…/stream`` endpoints (``/defects/stream``, ``/dvirs/stream``), where an
object reappears each time it changes: a defect resolved later is delivered again under the same
``id`` (an upsert). Defect photo URLs are left out: they expire within a day and may show people;
only their count is delivered.
"""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = ["DVIR", "DVIR_DEFECT"]

_EXTERNAL_IDS = Field(
    "externalIds",
    ("object", "null"),
    "The asset's external IDs (`maintenanceId`, `samsara.vin`, the FMC's own keys), as Samsara returns them.",
    values=Field("externalId", "string", "One external ID."),
)


def _asset(name: str, what: str) -> Field:
    return Field(
        name,
        ("object", "null"),
        f"The {what} the inspection covered; null when it was not a {what}.",
        fields=(
            Field("id", "string", f"The Samsara {what} ID.", required=True),
            _EXTERNAL_IDS,
        ),
    )


DVIR_DEFECT = RecordType(
    name="dvir_defect",
    stream="dvir_defects",
    version=1,
    title="DVIR defect (work-order candidate)",
    description=(
        "One defect a driver or mechanic found in an inspection (`/defects/stream`), joined with its"
        " defect type (`/defect-types`): what is wrong, on which vehicle or trailer (with the FMC's"
        " external IDs), and whether and how it was resolved. A defect delivered again (resolved,"
        " mechanic notes added) replaces the earlier record of the same `id`."
    ),
    id_description="`<defectId>`: the Samsara defect ID, the same for every version of the defect.",
    fields=(
        Field(
            "defectId", "string", "The Samsara defect ID (for `PATCH /fleet/defects/{id}`).", required=True
        ),
        Field(
            "dvirId", "string", "The inspection (DVIR) that found it; see the `dvirs` stream.", required=True
        ),
        Field("defectTypeId", ("string", "null"), "The Samsara defect type ID."),
        Field("defectType", ("string", "null"), "The defect type's label (`Brakes`); null when unknown."),
        Field(
            "section",
            ("string", "null"),
            "The part of the vehicle the defect type belongs to, Samsara's `sectionType`.",
            enum=(
                "exteriorFront",
                "exteriorRear",
                "exteriorSideUnderneath",
                "interiorDriverCab",
                "interiorPassengerArea",
                "other",
                "unknown",
            ),
        ),
        Field(
            "severity",
            ("string", "null"),
            "The defect type's severity (DVIR 2.0 types only).",
            enum=("major", "minor", "notApplicable"),
        ),
        Field(
            "safetyStatus",
            ("string", "null"),
            "The driver's classification of the defect.",
            enum=("safe", "unsafe"),
        ),
        _asset("vehicle", "vehicle"),
        _asset("trailer", "trailer"),
        Field(
            "driverId",
            ("string", "null"),
            "The driver who signed the inspection; null for a mechanic's inspection, or one older than"
            " the Function's first run or its index (180 days).",
        ),
        Field("comment", "string", "What the inspector wrote about the defect.", required=True),
        Field(
            "inspectedAtTime",
            ("string", "null"),
            "When the defect was reported (its `createdAtTime`, RFC 3339).",
            format="date-time",
        ),
        Field(
            "photoCount", "integer", "How many photos the defect has in Samsara.", minimum=0, required=True
        ),
        Field("isResolved", "boolean", "Whether the defect is resolved.", required=True),
        Field("resolvedAtTime", ("string", "null"), "When it was resolved (RFC 3339).", format="date-time"),
        Field(
            "resolvedBy",
            ("object", "null"),
            "Who resolved it.",
            fields=(
                Field("id", "string", "The Samsara driver or user ID.", required=True),
                Field("name", ("string", "null"), "The person's name.", personal=True),
                Field(
                    "type", "string", "A driver or a mechanic.", enum=("driver", "mechanic"), required=True
                ),
            ),
        ),
        Field("mechanicNotes", ("string", "null"), "The mechanic's notes."),
        Field(
            "vmrs",
            "object",
            "The defect type's VMRS system (Code Key 31), from the project's small table for Samsara's"
            " standard defect types (not checked against the licensed VMRS code book) or the FMC's own"
            " table (parameter `vmrsTable`).",
            fields=(
                Field("codeKey", "integer", "The VMRS code key: always 31 (Systems).", required=True),
                Field(
                    "systemCode",
                    ("string", "null"),
                    "The three-digit system code (`013`); null when unmapped.",
                ),
                Field("system", ("string", "null"), "The system's name (`Brakes`), as the table gives it."),
                Field(
                    "table",
                    "string",
                    "Which table mapped it: the project's or the FMC's.",
                    enum=("builtin", "fmc"),
                    required=True,
                ),
                Field(
                    "unmapped",
                    "boolean",
                    "The table has no row for the defect type: map it in the FMC's table.",
                    required=True,
                ),
            ),
            required=True,
        ),
        Field(
            "updatedAtTime",
            "string",
            "When the defect last changed (RFC 3339): the newer record wins.",
            format="date-time",
            required=True,
        ),
    ),
)

DVIR = RecordType(
    name="dvir",
    stream="dvirs",
    version=1,
    title="Driver vehicle inspection report",
    description=(
        "One inspection (`/dvirs/stream`): its type, when it began and was submitted, the vehicle or"
        " trailer, who signed it, its safety status and the defects it found (their records are in the"
        " `dvir_defects` stream). An inspection delivered again replaces the earlier record of the same `id`."
    ),
    id_description="`<dvirId>`: the Samsara DVIR ID, the same for every version of the inspection.",
    fields=(
        Field("dvirId", "string", "The Samsara DVIR ID.", required=True),
        Field("type", ("string", "null"), "The inspection's type (`preTrip`, `postTrip`, `mechanic`, …)."),
        Field(
            "startTime",
            ("string", "null"),
            "When the inspection began (`dvirSubmissionBeginTime`, RFC 3339).",
            format="date-time",
        ),
        Field(
            "endTime",
            ("string", "null"),
            "When it was submitted (`dvirSubmissionTime`, RFC 3339).",
            format="date-time",
        ),
        _asset("vehicle", "vehicle"),
        _asset("trailer", "trailer"),
        Field(
            "author",
            ("object", "null"),
            "Who signed the inspection (`authorSignature`).",
            fields=(
                Field("id", ("string", "null"), "The Samsara driver or user ID."),
                Field("type", ("string", "null"), "A driver or a mechanic."),
                Field(
                    "signedAtTime", ("string", "null"), "When it was signed (RFC 3339).", format="date-time"
                ),
            ),
        ),
        Field("driverId", ("string", "null"), "The driver who signed it; null for a mechanic's inspection."),
        Field(
            "safetyStatus",
            ("string", "null"),
            "`unsafe` while a major defect is open, `resolved` once its defects are resolved.",
            enum=("safe", "unsafe", "resolved"),
        ),
        Field(
            "defectIds",
            "array",
            "The defects the inspection found.",
            items=Field("defectId", "string", "A Samsara defect ID."),
            required=True,
        ),
        Field("odometerMeters", ("integer", "null"), "The odometer at the inspection.", unit="m"),
        Field("location", ("string", "null"), "Where it was done (`formattedAddress`).", personal=True),
        Field("mechanicNotes", ("string", "null"), "A mechanic's notes on the inspection."),
        Field(
            "updatedAtTime",
            "string",
            "When the inspection last changed (RFC 3339): the newer record wins.",
            format="date-time",
            required=True,
        ),
    ),
)
