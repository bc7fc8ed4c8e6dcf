"""A seeded generator of realistic fleets: Samsara's list, a noisy FMC copy, and the ground truth.

Vehicles have valid VINs with real WMIs for fleet makes (Ford, Freightliner, International, Peterbilt,
Kenworth, Volvo, Mack, Chevrolet, Ram, Toyota, Isuzu, Hino, Tesla, and Utility / Great Dane / Wabash
trailers), bought in fleet orders with sequential serials (near-identical VINs), plates by state, and
unit-number names. The FMC copy has typos, ``O``/``0`` and ``I``/``1`` swaps, transpositions, missing
and partial VINs, missing / reformatted / stale plates, other naming schemes, make spellings, one-side
records, plates re-issued to another vehicle, and duplicate-looking records.

Drivers have names drawn from small pools (so namesakes happen), state-shaped licence numbers, email
and phone; the FMC copy reorders, upper-cases and mistypes them.

Usage::

    from fleetgen import vehicles, drivers
    fleet = vehicles(1000, seed=1)     # fleet.samsara, fleet.fmc, fleet.truth
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
TRANSLIT = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"

# (make, WMIs, models, alternative spellings an FMC uses, weight, is_trailer)
MAKES: list[tuple[str, list[str], list[str], list[str], int, bool]] = [
    ("Ford", ["1FT", "1FD", "1FM", "3FT"], ["F-150", "F-250", "Transit", "E-450"], ["FORD"], 20, False),
    ("Freightliner", ["1FU", "1FV", "3AK", "3AL"], ["Cascadia", "M2 106"], ["FRHT", "FRTL"], 12, False),
    ("International", ["1HT", "3HA", "1HS"], ["LT", "MV", "HV"], ["INTL", "Navistar"], 8, False),
    ("Peterbilt", ["1XP", "1NP"], ["579", "389", "567"], ["PETE"], 5, False),
    ("Kenworth", ["1XK", "1NK"], ["T680", "W900", "T880"], ["KW"], 5, False),
    ("Volvo", ["4V4"], ["VNL", "VNR"], ["VOLVO TRUCKS"], 5, False),
    ("Mack", ["1M1", "1M2"], ["Anthem", "Granite"], ["MACK"], 3, False),
    ("Chevrolet", ["1GC", "1GB", "3GC"], ["Silverado", "Express"], ["Chevy", "CHEV"], 10, False),
    ("Ram", ["3C6", "1C6", "3C7"], ["1500", "ProMaster"], ["Dodge", "RAM"], 8, False),
    ("Toyota", ["5TF", "3TM", "4T1"], ["Tundra", "Tacoma", "Camry"], ["TOYOTA"], 5, False),
    ("Isuzu", ["JAL", "54D"], ["NPR", "NQR"], ["ISUZU"], 4, False),
    ("Hino", ["5PV", "2AY"], ["268", "338"], ["HINO"], 2, False),
    ("Tesla", ["5YJ", "7SA"], ["Model 3", "Model Y"], ["TESLA"], 2, False),
    ("Utility", ["1UY"], ["3000R", "4000D-X"], ["Utility Trailer", "UTILITY"], 5, True),
    ("Great Dane", ["1GR"], ["Champion", "Everest"], ["GREAT DANE", "Great Dane Trailers"], 3, True),
    ("Wabash", ["1JJ"], ["DuraPlate", "ArcticLite"], ["Wabash National", "WABASH"], 3, True),
]
STATES = ["CA", "TX", "FL", "IL", "OH", "GA", "PA", "NY", "AZ", "WA", "NC", "MI", "TN", "CO", "NJ"]


def check_digit(vin: str) -> str:
    """The check digit for a 17-character VIN (position 9 ignored)."""
    s = sum(TRANSLIT[c] * w for c, w in zip(vin, WEIGHTS, strict=True)) % 11
    return "X" if s == 10 else str(s)


def with_check_digit(vin: str) -> str:
    """``vin`` with position 9 set right."""
    return vin[:8] + check_digit(vin) + vin[9:]


@dataclass
class Fleet:
    """Both sides and the true pairs ``(samsara_id, fmc_id)``."""

    samsara: list[dict[str, Any]] = field(default_factory=list)
    fmc: list[dict[str, Any]] = field(default_factory=list)
    truth: set[tuple[str, str]] = field(default_factory=set)


def _plate(rng: random.Random, state: str) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    r = rng.random
    if state == "CA":
        return f"{rng.randint(1, 9)}{''.join(rng.choices(letters, k=3))}{rng.randint(0, 999):03d}"
    if r() < 0.5:
        return f"{''.join(rng.choices(letters, k=3))}{rng.randint(0, 9999):04d}"
    return f"{rng.randint(0, 999):03d}{''.join(rng.choices(letters, k=3))}"


def _vehicle_pool(n: int, rng: random.Random) -> list[dict[str, Any]]:
    """``n`` distinct vehicles, bought in fleet orders of sequential serials."""
    weights = [m[4] for m in MAKES]
    out: list[dict[str, Any]] = []
    seen_vins: set[str] = set()
    seen_plates: set[tuple[str, str]] = set()
    unit = rng.randint(1, 50)
    while len(out) < n:
        make, wmis, models, _alts, _w, trailer = rng.choices(MAKES, weights)[0]
        wmi, model = rng.choice(wmis), rng.choice(models)
        year = rng.randint(2008, 2025)
        vds = [rng.choice(VIN_CHARS) for _ in range(5)]
        # Position 7: a letter from 2010 on (the position-7 rule), a digit before.
        vds[3] = rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") if year >= 2010 else rng.choice("0123456789")
        plant = rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")
        serial0 = rng.randint(0, 900_000)
        order = rng.randint(1, 25)
        state = rng.choice(STATES)
        for k in range(order):
            vin = with_check_digit(
                f"{wmi}{''.join(vds)}0{YEAR_CODES[(year - 1980) % 30]}{plant}{serial0 + k:06d}"
            )
            if vin in seen_vins:
                continue
            seen_vins.add(vin)
            plate = _plate(rng, state)
            while (state, plate) in seen_plates:
                plate = _plate(rng, state)
            seen_plates.add((state, plate))
            unit += rng.choice([1, 1, 1, 2, 3])
            out.append(
                {
                    "vin": vin,
                    "make": make,
                    "model": model,
                    "year": year,
                    "plate": plate,
                    "state": state,
                    "unit": unit,
                    "trailer": trailer,
                }
            )
            if len(out) == n:
                break
    rng.shuffle(out)
    return out


def _samsara_name(rng: random.Random, unit: int, trailer: bool) -> str:
    word = "Trailer" if trailer else rng.choice(["Truck", "Unit", "Van"])
    return rng.choice([f"{word} {unit}", f"{word} #{unit}", f"{word[0]}-{unit:03d}", f"{unit:04d}"])


def _fmc_name(rng: random.Random, v: dict[str, Any]) -> str:
    u = v["unit"]
    if rng.random() < 0.12:
        return f"{v['year']} {v['make']} {v['model']}"
    return rng.choice([f"UNIT {u:04d}", f"{u}", f"TRK #{u}", f"T-{u:03d}", f"Unit {u} - {v['model']}"])


def _typo(rng: random.Random, s: str, alphabet: str) -> str:
    i = rng.randrange(len(s))
    c = rng.choice([a for a in alphabet if a != s[i]])
    return s[:i] + c + s[i + 1 :]


def _fmc_vin(rng: random.Random, vin: str) -> str | None:
    r = rng.random()
    if r < 0.55:
        return vin if rng.random() < 0.8 else f"{vin[:3]}-{vin[3:11]}-{vin[11:]}".lower()
    if r < 0.63 and ("0" in vin or "1" in vin):
        return vin.replace("0", "O") if "0" in vin else vin.replace("1", "I")
    if r < 0.73:
        return _typo(rng, vin, VIN_CHARS)
    if r < 0.79:
        i = rng.randrange(16)
        return vin[:i] + vin[i + 1] + vin[i] + vin[i + 2 :]
    if r < 0.85:
        return vin[-8:]
    if r < 0.93:
        return None
    return " " + vin + " "


def _fmc_plate(rng: random.Random, plate: str, state: str) -> tuple[str | None, str | None]:
    r = rng.random()
    if r < 0.6:
        return plate, state
    if r < 0.72:
        return f"{plate[:3]} {plate[3:]}" if rng.random() < 0.5 else f"{plate[:3]}-{plate[3:]}".lower(), state
    if r < 0.8:
        return None, None
    if r < 0.85:
        return _typo(rng, plate, string.ascii_uppercase + string.digits), state
    if r < 0.9:
        return plate, None
    return _plate(rng, state), state  # renewed: the FMC has the old plate


def vehicles(n: int, *, seed: int = 0, one_side: float = 0.05) -> Fleet:
    """``n`` Samsara vehicles, their noisy FMC copy (plus FMC-only records), and the truth."""
    rng = random.Random(seed)
    pool = _vehicle_pool(int(n * (1 + one_side)) + 1, rng)
    shared, fmc_only = pool[:n], pool[n:]
    fleet = Fleet()
    for i, v in enumerate(shared):
        sid, fid = f"{281474976710656 + i * 7919}", f"FMC-{100000 + i}"
        s_vin: str | None = v["vin"]
        if (v["trailer"] and rng.random() < 0.5) or rng.random() < 0.02:
            s_vin = None  # trailers often have no VIN in Samsara; a few trucks neither
        rec = {
            "id": sid,
            "vin": s_vin,
            "licensePlate": v["plate"],
            "licensePlateState": v["state"],
            "name": _samsara_name(rng, v["unit"], v["trailer"]),
            "make": v["make"],
            "model": v["model"],
            "year": str(v["year"]),
            "externalIds": {},
        }
        if rng.random() < 0.2:
            rec["externalIds"] = {"fmcId": fid}
        if rng.random() < 0.1:
            rec["licensePlate"] = None
        fleet.samsara.append(rec)
        if rng.random() < one_side:
            continue  # Samsara-only
        plate, state = _fmc_plate(rng, v["plate"], v["state"])
        make = rng.choice([v["make"], *MAKES_ALTS[v["make"]]]) if rng.random() < 0.9 else None
        year = v["year"] if rng.random() < 0.9 else rng.choice([None, v["year"] + 1])
        f_vin, f_name = _fmc_vin(rng, v["vin"]), _fmc_name(rng, v)
        if (s_vin is None or f_vin is None) and (plate != rec["licensePlate"] or rec["licensePlate"] is None):
            # Keep something a person could match on: without a VIN pair or a plate, the unit number.
            f_name = f"UNIT {v['unit']:04d}"
        fleet.fmc.append(
            {
                "id": fid,
                "vin": f_vin,
                "licensePlate": plate,
                "licensePlateState": state,
                "name": f_name,
                "make": make,
                "model": v["model"],
                "year": year,
            }
        )
        fleet.truth.add((sid, fid))
    # Duplicate-looking records: the FMC lists a few vehicles twice (the truth keeps the first).
    for k, rec in enumerate([r for r in fleet.fmc if r["vin"]][: max(1, n // 400)]):
        fleet.fmc.append({**rec, "id": f"FMC-D{k:05d}", "name": f"{rec['name']} (dup)"})
    for j, v in enumerate(fmc_only):
        rec = {
            "id": f"FMC-9{j:06d}",
            "vin": v["vin"],
            "licensePlate": v["plate"],
            "licensePlateState": v["state"],
            "name": _fmc_name(rng, v),
            "make": v["make"],
            "model": v["model"],
            "year": v["year"],
        }
        # A sold vehicle whose plate the state re-issued to one of the fleet's current vehicles.
        if j % 4 == 0 and fleet.samsara:
            donor = rng.choice(fleet.samsara)
            if donor["licensePlate"]:
                rec["licensePlate"], rec["licensePlateState"] = (
                    donor["licensePlate"],
                    donor["licensePlateState"],
                )
        fleet.fmc.append(rec)
    rng.shuffle(fleet.fmc)
    return fleet


MAKES_ALTS = {m[0]: m[3] for m in MAKES}


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Carlos Karen Daniel Lisa Matthew Nancy Anthony Betty Mark "
    "Sandra Donald Ashley Steven Emily Paul Donna Andrew Michelle Joshua Carol Kenneth Amanda Kevin "
    "Melissa Brian Deborah Jose Maria Luis Ana Juan Rosa Wei Mei Minh Linh Ahmed Fatima Raj Priya "
    "Ivan Olga"
)
LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Chen Wang Patel "
    "Singh Kim Park Ivanov Kowalski Murphy Sullivan Okafor Mensah Haddad Cohen Rossi Silva Santos "
    "Novak Horvat Larsen"
)
NICK = {
    "Robert": "Bob",
    "William": "Bill",
    "Richard": "Rick",
    "Joseph": "Joe",
    "Thomas": "Tom",
    "Michael": "Mike",
    "Elizabeth": "Liz",
    "Jennifer": "Jen",
    "Daniel": "Dan",
    "Anthony": "Tony",
}


def _licence(rng: random.Random, state: str) -> str:
    if state == "TX":
        return f"{rng.randint(10_000_000, 99_999_999)}"
    if state == "FL":
        return f"{rng.choice(string.ascii_uppercase)}{rng.randint(10**11, 10**12 - 1)}"
    return f"{rng.choice(string.ascii_uppercase)}{rng.randint(1_000_000, 9_999_999)}"


def drivers(n: int, *, seed: int = 0, one_side: float = 0.05) -> Fleet:
    """``n`` Samsara drivers, their noisy FMC copy (plus FMC-only drivers), and the truth."""
    rng = random.Random(seed)
    fleet = Fleet()
    seen: set[str] = set()

    def person(i: int) -> dict[str, Any]:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        state = rng.choice(STATES)
        lic = _licence(rng, state)
        while lic in seen:
            lic = _licence(rng, state)
        seen.add(lic)
        return {
            "first": first,
            "last": last,
            "state": state,
            "lic": lic,
            "email": f"{first.lower()}.{last.lower()}{i}@fleetco.example",
            "phone": f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
        }

    for i in range(n):
        p = person(i)
        sid, fid = f"{5_000_000 + i * 31}", f"DRV-{200000 + i}"
        fleet.samsara.append(
            {
                "id": sid,
                "name": f"{p['first']} {p['last']}",
                "licenseNumber": p["lic"],
                "licenseState": p["state"],
                "email": p["email"] if rng.random() < 0.5 else None,
                "phone": p["phone"] if rng.random() < 0.6 else None,
                "username": f"{p['first'][0].lower()}{p['last'].lower()}{i}",
                "externalIds": {"payrollId": fid} if rng.random() < 0.2 else {},
            }
        )
        if rng.random() < one_side:
            continue
        first = NICK.get(p["first"], p["first"]) if rng.random() < 0.05 else p["first"]
        last = _typo(rng, p["last"], string.ascii_lowercase) if rng.random() < 0.05 else p["last"]
        name = rng.choice(
            [
                f"{first} {last}",
                f"{last}, {first}",
                f"{first} {last}".upper(),
                f"{first} {rng.choice(string.ascii_uppercase)}. {last}",
            ]
        )
        r = rng.random()
        lic: str | None = p["lic"]
        if r < 0.15:
            lic = "-".join([p["lic"][:3], p["lic"][3:6], p["lic"][6:]])
        elif r < 0.25:
            lic = None
        elif r < 0.31:
            lic = _typo(rng, p["lic"], string.digits)
        email = p["email"].upper() if rng.random() < 0.6 else None
        phone = f"({p['phone'][:3]}) {p['phone'][3:6]}-{p['phone'][6:]}" if rng.random() < 0.7 else None
        s_rec = fleet.samsara[-1]
        shared = (lic and s_rec["licenseNumber"]) or (email and s_rec["email"]) or (phone and s_rec["phone"])
        if not shared and not s_rec["externalIds"]:
            lic = p["lic"]  # keep something a person could match on
        fleet.fmc.append(
            {
                "id": fid,
                "name": name,
                "licenseNumber": lic,
                "licenseState": p["state"] if rng.random() < 0.93 else None,
                "email": email,
                "phone": phone,
            }
        )
        fleet.truth.add((sid, fid))
    for j in range(int(n * one_side)):
        p = person(n + j)
        fleet.fmc.append(
            {
                "id": f"DRV-9{j:06d}",
                "name": f"{p['first']} {p['last']}",
                "licenseNumber": p["lic"],
                "licenseState": p["state"],
                "email": None,
                "phone": p["phone"],
            }
        )
    rng.shuffle(fleet.fmc)
    return fleet


def score(links: list[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    """Precision, recall and F1 of predicted ``(samsara_id, fmc_id)`` links against the truth."""
    pred = set(links)
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(truth) if truth else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f1
