"""The /uploads fragment of a whole upstream spec: every path under /uploads (every method), the
Files operations the SDK needs to settle an upload whose `complete` answer was lost (`GET /files`,
`GET /files/{file_id}`: only those methods), and every component those operations reach, in
upstream order."""
from __future__ import annotations

from typing import Any

from .errors import SpecError

# The paths this SDK follows: `/uploads` and everything below it.
PATH_PREFIX = "/uploads"
# Top-level keys copied verbatim from the upstream document (besides paths/components).
TOP_LEVEL_KEYS = ("openapi", "info", "servers", "security")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Operations outside /uploads that the fragment keeps (path -> methods): finding the File a
# completed Upload produced. Other methods of these paths (create, delete) are left out.
EXTRA_OPERATIONS: dict[str, tuple[str, ...]] = {"/files": ("get",), "/files/{file_id}": ("get",)}


class ExtractError(SpecError):
    """The upstream document cannot be extracted (no /uploads paths, a $ref that goes nowhere)."""


def is_uploads_path(path: str) -> bool:
    return path == PATH_PREFIX or path.startswith(PATH_PREFIX + "/")


def is_fragment_path(path: str, extra: dict[str, tuple[str, ...]] = EXTRA_OPERATIONS) -> bool:
    """A path the fragment may hold: under /uploads, or one of the extra operations' paths."""
    return is_uploads_path(path) or path in extra


def _kept_item(path: str, item: Any, extra: dict[str, tuple[str, ...]]) -> Any:
    """Every method of an /uploads path; only the listed methods of an extra path."""
    if is_uploads_path(path):
        return item
    return {k: v for k, v in item.items() if k not in HTTP_METHODS or k in extra[path]}


def refs(node: Any) -> list[str]:
    """Every `$ref` string inside node, in document order."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(refs(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(refs(item))
    return found


def resolve_pointer(doc: Any, ref: str) -> tuple[list[str], Any]:
    if not ref.startswith("#/"):
        raise ExtractError(f"external $ref not supported: {ref}")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
    node = doc
    try:
        for part in parts:
            node = node[part]
    except (KeyError, TypeError):
        raise ExtractError(f"$ref {ref} points at nothing in the upstream document") from None
    return parts, node


def operations(fragment: dict[str, Any]) -> dict[str, tuple[str, str, Any]]:
    """operationId (or `METHOD path` when it has none) -> (METHOD, path, operation)."""
    ops = {}
    for path, item in fragment.get("paths", {}).items():
        for method, op in item.items():
            if method in HTTP_METHODS and isinstance(op, dict):
                ops[op.get("operationId", f"{method.upper()} {path}")] = (method.upper(), path, op)
    return ops


def extract(upstream: Any, extra: dict[str, tuple[str, ...]] = EXTRA_OPERATIONS) -> dict[str, Any]:
    """Keep every /uploads path, the `extra` operations (by default the Files reads; `{}` gives
    the /uploads-only fragment of the project's history) and every component they reach, in
    upstream order."""
    paths = {
        path: _kept_item(path, item, extra)
        for path, item in upstream.get("paths", {}).items()
        if is_fragment_path(path, extra)
    }
    if not any(is_uploads_path(p) for p in paths):
        raise ExtractError(f"upstream spec has no path under {PATH_PREFIX}")

    # Transitive closure of $refs, starting from the kept paths (and the global security schemes).
    wanted: set[tuple[str, ...]] = set()
    queue = refs(paths)
    for requirement in upstream.get("security") or []:
        for scheme in requirement:
            queue.append(f"#/components/securitySchemes/{scheme}")
    while queue:
        ref = queue.pop()
        parts, node = resolve_pointer(upstream, ref)
        key = tuple(parts)
        if key in wanted:
            continue
        wanted.add(key)
        queue.extend(refs(node))

    components: dict[str, Any] = {}
    for section, entries in upstream.get("components", {}).items():
        kept = {name: value for name, value in entries.items() if ("components", section, name) in wanted}
        if kept:
            components[section] = kept

    fragment: dict[str, Any] = {key: upstream[key] for key in TOP_LEVEL_KEYS if key in upstream}
    fragment["paths"] = paths
    fragment["components"] = components
    return fragment
