#!/usr/bin/env bash
# The layering check: builds the graph of `crate::X` imports between the top-level modules
# of src/ (lib.rs lists them) and fails on any cycle or on any module that imports `server`.
#
# Production code only: test files and `#[cfg(test)] mod x { .. }` blocks are skipped, and
# so are `//` comment lines. `scripts/check_layers.sh --graph` also prints every edge.
set -euo pipefail
cd "$(dirname "$0")/.."

exec python3 - "$@" <<'PY'
import os, re, sys

ROOT = "server"  # wires everything; nothing may import it
src = "src"

lib = open(os.path.join(src, "lib.rs")).read()
modules = re.findall(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", lib, re.M)
if not modules:
    sys.exit("check_layers: no modules found in src/lib.rs")

def child_paths(path, name, explicit):
    """Where `mod name;` declared in `path` lives."""
    here = os.path.dirname(path)
    if explicit:
        return [os.path.normpath(os.path.join(here, explicit))]
    base = os.path.basename(path)
    if base not in ("mod.rs", "lib.rs", "main.rs"):
        here = os.path.join(here, base[:-3])
    return [os.path.join(here, name + ".rs"), os.path.join(here, name, "mod.rs")]

DECL = re.compile(r'^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*(;|\{)')
PATH_ATTR = re.compile(r'^\s*#\[path\s*=\s*"([^"]+)"\]')
CFG_TEST = re.compile(r'^\s*#\[cfg\(test\)\]')
IMPORT = re.compile(r'(?<![A-Za-z0-9_])\$?crate::(\{[^}]*\}|[a-z_][a-z0-9_]*)')

edges = {m: {} for m in modules}  # module -> {imported module: first "file:line"}

def scan(path, top, seen):
    """Scans one production file of module `top`, following its `mod x;` children."""
    path = os.path.normpath(path)
    if path in seen:
        return
    seen.add(path)
    lines = open(path).read().split("\n")
    test_attr = False
    path_attr = None
    skip_until = None  # the indentation of an inline test module's closing brace
    for no, line in enumerate(lines, 1):
        if skip_until is not None:
            if line == skip_until + "}":
                skip_until = None
            continue
        if CFG_TEST.match(line):
            test_attr = True
            continue
        m = PATH_ATTR.match(line)
        if m:
            path_attr = m.group(1)
            continue
        d = DECL.match(line)
        if d:
            name, kind = d.groups()
            if kind == "{":
                if test_attr and not line.rstrip().endswith("}"):
                    skip_until = line[: len(line) - len(line.lstrip())]
            elif not test_attr:
                for child in child_paths(path, name, path_attr):
                    if os.path.exists(child):
                        scan(child, top, seen)
                        break
            test_attr = False
            path_attr = None
            continue
        if line.strip().startswith("#["):
            continue  # another attribute between #[cfg(test)] and its item
        test_attr = False
        path_attr = None
        if line.lstrip().startswith("//"):
            continue
        for target in IMPORT.findall(line):
            names = [target]
            if target.startswith("{"):
                names = [p.strip().split("::")[0] for p in target[1:-1].split(",")]
            for name in names:
                if name in edges and name != top:
                    edges[top].setdefault(name, f"{path}:{no}")

for m in modules:
    for root in (os.path.join(src, m + ".rs"), os.path.join(src, m, "mod.rs")):
        if os.path.exists(root):
            scan(root, m, set())
            break
    else:
        sys.exit(f"check_layers: no file for module `{m}`")

failed = False
if "--graph" in sys.argv:
    for m in modules:
        print(f"{m} -> {', '.join(sorted(edges[m])) or '(nothing)'}")

for m in modules:
    if ROOT in edges[m]:
        print(f"check_layers: `{m}` imports `{ROOT}` ({edges[m][ROOT]}); `{ROOT}` is the root, nothing imports it")
        failed = True

# Tarjan's strongly connected components: any component of two or more modules is a cycle.
index, low, stack, on_stack, sccs, counter = {}, {}, [], set(), [], [0]
def strongconnect(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on_stack.add(v)
    for w in edges[v]:
        if w not in index:
            strongconnect(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        scc = []
        while True:
            w = stack.pop(); on_stack.discard(w); scc.append(w)
            if w == v:
                break
        sccs.append(scc)
for v in modules:
    if v not in index:
        strongconnect(v)
for scc in sccs:
    if len(scc) > 1:
        failed = True
        print(f"check_layers: import cycle between {', '.join(sorted(scc))}:")
        for a in sorted(scc):
            for b in sorted(edges[a]):
                if b in scc:
                    print(f"  {a} -> {b} ({edges[a][b]})")

if failed:
    sys.exit(1)
print(f"check_layers: {len(modules)} modules, {sum(len(e) for e in edges.values())} imports, no cycle, nothing imports `{ROOT}`")
PY
