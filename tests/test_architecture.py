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
    assert "5 kept, 0 broken" in r.stdout, r.stdout


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

def _module_of(parts: list[str]) -> str | None:
    """The dotted name of the module or package *parts* name under ROOT, None if none."""
    if not parts or parts[0] not in PACKAGES:
        return None
    target = ROOT / Path(*parts)
    return ".".join(parts) if target.with_suffix(".py").is_file() or (target / "__init__.py").is_file() else None


def _private_attributes(path: Path) -> list[str]:
    """``module._x`` where ``module`` is another of our modules bound by an import (``import a.b
    as m``, ``from a import b``, ``import a.b`` then ``a.b._x``) and ``_x`` not a module of it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    bound: dict[str, str] = {}  # local name -> module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname and _module_of(a.name.split(".")):
                    bound[a.asname] = a.name
                elif not a.asname and _module_of(a.name.split(".")[:1]):
                    bound[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                m = _module_of([*node.module.split("."), a.name])
                if m:
                    bound[a.asname or a.name] = m
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
            continue
        chain, v = [], node.value
        while isinstance(v, ast.Attribute):
            chain.insert(0, v.attr)
            v = v.value
        if not isinstance(v, ast.Name) or v.id not in bound:
            continue
        parts = [*bound[v.id].split("."), *chain]
        module = _module_of(parts)
        if module is None or module == own or _module_of([*parts, node.attr]):
            continue  # not a module of ours, the module itself, or a private module of the package
        out.append(f"{path.relative_to(ROOT)}:{node.lineno}: {module}.{node.attr}")
    return out


def test_no_module_uses_another_modules_private_attribute():
    found = [hit for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py")) for hit in _private_attributes(p)]
    assert found == [], "\n".join(found)


# ------------------------------------------------------------------------------------------
# period labels: parsed and sliced only in envq/periods.py (issue 11: "grep finds no regex on
# period labels and no [:4] slice of a label outside envq/periods.py")

#: One label of each form of the grammar.
LABELS = ("2019", "2019-H1", "2019-Q2", "2019-04", "2019-04-05", "2019-YTD", "2019-01-01..2019-06-30")
#: A text slice that takes the year or the month out of a label or a date.
_LABEL_SLICES = {(None, 4), (0, 4), (None, 7), (0, 7), (5, 7), (5, None), (8, 10)}
#: Slices and regexes that are not about period labels: (file, text on the line) -> why.
NOT_LABELS = {
    ("envq/sources/files.py", "raw[:4] == _ZIP_MAGIC"): "the first bytes of a file (ZIP magic number)",
    ("flows/pipeline.py", "re.search("): "a date written in a payload's file name (YYYYMMDD too)",
    ("envq/sources/adapters/local.py", "_DATE"): "dates written in file names (YYYYMMDD too)",
    ("envq/water/reaches.py", "_ID = "): "reach ids (lower-case words joined by - or _)",
    ("envq/air/daily.py", "order[:7]"): "the first seven names of a list of pollutants",
}
_RE_FUNCS = {"compile", "match", "fullmatch", "search", "sub", "subn", "findall", "finditer", "split"}
_STR_REGEX = {"extract", "extractall", "contains", "match", "fullmatch", "replace", "split", "findall", "count"}


def _const(node) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _label_handling(path: Path) -> list[str]:
    """Slices taking a year or month out of text (``x[:4]``, ``x[:7]``, ``.str.slice(0, 7)``,
    ``.str[:4]``) and regexes that match a period label of the grammar."""
    import re

    rel = path.relative_to(ROOT).as_posix()
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    strings = {t.id: n.value.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
               and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
               for t in n.targets if isinstance(t, ast.Name)}
    hits = []

    def hit(node, what):
        line = lines[node.lineno - 1]
        if not any(f == rel and s in line for f, s in NOT_LABELS):
            hits.append(f"{rel}:{node.lineno}: {what}: {line.strip()}")

    def pattern(node):
        if isinstance(node, ast.Name):
            return strings.get(node.id)
        if isinstance(node, ast.BinOp):  # "a" + "b", NAME + "c"
            a, b = pattern(node.left), pattern(node.right)
            return a + b if isinstance(a, str) and isinstance(b, str) else None
        v = _const(node)
        return v if isinstance(v, str) else None

    def matches_a_label(p, whole=False):
        """*p* reads a label (from its start; the whole label for a fragment kept in a constant);
        a bare year is left out: it matches any pattern of a number."""
        try:
            rx = re.compile(p)
        except re.error:
            return False
        return any((rx.fullmatch if whole else rx.match)(lab) for lab in LABELS if "-" in lab)

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice) and node.slice.step is None:
            lo, up = _const(node.slice.lower) if node.slice.lower else None, _const(node.slice.upper) if node.slice.upper else None
            if (lo, up) in _LABEL_SLICES:
                hit(node, "slice of a date or label")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            if f.attr == "slice" and isinstance(f.value, ast.Attribute) and f.value.attr == "str" \
                    and tuple(_const(a) for a in node.args[:2]) in {(0, 4), (0, 7), (5, 7)}:
                hit(node, ".str.slice of a date or label")
            is_re = isinstance(f.value, ast.Name) and f.value.id == "re" and f.attr in _RE_FUNCS
            is_str = isinstance(f.value, ast.Attribute) and f.value.attr == "str" and f.attr in _STR_REGEX
            if (is_re or is_str) and node.args:
                p = pattern(node.args[0])
                if isinstance(p, str) and matches_a_label(p):
                    hit(node, "regex matching a period label")
    for name, value in strings.items():  # patterns kept in constants (``_DATE = r"..."``)
        if any(c in value for c in "\\(") and matches_a_label(value, whole=True):
            node = next(n for n in ast.walk(tree) if isinstance(n, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == name for t in n.targets))
            hit(node, f"regex {name} matching a period label")
    return sorted(set(hits))


def test_no_period_label_is_parsed_or_sliced_outside_envq_periods():
    found = [hit for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))
             if p != ROOT / "envq" / "periods.py" for hit in _label_handling(p)]
    assert found == [], "\n".join(found)


def test_the_label_check_finds_what_it_looks_for(tmp_path, monkeypatch):
    """The check above is not vacuous: it finds each kind of label handling it forbids."""
    pkg = tmp_path / "envq"
    pkg.mkdir()
    (pkg / "x.py").write_text(
        "import re\n"
        "y = period[:4]\n"
        "m = df['period'].str.slice(0, 7)\n"
        "q = re.fullmatch(r'(\\d{4})-Q([1-4])', label)\n"
        "_MONTH = r'^(\\d{4}-\\d{2})$'\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = _label_handling(pkg / "x.py")
    assert [h.split(": ")[1] for h in found] == ["slice of a date or label", ".str.slice of a date or label",
                                                "regex matching a period label", "regex _MONTH matching a period label"]


def test_the_private_attribute_check_finds_what_it_looks_for(tmp_path, monkeypatch):
    """The attribute check is not vacuous: each way of binding another module finds its private
    name; the module's own names and a package's private module are left alone."""
    pkg = tmp_path / "envq"
    (pkg / "_inner").mkdir(parents=True)
    for f in ("__init__.py", "a.py", "_inner/__init__.py"):
        (pkg / f).write_text("def _x():\n    pass\n", encoding="utf-8")
    (pkg / "b.py").write_text(
        "import envq.a\nimport envq.a as m\nfrom envq import a\nimport envq\n"
        "envq.a._x()\nm._x()\na._x()\nenvq._inner.y()\nenvq._x()\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = [h.split(": ", 1)[1] for h in _private_attributes(pkg / "b.py")]
    assert sorted(found) == ["envq._x", "envq.a._x", "envq.a._x", "envq.a._x"]
    assert _private_attributes(pkg / "a.py") == []
