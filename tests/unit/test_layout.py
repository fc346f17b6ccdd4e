"""The package's layout holds: dependencies run one way, no package reaches into another's private
names, and only `defs/` and `cli/` know Dagster exists."""

from __future__ import annotations

import ast
from pathlib import Path

import dagster_project

PACKAGE = Path(dagster_project.__file__).parent
# Lower layers never import higher ones: core <- ingest, simulate <- quality <- ml <- health <- serve
# <- defs, cli. Packages of one layer may not import each other either.
LAYERS = {
    "core": 0,
    "ingest": 1,
    "simulate": 1,
    "quality": 2,
    "ml": 3,
    "health": 4,
    "serve": 5,
    "defs": 6,
    "definitions": 7,
    "cli": 8,
}
DAGSTER_MODULES = ("dagster", "dagster_dbt", "dagster_webserver", "dagster_shared")
DAGSTER_PACKAGES = {"defs", "cli", "definitions"}


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "dagster_project" and len(parts) > 1 else None


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, imported names) of every import in a file, relative imports resolved."""
    here = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = here.split(".")[: -node.level]
                module = ".".join([*base, module] if module else base)
            found.append((node.lineno, module, [a.name for a in node.names]))
    return found


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        yield path, rel.parts[0].removesuffix(".py")


def test_every_package_has_a_layer():
    missing = {pkg for _, pkg in _modules()} - set(LAYERS) - {"__init__"}
    assert not missing, f"give these packages a layer in LAYERS: {sorted(missing)}"


def test_dependencies_run_one_way():
    wrong = []
    for path, pkg in _modules():
        if pkg == "__init__":
            continue
        for line, module, _ in _imports(path):
            target = _package(module)
            if target is None or target == pkg or target not in LAYERS:
                continue
            if LAYERS[target] >= LAYERS[pkg]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({pkg}) imports {module} ({target})")
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


def test_no_package_imports_another_packages_private_names():
    wrong = []
    for path, pkg in _modules():
        for line, module, names in _imports(path):
            target = _package(module)
            if target is None or target == pkg:
                continue
            private = [n for n in [*names, *module.split(".")] if n.startswith("_") and not n.endswith("__")]
            if private:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {private} from {module}")
    assert not wrong, "private names used across packages:\n" + "\n".join(wrong)


def test_only_defs_and_cli_import_dagster():
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for path, pkg in _modules()
        if pkg not in DAGSTER_PACKAGES
        for line, module, _ in _imports(path)
        if module.split(".")[0] in DAGSTER_MODULES
    ]
    assert not wrong, "Dagster belongs in defs/ and cli/ only:\n" + "\n".join(wrong)
