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
#: modules outside the stage packages that belong to a stage
STAGE_OF_MODULE: dict[str, str] = {}
#: the crawl's composition root: it builds the wiring from every stage's parts
ROOTS = {"newsarchive.fetch.crawl"}
#: the spider is the fetch stage's Scrapy entry point (the layout keeps it at the top level)
SPIDERS = ROOT / "spiders"


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


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
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


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py")) + sorted(SPIDERS.rglob("*.py"))


def violations() -> list[str]:
    """``importer -> imported`` pairs that go against the flow."""
    found = []
    for path in sources():
        here = stage_of(module_name(path))
        if here is None or module_name(path) in ROOTS:
            continue
        for name in sorted(imported(path)):
            there = stage_of(name)
            if there is not None and ORDER.index(there) > ORDER.index(here):
                found.append(f"{module_name(path)} ({here}) imports {name} ({there})")
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
    src = tmp_path / "mod.py"
    src.write_text(
        "import newsarchive.index.cdxj\n"
        "from newsarchive.store import keys\n"
        "def f():\n    from newsarchive.capture.records import x\n",
        encoding="utf-8",
    )
    names = imported(src.rename(PACKAGE / "fetch" / "_architecture_probe.py"))
    try:
        assert {"newsarchive.index.cdxj", "newsarchive.store.keys",
                "newsarchive.capture.records.x"} <= names
        assert any("_architecture_probe" in v for v in violations())
    finally:
        (PACKAGE / "fetch" / "_architecture_probe.py").unlink()
