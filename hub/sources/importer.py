"""Import an agency's records from a documented JSON file, validated record by record.

Format: {"people": [{"person_id", "given_names", "family_name", "other_names": [],
"date_of_birth": "YYYY-MM-DD", "address": {"lines": [], "town", "postcode"},
"identifiers": {"nhs_number", "upn", "pnc_id"}, "records": {"<category>": [<record>]}}]}
where each record follows the Avro type of its category (schemas/mash.<Type>.avsc).
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any, cast

from fastavro import parse_schema, schemaless_writer
from fastavro.schema import load_schema

from adapters import profile
from hub.schemas import schemas_dir
from hub.sources.sqlite import DATE_FIELDS, SqliteSource


class ImportInvalid(ValueError):
    """The file is not valid; the message names the bad person and record."""


def _dates(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (date.fromisoformat(v) if k in DATE_FIELDS and isinstance(v, str) else v)
        for k, v in record.items()
    }


def import_file(agency: str, file: Path, target: Path) -> int:
    """Validate every person and record, then write them to the agency's database."""
    bundle = cast(
        dict[str, Any], load_schema(str(schemas_dir() / f"{profile(agency).bundle}.avsc"))
    )
    parsed = parse_schema(bundle)
    try:
        people = json.loads(file.read_text())["people"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ImportInvalid(f'{file}: expected {{"people": [...]}}: {exc}') from exc
    checked = []
    for index, person in enumerate(people):
        where = f"{file}: people[{index}] ({person.get('person_id', '?')})"
        for field in ("person_id", "given_names", "family_name"):
            if not isinstance(person.get(field), str) or not person[field]:
                raise ImportInvalid(f"{where}: {field} is required")
        records = {k: [_dates(r) for r in v] for k, v in (person.get("records") or {}).items()}
        full = {f["name"]: records.get(f["name"], []) for f in bundle["fields"]}
        unknown = set(records) - set(full)
        if unknown:
            raise ImportInvalid(f"{where}: unknown categories {sorted(unknown)}")
        try:
            # Strict encoding, not fastavro's validate(): that one accepts unknown fields.
            schemaless_writer(io.BytesIO(), parsed, full, strict=True, strict_allow_default=True)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ImportInvalid(f"{where}: a record does not fit its schema: {exc}") from exc
        dob = person.get("date_of_birth")
        checked.append(
            {
                **person,
                "records": records,
                "date_of_birth": date.fromisoformat(dob) if dob else None,
            }
        )
    source = SqliteSource(target, create=True)
    try:
        return source.add_people(checked)
    finally:
        source.close()
