"""samsara-fmc: connect a fleet management company to Samsara.

A Rust core (``samsara_fmc._core``) does the HTTP, paging, retries, rate limiting, unit conversion and
matching; this package is its typed façade, the Samsara Functions runtime glue and the integrations.
"""

from __future__ import annotations

from samsara_fmc._core import __version__

__all__ = ["__version__"]
