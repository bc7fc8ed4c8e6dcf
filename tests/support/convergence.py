"""The convergence harness: a Function run against the sandbox under seeded trouble until caught up,
then what the FMC side holds compared with the sandbox's ground truth.

A schedule is a seed. From it come: fault rules on the Samsara side (429 with fractional
``Retry-After``, 5xx, connection resets, truncated bodies, empty pages with a next page, repeated
records, slow answers) and, when the sink is the FMC endpoint, on the FMC side (429, 5xx,
``fail_after_commit``); and a sequence of invocations, each one of: a plain run, a run killed with
SIGKILL at a random moment and then retried as the platform would (same correlation ID), a run with
a budget of a second or two (a deadline stop), and two overlapping runs. Faults are then cleared and
the Function is run until it reports itself caught up. The harness then counts, against the truth:
records lost, records delivered more than once, and records that should not be there.

Runs are subprocesses (``python -m samsara_fmc.cli run``), so a kill is a real ``kill -9``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.demo import history_ids, latest_ids
from tests.support.sandbox import SandboxProcess, start_sandbox

ROOT = Path(__file__).resolve().parents[2]
TYPES = ["gps", "engineStates", "obdOdometerMeters", "fuelPercents"]


@dataclass
class Outcome:
    """What one schedule ended with."""

    seed: int
    truth: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0
    invocations: int = 0
    kills: int = 0
    deadline_stops: int = 0
    busy: int = 0
    unhandled: list[str] = field(default_factory=list)
    caught_up: bool = False

    def row(self) -> str:
        return (
            f"{self.seed:>5} {self.truth:>7} {self.lost:>5} {self.duplicated:>5} {self.unexpected:>5} "
            f"{self.invocations:>4} {self.kills:>3} {self.deadline_stops:>3} {self.busy:>3} "
            f"{len(self.unhandled):>3}"
        )


FMC_TOKEN = "fmc-harness-token"


class Harness:
    """One schedule of vehicle-stats against a fresh sandbox, delivering to the sandbox's reference FMC
    endpoint (``sink="fmc"``) or to storage, a local folder (``sink="storage"``)."""

    def __init__(self, seed: int, workdir: Path, *, sink: str = "fmc") -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.workdir = workdir
        self.sink = sink
        self.storage = workdir / "storage"
        self.sandbox: SandboxProcess = start_sandbox(
            (
                "--seed",
                str(seed % 97 + 1),
                "--vehicles",
                "6",
                "--drivers",
                "6",
                "--days",
                "1",
                "--start",
                "2026-11-02T15:00:00Z",
                "--rate-limits",
                "off",
                "--fmc-token",
                FMC_TOKEN,
            )
        )
        self.outcome = Outcome(seed=seed)
        self._corr = 0

    def close(self) -> None:
        self.sandbox.stop()

    # ---- invocations -------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAMSARA_", "FMC_", "SFTP_"))}
        env.update(SAMSARA_API_TOKEN=self.sandbox.token, SAMSARA_BASE_URL=self.sandbox.url)
        if self.sink == "fmc":
            env.update(FMC_URL=self.sandbox.url, FMC_TOKEN=FMC_TOKEN)
        return env

    def _cmd(self, correlation: str, budget: float) -> list[str]:
        return [
            sys.executable,
            "-m",
            "samsara_fmc.cli",
            "run",
            str(ROOT / "functions" / "vehicle-stats"),
            "--param",
            f"types={','.join(TYPES)}",
            "--param",
            "units=imperial",
            "--param",
            "readings=none",
            "--trigger",
            "schedule",
            "--correlation-id",
            correlation,
            "--storage",
            str(self.storage),
            "--budget",
            str(budget),
        ]

    def _next_corr(self) -> str:
        self._corr += 1
        return f"{self.seed}-{self._corr}"

    def invoke(self, *, budget: float = 60.0, correlation: str | None = None) -> dict[str, Any]:
        """A run to its end; returns its summary (or records an unhandled error)."""
        self.outcome.invocations += 1
        done = subprocess.run(
            self._cmd(correlation or self._next_corr(), budget),
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        lines = done.stdout.strip().splitlines()
        summary = json.loads(lines[-1]) if lines else {}
        if done.returncode not in (0, 2) or not summary:
            self.outcome.unhandled.append(f"exit {done.returncode}: {done.stderr[-400:]}")
        if summary.get("stoppedByDeadline"):
            self.outcome.deadline_stops += 1
        if summary.get("busy"):
            self.outcome.busy += 1
        return dict(summary)

    def killed(self) -> None:
        """A run killed with SIGKILL at a random moment, then retried with the same correlation ID."""
        corr = self._next_corr()
        self.outcome.invocations += 1
        proc = subprocess.Popen(
            self._cmd(corr, 60.0), env=self._env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(self.rng.uniform(0.05, 1.2))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            self.outcome.kills += 1
        proc.wait(timeout=30)
        self.invoke(correlation=corr)

    def overlapping(self) -> None:
        """Two runs at once (a manual run during a scheduled one)."""
        procs = [
            subprocess.Popen(
                self._cmd(self._next_corr(), 60.0),
                env=self._env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.outcome.invocations += 1
            lines = out.strip().splitlines()
            summary = json.loads(lines[-1]) if lines else {}
            if p.returncode not in (0, 2) or not summary:
                self.outcome.unhandled.append(f"exit {p.returncode}: {err[-400:]}")
            if summary.get("busy"):
                self.outcome.busy += 1

    # ---- faults ------------------------------------------------------------------------------
    def samsara_faults(self) -> list[dict[str, Any]]:
        r = self.rng
        feed = "/fleet/vehicles/stats/feed"
        choices: list[Callable[[], dict[str, Any]]] = [
            lambda: {
                "path": feed,
                "kind": "status",
                "status": 429,
                "retryAfter": f"{r.uniform(0.01, 0.2):.5f}",
                "times": r.randint(1, 4),
            },
            lambda: {
                "path": feed,
                "kind": "status",
                "status": r.choice([500, 502, 503]),
                "times": r.randint(1, 3),
            },
            lambda: {"path": feed, "kind": "reset", "times": r.randint(1, 2)},
            lambda: {"path": feed, "kind": "truncate", "times": r.randint(1, 2)},
            lambda: {"path": feed, "kind": "empty_page", "times": r.randint(1, 3)},
            lambda: {"path": feed, "kind": "repeat_records", "times": r.randint(1, 4)},
            lambda: {"path": feed, "kind": "slow", "delayMs": r.randint(100, 600), "times": r.randint(1, 2)},
            lambda: {"path": "/me", "kind": "status", "status": 503, "times": 1},
        ]
        return [r.choice(choices)() for _ in range(r.randint(2, 6))]

    def fmc_faults(self) -> list[dict[str, Any]]:
        r = self.rng
        records = "/fmc/v1/streams/{stream}/records"
        choices: list[Callable[[], dict[str, Any]]] = [
            lambda: {
                "path": records,
                "kind": "status",
                "status": 429,
                "retryAfter": f"{r.uniform(0.01, 0.2):.5f}",
                "times": r.randint(1, 3),
            },
            lambda: {
                "path": records,
                "kind": "status",
                "status": r.choice([500, 503]),
                "times": r.randint(1, 3),
            },
            lambda: {"path": records, "kind": "fail_after_commit", "status": 503, "times": r.randint(1, 3)},
            lambda: {"path": records, "kind": "reset", "times": r.randint(1, 2)},
        ]
        return [r.choice(choices)() for _ in range(r.randint(1, 4))]

    # ---- truth ---------------------------------------------------------------------------------
    def snapshot_ids(self) -> set[str]:
        """The latest values now: what the feed's first call delivers."""
        return latest_ids(self.sandbox.url, self.sandbox.token, TYPES)

    def history_ids(self, start: str, end: str) -> set[str]:
        """Every point in (start, end] from the history endpoint, fault-free."""
        return history_ids(self.sandbox.url, self.sandbox.token, TYPES, start, end)

    def delivered(self) -> tuple[set[str], int]:
        """The record ids the FMC side holds, and how often a record was written again as something
        other than a replay of the same batch (a file sink's second copy; the endpoint's updates and
        identical re-deliveries)."""
        if self.sink == "fmc":
            held = {str(r["id"]) for r in self.sandbox.fmc_records("vehicle_stats")}
            summary = self.sandbox.fmc_summary("vehicle_stats")
            return held, int(summary["updates"]) + int(summary["duplicates"])
        root = self.storage / "deliveries" / "vehicle_stats"
        ids = [
            json.loads(line)["id"]
            for f in sorted(root.rglob("*.ndjson"))
            for line in f.read_text().splitlines()
        ]
        return set(ids), len(ids) - len(set(ids))

    # ---- the schedule --------------------------------------------------------------------------
    def run(self, steps: int = 6) -> Outcome:
        o = self.outcome
        first = self.invoke()
        if not first.get("ok"):
            o.unhandled.append(f"baseline run failed: {first}")
            return o
        truth = self.snapshot_ids()
        start = self.sandbox.advance(0)
        self.sandbox.faults(*self.samsara_faults(), *(self.fmc_faults() if self.sink == "fmc" else []))
        for _ in range(steps):
            self.sandbox.advance(self.rng.randint(60, 600))
            action = self.rng.choice(["plain", "kill", "kill", "deadline", "overlap"])
            if action == "plain":
                self.invoke()
            elif action == "kill":
                self.killed()
            elif action == "deadline":
                self.invoke(budget=self.rng.uniform(0.1, 0.6))
            else:
                self.overlapping()
        self.sandbox.clear_faults()
        for _ in range(6):
            summary = self.invoke()
            if summary.get("ok") and summary.get("caughtUp") and not summary.get("busy"):
                o.caught_up = True
                break
            time.sleep(0.2)
        end = self.sandbox.advance(0)
        truth |= self.history_ids(start, end)
        distinct, again = self.delivered()
        o.truth, o.delivered = len(truth), len(distinct)
        o.lost = len(truth - distinct)
        o.unexpected = len(distinct - truth)
        o.duplicated = again
        return o


HEADER = "seed   truth  lost   dup extra runs kil ddl bsy err"


def run_schedules(
    seeds: range, workdir: Path, *, jobs: int = 1, on_outcome: Callable[[Outcome], None] | None = None
) -> list[Outcome]:
    """Runs one schedule per seed (``jobs`` at a time: a schedule mostly waits on its runs), the FMC
    endpoint as the sink for three seeds in four and storage for the fourth."""
    from concurrent.futures import ThreadPoolExecutor

    def one(seed: int) -> Outcome:
        h = Harness(seed, workdir / f"s{seed}", sink="storage" if seed % 4 == 0 else "fmc")
        try:
            outcome = h.run()
        finally:
            h.close()
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return sorted(pool.map(one, seeds), key=lambda o: o.seed)


def totals(outcomes: list[Outcome]) -> Outcome:
    """The sum of a run's outcomes (seed 0)."""
    total = Outcome(seed=0)
    for o in outcomes:
        total.truth += o.truth
        total.lost += o.lost
        total.duplicated += o.duplicated
        total.unexpected += o.unexpected
        total.invocations += o.invocations
        total.kills += o.kills
        total.deadline_stops += o.deadline_stops
        total.busy += o.busy
        total.unhandled += o.unhandled
    return total


def main() -> int:
    """``python -m tests.support.convergence --schedules 500 --jobs 4``: the long run, a row per schedule."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schedules", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = run_schedules(
            range(1, args.schedules + 1),
            Path(tmp),
            jobs=args.jobs,
            on_outcome=lambda o: print(o.row(), flush=True),
        )
    total = totals(outcomes)
    bad = [
        o.seed for o in outcomes if o.lost or o.duplicated or o.unexpected or o.unhandled or not o.caught_up
    ]
    print(f"total {total.row()[5:]}\nschedules {len(outcomes)}, not converged: {bad}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
