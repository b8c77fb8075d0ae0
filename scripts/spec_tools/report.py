"""Structured differences between two /uploads fragments: operations, schemas, fields."""
from __future__ import annotations

import json
from typing import Any

from .extract import TOP_LEVEL_KEYS, operations


def _leaf_changes(prefix: str, old: Any, new: Any, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            if key not in new:
                out.append(f"removed {prefix}.{key}")
        for key in new:
            if key not in old:
                out.append(f"added {prefix}.{key}")
            elif old[key] != new[key]:
                _leaf_changes(f"{prefix}.{key}", old[key], new[key], out)
    elif old != new:
        out.append(f"changed {prefix}: {_show_change(old, new)}")


def _show_change(old: Any, new: Any, width: int = 60) -> str:
    """Both values, or for long strings the part around the first difference."""
    if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > width * 2:
        at = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
        start = max(0, at - 20)

        def cut(value: str) -> str:
            more = "…" if len(value) > start + width else ""
            return ("…" if start else "") + json.dumps(value[start : start + width])[1:-1] + more

        return f'"{cut(old)}" -> "{cut(new)}" (first difference at character {at})'
    return f"{json.dumps(old, sort_keys=True)[:200]} -> {json.dumps(new, sort_keys=True)[:200]}"


def _schema_changes(name: str, old: Any, new: Any) -> list[str]:
    changes: list[str] = []
    old_props = old.get("properties", {}) if isinstance(old, dict) else {}
    new_props = new.get("properties", {}) if isinstance(new, dict) else {}
    for prop in sorted(set(old_props) | set(new_props)):
        if prop not in new_props:
            changes.append(f"field removed: {name}.{prop}")
        elif prop not in old_props:
            changes.append(f"field added: {name}.{prop}")
        elif old_props[prop] != new_props[prop]:
            changes.append(f"field changed: {name}.{prop}")
            sub: list[str] = []
            _leaf_changes(f"{name}.{prop}", old_props[prop], new_props[prop], sub)
            changes.extend(f"  {s}" for s in sub)
    if isinstance(old, dict) and isinstance(new, dict):
        rest_old = {k: v for k, v in old.items() if k != "properties"}
        rest_new = {k: v for k, v in new.items() if k != "properties"}
        if rest_old != rest_new:
            _leaf_changes(name, rest_old, rest_new, changes)
    elif old != new:
        _leaf_changes(name, old, new, changes)
    return changes


def diff_fragments(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable list of differences between two fragments; empty when identical."""
    report: list[str] = []
    for key in TOP_LEVEL_KEYS:
        if key != "info" and old.get(key) != new.get(key):
            _leaf_changes(key, old.get(key), new.get(key), report)

    old_ops, new_ops = operations(old), operations(new)
    for op_id in sorted(set(old_ops) | set(new_ops)):
        if op_id not in new_ops:
            report.append(f"operation removed: {op_id} ({old_ops[op_id][0]} {old_ops[op_id][1]})")
        elif op_id not in old_ops:
            report.append(f"operation added: {op_id} ({new_ops[op_id][0]} {new_ops[op_id][1]})")
        elif old_ops[op_id] != new_ops[op_id]:
            changes: list[str] = []
            if old_ops[op_id][:2] != new_ops[op_id][:2]:
                changes.append(f"moved {' '.join(old_ops[op_id][:2])} -> {' '.join(new_ops[op_id][:2])}")
            _leaf_changes(op_id, old_ops[op_id][2], new_ops[op_id][2], changes)
            report.append(f"operation changed: {op_id}")
            report.extend(f"  {c}" for c in changes)

    old_comp, new_comp = old.get("components", {}), new.get("components", {})
    for section in sorted(set(old_comp) | set(new_comp)):
        old_s, new_s = old_comp.get(section, {}), new_comp.get(section, {})
        label = "schema" if section == "schemas" else section.rstrip("s")
        for name in sorted(set(old_s) | set(new_s)):
            if name not in new_s:
                report.append(f"{label} removed: {name}")
            elif name not in old_s:
                report.append(f"{label} added: {name}")
            elif old_s[name] != new_s[name]:
                report.append(f"{label} changed: {name}")
                report.extend(f"  {c}" for c in _schema_changes(name, old_s[name], new_s[name]))
    return report
