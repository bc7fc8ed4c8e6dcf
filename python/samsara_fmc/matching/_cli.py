"""``samsara-fmc-match`` (also ``python -m samsara_fmc.matching`` and ``samsara-fmc match``): match two
CSV files of vehicles or drivers, and write the links back to Samsara as the FMC's external ID.

Headers are the record field names or their aliases (``_records.VEHICLE_FIELDS`` / ``DRIVER_FIELDS``);
``--map "Asset ID=id,Unit=unitNumber"`` renames other headers first. A column the matching does not
use is named in a warning (with the alias it most resembles), so a misspelt header is not silently
ignored; a file without an id column is refused, since its links could not be written anywhere.

The write-back is a dry run unless ``--apply`` is given: the plan (one ``PATCH`` per link Samsara
does not yet record, carrying only ``externalIds.<key>``) is printed; ``--apply`` sends it with the
token in ``SAMSARA_API_TOKEN`` and checks each answer.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence

from samsara_fmc.exceptions import ConfigurationError, SamsaraFmcError
from samsara_fmc.matching._csv import MatchResult
from samsara_fmc.matching._records import DRIVER_FIELDS, VEHICLE_FIELDS, record_id
from samsara_fmc.matching._writeback import Patch, apply

# Columns every file may have besides the fields: external IDs as JSON or flattened.
_EXTERNAL = ("externalIds", "external_ids")
# Plan lines shown in a dry run before "… and N more".
_SHOWN = 10


class CliError(Exception):
    """A usage or input error: the message is printed after ``error:`` and the exit status is 2."""


def read_csv(path: str) -> list[dict[str, str]]:
    """Rows of a CSV file with a header, as dicts (empty cells kept as ``""``)."""
    return _read(path)[1]


def _read(path: str) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            return list(reader.fieldnames or []), rows
    except OSError as e:
        raise CliError(f"cannot read `{e.filename}`: {e.strerror}") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise CliError(f"`{path}` is not a UTF-8 CSV file with a header: {e}") from None


def _fields(kind: str) -> dict[str, tuple[str, ...]]:
    return VEHICLE_FIELDS if kind == "vehicles" else DRIVER_FIELDS


def known_headers(kind: str) -> list[str]:
    """Every header the matching reads for ``kind`` (field names and aliases, then external IDs)."""
    return [a for aliases in _fields(kind).values() for a in aliases] + list(_EXTERNAL)


def _is_known(header: str, kind: str) -> bool:
    return header in known_headers(kind) or header.startswith("externalIds.")


def _squash(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _suggest(header: str, kind: str) -> str | None:
    """The known header ``header`` most resembles (case, separators and small typos aside)."""
    from samsara_fmc.matching._api import ratio

    best, score = None, 0.0
    for known in known_headers(kind):
        s = ratio(_squash(header), _squash(known))
        if s > score:
            best, score = known, s
    return best if score >= 75 else None


def parse_map(specs: Sequence[str]) -> dict[str, str]:
    """``["Asset ID=id,Unit=unitNumber"]`` → ``{"Asset ID": "id", "Unit": "unitNumber"}``."""
    out: dict[str, str] = {}
    for spec in specs:
        for part in spec.split(","):
            if not part.strip():
                continue
            src, sep, dst = part.partition("=")
            if not sep or not src.strip() or not dst.strip():
                raise CliError(
                    f'--map `{part.strip()}`: write HEADER=FIELD, e.g. --map "Asset ID=id,Unit=unitNumber"'
                )
            out[src.strip()] = dst.strip()
    return out


def _kind(headers: set[str]) -> str:
    driver_only = {"licenseNumber", "license_number", "email", "phone", "username"}
    return "drivers" if headers & driver_only and not headers & {"vin", "VIN", "licensePlate"} else "vehicles"


def _rename(header: list[str], rows: list[dict[str, str]], mapping: Mapping[str, str]) -> list[str]:
    """Applies the column map to a file's header and rows (in place) and returns the new header."""
    if not any(h in mapping for h in header):
        return header
    for row in rows:
        for src, dst in mapping.items():
            if src in row:
                row[dst] = row.pop(src)
    return [mapping.get(h, h) for h in header]


def _check_file(path: str, header: list[str], rows: list[dict[str, str]], kind: str) -> list[dict[str, str]]:
    """Refuses a file without an id column, warns about columns the matching ignores and about
    rows without an id (which are left out), and returns the rows to match."""
    ids = _fields(kind)["id"]
    if not any(h in ids for h in header):
        aliases = ", ".join(f"`{a}`" for a in ids)
        hint = next((f' (perhaps --map "{h}=id")' for h in header if "id" in _squash(h)), "")
        raise CliError(
            f"`{path}` has no id column: {kind} need one of {aliases}, or a column mapped to one with "
            f'--map "HEADER=id"{hint}'
        )
    unknown = [h for h in header if h and not _is_known(h, kind)]
    if unknown:
        named = []
        for h in unknown:
            guess = _suggest(h, kind)
            named.append(f"`{h}`" + (f" (did you mean `{guess}`?)" if guess else ""))
        print(
            f"warning: {path}: {len(unknown)} column(s) not used for matching {kind}: {', '.join(named)}; "
            f'rename them with --map "HEADER=FIELD" if they hold a field',
            file=sys.stderr,
        )
    keep, blank = [], []
    for n, row in enumerate(rows, start=2):
        if any((row.get(a) or "").strip() for a in ids):
            keep.append(row)
        else:
            blank.append(n)
    if blank:
        lines = ", ".join(map(str, blank[:5])) + (" …" if len(blank) > 5 else "")
        print(f"warning: {path}: {len(blank)} row(s) without an id left out (lines {lines})", file=sys.stderr)
    return keep


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="samsara-fmc-match",
        description="Match two CSV files of vehicles or drivers (Samsara field names as headers) and "
        "write the links back to Samsara as the FMC's external ID (a dry run unless --apply).",
    )
    p.add_argument("left", help="CSV of Samsara records (their ids are the ones written to)")
    p.add_argument("right", help="CSV of FMC records")
    p.add_argument("--out", help="write the links CSV here (default: standard output)")
    p.add_argument("--kind", choices=["vehicles", "drivers", "auto"], default="auto")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="HEADER=FIELD,...",
        help='rename columns before matching, e.g. --map "Asset ID=id,Unit=unitNumber" (both files)',
    )
    p.add_argument("--score-cutoff", type=float, default=60.0)
    p.add_argument("--review-margin", type=float, default=5.0)
    p.add_argument(
        "--near-miss",
        type=float,
        default=None,
        help="points under the cutoff that still go to review (default: 10 for drivers, 0 for vehicles)",
    )
    p.add_argument(
        "--truth",
        help="CSV of true pairs (columns left_id,right_id): print precision, recall and F1 of the links",
    )
    p.add_argument(
        "--external-id-key",
        default="fmcId",
        metavar="KEY",
        help="the external ID key the links are written under in Samsara (default fmcId)",
    )
    p.add_argument(
        "--apply",
        action="store_true",
        help="send the write-back (PATCH of externalIds.KEY per link); without it, print the plan only",
    )
    p.add_argument("--plan", metavar="FILE", help="write the whole plan here as JSON lines")
    p.add_argument(
        "--base-url",
        default=os.environ.get("SAMSARA_BASE_URL"),
        help="API URL for --apply (default: $SAMSARA_BASE_URL, else the region's)",
    )
    p.add_argument("--region", choices=["us", "eu", "ca"], default="us")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``samsara-fmc-match left.csv right.csv [--out links.csv] [--map …] [--apply]``."""
    args = _parser().parse_args(argv)
    try:
        return _main(args)
    except CliError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SamsaraFmcError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _main(args: argparse.Namespace) -> int:
    from samsara_fmc.matching._api import match_drivers, match_vehicles

    mapping = parse_map(args.map)
    (lh, left), (rh, right) = _read(args.left), _read(args.right)
    missing = [src for src in mapping if src not in lh and src not in rh]
    if missing:
        raise CliError(f"--map names column(s) in neither file: {', '.join(f'`{m}`' for m in missing)}")
    lh, rh = _rename(lh, left, mapping), _rename(rh, right, mapping)
    kind = _kind(set(lh) | set(rh)) if args.kind == "auto" else args.kind
    bad = [dst for dst in mapping.values() if not _is_known(dst, kind)]
    if bad:
        raise CliError(
            f"--map target(s) {', '.join(f'`{b}`' for b in bad)} are not {kind} fields; "
            f"known: {', '.join(known_headers(kind))}"
        )
    left = _check_file(args.left, lh, left, kind)
    right = _check_file(args.right, rh, right, kind)
    fn = match_drivers if kind == "drivers" else match_vehicles
    result = fn(
        left,
        right,
        score_cutoff=args.score_cutoff,
        review_margin=args.review_margin,
        near_miss=args.near_miss,
    )
    result.to_csv(args.out if args.out else sys.stdout)
    print(
        f"{kind}: {len(result.links)} linked, {len(result.review)} review rows, "
        f"{len(result.unmatched_left)} unmatched left, {len(result.unmatched_right)} unmatched right",
        file=sys.stderr,
    )
    status = _write_back(args, result)
    if args.truth:
        try:
            truth = {(r["left_id"], r["right_id"]) for r in read_csv(args.truth)}
        except KeyError as e:
            raise CliError(f"truth `{args.truth}` needs columns left_id,right_id (missing {e})") from None
        p_, r_, f1 = quality(result, truth)
        print(f"precision {p_:.4f}  recall {r_:.4f}  F1 {f1:.4f}  ({len(truth)} true pairs)", file=sys.stderr)
    return status


def _line(p: Patch) -> str:
    return f"PATCH {p.path} {json.dumps(p.body, separators=(',', ':'))}"


def _write_back(args: argparse.Namespace, result: MatchResult) -> int:
    """Prints (dry run) or sends (``--apply``) the write-back; returns the exit status."""
    key = args.external_id_key
    try:
        patches = result.write_plan(key)
    except ConfigurationError as e:
        if args.apply:
            raise CliError(f"nothing written: {e}") from None
        print(f"write-back plan: none, {e}", file=sys.stderr)
        return 0
    if args.plan:
        with open(args.plan, "w", encoding="utf-8") as f:
            for p in patches:
                f.write(json.dumps({"method": "PATCH", "path": p.path, "body": p.body}) + "\n")
    done = len(result.links) - len(patches)
    head = (
        f"write-back: {len(patches)} PATCH request(s) recording links as externalIds.{key}"
        f" ({done} already recorded)"
    )
    if not args.apply:
        print(f"{head}; dry run, --apply sends them:", file=sys.stderr)
        for p in patches[:_SHOWN]:
            print(f"  {_line(p)}", file=sys.stderr)
        if len(patches) > _SHOWN:
            more = f"  … and {len(patches) - _SHOWN} more"
            print(more + ("" if args.plan else " (--plan FILE lists them all)"), file=sys.stderr)
        return 0
    token = os.environ.get("SAMSARA_API_TOKEN")
    if not token:
        raise CliError(
            "--apply needs a Samsara API token with Write Vehicles / Write Drivers in SAMSARA_API_TOKEN"
        )
    from samsara_fmc.client import Client

    print(f"{head}; sending", file=sys.stderr)
    client = Client(token=token, base_url=args.base_url, region=args.region)
    report = apply(client, patches)
    print(f"write-back: {len(report.written)} written, {len(report.failed)} failed", file=sys.stderr)
    for p, why in report.failed[:20]:
        print(f"  failed: {_line(p)}: {why}", file=sys.stderr)
    return 1 if report.failed else 0


def quality(result: MatchResult, truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    """Precision, recall and F1 of ``result.links`` (by record ``id``) against true id pairs."""
    pred = {(record_id(ln.left, result.kind), record_id(ln.right, result.kind)) for ln in result.links}
    tp = len(pred & truth)
    precision = tp / len(pred) if pred else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
