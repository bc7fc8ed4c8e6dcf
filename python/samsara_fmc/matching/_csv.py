"""Match results as Python objects and as a CSV a person can read; the ``samsara-fmc-match`` CLI."""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

from samsara_fmc.matching._records import DRIVER_FIELDS, VEHICLE_FIELDS, as_mapping


class Link(NamedTuple):
    """A linked (or proposed) pair: the two original records, the score (0-100) and the evidence."""

    left: Any
    right: Any
    score: float
    reasons: tuple[str, ...]
    left_index: int
    right_index: int


@dataclass(frozen=True)
class MatchResult:
    """The outcome of :func:`~samsara_fmc.matching.match_vehicles` or ``match_drivers``.

    Attributes:
        kind: ``"vehicles"`` or ``"drivers"``.
        links: One-to-one links, best first.
        review: Pairs for a person: each contested best pair, then its near-tied rivals.
        unmatched_left: Left records neither linked nor under review.
        unmatched_right: Right records neither linked nor under review.
    """

    kind: str
    links: list[Link] = field(default_factory=list)
    review: list[Link] = field(default_factory=list)
    unmatched_left: list[Any] = field(default_factory=list)
    unmatched_right: list[Any] = field(default_factory=list)

    def _columns(self) -> list[str]:
        fields = VEHICLE_FIELDS if self.kind == "vehicles" else DRIVER_FIELDS
        return [f for f in fields if f != "id"]

    def to_rows(self) -> list[dict[str, str]]:
        """One row per link, review pair and unmatched record, with both sides' key fields."""
        cols = self._columns()
        fields = VEHICLE_FIELDS if self.kind == "vehicles" else DRIVER_FIELDS

        def val(rec: Any, f: str) -> str:
            if rec is None:
                return ""
            m = as_mapping(rec)
            for name in fields[f]:
                if m.get(name) not in (None, ""):
                    return str(m[name])
            return ""

        def row(
            status: str, left: Any, right: Any, score: float | None, reasons: Sequence[str]
        ) -> dict[str, str]:
            r = {
                "status": status,
                "score": "" if score is None else f"{score:.1f}",
                "reasons": "+".join(reasons),
                "left_id": val(left, "id"),
                "right_id": val(right, "id"),
            }
            for c in cols:
                r[f"left_{c}"] = val(left, c)
                r[f"right_{c}"] = val(right, c)
            return r

        rows = [row("linked", ln.left, ln.right, ln.score, ln.reasons) for ln in self.links]
        rows += [row("review", ln.left, ln.right, ln.score, ln.reasons) for ln in self.review]
        rows += [row("unmatched_left", rec, None, None, ()) for rec in self.unmatched_left]
        rows += [row("unmatched_right", None, rec, None, ()) for rec in self.unmatched_right]
        return rows

    def external_id_patches(self, key: str = "fmcId") -> dict[str, dict[str, dict[str, str]]]:
        """PATCH bodies that record each link as a shared reference id on the Samsara side.

        For every link whose left (Samsara) record does not yet carry ``externalIds[key]`` equal to
        the right record's ``id``, returns ``{samsara_id: {"externalIds": {...existing, key: fmc_id}}}``,
        ready for ``PATCH /fleet/vehicles/{id}`` or ``/fleet/drivers/{id}`` (the API replaces the whole
        ``externalIds`` map, so existing pairs are kept). Samsara documents alphanumeric keys as the safe
        choice, and a value must be unique per key across the organisation.
        """
        out: dict[str, dict[str, dict[str, str]]] = {}
        for ln in self.links:
            left, right = as_mapping(ln.left), as_mapping(ln.right)
            sid, fid = str(left.get("id") or ""), str(right.get("id") or "")
            existing = left.get("externalIds")
            ids = {str(k): str(v) for k, v in existing.items()} if isinstance(existing, Mapping) else {}
            if sid and fid and ids.get(key) != fid:
                out[sid] = {"externalIds": {**ids, key: fid}}
        return out

    def to_csv(self, path_or_file: str | os.PathLike[str] | IO[str] | None = None) -> str:
        """Write :meth:`to_rows` as CSV to a path or text file (or nowhere) and return the text."""
        buf = io.StringIO()
        cols = ["status", "score", "reasons", "left_id", "right_id"]
        for c in self._columns():
            cols += [f"left_{c}", f"right_{c}"]
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(self.to_rows())
        text = buf.getvalue()
        if path_or_file is None:
            return text
        if isinstance(path_or_file, (str, os.PathLike)):
            with open(path_or_file, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        else:
            path_or_file.write(text)
        return text


def read_csv(path: str) -> list[dict[str, str]]:
    """Rows of a CSV file with a header, as dicts (empty cells kept as ``""``)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _kind(rows: Sequence[Mapping[str, Any]]) -> str:
    header = set(rows[0]) if rows else set()
    driver_only = {"licenseNumber", "license_number", "email", "phone", "username"}
    return "drivers" if header & driver_only and not header & {"vin", "licensePlate"} else "vehicles"


def main(argv: Sequence[str] | None = None) -> int:
    """``samsara-fmc-match left.csv right.csv [--out links.csv]``: match two CSV files of records."""
    from samsara_fmc.matching._api import match_drivers, match_vehicles

    p = argparse.ArgumentParser(
        prog="samsara-fmc-match",
        description="Match two CSV files of vehicles or drivers (Samsara field names as headers).",
    )
    p.add_argument("left", help="CSV of Samsara records")
    p.add_argument("right", help="CSV of FMC records")
    p.add_argument("--out", help="write the links CSV here (default: standard output)")
    p.add_argument("--kind", choices=["vehicles", "drivers", "auto"], default="auto")
    p.add_argument("--score-cutoff", type=float, default=60.0)
    p.add_argument("--review-margin", type=float, default=5.0)
    p.add_argument(
        "--truth",
        help="CSV of true pairs (columns left_id,right_id): print precision, recall and F1 of the links",
    )
    args = p.parse_args(argv)
    try:
        left, right = read_csv(args.left), read_csv(args.right)
    except OSError as e:
        print(f"error: cannot read `{e.filename}`: {e.strerror}", file=sys.stderr)
        return 2
    kind = _kind(left or right) if args.kind == "auto" else args.kind
    fn = match_drivers if kind == "drivers" else match_vehicles
    result = fn(left, right, score_cutoff=args.score_cutoff, review_margin=args.review_margin)
    if args.out:
        result.to_csv(args.out)
    else:
        result.to_csv(sys.stdout)
    print(
        f"{kind}: {len(result.links)} linked, {len(result.review)} review rows, "
        f"{len(result.unmatched_left)} unmatched left, {len(result.unmatched_right)} unmatched right",
        file=sys.stderr,
    )
    if args.truth:
        try:
            truth = {(r["left_id"], r["right_id"]) for r in read_csv(args.truth)}
        except (OSError, KeyError) as e:
            print(f"error: cannot read truth `{args.truth}` (columns left_id,right_id): {e}", file=sys.stderr)
            return 2
        p_, r_, f1 = quality(result, truth)
        print(f"precision {p_:.4f}  recall {r_:.4f}  F1 {f1:.4f}  ({len(truth)} true pairs)", file=sys.stderr)
    return 0


def quality(result: MatchResult, truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    """Precision, recall and F1 of ``result.links`` (by record ``id``) against true id pairs."""
    pred = {(str(as_mapping(ln.left).get("id")), str(as_mapping(ln.right).get("id"))) for ln in result.links}
    tp = len(pred & truth)
    precision = tp / len(pred) if pred else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
