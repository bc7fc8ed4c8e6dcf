"""``samsara-fmc``: run a Function locally, check a deployment's token and sink, bundle, match.

    samsara-fmc doctor [FUNCTION ...]        token → org, API version, scopes each Function needs, sink
    samsara-fmc run FUNCTION [--param k=v]   one run, outside samsara-fn, against any base URL
    samsara-fmc bundle [NAME ...]            the Functions' zips (from a checkout: scripts/bundle.py)
    samsara-fmc sandbox [ARGS ...]           the local sandbox (from a checkout, after `make sandbox`)
    samsara-fmc match ARGS ...               vehicle and driver matching (``python -m samsara_fmc.matching``)

``FUNCTION`` is a Function folder (holding ``function.json``) or a name under ``./functions/``.
Secrets come from environment variables of the same names (``SAMSARA_API_TOKEN``, ``FMC_URL``, …);
state and health go to ``--storage`` (default ``./.samsara-fmc``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from samsara_fmc.client import DEFAULT_API_VERSION
from samsara_fmc.exceptions import SamsaraFmcError

__all__ = ["main"]


def _function_dir(name: str) -> Path:
    path = Path(name)
    if (path / "function.json").exists():
        return path
    candidate = Path("functions") / name
    if (candidate / "function.json").exists():
        return candidate
    raise SystemExit(
        f"no Function `{name}`: give a folder with a function.json, or a name under ./functions/"
    )


class _Context:
    """A Lambda-like context with a fixed budget."""

    def __init__(self, seconds: float) -> None:
        self._until = time.time() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._until - time.time()) * 1000))


def _run(args: argparse.Namespace) -> int:
    from samsara_fmc.runtime import FunctionRuntime
    from samsara_fmc.storage import LocalStorage

    folder = _function_dir(args.function)
    event: dict[str, Any] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"`--param {item}`: use `--param name=value`")
        event[key] = value
    event["SamsaraFunctionTriggerSource"] = args.trigger
    event["SamsaraFunctionCorrelationId"] = args.correlation_id or f"local-{uuid.uuid4()}"
    if args.storage:
        os.environ["SAMSARA_FMC_STORAGE"] = args.storage
    runtime = FunctionRuntime.at_import(folder / "function.py")
    runtime.storage = LocalStorage(args.storage or os.environ.get("SAMSARA_FMC_STORAGE") or ".samsara-fmc")
    try:
        summary = runtime.invoke(event, _Context(args.budget))
    except SamsaraFmcError as e:
        print(
            json.dumps(
                {
                    "ok": False,
                    "retryable": True,
                    "error": type(e).__name__,
                    "message": runtime.scrubber.text(str(e)),
                }
            ),
            flush=True,
        )
        return 2
    print(json.dumps(summary), flush=True)
    return 0 if summary.get("ok") else 1


def _doctor(args: argparse.Namespace) -> int:
    from samsara_fmc.runtime import FunctionRuntime
    from samsara_fmc.runtime.function import fix_for
    from samsara_fmc.runtime.scopes import missing_scopes

    folders = [_function_dir(n) for n in args.functions] or sorted(
        p.parent for p in Path("functions").glob("*/function.json")
    )
    if not folders:
        raise SystemExit("no Functions found: run from a checkout, or name Function folders")
    problems = 0
    first = FunctionRuntime.at_import(folders[0] / "function.py")
    try:
        client = first.client()
        org = first.org_id(time.time() + 30)
    except SamsaraFmcError as e:
        print(f"token: FAILED: {first.scrubber.text(str(e))}\n  fix: {fix_for(e)}")
        return 1
    version = first._client_options.get("api_version") or DEFAULT_API_VERSION
    print(f"token: org `{org}` at {client.base_url}, API version {version}")
    for folder in folders:
        rt = FunctionRuntime.at_import(folder / "function.py")
        try:
            missing = missing_scopes(client, rt.manifest.scopes, deadline=time.time() + 60)
        except SamsaraFmcError as e:
            print(f"{rt.manifest.name}: FAILED: {rt.scrubber.text(str(e))}")
            problems += 1
            continue
        if missing:
            problems += 1
            listed = ", ".join(f"`{m}`" for m in missing)
            print(f"{rt.manifest.name}: MISSING scopes {listed}: grant them to the token")
        else:
            print(f"{rt.manifest.name}: scopes ok ({', '.join(rt.manifest.scopes)})")
    try:
        sink = first.sink()
        sink.check(deadline=time.time() + 30)
        print(f"sink: `{sink.name}` reachable and authorised")
    except SamsaraFmcError as e:
        problems += 1
        print(f"sink: FAILED: {first.scrubber.text(str(e))}")
    return 1 if problems else 0


def _passthrough(cmd: Sequence[str]) -> int:
    try:
        return subprocess.call(list(cmd))
    except FileNotFoundError:
        raise SystemExit(
            f"`{cmd[0]}` not found: run from a checkout after `make sandbox` / `make venv`"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """The ``samsara-fmc`` command."""
    parser = argparse.ArgumentParser(
        prog="samsara-fmc", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a Function once, locally")
    run.add_argument("function")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--trigger", default="manual", choices=["manual", "schedule", "api", "alert"])
    run.add_argument("--correlation-id")
    run.add_argument("--storage", help="state and health folder (default ./.samsara-fmc)")
    run.add_argument("--budget", type=float, default=15 * 60, help="seconds (default 900)")
    doctor = sub.add_parser("doctor", help="check the token, the scopes each Function needs, and the sink")
    doctor.add_argument("functions", nargs="*")
    for name in ("bundle", "sandbox", "match"):
        p = sub.add_parser(name, help=f"see `samsara-fmc {name} --help`", add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "bundle":
        return _passthrough([sys.executable, "scripts/bundle.py", *args.rest])
    if args.command == "sandbox":
        exe = os.environ.get("SAMSARA_SANDBOX_BIN") or "target/sandbox/samsara-sandbox"
        return _passthrough([exe, *args.rest])
    return _passthrough([sys.executable, "-m", "samsara_fmc.matching", *args.rest])


if __name__ == "__main__":
    raise SystemExit(main())
