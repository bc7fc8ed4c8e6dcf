"""Stubs for the compiled core. Docstrings live in the façade modules."""

__version__: str
