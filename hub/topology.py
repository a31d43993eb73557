"""The declarative topology: principals, topics and the least-privilege ACLs derived from them.

Loaded from YAML into validated pydantic models; ``{agency}`` templates expand per agency, and an
optional namespace prefixes every topic, consumer group and transactional id (one namespace per
test, or per local authority on a shared cluster).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
_PRINCIPAL_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
AGENCY_TEMPLATE = "{agency}"


class TopologyError(ValueError):
    """The topology file is malformed or inconsistent; the message names the file and the rule."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Principal(_Strict):
    """A SCRAM user: one per service or agency adapter."""

    name: str
    description: str = ""
    super_user: bool = False


class Topic(_Strict):
    """A topic with its producers and consumers (everyone else is denied)."""

    name: str
    description: str = ""
    partitions: int = Field(ge=1, le=1000)
    replication_factor: int = Field(ge=1, le=7)
    config: dict[str, str] = Field(default_factory=dict)
    producers: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()

    @field_validator("name")
    @classmethod
    def _legal_name(cls, value: str) -> str:
        if not _TOPIC_NAME.match(value):
            raise ValueError(f"illegal Kafka topic name {value!r}")
        return value


ResourceKind = Literal["TOPIC", "GROUP", "TRANSACTIONAL_ID"]
PatternKind = Literal["LITERAL", "PREFIXED"]
Operation = Literal["READ", "WRITE", "DESCRIBE"]


@dataclass(frozen=True, order=True)
class AclSpec:
    """One ALLOW binding, in the broker's own terms."""

    principal: str
    resource: ResourceKind
    name: str
    pattern: PatternKind
    operation: Operation
    host: str = "*"


class Topology(_Strict):
    """The expanded, validated topology for one namespace."""

    namespace: str = ""
    agencies: tuple[str, ...]
    principals: dict[str, Principal]
    topics: tuple[Topic, ...]

    @property
    def prefix(self) -> str:
        """What every topic, group and transactional id of this namespace starts with."""
        return f"{self.namespace}." if self.namespace else ""

    @cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(t.name for t in self.topics)

    def topic(self, logical: str) -> str:
        """Full topic name for a logical one, e.g. ``mash.requests.police``."""
        name = self.prefix + logical
        if name not in self._names:
            raise KeyError(f"no topic {logical!r} in the topology")
        return name

    def group_prefix(self, principal: str) -> str:
        """Consumer groups and transactional ids this principal may use start with this."""
        return f"{self.prefix}mash.{principal}."

    def service_principals(self) -> list[str]:
        """Every principal except super users (they are created when the broker is formatted)."""
        return sorted(p for p, v in self.principals.items() if not v.super_user)

    def acls(self) -> set[AclSpec]:
        """The least-privilege ALLOW bindings the topology implies."""
        specs: set[AclSpec] = set()
        for topic in self.topics:
            for who in topic.producers:
                user = f"User:{who}"
                specs.add(AclSpec(user, "TOPIC", topic.name, "LITERAL", "WRITE"))
                specs.add(
                    AclSpec(user, "TRANSACTIONAL_ID", self.group_prefix(who), "PREFIXED", "WRITE")
                )
            for who in topic.consumers:
                user = f"User:{who}"
                specs.add(AclSpec(user, "TOPIC", topic.name, "LITERAL", "READ"))
                specs.add(AclSpec(user, "GROUP", self.group_prefix(who), "PREFIXED", "READ"))
        return specs

    def may_produce(self, principal: str, topic: str) -> bool:
        """Whether the topology lets ``principal`` write to the full topic name ``topic``."""
        return self.principals[principal].super_user or any(
            t.name == topic and principal in t.producers for t in self.topics
        )

    def may_consume(self, principal: str, topic: str) -> bool:
        """Whether the topology lets ``principal`` read the full topic name ``topic``."""
        return self.principals[principal].super_user or any(
            t.name == topic and principal in t.consumers for t in self.topics
        )

    @classmethod
    def load(cls, path: Path | None = None, namespace: str = "") -> Topology:
        """Parse, expand and check a topology file (the packaged default when path is None)."""
        if path is None:
            text = resources.files("hub").joinpath("topology.yaml").read_text()
            source = "hub/topology.yaml"
        else:
            text, source = path.read_text(), str(path)
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TopologyError(f"{source}: not valid YAML: {exc}") from exc
        try:
            return _expand(raw, namespace)
        except (ValidationError, ValueError, TypeError, KeyError) as exc:
            raise TopologyError(f"{source}: {exc}") from exc


def _expand_names(names: list[str], agency: str | None, agencies: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        if AGENCY_TEMPLATE in name and agency is None:
            out.extend(name.replace(AGENCY_TEMPLATE, a) for a in agencies)
        else:
            out.append(name.replace(AGENCY_TEMPLATE, agency or ""))
    return out


def _expand(raw: Any, namespace: str) -> Topology:
    if not isinstance(raw, dict) or raw.get("version") != 1:
        raise ValueError("expected a mapping with `version: 1`")
    unknown = set(raw) - {"version", "agencies", "defaults", "principals", "topics"}
    if unknown:
        raise ValueError(f"unknown top-level keys {sorted(unknown)}")
    if namespace and not _TOPIC_NAME.match(namespace):
        raise ValueError(f"illegal namespace {namespace!r}")
    agencies: list[str] = list(raw["agencies"])
    defaults: dict[str, Any] = raw.get("defaults", {})
    principals: dict[str, Principal] = {}
    for key, spec in raw["principals"].items():
        for name in _expand_names([key], None, agencies):
            agency = name if AGENCY_TEMPLATE in key else None
            desc = str((spec or {}).get("description", "")).replace(AGENCY_TEMPLATE, agency or "")
            if not _PRINCIPAL_NAME.match(name) or name in principals:
                raise ValueError(f"principal {name!r} is illegal or declared twice")
            principals[name] = Principal(
                name=name, description=desc, super_user=bool((spec or {}).get("super_user", False))
            )
    topics: list[Topic] = []
    prefix = f"{namespace}." if namespace else ""
    for spec in raw["topics"]:
        per_agency = AGENCY_TEMPLATE in spec["name"]
        for agency in agencies if per_agency else [None]:
            config = {k: str(v) for k, v in (defaults.get("config") or {}).items()}
            config |= {k: str(v) for k, v in (spec.get("config") or {}).items()}
            topic = Topic(
                name=prefix + spec["name"].replace(AGENCY_TEMPLATE, agency or ""),
                description=spec.get("description", ""),
                partitions=spec.get("partitions", defaults.get("partitions", 6)),
                replication_factor=spec.get(
                    "replication_factor", defaults.get("replication_factor", 1)
                ),
                config=config,
                producers=tuple(_expand_names(spec.get("producers", []), agency, agencies)),
                consumers=tuple(_expand_names(spec.get("consumers", []), agency, agencies)),
            )
            for who in (*topic.producers, *topic.consumers):
                if who not in principals:
                    raise ValueError(f"topic {topic.name}: unknown principal {who!r}")
            topics.append(topic)
    names = [t.name for t in topics]
    if len(names) != len(set(names)):
        raise ValueError(
            f"topics declared twice: {sorted({n for n in names if names.count(n) > 1})}"
        )
    return Topology(
        namespace=namespace, agencies=tuple(agencies), principals=principals, topics=tuple(topics)
    )
