"""Engine-state transitions: ``engineStates`` points (``Off``, ``On``, ``Idle``) as changes of state.

A point that repeats the current state is no transition (the feed's first call, and the hourly
reminders some devices send, repeat it). A transition record names the new state, the previous one,
when the previous one began and how long it lasted. The first point seen of a vehicle only sets the
state: what came before it is unknown. Points older than the last one seen (late uploads) are
counted, not applied: a transition cannot be placed behind later ones.
"""

from __future__ import annotations

from typing import Any

from samsara_fmc.telemetry._time import epoch, text

__all__ = ["STATES", "EngineStateTracker"]

STATES = ("Off", "On", "Idle")


class EngineStateTracker:
    """Each vehicle's current engine state and since when; ``state`` is JSON-able, changed in place."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        state.setdefault("vehicles", {})
        state.setdefault("late", 0)

    def current(self, vehicle: str) -> str | None:
        """The vehicle's last known state."""
        v = self.state["vehicles"].get(vehicle)
        return None if v is None else str(v["state"])

    def at(self, vehicle: str, time: str) -> str | None:
        """The state at ``time`` as far as known (the current one if ``time`` is not before its start)."""
        v = self.state["vehicles"].get(vehicle)
        if v is None or epoch(time) < v["since"]:
            return v.get("previous") if v else None
        return str(v["state"])

    def observe(self, vehicle: str, time: str, value: str) -> list[dict[str, Any]]:
        """One ``engineStates`` point; the transition record it makes (or nothing)."""
        t = epoch(time)
        v = self.state["vehicles"].get(vehicle)
        if v is None:
            self.state["vehicles"][vehicle] = {"state": value, "since": t, "last": t, "previous": None}
            return []
        if t < v["last"]:
            self.state["late"] += 1
            return []
        v["last"] = t
        if value == v["state"]:
            return []
        prev, since = v["state"], v["since"]
        v.update(state=value, since=t, previous=prev)
        return [
            {
                "id": f"{vehicle}:{time}",
                "schemaVersion": 1,
                "vehicleId": vehicle,
                "time": time,
                "state": value,
                "previousState": prev,
                "previousSince": text(since),
                "previousDurationSeconds": round(t - since, 3),
            }
        ]
