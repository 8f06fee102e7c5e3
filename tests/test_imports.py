"""The import structure of `src/diffsal`, read with `ast`: no cycle between packages or modules (type-only
imports included), every package importing only the layers below it, `diffsal.cli` on top and free of command
logic, one definition of the saved-model format and the model registry."""

import ast
from pathlib import Path

import diffsal

ROOT = Path(diffsal.__file__).parent
WORKFLOW = ("training", "inference", "evaluation", "demo", "experiments", "cli", "data")
LOW_LEVEL = ("diffusion", "metrics", "io")
ENTRY_POINT = "diffsal.__main__"


# The packages from the bottom up; a package imports only packages of lower layers (type-only imports included).
LAYERS = (
    ("diffsal",),  # the root: `diffsal.__version__`
    ("errors",),
    ("seeds", "typed_config", "runtime"),
    ("io", "metrics", "diffusion"),
    ("models",),
    ("data",),
    ("predictions", "synth"),
    ("inference", "evaluation", "training"),
    ("reframe", "distillation"),
    ("experiments",),
    ("demo",),
    ("cli",),
    ("__main__",),
)


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


def _imports(path: Path, type_only: bool = False) -> set[str]:
    """Every diffsal module `path` imports when it runs, at any depth of the file (function-level imports
    included; ``if TYPE_CHECKING:`` imports only with `type_only`)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree) if type_only else _runtime_nodes(tree):
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


def _graph(type_only: bool = False) -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in ROOT.rglob("*.py")}
    return {name: {target for target in _imports(path, type_only) if target in modules and target != name}
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


def _cycles(edges: dict[str, set[str]]) -> list[str]:
    """The cycles (a -> b -> ... -> a) of a graph, found by a depth-first search."""
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
    return cycles


def test_no_import_cycle_between_packages():
    edges: dict[str, set[str]] = {}
    for module, targets in _graph(type_only=True).items():
        source = _package(module)
        edges.setdefault(source, set()).update(_package(target) for target in targets if _package(target) != source)
    assert _cycles(edges) == []


def test_no_import_cycle_between_modules_not_even_for_type_hints():
    assert _cycles(_graph(type_only=True)) == []


def test_every_package_imports_only_the_layers_below_it():
    layer = {package: level for level, packages in enumerate(LAYERS) for package in packages}
    packages = {_package(module) for module in _graph()}
    assert packages == set(layer), "every package has a layer"
    # The root (`diffsal/__init__.py`: the version, the error types re-exported) is below everything else.
    upward = sorted(f"{module} -> {target}" for module, targets in _graph(type_only=True).items()
                    for target in targets if module != "diffsal" and _package(target) != _package(module)
                    and layer[_package(target)] >= layer[_package(module)])
    assert upward == []


def _definitions(name: str) -> list[str]:
    """Where a function, method or module-level name `name` is defined in `src/diffsal`."""
    found = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            defined = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else \
                [target.id for target in node.targets if isinstance(target, ast.Name)] if isinstance(node, ast.Assign) \
                else []
            if name in defined:
                found.append(_module_name(path))
    return found


def test_one_definition_of_saving_loading_and_the_model_registry():
    saved_model = "diffsal.models.saved_model"
    for name in ("save_pretrained", "read_config", "ARCHITECTURES", "WEIGHTS_NAME", "CONFIG_NAME", "model_class"):
        assert _definitions(name) == [saved_model], name
    # Predictor.from_pretrained loads a model (through diffsal.models.loading) and adds the sampling settings.
    assert sorted(_definitions("from_pretrained")) == ["diffsal.inference.predictor", saved_model]
    spelled = [str(path.relative_to(ROOT)) for path in ROOT.rglob("*.py")
               if '"model.safetensors"' in path.read_text() or '"config.json"' in path.read_text()]
    assert spelled == ["models/saved_model.py"]


# What a command's library call does; `diffsal.cli` parses arguments, calls it and prints what it returns.
COMMAND_BUILDING_BLOCKS = ("check_output_folder", "resolve_inputs", "PredictionRun", "load_benchmark", "evaluate",
                           "write_results", "load_train_config", "train", "from_published", "load_model",
                           "read_model_config", "generate_video", "keep_earlier_keys", "keep_freed_memory")


def test_the_cli_only_parses_calls_and_prints():
    offenders = []
    for path in (ROOT / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("diffsal."):
                offenders += [f"{path.name}: {alias.name}" for alias in node.names
                              if alias.name in COMMAND_BUILDING_BLOCKS]
    assert offenders == []


def test_the_walk_sees_the_package():
    graph = _graph()
    assert "diffsal.cli.ablate" in graph and "diffsal.experiments.steps" in graph["diffsal.demo.pipeline"]
