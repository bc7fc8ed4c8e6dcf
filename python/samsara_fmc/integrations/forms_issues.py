"""Forms and issues, both ways: submissions and issues to the FMC, the FMC's issues and forms to Samsara.

Three streams:

* ``form-submissions`` follows ``GET /form-submissions/stream`` (``include=externalIds``, optionally
  ``formTemplateIds``) on the ``stream`` driver and delivers each submission as a ``form_submission``
  record (template, status, submitter and assignee, asset, the answers per field, score, reviewer's
  comment); a submission that changes (reviewed, finished) is delivered again under its ``id``.
* ``issues`` follows ``GET /issues/stream`` (``include=externalIds``) likewise: ``issue`` records
  (status, priority, assignee, asset with its external IDs, source, the issue's own external IDs).
* ``ledger.workflows`` (the ``ledger`` driver) applies the FMC's changes (``GET /fmc/v1/changes``), each
  exactly once, and delivers a ``write_outcome`` per change to ``write_outcomes``:

  - ``issue.created`` → ``POST /issues`` (the runtime's SDK 4.1 lacks it; this is the project's own
    client) carrying the external ID ``fmcChangeId:<change id>`` (and ``fmcIssueId`` when the change
    gives the FMC's issue ID): before any send, and after a lost answer, ``GET /issues?ids=fmcChangeId:…``
    finds an issue an earlier attempt created, so it is never created twice.
  - ``issue.updated`` → ``PATCH /issues`` (the issue's ``id`` in the body: a Samsara ID, or an external
    ID such as ``fmcIssueId:…``) setting ``status``, the assignee (``assignedToUserId``) and optionally
    ``priority``, ``dueDate``, ``title``, ``description``; an issue that already shows every value is
    ``already`` and nothing is sent.
  - ``form.assigned`` → ``POST /form-submissions`` (``status: notStarted``, assigned to the driver).
    The body takes no external ID, so the ledger's read-back does the work: before the first send the
    submissions of that template assigned to that driver and created since :data:`SKEW` before the
    change was written (or before now, if earlier; at most a day back) are listed from the stream and
    saved with the intent; after a crash or a lost
    answer the same list is read again, and a new one among them (same template, same driver, same
    title when one is given) is the earlier send, so nothing is sent again. The rule's limit: a form of
    the same template assigned to the same driver in the dashboard between the send and the read-back
    would be taken for it.

  It runs when ``writeBack`` is on and the run's sink is the FMC endpoint; the summary's ``writeBack``
  says whether it ran and why not. ``reset`` never resets it (see :mod:`._writeback`).

Media URLs (issue photos, form photos and signatures) are never delivered or logged: only counts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from samsara_fmc.client import Client, ParamValue
from samsara_fmc.engine import LedgerDriver, RunContext, Stream, StreamDriver, Write
from samsara_fmc.engine._util import Clock, iso, parse_time, utc_now
from samsara_fmc.engine.ledger import Change
from samsara_fmc.integrations._writeback import changes_feed, external_id_problem, run_both, text_field
from samsara_fmc.records.workflows import ISSUE_STATUSES
from samsara_fmc.sinks import Batch
from samsara_fmc.state import fingerprint

__all__ = [
    "CHANGE_TYPES",
    "FORMS_PATH",
    "FORMS_STREAM",
    "ISSUES_PATH",
    "ISSUES_STREAM",
    "OUTCOMES_STREAM",
    "SKEW",
    "assign_form",
    "create_issue",
    "form_record",
    "issue_record",
    "now",
    "run",
    "streams",
    "update_issue",
]

FORMS_STREAM = "form_submissions"
ISSUES_STREAM = "issues"
OUTCOMES_STREAM = "write_outcomes"
FORMS_PATH = "/form-submissions/stream"
ISSUES_PATH = "/issues/stream"
CHANGE_TYPES = ("issue.created", "issue.updated", "form.assigned")
SKEW = dt.timedelta(minutes=5)
"""How far before the intent a form read-back looks (clock skew between the Function and Samsara)."""
PRIORITIES = ("low", "medium", "high")

now: Clock = utc_now
"""The current time (tests set the sandbox's simulated clock)."""

_QUERY: dict[str, ParamValue] = {"include": "externalIds"}


def streams(ctx: RunContext) -> tuple[list[Stream], list[Stream], dict[str, Any]]:
    """The inbound streams, the ledger stream (if it runs) and the summary's ``writeBack``."""
    p = ctx.params
    lookback = dt.timedelta(hours=int(p.get("lookbackHours") or 24))
    form_query: dict[str, ParamValue] = dict(_QUERY)
    templates = list(p.get("formTemplateIds") or [])
    if templates:
        form_query["formTemplateIds"] = ",".join(templates)
    inbound = [
        Stream(
            name="form-submissions",
            sink_stream=FORMS_STREAM,
            fingerprint=fingerprint({"path": FORMS_PATH, **form_query}),
            driver=StreamDriver(
                client=ctx.client,
                path=FORMS_PATH,
                to_record=form_record,
                params=form_query,
                lookback=lookback,
                clock=lambda: now(),
            ),
            newest=_newest,
        ),
        Stream(
            name="issues",
            sink_stream=ISSUES_STREAM,
            fingerprint=fingerprint({"path": ISSUES_PATH, **_QUERY}),
            driver=StreamDriver(
                client=ctx.client,
                path=ISSUES_PATH,
                to_record=issue_record,
                params=_QUERY,
                lookback=lookback,
                clock=lambda: now(),
            ),
            newest=_newest,
        ),
    ]
    feed, write_back = changes_feed(ctx, "writeBack")
    if feed is None:
        return inbound, [], write_back
    ledger = Stream(
        name="ledger.workflows",
        sink_stream=OUTCOMES_STREAM,
        fingerprint=fingerprint({"changes": list(CHANGE_TYPES), "v": 1}),
        driver=LedgerDriver(
            changes=feed.changes,
            writes={
                "issue.created": create_issue(ctx.client),
                "issue.updated": update_issue(ctx.client),
                "form.assigned": assign_form(ctx.client, lambda: now()),
            },
            clock=lambda: now(),
        ),
    )
    return inbound, [ledger], write_back


def run(ctx: RunContext) -> dict[str, Any]:
    """One run: submissions and issues, then the FMC's changes; the summary says if they were written."""
    inbound, ledgers, write_back = streams(ctx)
    return run_both(ctx, inbound, ledgers, write_back)


# --- FMC → Samsara -------------------------------------------------------------------------------


def _data(change: Change) -> Mapping[str, Any]:
    data = change.get("data")
    return data if isinstance(data, Mapping) else {}


def _choice(data: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = data.get(key)
    if value is None or value in allowed:
        return None
    return f"`data.{key}` is `{value}`: use one of {', '.join(f'`{a}`' for a in allowed)}"


def _due(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        parse_time(str(value))
    except ValueError:
        return f"`data.{key}` is `{value}`: use an RFC 3339 time such as `2026-11-05T17:00:00Z`"
    return None


def _user_id(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str | int) and str(value).isdigit()):
        return None
    return f"`data.{key}` is `{value}`: use a Samsara user ID (digits)"


def _first(*problems: str | None) -> str | None:
    return next((p for p in problems if p is not None), None)


def create_issue(client: Client) -> Write:
    """``issue.created`` (data: ``title``, ``assetId``, optional ``description``, ``priority``,
    ``dueDate``, ``status``, ``assignedToUserId``, ``fmcIssueId``) → ``POST /issues`` with the external
    IDs ``fmcChangeId`` (the change's ID: what makes the create idempotent) and ``fmcIssueId``."""

    def external_ids(change: Change) -> dict[str, str]:
        out = {"fmcChangeId": str(change["id"])}
        fmc_issue = _data(change).get("fmcIssueId")
        if fmc_issue not in (None, ""):
            out["fmcIssueId"] = str(fmc_issue)
        return out

    def check(change: Change) -> str | None:
        d = _data(change)
        return _first(
            text_field(d, "title", required=True, fix="give the issue a title"),
            text_field(d, "assetId", required=True, fix="name the vehicle (a Samsara ID or `key:value`)"),
            text_field(d, "description", required=False, fix="give a text or leave it out"),
            _choice(d, "priority", PRIORITIES),
            _choice(d, "status", ISSUE_STATUSES),
            _due(d, "dueDate"),
            _user_id(d, "assignedToUserId"),
            *(external_id_problem(k, v) for k, v in external_ids(change).items()),
        )

    def verify(change: Change, deadline: float) -> str | None:
        key = f"fmcChangeId:{change['id']}"
        found = client.request(
            "GET", "/issues", params={"ids": key, "include": "externalIds"}, deadline=deadline
        )
        items = (found or {}).get("data") or []
        return f"issue `{items[0]['id']}` has external ID `{key}`" if items else None

    def apply(change: Change, deadline: float) -> Any:
        d = _data(change)
        body: dict[str, Any] = {
            "title": str(d["title"]),
            "asset": {"id": str(d["assetId"])},
            "externalIds": external_ids(change),
        }
        for k in ("description", "priority", "dueDate", "status"):
            if d.get(k) is not None:
                body[k] = d[k]
        if d.get("assignedToUserId") is not None:
            body["assignedTo"] = {"id": str(d["assignedToUserId"]), "type": "user"}
        return client.request("POST", "/issues", json_body=body, deadline=deadline)

    return Write(
        kind="issue",
        target=lambda c: f"fmcChangeId:{c['id']}",
        apply=apply,
        verify=verify,
        external_ids=external_ids,
        check=check,
        created=_created_id,
    )


_UPDATABLE = ("status", "priority", "dueDate", "title", "description")


def update_issue(client: Client) -> Write:
    """``issue.updated`` (data: ``issueId``, and any of ``status``, ``assignedToUserId``, ``priority``,
    ``dueDate``, ``title``, ``description``) → ``PATCH /issues`` with the ``id`` in the body. An issue
    that already shows every value is ``already``; an unknown issue (404) is ``rejected``."""

    def check(change: Change) -> str | None:
        d = _data(change)
        if not any(d.get(k) is not None for k in (*_UPDATABLE, "assignedToUserId")):
            fields = ", ".join(f"`{k}`" for k in (*_UPDATABLE, "assignedToUserId"))
            return f"`data` changes nothing: give at least one of {fields}"
        return _first(
            text_field(d, "issueId", required=True, fix="name the issue (a Samsara ID or `key:value`)"),
            _choice(d, "status", ISSUE_STATUSES),
            _choice(d, "priority", PRIORITIES),
            _due(d, "dueDate"),
            _user_id(d, "assignedToUserId"),
            text_field(d, "title", required=False, fix="give a text or leave it out"),
        )

    def verify(change: Change, deadline: float) -> str | None:
        d = _data(change)
        found = client.request("GET", "/issues", params={"ids": str(d["issueId"])}, deadline=deadline)
        items = (found or {}).get("data") or []
        if not items:
            return None  # unknown: the PATCH answers 404 and the change is rejected
        issue = items[0]
        for k in _UPDATABLE:
            if d.get(k) is not None and not _same(k, issue.get(k), d[k]):
                return None
        user = d.get("assignedToUserId")
        if user is not None and str((issue.get("assignedTo") or {}).get("id")) != str(user):
            return None
        shown = ", ".join(f"{k} `{d[k]}`" for k in (*_UPDATABLE, "assignedToUserId") if d.get(k) is not None)
        return f"issue `{issue['id']}` already has {shown}"

    def apply(change: Change, deadline: float) -> Any:
        d = _data(change)
        body: dict[str, Any] = {"id": str(d["issueId"])}
        for k in _UPDATABLE:
            if d.get(k) is not None:
                body[k] = d[k]
        if d.get("assignedToUserId") is not None:
            body["assignedTo"] = {"id": str(d["assignedToUserId"]), "type": "user"}
        return client.request("PATCH", "/issues", json_body=body, deadline=deadline)

    return Write(
        kind="issue",
        target=lambda c: str(_data(c).get("issueId") or "") or None,
        apply=apply,
        verify=verify,
        check=check,
        created=_created_id,
    )


def _same(key: str, held: Any, wanted: Any) -> bool:
    if key == "dueDate" and held is not None:
        try:
            return parse_time(str(held)) == parse_time(str(wanted))
        except ValueError:
            return False
    return bool(held == wanted)


def assign_form(client: Client, clock: Clock) -> Write:
    """``form.assigned`` (data: ``formTemplateId``, ``driverId``, optional ``title``, ``dueAtTime``,
    ``isRequired``, ``routeStopId``) → ``POST /form-submissions`` (``status: notStarted``), sent once by
    the read-back the module docstring describes."""

    def check(change: Change) -> str | None:
        d = _data(change)
        driver = d.get("driverId")
        bad_driver = None
        if driver is None or not str(driver).isdigit():
            bad_driver = f"`data.driverId` is `{driver}`: use the Samsara ID (digits) of the driver"
        required = d.get("isRequired")
        return _first(
            text_field(d, "formTemplateId", required=True, fix="name the form template (its Samsara ID)"),
            bad_driver,
            text_field(d, "title", required=False, fix="give a text or leave it out"),
            _due(d, "dueAtTime"),
            None
            if required is None or isinstance(required, bool)
            else "`data.isRequired` must be true or false",
        )

    def matches(change: Change, since: str, deadline: float) -> dict[str, str]:
        """Submissions of the change's template assigned to its driver, created since ``since``: id →
        creation time."""
        d = _data(change)
        params: dict[str, ParamValue] = {"startTime": since, "formTemplateIds": str(d["formTemplateId"])}
        out: dict[str, str] = {}
        for item in client.records(FORMS_PATH, params=params, deadline=deadline):
            to = item.get("assignedTo") or {}
            if (
                str(to.get("id")) == str(d["driverId"])
                and to.get("type") == "driver"
                and (d.get("title") in (None, "") or item.get("title") == d["title"])
                and str(item.get("createdAtTime") or "") >= since
            ):
                out[str(item["id"])] = str(item.get("createdAtTime"))
        return out

    def prepare(change: Change, deadline: float) -> dict[str, Any]:
        since = iso(_since(change, clock()))
        return {"since": since, "ids": sorted(matches(change, since, deadline))}

    def read_back(change: Change, deadline: float, intent: Mapping[str, Any]) -> str | None:
        before = intent.get("before") or {}
        since = str(before.get("since") or iso(parse_time(str(intent["first"])) - SKEW))
        new = {
            k: v for k, v in matches(change, since, deadline).items() if k not in set(before.get("ids", []))
        }
        if not new:
            return None
        sid, at = min(new.items(), key=lambda kv: kv[1])
        return f"form submission `{sid}` (created {at}) is assigned to driver `{_data(change)['driverId']}`"

    def apply(change: Change, deadline: float) -> Any:
        d = _data(change)
        body: dict[str, Any] = {
            "formTemplate": {"id": str(d["formTemplateId"])},
            "status": "notStarted",
            "assignedTo": {"id": str(d["driverId"]), "type": "driver"},
        }
        for k in ("title", "dueAtTime", "isRequired", "routeStopId"):
            if d.get(k) is not None:
                body[k] = d[k]
        return client.request("POST", "/form-submissions", json_body=body, deadline=deadline)

    return Write(
        kind="formSubmission",
        target=lambda c: None,
        apply=apply,
        verify=lambda c, deadline: None,
        check=check,
        prepare=prepare,
        read_back=read_back,
        created=_created_id,
    )


def _since(change: Change, now: dt.datetime) -> dt.datetime:
    """Where a baseline starts: :data:`SKEW` before the change was written (nothing it makes can be
    older) or before now if that is earlier (a Function clock ahead of Samsara's), at most a day back."""
    try:
        at = parse_time(str(change.get("at")))
    except ValueError:
        at = now
    return max(min(at, now), now - dt.timedelta(days=1)) - SKEW


def _created_id(answer: Any) -> str | None:
    data = (answer or {}).get("data") if isinstance(answer, Mapping) else None
    return str(data["id"]) if isinstance(data, Mapping) and data.get("id") else None


# --- Samsara → FMC -------------------------------------------------------------------------------


def _user(obj: Any) -> dict[str, str] | None:
    if not isinstance(obj, Mapping) or obj.get("id") in (None, ""):
        return None
    return {"id": str(obj["id"]), "type": str(obj.get("type") or "")}


def _asset(obj: Any) -> dict[str, Any] | None:
    if not isinstance(obj, Mapping):
        return None
    ext = obj.get("externalIds")
    return {
        "entryType": str(obj.get("entryType") or ("tracked" if obj.get("id") else "untracked")),
        "id": None if obj.get("id") in (None, "") else str(obj["id"]),
        "name": obj.get("name"),
        "externalIds": dict(ext) if isinstance(ext, Mapping) else None,
    }


def _ext(item: Mapping[str, Any]) -> dict[str, str] | None:
    ext = item.get("externalIds")
    return {str(k): str(v) for k, v in ext.items()} if isinstance(ext, Mapping) else None


_MEDIA_KEYS = ("url", "urlExpiresAt", "base64Payload")


def _no_media(value: Any) -> Any:
    """``value`` without media URLs (bearer links), at any depth."""
    if isinstance(value, Mapping):
        return {k: _no_media(v) for k, v in value.items() if k not in _MEDIA_KEYS}
    if isinstance(value, list):
        return [_no_media(v) for v in value]
    return value


def _answer(field: Mapping[str, Any]) -> tuple[Any, list[str] | None, int]:
    """A field input's answer, its option IDs and its media count."""
    kind = str(field.get("type") or "")
    media = len(field.get("mediaList") or [])
    if kind == "number":
        return (field.get("numberValue") or {}).get("value"), None, media
    if kind == "text":
        return (field.get("textValue") or {}).get("value"), None, media
    if kind == "multiple_choice":
        v = field.get("multipleChoiceValue") or {}
        return v.get("value"), [str(v["valueId"])] if v.get("valueId") else None, media
    if kind == "check_boxes":
        v = field.get("checkBoxesValue") or {}
        ids = v.get("valueIds")
        return v.get("value"), [str(i) for i in ids] if isinstance(ids, list) else None, media
    if kind == "datetime":
        v = field.get("dateTimeValue") or {}
        return v.get("value") or v.get("dateValue"), None, media
    if kind == "signature":
        return None, None, media + (1 if (field.get("signatureValue") or {}).get("media") else 0)
    if kind == "media":
        return None, None, media + len((field.get("mediaValue") or {}).get("mediaList") or [])
    if kind == "asset":
        return _asset((field.get("assetValue") or {}).get("asset")), None, media
    if kind == "person":
        return _no_media((field.get("personValue") or {}).get("person")), None, media
    if kind == "geofence":
        return _no_media((field.get("geofenceValue") or {}).get("geofence")), None, media
    if kind == "barcode":
        codes = (field.get("barcodeValue") or {}).get("barcodes") or []
        return [b.get("value") for b in codes if isinstance(b, Mapping)], None, media
    if kind == "table":
        return _no_media(field.get("tableValue")), None, media
    # A type Samsara added later: its value object, without media URLs.
    values = {k: v for k, v in field.items() if k.endswith("Value")}
    return _no_media(next(iter(values.values()), None)), None, media


def form_record(item: Mapping[str, Any]) -> dict[str, Any]:
    """A ``/form-submissions/stream`` item as a ``form_submission`` record."""
    fields = []
    for f in item.get("fields") or []:
        value, ids, media = _answer(f)
        issue = f.get("issue")
        fields.append(
            {
                "id": str(f.get("id")),
                "label": f.get("label"),
                "type": str(f.get("type") or ""),
                "value": value,
                "valueIds": ids,
                "note": f.get("note"),
                "mediaCount": media,
                "issueId": str(issue["id"]) if isinstance(issue, Mapping) and issue.get("id") else None,
            }
        )
    submitted, assigned = _user(item.get("submittedBy")), _user(item.get("assignedTo"))
    driver = next((u["id"] for u in (assigned, submitted) if u and u["type"] == "driver"), None)
    template = item.get("formTemplate") or {}
    location = item.get("location") or {}
    approval = item.get("approvalDetails") or {}
    score = item.get("score")
    return {
        "id": str(item["id"]),
        "schemaVersion": 1,
        "title": item.get("title"),
        "status": str(item.get("status") or ""),
        "formTemplateId": str(template.get("id") or ""),
        "formTemplateRevisionId": template.get("revisionId"),
        "isRequired": bool(item.get("isRequired")),
        "submittedBy": submitted or {"id": "", "type": ""},
        "assignedTo": assigned,
        "driverId": driver,
        "asset": _asset(item.get("asset")),
        "externalIds": _ext(item),
        "fields": fields,
        "score": dict(score) if isinstance(score, Mapping) else None,
        "approvalComment": approval.get("comment"),
        "latitude": location.get("latitude"),
        "longitude": location.get("longitude"),
        "routeStopId": item.get("routeStopId"),
        "durationMs": item.get("durationMs"),
        "createdAtTime": str(item.get("createdAtTime") or ""),
        "assignedAtTime": item.get("assignedAtTime"),
        "dueAtTime": item.get("dueAtTime"),
        "submittedAtTime": item.get("submittedAtTime"),
        "updatedAtTime": str(item.get("updatedAtTime") or ""),
    }


def issue_record(item: Mapping[str, Any]) -> dict[str, Any]:
    """An ``/issues/stream`` item as an ``issue`` record."""
    asset = _asset(item.get("asset"))
    source = item.get("issueSource") or {}
    return {
        "id": str(item["id"]),
        "schemaVersion": 1,
        "title": str(item.get("title") or ""),
        "description": item.get("description"),
        "status": str(item.get("status") or ""),
        "priority": item.get("priority"),
        "dueDate": item.get("dueDate"),
        "asset": asset,
        "vehicleId": asset["id"] if asset and asset["entryType"] == "tracked" else None,
        "submittedBy": _user(item.get("submittedBy")) or {"id": "", "type": ""},
        "assignedTo": _user(item.get("assignedTo")),
        "source": {
            "type": str(source.get("type") or "ad-hoc"),
            "id": None if source.get("id") in (None, "") else str(source["id"]),
        },
        "externalIds": _ext(item),
        "mediaCount": len(item.get("mediaList") or []),
        "createdAtTime": str(item.get("createdAtTime") or ""),
        "submittedAtTime": item.get("submittedAtTime"),
        "updatedAtTime": str(item.get("updatedAtTime") or ""),
    }


def _newest(batch: Batch) -> str | None:
    """The newest ``updatedAtTime`` in a delivered batch."""
    times = [str(json.loads(line).get("updatedAtTime") or "") for line in batch.ndjson().splitlines() if line]
    return max((t for t in times if t), default=None)
