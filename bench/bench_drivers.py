"""Driver matching on an HR/payroll roster: samsara_fmc against the obvious alternatives, on one core.

    python bench/bench_drivers.py --n 20000

Each method runs in its own subprocess (so peak RSS is its own) on the same seeded roster from
``tests/support/hr_roster.py``: an HR export of ``n`` people (drivers and office staff, legal names
with accents, licences with state prefixes or dropped zeros, employee numbers as floats, phones
with extensions, stale licences, father-and-son and namesake traps) beside Samsara's drivers.

Methods:
  samsara_fmc   ``samsara_fmc.matching.match_drivers`` (defaults: cutoff 60, margin 5, near miss 10)
  exact_ids     dict joins on the licence number, the e-mail and the employee number (upper case,
                separators dropped), in that order, one to one
  ids_cdist     ``exact_ids``, then ``rapidfuzz.process.cdist`` of the remaining names
                (``default_process``, ``fuzz.token_sort_ratio`` ≥ ``--cutoff``), in row chunks, best
                column per row, one to one greedily by score

Precision counts a link right when it joins two records of one person; recall is over the pairs
the truth expects linked (``expect == "link"``); ``review`` pairs are reported apart. Peak RSS
includes the generated roster (``base``), so compare the ``Δ`` column.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.hr_roster import Roster, evaluate, roster  # noqa: E402

METHODS = ["samsara_fmc", "exact_ids", "ids_cdist"]
Pairs = list[tuple[str, str]]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _key(v: object) -> str:
    return "".join(c for c in str(v or "").upper() if c.isalnum())


def run_samsara_fmc(r: Roster, _args: argparse.Namespace) -> tuple[Pairs, Pairs]:
    from samsara_fmc.matching import match_drivers

    result = match_drivers(r.samsara, r.hr)
    links = [(ln.left["id"], ln.right["id"]) for ln in result.links]
    review = [(ln.left["id"], ln.right["id"]) for ln in result.review]
    return links, review


def _exact(r: Roster) -> tuple[list[tuple[str, str]], set[str], set[str]]:
    """Dict joins on licence, e-mail, employee number; returns links and the ids used."""
    fields = [
        ("licenseNumber", "license_number", lambda s: s.get("licenseNumber")),
        ("email", "email", lambda s: s.get("email")),
        ("payrollId", "employeeId", lambda s: (s.get("externalIds") or {}).get("payrollId")),
    ]
    used_s: set[str] = set()
    used_h: set[str] = set()
    links: list[tuple[str, str]] = []
    for _name, hr_field, get in fields:
        index: dict[str, str] = {}
        for h in r.hr:
            k = _key(h.get(hr_field))
            if k and h["id"] not in used_h:
                index.setdefault(k, h["id"])
        for s in r.samsara:
            if s["id"] in used_s:
                continue
            hid = index.get(_key(get(s)))
            if hid and hid not in used_h:
                used_s.add(s["id"])
                used_h.add(hid)
                links.append((s["id"], hid))
    return links, used_s, used_h


def run_exact_ids(r: Roster, _args: argparse.Namespace) -> tuple[Pairs, Pairs]:
    return _exact(r)[0], []


def run_ids_cdist(r: Roster, args: argparse.Namespace) -> tuple[Pairs, Pairs]:
    import numpy as np
    from rapidfuzz import fuzz, process
    from rapidfuzz.utils import default_process

    links, used_s, used_h = _exact(r)
    rows = [(s["id"], default_process(str(s["name"]))) for s in r.samsara if s["id"] not in used_s]
    cols = [(h["id"], default_process(str(h["name"]))) for h in r.hr if h["id"] not in used_h]
    names = [n for _, n in cols]
    best: list[tuple[float, str, str]] = []
    for start in range(0, len(rows), 500):
        part = rows[start : start + 500]
        m = process.cdist(
            [n for _, n in part],
            names,
            scorer=fuzz.token_sort_ratio,
            score_cutoff=args.cutoff,
            dtype=np.uint8,
            workers=1,
        )
        for i, j in enumerate(m.argmax(axis=1)):
            score = float(m[i, j])
            if score >= args.cutoff and score > 0:
                best.append((score, part[i][0], cols[j][0]))
    best.sort(key=lambda t: -t[0])
    for _score, sid, hid in best:
        if hid not in used_h:
            used_h.add(hid)
            links.append((sid, hid))
    return links, []


def child(args: argparse.Namespace) -> None:
    """Generate the roster, run one method, print a JSON line."""
    r = roster(args.n, seed=args.seed)
    base = _rss_mb()
    fn = {"samsara_fmc": run_samsara_fmc, "exact_ids": run_exact_ids, "ids_cdist": run_ids_cdist}[args.run]
    t0 = time.perf_counter()
    links, review = fn(r, args)
    elapsed = time.perf_counter() - t0
    q = evaluate(r, links, review)
    print(
        json.dumps(
            {
                "method": args.run,
                "time_s": elapsed,
                "peak_mb": _rss_mb(),
                "base_mb": base,
                "precision": q.precision,
                "recall": q.recall,
                "f1": q.f1,
                "links": q.links,
                "false_links": len(q.false_links),
                "missed": len(q.missed),
                "missed_in_review": q.missed_in_review,
                "review_rows": len(review),
                "review_expected": q.review_expected,
                "review_found": q.review_found,
                "trap_links": q.trap_links,
                "by_noise": q.by_noise,
                "people": len(r.hr),
                "samsara": len(r.samsara),
                "true_pairs": len(r.pairs("link")),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000, help="people in the HR export (default 20,000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument(
        "--cutoff", type=float, default=90.0, help="ids_cdist token_sort_ratio cutoff (default 90)"
    )
    ap.add_argument("--noise", action="store_true", help="also print recall per noise class")
    ap.add_argument("--run", choices=METHODS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        child(args)
        return
    results: list[dict[str, Any]] = []
    for m in args.methods.split(","):
        cmd = [sys.executable, __file__, "--run", m, "--n", str(args.n), "--seed", str(args.seed)]
        cmd += ["--cutoff", str(args.cutoff)]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1"}
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    first = results[0]
    print(
        f"HR export of {first['people']:,} people beside {first['samsara']:,} Samsara drivers "
        f"({first['true_pairs']:,} pairs expected linked), seed {args.seed}, one core; "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(
        f"{'method':<12} {'time':>8} {'peak RSS':>9} {'Δ RSS':>7} {'precision':>10} {'recall':>8} {'F1':>8}"
        f" {'false':>6} {'missed':>7} {'of them in review':>18}"
    )
    for r in results:
        print(
            f"{r['method']:<12} {r['time_s']:>6.2f} s {r['peak_mb']:>6.0f} MB"
            f" {r['peak_mb'] - r['base_mb']:>4.0f} MB"
            f" {r['precision']:>10.4f} {r['recall']:>8.4f} {r['f1']:>8.4f} {r['false_links']:>6}"
            f" {r['missed']:>7} {r['missed_in_review'] if r['review_rows'] else '-':>18}"
        )
    for r in results:
        traps = ", ".join(f"{k} {v}" for k, v in sorted(r["trap_links"].items())) or "none"
        line = f"{r['method']}: false links by kind: {traps}"
        if r["review_rows"]:
            line += (
                f"; {r['review_rows']} review rows; of the {r['review_expected']} pairs a person should"
                f" decide, {r['review_found']} linked or in review"
            )
        print(line)
    if args.noise:
        kinds = sorted({k for r in results for k in r["by_noise"]})
        print(f"{'recall by noise (pairs)':<38}" + "".join(f" {r['method']:>12}" for r in results))
        for k in kinds:
            total = results[0]["by_noise"].get(k, [0, 0])[0]
            cells = []
            for r in results:
                t, ok = r["by_noise"].get(k, [0, 0])
                cells.append(f" {ok / t if t else 0:>12.3f}")
            print(f"{k + f' ({total:,})':<38}" + "".join(cells))


if __name__ == "__main__":
    main()
