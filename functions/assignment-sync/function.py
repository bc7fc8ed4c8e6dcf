"""Samsara Function `assignment-sync`: its manifest is function.json beside this file."""

import sys
from pathlib import Path

# Vendored packages go last, so the runtime's own (boto3, samsara-api) win.
sys.path.append(str(Path(__file__).resolve().parent / "lib"))

from samsara_fmc.runtime import FunctionRuntime

# At import: samsara-fn's stand-in boto3 exists only now, and warm runs reuse what is built here.
RUNTIME = FunctionRuntime.at_import(__file__)


def main(event, context):
    return RUNTIME.invoke(event, context)
