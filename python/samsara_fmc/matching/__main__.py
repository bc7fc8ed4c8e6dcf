"""``python -m samsara_fmc.matching left.csv right.csv [--out links.csv]``: match two CSV files."""

from __future__ import annotations

from samsara_fmc.matching._csv import main

if __name__ == "__main__":
    raise SystemExit(main())
