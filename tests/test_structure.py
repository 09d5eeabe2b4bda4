"""Import hygiene of the package: no private names imported across modules, no import cycles.

Every module under ``neuromorph/`` is parsed with :mod:`ast` (nothing is imported) and every
``import`` statement is read, at module level and inside functions alike, with relative
imports resolved against the module's package.

Rules
-----
Private names
    ``from x import _y`` where ``x`` is a neuromorph module and ``_y`` is not a module is refused:
    a helper another module needs gets a public name and a docstring. A private *module*
    (``biophysics/_checks.py``) may be imported by the modules of its own package and nowhere
    else. Attribute use (``x._y``) is out of scope, as are third-party modules.
Edges of the import graph
    ``import a.b.c`` and ``from a.b import c`` (``c`` a module) give an edge to ``a.b.c``;
    ``from a.b import name`` (``name`` not a module) gives an edge to ``a.b``. The parent
    packages Python runs first (``a/__init__``, ``a/b/__init__``) are *not* edges: that is the
    import machinery, not a dependency the code states, and counting it would turn every
    sibling import inside a package whose ``__init__`` re-exports a submodule into a "cycle".
    A package ``__init__`` that imports (re-exports) a submodule *is* an edge from the package
    to the submodule, so a submodule importing a name from its own package's ``__init__``
    while that ``__init__`` imports it back is reported: that is the order-dependent cycle
    that breaks on the first import.
Cycles
    Any strongly connected component with more than one module (or a module importing
    itself) is a cycle. Function-level imports count: they hide a cycle from the interpreter,
    not from the design.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "neuromorph"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def module_files(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file of every module under ``root`` (a package ``__init__`` is the package)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join((package, *parts))] = path
    return modules


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _absolute(node: ast.ImportFrom, module: str, path: Path) -> str:
    """The absolute module an ``ImportFrom`` reads from (relative levels resolved)."""
    if not node.level:
        return node.module or ""
    base = _package_of(module, path).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None, int]]:
    """``(imported module, imported name or None, line)`` of every import statement of ``module``.

    The name is given for ``from x import name`` when ``name`` is not itself a module.
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, module, path)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.append((submodule, None, node.lineno) if submodule in modules
                             else (source, alias.name, node.lineno))
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports (see the module docstring for what an edge is)."""
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        graph[name] |= {target for target, _, _ in imports_of(name, path, modules) if target in modules}
    return graph


def private_imports(modules: dict[str, Path]) -> list[str]:
    """``"module:line imports target.name"`` for every private name or module imported across modules."""
    found = []
    for name, path in modules.items():
        own_package = _package_of(name, path)
        for target, imported, line in imports_of(name, path, modules):
            if not target.startswith(PACKAGE):
                continue
            if imported is not None and imported.startswith("_") and imported != "__version__":
                found.append(f"{name}:{line} imports {target}.{imported}")
            parts = target.split(".")
            private = next((k for k, part in enumerate(parts) if part.startswith("_") and part != "__init__"), None)
            owner = ".".join(parts[:private]) if private is not None else None
            if owner is not None and own_package != owner and not own_package.startswith(owner + "."):
                found.append(f"{name}:{line} imports the private module {target}")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` that are cycles (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root), on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child), on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return found


def test_no_module_imports_another_modules_private_names():
    assert private_imports(module_files(ROOT)) == []


def test_no_import_cycles():
    assert cycles(import_graph(module_files(ROOT))) == []


def test_the_checks_find_a_cycle_and_a_private_import(tmp_path):
    """A synthetic package: ``a`` and ``pkg.b`` import each other (``b`` inside a function and
    relatively), ``pkg/__init__`` re-exports ``c`` which reads from its own package, and ``d``
    imports a private name: the detectors must report exactly these."""
    root = tmp_path / PACKAGE
    (root / "pkg").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from .pkg.b import run\n",
        "pkg/__init__.py": "from .c import helper\n",
        "pkg/b.py": "def run():\n    from .. import a\n",
        "pkg/c.py": "from . import helper as h\nhelper = 1\n",
        "d.py": "import os\nfrom .pkg.c import _hidden\nfrom .pkg import c\n",
        "pkg/_private.py": "",
        "pkg/e.py": "from . import _private\n",
        "f.py": "from .pkg import _private\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    modules = module_files(root)
    assert cycles(import_graph(modules)) == [[f"{PACKAGE}.a", f"{PACKAGE}.pkg.b"],
                                             [f"{PACKAGE}.pkg", f"{PACKAGE}.pkg.c"]]
    assert private_imports(modules) == [f"{PACKAGE}.d:2 imports {PACKAGE}.pkg.c._hidden",
                                        f"{PACKAGE}.f:1 imports the private module {PACKAGE}.pkg._private"]
    assert import_graph(modules)[f"{PACKAGE}.d"] == {f"{PACKAGE}.pkg.c"}
