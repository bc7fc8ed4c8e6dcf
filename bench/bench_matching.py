"""Vehicle matching at fleet scale: samsara_fmc against the obvious alternatives, on one core.

    python bench/bench_matching.py --n 100000

Each method runs in its own subprocess (so peak RSS is its own) on the same seeded fleet from
``fleetgen.vehicles``: ``n`` Samsara vehicles against their noisy FMC copy (about ``n`` records too).

Methods:
  samsara_fmc   ``samsara_fmc.matching.match_vehicles`` (VIN, plate, unit number, make/year, …)
  exact_vin     a dict join on the normalised VIN (upper case, separators dropped)
  cdist_vin     ``rapidfuzz.process.cdist`` of normalised VINs with ``fuzz.ratio`` and a cutoff,
                in row chunks (the full matrix would not fit in memory), best column per row,
                then one-to-one greedily by score. At large ``n`` only ``--cdist-rows`` rows are
                scored and the time is extrapolated linearly (marked ``*``); precision and recall
                are then measured on those rows.

Peak RSS includes the generated fleet (shown as ``base``), so compare the ``Δ`` column.
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

sys.path.insert(0, str(Path(__file__).parent))
import fleetgen

METHODS = ["samsara_fmc", "exact_vin", "cdist_vin"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _norm(vin: object) -> str:
    if not vin:
        return ""
    return "".join(ch for ch in str(vin).upper() if ch.isalnum())


def run_samsara_fmc(fleet: fleetgen.Fleet, _args: argparse.Namespace) -> tuple[list[tuple[str, str]], float]:
    from samsara_fmc.matching import match_vehicles

    result = match_vehicles(fleet.samsara, fleet.fmc)
    return [(ln.left["id"], ln.right["id"]) for ln in result.links], 1.0


def run_exact_vin(fleet: fleetgen.Fleet, _args: argparse.Namespace) -> tuple[list[tuple[str, str]], float]:
    by_vin: dict[str, str] = {}
    for r in fleet.fmc:
        v = _norm(r["vin"])
        if v:
            by_vin.setdefault(v, r["id"])
    used: set[str] = set()
    links = []
    for s in fleet.samsara:
        fid = by_vin.get(_norm(s["vin"]))
        if fid and fid not in used:
            used.add(fid)
            links.append((s["id"], fid))
    return links, 1.0


def run_cdist_vin(fleet: fleetgen.Fleet, args: argparse.Namespace) -> tuple[list[tuple[str, str]], float]:
    import numpy as np
    from rapidfuzz import fuzz, process

    sample = fleet.samsara if args.cdist_rows <= 0 else fleet.samsara[: args.cdist_rows]
    left = [(s["id"], _norm(s["vin"])) for s in fleet.samsara if _norm(s["vin"])]
    rows = [(s["id"], _norm(s["vin"])) for s in sample if _norm(s["vin"])]
    right = [(r["id"], _norm(r["vin"])) for r in fleet.fmc if _norm(r["vin"])]
    right_vins = [v for _, v in right]
    best: list[tuple[float, str, str]] = []
    chunk = 500
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        m = process.cdist(
            [v for _, v in part],
            right_vins,
            scorer=fuzz.ratio,
            score_cutoff=args.cutoff,
            dtype=np.uint8,
            workers=1,
        )
        cols = m.argmax(axis=1)
        for i, j in enumerate(cols):
            score = float(m[i, j])
            if score >= args.cutoff and score > 0:
                best.append((score, part[i][0], right[j][0]))
    best.sort(key=lambda t: -t[0])
    used: set[str] = set()
    links = []
    for _score, sid, fid in best:
        if fid not in used:
            used.add(fid)
            links.append((sid, fid))
    return links, len(left) / max(len(rows), 1)


def child(args: argparse.Namespace) -> None:
    """Generate the fleet, run one method, print a JSON line."""
    fleet = fleetgen.vehicles(args.n, seed=args.seed)
    base = _rss_mb()
    fn = {"samsara_fmc": run_samsara_fmc, "exact_vin": run_exact_vin, "cdist_vin": run_cdist_vin}[args.run]
    t0 = time.perf_counter()
    links, scale = fn(fleet, args)
    elapsed = time.perf_counter() - t0
    truth = fleet.truth
    if scale > 1.0:  # scored the first rows only: judge on those rows
        sampled = {s["id"] for s in fleet.samsara[: args.cdist_rows]}
        truth = {(a, b) for a, b in truth if a in sampled}
    p, r, f1 = fleetgen.score(links, truth)
    print(
        json.dumps(
            {
                "method": args.run,
                "time_s": elapsed * scale,
                "extrapolated": scale > 1.0,
                "peak_mb": _rss_mb(),
                "base_mb": base,
                "precision": p,
                "recall": r,
                "f1": f1,
                "links": len(links),
                "truth": len(truth),
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument(
        "--cutoff", type=float, default=90.0, help="cdist fuzz.ratio cutoff (default 90: one edit)"
    )
    ap.add_argument(
        "--cdist-rows",
        type=int,
        default=0,
        help="score only this many rows with cdist and extrapolate (default: all up to n=20000)",
    )
    ap.add_argument("--run", choices=METHODS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.run:
        child(args)
        return
    if args.cdist_rows == 0 and args.n > 20_000:
        args.cdist_rows = 2_000
    results: list[dict[str, Any]] = []
    for m in args.methods.split(","):
        cmd = [
            sys.executable,
            __file__,
            "--run",
            m,
            "--n",
            str(args.n),
            "--seed",
            str(args.seed),
            "--cutoff",
            str(args.cutoff),
            "--cdist-rows",
            str(args.cdist_rows),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1"}
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    print(
        f"n = {args.n:,} x ~{args.n:,} vehicles, seed {args.seed}, one core; "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(
        f"{'method':<13} {'time':>10} {'peak RSS':>10} {'Δ RSS':>9} {'precision':>10} {'recall':>8} {'F1':>8}"
    )
    for r in results:
        t = f"{r['time_s']:.2f} s{'*' if r['extrapolated'] else ' '}"
        print(
            f"{r['method']:<13} {t:>10} {r['peak_mb']:>7.0f} MB {r['peak_mb'] - r['base_mb']:>6.0f} MB "
            f"{r['precision']:>10.4f} {r['recall']:>8.4f} {r['f1']:>8.4f}"
        )
    if any(r["extrapolated"] for r in results):
        print(
            f"* cdist scored {args.cdist_rows:,} rows; time extrapolated linearly, "
            "quality measured on those rows."
        )


if __name__ == "__main__":
    main()
