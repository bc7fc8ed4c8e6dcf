"""A Function's manifest (``function.json``): what it is, what it needs, and what it takes.

The manifest is the one place a Function's secrets, token scopes, event parameters and triggers are
declared: the runtime parses parameters from it, the preflight checks secrets and scopes against it,
and the README's table of Functions and the deployment guide are generated from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.runtime.params import ParamSpec

__all__ = ["COMMON_SECRETS", "SAMSARA_SECRETS", "SINK_SECRETS", "TRIGGERS", "Manifest"]

TRIGGERS = ("manual", "schedule", "api", "alert")
SAMSARA_SECRETS = {
    "SAMSARA_API_TOKEN": "The API token (Settings → API Tokens) with the scopes listed; or OAuth:",
    "SAMSARA_OAUTH_CLIENT_ID": "OAuth instead of a token: the app's client ID",
    "SAMSARA_OAUTH_CLIENT_SECRET": "OAuth: the app's client secret",
    "SAMSARA_OAUTH_REFRESH_TOKEN": "OAuth: the grant's refresh token (rotated, kept in Function Storage)",
    "SAMSARA_REGION": "Optional: `us` (default), `eu` or `ca`",
    "SAMSARA_BASE_URL": "Optional: an API URL instead of the region's (https; http only to loopback)",
}
COMMON_SECRETS = {
    "PRIVACY_RULES": (
        "Optional: fields kept from or removed before delivery, per stream: "
        "`drivers:-phone,-email; vehicle_stats:+vehicleId,+time,+value`"
    ),
}
"""Secrets every Function reads when they are set (with ``SAMSARA_SECRETS``: auth and the API URL)."""
SINK_SECRETS: dict[str, dict[str, str]] = {
    "fmc-http": {
        "FMC_URL": "The FMC endpoint's base URL (https; http only to loopback)",
        "FMC_TOKEN": "The FMC endpoint's bearer token",
    },
    "sftp": {
        "SFTP_HOST": "The SFTP server's host name",
        "SFTP_PORT": "Optional: the port (22)",
        "SFTP_USERNAME": "The SFTP user",
        "SFTP_PASSWORD": "The password, or use `SFTP_PRIVATE_KEY`",
        "SFTP_PRIVATE_KEY": "An OpenSSH or PEM private key, instead of a password",
        "SFTP_PRIVATE_KEY_PASSPHRASE": "Optional: the private key's passphrase",
        "SFTP_HOST_KEY_FINGERPRINT": "The host key fingerprint, `SHA256:…` (`ssh-keygen -lf`)",
        "SFTP_DIRECTORY": "Optional: the remote directory files go to (`.`)",
    },
    "storage": {},
}
"""The secrets each sink reads; the run's sink is chosen by which are set (FMC, then SFTP, else storage)."""

_FUNCTION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,34}$")


@dataclass(frozen=True)
class Manifest:
    """A parsed ``function.json``.

    Attributes:
        name: The Function's name (at most 35 characters; Functions cannot rename it later).
        handler: ``function.main``.
        description: One paragraph for the dashboard.
        integration: The module that runs it (``samsara_fmc.integrations.vehicle_stats``).
        scopes: Token scopes as the dashboard names them (least privilege).
        secrets: Secrets the Function needs besides auth, the API URL, privacy and its sink's, name → help.
        required_secrets: The names of those that must be set.
        sinks: Sinks the Function can deliver to.
        streams: The FMC streams its records go to (each with its record type in ``records``).
        parameters: Event parameters.
        triggers: How it may be started.
        alert_fields: Event keys an alert action adds that the Function reads.
        schedule: Suggested schedule (``cron``, ``why``).
    """

    name: str
    handler: str
    description: str
    integration: str
    scopes: tuple[str, ...]
    secrets: dict[str, str]
    required_secrets: tuple[str, ...]
    sinks: tuple[str, ...]
    streams: tuple[str, ...]
    parameters: tuple[ParamSpec, ...]
    triggers: tuple[str, ...]
    alert_fields: tuple[str, ...] = ()
    schedule: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        """Reads and checks a ``function.json``."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            msg = f"cannot read the manifest `{path}`: {e}"
            raise ConfigurationError(msg) from e
        return cls.from_json(doc, where=str(path))

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], *, where: str = "function.json") -> Manifest:
        """Checks a manifest document."""

        def need(key: str, kind: type) -> Any:
            value = doc.get(key)
            if not isinstance(value, kind) or (isinstance(value, str | list) and not value):
                msg = f"manifest `{where}` needs `{key}` ({kind.__name__})"
                raise ConfigurationError(msg)
            return value

        name = need("name", str)
        if not _FUNCTION_NAME.match(name):
            msg = f"manifest `{where}`: name `{name}` must be 1-35 of lower-case letters, digits and `-`"
            raise ConfigurationError(msg)
        secrets_doc = doc.get("secrets") or {}
        required = tuple(secrets_doc.get("required", ()))
        optional = tuple(secrets_doc.get("optional", ()))
        extra = secrets_doc.get("help", {})
        unknown_secrets = [s for s in (*required, *optional) if s not in extra]
        if unknown_secrets:
            msg = f"manifest `{where}`: secrets {unknown_secrets} need a line in `secrets.help`"
            raise ConfigurationError(msg)
        sinks = tuple(doc.get("sinks", ("fmc-http", "sftp", "storage")))
        if not set(sinks) <= set(SINK_SECRETS):
            msg = f"manifest `{where}`: sinks {list(sinks)} must be among {list(SINK_SECRETS)}"
            raise ConfigurationError(msg)
        triggers = tuple(need("triggers", list))
        if not set(triggers) <= set(TRIGGERS):
            msg = f"manifest `{where}`: triggers {list(triggers)} must be among {list(TRIGGERS)}"
            raise ConfigurationError(msg)
        params = tuple(ParamSpec.from_json(p) for p in doc.get("parameters", ()))
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            msg = f"manifest `{where}`: parameter names must be unique, got {names}"
            raise ConfigurationError(msg)
        return cls(
            name=name,
            handler=need("handler", str),
            description=need("description", str),
            integration=need("integration", str),
            scopes=tuple(need("scopes", list)),
            secrets={s: str(extra[s]) for s in (*required, *optional)},
            required_secrets=required,
            sinks=sinks,
            streams=tuple(need("streams", list)),
            parameters=params,
            triggers=triggers,
            alert_fields=tuple(doc.get("alertFields", ())),
            schedule=dict(doc.get("schedule", {})),
        )

    def optional_secrets(self) -> list[str]:
        """Every secret the Function may read besides its required ones: auth and the API URL, its own,
        the common ones and its sinks'."""
        own = [s for s in self.secrets if s not in self.required_secrets]
        sinks = [s for sink in self.sinks for s in SINK_SECRETS[sink]]
        return [*SAMSARA_SECRETS, *own, *COMMON_SECRETS, *sinks]


def functions_table(manifests: list[Manifest]) -> str:
    """The README's table of Functions, generated from their manifests."""
    rows = [
        "| Function | what it does | token scopes | secrets | event parameters | delivers to | schedule |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in sorted(manifests, key=lambda m: m.name):
        own = [f"`{s}`" + ("" if s in m.required_secrets else " (optional)") for s in m.secrets]
        secrets = ", ".join(["`SAMSARA_API_TOKEN` or OAuth", *own, "the sink's"])
        params = ", ".join(
            f"`{p.name}`" + (f" (`{p.default}`)" if p.default is not None and len(p.default) <= 16 else "")
            for p in m.parameters
        )
        streams = ", ".join(f"`{s}`" for s in m.streams)
        schedule = f"`{m.schedule['cron']}`" if m.schedule.get("cron") else "-"
        cells = [f"`{m.name}`", m.description, ", ".join(m.scopes), secrets, params, streams, schedule]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"
