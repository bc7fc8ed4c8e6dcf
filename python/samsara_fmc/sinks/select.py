"""Choosing a run's sink from its secrets: the FMC endpoint, else SFTP, else Function Storage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.sinks import Sink
from samsara_fmc.storage import ObjectStore

__all__ = ["sink_from_secrets"]


def sink_from_secrets(
    secrets: Mapping[str, str], store: ObjectStore, *, allowed: Sequence[str], function: str
) -> Sink:
    """The sink the secrets configure, among ``allowed`` (a manifest's ``sinks``).

    ``FMC_URL`` selects the FMC endpoint (with ``FMC_TOKEN``), ``SFTP_HOST`` an SFTP server, and
    with neither, records go to Function Storage under ``deliveries/``.
    """
    if secrets.get("FMC_URL"):
        _allow("fmc-http", allowed, function)
        from samsara_fmc.sinks.fmc_http import FmcHttpSink

        if not secrets.get("FMC_TOKEN"):
            raise ConfigurationError("secret `FMC_URL` is set but `FMC_TOKEN` is not: set both, or neither")
        fmc: Sink = FmcHttpSink(
            secrets["FMC_URL"], secrets["FMC_TOKEN"], user_agent=f"samsara-functions/{function}"
        )
        return fmc
    if secrets.get("SFTP_HOST"):
        _allow("sftp", allowed, function)
        from samsara_fmc.sinks.sftp import SftpSink

        sftp: Sink = SftpSink.from_secrets(secrets)
        return sftp
    _allow("storage", allowed, function)
    from samsara_fmc.sinks.storage import StorageSink

    return StorageSink(store)


def _allow(sink: str, allowed: Sequence[str], function: str) -> None:
    if sink not in allowed:
        msg = f"Function `{function}` cannot deliver to `{sink}`: configure one of {list(allowed)}"
        raise ConfigurationError(msg)
