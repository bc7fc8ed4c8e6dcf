"""Run a bundled Function under samsara-fn (the local Functions simulator), as Samsara would.

    make bundle                                       # builds dist/<name>.zip
    python examples/run_function_locally.py dist/vehicle-stats.zip --param types=gps --param units=metric

The secrets are taken from the environment (``SAMSARA_API_TOKEN``, ``SAMSARA_BASE_URL``, and the
sink's: ``FMC_URL`` and ``FMC_TOKEN``, or none for Function Storage). The work directory keeps
samsara-fn's state, so a second run resumes where the first stopped; its Function Storage (state,
health, deliveries) is under ``WORKDIR/.samsara-functions/storage``. Prints the run's summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

SECRETS = ("SAMSARA_API_TOKEN", "SAMSARA_BASE_URL", "FMC_URL", "FMC_TOKEN", "PRIVACY_RULES")


def samsara_fn() -> str:
    """``$SAMSARA_FN``, else ``samsara-fn`` beside this interpreter or on ``PATH``."""
    here = Path(sys.executable).parent / "samsara-fn"
    return os.environ.get("SAMSARA_FN") or (str(here) if here.exists() else "samsara-fn")


def fn(workdir: Path, *args: str) -> str:
    done = subprocess.run([samsara_fn(), *args], cwd=workdir, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`samsara-fn {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("zip", type=Path, help="a Function's zip (dist/<name>.zip from `make bundle`)")
    parser.add_argument("--param", action="append", default=[], help="an event parameter, name=value")
    parser.add_argument("--trigger", choices=["manual", "schedule", "api"], default="manual")
    parser.add_argument("--workdir", type=Path, default=Path(".fn-work"))
    parser.add_argument("--fresh", action="store_true", help="start over: delete the work directory first")
    args = parser.parse_args(argv)
    if not args.zip.exists():
        print(f"no `{args.zip}`: build it with `make bundle`", file=sys.stderr)
        return 2
    name = args.zip.stem
    params = dict(p.split("=", 1) for p in args.param)
    if args.fresh:
        shutil.rmtree(args.workdir, ignore_errors=True)
    if not (args.workdir / ".samsara-functions").exists():
        args.workdir.mkdir(parents=True, exist_ok=True)
        secrets = {k: os.environ[k] for k in SECRETS if os.environ.get(k)}
        (args.workdir / ".secrets.json").write_text(json.dumps(secrets))
        (args.workdir / "params.json").write_text(json.dumps(params))
        fn(
            args.workdir,
            "init",
            name,
            "--zipFile",
            str(args.zip.resolve()),
            "--handler",
            "function.main",
            "--parameters",
            "params.json",
            "--secrets",
            ".secrets.json",
        )
        (args.workdir / ".secrets.json").unlink()  # samsara-fn keeps its own copy
    out = fn(args.workdir, "run", args.trigger, name)
    summary = json.loads(out.strip().splitlines()[-1])
    print(json.dumps(summary, indent=2))
    return 0 if summary.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
