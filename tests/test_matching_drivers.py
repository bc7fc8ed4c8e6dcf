"""Driver matching on rosters exported from HR and payroll systems: each way an export mangles an
identifier, the evidence that must not outweigh the rest, the father-and-son trap, near misses, and
the quality floor on the seeded HR roster (``tests/support/hr_roster.py``).

The bench (``bench/bench_drivers.py``) reports the same at 20,000 people beside a rapidfuzz baseline.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.matching import (
    employee_key,
    fold_name,
    license_key,
    match_drivers,
    phone_key,
)
from tests.support.hr_roster import evaluate as evaluate_roster
from tests.support.hr_roster import mojibake, roster


def _one(left: dict[str, Any], right: dict[str, Any]) -> tuple[str, float, tuple[str, ...]]:
    """How a single pair ends: ``linked``, ``review`` or ``unmatched``, with score and reasons."""
    result = match_drivers([left], [right])
    if result.links:
        return "linked", result.links[0].score, result.links[0].reasons
    if result.review:
        return "review", result.review[0].score, result.review[0].reasons
    scored = match_drivers([left], [right], score_cutoff=0)
    ln = (scored.links or scored.review)[0] if scored.links or scored.review else None
    return "unmatched", ln.score if ln else 0.0, ln.reasons if ln else ()


# --- the normalisations, one class at a time -----------------------------------------------------


@pytest.mark.parametrize(
    ("samsara", "hr"),
    [
        ("07567840", "TX07567840"),  # the issuing state written in front
        ("07567840", "tx-0756-7840"),
        ("004434640", "4434640"),  # leading zeros dropped by a spreadsheet
        ("D1234567", "d123-4567"),
    ],
)
def test_licence_numbers_as_exports_write_them(samsara: str, hr: str) -> None:
    assert license_key(samsara) == license_key(hr)
    state = "TX" if "TX" in hr.upper() else "NY"
    status, _, reasons = _one(
        {"id": "s", "name": "Wei Chen", "licenseNumber": samsara, "licenseState": state},
        {"id": "f", "name": "CHEN, WEI", "license_number": hr, "license_state": state},
    )
    assert status == "linked" and "license_exact" in reasons


def test_licence_prefixes_only_strip_state_codes_before_digits() -> None:
    assert license_key("XY07567840") != license_key("07567840")  # not a state
    assert license_key("D0123456") != license_key("D123456")  # letters and digits keep zeros
    assert license_key("TX0756784A") == "TX0756784A"


@pytest.mark.parametrize(
    ("payroll", "hr"),
    [("084324", "84324"), ("4821", "4821.0"), ("04821", 4821.0), ("PR01310", "pr-1310"), ("84324", 84324)],
)
def test_employee_numbers_with_dropped_zeros_or_as_floats(payroll: str, hr: object) -> None:
    assert employee_key(payroll) == employee_key(str(hr))
    status, _, reasons = _one(
        {"id": "s", "name": "Maria Lopez", "externalIds": {"payrollId": payroll}},
        {"id": "f", "name": "LOPEZ, MARIA", "employeeId": hr},
    )
    assert status == "linked" and "employee_id" in reasons


def test_other_employee_numbers_do_not_agree() -> None:
    assert employee_key("4821.5") != employee_key("4821")
    status, _, reasons = _one(
        {"id": "s", "name": "Maria Lopez", "externalIds": {"payrollId": "084324"}},
        {"id": "f", "name": "LOPEZ, MARIA", "employeeId": "84325"},
    )
    assert status == "unmatched" and "employee_id" not in reasons


@pytest.mark.parametrize(
    ("samsara", "hr"),
    [
        ("Lam Do", "ĐỖ, LÂM"),
        ("Nguyen Thi Huong", "Nguyễn Thị Hương"),
        ("Jurgen Muller", "Jürgen Müller"),
        ("Juergen Mueller", "MÜLLER, JÜRGEN"),
        ("Joerg Schroeder", "Jörg Schröder"),
        ("Jose Nunez", mojibake("José Núñez")),
        ("Lukasz Lecki", mojibake("Łęcki, Łukasz")),
        ("Soren Sorensen", "Søren Sørensen"),
        ("Hans Gross", "Hans Groß"),
    ],
)
def test_accented_transliterated_and_mojibake_names(samsara: str, hr: str) -> None:
    # An e-mail (+45) needs the name (+30) to link; a name conflict (-30) would sink it.
    status, _, reasons = _one(
        {"id": "s", "name": samsara, "email": "x@fleet.example"},
        {"id": "f", "name": hr, "email": "X@FLEET.example"},
    )
    assert status == "linked", (samsara, hr)
    assert "name_similar" in reasons and "name_conflict" not in reasons


def test_an_accented_name_is_a_blocking_key() -> None:
    # Nothing but the name and a licence one typo apart: the name must bring the pair together.
    status, _, reasons = _one(
        {"id": "s", "name": "Lâm Đỗ", "licenseNumber": "D1234567", "licenseState": "CA"},
        {"id": "f", "name": "Lam Do", "licenseNumber": "D1234576", "licenseState": "CA"},
    )
    assert status == "linked" and "license_typo" in reasons


def test_fold_name_matches_unicode_decompositions() -> None:
    """Every Latin letter the fold table holds, against Python's own decomposition."""
    own = {"Æ": "AE", "æ": "ae", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "Ł": "L", "ł": "l", "ß": "ss"}
    own |= {"Þ": "TH", "þ": "th", "Ð": "D", "ð": "d", "Œ": "OE", "œ": "oe", "\u0131": "i", "ẞ": "SS"}
    checked = 0
    for cp in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        c = chr(cp)
        if not c.isalpha():
            continue
        decomposed = "".join(x for x in unicodedata.normalize("NFKD", c) if x.isascii() and x.isalpha())
        folded = fold_name(c)
        if c in own:
            assert folded == own[c], c
        elif decomposed:
            assert folded == decomposed, (c, hex(cp), folded, decomposed)
            checked += 1
        else:
            assert folded in (c, *own.values()) or folded.isascii(), c
    assert checked > 500
    assert fold_name("Иван Ли") == "Иван Ли"  # other scripts pass through


def test_mojibake_is_repaired_and_real_accents_are_left_alone() -> None:
    for name in ["José Núñez", "Lâm Đỗ", "Müller", "Zoë Łukasiewicz", "François Œuvray", "Nguyễn Thị Hương"]:
        assert fold_name(mojibake(name)) == fold_name(name), name
    for name in ["Ãlvaro", "Ñuñez", "Renée Ô"]:
        assert fold_name(name) == fold_name(name.encode("utf-8").decode("utf-8"))
    assert fold_name("Ãlvaro") == "Alvaro"


@pytest.mark.parametrize(
    "phone",
    ["(555) 010-2030 x214", "555.010.2030 ext. 7", "+1 555 010 2030 #12", "555-010-2030 214", "15550102030"],
)
def test_phone_extensions_are_cut_off(phone: str) -> None:
    assert phone_key(phone) == "5550102030"
    status, _, reasons = _one(
        {"id": "s", "name": "Omar Haddad", "phone": "5550102030"},
        {"id": "f", "name": "HADDAD, OMAR", "phone": phone},
    )
    assert status == "linked" and "phone_exact" in reasons


def test_foreign_numbers_keep_their_last_ten_digits() -> None:
    assert phone_key("+52 55 1234 5678") == "5512345678"
    assert phone_key("Ext 12") is None


# --- conflicting evidence -------------------------------------------------------------------------

ANA = {
    "id": "s",
    "name": "Ana Ruiz",
    "licenseNumber": "A1234567",
    "licenseState": "CA",
    "email": "ana@acme.example",
    "phone": "555-010-2030",
}


@pytest.mark.parametrize(
    ("hr", "reason"),
    [
        # Renewed with a new number in the same state: name + phone + e-mail still link.
        (
            {"name": "Ruiz, Ana", "licenseNumber": "A7654321", "licenseState": "CA", "email": ANA["email"]},
            "license_conflict",
        ),
        # Re-issued after a move to Texas: name + e-mail.
        (
            {"name": "Ana Ruiz", "licenseNumber": "98765432", "licenseState": "TX", "email": ANA["email"]},
            "license_reissued",
        ),
        # The same number under a wrong state, nothing else: the licence carries most of its weight.
        ({"name": "Ana Ruiz", "licenseNumber": "A1234567", "licenseState": "NV"}, "license_other_state"),
    ],
)
def test_a_stale_licence_does_not_sink_a_pair_that_agrees_otherwise(hr: dict[str, Any], reason: str) -> None:
    status, score, reasons = _one(ANA, {"id": "f", **hr})
    assert status == "linked", (score, reasons)
    assert reason in reasons


def test_a_licence_still_counts_against_strangers() -> None:
    # The same number from another state with another person's name, and a different licence with
    # only a (household) phone beside the name: neither links.
    assert (
        _one(ANA, {"id": "f", "name": "Bob Brown", "licenseNumber": "A1234567", "licenseState": "NV"})[0]
        != "linked"
    )
    other = {
        "id": "f",
        "name": "Ana Ruiz",
        "licenseNumber": "A7654321",
        "licenseState": "CA",
        "phone": ANA["phone"],
    }
    assert _one(ANA, other)[0] == "unmatched"


def test_a_father_and_son_sharing_a_phone_do_not_link() -> None:
    father = {"id": "s", "name": "John Smith", "phone": "555-010-2030"}
    son = {"id": "f", "name": "SMITH JR, JOHN", "phone": "(555) 010-2030"}
    status, _, reasons = _one(father, son)
    assert status == "unmatched" and "name_suffix_conflict" in reasons
    assert _one({**father, "name": "John Smith Sr."}, son)[0] == "unmatched"
    # The same records without the suffix are one person; the same suffix on both sides too.
    assert _one(father, {**son, "name": "Smith, John"})[0] == "linked"
    assert _one({**father, "name": "John Smith Jr"}, son)[0] == "linked"
    # A licence that agrees outweighs a suffix one side dropped.
    lic = {"licenseNumber": "D1111111", "licenseState": "CA"}
    assert _one({**father, **lic}, {**son, **lic})[0] == "linked"


def test_father_and_son_on_both_sides_each_link_to_himself() -> None:
    left = [
        {
            "id": "s1",
            "name": "John Smith",
            "licenseNumber": "D1111111",
            "licenseState": "CA",
            "phone": "5550102030",
        },
        {
            "id": "s2",
            "name": "John Smith Jr",
            "licenseNumber": "D2222222",
            "licenseState": "CA",
            "phone": "5550102030",
        },
    ]
    right = [
        {"id": "f1", "name": "SMITH JR, JOHN", "license_number": "D2222222", "license_state": "CA"},
        {"id": "f2", "name": "SMITH SR, JOHN", "license_number": "D1111111", "license_state": "CA"},
    ]
    result = match_drivers(left, right)
    assert {(ln.left["id"], ln.right["id"]) for ln in result.links} == {("s1", "f2"), ("s2", "f1")}


def test_near_misses_go_to_review() -> None:
    # Employee number (+50) and a name with a typo (+5): 55, under the cutoff.
    left = [{"id": "s", "name": "George Jones", "externalIds": {"payrollId": "015039"}}]
    right = [{"id": "f", "name": "JOYES, GEORGE C", "employeeId": "15039.0"}]
    result = match_drivers(left, right)
    assert not result.links and not result.unmatched_left and not result.unmatched_right
    assert [(ln.left["id"], ln.right["id"]) for ln in result.review] == [("s", "f")]
    assert 50 <= result.review[0].score < 60
    off = match_drivers(left, right, near_miss=0)
    assert not off.review and off.unmatched_left == left
    with pytest.raises(ConfigurationError, match="near_miss"):
        match_drivers(left, right, near_miss=-1)


# --- quality on the seeded HR roster --------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_quality_floor_on_an_hr_roster(seed: int) -> None:
    r = roster(3000, seed=seed)
    result = match_drivers(r.samsara, r.hr)
    links = [(ln.left["id"], ln.right["id"]) for ln in result.links]
    review = [(ln.left["id"], ln.right["id"]) for ln in result.review]
    q = evaluate_roster(r, links, review)
    assert q.precision >= 0.999, q.false_links[:10]
    assert q.f1 >= 0.98, q.missed[:10]
    assert not q.trap_links, q.trap_links
    # Every noise class the issue names is present and almost always linked through.
    for noise in (
        "licence_state_prefix",
        "licence_zeros_dropped",
        "licence_reissued_other_state",
        "licence_renewed",
        "licence_wrong_state",
        "employee_float",
        "employee_zeros_dropped",
        "accents_dropped",
        "umlaut_written_out",
        "mojibake",
        "phone_extension",
    ):
        total, linked = q.by_noise[noise]
        assert total >= 20 and linked / total >= 0.97, (noise, total, linked)
    # What does not link sits in review rather than unmatched.
    assert q.missed_in_review >= 0.8 * len(q.missed)


def test_roster_is_the_same_for_a_seed_and_carries_the_traps() -> None:
    a, b, c = roster(400, seed=5), roster(400, seed=5), roster(400, seed=6)
    assert (a.samsara, a.hr, a.truth) == (b.samsara, b.hr, b.truth)
    assert a.hr != c.hr
    kinds = {t["kind"] for t in a.truth}
    assert {"person", "fatherSon", "namesake", "spouse", "hrOnly", "samsaraOnly"} <= kinds
    assert {t["expect"] for t in a.truth} == {"link", "review", "none"}


def test_the_roster_defeats_plain_fuzzy_matching() -> None:
    """A baseline that links on licence text or the best name: the noise is really there."""
    from rapidfuzz import fuzz, process

    r = roster(600, seed=3)
    by_licence = {str(h["license_number"]).upper(): h["id"] for h in r.hr if h["license_number"]}
    names = [str(h["name"]) for h in r.hr]
    links = []
    for s in r.samsara:
        hid = by_licence.get(str(s["licenseNumber"]).upper())
        if hid is None:
            best = process.extractOne(str(s["name"]), names, scorer=fuzz.token_sort_ratio, score_cutoff=95)
            hid = r.hr[best[2]]["id"] if best else None
        if hid:
            links.append((s["id"], hid))
    q = evaluate_roster(r, links)
    assert q.recall < 0.9 or q.precision < 0.99, (q.precision, q.recall)


@given(st.one_of(st.text(max_size=40), st.text(alphabet="0123456789TXNYtxe .-+#,ÃÄ©¼\u0090", max_size=25)))
@settings(max_examples=600, deadline=None)
def test_normalisers_are_total_and_stable(text: str) -> None:
    """Any text: no error, and a normalised value normalises to itself."""
    folded = fold_name(text)
    assert fold_name(folded) == folded
    for fn in (license_key, employee_key, phone_key):
        key = fn(text)
        assert key is None or (key and fn(key) == key), (fn.__name__, text, key)
