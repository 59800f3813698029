"""The architecture, checked by machine (docs/architecture.md, issue 11): the import-linter
contracts and ruff, both configured in pyproject.toml; no module imports another module's
private name."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("envq", "geo", "maps", "flows")


def _run(*cmd):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_the_layer_contracts_hold():
    r = _run(str(Path(sys.executable).parent / "lint-imports"), "--no-cache")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "4 kept, 0 broken" in r.stdout, r.stdout


def test_ruff_finds_nothing():
    r = _run(sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    assert r.returncode == 0, r.stdout + r.stderr


def _private_imports(path: Path) -> list[str]:
    """``from a.b import _x`` where ``a.b`` is another module and ``_x`` not a module of it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] in PACKAGES:
            for a in node.names:
                if a.name.startswith("_") and not a.name.startswith("__"):
                    target = ROOT / Path(*node.module.split("."))
                    if (target / f"{a.name}.py").exists() or (target / a.name).is_dir():
                        continue  # a private module of the package: its own business
                    out.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module} import {a.name}")
    return out


def test_no_module_imports_another_modules_private_name():
    found = [hit for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py")) for hit in _private_imports(p)]
    assert found == [], "\n".join(found)


def _foreign_private_modules(path: Path) -> list[str]:
    """``from a._b import x`` / ``import a._b`` where the importing file is outside package ``a``:
    a private module is its own package's business."""
    me = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] not in PACKAGES:
                continue
            k = next((i for i, x in enumerate(parts) if x.startswith("_") and not x.startswith("__")), None)
            if k is None:
                continue
            owner = ".".join(parts[:k])
            if not (me == owner or me.startswith(owner + ".")):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name} is private to {owner}")
    return out


def test_no_module_imports_a_private_module_of_another_package():
    found = [hit for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py")) for hit in _foreign_private_modules(p)]
    assert found == [], "\n".join(found)
