"""vehicle-sync: Samsara's vehicles and the FMC's master list kept linked, both ways, on the
``reconcile`` driver (:mod:`samsara_fmc.engine.reconcile`).

Each run reads both sides (``GET /fleet/vehicles``; the FMC's ``GET /fmc/v1/vehicles``) and plans:

* **links**: a Samsara vehicle whose ``externalIds`` already hold an FMC id that the master list has
  is linked. The others are matched with :func:`samsara_fmc.matching.match_vehicles` (VIN, plate,
  unit number, make/model/year), but only when the unlinked records changed since the last match
  (a digest of them is kept): linked pairs are never matched again. A new link is written back to
  Samsara as the FMC's id under one external ID key (``externalIdKey``, default ``fmcId``) with a
  ``PATCH /fleet/vehicles/{id}`` that carries that key only (never the automatic ``samsara.*`` keys,
  which Samsara refuses), and only when the vehicle does not carry it already. The PATCH answers the
  vehicle as stored (the read-back); a key the write dropped (were the map replaced, not merged) is
  written back.
  The FMC gets a ``vehicle_link`` record (``vehicle_links``) with the Samsara id, VIN and gateway.
* **reports** (``sync_reports``): contested pairs for review, FMC vehicles with no Samsara vehicle
  (``awaitingInstallation``: vehicles appear in Samsara when a gateway is installed; the API cannot
  create them), Samsara vehicles the FMC does not list, FMC ids that are not valid external ID values.
* **updates**: ``vehicle.updated`` changes in the FMC's changes feed (``GET /fmc/v1/changes``), their
  FMC-owned fields (:data:`OWNERSHIP_DEFAULTS`, ``ownership``) written to the linked Samsara vehicle
  when it differs; the feed's cursor moves once they are applied.
* **unlinks**: a Samsara vehicle carrying the id of an FMC vehicle no longer on the master list has
  the key removed; these count against the safety brake (``maxUnlinkPercent`` of the linked vehicles).

``dryRun=true`` delivers the plan as ``sync_plan`` records and writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from samsara_fmc.client import Client, path_id
from samsara_fmc.engine import RunContext, Stream, StreamContext
from samsara_fmc.engine.reconcile import (
    OUTCOMES_STREAM,
    Action,
    Brake,
    Ownership,
    Plan,
    PlanReport,
    ReconcileDriver,
    already_outcome,
    external_ids_of,
    record_digest,
    run_reconcile,
)
from samsara_fmc.exceptions import ConfigurationError, ResponseDecodeError
from samsara_fmc.matching import match_vehicles
from samsara_fmc.sinks.fmc_http import FmcHttpSink
from samsara_fmc.state import fingerprint

__all__ = [
    "FMC_FIELDS",
    "LINKS_STREAM",
    "OWNERSHIP_DEFAULTS",
    "REPORTS_STREAM",
    "check_external_id",
    "plan_vehicles",
    "run",
    "streams",
]

LINKS_STREAM = "vehicle_links"
REPORTS_STREAM = "sync_reports"
DOMAIN = "vehicles"

OWNERSHIP_DEFAULTS: dict[str, str] = {
    "name": "fmc",
    "licensePlate": "fmc",
    "notes": "fmc",
    "vin": "samsara",
    "gateway": "samsara",
}
"""Who owns each field by default: the FMC names its units and registers plates; the gateway reads the
VIN from the engine and is Samsara's device (``gateway`` cannot be given to the FMC)."""

FMC_FIELDS: dict[str, str] = {
    "name": "unitNumber",
    "licensePlate": "licensePlate",
    "notes": "notes",
    "vin": "vin",
}
"""Samsara's field → the FMC master list's field of the same fact."""

_KEY = re.compile(r"^[A-Za-z0-9]{1,32}$")
_MATCH_FIELDS = ("vin", "licensePlate", "licenseState", "name", "unitNumber", "make", "model", "year")


def check_external_id(key: str, value: str) -> str | None:
    """Why ``key:value`` cannot be an external ID (keys of 1-32 letters and digits, not ``samsara.``;
    values of 1-128 printable ASCII characters without spaces, ``/`` or ``,``), or ``None``."""
    if not _KEY.match(key):
        return f"the key `{key}` is not 1 to 32 ASCII letters and digits"
    if not value or len(value) > 128:
        return f"the value `{value}` is not 1 to 128 characters"
    bad = next((c for c in value if not ("!" <= c <= "~") or c in "/,"), None)
    if bad is not None:
        return f"the value `{value}` contains `{bad}`: use printable ASCII without spaces, `/` or `,`"
    return None


def streams(ctx: RunContext) -> tuple[list[Stream], PlanReport]:
    """The run's one stream (``vehicles``) and the report its driver fills."""
    p = ctx.params
    key = str(p.get("externalIdKey") or "fmcId")
    if not _KEY.match(key) or key.startswith("samsara"):
        msg = f"parameter `externalIdKey` is `{key}`: use 1 to 32 ASCII letters and digits, not `samsara…`"
        raise ConfigurationError(msg)
    ownership = Ownership.parse(p.get("ownership"), OWNERSHIP_DEFAULTS, fixed=("gateway",))
    sink = getattr(ctx.sink, "inner", ctx.sink)
    if not isinstance(sink, FmcHttpSink):
        msg = (
            "vehicle-sync reads the FMC's master list and changes feed from the FMC endpoint: set the "
            "`FMC_URL` and `FMC_TOKEN` secrets"
        )
        raise ConfigurationError(msg)
    report = PlanReport()
    percent = int(p.get("maxUnlinkPercent") if p.get("maxUnlinkPercent") is not None else 10)
    driver = ReconcileDriver(
        plan=lambda sctx: plan_vehicles(sctx, ctx.client, sink, key, ownership),
        brake=Brake(max_share=percent / 100, param="maxUnlinkPercent"),
        report=report,
        dry_run=bool(p.get("dryRun")),
    )
    stream = Stream(
        name="vehicles",
        sink_stream=LINKS_STREAM,
        fingerprint=fingerprint({"domain": DOMAIN, "externalIdKey": key, "v": 1}),
        driver=driver,
    )
    return [stream], report


_ext = external_ids_of


def run(ctx: RunContext) -> dict[str, Any]:
    """One run: plan, brake, apply, deliver (or, with ``dryRun``, the plan only)."""
    return run_reconcile(ctx, *streams(ctx))


def _pool_digest(samsara: list[dict[str, Any]], fmc: list[dict[str, Any]]) -> str:
    """A digest of the unlinked records' matching fields: the pool is matched again only when it changes."""
    rows = sorted(
        [("s", str(v["id"]), record_digest({k: v.get(k) for k in _MATCH_FIELDS})) for v in samsara]
        + [("f", str(r["id"]), record_digest({k: r.get(k) for k in _MATCH_FIELDS})) for r in fmc]
    )
    return record_digest({"pool": rows})


def plan_vehicles(
    ctx: StreamContext, client: Client, sink: FmcHttpSink, key: str, ownership: Ownership
) -> Plan:
    """Reads both sides and plans links, unlinks, owned-field updates and reports (module docstring)."""
    st = ctx.state.state
    samsara = {
        str(v["id"]): dict(v)
        for v in client.records("/fleet/vehicles", params={"limit": 512}, deadline=ctx.deadline)
    }
    fmc = {str(r["id"]): r for r in sink.master_list(DOMAIN, ctx.deadline)}
    before: dict[str, list[Any]] = st.get("links") or {}
    links: dict[str, list[Any]] = {}  # samsara id -> [fmc id, method, score, reasons]
    taken: dict[str, str] = {}  # fmc id -> samsara id
    plan = Plan(domain=DOMAIN, size=len(set(before) | {s for s, v in samsara.items() if key in _ext(v)}))
    links_after: dict[str, str] = {}  # a link record's (fmc id) action it waits for

    # 1. Links Samsara already holds; ids of FMC vehicles gone from the list are unlinked.
    for sid, v in samsara.items():
        fid = _ext(v).get(key)
        if fid is None:
            continue
        if fid in fmc and fid not in taken:
            prior = before.get(sid)
            links[sid] = prior if prior and prior[0] == fid else [fid, "externalId", 100.0, ["external_id"]]
            taken[fid] = sid
        else:
            why = (
                "is no longer on the FMC's master list"
                if fid not in fmc
                else f"is held by `{taken[fid]}` too"
            )
            plan.actions.append(_unlink(client, key, sid, fid, f"the FMC vehicle `{fid}` {why}"))
    # 2. A link this sync made whose key has since gone from Samsara (removed in the dashboard): again.
    # If its FMC vehicle is gone from the list too, the unlink was applied (by a run that stopped
    # before delivering its record, or by hand): the FMC is still to be told.
    unlinked: list[tuple[str, str]] = []
    for sid, prior in before.items():
        fid = str(prior[0])
        if sid in samsara and fid not in fmc and fid not in taken and _ext(samsara[sid]).get(key) != fid:
            unlinked.append((sid, fid))
            continue
        if sid in links or sid not in samsara or fid not in fmc or fid in taken or key in _ext(samsara[sid]):
            continue
        links[sid], taken[fid] = prior, sid
        plan.actions.append(
            _link(
                client,
                key,
                sid,
                fid,
                _ext(samsara[sid]),
                "the link's external ID is gone from Samsara",
            )
        )
        links_after[fid] = plan.actions[-1].key

    # 3. The unlinked pool, matched again only when it changed.
    unlinking = {str(a.target["samsaraId"]) for a in plan.actions if a.kind == "unlink"}
    pool_s = [v for s, v in samsara.items() if s not in links and s not in unlinking]
    pool_f = [r for f, r in fmc.items() if f not in taken]
    reports: dict[str, dict[str, Any]] = {}
    rematch = _pool_digest(pool_s, pool_f) != st.get("pool")
    if rematch:
        result = match_vehicles(pool_s, pool_f)
        for ln in result.links:
            sid, fid = str(ln.left["id"]), str(ln.right["id"])
            bad = check_external_id(key, fid)
            if bad is not None:
                reports[f"{DOMAIN}:fmc:{fid}"] = _report(
                    "fmc", ln.right, "invalid", f"cannot link to `{sid}`: {bad}"
                )
                continue
            links[sid], taken[fid] = [fid, "matched", float(ln.score), list(ln.reasons)], sid
            plan.actions.append(
                _link(
                    client,
                    key,
                    sid,
                    fid,
                    _ext(samsara[sid]),
                    f"matched ({ln.score:g}: {', '.join(ln.reasons)})",
                )
            )
            links_after[fid] = plan.actions[-1].key
        for ln in result.review:
            cand = {
                "samsaraId": str(ln.left["id"]),
                "fmcId": str(ln.right["id"]),
                "score": float(ln.score),
                "reasons": list(ln.reasons),
            }
            for side, rec in (("samsara", ln.left), ("fmc", ln.right)):
                rid = f"{DOMAIN}:{side}:{rec['id']}"
                r = reports.setdefault(
                    rid,
                    _report(side, rec, "review", "contested: a rival pair scores within the review margin"),
                )
                if cand not in r["candidates"]:
                    r["candidates"].append(cand)
        for rec in result.unmatched_right:
            reports[f"{DOMAIN}:fmc:{rec['id']}"] = _report(
                "fmc",
                rec,
                "awaitingInstallation",
                "no Samsara vehicle matches: awaiting a gateway installation",
            )
        for rec in result.unmatched_left:
            reports[f"{DOMAIN}:samsara:{rec['id']}"] = _report(
                "samsara", rec, "samsaraOnly", "the FMC's master list has no vehicle that matches"
            )
        for rid in st.get("reports") or []:
            if rid not in reports:
                _, side, rec_id = rid.split(":", 2)
                reports[rid] = {**_report(side, {"id": rec_id}, "resolved", "no longer applies"), "id": rid}
        plan.records[REPORTS_STREAM] = list(reports.values())

    # 4. FMC changes to FMC-owned fields, applied to the linked vehicle.
    view = {sid: dict(v) for sid, v in samsara.items()}
    cursor, skipped = st.get("cursor"), 0
    already: list[dict[str, Any]] = []
    for page in sink.changes(cursor, ctx.deadline):
        cursor = page.cursor or cursor
        for change in page.data:
            if change.get("type") != "vehicle.updated":
                continue
            data = change.get("data") or {}
            target = taken.get(str(data.get("fmcId")))
            if target is None:
                skipped += 1
                continue
            body, same = {}, []
            for f in ownership.owned_by("fmc"):
                src = FMC_FIELDS.get(f, "")
                if isinstance(data.get(src), str):
                    if view[target].get(f) != data[src]:
                        body[f] = data[src]
                    else:
                        same.append(f)
            if body:
                view[target].update(body)
                action = _update(client, target, str(data["fmcId"]), str(change["id"]), body)
                plan.actions.append(action)
            elif same:  # nothing to write, but the FMC still gets its change's outcome
                already.append(already_outcome("vehicle", target, str(change["id"]), same))

    # 5. Link records, after the write each waits for; the state once everything is applied.
    records = [_link_record(key, view[s], info) for s, info in links.items()]
    for a in plan.actions:
        if a.kind == "unlink" and str(a.target["fmcId"]) not in taken:
            records.append(_unlinked_record(key, view[str(a.target["samsaraId"])], str(a.target["fmcId"])))
            links_after[str(a.target["fmcId"])] = a.key
    records.extend(_unlinked_record(key, view[sid], fid) for sid, fid in unlinked)
    plan.records[LINKS_STREAM] = records
    if already:
        plan.records[OUTCOMES_STREAM] = already
    plan.after = {f"{LINKS_STREAM}\x00{fid}": k for fid, k in links_after.items()}
    pool_next = (pool_s, pool_f)

    def commit(state: dict[str, Any], rejected: set[str]) -> None:
        failed = {fid for fid, k in links_after.items() if k in rejected}
        kept = {s: info for s, info in links.items() if info[0] not in failed}
        state["links"] = kept
        state["cursor"] = cursor
        linked_f = {str(info[0]) for info in kept.values()}
        left = [v for v in pool_next[0] if str(v["id"]) not in kept]
        right = [r for r in pool_next[1] if str(r["id"]) not in linked_f]
        state["pool"] = _pool_digest(left, right)
        if rematch:
            state["reports"] = sorted(k for k, r in reports.items() if r["status"] != "resolved")

    plan.commit = commit
    counts: dict[str, int] = {}
    for r in reports.values():
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    plan.summary = {
        "samsaraVehicles": len(samsara),
        "fmcVehicles": len(fmc),
        "linked": len(links),
        "rematched": rematch,
        "reports": counts,
        "updatesForUnlinkedVehicles": skipped,
    }
    return plan


def _report(side: str, rec: Mapping[str, Any], status: str, reason: str) -> dict[str, Any]:
    return {
        "id": f"{DOMAIN}:{side}:{rec['id']}",
        "schemaVersion": 1,
        "domain": DOMAIN,
        "side": side,
        "recordId": str(rec["id"]),
        "status": status,
        "reason": reason,
        "name": rec.get("name") if side == "samsara" else rec.get("unitNumber"),
        "vin": rec.get("vin") or None,
        "candidates": [],
    }


def _gateway(v: Mapping[str, Any]) -> tuple[str | None, str | None]:
    g = v.get("gateway")
    serial = (g.get("serial") if isinstance(g, Mapping) else None) or v.get("serial")
    return (str(serial) if serial else None), (
        str(g["model"]) if isinstance(g, Mapping) and g.get("model") else None
    )


def _link_record(key: str, v: Mapping[str, Any], info: list[Any]) -> dict[str, Any]:
    serial, model = _gateway(v)
    return {
        "id": str(info[0]),
        "schemaVersion": 1,
        "fmcId": str(info[0]),
        "samsaraId": str(v["id"]),
        "status": "linked",
        "externalIdKey": key,
        "vin": v.get("vin") or None,
        "gatewaySerial": serial,
        "gatewayModel": model,
        "samsaraName": v.get("name"),
        "licensePlate": v.get("licensePlate") or None,
        "method": info[1],
        "score": info[2],
        "reasons": list(info[3]),
    }


def _unlinked_record(key: str, v: Mapping[str, Any], fid: str) -> dict[str, Any]:
    return {**_link_record(key, v, [fid, "externalId", None, []]), "status": "unlinked"}


def _vehicle(client: Client, sid: str, deadline: float) -> dict[str, Any]:
    doc = client.request("GET", f"/fleet/vehicles/{path_id(sid)}", deadline=deadline)
    data = doc.get("data") if isinstance(doc, Mapping) else None
    if not isinstance(data, Mapping):
        msg = f'`GET /fleet/vehicles/{sid}` did not answer `{{"data": vehicle}}`'
        raise ResponseDecodeError(msg, "GET", f"/fleet/vehicles/{sid}", 1, 0.0)
    return dict(data)


def _link(client: Client, key: str, sid: str, fid: str, held: Mapping[str, str], reason: str) -> Action:
    """Writes ``key: fid`` to the vehicle's external IDs (that key only); the PATCH answers the vehicle
    as stored, which is the read-back: a key of another system it lacks (``held``: the vehicle's keys
    as the run read them) is written back with it."""

    def verify(deadline: float) -> str | None:
        found = _ext(_vehicle(client, sid, deadline)).get(key) == fid
        return f"the vehicle carries `{key}:{fid}`" if found else None

    def apply(deadline: float) -> Any:
        path = f"/fleet/vehicles/{path_id(sid)}"
        answer = client.request("PATCH", path, json_body={"externalIds": {key: fid}}, deadline=deadline)
        data = answer.get("data") if isinstance(answer, Mapping) else None
        after = _ext(data) if isinstance(data, Mapping) else _ext(_vehicle(client, sid, deadline))
        lost = {k: v for k, v in held.items() if not k.startswith("samsara.") and k != key and k not in after}
        if lost:  # the map was replaced, not merged: put the other systems' keys back
            body = {"externalIds": {**lost, key: fid}}
            client.request("PATCH", path, json_body=body, deadline=deadline)
        return answer

    return Action(
        kind="link",
        key=f"link:{sid}:{fid}",
        target={"kind": "vehicle", "samsaraId": sid, "fmcId": fid},
        fields={"externalIds": {key: fid}},
        reason=reason,
        apply=apply,
        verify=verify,
    )


def _unlink(client: Client, key: str, sid: str, fid: str, reason: str) -> Action:
    """Removes ``key`` from the vehicle's external IDs (a ``null`` value removes a key)."""

    def verify(deadline: float) -> str | None:
        held = _ext(_vehicle(client, sid, deadline)).get(key)
        return None if held == fid else f"the vehicle no longer carries `{key}:{fid}`"

    def apply(deadline: float) -> Any:
        body = {"externalIds": {key: None}}
        return client.request("PATCH", f"/fleet/vehicles/{path_id(sid)}", json_body=body, deadline=deadline)

    return Action(
        kind="unlink",
        key=f"unlink:{sid}:{fid}",
        target={"kind": "vehicle", "samsaraId": sid, "fmcId": fid},
        fields={"externalIds": {key: None}},
        reason=reason,
        apply=apply,
        verify=verify,
    )


def _update(client: Client, sid: str, fid: str, change_id: str, body: dict[str, Any]) -> Action:
    """Writes the FMC-owned fields a ``vehicle.updated`` change carries."""

    def verify(deadline: float) -> str | None:
        v = _vehicle(client, sid, deadline)
        return "the vehicle shows the change" if all(v.get(k) == x for k, x in body.items()) else None

    def apply(deadline: float) -> Any:
        return client.request("PATCH", f"/fleet/vehicles/{path_id(sid)}", json_body=body, deadline=deadline)

    return Action(
        kind="update",
        key=f"change:{change_id}",
        target={"kind": "vehicle", "samsaraId": sid, "fmcId": fid},
        fields=dict(body),
        reason=f"the FMC changed {', '.join(f'`{k}`' for k in body)} (change `{change_id}`)",
        apply=apply,
        verify=verify,
    )
