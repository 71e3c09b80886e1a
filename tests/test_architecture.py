"""The layers of docs/architecture.md, checked on the source: no import cycle, and no module
imports from a layer above its own. Imports made only for type checking (under
`if TYPE_CHECKING:`) are left out: they never run."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "radixagent"

# Lowest first; a module may import from its own layer and the ones before it.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "extras", "settings"),
    ("engine",),
    ("schemas",),
    ("telemetry",),
    ("evidence", "prompting", "validation", "recovery", "tools", "memory"),
    ("decision", "feedback"),
    ("agent", "chat"),
    ("compat",),
    ("demo", "server"),
    ("cli", "__init__"),
]


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The radixagent modules `path` imports when it runs (not under TYPE_CHECKING);
    `from package import module` counts as importing the module."""
    tree = ast.parse(path.read_text(), str(path))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found: set[str] = set()
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("radixagent")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.startswith("radixagent"):
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _runtime_imports(path, set(modules)):
            while imported not in modules and "." in imported:  # `from radixagent.x import name`
                imported = imported.rpartition(".")[0]
            if imported in modules and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for level, names in enumerate(LAYERS):
        if top in names:
            return level
    raise AssertionError(f"{module} is in no layer: add its top-level name to LAYERS (and to docs/architecture.md)")


def test_every_module_has_a_layer() -> None:
    for module in _graph():
        _layer(module)


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = [
        f"{module} -> {target}"
        for module, targets in _graph().items()
        for target in targets
        if _layer(target) > _layer(module) and not target.startswith(module + ".")
    ]
    assert upward == []


def test_the_import_graph_has_no_cycle() -> None:
    graph = _graph()
    # a package's __init__ re-exports its modules: an edge from a module to its own package is a cycle only
    # when the __init__ imports it back, which the search below finds like any other
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_core_knows_nothing_of_the_tutorial_api() -> None:
    users = sorted(m for m, targets in _graph().items() if any(t.startswith("radixagent.compat") for t in targets))
    assert all(m.startswith("radixagent.compat") or _layer(m) > _layer("radixagent.compat") for m in users), users


def test_the_package_root_exports_every_error_and_every_error_lives_in_errors_py() -> None:
    import inspect

    import radixagent
    import radixagent.errors

    tree = {n for n, o in vars(radixagent.errors).items() if inspect.isclass(o) and issubclass(o, Exception)}
    assert tree <= set(radixagent.__all__)
    defined_elsewhere = [
        f"{path.relative_to(PACKAGE)}: {node.name}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "errors.py" or path.parent != PACKAGE
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
        and not node.name.startswith("_")
        and any(ast.unparse(b).endswith(("Error", "Exception")) for b in node.bases)
    ]
    assert defined_elsewhere == []


def test_every_type_ignore_names_its_code_and_says_why() -> None:
    bare = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in PACKAGE.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "type: ignore" in line and not re.search(r"type: ignore\[[a-z-]+(, [a-z-]+)*\]  # \S", line)
    ]
    assert bare == []
