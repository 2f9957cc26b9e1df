"""No module of the synthesis core (engines, front end, voices, judges, enrollment) imports one that
imports it back, even lazily inside a function. (The Django layer's services <-> tasks / signals
pairs are outside this check.)"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "synthesis"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_by_module() -> dict[str, set[str]]:
    files = [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts]
    modules = {_module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        me = _module_name(path)
        package = me if path.name == "__init__.py" else me.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # every import, lazy ones too
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                names = [f"{base}.{alias.name}" for alias in node.names] + [base]
            else:
                continue
            found |= {m for m in (_resolve(n, modules) for n in names) if m and m != me}
        graph[me] = found
    return graph


CORE = ("synthesis.engines", "synthesis.frontend", "synthesis.enrollment", "synthesis.enrollment_gradient",
        "synthesis.judges", "synthesis.voices", "synthesis.profile", "synthesis.instructions")


def _core(module: str) -> bool:
    return any(module == c or module.startswith(c + ".") for c in CORE)


def test_no_two_core_synthesis_modules_import_each_other():
    graph = imports_by_module()
    mutual = sorted({tuple(sorted((a, b))) for a, targets in graph.items() for b in targets
                     if a in graph.get(b, ()) and (_core(a) or _core(b))})
    assert mutual == [], f"modules importing each other: {mutual}"


def test_the_cycles_of_issue_14_are_gone():
    graph = imports_by_module()
    assert "synthesis.enrollment" not in graph["synthesis.enrollment_gradient"]
    assert "synthesis.engines.kokoro" not in graph["synthesis.frontend"]
