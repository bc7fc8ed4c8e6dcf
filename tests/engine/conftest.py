"""Fixtures of the engine tests: the sandbox fixtures, shared with the rest of the suite."""

from tests.support.sandbox import sandbox, sandbox_factory, sandbox_url

__all__ = ["sandbox", "sandbox_factory", "sandbox_url"]
