"""Create a driver exactly once, keyed by the FMC's payroll ID.

    python examples/create_driver.py --payroll-id E20017 --name "Aisha Lee" --username aisha.lee

Run it twice, or retry it after a timeout, and there is still one driver: the driver is looked up as
``payrollId:E20017`` first, and after an answer that may hide a create that happened (a 5xx, a
timeout) it is looked up again before the request is sent again (``Client.create_once``). Samsara's
API has no idempotency keys; the external ID is what makes the create safe.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys

import samsara_fmc as sf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payroll-id", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--username", required=True, help="the driver app login: no spaces, no `@`")
    parser.add_argument("--phone")
    args = parser.parse_args(argv)
    client = sf.Client.from_env()
    body = {
        "name": args.name,
        "username": args.username,
        # The driver app password: from the environment, else a random one to hand over separately.
        "password": os.environ.get("DRIVER_PASSWORD") or secrets.token_urlsafe(12),
        "externalIds": sf.external_ids({"payrollId": args.payroll_id}),  # checked before anything is sent
    }
    if args.phone:
        body["phone"] = args.phone
    driver, created = client.create_once("/fleet/drivers", body, key="payrollId")
    print(json.dumps({"created": created, "id": driver["id"], "externalIds": driver.get("externalIds", {})}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
