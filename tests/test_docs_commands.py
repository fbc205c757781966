"""Every `python benchmarks/<module>.py ...` command that README.md, docs/ or a module's docstring prints is
accepted by that module's own parser (the flags exist, the values parse, the choices are allowed), and each
benchmarks/ module with a command line exposes `parser()`. Nothing is run."""

import ast
import glob
import importlib
import os
import re
import shlex
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

COMMAND = re.compile(r"python benchmarks/(\w+)\.py((?:[ \t]+[^\s`|<>]+(?:<[^>\s]*>[^\s`|]*)?)*)")


def sources() -> dict[str, str]:
    """{path: text} of README.md, docs/*.md and the docstrings of benchmarks/*.py."""
    out = {}
    for path in [os.path.join(ROOT, "README.md"), *sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))]:
        with open(path) as f:  # an inline code span broken over two lines is one command (fences aside)
            text = re.sub(r"^```.*$", "", f.read(), flags=re.MULTILINE)
            out[os.path.relpath(path, ROOT)] = re.sub(r"`[^`]*`", lambda m: m.group(0).replace("\n", " "), text)
    for path in sorted(glob.glob(os.path.join(ROOT, "benchmarks", "*.py"))):
        with open(path) as f:
            out[os.path.relpath(path, ROOT)] = ast.get_docstring(ast.parse(f.read())) or ""
    return out


def commands() -> list[tuple[str, str, list[str]]]:
    """(where, module, argv) of every benchmarks command printed; a line ending in a backslash continues."""
    found = []
    for where, text in sources().items():
        text = re.sub(r"\\\n\s*", " ", text)
        for m in COMMAND.finditer(text):
            args = m.group(2).split(" #")[0]  # a shell comment after the command
            try:
                argv = shlex.split(args)
            except ValueError:  # an unbalanced quote: the match ended inside a quoted value
                argv = shlex.split(args + '"')
            found.append((where, m.group(1), argv))
    return found


ALL = commands()


def test_the_docs_print_benchmark_commands():
    modules = {module for _, module, _ in ALL}
    assert {"study", "seeds", "sensitivity", "report", "evaluate"} <= modules, modules
    assert len(ALL) > 40


@pytest.mark.parametrize("where,module,argv", ALL, ids=[f"{w}:{m}:{i}" for i, (w, m, _) in enumerate(ALL)])
def test_each_printed_command_parses(where, module, argv, capsys):
    path = os.path.join(ROOT, "benchmarks", f"{module}.py")
    assert os.path.exists(path), f"{where} prints a command of benchmarks/{module}.py, which does not exist"
    mod = importlib.import_module(module)
    try:
        args = mod.parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `python benchmarks/{module}.py {shlex.join(argv)}` is refused: "
                    f"{capsys.readouterr().err.strip()}")
    if module == "seeds":  # --variant names are checked against the grid by main, not by the parser
        variants = mod.GRIDS[args.grid][3]
        assert all(v in variants for v in args.variant), (where, args.variant)


def test_every_command_line_module_has_a_parser():
    for path in sorted(glob.glob(os.path.join(ROOT, "benchmarks", "*.py"))):
        with open(path) as f:
            text = f.read()
        if 'if __name__ == "__main__":' in text:
            mod = importlib.import_module(os.path.basename(path)[:-3])
            assert callable(getattr(mod, "parser", None)), f"{path} has a command line but no parser()"
