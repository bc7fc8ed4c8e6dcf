"""The matching CLI's forgiving side: unknown headers named (with the alias they resemble), a file
without an id column refused (naming the aliases), ``--map`` to rename columns, rows without an id
left out, the write-back plan printed as a dry run; and docs/matching.md's alias table, checked
against the aliases the code reads.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from samsara_fmc.matching import main
from samsara_fmc.matching._cli import known_headers, parse_map
from samsara_fmc.matching._records import DRIVER_FIELDS, VEHICLE_FIELDS

DOCS = Path(__file__).resolve().parent.parent / "docs" / "matching.md"
VIN_A, VIN_B = "1XKYD49X1HJ102030", "1FUJGLDR3CLBP8834"


def _csv(path: Path, header: list[str], *rows: list[str]) -> str:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    rc = main(list(args))
    return rc, capsys.readouterr().err


def _linked(path: Path) -> set[tuple[str, str]]:
    with path.open(encoding="utf-8") as f:
        return {(r["left_id"], r["right_id"]) for r in csv.DictReader(f) if r["status"] == "linked"}


def test_unknown_headers_are_named_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left = _csv(tmp_path / "s.csv", ["id", "vin", "gatewaySerial"], ["1", VIN_A, "G1"])
    right = _csv(
        tmp_path / "f.csv",
        ["id", "vin", "Licence Plate", "Model_Year", "cost_centre"],
        ["F-1", VIN_A, "A1", "", "C"],
    )
    rc, err = _run(capsys, left, right, "--out", str(tmp_path / "o.csv"))
    assert rc == 0
    assert "s.csv: 1 column(s) not used for matching vehicles: `gatewaySerial`" in err
    assert "f.csv: 3 column(s) not used for matching vehicles:" in err
    assert "`Licence Plate` (did you mean `licensePlate`?)" in err
    assert "`Model_Year` (did you mean `modelYear`?)" in err
    assert "`cost_centre`;" in err and "--map" in err
    assert _linked(tmp_path / "o.csv") == {("1", "F-1")}


def test_a_file_without_an_id_column_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    left = _csv(tmp_path / "s.csv", ["id", "vin"], ["1", VIN_A])
    right = _csv(tmp_path / "f.csv", ["Asset ID", "vin"], ["F-1", VIN_A])
    out = tmp_path / "o.csv"
    rc, err = _run(capsys, left, right, "--out", str(out))
    assert rc == 2 and not out.exists()
    assert "f.csv` has no id column" in err
    assert "`id`, `vehicleId`, `vehicle_id`" in err
    assert '--map "Asset ID=id"' in err
    # Drivers name their own aliases.
    d = _csv(tmp_path / "d.csv", ["name", "licenseNumber"], ["Ann Lee", "A1"])
    rc, err = _run(capsys, d, d, "--out", str(out))
    assert rc == 2 and "`id`, `driverId`, `driver_id`" in err


def test_a_column_map_renames_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    left = _csv(
        tmp_path / "s.csv", ["id", "name", "licensePlate"], ["1", "Truck 7", "ABC123"], ["2", "Van 9", ""]
    )
    right = _csv(
        tmp_path / "f.csv", ["Asset ID", "Unit", "Tag"], ["F-7", "T-007", "ABC 123"], ["F-9", "0009", ""]
    )
    out = tmp_path / "o.csv"
    rc, err = _run(
        capsys, left, right, "--out", str(out), "--map", "Asset ID=id,Unit=unitNumber", "--map", "Tag=plate"
    )
    assert rc == 0, err
    assert "warning" not in err
    assert ("1", "F-7") in _linked(out)
    # A target that is not a field, a source in neither file, a malformed pair: refused.
    for bad, message in (
        ("Unit=unit_no", "`unit_no` are not vehicles fields"),
        ("Nope=id", "neither file: `Nope`"),
        ("Asset ID", "write HEADER=FIELD"),
    ):
        rc, err = _run(capsys, left, right, "--out", str(out), "--map", bad)
        assert rc == 2 and message in err, err


def test_parse_map() -> None:
    assert parse_map(["Asset ID=id, Unit=unitNumber", "Yr=year"]) == {
        "Asset ID": "id",
        "Unit": "unitNumber",
        "Yr": "year",
    }


def test_rows_without_an_id_are_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    left = _csv(tmp_path / "s.csv", ["id", "vin"], ["1", VIN_A], ["", VIN_B])
    right = _csv(tmp_path / "f.csv", ["id", "vin"], ["F-1", VIN_A], ["F-2", VIN_B])
    out = tmp_path / "o.csv"
    rc, err = _run(capsys, left, right, "--out", str(out))
    assert rc == 0
    assert "s.csv: 1 row(s) without an id left out (lines 3)" in err
    assert _linked(out) == {("1", "F-1")}
    with out.open(encoding="utf-8") as f:
        assert all(r["left_id"] or r["status"] == "unmatched_right" for r in csv.DictReader(f))


def test_the_write_back_is_a_dry_run_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    left = _csv(
        tmp_path / "s.csv",
        ["id", "vin", "externalIds.samsara.serial", "externalIds.fmcId"],
        ["1", VIN_A, "G-1", ""],
        ["2", VIN_B, "G-2", "F-2"],
    )
    right = _csv(tmp_path / "f.csv", ["id", "vin"], ["F-1", VIN_A], ["F-2", VIN_B])
    plan = tmp_path / "plan.jsonl"
    rc, err = _run(capsys, left, right, "--out", str(tmp_path / "o.csv"), "--plan", str(plan))
    assert rc == 0
    # One link is already recorded; the other's body names only the owned key.
    assert "write-back: 1 PATCH request(s) recording links as externalIds.fmcId (1 already recorded)" in err
    assert 'PATCH /fleet/vehicles/1 {"externalIds":{"fmcId":"F-1"}}' in err
    assert [json.loads(x) for x in plan.read_text().splitlines()] == [
        {"method": "PATCH", "path": "/fleet/vehicles/1", "body": {"externalIds": {"fmcId": "F-1"}}}
    ]
    rc, err = _run(capsys, left, right, "--out", str(tmp_path / "o.csv"), "--external-id-key", "crmId")
    assert rc == 0 and "2 PATCH request(s) recording links as externalIds.crmId" in err
    # An id that cannot be an external-ID value: no plan, said why (and --apply refuses).
    bad = _csv(tmp_path / "b.csv", ["id", "vin"], ["F 1", VIN_A])
    rc, err = _run(capsys, left, bad, "--out", str(tmp_path / "o.csv"))
    assert rc == 0 and "write-back plan: none" in err and "`F 1`" in err
    rc, err = _run(capsys, left, bad, "--out", str(tmp_path / "o.csv"), "--apply")
    assert rc == 2 and "nothing written" in err


# --- docs/matching.md lists every alias the code reads ------------------------------------------


def _doc_table(kind: str) -> dict[str, set[str]]:
    """The alias table of docs/matching.md: field → aliases, for ``kind`` (a column of the table)."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("<!-- aliases:begin -->")[1].split("<!-- aliases:end -->")[0]
    rows = [r for r in section.splitlines() if r.startswith("| `")]
    out: dict[str, set[str]] = {}
    col = {"vehicles": 1, "drivers": 2}[kind]
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        field = re.findall(r"`([^`]+)`", cells[0])[0]
        names = set(re.findall(r"`([^`]+)`", cells[col]))
        if names:
            out[field] = names
    return out


@pytest.mark.parametrize(("kind", "fields"), [("vehicles", VEHICLE_FIELDS), ("drivers", DRIVER_FIELDS)])
def test_docs_alias_table_lists_every_alias(kind: str, fields: dict[str, tuple[str, ...]]) -> None:
    table = _doc_table(kind)
    assert table == {f: set(a) for f, a in fields.items()}, "regenerate the table in docs/matching.md"
    for alias in ("unitNumber", "unit", "unit_number", "VIN", "modelYear", "model_year", "vehicle_id"):
        assert alias in known_headers("vehicles")


def test_an_hr_export_with_its_own_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Drivers end to end: Samsara's export beside an HR export mapped onto the fields, scored."""
    from tests.support.hr_roster import roster

    r = roster(600, seed=4)
    scols = ["id", "name", "licenseNumber", "licenseState", "email", "phone", "username"]
    srows = [
        [*("" if s[c] is None else str(s[c]) for c in scols), s["externalIds"].get("payrollId", "")]
        for s in r.samsara
    ]
    left = _csv(tmp_path / "samsara_drivers.csv", [*scols, "externalIds.payrollId"], *srows)
    hr_cols = {
        "Person ID": "id",
        "Employee ID": "employeeId",
        "Full Name": "name",
        "DL Number": "license_number",
        "DL State": "license_state",
        "Work Phone": "phone",
        "Email": "email",
        "Department": "department",
    }
    hrows = [["" if h[k] is None else str(h[k]) for k in hr_cols.values()] for h in r.hr]
    right = _csv(tmp_path / "hr_export.csv", list(hr_cols), *hrows)
    truth = _csv(tmp_path / "truth.csv", ["left_id", "right_id"], *map(list, sorted(r.true_pairs())))
    mapping = "Person ID=id,Employee ID=employeeId,Full Name=name,DL Number=licenseNumber"
    mapping += ",DL State=licenseState,Work Phone=phone,Email=email"
    rc, err = _run(capsys, left, right, "--out", str(tmp_path / "o.csv"), "--map", mapping, "--truth", truth)
    assert rc == 0, err
    assert "hr_export.csv: 1 column(s) not used for matching drivers: `Department`" in err
    assert "write-back:" in err and "PATCH /fleet/drivers/" in err
    p, rec = (float(x) for x in re.findall(r"precision (\S+)  recall (\S+)", err)[0])
    assert p >= 0.999 and rec >= 0.97, err  # recall over every true pair, review ones too
