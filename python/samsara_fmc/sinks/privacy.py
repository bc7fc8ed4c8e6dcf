"""Privacy rules: which fields of which stream reach the FMC, applied before delivery.

A Function that must not hand, say, drivers' phone numbers or e-mail addresses to the FMC sets rules
(for example in a ``PRIVACY_RULES`` secret) and wraps its sink in a :class:`FilteredSink`::

    rules = PrivacyRules.parse("drivers:-phone,-email; vehicle_stats:+vehicleId,+time,+value,+unit")
    sink = FilteredSink(StorageSink(store), rules)

Syntax: rules for several streams are separated by ``;`` (or new lines); each is ``<stream>:`` and a
comma-separated list of field names, each prefixed with

- ``-``: a denylist: the stream's records lose these fields, and keep everything else;
- ``+``: an allowlist: the stream's records keep only these fields (and ``id``).

One stream's list is all ``-`` or all ``+``. A name may be dotted for a nested key
(``-externalIds.payrollId``, ``+address.name``); through an array of objects, it applies to each
object. ``id`` is never removed (``-id`` is an error). Streams without a rule pass unchanged.

Errors name the value and the fix (:class:`ConfigurationError`): bad syntax; a stream the Function
does not deliver (when :meth:`PrivacyRules.parse` is given its ``streams``); a field its record type
does not define (for streams with one, see :mod:`samsara_fmc.records`: a typo in a denylist would
otherwise leak the field it meant to remove). Each record type's schema lists its personal fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from samsara_fmc import records as _records
from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.sinks import Batch, DeliveryResult, Sink, check_stream

__all__ = ["FilteredSink", "PrivacyRules", "StreamRule"]

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")
_SYNTAX = "use `stream:-field,-field` (denylist) or `stream:+field,+field` (allowlist), `;` between streams"

# A tree of dotted paths: a key maps to ``None`` (the whole value) or to the paths below it.
_Tree = dict[str, "_Tree | None"]


def _tree(paths: Iterable[str]) -> _Tree:
    root: _Tree = {}
    for path in paths:
        node = root
        *parents, last = path.split(".")
        for p in parents:
            child = node.get(p, {})
            if child is None:  # the whole of `p` is already named
                break
            node[p] = child
            node = child
        else:
            node[last] = None
    return root


def _deny(value: Any, tree: _Tree) -> Any:
    if isinstance(value, list):
        return [_deny(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for k, v in value.items():
        if k not in tree:
            out[k] = v
        elif (below := tree[k]) is not None:
            out[k] = _deny(v, below)
    return out


def _allow(value: Any, tree: _Tree) -> Any:
    if isinstance(value, list):
        return [v for v in (_allow(v, tree) for v in value) if v is not _DROP]
    if not isinstance(value, dict):
        return _DROP
    out = {}
    for k, v in value.items():
        if k not in tree:
            continue
        below = tree[k]
        if below is None:
            out[k] = v
        elif (kept := _allow(v, below)) is not _DROP:
            out[k] = kept
    return out


_DROP: Any = object()


@dataclass(frozen=True)
class StreamRule:
    """One stream's rule: fields to remove (``allow=False``) or the only fields to keep (``allow=True``)."""

    stream: str
    allow: bool
    fields: tuple[str, ...]

    def __str__(self) -> str:
        sign = "+" if self.allow else "-"
        return f"{self.stream}:" + ",".join(sign + f for f in self.fields)

    def apply(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record with the rule applied; ``id`` stays, first."""
        tree = _tree(self.fields)
        if self.allow:
            kept = _allow(dict(record), {**tree, "id": None})
        else:
            tree.pop("id", None)
            kept = _deny(dict(record), tree)
        assert isinstance(kept, dict)
        return kept

    def keeps_column(self, name: str) -> bool:
        """Whether a top-level field (a CSV column) can survive the rule."""
        if name == "id":
            return True
        tops = {f.split(".", 1)[0] for f in self.fields}
        if self.allow:
            return name in tops
        return name not in self.fields


@dataclass(frozen=True)
class PrivacyRules:
    """Rules per stream (see the module doc); ``PrivacyRules()`` passes everything."""

    rules: tuple[StreamRule, ...] = ()

    @classmethod
    def parse(cls, text: str, *, streams: Iterable[str] | None = None) -> PrivacyRules:
        """Reads rules written as the module doc describes.

        Args:
            text: The rules; blank means none.
            streams: The streams the Function delivers; a rule for another stream is an error.

        Raises:
            ConfigurationError: Naming the part of ``text`` that is wrong and how to write it.
        """
        known = None if streams is None else list(streams)
        rules: dict[str, StreamRule] = {}
        for part in re.split(r"[;\n]", text):
            part = part.strip()
            if not part:
                continue
            stream, colon, names = part.partition(":")
            stream = stream.strip()
            if not colon or not stream:
                msg = f"invalid privacy rule `{part}`: {_SYNTAX}"
                raise ConfigurationError(msg)
            try:
                check_stream(stream)
            except ConfigurationError:
                msg = f"invalid privacy rule `{part}`: `{stream}` is not a stream name; {_SYNTAX}"
                raise ConfigurationError(msg) from None
            if known is not None and stream not in known:
                listed = ", ".join(f"`{s}`" for s in known) or "none"
                msg = f"privacy rule `{part}` names the unknown stream `{stream}`:"
                msg += f" the Function delivers {listed}"
                raise ConfigurationError(msg)
            if stream in rules:
                msg = f"privacy rules name the stream `{stream}` twice: write one rule per stream"
                raise ConfigurationError(msg)
            rules[stream] = _stream_rule(part, stream, names)
        return cls(tuple(rules.values()))

    def __str__(self) -> str:
        return "; ".join(str(r) for r in self.rules)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def for_stream(self, stream: str) -> StreamRule | None:
        """The rule for ``stream``, or ``None``."""
        return next((r for r in self.rules if r.stream == stream), None)

    def apply(self, stream: str, batch: Batch) -> Batch:
        """The batch with ``stream``'s rule applied (the same batch when it has none)."""
        rule = self.for_stream(stream)
        if rule is None:
            return batch
        return Batch.of(rule.apply(r) for r in batch.records())


def _stream_rule(part: str, stream: str, names: str) -> StreamRule:
    items = [n.strip() for n in names.split(",")]
    if not any(items) or not all(len(n) > 1 and n[0] in "+-" for n in items):
        msg = f"invalid privacy rule `{part}`: prefix each field with `-` or `+`; {_SYNTAX}"
        raise ConfigurationError(msg)
    signs = {n[0] for n in items}
    if len(signs) > 1:
        msg = (
            f"invalid privacy rule `{part}`: a stream's fields are all `-` (denylist) or all `+` (allowlist)"
        )
        raise ConfigurationError(msg)
    allow = signs == {"+"}
    fields = [n[1:].strip() for n in items]
    for f in fields:
        if not _FIELD.match(f):
            msg = f"invalid privacy rule `{part}`: `{f}` is not a field name (dotted for nested keys)"
            raise ConfigurationError(msg)
    if not allow and "id" in fields:
        msg = f"invalid privacy rule `{part}`: a record's `id` is always delivered; remove `-id`"
        raise ConfigurationError(msg)
    record_type = _records.for_stream(stream)
    if record_type is not None:
        defined = record_type.field_names()
        unknown = [f for f in fields if f.split(".", 1)[0] not in defined]
        if unknown:
            names_text = ", ".join(f"`{u}`" for u in unknown)
            msg = (
                f"privacy rule `{part}` names {names_text}, not a field of `{record_type.name}` records:"
                f" use {', '.join(f'`{d}`' for d in defined)}"
            )
            raise ConfigurationError(msg)
    return StreamRule(stream, allow, tuple(dict.fromkeys(fields)))


class FilteredSink:
    """A sink that applies :class:`PrivacyRules` to each batch, then delivers it to ``inner``.

    When ``inner`` writes columns (the SFTP sink's ``restrict_columns``), the columns the rules remove
    are left out of its files too, rather than written empty.

    Args:
        inner: The sink that delivers.
        rules: The rules, or their text (parsed with :meth:`PrivacyRules.parse`).
    """

    def __init__(self, inner: Sink, rules: PrivacyRules | str) -> None:
        self.inner = inner
        self.rules = PrivacyRules.parse(rules) if isinstance(rules, str) else rules
        self.name = inner.name
        self.thread_safe = bool(getattr(inner, "thread_safe", False))
        self.replaces_by_key = bool(getattr(inner, "replaces_by_key", False))
        restrict: Callable[[str, Callable[[str], bool]], None] | None = getattr(
            inner, "restrict_columns", None
        )
        if restrict is not None:
            for rule in self.rules.rules:
                restrict(rule.stream, rule.keeps_column)

    def __repr__(self) -> str:
        return f"FilteredSink({self.inner!r}, {str(self.rules)!r})"

    def deliver(
        self, stream: str, key: str, batch: Batch, *, deadline: float | None = None
    ) -> DeliveryResult:
        """Delivers the batch with ``stream``'s rule applied."""
        return self.inner.deliver(stream, key, self.rules.apply(stream, batch), deadline=deadline)

    def deliver_file(
        self, stream: str, key: str, data: bytes, *, content_type: str, deadline: float | None = None
    ) -> DeliveryResult:
        """The inner sink's file delivery (the rules choose record fields; a file is delivered whole,
        and only when the Function's configuration asks for it)."""
        return self.inner.deliver_file(stream, key, data, content_type=content_type, deadline=deadline)

    def check(self, *, deadline: float | None = None) -> None:
        """The inner sink's check."""
        self.inner.check(deadline=deadline)

    def close(self) -> None:
        """Closes the inner sink."""
        self.inner.close()


if TYPE_CHECKING:  # the sinks implement the protocol
    from samsara_fmc.sinks.storage import StorageSink
    from samsara_fmc.storage import MemoryStorage

    _checked: Sink = StorageSink(MemoryStorage())
    _filtered: Sink = FilteredSink(_checked, PrivacyRules())
