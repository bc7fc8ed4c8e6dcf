"""Two-way master data: ``vehicle_link`` (a confirmed link, to the FMC), ``sync_report`` (what needs
a person: pairs in review, records on one side only) and ``sync_plan`` (a dry run's plan)."""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = [
    "LINK_STATUSES",
    "PLAN_ACTIONS",
    "REPORT_STATUSES",
    "SYNC_PLAN",
    "SYNC_REPORT",
    "TAG_LINK",
    "VEHICLE_LINK",
]

#: ``linked``: both sides carry each other's id; ``unlinked``: the FMC record left the master list, so
#: the FMC's id was removed from the Samsara vehicle.
LINK_STATUSES = ("linked", "unlinked")

#: ``review``: contested pairs only a person can settle; ``awaitingInstallation``: an FMC vehicle with
#: no Samsara vehicle yet (vehicles appear in Samsara when a gateway is installed); ``samsaraOnly``:
#: a Samsara record the FMC does not list; ``invalid``: a link that cannot be written (the FMC's id is
#: not a valid external ID value); ``resolved``: an earlier report that no longer applies.
REPORT_STATUSES = ("review", "awaitingInstallation", "samsaraOnly", "invalid", "resolved")

#: What a plan does: writes to Samsara (``link``, ``update``, ``unlink``, …) and deliveries to the FMC.
PLAN_ACTIONS = ("create", "update", "link", "unlink", "deactivate", "unassign", "delete", "deliver")

_CANDIDATE = Field(
    "candidate",
    "object",
    "One contested pair.",
    fields=(
        Field("samsaraId", "string", "The Samsara record's ID.", required=True),
        Field("fmcId", "string", "The FMC record's ID.", required=True),
        Field("score", "number", "The matching score, 0-100.", required=True),
        Field("reasons", "array", "The evidence.", items=Field("reason", "string", "One piece of evidence.")),
    ),
)

VEHICLE_LINK = RecordType(
    name="vehicle_link",
    stream="vehicle_links",
    version=1,
    title="Vehicle link",
    description=(
        "A vehicle of the FMC's master list linked to its Samsara vehicle: the Samsara id, and what"
        " Samsara owns about it (the VIN its gateway reads, the gateway's serial and model, its name"
        " and plate there). The FMC's id is written to the Samsara vehicle's `externalIds` too."
    ),
    id_description="`<fmcId>`: one record per FMC vehicle; a changed link or Samsara field is an upsert.",
    fields=(
        Field("fmcId", "string", "The FMC's vehicle id.", required=True),
        Field("samsaraId", "string", "The Samsara vehicle ID.", required=True),
        Field("status", "string", "Whether the link stands.", enum=LINK_STATUSES, required=True),
        Field(
            "externalIdKey", "string", "The Samsara external ID key that holds the FMC's id.", required=True
        ),
        Field("vin", ("string", "null"), "The VIN in Samsara (read from the engine by the gateway)."),
        Field("gatewaySerial", ("string", "null"), "The serial of the Samsara gateway installed."),
        Field("gatewayModel", ("string", "null"), "The model of the Samsara gateway installed."),
        Field("samsaraName", ("string", "null"), "The vehicle's name in Samsara."),
        Field("licensePlate", ("string", "null"), "The plate in Samsara."),
        Field(
            "method",
            "string",
            "How the link was made: `externalId` (Samsara already held the FMC's id) or `matched`.",
            enum=("externalId", "matched"),
            required=True,
        ),
        Field("score", ("number", "null"), "The matching score (100 for an external ID)."),
        Field("reasons", "array", "The matching evidence.", items=Field("reason", "string", "One piece.")),
    ),
)

SYNC_REPORT = RecordType(
    name="sync_report",
    stream="sync_reports",
    version=1,
    title="Sync report",
    description=(
        "A record the sync could not settle by itself, on either side: a contested pair for review, an"
        " FMC vehicle awaiting installation, a Samsara record the FMC does not list, or a link that"
        " cannot be written; `resolved` once it no longer applies."
    ),
    id_description="`<domain>:<side>:<recordId>`: one report per record; it changes as the record does.",
    fields=(
        Field("domain", "string", "The domain (`vehicles`).", required=True),
        Field("side", "string", "The side the record is on.", enum=("fmc", "samsara"), required=True),
        Field("recordId", "string", "The record's id on that side.", required=True),
        Field("status", "string", "What the record needs.", enum=REPORT_STATUSES, required=True),
        Field("reason", "string", "Why, one sentence.", required=True),
        Field("name", ("string", "null"), "The record's name or unit number, to find it."),
        Field("vin", ("string", "null"), "The record's VIN."),
        Field("candidates", "array", "The contested pairs, best first (for `review`).", items=_CANDIDATE),
    ),
)

SYNC_PLAN = RecordType(
    name="sync_plan",
    stream="sync_plans",
    version=1,
    title="Sync plan item",
    description=(
        "One step a sync would take, as a dry run (`dryRun=true`) reports it without doing it: a write"
        " to Samsara or a record delivered to the FMC."
    ),
    id_description="`<domain>:<action key>`: the same planned step has the same id in every dry run.",
    fields=(
        Field("domain", "string", "The domain (`vehicles`).", required=True),
        Field("action", "string", "The step.", enum=PLAN_ACTIONS, required=True),
        Field("samsaraId", ("string", "null"), "The Samsara record written or described."),
        Field("fmcId", ("string", "null"), "The FMC record concerned."),
        Field(
            "fields",
            "object",
            "What would be written (the body's fields), or for `deliver` the stream and status.",
            required=True,
        ),
        Field("reason", "string", "Why the plan has it.", required=True),
        Field(
            "plannedAt", "string", "When it was planned (RFC 3339, UTC).", format="date-time", required=True
        ),
    ),
)

TAG_LINK = RecordType(
    name="tag_link",
    stream="tag_links",
    version=1,
    title="Tag link",
    description=(
        "A tag of the FMC's organisation (branch, business unit, cost centre) linked to its Samsara tag:"
        " the Samsara tag ID (the FMC's id is in the tag's `externalIds` too), and how many vehicles and"
        " drivers it holds in Samsara."
    ),
    id_description="`<fmcId>`: one record per FMC tag; a renamed, moved or re-membered tag is an upsert.",
    fields=(
        Field("fmcId", "string", "The FMC's id of the tag.", required=True),
        Field("samsaraId", "string", "The Samsara tag ID.", required=True),
        Field("name", "string", "The tag's name (the FMC's).", required=True),
        Field("parentFmcId", ("string", "null"), "The FMC id of its parent; null for a root."),
        Field("vehicleCount", "integer", "Vehicles in the Samsara tag.", required=True),
        Field("driverCount", "integer", "Drivers in the Samsara tag."),
    ),
)
