"""Token scopes: a cheap probe per scope, so a run can name every scope its token lacks before work.

A read scope is probed with the smallest read of an endpoint that needs it. A write scope is probed
with a write that cannot apply (an empty body to an ID that does not exist): Samsara checks the scope
first, so a 403 means the scope is missing and any other answer (404, 400) means it is granted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from samsara_fmc.client import Client, ParamValue
from samsara_fmc.exceptions import ApiStatusError, ConfigurationError, PermissionDeniedError

__all__ = ["PROBES", "Probe", "missing_scopes"]


@dataclass(frozen=True)
class Probe:
    """A request that answers 403 exactly when the token lacks the scope."""

    method: Literal["GET", "PATCH", "POST"]
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: Any = None


_NO_ID = "0"
PROBES: dict[str, Probe] = {
    "Read Org Information": Probe("GET", "/me"),
    "Read Vehicles": Probe("GET", "/fleet/vehicles", (("limit", "1"),)),
    "Read Vehicle Statistics": Probe("GET", "/fleet/vehicles/stats", (("types", "engineStates"),)),
    "Read Drivers": Probe("GET", "/fleet/drivers", (("limit", "1"),)),
    "Read Tags": Probe("GET", "/tags", (("limit", "1"),)),
    "Read Defects": Probe("GET", f"/defects/{_NO_ID}"),
    "Read Defect Types": Probe("GET", "/defect-types", (("limit", "1"),)),
    "Read DVIRs": Probe("GET", "/dvirs/stream", (("startTime", "2020-01-01T00:00:00Z"), ("limit", "1"))),
    "Read Assignments": Probe("GET", "/fleet/driver-vehicle-assignments", (("filterBy", "vehicles"),)),
    "Read Readings": Probe("GET", "/readings/definitions"),
    "Read Form Submissions": Probe("GET", "/form-templates"),
    "Read Issues": Probe("GET", "/issues", (("ids", _NO_ID),)),
    "Read Media Retrieval": Probe("GET", "/cameras/media/retrieval", (("retrievalId", _NO_ID),)),
    "Read Safety Events & Scores": Probe("GET", "/safety-events", (("safetyEventIds", _NO_ID),)),
    "Read Speeding Intervals": Probe(
        "GET",
        "/speeding-intervals/stream",
        (("startTime", "2020-01-01T00:00:00Z"), ("endTime", "2020-01-01T00:00:00Z")),
    ),
    "Read Trips": Probe(
        "GET",
        "/trips/stream",
        (("startTime", "2020-01-01T00:00:00Z"), ("endTime", "2020-01-01T00:00:00Z")),
    ),
    "Read Vehicle Trips": Probe(
        "GET", "/v1/fleet/trips", (("vehicleId", _NO_ID), ("startMs", "0"), ("endMs", "0"))
    ),
    "Read Idling": Probe(
        "GET",
        "/idling/events",
        (("startTime", "2024-01-01T00:00:00Z"), ("endTime", "2024-01-01T00:00:01Z"), ("limit", "1")),
    ),
    "Read IFTA (US)": Probe(
        "GET",
        "/fleet/reports/ifta/jurisdiction",
        (("year", "2024"), ("month", "January"), ("jurisdictions", "ZZ")),
    ),
    "Write Defects": Probe("PATCH", f"/fleet/defects/{_NO_ID}", body={}),
    "Write Drivers": Probe("PATCH", f"/fleet/drivers/{_NO_ID}", body={}),
    "Write Tags": Probe("PATCH", f"/tags/{_NO_ID}", body={}),
    "Write Vehicles": Probe("PATCH", f"/fleet/vehicles/{_NO_ID}", body={}),
    "Write Issues": Probe("PATCH", "/issues", body={}),
    "Write Form Submissions": Probe("PATCH", "/form-submissions", body={}),
    "Read Messages": Probe("GET", "/v1/fleet/messages", (("durationMs", "0"),)),
    "Write Messages": Probe("POST", "/v1/fleet/messages", body={}),
    "Write Media Retrieval": Probe("POST", "/cameras/media/retrieval", body={}),
    "Write Assignments": Probe("PATCH", "/fleet/driver-vehicle-assignments", body={}),
}


def missing_scopes(client: Client, scopes: Iterable[str], *, deadline: float | None = None) -> list[str]:
    """The scopes among ``scopes`` the client's token lacks (one probe each).

    Raises:
        ConfigurationError: A scope has no probe (a manifest naming a scope this version does not know).
        AuthenticationError: The token itself is refused.
    """
    missing = []
    for scope in scopes:
        probe = PROBES.get(scope)
        if probe is None:
            msg = f"no probe for scope `{scope}`: use one of {', '.join(f'`{s}`' for s in PROBES)}"
            raise ConfigurationError(msg)
        params: dict[str, ParamValue] = dict(probe.params)
        try:
            client.request(probe.method, probe.path, params=params, json_body=probe.body, deadline=deadline)
        except PermissionDeniedError:
            missing.append(scope)
        except ApiStatusError as e:
            if e.status_code in (429,) or e.status_code >= 500:
                raise
    return missing
