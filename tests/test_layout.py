"""The house flows one way: each layer imports only the layers below it, with no circles.

The layers are those of ``docs/architecture.md``. Every ``import`` of a liucun module
counts, wherever it stands (module level, inside a function, under ``TYPE_CHECKING``), so
a lazy import cannot hide an arrow that runs back up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "liucun"

# Bottom to top. A module's layer is that of its longest matching prefix.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("liucun.errors", "liucun.config", "liucun.schema", "liucun.look"),
    (
        "liucun.warehouse",
        "liucun.migrations",
        "liucun.workspace",
        "liucun.engines",
        "liucun.runs",
        "liucun.outputs",
    ),
    ("liucun.data", "liucun.sim"),
    ("liucun.features",),
    ("liucun.models",),
    ("liucun.evaluate",),
    ("liucun.decide",),
    ("liucun.tasks",),
    ("liucun.backtests",),
    ("liucun.pipeline",),
    ("liucun.serve", "liucun.report"),
    ("liucun.demo", "liucun.cli"),
)

# Imports that run back up a layer on purpose (at most three; each says why).
ALLOWED_UP = {
    # The Python API's one entry point mirrors `liucun ingest`: Workspace.ingest hands the
    # file to the ingest of the data layer (imported when called).
    ("liucun.workspace", "liucun.data.ingest"),
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The liucun modules that ``path`` imports (``from liucun.x import y`` → liucun.x.y
    when y is a module, else liucun.x)."""
    out: set[str] = set()
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("liucun"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            if not mod.startswith("liucun"):
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}"
                out.add(sub if sub in known else mod)
    out.discard(name)
    return {m for m in out if m != "liucun"}


def layer(mod: str) -> int:
    best, rank = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (mod == p or mod.startswith(p + ".")) and len(p) > best:
                best, rank = len(p), i
    return rank


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports(p, m, known) for m, p in mods.items() if m != "liucun"}


def test_every_module_has_a_layer() -> None:
    missing = [m for m in graph() if layer(m) < 0]
    assert not missing, f"modules outside every layer: {missing}"


def test_imports_run_down_the_layers() -> None:
    up = sorted(
        (m, t)
        for m, targets in graph().items()
        for t in targets
        if layer(t) > layer(m) and (m, t) not in ALLOWED_UP
    )
    assert not up, "imports that run back up a layer:\n" + "\n".join(f"{a} -> {b}" for a, b in up)
    assert len(ALLOWED_UP) <= 3


def test_no_import_circles() -> None:
    g = graph()
    # Tarjan's strongly connected components.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: module_name(p))
def test_code_modules_are_small(path: Path) -> None:
    """No code module over 700 lines; data tables (phrase lists) live in data modules."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    is_data = path.parent.name == "data" and path.parent.parent.name in {"sim", "text"}
    assert is_data or lines <= 700, f"{path.relative_to(PACKAGE.parent)}: {lines} lines"


def test_spark_tests_carry_the_spark_marker() -> None:
    """A quick run (-m 'not spark') leaves out every test that starts Spark, by its marker,
    and no Spark test skips itself when pyspark is missing (it fails, saying what to do)."""
    tests = Path(__file__).resolve().parent
    me = Path(__file__).resolve()
    using = [
        p for p in tests.rglob("test_*.py") if p != me and "spark_session(" in p.read_text("utf-8")
    ]
    assert using, "no test starts Spark: the parity test is gone"
    for p in using:
        text = p.read_text("utf-8")
        assert "pytest.mark.spark" in text, f"{p.name} starts Spark without the spark marker"
        assert 'importorskip("pyspark"' not in text, f"{p.name} skips silently without pyspark"
