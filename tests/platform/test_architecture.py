"""The structure stays: layers only point down, and no module imports one that imports it back.

The layers are import-linter contracts in ``.importlinter`` (wiring > web UI > safety > synthesis >
watermark | consent > foundation, and inside each app: interfaces > tasks and receivers >
services > selectors > gate > models). The cycle check below covers every module of the
project, imports inside functions included, so a lazy import cannot hide a cycle.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("voicegate", "consent", "synthesis", "watermark", "safety", "web")


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")])}


def lint_imports(config: Path) -> subprocess.CompletedProcess:
    """import-linter's own command line, on the repository's code."""
    command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
               "sys.exit(lint_imports_command())", "--config", str(config), "--no-cache"]
    return subprocess.run(command, cwd=ROOT, env=_environment(), capture_output=True, text=True, timeout=300)


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(root: str) -> None:
        # Iterative Tarjan: the module graph is deep enough to make recursion fragile.
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.find_modules_directly_imported_by(successor)))))
                    break
                if successor in on_stack:
                    low[module] = min(low[module], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == module:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return sorted(groups)


def test_no_module_imports_one_that_imports_it_back():
    sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
    try:
        graph = grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)
    finally:
        del sys.path[:2]
    cycles = import_cycles(graph)
    assert not cycles, "import cycles (break each by moving the shared part down a layer):\n" + "\n".join(
        " <-> ".join(group) for group in cycles)


def test_the_cycle_check_finds_a_lazy_cycle():
    graph = grimp.ImportGraph()
    for name in ("app", "app.services", "app.tasks", "app.models"):
        graph.add_module(name)
    graph.add_import(importer="app.services", imported="app.models")
    graph.add_import(importer="app.tasks", imported="app.services")
    assert import_cycles(graph) == []
    graph.add_import(importer="app.services", imported="app.tasks")  # e.g. a lazy import inside a function
    assert import_cycles(graph) == [["app.services", "app.tasks"]]


def test_layer_contracts_hold():
    result = lint_imports(ROOT / ".importlinter")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_contracts(tmp_path):
    """The contracts are not vacuous: a model importing its app's services is reported."""
    config = (ROOT / ".importlinter").read_text()
    probe = ROOT / "consent" / "_layer_probe.py"
    probe.write_text("from consent import services  # noqa: F401\n")
    try:
        # Put the probe in the models layer by naming it in a copy of the contract.
        (tmp_path / "contracts.ini").write_text(config.replace("    (models)\n", "    (models) : (_layer_probe)\n"))
        result = lint_imports(tmp_path / "contracts.ini")
    finally:
        probe.unlink()
    assert result.returncode != 0
    assert "consent._layer_probe is not allowed to import consent.services" in result.stdout


def test_the_standard_library_platform_module_still_imports_from_the_repository_root():
    result = subprocess.run([sys.executable, "-c", "import platform; print(platform.system())"], cwd=ROOT,
                            env=_environment(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip(), result.stderr
