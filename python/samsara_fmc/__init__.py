"""samsara-fmc: connect a fleet management company to Samsara.

A Rust core (``samsara_fmc._core``) does the HTTP, paging, retries, rate limiting, unit conversion and
matching; this package is its typed façade, the Samsara Functions runtime glue and the integrations.
"""

from __future__ import annotations

from samsara_fmc._core import __version__
from samsara_fmc._matching_api import MatchResult, extract_one, match_drivers, match_vehicles
from samsara_fmc.vin import decode_vin, is_valid_vin, repair_vin, validate_vin, vin_check_digit

__all__ = [
    "MatchResult",
    "__version__",
    "decode_vin",
    "extract_one",
    "is_valid_vin",
    "match_drivers",
    "match_vehicles",
    "repair_vin",
    "validate_vin",
    "vin_check_digit",
]
