"""VIN validation, check digit, repair and decoding, cross-checked against a tiny pure-Python reference."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from samsara_fmc import InvalidVinError as Exported
from samsara_fmc import _core
from samsara_fmc.exceptions import InvalidVinError, SamsaraFmcError
from samsara_fmc.vin import decode_vin, is_valid_vin, repair_vin, validate_vin, vin_check_digit

FIXTURES = Path(__file__).parent / "fixtures" / "vins"

# --- the reference (49 CFR 565.15(c)) ----------------------------------------------------------------

ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
VALUES = dict(
    zip(
        "ABCDEFGHJKLMNPRSTUVWXYZ",
        [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9],
        strict=True,
    )
)
VALUES.update({str(d): d for d in range(10)})
WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"


def ref_check_digit(vin: str) -> str:
    r = sum(VALUES[c] * w for c, w in zip(vin, WEIGHTS, strict=True)) % 11
    return "X" if r == 10 else str(r)


def ref_valid(vin: str) -> bool:
    if len(vin) != 17 or any(c not in ALPHABET for c in vin) or vin[9] not in YEAR_CODES:
        return False
    return vin[8] == ref_check_digit(vin) or vin[0] not in "12345"


vin_bodies = st.text(alphabet=ALPHABET, min_size=17, max_size=17)
na_vins = st.builds(
    lambda wmi0, body, year: wmi0 + body[1:9] + year + body[10:],
    st.sampled_from("12345"),
    vin_bodies,
    st.sampled_from(YEAR_CODES),
).map(lambda v: v[:8] + ref_check_digit(v) + v[9:])


# --- fixtures -----------------------------------------------------------------------------------------


def _lines(name: str) -> list[str]:
    return [ln for ln in (FIXTURES / name).read_text().splitlines() if not ln.startswith("#")]


@pytest.mark.parametrize("vin", _lines("valid.txt"))
def test_valid_fixture(vin: str) -> None:
    assert validate_vin(vin) == vin
    assert is_valid_vin(vin)
    assert ref_valid(vin)


@pytest.mark.parametrize(("vin", "reason"), [ln.rsplit(",", 1) for ln in _lines("invalid.txt")])
def test_every_failure_reason(vin: str, reason: str) -> None:
    with pytest.raises(InvalidVinError) as e:
        validate_vin(vin)
    assert e.value.reason == reason
    assert isinstance(e.value, ValueError)
    assert isinstance(e.value, SamsaraFmcError)
    assert e.value.vin == vin.replace("-", "").strip().upper()
    assert not is_valid_vin(vin)
    if e.value.vin:
        assert f"`{e.value.vin}`" in str(e.value)


def test_normalises_and_warns_outside_north_america() -> None:
    assert validate_vin(" 1m8gdm9a-xkp 042.788 ") == "1M8GDM9AXKP042788"
    info = decode_vin("WDB1240821A123456")
    assert info.warnings == ["check_digit"]
    assert not info.north_american
    assert info.country == "Germany"


def test_is_valid_vin_never_raises() -> None:
    for v in [None, 17, b"1M8GDM9AXKP042788", object(), "", "x" * 10_000]:
        assert is_valid_vin(v) is False


def test_decode() -> None:
    info = decode_vin("1FTFW1E50KFA12345".replace("0KFA", ref_check_digit("1FTFW1E50KFA12345") + "KFA"))
    assert (info.wmi, info.vds, info.model_year_code, info.plant, info.serial) == (
        "1FT",
        "FW1E5",
        "K",
        "F",
        "A12345",
    )
    assert info.manufacturer == "Ford"
    assert info.country == "United States"
    assert info.model_year == 2019
    assert info.model_year_candidates == (1989, 2019)
    assert info.check_digit_valid
    assert info.warnings == []
    assert "Ford" in repr(info)
    for vin, make in [
        ("1XKYD49X1HJ102030", "Kenworth"),
        ("1UYVS2539EU123456", "Utility Trailer"),
        ("3AKJHHDR8JSJV1234", "Freightliner"),
        ("1GRAA0627KT123456", "Great Dane"),
    ]:
        assert decode_vin(vin).manufacturer == make
    with pytest.raises(InvalidVinError):
        decode_vin("nope")


def test_repair_examples() -> None:
    (r,) = repair_vin("1M8GDM9AXKPO42788")
    assert r.candidate == "1M8GDM9AXKP042788"
    assert r.edit == "`O` → `0` at position 12"
    assert r.edits == [("substitute", 12)]
    cands = repair_vin("1M8GDM9AXKP042878", limit=100)
    assert any(c.candidate == "1M8GDM9AXKP042788" and c.edits == [("transpose", 15)] for c in cands)
    assert repair_vin("1M8GDM9AXKP042788") == []
    assert len(repair_vin("1M8GDM9A1KP042788", limit=2)) == 2
    with pytest.raises(ValueError, match="limit"):
        repair_vin("x", limit=-1)


# --- properties against the reference -----------------------------------------------------------------


@given(vin_bodies)
@settings(deadline=None)
def test_check_digit_matches_reference(vin: str) -> None:
    assert vin_check_digit(vin) == ref_check_digit(vin)


@given(vin_bodies)
@settings(deadline=None)
def test_validity_matches_reference(vin: str) -> None:
    assert is_valid_vin(vin) == ref_valid(vin)


@given(na_vins, st.integers(0, 16), st.sampled_from(ALPHABET))
@settings(max_examples=300, deadline=None)
def test_substitution_is_repaired(vin: str, pos: int, c: str) -> None:
    bad = vin[:pos] + c + vin[pos + 1 :]
    assume(not ref_valid(bad))
    cands = repair_vin(bad, limit=1000)
    assert vin in [r.candidate for r in cands]
    assert all(ref_valid(r.candidate) for r in cands)


@given(na_vins, st.integers(0, 15))
@settings(max_examples=300, deadline=None)
def test_transposition_is_repaired(vin: str, pos: int) -> None:
    bad = vin[:pos] + vin[pos + 1] + vin[pos] + vin[pos + 2 :]
    assume(not ref_valid(bad))
    assert vin in [r.candidate for r in repair_vin(bad, limit=1000)]


def ref_insertions(short: str) -> set[str]:
    """Every valid VIN one insertion away from a 16-character string."""
    cands = {short[:i] + c + short[i:] for i in range(17) for c in ALPHABET}
    return {v for v in cands if ref_valid(v)}


def ref_deletions(long: str) -> set[str]:
    """Every valid VIN one deletion away from an 18-character string."""
    return {v for v in (long[:i] + long[i + 1 :] for i in range(18)) if ref_valid(v)}


@given(st.text(alphabet=ALPHABET, min_size=16, max_size=16))
@settings(max_examples=200, deadline=None)
def test_insertions_match_reference(short: str) -> None:
    cands = repair_vin(short, limit=10_000)
    assert {r.candidate for r in cands} == ref_insertions(short)
    assert len(cands) == len({r.candidate for r in cands})
    for r in cands:
        ((kind, pos),) = r.edits
        assert kind == "insert" and r.candidate[: pos - 1] + r.candidate[pos:] == short
        assert r.edit == f"insert `{r.candidate[pos - 1]}` at position {pos}"
    assert [r.cost for r in cands] == sorted(r.cost for r in cands)


@given(st.text(alphabet=ALPHABET, min_size=18, max_size=18))
@settings(max_examples=200, deadline=None)
def test_deletions_match_reference(long: str) -> None:
    cands = repair_vin(long, limit=10_000)
    assert {r.candidate for r in cands} == ref_deletions(long)
    for r in cands:
        ((kind, pos),) = r.edits
        assert kind == "delete" and long[: pos - 1] + long[pos:] == r.candidate


@given(na_vins, st.integers(0, 16))
@settings(max_examples=300, deadline=None)
def test_dropped_character_is_restored(vin: str, pos: int) -> None:
    short = vin[:pos] + vin[pos + 1 :]
    cands = [r.candidate for r in repair_vin(short, limit=10_000)]
    assert vin in cands
    if short[0] in "12345":
        # The check digit leaves few: about one insertion in eleven fits (plus foreign VINs made by
        # putting a non-North-American character in front, which need no check digit).
        assert len(cands) < 150


@given(na_vins, st.integers(0, 17), st.sampled_from(ALPHABET))
@settings(max_examples=300, deadline=None)
def test_extra_character_is_dropped(vin: str, pos: int, c: str) -> None:
    assert vin in [r.candidate for r in repair_vin(vin[:pos] + c + vin[pos:], limit=10_000)]


def test_doubled_or_lost_twin_ranks_first() -> None:
    # `…0427888`: one `8` too many; `…04278`: one lost. Both restore the same VIN at the best cost.
    for bad in ("1M8GDM9AXKP0427888", "1M8GDM9AXKP04278"):
        cands = repair_vin(bad, limit=10_000)
        best = min(r.cost for r in cands)
        assert "1M8GDM9AXKP042788" in [r.candidate for r in cands if r.cost == best]


@given(na_vins)
@settings(deadline=None)
def test_letter_o_and_i_are_mapped_back(vin: str) -> None:
    assume("0" in vin or "1" in vin)
    bad = vin.replace("0", "O").replace("1", "I")
    assert repair_vin(bad)[0].candidate == vin


@given(st.text(max_size=40))
@settings(deadline=None)
def test_fuzz_never_panics(s: str) -> None:
    reason = None
    try:
        normalised = validate_vin(s)
    except InvalidVinError as e:
        reason = e.reason
    else:
        assert is_valid_vin(normalised)
    assert reason in {None, "empty", "length", "character", "model_year", "check_digit"}
    is_valid_vin(s)
    repair_vin(s)
    with contextlib.suppress(InvalidVinError):
        vin_check_digit(s)


# --- VinError → InvalidVinError, reason by reason ------------------------------------------------------

# Every reason code the core's `VinError` maps to, with one VIN that fails for it (the fixture's
# lines must cover the same set), the part of the message that names the fault, and which entry
# points raise it: `vin_check_digit` needs only the characters and the length.
REASONS: dict[str, tuple[str, str, bool]] = {
    "empty": (" - ", "the VIN is empty", True),
    "length": ("1M8GDM9AXKP04278", "has 16 characters, a VIN has 17", True),
    "character": ("1M8GDM9AXKPO42788", "has `O` at position 12", True),
    "model_year": ("1M8GDM9AXUP042788", "has `U` at position 10, which is not a model-year code", False),
    "check_digit": ("1M8GDM9A1KP042788", "`1` at position 9 but its characters call for `X`", False),
}


def test_fixture_covers_every_reason() -> None:
    reasons = {ln.rsplit(",", 1)[1] for ln in _lines("invalid.txt")}
    assert reasons == set(REASONS)


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_vin_error_maps_to_invalid_vin_error(reason: str) -> None:
    vin, message, check_digit_raises = REASONS[reason]
    normalised = vin.replace("-", "").strip().upper()
    entry_points = [_core.validate_vin, validate_vin, decode_vin]
    if check_digit_raises:
        entry_points.append(vin_check_digit)
    for fn in entry_points:
        with pytest.raises(InvalidVinError) as e:
            fn(vin)
        err = e.value
        # The core raises the package's class itself, not a look-alike or a subclass.
        assert type(err) is InvalidVinError is Exported, fn
        assert (err.reason, err.vin) == (reason, normalised), fn
        assert message in str(err), (fn, str(err))
        assert str(err) == err.args[0]
        if normalised:
            assert f"`{normalised}`" in str(err)
        # Callers that only know ValueError (or the package's base class) still catch it.
        assert isinstance(err, ValueError) and isinstance(err, SamsaraFmcError)
    if not check_digit_raises:
        assert len(vin_check_digit(vin)) == 1


# --- Python-facing behaviour ---------------------------------------------------------------------------


def test_results_print_as_python() -> None:
    info = decode_vin("3AKJHHDR8JSJV1234")
    text = repr(info)
    assert text.startswith("VinInfo(vin='3AKJHHDR8JSJV1234', wmi='3AK', ")
    assert "manufacturer='Freightliner'" in text and "Some(" not in text
    assert "check_digit_valid=True" in text and "warnings=[]" in text
    foreign = repr(decode_vin("WDB1240821A123456"))
    assert "check_digit_valid=False" in foreign
    # Every field, each as Python's repr of the attribute.
    fields = dict(
        part.split("=", 1)
        for part in text.removeprefix("VinInfo(").removesuffix(")").split(", ")
        if "=" in part
    )
    for name in ("vin", "wmi", "manufacturer", "country", "model_year", "north_american", "check_digit"):
        assert fields[name] == repr(getattr(info, name)), name
    (r,) = repair_vin("1M8GDM9AXKPO42788")
    assert repr(r) == (
        "VinRepair(candidate='1M8GDM9AXKP042788', edit='`O` → `0` at position 12',"
        " edits=[('substitute', 12)], cost=0.1)"
    )


@pytest.mark.parametrize("fn", [validate_vin, decode_vin, vin_check_digit, repair_vin])
def test_none_and_non_strings_raise_the_packages_error(fn: object) -> None:
    with pytest.raises(InvalidVinError, match="got `None`") as info:
        fn(None)  # type: ignore[operator]
    assert info.value.reason == "empty" and isinstance(info.value, SamsaraFmcError)
    with pytest.raises(InvalidVinError, match="got int `17`") as info:
        fn(17)  # type: ignore[operator]
    assert info.value.reason == "type"


@given(na_vins, st.sampled_from(ALPHABET))
@settings(max_examples=200, deadline=None)
def test_a_wrong_check_digit_ranks_the_check_digit_fix_first(vin: str, wrong: str) -> None:
    assume(wrong != vin[8])
    typo = vin[:8] + wrong + vin[9:]
    cands = repair_vin(typo, limit=50)
    assert cands[0].candidate == vin and cands[0].edits == [("substitute", 9)]
