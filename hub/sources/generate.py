"""A synthetic population for all four agencies at once: consistent people and households in
the local authority's localities, each agency holding its own (slightly different) view:
nicknames, typos, previous names and identifiers as a real agency would. Never real people."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from faker import Faker

from adapters import profile
from hub.matching.identifiers import nhs_check_digit, pnc_check_letter, upn_check_letter
from hub.referrals import NEED_BY_LEVEL, RAG_BY_LEVEL
from hub.samples import LOCALITY_TOWNS
from hub.sources.sqlite import SqliteSource

AGENCIES = ("police", "health", "education", "housing")
POSTCODES = {
    "EAST": ("RM18", "SS17"),
    "CENTRAL": ("RM17", "RM16", "RM20"),
    "WEST": ("RM15", "RM19"),
}
NICK = {
    "Robert": "Bobby",
    "William": "Billy",
    "Elizabeth": "Beth",
    "James": "Jamie",
    "Thomas": "Tom",
    "Samuel": "Sam",
    "Charlotte": "Lottie",
    "Daniel": "Danny",
}


def _nhs(rng: random.Random) -> str:
    while True:
        nine = f"{rng.randint(400000000, 499999999)}"
        check = nhs_check_digit(nine)
        if check is not None:
            return nine + str(check)


def _upn(rng: random.Random) -> str:
    body = f"883{rng.randint(1000, 9999)}{rng.randint(10, 25)}{rng.randint(0, 999):03d}"
    return upn_check_letter(body) + body


def _pnc(rng: random.Random) -> str:
    year, serial = f"{rng.randint(5, 25):02d}", rng.randint(1, 9_999_999)
    return f"{year}/{serial:07d}{pnc_check_letter(year, serial)}"


class Population:
    """Generates households and writes one SQLite source per agency."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_GB")
        self.fake.seed_instance(seed)
        self._given_f = [self.fake.first_name_female() for _ in range(400)]
        self._given_m = [self.fake.first_name_male() for _ in range(400)] + list(NICK)
        self._family = [self.fake.last_name() for _ in range(1500)]
        self._streets = [self.fake.street_name() for _ in range(600)]

    def _person(self, household: dict[str, Any], family: str, age: int, sex: str) -> dict[str, Any]:
        rng = self.rng
        born = date(2026, 11, 1) - timedelta(days=365 * age + rng.randint(0, 364))
        given = rng.choice(self._given_f if sex == "F" else self._given_m)
        ids = {
            "nhs_number": _nhs(rng),
            "upn": _upn(rng) if 4 <= age < 18 else None,
            "pnc_id": _pnc(rng)
            if age >= 18 and household["flags"].get("domestic_abuse") and rng.random() < 0.5
            else None,
        }
        return {
            "person_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "household": household["id"],
            "given_names": given,
            "family_name": family,
            "other_names": [],
            "date_of_birth": born,
            "age": age,
            "gender": sex,
            "address": household["address"],
            "identifiers": ids,
            "household_flags": household["flags"],
        }

    def household(self) -> list[dict[str, Any]]:
        """Adults and children at one address, with the household's circumstances."""
        rng = self.rng
        locality = rng.choice(list(LOCALITY_TOWNS))
        town = rng.choice(LOCALITY_TOWNS[locality])
        postcode = (
            f"{rng.choice(POSTCODES[locality])} {rng.randint(1, 9)}"
            f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        )
        flags = {
            "domestic_abuse": rng.random() < 0.08,
            "neglect": rng.random() < 0.05,
            "substance": rng.random() < 0.05,
            "cp_plan": rng.random() < 0.02,
            "social_tenant": rng.random() < 0.33,
        }
        household = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "flags": flags,
            "locality": locality,
            "address": {
                "lines": [f"{rng.randint(1, 200)} {rng.choice(self._streets)}"],
                "town": town,
                "postcode": postcode,
            },
        }
        family = rng.choice(self._family)
        people = [self._person(household, family, rng.randint(22, 50), "F")]
        if rng.random() < 0.6:
            partner = rng.choice(self._family) if rng.random() < 0.3 else family
            people.append(self._person(household, partner, rng.randint(22, 55), "M"))
        for _ in range(rng.randint(1, 3)):
            people.append(self._person(household, family, rng.randint(0, 17), rng.choice("FM")))
        return people

    def agency_view(self, person: dict[str, Any], agency: str) -> dict[str, Any]:
        """How one agency holds this person: its identifier only, sometimes a variant name."""
        rng = self.rng
        view = dict(person)
        keep = {"police": "pnc_id", "health": "nhs_number", "education": "upn"}.get(agency)
        view["identifiers"] = {
            k: (v if k == keep else None) for k, v in person["identifiers"].items()
        }
        if agency == "police" and person["given_names"] in NICK and rng.random() < 0.5:
            view["given_names"] = NICK[person["given_names"]]
        if agency == "housing" and rng.random() < 0.03:
            view["family_name"] = person["family_name"][:-1] + "e"
        view["records"] = profile(agency).synthesise(person, rng)
        return view

    def write(self, folder: Path, people: int) -> dict[str, int]:
        """Generate about ``people`` people into folder/<agency>.db; returns rows per agency."""
        folder.mkdir(parents=True, exist_ok=True)
        sources = {}
        for agency in AGENCIES:
            path = folder / f"{agency}.db"
            path.unlink(missing_ok=True)
            sources[agency] = SqliteSource(path, create=True)
        counts = dict.fromkeys(AGENCIES, 0)
        made = 0
        batch: dict[str, list[dict[str, Any]]] = {a: [] for a in AGENCIES}
        while made < people:
            for person in self.household():
                made += 1
                for agency in AGENCIES:
                    view = self.agency_view(person, agency)
                    if (
                        agency == "health"
                        or view["records"]
                        or (agency == "education" and view["identifiers"]["upn"])
                    ):
                        batch[agency].append(view)
            if made % 5000 < 6 or made >= people:
                for agency in AGENCIES:
                    counts[agency] += sources[agency].add_people(batch[agency])
                    batch[agency] = []
        for source in sources.values():
            source.close()
        return counts


def referral_for_household(
    folder: Path, level: str, seed: int = 0, known_to: str | None = None
) -> dict[str, Any]:
    """A referral about one generated household (from the health source, which holds all);
    with ``known_to`` an agency, a household that agency holds records about."""
    from datetime import UTC, datetime

    health = SqliteSource(folder / "health.db")
    rng = random.Random(seed)
    try:
        households = [
            h
            for (h,) in health._query(
                "SELECT household FROM people GROUP BY household HAVING count(*) >= 3 "
                "ORDER BY household LIMIT 2000",
                (),
            )
        ]
        if known_to:
            other = SqliteSource(folder / f"{known_to}.db")
            try:
                held = {
                    h
                    for (h,) in other._query(
                        "SELECT DISTINCT p.household FROM people p JOIN records r "
                        "ON r.person_id = p.person_id",
                        (),
                    )
                }
            finally:
                other.close()
            households = [h for h in households if h in held] or households
        household = rng.choice(households)
        members = health.people("household = ?", (household,))
    finally:
        health.close()
    members.sort(key=lambda p: p["date_of_birth"] or date.min)
    subjects = []
    children = [
        m
        for m in members
        if m["date_of_birth"] and (date(2026, 11, 1) - m["date_of_birth"]).days < 18 * 365
    ]
    for m in members:
        role = (
            "CHILD"
            if m is (children[-1] if children else None)
            else "SIBLING"
            if m in children
            else "PARENT_CARER"
        )
        subjects.append(
            {
                "subject_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "role": role,
                "given_names": m["given_names"],
                "family_name": m["family_name"],
                "other_names": [],
                "date_of_birth": m["date_of_birth"],
                "gender": None,
                "address": m["address"],
                "identifiers": {
                    "nhs_number": m["identifiers"]["nhs_number"],
                    "upn": None,
                    "pnc_id": None,
                },
            }
        )
    need, rag = NEED_BY_LEVEL[level], RAG_BY_LEVEL[level]
    consent = (
        {"status": "GIVEN", "not_sought_reason": None, "recorded_at": None}
        if level in ("LEVEL_1", "NFA")
        else {
            "status": "NOT_SOUGHT",
            "not_sought_reason": "WOULD_PREJUDICE_PROTECTION",
            "recorded_at": None,
        }
    )
    return {
        "referral_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "received_at": datetime.now(UTC),
        "referrer": {
            "name": "Designated Safeguarding Lead",
            "organisation": "A school",
            "role": "DSL",
            "contact": "",
            "source": "EDUCATION",
            "source_reference": f"DEMO-{seed}-{level}",
        },
        "concern": "Synthetic concern for a demonstration referral.",
        "indicators": [],
        "subjects": subjects,
        "consent": consent,
        "level": level,
        "need": need,
        "rag": rag,
        "locality": None,
        "triage_reason": "demo",
    }
