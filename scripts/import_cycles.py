#!/usr/bin/env python3
"""Fails when the modules of a crate, or the files of infra/lib, import each other in a circle.

How the graph is drawn: a Rust crate's modules are the top-level files and folders under its
`src/` (binaries and test modules left out); module A imports module B when A's code outside its
`#[cfg(test)]` part and outside comments names `crate::B` (a `use crate::{B, ...}` counts too).
infra/lib's modules are its files; A imports B when A says `from './B.js'`. A circle is a path
of imports that comes back to where it started; each is printed, shortest first.

    python3 scripts/import_cycles.py            # every crate and infra/lib, from the repository root
    python3 scripts/import_cycles.py --graph    # also print each module's imports
"""
import argparse
import re
import subprocess
import sys
from pathlib import Path

RUST_CRATES = ["lambdas/core", "lambdas/auth", "lambdas/banner", "lambdas/category", "lambdas/product",
               "lambdas/order", "local", "ops", "tests"]
TS_DIRS = ["infra/lib"]


def tracked(root):
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", root],
                         capture_output=True, text=True, check=True).stdout
    return [Path(p) for p in out.split()]


def code_of(rust_source):
    """The source without its test part (everything from the first `#[cfg(test)]`) and comments."""
    at = rust_source.find("#[cfg(test)]")
    if at >= 0:
        rust_source = rust_source[:at]
    return re.sub(r"//[^\n]*", "", rust_source)


def rust_imports(modules):
    """`modules`: module name -> list of (path, source). Answers module -> set of modules it names."""
    edges = {m: set() for m in modules}
    for m, files in modules.items():
        for _, source in files:
            code = code_of(source)
            named = set(re.findall(r"crate::(\w+)", code))
            for group in re.findall(r"crate::\{([^}]*)\}", code):
                named |= set(re.findall(r"\b(\w+)\b", group))
            edges[m] |= {n for n in named if n in modules and n != m}
    return edges


def rust_modules(crate):
    src = Path(crate) / "src"
    modules = {}
    for path in tracked(str(src)):
        if path.suffix != ".rs" or "bin" in path.parts or path.name == "tests.rs":
            continue
        rel = path.relative_to(src)
        name = rel.parts[0].removesuffix(".rs")
        if name in ("lib", "main"):
            continue
        modules.setdefault(name, []).append((path, path.read_text()))
    return modules


def ts_imports(folder):
    files = {p.stem: p for p in tracked(folder) if p.suffix == ".ts"}
    edges = {m: set() for m in files}
    for m, path in files.items():
        for target in re.findall(r"from '\./([\w-]+)\.js'", path.read_text()):
            if target in files and target != m:
                edges[m].add(target)
    return edges


def cycles(edges):
    """Every elementary circle, each once (rotated to start at its smallest module), shortest first."""
    found = set()

    def walk(start, node, path, on_path):
        for nxt in edges.get(node, ()):
            if nxt == start:
                found.add(tuple(path))
            elif nxt not in on_path and nxt > start:
                walk(start, nxt, path + [nxt], on_path | {nxt})

    for start in sorted(edges):
        walk(start, start, [start], {start})
    return sorted(found, key=lambda c: (len(c), c))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--graph", action="store_true", help="print each module's imports too")
    args = ap.parse_args()
    graphs = [(c, rust_imports(rust_modules(c))) for c in RUST_CRATES]
    graphs += [(d, ts_imports(d)) for d in TS_DIRS]
    failed = False
    for name, edges in graphs:
        circles = cycles(edges)
        count = sum(len(v) for v in edges.values())
        print(f"{name}: {len(edges)} modules, {count} imports, {len(circles)} circles")
        if args.graph:
            for m in sorted(edges):
                print(f"  {m} -> {', '.join(sorted(edges[m])) or '-'}")
        for c in circles:
            failed = True
            print(f"  circle: {' -> '.join(c + (c[0],))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
