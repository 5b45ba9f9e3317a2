"""Deterministic synthetic datasets for the five providing departments.

Every record is invented and looks it: identifiers come from ranges that are never issued
(National Insurance numbers with the ``QQ`` prefix, NHS numbers in the ``999`` test range),
postcodes use areas starting with ``Q``, which no UK postcode does, and towns are fictional.

One seeded population underlies all five datasets, so they agree with each other: record ``i`` of
the Home Office, HMRC, DWP and NHS sets describes the same adult ``i`` (same name, date of birth
and address), and the DfE pupils are those adults' children (same surname and home address; DWP
households list them). Person ``i`` depends only on ``seed`` and ``i``, so a smaller set is a
prefix of a larger one.

``python -m gateway.synthetic.datasets --out DIR`` writes each set as JSON lines.
"""

from __future__ import annotations

import argparse
import json
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from gateway.envelope.datasets import DATASET_BY_PROVIDER, SUBJECT_IDENTIFIER_BY_PROVIDER

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_SIZE",
    "MAX_SIZE",
    "PROVIDERS",
    "REFERENCE_DATE",
    "generate",
    "generate_all",
    "main",
]

PROVIDERS = ("ho", "dfe", "hmrc", "dwp", "nhs")
DEFAULT_SIZE = 1000
DEFAULT_SEED = 7
MAX_SIZE = 100_000
"""Identifier ranges are sized for this many records per dataset."""
REFERENCE_DATE = date(2026, 1, 15)
"""The day the data describe (the spring school census); fixed, so output never drifts."""

Record = dict[str, Any]


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


_SURNAMES = _words(
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Wright Khan Evans Thomas "
    "Roberts Walker Hughes Green Lewis Wood Hall Clarke Okafor Nowak Kowalski Ahmed Begum "
    "Hussain Ali Singh Kaur Murphy Kelly Campbell Stewart Mensah Osei Silva Santos Popescu Ionescu"
)
_FORENAMES_F = _words(
    "Olivia Amelia Isla Ava Mia Ivy Lily Sophia Grace Freya Aisha Fatima Zara Maryam Priya "
    "Ewa Maria Ana Chloe Ruby Ella Emily Poppy Nia Ama"
)
_FORENAMES_M = _words(
    "Oliver George Noah Arthur Leo Harry Oscar Jack Charlie Muhammad Yusuf Ibrahim Arjun "
    "Jakub Piotr Mateo Luca Daniel Samuel Kwame Kofi Thomas James Ethan Finley"
)
_STREETS = _words(
    "Mill Lane|Station Road|Church Street|Victoria Road|Park Avenue|Green Lane|Manor Road|"
    "Kings Road|Queens Walk|Orchard Close|Meadow Way|Albert Terrace|Canal Street|Elm Grove",
    sep="|",
)
_TOWNS = (  # fictional towns, each with a postcode area no real postcode uses
    ("Ambridge", "QA"),
    ("Borchester", "QB"),
    ("Felpersham", "QF"),
    ("Midsomer Norton Parva", "QM"),
    ("Kingsmarkham", "QK"),
    ("Walford", "QW"),
    ("Holby", "QH"),
    ("Pagford", "QP"),
)
_NATIONALITIES = (
    ("GBR", 50), ("POL", 6), ("IND", 6), ("ROU", 5), ("PAK", 4), ("NGA", 4), ("IRL", 3),
    ("ITA", 3), ("BGD", 3), ("GHA", 2), ("PRT", 2), ("CHN", 2), ("SYR", 2), ("AFG", 2),
    ("ERI", 2), ("UKR", 2), ("BRA", 2),
)  # fmt: skip
_EMPLOYERS = (
    "Northwind Logistics Ltd", "Blue Heron Care Homes Ltd", "Quayside Foods plc",
    "Brightwell Cleaning Services Ltd", "Copperfield Construction Ltd", "Harbour Retail Group plc",
    "Fernhill Hospitality Ltd", "Silverline Couriers Ltd", "Oakridge Manufacturing Ltd",
    "Meadowbank Council", "Lantern Tech Ltd", "Greengate Farms LLP",
)  # fmt: skip
_SCHOOLS = (  # name, town, unique reference number
    ("Ambridge Primary School", "Ambridge", "190412"),
    ("St Stephen's CofE Primary", "Ambridge", "190437"),
    ("Borchester Academy", "Borchester", "190455"),
    ("Felpersham Grammar School", "Felpersham", "190468"),
    ("Kingsmarkham High School", "Kingsmarkham", "190471"),
    ("Walford Community Primary", "Walford", "190483"),
    ("Holby City College", "Holby", "190496"),
    ("Pagford Primary School", "Pagford", "190502"),
    ("Midsomer Parva Village School", "Midsomer Norton Parva", "190519"),
)
_ETHNICITIES = ("WBRI", "WOTH", "WIRI", "AIND", "APKN", "ABAN", "BAFR", "BCRB", "MWBC", "CHNE",
                "OOTH", "REFU")  # fmt: skip
_TREATMENTS = (
    "Synthetic record: emergency appendicectomy and two-night inpatient stay.",
    "Synthetic record: antenatal care and delivery.",
    "Synthetic record: fracture clinic follow-up and physiotherapy.",
    "Synthetic record: elective cataract surgery.",
    "Synthetic record: inpatient treatment for pneumonia.",
)
_SEN = (None,) * 8 + ("K", "K", "E")


@dataclass(frozen=True, slots=True)
class _Child:
    forenames: str
    gender: str
    date_of_birth: date
    rng_seed: int


@dataclass(frozen=True, slots=True)
class _Person:
    """One synthetic adult; every dataset draws what it needs from here."""

    index: int
    surname: str
    forenames: str
    gender: str
    date_of_birth: date
    nationality: str
    address: Record
    partner_forenames: str | None
    partner_dob: date | None
    children: tuple[_Child, ...]
    rng_seed: int


# --- public API ---------------------------------------------------------------------------------


def generate(provider: str, n: int, seed: int = DEFAULT_SEED) -> list[Record]:
    """``n`` records for ``provider``'s dataset schema, the same for the same ``seed``.

    Dates are :class:`datetime.date`, as fastavro reads and writes the Avro ``date`` type.
    """
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    if not 0 <= n <= MAX_SIZE:
        raise ValueError(f"n must be between 0 and {MAX_SIZE}, not {n}")
    ids = _Identifiers(seed)
    if provider == "dfe":
        return _pupils(seed, n, ids)
    build = {"ho": _immigration, "hmrc": _employment, "dwp": _benefit, "nhs": _charging}[provider]
    return [build(_person(seed, i), ids) for i in range(n)]


def generate_all(n: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED) -> dict[str, list[Record]]:
    """Every provider's dataset, keyed by provider."""
    return {provider: generate(provider, n, seed) for provider in PROVIDERS}


# --- identifiers --------------------------------------------------------------------------------


class _Identifiers:
    """Unique, never-issued identifiers: a seeded bijection of the record index."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"identifiers:{seed}")
        self._offsets = [rng.randrange(1_000_000) for _ in range(4)]

    def _permute(self, i: int, which: int, space: int) -> int:
        # 611953 shares no factor with 10: i -> (611953 i + c) mod 10^k is a bijection.
        return (i * 611_953 + self._offsets[which]) % space

    def person_id(self, i: int) -> str:
        return f"HO-{self._permute(i, 0, 1_000_000):06d}"

    def nino(self, i: int) -> str:
        return f"QQ{self._permute(i, 1, 1_000_000):06d}{'ABCD'[i % 4]}"

    def nhs_number(self, i: int) -> str:
        head = f"999{self._permute(i, 2, 100_000):05d}"
        for last in range(10):  # at most one choice of the ninth digit makes no valid check digit
            digits = head + str(last)
            check = 11 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
            if check != 10:
                return digits + str(check % 11)
        raise AssertionError("unreachable: some ninth digit always gives a valid check digit")

    def upn(self, i: int) -> str:
        # check letter, local authority (3), establishment (4), year (2), serial (3): 13 characters
        body = f"{900 + i % 100:03d}{self._permute(i, 3, 1_000_000):06d}{i // 100 % 1000:03d}"
        letter = string.ascii_uppercase[sum(int(d) * (k + 2) for k, d in enumerate(body)) % 26]
        return letter + body


# --- the population -----------------------------------------------------------------------------


def _person(seed: int, i: int) -> _Person:
    rng = random.Random(f"person:{seed}:{i}")
    gender = rng.choice("MF")
    surname = rng.choice(_SURNAMES)
    dob = _birthday(rng, 19, 75)
    nationality = rng.choices([c for c, _ in _NATIONALITIES], [w for _, w in _NATIONALITIES])[0]
    partnered = rng.random() < 0.45
    children: list[_Child] = []
    if 24 <= _age(dob) <= 58 and rng.random() < 0.5:
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            child_gender = rng.choice("MF")
            children.append(
                _Child(
                    _forename(rng, child_gender),
                    child_gender,
                    _birthday(rng, 4, 17),
                    rng.getrandbits(32),
                )
            )
    return _Person(
        index=i,
        surname=surname,
        forenames=_forename(rng, gender, middle=rng.random() < 0.4),
        gender=gender,
        date_of_birth=dob,
        nationality=nationality,
        address=_address(rng),
        partner_forenames=_forename(rng, rng.choice("MF")) if partnered else None,
        partner_dob=_birthday(rng, 19, 75) if partnered else None,
        children=tuple(children),
        rng_seed=rng.getrandbits(32),
    )


def _forename(rng: random.Random, gender: str, middle: bool = False) -> str:
    names = _FORENAMES_F if gender == "F" else _FORENAMES_M
    first = rng.choice(names)
    return f"{first} {rng.choice(names)}" if middle else first


def _birthday(rng: random.Random, min_age: int, max_age: int) -> date:
    oldest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - max_age - 1) + timedelta(days=1)
    youngest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - min_age)
    return oldest + timedelta(days=rng.randrange((youngest - oldest).days + 1))


def _age(dob: date, on: date = REFERENCE_DATE) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def _address(rng: random.Random) -> Record:
    town, area = rng.choice(_TOWNS)
    flat = rng.random() < 0.3
    return {
        "line1": f"{rng.randint(1, 240)} {rng.choice(_STREETS)}",
        "line2": f"Flat {rng.randint(1, 12)}" if flat else None,
        "town": town,
        "postcode": f"{area}{rng.randint(1, 19)} {rng.randint(1, 9)}"
        f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
    }


def _day_after(rng: random.Random, start: date, max_days: int) -> date:
    return start + timedelta(days=rng.randrange(1, max_days + 1))


def _rng(person: _Person, dataset: str) -> random.Random:
    return random.Random(f"{dataset}:{person.rng_seed}")


# --- one builder per dataset --------------------------------------------------------------------


_LEAVE = ("SETTLED", "PRE_SETTLED", "LIMITED_LEAVE", "LIMITED_LEAVE", "NO_LEAVE", "ASYLUM_PENDING")


def _immigration(person: _Person, ids: _Identifiers) -> Record:
    rng = _rng(person, "ho")
    british = person.nationality == "GBR" or rng.random() < 0.1
    status = "BRITISH_CITIZEN" if british else rng.choice(_LEAVE)
    expiry = None
    if status in ("PRE_SETTLED", "LIMITED_LEAVE"):  # about one in ten has already expired
        expiry = REFERENCE_DATE + timedelta(days=rng.randint(-120, 5 * 365))
    lawful = status in ("BRITISH_CITIZEN", "SETTLED", "PRE_SETTLED", "LIMITED_LEAVE")
    return {
        "person_id": ids.person_id(person.index),
        "surname": person.surname,
        "forenames": person.forenames,
        "date_of_birth": person.date_of_birth,
        "nationality": "GBR" if british else person.nationality,
        "immigration_status": status,
        "leave_expiry": expiry,
        "conditions": {
            "right_to_work": lawful or (status == "ASYLUM_PENDING" and rng.random() < 0.1),
            "right_to_rent": lawful,
            "no_recourse_to_public_funds": status in ("LIMITED_LEAVE", "NO_LEAVE"),
            "immigration_health_surcharge_paid": status == "LIMITED_LEAVE",
        },
        "case_reference": f"HOC/{2015 + rng.randrange(11)}/{rng.randrange(10**7):07d}",
        "address": dict(person.address),
    }


def _employment(person: _Person, ids: _Identifiers) -> Record:
    rng = _rng(person, "hmrc")
    employments = []
    for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3))):
        start = _day_after(rng, person.date_of_birth + timedelta(days=18 * 366), 9000)
        start = min(start, REFERENCE_DATE - timedelta(days=30))
        ended = rng.random() < 0.35
        employments.append(
            {
                "employer_name": rng.choice(_EMPLOYERS),
                "employer_paye_ref": f"{rng.randint(100, 999)}/"
                f"{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}"
                f"{rng.randrange(10**5):05d}",
                "start_date": start,
                "end_date": _day_after(rng, start, max((REFERENCE_DATE - start).days - 1, 1))
                if ended
                else None,
                "annual_pay_gbp": rng.randrange(4_000, 62_000, 50),
            }
        )
    tenure = rng.choice(("OWNER", "TENANT", "TENANT"))
    properties = [
        _property(
            rng, person.address, tenure, 1 + len(person.children) + bool(person.partner_forenames)
        )
    ]
    for _ in range(rng.choice((0, 0, 0, 0, 1, 1, 2))):  # some are landlords, a few of shared houses
        properties.append(
            _property(rng, _address(rng), "LANDLORD", rng.choice((1, 2, 3, 4, 6, 8, 11)))
        )
    return {
        "nino": ids.nino(person.index),
        "surname": person.surname,
        "forenames": person.forenames,
        "date_of_birth": person.date_of_birth,
        "address": dict(person.address),
        "employments": employments,
        "properties": properties,
        "self_assessment": len(properties) > 1 or rng.random() < 0.15,
    }


def _property(rng: random.Random, address: Record, ownership: str, occupants: int) -> Record:
    let = ownership == "LANDLORD"
    return {
        "uprn": str(rng.randrange(10**8, 10**11)),
        "address": dict(address),
        "ownership": ownership,
        "occupants_declared": occupants,
        "rental_income_gbp": rng.randrange(6_000, 18_000, 100) * max(occupants // 2, 1)
        if let
        else None,
    }


_BENEFITS = (
    ("UNIVERSAL_CREDIT", "UC", 10), ("JOBSEEKERS_ALLOWANCE", "JSA", 2),
    ("EMPLOYMENT_SUPPORT_ALLOWANCE", "ESA", 2), ("PERSONAL_INDEPENDENCE_PAYMENT", "PIP", 3),
    ("HOUSING_BENEFIT", "HB", 2), ("PENSION_CREDIT", "PC", 1),
)  # fmt: skip


def _benefit(person: _Person, ids: _Identifiers) -> Record:
    rng = _rng(person, "dwp")
    benefit, prefix, _ = rng.choices(_BENEFITS, [w for _, _, w in _BENEFITS])[0]
    if _age(person.date_of_birth) >= 66:
        benefit, prefix = "PENSION_CREDIT", "PC"
    status = rng.choices(("OPEN", "SUSPENDED", "CLOSED"), (8, 1, 2))[0]
    start = REFERENCE_DATE - timedelta(days=rng.randint(10, 6 * 365))
    paid = (REFERENCE_DATE - start).days > 35
    household = []
    if person.partner_forenames and person.partner_dob:
        household.append(
            {
                "relationship": "PARTNER",
                "forenames": person.partner_forenames,
                "date_of_birth": person.partner_dob,
            }
        )
    household += [
        {"relationship": "CHILD", "forenames": c.forenames, "date_of_birth": c.date_of_birth}
        for c in person.children
    ]
    return {
        "nino": ids.nino(person.index),
        "surname": person.surname,
        "forenames": person.forenames,
        "date_of_birth": person.date_of_birth,
        "address": dict(person.address),
        "claim_reference": f"{prefix}{rng.randrange(10**8):08d}",
        "benefit_type": benefit,
        "claim_status": status,
        "claim_start": start,
        "last_payment_date": REFERENCE_DATE - timedelta(days=rng.randint(1, 30)) if paid else None,
        "household": household,
        "bank_sort_code": "-".join(f"{rng.randint(10, 99):02d}" for _ in range(3)),
        "next_interview": _day_after(rng, REFERENCE_DATE, 90)
        if status == "OPEN" and rng.random() < 0.4
        else None,
    }


def _charging(person: _Person, ids: _Identifiers) -> Record:
    rng = _rng(person, "nhs")
    status = (
        "EXEMPT"
        if person.nationality == "GBR"
        else rng.choices(("EXEMPT", "CHARGEABLE", "UNDER_REVIEW"), (6, 3, 1))[0]
    )
    debt = rng.randrange(150, 25_000, 5) if status == "CHARGEABLE" and rng.random() < 0.7 else 0
    return {
        "nhs_number": ids.nhs_number(person.index),
        "surname": person.surname,
        "forenames": person.forenames,
        "date_of_birth": person.date_of_birth,
        "address": dict(person.address),
        "gp_practice_code": f"{rng.choice('ABCDEFGHJKLMNPY')}{rng.randrange(80_000, 90_000)}",
        "trust_code": "R" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=2)),
        "chargeable_status": status,
        "outstanding_debt_gbp": debt,
        "debt_first_incurred": REFERENCE_DATE - timedelta(days=rng.randint(30, 900))
        if debt
        else None,
        "treatment_summary": rng.choice(_TREATMENTS)
        if status != "EXEMPT"
        else "Synthetic record: none chargeable.",
    }


def _families(seed: int) -> Iterator[tuple[_Person, _Child]]:
    i = 0
    while i < 4 * MAX_SIZE:
        person = _person(seed, i)
        for child in person.children:
            yield person, child
        i += 1


def _pupils(seed: int, n: int, ids: _Identifiers) -> list[Record]:
    pupils: list[Record] = []
    for k, (parent, child) in zip(range(n), _families(seed), strict=False):
        rng = random.Random(f"dfe:{child.rng_seed}")
        local = [s for s in _SCHOOLS if s[1] == parent.address["town"]]
        school, _, urn = rng.choice(local or _SCHOOLS)
        age_on_sept_1 = _age(child.date_of_birth, date(REFERENCE_DATE.year - 1, 9, 1))
        year_group = min(max(age_on_sept_1 - 4, 0), 13)
        collected = rng.random() < 0.85
        pupils.append(
            {
                "upn": ids.upn(k),
                "surname": parent.surname,
                "forenames": child.forenames,
                "date_of_birth": child.date_of_birth,
                "gender": child.gender,
                "ethnicity": rng.choice(_ETHNICITIES),
                "nationality": parent.nationality if collected else None,
                "country_of_birth": ("GBR" if rng.random() < 0.7 else parent.nationality)
                if collected
                else None,
                "home_address": dict(parent.address),
                "school_urn": urn,
                "school_name": school,
                "year_group": year_group,
                "enrolment_date": date(
                    REFERENCE_DATE.year - 1 - rng.randrange(min(year_group, 6) + 1),
                    9,
                    rng.randint(1, 10),
                ),
                "free_school_meals": rng.random() < 0.22,
                "sen_provision": rng.choice(_SEN),
            }
        )
    return pupils


# --- command line -------------------------------------------------------------------------------


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def main(argv: list[str] | None = None) -> None:
    """Write every provider's dataset to ``DIR/<provider>.jsonl``."""
    parser = argparse.ArgumentParser(
        prog="python -m gateway.synthetic.datasets", description=main.__doc__
    )
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("-n", "--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for provider, records in generate_all(args.size, args.seed).items():
        path = args.out / f"{provider}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, default=_json_default, separators=(",", ":")) + "\n")
        print(
            f"{path}: {len(records)} {DATASET_BY_PROVIDER[provider]} records "
            f"(identifier {SUBJECT_IDENTIFIER_BY_PROVIDER[provider]})"
        )


if __name__ == "__main__":
    main()
