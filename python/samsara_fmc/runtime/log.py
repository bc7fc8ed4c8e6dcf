"""Structured JSON log lines: level, message, Function, correlation ID, org and API version, fields."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from samsara_fmc.runtime.secrets import Scrubber

__all__ = ["RunLog"]


class RunLog:
    """One JSON object per line, secrets scrubbed from every value before the line is encoded."""

    def __init__(
        self,
        *,
        correlation_id: str | None,
        function: str,
        scrubber: Scrubber | None = None,
        stream: TextIO | None = None,
    ) -> None:
        self.correlation_id = correlation_id
        self.function = function
        self.scrubber = scrubber or Scrubber()
        self.context: dict[str, Any] = {}
        """Fields every later line carries (``orgId``, ``apiVersion`` once known)."""
        self._stream = stream

    def _emit(self, level: str, msg: str, fields: Mapping[str, Any]) -> None:
        line = {"level": level, "msg": msg, "function": self.function, "correlationId": self.correlation_id}
        line.update(self.context)
        line.update(fields)
        text = json.dumps(self.scrubber.value(line), default=str, separators=(",", ":"))
        print(text, file=self._stream or sys.stdout, flush=True)

    def info(self, msg: str, **fields: Any) -> None:
        """An info line."""
        self._emit("info", msg, fields)

    def warning(self, msg: str, **fields: Any) -> None:
        """A warning line."""
        self._emit("warning", msg, fields)

    def error(self, msg: str, **fields: Any) -> None:
        """An error line."""
        self._emit("error", msg, fields)
