"""The layout rules of DESIGN §2: one import root, and dependencies that point one way."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("platform", "tenants", "portal", "worker")
# Which parts each part may import (DESIGN §2: portal and worker -> tenants -> platform).
ALLOWED = {
    "platform": {"platform"},
    "tenants": {"platform", "tenants"},
    "portal": {"platform", "tenants", "portal"},
    "worker": {"platform", "tenants", "worker"},
}


def test_no_top_level_package_shadows_the_standard_library():
    top_level = {
        p.name
        for p in ROOT.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py")
    }
    top_level = {name.removesuffix(".py") for name in top_level}
    assert "urakata" in top_level
    assert top_level & set(sys.stdlib_module_names) == set()


def _imported_parts(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    parts = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            bits = name.split(".")
            if bits[0] == "urakata" and len(bits) > 1 and bits[1] in PARTS:
                parts.add(bits[1])
    return parts


def test_dependencies_point_from_portal_and_worker_to_tenants_to_platform():
    problems = []
    for part, allowed in ALLOWED.items():
        for path in sorted((ROOT / "urakata" / part).rglob("*.py")):
            bad = _imported_parts(path) - allowed
            if bad:
                problems.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert problems == []
