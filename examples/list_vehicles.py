"""List the fleet's vehicles: ID, name, VIN (checked), licence plate and the FMC's external IDs.

    export SAMSARA_API_TOKEN=...            # and SAMSARA_BASE_URL=http://127.0.0.1:PORT for the sandbox
    python examples/list_vehicles.py [--tag-id ID]

One line per vehicle, tab-separated; a VIN that fails validation shows the likeliest repair.
"""

from __future__ import annotations

import argparse
import sys

import samsara_fmc as sf


def describe_vin(vin: str) -> str:
    """``VIN`` when valid, else ``VIN (invalid: reason; try CANDIDATE)``."""
    if not vin:
        return "(no VIN)"
    try:
        return sf.validate_vin(vin)
    except sf.InvalidVinError as e:
        repairs = sf.repair_vin(vin, limit=1)
        hint = f"; try {repairs[0].candidate}" if repairs else ""
        return f"{vin} (invalid: {e.reason}{hint})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tag-id", action="append", default=[], help="only vehicles with this tag")
    args = parser.parse_args(argv)
    client = sf.Client.from_env()
    count = 0
    for vehicle in client.vehicles(params={"tagIds": args.tag_id or None}):
        ids = sf.writable(vehicle.get("externalIds"))  # the FMC's own keys, not samsara.*
        print(
            vehicle["id"],
            vehicle.get("name", ""),
            describe_vin(vehicle.get("vin", "")),
            vehicle.get("licensePlate", ""),
            ",".join(f"{k}:{v}" for k, v in sorted(ids.items())),
            sep="\t",
        )
        count += 1
    print(f"{count} vehicles", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
