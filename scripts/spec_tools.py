#!/usr/bin/env python3
"""Spec tooling for openai-uploads: extract the /uploads fragment, apply the overlay, report drift.

Sub-commands (see `--help`):
  extract UPSTREAM OUT [--provenance FILE --upstream-url URL --upstream-commit SHA]
  overlay FRAGMENT OVERLAY OUT
  diff VENDORED UPSTREAM      exit 1 and print a structured report when the fragments differ
  generate OUT [--overlay EXTRA ...]   regenerate the crate (EXTRA overlays: tests simulating
                              upstream changes)
  check-generated GENERATED   regenerate into a temp dir and compare byte for byte

UPSTREAM may be a path or URL; `.xz`/`.gz` files (the vendored snapshots in openapi/upstream/)
are decompressed. Everything here is deterministic: same input, same bytes out. Only PyYAML is
needed.
"""
from __future__ import annotations

import argparse
import difflib
import gzip
import hashlib
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import yaml

# The four operations this SDK covers. Extraction keeps exactly these.
OPERATION_IDS = ("createUpload", "addUploadPart", "completeUpload", "cancelUpload")
# Top-level keys copied verbatim from the upstream document (besides paths/components).
TOP_LEVEL_KEYS = ("openapi", "info", "servers", "security")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# ---------------------------------------------------------------------------------------------
# YAML in and out
# ---------------------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    """Block-style YAML, multi-line strings as literal blocks, no anchors/aliases."""

    def ignore_aliases(self, data: Any) -> bool:  # noqa: D401 - yaml API
        return True


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        # Literal blocks cannot carry trailing spaces on a line; fall back to quoted style there.
        if not any(line != line.rstrip() for line in data.split("\n")):
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


def dump_yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def read_bytes(source: str) -> bytes:
    """Read a local path or an http(s) URL; `.xz` and `.gz` files are decompressed."""
    if re.match(r"^https?://", source):
        with urllib.request.urlopen(source, timeout=60) as resp:  # noqa: S310 - explicit URL
            data = resp.read()
    else:
        data = Path(source).read_bytes()
    if source.endswith(".xz"):
        return lzma.decompress(data)
    if source.endswith(".gz"):
        return gzip.decompress(data)
    return data


def load_yaml_bytes(data: bytes) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(data, Loader=loader)  # noqa: S506 - safe loader


# ---------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------
def _refs(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_refs(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_refs(item))
    return found


def _resolve_pointer(doc: Any, ref: str) -> tuple[list[str], Any]:
    if not ref.startswith("#/"):
        raise SystemExit(f"error: external $ref not supported: {ref}")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
    node = doc
    for part in parts:
        node = node[part]
    return parts, node


def extract(upstream: Any) -> dict[str, Any]:
    """Keep the /uploads operations and every component they reach, in upstream order."""
    paths: dict[str, Any] = {}
    found_ops: set[str] = set()
    for path, item in upstream.get("paths", {}).items():
        kept = {}
        for method, op in item.items():
            if method in HTTP_METHODS and isinstance(op, dict) and op.get("operationId") in OPERATION_IDS:
                kept[method] = op
                found_ops.add(op["operationId"])
        if kept:
            shared = {k: v for k, v in item.items() if k not in HTTP_METHODS}
            paths[path] = {**shared, **kept}
    missing = [op for op in OPERATION_IDS if op not in found_ops]
    if missing:
        raise SystemExit(f"error: upstream spec lacks operations: {', '.join(missing)}")

    # Transitive closure of $refs, starting from the kept paths.
    wanted: set[tuple[str, ...]] = set()
    queue = _refs(paths)
    if upstream.get("security"):
        for requirement in upstream["security"]:
            for scheme in requirement:
                queue.append(f"#/components/securitySchemes/{scheme}")
    while queue:
        ref = queue.pop()
        parts, node = _resolve_pointer(upstream, ref)
        key = tuple(parts)
        if key in wanted:
            continue
        wanted.add(key)
        queue.extend(_refs(node))

    components: dict[str, Any] = {}
    for section, entries in upstream.get("components", {}).items():
        kept_entries = {
            name: value for name, value in entries.items() if ("components", section, name) in wanted
        }
        if kept_entries:
            components[section] = kept_entries

    fragment: dict[str, Any] = {}
    for key in TOP_LEVEL_KEYS:
        if key in upstream:
            fragment[key] = upstream[key]
    fragment["paths"] = paths
    fragment["components"] = components
    return fragment


# ---------------------------------------------------------------------------------------------
# Overlay (OpenAPI Overlay 1.0, the subset this project uses)
# ---------------------------------------------------------------------------------------------
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\['((?:[^'\\]|\\.)*)'\]")


def _parse_target(target: str) -> list[str]:
    """JSONPath subset: `$` followed by `.name` or `['any key']` segments (no wildcards/filters)."""
    if not target.startswith("$"):
        raise SystemExit(f"error: overlay target must start with $: {target}")
    pos, segments = 1, []
    while pos < len(target):
        match = _SEGMENT.match(target, pos)
        if not match:
            raise SystemExit(f"error: unsupported overlay target syntax at {target[pos:]!r} in {target}")
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
        raise SystemExit("error: overlay document must declare `overlay: 1.x`")
    for index, action in enumerate(overlay.get("actions", [])):
        segments = _parse_target(action["target"])
        parent, node = None, doc
        try:
            for seg in segments:
                parent, node = node, node[seg]
        except (KeyError, TypeError):
            raise SystemExit(
                f"error: overlay action {index} target {action['target']} matches nothing "
                "(the spec moved: update openapi/overlay.yaml)"
            ) from None
        if action.get("remove"):
            if parent is None:
                raise SystemExit("error: cannot remove the document root")
            del parent[segments[-1]]
        elif "update" in action:
            merged = _merge(node, action["update"])
            if parent is None:
                doc = merged
            else:
                parent[segments[-1]] = merged
    return doc


# ---------------------------------------------------------------------------------------------
# Structured diff
# ---------------------------------------------------------------------------------------------
def _operations(fragment: dict[str, Any]) -> dict[str, tuple[str, str, Any]]:
    ops = {}
    for path, item in fragment.get("paths", {}).items():
        for method, op in item.items():
            if method in HTTP_METHODS and isinstance(op, dict):
                ops[op.get("operationId", f"{method} {path}")] = (method.upper(), path, op)
    return ops


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
        cut = lambda v: ("…" if start else "") + json.dumps(v[start : start + width])[1:-1] + (  # noqa: E731
            "…" if len(v) > start + width else ""
        )
        return f'"{cut(old)}" -> "{cut(new)}" (first difference at character {at})'
    show = lambda v: json.dumps(v, sort_keys=True)[:200]  # noqa: E731
    return f"{show(old)} -> {show(new)}"


def diff_fragments(vendored: dict[str, Any], upstream: dict[str, Any]) -> list[str]:
    """Human-readable list of differences between two fragments; empty when identical."""
    report: list[str] = []
    for key in TOP_LEVEL_KEYS:
        if key != "info" and vendored.get(key) != upstream.get(key):
            _leaf_changes(key, vendored.get(key), upstream.get(key), report)

    old_ops, new_ops = _operations(vendored), _operations(upstream)
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

    old_comp, new_comp = vendored.get("components", {}), upstream.get("components", {})
    for section in sorted(set(old_comp) | set(new_comp)):
        old_s, new_s = old_comp.get(section, {}), new_comp.get(section, {})
        label = "schema" if section == "schemas" else section.rstrip("s")
        for name in sorted(set(old_s) | set(new_s)):
            if name not in new_s:
                report.append(f"{label} removed: {name}")
            elif name not in old_s:
                report.append(f"{label} added: {name}")
            elif old_s[name] != new_s[name]:
                changes = []
                old_props = old_s[name].get("properties", {}) if isinstance(old_s[name], dict) else {}
                new_props = new_s[name].get("properties", {}) if isinstance(new_s[name], dict) else {}
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
                rest_old = {k: v for k, v in old_s[name].items() if k != "properties"}
                rest_new = {k: v for k, v in new_s[name].items() if k != "properties"}
                if rest_old != rest_new:
                    _leaf_changes(name, rest_old, rest_new, changes)
                report.append(f"{label} changed: {name}")
                report.extend(f"  {c}" for c in changes)
    return report


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parent.parent
OPENAPI_DIR = REPO / "openapi"


def _fail(message: str) -> "NoReturn":  # type: ignore[name-defined]
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _generator_cmd(settings: dict[str, Any]) -> list[str]:
    """The pinned openapi-generator-cli, checked: Java present, version as pinned."""
    cli = os.environ.get("OPENAPI_GENERATOR_CLI") or str(REPO / ".tools/venv/bin/openapi-generator-cli")
    if not Path(cli).exists() and not shutil.which(cli):
        _fail(
            f"openapi-generator-cli not found at {cli}. Run scripts/bootstrap (it installs the pinned "
            f"PyPI package openapi-generator-cli=={settings['generatorVersion']} into .tools/venv)."
        )
    if not shutil.which("java"):
        _fail("java not found on PATH: openapi-generator needs Java 11+ (Java 17 recommended).")
    java = subprocess.run(["java", "-version"], capture_output=True, text=True)
    match = re.search(r'version "(\d+)', java.stderr + java.stdout)
    if java.returncode != 0 or not match or int(match.group(1)) < 11:
        _fail(f"java is not usable (need 11+): {(java.stderr or java.stdout).strip()[:200]}")
    version = subprocess.run([cli, "version"], capture_output=True, text=True)
    got = version.stdout.strip().splitlines()[-1] if version.stdout.strip() else ""
    if version.returncode != 0 or got != settings["generatorVersion"]:
        _fail(
            f"openapi-generator-cli at {cli} reports {got or version.stderr.strip()[:200]!r}, "
            f"pinned is {settings['generatorVersion']}: run scripts/bootstrap."
        )
    return [cli]


def generate(out_dir: Path, extra_overlays: list[Path] = ()) -> None:
    """Overlay the fragment, patch the stock templates, run the generator into out_dir (replaced).

    `extra_overlays` are applied after openapi/overlay.yaml (tests use them to simulate upstream
    changes)."""
    settings = json.loads((OPENAPI_DIR / "generator.json").read_text())
    cli = _generator_cmd(settings)
    with tempfile.TemporaryDirectory(prefix="openai-uploads-gen-") as tmp_name:
        tmp = Path(tmp_name)
        fragment = load_yaml_bytes((OPENAPI_DIR / "uploads.yaml").read_bytes())
        overlay = load_yaml_bytes((OPENAPI_DIR / "overlay.yaml").read_bytes())
        effective = tmp / "openapi.yaml"
        doc = apply_overlay(fragment, overlay)
        for extra in extra_overlays:
            doc = apply_overlay(doc, load_yaml_bytes(Path(extra).read_bytes()))
        effective_text = (
            "# GENERATED by scripts/regenerate: openapi/uploads.yaml with openapi/overlay.yaml applied.\n"
            "# This is the spec the generated crate (and the conformance test) follows. Do not edit.\n"
            + dump_yaml(doc)
        )
        effective.write_text(effective_text, encoding="utf-8")

        templates = tmp / "templates"
        _run(cli + ["author", "template", "-g", settings["generator"], "-o", str(templates)])
        for patch in sorted((OPENAPI_DIR / "template-patches").glob("*.patch")):
            _run(["patch", "--quiet", "--forward", "-p1", "-d", str(templates), "-i", str(patch)],
                 what=f"template patch {patch.name} no longer applies to the stock templates")

        staging = tmp / "out"
        staging.mkdir()
        shutil.copy(OPENAPI_DIR / "generator-ignore", staging / ".openapi-generator-ignore")
        props = ",".join(f"{k}={_prop(v)}" for k, v in settings["additionalProperties"].items())
        types = ",".join(f"{k}={v}" for k, v in settings["typeMappings"].items())
        _run(cli + [
            "generate", "-g", settings["generator"], "--library", settings["library"],
            "-i", str(effective), "-o", str(staging), "-t", str(templates),
            "--additional-properties", props, "--type-mappings", types,
        ])
        shutil.copy(effective, staging / "openapi.yaml")
        # The project's own manifest and README, not the generator's (its authors, the whole API).
        # (Cargo.toml.in: a file named Cargo.toml in openapi/ would look like a crate to cargo tools.)
        shutil.copy(OPENAPI_DIR / "generated-crate" / "Cargo.toml.in", staging / "Cargo.toml")
        shutil.copy(OPENAPI_DIR / "generated-crate" / "README.md", staging / "README.md")
        # Format like the rest of the workspace, so `cargo fmt --all` never touches generated/.
        rustfmt = shutil.which("rustfmt")
        if not rustfmt:
            _fail("rustfmt not found on PATH: install it (rustup component add rustfmt)")
        sources = sorted(str(p) for p in staging.rglob("*.rs"))
        _run([rustfmt, "--edition", "2021", *sources], what="rustfmt failed on the generated code")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(staging, out_dir)


def _prop(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _run(cmd: list[str], what: str | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stdout + proc.stderr).strip()[-3000:]
        _fail(f"{what or 'command failed'}: {' '.join(cmd)}\n{detail}")


def compare_trees(expected: Path, actual: Path) -> list[str]:
    """Files that differ between two trees (relative paths), with a short unified diff each."""
    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    report: list[str] = []
    exp, act = files(expected), files(actual) if actual.exists() else set()
    for rel in sorted(exp - act):
        report.append(f"missing from {actual}: {rel}")
    for rel in sorted(act - exp):
        report.append(f"not produced by the generator: {rel}")
    for rel in sorted(exp & act):
        a, b = (expected / rel).read_bytes(), (actual / rel).read_bytes()
        if a != b:
            report.append(f"differs: {rel}")
            diff = difflib.unified_diff(
                a.decode("utf-8", "replace").splitlines(), b.decode("utf-8", "replace").splitlines(),
                f"regenerated/{rel}", f"{actual.name}/{rel}", lineterm="", n=1,
            )
            report.extend(f"    {line}" for line in list(diff)[:40])
    return report


def cmd_generate(args: argparse.Namespace) -> int:
    generate(Path(args.out).resolve(), [Path(p) for p in args.overlay])
    return 0


def cmd_check_generated(args: argparse.Namespace) -> int:
    target = Path(args.generated).resolve()
    with tempfile.TemporaryDirectory(prefix="openai-uploads-check-") as tmp:
        fresh = Path(tmp) / "generated"
        generate(fresh)
        report = compare_trees(fresh, target)
    if not report:
        print(f"generated drift: none ({target} is exactly what the generator makes)")
        return 0
    print(f"generated drift: {target} is not what scripts/regenerate makes from openapi/:")
    for line in report:
        print(f"  {line}")
    print("  fix: run scripts/regenerate (never edit generated/ by hand)")
    return 1


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------
def cmd_extract(args: argparse.Namespace) -> int:
    raw = read_bytes(args.upstream)
    fragment = extract(load_yaml_bytes(raw))
    header = (
        "# GENERATED by scripts/extract-fragment from the upstream OpenAI spec. Do not edit:\n"
        "# corrections belong in openapi/overlay.yaml; provenance in openapi/provenance.json.\n"
    )
    Path(args.out).write_text(header + dump_yaml(fragment), encoding="utf-8")
    if args.provenance:
        prov_path = Path(args.provenance)
        prov = json.loads(prov_path.read_text()) if prov_path.exists() else {}
        prov["upstream"] = {
            "url": args.upstream_url,
            "commit": args.upstream_commit,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "openapi": fragment.get("openapi"),
            "info_version": fragment.get("info", {}).get("version"),
        }
        settings = json.loads((OPENAPI_DIR / "generator.json").read_text())
        prov["generator"] = {
            "name": "openapi-generator",
            "generator": settings["generator"],
            "library": settings["library"],
            "version": settings["generatorVersion"],
            "package": f"openapi-generator-cli=={settings['generatorVersion']} (PyPI)",
        }
        prov["fragment"] = {
            "operations": list(OPERATION_IDS),
            "schemas": list(fragment["components"].get("schemas", {})),
            "sha256": hashlib.sha256(Path(args.out).read_bytes()).hexdigest(),
        }
        prov_path.write_text(json.dumps(prov, indent=2) + "\n", encoding="utf-8")
    return 0


def cmd_overlay(args: argparse.Namespace) -> int:
    doc = load_yaml_bytes(Path(args.fragment).read_bytes())
    overlay = load_yaml_bytes(Path(args.overlay).read_bytes())
    Path(args.out).write_text(dump_yaml(apply_overlay(doc, overlay)), encoding="utf-8")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    vendored = load_yaml_bytes(Path(args.vendored).read_bytes())
    upstream = extract(load_yaml_bytes(read_bytes(args.upstream)))
    report = diff_fragments(vendored, upstream)
    if not report:
        print(f"fragment drift: none ({args.vendored} matches {args.upstream})")
        return 0
    print(f"fragment drift: {args.vendored} differs from the fragment extracted from {args.upstream}")
    for line in report:
        print(f"  {line}")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("extract", help="extract the /uploads fragment from an upstream spec")
    p.add_argument("upstream", help="path or URL of the whole upstream openapi.yaml")
    p.add_argument("out")
    p.add_argument("--provenance")
    p.add_argument("--upstream-url", default="")
    p.add_argument("--upstream-commit", default="")
    p.set_defaults(func=cmd_extract)
    p = sub.add_parser("overlay", help="apply an OpenAPI Overlay 1.0 document")
    p.add_argument("fragment")
    p.add_argument("overlay")
    p.add_argument("out")
    p.set_defaults(func=cmd_overlay)
    p = sub.add_parser("diff", help="compare the vendored fragment with one extracted from upstream")
    p.add_argument("vendored")
    p.add_argument("upstream")
    p.set_defaults(func=cmd_diff)
    p = sub.add_parser("generate", help="regenerate the crate from openapi/ into OUT (replaced)")
    p.add_argument("out")
    p.add_argument("--overlay", action="append", default=[],
                   help="another overlay applied after openapi/overlay.yaml (repeatable; for tests)")
    p.set_defaults(func=cmd_generate)
    p = sub.add_parser("check-generated", help="regenerate into a temp dir and compare with GENERATED")
    p.add_argument("generated")
    p.set_defaults(func=cmd_check_generated)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
