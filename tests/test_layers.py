"""The architecture as a test: every import inside specurate goes down the layer order, and the
module import graph has no cycles (imports inside functions count too).

Layers, lowest first (README, "Architecture"):

0. foundation — errors, _validate, _rng, _files, _json, _progress, _weights, io, datasets
1. library — spectrum, dynamics, curation, torch, engine (shards and Dask)
2. bench — tasks, training, the comparison loop, experiments
3. report — figures, tables, HTML, JSON views
4. study — the default study of ``specurate run``
5. cli — the command line

``specurate/__init__.py`` (the public re-exports) and ``__main__`` modules are exempt.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "specurate"

LAYERS = {
    "errors": 0,
    "_validate": 0,
    "_rng": 0,
    "_files": 0,
    "_json": 0,
    "_progress": 0,
    "_tables": 0,
    "_weights": 0,
    "io": 0,
    "datasets": 0,
    "spectrum": 1,
    "dynamics": 1,
    "curation": 1,
    "torch": 1,
    "engine": 1,
    "bench": 2,
    "report": 3,
    "study": 4,
    "cli": 5,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in SRC.rglob("*.py")}


def _imports(path: Path, known: set[str]) -> set[str]:
    """specurate modules imported anywhere in ``path`` (``from a import b`` counts ``a.b`` when
    that is a module, else ``a``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "specurate"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "specurate":
                continue
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.add(sub if sub in known else node.module)
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[-1] == "__main__":
        return None
    return LAYERS[parts[1]]


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {m: _imports(p, known) & known for m, p in mods.items()}


def test_every_module_has_a_layer():
    unknown = sorted(
        m
        for m in _modules()
        if m not in ("specurate", "specurate.__main__") and m.split(".")[1] not in LAYERS
    )
    assert not unknown, f"modules outside the layer map: {unknown}"


def _upward(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for mod, deps in graph.items():
        lo = _layer(mod)
        if lo is None:
            continue
        for dep in deps:
            hi = _layer(dep)
            if hi is not None and hi > lo:
                bad.append(f"{mod} (layer {lo}) imports {dep} (layer {hi})")
    return sorted(bad)


def test_no_upward_imports():
    bad = _upward(_graph())
    assert not bad, "\n".join(bad)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    # a package's __init__ importing its own submodules is not a cycle of concerns
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in _graph().items()}
    graph = {m: deps for m, deps in graph.items() if m != "specurate"}
    assert not _cycles(graph), _cycles(graph)


def test_the_checks_see_planted_violations(tmp_path):
    planted = {
        "specurate.spectrum.x": {"specurate.cli"},  # upward
        "specurate.bench.y": {"specurate.spectrum.x"},  # downward: fine
        "specurate.cli": set(),
    }
    assert _upward(planted) == ["specurate.spectrum.x (layer 1) imports specurate.cli (layer 5)"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    # the parser: a function-level import counts
    mod = tmp_path / "m.py"
    mod.write_text("def f():\n    from specurate.cli import app\n")
    assert _imports(mod, {"specurate.cli"}) == {"specurate.cli"}
