"""Union hints for fastavro: a record dict in a union with record branches is rewritten into
fastavro's (record name, dict) notation when its keys fit exactly one branch, so the strict
writer does not validate it deeply against each branch in turn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hint = Callable[[Any], Any]


def union_hints(schema: Any, named: dict[str, Any] | None = None) -> Hint | None:
    """A function that rewrites each dict in a union with record branches into fastavro's
    tuple notation, (record name, dict), when its keys fit exactly one branch; None when the
    schema has no such union. fastavro otherwise validates the dict deeply against each branch
    in turn, which costs more than the write itself. Only the paths leading to such unions
    are walked."""
    named = {} if named is None else named
    if isinstance(schema, str):
        schema = named.get(schema, schema)
    if isinstance(schema, list):
        return _union_hint(schema, named)
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if kind in ("enum", "fixed"):
        named[schema["name"]] = schema
    if kind == "record":
        named[schema["name"]] = schema
        fields = [(f["name"], union_hints(f["type"], named)) for f in schema["fields"]]
        plans = [(name, plan) for name, plan in fields if plan is not None]
        return _record_hint(plans) if plans else None
    if kind == "array":
        items = union_hints(schema["items"], named)
        return None if items is None else _array_hint(items)
    if kind == "map":
        values = union_hints(schema["values"], named)
        return None if values is None else _map_hint(values)
    return None


def _record_hint(plans: list[tuple[str, Hint]]) -> Hint:
    def hint(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = dict(value)
        for name, plan in plans:
            if name in out:
                out[name] = plan(out[name])
        return out

    return hint


def _array_hint(items: Hint) -> Hint:
    return lambda value: [items(v) for v in value] if isinstance(value, list) else value


def _map_hint(values: Hint) -> Hint:
    return lambda v: {k: values(x) for k, x in v.items()} if isinstance(v, dict) else v


def _union_hint(branches: list[Any], named: dict[str, Any]) -> Hint | None:
    records = []
    for branch in branches:
        resolved = named.get(branch, branch) if isinstance(branch, str) else branch
        plan = union_hints(resolved, named)
        if isinstance(resolved, dict) and resolved.get("type") == "record":
            fields = frozenset(f["name"] for f in resolved["fields"])
            required = frozenset(f["name"] for f in resolved["fields"] if "default" not in f)
            records.append((resolved["name"], fields, required, plan))
    if not records:
        return None

    def hint(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        keys = value.keys()
        fits = [r for r in records if keys <= r[1] and r[2] <= keys]
        if len(fits) != 1:
            return value  # ambiguous or no fit: fastavro decides (and reports)
        name, _, _, plan = fits[0]
        return (name, plan(value) if plan else value)

    return hint
