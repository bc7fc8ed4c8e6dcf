"""Samsara Functions runtime glue: secrets, storage, the time budget, logs and event parameters.

A handler builds one :class:`FunctionRuntime` at module level, because ``samsara-fn`` only swaps in
its stand-in boto3 while the handler module is being imported::

    RUNTIME = FunctionRuntime.at_import(secrets=["SAMSARA_API_TOKEN"])

    def main(event, context):
        run = RUNTIME.start(event, context)
        ...
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from samsara_fmc.client import Client
from samsara_fmc.exceptions import (
    ApiError,
    AuthenticationError,
    CheckpointError,
    ConfigurationError,
    PermissionDeniedError,
    SamsaraFmcError,
)
from samsara_fmc.storage import FunctionStorage, LocalStorage, ObjectStore

__all__ = ["MAX_RUN_SECONDS", "Budget", "EventParams", "FunctionRuntime", "Run", "RunLog", "load_secrets"]

MAX_RUN_SECONDS = 15 * 60
"""The Functions (Lambda) timeout."""


def load_secrets(
    required: Iterable[str], optional: Iterable[str] = (), *, source: Any = None
) -> dict[str, str]:
    """Secrets from the Functions secret store, or from environment variables outside Functions.

    Args:
        required: Names that must be present and non-empty.
        optional: Names read when present.
        source: A ``samsara.function.Function().secrets()`` object; when ``None``, the environment.

    Raises:
        ConfigurationError: Naming every missing secret at once and where to set it.
    """
    required, optional = list(required), list(optional)
    if source is not None:
        raw = source.load() or {}
        where = "the Function's Secrets (Functions → your function → Secrets)"
    else:
        raw = dict(os.environ)
        where = "environment variables (or Secrets when running in Samsara Functions)"
    values = {k: str(raw[k]).strip() for k in [*required, *optional] if raw.get(k) not in (None, "")}
    missing = [k for k in required if not values.get(k)]
    if missing:
        msg = f"missing secrets {', '.join(f'`{m}`' for m in missing)}: set them in {where}"
        raise ConfigurationError(msg)
    return values


@dataclass(frozen=True)
class Budget:
    """The run's time budget: a deadline (Unix time) that every API call is given."""

    started: float
    deadline: float

    @classmethod
    def for_run(cls, context: Any, *, margin_s: float = 30.0, limit_s: float = MAX_RUN_SECONDS) -> Budget:
        """15 minutes from now (or the Lambda context's remaining time, if shorter) minus ``margin_s``."""
        now = time.time()
        remaining = float(limit_s)
        getter = getattr(context, "get_remaining_time_in_millis", None)
        if callable(getter):
            remaining = min(remaining, getter() / 1000.0)
        return cls(started=now, deadline=now + max(0.0, remaining - margin_s))

    def remaining(self) -> float:
        """Seconds left."""
        return max(0.0, self.deadline - time.time())


class RunLog:
    """Structured JSON log lines carrying the run's correlation ID, with secret values scrubbed."""

    def __init__(
        self,
        *,
        correlation_id: str | None,
        function: str,
        secrets: Iterable[str] | Callable[[], Iterable[str]] = (),
        stream: TextIO | None = None,
    ) -> None:
        self.correlation_id = correlation_id
        self.function = function
        # Read at every line, so secrets loaded after the log was made are scrubbed too.
        self._secrets = secrets if callable(secrets) else (lambda fixed=list(secrets): fixed)
        self._stream = stream

    def _emit(self, level: str, msg: str, fields: Mapping[str, Any]) -> None:
        line = {"level": level, "msg": msg, "function": self.function, "correlationId": self.correlation_id}
        line.update(fields)
        text = json.dumps(line, default=str, separators=(",", ":"))
        for secret in self._secrets():
            if len(secret) >= 4:
                text = text.replace(secret, "****")
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


class EventParams:
    """Typed access to event parameters, which Functions passes as strings."""

    def __init__(self, event: Mapping[str, Any] | None) -> None:
        self._event = dict(event or {})

    def text(self, name: str, default: str | None = None) -> str | None:
        """A string parameter; empty means absent."""
        value = self._event.get(name)
        return default if value in (None, "") else f"{value}".strip()

    def items(self, name: str, default: Iterable[str] = ()) -> list[str]:
        """A comma-separated list."""
        value = self.text(name)
        if value is None:
            return list(default)
        return [v.strip() for v in value.split(",") if v.strip()]

    def flag(self, name: str, default: bool = False) -> bool:
        """``true``/``false`` (also ``1``/``0``, ``yes``/``no``)."""
        value = self.text(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        msg = f"event parameter `{name}` is `{value}`: use `true` or `false`"
        raise ConfigurationError(msg)

    def number(self, name: str, default: int | None = None, *, minimum: int = 0) -> int | None:
        """A whole number ≥ ``minimum``."""
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = minimum - 1
        if number < minimum:
            msg = f"event parameter `{name}` is `{value}`: use a whole number ≥ {minimum}"
            raise ConfigurationError(msg)
        return number

    def choice(self, name: str, choices: Iterable[str], default: str) -> str:
        """One of ``choices``."""
        options = list(choices)
        value = self.text(name, default) or default
        if value not in options:
            msg = f"event parameter `{name}` is `{value}`: use one of {', '.join(f'`{c}`' for c in options)}"
            raise ConfigurationError(msg)
        return value


@dataclass
class Run:
    """One invocation: its parameters, budget, log and correlation ID."""

    params: EventParams
    budget: Budget
    log: RunLog
    trigger: str | None
    correlation_id: str | None
    summary: dict[str, Any] = field(default_factory=dict)


class FunctionRuntime:
    """What a handler needs from the platform, built once per container at import time."""

    def __init__(
        self,
        *,
        function: str,
        storage: ObjectStore,
        secret_source: Any,
        required_secrets: list[str],
        optional_secrets: list[str],
    ) -> None:
        self.function = function
        self.storage = storage
        self._secret_source = secret_source
        self._required = required_secrets
        self._optional = optional_secrets
        self._client: Client | None = None
        self._org_id: str | None = None
        self._secrets: dict[str, str] | None = None

    @classmethod
    def at_import(
        cls,
        *,
        secrets: Iterable[str] = ("SAMSARA_API_TOKEN",),
        optional_secrets: Iterable[str] = ("SAMSARA_BASE_URL", "SAMSARA_REGION"),
        local_storage: str | os.PathLike[str] | None = None,
    ) -> FunctionRuntime:
        """Builds the runtime; call it at module level of the handler.

        Inside Functions (or ``samsara-fn``) secrets come from ``samsara.function.Function`` and
        storage is Function Storage. Outside, secrets are environment variables and storage is a
        local directory (``local_storage``, or ``$SAMSARA_FMC_STORAGE``, or ``./.samsara-fmc``).
        """
        in_functions = bool(os.environ.get("SamsaraFunctionName"))
        source = _function_secrets() if in_functions else None
        storage: ObjectStore
        if in_functions and os.environ.get("SamsaraFunctionStorageName"):
            storage = FunctionStorage.from_environment()
        else:
            root = local_storage or os.environ.get("SAMSARA_FMC_STORAGE") or ".samsara-fmc"
            storage = LocalStorage(root)
        return cls(
            function=os.environ.get("SamsaraFunctionName") or "local",
            storage=storage,
            secret_source=source,
            required_secrets=list(secrets),
            optional_secrets=list(optional_secrets),
        )

    def secrets(self) -> dict[str, str]:
        """The secrets, loaded on first use."""
        if self._secrets is None:
            self._secrets = load_secrets(self._required, self._optional, source=self._secret_source)
        return self._secrets

    def client(self, **options: Any) -> Client:
        """The API client, built on first use from the secrets and reused across warm invocations."""
        if self._client is None:
            s = self.secrets()
            region = s.get("SAMSARA_REGION", "us").lower()
            if region not in ("us", "eu", "ca"):
                msg = f"secret `SAMSARA_REGION` is `{region}`: use `us`, `eu` or `ca`"
                raise ConfigurationError(msg)
            self._client = Client(
                token=s["SAMSARA_API_TOKEN"],
                base_url=s.get("SAMSARA_BASE_URL"),
                region=region,  # type: ignore[arg-type]
                user_agent=f"samsara-functions/{self.function}",
                **options,
            )
        return self._client

    def org_id(self, deadline: float | None = None) -> str:
        """The organisation ID of the token (``GET /me``), fetched once."""
        if self._org_id is None:
            me = self.client().get("/me", deadline=deadline)
            org = (me or {}).get("data", {}).get("id") if isinstance(me, dict) else None
            if not org:
                msg = "`GET /me` returned no `data.id`; cannot namespace checkpoints by organisation"
                raise ConfigurationError(msg)
            self._org_id = str(org)
        return self._org_id

    def start(self, event: Mapping[str, Any] | None, context: Any, *, margin_s: float = 30.0) -> Run:
        """Begins an invocation: parameters, budget, and a log carrying the correlation ID."""
        params = EventParams(event)
        correlation_id = params.text("SamsaraFunctionCorrelationId")
        log = RunLog(
            correlation_id=correlation_id,
            function=self.function,
            secrets=lambda: (self._secrets or {}).values(),
        )
        return Run(
            params=params,
            budget=Budget.for_run(context, margin_s=margin_s),
            log=log,
            trigger=params.text("SamsaraFunctionTriggerSource"),
            correlation_id=correlation_id,
        )

    def invoke(
        self,
        event: Mapping[str, Any] | None,
        context: Any,
        job: Callable[[FunctionRuntime, Run], dict[str, Any]],
        *,
        margin_s: float = 30.0,
    ) -> dict[str, Any]:
        """Runs ``job`` for one invocation and returns the run summary.

        Errors no retry can fix (configuration, checkpoint, 401, 403) are logged and returned as
        ``{"ok": false, ...}``. Other errors are logged and re-raised, so the platform retries the
        run; that is safe because checkpoints only advance after delivery.
        """
        run = self.start(event, context, margin_s=margin_s)
        run.log.info("run start", trigger=run.trigger, budgetSeconds=round(run.budget.remaining(), 1))
        try:
            result = job(self, run)
        except (ConfigurationError, CheckpointError, AuthenticationError, PermissionDeniedError) as e:
            run.log.error("run failed; fix the cause, a retry will not help", **_describe(e))
            return {"ok": False, "correlationId": run.correlation_id, **_describe(e)}
        except SamsaraFmcError as e:
            run.log.error(
                "run failed; the platform may retry it and it resumes from its checkpoint", **_describe(e)
            )
            raise
        summary = {"ok": True, "correlationId": run.correlation_id, "trigger": run.trigger, **result}
        summary["seconds"] = round(time.time() - run.budget.started, 3)
        run.log.info("run end", **summary)
        return summary


def _function_secrets() -> Any:
    """``samsara.function.Function().secrets()`` when samsara-api is importable (the runtime has 4.1.0)."""
    try:
        from samsara.function import Function
    except ImportError:
        return None
    return Function().secrets()


def _describe(e: SamsaraFmcError) -> dict[str, Any]:
    out: dict[str, Any] = {"error": type(e).__name__, "message": str(e)}
    if isinstance(e, ApiError):
        out.update(attempts=e.attempts, requestId=getattr(e, "request_id", None))
    return out
