"""Data files shipped with the package (the VMRS table)."""
