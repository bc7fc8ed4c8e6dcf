"""What ``vehicle-maintenance`` keeps in Function Storage and what each round costs, on a busy fleet.

    python bench/bench_maintenance.py [--vehicles 1000] [--hours 6] [--step-minutes 15] [--sink fmc]

The sandbox (``--episodes on --gaps on``: faults, flaps, low-voltage, oil-pressure and tire episodes,
odometer anomalies and late uploads) starts at the fleet's morning peak; the Function runs once (the
feed's first call), then every ``--step-minutes`` of simulated time for ``--hours``, in process, with
its state in a storage that counts every write. Reported, for the tracked stream (its state document,
tracker shards and delivery sub-streams; outbox objects are the engine's and not counted):

- records delivered, CPU seconds of the Function's process (the sandbox runs in another);
- state at rest: bytes of every state object at the end, and per 1,000 vehicles;
- rounds (saves of the stream's state document) and bytes written per round (every state object
  written in the round: the document itself and the shards it points to), mean and max;
- CPU per round, and the part of it spent saving the state (the document and, where there are, its
  shards: encoding, compressing, storing).

The 50,000-vehicle figure is a projection from the per-vehicle numbers unless ``--vehicles 50000``
is run (the sandbox then computes 50,000 vehicles' points on request, which takes the machine's
other core).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_delivery import FMC_TOKEN, TOKEN, call, start_sandbox  # noqa: E402

from samsara_fmc.storage import MemoryStorage  # noqa: E402

STREAM = "maintenance.America+Chicago"


class CountingStorage(MemoryStorage):
    """Memory storage that counts the bytes written under ``state/`` (puts and conditional puts)."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self.writes = 0
        self.saves = 0
        self.per_round: list[int] = []
        self._round = 0

    def _count(self, key: str, data: bytes) -> None:
        if not key.startswith("state/"):
            return
        self.written += len(data)
        self.writes += 1
        self._round += len(data)
        if key.endswith(f"/{STREAM}.json"):  # the stream's commit ends a round
            self.saves += 1
            self.per_round.append(self._round)
            self._round = 0

    def put(self, key: str, data: bytes, *, content_type: str = "application/json") -> None:
        super().put(key, data, content_type=content_type)
        self._count(key, data)

    def put_if(self, key: str, data: bytes, *, version: str | None) -> bool:
        ok = super().put_if(key, data, version=version)
        if ok:
            self._count(key, data)
        return ok

    def at_rest(self) -> int:
        return sum(len(v) for k, v in self.objects.items() if k.startswith("state/"))


STATE_CPU = [0.0]
"""CPU seconds spent saving the stream's state (encoding, compressing, hashing, storing)."""


def time_state_saves() -> None:
    """Counts the CPU of the stream's state saves: the document's, and its shards' where there are."""
    from samsara_fmc.state import StateStore

    def timed(fn: Any, only_stream: bool) -> Any:
        def wrapper(*args: Any, **kw: Any) -> Any:
            if only_stream and getattr(args[1], "stream", None) != STREAM:
                return fn(*args, **kw)
            c0 = time.process_time()
            try:
                return fn(*args, **kw)
            finally:
                STATE_CPU[0] += time.process_time() - c0

        return wrapper

    StateStore.save = timed(StateStore.save, True)  # type: ignore[method-assign]
    try:
        from samsara_fmc.engine.shards import ShardSet
    except ImportError:  # the version before shards
        return
    ShardSet.save = timed(ShardSet.save, False)  # type: ignore[method-assign]


def runtime(url: str, storage: MemoryStorage, sink: str) -> Any:
    from samsara_fmc.integrations import vehicle_maintenance as vm
    from samsara_fmc.runtime import FunctionRuntime, Manifest
    from samsara_fmc.sinks.memory import MemorySink

    secrets = {"SAMSARA_API_TOKEN": TOKEN, "SAMSARA_BASE_URL": url}
    if sink == "fmc":
        secrets |= {"FMC_URL": url, "FMC_TOKEN": FMC_TOKEN}

    class Secrets:
        def load(self) -> dict[str, Any]:
            return secrets

    from samsara_fmc.engine._util import parse_time

    vm.CLOCK = lambda: parse_time(str(call(url, "/__sandbox/clock/advance", {"seconds": 0})["now"]))
    manifest = Manifest.load(ROOT / "functions" / "vehicle-maintenance" / "function.json")
    return FunctionRuntime(
        manifest, storage=storage, secret_source=Secrets(), sink=None if sink == "fmc" else MemorySink()
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vehicles", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--step-minutes", type=float, default=15.0)
    ap.add_argument("--sink", choices=["fmc", "memory"], default="fmc")
    ap.add_argument("--start", default="2026-11-02T13:00:00Z", help="simulated start (07:00 Central)")
    ap.add_argument("--dump", help="write the state objects at the end to this JSON file (for a look)")
    args = ap.parse_args()
    import bench.bench_delivery as bd

    bd.BUSY = args.start
    proc, url = start_sandbox(args.vehicles, "--episodes", "on", "--gaps", "on", "--seed", "7")
    storage = CountingStorage()
    try:
        rt = runtime(url, storage, args.sink)
        time_state_saves()
        params = {"timeZone": "America/Chicago", "SamsaraFunctionTriggerSource": "schedule"}
        records = 0
        cpu = 0.0
        runs = round(args.hours * 60 / args.step_minutes)
        w0 = time.time()
        for i in range(runs + 1):
            if i:
                call(url, "/__sandbox/clock/advance", {"seconds": args.step_minutes * 60})
            c0 = time.process_time()
            with contextlib.redirect_stdout(io.StringIO()):  # the run log
                out = rt.invoke({**params, "SamsaraFunctionCorrelationId": f"run-{i}"}, None)
            cpu += time.process_time() - c0
            assert out["ok"], out
            records += int(out["records"])
            print(f"  run {i:>3}: {out['records']:>6} records, state {storage.at_rest():>11,} B, "
                  f"cpu {cpu:6.1f} s", file=sys.stderr, flush=True)  # fmt: skip
        wall = time.time() - w0
    finally:
        proc.kill()
    if args.dump:
        objs = {k: v.decode("latin-1") for k, v in storage.objects.items() if k.startswith("state/")}
        Path(args.dump).write_text(json.dumps(objs))
    rest = storage.at_rest()
    rounds = storage.per_round or [0]
    per_k = rest * 1000 / args.vehicles
    print(f"\nvehicle-maintenance, {args.vehicles:,} vehicles, {args.hours:g} h from {args.start} "
          f"(episodes and gaps on), a run every {args.step_minutes:g} min, sink {args.sink}")  # fmt: skip
    print(f"  records {records:,} in {cpu:.1f} CPU s ({wall:.0f} s wall), peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")  # fmt: skip
    print(f"  state at rest {rest:,} B = {per_k:,.0f} B per 1,000 vehicles "
          f"({len([k for k in storage.objects if k.startswith('state/')])} objects)")  # fmt: skip
    print(f"  rounds {storage.saves}: written per round mean {statistics.mean(rounds):,.0f} B, "
          f"max {max(rounds):,} B; {storage.written:,} B in {storage.writes} writes in all; "
          f"CPU per round {cpu / max(storage.saves, 1) * 1000:.0f} ms, of which saving the state "
          f"{STATE_CPU[0] / max(storage.saves, 1) * 1000:.1f} ms")  # fmt: skip
    scale = 50_000 / args.vehicles
    print(f"  projected to 50,000 vehicles: state {rest * scale / 1e6:,.1f} MB; a round touching every "
          f"vehicle writes ~{max(rounds) * scale / 1e6:,.1f} MB")  # fmt: skip
    print(json.dumps({"vehicles": args.vehicles, "records": records, "cpu_s": round(cpu, 2), "state_b": rest,
                      "rounds": storage.saves, "round_mean_b": int(statistics.mean(rounds)),
                      "round_max_b": max(rounds), "written_b": storage.written,
                      "state_cpu_s": round(STATE_CPU[0], 3)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SAMSARA_SANDBOX_BIN", "/work/main/target/sandbox/samsara-sandbox")
    raise SystemExit(main())
