"""The code's shape, held by tests: small modules, no import cycles, no two apps importing each other.

Imports are counted wherever they are written: at module level, inside functions and under
``TYPE_CHECKING`` (an import that only dodges a cycle is a cycle all the same). Each check has an
allow-list of today's offenders that may only shrink: an entry that is fixed, moved or has
changed fails the test until it is removed or updated, so the lists empty as the splits of
issue #12 land. No database; the import graph takes a few hundredths of a second.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "apps"
MAX_LINES = 500

#: modules over MAX_LINES today -> their line count then; they may shrink, never grow past it
KNOWN_LONG_MODULES: dict[str, int] = {}

#: today's module import cycles, each as the sorted modules of one strongly connected component
KNOWN_CYCLES: set[tuple[str, ...]] = set()

#: today's pairs of apps that import each other, sorted by name
KNOWN_APP_PAIRS: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def graph() -> Iterator[grimp.ImportGraph]:
    """Every import between modules of ``apps``, function-level and TYPE_CHECKING ones included."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(ROOT))  # `apps` is found here with or without pytest-django
        built = grimp.build_graph("apps", cache_dir=None)
    yield built


def _line(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
    details = graph.get_import_details(importer=importer, imported=imported)
    lines = sorted(d["line_number"] for d in details)
    return f" (l.{lines[0]})" if lines else ""


def _import_map(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def _strongly_connected(edges: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Tarjan's algorithm, iterative: the components of more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []
    for root in sorted(edges):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(edges[root])))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in edges[node]:
                        found.append(tuple(sorted(component)))
    return sorted(found)


def _describe_cycle(
    graph: grimp.ImportGraph, edges: dict[str, set[str]], component: tuple[str, ...]
) -> str:
    """The shortest cycle through the component's first module, with the line of each import."""
    members = set(component)
    start = component[0]
    path = [start, start]  # a module importing itself, unless a longer cycle is found below
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if start in edges[node]:
            path = [node]
            while path[-1] != start:
                path.append(came_from[path[-1]])
            path.reverse()
            path.append(start)
            break
        for child in sorted(edges[node] & members):
            if child not in came_from and child != start:
                came_from[child] = node
                queue.append(child)
    text = path[0] + "".join(f" -> {b}{_line(graph, a, b)}" for a, b in pairwise(path))
    rest = sorted(members - set(path))
    return text + (f"; also in this cycle: {', '.join(rest)}" if rest else "")


def _app(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_no_module_over_500_lines() -> None:
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(APPS.rglob("*.py"))
        if "migrations" not in path.relative_to(APPS).parts
    }
    problems = [
        f"{name}: {lines} lines"
        for name, lines in sizes.items()
        if lines > MAX_LINES and name not in KNOWN_LONG_MODULES
    ]
    for name, known in sorted(KNOWN_LONG_MODULES.items()):
        lines = sizes.get(name)
        if lines is None:
            problems.append(f"{name} is allow-listed but gone: remove it from KNOWN_LONG_MODULES")
        elif lines <= MAX_LINES:
            problems.append(f"{name} is down to {lines} lines: remove it from KNOWN_LONG_MODULES")
        elif lines > known:
            problems.append(f"{name} grew from {known} to {lines} lines: split it, don't grow it")
    assert not problems, f"modules over {MAX_LINES} lines:\n" + "\n".join(problems)


def test_no_module_import_cycle(graph: grimp.ImportGraph) -> None:
    edges = _import_map(graph)
    cycles = _strongly_connected(edges)
    problems = [
        f"new cycle: {_describe_cycle(graph, edges, c)}" for c in cycles if c not in KNOWN_CYCLES
    ]
    problems += [
        f"allow-listed cycle {' <-> '.join(c)} is gone or changed: update KNOWN_CYCLES"
        for c in sorted(KNOWN_CYCLES - set(cycles))
    ]
    assert not problems, "module import cycles:\n" + "\n".join(problems)


def test_no_two_apps_import_each_other(graph: grimp.ImportGraph) -> None:
    example: dict[tuple[str, str], str] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            a, b = _app(importer), _app(imported)
            if a and b and a != b and (a, b) not in example:
                example[(a, b)] = f"{importer} -> {imported}{_line(graph, importer, imported)}"
    pairs = {(a, b) for a, b in example if a < b and (b, a) in example}
    problems = [
        f"new pair: {a} <-> {b}: {example[(a, b)]}; {example[(b, a)]}"
        for a, b in sorted(pairs - KNOWN_APP_PAIRS)
    ]
    problems += [
        f"allow-listed pair {a} <-> {b} no longer import each other: remove it from KNOWN_APP_PAIRS"
        for a, b in sorted(KNOWN_APP_PAIRS - pairs)
    ]
    assert not problems, "apps that import each other:\n" + "\n".join(problems)
