"""Mutation testing for nhanh: plant small bugs in a copy of src/ and see whether the tests notice.

Each mutant changes one AST node of one module (an operator, a comparison, a constant, a
condition, a returned value, an assignment), in a copy of the source tree under --workdir;
the real src/ is never written. For each mutant the test files mapped to its package run with
PYTHONPATH pointing at the copy (checked: the copy's nhanh is what gets imported), `-x`, a
per-mutant timeout, and by default one engine (NHANH_TEST_BACKENDS=jax) to halve the cost.

    python tools/mutate.py --per-package 20 --seed 0 --out tools/mutants_before.json
    python tools/mutate.py --rerun tools/mutants_before.json --out tools/mutants_after.json

A mutant is *killed* when the tests fail, *survived* when they pass, *timeout* when they run
past the limit (usually an endless loop: counted as killed in the rate). The report lists every
survivor's diff; tools/MUTATION.md records the runs and what each survivor taught.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("training", "losses", "metrics", "optimizers")
SKIP_MODULES = {"training/progress.py"}  # text formatting, owned and tested elsewhere

#: Which test files run for a mutant in each package (missing files are skipped, so the table
#: can name tests that a later run adds).
TESTS = {
    "training": ["test_training.py", "test_weighted_metrics.py", "test_target_checks.py",
                 "test_training_mutants.py", "test_engine.py", "test_keras_parity.py"],
    "losses": ["test_losses.py", "test_losses_mutants.py"],
    "metrics": ["test_metrics.py", "test_weighted_metrics.py", "test_metrics_mutants.py"],
    "optimizers": ["test_optimizers.py", "test_optimizers_mutants.py"],
}

_BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
                ast.FloorDiv: ast.Div, ast.Pow: ast.Mult, ast.Mod: ast.FloorDiv}
_CMP_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
              ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
              ast.In: ast.NotIn, ast.NotIn: ast.In}


@dataclass
class Mutant:
    id: str
    package: str
    module: str        # path relative to src/nhanh
    line: int
    kind: str
    start: tuple       # (line, col) of the replaced source span, 1-based line
    end: tuple
    replacement: str
    stmt_line: int = 0  # first line of the statement holding it (coverage counts those)
    original: str = ""  # the replaced source text and its whole line, to find the mutant
    context: str = ""   # again after the module changed (see `relocate`)

    def apply(self, source: str) -> str:
        lines = source.splitlines(keepends=True)
        offsets = [0]
        for line in lines:
            offsets.append(offsets[-1] + len(line.encode()))
        raw = source.encode()
        a = offsets[self.start[0] - 1] + self.start[1]
        b = offsets[self.end[0] - 1] + self.end[1]
        return (raw[:a] + self.replacement.encode() + raw[b:]).decode()

    def diff(self, source: str) -> str:
        out = difflib.unified_diff(source.splitlines(), self.apply(source).splitlines(),
                                   f"src/nhanh/{self.module}", f"src/nhanh/{self.module}",
                                   n=1, lineterm="")
        return "\n".join(out)


# --- making mutants ----------------------------------------------------------------------------
def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Nodes never mutated: docstrings, annotations, decorators, f-strings, __all__."""
    skip: set[int] = set()

    def mark(node):
        for sub in ast.walk(node):
            skip.add(id(sub))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            mark(body[0])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.decorator_list:
                mark(d)
            if node.returns is not None:
                mark(node.returns)
            for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs:
                if a.annotation is not None:
                    mark(a.annotation)
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.JoinedStr):
            mark(node)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__"
                                                for t in node.targets):
            mark(node)
        if isinstance(node, ast.Raise):  # the message of an error is not behaviour we test
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant):
                    skip.add(id(sub))
    return skip


def _variants(node: ast.AST):
    """(kind, replacement node or source text) for each mutation of `node`."""
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAPS:
        new = copy.deepcopy(node)
        new.op = _BINOP_SWAPS[type(node.op)]()
        yield "binop", new
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP_SWAPS:
        new = copy.deepcopy(node)
        new.ops = [_CMP_SWAPS[type(node.ops[0])]()]
        yield "compare", new
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield "boolop", new
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield "bool", ast.Constant(not node.value)
    elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        v = node.value
        if v == 0:
            yield "number", ast.Constant(type(v)(1))
        elif v == 1:
            yield "number", ast.Constant(type(v)(0))
        else:
            yield "number", ast.Constant(v + 1)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        yield "unary", node.operand
    elif isinstance(node, (ast.If, ast.While, ast.IfExp)):
        yield "negate", ast.UnaryOp(ast.Not(), copy.deepcopy(node.test))
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        yield "return", "return None"
    elif isinstance(node, (ast.Assign, ast.AugAssign)):
        yield "delete", "pass"


def _span(node: ast.AST, kind: str):
    if kind == "negate":  # only the condition changes
        node = node.test
    return (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)


def _statement_lines(tree: ast.AST) -> dict[int, int]:
    """id(node) -> first line of the innermost statement that holds it."""
    out: dict[int, int] = {}

    def visit(node, line):
        if isinstance(node, ast.stmt):
            line = node.lineno
        out[id(node)] = line
        for child in ast.iter_child_nodes(node):
            visit(child, line)

    visit(tree, 1)
    return out


def mutants_of(package: str, module: str, source: str) -> list[Mutant]:
    tree = ast.parse(source)
    skip = _skipped_nodes(tree)
    stmt_lines = _statement_lines(tree)
    out = []
    for node in ast.walk(tree):
        if id(node) in skip or not hasattr(node, "lineno"):
            continue
        for kind, new in _variants(node):
            text = new if isinstance(new, str) else ast.unparse(new)
            if isinstance(new, ast.AST) and not isinstance(new, ast.Constant) and \
                    kind not in ("negate",):
                text = f"({text})"  # keep precedence where the node sat
            start, end = _span(node, kind)
            lines = source.splitlines()
            m = Mutant("", package, module, node.lineno, kind, start, end, text,
                       stmt_lines[id(node)],
                       ast.get_source_segment(source, node.test if kind == "negate" else node)
                       or "", lines[node.lineno - 1].strip())
            try:
                ast.parse(m.apply(source))
            except SyntaxError:
                continue
            out.append(m)
    out.sort(key=lambda m: (m.module, m.start, m.kind))
    for i, m in enumerate(out):
        m.id = f"{package}:{m.module}:{m.line}:{m.kind}:{i}"
    return out


def relocate(old: Mutant, current: list[Mutant]) -> Mutant | None:
    """The mutant of the current source that makes the same change on the same line of code
    as `old` (the module may have gained or lost lines since), or None if that code is gone."""
    same = [m for m in current if (m.module, m.kind, m.replacement, m.original, m.context) ==
            (old.module, old.kind, old.replacement, old.original, old.context)]
    if not same:
        return None
    best = min(same, key=lambda m: abs(m.line - old.line))
    return Mutant(**{**asdict(best), "id": old.id})


def all_mutants(src: Path, packages) -> dict[str, list[Mutant]]:
    found = {}
    for package in packages:
        found[package] = []
        for path in sorted((src / "nhanh" / package).glob("*.py")):
            module = f"{package}/{path.name}"
            if module in SKIP_MODULES:
                continue
            found[package] += mutants_of(package, module, path.read_text())
    return found


# --- running them ------------------------------------------------------------------------------
def prepare_workdir(workdir: Path, tests: Path) -> Path:
    """A copy of src/, the tests and pyproject.toml, without bytecode caches: a mutant of the
    same size written in the same second must not be shadowed by a stale .pyc."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    shutil.copytree(ROOT / "src", workdir / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(tests, workdir / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", workdir / "pyproject.toml")
    return workdir


def environment(workdir: Path, backends: str) -> dict:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(workdir / "src"), PYTHONDONTWRITEBYTECODE="1",
               NHANH_TEST_BACKENDS=backends, JAX_PLATFORMS="cpu")
    return env


def check_import(workdir: Path, env: dict) -> None:
    out = subprocess.run([sys.executable, "-c", "import nhanh; print(nhanh.__file__)"],
                         env=env, cwd=workdir, capture_output=True, text=True, check=True)
    where = Path(out.stdout.strip()).resolve()
    if not str(where).startswith(str((workdir / "src").resolve())):
        raise SystemExit(f"The tests would import nhanh from {where}, not from the copy in "
                         f"{workdir}; mutants would not be seen. Aborting.")


def run_tests(workdir: Path, env: dict, tests: list[str], timeout: float):
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
           "-W", "ignore", *tests]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env, cwd=workdir, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start, ""
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]
    return ("survived" if proc.returncode == 0 else "killed"), time.monotonic() - start, tail[0]


def coverage_map(workdir: Path, env: dict, files: list[str], packages) -> tuple[dict, dict]:
    """Run the mapped tests once, unmutated, under coverage with one context per test function:
    {(module, line): {test id}} and {test id: seconds} for the tests that pass. A mutant then
    runs only the tests that execute its line (a line no test executes survives unrun)."""
    rc = workdir / ".coveragerc"
    rc.write_text("[run]\ndynamic_context = test_function\nsource =\n" + "".join(
        f"    {workdir / 'src' / 'nhanh' / p}\n" for p in packages))
    junit = workdir / "junit.xml"
    cmd = [sys.executable, "-m", "coverage", "run", f"--rcfile={rc}", "-m", "pytest", "-q",
           "-p", "no:cacheprovider", "-o", "addopts=", "-W", "ignore", f"--junitxml={junit}",
           *files]
    subprocess.run(cmd, env=env, cwd=workdir, capture_output=True, text=True)
    import xml.etree.ElementTree as ET
    import coverage

    seconds, failing = {}, set()
    for case in ET.parse(junit).iter("testcase"):
        module = case.get("classname", "").split(".")
        test = f"tests/{module[1] if module[0] == 'tests' else module[0]}.py::" + \
            "::".join(module[2 if module[0] == 'tests' else 1:] +
                      [case.get("name").split("[")[0]])
        seconds[test] = seconds.get(test, 0.0) + float(case.get("time", 0))
        if case.find("failure") is not None or case.find("error") is not None:
            failing.add(test)
    data = coverage.CoverageData(basename=str(workdir / ".coverage"))
    data.read()
    by_name = {t.split("::", 1)[1].replace("::", "."): t for t in seconds}
    by_line: dict = {}
    for filename in data.measured_files():
        module = str(Path(filename).relative_to(workdir / "src" / "nhanh"))
        for line, contexts in data.contexts_by_lineno(filename).items():
            tests = {"*"} if "" in contexts else set()  # import time: every mapped test
            for c in contexts:
                for name, test in by_name.items():  # context: test_module.[Class.]function
                    if c.endswith("." + name) and test not in failing:
                        tests.add(test)
            by_line[(module, line)] = tests
    if failing:
        print(f"note: {len(failing)} test(s) fail unmutated and are left out: "
              f"{sorted(failing)}")
    return by_line, {t: s for t, s in seconds.items() if t not in failing}


def cached_coverage_map(workdir: Path, env: dict, files: list[str], packages):
    """coverage_map, one test file at a time, kept under --workdir's parent keyed by the test
    file's and the mutated packages' text: a rerun after new tests were written measures
    only the files that changed."""
    import hashlib

    src = hashlib.sha256()
    for pkg in PACKAGES:  # all of them, whichever are mutated now: one key for every run
        for path in sorted((workdir / "src" / "nhanh" / pkg).glob("*.py")):
            src.update(path.read_bytes())
    cache = workdir.parent / "coverage-cache"
    cache.mkdir(exist_ok=True)
    by_line: dict = {}
    seconds: dict = {}
    for f in files:
        key = hashlib.sha256(src.digest() + (workdir / f).read_bytes()).hexdigest()[:16]
        path = cache / f"{Path(f).stem}-{key}.json"
        if path.exists():
            saved = json.loads(path.read_text())
            lines = {(m, int(l)): set(t) for m, l, t in saved["by_line"]}
            secs = saved["seconds"]
        else:
            lines, secs = coverage_map(workdir, env, [f], packages)
            path.write_text(json.dumps({"by_line": [[m, l, sorted(t)] for (m, l), t in
                                                    lines.items()], "seconds": secs}))
        for k, tests in lines.items():
            by_line.setdefault(k, set()).update(tests)
        seconds.update(secs)
    return by_line, seconds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--packages", default=",".join(PACKAGES))
    p.add_argument("--per-package", type=int, default=20, help="mutants sampled per package")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backends", default="jax", help="NHANH_TEST_BACKENDS for the runs")
    p.add_argument("--tests", default=str(ROOT / "tests"), help="test directory to copy")
    p.add_argument("--workdir", default="/tmp/mutants/work")
    p.add_argument("--rerun", help="a previous --out file: rerun its survivors only")
    p.add_argument("--out", default=str(ROOT / "tools" / "mutants.json"))
    p.add_argument("--select", help="with --rerun: comma-separated test files or ids to run "
                   "for every survivor instead of measuring coverage again (the tests written "
                   "for the survivors; adding tests can only add kills)")
    p.add_argument("--reuse-workdir", action="store_true", help="keep --workdir's copy of "
                   "src/ and the tests from an earlier run (and its cached coverage), and make "
                   "the mutants from that copy")
    p.add_argument("--list", action="store_true", help="only count the mutants")
    args = p.parse_args(argv)

    packages = args.packages.split(",")
    found = all_mutants(Path(args.workdir) / "src" if args.reuse_workdir else ROOT / "src",
                        packages)
    previous = {}
    if args.rerun:
        previous = {r["id"]: r for r in json.loads(Path(args.rerun).read_text())["results"]}
        chosen = {pkg: [] for pkg in packages}
        for rid, r in previous.items():
            old = Mutant(**{k: (tuple(v) if k in ("start", "end") else v)
                            for k, v in r["mutant"].items()})
            m = relocate(old, found.get(old.package, []))
            if m is None:
                if r["status"] == "survived":
                    print(f"note: the code of {rid} is gone from the source; dropped")
                    continue
                m = old
            chosen.setdefault(m.package, []).append(m)
    else:
        rng = random.Random(args.seed)
        chosen = {pkg: sorted(rng.sample(ms, min(args.per_package, len(ms))),
                              key=lambda m: m.id) for pkg, ms in found.items()}
    for pkg in packages:
        print(f"{pkg}: {len(found[pkg])} mutants, {len(chosen.get(pkg, []))} chosen",
              flush=True)
    if args.list:
        return 0

    workdir = Path(args.workdir) if args.reuse_workdir else \
        prepare_workdir(Path(args.workdir), Path(args.tests))
    env = environment(workdir, args.backends)
    check_import(workdir, env)
    files = {pkg: [f"tests/{f}" for f in TESTS[pkg] if (workdir / "tests" / f).exists()]
             for pkg in packages}
    all_files = sorted({f for fs in files.values() for f in fs})
    began = time.monotonic()
    if args.select:
        by_line, seconds = {}, {}
        status, _, tail = run_tests(workdir, env, args.select.split(","), timeout=1800)
        if status != "survived":
            raise SystemExit(f"The selected tests fail unmutated ({tail}); fix that first.")
    else:
        by_line, seconds = cached_coverage_map(workdir, env, all_files, packages)
        print(f"coverage run: {time.monotonic() - began:.0f} s over {all_files}", flush=True)
    results = []
    for pkg in packages:
        for m in chosen.get(pkg, []):
            old = previous.get(m.id)
            if old is not None and old["status"] != "survived":
                results.append(old)  # killed before; new tests only add checks
                continue
            path = workdir / "src" / "nhanh" / m.module
            original = path.read_text()
            tests = sorted({t for line in range(m.stmt_line, m.end[0] + 1)
                            for t in by_line.get((m.module, line), ())
                            if t == "*" or t.split("::")[0] in files[pkg]})
            if "*" in tests:
                tests = files[pkg]
            if args.select:
                tests = args.select.split(",")
            record = {"id": m.id, "mutant": asdict(m), "diff": m.diff(original),
                      "tests": len(tests)}
            if not tests:
                record.update(status="survived", seconds=0.0, tail="no mapped test runs "
                              "this line")
            else:
                path.write_text(m.apply(original))
                try:
                    budget = sum(v for t, v in seconds.items()
                                 if t in tests or t.split("::")[0] in tests) or 200
                    status, took, tail = run_tests(workdir, env, tests,
                                                   timeout=3 * budget + 60)
                finally:
                    path.write_text(original)
                record.update(status=status, seconds=round(took, 1), tail=tail)
            results.append(record)
            Path(args.out).write_text(json.dumps({"partial": True, "results": results},
                                                 indent=1))
            print(f"  {record['status']:8s} {record['seconds']:5.0f} s {len(tests):3d} tests  "
                  f"{m.id}", flush=True)
    summary = summarize(results, packages)
    Path(args.out).write_text(json.dumps({"command": " ".join(sys.argv), "files": files,
                                          "summary": summary, "results": results}, indent=1))
    print(report(summary, results))
    return 0


def summarize(results, packages) -> dict:
    out = {}
    for pkg in packages:
        rs = [r for r in results if r["id"].startswith(pkg + ":")]
        counts = {s: sum(r["status"] == s for r in rs) for s in ("killed", "survived",
                                                                   "timeout")}
        total = len(rs)
        counts["rate"] = round((counts["killed"] + counts["timeout"]) / total, 3) if total else None
        out[pkg] = counts
    return out


def report(summary, results) -> str:
    lines = ["| package | killed | timeout | survived | kill rate |", "|---|---|---|---|---|"]
    for pkg, c in summary.items():
        lines.append(f"| {pkg} | {c['killed']} | {c['timeout']} | {c['survived']} | "
                     f"{c['rate']} |")
    for r in results:
        if r["status"] == "survived":
            lines += ["", f"survived: {r['id']}", r["diff"]]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
