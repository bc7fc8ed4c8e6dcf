"""Odometer sanity: readings that go backwards or forwards faster than a vehicle can drive.

Each vehicle's last OBD odometer reading is kept; a new reading lower than it by more than the
tolerance is a *rollback* (an ECU swapped or reset), one higher by more than ``maxSpeedKph`` allows in
the time between them is a *jump*. Either is reported with the readings on both sides and counted;
nothing is "fixed": the reading becomes the new reference, as the vehicle's odometer now reads it.
Divergence between the OBD and GPS odometers is judged over a day (see :mod:`.days`).
"""

from __future__ import annotations

from typing import Any

from samsara_fmc.telemetry._time import epoch, text

__all__ = ["OdometerSanity"]


class OdometerSanity:
    """Flags odometer anomalies per vehicle; ``state`` is JSON-able and changed in place."""

    def __init__(
        self,
        state: dict[str, Any],
        *,
        max_speed_kph: float = 250.0,
        rollback_tolerance_m: float = 100.0,
        min_jump_m: float = 1_000.0,
    ) -> None:
        self.state = state
        self.max_speed_kph = max_speed_kph
        self.rollback_tolerance_m = rollback_tolerance_m
        self.min_jump_m = min_jump_m
        state.setdefault("vehicles", {})
        state.setdefault("counts", {"rollback": 0, "jump": 0, "late": 0})

    def observe(self, vehicle: str, time: str, meters: float) -> dict[str, Any] | None:
        """One OBD odometer reading; the anomaly it shows (``kind``, readings, rate), if any."""
        t = epoch(time)
        last = self.state["vehicles"].get(vehicle)
        self.state["vehicles"][vehicle] = [t, meters] if last is None or t >= last[0] else last
        if last is None:
            return None
        if t < last[0]:
            self.state["counts"]["late"] += 1
            return None
        t0, m0 = last
        delta = meters - m0
        kind = None
        rate_kph = None
        if delta < -self.rollback_tolerance_m:
            kind = "rollback"
        elif delta >= self.min_jump_m:
            hours = max(t - t0, 1.0) / 3600.0
            rate_kph = delta / 1000.0 / hours
            if rate_kph > self.max_speed_kph:
                kind = "jump"
        if kind is None:
            return None
        self.state["counts"][kind] += 1
        return {
            "kind": kind,
            "previousTime": text(t0),
            "previousMeters": m0,
            "meters": meters,
            "deltaMeters": delta,
            "impliedSpeedKph": None if rate_kph is None else round(rate_kph, 1),
        }
