"""Secrets: loaded from the Functions secret store (or the environment), and scrubbed from output.

Scrubbing works on Python values before they are encoded (a log line, an error message, a run
summary), so a secret holding a quote, a backslash or a newline (a PEM key, an SFTP password) is
found as it is, and also in the forms it takes inside a URL or a JSON string.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from samsara_fmc.exceptions import ConfigurationError

__all__ = ["MASK", "Scrubber", "function_secret_source", "load_secrets"]

MASK = "****"
_MIN_LEN = 4
"""Shorter values are not scrubbed: masking every `abc` in a log would hide more than it protects."""


def load_secrets(
    required: Iterable[str], optional: Iterable[str] = (), *, source: Any = None
) -> dict[str, str]:
    """Secrets from the Functions secret store, or from environment variables outside Functions.

    Args:
        required: Names that must be present and non-empty.
        optional: Names read when present.
        source: A ``samsara.function.Function().secrets()`` object; when ``None``, the environment.

    Raises:
        ConfigurationError: Naming every missing secret at once and where to set it.
    """
    required, optional = list(required), list(optional)
    if source is not None:
        raw = source.load() or {}
        where = "the Function's Secrets (Functions → your function → Secrets)"
    else:
        raw = dict(os.environ)
        where = "environment variables (or Secrets when running in Samsara Functions)"
    values = {k: str(raw[k]).strip() for k in [*required, *optional] if raw.get(k) not in (None, "")}
    missing = [k for k in required if not values.get(k)]
    if missing:
        msg = f"missing secrets {', '.join(f'`{m}`' for m in missing)}: set them in {where}"
        raise ConfigurationError(msg)
    return values


def function_secret_source() -> Any:
    """``samsara.function.Function().secrets()`` when samsara-api is importable (the runtime has 4.1.0)."""
    try:
        from samsara.function import Function
    except ImportError:
        return None
    return Function().secrets()


class Scrubber:
    """Replaces secret values in strings and in JSON-like values (dicts, lists, tuples) with ``****``.

    ``values`` is called at every use, so secrets loaded after the scrubber was made are covered.
    """

    def __init__(self, values: Callable[[], Iterable[str]] | Iterable[str] = ()) -> None:
        self._values = values if callable(values) else (lambda fixed=list(values): fixed)

    def needles(self) -> list[str]:
        """Every form of every secret to look for, longest first."""
        out: set[str] = set()
        for value in self._values():
            if len(value) < _MIN_LEN:
                continue
            out.add(value)
            out.add(json.dumps(value)[1:-1])
            out.add(urllib.parse.quote(value, safe=""))
            out.add(urllib.parse.quote_plus(value))
            # A multi-line secret (a PEM key) may surface one line at a time.
            out.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 16)
        return sorted((n for n in out if len(n) >= _MIN_LEN), key=len, reverse=True)

    def text(self, text: str, needles: list[str] | None = None) -> str:
        """``text`` with every secret masked."""
        for needle in self.needles() if needles is None else needles:
            if needle in text:
                text = text.replace(needle, MASK)
        return text

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like ``value`` with every string (keys too) masked."""
        needles = self.needles()
        if not needles:
            return value
        return _walk(value, lambda s: self.text(s, needles))


def _walk(value: Any, fix: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, Mapping):
        return {fix(str(k)): _walk(v, fix) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_walk(v, fix) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return fix(str(value))
