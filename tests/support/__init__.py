"""Shared helpers for the Python test suites (the sandbox process fixture lives in ``sandbox``)."""
