"""Synthetic sample messages of every type (Faker, en_GB, seeded): never real people.

Used by tests, benchmarks and the demo to exercise every schema with realistic content.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from faker import Faker

from hub.referrals import NEED_BY_LEVEL, RAG_BY_LEVEL

LOCALITY_TOWNS = {
    "EAST": ["Tilbury", "Chadwell St Mary", "East Tilbury"],
    "CENTRAL": ["Grays", "Stifford Clays", "Chafford Hundred"],
    "WEST": ["South Ockendon", "Aveley", "West Thurrock", "Purfleet"],
}


class Samples:
    """A seeded generator of consistent synthetic records."""

    def __init__(self, seed: int = 7) -> None:
        self.fake = Faker("en_GB")
        self.fake.seed_instance(seed)
        self.rng = random.Random(seed)

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _day(self, years: int = 3) -> date:
        return date(2026, 11, 1) - timedelta(days=self.rng.randint(1, 365 * years))

    def address(self) -> dict[str, Any]:
        """A Thurrock-style address in one of the three localities."""
        towns = [town for names in LOCALITY_TOWNS.values() for town in names]
        town = self.rng.choice(towns)
        return {
            "lines": [self.fake.street_address()],
            "town": town,
            "postcode": f"RM{self.rng.randint(15, 20)} {self.rng.randint(1, 9)}"
            f"{self.fake.random_uppercase_letter()}"
            f"{self.fake.random_uppercase_letter()}",
        }

    def subject(
        self, role: str, family_name: str, address: dict[str, Any], age: int
    ) -> dict[str, Any]:
        """A person with identifiers as an agency might hold them."""
        dob = date(2026, 6, 1) - timedelta(days=365 * age + self.rng.randint(0, 364))
        return {
            "subject_id": self._id(),
            "role": role,
            "given_names": self.fake.first_name(),
            "family_name": family_name,
            "other_names": [],
            "date_of_birth": dob,
            "gender": self.rng.choice(["F", "M"]),
            "address": address,
            "identifiers": {"nhs_number": None, "upn": None, "pnc_id": None},
        }

    def household(self) -> list[dict[str, Any]]:
        """A child, a sibling and two carers at one address."""
        family, addr = self.fake.last_name(), self.address()
        return [
            self.subject("CHILD", family, addr, 6),
            self.subject("SIBLING", family, addr, 9),
            self.subject("PARENT_CARER", family, addr, 34),
            self.subject("OTHER_ADULT", self.fake.last_name(), addr, 38),
        ]

    def referral(self, level: str = "LEVEL_2") -> dict[str, Any]:
        """A triaged referral about one household."""
        need, rag = NEED_BY_LEVEL[level], RAG_BY_LEVEL[level]
        return {
            "referral_id": self._id(),
            "received_at": datetime(2026, 11, 20, 14, 5, tzinfo=UTC),
            "referrer": {
                "name": self.fake.name(),
                "organisation": "Grays Primary School",
                "role": "Designated safeguarding lead",
                "contact": "01375 000000",
                "source": "EDUCATION",
                "source_reference": f"SCH-{self.rng.randint(1, 9999)}",
            },
            "concern": "Child arrived with unexplained bruising; reports shouting at home.",
            "indicators": ["physical and emotional development raising significant concerns"],
            "subjects": self.household(),
            "consent": {
                "status": "NOT_SOUGHT",
                "not_sought_reason": "WOULD_PREJUDICE_PROTECTION",
                "recorded_at": datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
            },
            "level": level,
            "need": need,
            "rag": rag,
            "locality": "CENTRAL",
            "triage_reason": "Indicators in the Complex column",
        }

    def lawful_basis(self) -> dict[str, Any]:
        """The usual basis for safeguarding disclosure."""
        return {
            "gdpr_article6": "6(1)(e) public task",
            "gdpr_article9": "9(2)(g) substantial public interest",
            "dpa_schedule1": "Sch 1 para 18 safeguarding of children and individuals at risk",
            "law_enforcement": "",
            "statute": "Children Act 1989 s17",
        }

    def information_request(self, agency: str = "POLICE") -> dict[str, Any]:
        """A request to one agency about a referral's household."""
        ref = self.referral()
        issued = datetime(2026, 11, 20, 14, 6, tzinfo=UTC)
        return {
            "request_id": self._id(),
            "referral_id": ref["referral_id"],
            "agency": agency,
            "level": "LEVEL_2",
            "purpose": "MASH research: s17 child in need decision",
            "lawful_basis": self.lawful_basis(),
            "issued_at": issued,
            "deadline": issued + timedelta(hours=24),
            "subjects": ref["subjects"],
            "chaser": 0,
        }

    def _rec(self, **extra: Any) -> dict[str, Any]:
        return {"record_id": self._id(), "recorded_on": self._day(), **extra}

    def police_records(self) -> dict[str, Any]:
        """One of every police category."""
        text = self.fake.paragraph
        return {
            "crime_reports": [
                self._rec(
                    narrative=text(),
                    crime_type="Assault ABH",
                    subject_role="suspect",
                    outcome="charged",
                )
            ],
            "domestic_abuse_incidents": [
                self._rec(
                    narrative=text(),
                    risk="high",
                    children_present=True,
                    victim_new_address=self.address(),
                )
            ],
            "intelligence": [
                self._rec(
                    narrative=text(),
                    source_grading="B",
                    intelligence_grading="2",
                    handling_code="C",
                    informant_details="Neighbour at no. 12",
                )
            ],
            "warning_markers": [self._rec(marker="violence")],
            "convictions": [
                self._rec(narrative=text(), offence="Common assault", sentence="Community order")
            ],
            "missing_episodes": [self._rec(narrative=text(), found_on=self._day(), risk="medium")],
        }

    def health_records(self) -> dict[str, Any]:
        """One of every health category."""
        text = self.fake.paragraph
        return {
            "gp_registrations": [
                self._rec(practice="Grays Health Centre", registered_since=self._day(6))
            ],
            "health_visitor_contacts": [self._rec(narrative=text(), contact_type="home visit")],
            "emergency_attendances": [self._rec(narrative=text(), reason="Fall", injury=True)],
            "missed_appointments": [self._rec(service="Paediatrics")],
            "child_protection_flags": [self._rec(flag="CPP", ends_on=None)],
            "mental_health": [
                self._rec(
                    narrative=text(), service="CAMHS", diagnosis="Anxiety disorder", open=True
                )
            ],
            "substance_misuse": [self._rec(narrative=text(), substance="alcohol", open=False)],
        }

    def education_records(self) -> dict[str, Any]:
        """One of every education category."""
        text = self.fake.paragraph
        return {
            "enrolments": [
                self._rec(school="Grays Primary School", urn="114000", year_group="Year 2")
            ],
            "attendance": [
                self._rec(academic_year="2025/26", attendance_percent=82.5, persistent_absence=True)
            ],
            "exclusions": [self._rec(narrative=text(), kind="suspension", days=2)],
            "special_needs": [self._rec(provision="SEN support", primary_need="SEMH")],
            "safeguarding_concerns": [self._rec(narrative=text())],
            "missing_education": [self._rec(narrative=text(), resolved_on=self._day())],
        }

    def housing_records(self) -> dict[str, Any]:
        """One of every housing category."""
        text = self.fake.paragraph
        return {
            "tenancies": [self._rec(tenure="secure council tenancy", address=self.address())],
            "homelessness": [self._rec(narrative=text(), duty="relief")],
            "antisocial_behaviour": [self._rec(narrative=text(), subject_role="perpetrator")],
            "arrears": [self._rec(amount_pence=123_456, weeks=9)],
            "property_hazards": [self._rec(hazard="Damp and mould", band="B")],
            "confidential_addresses": [
                self._rec(narrative=text(), kind="refuge", address=self.address())
            ],
        }

    def agency_response(self, agency: str = "POLICE") -> dict[str, Any]:
        """A response matching two subjects, with every category of that agency."""
        request = self.information_request(agency)
        records = {
            "POLICE": self.police_records,
            "HEALTH": self.health_records,
            "EDUCATION": self.education_records,
            "HOUSING": self.housing_records,
        }[agency]
        findings = []
        for i, subject in enumerate(request["subjects"][:2]):
            confidence = "CONFIRMED" if i == 0 else "POSSIBLE"
            findings.append(
                {
                    "subject_id": subject["subject_id"],
                    "match": {
                        "method": "NAME_DOB_ADDRESS" if i == 0 else "NAME_ADDRESS",
                        "confidence": confidence,
                        "score": 0.97 if i == 0 else 0.61,
                        "identifier_types": ["name", "dob", "address"],
                        "notes": [],
                    },
                    "records": records(),
                }
            )
        return {
            "response_id": self._id(),
            "request_id": request["request_id"],
            "referral_id": request["referral_id"],
            "agency": agency,
            "responded_at": datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
            "subjects": findings,
        }

    def disclosed_information(self) -> dict[str, Any]:
        """A firewall release with one item of each decision."""
        match = {
            "method": "NAME_DOB",
            "confidence": "PROBABLE",
            "score": 0.9,
            "identifier_types": ["name", "dob"],
            "notes": [],
        }
        items = [
            {
                "category": "police.warning_markers",
                "record_id": self._id(),
                "decision": "RELEASED",
                "rule_id": "L2-police-markers",
                "reason": "Level 2 releases warning markers",
                "fields": {"marker": "violence", "recorded_on": "2025-03-02"},
                "withheld_fields": [],
                "summary": None,
            },
            {
                "category": "police.intelligence",
                "record_id": None,
                "decision": "SUMMARISED",
                "rule_id": "L2-police-intel",
                "reason": "Level 2: intelligence as counts only",
                "fields": {},
                "withheld_fields": ["narrative"],
                "summary": {"count": 3, "first_on": date(2024, 1, 5), "last_on": date(2026, 9, 1)},
            },
            {
                "category": "police.domestic_abuse_incidents",
                "record_id": self._id(),
                "decision": "WITHHELD",
                "rule_id": "third-party",
                "reason": "victim's new address",
                "fields": {},
                "withheld_fields": ["victim_new_address"],
                "summary": None,
            },
        ]
        return {
            "disclosure_id": self._id(),
            "referral_id": self._id(),
            "response_id": self._id(),
            "agency": "POLICE",
            "level": "LEVEL_2",
            "policy_version": "sha256:" + "ab" * 32,
            "disclosed_at": datetime(2026, 11, 20, 15, 1, tzinfo=UTC),
            "subjects": [
                {
                    "subject_id": self._id(),
                    "role": "PARENT_CARER",
                    "match": match,
                    "verify_match": False,
                    "items": items,
                }
            ],
        }

    def information_package(self) -> dict[str, Any]:
        """A package with one agency's findings and a chronology."""
        ref = self.referral()
        created = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
        return {
            "package_id": self._id(),
            "referral_id": ref["referral_id"],
            "addendum": 0,
            "level": "LEVEL_2",
            "route": "s17 child in need decision by social care",
            "locality": "CENTRAL",
            "created_at": created,
            "deadline": datetime(2026, 11, 21, 14, 5, tzinfo=UTC),
            "deadline_met": True,
            "concern": ref["concern"],
            "indicators": ref["indicators"],
            "subjects": ref["subjects"],
            "agencies": [
                {
                    "agency": "POLICE",
                    "requested_at": ref["received_at"],
                    "responded_at": created,
                    "answer": "ANSWERED",
                    "chasers": 0,
                },
                {
                    "agency": "HOUSING",
                    "requested_at": ref["received_at"],
                    "responded_at": None,
                    "answer": "NO_RESPONSE",
                    "chasers": 2,
                },
            ],
            "findings": [self.disclosed_information()],
            "chronology": [
                {
                    "on": date(2025, 3, 2),
                    "agency": "POLICE",
                    "category": "police.warning_markers",
                    "description": "marker",
                }
            ],
            "level_history": [
                {
                    "at": ref["received_at"],
                    "from_level": None,
                    "to_level": "LEVEL_2",
                    "reason": "triage",
                    "by": "intake",
                }
            ],
            "contacts": [self.contact(ref)],
            "history": [self.prior_referral()],
        }

    def prior_referral(self) -> dict[str, Any]:
        """An earlier referral about the same children, decided as early help."""
        return {
            "referral_id": self._id(),
            "opened_at": datetime(2026, 6, 3, 10, 15, tzinfo=UTC),
            "level": "LEVEL_1",
            "outcome": "LOCALITY_EARLY_HELP",
            "contacts": 1,
        }

    def contact(self, referral: dict[str, Any]) -> dict[str, Any]:
        """The contact a referral was raised by."""
        return {
            "contact_id": self._id(),
            "received_at": referral["received_at"],
            "source": referral["referrer"]["source"],
            "channel": "intake",
            "organisation": referral["referrer"]["organisation"],
            "source_reference": referral["referrer"].get("source_reference"),
            "level": referral["level"],
            "concern": referral["concern"],
        }

    def case_decision(self) -> dict[str, Any]:
        """A duty manager's decision: early help from the Locality Team."""
        return {
            "decision_id": self._id(),
            "referral_id": self._id(),
            "outcome": "LOCALITY_EARLY_HELP",
            "reason": "needs met by early help",
            "team": "EAST",
            "lead_professional": None,
            "decided_by": "duty manager",
            "decided_at": datetime(2026, 11, 22, 10, tzinfo=UTC),
            "before_package": False,
            "recipients": ["locality-east"],
        }

    def information_product(self) -> dict[str, Any]:
        """A product for a locality team."""
        ref = self.referral("LEVEL_1")
        return {
            "product_id": self._id(),
            "referral_id": ref["referral_id"],
            "recipient": "locality-east",
            "outcome": "LOCALITY_EARLY_HELP",
            "reason": "needs met by early help",
            "team": "EAST",
            "lead_professional": None,
            "level": "LEVEL_1",
            "decided_by": "duty manager",
            "created_at": datetime(2026, 11, 22, 10, tzinfo=UTC),
            "concern": ref["concern"],
            "subjects": ref["subjects"],
            "findings": [self.disclosed_information()],
            "policy_version": "sha256:" + "cd" * 32,
        }

    def feedback(self) -> dict[str, Any]:
        """Outcome feedback to a referring agency."""
        return {
            "feedback_id": self._id(),
            "referral_id": self._id(),
            "contact_id": self._id(),
            "source_reference": "PPN-0001",
            "outcome": "NFA_ADVICE",
            "team": None,
            "decided_at": datetime(2026, 11, 22, 10, tzinfo=UTC),
            "message": "Your referral (PPN-0001): no further action; advice given.",
            "advice": "Universal services; early help from the Locality Team.",
        }

    def notification(self) -> dict[str, Any]:
        """A Level 3 notification."""
        return {
            "notification_id": self._id(),
            "referral_id": self._id(),
            "level": "LEVEL_3",
            "created_at": datetime(2026, 11, 20, 14, 5, 1, tzinfo=UTC),
            "recipients": ["police", "dutymanager"],
            "route": "s47 enquiry: strategy discussion",
            "message": "Level 3 referral received; information to follow.",
        }

    def correction(self) -> dict[str, Any]:
        """IG's notice that a released item was about the wrong person."""
        return {
            "correction_id": "correct-" + self._id().replace("-", ""),
            "referral_id": self._id(),
            "corrects_entry_id": self._id(),
            "kind": "WRONG_PERSON",
            "reason": "the police record matched a different child of the same name",
            "agency": "POLICE",
            "data_category": "police.domestic_abuse_incidents",
            "record_id": "DA-1042",
            "disclosed_at": datetime(2026, 11, 20, 14, 5, tzinfo=UTC),
            "decided_at": datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
            "personal_data_breach": True,
            "action": "Do not use this item: it is about another person.",
        }

    def quarantined(self) -> dict[str, Any]:
        """A quarantine record."""
        return {
            "quarantine_id": self._id(),
            "quarantined_at": datetime(2026, 11, 20, 14, 5, tzinfo=UTC),
            "service": "firewall",
            "source_topic": "mash.responses.police",
            "partition": 2,
            "offset": 1234,
            "reason": "BAD_SIGNATURE",
            "detail": "signature invalid",
            "key": b"ref-1",
            "sealed": b"\xc3\x01garbage",
        }

    def case_opened(self) -> dict[str, Any]:
        """The firewall's plan for a referral."""
        ref = self.referral("LEVEL_2")
        issued = datetime(2026, 11, 20, 14, 6, tzinfo=UTC)
        return {
            "referral": ref,
            "route": "s17 decision",
            "deadline": issued + timedelta(hours=24),
            "requests": [
                {
                    "request_id": self._id(),
                    "agency": a,
                    "issued_at": issued,
                    "deadline": issued + timedelta(hours=24),
                }
                for a in ("POLICE", "HEALTH")
            ],
            "policy_version": "sha256:" + "cd" * 32,
            "opened_at": issued,
            "level_history": [
                {
                    "at": issued,
                    "from_level": None,
                    "to_level": "LEVEL_2",
                    "reason": "triage",
                    "by": "intake",
                }
            ],
            "contacts": [self.contact(ref)],
            "history": [self.prior_referral()],
        }

    def chaser(self) -> dict[str, Any]:
        """A chaser for the housing agency."""
        return {
            "referral_id": self._id(),
            "agency": "HOUSING",
            "chaser": 1,
            "requested_at": datetime(2026, 11, 21, 2, 0, tzinfo=UTC),
            "reason": "late",
        }

    def relevel(self) -> dict[str, Any]:
        """An escalation to Level 3."""
        return {
            "referral_id": self._id(),
            "level": "LEVEL_3",
            "reason": "new disclosure",
            "decided_by": "duty manager",
            "at": datetime(2026, 11, 21, 9, tzinfo=UTC),
        }

    def checkpoint(self) -> dict[str, Any]:
        """A disclosure-log checkpoint."""
        return {
            "origin": "mash-exchange/disclosure-log",
            "size": 42,
            "root_hash": b"\x01" * 32,
            "chain_hash": b"\x02" * 32,
            "signed_at": datetime(2026, 11, 21, tzinfo=UTC),
            "note": "mash-exchange/disclosure-log\n42\n...",
        }

    def of(self, schema_name: str) -> dict[str, Any]:
        """A sample record of any message type."""
        builders = {
            "mash.Referral": self.referral,
            "mash.InformationRequest": self.information_request,
            "mash.AgencyResponse": self.agency_response,
            "mash.DisclosedInformation": self.disclosed_information,
            "mash.InformationPackage": self.information_package,
            "mash.Notification": self.notification,
            "mash.Quarantined": self.quarantined,
            "mash.CaseOpened": self.case_opened,
            "mash.Chaser": self.chaser,
            "mash.Relevel": self.relevel,
            "mash.Checkpoint": self.checkpoint,
            "mash.CaseDecision": self.case_decision,
            "mash.InformationProduct": self.information_product,
            "mash.Feedback": self.feedback,
            "mash.Correction": self.correction,
        }
        return builders[schema_name]()
