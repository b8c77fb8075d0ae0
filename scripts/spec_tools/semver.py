"""Additive or breaking: each difference between two fragments, judged by what it does to the
generated crate's users (structs and enums are `#[non_exhaustive]`, enums are open, every
operation takes one parameters struct built by `new(required...)`)."""
from __future__ import annotations

from typing import Any, NamedTuple

from .extract import operations

# Keys that only document: a change to them changes no generated type.
DOC_KEYS = {"description", "summary", "title", "example", "examples", "deprecated", "externalDocs",
            "tags", "x-oaiMeta", "x-stainless-const"}
ORDER = {"none": 0, "docs": 1, "additive": 2, "breaking": 3}


class Change(NamedTuple):
    level: str  # docs | additive | breaking
    subject: str  # `operation createUpload`, `schema Upload`
    what: str

    def __str__(self) -> str:
        return f"{self.level}: {self.subject}: {self.what}"


def _shape(node: Any) -> Any:
    """node without documentation-only keys (recursively)."""
    if isinstance(node, dict):
        return {k: _shape(v) for k, v in node.items() if k not in DOC_KEYS}
    if isinstance(node, list):
        return [_shape(v) for v in node]
    return node


def _enum_growth(old: Any, new: Any) -> bool:
    """True when new is old with only enum values added (an open enum takes that additively)."""
    if isinstance(old, dict) and isinstance(new, dict):
        if set(old) != set(new):
            return False
        return all(_enum_growth(old[k], new[k]) if k != "enum" else
                   isinstance(old[k], list) and isinstance(new[k], list) and set(old[k]) <= set(new[k])
                   for k in old)
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return all(_enum_growth(a, b) for a, b in zip(old, new))
    return old == new


def _value_change(subject: str, what: str, old: Any, new: Any) -> Change | None:
    if old == new:
        return None
    if _shape(old) == _shape(new):
        return Change("docs", subject, f"{what}: documentation")
    if _enum_growth(_shape(old), _shape(new)):
        return Change("additive", subject, f"{what}: enum values added")
    return Change("breaking", subject, f"{what}: type changed")


def _schema(name: str, old: Any, new: Any) -> list[Change]:
    subject = f"schema {name}"
    if not (isinstance(old, dict) and isinstance(new, dict) and ("properties" in old or "properties" in new)):
        change = _value_change(subject, "definition", old, new)
        return [change] if change else []
    changes: list[Change] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    for prop in sorted(set(old_props) | set(new_props)):
        if prop not in new_props:
            changes.append(Change("breaking", subject, f"field {prop} removed"))
        elif prop not in old_props:
            level = "breaking" if prop in new_req else "additive"
            kind = "required" if prop in new_req else "optional"
            changes.append(Change(level, subject, f"{kind} field {prop} added"))
        else:
            if (prop in old_req) != (prop in new_req):
                now = "required" if prop in new_req else "optional"
                changes.append(Change("breaking", subject, f"field {prop} became {now}"))
            change = _value_change(subject, f"field {prop}", old_props[prop], new_props[prop])
            if change:
                changes.append(change)
    rest = lambda d: {k: v for k, v in d.items() if k not in ("properties", "required")}  # noqa: E731
    change = _value_change(subject, "schema", rest(old), rest(new))
    if change:
        changes.append(change)
    if not changes and old != new:
        # e.g. `required` naming a field the schema does not have: no generated type changes.
        changes.append(Change("docs", subject, "no field or type affected"))
    return changes


def _parameters(op: dict[str, Any]) -> dict[str, Any]:
    return {f"{p.get('in')}:{p.get('name')}": p for p in op.get("parameters", []) if isinstance(p, dict)}


def _operation(op_id: str, old: tuple[str, str, Any], new: tuple[str, str, Any]) -> list[Change]:
    subject = f"operation {op_id}"
    changes: list[Change] = []
    if old[:2] != new[:2]:
        changes.append(Change("breaking", subject, f"moved {' '.join(old[:2])} -> {' '.join(new[:2])}"))
    old_params, new_params = _parameters(old[2]), _parameters(new[2])
    for key in sorted(set(old_params) | set(new_params)):
        if key not in new_params:
            changes.append(Change("breaking", subject, f"parameter {key} removed"))
        elif key not in old_params:
            required = bool(new_params[key].get("required"))
            kind = "required" if required else "optional"
            changes.append(Change("breaking" if required else "additive", subject, f"{kind} parameter {key} added"))
        else:
            change = _value_change(subject, f"parameter {key}", old_params[key], new_params[key])
            if change:
                changes.append(change)
    rest = lambda d: {k: v for k, v in d.items() if k != "parameters"}  # noqa: E731
    change = _value_change(subject, "request/response", rest(old[2]), rest(new[2]))
    if change:
        changes.append(change)
    return changes


def classify(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every difference between two fragments with its level, operations first."""
    changes: list[Change] = []
    old_ops, new_ops = operations(old), operations(new)
    for op_id in sorted(set(old_ops) | set(new_ops)):
        if op_id not in new_ops:
            changes.append(Change("breaking", f"operation {op_id}", "removed"))
        elif op_id not in old_ops:
            changes.append(Change("additive", f"operation {op_id}", f"added ({' '.join(new_ops[op_id][:2])})"))
        elif old_ops[op_id] != new_ops[op_id]:
            changes.extend(_operation(op_id, old_ops[op_id], new_ops[op_id]))
    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    for name in sorted(set(old_schemas) | set(new_schemas)):
        if name not in new_schemas:
            changes.append(Change("breaking", f"schema {name}", "removed"))
        elif name not in old_schemas:
            changes.append(Change("additive", f"schema {name}", "added"))
        elif old_schemas[name] != new_schemas[name]:
            changes.extend(_schema(name, old_schemas[name], new_schemas[name]))
    return changes


def overall(changes: list[Change]) -> str:
    """The highest level of all changes: none, docs, additive or breaking."""
    return max((c.level for c in changes), key=ORDER.__getitem__, default="none")
