"""Samsara Function: follow the vehicle stats feed into Function Storage as converted NDJSON.

Handler: ``function.main``. Secrets: ``SAMSARA_API_TOKEN`` (scopes: Read Vehicle Statistics, Read Org
Information); optional ``SAMSARA_REGION`` (us/eu/ca) or ``SAMSARA_BASE_URL``. Event parameters: see
``samsara_fmc.integrations.vehicle_stats``.
"""

import sys
from pathlib import Path

# Vendored packages go last, so the runtime's own (boto3, samsara-api) win.
sys.path.append(str(Path(__file__).resolve().parent / "lib"))

from samsara_fmc.integrations import vehicle_stats
from samsara_fmc.runtime import FunctionRuntime

# At import: samsara-fn's stand-in boto3 exists only now, and warm runs reuse what is built here.
RUNTIME = FunctionRuntime.at_import()


def main(event, context):
    return RUNTIME.invoke(event, context, vehicle_stats.run)
