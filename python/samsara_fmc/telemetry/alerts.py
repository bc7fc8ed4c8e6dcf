"""Threshold alerts with hysteresis: one alert record per episode, one clear record when it ends.

An episode of a kind (and subject: the tire, the fault) starts at the first reading below its
threshold and ends at the first reading at or above the threshold plus the kind's hysteresis, so a
value hovering at the threshold raises one alert, not one per reading. Both records carry the same
``id`` (the FMC upserts the alert with its end); the clear record has ``status: cleared`` and the
episode's worst value.

Kinds: ``lowBattery`` (the engine-off threshold while the engine is off or its state unknown, the
engine-on threshold while it runs: a healthy charging system reads higher), ``lowOilPressure`` (only
while the engine runs; the engine stopping ends an episode), ``lowFuel``, ``lowTirePressure`` (per
tire), ``newFault`` (a fault opened; cleared when it closes) and the odometer's one-off flags
(``odometerRollback``, ``odometerJump``: ``status: flagged``, nothing to clear).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.telemetry._time import epoch

__all__ = ["ALERT_KINDS", "AlertTracker", "Thresholds"]

ALERT_KINDS = ("lowBattery", "lowOilPressure", "lowFuel", "lowTirePressure", "newFault")
"""The alert kinds a Function can switch on."""

_RUNNING = ("On", "Idle")


@dataclass(frozen=True)
class Thresholds:
    """The alert thresholds, in Samsara's units, with their hysteresis."""

    battery_off_mv: int = 12_000
    battery_on_mv: int = 13_000
    battery_hysteresis_mv: int = 200
    oil_kpa: int = 100
    oil_hysteresis_kpa: int = 20
    fuel_percent: int = 15
    fuel_hysteresis_percent: int = 5
    tire_kpa: int = 550
    tire_hysteresis_kpa: int = 15

    def __post_init__(self) -> None:
        checks = [
            ("batteryOffMilliVolts", self.battery_off_mv, 6_000, 30_000),
            ("batteryOnMilliVolts", self.battery_on_mv, 6_000, 32_000),
            ("oilPressureKPa", self.oil_kpa, 1, 1_000),
            ("fuelPercent", self.fuel_percent, 1, 99),
            ("tirePressureKPa", self.tire_kpa, 50, 1_500),
        ]
        for name, value, lo, hi in checks:
            if not lo <= value <= hi:
                msg = f"threshold `{name}` is {value}: use a value from {lo} to {hi}"
                raise ConfigurationError(msg)
        if self.battery_on_mv < self.battery_off_mv:
            msg = (
                f"threshold `batteryOnMilliVolts` ({self.battery_on_mv}) is below `batteryOffMilliVolts`"
                f" ({self.battery_off_mv}): a running engine charges the battery, so its threshold is the"
                " higher one"
            )
            raise ConfigurationError(msg)

    def limit(self, kind: str, engine_state: str | None) -> tuple[float, float, str] | None:
        """(threshold, hysteresis, unit) of ``kind`` in ``engine_state``; ``None``: not assessed now."""
        if kind == "lowBattery":
            on = engine_state in _RUNNING
            return (self.battery_on_mv if on else self.battery_off_mv), self.battery_hysteresis_mv, "mV"
        if kind == "lowOilPressure":
            return (self.oil_kpa, self.oil_hysteresis_kpa, "kPa") if engine_state in _RUNNING else None
        if kind == "lowFuel":
            return self.fuel_percent, self.fuel_hysteresis_percent, "%"
        if kind == "lowTirePressure":
            return self.tire_kpa, self.tire_hysteresis_kpa, "kPa"
        msg = f"unknown alert kind `{kind}`: use one of {', '.join(ALERT_KINDS)}"
        raise ConfigurationError(msg)


class AlertTracker:
    """Open alert episodes of every vehicle; ``state`` is JSON-able and changed in place.

    ``state["vehicles"][vehicle]`` holds the vehicle's open episodes and its last reading time per
    ``kind|subject`` (per vehicle, so a vehicle's part can be stored on its own)."""

    def __init__(
        self, state: dict[str, Any], thresholds: Thresholds, *, kinds: tuple[str, ...] = ALERT_KINDS
    ):
        self.state = state
        self.thresholds = thresholds
        self.kinds = kinds
        vehicles = state.setdefault("vehicles", {})
        # State written before episodes were kept per vehicle: flat ``vehicle|kind|subject`` keys.
        for part in ("open", "last"):
            for k, v in (state.pop(part, None) or {}).items():
                vehicle, sub = k.split("|", 1)
                vehicles.setdefault(vehicle, {"open": {}, "last": {}})[part][sub] = v
        state.setdefault("late", 0)

    def _vehicle(self, vehicle: str) -> dict[str, dict[str, Any]]:
        v: dict[str, dict[str, Any]] | None = self.state["vehicles"].get(vehicle)
        if v is None:
            v = {"open": {}, "last": {}}
            self.state["vehicles"][vehicle] = v
        return v

    def active(self, vehicle: str) -> list[dict[str, Any]]:
        """The vehicle's open episodes."""
        return list((self.state["vehicles"].get(vehicle) or {}).get("open", {}).values())

    def observe(
        self,
        vehicle: str,
        kind: str,
        time: str,
        value: float,
        *,
        subject: str | None = None,
        engine_state: str | None = None,
    ) -> list[dict[str, Any]]:
        """One reading; the alert or clear record it produces (or nothing)."""
        if kind not in self.kinds:
            return []
        key = f"{kind}|{subject or ''}"
        t = epoch(time)
        v = self._vehicle(vehicle)
        last = v["last"].get(key)
        if last is not None and t <= last:  # a reading seen again (a page repeated) changes nothing
            if t < last:
                self.state["late"] += 1
            return []
        v["last"][key] = t
        limit = self.thresholds.limit(kind, engine_state)
        episode = v["open"].get(key)
        if limit is None:
            if episode is not None:  # the engine stopped: an oil-pressure episode ends
                return [self._close(vehicle, key, time, value, engine_state, reason="engineStopped")]
            return []
        threshold, hysteresis, unit = limit
        if episode is None:
            if value < threshold:
                rec = {
                    "id": f"{vehicle}:{kind}{':' + subject if subject else ''}:{time}",
                    "schemaVersion": 1,
                    "vehicleId": vehicle,
                    "kind": kind,
                    "subject": subject,
                    "status": "active",
                    "startedAt": time,
                    "endedAt": None,
                    "value": value,
                    "worstValue": value,
                    "lastValue": value,
                    "unit": unit,
                    "threshold": threshold,
                    "clearsAt": threshold + hysteresis,
                    "engineState": engine_state,
                    "readings": 1,
                    "endReason": None,
                }
                v["open"][key] = rec
                return [dict(rec)]
            return []
        episode["readings"] += 1
        episode["lastValue"] = value
        episode["worstValue"] = min(episode["worstValue"], value)
        if value >= threshold + hysteresis:
            return [self._close(vehicle, key, time, value, engine_state, reason="recovered")]
        return []

    def fault(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A ``newFault`` alert from a fault record: raised when it opens, cleared when it closes."""
        if "newFault" not in self.kinds or record.get("event") == "updated":
            return []
        vehicle, subject = str(record["vehicleId"]), str(record["faultKey"])
        key = f"newFault|{subject}"
        if record["event"] == "opened":
            rec = {
                "id": f"{vehicle}:newFault:{subject}:{record['openedAt']}",
                "schemaVersion": 1,
                "vehicleId": vehicle,
                "kind": "newFault",
                "subject": subject,
                "status": "active",
                "startedAt": record["openedAt"],
                "endedAt": None,
                "value": None,
                "worstValue": None,
                "lastValue": None,
                "unit": None,
                "threshold": None,
                "clearsAt": None,
                "engineState": record.get("engineState"),
                "readings": 1,
                "endReason": None,
                "faultId": record["id"],
                "code": record.get("code"),
            }
            self._vehicle(vehicle)["open"][key] = rec
            return [dict(rec)]
        if key in (self.state["vehicles"].get(vehicle) or {}).get("open", {}):
            closed_at = str(record["closedAt"])
            return [
                self._close(vehicle, key, closed_at, None, record.get("engineStateAtClose"), "faultClosed")
            ]
        return []

    def flag(
        self, vehicle: str, kind: str, time: str, value: float, detail: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A one-off flag (an odometer anomaly): no episode, nothing to clear."""
        return {
            "id": f"{vehicle}:{kind}:{time}",
            "schemaVersion": 1,
            "vehicleId": vehicle,
            "kind": kind,
            "subject": None,
            "status": "flagged",
            "startedAt": time,
            "endedAt": time,
            "value": value,
            "worstValue": value,
            "lastValue": value,
            "unit": "m",
            "threshold": None,
            "clearsAt": None,
            "engineState": None,
            "readings": 1,
            "endReason": None,
            **{k: v for k, v in detail.items() if k not in ("kind", "id")},
        }

    def _close(
        self, vehicle: str, key: str, time: str, value: float | None, engine_state: str | None, reason: str
    ) -> dict[str, Any]:
        rec: dict[str, Any] = self.state["vehicles"][vehicle]["open"].pop(key)
        rec.update(status="cleared", endedAt=time, endReason=reason, engineStateAtEnd=engine_state)
        if value is not None:
            rec["lastValue"] = value
        return rec
