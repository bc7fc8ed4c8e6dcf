"""ifta against the sandbox: closed months and quarters delivered once, a closed month whose figures
change (a fuel purchase imported late) delivered again under the same ids and nothing else, periods
not yet closed not read, the quarter's return CSV adding up exactly to its jurisdiction records and to
the sandbox's truth, the flags that block filing, bad parameters and a missing scope."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
from collections import Counter
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from samsara_fmc import records
from samsara_fmc.engine._util import parse_time
from samsara_fmc.exceptions import ResponseDecodeError
from samsara_fmc.integrations import ifta
from scripts import demo
from tests.functions.safety_rig import FMC_TOKEN, NARROW, ROOT, Rig
from tests.support.sandbox import TOKEN, SandboxProcess, sandbox_binary

JURIS, VEHICLES, RETURNS = "ifta_jurisdictions", "ifta_vehicles", "ifta_returns"
START = "2027-01-03T12:00:00Z"
"""December 2026 and Q4 close (72 h after UTC-12 midnight) at 2027-01-04T12:00Z; November has."""
ARGS = (
    *("--seed", "7", "--vehicles", "40", "--drivers", "40", "--days", "100", "--start", START),
    *("--rate-limits", "off", "--fmc-token", FMC_TOKEN, "--token", TOKEN),
    *("--token", f"{NARROW}=Read Org Information,Read Vehicles,Read Vehicle Statistics,Read Idling"),
)
PARAMS = {"monthsBack": "3"}
MI = Decimal("1609.344")
GAL = Decimal("3.785411784")


@pytest.fixture
def rig_factory(
    sandbox_factory: Callable[..., SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Rig]:
    sb = sandbox_factory(*ARGS)

    def make(**kw: Any) -> Rig:
        rig = Rig(sb, "ifta", **kw)
        monkeypatch.setattr(ifta, "CLOCK", rig.now)
        return rig

    return make


def truth(rig: Rig, period: str) -> dict[str, Any]:
    p = ifta.parse_period(period)
    query = "&".join(f"{k}={v}" for k, v in p.query().items())
    return dict(rig.sb.get(f"/__sandbox/truth/ifta?{query}")["data"])


def ifta_reads(rig: Rig, since: int = 0) -> list[dict[str, Any]]:
    return [r for r in rig.sb.requests(since) if r["path"].startswith("/fleet/reports/ifta/")]


def periods_of(rows: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(r["period"] if "period" in r else r["id"]) for r in rows)


def whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), ROUND_HALF_UP))


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_closed_periods_once_a_changed_one_again_and_the_return_adds_up(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(fmc=True)
    first = rig.invoke(**PARAMS)
    assert first["ok"] and first["caughtUp"], first
    # 3 months back from January: October, November, December; only the first two have closed.
    assert periods_of(rig.delivered(JURIS)).keys() == {"2026-10", "2026-11"}
    assert periods_of(rig.delivered(VEHICLES)).keys() == {"2026-10", "2026-11"}
    assert not rig.delivered(RETURNS), "Q4 has not closed"
    queried = {r["query"] for r in ifta_reads(rig)}
    assert not [q for q in queried if "December" in q or "Q4" in q], "periods not yet closed are not read"

    late = truth(rig, "2026-11")["latePurchase"]
    assert late is not None and late["purchasedAt"].startswith("2026-11-20")
    rig.sb.advance((parse_time(late["knownFrom"]) - rig.now()).total_seconds() + 60)
    assert rig.now() < ifta.closed_at(ifta.parse_period("2026-12"), dt.timedelta(hours=72))
    second = rig.invoke(**PARAMS)
    assert second["ok"], second
    assert periods_of(rig.delivered(JURIS)).keys() == {"2026-10", "2026-11"}, "no new period"
    again = {
        k: [x["record"] for x in rig.sb.fmc_records(k) if x["deliveries"] > 1] for k in (JURIS, VEHICLES)
    }
    assert periods_of(again[JURIS]).keys() == {"2026-11"}, "only the changed month is delivered again"
    assert {r["fuelType"] for r in again[JURIS]} == {"Diesel"}, "the other fuel types did not change"
    assert second["records"] == len(again[JURIS]) + len(again[VEHICLES])
    assert [(r["vehicleId"], r["jurisdiction"]) for r in again[VEHICLES]] == [
        (late["vehicleId"], late["jurisdiction"])
    ], "only the vehicle that bought fuel"
    [paid] = again[VEHICLES]
    assert paid["taxPaidLitersReported"] >= late["litres"]

    rig.sb.advance(6 * 3600)  # December and Q4 close
    third = rig.invoke(**PARAMS)
    assert third["ok"] and third["caughtUp"], third
    assert periods_of(rig.delivered(RETURNS)).keys() == {"2026-Q4"}
    fourth = rig.invoke(**PARAMS)
    assert fourth["ok"] and fourth["records"] == 0, "a rerun with nothing new delivers nothing"
    for stream in (JURIS, VEHICLES, RETURNS):
        s = rig.sb.fmc_summary(stream)
        assert s["duplicates"] == 0, (stream, s)
        schema = records.schema(stream)
        assert schema is not None and all(records.validate(schema, r) == [] for r in rig.delivered(stream))
    assert rig.sb.fmc_summary(JURIS)["updates"] > 0 and rig.sb.fmc_summary(VEHICLES)["updates"] == 1

    # The held jurisdiction records equal the sandbox's truth, period by period.
    held = {str(r["id"]): r for r in (x["record"] for x in rig.sb.fmc_records(JURIS))}
    for period in ("2026-10", "2026-11", "2026-12", "2026-Q4"):
        t = truth(rig, period)
        want = {f"{period}:{x['fuelType']}:{x['jurisdiction']}": x for x in t["lines"] if x["totalMeters"]}
        got = {i: r for i, r in held.items() if r["period"] == period}
        assert got.keys() == want.keys(), period
        for i, x in want.items():
            r = got[i]
            assert (r["totalMeters"], r["taxableMeters"], r["taxPaidLitersReported"]) == (
                x["totalMeters"],
                x["taxableMeters"],
                x["taxPaidLiters"],
            )
            assert r["totalMiles"] == whole(Decimal(repr(x["totalMeters"])) / MI)

    [ret] = [x["record"] for x in rig.sb.fmc_records(RETURNS)]
    check_return(ret, [r for r in held.values() if r["period"] == "2026-Q4"], truth(rig, "2026-Q4"))
    # The return's CSV is also a file at the FMC endpoint, delivered once, the record's bytes.
    [f] = rig.sb.fmc_files(RETURNS)
    assert f["name"] == "2026-Q4.ifta-return-2026-Q4.csv" and f["duplicates"] == 0, f
    data = rig.sb.fmc_file(RETURNS, f["name"])
    assert data == ret["csv"].encode() and hashlib.sha256(data).hexdigest() == ret["csvSha256"]


def test_a_line_that_leaves_a_closed_period_is_withdrawn_and_the_return_follows(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(fmc=True)
    assert rig.invoke(**PARAMS)["ok"]
    first = {str(x["id"]): x["record"] for x in rig.sb.fmc_records(JURIS)}
    untyped_lines = {i for i, r in first.items() if r["fuelType"] == "Unspecified"}
    assert {i.split(":")[0] for i in untyped_lines} == {"2026-10", "2026-11"}
    # The fleet manager gives every vehicle without a fuel type one (the return's flag fixed): their
    # miles move to Diesel or Gasoline in every period, closed ones included.
    for v in truth(rig, "2026-11")["vehiclesWithoutFuelType"]:
        rig.sb.admin("POST", "/__sandbox/ifta/fuel-types", {"vehicleId": v, "fuelType": "Diesel"})
    second = rig.invoke(**PARAMS)
    assert second["ok"] and second["caughtUp"], second
    held = {str(x["id"]): x for x in rig.sb.fmc_records(JURIS)}
    gone = {i for i, x in held.items() if x["record"]["status"] == "withdrawn"}
    assert gone == untyped_lines, "each vanished line withdrawn under its id, nothing else"
    for i in gone:
        r = held[i]["record"]
        assert held[i]["deliveries"] == 2 and r["totalMeters"] == r["taxPaidLiters"] == r["totalMiles"] == 0
        assert r["taxableGallons"] is None and (r["period"], r["fuelType"]) == (
            i.split(":")[0],
            "Unspecified",
        )
    schema = records.schema(JURIS)
    assert schema is not None and all(records.validate(schema, x["record"]) == [] for x in held.values())
    for period in ("2026-10", "2026-11"):  # what is still reported equals the truth, line by line
        want = {
            f"{period}:{x['fuelType']}:{x['jurisdiction']}": x["totalMeters"]
            for x in truth(rig, period)["lines"]
            if x["totalMeters"]
        }
        got = {
            i: x["record"]["totalMeters"]
            for i, x in held.items()
            if x["record"]["period"] == period and i not in gone
        }
        assert got == want, period
    assert rig.invoke(**PARAMS)["records"] == 0, "withdrawn once: nothing again"
    assert rig.sb.fmc_summary(JURIS)["duplicates"] == 0

    rig.sb.advance(30 * 3600)  # December and Q4 close
    assert rig.invoke(**PARAMS)["ok"]
    lines = [x["record"] for x in rig.sb.fmc_records(JURIS)]
    q4 = [r for r in lines if r["period"] == "2026-Q4"]
    assert q4 and all(r["status"] == "reported" and r["fuelType"] != "Unspecified" for r in q4)
    [ret] = [x["record"] for x in rig.sb.fmc_records(RETURNS)]
    check_return_figures(ret, q4, truth(rig, "2026-Q4"))
    assert "vehicles_without_fuel_type" not in {f["code"] for f in ret["flags"]}


@pytest.mark.parametrize("side", ["samsara", "fmc"])
def test_faults_still_deliver_each_version_once(rig_factory: Callable[..., Rig], side: str) -> None:
    """Samsara's 5xx, resets and cut bodies, or the FMC storing a batch whose answer is lost: runs
    fail and are retried as the platform does; each version of each record is held once."""
    rig = rig_factory(fmc=True)
    rules: list[dict[str, Any]] = (
        [
            {"path": "/fleet/reports/ifta/jurisdiction", "kind": "status", "status": 503, "times": 3},
            {"path": "/fleet/reports/ifta/vehicle", "kind": "reset", "times": 2},
            {"path": "/fleet/reports/ifta/jurisdiction", "kind": "truncate", "times": 2},
        ]
        if side == "samsara"
        else [
            {"path": f"/fmc/v1/streams/{s}/records", "kind": "fail_after_commit", "status": 503, "times": 2}
            for s in (JURIS, VEHICLES, RETURNS)
        ]
    )
    rig.sb.faults(*rules)
    runs = rig.until_caught_up(monthsBack="3")
    rig.sb.advance(25 * 3600)  # the late purchase is known, December and Q4 close
    rig.sb.faults(*rules)  # the returns' FMC rule of the first round is still waiting: Q4 had not closed
    runs += rig.until_caught_up(monthsBack="3")
    assert not rig.sb.get("/__sandbox/faults")["rules"], "every fault was met"
    if side == "samsara":
        assert rig.runs > len(runs), "runs failed and were retried"
    else:
        assert sum(rig.sb.fmc_summary(s)["replays"] for s in (JURIS, VEHICLES, RETURNS)) >= 6, "answers lost"
    assert rig.run_ok(monthsBack="3")["records"] == 0
    for stream in (JURIS, VEHICLES, RETURNS):
        assert rig.sb.fmc_summary(stream)["duplicates"] == 0, stream
    held = {str(x["record"]["id"]): x["record"] for x in rig.sb.fmc_records(JURIS)}
    for period in ("2026-11", "2026-12", "2026-Q4"):
        lines = truth(rig, period)["lines"]
        want = {
            f"{period}:{x['fuelType']}:{x['jurisdiction']}": x["taxPaidLiters"]
            for x in lines
            if x["totalMeters"]
        }
        assert {i: held[i]["taxPaidLitersReported"] for i in want} == want, period
    [ret] = [x["record"] for x in rig.sb.fmc_records(RETURNS)]
    check_return(ret, [r for r in held.values() if r["period"] == "2026-Q4"], truth(rig, "2026-Q4"))
    # The return's CSV is also a file at the FMC endpoint, delivered once, the record's bytes.
    [f] = rig.sb.fmc_files(RETURNS)
    assert f["name"] == "2026-Q4.ifta-return-2026-Q4.csv" and f["duplicates"] == 0, f
    data = rig.sb.fmc_file(RETURNS, f["name"])
    assert data == ret["csv"].encode() and hashlib.sha256(data).hexdigest() == ret["csvSha256"]


def check_return(ret: dict[str, Any], lines: list[dict[str, Any]], t: dict[str, Any]) -> None:
    """The CSV's lines are the quarter's jurisdiction records of taxed fuel types, each TOTAL the sum
    of its lines, and every figure the sandbox's truth converted here; the flags name the vehicles
    without a fuel type and the jurisdictions without fuel."""
    check_return_figures(ret, lines, t)
    check_return_flags(ret, t)


def check_return_figures(ret: dict[str, Any], lines: list[dict[str, Any]], t: dict[str, Any]) -> None:
    """The CSV part of :func:`check_return` (``lines``: the quarter's reported jurisdiction records)."""
    rows = list(csv.DictReader(io.StringIO(ret["csv"])))
    assert list(rows[0]) == list(ifta.CSV_HEADER)
    taxed = {(r["fuelType"], r["jurisdiction"]): r for r in lines if r["fuelType"] != "Electricity"}
    body = [r for r in rows if r["Jurisdiction"] != "TOTAL"]
    assert {(r["Fuel Type"], r["Jurisdiction"]) for r in body} == taxed.keys() and len(body) == len(taxed)
    assert ret["lines"] == len(body)
    truth_lines = {(x["fuelType"], x["jurisdiction"]): x for x in t["lines"]}
    columns = {
        "Total Miles": "totalMiles",
        "Taxable Miles": "taxableMiles",
        "Taxable Gallons": "taxableGallons",
        "Tax-Paid Gallons": "taxPaidGallons",
        "Net Taxable Gallons": "netTaxableGallons",
        "Total Kilometers": "totalKilometers",
        "Taxable Kilometers": "taxableKilometers",
        "Taxable Liters": "taxableLiters",
        "Tax-Paid Liters": "taxPaidLiters",
        "Net Taxable Liters": "netTaxableLiters",
    }
    for fuel in {f for f, _ in taxed}:
        mine = [r for r in body if r["Fuel Type"] == fuel]
        [total] = [r for r in rows if r["Fuel Type"] == fuel and r["Jurisdiction"] == "TOTAL"]
        for col, key in columns.items():
            assert sum(Decimal(r[col]) for r in mine) == Decimal(total[col]), (fuel, col)
            for r in mine:
                assert Decimal(r[col]) == Decimal(repr(taxed[fuel, r["Jurisdiction"]][key])), (fuel, col)
        # From the truth: miles, litres and the fleet MPG computed here, IFTA's way.
        tl = [truth_lines[fuel, r["Jurisdiction"]] for r in mine]
        miles = [whole(Decimal(repr(x["totalMeters"])) / MI) for x in tl]
        paid = [cents(Decimal(repr(x["taxPaidLiters"])) / GAL) for x in tl]
        assert [int(r["Total Miles"]) for r in mine] == miles
        assert [Decimal(r["Tax-Paid Gallons"]) for r in mine] == paid
        assert [whole(Decimal(repr(x["taxableMeters"])) / MI) for x in tl] == [
            int(r["Taxable Miles"]) for r in mine
        ]
        mpg = cents(Decimal(sum(miles)) / sum(paid))
        assert Decimal(total["Fleet MPG"]) == mpg
        for r in mine:
            assert Decimal(r["Taxable Gallons"]) == cents(Decimal(r["Taxable Miles"]) / mpg)
            assert Decimal(r["Net Taxable Gallons"]) == Decimal(r["Taxable Gallons"]) - Decimal(
                r["Tax-Paid Gallons"]
            )


def check_return_flags(ret: dict[str, Any], t: dict[str, Any]) -> None:
    """The flags part of :func:`check_return`."""
    # Flags: vehicles without a fuel type, and the neighbouring jurisdictions where no fuel is bought.
    assert ret["readyToFile"] is False
    codes = Counter(f["code"] for f in ret["flags"])
    [untyped] = [f for f in ret["flags"] if f["code"] == "vehicles_without_fuel_type"]
    assert untyped["vehicleIds"] == sorted(t["vehiclesWithoutFuelType"]) and t["vehiclesWithoutFuelType"]
    dry = {
        (x["fuelType"], x["jurisdiction"]) for x in t["lines"] if x["totalMeters"] and not x["taxPaidLiters"]
    }
    dry = {d for d in dry if d[0] != "Electricity"}
    assert {
        (f["fuelType"], f["jurisdiction"]) for f in ret["flags"] if f["code"] == "miles_without_fuel"
    } == dry
    assert dry and codes["miles_without_fuel"] == len(dry)
    assert ret["troubleshooting"] == t["troubleshooting"]


def test_a_closed_quarter_with_nothing_wrong_is_ready_to_file() -> None:
    q = ifta.parse_period("2026-Q4")
    by_fuel = {
        # 1,000 km and 200 L in TX, 500 km and none in OK (below the threshold); 10 mi of electric driving.
        "Diesel": [
            {
                "jurisdiction": "TX",
                "totalMeters": 1_000_000.0,
                "taxableMeters": 990_000.0,
                "taxPaidLiters": 200.0,
            },
            {
                "jurisdiction": "OK",
                "totalMeters": 500_000.0,
                "taxableMeters": 500_000.0,
                "taxPaidLiters": 0.0,
            },
        ],
        "Electricity": [
            {"jurisdiction": "TX", "totalMeters": 16_093.44, "taxableMeters": 16_093.44, "taxPaidLiters": 0.0}
        ],
    }
    lines = ifta.jurisdiction_records(q, by_fuel)
    # 621 + 311 = 932 mi over 52.83 gal (200 L) = 17.64 mpg; TX taxable 615 mi / 17.64 = 34.86 gal.
    tx = next(r for r in lines if r["id"] == "2026-Q4:Diesel:TX")
    assert (tx["totalMiles"], tx["taxableMiles"], tx["taxPaidGallons"], tx["fleetMpg"]) == (
        621,
        615,
        52.83,
        17.64,
    )
    assert (tx["taxableGallons"], tx["netTaxableGallons"]) == (34.86, -17.97)
    ev = next(r for r in lines if r["fuelType"] == "Electricity")
    assert ev["totalMiles"] == 10 and ev["fleetMpg"] is None and ev["taxableGallons"] is None
    ret = ifta.return_record(
        q,
        lines,
        troubleshooting={"noPurchasesFound": False, "unassignedFuelTypePurchases": 0},
        untyped=[],
        unattributed_miles=0,
        min_miles_for_fuel=500,
    )
    assert ret["readyToFile"] and ret["flags"] == [], ret["flags"]
    assert ret["csv"].splitlines()[1:] == [
        "Diesel,OK,311,311,17.64,17.63,0.00,17.63,500,500,66.74,0.00,66.74",
        "Diesel,TX,621,615,17.64,34.86,52.83,-17.97,1000,990,131.96,200.00,-68.04",
        "Diesel,TOTAL,932,926,17.64,52.49,52.83,-0.34,1500,1490,198.70,200.00,-1.30",
    ]
    strict = ifta.return_record(
        q, lines, troubleshooting=None, untyped=[], unattributed_miles=0, min_miles_for_fuel=300
    )
    assert [f["code"] for f in strict["flags"]] == ["miles_without_fuel"] and not strict["readyToFile"]
    assert "311 taxable miles in `OK` (Diesel)" in strict["flags"][0]["message"]
    schema = records.schema(RETURNS)
    assert schema is not None and records.validate(schema, ret) == []


def test_due_periods_wait_for_the_period_to_close() -> None:
    settle = dt.timedelta(hours=72)
    just_before = dt.datetime(2027, 4, 4, 11, 59, tzinfo=dt.UTC)
    assert [p.key for p in ifta.due_periods(just_before, 4, settle)] == [
        "2026-12",
        "2026-Q4",
        "2027-01",
        "2027-02",
    ]
    at = dt.datetime(2027, 4, 4, 12, 0, tzinfo=dt.UTC)
    assert [p.key for p in ifta.due_periods(at, 1, settle)] == ["2027-03", "2027-Q1"]
    assert ifta.parse_period("2027-Q1").end == dt.date(2027, 4, 1)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "2026-13"}, "`period` is `2026-13`"),
        ({"period": "2026-Q5"}, "`period` is `2026-Q5`"),
        ({"period": "2026-12"}, "event parameter `period` is `2026-12`: it has not closed yet"),
        ({"monthsBack": "0"}, "`monthsBack` is `0`"),
        ({"monthsBack": "37"}, "`monthsBack` is `37`"),
        ({"settleHours": "24"}, "`settleHours` is `24`"),
        ({"fuelTypes": "Diesel,Kerosene"}, "`Kerosene` not allowed"),
    ],
)
def test_bad_parameters_fail_clearly_and_write_nothing(
    rig_factory: Callable[..., Rig], params: dict[str, str], message: str
) -> None:
    rig = rig_factory()
    out = rig.invoke(**params)
    assert out["ok"] is False and message in out["message"], out
    assert not [k for k in rig.storage.objects if not k.startswith("health/")], "no state, no delivery"
    assert not rig.delivered(JURIS) and not rig.delivered(RETURNS)
    assert all("jurisdictions=ZZ" in r["query"] for r in ifta_reads(rig)), (
        "no report read, a scope probe at most"
    )


def test_one_period_on_request(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory()
    out = rig.invoke(period="2026-Q3")
    assert out["ok"] and out["caughtUp"], out
    assert periods_of(rig.delivered(JURIS)).keys() == {"2026-Q3"}
    assert periods_of(rig.delivered(RETURNS)).keys() == {"2026-Q3"}


def test_a_page_limit_spreads_the_periods_over_runs(rig_factory: Callable[..., Rig]) -> None:
    """With ``maxPages=1`` each run reads one period per stream; the next run goes on from there."""
    rig = rig_factory()
    runs = rig.until_caught_up(monthsBack="6", maxPages="1")
    assert len(runs) > 3 and not runs[0]["caughtUp"]
    held = periods_of(rig.delivered(JURIS))
    # The sandbox's history starts in late September: July and August have no figures.
    assert held.keys() == {"2026-09", "2026-Q3", "2026-10", "2026-11"}
    assert all(n == len(truth(rig, p)["lines"]) - zero_lines(rig, p) for p, n in held.items())
    assert periods_of(rig.delivered(RETURNS)) == Counter({"2026-Q3": 1})


def zero_lines(rig: Rig, period: str) -> int:
    return sum(1 for x in truth(rig, period)["lines"] if not (x["totalMeters"] or x["taxPaidLiters"]))


def test_a_token_without_the_scope_fails_preflight_naming_it(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(token=NARROW)
    out = rig.invoke(**PARAMS)
    assert out["ok"] is False and "`Read IFTA (US)`" in out["message"], out
    assert "Org Information" not in out["message"], "only the scope the token lacks"
    assert not rig.delivered(JURIS)
    assert [r["status"] for r in ifta_reads(rig)] == [403], "only the probe"


def test_the_function_under_samsara_fn(tmp_path: Path) -> None:
    """The demo's scenario: the Function under samsara-fn (Python 3.12, the wall clock) against a
    sandbox whose history ends now, delivering to the FMC endpoint: nothing lost, nothing twice."""
    if not os.environ.get("SAMSARA_FN"):
        pytest.skip("`SAMSARA_FN` is not set: `make test` points it at .venv-runtime")
    zip_path = ROOT / "dist" / "ifta.zip"
    assert zip_path.exists(), f"{zip_path} is missing: run `make bundle` (make test does)"
    shared = demo.Sandbox.start(vehicles=12, binary=str(sandbox_binary()))
    try:
        report = demo.ifta(tmp_path / "fn", shared, zip_path)
    finally:
        shared.stop()
    assert report.runs == 3 and report.delivered > 0
    assert (report.lost, report.duplicated) == (0, 0), report


@pytest.mark.parametrize(
    ("key", "data"),
    [
        ("jurisdictionReports", None),
        ("jurisdictionReports", {"jurisdictionReports": {"TX": 1}}),
        ("jurisdictionReports", {"jurisdictionReports": [{"totalMeters": 5.0}]}),
        ("jurisdictionReports", {"jurisdictionReports": [{"jurisdiction": "TX", "totalMeters": "5"}]}),
        ("vehicleReports", [{"vehicle": {"id": "1"}}]),
        ("vehicleReports", {"vehicleReports": [{"vehicle": {"id": "1"}, "jurisdictions": None}]}),
    ],
)
def test_a_report_of_another_shape_is_a_clear_error(key: str, data: Any) -> None:
    with pytest.raises(ResponseDecodeError, match=rf"answered without `data.{key}` as Samsara documents it"):
        ifta.check_report("/fleet/reports/ifta/x", data, key)
    good = {"jurisdiction": "TX", "totalMeters": 5.0, "taxableMeters": 4, "taxPaidLiters": None}
    ok = (
        {"jurisdictionReports": [good]}
        if key == "jurisdictionReports"
        else {"vehicleReports": [{"jurisdictions": [good]}]}
    )
    ifta.check_report("/fleet/reports/ifta/x", ok, key)
