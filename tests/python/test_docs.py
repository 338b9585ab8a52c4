"""Every ```python block of docs/python.md runs as written, as a script,
against a fresh heapd found by heapctl's socket rule ($XDG_RUNTIME_DIR), so
the documentation cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import List, Tuple

import pytest

from conftest import REPO

DOC = os.path.join(REPO, "docs", "python.md")


def python_blocks() -> List[Tuple[int, str]]:
    """(line number, code) of each ```python block."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    blocks = []
    for m in re.finditer(r"^```python\n(.*?)^```$", text, re.S | re.M):
        blocks.append((text.count("\n", 0, m.start()) + 1, m.group(1)))
    return blocks


BLOCKS = python_blocks()


def test_the_page_has_the_seeds_examples():
    code = "\n".join(c for _, c in BLOCKS)
    for needle in ('c.bind("E", 26)', 'c.bind("Z", [26, 26])', 'heapd.Name("a")',
                   "c.gc_collect()", "c.watch(", "heapd.aio.connect()", "c.pipeline()"):
        assert needle in code, needle
    assert len(BLOCKS) >= 12


@pytest.mark.parametrize("line,code", BLOCKS, ids=["line%d" % n for n, _ in BLOCKS])
def test_example_runs(line, code, make_server, tmp_path):
    server = make_server()
    env = dict(os.environ, XDG_RUNTIME_DIR=server.dir,
               PYTHONPATH=os.path.join(REPO, "python"), PYTHONDONTWRITEBYTECODE="1")
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, "docs/python.md line %d:\n%s%s" % (line, proc.stdout, proc.stderr)
