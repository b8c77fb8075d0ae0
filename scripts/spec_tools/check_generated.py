"""generated/ against what the generator makes from openapi/ now, byte for byte."""
from __future__ import annotations

import difflib
import tempfile
from pathlib import Path

from .generate import generate


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


def check_generated(target: Path) -> list[str]:
    """Differences between target and a fresh regeneration; empty when identical."""
    with tempfile.TemporaryDirectory(prefix="openai-uploads-check-") as tmp:
        fresh = Path(tmp) / "generated"
        generate(fresh)
        return compare_trees(fresh, target)
