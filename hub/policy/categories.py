"""The record categories each agency can return, read from the Avro schemas themselves, so
the policy and the wire format cannot drift apart (e.g. ``police.intelligence``)."""

from __future__ import annotations

from functools import cache
from typing import Any

from hub.schemas import default_registry

AGENCIES = ("POLICE", "HEALTH", "EDUCATION", "HOUSING")
_BUNDLES = {
    "mash.PoliceRecords": "POLICE",
    "mash.HealthRecords": "HEALTH",
    "mash.EducationRecords": "EDUCATION",
    "mash.HousingRecords": "HOUSING",
}


def _walk(schema: Any, found: dict[str, Any]) -> None:
    if isinstance(schema, dict):
        if schema.get("type") == "record":
            found.setdefault(schema["name"], schema)
            for field in schema["fields"]:
                _walk(field["type"], found)
        elif schema.get("type") == "array":
            _walk(schema["items"], found)
    elif isinstance(schema, list):
        for branch in schema:
            _walk(branch, found)


@cache
def categories() -> dict[str, tuple[str, ...]]:
    """Agency -> its categories, e.g. POLICE -> ('police.crime_reports', ...)."""
    named: dict[str, Any] = {}
    _walk(default_registry().current("mash.AgencyResponse").full, named)
    result: dict[str, tuple[str, ...]] = {}
    for bundle, agency in _BUNDLES.items():
        fields = named[bundle]["fields"]
        result[agency] = tuple(f"{agency.lower()}.{f['name']}" for f in fields)
    return result


@cache
def category_fields() -> dict[str, tuple[str, ...]]:
    """Category -> the field names of its records (for field-level rules)."""
    named: dict[str, Any] = {}
    _walk(default_registry().current("mash.AgencyResponse").full, named)
    out: dict[str, tuple[str, ...]] = {}
    for bundle, agency in _BUNDLES.items():
        for field in named[bundle]["fields"]:
            items = field["type"]["items"]
            record = named[items] if isinstance(items, str) else items
            out[f"{agency.lower()}.{field['name']}"] = tuple(f["name"] for f in record["fields"])
    return out


def agency_of(category: str) -> str:
    """The agency a category belongs to."""
    return category.split(".", 1)[0].upper()
