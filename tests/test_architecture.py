"""The stages depend in one direction: an earlier stage never imports a later one.

The flow is discover -> fetch -> capture -> store -> extract -> index ->
replay -> export -> report (docs/architecture.md). A stage that needs a later
one gets an interface from the crawl's wiring (:mod:`newsarchive.wiring`)
instead of importing it; the CLI, the API and the settings sit on top and may
import anything. Imports are read from the source (``ast``), type-only ones
included: they couple the code as much as runtime ones do.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "newsarchive"
ORDER = ["discover", "fetch", "capture", "store", "extract", "index", "replay", "export", "report"]
#: modules outside the stage packages that belong to a stage: a collection
#: anywhere (local or s3://) lists its files through the store
STAGE_OF_MODULE: dict[str, str] = {"newsarchive.collection": "store"}
#: on top: they put the stages together and may import any of them
#: (newsarchive.crawl is the crawl's composition root: it builds the wiring)
TOP = {"cli", "api", "settings", "crawl", "__main__", "__init__", "demosite"}
# spiders/ (kept at the top level, as Scrapy's layout wants) belongs to the fetch stage.


def stage_of(module: str) -> str | None:
    """The stage a dotted module name belongs to (None: a shared or top-level module)."""
    if module in STAGE_OF_MODULE:
        return STAGE_OF_MODULE[module]
    parts = module.split(".")
    if parts[0] == "spiders":
        return "fetch"
    if parts[0] == "newsarchive" and len(parts) > 1 and parts[1] in ORDER:
        return parts[1]
    return None


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path, root: Path = ROOT) -> set[str]:
    """Every module ``path`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    name = module_name(path, root)
    package = name.rsplit(".", 1)[0] if path.name != "__init__.py" else name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def sources(root: Path = ROOT) -> list[Path]:
    return sorted((root / "newsarchive").rglob("*.py")) + sorted((root / "spiders").rglob("*.py"))


def violations(root: Path = ROOT) -> list[str]:
    """``importer -> imported`` pairs that go against the flow."""
    found = []
    for path in sources(root):
        module = module_name(path, root)
        here = stage_of(module)
        if here is None:
            continue
        for name in sorted(imported(path, root)):
            there = stage_of(name)
            if there is not None and ORDER.index(there) > ORDER.index(here):
                found.append(f"{module} ({here}) imports {name} ({there})")
    return sorted(set(found))


def test_the_stage_order_is_the_documented_one() -> None:
    """Every stage package exists, and the docs list them in this order."""
    for stage in ORDER:
        assert (PACKAGE / stage / "__init__.py").is_file(), stage
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    positions = [doc.index(f"| {stage} |") for stage in ORDER]
    assert positions == sorted(positions)


def test_no_stage_imports_a_later_one() -> None:
    """An earlier stage gets later ones through the wiring, never by import."""
    assert len(sources()) > 50  # the walk found the package
    assert violations() == []


def test_the_check_sees_a_backward_import(tmp_path: Path) -> None:
    """The import reader finds plain, from-, relative and nested imports."""
    fetch = tmp_path / "newsarchive" / "fetch"
    fetch.mkdir(parents=True)
    (fetch / "__init__.py").write_text("", encoding="utf-8")
    (fetch / "probe.py").write_text(
        "import newsarchive.index.cdxj\n"
        "from ..store import keys\n"
        "from . import body\n"
        "def f():\n    from newsarchive.capture.records import x\n",
        encoding="utf-8",
    )
    names = imported(fetch / "probe.py", tmp_path)
    assert {"newsarchive.index.cdxj", "newsarchive.store.keys", "newsarchive.fetch.body",
            "newsarchive.capture.records.x"} <= names
    assert violations(tmp_path) == [
        "newsarchive.fetch.probe (fetch) imports newsarchive.capture.records (capture)",
        "newsarchive.fetch.probe (fetch) imports newsarchive.capture.records.x (capture)",
        "newsarchive.fetch.probe (fetch) imports newsarchive.index.cdxj (index)",
        "newsarchive.fetch.probe (fetch) imports newsarchive.store (store)",
        "newsarchive.fetch.probe (fetch) imports newsarchive.store.keys (store)",
    ]


def unit_of(module: str) -> str | None:
    """The top-level unit of ``newsarchive`` a module is in (a package or a module)."""
    parts = module.split(".")
    if parts[0] == "spiders":
        return "spiders"
    if parts[0] != "newsarchive":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def unit_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Which top-level units import which (the stages, the shared modules, the top)."""
    graph: dict[str, set[str]] = {}
    for path in sources(root):
        here = unit_of(module_name(path, root))
        assert here is not None
        graph.setdefault(here, set())
        for name in imported(path, root):
            there = unit_of(name) if name != "newsarchive" else None
            if there is not None and there != here:
                graph[here].add(there)
    # ``from newsarchive import __version__`` names no unit
    return {unit: {there for there in theres if there in graph} for unit, theres in graph.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_packages() -> None:
    """No package or shared module depends, through any chain of imports, on itself."""
    graph = unit_graph()
    assert {"discover", "fetch", "capture", "layout", "wiring", "crawl"} <= set(graph)
    assert cycles(graph) == []


def test_shared_modules_import_no_stage() -> None:
    """The modules every stage uses (layout, wiring, meta...) depend on no stage."""
    graph = unit_graph()
    shared = {unit for unit in graph if unit not in ORDER and unit not in TOP
              and unit not in {"spiders", "collection", "schedule"}}
    assert {"layout", "wiring", "meta"} <= shared
    leaks = {unit: sorted(graph[unit] & set(ORDER)) for unit in shared if graph[unit] & set(ORDER)}
    assert leaks == {}


def test_the_cycle_check_sees_a_cycle() -> None:
    """A chain through a shared module back to its start is found."""
    graph = {"capture": {"layout"}, "layout": {"store"}, "store": {"capture"}, "index": {"store"}}
    assert cycles(graph) == [["capture", "layout", "store"]]
