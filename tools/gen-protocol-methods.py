#!/usr/bin/env python3
"""Writes the method table of docs/protocol.md from proto/methods.def.

The table sits between two marker lines in docs/protocol.md:

    <!-- methods: begin ... -->
    ...
    <!-- methods: end -->

and is generated, never edited by hand, so it cannot drift from the table
heapd and heapctl are built from. Usage (from anywhere):

    tools/gen-protocol-methods.py           rewrite the table in place
    tools/gen-protocol-methods.py --check   exit 1, with a diff, if the table
                                            is not what methods.def gives

tests/integration/test_protocol_doc.py runs the check in `make test`.
"""

import difflib
import json
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS_DEF = os.path.join(REPO, "proto", "methods.def")
DOC = os.path.join(REPO, "docs", "protocol.md")

BEGIN = ("<!-- methods: begin (generated from proto/methods.def by "
         "tools/gen-protocol-methods.py; do not edit) -->")
END = "<!-- methods: end -->"

_CSTR = r'"(?:[^"\\]|\\.)*"'
_ROW = re.compile(r"^METHOD\(\s*(\w+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*([^,]+?)\s*,\s*(" + _CSTR +
                  r")\s*,\s*(" + _CSTR + r")\s*\)\s*$")


class DefError(Exception):
    pass


def read_methods(path=METHODS_DEF):
    """The rows of methods.def, in order: dicts with name, min_args,
    max_args, flags (a set of MF_* names), params (a list of words, "[x]"
    for an optional one) and help."""
    rows = []
    in_comment = False
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            text = line.strip()
            if in_comment:
                in_comment = "*/" not in text
                continue
            if text.startswith("/*"):
                in_comment = "*/" not in text
                continue
            if not text or text.startswith("//") or text.startswith("#"):
                continue
            m = _ROW.match(text)
            if not m:
                raise DefError("%s:%d: not a METHOD(...) row: %s" % (path, lineno, text))
            name, lo, hi, flags, params, help_ = m.groups()
            try:
                params = json.loads(params)
                help_ = json.loads(help_)
            except ValueError as e:
                raise DefError("%s:%d: a string I cannot read (%s)" % (path, lineno, e))
            flag_set = {f.strip() for f in flags.split("|")} - {"0"}
            unknown = flag_set - {"MF_NOAUTH", "MF_FREES"}
            if unknown:
                raise DefError("%s:%d: unknown flags %s" % (path, lineno, sorted(unknown)))
            rows.append({"name": name, "min_args": int(lo), "max_args": int(hi),
                         "flags": flag_set, "params": params.split(), "help": help_})
    if not rows:
        raise DefError("%s: no METHOD rows" % path)
    return rows


def _cell(text):
    return text.replace("|", "\\|")


def signature(row):
    """hello(), ping([x]), bind(name, value, [opts])."""
    return "%s(%s)" % (row["name"], ", ".join(row["params"]))


def table(rows):
    """The markdown table, markers included, ending with a newline."""
    out = [BEGIN, "",
           "| Method | Arguments | Before `auth` | At the limits | What it does |",
           "|---|---|---|---|---|"]
    for r in rows:
        n = ("%d" % r["min_args"] if r["min_args"] == r["max_args"]
             else "%d–%d" % (r["min_args"], r["max_args"]))
        out.append("| `%s` | %s | %s | %s | %s |" % (
            _cell(signature(r)), n,
            "yes" if "MF_NOAUTH" in r["flags"] else "",
            "always works" if "MF_FREES" in r["flags"] else "",
            _cell(r["help"])))
    out += ["", END]
    return "\n".join(out) + "\n"


def split_doc(text):
    """(before, table, after) of the doc's text, split at the markers."""
    b = text.find(BEGIN)
    e = text.find(END)
    if b < 0 or e < 0 or e < b:
        raise DefError("%s: the markers %r ... %r are missing" % (DOC, BEGIN, END))
    e += len(END)
    if text[e:e + 1] == "\n":
        e += 1
    return text[:b], text[b:e], text[e:]


def main(argv):
    check = argv[1:] == ["--check"]
    if argv[1:] and not check:
        sys.stderr.write("usage: %s [--check]\n" % argv[0])
        return 2
    try:
        want = table(read_methods())
        with open(DOC, encoding="utf-8") as f:
            text = f.read()
        before, have, after = split_doc(text)
    except (OSError, DefError) as e:
        sys.stderr.write("gen-protocol-methods: %s\n" % e)
        return 1
    if have == want:
        return 0
    if check:
        sys.stderr.write("docs/protocol.md: the method table differs from proto/methods.def; "
                         "run tools/gen-protocol-methods.py\n")
        sys.stderr.writelines(difflib.unified_diff(
            have.splitlines(True), want.splitlines(True), "docs/protocol.md", "methods.def"))
        return 1
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(before + want + after)
    print("docs/protocol.md: method table rewritten (%d methods)" % len(read_methods()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
