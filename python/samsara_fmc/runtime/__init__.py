"""Samsara Functions runtime glue: secrets, event parameters, the time budget, logs, manifests,
health, and the runtime that runs a Function's integration (one module per concern)."""

from samsara_fmc.runtime.budget import MAX_RUN_SECONDS, Budget
from samsara_fmc.runtime.function import FunctionRuntime, Run
from samsara_fmc.runtime.health import Health
from samsara_fmc.runtime.log import RunLog
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.runtime.params import EventParams, ParamSpec, parse_params
from samsara_fmc.runtime.secrets import Scrubber, load_secrets

__all__ = [
    "MAX_RUN_SECONDS",
    "Budget",
    "EventParams",
    "FunctionRuntime",
    "Health",
    "Manifest",
    "ParamSpec",
    "Run",
    "RunLog",
    "Scrubber",
    "load_secrets",
    "parse_params",
]
