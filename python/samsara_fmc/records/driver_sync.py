"""``driver_link``: a Samsara driver as the FMC gets it from driver-sync, linked to its roster record or
not (yet). Keyed by the Samsara id, so drivers created in the Samsara dashboard reach the FMC too."""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = ["DRIVER_LINK", "DRIVER_LINK_STATUSES"]

#: ``linked``: the driver carries the FMC's id and the roster lists it; ``samsaraOnly``: a driver the
#: roster lacks (created in the Samsara dashboard, or not matched yet); ``unlisted``: the driver
#: carries an FMC id the roster no longer lists.
DRIVER_LINK_STATUSES = ("linked", "samsaraOnly", "unlisted")

DRIVER_LINK = RecordType(
    name="driver_link",
    stream="driver_links",
    version=1,
    title="Driver link",
    description=(
        "A Samsara driver and the FMC roster record it is linked to: both ids once linked (the FMC's id"
        " is in the driver's `externalIds` too), else the driver's details so the FMC can add it; its"
        " activation status in Samsara, and how the link was made."
    ),
    id_description=(
        "`<samsaraId>`: one record per Samsara driver; a new link, a changed field or a deactivation is"
        " an upsert."
    ),
    fields=(
        Field("samsaraId", "string", "The Samsara driver ID.", required=True),
        Field("fmcId", ("string", "null"), "The FMC's id of the driver; null until linked."),
        Field("status", "string", "Whether it is linked.", enum=DRIVER_LINK_STATUSES, required=True),
        Field(
            "externalIdKey", "string", "The Samsara external ID key that holds the FMC's id.", required=True
        ),
        Field(
            "driverActivationStatus",
            "string",
            "The driver's status in Samsara.",
            enum=("active", "deactivated"),
            required=True,
        ),
        Field("name", ("string", "null"), "The driver's name in Samsara.", personal=True),
        Field("username", ("string", "null"), "The driver's login to the Samsara driver app.", personal=True),
        Field("licenseNumber", ("string", "null"), "The driver's licence number in Samsara.", personal=True),
        Field("licenseState", ("string", "null"), "The state or province that issued the licence."),
        Field("phone", ("string", "null"), "The driver's phone in Samsara.", personal=True),
        Field("email", ("string", "null"), "The driver's e-mail in Samsara.", personal=True),
        Field(
            "externalIds",
            "object",
            "The driver's other external IDs (a payroll id, …), less Samsara's automatic `samsara.*`.",
            required=True,
        ),
        Field(
            "createdAtTime", ("string", "null"), "When the driver was created in Samsara.", format="date-time"
        ),
        Field(
            "method",
            ("string", "null"),
            "How the link was made: `externalId` (Samsara held the FMC's id), `matched`, `fmc` (the FMC's"
            " record names the driver) or `created` (the sync created the driver).",
            enum=("externalId", "matched", "fmc", "created"),
        ),
        Field("score", ("number", "null"), "The matching score (100 for an external ID)."),
        Field("reasons", "array", "The matching evidence.", items=Field("reason", "string", "One piece.")),
    ),
)
