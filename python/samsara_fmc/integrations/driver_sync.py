"""driver-sync: the FMC's driver roster and Samsara's drivers kept in step, both ways, on the
``reconcile`` driver (:mod:`samsara_fmc.engine.reconcile`).

Each run reads both sides (``GET /fleet/drivers``, active and deactivated; the FMC's
``GET /fmc/v1/drivers``; its changes feed ``GET /fmc/v1/changes`` from the last cursor) and plans:

* **links**: a Samsara driver whose ``externalIds`` hold an FMC id (``externalIdKey``, default
  ``fmcId``) that the roster lists is linked. An FMC record carrying a ``samsaraId`` (the FMC settled
  a review) is linked to that driver. The drivers left on both sides are matched with
  :func:`samsara_fmc.matching.match_drivers` (licence, names, employee number, phone, e-mail, as an
  HR export mangles them) before anything is created, and only when they changed since the last
  match. A confirmed pair is written back as ``PATCH /fleet/drivers/{id}`` with that one key.
* **reviews** (``sync_reports``): contested pairs and near misses go to the FMC for a person to
  settle; neither record is created nor linked meanwhile (creating one would risk a second driver
  for the same person). So does an FMC driver nothing matches that shares its folded name, phone,
  e-mail or licence with an unlinked Samsara driver (a pair the matching missed, a mistyped licence).
* **creates**: an active FMC driver that nothing matches is created: ``POST /fleet/drivers`` with
  its id as the external ID. Before the create (when an earlier attempt may have sent it) the driver
  is looked up by ``key:value``; a 400 answer while a driver carrying the id exists means it was
  created already and it is adopted: never a second driver. The API requires a ``username`` (the
  roster's, else one made of the FMC id) and a ``password``: a random one is sent that is never kept,
  logged or delivered (a fleet administrator sets the driver's password in the dashboard).
* **updates**: ``driver.updated`` changes in the FMC's feed, their FMC-owned fields
  (:data:`OWNERSHIP_DEFAULTS`, ``ownership``) written to the linked driver when they differ, one
  write per change (its id is the write's key); the feed's cursor moves once they are applied.
* **deactivations** (the FMC's rule, ``deactivateWhen``): a linked Samsara driver whose roster record
  is ``status: terminated`` (``terminated``, the default), or also one whose id left the roster
  (``missing``), is deactivated (``driverActivationStatus: deactivated``); ``never`` turns this off.
  Deactivations count against the safety brake (``maxDeactivatePercent`` of the linked drivers).
  A driver this sync deactivated is reactivated when the roster lists it active again; one
  deactivated by someone else is left alone. Terminated roster records take part in the matching (so
  a namesake cannot take their person's driver) but are never created.

The FMC gets one ``driver_link`` record per Samsara driver (``driver_links``, keyed by the Samsara
id, so drivers created in the Samsara dashboard reach the FMC too): both ids once linked, or
``samsaraOnly`` with the driver's details (name, username, licence, its other external IDs) until the
FMC lists it. ``dryRun=true`` delivers the plan as ``sync_plan`` records and writes nothing.
"""

from __future__ import annotations

import re
import secrets
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
from samsara_fmc.exceptions import BadRequestError, ConfigurationError, NotFoundError, ResponseDecodeError
from samsara_fmc.integrations.vehicle_sync import check_external_id
from samsara_fmc.matching import fold_name, license_key, match_drivers, phone_key
from samsara_fmc.sinks.fmc_http import FmcHttpSink
from samsara_fmc.state import fingerprint

__all__ = [
    "DEACTIVATE_RULES",
    "LINKS_STREAM",
    "OWNERSHIP_DEFAULTS",
    "REPORTS_STREAM",
    "plan_drivers",
    "run",
    "streams",
    "username_for",
]

LINKS_STREAM = "driver_links"
REPORTS_STREAM = "sync_reports"
DOMAIN = "drivers"

OWNERSHIP_DEFAULTS: dict[str, str] = {
    "name": "fmc",
    "phone": "fmc",
    "email": "fmc",
    "licenseNumber": "fmc",
    "licenseState": "fmc",
    "notes": "fmc",
    "username": "samsara",
}
"""Who owns each field by default: HR keeps the person's name, contact details and licence; the
username is the driver's login to the Samsara app (``username`` cannot be given to the FMC: changing
it would lock the driver out)."""

DEACTIVATE_RULES = ("terminated", "missing", "never")
"""``deactivateWhen``: ``terminated`` (the roster says ``status: terminated``), ``missing`` (that, or
the FMC id left the roster), ``never``."""

_INACTIVE = frozenset({"terminated", "inactive", "deactivated"})
_KEY = re.compile(r"^[A-Za-z0-9]{1,32}$")
_USERNAME = re.compile(r"^[^\s@]{1,189}$")
_MATCH_FIELDS = ("name", "licenseNumber", "licenseState", "employeeId", "phone", "email", "username")
_DETAIL_FIELDS = ("name", "username", "licenseNumber", "licenseState", "phone", "email")

_ext = external_ids_of


def streams(ctx: RunContext) -> tuple[list[Stream], PlanReport]:
    """The run's one stream (``drivers``) and the report its driver fills."""
    p = ctx.params
    key = str(p.get("externalIdKey") or "fmcId")
    if not _KEY.match(key) or key.startswith("samsara"):
        msg = f"parameter `externalIdKey` is `{key}`: use 1 to 32 ASCII letters and digits, not `samsara…`"
        raise ConfigurationError(msg)
    rule = str(p.get("deactivateWhen") or "terminated")
    if rule not in DEACTIVATE_RULES:
        msg = f"parameter `deactivateWhen` is `{rule}`: use {', '.join(f'`{r}`' for r in DEACTIVATE_RULES)}"
        raise ConfigurationError(msg)
    ownership = Ownership.parse(p.get("ownership"), OWNERSHIP_DEFAULTS, fixed=("username",))
    sink = getattr(ctx.sink, "inner", ctx.sink)
    if not isinstance(sink, FmcHttpSink):
        msg = (
            "driver-sync reads the FMC's driver roster and changes feed from the FMC endpoint: set the "
            "`FMC_URL` and `FMC_TOKEN` secrets"
        )
        raise ConfigurationError(msg)
    report = PlanReport()
    raw = p.get("maxDeactivatePercent")
    percent = int(raw if raw is not None else 10)
    driver = ReconcileDriver(
        plan=lambda sctx: plan_drivers(sctx, ctx.client, sink, key, ownership, rule),
        brake=Brake(max_share=percent / 100, param="maxDeactivatePercent"),
        report=report,
        dry_run=bool(p.get("dryRun")),
    )
    stream = Stream(
        name="drivers",
        sink_stream=LINKS_STREAM,
        fingerprint=fingerprint({"domain": DOMAIN, "externalIdKey": key, "v": 1}),
        driver=driver,
    )
    return [stream], report


def run(ctx: RunContext) -> dict[str, Any]:
    """One run: plan, brake, apply, deliver (or, with ``dryRun``, the plan only)."""
    return run_reconcile(ctx, *streams(ctx))


def username_for(rec: Mapping[str, Any]) -> str:
    """The username a created driver gets: the roster's ``username`` when Samsara accepts it (no
    spaces, no ``@``), else the FMC id in lower case without spaces or ``@`` (``fmc-d00017``)."""
    given = str(rec.get("username") or "").strip()
    if _USERNAME.match(given):
        return given
    return re.sub(r"[\s@]+", "", str(rec["id"]).lower()) or "driver"


def _active(rec: Mapping[str, Any]) -> bool:
    return str(rec.get("status") or "active").lower() not in _INACTIVE


def _deactivated(d: Mapping[str, Any]) -> bool:
    return d.get("driverActivationStatus") == "deactivated" or d.get("isDeactivated") is True


def _pool_digest(samsara: list[dict[str, Any]], fmc: list[dict[str, Any]]) -> str:
    """A digest of the unlinked records' matching fields: the pool is matched again only when it changes."""
    rows = sorted(
        [("s", str(d["id"]), record_digest({k: d.get(k) for k in _MATCH_FIELDS})) for d in samsara]
        + [("f", str(r["id"]), record_digest({k: r.get(k) for k in _MATCH_FIELDS})) for r in fmc]
    )
    return record_digest({"pool": rows})


def _read_samsara(client: Client, deadline: float) -> dict[str, dict[str, Any]]:
    """Every Samsara driver, active and deactivated (the list answers active ones unless asked)."""
    out: dict[str, dict[str, Any]] = {}
    for status in ("active", "deactivated"):
        params = {"limit": 512, "driverActivationStatus": status}
        for d in client.records("/fleet/drivers", params=params, deadline=deadline):
            out[str(d["id"])] = dict(d)
    return out


def plan_drivers(
    ctx: StreamContext,
    client: Client,
    sink: FmcHttpSink,
    key: str,
    ownership: Ownership,
    rule: str,
) -> Plan:
    """Reads both sides and plans links, creates, updates, deactivations and reports (module docstring)."""
    st = ctx.state.state
    samsara = _read_samsara(client, ctx.deadline)
    fmc = {str(r["id"]): r for r in sink.master_list(DOMAIN, ctx.deadline) if r.get("id") is not None}
    before: dict[str, list[Any]] = st.get("links") or {}
    ours: set[str] = set(st.get("deactivatedBySync") or [])
    links: dict[str, list[Any]] = {}  # samsara id -> [fmc id, method, score, reasons]
    taken: dict[str, str] = {}  # fmc id -> samsara id
    managed = {s for s, d in samsara.items() if key in _ext(d)}
    plan = Plan(domain=DOMAIN, size=len(managed | set(before)))
    after: dict[str, str] = {}  # samsara id -> the key of the action its link record waits for
    reports: dict[str, dict[str, Any]] = {}
    view = {sid: dict(d) for sid, d in samsara.items()}
    orphans: list[str] = []  # Samsara drivers carrying an FMC id the roster no longer lists

    # 1. Links Samsara already holds.
    for sid, d in samsara.items():
        fid = _ext(d).get(key)
        if fid is None:
            continue
        if fid in fmc and fid not in taken:
            prior = before.get(sid)
            links[sid] = prior if prior and prior[0] == fid else [fid, "externalId", 100.0, ["external_id"]]
            taken[fid] = sid
        else:
            orphans.append(sid)
    # 2. Links the FMC made itself (a ``samsaraId`` on its record, e.g. a settled review), and links
    # this sync made whose key has since gone from Samsara: written (again).
    wanted = [(str(r["samsaraId"]), fid, "fmc") for fid, r in fmc.items() if r.get("samsaraId")]
    wanted += [(sid, str(info[0]), "again") for sid, info in before.items()]
    for sid, fid, why in wanted:
        if sid in links or sid not in samsara or fid not in fmc or fid in taken or key in _ext(samsara[sid]):
            continue
        info = before.get(sid) if why == "again" else None
        links[sid] = info or [fid, "fmc", 100.0, ["fmc_samsara_id"]]
        taken[fid] = sid
        reason = (
            "the FMC's record names this driver (`samsaraId`)"
            if why == "fmc"
            else "the link's external ID is gone from Samsara"
        )
        plan.actions.append(_link(client, key, sid, fid, reason))
        after[sid] = plan.actions[-1].key

    # 3. The unlinked drivers on both sides, matched again only when they changed; then creates.
    orphaned = set(orphans)
    pool_s = [d for s, d in samsara.items() if s not in links and s not in orphaned]
    # Terminated records are matched too: they hold on to their person's driver, so a namesake cannot
    # take it (and a terminated person's driver is linked, then deactivated by the rule).
    pool_f = [r for f, r in fmc.items() if f not in taken]
    rematch = _pool_digest(pool_s, pool_f) != st.get("pool")
    created: dict[str, dict[str, Any]] = {}  # fmc id -> the driver once created (filled by the writes)
    creating: list[str] = []
    if rematch:
        result = match_drivers(pool_s, pool_f)
        held: set[str] = set()
        for ln in result.review:
            cand = {
                "samsaraId": str(ln.left["id"]),
                "fmcId": str(ln.right["id"]),
                "score": float(ln.score),
                "reasons": list(ln.reasons),
            }
            for side, rec in (("samsara", ln.left), ("fmc", ln.right)):
                held.add(f"{side}:{rec['id']}")
                rid = f"{DOMAIN}:{side}:{rec['id']}"
                r = reports.setdefault(
                    rid,
                    _report(side, rec, "review", "a near miss or a contested pair: a person decides"),
                )
                if cand not in r["candidates"]:
                    r["candidates"].append(cand)
        for ln in result.links:
            sid, fid = str(ln.left["id"]), str(ln.right["id"])
            bad = check_external_id(key, fid)
            if bad is not None:
                reports[f"{DOMAIN}:fmc:{fid}"] = _report("fmc", ln.right, "invalid", f"cannot link: {bad}")
                continue
            links[sid], taken[fid] = [fid, "matched", float(ln.score), list(ln.reasons)], sid
            plan.actions.append(
                _link(client, key, sid, fid, f"matched ({ln.score:g}: {', '.join(ln.reasons)})")
            )
            after[sid] = plan.actions[-1].key
        matched_s = {str(ln.left["id"]) for ln in result.links}
        twins = _Twins([d for d in pool_s if str(d["id"]) not in matched_s])
        for rec in result.unmatched_right:
            fid = str(rec["id"])
            if f"fmc:{fid}" in held or not _active(rec):
                continue
            twin = twins.find(rec)
            if twin is not None:  # never risk a second driver for one person: a person decides
                other, why = twin
                cand = {"samsaraId": str(other["id"]), "fmcId": fid, "score": 0.0, "reasons": [why]}
                what = why.removeprefix("same_")
                reason = (
                    f"nothing matches it, but an unlinked Samsara driver has the same {what}: creating it"
                    " could make a second driver for one person"
                )
                for side, r in (("fmc", rec), ("samsara", other)):
                    rep = reports.setdefault(f"{DOMAIN}:{side}:{r['id']}", _report(side, r, "review", reason))
                    if cand not in rep["candidates"]:
                        rep["candidates"].append(cand)
                continue
            bad = check_external_id(key, fid)
            if bad is None and not str(rec.get("name") or "").strip():
                bad = "the roster record has no `name` (Samsara requires one)"
            if bad is not None:
                reports[f"{DOMAIN}:fmc:{fid}"] = _report("fmc", rec, "invalid", f"cannot create: {bad}")
                continue
            creating.append(fid)
            plan.actions.append(_create(client, key, rec, created))
        for rid in st.get("reports") or []:
            if rid not in reports:
                _, side, rec_id = rid.split(":", 2)
                reports[rid] = {**_report(side, {"id": rec_id}, "resolved", "no longer applies"), "id": rid}
        plan.records[REPORTS_STREAM] = list(reports.values())

    # 4. The FMC's rule: deactivate linked drivers it terminated (or dropped); reactivate ours.
    for sid, info in links.items():
        fid, d = str(info[0]), samsara[sid]
        if rule != "never" and not _active(fmc[fid]) and not _deactivated(d):
            plan.actions.append(_status(client, sid, fid, "deactivated", "the FMC's roster says terminated"))
            view[sid]["driverActivationStatus"] = "deactivated"
        elif _active(fmc[fid]) and _deactivated(d) and sid in ours:
            plan.actions.append(_status(client, sid, fid, "active", "the FMC lists the driver active again"))
            view[sid]["driverActivationStatus"] = "active"
    if rule == "missing":
        for sid in orphans:
            fid = _ext(samsara[sid])[key]
            if fid not in fmc and not _deactivated(samsara[sid]):
                why = f"the FMC id `{fid}` left the roster"
                plan.actions.append(_status(client, sid, fid, "deactivated", why))
                view[sid]["driverActivationStatus"] = "deactivated"

    # The brake's denominator: the drivers linked once this plan is applied (at least those before).
    plan.size = max(len(links), plan.size)

    # 5. FMC changes to FMC-owned fields, applied to the linked driver once each.
    cursor, skipped = st.get("cursor"), 0
    already: list[dict[str, Any]] = []
    for page in sink.changes(cursor, ctx.deadline):
        cursor = page.cursor or cursor
        for change in page.data:
            if change.get("type") != "driver.updated":
                continue
            data = change.get("data") or {}
            target = taken.get(str(data.get("fmcId")))
            if target is None:
                skipped += 1
                continue
            given = [f for f in ownership.owned_by("fmc") if isinstance(data.get(f), str)]
            body = {f: data[f] for f in given if view[target].get(f) != data[f]}
            if body:
                view[target].update(body)
                plan.actions.append(_update(client, target, str(data["fmcId"]), str(change["id"]), body))
            elif given:  # nothing to write (a stopped run wrote it), but the FMC still gets its outcome
                already.append(already_outcome("driver", target, str(change["id"]), given))

    # 6. One record per Samsara driver; created drivers' records once their ids are known.
    records = [_link_record(key, view[s], links.get(s)) for s in view]
    plan.records[LINKS_STREAM] = records
    if already:
        plan.records[OUTCOMES_STREAM] = already
    plan.after = {f"{LINKS_STREAM}\x00{sid}": k for sid, k in after.items()}

    def late(rejected: set[str]) -> dict[str, list[dict[str, Any]]]:
        out = []
        for fid in creating:
            if f"create:{fid}" in rejected:
                continue
            d = created.get(fid) or _driver(client, f"{key}:{fid}", ctx.deadline)
            if d is not None:
                out.append(_link_record(key, d, [fid, "created", None, []]))
        return {LINKS_STREAM: out}

    plan.late = late
    pool_next = (pool_s, pool_f)
    actions = {a.key: a for a in plan.actions}

    def commit(state: dict[str, Any], rejected: set[str]) -> None:
        failed = {sid for sid, k in after.items() if k in rejected}
        kept = {s: info for s, info in links.items() if s not in failed}
        for fid in creating:
            d = created.get(fid)
            if d is not None and f"create:{fid}" not in rejected:
                kept[str(d["id"])] = [fid, "created", None, []]
        state["links"] = kept
        state["cursor"] = cursor
        mine = set(ours)
        for k, a in actions.items():
            if a.kind in ("deactivate", "update") and k not in rejected:
                status = a.fields.get("driverActivationStatus")
                sid = str(a.target["samsaraId"])
                if status == "deactivated":
                    mine.add(sid)
                elif status == "active":
                    mine.discard(sid)
        state["deactivatedBySync"] = sorted(mine)
        linked_f = {str(info[0]) for info in kept.values()}
        made = {fid for fid in creating if f"create:{fid}" not in rejected}
        left = [d for d in pool_next[0] if str(d["id"]) not in kept]
        right = [r for r in pool_next[1] if str(r["id"]) not in linked_f and str(r["id"]) not in made]
        state["pool"] = _pool_digest(left, right)
        if rematch:
            state["reports"] = sorted(k for k, r in reports.items() if r["status"] != "resolved")

    plan.commit = commit
    counts: dict[str, int] = {}
    for r in reports.values():
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    plan.summary = {
        "samsaraDrivers": len(samsara),
        "fmcDrivers": len(fmc),
        "linked": len(links),
        "rematched": rematch,
        "reports": counts,
        "updatesForUnlinkedDrivers": skipped,
    }
    return plan


class _Twins:
    """Unlinked Samsara drivers by the identifiers a person keeps (folded name, phone, e-mail,
    licence): before a create, a driver sharing one with the FMC record means the matching may have
    missed a pair (a mistyped licence, say), so the create waits for a person instead."""

    def __init__(self, drivers: list[dict[str, Any]]) -> None:
        self._by: dict[tuple[str, str], dict[str, Any]] = {}
        for d in drivers:
            for k in _keys(d):
                self._by.setdefault(k, d)

    def find(self, rec: Mapping[str, Any]) -> tuple[dict[str, Any], str] | None:
        for k in _keys(rec):
            if k in self._by:
                return self._by[k], f"same_{k[0]}"
        return None


def _keys(rec: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    name = str(rec.get("name") or "")
    tokens = sorted({t for t in re.split(r"[^a-z]+", fold_name(name).lower()) if len(t) > 1})
    if len(tokens) >= 2:
        out.append(("name", " ".join(tokens)))
    phone = phone_key(str(rec.get("phone") or ""))
    if phone:
        out.append(("phone", phone))
    email = str(rec.get("email") or "").strip().lower()
    if "@" in email:
        out.append(("email", email))
    lic = license_key(str(rec.get("licenseNumber") or ""))
    if lic and len(lic) >= 5:
        out.append(("licence", lic))
    return out


def _report(side: str, rec: Mapping[str, Any], status: str, reason: str) -> dict[str, Any]:
    return {
        "id": f"{DOMAIN}:{side}:{rec['id']}",
        "schemaVersion": 1,
        "domain": DOMAIN,
        "side": side,
        "recordId": str(rec["id"]),
        "status": status,
        "reason": reason,
        "name": rec.get("name"),
        "vin": None,
        "candidates": [],
    }


def _link_record(key: str, d: Mapping[str, Any], info: list[Any] | None) -> dict[str, Any]:
    """A Samsara driver as the FMC gets it: both ids once linked, ``samsaraOnly`` until then."""
    others = {k: v for k, v in _ext(d).items() if k != key and not k.startswith("samsara.")}
    held = _ext(d).get(key)
    status = "linked" if info is not None else ("unlisted" if held else "samsaraOnly")
    return {
        "id": str(d["id"]),
        "schemaVersion": 1,
        "samsaraId": str(d["id"]),
        "fmcId": str(info[0]) if info is not None else held,
        "status": status,
        "externalIdKey": key,
        "driverActivationStatus": "deactivated" if _deactivated(d) else "active",
        **{f: (str(d[f]) if d.get(f) not in (None, "") else None) for f in _DETAIL_FIELDS},
        "externalIds": others,
        "createdAtTime": d.get("createdAtTime"),
        "method": None if info is None else info[1],
        "score": None if info is None else info[2],
        "reasons": [] if info is None else list(info[3]),
    }


def _driver(client: Client, ref: str, deadline: float) -> dict[str, Any] | None:
    """The driver ``ref`` (an ID or ``key:value``), or ``None`` when there is none."""
    try:
        doc = client.request("GET", f"/fleet/drivers/{path_id(ref)}", deadline=deadline)
    except NotFoundError:
        return None
    data = doc.get("data") if isinstance(doc, Mapping) else None
    if not isinstance(data, Mapping):
        msg = f'`GET /fleet/drivers/{ref}` did not answer `{{"data": driver}}`'
        raise ResponseDecodeError(msg, "GET", f"/fleet/drivers/{ref}", 1, 0.0)
    return dict(data)


def _patch(client: Client, sid: str, body: Mapping[str, Any], deadline: float) -> Any:
    return client.request("PATCH", f"/fleet/drivers/{path_id(sid)}", json_body=dict(body), deadline=deadline)


def _link(client: Client, key: str, sid: str, fid: str, reason: str) -> Action:
    """Writes ``key: fid`` to the driver's external IDs (that key only: other keys stay)."""

    def verify(deadline: float) -> str | None:
        d = _driver(client, sid, deadline)
        found = d is not None and _ext(d).get(key) == fid
        return f"the driver carries `{key}:{fid}`" if found else None

    return Action(
        kind="link",
        key=f"link:{sid}:{fid}",
        target={"kind": "driver", "samsaraId": sid, "fmcId": fid},
        fields={"externalIds": {key: fid}},
        reason=reason,
        apply=lambda deadline: _patch(client, sid, {"externalIds": {key: fid}}, deadline),
        verify=verify,
    )


def create_body(key: str, rec: Mapping[str, Any]) -> dict[str, Any]:
    """The ``POST /fleet/drivers`` body for an FMC driver, without the password (added at send time
    only, so it is in no plan, outcome or log)."""
    body: dict[str, Any] = {"name": str(rec.get("name") or "").strip(), "username": username_for(rec)}
    for f in ("licenseNumber", "licenseState", "phone", "email", "notes"):
        v = rec.get(f)
        if isinstance(v, str) and v.strip():
            body[f] = v.strip()
    body["externalIds"] = {key: str(rec["id"])}
    return body


def _create(client: Client, key: str, rec: Mapping[str, Any], created: dict[str, dict[str, Any]]) -> Action:
    """``POST /fleet/drivers`` for an FMC driver nothing matches. A 400 while a driver carries the FMC
    id (an earlier attempt's create, the external ID being unique) adopts that driver: never a second
    one."""
    fid = str(rec["id"])
    body = create_body(key, rec)

    def verify(deadline: float) -> str | None:
        d = _driver(client, f"{key}:{fid}", deadline)
        if d is None:
            return None
        created[fid] = d
        return f"the driver `{d['id']}` carries `{key}:{fid}`"

    def apply(deadline: float) -> Any:
        sent = {**body, "password": secrets.token_urlsafe(18)}
        try:
            answer = client.request("POST", "/fleet/drivers", json_body=sent, deadline=deadline)
        except BadRequestError:
            if verify(deadline) is None:
                raise
            return None  # created by an earlier attempt: adopted
        data = answer.get("data") if isinstance(answer, Mapping) else None
        if isinstance(data, Mapping) and data.get("id"):
            created[fid] = dict(data)
        return None  # the answer holds nothing the run keeps (and is not logged)

    return Action(
        kind="create",
        key=f"create:{fid}",
        target={"kind": "driver", "samsaraId": None, "fmcId": fid},
        fields=body,
        reason="no Samsara driver carries its id or matches it (licence, name, employee number, phone)",
        apply=apply,
        verify=verify,
    )


def _status(client: Client, sid: str, fid: str, status: str, reason: str) -> Action:
    """``driverActivationStatus`` set to ``status`` (a deactivation counts against the brake)."""
    body = {"driverActivationStatus": status}

    def verify(deadline: float) -> str | None:
        d = _driver(client, sid, deadline)
        if d is None:
            return None
        now = "deactivated" if _deactivated(d) else "active"
        return f"the driver is {status}" if now == status else None

    return Action(
        kind="deactivate" if status == "deactivated" else "update",
        key=f"{'deactivate' if status == 'deactivated' else 'reactivate'}:{sid}:{fid}",
        target={"kind": "driver", "samsaraId": sid, "fmcId": fid},
        fields=body,
        reason=reason,
        apply=lambda deadline: _patch(client, sid, body, deadline),
        verify=verify,
    )


def _update(client: Client, sid: str, fid: str, change_id: str, body: dict[str, Any]) -> Action:
    """Writes the FMC-owned fields a ``driver.updated`` change carries."""

    def verify(deadline: float) -> str | None:
        d = _driver(client, sid, deadline)
        ok = d is not None and all(d.get(k) == x for k, x in body.items())
        return "the driver shows the change" if ok else None

    return Action(
        kind="update",
        key=f"change:{change_id}",
        target={"kind": "driver", "samsaraId": sid, "fmcId": fid},
        fields=dict(body),
        reason=f"the FMC changed {', '.join(f'`{k}`' for k in body)} (change `{change_id}`)",
        apply=lambda deadline: _patch(client, sid, body, deadline),
        verify=verify,
    )
