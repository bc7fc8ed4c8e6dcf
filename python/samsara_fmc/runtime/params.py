"""Event parameters: the strings Functions passes in the event, parsed by the manifest's declarations.

Every parameter a Function takes is declared once, in its ``function.json`` (name, type, default,
help); :func:`parse_params` checks an event against those declarations and reports every bad value
at once, before the run does any work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from samsara_fmc.exceptions import ConfigurationError

__all__ = ["PLATFORM_KEYS", "EventParams", "ParamSpec", "parse_params"]

PLATFORM_KEYS = ("SamsaraFunctionTriggerSource", "SamsaraFunctionCorrelationId")
"""Keys the platform adds to every event."""

ParamType = Literal["string", "list", "bool", "int", "choice"]
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class ParamSpec:
    """One declared event parameter.

    Attributes:
        name: The event key.
        type: ``string``, ``list`` (comma-separated), ``bool``, ``int`` or ``choice``.
        default: The default, as the string a user would type (``None``: absent).
        help: One sentence for the docs and the dashboard.
        choices: For ``choice``, and for ``list`` when every item must be one of them.
        minimum: For ``int``.
        maximum: For ``int``.
        pattern: A regular expression every ``string`` value or ``list`` item must match.
        max_items: For ``list``: at most this many items.
    """

    name: str
    type: ParamType
    help: str
    default: str | None = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    max_items: int | None = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ParamSpec:
        """A declaration from a manifest's ``parameters`` entry."""
        name = str(doc.get("name", ""))
        if not _NAME.match(name):
            msg = f"manifest parameter name `{name}` is invalid: use letters, digits and `_`"
            raise ConfigurationError(msg)
        kind = doc.get("type")
        if kind not in ("string", "list", "bool", "int", "choice"):
            msg = f"manifest parameter `{name}` has type `{kind}`: use string, list, bool, int or choice"
            raise ConfigurationError(msg)
        default = doc.get("default")
        spec = cls(
            name=name,
            type=kind,
            help=str(doc.get("help", "")),
            default=None if default is None else str(default),
            choices=tuple(str(c) for c in doc.get("choices", ())),
            minimum=doc.get("minimum"),
            maximum=doc.get("maximum"),
            pattern=doc.get("pattern"),
            max_items=doc.get("maxItems"),
        )
        if spec.default is not None:
            spec.parse(spec.default)  # a manifest's own default must be valid
        return spec

    def parse(self, raw: str) -> Any:
        """The typed value of ``raw``; a :class:`ConfigurationError` naming the value and the fix."""
        value = raw.strip()
        bad = f"event parameter `{self.name}` is `{_shown(raw)}`"
        if self.type == "bool":
            lowered = value.lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ConfigurationError(f"{bad}: use `true` or `false`")
        if self.type == "int":
            try:
                number = int(value)
            except ValueError:
                number = None
            low, high = self.minimum, self.maximum
            if number is None or (low is not None and number < low) or (high is not None and number > high):
                bounds = f" from {low}" if low is not None else ""
                bounds += f" to {high}" if high is not None else ""
                raise ConfigurationError(f"{bad}: use a whole number{bounds}")
            return number
        if self.type == "choice":
            if value not in self.choices:
                raise ConfigurationError(f"{bad}: use one of {_listed(self.choices)}")
            return value
        if self.type == "list":
            items = [v.strip() for v in value.split(",") if v.strip()]
            wrong = [v for v in items if (self.choices and v not in self.choices) or not self._matches(v)]
            if wrong:
                hint = f"use items from {_listed(self.choices)}" if self.choices else self._pattern_hint()
                raise ConfigurationError(f"{bad}: {_listed(wrong)} not allowed; {hint}")
            if self.max_items is not None and len(items) > self.max_items:
                raise ConfigurationError(f"{bad}: give at most {self.max_items} items, not {len(items)}")
            return items
        if not self._matches(value):
            raise ConfigurationError(f"{bad}: {self._pattern_hint()}")
        return value

    def _matches(self, value: str) -> bool:
        return self.pattern is None or re.fullmatch(self.pattern, value) is not None

    def _pattern_hint(self) -> str:
        return f"each value must match `{self.pattern}` ({self.help.rstrip('.')})"


def _shown(raw: str) -> str:
    return raw if len(raw) <= 80 else raw[:77] + "..."


def _listed(values: Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


@dataclass
class EventParams:
    """The parsed parameters of one event, and the raw event for trigger fields (an alert's ``assetId``).

    Attributes:
        values: Declared parameters, typed; absent ones hold their default (or ``None``).
        given: The names the event set explicitly.
        unknown: Event keys that are neither declared, nor the platform's, nor trigger fields.
    """

    raw: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        """A declared parameter's value, or ``default`` when it has none."""
        value = self.values.get(name)
        return default if value is None else value

    def text(self, name: str) -> str | None:
        """A raw event value as a stripped string (``None`` when absent or empty): trigger fields."""
        value = self.raw.get(name)
        return None if value in (None, "") else f"{value}".strip()


def parse_params(
    event: Mapping[str, Any] | None, specs: Sequence[ParamSpec], *, trigger_fields: Iterable[str] = ()
) -> EventParams:
    """Parses ``event`` against ``specs``, reporting every bad value in one :class:`ConfigurationError`."""
    raw = dict(event or {})
    out = EventParams(raw=raw)
    problems: list[str] = []
    for spec in specs:
        value = raw.get(spec.name)
        text = None if value in (None, "") else str(value)
        if text is not None:
            out.given.add(spec.name)
        chosen = text if text is not None else spec.default
        try:
            out.values[spec.name] = None if chosen is None else spec.parse(chosen)
        except ConfigurationError as e:
            problems.append(str(e))
    known = {s.name for s in specs} | set(PLATFORM_KEYS) | set(trigger_fields)
    out.unknown = sorted(k for k in raw if k not in known)
    if problems:
        raise ConfigurationError("; ".join(problems))
    return out
