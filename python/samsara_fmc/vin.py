"""VIN validation, check digit, repair and decoding (ISO 3779 / 49 CFR 565).

A VIN is 17 characters from ``0-9`` and ``A-Z`` without ``I``, ``O`` and ``Q``. Position 9 is a check
digit, mandatory for North American VINs (first character ``1``-``5``); elsewhere a failed check digit
is only a warning (:attr:`VinInfo.warnings`). Position 10 is the model-year code. Input is normalised
first: trimmed, upper-cased, separators (spaces, ``-``, ``.``, ``_``, ``/``) dropped.

Every failure raises :class:`~samsara_fmc.exceptions.InvalidVinError` whose ``reason`` is one of
``"empty"``, ``"length"``, ``"character"``, ``"model_year"``, ``"check_digit"``, or ``"type"`` for a
value that is not a string at all (``None`` is ``"empty"``: a blank cell or a missing field)::

    >>> validate_vin(" 1m8gdm9a-xkp042788 ")
    '1M8GDM9AXKP042788'
    >>> is_valid_vin("1M8GDM9A1KP042788")
    False
    >>> repair_vin("1M8GDM9AXKPO42788")[0].candidate
    '1M8GDM9AXKP042788'
"""

from __future__ import annotations

from samsara_fmc import _core
from samsara_fmc._core import VinInfo, VinRepair
from samsara_fmc.exceptions import ConfigurationError

__all__ = [
    "VinInfo",
    "VinRepair",
    "decode_vin",
    "is_valid_vin",
    "repair_vin",
    "validate_vin",
    "vin_check_digit",
]


def validate_vin(vin: str) -> str:
    """Normalise and validate a VIN.

    Args:
        vin: The VIN as entered.

    Returns:
        The normalised VIN.

    Raises:
        InvalidVinError: With ``reason`` ``"empty"``, ``"length"``, ``"character"``, ``"model_year"``
            or ``"check_digit"`` (North American VINs only) and the normalised ``vin``.
    """
    return _core.validate_vin(vin)


def is_valid_vin(vin: object) -> bool:
    """Whether ``vin`` is a valid VIN. Never raises; a non-string is not a VIN."""
    return _core.is_valid_vin(vin)


def vin_check_digit(vin: str) -> str:
    """The check digit (``"0"``-``"9"`` or ``"X"``) position 9 of ``vin`` should hold.

    Position 9 itself is ignored: any VIN character may stand there as a placeholder.

    Raises:
        InvalidVinError: ``"empty"``, ``"length"`` or ``"character"``.
    """
    return _core.vin_check_digit(vin)


def repair_vin(vin: str, *, limit: int = 10) -> list[VinRepair]:
    """Candidate corrections for a mistyped VIN, likeliest first.

    ``O``/``Q`` become ``0`` and ``I`` becomes ``1``; if the check digit still fails, every single
    substitution and adjacent transposition (for 16 characters every insertion, for 18 every
    deletion) that yields a valid VIN is proposed: the check digit's own fix first (a wrong check
    digit is the likeliest single cause), then visually confusable substitutions (``S``/``5``,
    ``B``/``8``, …) and a lost or doubled twin character (``…0042…`` typed ``…042…``).

    Returns:
        ``VinRepair`` objects with ``candidate``, ``edit`` (readable), ``edits`` (``(kind, position)``
        pairs, kind ``"substitute"``, ``"transpose"``, ``"insert"`` or ``"delete"``; positions are
        1-based, an insertion's in the candidate) and ``cost``; empty when ``vin`` is already valid or
        beyond repair.
    """
    if limit < 0:
        raise ConfigurationError(f"limit `{limit}` must be ≥ 0")
    return _core.repair_vin(vin, limit)


def decode_vin(vin: str) -> VinInfo:
    """Validate and decode a VIN: WMI, manufacturer, country, model year, plant, serial.

    The model year follows the position-7 rule (a digit there means 1980-2009, a letter 2010-2039);
    ``model_year_candidates`` keeps both readings for heavy trucks and trailers, which the rule does
    not bind.

    Raises:
        InvalidVinError: As :func:`validate_vin`.
    """
    return _core.decode_vin(vin)
