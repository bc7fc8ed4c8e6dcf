"""Scorers, extract_one, record matching (tricky fixture, precision/recall on fleetgen), CSV and CLI."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samsara_fmc.matching import (
    MatchResult,
    default_process,
    extract,
    extract_one,
    jaro_winkler,
    levenshtein,
    main,
    match_drivers,
    match_vehicles,
    ratio,
    token_set_ratio,
    token_sort_ratio,
    unit_number,
)

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import fleetgen

FIXTURES = Path(__file__).parent / "fixtures" / "matching"


# --- a pure-Python reference Jaro-Winkler ------------------------------------------------------------


def ref_jaro_winkler(a: str, b: str) -> float:
    if not a and not b:
        return 100.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    used = [False] * len(b)
    ma = []
    for i, ca in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not used[j] and b[j] == ca:
                used[j] = True
                ma.append(ca)
                break
    if not ma:
        return 0.0
    mb = [c for c, u in zip(b, used, strict=True) if u]
    t = sum(x != y for x, y in zip(ma, mb, strict=True)) // 2
    m = len(ma)
    sim = (m / len(a) + m / len(b) + (m - t) / m) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return 100 * (sim + prefix * 0.1 * (1 - sim) if sim > 0.7 else sim)


words = st.text(alphabet="abcde xyz", max_size=12)


@given(words, words)
@settings(deadline=None)
def test_jaro_winkler_matches_reference(a: str, b: str) -> None:
    assert jaro_winkler(a, b) == pytest.approx(ref_jaro_winkler(a, b), abs=1e-9)


@given(words, words)
@settings(max_examples=300, deadline=None)
def test_scorers_match_rapidfuzz(a: str, b: str) -> None:
    rf = pytest.importorskip("rapidfuzz")
    assert ratio(a, b) == pytest.approx(rf.fuzz.ratio(a, b), abs=1e-6)
    assert levenshtein(a, b) == rf.distance.Levenshtein.distance(a, b)
    if a.strip() and b.strip():
        assert token_sort_ratio(a, b) == pytest.approx(rf.fuzz.token_sort_ratio(a, b), abs=1e-6)
        assert token_set_ratio(a, b) == pytest.approx(rf.fuzz.token_set_ratio(a, b), abs=1e-6)
    if a and b:
        expected = 100 * rf.distance.JaroWinkler.normalized_similarity(a, b)
        assert jaro_winkler(a, b) == pytest.approx(expected, abs=1e-6)


def test_scorer_options() -> None:
    assert jaro_winkler("MARTHA", "MARHTA") == pytest.approx(96.111, abs=1e-3)
    assert token_sort_ratio("Truck #4", "truck 4", processor=default_process) == 100.0
    assert ratio("abc", "xyz", score_cutoff=50) == 0.0
    assert token_set_ratio("John Smith", "smith, john a.", processor=default_process) == 100.0


def test_extract_one_shape() -> None:
    assert extract_one("truck 4", ["Van 3", "Truck #4"]) == ("Truck #4", 100.0, 1)
    assert extract_one("truck 4", {"a": "Van 3", "b": "TRUCK 4"}, scorer=ratio) == ("TRUCK 4", 100.0, "b")
    assert extract_one("zzz", ["Van 3"], scorer=jaro_winkler, score_cutoff=90) is None
    assert extract_one("x", []) is None
    assert extract_one("x", [None, "x"]) == ("x", 100.0, 1)
    custom = extract_one("ab", ["ab", "b"], scorer=lambda a, b: float(len(a) == len(b)) * 100, processor=None)
    assert custom == ("ab", 100.0, 0)
    assert [c for c, _, _ in extract("van", ["Van 3", "Truck 4", "VAN 03"], limit=2)] == ["Van 3", "VAN 03"]


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("Truck #4", "4"),
        ("T-004", "4"),
        ("UNIT 0004", "4"),
        ("0004", "4"),
        ("Unit 12 - 2019 Ford F-150", "12"),
        ("2019 Ford F-150", None),
        ("Trailer 53", "53"),
        ("", None),
    ],
)
def test_unit_numbers(name: str, unit: str | None) -> None:
    assert unit_number(name) == unit


# --- the tricky-cases fixture ------------------------------------------------------------------------


def _read(name: str) -> list[dict[str, str]]:
    with open(FIXTURES / name, newline="") as f:
        return list(csv.DictReader(f))


def _statuses(result: MatchResult) -> set[tuple[str, str, str]]:
    return {(r["status"], r["left_id"], r["right_id"]) for r in result.to_rows()}


def test_tricky_vehicles_fixture() -> None:
    result = match_vehicles(_read("vehicles_samsara.csv"), _read("vehicles_fmc.csv"))
    expected = {(r["status"], r["left_id"], r["right_id"]) for r in _read("vehicles_expected.csv")}
    assert _statuses(result) == expected
    reasons = {ln.left["id"]: ln.reasons for ln in result.links}
    assert "vin_o0_i1" in reasons["s-kw"]
    assert "vin_typo" in reasons["s-pete"]
    assert "external_id" in reasons["s-chevy"]
    assert "vin_suffix" in reasons["s-intl"]
    assert all(0 <= ln.score <= 100 for ln in result.links)


def test_tricky_drivers() -> None:
    left = [
        {"id": "1", "name": "John Smith", "licenseNumber": "D1234567", "licenseState": "CA"},
        {"id": "2", "name": "Maria Garcia", "email": "maria@acme.example", "phone": "555-010-2030"},
        {"id": "3", "name": "John Smith", "licenseNumber": "S7654321", "licenseState": "NV"},
        {"id": "4", "name": "Ann Lee", "externalIds": {"payrollId": "P-9"}},
        {"id": "5", "name": "Ann Lee"},
    ]
    right = [
        {"id": "a", "name": "SMITH, JOHN", "license_number": "d123-4567", "license_state": "California"},
        {"id": "b", "name": "Garcia, Maria", "email": "Maria@ACME.example ", "phone": "+1 (555) 010 2030"},
        {"id": "c", "name": "Smith John Q", "licenseNumber": "S7654321", "licenseState": "NV"},
        {"id": "d", "name": "Lee, Ann", "externalIds": '{"payrollId": "P-9"}'},
    ]
    result = match_drivers(left, right)
    assert {(ln.left["id"], ln.right["id"]) for ln in result.links} == {
        ("1", "a"),
        ("2", "b"),
        ("3", "c"),
        ("4", "d"),
    }
    assert [r["id"] for r in result.unmatched_left] == ["5"]


@pytest.mark.parametrize(
    ("samsara", "fmc"),
    [
        ("Robert Smith", "Bob Smith"),
        ("William Jones", "JONES, BILL"),
        ("Elizabeth Moore", "Liz Moore"),
        ("James Taylor", "Jim Taylor"),
        ("Michael Davis", "Mike Davis"),
        ("Richard Hall", "Dick Hall"),
        ("Margaret Nguyen", "Peggy Nguyen"),
    ],
)
def test_driver_nicknames(samsara: str, fmc: str) -> None:
    # A one-character licence typo (+40) alone stays below the cutoff; the nickname-aware name
    # supplies the rest. The same typo with another given name and the same surname does not link.
    surname = samsara.split()[-1]
    left = [{"id": "s", "name": samsara, "licenseNumber": "D1234567", "licenseState": "CA"}]
    nick = {"id": "f", "name": fmc, "licenseNumber": "D1234576", "licenseState": "CA"}
    other = {"id": "g", "name": f"Hector {surname}", "licenseNumber": "D1234576", "licenseState": "CA"}
    result = match_drivers(left, [nick])
    assert [ln.right["id"] for ln in result.links] == ["f"]
    if not fmc.startswith("Mike"):  # "mike" is close to "michael" as a string already
        assert "name_nickname" in result.links[0].reasons
    result = match_drivers(left, [other])
    assert not result.links and not result.review


def test_driver_initials_and_unrelated_nicknames() -> None:
    left = [
        {"id": "s1", "name": "Aisha Lee", "licenseNumber": "06-304-0167", "licenseState": "CO"},
        {"id": "s2", "name": "Robert Brown", "licenseNumber": "W1111111", "licenseState": "CA"},
    ]
    right = [
        {"id": "f1", "name": "A. Lee", "licenseNumber": "063045167", "licenseState": "CO"},
        # "Bill" is William, not Robert: a licence typo and a surname are not enough.
        {"id": "f2", "name": "Bill Brown", "licenseNumber": "W1111112", "licenseState": "CA"},
    ]
    result = match_drivers(left, right)
    assert [(ln.left["id"], ln.right["id"]) for ln in result.links] == [("s1", "f1")]
    assert "name_initial" in result.links[0].reasons
    assert [r["id"] for r in result.unmatched_right] == ["f2"]


def _reasons(left: dict[str, Any], right: object, fn: Any = match_vehicles) -> set[str]:
    result = fn([left], [right], score_cutoff=0)
    return {r for ln in [*result.links, *result.review] for r in ln.reasons}


def test_record_fields_are_read_in_the_core() -> None:
    vin = "1M8GDM9AXKP042788"
    base = {"id": "s1", "vin": vin, "make": "Motor Coach", "model": "J4500", "year": 2019}
    # Padded text, other aliases, numbers where text is usual, years as text or float.
    other = {"vehicle_id": "f1", "VIN": f"  {vin.lower()} ", "model": "J4500", "model_year": "2019.0"}
    assert {"vin_exact", "model", "year"} <= _reasons(base, other)
    # Without VINs (whose model-year code would stand in for the year).
    by_plate = {"id": "s", "licensePlate": "ABC123", "year": 2019}
    assert "year" in _reasons(by_plate, {"id": "f", "plate": "ABC123", "modelYear": "2019.7"})
    for bad in ("INFINITY", "nan", "1850", "20x9", "", True):
        assert "year" not in _reasons(by_plate, {"id": "f", "plate": "ABC123", "modelYear": bad}), bad
    plate = {"id": "s", "licensePlate": 1234567, "name": "Truck 7"}
    assert "plate_exact" in _reasons(plate, {"id": "f", "plate": " 1234567", "unitNumber": None, "unit": "7"})
    # External ids: a mapping, a JSON object string, the snake_case key, flattened CSV columns.
    linked = {"id": "s", "externalIds": {"fmcId": "F-1", "blank": " ", "none": None}}
    for ext in (
        {"id": "f", "externalIds": '{"fmcId": "F-1"}'},
        {"id": "f", "external_ids": {"fmcId": "F-1"}},
        {"id": "f", "externalIds.fmcId": "F-1", "externalIds.other": ""},
    ):
        assert "external_id" in _reasons(linked, ext), ext
    assert "external_id" not in _reasons(linked, {"id": "f", "externalIds": "{not json"})

    # Drivers too, and records that are not dicts.
    @dataclass
    class Row:
        id: str
        name: str
        license_number: str

    ann = {"id": "s", "name": "Ann Lee", "licenseNumber": "A1112223"}
    row = Row("f", "LEE, ANN", "a111-2223")
    assert {"license_exact", "name_similar"} <= _reasons(ann, row, match_drivers)
    # An FMC employee number against Samsara's payroll id (kept in externalIds), re-keyed.
    lee = {"id": "s", "name": "Aisha Lee", "externalIds": {"payrollId": "PR01310"}}
    for emp, expected in (("pr-01310", True), ("E20017", False)):
        fmc = {"id": "f", "name": "A. Lee", "employeeId": emp}
        assert ("employee_id" in _reasons(lee, fmc, match_drivers)) is expected, emp
    with pytest.raises(TypeError):
        match_vehicles([1], [])


# --- precision and recall on the generator ------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_vehicle_precision_recall(seed: int) -> None:
    fleet = fleetgen.vehicles(3000, seed=seed)
    result = match_vehicles(fleet.samsara, fleet.fmc)
    p, r, _ = fleetgen.score([(ln.left["id"], ln.right["id"]) for ln in result.links], fleet.truth)
    assert p >= 0.995, p
    assert r >= 0.98, r


@pytest.mark.parametrize("seed", [1, 2])
def test_driver_precision_recall(seed: int) -> None:
    fleet = fleetgen.drivers(3000, seed=seed)
    result = match_drivers(fleet.samsara, fleet.fmc)
    p, r, _ = fleetgen.score([(ln.left["id"], ln.right["id"]) for ln in result.links], fleet.truth)
    assert p >= 0.995, p
    assert r >= 0.98, r


# --- inputs, output, CLI ------------------------------------------------------------------------------


@dataclass
class Truck:
    id: str
    vin: str | None = None
    name: str | None = None


def test_dataclass_records_and_csv_output(tmp_path: Path) -> None:
    result = match_vehicles(
        [Truck("s1", "1XKYD49X1HJ102030", "Truck 2")], [{"id": "f1", "vin": "1xkyd49x1hj102030"}]
    )
    assert len(result.links) == 1
    assert isinstance(result.links[0].left, Truck)
    text = result.to_csv(tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["status"] == "linked"
    assert rows[0]["left_vin"] == "1XKYD49X1HJ102030"
    assert rows[0]["reasons"] == "vin_exact"
    buf = io.StringIO()
    result.to_csv(buf)
    assert buf.getvalue() == text
    with pytest.raises(TypeError, match="record"):
        match_vehicles([1], [])
    with pytest.raises(ValueError, match="review_margin"):
        match_vehicles([], [], review_margin=-1)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "links.csv"
    rc = main([str(FIXTURES / "vehicles_samsara.csv"), str(FIXTURES / "vehicles_fmc.csv"), "--out", str(out)])
    assert rc == 0
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert sum(r["status"] == "linked" for r in rows) == 11
    assert "11 linked" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.csv"), str(out)]) == 2


record_values = st.one_of(st.none(), st.text(max_size=20), st.integers(-5, 3000))
records = st.lists(
    st.fixed_dictionaries(
        {"id": st.text(max_size=5)},
        optional={
            k: record_values
            for k in [
                "vin",
                "licensePlate",
                "licensePlateState",
                "name",
                "make",
                "year",
                "licenseNumber",
                "licenseState",
                "email",
                "phone",
                "username",
            ]
        },
    ),
    max_size=8,
)


@given(records, records)
@settings(max_examples=150, deadline=None)
def test_fuzz_records_never_panic(left: list[dict[str, Any]], right: list[dict[str, Any]]) -> None:
    for fn in (match_vehicles, match_drivers):
        result = fn(left, right)
        linked_l = [ln.left_index for ln in result.links]
        assert len(linked_l) == len(set(linked_l))
        n = len(result.links) + len(result.unmatched_left)
        assert n <= len(left)


def test_cli_drivers_and_python_dash_m(tmp_path: Path) -> None:
    out = tmp_path / "drivers.csv"
    args = [str(FIXTURES / "drivers_samsara.csv"), str(FIXTURES / "drivers_fmc.csv"), "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-m", "samsara_fmc.matching", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("drivers: 5 linked")
    with out.open() as f:
        linked = {(r["left_id"], r["right_id"]) for r in csv.DictReader(f) if r["status"] == "linked"}
    assert linked == {("d1", "P-1"), ("d2", "P-2"), ("d3", "P-3"), ("d4", "P-9"), ("d5", "P-5")}


def test_external_id_patches() -> None:
    left = [
        {"id": "1", "vin": "1XKYD49X1HJ102030", "externalIds": {"maintenanceId": "M1"}},
        {"id": "2", "vin": "1FUJGLDR3CLBP8834", "externalIds": {"fmcId": "F-2"}},
    ]
    right = [{"id": "F-1", "vin": "1XKYD49X1HJ102030"}, {"id": "F-2", "vin": "1FUJGLDR3CLBP8834"}]
    patches = match_vehicles(left, right).external_id_patches()
    # Only the key the FMC owns: Samsara keeps the others (and refuses its own `samsara.*` keys).
    assert patches == {"1": {"externalIds": {"fmcId": "F-1"}}}


def test_cli_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = tmp_path / "truth.csv"
    rows = [r for r in _read("vehicles_expected.csv") if r["status"] == "linked"]
    truth.write_text("left_id,right_id\n" + "".join(f"{r['left_id']},{r['right_id']}\n" for r in rows))
    left, right = str(FIXTURES / "vehicles_samsara.csv"), str(FIXTURES / "vehicles_fmc.csv")
    assert main([left, right, "--out", str(tmp_path / "o.csv"), "--truth", str(truth)]) == 0
    assert "precision 1.0000  recall 1.0000" in capsys.readouterr().err
    assert main([left, right, "--out", str(tmp_path / "o.csv"), "--truth", str(left)]) == 2


@given(st.text(max_size=30), st.text(max_size=30))
@settings(deadline=None)
def test_scorers_total_on_any_text(a: str, b: str) -> None:
    for scorer in (jaro_winkler, ratio, token_sort_ratio, token_set_ratio):
        score = scorer(a, b, processor=default_process)
        assert 0.0 <= score <= 100.0
        assert scorer(a, a) == 100.0 or not a.split()
    assert levenshtein(a, b) <= max(len(a), len(b))
    unit_number(a)
