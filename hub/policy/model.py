"""The disclosure policy as validated pydantic models, loaded from a versioned YAML file.

A malformed or contradictory policy (two rules for one cell, an unknown category, a level
without a lawful basis) raises PolicyError naming the file, the rule and the problem; the
firewall refuses to start. The version is the SHA-256 of the canonical form.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.policy.categories import AGENCIES, agency_of, categories, category_fields

LEVELS = ("NFA", "LEVEL_1", "LEVEL_2", "LEVEL_3")
ROLES = ("CHILD", "SIBLING", "PARENT_CARER", "OTHER_ADULT", "THIRD_PARTY")
CONFIDENCES = ("CONFIRMED", "PROBABLE", "POSSIBLE", "NO_MATCH")


class PolicyError(ValueError):
    """The policy file cannot be used; the message says where and why."""


class Action(StrEnum):
    """What a rule does with the records of its cells."""

    RELEASE = "release"
    SUMMARY = "summary"
    EXISTENCE_ONLY = "existence_only"
    WITHHOLD = "withhold"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LawfulBasis(_Strict):
    """The basis for sharing at one level (UK GDPR, DPA 2018 Sch 1, Part 3 for police)."""

    gdpr_article6: str = Field(min_length=3)
    gdpr_article9: str = Field(min_length=3)
    dpa_schedule1: str = Field(min_length=3)
    law_enforcement: str = ""
    statute: str = ""


class ConsentRule(_Strict):
    """Whether sharing at a level needs consent, and whether 'not sought' (with its para
    18(2) reason) is an acceptable alternative."""

    required: bool = False
    accept_not_sought_with_reason: bool = True


class LevelPolicy(_Strict):
    """What one response level asks of whom, why, on which basis."""

    route: str
    purpose: str
    agencies: tuple[str, ...] = ()
    lawful_basis: LawfulBasis | None = None
    consent: ConsentRule = ConsentRule()
    recency_years: int = Field(default=6, ge=0, le=100)


class Rule(_Strict):
    """One decision for a set of cells (level x agency x category x role)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    levels: tuple[str, ...]
    agencies: tuple[str, ...] = ("*",)
    categories: tuple[str, ...] = ("*",)
    roles: tuple[str, ...] = ("*",)
    action: Action
    withhold_fields: tuple[str, ...] = ()
    reason: str = ""


class Recipient(_Strict):
    """A recipient of the disseminated information product and what it may never receive."""

    principal: str
    never_categories: tuple[str, ...] = ()
    never_fields: tuple[str, ...] = ()


Cell = tuple[str, str, str, str]  # level, agency, category, role


class Policy(_Strict):
    """The whole policy, expanded into a table of cells for the engine."""

    version: int
    name: str
    effective_from: date
    detail_requires: str = "PROBABLE"
    levels: dict[str, LevelPolicy]
    protected_fields: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    restricted_handling_codes: tuple[str, ...] = ()
    rules: tuple[Rule, ...]
    recipients: dict[str, Recipient] = Field(default_factory=dict)
    table: dict[Cell, Rule] = Field(default_factory=dict, exclude=True)
    version_digest: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _check_and_expand(self) -> Policy:
        known = {c for cats in categories().values() for c in cats}
        if self.detail_requires not in CONFIDENCES:
            raise ValueError(f"detail_requires: unknown confidence {self.detail_requires!r}")
        for level in LEVELS:
            if level not in self.levels:
                raise ValueError(f"level {level} is missing")
        for level, spec in self.levels.items():
            if level not in LEVELS:
                raise ValueError(f"unknown level {level!r}")
            for agency in spec.agencies:
                if agency not in AGENCIES:
                    raise ValueError(f"level {level}: unknown agency {agency!r}")
            if spec.agencies and spec.lawful_basis is None:
                raise ValueError(
                    f"level {level} asks agencies for information but has no lawful_basis"
                )
        for category, fields in self.protected_fields.items():
            if category not in known:
                raise ValueError(f"protected_fields: unknown category {category!r}")
            for name in fields:
                if name not in category_fields()[category]:
                    raise ValueError(f"protected_fields: {category} has no field {name!r}")
        for name, recipient in self.recipients.items():
            for category in recipient.never_categories:
                if category not in known:
                    raise ValueError(f"recipient {name}: unknown category {category!r}")
            every_field = {f for fields in category_fields().values() for f in fields}
            for field_name in recipient.never_fields:
                if field_name not in every_field:
                    raise ValueError(f"recipient {name}: no category has a field {field_name!r}")
        table: dict[Cell, Rule] = {}
        for rule in self.rules:
            for cell in _cells(rule, known):
                if cell in table:
                    raise ValueError(
                        f"rule {rule.id}: cell {'/'.join(cell)} is already decided "
                        f"by rule {table[cell].id}"
                    )
                table[cell] = rule
        object.__setattr__(self, "table", table)
        # Computed once: every log entry carries it (it was 20% of the firewall's own time).
        digest = "sha256:" + hashlib.sha256(self.canonical().encode()).hexdigest()
        object.__setattr__(self, "version_digest", digest)
        return self

    def rule_for(self, level: str, category: str, role: str) -> Rule | None:
        """The rule deciding one cell, or None (then the default is to withhold)."""
        return self.table.get((level, agency_of(category), category, role))

    def canonical(self) -> str:
        """Canonical JSON of the policy (the input of its version hash)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @property
    def digest(self) -> str:
        """The policy version every decision carries: sha256 of the canonical form."""
        return self.version_digest


def _cells(rule: Rule, known: set[str]) -> list[Cell]:
    for level in rule.levels:
        if level not in LEVELS:
            raise ValueError(f"rule {rule.id}: unknown level {level!r}")
    agencies = AGENCIES if "*" in rule.agencies else rule.agencies
    for agency in agencies:
        if agency not in AGENCIES:
            raise ValueError(f"rule {rule.id}: unknown agency {agency!r}")
    roles = ROLES if "*" in rule.roles else rule.roles
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"rule {rule.id}: unknown role {role!r}")
    if "*" in rule.categories:
        cats = [c for a in agencies for c in categories()[a]]
    else:
        cats = list(rule.categories)
        for category in cats:
            if category not in known:
                raise ValueError(f"rule {rule.id}: unknown category {category!r}")
            if agency_of(category) not in agencies:
                raise ValueError(
                    f"rule {rule.id}: category {category} is not of {'/'.join(agencies)}"
                )
    for category in cats:
        for name in rule.withhold_fields:
            if name not in category_fields()[category]:
                raise ValueError(f"rule {rule.id}: {category} has no field {name!r}")
    return [(lv, agency_of(c), c, r) for lv in rule.levels for c in cats for r in roles]


def load_policy(path: Path | None = None) -> Policy:
    """Parse and validate a policy file (the packaged default when path is None)."""
    if path is None:
        text = resources.files("hub").joinpath("policies/disclosure.yaml").read_text()
        source = "hub/policies/disclosure.yaml"
    else:
        try:
            text, source = path.read_text(), str(path)
        except OSError as exc:
            raise PolicyError(f"{path}: cannot read: {exc}") from exc
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: expected a mapping at the top level")
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'policy'}: {err['msg']}"
            for err in exc.errors()
        )
        raise PolicyError(f"{source}: {problems}") from exc
