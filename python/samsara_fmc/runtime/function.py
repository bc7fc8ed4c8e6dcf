"""The Functions runtime: built once per container at import, then one :meth:`FunctionRuntime.invoke` a run.

A handler is two lines::

    RUNTIME = FunctionRuntime.at_import(__file__)   # reads function.json beside the handler

    def main(event, context):
        return RUNTIME.invoke(event, context)

``samsara-fn`` swaps in its stand-in boto3 only while the handler module is imported, so the secret
store and Function Storage are reached from here, at import.

A run: parse the event against the manifest → preflight (secrets, the sink, the token's org, its
scopes: every problem named before any work) → the integration's streams, each under its lease →
health (``health/<function>.json`` and the sink's ``_health`` stream) → the summary. Errors no retry
can fix come back as ``{"ok": false, …}`` with the fix; others are raised, so the platform retries
the run and every stream resumes from its state.
"""

from __future__ import annotations

import importlib
import os
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samsara_fmc.client import DEFAULT_API_VERSION, Client
from samsara_fmc.exceptions import (
    ApiError,
    ApiStatusError,
    AuthenticationError,
    CheckpointError,
    ConfigurationError,
    DeadlineExceeded,
    PermissionDeniedError,
    SamsaraFmcError,
)
from samsara_fmc.runtime.budget import Budget
from samsara_fmc.runtime.health import Health
from samsara_fmc.runtime.log import RunLog
from samsara_fmc.runtime.manifest import Manifest
from samsara_fmc.runtime.oauth import OAUTH_SECRETS, OAuthSession
from samsara_fmc.runtime.params import EventParams, parse_params
from samsara_fmc.runtime.scopes import missing_scopes
from samsara_fmc.runtime.secrets import Scrubber, function_secret_source, load_secrets
from samsara_fmc.sinks import Sink
from samsara_fmc.sinks.privacy import FilteredSink, PrivacyRules
from samsara_fmc.sinks.select import sink_from_secrets
from samsara_fmc.state import StateStore
from samsara_fmc.storage import FunctionStorage, LocalStorage, ObjectStore

__all__ = ["FunctionRuntime", "Run", "fix_for"]

_REGIONS = {
    "us": "https://api.samsara.com",
    "eu": "https://api.eu.samsara.com",
    "ca": "https://api.ca.samsara.com",
}


@dataclass
class Run:
    """One invocation: its parameters, budget, log and correlation ID."""

    params: EventParams
    budget: Budget
    log: RunLog
    trigger: str | None
    correlation_id: str | None


class FunctionRuntime:
    """What a handler needs from the platform, built once per container at import time."""

    def __init__(
        self,
        manifest: Manifest,
        *,
        storage: ObjectStore,
        secret_source: Any = None,
        function: str | None = None,
        client_options: Mapping[str, Any] | None = None,
        sink: Sink | None = None,
    ) -> None:
        self.manifest = manifest
        self.function = function or manifest.name
        self.storage = storage
        self._secret_source = secret_source
        self._client_options = dict(client_options or {})
        self._client: Client | None = None
        self._sink = sink
        self._org_id: str | None = None
        self._scopes_checked = False
        self._secrets: dict[str, str] | None = None
        self._oauth: OAuthSession | None = None
        self.scrubber = Scrubber(self._secret_values)

    @classmethod
    def at_import(cls, handler_file: str | os.PathLike[str], **options: Any) -> FunctionRuntime:
        """Builds the runtime from the ``function.json`` beside ``handler_file``; call it at module level.

        Inside Functions (or ``samsara-fn``) secrets come from ``samsara.function.Function`` and
        storage is Function Storage. Outside, secrets are environment variables and storage is a
        local directory (``$SAMSARA_FMC_STORAGE``, or ``./.samsara-fmc``).
        """
        manifest = Manifest.load(Path(handler_file).resolve().parent / "function.json")
        in_functions = bool(os.environ.get("SamsaraFunctionName"))
        storage: ObjectStore
        if in_functions and os.environ.get("SamsaraFunctionStorageName"):
            storage = FunctionStorage.from_environment()
        else:
            storage = LocalStorage(os.environ.get("SAMSARA_FMC_STORAGE") or ".samsara-fmc")
        return cls(
            manifest,
            storage=storage,
            secret_source=function_secret_source() if in_functions else None,
            function=os.environ.get("SamsaraFunctionName") or manifest.name,
            **options,
        )

    def _secret_values(self) -> list[str]:
        values = list((self._secrets or {}).values())
        if self._oauth is not None:
            values += self._oauth.tokens_in_use()
        return values

    def secrets(self) -> dict[str, str]:
        """The secrets, loaded on first use (every one the manifest and its sinks name).

        Auth is an API token (``SAMSARA_API_TOKEN``) or an OAuth app (the three ``SAMSARA_OAUTH_*``).
        """
        if self._secrets is None:
            secrets = load_secrets(
                self.manifest.required_secrets, self.manifest.optional_secrets(), source=self._secret_source
            )
            oauth = [k for k in OAUTH_SECRETS if secrets.get(k)]
            if not secrets.get("SAMSARA_API_TOKEN") and len(oauth) < len(OAUTH_SECRETS):
                missing = [k for k in OAUTH_SECRETS if k not in oauth]
                msg = (
                    "missing secret `SAMSARA_API_TOKEN`: set an API token with the scopes this Function lists"
                    + (
                        f", or complete the OAuth secrets (missing {', '.join(f'`{m}`' for m in missing)})"
                        if oauth
                        else ", or set the OAuth secrets " + ", ".join(f"`{k}`" for k in OAUTH_SECRETS)
                    )
                )
                raise ConfigurationError(msg)
            self._secrets = secrets
        return self._secrets

    def _base_url(self) -> str:
        s = self.secrets()
        region = s.get("SAMSARA_REGION", "us")
        if region.lower() not in _REGIONS:
            # The value is not repeated: a token pasted here must not reach a log.
            msg = f"secret `SAMSARA_REGION` is not `us`, `eu` or `ca` ({len(region)} characters): fix it"
            raise ConfigurationError(msg)
        return s.get("SAMSARA_BASE_URL") or _REGIONS[region.lower()]

    def client(self, *, refresh: bool = False) -> Client:
        """The API client, built on first use from the secrets and reused across warm invocations.

        With OAuth, the client carries a current access token; ``refresh`` forces a new one (after a 401).
        """
        if self._client is None or refresh:
            s = self.secrets()
            base_url = self._base_url()
            token = s.get("SAMSARA_API_TOKEN")
            if not token:
                if self._oauth is None:
                    self._oauth = OAuthSession(
                        client_id=s["SAMSARA_OAUTH_CLIENT_ID"],
                        client_secret=s["SAMSARA_OAUTH_CLIENT_SECRET"],
                        refresh_token=s["SAMSARA_OAUTH_REFRESH_TOKEN"],
                        token_url=base_url.rstrip("/") + "/oauth2/token",
                        store=self.storage,
                        function=self.function,
                    )
                token = self._oauth.access_token(force=refresh)
            self._client = Client(
                token=token,
                base_url=base_url,
                user_agent=f"samsara-functions/{self.function}",
                **self._client_options,
            )
        return self._client

    def sink(self) -> Sink:
        """The run's sink, chosen by the secrets (built once)."""
        if self._sink is None:
            secrets = self.secrets()
            sink = sink_from_secrets(
                secrets, self.storage, allowed=self.manifest.sinks, function=self.function
            )
            if secrets.get("PRIVACY_RULES"):
                streams = [*self.manifest.streams, "_health"]
                sink = FilteredSink(sink, PrivacyRules.parse(secrets["PRIVACY_RULES"], streams=streams))
            self._sink = sink
        return self._sink

    def org_id(self, deadline: float | None = None) -> str:
        """The organisation ID of the token (``GET /me``), fetched once."""
        if self._org_id is None:
            try:
                me = self.client().get("/me", deadline=deadline)
            except AuthenticationError:
                if self._oauth is None:
                    raise
                me = self.client(refresh=True).get("/me", deadline=deadline)
            org = (me or {}).get("data", {}).get("id") if isinstance(me, dict) else None
            if not org:
                msg = "`GET /me` returned no `data.id`; cannot namespace state by organisation"
                raise ConfigurationError(msg)
            self._org_id = str(org)
        return self._org_id

    def start(self, event: Mapping[str, Any] | None, context: Any, *, margin_s: float = 30.0) -> Run:
        """Begins an invocation: parameters, budget, and a log carrying the correlation ID."""
        event = dict(event or {})
        correlation_id = _text(event.get("SamsaraFunctionCorrelationId"))
        log = RunLog(correlation_id=correlation_id, function=self.function, scrubber=self.scrubber)
        budget = Budget.for_run(context, margin_s=margin_s)
        params = parse_params(event, self.manifest.parameters, trigger_fields=self.manifest.alert_fields)
        if params.unknown:
            log.warning(
                "event parameters not declared by this Function are ignored",
                unknown=params.unknown,
                declared=[p.name for p in self.manifest.parameters],
            )
        return Run(
            params=params,
            budget=budget,
            log=log,
            trigger=_text(event.get("SamsaraFunctionTriggerSource")),
            correlation_id=correlation_id,
        )

    def preflight(self, run: Run) -> str:
        """Secrets, the sink, the token's org and scopes; returns the org ID. Nothing is written."""
        self.secrets()
        sink = self.sink()
        client = self.client()
        org = self.org_id(run.budget.deadline)
        run.log.context.update(
            orgId=org, apiVersion=self._client_options.get("api_version", DEFAULT_API_VERSION)
        )
        if not self._scopes_checked:
            missing = missing_scopes(client, self.manifest.scopes, deadline=run.budget.deadline)
            if missing:
                msg = (
                    f"the API token lacks the scopes {', '.join(f'`{m}`' for m in missing)}: grant them to "
                    "the token (Settings → API Tokens) or create a token with the scopes this Function lists"
                )
                raise ConfigurationError(msg)
            sink.check(deadline=run.budget.deadline)
            self._scopes_checked = True
        return org

    def invoke(
        self,
        event: Mapping[str, Any] | None,
        context: Any,
        job: Callable[[Any], dict[str, Any]] | None = None,
        *,
        margin_s: float = 30.0,
    ) -> dict[str, Any]:
        """Runs one invocation and returns the run summary (secrets scrubbed)."""
        from samsara_fmc.engine.runner import RunContext

        started = time.time()
        try:
            run = self.start(event, context, margin_s=margin_s)
        except ConfigurationError as e:
            return self._finish(None, started, error=e)
        run.log.info("run start", trigger=run.trigger, budgetSeconds=round(run.budget.remaining(), 1))
        health = Health.load(self.storage, self.function)
        try:
            org = self.preflight(run)
            ctx = RunContext(
                function=self.function,
                org_id=org,
                client=self.client(),
                sink=self.sink(),
                storage=self.storage,
                states=StateStore(self.storage, org_id=org, function=self.function),
                params=run.params,
                log=run.log,
                budget=run.budget,
                trigger=run.trigger,
                correlation_id=run.correlation_id,
            )
            before = self._counts()
            try:
                result = (job or self._integration())(ctx)
            except AuthenticationError:
                if self._oauth is None:
                    raise
                # The access token was refused mid-run: once, a new one, and the streams resume.
                ctx.client = self.client(refresh=True)
                result = (job or self._integration())(ctx)
            result = {**result, "requests": _delta(before, self._counts())}
        except DeadlineExceeded as e:
            run.log.warning(
                "run stopped at the deadline before it began; the next run starts over", detail=str(e)
            )
            result = {"stoppedByDeadline": True, "caughtUp": False, "records": 0, "streams": []}
        except SamsaraFmcError as e:
            final = _is_final(e)
            health.failed(e, message=self.scrubber.text(str(e)), org_id=self._org_id, fix=fix_for(e))
            self._write_health(health, run)
            if final:
                return self._finish(run, started, error=e)
            run.log.error(
                "run failed; the platform may retry it and it resumes from its state", **_describe(e)
            )
            raise
        except Exception as e:
            health.failed(
                e,
                message=self.scrubber.text(str(e)),
                org_id=self._org_id,
                fix="a bug: report it with the log lines of this run",
            )
            self._write_health(health, run)
            run.log.error(
                "run failed with an unexpected error",
                error=type(e).__name__,
                message=str(e),
                traceback=traceback.format_exc(limit=8),
            )
            raise
        health.succeeded(result, org_id=self._org_id)
        self._write_health(health, run)
        return self._finish(run, started, result=result)

    def _counts(self) -> dict[str, dict[str, int]]:
        """The Samsara client's and the sink's request counters (retries, 429s), for health."""
        out = {"samsara": self._client.counts() if self._client is not None else {}}
        sink_counts = getattr(getattr(self._sink, "inner", self._sink), "counts", None)
        out["fmc"] = sink_counts() if callable(sink_counts) else {}
        return out

    def _integration(self) -> Callable[[Any], dict[str, Any]]:
        """The integration's ``run``, or, for one that only declares ``streams``, the engine running them."""
        from samsara_fmc.engine.runner import run_declared

        module = importlib.import_module(self.manifest.integration)
        run: Callable[[Any], dict[str, Any]] | None = getattr(module, "run", None)
        if run is None:
            return lambda ctx: run_declared(ctx, module.streams(ctx))
        return run

    def _write_health(self, health: Health, run: Run) -> None:
        """Stores the health document and delivers it to the sink's ``_health`` stream (best effort:
        a health write never turns a run's outcome into another)."""
        try:
            health.save(self.storage)
            if self._sink is not None and self._org_id is not None:
                health.deliver(self._sink, org_id=self._org_id, deadline=run.budget.deadline + 10)
        except Exception as e:
            run.log.warning("health not written", error=type(e).__name__, message=str(e))

    def _finish(
        self,
        run: Run | None,
        started: float,
        *,
        result: Mapping[str, Any] | None = None,
        error: BaseException | None = None,
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "ok": error is None,
            "function": self.function,
            "correlationId": run.correlation_id if run else None,
            "trigger": run.trigger if run else None,
            "orgId": self._org_id,
        }
        if error is not None:
            summary.update(_describe(error))
            summary["fix"] = fix_for(error)
        summary.update(result or {})
        summary["seconds"] = round(time.time() - started, 3)
        summary = self.scrubber.value(summary)
        log = run.log if run else RunLog(correlation_id=None, function=self.function, scrubber=self.scrubber)
        if error is not None:
            log.error(
                "run failed; fix the cause, a retry will not help",
                **{k: summary[k] for k in ("error", "message", "fix")},
            )
        log.info("run end", **summary)
        return summary


def _delta(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """What happened between two counter snapshots (a client rebuilt meanwhile counts from zero)."""
    out = {}
    for side, counts in after.items():
        base = before.get(side, {})
        out[side] = {k: v - base.get(k, 0) if v >= base.get(k, 0) else v for k, v in counts.items()}
    return out


def _text(value: Any) -> str | None:
    return None if value in (None, "") else f"{value}".strip()


def _is_final(e: SamsaraFmcError) -> bool:
    """Errors no retry of the same run can fix: configuration, state, and 4xx other than 408 and 429."""
    if isinstance(e, ConfigurationError | CheckpointError | AuthenticationError | PermissionDeniedError):
        return True
    return isinstance(e, ApiStatusError) and 400 <= e.status_code < 500 and e.status_code not in (408, 429)


def fix_for(e: BaseException) -> str:
    """What a user does about ``e``, in one line."""
    if isinstance(e, AuthenticationError):
        return (
            "the API token was refused: check or replace the `SAMSARA_API_TOKEN` secret "
            "(with OAuth: re-authorise the app and update `SAMSARA_OAUTH_REFRESH_TOKEN`)"
        )
    if isinstance(e, PermissionDeniedError):
        return "grant the token the scope named in the message (Settings → API Tokens)"
    if isinstance(e, ConfigurationError | CheckpointError):
        return "as the message says; nothing was written"
    if isinstance(e, ApiStatusError) and 400 <= e.status_code < 500 and e.status_code not in (408, 429):
        return "the API refused a request built from the parameters or the alert: check them (see message)"
    return "none needed: the platform retries the run, which resumes from its state"


def _describe(e: BaseException) -> dict[str, Any]:
    out: dict[str, Any] = {"error": type(e).__name__, "message": str(e)}
    if isinstance(e, ApiError):
        out.update(attempts=e.attempts, requestId=getattr(e, "request_id", None))
    return out
