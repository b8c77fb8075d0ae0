"""The operations of a fragment against the ones the hand-written layer (uploads-ext) knows,
listed in openapi/known-operations.txt as `METHOD PATH OPERATION_ID` lines."""
from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from .errors import SpecError
from .extract import operations


class Operation(NamedTuple):
    method: str
    path: str
    operation_id: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.operation_id})"


def read_known(path: Path) -> list[Operation]:
    known = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 3:
            raise SpecError(f"{path}:{number}: expected `METHOD PATH OPERATION_ID`, got {raw!r}")
        known.append(Operation(fields[0].upper(), fields[1], fields[2]))
    return known


def fragment_operations(fragment: dict[str, Any]) -> list[Operation]:
    return sorted(Operation(m, p, op_id) for op_id, (m, p, _) in operations(fragment).items())


def unknown_operations(fragment: dict[str, Any], known: list[Operation]) -> list[Operation]:
    """Operations of the fragment uploads-ext does not know (by method, path and id)."""
    return [op for op in fragment_operations(fragment) if op not in known]


def missing_operations(fragment: dict[str, Any], known: list[Operation]) -> list[Operation]:
    """Operations uploads-ext knows that the fragment no longer has."""
    present = set(fragment_operations(fragment))
    return [op for op in known if op not in present]


def coverage_report(fragment: dict[str, Any], known: list[Operation]) -> list[str]:
    report = [f"operation not known to uploads-ext: {op}" for op in unknown_operations(fragment, known)]
    report += [f"operation uploads-ext knows is gone: {op}" for op in missing_operations(fragment, known)]
    return report
