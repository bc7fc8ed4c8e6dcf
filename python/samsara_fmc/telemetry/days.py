"""A vehicle's local day: counters at its first and last readings, maxima and counts, emitted when the
day closes and again, under the same ``id``, when late data changes it.

Counters are Samsara's cumulative ones (OBD odometer, GPS odometer, engine seconds, idle milliseconds,
fuel consumed): a day's figure is its last reading less its first, so readings arriving out of order
(a vehicle back from a dead zone) change the day only as far as they move its first or last reading,
and arriving twice changes nothing. The distance is the OBD odometer's (the GPS odometer's when the
vehicle has no OBD odometer), with the source named; when both exist and disagree by more than the
divergence limit, the day is flagged ``divergence``. Rollbacks and jumps seen that day are flagged too;
nothing is corrected.

When ``state["since"]`` is set (the integration sets it to its first run's time), a day that began
before it is partial (only its end was seen): it is not delivered, and not kept either (readings for
it are not accumulated once ``since`` is set; a day accumulated before is dropped when it closes). A
day closes ``close_after_s`` after its local midnight (in ``zone``); it is kept ``keep_s`` longer so
late readings amend it, then forgotten (later readings for it are counted as too late).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import zoneinfo
from collections.abc import Callable
from typing import Any

from samsara_fmc.exceptions import ConfigurationError
from samsara_fmc.telemetry._time import epoch, text

__all__ = ["COUNTERS", "DayTracker", "zone"]

COUNTERS = (
    "obdOdometerMeters",
    "gpsOdometerMeters",
    "obdEngineSeconds",
    "idlingDurationMilliseconds",
    "fuelConsumedMilliliters",
)
_KMH_PER_MPH = 1.609344


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name``, or a :class:`ConfigurationError` naming it and the fix."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        msg = f"event parameter `timeZone` is `{name}`: use an IANA time zone such as `America/Chicago`"
        raise ConfigurationError(msg) from None


class DayTracker:
    """Every vehicle's open and recently closed days; ``state`` is JSON-able and changed in place.

    ``state["days"][vehicle][date]`` is a day (per vehicle, so a vehicle's part can be stored on its
    own); ``tooLate``, ``since`` and ``forgotten`` are the tracker's own."""

    def __init__(
        self,
        state: dict[str, Any],
        *,
        time_zone: str,
        close_after_s: float = 3600.0,
        keep_s: float = 2 * 86_400.0,
        divergence_percent: float = 10.0,
        divergence_min_m: float = 2_000.0,
    ) -> None:
        self.state = state
        self.time_zone = time_zone
        self.zone = zone(time_zone)
        self.close_after_s = close_after_s
        self.keep_s = keep_s
        self.divergence_percent = divergence_percent
        self.divergence_min_m = divergence_min_m
        self._bounds: dict[str, tuple[float, float]] = {}
        self._dates: dict[int, str] = {}
        self.touched: set[str] = set()
        """Vehicles whose days :meth:`due` changed (closed, found partial, forgotten)."""
        days = state.setdefault("days", {})
        # State written before days were kept per vehicle: flat ``vehicle|date`` keys.
        for k in [k for k, d in days.items() if "|" in k and isinstance(d, dict) and "date" in d]:
            d = days.pop(k)
            days.setdefault(str(d["vehicle"]), {})[str(d["date"])] = d
        state.setdefault("tooLate", 0)
        state.setdefault("closedUntil", None)

    # -- accumulation --------------------------------------------------------------------------

    def _day(self, vehicle: str, t: float) -> dict[str, Any] | None:
        date = self._date(t)
        mine: dict[str, Any] | None = self.state["days"].get(vehicle)
        day: dict[str, Any] | None = None if mine is None else mine.get(date)
        if day is None:
            lo, hi = self.bounds(date)
            since = self.state.get("since")
            if since is not None and lo < since:  # partial (begun before the tracker): never delivered
                return None
            horizon = self.state.get("forgotten") or {}
            if hi + self.close_after_s + self.keep_s <= float(horizon.get("at", float("-inf"))):
                self.state["tooLate"] += 1
                return None
            day = {
                "vehicle": vehicle,
                "date": date,
                "counters": {},
                "maxSpeed": None,
                "counts": {},
                "first": t,
                "last": t,
                "sent": None,
                "faultsOpen": None,
            }
            self.state["days"].setdefault(vehicle, {})[date] = day
        day["first"] = min(float(day["first"]), t)
        day["last"] = max(float(day["last"]), t)
        day["dirty"] = True
        return day

    def bounds(self, date: str) -> tuple[float, float]:
        """A local date's ``[start, end)`` as Unix seconds (23 or 25 hours across a DST change)."""
        cached = self._bounds.get(date)
        if cached is None:
            d = _dt.date.fromisoformat(date)
            lo = _dt.datetime.combine(d, _dt.time(), tzinfo=self.zone).timestamp()
            hi = _dt.datetime.combine(d + _dt.timedelta(days=1), _dt.time(), tzinfo=self.zone).timestamp()
            cached = self._bounds[date] = (lo, hi)
        return cached

    def _date(self, t: float) -> str:
        """The local date of ``t``, looked up per quarter hour (every UTC offset in use is a multiple of
        15 minutes, so a local date never changes inside one)."""
        block = int(t // 900)
        date = self._dates.get(block)
        if date is None:
            date = self._dates[block] = _dt.datetime.fromtimestamp(t, self.zone).date().isoformat()
        return date

    def counter(self, vehicle: str, name: str, time: str, value: float) -> None:
        """A reading of a cumulative counter (one of :data:`COUNTERS`)."""
        t = epoch(time)
        day = self._day(vehicle, t)
        if day is None:
            return
        c = day["counters"].get(name)
        if c is None:
            day["counters"][name] = [t, value, t, value]
            return
        if t < c[0]:
            c[0], c[1] = t, value
        if t > c[2]:
            c[2], c[3] = t, value

    def speed(self, vehicle: str, time: str, mph: float) -> None:
        """A speed reading (mph)."""
        t = epoch(time)
        day = self._day(vehicle, t)
        if day is not None and (day["maxSpeed"] is None or mph > day["maxSpeed"][1]):
            day["maxSpeed"] = [t, mph]

    def count(self, vehicle: str, time: str, what: str) -> None:
        """Counts an event of the day (``faultsOpened``, ``alerts``, ``rollback``, ``jump``)."""
        day = self._day(vehicle, epoch(time))
        if day is not None:
            day["counts"][what] = day["counts"].get(what, 0) + 1

    def seen(self, vehicle: str, time: str) -> None:
        """Any reading: the day exists and was seen until then."""
        self._day(vehicle, epoch(time))

    # -- closing -------------------------------------------------------------------------------

    def due(self, now: float, open_faults: Callable[[str], int]) -> list[dict[str, Any]]:
        """Records of the days closed by ``now`` that were not delivered yet or changed since."""
        out = []
        days: dict[str, dict[str, Any]] = self.state["days"]
        since = self.state.get("since")
        dirty = [(date, v) for v, mine in days.items() for date, d in mine.items() if d.get("dirty", True)]
        for date, vehicle in sorted(dirty):
            day = days[vehicle][date]
            lo, hi = self.bounds(day["date"])
            if now < hi + self.close_after_s:
                continue
            self.touched.add(vehicle)
            if since is not None and lo < since:  # begun before the tracker was: partial, not summed
                del days[vehicle][date]  # nor kept: nothing about it will ever be delivered
                if not days[vehicle]:
                    del days[vehicle]
                continue
            day["dirty"] = False
            if day["faultsOpen"] is None:
                day["faultsOpen"] = open_faults(day["vehicle"])
            rec = self.record(day)
            digest = hashlib.blake2b(json.dumps(rec, sort_keys=True).encode(), digest_size=8).hexdigest()
            if digest != day["sent"]:
                day["sent"] = digest
                out.append(rec)
        cutoff = now - self.close_after_s - self.keep_s
        gone = {date for mine in days.values() for date in mine if self.bounds(date)[1] <= cutoff}
        if gone:
            for vehicle in list(days):
                mine = days[vehicle]
                for date in gone.intersection(mine):
                    del mine[date]
                    self.touched.add(vehicle)
                if not mine:
                    del days[vehicle]
        self.state["forgotten"] = {"at": now}
        return out

    def record(self, day: dict[str, Any]) -> dict[str, Any]:
        """The ``vehicle_day`` record of an accumulated day."""
        c = day["counters"]

        def first(name: str) -> float | None:
            return c[name][1] if name in c else None

        def last(name: str) -> float | None:
            return c[name][3] if name in c else None

        def delta(name: str) -> float | None:
            return c[name][3] - c[name][1] if name in c else None

        source = "obd" if "obdOdometerMeters" in c else ("gps" if "gpsOdometerMeters" in c else None)
        odo = {"obd": "obdOdometerMeters", "gps": "gpsOdometerMeters"}.get(source or "")
        flags = [k for k in ("rollback", "jump") if day["counts"].get(k)]
        obd_d, gps_d = delta("obdOdometerMeters"), delta("gpsOdometerMeters")
        if obd_d is not None and gps_d is not None:
            limit = max(self.divergence_min_m, self.divergence_percent / 100.0 * max(abs(obd_d), abs(gps_d)))
            if abs(obd_d - gps_d) > limit:
                flags.append("divergence")
        eng0, eng1 = first("obdEngineSeconds"), last("obdEngineSeconds")
        idle = delta("idlingDurationMilliseconds")
        speed = day["maxSpeed"]
        return {
            "id": f"{day['vehicle']}:{day['date']}",
            "schemaVersion": 1,
            "vehicleId": day["vehicle"],
            "date": day["date"],
            "timeZone": self.time_zone,
            "odometerSource": source,
            "startOdometerMeters": first(odo) if odo else None,
            "endOdometerMeters": last(odo) if odo else None,
            "distanceMeters": delta(odo) if odo else None,
            "gpsDistanceMeters": gps_d,
            "odometerFlags": flags,
            "startEngineHours": None if eng0 is None else round(eng0 / 3600.0, 3),
            "endEngineHours": None if eng1 is None else round(eng1 / 3600.0, 3),
            "engineHours": None if eng0 is None or eng1 is None else round((eng1 - eng0) / 3600.0, 3),
            "idleHours": None if idle is None else round(idle / 3_600_000.0, 3),
            "fuelUsedMilliliters": delta("fuelConsumedMilliliters"),
            "maxSpeedMph": None if speed is None else speed[1],
            "maxSpeedKph": None if speed is None else round(speed[1] * _KMH_PER_MPH, 2),
            "maxSpeedAt": None if speed is None else text(speed[0]),
            "faultsOpened": day["counts"].get("faultsOpened", 0),
            "faultsOpen": day["faultsOpen"] or 0,
            "alerts": day["counts"].get("alerts", 0),
            "firstSeen": text(day["first"]),
            "lastSeen": text(day["last"]),
        }
