"""The library's import graph: one way (the app over the library, never back) and without cycles.
(Streamlit internals in one module and the app's keys in one module: tests/test_app.py.)

The import graph is grimp's (the library behind import-linter): every ``import`` statement, those
inside functions included, since a lazy import that closes a cycle is still a cycle in the design.
``python -m pytest -q tests/test_architecture.py`` checks it; to see the graph:
``python -c "import grimp; g = grimp.build_graph('spotting'); print(sorted(g.find_modules_directly_imported_by('spotting.infer')))"``.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import networkx as nx
import pytest


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    imports = grimp.build_graph("spotting", exclude_type_checking_imports=True,  # annotations only: no runtime import
                                 cache_dir=None)  # nothing written into the checkout
    edges = nx.DiGraph()
    for module in imports.modules:
        edges.add_node(module)
        edges.add_edges_from((module, target) for target in imports.find_modules_directly_imported_by(module))
    return edges


def test_no_import_cycles(graph: nx.DiGraph) -> None:
    cycles = sorted(nx.simple_cycles(graph), key=len)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + c[:1]) for c in cycles[:5])


def test_the_library_never_imports_the_app(graph: nx.DiGraph) -> None:
    """One-way flow: ``spotting.ui`` composes library calls; nothing below it knows it exists."""
    upward = [(a, b) for a, b in graph.edges if not a.startswith("spotting.ui") and b.startswith("spotting.ui")]
    assert not upward, upward


def test_every_module_stays_small() -> None:
    """A module past ~400 lines is doing two jobs (the review found several); split it by job."""
    package = Path(__file__).resolve().parents[1] / "spotting"
    sizes = {str(p.relative_to(package)): len(p.read_text(encoding="utf-8").splitlines()) for p in package.rglob("*.py")}
    assert not {m: n for m, n in sizes.items() if n > 400}, sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
