"""Guards the package layout against import cycles (issue 21): which top-level parts of ketamine_outcomes
(subpackages and modules) import which, read from the source with ast (nothing is imported). charts/ draws what
disclosure/ has already suppressed and never imports it; both import ketamine_outcomes/kept.py for their caches."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "ketamine_outcomes"

# No part is in an import cycle (issue 21): the privacy guard sits below ingest/, metrics/ and care/
# (ketamine_outcomes/privacy.py), metrics/ never imports disclosure/ (the grain choice and the meeting counts of
# item 9 follow-ups are disclosure panels; HIDDEN is in definitions.py). A new cycle fails this test.


def imported_parts(path: Path) -> set[str]:
    """The top-level parts of ketamine_outcomes a file imports (anywhere in it, functions included)."""
    rel = path.relative_to(ROOT).with_suffix("").parts
    package = rel[:-1]  # a module's package; for an __init__.py, the package itself
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[list[str]] = []
        if isinstance(node, ast.Import):
            names = [a.name.split(".") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the file's package, up level - 1
                base = ["ketamine_outcomes", *package[:len(package) - node.level + 1]]
                names = [base + (node.module.split(".") if node.module else [a.name]) for a in node.names]
            elif node.module == "ketamine_outcomes":
                names = [["ketamine_outcomes", a.name] for a in node.names]
            elif node.module:
                names = [node.module.split(".")]
        found |= {n[1] for n in names if n[0] == "ketamine_outcomes" and len(n) > 1}
    return found


def part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        part = path.relative_to(ROOT).with_suffix("").parts[0]
        graph.setdefault(part, set()).update(imported_parts(path) - {part})
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected parts of more than one member (Tarjan): each is a set of parts importing each other."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            members = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.add(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(members)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_of_three_and_none_in_a_chain():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_part_of_the_package_is_in_an_import_cycle_and_charts_never_import_disclosure():
    graph = part_graph()
    assert "disclosure" not in graph["charts"]  # charts draw what they are given, already suppressed
    assert {"charts", "kept"} <= graph["disclosure"]  # ... and disclosure draws through them
    assert cycles(graph) == []
    # The dashboard (installed as ketamine_outcomes.dashboard) is the top layer: nothing in the package imports it.
    assert not [part for part, imported in graph.items() if "dashboard" in imported]
