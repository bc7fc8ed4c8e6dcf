"""``write_outcome``: what became of one FMC change applied to Samsara (the ``ledger`` driver)."""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = ["OUTCOME_STATUSES", "WRITE_OUTCOME"]

#: ``applied``: written now; ``already``: Samsara already had it (an earlier run's write, found by
#: external ID or read-back); ``rejected``: Samsara refused it and no retry will help (the change is
#: wrong or its target is unknown); ``failed``: given up after retries (transient errors).
OUTCOME_STATUSES = ("applied", "already", "rejected", "failed")

WRITE_OUTCOME = RecordType(
    name="write_outcome",
    stream="write_outcomes",
    version=1,
    title="Samsara write outcome",
    description=(
        "The outcome of one change from the FMC's changes feed, applied to Samsara at most once:"
        " `applied` (written now), `already` (an earlier write was found, so nothing was written again),"
        " `rejected` (Samsara refused it; fix the change) or `failed` (transient errors outlasted the"
        " retries; the change is tried again by a later run)."
    ),
    id_description="`<changeId>`: one outcome per change; a later attempt replaces a `failed` outcome.",
    fields=(
        Field("changeId", "string", "The FMC change's ID in its changes feed.", required=True),
        Field("type", "string", "The change's type (`driver.created`, `defect.resolved`, …).", required=True),
        Field(
            "target",
            "object",
            "The Samsara object written.",
            required=True,
            fields=(
                Field("kind", "string", "The object's kind (`driver`, `defect`, `tag`).", required=True),
                Field("id", ("string", "null"), "The Samsara ID; null for a create that did not happen."),
                Field(
                    "externalIds",
                    "object",
                    "The external IDs that make a create idempotent.",
                    values=Field("externalId", "string", "One external ID."),
                ),
            ),
        ),
        Field("status", "string", "What became of the change.", enum=OUTCOME_STATUSES, required=True),
        Field(
            "reason", ("string", "null"), "Why it was `already`, `rejected` or `failed`; null when `applied`."
        ),
        Field(
            "samsaraResponse",
            ("object", "null"),
            "The last Samsara answer: its status and request ID, and the body's message (secrets removed).",
            fields=(
                Field("status", "integer", "The HTTP status."),
                Field("requestId", ("string", "null"), "Samsara's request ID, for support."),
                Field("message", ("string", "null"), "The error message or a summary of the body."),
            ),
        ),
        Field(
            "at",
            "string",
            "When the outcome was recorded (RFC 3339, UTC).",
            format="date-time",
            required=True,
        ),
    ),
)
