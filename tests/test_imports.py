"""The import structure of `src/diffsal`, read with `ast`: no cycle between packages, `diffsal.cli` on top, and
the low-level packages (`diffusion`, `metrics`, `io`) free of the workflow packages."""

import ast
from pathlib import Path

import diffsal

ROOT = Path(diffsal.__file__).parent
WORKFLOW = ("training", "inference", "evaluation", "demo", "experiments", "cli", "data")
LOW_LEVEL = ("diffusion", "metrics", "io")
ENTRY_POINT = "diffsal.__main__"


def _module_name(path: Path) -> str:
    parts = ("diffsal", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST):
    """Every node of `tree` but those under ``if TYPE_CHECKING:`` (annotations only, never imported)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for branch in node.orelse:
                yield branch
                yield from _runtime_nodes(branch)
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(path: Path) -> set[str]:
    """Every diffsal module `path` imports when it runs, at any depth of the file (function-level imports
    included, ``if TYPE_CHECKING:`` imports not)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {name for name in names if name == "diffsal" or name.startswith("diffsal.")}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in ROOT.rglob("*.py")}
    return {name: {target for target in _imports(path) if target in modules and target != name}
            for name, path in modules.items()}


def _package(module: str) -> str:
    """The top-level subpackage of `module` (``diffsal.io.video`` -> ``io``; a top-level module is its own)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _in(module: str, package: str) -> bool:
    return module == f"diffsal.{package}" or module.startswith(f"diffsal.{package}.")


def test_nothing_below_the_cli_imports_it():
    """Only the entry point `python -m diffsal` (``diffsal.__main__``) stands above the CLI."""
    offenders = sorted(f"{module} -> {target}" for module, targets in _graph().items()
                       if not _in(module, "cli") and module != ENTRY_POINT
                       for target in targets if _in(target, "cli"))
    assert offenders == []


def test_low_level_packages_import_no_workflow_package():
    offenders = sorted(f"{module} -> {target}" for module, targets in _graph().items()
                       if any(_in(module, low) for low in LOW_LEVEL)
                       for target in targets if any(_in(target, package) for package in WORKFLOW))
    assert offenders == []


def test_no_import_cycle_between_packages():
    """A cycle of subpackages (a -> b -> ... -> a), found by a depth-first search of the package graph."""
    edges: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        source = _package(module)
        edges.setdefault(source, set()).update(_package(target) for target in targets if _package(target) != source)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_walk_sees_the_package():
    graph = _graph()
    assert "diffsal.cli.ablate" in graph and "diffsal.experiments.steps" in graph["diffsal.demo.pipeline"]
