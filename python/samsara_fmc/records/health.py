"""``health``: what one run of a Function did, delivered to the sink's ``_health`` stream."""

from __future__ import annotations

from samsara_fmc.records._model import Field, RecordType

__all__ = ["HEALTH"]

_COUNT = Field("count", "integer", "A count.", minimum=0)

HEALTH = RecordType(
    name="health",
    stream="_health",
    version=1,
    title="Function run health",
    description=(
        "What one run of a Function did: whether it succeeded, the last error and its fix, how far"
        " behind each stream is, and what it counted. Also written to Function Storage as"
        " `health/<function>.json` and returned in the run summary."
    ),
    id_description="`<orgId>:<function>`: one record per Function, replaced by each run.",
    fields=(
        Field("function", "string", "The Function's name.", required=True),
        Field("orgId", "string", "The Samsara organisation ID the run worked for.", required=True),
        Field("runAt", "string", "When the run started (RFC 3339, UTC).", format="date-time", required=True),
        Field("ok", "boolean", "The run ended without an error.", required=True),
        Field(
            "lastSuccessAt",
            ("string", "null"),
            "When a run of this Function last succeeded (this one, when `ok`); null if none has.",
            format="date-time",
        ),
        Field(
            "lastError",
            ("string", "null"),
            "The last error's message (secrets removed); null after a success.",
        ),
        Field("lastErrorFix", ("string", "null"), "What to do about `lastError`, when it is known."),
        Field(
            "streams",
            "object",
            "Per stream the run drove, keyed by stream name.",
            values=Field(
                "stream",
                "object",
                "One stream's position.",
                fields=(
                    Field(
                        "lagSeconds",
                        ("number", "null"),
                        "How far behind the stream is: the run's time minus the newest record's time;"
                        " null before the first record.",
                        unit="s",
                    ),
                    Field(
                        "newestRecordAt",
                        ("string", "null"),
                        "The time of the newest record delivered.",
                        format="date-time",
                    ),
                    Field("caughtUp", "boolean", "The run reached the end of the stream's data."),
                    Field("records", "integer", "Records delivered on the stream, all runs.", minimum=0),
                    Field("busy", "boolean", "Another run held the stream's lease, so this run left it."),
                ),
            ),
        ),
        Field(
            "counts",
            "object",
            "What the run counted, by name (`records`, `rejected`, `batches`, `writesApplied`, …).",
            values=_COUNT,
        ),
        Field("retries", "integer", "Requests retried during the run (Samsara and FMC).", minimum=0),
        Field("rateLimited", "integer", "429 answers received during the run.", minimum=0),
        Field(
            "waitedMs",
            "integer",
            "Milliseconds the run spent waiting on rate limits and retry backoff (Samsara and FMC): "
            "compare with the run's duration to see whether a schedule is limited by the API's pace.",
            minimum=0,
        ),
    ),
)
