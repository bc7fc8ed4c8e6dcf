"""Stubs for the compiled core. Docstrings live in the façade modules."""

from collections.abc import Iterator
from typing import Any, final

__version__: str

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
        connect_timeout: float = 10.0,
        request_timeout: float = 60.0,
        max_attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        max_elapsed: float = 120.0,
        rate_limit: bool = True,
    ) -> ApiClient: ...
    @property
    def base_url(self) -> str: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def api_version(self) -> str: ...
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
