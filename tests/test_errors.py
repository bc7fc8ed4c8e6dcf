"""Every error the package raises is a ``SamsaraFmcError``: the bindings' argument and input errors
included, and the exception tree in the module docstring matches the classes."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

import samsara_fmc as s
from samsara_fmc import _core, exceptions
from samsara_fmc.sinks import Batch

CASES: dict[str, tuple[Callable[[], Any], type[Exception], type[Exception]]] = {
    "record not a dict": (
        lambda: _core.match_vehicles([1], [], [[]] * 8, 80.0, 5.0),
        s.RecordTypeError,
        TypeError,
    ),
    "alias table": (
        lambda: _core.match_drivers([], [], [["id"]], 80.0, 5.0),
        s.ConfigurationError,
        ValueError,
    ),
    "review margin": (
        lambda: _core.match_vehicles([], [], [[]] * 8, 80.0, -1.0),
        s.ConfigurationError,
        ValueError,
    ),
    "scorer": (lambda: _core.extract_one("a", ["b"], "cosine", 0.0), s.ConfigurationError, ValueError),
    "stats body": (lambda: _core.convert_stats(b'{"data": [', "metric"), s.ResponseDecodeError, ValueError),
    "unit system": (lambda: _core.convert_stats(b"{}", "parsecs"), s.ConfigurationError, ValueError),
    "unit": (lambda: _core.convert(1.0, "km", "h"), s.UnitConversionError, ValueError),
    "timestamp": (lambda: _core.normalize_rfc3339("yesterday"), s.ConfigurationError, ValueError),
    "vin": (lambda: _core.validate_vin("1M8GDM9A"), s.InvalidVinError, ValueError),
    "batch": (lambda: Batch(ndjson=b"", records=[]), s.RecordTypeError, TypeError),
}


@pytest.mark.parametrize(("call", "cls", "builtin"), CASES.values(), ids=CASES.keys())
def test_binding_errors_are_samsara_fmc_errors(
    call: Callable[[], Any], cls: type[Exception], builtin: type[Exception]
) -> None:
    with pytest.raises(cls) as info:
        call()
    assert isinstance(info.value, s.SamsaraFmcError) and isinstance(info.value, builtin)


def test_the_tree_in_the_docstring_lists_every_class() -> None:
    classes = {
        name
        for name, obj in vars(exceptions).items()
        if inspect.isclass(obj) and issubclass(obj, s.SamsaraFmcError)
    }
    assert classes == set(exceptions.__all__)
    doc = exceptions.__doc__ or ""
    for name in classes:
        assert f" {name}" in doc or doc.lstrip().startswith(name) or f"\n    {name}" in doc, name
    assert {n for n in s.__all__ if n in classes} == classes
