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

The command line matches two CSV files: ``python -m samsara_fmc.matching left.csv right.csv --out links.csv``
(also installed as ``samsara-fmc-match``).
"""

from __future__ import annotations

from samsara_fmc.matching._api import (
    Link,
    MatchResult,
    default_process,
    extract,
    extract_one,
    jaro_winkler,
    levenshtein,
    main,
    match_drivers,
    match_vehicles,
    ratio,
    token_set_ratio,
    token_sort_ratio,
    unit_number,
)

__all__ = [
    "Link",
    "MatchResult",
    "default_process",
    "extract",
    "extract_one",
    "jaro_winkler",
    "levenshtein",
    "main",
    "match_drivers",
    "match_vehicles",
    "ratio",
    "token_set_ratio",
    "token_sort_ratio",
    "unit_number",
]
