"""Resolve a DVIR defect in Samsara, as a mechanic closing the FMC's work order would.

    python examples/resolve_defect.py [DEFECT_ID] [--notes "Replaced the lamp"] [--mechanic-user-id ID]

Without an ID, resolves the oldest unresolved defect updated since ``--since`` (default: a week
ago). The PATCH sets fields to values, so it is safe to repeat (``idempotent=True``): a retry after
a lost answer changes nothing more. Prints the defect as Samsara then has it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

import samsara_fmc as sf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("defect_id", nargs="?")
    parser.add_argument("--notes", default="Repaired (work order closed in the FMC system)")
    parser.add_argument("--mechanic-user-id", help="the Samsara user who resolved it")
    parser.add_argument("--since", type=dt.datetime.fromisoformat, help="RFC 3339; default: a week ago")
    args = parser.parse_args(argv)
    client = sf.Client.from_env()
    defect_id: str | None = args.defect_id
    if defect_id is None:
        since: dt.datetime = args.since or dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
        open_ones = list(client.defects(start_time=since, is_resolved=False))
        if not open_ones:
            print(f"no unresolved defect updated since {since.isoformat()}", file=sys.stderr)
            return 1
        defect_id = min(open_ones, key=lambda d: d.get("createdAtTime", ""))["id"]
    body: dict[str, Any] = {"isResolved": True, "mechanicNotes": args.notes}
    if args.mechanic_user_id:
        body["resolvedBy"] = {"id": args.mechanic_user_id, "type": "mechanic"}
    current = client.patch("/fleet/defects/" + sf.path_id(defect_id), json=body, idempotent=True)["data"]
    print(json.dumps({k: current.get(k) for k in ("id", "isResolved", "resolvedAtTime", "mechanicNotes")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
