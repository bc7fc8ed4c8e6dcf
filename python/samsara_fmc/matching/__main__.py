"""``python -m samsara_fmc.matching left.csv right.csv [--out links.csv] [--map …] [--apply]``: match two
CSV files and write the links back to Samsara (see :mod:`samsara_fmc.matching._cli`)."""

from __future__ import annotations

from samsara_fmc.matching._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
