"""The architecture as a test: which layer may import what, and no import circles.

Every import statement counts, at module level or inside a function, under
`TYPE_CHECKING` or not: a dependency is a dependency, whenever it is resolved.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bridge"
MAX_LINES = 400

# What each layer may import besides itself, by module name prefix.
STANDARD_LIBRARY_ONLY_AND = ("phonenumbers", "bridge.errors", "bridge.domain")
FORBIDDEN_IN_ROUTING = ("bridge.store", "bridge.jobs", "bridge.slack", "bridge.sms", "sqlalchemy")
FORBIDDEN_PREFIXES_IN_ROUTING = ("slack_", "vonage")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, name: str) -> Iterator[str]:
    """Every module `path` imports, absolute (relative imports resolved against `name`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            # `from bridge.routing import cases` imports the module bridge.routing.cases.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def graph() -> dict[str, set[str]]:
    """Module → the modules of this package it imports."""
    known = modules()
    return {
        name: {target for target in imports_of(path, name) if target in known and target != name}
        for name, path in known.items()
    }


def external_imports(layer: str) -> dict[str, set[str]]:
    """Module of `layer` → every module it imports (of any package)."""
    return {
        name: set(imports_of(path, name))
        for name, path in modules().items()
        if name == layer or name.startswith(layer + ".")
    }


def starts_with(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") or name.startswith(p) for p in prefixes)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _package_parents(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph without the edges from a module to the packages that contain it (importing
    `bridge.domain.values` runs `bridge/domain/__init__.py`, which imports nothing back)."""
    return {
        name: {t for t in targets if not name.startswith(t + ".")}
        for name, targets in edges.items()
    }


def test_there_is_no_import_circle() -> None:
    assert cycles(_package_parents(graph())) == []


def test_the_domain_imports_only_the_standard_library_phonenumbers_and_errors() -> None:
    import sys

    allowed_stdlib = sys.stdlib_module_names
    wrong = {
        name: sorted(
            target
            for target in targets
            if target.split(".")[0] not in allowed_stdlib
            and not starts_with(target, STANDARD_LIBRARY_ONLY_AND)
        )
        for name, targets in external_imports("bridge.domain").items()
    }
    assert {name: targets for name, targets in wrong.items() if targets} == {}


def test_routing_never_reaches_the_store_the_adapters_or_an_sdk() -> None:
    wrong = {
        name: sorted(
            target
            for target in targets
            if starts_with(target, FORBIDDEN_IN_ROUTING)
            or target.split(".")[0].startswith(FORBIDDEN_PREFIXES_IN_ROUTING)
        )
        for name, targets in external_imports("bridge.routing").items()
    }
    assert {name: targets for name, targets in wrong.items() if targets} == {}


@pytest.mark.parametrize("layer", ["bridge.domain", "bridge.routing", "bridge.store"])
def test_nothing_below_the_adapters_imports_them_or_the_composition(layer: str) -> None:
    above = ("bridge.slack", "bridge.sms", "bridge.app", "bridge.cli", "bridge.config")
    above += ("bridge.config_base", "bridge.config_email")
    above += ("bridge.sandbox", "bridge.fakes", "bridge.doctor", "bridge.web_app")
    wrong = {
        name: sorted(target for target in targets if starts_with(target, above))
        for name, targets in external_imports(layer).items()
    }
    assert {name: targets for name, targets in wrong.items() if targets} == {}


def test_the_store_never_imports_the_rules_or_the_jobs() -> None:
    wrong = {
        name: sorted(t for t in targets if starts_with(t, ("bridge.routing", "bridge.jobs")))
        for name, targets in external_imports("bridge.store").items()
    }
    assert {name: targets for name, targets in wrong.items() if targets} == {}


def test_no_file_in_the_package_is_over_400_lines() -> None:
    long = {
        name: lines
        for name, path in modules().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


# The checks themselves, on small graphs whose answer is known.


def test_a_circle_of_three_is_found_and_a_chain_is_not() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_relative_and_from_imports_name_the_modules_they_reach(tmp_path: Path) -> None:
    source = "from . import sibling\nfrom ..other import thing\nimport bridge.domain.values\n"
    path = PACKAGE / "routing" / "example.py"
    found = set(imports_of_text(source, path, "bridge.routing.example"))
    assert {"bridge.routing.sibling", "bridge.other.thing", "bridge.domain.values"} <= found


def imports_of_text(source: str, path: Path, name: str) -> Iterator[str]:
    """`imports_of` on source text given as a string (the file need not exist)."""
    fake = _TextPath(path, source)
    return imports_of(fake, name)  # type: ignore[arg-type]


class _TextPath:
    def __init__(self, path: Path, text: str) -> None:
        self.name = path.name
        self._text = text

    def read_text(self, encoding: str) -> str:
        return self._text
