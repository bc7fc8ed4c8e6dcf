"""``camera_media``: what became of one camera media retrieval (``/cameras/media/retrieval``)."""

from __future__ import annotations

from samsara_fmc.records._model import Field, JsonType, RecordType

__all__ = ["CAMERA_MEDIA", "MEDIA_STATUSES"]

#: How a retrieval ended: ``available`` (downloaded), or why it could not be.
MEDIA_STATUSES = ("available", "failed", "invalid", "unavailable", "timedOut", "rejected")

_TIME: tuple[JsonType, ...] = ("string", "null")

CAMERA_MEDIA = RecordType(
    name="camera_media",
    stream="camera_media",
    version=1,
    title="Camera media",
    description=(
        "One camera media retrieval requested for a safety event or an alert, once it has ended: the"
        " files downloaded (input, times, SHA-256, size and content type; the bytes themselves are"
        " delivered as files to the same sink just before the record, under `fileKey`,"
        " `<retrievalId>/<input>.<ext>`), or an explicit failure (`failed`, `invalid`, `unavailable`,"
        " `timedOut` when still pending past the Function's `maxWaitHours`, `rejected` when the API"
        " refused the request) with its reason. Media URLs are bearer links that expire: never delivered."
    ),
    id_description=(
        "What the retrieval was for: the safety event's ID, or `alert:<assetId>:<alert time>` for an alert"
        " action (one retrieval per item)."
    ),
    fields=(
        Field("status", "string", "How the retrieval ended.", enum=MEDIA_STATUSES, required=True),
        Field("reason", ("string", "null"), "Why it did not end `available`."),
        Field("source", ("string", "null"), "What asked for it: `safetyEvent` or `alert`."),
        Field("safetyEventId", ("string", "null"), "The safety event it was requested for."),
        Field("vehicleId", ("string", "null"), "The Samsara ID of the vehicle."),
        Field(
            "retrievalId",
            ("string", "null"),
            "Samsara's retrieval ID (for `available`). `null` when the media was found among the"
            " uploaded media (`GET /cameras/media`) because the run that requested it stopped before"
            " saving the ID; its files are then under `item-<id>/`.",
        ),
        Field("mediaType", ("string", "null"), "The media type requested (`image`, `videoHighRes`)."),
        Field("startTime", _TIME, "The start of the media requested (RFC 3339).", format="date-time"),
        Field("endTime", _TIME, "The end of the media requested (RFC 3339).", format="date-time"),
        Field(
            "files",
            ("array", "null"),
            "The files downloaded, one per camera input.",
            items=Field(
                "file",
                "object",
                "One downloaded file.",
                fields=(
                    Field("input", "string", "The camera input (`dashcamRoadFacing`, …).", required=True),
                    Field("mediaType", ("string", "null"), "The file's media type."),
                    Field("startTime", _TIME, "The start of the media (RFC 3339).", format="date-time"),
                    Field("endTime", _TIME, "The end of the media (RFC 3339).", format="date-time"),
                    Field(
                        "availableAtTime",
                        _TIME,
                        "When Samsara made it available (RFC 3339).",
                        format="date-time",
                    ),
                    Field(
                        "fileKey",
                        "string",
                        "The key the bytes were delivered under (`<retrievalId>/<input>.<ext>`): the FMC"
                        " endpoint's file `<retrievalId>.<input>.<ext>` of stream `camera_media`, the"
                        " storage object or SFTP file `camera_media/<fileKey>`.",
                        required=True,
                    ),
                    Field(
                        "location", ("string", "null"), "Where the sink put the file (its path or URL path)."
                    ),
                    Field("sha256", "string", "The SHA-256 of the bytes, in hex.", required=True),
                    Field("sizeBytes", "integer", "The size of the file.", unit="B", required=True),
                    Field("contentType", "string", "The content type, from the bytes.", required=True),
                ),
            ),
        ),
        Field(
            "missing",
            ("array", "null"),
            "Inputs requested that did not become available, each `input` and `status`.",
            items=Field(
                "input",
                "object",
                "One input that did not become available.",
                fields=(
                    Field("input", ("string", "null"), "The camera input."),
                    Field(
                        "status",
                        ("string", "null"),
                        "Its status (`failed`, `unavailable`, …; `notFound` when the media was found"
                        " among the uploaded media without this input).",
                    ),
                ),
            ),
        ),
    ),
)
