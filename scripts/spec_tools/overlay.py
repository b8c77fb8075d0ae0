"""OpenAPI Overlay 1.0, the subset this project uses: targets are `$` followed by `.name` or
`['any key']` segments (no wildcards or filters); actions `update` (deep merge) and `remove`."""
from __future__ import annotations

import re
from typing import Any

from .errors import SpecError

_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\['((?:[^'\\]|\\.)*)'\]")


class OverlayError(SpecError):
    """An overlay that is malformed or whose target the spec no longer has."""


def parse_target(target: str) -> list[str]:
    if not target.startswith("$"):
        raise OverlayError(f"overlay target must start with $: {target}")
    pos, segments = 1, []
    while pos < len(target):
        match = _SEGMENT.match(target, pos)
        if not match:
            raise OverlayError(f"unsupported overlay target syntax at {target[pos:]!r} in {target}")
        segments.append(match.group(1) if match.group(1) is not None else match.group(2))
        pos = match.end()
    return segments


def _merge(node: Any, update: Any) -> Any:
    if isinstance(node, dict) and isinstance(update, dict):
        for key, value in update.items():
            node[key] = _merge(node[key], value) if key in node else value
        return node
    if isinstance(node, list) and isinstance(update, list):
        return node + update
    return update


def apply_overlay(doc: Any, overlay: dict[str, Any]) -> Any:
    if not str(overlay.get("overlay", "")).startswith("1."):
        raise OverlayError("overlay document must declare `overlay: 1.x`")
    for index, action in enumerate(overlay.get("actions", [])):
        segments = parse_target(action["target"])
        parent, node = None, doc
        try:
            for seg in segments:
                parent, node = node, node[seg]
        except (KeyError, TypeError):
            raise OverlayError(
                f"overlay action {index} target {action['target']} matches nothing "
                "(the spec moved: update openapi/overlay.yaml)"
            ) from None
        if action.get("remove"):
            if parent is None:
                raise OverlayError("cannot remove the document root")
            del parent[segments[-1]]
        elif "update" in action:
            merged = _merge(node, action["update"])
            if parent is None:
                doc = merged
            else:
                parent[segments[-1]] = merged
    return doc
