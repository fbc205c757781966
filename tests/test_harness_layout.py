"""benchmarks/ stays a few small modules: none over 600 lines, and no import cycle among them."""

import ast
import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = {os.path.basename(p)[:-3]: p for p in glob.glob(os.path.join(ROOT, "benchmarks", "*.py"))}


def local_imports(path: str) -> set[str]:
    """The benchmarks/ modules that `path` imports, at any depth of its code."""
    with open(path) as f:
        tree = ast.parse(f.read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names & set(MODULES)


def test_no_module_over_600_lines():
    for name, path in MODULES.items():
        with open(path) as f:
            n = sum(1 for _ in f)
        assert n <= 600, f"benchmarks/{name}.py has {n} lines: split it by what a user does with it"


def test_no_import_cycle():
    graph = {name: local_imports(path) for name, path in MODULES.items()}
    state = {}  # name -> "open" while on the current path, "done" after

    def visit(name, path):
        if state.get(name) == "open":
            raise AssertionError(f"import cycle: {' -> '.join(path[path.index(name):] + [name])}")
        if state.get(name) == "done":
            return
        state[name] = "open"
        for dep in sorted(graph[name]):
            visit(dep, path + [name])
        state[name] = "done"

    for name in sorted(graph):
        visit(name, [])
    assert graph["study"] and graph["seeds"], "the experiments import the runner and the reporter"

