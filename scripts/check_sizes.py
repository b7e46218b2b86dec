#!/usr/bin/env python3
"""The size rule of lib/ and the Python binding (docs/architecture.md): no file in lib/src
or python/src over 600 lines and no
function over 120, unless the function's first line carries a comment `// size: REASON`.
Prints each breach and exits 1 if there is one. Usage: check_sizes.py [ROOT]"""
import pathlib
import re
import sys

MAX_FILE, MAX_FUNCTION = 600, 120
root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")


def code_of(line):
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])*'", "''", line)
    return line.split("//")[0]


def functions(lines):
    """(name line, first, last) of each function body: a block that is not a namespace,
    class, struct, enum or initialiser, at namespace level or directly in a class."""
    stack, found, in_comment = [], [], False
    for number, raw in enumerate(lines, 1):
        line = code_of(raw)
        if in_comment:
            if "*/" not in line:
                continue
            line, in_comment = line.split("*/", 1)[1], False
        if "/*" in line and "*/" not in line:
            line, in_comment = line.split("/*")[0], True
        for ch in line:
            if ch == "{":
                head = " ".join(code_of(l) for l in lines[max(0, number - 4):number])
                head = head[: head.rfind("{")] if "{" in head else head
                scopes = [kind for kind, _ in stack]
                if re.search(r"\b(namespace|class|struct|union|enum)\b[^;()]*$", head):
                    kind = "scope"
                elif all(k == "scope" for k in scopes) and re.search(r"\)\s*(const)?\s*(noexcept)?\s*(override)?\s*(->\s*[\w:<>, ]+)?\s*$", head):
                    kind = "function"
                else:
                    kind = "block"
                stack.append((kind, number))
            elif ch == "}" and stack:
                kind, first = stack.pop()
                if kind == "function":
                    found.append((first, number))
    return found


breaches = []
sources = list((root / "lib" / "src").rglob("*")) + list((root / "python" / "src").rglob("*"))
for path in sorted(sources):
    if path.suffix not in (".cpp", ".h"):
        continue
    lines = path.read_text().splitlines()
    if len(lines) > MAX_FILE:
        breaches.append(f"{path}: {len(lines)} lines (at most {MAX_FILE})")
    for first, last in functions(lines):
        length = last - first + 1
        reason = any("// size:" in l for l in lines[max(0, first - 4):first])
        if length > MAX_FUNCTION and not reason:
            breaches.append(f"{path}:{first}: a function of {length} lines (at most {MAX_FUNCTION}): {lines[first - 1].strip()[:60]}")
print("\n".join(breaches) if breaches else "sizes: every file and function within the rule")
sys.exit(1 if breaches else 0)
