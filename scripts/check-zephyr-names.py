#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fail when a name that current Zephyr removed or renamed appears in samples/ or tests/.

Reads scripts/zephyr-removed-names.txt (kinds, replacements and where each fact was read) and
scans every .conf, .overlay, .yaml and .yml file under <root>/samples and <root>/tests:

  kconfig, kconfig34  CONFIG_<name> outside comments, in any of those files (an assignment to
                      an undefined symbol aborts Kconfig: on current Zephyr, resp. on 3.4);
  platform            a whole token <name> outside comments in a yaml file (current twister
                      exits on an unknown platform name);
  boardfile           a file boards/<name>.conf or boards/<name>.overlay (never applied).

Standard library only (runs in CI without Zephyr). Exit status 1 and one line per finding
(path:line: kind name: use ... [source]) when anything is found, 0 otherwise.
Usage: check-zephyr-names.py [--root DIR] [--list FILE]
"""
import argparse
import os
import re
import sys

KINDS = ("kconfig", "kconfig34", "platform", "boardfile")
SCANNED = (".conf", ".overlay", ".yaml", ".yml")
KCONFIG_RE = re.compile(r"\bCONFIG_([A-Za-z0-9_]+)")
TOKEN_RE = re.compile(r"[A-Za-z0-9_/@.+-]+")


class ListError(Exception):
    """The names list is malformed."""


def load_list(path):
    """Return {kind: {name: (replacement, source)}} from the names list."""
    names = {k: {} for k in KINDS}
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            entry, sep, source = line.partition("|")
            fields = entry.split()
            if not sep or not source.strip() or len(fields) != 3 or fields[0] not in KINDS:
                raise ListError(f"{path}:{n}: want '<kind> <name> <instead> | <source>'")
            kind, name, instead = fields
            names[kind][name] = (instead, source.strip())
    return names


def strip_comment(line, kind):
    """The part of one line that is not a comment ('#' for conf/yaml, '//' for overlays;
    block comments are removed beforehand)."""
    if kind == "dts":
        return line.split("//", 1)[0]
    out = []
    prev = " "
    quote = None
    for ch in line:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and prev in " \t":
            break
        out.append(ch)
        prev = ch
    return "".join(out)


def code_lines(path):
    """(line number, text without comments) of a scanned file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    kind = "dts" if path.endswith(".overlay") else "hash"
    if kind == "dts":
        # Keep line numbers: replace each block comment by as many newlines as it held.
        text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text,
                      flags=re.S)
    for n, line in enumerate(text.splitlines(), 1):
        yield n, strip_comment(line, kind)


def scan(root, names):
    """All findings under root/samples and root/tests, as printable lines."""
    found = []
    cited = set()

    def report(path, n, kind, name):
        instead, source = names[kind][name]
        rel = os.path.relpath(path, root)
        use = "" if instead == "-" else f": use {instead}"
        # The source once per name; later findings of the same name refer back to it.
        why = f" [{source}]" if (kind, name) not in cited else ""
        cited.add((kind, name))
        found.append(f"{rel}:{n}: {kind} {name}{use}{why}")

    for top in ("samples", "tests"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for fn in sorted(filenames):
                if not fn.endswith(SCANNED):
                    continue
                path = os.path.join(dirpath, fn)
                stem = os.path.splitext(fn)[0]
                if (os.path.basename(dirpath) == "boards" and fn.endswith((".conf", ".overlay"))
                        and stem in names["boardfile"]):
                    report(path, 0, "boardfile", stem)
                is_yaml = fn.endswith((".yaml", ".yml"))
                for n, code in code_lines(path):
                    for m in KCONFIG_RE.finditer(code):
                        for kind in ("kconfig", "kconfig34"):
                            if m.group(1) in names[kind]:
                                report(path, n, kind, m.group(1))
                    if is_yaml:
                        for tok in TOKEN_RE.findall(code):
                            if tok in names["platform"]:
                                report(path, n, "platform", tok)
    return found


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.dirname(here))
    ap.add_argument("--list", default=os.path.join(here, "zephyr-removed-names.txt"))
    args = ap.parse_args()
    try:
        names = load_list(args.list)
    except (OSError, ListError) as e:
        print(f"check-zephyr-names: {e}", file=sys.stderr)
        return 2
    found = scan(os.path.abspath(args.root), names)
    for line in found:
        print(line)
    total = sum(len(v) for v in names.values())
    if found:
        print(f"check-zephyr-names: {len(found)} removed or renamed Zephyr name(s) "
              f"in samples/ or tests/ (list: {total} names)", file=sys.stderr)
        return 1
    print(f"check-zephyr-names: OK ({total} names, samples/ and tests/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
