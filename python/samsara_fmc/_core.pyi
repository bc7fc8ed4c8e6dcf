"""Stubs for the compiled core. Docstrings live in the façade modules."""

from collections.abc import Iterator
from typing import Any, final

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_BASE_DELAY",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_DELAY",
    "DEFAULT_MAX_ELAPSED",
    "DEFAULT_REQUEST_TIMEOUT",
    "FMC_MAX_BATCH",
    "ApiClient",
    "FmcClient",
    "Page",
    "PageIterator",
    "StatsPage",
    "StatsPageIterator",
    "VinInfo",
    "VinRepair",
    "__version__",
    "convert",
    "convert_stats",
    "decode_vin",
    "default_process",
    "employee_key",
    "extract_one",
    "fold_name",
    "is_valid_vin",
    "jaro_winkler",
    "levenshtein",
    "license_key",
    "match_drivers",
    "match_vehicles",
    "normalize_rfc3339",
    "phone_key",
    "ratio",
    "repair_vin",
    "rfc3339_to_unix_ms",
    "token_set_ratio",
    "token_sort_ratio",
    "unit_number",
    "unit_symbols",
    "unix_ms_to_rfc3339",
    "validate_vin",
    "vin_check_digit",
]

__version__: str

# Defaults defined once in the Rust core (the values live there, not here).
DEFAULT_API_VERSION: str
DEFAULT_CONNECT_TIMEOUT: float
DEFAULT_REQUEST_TIMEOUT: float
DEFAULT_MAX_ATTEMPTS: int
DEFAULT_BASE_DELAY: float
DEFAULT_MAX_DELAY: float
DEFAULT_MAX_ELAPSED: float
FMC_MAX_BATCH: int

@final
class ApiClient:
    def __new__(
        cls,
        token: str,
        *,
        base_url: str | None = None,
        region: str = "us",
        api_version: str | None = None,
        user_agent_suffix: str | None = None,
        connect_timeout: float = ...,
        request_timeout: float = ...,
        max_attempts: int = ...,
        base_delay: float = ...,
        max_delay: float = ...,
        max_elapsed: float = ...,
        rate_limit: bool = True,
    ) -> ApiClient: ...
    @property
    def base_url(self) -> str: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def api_version(self) -> str: ...
    def counts(self) -> tuple[int, int, int, int, int]: ...
    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
        idempotent: bool = False,
        deadline: float | None = None,
    ) -> Any: ...
    def pages(
        self,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        after: str | None = None,
        deadline: float | None = None,
    ) -> PageIterator: ...
    def stats_pages(
        self,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        after: str | None = None,
        units: str = "metric",
        deadline: float | None = None,
    ) -> StatsPageIterator: ...

@final
class FmcClient:
    def __new__(
        cls,
        base_url: str,
        token: str,
        *,
        user_agent_suffix: str | None = None,
        connect_timeout: float = ...,
        request_timeout: float = ...,
        max_attempts: int = ...,
        base_delay: float = ...,
        max_delay: float = ...,
        max_elapsed: float = ...,
        rate_limit: bool = True,
    ) -> FmcClient: ...
    @property
    def base_url(self) -> str: ...
    def counts(self) -> tuple[int, int, int, int, int]: ...
    def post_batch(
        self, stream: str, idempotency_key: str, body: bytes, *, deadline: float | None = None
    ) -> tuple[dict[str, Any], bool]: ...
    def put_file(
        self,
        stream: str,
        name: str,
        idempotency_key: str,
        content_type: str,
        body: bytes,
        *,
        deadline: float | None = None,
    ) -> tuple[dict[str, Any], bool]: ...
    def get(
        self, path: str, *, query: list[tuple[str, str]] | None = None, deadline: float | None = None
    ) -> Any: ...
    def pages(
        self,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        after: str | None = None,
        deadline: float | None = None,
    ) -> PageIterator: ...

@final
class Page:
    @property
    def data(self) -> Any: ...
    @property
    def cursor(self) -> str | None: ...
    @property
    def has_next_page(self) -> bool: ...

@final
class PageIterator(Iterator[Page]):
    def __iter__(self) -> PageIterator: ...
    def __next__(self) -> Page: ...

@final
class StatsPage:
    @property
    def ndjson(self) -> bytes: ...
    @property
    def rejects(self) -> bytes: ...
    @property
    def records(self) -> int: ...
    @property
    def rejected(self) -> int: ...
    @property
    def cursor(self) -> str | None: ...
    @property
    def has_next_page(self) -> bool: ...

@final
class StatsPageIterator(Iterator[StatsPage]):
    def __iter__(self) -> StatsPageIterator: ...
    def __next__(self) -> StatsPage: ...

def convert(value: float, from_unit: str, to_unit: str) -> float: ...
def unit_symbols() -> list[str]: ...
def normalize_rfc3339(value: str) -> str: ...
def rfc3339_to_unix_ms(value: str) -> int: ...
def unix_ms_to_rfc3339(ms: int) -> str: ...
def convert_stats(body: bytes, units: str) -> tuple[bytes, bytes, int, int, str | None, bool]: ...

# --- VIN (samsara_fmc.vin) ---------------------------------------------------------------------

@final
class VinRepair:
    @property
    def candidate(self) -> str: ...
    @property
    def edit(self) -> str: ...
    @property
    def edits(self) -> list[tuple[str, int]]: ...
    @property
    def cost(self) -> float: ...

@final
class VinInfo:
    @property
    def vin(self) -> str: ...
    @property
    def wmi(self) -> str: ...
    @property
    def vds(self) -> str: ...
    @property
    def check_digit(self) -> str: ...
    @property
    def check_digit_valid(self) -> bool: ...
    @property
    def model_year_code(self) -> str: ...
    @property
    def model_year(self) -> int: ...
    @property
    def model_year_candidates(self) -> tuple[int, int]: ...
    @property
    def plant(self) -> str: ...
    @property
    def serial(self) -> str: ...
    @property
    def manufacturer(self) -> str | None: ...
    @property
    def country(self) -> str | None: ...
    @property
    def north_american(self) -> bool: ...
    @property
    def small_manufacturer(self) -> bool: ...
    @property
    def warnings(self) -> list[str]: ...

# A `vin` that is not a str raises InvalidVinError (reason "empty" for None, "type" otherwise), not a
# bare TypeError; mypy refuses it before that.
def validate_vin(vin: str) -> str: ...
def is_valid_vin(vin: object) -> bool: ...
def vin_check_digit(vin: str) -> str: ...
def repair_vin(vin: str, limit: int = 10) -> list[VinRepair]: ...
def decode_vin(vin: str) -> VinInfo: ...

# --- matching (samsara_fmc.matching) ------------------------------------------------------------

_LinkTuple = tuple[int, int, float, list[str]]
_ResultTuple = tuple[list[_LinkTuple], list[_LinkTuple], list[int], list[int]]

def jaro_winkler(a: str, b: str) -> float: ...
def ratio(a: str, b: str) -> float: ...
def token_sort_ratio(a: str, b: str) -> float: ...
def token_set_ratio(a: str, b: str) -> float: ...
def levenshtein(a: str, b: str) -> int: ...
def default_process(s: str) -> str: ...
def unit_number(name: str) -> str | None: ...
def fold_name(name: str) -> str: ...
def license_key(value: str) -> str | None: ...
def employee_key(value: str) -> str | None: ...
def phone_key(value: str) -> str | None: ...
def extract_one(
    query: str, choices: list[str], scorer_name: str, score_cutoff: float
) -> tuple[int, float] | None: ...
def match_vehicles(
    left: list[dict[str, Any]],
    right: list[dict[str, Any]],
    fields: list[list[str]],
    score_cutoff: float,
    review_margin: float,
    near_miss: float | None = None,
) -> _ResultTuple: ...
def match_drivers(
    left: list[dict[str, Any]],
    right: list[dict[str, Any]],
    fields: list[list[str]],
    score_cutoff: float,
    review_margin: float,
    near_miss: float | None = None,
) -> _ResultTuple: ...
