"""The implementation behind :mod:`samsara_fmc.matching`: scorers, ``extract``/``extract_one`` and record
matching over the compiled core (the package root and :mod:`samsara_fmc` re-export these names)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from samsara_fmc import _core
from samsara_fmc.matching._cli import main
from samsara_fmc.matching._csv import Link, MatchResult
from samsara_fmc.matching._records import DRIVER_ALIASES, VEHICLE_ALIASES, as_dicts

__all__ = [
    "Link",
    "MatchResult",
    "default_process",
    "employee_key",
    "extract",
    "extract_one",
    "fold_name",
    "jaro_winkler",
    "levenshtein",
    "license_key",
    "main",
    "match_drivers",
    "match_vehicles",
    "phone_key",
    "ratio",
    "token_set_ratio",
    "token_sort_ratio",
    "unit_number",
]

Processor = Callable[[str], str]


def default_process(s: str) -> str:
    """RapidFuzz's default processor: lower case, non-alphanumerics to spaces, trimmed."""
    return _core.default_process(s)


def fold_name(name: str) -> str:
    """A name as driver matching reads it before comparing: mojibake (UTF-8 read as Latin-1 or
    Windows-1252, ``JosÃ©``) repaired and accented Latin letters folded to ASCII (``Lâm Đỗ`` →
    ``Lam Do``, ``ß`` → ``ss``)."""
    return _core.fold_name(name)


def license_key(value: str) -> str | None:
    """A licence number as driver matching compares it: alphanumerics upper-cased, a state prefix
    before an all-digit number dropped (``TX07567840`` → ``7567840``), leading zeros of an all-digit
    number dropped (``004434640`` → ``4434640``); ``None`` when nothing is left."""
    return _core.license_key(value)


def employee_key(value: str) -> str | None:
    """An employee number as driver matching compares it: a float export read as the integer
    (``4821.0`` → ``4821``), alphanumerics upper-cased, leading zeros of the final digits dropped
    (``084324`` → ``84324``, ``pr-01310`` → ``PR1310``)."""
    return _core.employee_key(value)


def phone_key(value: str) -> str | None:
    """A phone number's ten digits as driver matching compares them: an extension cut off
    (``x214``, ``ext. 7``, ``#12``), a leading ``1``/``+1`` dropped; ``None`` under 7 digits."""
    return _core.phone_key(value)


def unit_number(name: str) -> str | None:
    """The unit number in a vehicle name, leading zeros dropped (``"T-004"`` → ``"4"``), or ``None``."""
    return _core.unit_number(name)


def _apply(
    native: Callable[[str, str], float],
    a: str,
    b: str,
    processor: Processor | None,
    score_cutoff: float | None,
) -> float:
    if processor is not None:
        a, b = processor(a), processor(b)
    score = native(a, b)
    return 0.0 if score_cutoff is not None and score < score_cutoff else score


def jaro_winkler(
    a: str, b: str, *, processor: Processor | None = None, score_cutoff: float | None = None
) -> float:
    """Jaro-Winkler similarity, 0-100 (prefix scale 0.1, prefix up to 4)."""
    return _apply(_core.jaro_winkler, a, b, processor, score_cutoff)


def ratio(a: str, b: str, *, processor: Processor | None = None, score_cutoff: float | None = None) -> float:
    """Indel similarity, 0-100, as RapidFuzz ``fuzz.ratio``."""
    return _apply(_core.ratio, a, b, processor, score_cutoff)


def token_sort_ratio(
    a: str, b: str, *, processor: Processor | None = None, score_cutoff: float | None = None
) -> float:
    """:func:`ratio` of the whitespace tokens sorted, 0-100."""
    return _apply(_core.token_sort_ratio, a, b, processor, score_cutoff)


def token_set_ratio(
    a: str, b: str, *, processor: Processor | None = None, score_cutoff: float | None = None
) -> float:
    """Token-set similarity, 0-100: 100 when one side's tokens are a subset of the other's."""
    return _apply(_core.token_set_ratio, a, b, processor, score_cutoff)


def levenshtein(a: str, b: str, *, processor: Processor | None = None) -> int:
    """Levenshtein distance in edits."""
    if processor is not None:
        a, b = processor(a), processor(b)
    return _core.levenshtein(a, b)


_NATIVE: dict[Callable[..., float], str] = {
    jaro_winkler: "jaro_winkler",
    ratio: "ratio",
    token_sort_ratio: "token_sort_ratio",
    token_set_ratio: "token_set_ratio",
}


def _keyed(choices: Mapping[Hashable, str | None] | Iterable[str | None]) -> list[tuple[Hashable, str]]:
    items: Iterable[tuple[Hashable, str | None]]
    items = choices.items() if isinstance(choices, Mapping) else enumerate(choices)
    return [(k, c) for k, c in items if c is not None]


def extract(
    query: str,
    choices: Mapping[Hashable, str | None] | Iterable[str | None],
    *,
    scorer: Callable[..., float] = token_set_ratio,
    processor: Processor | None = default_process,
    limit: int | None = 5,
    score_cutoff: float | None = None,
) -> list[tuple[str, float, Hashable]]:
    """The best ``limit`` choices as ``(choice, score, key)``, best first (key: mapping key or index).

    ``None`` choices are skipped; ties keep input order.
    """
    keyed = _keyed(choices)
    q = processor(query) if processor is not None else query
    cutoff = 0.0 if score_cutoff is None else score_cutoff
    scored = []
    for k, c in keyed:
        s = scorer(q, processor(c) if processor is not None else c)
        if s >= cutoff:
            scored.append((c, float(s), k))
    scored.sort(key=lambda t: -t[1])
    return scored if limit is None else scored[:limit]


def extract_one(
    query: str,
    choices: Mapping[Hashable, str | None] | Iterable[str | None],
    *,
    scorer: Callable[..., float] = token_set_ratio,
    processor: Processor | None = default_process,
    score_cutoff: float | None = None,
) -> tuple[str, float, Hashable] | None:
    """The best choice as ``(choice, score, key)``, or ``None`` if none reaches ``score_cutoff``.

    The built-in scorers run in Rust without the GIL; any other callable ``scorer(a, b)`` works too.
    Ties go to the first choice.
    """
    keyed = _keyed(choices)
    if not keyed:
        return None
    cutoff = 0.0 if score_cutoff is None else float(score_cutoff)
    name = _NATIVE.get(scorer)
    if name is None:
        best = extract(query, dict(keyed), scorer=scorer, processor=processor, limit=1, score_cutoff=cutoff)
        return best[0] if best else None
    q = processor(query) if processor is not None else query
    texts = [processor(c) if processor is not None else c for _, c in keyed]
    hit = _core.extract_one(q, texts, name, cutoff)
    if hit is None:
        return None
    i, score = hit
    return keyed[i][1], score, keyed[i][0]


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC while building many small acyclic objects (tuples, links): at 100k
    records its collections would otherwise cost more than the conversion itself."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _result(kind: str, left: Sequence[Any], right: Sequence[Any], raw: Any) -> MatchResult:
    links, review, ul, ur = raw

    def mk(t: tuple[int, int, float, list[str]]) -> Link:
        li, ri, score, reasons = t
        return Link(left[li], right[ri], score, tuple(reasons), li, ri)

    return MatchResult(
        kind=kind,
        links=[mk(t) for t in links],
        review=[mk(t) for t in review],
        unmatched_left=[left[i] for i in ul],
        unmatched_right=[right[i] for i in ur],
    )


def _near_miss(value: float | None) -> float | None:
    return None if value is None else float(value)


def match_vehicles(
    left: Iterable[Any],
    right: Iterable[Any],
    *,
    score_cutoff: float = 60.0,
    review_margin: float = 5.0,
    near_miss: float | None = None,
) -> MatchResult:
    """Link Samsara vehicles (``left``) with FMC vehicles (``right``) one to one.

    Args:
        left: Vehicle records (dicts with Samsara field names, dataclasses, …).
        right: Vehicle records from the other system.
        score_cutoff: Pairs scoring below this (0-100) are never linked.
        review_margin: A best pair with a rival within this many points goes to ``review``.
        near_miss: A pair at most this many points below the cutoff that is the best still-open
            candidate of both its records goes to ``review`` instead of both being unmatched.
            ``None``: 0 (off) for vehicles, 10 for drivers.

    Returns:
        A :class:`MatchResult` holding the original records.
    """
    lv, rv = list(left), list(right)
    with _no_gc():
        raw = _core.match_vehicles(
            as_dicts(lv),
            as_dicts(rv),
            VEHICLE_ALIASES,
            float(score_cutoff),
            float(review_margin),
            _near_miss(near_miss),
        )
        return _result("vehicles", lv, rv, raw)


def match_drivers(
    left: Iterable[Any],
    right: Iterable[Any],
    *,
    score_cutoff: float = 60.0,
    review_margin: float = 5.0,
    near_miss: float | None = None,
) -> MatchResult:
    """Link Samsara drivers (``left``) with FMC drivers (``right``) one to one; see :func:`match_vehicles`.

    Near misses (by default up to 10 points below the cutoff) go to ``review``: people's records
    lose identifiers (a renewed licence, a new phone) and a person can decide those pairs.
    """
    lv, rv = list(left), list(right)
    with _no_gc():
        raw = _core.match_drivers(
            as_dicts(lv),
            as_dicts(rv),
            DRIVER_ALIASES,
            float(score_cutoff),
            float(review_margin),
            _near_miss(near_miss),
        )
        return _result("drivers", lv, rv, raw)
