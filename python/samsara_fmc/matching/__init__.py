"""Fuzzy string scorers and vehicle/driver record matching, in RapidFuzz's shape.

Scorers take two strings and keyword-only ``processor`` and ``score_cutoff`` and return a similarity
in 0-100 (0 when below the cutoff)::

    >>> jaro_winkler("MARTHA", "MARHTA")  # doctest: +ELLIPSIS
    96.1...
    >>> extract_one("truck 4", ["Van 3", "Truck #4"], processor=default_process)
    ('Truck #4', 100.0, 1)

Record matching links Samsara's list (``left``) with the FMC's (``right``) one to one::

    result = match_vehicles(samsara_vehicles, fmc_vehicles)
    for link in result.links:
        print(link.left["id"], link.right["id"], link.score, link.reasons)
    result.to_csv("links.csv")

Records are dicts (or dataclasses / objects with fields) with Samsara's wire names: vehicles ``id``,
``vin``, ``licensePlate``, ``licensePlateState`` (our addition; Samsara has no plate state), ``name``,
``make``, ``model``, ``year``, ``externalIds``; drivers ``id``, ``name``, ``licenseNumber``,
``licenseState``, ``email``, ``phone``, ``username``, ``externalIds``. Snake-case aliases work too.

Deterministic evidence comes first (shared external ids score 100; exact VIN, plate + state and
licence + state carry most weight), then fuzzy evidence (VIN typos the check digit explains, plate
similarity, unit numbers in names, name similarity, make/model/year). A record links at most once,
best pair first; a best pair with a rival within ``review_margin`` goes to ``review`` instead.

Driver matching undoes what HR and payroll exports do to identifiers (licence state prefixes and
dropped zeros, employee numbers as floats, accented and mojibake names, phone extensions), weighs a
stale licence against the rest of the evidence, counts a generational suffix on one side only
against a link, and sends near misses to ``review``.

Links are written back to Samsara as the FMC's external ID with :meth:`MatchResult.write_plan` and
:func:`apply_links` (only the caller's key is sent, never Samsara's automatic ``samsara.*`` keys).

The command line matches two CSV files: ``python -m samsara_fmc.matching left.csv right.csv --out links.csv``
(also installed as ``samsara-fmc-match``, and as ``samsara-fmc match``); ``--map`` renames columns,
``--apply`` writes the links back (a dry run printing the plan otherwise).
"""

from __future__ import annotations

from samsara_fmc.matching._api import (
    Link,
    MatchResult,
    default_process,
    employee_key,
    extract,
    extract_one,
    fold_name,
    jaro_winkler,
    levenshtein,
    license_key,
    main,
    match_drivers,
    match_vehicles,
    phone_key,
    ratio,
    token_set_ratio,
    token_sort_ratio,
    unit_number,
)
from samsara_fmc.matching._writeback import ApplyReport, Patch
from samsara_fmc.matching._writeback import apply as apply_links

__all__ = [
    "ApplyReport",
    "Link",
    "MatchResult",
    "Patch",
    "apply_links",
    "default_process",
    "employee_key",
    "extract",
    "extract_one",
    "fold_name",
    "jaro_winkler",
    "levenshtein",
    "license_key",
    "main",
    "match_drivers",
    "match_vehicles",
    "phone_key",
    "ratio",
    "token_set_ratio",
    "token_sort_ratio",
    "unit_number",
]
