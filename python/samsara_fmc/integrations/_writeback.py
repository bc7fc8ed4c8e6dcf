"""What the two-way workflow integrations (forms and issues, driver messages) share: whether the FMC's
changes feed can be followed, a run whose ``reset`` spares the ledger, and checks of FMC change data.

A ``reset`` starts the Samsara → FMC streams afresh; it never resets a ``ledger`` stream, because the
ledger's state (its cursor and the changes it finished) is what keeps writes without a natural key
(a message, a form sent to a driver) from being sent again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from samsara_fmc.engine import RunContext, Stream, run_streams
from samsara_fmc.sinks.fmc_http import FmcHttpSink

__all__ = ["changes_feed", "external_id_problem", "run_both", "text_field"]


def changes_feed(ctx: RunContext, switch: str) -> tuple[FmcHttpSink | None, dict[str, Any]]:
    """The FMC endpoint whose changes feed the ledger follows, and the summary's ``writeBack``
    (whether it runs, and why not): it runs when the event parameter ``switch`` is on and the run's
    sink is the FMC endpoint (the feed is the FMC's)."""
    if not ctx.params.get(switch, True):
        return None, {"ran": False, "why": f"`{switch}` is `false`"}
    sink = getattr(ctx.sink, "inner", ctx.sink)
    if not isinstance(sink, FmcHttpSink):
        name = getattr(sink, "name", type(sink).__name__)
        why = (
            f"the sink is `{name}`, not the FMC endpoint, so there is no changes feed: set the"
            " `FMC_URL` and `FMC_TOKEN` secrets to write the FMC's changes to Samsara"
        )
        return None, {"ran": False, "why": why}
    return sink, {"ran": True, "why": None}


def run_both(
    ctx: RunContext, inbound: Sequence[Stream], ledgers: Sequence[Stream], write_back: Mapping[str, Any]
) -> dict[str, Any]:
    """Runs the inbound streams (``reset`` and ``maxPages`` apply) and then the ledger streams (only
    ``maxPages``); one summary, with ``writeBack``."""
    if not write_back["ran"]:
        ctx.log.info("write-back not run", why=write_back["why"])
    max_pages = ctx.params.get("maxPages")
    out = run_streams(ctx, inbound, reset=bool(ctx.params.get("reset")), max_pages=max_pages)
    if ledgers:
        more = run_streams(ctx, ledgers, max_pages=max_pages)
        for k in ("records", "repeated", "rejected"):
            out[k] += more[k]
        out["caughtUp"] = out["caughtUp"] and more["caughtUp"]
        out["stoppedByDeadline"] = out["stoppedByDeadline"] or more["stoppedByDeadline"]
        out["busy"] = [*out["busy"], *more["busy"]]
        out["streams"] = [*out["streams"], *more["streams"]]
    return {**out, "writeBack": dict(write_back)}


def text_field(data: Mapping[str, Any], key: str, *, required: bool, fix: str) -> str | None:
    """A sentence naming what is wrong with ``data[key]`` (a non-empty string), or ``None``."""
    value = data.get(key)
    if value is None or value == "":
        return f"`data.{key}` is missing: {fix}" if required else None
    if not isinstance(value, str) or not value.strip():
        return f"`data.{key}` is `{value}`, not a text: {fix}"
    return None


def external_id_problem(key: str, value: str) -> str | None:
    """Why ``value`` cannot be an external ID under ``key`` (printable ASCII without spaces, ``/`` or
    ``,``; at most 32 characters here), or ``None``."""
    if not value or len(value) > 32 or any(not (33 <= ord(c) <= 126) or c in "/," for c in value):
        return (
            f"`{value}` cannot be the external ID `{key}`: use 1 to 32 printable ASCII characters without"
            " spaces, `/` or `,`"
        )
    return None
