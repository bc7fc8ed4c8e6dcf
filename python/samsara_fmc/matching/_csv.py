"""Match results as Python objects and as a CSV a person can read."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

from samsara_fmc.matching._records import DRIVER_FIELDS, VEHICLE_FIELDS, as_mapping
from samsara_fmc.matching._writeback import Patch, plan


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
        review: Pairs for a person: each contested best pair, then its near-tied rivals; and near
            misses, pairs a few points under the cutoff (their score says so).
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
        the right record's ``id``, returns ``{samsara_id: {"externalIds": {key: fmc_id}}}``, ready for
        ``PATCH /fleet/vehicles/{id}`` or ``/fleet/drivers/{id}``. Only the key the caller owns is
        sent: Samsara keeps the object's other external IDs and refuses a body naming its automatic
        ``samsara.*`` keys. :meth:`write_plan` has the paths too; :func:`~samsara_fmc.matching.apply_links`
        sends them.

        Raises:
            ConfigurationError: ``key`` is not 1-32 letters and digits, or an FMC id cannot be an
                external-ID value (spaces, ``/``, ``,``, non-ASCII, over 128 characters).
        """
        return {p.samsara_id: p.body for p in self.write_plan(key)}

    def write_plan(self, key: str = "fmcId") -> list[Patch]:
        """The write-back as :class:`~samsara_fmc.matching.Patch` requests (path and body), one per
        link not yet recorded in Samsara; see :meth:`external_id_patches`."""
        return plan(self.kind, self.links, key)

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
