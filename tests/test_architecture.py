"""The package's shape, checked: one-way imports, renderers that see models only, small modules.

Imports inside functions count (they are how heavy modules load lazily, and a cycle hidden in a
function is still a cycle); imports under ``if TYPE_CHECKING:`` do not, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "arc_preflight"
MAX_LINES = 600
# What a renderer may import from the package besides other renderers: the models, the
# catalogue's types, the knowledge base and redaction (a renderer is a function of a model).
RENDER_MAY_IMPORT = {"arc_preflight.model", "arc_preflight.catalog", "arc_preflight.kb",
                     "arc_preflight.redact",
                     # remedy steps split into prose and commands: text work the diagnosis
                     # shares, with no layout in it
                     "arc_preflight.steptext",
                     # the fleet's models (roll-up and comparison): plain frozen dataclasses
                     # like model.py, kept beside the code that builds them
                     "arc_preflight.fleet.model",
                     # the CSV roll-up's row layout: the reader encodes each check's cells with
                     # it (in worker processes) and the renderer joins them, so both share one
                     # encoding; it holds no I/O and imports nothing from the package
                     "arc_preflight.fleet.csvrow"}


def _modules() -> Dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _runtime_imports(tree: ast.AST) -> Iterator[ast.AST]:
    """Import nodes anywhere in the tree, except under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in _runtime_imports_node(child))
            continue
        yield from _runtime_imports_node(node)


def _runtime_imports_node(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    yield from _runtime_imports(node)


def _targets(module: str, node: ast.AST) -> Set[str]:
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".") if is_package else module.split(".")[:-1]
    names: List[str] = []
    if isinstance(node, ast.ImportFrom):
        if node.level:
            prefix = base[:len(base) - (node.level - 1)]
            source = ".".join(prefix + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            candidate = f"{source}.{alias.name}"
            names.append(candidate if candidate in MODULES else source)
    elif isinstance(node, ast.Import):
        names.extend(alias.name for alias in node.names)
    return {name for name in names if name in MODULES and name != module}


def _graph() -> Dict[str, Set[str]]:
    graph: Dict[str, Set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges: Set[str] = set()
        for node in _runtime_imports(tree):
            edges |= {t for t in _targets(module, node) if not module.startswith(t + ".")}
        graph[module] = edges
    return graph


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    assert _cycles(_graph()) == []


def test_cycle_finder_finds_a_planted_cycle() -> None:
    """The check above can fail: a cycle through a function-level import is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_renderers_import_only_models_catalogue_knowledge_and_redaction() -> None:
    graph = _graph()
    wrong = {module: sorted(edges - RENDER_MAY_IMPORT)
             for module, edges in graph.items() if module.startswith("arc_preflight.render")
             for edges in [{e for e in edges if not e.startswith("arc_preflight.render")}]
             if edges - RENDER_MAY_IMPORT}
    assert wrong == {}


# The only modules that may import a renderer: the command line (which picks one) and the
# settings (which check a --format against the renderers' names).
MAY_IMPORT_RENDER = {"arc_preflight.cli", "arc_preflight.cli_diag", "arc_preflight.cli_fleet",
                     "arc_preflight.config"}


def test_core_code_does_not_import_renderers() -> None:
    """Diagnosis, probes and the engine build models; a renderer only reads them."""
    wrong = {module: sorted(e for e in edges if e.startswith("arc_preflight.render"))
             for module, edges in _graph().items()
             if not module.startswith("arc_preflight.render") and module not in MAY_IMPORT_RENDER
             and any(e.startswith("arc_preflight.render") for e in edges)}
    assert wrong == {}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_600_lines(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines"


def test_the_json_schema_names_every_probe_kind_and_category() -> None:
    """The schema's enums are the model's lists: a new probe or category cannot ship without
    its schema entry (reports would fail validation on the user's side)."""
    import json

    from arc_preflight.model import CATEGORIES, PROBE_KINDS

    schema = json.loads((PACKAGE / "data" / "report.schema.json").read_text(encoding="utf-8"))
    found: Dict[str, List[str]] = {}

    def walk(node: object, key: str = "") -> None:
        if isinstance(node, dict):
            if key in ("probe", "category") and "enum" in node:
                found[key] = list(node["enum"])
            for name, child in node.items():
                walk(child, name)
        elif isinstance(node, list):
            for child in node:
                walk(child, key)

    walk(schema)
    assert sorted(found["probe"]) == sorted(PROBE_KINDS)
    assert sorted(found["category"]) == sorted(CATEGORIES)
