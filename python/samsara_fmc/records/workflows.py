"""``form_submission``, ``issue`` and ``driver_message``: the driver workflows Samsara holds (forms the
drivers fill in, issues they or the office raise, messages between dispatch and drivers).

Media (photos, signatures) are never delivered: their URLs are bearer links that expire and may show
people, so only a count per field or issue is."""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = ["DRIVER_MESSAGE", "FORM_STATUSES", "FORM_SUBMISSION", "ISSUE", "ISSUE_STATUSES"]

FORM_STATUSES = (
    "notStarted",
    "completed",
    "archived",
    "inProgress",
    "needsReview",
    "changesRequested",
    "approved",
    "denied",
)
"""Every form submission status Samsara documents (it may add more: a record keeps any it sends)."""
ISSUE_STATUSES = ("open", "inProgress", "resolved", "dismissed")
"""Every issue status Samsara documents."""

_EXTERNAL_IDS = Field("externalId", "string", "One external ID.")


def _user(name: str, what: str, *, required: bool = False) -> Field:
    return Field(
        name,
        "object" if required else ("object", "null"),
        f"{what}: a Samsara user or driver (`id`, `type`).",
        required=required,
        fields=(
            Field("id", "string", "The Samsara ID of the user or driver.", required=True),
            Field("type", "string", "`driver` or `user`.", required=True),
        ),
    )


def _asset(what: str) -> Field:
    return Field(
        "asset",
        ("object", "null"),
        f"The asset {what}: tracked (a Samsara vehicle `id` with its external IDs) or entered by hand"
        " (`name`).",
        fields=(
            Field("entryType", "string", "`tracked` or `untracked`.", required=True),
            Field("id", ("string", "null"), "The Samsara ID of a tracked asset."),
            Field("name", ("string", "null"), "The name of an untracked asset, as typed."),
            Field(
                "externalIds",
                ("object", "null"),
                "The asset's external IDs (`maintenanceId`, the FMC's own keys).",
                values=_EXTERNAL_IDS,
            ),
        ),
    )


def _external_ids(what: str) -> Field:
    return Field(
        "externalIds",
        ("object", "null"),
        f"The {what}'s external IDs (`include=externalIds`), e.g. the FMC's `fmcChangeId` on one it opened.",
        values=_EXTERNAL_IDS,
    )


FORM_SUBMISSION = RecordType(
    name="form_submission",
    stream="form_submissions",
    version=1,
    title="Form submission",
    description=(
        "One form submission from `/form-submissions/stream` (`include=externalIds`), in its newest"
        " version: the template, status, who submitted it and to whom it is assigned, the asset, the"
        " answers per field, the score and the reviewer's comment. A submission that changes (reviewed,"
        " approved, finished by the driver) is delivered again under the same `id`: an upsert. Media"
        " (photos, signatures) are counted, never linked."
    ),
    id_description="The Samsara form submission ID.",
    fields=(
        Field("title", ("string", "null"), "The submission's title (usually the template's)."),
        Field(
            "status",
            "string",
            "The submission's state: "
            + ", ".join(f"`{x}`" for x in FORM_STATUSES)
            + " (Samsara may add states; they are passed on as sent).",
            required=True,
        ),
        Field("formTemplateId", "string", "The Samsara ID of the form template.", required=True),
        Field("formTemplateRevisionId", ("string", "null"), "The template revision it was filled in on."),
        Field("isRequired", "boolean", "Whether the worker must complete it.", required=True),
        _user("submittedBy", "Who submitted (or created) it", required=True),
        _user("assignedTo", "Who it is assigned to (an office-assigned form)"),
        Field(
            "driverId",
            ("string", "null"),
            "The Samsara ID of the driver it concerns: its assignee if a driver, else its submitter if a"
            " driver; null when neither is.",
        ),
        _asset("it is about"),
        _external_ids("submission"),
        Field(
            "fields",
            "array",
            "The answers, in the template's order.",
            required=True,
            items=Field(
                "field",
                "object",
                "One answer.",
                fields=(
                    Field("id", "string", "The template field's ID.", required=True),
                    Field("label", ("string", "null"), "The field's label."),
                    Field(
                        "type",
                        "string",
                        "The field's type (`number`, `text`, `multiple_choice`, `check_boxes`, `datetime`,"
                        " `signature`, `media`, `asset`, `table`, `person`, `geofence`, `barcode`).",
                        required=True,
                    ),
                    Field(
                        "value",
                        ("string", "number", "boolean", "array", "object", "null"),
                        "The answer: a number, a text, the chosen option's label, the checked labels, a"
                        " date-time, an asset/person/geofence object, barcode values or table rows; null"
                        " for media and signatures (see `mediaCount`) and unanswered fields.",
                    ),
                    Field(
                        "valueIds",
                        ("array", "null"),
                        "The chosen options' IDs (multiple choice, check boxes).",
                        items=Field("valueId", "string", "One option ID."),
                    ),
                    Field("note", ("string", "null"), "A note attached to the answer."),
                    Field(
                        "mediaCount", "integer", "Photos or signatures attached.", minimum=0, required=True
                    ),
                    Field("issueId", ("string", "null"), "An issue the answer raised, if any."),
                ),
            ),
        ),
        Field(
            "score",
            ("object", "null"),
            "The score of a scored form (`scorePoints`, `maxPoints`, `scorePercent`).",
        ),
        Field("approvalComment", ("string", "null"), "The reviewer's comment (approved, changes requested)."),
        Field("latitude", ("number", "null"), "Where it was submitted (WGS 84).", unit="deg", personal=True),
        Field("longitude", ("number", "null"), "Where it was submitted (WGS 84).", unit="deg", personal=True),
        Field("routeStopId", ("string", "null"), "The route stop it is assigned to, if any."),
        Field("durationMs", ("integer", "null"), "How long the driver took to fill it in.", unit="ms"),
        Field("createdAtTime", "string", "When it was created.", format="date-time", required=True),
        Field("assignedAtTime", ("string", "null"), "When it was assigned.", format="date-time"),
        Field("dueAtTime", ("string", "null"), "When it is due.", format="date-time"),
        Field("submittedAtTime", ("string", "null"), "When it was submitted.", format="date-time"),
        Field(
            "updatedAtTime",
            "string",
            "When Samsara last changed it (the stream's order).",
            format="date-time",
            required=True,
        ),
    ),
)

ISSUE = RecordType(
    name="issue",
    stream="issues",
    version=1,
    title="Issue",
    description=(
        "One issue from `/issues/stream` (`include=externalIds`), in its newest version: title,"
        " description, status, priority, due date, the asset with its external IDs, who raised it and"
        " who it is assigned to, where it came from (a form or ad hoc) and its own external IDs (the"
        " FMC's `fmcChangeId` on an issue the FMC opened). A change of status or assignee is delivered"
        " again under the same `id`: an upsert. Media are counted, never linked."
    ),
    id_description="The Samsara issue ID.",
    fields=(
        Field("title", "string", "The issue's title.", required=True),
        Field("description", ("string", "null"), "Its description."),
        Field(
            "status",
            "string",
            "Its status: " + ", ".join(f"`{x}`" for x in ISSUE_STATUSES) + " (others passed on as sent).",
            required=True,
        ),
        Field("priority", ("string", "null"), "Its priority.", enum=("low", "medium", "high")),
        Field("dueDate", ("string", "null"), "When it is due.", format="date-time"),
        _asset("it concerns"),
        Field(
            "vehicleId",
            ("string", "null"),
            "The Samsara ID of the vehicle (a tracked asset); null for an untracked one.",
        ),
        _user("submittedBy", "Who raised it", required=True),
        _user("assignedTo", "Who is working on it"),
        Field(
            "source",
            "object",
            "Where it came from: a form submission (`type` `form`, its `id`) or raised ad hoc.",
            required=True,
            fields=(
                Field("type", "string", "`form` or `ad-hoc`.", required=True),
                Field("id", ("string", "null"), "The form submission's ID, for `form`."),
            ),
        ),
        _external_ids("issue"),
        Field("mediaCount", "integer", "Photos attached.", minimum=0, required=True),
        Field("createdAtTime", "string", "When it was created.", format="date-time", required=True),
        Field("submittedAtTime", ("string", "null"), "When it was submitted.", format="date-time"),
        Field(
            "updatedAtTime",
            "string",
            "When Samsara last changed it (the stream's order).",
            format="date-time",
            required=True,
        ),
    ),
)

DRIVER_MESSAGE = RecordType(
    name="driver_message",
    stream="driver_messages",
    version=1,
    title="Driver message",
    description=(
        "One message between dispatch and a driver (`GET /v1/fleet/messages`): a driver's reply or"
        " report, or a dispatch message (the FMC's own included), delivered once. Whether it was read is"
        " not delivered: it changes after delivery, and a message is delivered only once."
    ),
    id_description=(
        "`<driverId>:<sentAtMs>:<sender type>:<hash of the text>`: Samsara gives a message no ID; two"
        " messages with the same driver, millisecond, sender and text are one record."
    ),
    fields=(
        Field(
            "driverId",
            ("string", "null"),
            "The Samsara ID of the driver of the conversation; null for a channel that is not one to one.",
        ),
        Field(
            "direction",
            "string",
            "`fromDriver` or `toDriver`.",
            enum=("fromDriver", "toDriver"),
            required=True,
        ),
        Field("senderType", "string", "`driver` or `dispatch`, as Samsara says.", required=True),
        Field("senderName", ("string", "null"), "The sender's name.", personal=True),
        Field("text", "string", "The message.", personal=True, required=True),
        Field("sentAtMs", "integer", "When it was sent (Unix milliseconds).", unit="ms", required=True),
        Field("sentAtTime", "string", "The same as RFC 3339, UTC.", format="date-time", required=True),
    ),
)
