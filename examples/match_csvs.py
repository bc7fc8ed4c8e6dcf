"""Match the FMC's vehicle list with Samsara's: two CSV files in, links (and a review list) out.

    python examples/match_csvs.py fmc_vehicles.csv --out links.csv [--samsara samsara_vehicles.csv]

Without ``--samsara``, Samsara's side is read from the API first (and saved as
``samsara_vehicles.csv``). The FMC's CSV uses Samsara's field names as headers (``id``, ``vin``,
``licensePlate``, ``licenseState``, ``name``, ``make``, ``model``, ``year``); the matching command
(``samsara-fmc match``) does the rest: exact evidence first (external IDs, VIN, plate), then fuzzy
(VIN typos the check digit explains, unit numbers in names, make and model).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import samsara_fmc as sf
from samsara_fmc.matching import main as match_main

COLUMNS = ["id", "name", "vin", "licensePlate", "make", "model", "year"]


def export_samsara(path: Path) -> int:
    """Samsara's vehicles as a CSV with the matching command's headers; the number written."""
    client = sf.Client.from_env()
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        count = 0
        for vehicle in client.vehicles():
            writer.writerow({c: vehicle.get(c, "") for c in COLUMNS})
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("fmc_csv", type=Path)
    parser.add_argument("--samsara", type=Path, help="Samsara's vehicles as CSV (default: read from the API)")
    parser.add_argument("--out", type=Path, default=Path("links.csv"))
    args = parser.parse_args(argv)
    samsara_csv: Path = args.samsara or Path("samsara_vehicles.csv")
    if args.samsara is None:
        print(f"{export_samsara(samsara_csv)} Samsara vehicles → {samsara_csv}", file=sys.stderr)
    return match_main([str(samsara_csv), str(args.fmc_csv), "--kind", "vehicles", "--out", str(args.out)])


if __name__ == "__main__":
    sys.exit(main())
