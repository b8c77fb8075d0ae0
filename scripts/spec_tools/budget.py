"""Hand work inside the generated layer, counted: changed lines of the template patches and action
lines of the overlay, against the ceilings recorded in openapi/patch-budget.json."""
from __future__ import annotations

import json
from pathlib import Path


def patch_lines(patch: Path) -> int:
    """Lines a unified diff adds or removes (headers not counted)."""
    return sum(
        1 for line in patch.read_text(encoding="utf-8").splitlines()
        if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))
    )


def overlay_lines(overlay: Path) -> int:
    """Non-blank lines of the overlay that are not comments."""
    return sum(1 for line in overlay.read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.lstrip().startswith("#"))


def measure(openapi_dir: Path) -> dict[str, int]:
    return {
        "template_patches": sum(patch_lines(p) for p in sorted((openapi_dir / "template-patches").glob("*.patch"))),
        "overlay": overlay_lines(openapi_dir / "overlay.yaml"),
    }


def check(openapi_dir: Path) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """(measured, ceilings, one message per ceiling exceeded)."""
    ceilings = {k: v for k, v in json.loads((openapi_dir / "patch-budget.json").read_text()).items()
                if not k.startswith("_")}
    measured = measure(openapi_dir)
    over = [f"{name}: {measured[name]} lines, ceiling {limit}" for name, limit in ceilings.items()
            if measured.get(name, 0) > limit]
    return measured, ceilings, over
