"""vehicle-sync's plan computed from both sides held in memory (no sandbox): links from Samsara's
external IDs, stale ones unlinked, matches written back with only the key the sync owns, FMC ids that
cannot be external IDs reported, FMC changes to owned fields only, unchanged pools not matched again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from samsara_fmc.engine import StreamContext
from samsara_fmc.engine.reconcile import Ownership
from samsara_fmc.integrations import vehicle_sync
from samsara_fmc.integrations.vehicle_sync import OWNERSHIP_DEFAULTS, check_external_id, plan_vehicles

VIN_A, VIN_B, VIN_C = "1FUJGLDR5CLBP8834", "1FTFW1ET5DFC10312", "3AKJHHDR7JSJU4404"


@dataclass
class FakeSamsara:
    vehicles: list[dict[str, Any]]
    calls: list[tuple[str, str, Any]] = field(default_factory=list)

    def records(self, path: str, **kw: Any) -> Iterator[dict[str, Any]]:
        assert path == "/fleet/vehicles"
        return iter(self.vehicles)

    def request(self, method: str, path: str, **kw: Any) -> Any:
        self.calls.append((method, path, kw.get("json_body")))
        return {"data": {"id": path.rsplit("/", 1)[1], "externalIds": {}}}


@dataclass
class FakeFmc:
    vehicles: list[dict[str, Any]]
    changes_: list[dict[str, Any]] = field(default_factory=list)

    def master_list(self, kind: str, deadline: float | None = None) -> list[dict[str, Any]]:
        return self.vehicles

    def changes(self, cursor: str | None, deadline: float | None = None) -> Iterator[Any]:
        yield SimpleNamespace(data=self.changes_, cursor="c1")


def ctx(state: dict[str, Any] | None = None) -> StreamContext:
    return cast(StreamContext, SimpleNamespace(state=SimpleNamespace(state=state or {}), deadline=1e12))


def plan(samsara: FakeSamsara, fmc: FakeFmc, state: dict[str, Any] | None = None, **own: str) -> Any:
    ownership = Ownership.parse(",".join(f"{k}:{v}" for k, v in own.items()), OWNERSHIP_DEFAULTS)
    return plan_vehicles(ctx(state), cast(Any, samsara), cast(Any, fmc), "fmcId", ownership)


def test_links_unlinks_matches_and_reports() -> None:
    samsara = FakeSamsara(
        [
            {
                "id": "1",
                "vin": VIN_A,
                "name": "Truck 0101",
                "externalIds": {"fmcId": "F1", "samsara.vin": VIN_A},
            },
            {"id": "2", "vin": VIN_B, "name": "Truck 0102", "externalIds": {"maintenanceId": "M2"}},
            {"id": "3", "vin": "", "name": "Van 0103", "externalIds": {"fmcId": "GONE"}},
            {"id": "4", "vin": VIN_C, "name": "Truck 0104", "externalIds": {}},
        ]
    )
    fmc = FakeFmc(
        [
            {"id": "F1", "vin": VIN_A, "unitNumber": "UNIT 0101"},
            {"id": "F2", "vin": VIN_B.lower(), "unitNumber": "102"},
            {"id": "F 4", "vin": VIN_C, "unitNumber": "T-104"},
            {"id": "F9", "vin": "1FUJGLDR0CLBP0000", "unitNumber": "UNIT 9000"},
        ]
    )
    p = plan(samsara, fmc)
    kinds = {(a.kind, a.target["samsaraId"], a.target["fmcId"]): dict(a.fields) for a in p.actions}
    assert kinds == {
        ("unlink", "3", "GONE"): {"externalIds": {"fmcId": None}},
        ("link", "2", "F2"): {"externalIds": {"fmcId": "F2"}},
    }, "the link Samsara holds is kept; only the key the sync owns is written; no samsara.* key"
    assert p.size == 2, "the brake counts the vehicles under sync"
    reports = {r["id"]: r["status"] for r in p.records["sync_reports"]}
    assert reports["vehicles:fmc:F 4"] == "invalid" and reports["vehicles:fmc:F9"] == "awaitingInstallation"
    links = {r["fmcId"]: r for r in p.records["vehicle_links"]}
    assert set(links) == {"F1", "F2", "GONE"} and links["GONE"]["status"] == "unlinked"
    assert links["F1"]["method"] == "externalId" and links["F2"]["method"] == "matched"
    assert p.after == {"vehicle_links\x00F2": "link:2:F2", "vehicle_links\x00GONE": "unlink:3:GONE"}

    state: dict[str, Any] = {}
    assert p.commit is not None
    p.commit(state, set())
    assert state["links"]["2"][0] == "F2" and state["cursor"] == "c1" and state["reports"]
    # Samsara now holds the link and the unlinked vehicle joined the pool: matched once more (it is
    # reported Samsara-only), then the same pool is not matched again and nothing is planned.
    samsara.vehicles[1]["externalIds"]["fmcId"] = "F2"
    samsara.vehicles[2]["externalIds"] = {}
    fmc.changes_ = []
    again = plan(samsara, fmc, state)
    assert again.actions == [] and again.summary["rematched"] is True
    assert {r["id"]: r["status"] for r in again.records["sync_reports"]}[
        "vehicles:samsara:3"
    ] == "samsaraOnly"
    assert again.commit is not None
    again.commit(state, set())
    quiet = plan(samsara, fmc, state)
    assert quiet.actions == [] and quiet.summary["rematched"] is False and "sync_reports" not in quiet.records


def test_fmc_changes_write_owned_fields_only_and_skip_unlinked_vehicles() -> None:
    samsara = FakeSamsara([{"id": "1", "vin": VIN_A, "name": "Truck 0101", "externalIds": {"fmcId": "F1"}}])
    changes = [
        {
            "id": "c1",
            "type": "vehicle.updated",
            "data": {"fmcId": "F1", "unitNumber": "UNIT 7", "vin": VIN_B},
        },
        {"id": "c2", "type": "vehicle.updated", "data": {"fmcId": "F8", "unitNumber": "UNIT 8"}},
        {"id": "c3", "type": "driver.created", "data": {"fmcId": "D1"}},
        {
            "id": "c1",
            "type": "vehicle.updated",
            "data": {"fmcId": "F1", "unitNumber": "UNIT 7", "vin": VIN_B},
        },
    ]
    fmc = FakeFmc([{"id": "F1", "vin": VIN_A, "unitNumber": "UNIT 0101"}], changes)
    p = plan(samsara, fmc)
    assert [(a.kind, a.key, dict(a.fields)) for a in p.actions] == [
        ("update", "change:c1", {"name": "UNIT 7"})
    ], "the VIN is Samsara's; a repeated change plans nothing more"
    assert p.summary["updatesForUnlinkedVehicles"] == 1
    assert p.records["vehicle_links"][0]["samsaraName"] == "UNIT 7", "the link record as it will be"
    p = plan(samsara, fmc, vin="fmc", name="samsara")
    assert [dict(a.fields) for a in p.actions] == [{"vin": VIN_B}]


def test_external_id_values_are_checked_as_the_api_requires() -> None:
    assert check_external_id("fmcId", "FMC-V00001") is None
    assert check_external_id("fmcId", "Ty_Frec-%01+27+94%") is None
    assert "`/`" in str(check_external_id("fmcId", "a/b"))
    assert "` `" in str(check_external_id("fmcId", "a b"))
    assert "1 to 128" in str(check_external_id("fmcId", "x" * 129))
    assert "letters and digits" in str(check_external_id("fmc.id", "1"))
    assert vehicle_sync.FMC_FIELDS["name"] == "unitNumber"
