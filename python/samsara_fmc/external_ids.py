"""External IDs: the FMC's own keys on Samsara objects, checked before they are sent.

An external ID is a ``key: value`` pair stored on a vehicle, driver, tag or other object
(``{"maintenanceId": "250020"}``); the object can then be addressed as ``maintenanceId:250020`` in a
path or an ID filter. Samsara adds automatic ones prefixed ``samsara.`` (``samsara.vin``,
``samsara.serial``, ``samsara.name``); they cannot be written, and a write that carries them is
refused. A value is unique per key across every kind of object.

The character rules are not published in full; this module applies the safe ones (the sandbox
enforces the same): a key is 1 to 32 ASCII letters and digits; a value is 1 to 128 printable ASCII
characters without spaces, ``/`` (it could not stand in a path) or ``,`` (it could not stand in an ID
filter). ``None`` (or ``""``) as a value deletes the key in a PATCH. ::

    >>> external_ids({"maintenanceId": 250020})
    {'maintenanceId': '250020'}
    >>> writable({"maintenanceId": "250020", "samsara.vin": "1M8GDM9AXKP042788"})
    {'maintenanceId': '250020'}
"""

from __future__ import annotations

from collections.abc import Mapping

from samsara_fmc.exceptions import ConfigurationError

__all__ = ["AUTOMATIC_PREFIX", "MAX_KEY", "MAX_VALUE", "external_id", "external_ids", "writable"]

AUTOMATIC_PREFIX = "samsara."
"""The prefix of the external IDs Samsara sets itself."""
MAX_KEY = 32
"""The longest key."""
MAX_VALUE = 128
"""The longest value."""


def _check_key(key: object) -> str:
    if not isinstance(key, str):
        raise ConfigurationError(f"external ID key `{key!r}` is not a string: use ASCII letters and digits")
    if key.startswith(AUTOMATIC_PREFIX):
        msg = (
            f"external ID key `{key}` is one of Samsara's automatic ones (`{AUTOMATIC_PREFIX}*`), which"
            " cannot be written: leave it out (`writable()` drops them from a record's externalIds)"
        )
        raise ConfigurationError(msg)
    if not (1 <= len(key) <= MAX_KEY and key.isascii() and key.isalnum()):
        msg = (
            f"external ID key `{key}` must be 1 to {MAX_KEY} ASCII letters and digits (e.g. `maintenanceId`)"
        )
        raise ConfigurationError(msg)
    return key


def _check_value(key: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        msg = f"the value of external ID `{key}` is {type(value).__name__} `{value!r}`: give a string"
        raise ConfigurationError(msg)
    text = str(value)
    if len(text) > MAX_VALUE:
        msg = f"the value of external ID `{key}` has {len(text)} characters; at most {MAX_VALUE} are allowed"
        raise ConfigurationError(msg)
    bad = next((c for c in text if not ("!" <= c <= "~") or c in "/,"), None)
    if bad is not None:
        msg = (
            f"the value `{text}` of external ID `{key}` contains `{bad}`: use printable ASCII without"
            " spaces, `/` or `,`"
        )
        raise ConfigurationError(msg)
    return text


def external_ids(values: Mapping[str, str | int | None]) -> dict[str, str | None]:
    """The ``externalIds`` object of a POST or PATCH body, every key and value checked first.

    Integers become strings (Samsara stores strings); ``None`` and ``""`` stay as they are (in a PATCH
    they delete the key).

    Raises:
        ConfigurationError: A ``samsara.*`` key, a key that is not 1 to 32 letters and digits, or a
            value that is too long, not a string or has a character the rules refuse; nothing is sent.
    """
    out: dict[str, str | None] = {}
    for key, value in values.items():
        _check_key(key)
        out[key] = None if value is None or value == "" else _check_value(key, value)
    return out


def external_id(key: str, value: str | int) -> str:
    """``key:value`` as a path segment or ID filter takes it, both checked (``payrollId:ABFS18600``).

    Use :func:`samsara_fmc.path_id` on the result to quote it for a path.
    """
    _check_key(key)
    if value == "":
        raise ConfigurationError(f"external ID `{key}` has an empty value: give the value to look up")
    return f"{key}:{_check_value(key, value)}"


def writable(current: Mapping[str, object] | None) -> dict[str, str]:
    """A record's ``externalIds`` without Samsara's automatic ``samsara.*`` keys, ready to send back.

    For copying external IDs from a record Samsara returned (which includes the automatic ones) into
    a write, where they would be refused. The remaining pairs are checked as :func:`external_ids`
    checks them.
    """
    out: dict[str, str] = {}
    for key, value in (current or {}).items():
        if key.startswith(AUTOMATIC_PREFIX) or value is None or value == "":
            continue
        out[_check_key(key)] = _check_value(key, value)
    return out
