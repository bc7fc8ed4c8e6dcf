"""``python -m tests.support.simclock run …``: ``samsara-fmc run`` with the Functions' clocks on the
sandbox's simulated clock (``HARNESS_SANDBOX_URL``), as the in-process tests monkeypatch them.

The convergence harness runs each Function as a subprocess (so a kill is a real ``kill -9``); the
sandbox's history sits at a fixed simulated time, and the integrations that count back from "now"
(``lookbackHours``, a media URL's expiry, a job's deadline) must count from that time, not the wall's.
The simulated time is read once at start and then moves with the process's monotonic clock.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
import urllib.request

from samsara_fmc import cli
from samsara_fmc.engine._util import parse_time
from samsara_fmc.integrations import (
    assignment_sync,
    camera_media,
    dvir_defects,
    forms_issues,
    idling,
    ifta,
    messages,
    safety_events,
    speeding_intervals,
    trips,
)


def sandbox_clock(url: str) -> dt.datetime:
    with urllib.request.urlopen(f"{url}/__sandbox/clock", timeout=10) as resp:
        return parse_time(str(json.loads(resp.read())["now"]))


def main() -> int:
    start, t0 = sandbox_clock(os.environ["HARNESS_SANDBOX_URL"]), time.monotonic()

    def now() -> dt.datetime:
        return start + dt.timedelta(seconds=time.monotonic() - t0)

    camera_media.CLOCK = now
    safety_events.CLOCK = now
    speeding_intervals.CLOCK = now
    dvir_defects.now = now
    assignment_sync.now = now
    trips.CLOCK = idling.CLOCK = ifta.CLOCK = now
    forms_issues.now = messages.now = now
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
