"""tag-sync: the FMC's branches, business units and cost centres kept in step with Samsara's tag tree,
on the ``reconcile`` driver (:mod:`samsara_fmc.engine.reconcile`).

Each run reads the FMC's organisation (``GET /fmc/v1/tags``: ``id``, ``name``, ``parentId``, optional
``externalIds``, ``vehicles`` and ``drivers``, the FMC's vehicle and driver ids), Samsara's tags
(``GET /tags``), vehicles and drivers (``GET /fleet/vehicles``, ``GET /fleet/drivers``, whose
``externalIds`` map FMC ids to Samsara ones, as vehicle-sync and driver-sync write them) and the FMC's
vehicle and driver master lists (``GET /fmc/v1/vehicles``, ``/fmc/v1/drivers``), and plans, parents
before children:

* **match**: an FMC tag is the Samsara tag carrying its id under ``externalIdKey`` (``fmcTagId``), else
  one sharing an external ID pair (``costCentre: CC1010``), else the one of the same name under the
  same parent. Never a duplicate: a tag is created (``POST /tags`` with the FMC id as an external ID)
  only when none matches, and its create is looked up by ``key:value`` first when retried; a 400 for
  the external ID means it exists and it is adopted.
* **owned fields**: the FMC owns its organisation: a matched tag's ``name`` and parent follow the FMC
  (renames and moves), and its FMC id is written to its ``externalIds`` (that key only).
* **membership**, vehicles and drivers alike: ``PATCH /tags/{id}`` replaces member arrays, so an
  array sent is the FMC's members (mapped to Samsara ids) plus every current member the FMC does not
  manage. The FMC manages a vehicle or driver the token can see (active drivers only: a deactivated
  one is left where it is) that carries the FMC's external ID key (``vehicleIdKey``,
  ``driverIdKey``) with a value on the FMC's master list; anything else (added in the dashboard, not
  linked yet, another system's, gone from the FMC's list, outside the token's tags) is kept as it is.
  An array is sent only when it changes, and only for an FMC tag that lists that kind of member
  (a kind no FMC tag lists is not read at all);
  other arrays (assets, …) are never sent. A PATCH that removes members is an ``unassign``; the
  members it removes count against the safety brake (``maxUnassignPercent`` of the memberships the FMC
  manages).

The FMC gets a ``tag_link`` record per tag (``tag_links``); ``dryRun=true`` delivers the plan instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from samsara_fmc.client import Client, path_id
from samsara_fmc.engine import RunContext, Stream, StreamContext
from samsara_fmc.engine.reconcile import (
    Action,
    Brake,
    Plan,
    PlanReport,
    ReconcileDriver,
    external_ids_of,
    record_digest,
    run_reconcile,
)
from samsara_fmc.exceptions import BadRequestError, ConfigurationError, NotFoundError
from samsara_fmc.sinks.fmc_http import FmcHttpSink
from samsara_fmc.state import fingerprint

__all__ = ["LINKS_STREAM", "MemberKind", "plan_tags", "run", "streams"]

LINKS_STREAM = "tag_links"
DOMAIN = "tags"
_KEY = re.compile(r"^[A-Za-z0-9]{1,32}$")
_ARRAYS = ("vehicles", "drivers")


@dataclass(frozen=True)
class MemberKind:
    """A kind of tag member the FMC lists: the tag's array, where Samsara lists the objects, the
    external ID key that carries the FMC's id, and the FMC's master list of them."""

    array: str
    path: str
    key: str
    master: str

    def read(self, client: Client, sink: FmcHttpSink, deadline: float) -> dict[str, str]:
        """The members the FMC manages: FMC id → Samsara id, for the objects the token can see that
        carry :attr:`key` with a value on the FMC's master list."""
        listed = {str(r["id"]) for r in sink.master_list(self.master, deadline) if r.get("id") is not None}
        out: dict[str, str] = {}
        for obj in client.records(self.path, params={"limit": 512}, deadline=deadline):
            fid = external_ids_of(obj).get(self.key)
            if fid is not None and fid in listed:
                out[fid] = str(obj["id"])
        return out


def streams(ctx: RunContext) -> tuple[list[Stream], PlanReport]:
    """The run's one stream (``tags``) and the report its driver fills."""
    p = ctx.params
    key = str(p.get("externalIdKey") or "fmcTagId")
    vkey = str(p.get("vehicleIdKey") or "fmcId")
    dkey = str(p.get("driverIdKey") or "fmcId")
    for name, value in (("externalIdKey", key), ("vehicleIdKey", vkey), ("driverIdKey", dkey)):
        if not _KEY.match(value) or value.startswith("samsara"):
            msg = f"parameter `{name}` is `{value}`: use 1 to 32 ASCII letters and digits, not `samsara…`"
            raise ConfigurationError(msg)
    sink = getattr(ctx.sink, "inner", ctx.sink)
    if not isinstance(sink, FmcHttpSink):
        msg = (
            "tag-sync reads the FMC's organisation from the FMC endpoint: set the `FMC_URL` and "
            "`FMC_TOKEN` secrets"
        )
        raise ConfigurationError(msg)
    kinds = (
        MemberKind("vehicles", "/fleet/vehicles", vkey, "vehicles"),
        MemberKind("drivers", "/fleet/drivers", dkey, "drivers"),
    )
    report = PlanReport()
    percent = int(p.get("maxUnassignPercent") if p.get("maxUnassignPercent") is not None else 10)
    driver = ReconcileDriver(
        plan=lambda sctx: plan_tags(sctx, ctx.client, sink, key, kinds),
        brake=Brake(max_share=percent / 100, param="maxUnassignPercent"),
        report=report,
        dry_run=bool(p.get("dryRun")),
        parallel=1,  # a child's create looks its parent up: in order
    )
    stream = Stream(
        name="tags",
        sink_stream=LINKS_STREAM,
        fingerprint=fingerprint({"domain": DOMAIN, "externalIdKey": key, "v": 1}),
        driver=driver,
    )
    return [stream], report


def run(ctx: RunContext) -> dict[str, Any]:
    """One run: plan, brake, apply, deliver (or, with ``dryRun``, the plan only)."""
    return run_reconcile(ctx, *streams(ctx))


def _members(tag: Mapping[str, Any], array: str = "vehicles") -> set[str]:
    return {str(m["id"]) for m in tag.get(array) or [] if isinstance(m, Mapping) and m.get("id")}


def _depth_order(fmc: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Parents before children; a parent missing from the list (or a cycle) makes a tag a root."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def visit(fid: str, trail: set[str]) -> None:
        if fid in seen or fid in trail:
            return
        parent = fmc[fid].get("parentId")
        if parent in fmc:
            visit(str(parent), trail | {fid})
        seen.add(fid)
        out.append(fmc[fid])

    for fid in sorted(fmc):
        visit(fid, set())
    return out


def plan_tags(
    ctx: StreamContext, client: Client, sink: FmcHttpSink, key: str, kinds: tuple[MemberKind, ...]
) -> Plan:
    """Reads both sides and plans creates, links, renames, moves and membership (module docstring)."""
    samsara = {
        str(t["id"]): dict(t) for t in client.records("/tags", params={"limit": 512}, deadline=ctx.deadline)
    }
    fmc = {str(t["id"]): dict(t) for t in sink.master_list(DOMAIN, ctx.deadline)}
    # A kind no FMC tag lists is not read (an FMC without driver membership needs no roster).
    by_fmc = {
        k.array: k.read(client, sink, ctx.deadline)
        if any(t.get(k.array) is not None for t in fmc.values())
        else {}
        for k in kinds
    }
    managed = {k.array: set(by_fmc[k.array].values()) for k in kinds}
    mapping: dict[str, str | None] = {}  # fmc tag id -> samsara tag id (None: created this run)
    used: set[str] = set()
    managed_members = sum(len(_members(t, a) & managed[a]) for t in samsara.values() for a in managed)
    plan = Plan(domain=DOMAIN, size=max(managed_members, 1))
    records: list[dict[str, Any]] = []
    created: list[tuple[str, str | None, str]] = []
    unmapped = {k.array: 0 for k in kinds}
    for ft in _depth_order(fmc):
        fid = str(ft["id"])
        parent_fid = str(ft["parentId"]) if ft.get("parentId") in fmc else None
        parent_sid = mapping.get(parent_fid) if parent_fid else None
        want: dict[str, set[str]] = {}
        for a, ids in by_fmc.items():
            if ft.get(a) is not None:  # absent or null: the FMC does not say
                listed = [str(x) for x in ft.get(a) or []]
                want[a] = {ids[x] for x in listed if x in ids}
                unmapped[a] += sum(1 for x in listed if x not in ids)
        shared = set(external_ids_of(ft).items())
        candidates = [t for s, t in samsara.items() if s not in used]
        found = (
            next((t for t in candidates if external_ids_of(t).get(key) == fid), None)
            or next((t for t in candidates if shared & set(external_ids_of(t).items())), None)
            or next(
                (
                    t
                    for t in candidates
                    if t.get("name") == ft.get("name")
                    and (t.get("parentTagId") or None) == parent_sid
                    and (parent_fid is None or parent_sid is not None)
                ),
                None,
            )
        )
        if found is None:
            mapping[fid] = None
            created.append((fid, parent_fid, str(ft["name"])))
            body: dict[str, Any] = {"name": str(ft["name"]), "externalIds": {key: fid}}
            body.update({a: sorted(w) for a, w in want.items() if w})
            plan.actions.append(_create(client, key, fid, parent_fid, body))
            continue
        sid = str(found["id"])
        mapping[fid] = sid
        used.add(sid)
        body = {}
        kind = "update"
        if external_ids_of(found).get(key) != fid:
            body["externalIds"] = {key: fid}
            kind = "link"
        if found.get("name") != ft.get("name"):
            body["name"] = str(ft["name"])
            kind = "update"
        if (
            parent_fid is not None
            and parent_sid is not None
            and (found.get("parentTagId") or None) != parent_sid
        ):
            body["parentTagId"] = parent_sid
            kind = "update"
        removed = 0
        for a, w in want.items():
            current = _members(found, a)
            desired = (current - managed[a]) | w  # what the FMC does not manage stays
            if desired != current:
                body[a] = sorted(desired)
                removed += len((current & managed[a]) - w)
                kind = "update"
        if removed:
            kind = "unassign"
        if body:
            plan.actions.append(_patch(client, key, sid, fid, kind, body, removed))
        counts = {a: len(body[a]) if a in body else len(_members(found, a)) for a in ("vehicles", "drivers")}
        records.append(_record(fid, sid, str(ft["name"]), parent_fid, counts))
    plan.records[LINKS_STREAM] = records

    def late(rejected: set[str]) -> dict[str, list[dict[str, Any]]]:
        out = []
        for fid, parent_fid, name in created:
            if f"create:{fid}" in rejected:
                continue
            tag = _tag(client, f"{key}:{fid}", ctx.deadline)
            if tag is not None:
                counts = {a: len(_members(tag, a)) for a in ("vehicles", "drivers")}
                out.append(_record(fid, str(tag["id"]), name, parent_fid, counts))
        return {LINKS_STREAM: out}

    plan.late = late
    plan.summary = {
        "fmcTags": len(fmc),
        "samsaraTags": len(samsara),
        "matched": sum(1 for v in mapping.values() if v is not None),
        "membersNotLinkedYet": sum(unmapped.values()),
        "driversNotLinkedYet": unmapped.get("drivers", 0),
    }
    return plan


def _record(
    fid: str, sid: str, name: str, parent_fid: str | None, counts: Mapping[str, int]
) -> dict[str, Any]:
    return {
        "id": fid,
        "schemaVersion": 1,
        "fmcId": fid,
        "samsaraId": sid,
        "name": name,
        "parentFmcId": parent_fid,
        "vehicleCount": counts["vehicles"],
        "driverCount": counts["drivers"],
    }


def _tag(client: Client, ref: str, deadline: float) -> dict[str, Any] | None:
    """The tag ``ref`` (an ID or ``key:value``), or ``None`` when there is none."""
    try:
        doc = client.request("GET", f"/tags/{path_id(ref)}", deadline=deadline)
    except NotFoundError:
        return None
    data = doc.get("data") if isinstance(doc, Mapping) else None
    return dict(data) if isinstance(data, Mapping) else None


def _create(client: Client, key: str, fid: str, parent_fid: str | None, body: dict[str, Any]) -> Action:
    """``POST /tags``, its parent found by the parent's FMC id at write time (it may be created just
    before); a lookup by ``key:value`` first makes a retried create find the tag instead."""

    def verify(deadline: float) -> str | None:
        found = _tag(client, f"{key}:{fid}", deadline)
        return None if found is None else f"the tag `{found.get('id')}` carries `{key}:{fid}`"

    def apply(deadline: float) -> Any:
        sent = dict(body)
        if parent_fid is not None:
            parent = _tag(client, f"{key}:{parent_fid}", deadline)
            if parent is None:
                msg = f"the parent `{parent_fid}` of `{fid}` is not in Samsara"
                raise BadRequestError(msg, "POST", "/tags", 1, 0.0, 400, None, "")
            sent["parentTagId"] = str(parent["id"])
        try:
            return client.request("POST", "/tags", json_body=sent, deadline=deadline)
        except BadRequestError as e:
            if "externalIds" not in str(e) or _tag(client, f"{key}:{fid}", deadline) is None:
                raise
            return None  # it exists (an earlier create): adopted, never a second tag

    return Action(
        kind="create",
        key=f"create:{fid}",
        target={"kind": "tag", "samsaraId": None, "fmcId": fid},
        fields={**body, **({"parentFmcId": parent_fid} if parent_fid else {})},
        reason="no Samsara tag matches it by external ID, or by name under the same parent",
        apply=apply,
        verify=verify,
    )


def _patch(
    client: Client, key: str, sid: str, fid: str, kind: str, body: dict[str, Any], removed: int
) -> Action:
    """``PATCH /tags/{id}`` with only the fields that change (member arrays replace: ``vehicles`` and
    ``drivers`` are sent whole, with the members the FMC does not manage)."""

    def verify(deadline: float) -> str | None:
        t = _tag(client, sid, deadline)
        if t is None:
            return None
        ok = all(
            (k == "externalIds" and external_ids_of(t).get(key) == fid)
            or (k in _ARRAYS and _members(t, k) == set(v))
            or (k not in ("externalIds", *_ARRAYS) and t.get(k) == v)
            for k, v in body.items()
        )
        return "the tag shows the change" if ok else None

    def apply(deadline: float) -> Any:
        return client.request("PATCH", f"/tags/{path_id(sid)}", json_body=body, deadline=deadline)

    what = ", ".join(f"`{k}`" for k in body)
    return Action(
        kind=kind,
        key=f"tag:{sid}:{kind}:{record_digest(body)}",
        target={"kind": "tag", "samsaraId": sid, "fmcId": fid},
        fields=body,
        reason=f"the FMC's {what} differ from Samsara's",
        apply=apply,
        verify=verify,
        weight=max(removed, 1),
    )
