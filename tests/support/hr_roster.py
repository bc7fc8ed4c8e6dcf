"""A seeded HR/payroll roster beside Samsara's driver list, with the truth for every pair.

An FMC's people come from an HR or payroll system: an export of everyone employed (drivers, and
office staff who never drive), with legal names, the licence on file, an employee number, a work
phone and e-mail. Samsara's drivers were typed in by fleet administrators. The same person looks
different on the two sides in the ways real exports differ:

* licence numbers with the issuing state written in front (``TX07567840`` / ``07567840``), leading
  zeros dropped by a spreadsheet (``004434640`` / ``4434640``), a licence renewed or re-issued after a
  move (another number, perhaps another state), a wrong licence state, a typo, or none on file;
* employee numbers with leading zeros dropped (``084324`` / ``84324``) or exported as floats
  (``4821.0``); Samsara keeps them as the ``payrollId`` external ID for part of the roster;
* legal names with accents (``Lâm Đỗ``) where the administrator typed ``Lam Do``, German umlauts
  written out (``Müller`` / ``Mueller``), UTF-8 read as Latin-1 (``MÃ¼ller``), ``LAST, FIRST M``
  order, nicknames, typos, generational suffixes kept on one side only;
* work phones with an extension (``(555) 010-2030 x214``), changed phones, e-mails in other case.

Traps, which must not link: a father and son (``Jr`` on one side only) sharing the household phone,
only one of them on each side; namesakes (same name, nothing else shared); spouses sharing a phone
and surname; office staff and contractors present on one side only.

The truth has a row per HR record and per Samsara-only driver: ``expect`` is ``link`` (to
``samsaraId``), ``review`` or ``none``, and ``noise`` lists what the generator did to the pair.
``expect`` follows what a careful person would decide from the two records: ``link`` when the names
agree and an identifier only that person has (licence number, e-mail, employee number) agrees, or
the phone agrees with nothing contradicting it; ``review`` when a true pair keeps only a phone
beside a contradicting licence or suffix; ``none`` for different people.

Usage::

    from tests.support.hr_roster import roster, evaluate
    r = roster(3000, seed=1)           # r.samsara, r.hr, r.truth
    result = match_drivers(r.samsara, r.hr)
    q = evaluate(r, [(ln.left["id"], ln.right["id"]) for ln in result.links], review_pairs)
"""

from __future__ import annotations

import random
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def _words(text: str) -> list[str]:
    return text.split()


# (name, weight): weights make common names common, so namesakes happen.
FIRST = [
    *[(n, 6) for n in _words("James John Robert Michael William David Richard Joseph Thomas Charles")],
    *[(n, 4) for n in _words("Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen")],
    *[(n, 3) for n in _words("Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin")],
    *[(n, 3) for n in _words("Brian George Timothy Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas")],
    *[(n, 2) for n in _words("Nancy Lisa Betty Sandra Ashley Emily Donna Michelle Carol Amanda Melissa")],
    *[(n, 2) for n in _words("José María Jesús Ramón Joaquín Andrés Sofía Lucía Inés Nicolás Martín")],
    *[(n, 2) for n in _words("Luis Carlos Juan Miguel Jorge Pedro Ana Rosa Carmen Elena")],
    *[(n, 2) for n in _words("Lâm Đức Minh Thảo Hương Phúc Tuấn Dũng Hoàng Quỳnh Trâm")],
    *[(n, 1) for n in _words("Jürgen Jörg Günther Björn Sören Käthe Jürgen Özil Gökhan Şükrü")],
    *[(n, 1) for n in _words("Łukasz Wojciech Bożena Małgorzata Zoë François Hélène Renée Chloé Raúl")],
    *[(n, 1) for n in _words("Wei Mei Li Jun Raj Priya Ahmed Fatima Ivan Olga Kwame Ama")],
]
LAST = [
    *[(n, 6) for n in _words("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez")],
    *[(n, 4) for n in _words("Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin")],
    *[(n, 3) for n in _words("Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker")],
    *[(n, 2) for n in _words("Young Allen King Wright Scott Torres Hill Flores Green Adams Nelson Baker")],
    *[(n, 2) for n in _words("Hall Rivera Campbell Mitchell Carter Roberts Murphy Sullivan Cohen Rossi")],
    *[(n, 2) for n in _words("Núñez Peña Muñoz Gómez Jiménez Díaz Pérez Sánchez Ibáñez Gonçalves Álvarez")],
    *[(n, 2) for n in _words("Nguyễn Trần Lê Phạm Đỗ Võ Đặng Bùi Hoàng Huỳnh Vũ Dương")],
    *[(n, 1) for n in _words("Müller Schröder Schäfer Köhler Krüger Böhm Weiß Groß Jäger Fößel")],
    *[(n, 1) for n in _words("Łęcki Wójcik Kowalczyk Dvořák Sørensen Öztürk Çelik Ødegård Lefèvre")],
    *[(n, 1) for n in _words("Chen Wang Patel Singh Kim Park Ivanov Okafor Mensah Haddad Novak")],
]
NICKNAMES = {
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
    "James": "Jim",
    "Charles": "Chuck",
    "Kenneth": "Ken",
    "Timothy": "Tim",
    "Edward": "Ed",
    "Nicholas": "Nick",
}
# Licence formats by state: numeric states (leading zeros possible) and letter-led ones.
NUMERIC_STATES = {"TX": 8, "NY": 9, "PA": 8, "NC": 9, "GA": 9, "TN": 9, "OH": 8}
LETTER_STATES = {"CA": 7, "IL": 11, "FL": 12, "AZ": 8, "WA": 9, "MI": 12, "CO": 9}
STATES = [*NUMERIC_STATES, *LETTER_STATES]
SUFFIXES = ["Jr", "Sr", "II", "III"]


@dataclass
class Person:
    first: str
    middle: str
    last: str
    suffix: str | None
    state: str
    licence: str
    employee: str
    phone: str
    email: str
    work_ext: str


@dataclass
class Roster:
    """Both sides and the truth (one row per HR record and per Samsara-only driver)."""

    samsara: list[dict[str, Any]] = field(default_factory=list)
    hr: list[dict[str, Any]] = field(default_factory=list)
    truth: list[dict[str, Any]] = field(default_factory=list)

    def pairs(self, expect: str) -> set[tuple[str, str]]:
        """``(samsaraId, hrId)`` of the true pairs with this expectation (``link`` or ``review``)."""
        return {(t["samsaraId"], t["hrId"]) for t in self.truth if t["expect"] == expect and t["samsaraId"]}

    def true_pairs(self) -> set[tuple[str, str]]:
        """Every pair of records of one person, whatever the expectation."""
        return {(t["samsaraId"], t["hrId"]) for t in self.truth if t["samsaraId"] and t["hrId"]}


def ascii_fold(s: str) -> str:
    """What an administrator types for an accented name: marks dropped, ``Đ`` → ``D``, ``ß`` → ``ss``."""
    s = s.replace("Đ", "D").replace("đ", "d").replace("ß", "ss").replace("Ł", "L").replace("ł", "l")
    s = s.replace("Ø", "O").replace("ø", "o")
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def umlauts_written_out(s: str) -> str:
    """German convention: ``ü`` → ``ue``, ``ö`` → ``oe``, ``ä`` → ``ae``, ``ß`` → ``ss``."""
    for a, b in (("ü", "ue"), ("ö", "oe"), ("ä", "ae"), ("Ü", "Ue"), ("Ö", "Oe"), ("Ä", "Ae"), ("ß", "ss")):
        s = s.replace(a, b)
    return s


def mojibake(s: str) -> str:
    """UTF-8 bytes decoded as Windows-1252 (Latin-1 where the code page has no character)."""
    out = []
    for b in s.encode("utf-8"):
        try:
            out.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(b))
    return "".join(out)


def _username(p: Person, n: int) -> str:
    return f"{ascii_fold(p.first)[0].lower()}{ascii_fold(p.last).lower().replace(' ', '')}{n}"


def _pick(rng: random.Random, pool: list[tuple[str, int]]) -> str:
    return rng.choices([n for n, _ in pool], [w for _, w in pool])[0]


def _licence(rng: random.Random, state: str) -> str:
    if state in NUMERIC_STATES:
        n = NUMERIC_STATES[state]
        first = "0" if rng.random() < 0.3 else str(rng.randint(1, 9))
        return first + "".join(rng.choices(string.digits, k=n - 1))
    return rng.choice(string.ascii_uppercase) + "".join(rng.choices(string.digits, k=LETTER_STATES[state]))


def _phone(rng: random.Random) -> str:
    return f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"


def _fmt_phone(rng: random.Random, digits: str) -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return rng.choice([f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", digits])


def _typo(rng: random.Random, s: str) -> str:
    i = rng.randrange(1, len(s))
    c = rng.choice([a for a in string.ascii_lowercase if a != s[i].lower()])
    return s[:i] + c + s[i + 1 :]


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.licences: set[str] = set()
        self.employees: set[str] = set()
        self.phones: set[str] = set()
        self.emails: Counter[str] = Counter()

    def unique(self, make: Any, seen: set[str]) -> str:
        v = make()
        while v in seen:
            v = make()
        seen.add(v)
        return str(v)

    def licence(self, state: str) -> str:
        return self.unique(lambda: _licence(self.rng, state), self.licences)

    def person(self, first: str | None = None, last: str | None = None) -> Person:
        rng = self.rng
        first = first or _pick(rng, FIRST)
        last = last or _pick(rng, LAST)
        state = rng.choice(STATES)
        local = f"{ascii_fold(first).lower()}.{ascii_fold(last).lower()}"
        self.emails[local] += 1
        n = self.emails[local]
        return Person(
            first=first,
            middle=rng.choice(string.ascii_uppercase) if rng.random() < 0.4 else "",
            last=last,
            suffix=None,
            state=state,
            licence=self.licence(state),
            employee=self.unique(lambda: f"{rng.randint(1, 999_999):06d}", self.employees),
            phone=self.unique(lambda: _phone(rng), self.phones),
            email=f"{local}{n if n > 1 else ''}@fleetco.example".replace(" ", ""),
            work_ext=str(rng.randint(10, 9999)),
        )


def _samsara_name(rng: random.Random, p: Person, noise: list[str]) -> str:
    first, last = p.first, p.last
    if first in NICKNAMES and rng.random() < 0.08:
        first = NICKNAMES[first]
        noise.append("nickname")
    if ascii_fold(first + last) != first + last:
        if any(c in first + last for c in "äöüÄÖÜß") and rng.random() < 0.5:
            first, last = umlauts_written_out(first), umlauts_written_out(last)
            noise.append("umlaut_written_out")
        elif rng.random() < 0.75:
            first, last = ascii_fold(first), ascii_fold(last)
            noise.append("accents_dropped")
    name = f"{first} {last}"
    if p.suffix and rng.random() < 0.5:
        name += f" {p.suffix}"
    return name


def _hr_name(rng: random.Random, p: Person, noise: list[str]) -> str:
    last = _typo(rng, p.last) if rng.random() < 0.02 else p.last
    if last != p.last:
        noise.append("name_typo")
    given = f"{p.first} {p.middle}".strip()
    suffix = f" {p.suffix}" if p.suffix else ""
    name = rng.choice(
        [
            f"{last.upper()}, {given.upper()}{suffix.upper()}",
            f"{last}{suffix}, {given}",
            f"{given} {last}{suffix}",
        ]
    )
    if ascii_fold(name) != name and rng.random() < 0.2:
        name = mojibake(name)
        noise.append("mojibake")
    return name


def roster(n: int, *, seed: int = 0) -> Roster:
    """An HR export of ``n`` people and Samsara's drivers beside it, with the truth.

    About 80 % of the HR people drive and are in Samsara; Samsara also has contractors the HR
    system does not (3 % of its drivers). About 1 % of the roster is a father-and-son trap, 1 % a
    namesake and 0.5 % a spouse sharing a phone.
    """
    g = _Gen(seed)
    rng = g.rng
    out = Roster()
    sid_seq = iter(range(5_000_000, 10**9, 7))
    hr_seq = iter(range(n * 2 + 1000))

    def sid() -> str:
        return str(next(sid_seq))

    def hid() -> str:
        return f"P{next(hr_seq):06d}"

    def samsara_rec(p: Person, noise: list[str], *, payroll: bool | None = None) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "id": sid(),
            "name": _samsara_name(rng, p, noise),
            "username": _username(p, rng.randint(1, 999)),
            "licenseNumber": p.licence,
            "licenseState": p.state,
            "phone": _fmt_phone(rng, p.phone) if rng.random() < 0.65 else None,
            "email": p.email if rng.random() < 0.5 else None,
            "externalIds": {},
            "driverActivationStatus": "active",
        }
        if payroll if payroll is not None else rng.random() < 0.55:
            rec["externalIds"] = {"payrollId": p.employee}
        if rng.random() < 0.03:
            rec["licenseNumber"] = None
        return rec

    def hr_rec(p: Person, noise: list[str], *, true_pair: bool) -> dict[str, Any]:
        lic: str | None = p.licence
        state: str | None = p.state
        r = rng.random()
        if true_pair and r < 0.04:
            state = rng.choice([s for s in STATES if s != p.state])
            lic = g.licence(state)
            noise.append("licence_reissued_other_state")
        elif true_pair and r < 0.07:
            lic = g.licence(p.state)
            noise.append("licence_renewed")
        elif true_pair and r < 0.11:
            state = rng.choice([s for s in STATES if s != p.state])
            noise.append("licence_wrong_state")
        elif true_pair and r < 0.14:
            i = rng.randrange(1, len(p.licence))
            lic = (
                p.licence[:i]
                + rng.choice([d for d in string.digits if d != p.licence[i]])
                + p.licence[i + 1 :]
            )
            noise.append("licence_typo")
        elif r < 0.24:
            lic = None
            noise.append("licence_missing")
        if lic and lic.isdigit():
            if state and rng.random() < 0.3:
                lic = f"{state}{lic}"
                noise.append("licence_state_prefix")
            elif lic.startswith("0") and rng.random() < 0.6:
                lic = lic.lstrip("0")
                noise.append("licence_zeros_dropped")
        emp: str = p.employee
        r = rng.random()
        if r < 0.1:
            emp = f"{int(p.employee)}.0"
            noise.append("employee_float")
        elif p.employee.startswith("0") and r < 0.7:
            emp = str(int(p.employee))
            noise.append("employee_zeros_dropped")
        phone: str | None = None
        r = rng.random()
        if r < 0.1:
            phone = f"{_fmt_phone(rng, p.phone)} {rng.choice(['x', 'ext. ', 'ext ', '#'])}{p.work_ext}"
            noise.append("phone_extension")
        elif r < 0.15:
            phone = _fmt_phone(rng, _phone(rng))
            noise.append("phone_changed")
        elif r < 0.85:
            phone = _fmt_phone(rng, p.phone)
        email = None
        if rng.random() < 0.6:
            email = p.email.upper() if rng.random() < 0.3 else p.email
        return {
            "id": hid(),
            "employeeId": emp,
            "name": _hr_name(rng, p, noise),
            "license_number": lic,
            "license_state": state,
            "phone": phone,
            "email": email,
            "department": rng.choice(["Linehaul", "Local", "Yard", "Dispatch", "Maintenance"]),
            "hireDate": f"20{rng.randint(0, 25):02d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        }

    n_pairs = int(n * 0.8)
    n_traps = max(3, n // 100)
    people: list[Person] = []
    for _ in range(n_pairs):
        p = g.person()
        if rng.random() < 0.03:
            p.suffix = rng.choice(SUFFIXES)
        people.append(p)
    for p in people:
        noise: list[str] = []
        s = samsara_rec(p, noise)
        h = hr_rec(p, noise, true_pair=True)
        _keep_something(p, s, h, noise)
        out.samsara.append(s)
        out.hr.append(h)
        out.truth.append(
            {"hrId": h["id"], "samsaraId": s["id"], "expect": _expect(s, h), "kind": "person", "noise": noise}
        )
    # A father in Samsara and his son (same name, Jr) in HR, sharing the household phone.
    for _ in range(n_traps):
        father = g.person()
        son = g.person(father.first, father.last)
        son.phone = father.phone
        son.suffix = "Jr"
        if rng.random() < 0.5:
            father.suffix = "Sr"
        if rng.random() < 0.5:
            s = samsara_rec(father, [])
            s["name"] = f"{ascii_fold(father.first)} {ascii_fold(father.last)}"  # no suffix typed
            h = hr_rec(son, [], true_pair=False)  # legal name with "Jr"
        else:  # the other way round: the son in Samsara, the father (no suffix on file) in HR
            s = samsara_rec(son, [], payroll=False)
            s["name"] = f"{ascii_fold(son.first)} {ascii_fold(son.last)} Jr"
            father.suffix = None
            h = hr_rec(father, [], true_pair=False)
        s["phone"] = _fmt_phone(rng, father.phone)
        h["phone"] = _fmt_phone(rng, father.phone)
        out.samsara.append(s)
        out.hr.append(h)
        out.truth.append(
            {"hrId": h["id"], "samsaraId": None, "expect": "none", "kind": "fatherSon", "noise": []}
        )
        out.truth.append(
            {"hrId": None, "samsaraId": s["id"], "expect": "none", "kind": "fatherSon", "noise": []}
        )
    # Namesakes: office staff with a driver's name, nothing else shared.
    for _ in range(n_traps):
        d = rng.choice(people)
        p = g.person(d.first, d.last)
        h = hr_rec(p, [], true_pair=False)
        out.hr.append(h)
        out.truth.append(
            {"hrId": h["id"], "samsaraId": None, "expect": "none", "kind": "namesake", "noise": []}
        )
    # Spouses: the same surname and phone, another given name.
    for _ in range(n_traps // 2):
        d = rng.choice(people)
        first = _pick(rng, FIRST)
        while first == d.first or NICKNAMES.get(first) == d.first or NICKNAMES.get(d.first) == first:
            first = _pick(rng, FIRST)
        p = g.person(first, d.last)
        p.phone = d.phone
        h = hr_rec(p, [], true_pair=False)
        h["phone"] = _fmt_phone(rng, d.phone)
        out.hr.append(h)
        out.truth.append(
            {"hrId": h["id"], "samsaraId": None, "expect": "none", "kind": "spouse", "noise": []}
        )
    # Office staff (HR only) and contractors (Samsara only).
    while len(out.hr) < n:
        h = hr_rec(g.person(), [], true_pair=False)
        out.hr.append(h)
        out.truth.append(
            {"hrId": h["id"], "samsaraId": None, "expect": "none", "kind": "hrOnly", "noise": []}
        )
    for _ in range(int(n_pairs * 0.03)):
        s = samsara_rec(g.person(), [], payroll=False)
        out.samsara.append(s)
        out.truth.append(
            {"hrId": None, "samsaraId": s["id"], "expect": "none", "kind": "samsaraOnly", "noise": []}
        )
    rng.shuffle(out.samsara)
    rng.shuffle(out.hr)
    return out


def _keep_something(p: Person, s: dict[str, Any], h: dict[str, Any], noise: list[str]) -> None:
    """A true pair keeps at least one identifier a person could match on (else the HR licence is
    restored): real rosters with nothing in common are not matching problems."""
    if _agreements(s, h) - {"name"}:
        return
    h["license_number"], h["license_state"] = p.licence, p.state
    s["licenseNumber"], s["licenseState"] = p.licence, p.state
    noise[:] = [x for x in noise if not x.startswith("licence_")]


def _digits(v: object) -> str:
    return "".join(c for c in str(v or "") if c.isdigit())


def _lic_core(lic: object) -> str | None:
    """The licence number the way a person reads it: no separators, no state prefix, no leading zeros."""
    s = "".join(c for c in str(lic or "").upper() if c.isalnum())
    if len(s) > 2 and s[:2].isalpha() and s[2:].isdigit() and s[:2] in STATES:
        s = s[2:]
    return (s.lstrip("0") or "0") if s.isdigit() else (s or None)


def _phone10(v: object) -> str | None:
    text = str(v or "")
    for mark in ("x", "ext", "#"):
        text = text.split(mark)[0]
    d = _digits(text)
    if len(d) == 11 and d.startswith("1"):
        d = d[1:]
    return d or None


def _emp(v: object) -> str | None:
    t = str(v or "")
    if t.endswith(".0"):
        t = t[:-2]
    return t.lstrip("0") or None


def _agreements(s: dict[str, Any], h: dict[str, Any]) -> set[str]:
    """What a careful person sees agree between the two records (of one person)."""
    out = {"name"}
    if _lic_core(s["licenseNumber"]) and _lic_core(s["licenseNumber"]) == _lic_core(h["license_number"]):
        out.add("licence")
    if s["email"] and h["email"] and s["email"].lower() == h["email"].lower():
        out.add("email")
    if s["externalIds"].get("payrollId") and _emp(s["externalIds"]["payrollId"]) == _emp(h["employeeId"]):
        out.add("employee")
    if s["phone"] and h["phone"] and _phone10(s["phone"]) == _phone10(h["phone"]):
        out.add("phone")
    return out


def _expect(s: dict[str, Any], h: dict[str, Any]) -> str:
    agree = _agreements(s, h)
    if agree & {"licence", "email", "employee"}:
        return "link"
    licence_conflict = bool(_lic_core(s["licenseNumber"]) and _lic_core(h["license_number"]))
    suffix_one_side = any(t in str(s["name"]).split() for t in SUFFIXES) != any(
        t.upper() in str(h["name"]).upper().replace(",", " ").split() for t in SUFFIXES
    )
    if "phone" in agree and not licence_conflict and not suffix_one_side:
        return "link"
    return "review"


@dataclass
class Quality:
    """Precision, recall and F1 of the links, and how the other expectations fared."""

    precision: float
    recall: float
    f1: float
    links: int
    false_links: list[tuple[str, str]]
    missed: list[tuple[str, str]]
    # Of the ``review``-expected pairs: linked (right), in review, or missed.
    review_expected: int
    review_linked: int
    review_found: int
    # Of the ``link``-expected pairs that did not link, how many sit in review.
    missed_in_review: int
    # Recall per noise kind: kind -> (pairs carrying it, of those linked).
    by_noise: dict[str, tuple[int, int]]
    # False links per trap kind.
    trap_links: dict[str, int]


def evaluate(r: Roster, links: Iterable[tuple[str, str]], review: Iterable[tuple[str, str]] = ()) -> Quality:
    """Score ``(samsaraId, hrId)`` links (and review pairs) against the truth.

    Precision counts a link right when it joins two records of one person (whatever the
    expectation); recall is over the ``link``-expected pairs.
    """
    pred = set(links)
    rev = set(review)
    true = r.true_pairs()
    want = r.pairs("link")
    maybe = r.pairs("review")
    tp = len(pred & true)
    precision = tp / len(pred) if pred else 1.0
    recall = len(pred & want) / len(want) if want else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_noise: dict[str, tuple[int, int]] = {}
    for t in r.truth:
        if t["expect"] != "link":
            continue
        hit = (t["samsaraId"], t["hrId"]) in pred
        for k in t["noise"]:
            total, ok = by_noise.get(k, (0, 0))
            by_noise[k] = (total + 1, ok + hit)
    kind_of_hr = {t["hrId"]: t["kind"] for t in r.truth if t["hrId"]}
    kind_of_s = {t["samsaraId"]: t["kind"] for t in r.truth if t["samsaraId"]}
    trap_links: Counter[str] = Counter()
    for a, b in pred - true:
        kind = kind_of_hr.get(b, "?")
        trap_links[kind_of_s.get(a, "?") if kind == "person" else kind] += 1
    missed = sorted(want - pred)
    return Quality(
        precision=precision,
        recall=recall,
        f1=f1,
        links=len(pred),
        false_links=sorted(pred - true),
        missed=missed,
        review_expected=len(maybe),
        review_linked=len(maybe & pred),
        review_found=len(maybe & (pred | rev)),
        missed_in_review=len(set(missed) & rev),
        by_noise=dict(sorted(by_noise.items())),
        trap_links=dict(trap_links),
    )
