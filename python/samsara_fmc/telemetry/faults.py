"""Fault codes: decoding the stats feed's ``faultCodes`` points, and each code's lifecycle per vehicle.

A ``faultCodes`` point lists every code the vehicle reports at that instant (J1939 trouble codes with
their lamps, OBD-II confirmed, pending and permanent DTCs with the MIL, OEM codes). :func:`decode` turns
one point into :class:`FaultCode` values of one shape, keyed so the same code on the same controller is
the same fault from point to point.

:class:`FaultTracker` follows the codes over time: a code seen for the first time is *pending*; it
*opens* once it has been reported continuously for the debounce (a code that disappears before that
is a flap and opens nothing); an open fault is *updated* when its occurrence count or lamps change and
*closed* at the first point that no longer reports it. Points older than the last one seen for the
vehicle (late uploads) cannot be placed in the sequence and are counted, not applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from samsara_fmc.telemetry._time import epoch, text

__all__ = ["FMI_MEANINGS", "FaultCode", "FaultTracker", "decode", "fmi_meaning"]

FMI_MEANINGS: dict[int, str] = {
    0: "Data valid but above normal operational range - most severe level",
    1: "Data valid but below normal operational range - most severe level",
    2: "Data erratic, intermittent or incorrect",
    3: "Voltage above normal, or shorted to high source",
    4: "Voltage below normal, or shorted to low source",
    5: "Current below normal or open circuit",
    6: "Current above normal or grounded circuit",
    7: "Mechanical system not responding or out of adjustment",
    8: "Abnormal frequency or pulse width or period",
    9: "Abnormal update rate",
    10: "Abnormal rate of change",
    11: "Root cause not known",
    12: "Bad intelligent device or component",
    13: "Out of calibration",
    14: "Special instructions",
    15: "Data valid but above normal operating range - least severe level",
    16: "Data valid but above normal operating range - moderately severe level",
    17: "Data valid but below normal operating range - least severe level",
    18: "Data valid but below normal operating range - moderately severe level",
    19: "Received network data in error",
    20: "Data drifted high",
    21: "Data drifted low",
    31: "Condition exists",
}
"""The failure mode identifiers of SAE J1939-73 (22 to 30 are reserved)."""


def fmi_meaning(fmi: int) -> str | None:
    """The standard meaning of a J1939 FMI (``None`` outside 0-31)."""
    if 22 <= fmi <= 30:
        return "Reserved for SAE assignment"
    return FMI_MEANINGS.get(fmi)


@dataclass(frozen=True)
class FaultCode:
    """One code reported at one instant, in the shape shared by J1939, OBD-II and OEM codes.

    ``key`` identifies the fault across points: protocol, controller (``txId``) and code (and for
    OBD-II its status, since a pending code that becomes confirmed is a new stage of the fault).
    """

    key: str
    protocol: str
    code: str
    source_address: int | None = None
    source_address_name: str | None = None
    spn: int | None = None
    fmi: int | None = None
    fmi_meaning: str | None = None
    spn_description: str | None = None
    fmi_description: str | None = None
    dtc_id: int | None = None
    dtc_short_code: str | None = None
    dtc_status: str | None = None
    description: str | None = None
    severity: str | None = None
    occurrence_count: int | None = None
    mil: bool | None = None
    lamps: dict[str, bool] | None = field(default=None, hash=False, compare=False)

    def fields(self) -> dict[str, Any]:
        """The record fields of this code (camelCase)."""
        out = {}
        for k, v in asdict(self).items():
            if k == "key":
                continue
            head, *rest = k.split("_")
            out[head + "".join(w.title() for w in rest)] = v
        return out


def _int(value: Any) -> int | None:
    return None if value is None or isinstance(value, bool) else int(value)


def decode(point: Mapping[str, Any]) -> list[FaultCode]:
    """Every code a ``faultCodes`` point (or decoration) reports; an empty list when none is active."""
    out: list[FaultCode] = []
    j1939 = point.get("j1939") or {}
    lights = j1939.get("checkEngineLights") or None
    lamps = (
        {k: bool(lights.get(k)) for k in ("emissionsIsOn", "protectIsOn", "stopIsOn", "warningIsOn")}
        if isinstance(lights, Mapping)
        else None
    )
    for dtc in j1939.get("diagnosticTroubleCodes") or ():
        spn, fmi, tx = int(dtc["spnId"]), int(dtc["fmiId"]), _int(dtc.get("txId"))
        vendor = dtc.get("vendorSpecificFields") or {}
        out.append(
            FaultCode(
                key=f"j1939:{tx}:{spn}:{fmi}",
                protocol="j1939",
                code=f"SPN {spn} FMI {fmi}",
                source_address=tx,
                source_address_name=dtc.get("sourceAddressName"),
                spn=spn,
                fmi=fmi,
                fmi_meaning=fmi_meaning(fmi),
                spn_description=dtc.get("spnDescription"),
                fmi_description=dtc.get("fmiDescription"),
                description=vendor.get("dtcDescription") if isinstance(vendor, Mapping) else None,
                occurrence_count=_int(dtc.get("occurrenceCount")),
                mil=bool(dtc.get("milStatus")) if dtc.get("milStatus") is not None else None,
                lamps=lamps,
            )
        )
    obd = point.get("obdii") or {}
    light_on = obd.get("checkEngineLightIsOn")
    for group in obd.get("diagnosticTroubleCodes") or ():
        tx = _int(group.get("txId"))
        mil = group.get("milStatus", light_on)
        for status in ("confirmed", "pending", "permanent"):
            for dtc in group.get(f"{status}Dtcs") or ():
                dtc_id = int(dtc["dtcId"])
                short = dtc.get("dtcShortCode")
                out.append(
                    FaultCode(
                        key=f"obdii:{tx}:{dtc_id}:{status}",
                        protocol="obdii",
                        code=str(short or dtc_id),
                        source_address=tx,
                        dtc_id=dtc_id,
                        dtc_short_code=short,
                        dtc_status=status,
                        description=dtc.get("dtcDescription"),
                        mil=None if mil is None else bool(mil),
                    )
                )
    oem = point.get("oem") or {}
    for dtc in oem.get("diagnosticTroubleCodes") or ():
        ident = str(dtc.get("codeIdentifier") or dtc.get("codeDescription") or "")
        if not ident:
            continue
        out.append(
            FaultCode(
                key=f"oem:{dtc.get('codeSource') or ''}:{ident}",
                protocol="oem",
                code=ident,
                source_address_name=dtc.get("codeSource"),
                description=dtc.get("codeDescription"),
                severity=dtc.get("codeSeverity"),
            )
        )
    return out


class FaultTracker:
    """The lifecycle of every vehicle's fault codes; ``state`` is JSON-able and changed in place.

    :meth:`observe` returns the fault records the point produced (``opened``, ``updated``, ``closed``);
    one fault keeps one record ``id`` from opening to closing, so an FMC upserts it as it changes.
    """

    def __init__(self, state: dict[str, Any], *, debounce_s: float) -> None:
        self.state = state
        self.debounce_s = float(debounce_s)
        state.setdefault("vehicles", {})
        state.setdefault("flaps", 0)
        state.setdefault("late", 0)

    def open_faults(self, vehicle: str) -> list[dict[str, Any]]:
        """The vehicle's open faults (their last record)."""
        v = self.state["vehicles"].get(vehicle) or {}
        return [c["record"] for c in (v.get("codes") or {}).values() if c.get("record")]

    def observe(
        self, vehicle: str, time: str, codes: Iterable[FaultCode], *, engine_state: str | None = None
    ) -> list[dict[str, Any]]:
        """Applies one ``faultCodes`` point of ``vehicle`` at ``time``; the records it produces."""
        t = epoch(time)
        v = self.state["vehicles"].setdefault(vehicle, {"last": None, "codes": {}})
        if v["last"] is not None and t <= v["last"]:
            if t < v["last"]:
                self.state["late"] += 1
            return []
        v["last"] = t
        tracked: dict[str, Any] = v["codes"]
        now = {c.key: c for c in codes}
        out: list[dict[str, Any]] = []
        for key, code in now.items():
            entry = tracked.get(key)
            if entry is None:
                entry = tracked[key] = {"first": t, "count": 0, "engine": engine_state, "record": None}
            entry["count"] += 1
            entry["lastSeen"] = t
            fields = code.fields()
            if entry["record"] is None:
                if t - entry["first"] >= self.debounce_s:
                    rec = self._record(vehicle, key, entry, fields, "opened", time)
                    rec["openedAt"] = time
                    entry["record"] = rec
                    out.append(dict(rec))
            else:
                rec = entry["record"]
                changed = any(rec.get(k) != fields.get(k) for k in ("occurrenceCount", "lamps", "mil"))
                rec.update(fields, lastSeen=time, occurrences=entry["count"])
                if changed:
                    rec["event"] = "updated"
                    rec["updatedAt"] = time
                    out.append(dict(rec))
        for key in [k for k in tracked if k not in now]:
            entry = tracked.pop(key)
            if entry["record"] is None:
                self.state["flaps"] += 1
                continue
            rec = entry["record"]
            rec.update(event="closed", status="closed", closedAt=time, engineStateAtClose=engine_state)
            out.append(dict(rec))
        return out

    def _record(
        self, vehicle: str, key: str, entry: dict[str, Any], fields: dict[str, Any], event: str, time: str
    ) -> dict[str, Any]:
        first = text(entry["first"])
        return {
            "id": f"{vehicle}:{key}:{first}",
            "schemaVersion": 1,
            "vehicleId": vehicle,
            "faultKey": key,
            "event": event,
            "status": "open",
            **fields,
            "firstSeen": first,
            "lastSeen": time,
            "openedAt": None,
            "updatedAt": None,
            "closedAt": None,
            "occurrences": entry["count"],
            "engineState": entry.get("engine"),
            "engineStateAtClose": None,
            "debounceSeconds": self.debounce_s,
        }
