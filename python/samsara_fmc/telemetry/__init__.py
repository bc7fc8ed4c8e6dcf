"""Maintenance telemetry as events: the pure logic of the ``vehicle-maintenance`` Function.

Each tracker is a small class over a JSON-able ``dict`` (its state), so the Function can keep it in the
stream's state document and commit it together with the feed cursors: a tracker's state moves on only
when the records it produced were delivered.

- :mod:`~samsara_fmc.telemetry.faults`: J1939 and OBD-II fault codes decoded into one shape, and their
  lifecycle (opened after a debounce, updated, closed) per vehicle.
- :mod:`~samsara_fmc.telemetry.alerts`: threshold alerts with hysteresis (one per episode, a clear record
  when it ends).
- :mod:`~samsara_fmc.telemetry.odometer`: odometer sanity (rollbacks, impossible jumps).
- :mod:`~samsara_fmc.telemetry.engine`: engine-state transitions with the previous state's duration.
- :mod:`~samsara_fmc.telemetry.days`: a vehicle's local day (odometer, engine and idle hours, fuel, max
  speed, faults, alerts, last seen), emitted when the day closes and again when late data changes it.
"""

from samsara_fmc.telemetry.alerts import ALERT_KINDS, AlertTracker, Thresholds
from samsara_fmc.telemetry.days import DayTracker
from samsara_fmc.telemetry.engine import EngineStateTracker
from samsara_fmc.telemetry.faults import FMI_MEANINGS, FaultCode, FaultTracker, decode
from samsara_fmc.telemetry.odometer import OdometerSanity

__all__ = [
    "ALERT_KINDS",
    "FMI_MEANINGS",
    "AlertTracker",
    "DayTracker",
    "EngineStateTracker",
    "FaultCode",
    "FaultTracker",
    "OdometerSanity",
    "Thresholds",
    "decode",
]
